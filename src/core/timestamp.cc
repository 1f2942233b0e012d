// A port of util-linux 2.38.1 lib/timeutils.c parse_timestamp() (itself from systemd), quirks
// included: `last -s/-t/-p` must accept and reject exactly what the real tool does. The
// absolute forms go through the same glibc strptime() formats in the same order; mktime() is
// emulated (see GlibcMktime) so DST-ambiguous times resolve as they would in `last`.
#include "core/timestamp.h"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

namespace utmpcd {
namespace {

constexpr uint64_t kUsecPerSec = 1000000;
constexpr uint64_t kUsecPerMinute = 60 * kUsecPerSec;
constexpr uint64_t kUsecPerHour = 60 * kUsecPerMinute;
constexpr uint64_t kUsecPerDay = 24 * kUsecPerHour;
constexpr const char* kWhitespace = " \t\n\r";

struct Unit {
  const char* suffix;
  uint64_t usec;
};

// parse_sec()'s table; order matters because suffixes match as prefixes ("ms" before "m"). Its
// final {"", USEC_PER_SEC} entry never matches (util-linux startswith() rejects an empty
// prefix), so a bare number like "+5" is invalid in 2.38, and it is left out here.
constexpr Unit kUnits[] = {
    {"seconds", kUsecPerSec},
    {"second", kUsecPerSec},
    {"sec", kUsecPerSec},
    {"s", kUsecPerSec},
    {"minutes", kUsecPerMinute},
    {"minute", kUsecPerMinute},
    {"min", kUsecPerMinute},
    {"months", 2629800 * kUsecPerSec},
    {"month", 2629800 * kUsecPerSec},
    {"msec", 1000},
    {"ms", 1000},
    {"m", kUsecPerMinute},
    {"hours", kUsecPerHour},
    {"hour", kUsecPerHour},
    {"hr", kUsecPerHour},
    {"h", kUsecPerHour},
    {"days", kUsecPerDay},
    {"day", kUsecPerDay},
    {"d", kUsecPerDay},
    {"weeks", 7 * kUsecPerDay},
    {"week", 7 * kUsecPerDay},
    {"w", 7 * kUsecPerDay},
    {"years", 31557600 * kUsecPerSec},
    {"year", 31557600 * kUsecPerSec},
    {"y", 31557600 * kUsecPerSec},
    {"usec", 1},
    {"us", 1},
};

struct Weekday {
  const char* name;
  int nr;
};

constexpr Weekday kWeekdays[] = {
    {"Sunday", 0}, {"Sun", 0},       {"Monday", 1},   {"Mon", 1},      {"Tuesday", 2},
    {"Tue", 2},    {"Wednesday", 3}, {"Wed", 3},      {"Thursday", 4}, {"Thu", 4},
    {"Friday", 5}, {"Fri", 5},       {"Saturday", 6}, {"Sat", 6},
};

enum class Zero { kNothing, kSeconds, kTime };

struct Format {
  const char* format;
  Zero zero;
};

// Tried in this order, the first that consumes the whole text wins. The last one zeroes the
// seconds it just parsed: a 2.38 bug (fixed in 2.39) that `last` users see, so it is kept.
constexpr Format kFormats[] = {
    {"%y-%m-%d %H:%M:%S", Zero::kNothing},
    {"%Y-%m-%d %H:%M:%S", Zero::kNothing},
    {"%Y-%m-%dT%H:%M:%S", Zero::kNothing},
    {"%y-%m-%d %H:%M", Zero::kSeconds},
    {"%Y-%m-%d %H:%M", Zero::kSeconds},
    {"%y-%m-%d", Zero::kTime},
    {"%Y-%m-%d", Zero::kTime},
    {"%H:%M:%S", Zero::kNothing},
    {"%H:%M", Zero::kSeconds},
    {"%Y%m%d%H%M%S", Zero::kSeconds},
};

// What the text asks for before it becomes a time: a local time to convert, an optional weekday
// it must fall on, and an offset to add or subtract afterwards.
struct Request {
  struct tm tm {};
  int weekday = -1;
  uint64_t plus = 0;
  uint64_t minus = 0;
};

bool StartsWith(const char* s, const char* prefix) {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// One "<number>[.<fraction>] <unit>" term of parse_sec(), advancing *p past it. strtoll() is
// used as util-linux does, so its leading-space and sign handling carries over ("+-5s" fails
// on the sign check; ".5min" parses as 0.5 min).
bool ParseSecTerm(const char** p, uint64_t* usec) {
  char* e = nullptr;
  errno = 0;
  long long whole = std::strtoll(*p, &e, 10);
  if (errno > 0 || whole < 0) return false;
  long long fraction = 0;
  unsigned digits = 0;
  if (*e == '.') {
    char* b = e + 1;
    errno = 0;
    fraction = std::strtoll(b, &e, 10);
    if (errno > 0 || fraction < 0 || e == b) return false;
    digits = static_cast<unsigned>(e - b);
  } else if (e == *p) {
    return false;
  }
  e += std::strspn(e, kWhitespace);
  for (const Unit& unit : kUnits) {
    if (!StartsWith(e, unit.suffix)) continue;
    // Unsigned and wrapping, as in C: a huge count overflows silently rather than failing.
    uint64_t k = static_cast<uint64_t>(fraction) * unit.usec;
    for (; digits > 0; digits--) k /= 10;
    *usec = static_cast<uint64_t>(whole) * unit.usec + k;
    *p = e + std::strlen(unit.suffix);
    return true;
  }
  return false;
}

// parse_sec(): a sum of terms like "1h 30min"; at least one term.
bool ParseSec(const char* t, uint64_t* usec) {
  uint64_t total = 0;
  bool something = false;
  for (const char* p = t;;) {
    p += std::strspn(p, kWhitespace);
    if (*p == '\0') break;
    uint64_t term = 0;
    if (!ParseSecTerm(&p, &term)) return false;
    total += term;
    something = true;
  }
  *usec = total;
  return something;
}

// An optional leading weekday name, any case, followed by exactly one space.
const char* SkipWeekday(const char* t, int* weekday) {
  for (const Weekday& day : kWeekdays) {
    size_t skip = std::strlen(day.name);
    if (strncasecmp(t, day.name, skip) != 0 || t[skip] != ' ') continue;
    *weekday = day.nr;
    return t + skip + 1;
  }
  return t;
}

// The strptime() forms, each tried on a fresh copy of the current local time so fields a form
// does not mention (the date of "16:34") come from now.
bool ParseAbsolute(const char* t, struct tm* tm) {
  for (const Format& f : kFormats) {
    struct tm copy = *tm;
    const char* k = strptime(t, f.format, &copy);
    if (k == nullptr || *k != '\0') continue;
    if (f.zero != Zero::kNothing) copy.tm_sec = 0;
    if (f.zero == Zero::kTime) copy.tm_min = copy.tm_hour = 0;
    *tm = copy;
    return true;
  }
  return false;
}

// Fills `r` from the text; r->tm starts as the current local time.
bool ParseRequest(const std::string& text, Request* r) {
  const char* t = text.c_str();
  if (text == "now") return true;
  if (text == "today" || text == "yesterday" || text == "tomorrow") {
    r->tm.tm_mday += text == "today" ? 0 : text == "yesterday" ? -1 : 1;
    r->tm.tm_sec = r->tm.tm_min = r->tm.tm_hour = 0;
    return true;
  }
  if (t[0] == '+') return ParseSec(t + 1, &r->plus);
  if (t[0] == '-') return ParseSec(t + 1, &r->minus);
  constexpr std::string_view kAgo = " ago";
  if (std::string_view(text).ends_with(kAgo)) {
    return ParseSec(text.substr(0, text.size() - kAgo.size()).c_str(), &r->minus);
  }
  return ParseAbsolute(SkipWeekday(t, &r->weekday), &r->tm);
}

// glibc's ydhms_diff(): seconds from (year0, yday0, hour0:min0:sec0) to the first, counting
// leap days, with years as tm_year (since 1900).
int64_t YdhmsDiff(int64_t year1, int64_t yday1, int hour1, int min1, int sec1, int year0, int yday0,
                  int hour0, int min0, int sec0) {
  int a4 = static_cast<int>((year1 >> 2) + (1900 >> 2) - !(year1 & 3));
  int b4 = (year0 >> 2) + (1900 >> 2) - !(year0 & 3);
  int a100 = a4 / 25 - (a4 % 25 < 0);
  int b100 = b4 / 25 - (b4 % 25 < 0);
  int leap_days = (a4 - b4) - (a100 - b100) + ((a100 >> 2) - (b100 >> 2));
  int64_t days = 365 * (year1 - year0) + yday1 - yday0 + leap_days;
  return 60 * (60 * (24 * days + hour1 - hour0) + min1 - min0) + sec1 - sec0;
}

bool LeapYear(int64_t tm_year) {
  return (tm_year & 3) == 0 && (tm_year % 100 != 0 || ((tm_year / 100) & 3) == (-(1900 / 100) & 3));
}

// The requested broken-down time as glibc's __mktime_internal() normalizes it: months folded
// into years, the day as a (possibly out-of-range) day of the year.
struct Wanted {
  int64_t year, yday;
  int hour, min, sec;
};

Wanted Normalize(const struct tm& tm) {
  static constexpr int kMonYday[2][13] = {
      {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
      {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366}};
  int rem = tm.tm_mon % 12;
  int negative = rem < 0;
  int64_t year = static_cast<int64_t>(tm.tm_year) + tm.tm_mon / 12 - negative;
  int64_t yday = kMonYday[LeapYear(year)][rem + 12 * negative] - 1 + int64_t{tm.tm_mday};
  // ydhms_diff assumes 60-second minutes; leap seconds are added back after the search.
  return {year, yday, tm.tm_hour, tm.tm_min, std::min(std::max(tm.tm_sec, 0), 59)};
}

int64_t Diff(const Wanted& w, const struct tm& tm) {
  return YdhmsDiff(w.year, w.yday, w.hour, w.min, w.sec, tm.tm_year, tm.tm_yday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec);
}

// glibc's mktime() remembers the UTC offset of its last result and starts the next search from
// it, so a time that occurs twice (a DST fall-back) resolves to the occurrence that guess leads
// to: in `last`, the first -s/-t/-p value parsed sees 0, later ones the offset of the previous
// result. Sharing libc's own guess would make the answer depend on unrelated mktime() calls in
// this process, so the guess is kept here, updated only by ParseTimestamp, as in `last`.
std::atomic<int> g_offset_guess{0};

// glibc 2.36 __mktime_internal() with tm_isdst = -1 (which parse_timestamp always asks for):
// probe localtime_r() until the fields match; inside a spring-forward gap it oscillates between
// two candidates and settles on the DST one, as glibc does.
bool GlibcMktime(struct tm* tp, time_t* out) {
  tzset();  // as mktime() does; localtime_r() alone would not notice a changed TZ
  Wanted w = Normalize(*tp);
  int negative_guess = -g_offset_guess.load();
  int64_t t0 = YdhmsDiff(w.year, w.yday, w.hour, w.min, w.sec, 70, 0, 0, 0, negative_guess);
  int64_t t = t0, t1 = t0, t2 = t0;
  int dst2 = 0;
  struct tm tm {};
  for (int probes = 6;;) {
    time_t probe = t;
    if (localtime_r(&probe, &tm) == nullptr) return false;
    int64_t dt = Diff(w, tm);
    if (dt == 0) break;
    if (t == t1 && t != t2 && (tm.tm_isdst < 0 || dst2 <= (tm.tm_isdst != 0))) break;
    if (--probes == 0) return false;
    t1 = t2, t2 = t, t += dt, dst2 = tm.tm_isdst != 0;
  }
  g_offset_guess.store(static_cast<int>(t - t0) - negative_guess);
  if (tp->tm_sec != tm.tm_sec) {  // a leap second asked for ("12:00:60") or a false match
    t += (w.sec == 0 && tm.tm_sec == 60) - w.sec + tp->tm_sec;
    time_t adjusted = t;
    if (localtime_r(&adjusted, &tm) == nullptr) return false;
  }
  *tp = tm;
  *out = static_cast<time_t>(t);
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b < 0); }

}  // namespace

Result<int64_t> ParseTimestamp(std::string_view text, int64_t now_us) {
  auto invalid = [&] {
    return MakeError(ErrorCode::kInvalidArgument,
                     "invalid time value \"" + std::string(text) + "\"");
  };
  // util-linux gets a C string: nothing after a NUL can reach it.
  std::string s(text.substr(0, text.find('\0')));
  Request r;
  tzset();
  time_t now = FloorDiv(now_us, 1000000);  // util-linux starts from time(NULL): whole seconds
  if (localtime_r(&now, &r.tm) == nullptr) return invalid();
  r.tm.tm_isdst = -1;
  if (!ParseRequest(s, &r)) return invalid();
  time_t x = 0;
  if (!GlibcMktime(&r.tm, &x) || x == -1) return invalid();
  if (r.weekday >= 0 && r.tm.tm_wday != r.weekday) return invalid();
  // usec_t arithmetic: a time before 1970 wraps to a huge unsigned value, and subtracting past
  // zero clamps to 0.
  uint64_t ret = static_cast<uint64_t>(x) * kUsecPerSec + r.plus;
  ret = ret > r.minus ? ret - r.minus : 0;
  // Beyond INT64_MAX `last` holds a time hundreds of thousands of years ahead (it divides the
  // unsigned value); INT64_MAX compares the same against every record.
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  return static_cast<int64_t>(ret > kMax ? kMax : ret);
}

}  // namespace utmpcd
