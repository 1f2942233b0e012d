// The JSON of `utmpc who --json`, `w --json` and `uptime --json` on this host: the objects
// GET /v1/sessions and GET /v1/host give, written by the same encoders (api/wire_json.h), so a
// script reads the local and the network answers alike.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire_json.h"
#include "core/login_record.h"

namespace utmpcd {

// A utmp record's session; idle_s from its terminal, as of now_s.
SessionJson SessionOfRecord(const LoginRecord& r, int64_t now_s);
// The sixteen address bytes of a session the daemon gave as text (nullopt: none).
std::array<uint8_t, 16> AddrBytes(const std::optional<std::string>& addr);

// Seconds since the terminal's last input: now minus the access time of /dev/TTY (as w and
// who -u read it); nullopt when it has no device here.
std::optional<int64_t> TerminalIdleS(std::string_view tty, int64_t now_s);

// Appends "\n{...}" or ",\n{...}" for each element (`objects` already JSON) of an array body.
void AppendJsonLines(std::string& o, const std::vector<std::string>& objects);

// This host's uptime as GET /v1/host names it: {"hostname","time","time_us","boot_time",
// "boot_time_us","uptime_s","load","users" (distinct users),"sessions" (what uptime counts)}.
void AppendUptimeJson(std::string& o, int64_t users, int64_t sessions);

}  // namespace utmpcd
