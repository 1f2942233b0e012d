// pam_utmpcd.so: a PAM module that reports session open and close, and failed authentication,
// to the local utmpcd as one datagram (src/sources/ingest_message.h) on its ingest socket.
//
//   session optional pam_utmpcd.so [socket=/run/utmpcd/ingest.sock] [debug]
//
// and, for failed logins on hosts without btmp, in the auth stack where pam_faillock's authfail
// goes: reached only when the module before it failed, which skips it on success:
//
//   auth [success=1 default=bad] pam_unix.so
//   auth [default=die] pam_utmpcd.so authfail
//
// (In Debian's common-auth, whose pam_unix line jumps over pam_deny with success=1, that jump
// must become success=2 when this line goes after it, or every good password lands on
// pam_deny.) Without authfail it has no say in authentication (PAM_IGNORE).
//
// It never blocks a login nor changes its outcome: the daemon may be down, slow or absent, the
// socket missing, the message unsendable; the session entry points return PAM_SUCCESS after at
// most kDeadlineMs and log what went wrong with pam_syslog. In the auth stack it returns
// PAM_AUTH_ERR, as pam_faillock's authfail does: it is reached only after a failure, which
// stays the stack's result. No exception escapes (each entry point catches all). Only the
// pam_sm_* entry points are exported (pam_utmpcd.map).
#include <errno.h>
#include <poll.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>

#include "sources/ingest_message.h"
#include "sources/ingest_socket.h"  // the default path only; the class is the daemon's

namespace {

using utmpcd::IngestMessage;
using utmpcd::IngestType;

// A local datagram is queued in microseconds; 100 ms only passes when the daemon's queue is
// full (it is stuck), and a login must not wait on a stuck daemon for longer than a person
// notices.
constexpr int kDeadlineMs = 100;

struct Args {
  std::string socket = utmpcd::kDefaultIngestSocketPath;
  bool debug = false;
  bool authfail = false;
};

Args ParseArgs(pam_handle_t* pamh, int argc, const char** argv) {
  Args args;
  constexpr std::string_view kSocket = "socket=";
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (arg == "debug") {
      args.debug = true;
    } else if (arg == "authfail") {
      args.authfail = true;
    } else if (arg.substr(0, kSocket.size()) == kSocket) {
      args.socket = std::string(arg.substr(kSocket.size()));
    } else {
      pam_syslog(pamh, LOG_ERR, "unknown option: %s", std::string(arg).c_str());
    }
  }
  return args;
}

// A PAM string item, cut to `max_bytes` (PAM does not bound them; the datagram does).
std::string Item(pam_handle_t* pamh, int item, size_t max_bytes) {
  const void* value = nullptr;
  if (pam_get_item(pamh, item, &value) != PAM_SUCCESS || value == nullptr) return {};
  std::string text(static_cast<const char*>(value));
  if (text.size() > max_bytes) text.resize(max_bytes);
  return text;
}

// logind's session number when pam_systemd ran before this module; 0 (unknown) otherwise, or
// for logind's non-numeric ids ("c1").
int64_t SessionId(pam_handle_t* pamh) {
  const char* id = pam_getenv(pamh, "XDG_SESSION_ID");
  if (id == nullptr || *id == '\0' || std::strlen(id) > 18) return 0;  // 18 digits fit int64
  int64_t value = 0;
  for (const char* p = id; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return 0;
    value = value * 10 + (*p - '0');
  }
  return value;
}

int64_t NowUs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

IngestMessage BuildMessage(pam_handle_t* pamh, IngestType type) {
  IngestMessage m;
  m.type = type;
  m.time_us = NowUs(CLOCK_REALTIME);
  m.pid = static_cast<int32_t>(getpid());
  m.session = SessionId(pamh);
  m.user = Item(pamh, PAM_USER, utmpcd::kMaxIngestUserBytes);
  m.tty = Item(pamh, PAM_TTY, utmpcd::kMaxIngestTtyBytes);
  m.rhost = Item(pamh, PAM_RHOST, utmpcd::kMaxIngestRhostBytes);
  m.service = Item(pamh, PAM_SERVICE, utmpcd::kMaxIngestServiceBytes);
  return m;
}

// Sends `bytes` with the credentials the daemon checks: the effective uid, not the real one
// (the kernel's default), so a setuid-root su or sudo is seen as the root it runs as. The kernel
// accepts only ids the process really has.
ssize_t SendWithCredentials(int fd, const std::string& bytes) {
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(ucred));
  ucred cred{getpid(), geteuid(), getegid()};
  std::memcpy(CMSG_DATA(c), &cred, sizeof(cred));
  return sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

// Returns 0 once the datagram is queued, or an errno value (ETIMEDOUT past the deadline).
// connect(2) on a Unix datagram socket never waits; only a full receive queue makes send wait,
// and that wait is a poll(2) bounded by the deadline.
int Send(const std::string& path, const std::string& bytes) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = 0;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) err = errno;
  const int64_t deadline_us = NowUs(CLOCK_MONOTONIC) + kDeadlineMs * 1000;
  while (err == 0 && SendWithCredentials(fd, bytes) < 0) {
    err = errno;
    if (err == EINTR) {
      err = 0;
    } else if (err == EAGAIN || err == ENOBUFS) {
      int64_t left_ms = (deadline_us - NowUs(CLOCK_MONOTONIC) + 999) / 1000;
      pollfd p{fd, POLLOUT, 0};
      err = left_ms <= 0 || poll(&p, 1, static_cast<int>(left_ms)) == 0 ? ETIMEDOUT : 0;
    }
  }
  close(fd);
  return err;
}

int Report(pam_handle_t* pamh, IngestType type, int argc, const char** argv) {
  const char* what = type == IngestType::kOpen    ? "session open"
                     : type == IngestType::kClose ? "session close"
                                                  : "failed authentication";
  try {
    Args args = ParseArgs(pamh, argc, argv);
    IngestMessage message = BuildMessage(pamh, type);
    if (auto ok = utmpcd::ValidateIngestMessage(message); !ok) {
      pam_syslog(pamh, LOG_WARNING, "%s not reported: %s", what, ok.error().message.c_str());
      return PAM_SUCCESS;
    }
    if (int err = Send(args.socket, utmpcd::EncodeIngestMessage(message)); err != 0) {
      pam_syslog(pamh, LOG_WARNING, "%s not reported to %s: %s", what, args.socket.c_str(),
                 std::strerror(err));
    } else if (args.debug) {
      pam_syslog(pamh, LOG_DEBUG, "%s reported for %s to %s", what, message.user.c_str(),
                 args.socket.c_str());
    }
  } catch (const std::exception& e) {
    pam_syslog(pamh, LOG_ERR, "%s not reported: %s", what, e.what());
  } catch (...) {
    pam_syslog(pamh, LOG_ERR, "%s not reported: unknown exception", what);
  }
  // Success, whatever happened: as the only module of a session stack, PAM_IGNORE would make
  // libpam fail the session, i.e. refuse the login because the daemon is down.
  return PAM_SUCCESS;
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int pam_sm_open_session(pam_handle_t* pamh, int /*flags*/,
                                                               int argc, const char** argv) {
  return Report(pamh, IngestType::kOpen, argc, argv);
}

__attribute__((visibility("default"))) int pam_sm_close_session(pam_handle_t* pamh, int /*flags*/,
                                                                int argc, const char** argv) {
  return Report(pamh, IngestType::kClose, argc, argv);
}

// authfail: the module before it failed (it is skipped on success): the failure is reported,
// and stays the stack's result. Without authfail the module has no say in authentication.
__attribute__((visibility("default"))) int pam_sm_authenticate(pam_handle_t* pamh, int /*flags*/,
                                                               int argc, const char** argv) {
  bool authfail = false;
  for (int i = 0; i < argc; ++i) {
    if (argv[i] != nullptr && std::string_view(argv[i]) == "authfail") authfail = true;
  }
  if (!authfail) {
    pam_syslog(pamh, LOG_ERR, "in the auth stack without authfail: nothing reported");
    return PAM_IGNORE;
  }
  Report(pamh, IngestType::kFailed, argc, argv);
  return PAM_AUTH_ERR;
}

// Nothing to set: the stack's credentials are other modules' business (as pam_faillock).
__attribute__((visibility("default"))) int pam_sm_setcred(pam_handle_t* /*pamh*/, int /*flags*/,
                                                          int /*argc*/, const char** /*argv*/) {
  return PAM_SUCCESS;
}

}  // extern "C"
