// The fields of logind's session state file (/run/systemd/sessions/<ID>) that sd-login of
// systemd 252 has no call for: the leader (sd_session_get_leader came in 254), the start time
// (sd_session_get_start_time, 256) and the user name (sd_session_get_username, 254). Newer
// sd-login reads the very same keys from the very same file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace utmpcd {

// What ParseLogindSessionFile found; a field that is missing or malformed keeps its default.
struct LogindSessionFile {
  int32_t leader = 0;       // LEADER=: the session's leader process (sshd, login)
  int64_t realtime_us = 0;  // REALTIME=: when the session started, microseconds since the epoch
  std::string user;         // USER=: the user name logind resolved at login
};

// Parses the KEY=VALUE lines logind's session_save() writes. Only these three keys are read,
// and only in the plain form logind writes them (decimal digits; a user name with no quote,
// backslash, space or control byte): anything else leaves the field at its default rather than
// guessing at shell quoting. Any bytes are accepted; never fails.
LogindSessionFile ParseLogindSessionFile(std::string_view text);

// Whether `id` is a valid logind session id (letters and digits, as logind's session_id_valid;
// at most 64 of them, where logind's are a few), and so safe as a file name in its directory.
bool IsLogindSessionId(std::string_view id);

}  // namespace utmpcd
