#include "sources/current_boot.h"

#include <time.h>

#include <algorithm>
#include <fstream>

namespace utmpcd {

CurrentBoot ReadCurrentBoot() {
  CurrentBoot boot;
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  if (std::getline(in, boot.id)) {
    // systemd's form (sd_id128): 32 hex digits, as journalctl --list-boots shows them.
    boot.id.erase(std::remove(boot.id.begin(), boot.id.end(), '-'), boot.id.end());
  }
  struct timespec now {}, up {};
  if (clock_gettime(CLOCK_REALTIME, &now) == 0 && clock_gettime(CLOCK_BOOTTIME, &up) == 0) {
    boot.time_us = (int64_t{now.tv_sec} - up.tv_sec) * 1000000 + (now.tv_nsec - up.tv_nsec) / 1000;
  }
  return boot;
}

}  // namespace utmpcd
