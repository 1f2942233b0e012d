// Local-time conversion and the timestamp formats the classic tools print.
#pragma once

#include <cstdint>
#include <string>

namespace utmpcd {

// Broken-down time, as struct tm but with a real year and 1-based month.
struct CivilTime {
  int64_t year = 1970;
  int month = 1;    // 1..12
  int day = 1;      // 1..31
  int hour = 0;     // 0..23
  int minute = 0;   // 0..59
  int second = 0;   // 0..60
  int weekday = 4;  // 0 = Sunday
  int64_t gmtoff_s = 0;
};

// Pure arithmetic on the proleptic Gregorian calendar (no time zone, no libc).
CivilTime CivilFromUnix(int64_t unix_s, int64_t gmtoff_s = 0);
int64_t UnixFromCivil(int64_t year, int month, int day, int hour, int minute, int second);

// Converts to local time exactly as localtime_r(3) does for the process's TZ, but asks libc only
// twice per UTC day (at its first and last second: when both give the same offset, no change
// falls inside it, as no zone changes its offset twice within a day) and remembers the answer
// for kCachedDays days: a listing of a million records then costs arithmetic, not a million
// localtime calls. Not thread-safe; one per thread.
class LocalClock {
 public:
  CivilTime Local(int64_t unix_s);

 private:
  // Logins and their logouts are hours or days apart; 1024 slots keep years of them.
  static constexpr size_t kCachedDays = 1024;
  struct Slot {
    int64_t day = INT64_MIN;
    int64_t gmtoff_s = 0;
    bool uniform = false;  // one offset for the whole day
  };
  Slot slots_[kCachedDays];
  // The calendar date of the last local day converted: rows come in time order, mostly same-day.
  int64_t cached_day_ = INT64_MIN;
  CivilTime cached_date_;
};

// "Tue Nov 14 22:13:20 2023": ctime(3) without its newline (24 characters for 4-digit years).
void AppendCtime(std::string& out, const CivilTime& t);
// The same into `out`, which must hold kMaxCtimeLength bytes; returns the end of what it wrote.
inline constexpr size_t kMaxCtimeLength = 48;
char* FormatCtime(char* out, const CivilTime& t);
// "2023-11-14T23:13:20+01:00", as util-linux's strtime_iso(ISO_TIMESTAMP_T).
void AppendIso8601(std::string& out, const CivilTime& t);
// "2023-11-14T23:13:20,123456+01:00", as util-linux's ISO_TIMESTAMP_COMMA_GT (utmpdump).
void AppendIso8601Usec(std::string& out, const CivilTime& t, int32_t usec);
// "22:13".
void AppendHourMinute(std::string& out, const CivilTime& t);
char* FormatHourMinute(char* out, const CivilTime& t);

}  // namespace utmpcd
