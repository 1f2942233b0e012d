// The JSON of port 431's wire types that the daemon and the client both write: a live session
// (GET /v1/sessions, `utmpc who --json`), the host summary (GET /v1/host, `utmpc uptime
// --json`), a failed login (GET /v1/failed), a user's last login (GET /v1/lastlog, `utmpc
// lastlog --json`) and an event (GET /v1/events), with the small encoders every answer uses.
// History rows are api/history_json.h's; the client reads them all back with
// api/wire_decode.h.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/host_summary.h"
#include "core/event.h"

namespace utmpcd {

// "YYYY-MM-DDThh:mm:ss+00:00" of a time in microseconds, whole seconds rounded down (also
// before 1970), quoted.
void AppendJsonTime(std::string& o, int64_t time_us);
// An address as text, or null when all sixteen bytes are zero.
void AppendJsonAddr(std::string& o, const std::array<uint8_t, 16>& addr);
// A JSON string, or null for "".
void AppendJsonNullable(std::string& o, std::string_view text);
// "name":"text" for text from a login record, which is bytes: the string is readable UTF-8
// (a byte that is not becomes U+FFFD), and when `bytes` are not valid UTF-8 they follow whole,
// as "name_hex":"6a6f..." (two lowercase hex digits a byte), so a client can show them as the
// local tools do. No leading comma.
void AppendJsonText(std::string& o, std::string_view name, std::string_view bytes);
// "name_hex":"6a6f..." of `bytes` (AppendJsonText's second field), no leading comma.
void AppendJsonHexField(std::string& o, std::string_view name, std::string_view bytes);
// "user":...,"tty":...,"host":... (each as AppendJsonText), the three texts of a login.
void AppendUserTtyHost(std::string& o, std::string_view user, std::string_view tty,
                       std::string_view host);

// One session as GET /v1/sessions lists it.
struct SessionJson {
  std::string_view user, tty, host;
  std::array<uint8_t, 16> addr{};  // all zero: null
  int64_t pid = 0;
  int64_t session = 0;
  int64_t login_time_us = 0;
  std::optional<int64_t> idle_s;
};
// {"user":...,"tty":...,"host":...,"addr":...,"pid":...,"session":...,"login":...,
//  "login_time_us":...,"idle_s":...}
void AppendSessionJson(std::string& o, const SessionJson& s);

// GET /v1/host's fields from "hostname" to "sessions", without braces: hostname, time, time_us,
// boot_id (only when `with_boot_id`; null for ""), boot_time, boot_time_us, uptime_s, load,
// users, sessions.
void AppendHostFields(std::string& o, const HostSummary& s, bool with_boot_id);

// One failed login as GET /v1/failed lists it: {"seq":...,"user":...,"tty":...,"host":...,
// "addr":...,"pid":...,"time":...,"time_us":...}; `tty` as lastb shows it.
void AppendFailedJson(std::string& o, int64_t seq, std::string_view user, std::string_view tty,
                      std::string_view host, const std::array<uint8_t, 16>& addr, int64_t pid,
                      int64_t time_us);

// One user's last login as GET /v1/lastlog lists it: {"user":...,"uid":...,"tty":...,
// "host":...,"time":...,"time_us":...}, the last four null for a user never logged in
// (`time_us` nullopt).
void AppendLastlogJson(std::string& o, std::string_view user, int64_t uid, std::string_view tty,
                       std::string_view host, std::optional<int64_t> time_us);

// One event as the JSON object of the event stream (docs/PROTOCOL.md, GET /v1/events).
void AppendEventJson(std::string& out, const Event& event);

}  // namespace utmpcd
