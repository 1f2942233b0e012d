// What `last` asks of the running system: when it booted, and whether a login's process lives.
#pragma once

#include <cstdint>

#include "core/login_record.h"

namespace utmpcd {

// Boot time in seconds: the realtime clock minus CLOCK_BOOTTIME, as util-linux computes it.
int64_t BootTimeS();

// util-linux last.c is_phantom(): a login with no logout is "gone" when it predates this boot,
// its user does not exist, or its process (by /proc/PID/loginuid, else the owner of /dev/TTY)
// no longer belongs to that user.
bool IsPhantomLogin(const LoginRecord& record, int64_t boot_s);

}  // namespace utmpcd
