#include "core/local_time.h"
#include "scoped_tz.h"

#include <stdlib.h>
#include <time.h>

#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

std::string LibcCtime(int64_t t) {
  time_t tt = t;
  char buf[64];
  ctime_r(&tt, buf);
  std::string s(buf);
  s.pop_back();  // newline
  return s;
}

TEST(LocalTimeTest, CivilRoundTripsAcrossCenturies) {
  for (int64_t t : {int64_t{0}, int64_t{-1}, int64_t{951782400}, int64_t{4294967295},
                    int64_t{-2208988800}, int64_t{253402300799}}) {
    CivilTime c = CivilFromUnix(t);
    EXPECT_EQ(UnixFromCivil(c.year, c.month, c.day, c.hour, c.minute, c.second), t) << t;
  }
  CivilTime leap = CivilFromUnix(951782400);  // 2000-02-29
  EXPECT_EQ(leap.year, 2000);
  EXPECT_EQ(leap.month, 2);
  EXPECT_EQ(leap.day, 29);
  EXPECT_EQ(leap.weekday, 2);
}

// The cached clock must agree with ctime(3) to the second, across DST changes and zones with
// half-hour offsets, for times spread over 1970..2106.
TEST(LocalTimeTest, MatchesCtimeInManyZones) {
  for (const char* tz : {"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                         "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"}) {
    ScopedTz scoped(tz);
    LocalClock clock;
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> any(0, 4294967295);
    for (int i = 0; i < 20000; ++i) {
      int64_t t = any(rng);
      std::string ours;
      AppendCtime(ours, clock.Local(t));
      ASSERT_EQ(ours, LibcCtime(t)) << tz << " t=" << t;
      // Neighbouring seconds hit the cache: they must agree too.
      std::string next;
      AppendCtime(next, clock.Local(t + 1));
      ASSERT_EQ(next, LibcCtime(t + 1)) << tz << " t=" << t + 1;
    }
  }
}

TEST(LocalTimeTest, DstTransitionSecondByExactSecond) {
  ScopedTz scoped("Europe/Berlin");
  LocalClock clock;
  // 2023-03-26 01:00:00 UTC: Berlin jumps from 02:00 CET to 03:00 CEST.
  for (int64_t t = 1679792400 - 7200; t < 1679792400 + 7200; t += 1) {
    std::string ours;
    AppendCtime(ours, clock.Local(t));
    ASSERT_EQ(ours, LibcCtime(t)) << t;
  }
}

TEST(LocalTimeTest, IsoFormatsCarryTheOffset) {
  ScopedTz scoped("America/New_York");
  LocalClock clock;
  std::string s;
  AppendIso8601(s, clock.Local(1700000000));
  EXPECT_EQ(s, "2023-11-14T17:13:20-05:00");
  s.clear();
  AppendIso8601Usec(s, CivilFromUnix(1700000000), 42);
  EXPECT_EQ(s, "2023-11-14T22:13:20,000042+00:00");
}

}  // namespace
}  // namespace utmpcd
