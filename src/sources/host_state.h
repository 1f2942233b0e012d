// What `last` and `w` ask of the running system: when it booted, whether a login's process
// lives, and its load.
#pragma once

#include <array>
#include <cstdint>

#include "core/login_record.h"

namespace utmpcd {

// Boot time in seconds: the realtime clock minus CLOCK_BOOTTIME, as util-linux computes it.
int64_t BootTimeS();

// util-linux last.c is_phantom(): a login with no logout is "gone" when it predates this boot,
// its user does not exist, or its process (by /proc/PID/loginuid, else the owner of /dev/TTY)
// no longer belongs to that user.
bool IsPhantomLogin(const LoginRecord& record, int64_t boot_s);

// The 1, 5 and 15 minute load averages as the text of /proc/loadavg gives them, which procps
// prints: glibc's getloadavg() converts sysinfo()'s fixed-point values itself, and its second
// decimal then differs now and then (the fallback when /proc is not mounted). Zeros when neither
// answers.
std::array<double, 3> LoadAverage();

}  // namespace utmpcd
