// The boot the host is in now: its id (as systemd and the kernel name it) and when it began.
#pragma once

#include <cstdint>
#include <string>

namespace utmpcd {

struct CurrentBoot {
  std::string id;       // /proc/sys/kernel/random/boot_id, without dashes; "" when unreadable
  int64_t time_us = 0;  // the realtime clock minus CLOCK_BOOTTIME, microseconds UTC
};

CurrentBoot ReadCurrentBoot();

}  // namespace utmpcd
