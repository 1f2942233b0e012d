// The live sessions of a utmp file (/run/utmp), and what changed between two readings.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "formats/utmp.h"

namespace utmpcd {

// One USER_PROCESS entry of utmp, with its text copied out. Text is bytes as utmp holds them.
struct LiveSession {
  std::string line;  // ut_line: "pts/0", "tty1"
  std::string id;    // ut_id
  std::string user;
  std::string host;
  std::array<uint8_t, 16> addr{};  // as ut_addr_v6
  int32_t pid = 0;                 // the session leader
  int64_t session = 0;             // ut_session
  int64_t login_time_us = 0;       // microseconds since the epoch, UTC

  bool operator==(const LiveSession&) const = default;
};

struct UtmpSnapshot {
  std::vector<LiveSession> sessions;  // in file order
  uint64_t garbled = 0;               // records skipped because they do not decode
};

// The USER_PROCESS entries with a user name of utmp `bytes` (a trailing partial record is
// ignored), as who(1) lists them.
UtmpSnapshot ParseUtmpSnapshot(std::string_view bytes, UtmpLayout layout);

// Reads the whole of `path` (utmp is a few records per login line: small; more than 16 MiB is
// refused as kInvalidArgument). A missing file fails with kNotFound rather than reading as
// empty, so that a utmp briefly replaced is not taken for everybody logging out: the caller
// keeps its last snapshot.
Result<UtmpSnapshot> ReadUtmpSnapshot(const std::string& path, UtmpLayout layout);

struct SessionDiff {
  std::vector<LiveSession> appeared;     // in `now`, not in `before`: logins, in `now`'s order
  std::vector<LiveSession> disappeared;  // in `before`, not in `now`: logouts, `before`'s order
};

// Sessions are the same when their line and pid are: utmp rewrites an entry in place for a new
// login on a line, and a pid outlives no session. Duplicates of one key count once.
SessionDiff Diff(const std::vector<LiveSession>& before, const std::vector<LiveSession>& now);

}  // namespace utmpcd
