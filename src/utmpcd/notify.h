// Telling systemd how the daemon is doing (sd_notify), when it runs under systemd and the build
// has libsystemd; otherwise these do nothing.
#pragma once

namespace utmpcd {

void NotifyReady();
void NotifyStopping();

}  // namespace utmpcd
