// Telling systemd how the daemon is doing (sd_notify), when it runs under systemd and the build
// has libsystemd; otherwise these do nothing.
#pragma once

#include <cstdint>

namespace utmpcd {

void NotifyReady();
void NotifyStopping();
// The watchdog interval systemd asked for (WatchdogSec=), in microseconds; 0 when none.
uint64_t WatchdogIntervalUs();
void NotifyWatchdog();

}  // namespace utmpcd
