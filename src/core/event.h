// Event: one stored fact about logins on a host (DESIGN.md, "Data model"). Append-only; the
// store assigns `seq`. Text is bytes as the source gave them (not necessarily UTF-8).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace utmpcd {

enum class EventKind {
  kLogin,
  kLogout,
  kBoot,
  kShutdown,
  kFailed,    // a failed login (btmp, PAM)
  kGone,      // a session whose leader died without a logout
  kRunlevel,
  kClock,     // the clock was set (old time / new time)
};

// kWtmpdb: wtmpdb's database (Debian 13, openSUSE); kJournal: the systemd journal (failed
// logins where btmp is gone); kRwhod: utmpsd's reading of a host's rwhod packets (its utmp as
// rwhod sends it: no utmpcd there).
enum class EventSource { kUtmp, kWtmp, kBtmp, kLogind, kPam, kImport, kWtmpdb, kJournal, kRwhod };

// Stable lower-case names, as stored and as the API shows them ("login", "wtmp", ...).
const char* EventKindName(EventKind kind);
const char* EventSourceName(EventSource source);
std::optional<EventKind> ParseEventKind(std::string_view name);
std::optional<EventSource> ParseEventSource(std::string_view name);

struct Event {
  int64_t seq = 0;       // per host, strictly increasing; 0 until stored
  int64_t time_us = 0;   // microseconds since the epoch, UTC
  EventKind kind = EventKind::kLogin;
  std::string user;
  std::string tty;
  std::string remote_host;
  std::array<uint8_t, 16> remote_addr{};  // as ut_addr_v6; all zero when unknown
  int32_t pid = 0;
  int64_t session = 0;   // ut_session, the logind session number, or the wtmpdb row ID
  EventSource source = EventSource::kWtmp;
  std::string boot_id;   // the boot this happened in, when known (empty otherwise)
};

// The 16 bytes of ut_addr_v6 for a host that is a literal IPv6 or IPv4 address (IPv4 in the
// first four bytes, network order); all zero for a name.
std::array<uint8_t, 16> RemoteAddrOf(const std::string& host);

}  // namespace utmpcd
