// Helpers for the tests of the ingest socket and pam_utmpcd.so: a temporary directory, a
// sender of raw datagrams, and a bounded wait for a descriptor.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "sources/ingest_message.h"

namespace utmpcd::testing {

// Generous: a local datagram is queued before send(2) returns; this only bounds a failure.
inline constexpr int kDeadlineMs = 2000;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class PamTempDir {
 public:
  PamTempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/utmpcd_pam.XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~PamTempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  PamTempDir(const PamTempDir&) = delete;
  PamTempDir& operator=(const PamTempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// A non-blocking datagram socket connected to `path`; -1 (errno set) when that fails.
inline int ConnectTo(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

// Sends one datagram to `path`; returns 0 or the errno of the failure.
inline int SendTo(const std::string& path, std::string_view bytes) {
  int fd = ConnectTo(path);
  if (fd < 0) return errno;
  int err = ::send(fd, bytes.data(), bytes.size(), 0) < 0 ? errno : 0;
  ::close(fd);
  return err;
}

// A session open as sshd's PAM stack would report it.
inline IngestMessage SshdOpen() {
  IngestMessage m;
  m.type = IngestType::kOpen;
  m.time_us = 1700000000123456;
  m.pid = 4242;
  m.session = 17;
  m.user = "alice";
  m.tty = "/dev/pts/3";
  m.rhost = "192.0.2.7";
  m.service = "sshd";
  return m;
}

}  // namespace utmpcd::testing
