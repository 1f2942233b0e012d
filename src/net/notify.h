// Telling systemd how the daemon is doing (sd_notify), when it runs under systemd and the build
// has libsystemd; otherwise these do nothing.
#pragma once

#include <cstdint>
#include <vector>

namespace utmpcd {

void NotifyReady();
void NotifyStopping();
// The watchdog interval systemd asked for (WatchdogSec=), in microseconds; 0 when none.
uint64_t WatchdogIntervalUs();
void NotifyWatchdog();

// The sockets systemd handed over (socket activation: LISTEN_PID is this process, LISTEN_FDS
// says how many, from descriptor 3 on), by type; the variables are unset so that no child
// takes them too. Empty when there are none.
struct ListenFds {
  std::vector<int> stream;         // TCP and Unix listening sockets: HTTP
  std::vector<int> datagram;       // UDP
  std::vector<int> unix_datagram;  // the PAM ingest socket
  bool any() const { return !stream.empty() || !datagram.empty() || !unix_datagram.empty(); }
};
ListenFds TakeListenFds();

}  // namespace utmpcd
