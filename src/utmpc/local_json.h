// The JSON of `utmpc who --json`, `w --json` and `uptime --json` on this host: the objects
// GET /v1/sessions and GET /v1/host give, field for field, so a script reads the local and the
// network answers alike (issue 13 moves every wire type to one encoder in src/api).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/login_record.h"

namespace utmpcd {

// One session as /v1/sessions lists it.
struct SessionJson {
  std::string_view user, tty, host;
  std::optional<std::string> addr;  // as text; nullopt: null
  int64_t pid = 0;
  int64_t session = 0;
  int64_t login_time_us = 0;
  std::optional<int64_t> idle_s;
};

// A utmp record's session; idle_s from its terminal, as of now_s.
SessionJson SessionOfRecord(const LoginRecord& r, int64_t now_s);
// The address of a record as GET /v1/sessions gives it: nullopt when ut_addr_v6 is all zero.
std::optional<std::string> AddrOf(const std::array<uint8_t, 16>& addr);

// Seconds since the terminal's last input: now minus the access time of /dev/TTY (as w and
// who -u read it); nullopt when it has no device here.
std::optional<int64_t> TerminalIdleS(std::string_view tty, int64_t now_s);

// Appends {"user":...,"idle_s":...}.
void AppendSessionJson(std::string& o, const SessionJson& s);

// Appends "\n{...}" or ",\n{...}" for each element (`objects` already JSON) of an array body.
void AppendJsonLines(std::string& o, const std::vector<std::string>& objects);

// This host's uptime as GET /v1/host names it: {"hostname","time","time_us","boot_time",
// "boot_time_us","uptime_s","load","users" (distinct users),"sessions" (what uptime counts)}.
void AppendUptimeJson(std::string& o, int64_t users, int64_t sessions);

}  // namespace utmpcd
