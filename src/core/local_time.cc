#include "core/local_time.h"

#include <time.h>

#include <cstdlib>
#include <cstring>

namespace utmpcd {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kSecondsPerHour = 3600;

constexpr char kWeekdays[] = "SunMonTueWedThuFriSat";
constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void Append2(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + v / 10 % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

void Put2(char* p, int v) {
  p[0] = static_cast<char>('0' + v / 10 % 10);
  p[1] = static_cast<char>('0' + v % 10);
}

void AppendInt(std::string& out, int64_t v) { out += std::to_string(v); }

void AppendYear4(std::string& out, int64_t year) {
  if (year >= 0 && year <= 9999) {
    Append2(out, static_cast<int>(year / 100));
    Append2(out, static_cast<int>(year % 100));
  } else {
    AppendInt(out, year);
  }
}

void AppendIsoDateTime(std::string& out, const CivilTime& t) {
  AppendYear4(out, t.year);
  out.push_back('-');
  Append2(out, t.month);
  out.push_back('-');
  Append2(out, t.day);
  out.push_back('T');
  Append2(out, t.hour);
  out.push_back(':');
  Append2(out, t.minute);
  out.push_back(':');
  Append2(out, t.second);
}

// "%+03d:%02d" of (gmtoff / 3600, |gmtoff % 3600| / 60), as util-linux prints the zone.
void AppendIsoZone(std::string& out, int64_t gmtoff_s) {
  int64_t hours = gmtoff_s / 3600;
  int64_t minutes = std::llabs(gmtoff_s % 3600) / 60;
  out.push_back(hours < 0 ? '-' : '+');
  int64_t abs_hours = std::llabs(hours);
  if (abs_hours < 10) out.push_back('0');
  AppendInt(out, abs_hours);
  out.push_back(':');
  Append2(out, static_cast<int>(minutes));
}

}  // namespace

// Howard Hinnant's days-from-civil and civil-from-days algorithms.
CivilTime CivilFromUnix(int64_t unix_s, int64_t gmtoff_s) {
  int64_t local = unix_s + gmtoff_s;
  int64_t days = FloorDiv(local, kSecondsPerDay);
  int64_t secs = local - days * kSecondsPerDay;
  CivilTime t;
  t.gmtoff_s = gmtoff_s;
  t.hour = static_cast<int>(secs / 3600);
  t.minute = static_cast<int>(secs / 60 % 60);
  t.second = static_cast<int>(secs % 60);
  t.weekday = static_cast<int>(FloorDiv(days + 4, 7) * -7 + days + 4);

  int64_t z = days + 719468;
  int64_t era = FloorDiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  t.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2);
  return t;
}

int64_t UnixFromCivil(int64_t year, int month, int day, int hour, int minute, int second) {
  year -= month <= 2;
  int64_t era = FloorDiv(year, 400);
  int64_t yoe = year - era * 400;
  int64_t mp = (month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return days * kSecondsPerDay + hour * kSecondsPerHour + minute * 60 + second;
}

CivilTime LocalClock::Local(int64_t unix_s) {
  int64_t day_utc = FloorDiv(unix_s, kSecondsPerDay);
  Slot& slot = slots_[static_cast<uint64_t>(day_utc) % kCachedDays];
  auto gmtoff_at = [](int64_t t) {
    time_t tt = static_cast<time_t>(t);
    struct tm tm {};
    if (localtime_r(&tt, &tm) == nullptr) return int64_t{0};
    return static_cast<int64_t>(tm.tm_gmtoff);
  };
  if (slot.day != day_utc) {
    int64_t first = gmtoff_at(day_utc * kSecondsPerDay);
    int64_t last = gmtoff_at(day_utc * kSecondsPerDay + kSecondsPerDay - 1);
    slot = Slot{day_utc, first, first == last};
  }
  // An offset change inside this day: ask libc for this very second.
  int64_t gmtoff_s = slot.uniform ? slot.gmtoff_s : gmtoff_at(unix_s);
  int64_t local = unix_s + gmtoff_s;
  int64_t day = FloorDiv(local, kSecondsPerDay);
  if (day != cached_day_) {
    cached_day_ = day;
    cached_date_ = CivilFromUnix(day * kSecondsPerDay);
  }
  CivilTime t = cached_date_;
  int64_t secs = local - day * kSecondsPerDay;
  t.hour = static_cast<int>(secs / 3600);
  t.minute = static_cast<int>(secs / 60 % 60);
  t.second = static_cast<int>(secs % 60);
  t.gmtoff_s = gmtoff_s;
  return t;
}

char* FormatCtime(char* p, const CivilTime& t) {
  std::memcpy(p, kWeekdays + 3 * t.weekday, 3);
  p[3] = ' ';
  std::memcpy(p + 4, kMonths + 3 * (t.month - 1), 3);
  p[7] = ' ';
  p[8] = t.day < 10 ? ' ' : static_cast<char>('0' + t.day / 10);
  p[9] = static_cast<char>('0' + t.day % 10);
  p[10] = ' ';
  Put2(p + 11, t.hour);
  p[13] = ':';
  Put2(p + 14, t.minute);
  p[16] = ':';
  Put2(p + 17, t.second);
  p[19] = ' ';
  p += 20;
  if (t.year >= 1000 && t.year <= 9999) {
    Put2(p, static_cast<int>(t.year / 100));
    Put2(p + 2, static_cast<int>(t.year % 100));
    return p + 4;
  }
  std::string year = std::to_string(t.year);
  std::memcpy(p, year.data(), year.size());
  return p + year.size();
}

char* FormatHourMinute(char* p, const CivilTime& t) {
  Put2(p, t.hour);
  p[2] = ':';
  Put2(p + 3, t.minute);
  return p + 5;
}

void AppendCtime(std::string& out, const CivilTime& t) {
  char buf[kMaxCtimeLength];
  out.append(buf, FormatCtime(buf, t));
}

void AppendIso8601(std::string& out, const CivilTime& t) {
  AppendIsoDateTime(out, t);
  AppendIsoZone(out, t.gmtoff_s);
}

void AppendIso8601Usec(std::string& out, const CivilTime& t, int32_t usec) {
  AppendIsoDateTime(out, t);
  out.push_back(',');
  char digits[7];
  uint32_t u = static_cast<uint32_t>(usec) % 1000000;
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + u % 10);
    u /= 10;
  }
  out.append(digits, 6);
  AppendIsoZone(out, t.gmtoff_s);
}

void AppendHourMinute(std::string& out, const CivilTime& t) {
  char buf[8];
  out.append(buf, FormatHourMinute(buf, t));
}

}  // namespace utmpcd
