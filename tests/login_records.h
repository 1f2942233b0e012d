// Login records as a login program writes them, for tests that feed a daemon: the same bytes
// wherever a test needs "some logins and logouts".
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "formats/utmp.h"

namespace utmpcd::testing {

// Records first .. first+count-1: even ones are logins of user0..user6, odd ones logouts, on
// 40 lines (pts/0..pts/39), one second apart from 2023-11-14T22:13:20Z.
inline std::string LoginLogoutRecords(uint32_t first, uint32_t count) {
  std::string bytes;
  for (uint32_t i = first; i < first + count; ++i) {
    std::string line = "pts/" + std::to_string(i % 40);
    std::string user = "user" + std::to_string(i % 7);
    LoginRecord r;
    r.type = i % 2 == 0 ? kUserProcess : kDeadProcess;
    r.pid = static_cast<int32_t>(1000 + i);
    r.line = line;
    r.user = r.type == kUserProcess ? std::string_view(user) : std::string_view();
    r.host = "192.0.2.1";
    r.time_s = 1700000000 + i;
    EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
  }
  return bytes;
}

// Appends `bytes` to `path`, as a login program appends to wtmp.
inline void AppendToFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace utmpcd::testing
