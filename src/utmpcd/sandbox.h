// The daemon's own seccomp filter ([daemon] seccomp): once everything that needs more is done
// (the sockets bound, the store open, the user switched), every thread may make only the
// system calls the daemon makes on some path of its work -- serving HTTP, TLS and UDP, the
// ingest socket, following and reopening rotated files, the store and its errors, SIGHUP
// reloads, logind, pidfds of session leaders, the watchdog. Any other call fails with EPERM
// (never a kill: a path missed here is an error the daemon reports, not a crash) and the
// kernel logs it (audit type SECCOMP, "syscall=N"), so it can be added here.
#pragma once

#include "core/result.h"

namespace utmpcd {

enum class SeccompMode {
  kOff,      // no filter
  kEnforce,  // calls outside the list fail with EPERM and are logged
  kLog,      // calls outside the list are logged and allowed (to find what a new path needs)
};

// Installs the filter on every thread of the process (TSYNC) and sets NoNewPrivs. Fails with
// kIo naming what the kernel refused; the daemon then stops (it was asked for a sandbox).
Result<void> EnterSandbox(SeccompMode mode);

}  // namespace utmpcd
