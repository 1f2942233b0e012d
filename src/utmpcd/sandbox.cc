#include "utmpcd/sandbox.h"

#include <linux/netlink.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "core/log.h"

namespace utmpcd {
namespace {

// Every system call the daemon makes after start-up, on some path of its work. Found by
// running the test suite's daemons under strace (serving HTTP, TLS, UDP and event streams,
// the ingest socket, rotations, SIGHUP, logind, gone sessions, store errors), grouped by what
// needs them. A name this libseccomp does not know is skipped.
constexpr const char* kAllowed[] = {
    // Memory, threads, time, signals: the C++ runtime, glibc, OpenSSL, SQLite.
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "set_robust_list",
    "get_robust_list", "rseq", "clone", "clone3", "exit", "exit_group", "sched_yield",
    "sched_getaffinity", "gettid", "getpid", "getppid", "tgkill", "rt_sigaction",
    "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall", "clock_gettime",
    "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep", "getrandom",
    // glibc's utmp and wtmp writers (cleanup_gone) time their file locks out with alarm(2).
    "alarm", "setitimer", "getitimer",
    "uname", "prlimit64", "getrlimit", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "prctl", "arch_prctl", "set_tid_address", "sysinfo",
    // The event loop: epoll, timers, eventfds, signal waits, inotify.
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll",
    "select", "pselect6", "timerfd_create", "timerfd_settime", "timerfd_gettime", "eventfd2",
    "signalfd4", "pipe2", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    // Files: the store (SQLite, its WAL and lock), wtmp, btmp, utmp, lastlog, configuration and
    // TLS files on SIGHUP, /proc and /dev for idle times and loads.
    "openat", "open", "close", "read", "write", "pread64", "pwrite64", "readv", "writev",
    "preadv", "pwritev", "lseek", "fstat", "newfstatat", "stat", "lstat", "statx", "statfs",
    "fstatfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64",
    "fcntl", "flock", "fsync", "fdatasync", "ftruncate", "fallocate", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "mkdir", "mkdirat", "chmod", "fchmod", "fchmodat",
    "fchown", "fchownat", "umask", "dup", "dup2", "dup3", "getcwd", "utimensat",
    // Sockets: HTTP, TLS, UDP, the Unix sockets (API, ingest), sd_notify.
    "bind", "listen", "accept", "accept4", "connect", "getsockname",
    "getpeername", "getsockopt", "setsockopt", "shutdown", "sendto", "recvfrom", "sendmsg",
    "recvmsg", "sendmmsg", "recvmmsg",
    // Session leaders: a pidfd each, readable when it exits.
    "pidfd_open", "waitid",
};

}  // namespace

Result<void> EnterSandbox(SeccompMode mode) {
  if (mode == SeccompMode::kOff) return {};
  const uint32_t otherwise = mode == SeccompMode::kLog ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM);
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> filter(seccomp_init(otherwise),
                                                           seccomp_release);
  if (!filter) return MakeError(ErrorCode::kIo, "seccomp_init failed");
  auto refused = [](const char* what, int rc) {
    return MakeError(ErrorCode::kIo, std::string("seccomp: ") + what + ": " + std::strerror(-rc));
  };
  // Denials reach the kernel's log (SECCOMP_FILTER_FLAG_LOG), and every thread gets the filter.
  if (int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_LOG, 1); rc != 0) {
    // A kernel before 4.14: denials are not logged, and still denied.
    Log(LogLevel::kWarning, "seccomp: denials will not be logged: {}", std::strerror(-rc));
  }
  if (int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_TSYNC, 1); rc != 0) {
    return refused("every thread", rc);
  }
  for (const char* name : kAllowed) {
    int number = seccomp_syscall_resolve_name(name);
    if (number == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (int rc = seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, number, 0); rc != 0) {
      return refused(name, rc);
    }
  }
  // New sockets of the families the daemon speaks only: TCP/UDP over IPv4 and IPv6, Unix
  // (sd_notify, the user database's varlink), and route netlink (getifaddrs: the broadcast
  // addresses UDP refuses as sources, read again every few seconds).
  for (int family : {AF_UNIX, AF_INET, AF_INET6}) {
    if (int rc = seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family)));
        rc != 0) {
      return refused("socket", rc);
    }
  }
  if (int rc = seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
                                SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
                                SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
      rc != 0) {
    return refused("socket", rc);
  }
  // ioctl(2) only to make a descriptor non-blocking, count what is readable, and ask whether
  // stderr is a terminal: never TIOCSTI (typing into the terminal of a foreground daemon).
  for (unsigned long request : {FIONBIO, FIONREAD, TCGETS, TIOCGWINSZ}) {
    if (int rc = seccomp_rule_add(filter.get(), SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                  SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, request));
        rc != 0) {
      return refused("ioctl", rc);
    }
  }
  if (int rc = seccomp_load(filter.get()); rc != 0) return refused("loading the filter", rc);
  return {};
}

}  // namespace utmpcd
