// Parsing the time arguments of last -s/-t/-p, as util-linux's parse_timestamp() accepts them.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"

namespace utmpcd {

// Whole seconds of a time in microseconds, rounded down (also before 1970).
inline int64_t SecondsOf(int64_t time_us) {
  return time_us >= 0 ? time_us / 1000000 : -((-(time_us + 1)) / 1000000) - 1;
}

// Parses `text` relative to `now_us` (microseconds since the epoch, UTC) in the process's local
// time zone, accepting exactly what util-linux 2.38.1 parse_timestamp() accepts: "now", "today",
// "yesterday", "tomorrow", "[YY]YY-MM-DD[ HH:MM[:SS]]", "HH:MM[:SS]", an optional weekday
// prefix, and relative offsets such as "-2d", "+5min", "1h 30min ago" (units us, ms, s, sec, m,
// min, h, hr, hour, d, day, w, week, month, y, year, ...). Not "@EPOCH" nor fractions of a
// second: 2.38.1 rejects both. An ambiguous local time (a DST fold) resolves as glibc's mktime
// does in `last`, by the offset of the previous call: call once per argument, in order.
// Returns microseconds since the epoch, or kInvalidArgument.
Result<int64_t> ParseTimestamp(std::string_view text, int64_t now_us);

}  // namespace utmpcd
