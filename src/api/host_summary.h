// HostSummary: what GET /v1/host and the UDP summary datagram report (docs/PROTOCOL.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace utmpcd {

struct HostSummary {
  std::string hostname;
  std::string boot_id;            // "" when unknown
  int64_t now_us = 0;             // when the summary was taken, microseconds UTC
  int64_t boot_time_us = 0;       // microseconds UTC; 0 when unknown
  int64_t uptime_s = 0;
  std::array<double, 3> load{};   // 1, 5 and 15 minute load averages
  int64_t users = 0;              // distinct user names among the live sessions
  int64_t sessions = 0;           // live sessions
  int64_t last_seq = 0;           // newest stored event; 0 when none
};

}  // namespace utmpcd
