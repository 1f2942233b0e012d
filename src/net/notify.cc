#include "net/notify.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

#ifdef UTMPCD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace utmpcd {

#ifdef UTMPCD_HAVE_SYSTEMD
void NotifyReady() { sd_notify(0, "READY=1"); }
void NotifyStopping() { sd_notify(0, "STOPPING=1"); }
void NotifyWatchdog() { sd_notify(0, "WATCHDOG=1"); }
uint64_t WatchdogIntervalUs() {
  uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
#else
void NotifyReady() {}
void NotifyStopping() {}
void NotifyWatchdog() {}
uint64_t WatchdogIntervalUs() { return 0; }
#endif

ListenFds TakeListenFds() {
  ListenFds fds;
  auto number = [](const char* name) -> long {
    const char* text = std::getenv(name);
    if (text == nullptr) return -1;
    std::string_view v(text);
    long n = -1;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return ec == std::errc() && end == v.data() + v.size() ? n : -1;
  };
  long pid = number("LISTEN_PID");
  long count = number("LISTEN_FDS");
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (pid != static_cast<long>(::getpid()) || count <= 0) return fds;
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  for (int fd = kFirst; fd < kFirst + count; ++fd) {
    int type = 0;
    socklen_t size = sizeof type;
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0) continue;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    sockaddr_storage address{};
    socklen_t address_size = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size);
    if (type == SOCK_STREAM) {
      fds.stream.push_back(fd);
    } else if (type == SOCK_DGRAM && address.ss_family == AF_UNIX) {
      fds.unix_datagram.push_back(fd);
    } else if (type == SOCK_DGRAM) {
      fds.datagram.push_back(fd);
    }
  }
  return fds;
}

}  // namespace utmpcd
