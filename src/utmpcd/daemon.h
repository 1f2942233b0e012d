// Daemon: the host daemon's event loop (one thread, Boost.Asio). It follows wtmp and btmp with
// inotify into the store and otherwise sleeps: no timer runs unless a store error is waiting to
// be retried.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "utmpcd/config.h"

namespace utmpcd {

class Daemon {
 public:
  // `config_path`: where SIGHUP reloads the configuration from ("" when none was used).
  Daemon(DaemonConfig config, std::string config_path);
  ~Daemon();

  // Opens the store and catches up with everything written while the daemon was not running.
  Result<void> Start();
  // Runs until SIGTERM or SIGINT; returns the exit status.
  int Run();
  // Instead of Run, for an import (--once): logs what Start stored and returns the exit
  // status, 1 when a file could not be read (missing, permission, not a regular file) or the
  // store refused what was read.
  int FinishImport();

 private:
  class Loop;
  DaemonConfig config_;
  std::string config_path_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace utmpcd
