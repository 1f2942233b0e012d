#include "utmpcd/notify.h"

#ifdef UTMPCD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace utmpcd {

#ifdef UTMPCD_HAVE_SYSTEMD
void NotifyReady() { sd_notify(0, "READY=1"); }
void NotifyStopping() { sd_notify(0, "STOPPING=1"); }
#else
void NotifyReady() {}
void NotifyStopping() {}
#endif

}  // namespace utmpcd
