#include "utmpcd/notify.h"

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

}  // namespace utmpcd
