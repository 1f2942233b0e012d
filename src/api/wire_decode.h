// The JSON answers of a utmpcd's port 431 (docs/PROTOCOL.md), decoded for the client.
//
// The bytes come from the network: each decoder checks every field it reads and fails with
// kCorrupt naming the field ("sessions[2].user: not a string") rather than trusting the
// shape. Fields it does not know are ignored, as the protocol asks. A missing text field reads
// as "" and a missing number as 0, so a row of an older or newer daemon still prints. Each row
// also keeps its JSON object as received (compact, valid UTF-8), for `--json` output.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/result.h"
#include "core/timestamp.h"

namespace utmpcd {

// GET /v1/host.
struct ApiHost {
  std::string hostname;
  int64_t time_us = 0;
  int64_t boot_time_us = 0;
  int64_t uptime_s = 0;
  std::array<double, 3> load{};
  int64_t users = 0;
  int64_t sessions = 0;
  int64_t last_seq = 0;
  std::string json;
};
Result<ApiHost> DecodeHost(std::string_view body);

// One live session of GET /v1/sessions.
struct ApiSession {
  std::string user, tty, host;
  std::optional<std::string> addr;
  int64_t pid = 0;
  int64_t session = 0;
  int64_t login_time_us = 0;
  std::optional<int64_t> idle_s;
  std::string json;
};
Result<std::vector<ApiSession>> DecodeSessions(std::string_view body);

// One row of GET /v1/history ("sessions") or GET /v1/failed ("failed"). For a failed login
// `type` is "failed", `end` "" and login_time_us is the attempt's time.
struct ApiHistoryRow {
  int64_t seq = 0;
  std::string type;  // "login", "boot", ...; opaque when unknown
  std::string user, tty, host;
  std::optional<std::string> addr;
  int64_t pid = 0;
  int64_t login_time_us = 0;
  std::string end;  // "logout", "crash", "down", "still", "gone", "running", ...
  std::optional<int64_t> logout_time_us;
  std::string json;
};
struct ApiHistoryPage {
  std::vector<ApiHistoryRow> rows;
  std::optional<std::string> next_cursor;
};
// `failed`: the body of /v1/failed.
Result<ApiHistoryPage> DecodeHistoryPage(std::string_view body, bool failed);

// One user of GET /v1/lastlog; tty, host and time are nullopt for a user who never logged in.
struct ApiLastlog {
  std::string user;
  std::optional<int64_t> uid;
  std::optional<std::string> tty, host;
  std::optional<int64_t> time_us;
  std::string json;
};
Result<std::vector<ApiLastlog>> DecodeLastlog(std::string_view body);

// The data of one message of GET /v1/events.
struct ApiEvent {
  int64_t seq = 0;
  std::string kind;
  int64_t time_us = 0;
  std::string user, tty, host;
  std::optional<std::string> addr;
  int64_t pid = 0;
  std::string hostname;  // a fleet server's stream: the host it happened on ("" otherwise)
  std::string json;
};
Result<ApiEvent> DecodeEvent(std::string_view data);

// GET /v1/hosts of a fleet server (port 430): the names of the hosts it follows, in its order.
Result<std::vector<std::string>> DecodeFleetHosts(std::string_view body);

// The data of one message of GET /v1/events, whole, as the host stored it: what a fleet server
// stores again. Stricter than DecodeEvent: seq must be above 0, `kind` and `source` names this
// build knows, `addr` null or a numeric address, `time_us` present; text fields are their bytes
// (NAME_hex when sent).
Result<Event> DecodeStoredEvent(std::string_view data);

// The data of an "event: gap" message: events from `from` up to `oldest` are no longer held.
struct ApiGap {
  int64_t from = 0;
  int64_t oldest = 0;
};
Result<ApiGap> DecodeGap(std::string_view data);

// The data of an "event: reset" of the event stream: the position a client resumed from is of
// another history ("foreign") or beyond its newest event ("ahead"); the stream goes on with
// what is stored after last_seq.
struct ApiReset {
  std::string reason;
  std::string history;
  int64_t last_seq = 0;
};
Result<ApiReset> DecodeReset(std::string_view data);

// What went wrong, from an answer other than 200: "HTTP 400: limit: must be ..." with the
// error body's message when it has one (made safe for a terminal), else the status alone.
std::string DescribeHttpError(unsigned status, std::string_view body);

}  // namespace utmpcd
