#include "core/timestamp.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/login_record.h"
#include "formats/utmp.h"
#include "scoped_tz.h"

namespace utmpcd {
namespace {

// util-linux's own test reference time: 2023-01-20 02:07:07 UTC, a Friday.
constexpr int64_t kRef = 1674180427;
constexpr int64_t kRefUs = kRef * 1000000 + 654321;  // the fraction must be dropped
constexpr int64_t kS = 1000000;

int64_t Parse(const char* text, int64_t now_us = kRefUs) {
  auto r = ParseTimestamp(text, now_us);
  EXPECT_TRUE(r.has_value()) << '"' << text << "\" rejected";
  return r.value_or(-1);
}

// ParseTimestamp keeps glibc mktime()'s guess of the UTC offset like a fresh `last` process
// does; parsing any time in UTC sets it back to the fresh value, 0.
void ResetOffsetGuess() {
  ScopedTz utc("UTC");
  Parse("now");
}

// The cases of util-linux's own test (lib/timeutils.c, TZ=GMT), as 2.38.1 answers them: no
// "@EPOCH" or ".fraction" (added in 2.39), and "YYYYMMDDHHMMSS" loses its seconds.
TEST(TimestampTest, UtilLinuxReferenceCases) {
  ScopedTz tz("GMT");
  EXPECT_EQ(Parse("2012-09-22 16:34:22"), 1348331662 * kS);
  EXPECT_EQ(Parse("2012-09-22T16:34:22"), 1348331662 * kS);
  EXPECT_EQ(Parse("2012-09-22 16:34"), 1348331640 * kS);
  EXPECT_EQ(Parse("2012-09-22"), 1348272000 * kS);
  EXPECT_EQ(Parse("16:34:22"), 1674232462 * kS);
  EXPECT_EQ(Parse("16:34"), 1674232440 * kS);
  EXPECT_EQ(Parse("now"), 1674180427 * kS);
  EXPECT_EQ(Parse("yesterday"), 1674086400 * kS);
  EXPECT_EQ(Parse("today"), 1674172800 * kS);
  EXPECT_EQ(Parse("tomorrow"), 1674259200 * kS);
  EXPECT_EQ(Parse("+5min"), 1674180727 * kS);
  EXPECT_EQ(Parse("-5days"), 1673748427 * kS);
  EXPECT_EQ(Parse("20120922163422"), 1348331640 * kS);
}

TEST(TimestampTest, TwoDigitYearsAndNormalization) {
  ScopedTz tz("UTC");
  EXPECT_EQ(Parse("12-09-22 16:34:22"), 1348331662 * kS);
  EXPECT_EQ(Parse("12-09-22 16:34"), 1348331640 * kS);
  EXPECT_EQ(Parse("70-01-02"), 86400 * kS);
  EXPECT_EQ(Parse("68-01-01"), 3092601600 * kS);        // %y: 00..68 is 20xx
  EXPECT_EQ(Parse("2023-02-30"), Parse("2023-03-02"));  // strptime allows day 30, mktime rolls
  EXPECT_EQ(Parse("12:00:60"), Parse("12:01:00"));      // %S goes to 61
  EXPECT_EQ(Parse("12:00:61"), Parse("12:01:01"));
  EXPECT_EQ(Parse(" 12:00"), Parse("12:00"));  // strptime skips spaces before a number
  EXPECT_EQ(Parse("2023-1-2 3:4:5"), Parse("2023-01-02 03:04:05"));
  EXPECT_EQ(Parse("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(Parse("9999-12-31"), 253402214400 * kS);
}

// Before 1970 util-linux's unsigned microseconds wrap to a time far in the future (except -1 s,
// mktime's error value); ours saturates, which compares the same against every record.
TEST(TimestampTest, BeforeEpochIsFarFuture) {
  ScopedTz tz("UTC");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(Parse("69-01-01"), kMax);
  EXPECT_EQ(Parse("1969-12-31 23:59:58"), kMax);
  EXPECT_EQ(Parse("0000-01-01"), kMax);
  EXPECT_FALSE(ParseTimestamp("1969-12-31 23:59:59", kRefUs));
}

TEST(TimestampTest, RelativeUnits) {
  ScopedTz tz("UTC");
  const int64_t now = kRef * kS;
  struct Case {
    const char* text;
    int64_t delta_us;
  };
  const Case cases[] = {
      {"+1s", kS},
      {"+1sec", kS},
      {"+1second", kS},
      {"+2seconds", 2 * kS},
      {"+1m", 60 * kS},
      {"+1min", 60 * kS},
      {"+1minute", 60 * kS},
      {"+2minutes", 120 * kS},
      {"+1ms", 1000},
      {"+1msec", 1000},
      {"+1us", 1},
      {"+1usec", 1},
      {"+1h", 3600 * kS},
      {"+1hr", 3600 * kS},
      {"+1hour", 3600 * kS},
      {"+2hours", 7200 * kS},
      {"+1d", 86400 * kS},
      {"+1day", 86400 * kS},
      {"+2days", 172800 * kS},
      {"+1w", 604800 * kS},
      {"+1week", 604800 * kS},
      {"+2weeks", 1209600 * kS},
      {"+1month", 2629800 * kS},
      {"+2months", 5259600 * kS},
      {"+1y", 31557600 * kS},
      {"+1year", 31557600 * kS},
      {"+2years", 63115200 * kS},
      {"+0s", 0},
      {"-0s", 0},
      {"+1h 30min", 5400 * kS},
      {"+1h30m", 5400 * kS},
      {"+ 5 s 3 min", 185 * kS},
      {"+1.5h", 5400 * kS},
      {"+.5min", 30 * kS},
      {"+1.25s", 1250000},
      {"+0.000001s", 1},
      {"-1d", -86400 * kS},
      {"5 min ago", -300 * kS},
      {"5s  ago", -5 * kS},
      {"1h 30min ago", -5400 * kS},
  };
  for (const Case& c : cases) EXPECT_EQ(Parse(c.text), now + c.delta_us) << c.text;
  EXPECT_EQ(Parse("-100y"), 0);  // past the epoch: clamped to 0, as util-linux does
  EXPECT_EQ(Parse("1000 years ago"), 0);
}

TEST(TimestampTest, WeekdayPrefixMustMatch) {
  ScopedTz tz("UTC");
  EXPECT_EQ(Parse("Fri 2023-01-20"), 1674172800 * kS);
  EXPECT_EQ(Parse("friday 2023-01-20 10:00"), 1674208800 * kS);
  EXPECT_EQ(Parse("FRI 12-09-21"), Parse("2012-09-21"));
  EXPECT_EQ(Parse("Fri  2023-01-20"), 1674172800 * kS);  // the extra space goes to strptime
  EXPECT_EQ(Parse("Fri 16:34"), 1674232440 * kS);        // today is a Friday
  EXPECT_FALSE(ParseTimestamp("Sat 2023-01-20", kRefUs));
  EXPECT_FALSE(ParseTimestamp("Sat 16:34", kRefUs));
  EXPECT_FALSE(ParseTimestamp("Fri", kRefUs));
  EXPECT_FALSE(ParseTimestamp("Friday2023-01-20", kRefUs));
  EXPECT_FALSE(ParseTimestamp("Fri now", kRefUs));
}

TEST(TimestampTest, RejectsWhatUtilLinux2381Rejects) {
  ScopedTz tz("UTC");
  for (const char* text : {"2023-13-01",
                           "yesterday 5",
                           "abc",
                           "",
                           "-2x",
                           "+5",
                           "+5 ",
                           "--0",
                           "+-5s",
                           "+ -5s",
                           "+",
                           "-",
                           "+5mo",
                           "+5s3",
                           "5 ago",
                           " ago",
                           "ago",
                           "1 5s ago",
                           "0x10s ago",
                           "now ",
                           " now",
                           "Now",
                           "12:00 ",
                           "12:00:62",
                           "2023-01-20 24:00",
                           "10000-01-01",
                           "2026112812",
                           "2012-09-22 16:34:22.5",
                           "@1348331662",
                           "+99999999999999999999s",
                           "now ago"}) {
    auto r = ParseTimestamp(text, kRefUs);
    EXPECT_FALSE(r.has_value()) << '"' << text << "\" accepted";
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
  // argv cannot carry a NUL: what follows one never reaches util-linux.
  EXPECT_EQ(ParseTimestamp(std::string_view("now\0junk", 8), kRefUs).value_or(-1), kRef * kS);
}

// Local times, including a spring-forward gap (glibc picks the DST side) and a fall-back hour,
// whose answer depends on the offset of the previous parse, as glibc mktime's does.
TEST(TimestampTest, LocalTimeAcrossDst) {
  ResetOffsetGuess();
  ScopedTz tz("America/New_York");
  EXPECT_EQ(Parse("2023-01-20 16:34:22"), 1674250462 * kS);
  EXPECT_EQ(Parse("2023-07-01"), 1688184000 * kS);
  EXPECT_EQ(Parse("2023-03-12 02:30"), 1678606200 * kS);  // 03:30 EDT
  ResetOffsetGuess();
  ScopedTz ny("America/New_York");
  EXPECT_EQ(Parse("2023-11-05 01:30"), 1699162200 * kS);  // fresh: 01:30 EDT, the first
  Parse("2023-01-01");                                    // an EST result...
  EXPECT_EQ(Parse("2023-11-05 01:30"), 1699165800 * kS);  // ...makes it 01:30 EST
  Parse("2023-07-01");
  EXPECT_EQ(Parse("2023-11-05 01:30"), 1699162200 * kS);
}

TEST(TimestampTest, FallBackMatchesLibcMktimeWithTheSameHistory) {
  for (const char* zone : {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"}) {
    ScopedTz tz(zone);
    for (const char* prime : {"2023-01-15 12:00", "2023-07-15 12:00"}) {
      for (const char* fold : {"2023-10-29 02:30", "2023-11-05 01:30", "2023-04-02 01:45"}) {
        struct tm a {
        }, b{};
        strptime(prime, "%Y-%m-%d %H:%M", &a);
        strptime(fold, "%Y-%m-%d %H:%M", &b);
        a.tm_isdst = b.tm_isdst = -1;
        mktime(&a);
        Parse(prime);
        EXPECT_EQ(Parse(fold), int64_t{mktime(&b)} * kS) << zone << ' ' << prime << ' ' << fold;
      }
    }
  }
}

TEST(TimestampTest, RelativeDaysUseLocalMidnight) {
  ScopedTz tz("Asia/Kolkata");  // 2023-01-20 07:37:07 +0530 at kRef
  EXPECT_EQ(Parse("today"), (1674172800 - 19800) * kS);
  EXPECT_EQ(Parse("yesterday"), (1674086400 - 19800) * kS);
  EXPECT_EQ(Parse("16:34"), (1674232440 - 19800) * kS);
}

// --- Against the real tool -------------------------------------------------------------------

// Runs `last -f wtmp ARGS` with TZ=zone over records at each of `times` and returns the times of
// the records it lists (each record has its own user name).
std::set<int64_t> RealLastShows(const char* zone, const std::vector<int64_t>& times,
                                const std::vector<std::string>& args) {
  char path[] = "/tmp/timestamp_test_wtmp.XXXXXX";
  int fd = mkstemp(path);
  std::string bytes;
  std::vector<std::string> users;
  for (size_t i = 0; i < times.size(); ++i) users.push_back("u" + std::to_string(i));
  for (size_t i = 0; i < times.size(); ++i) {
    LoginRecord r;
    r.type = kUserProcess;
    r.pid = 999999;
    r.line = "pts/1";
    r.user = users[i];
    r.time_s = times[i];
    EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
  }
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  std::string cmd = std::string("TZ='") + zone + "' last -f " + path;
  for (const std::string& a : args) cmd += " '" + a + "'";
  std::set<int64_t> shown;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char user[64];
  char line[512];
  while (fgets(line, sizeof line, p)) {
    if (sscanf(line, "u%63s", user) == 1) shown.insert(times[std::stoul(user)]);
  }
  pclose(p);
  unlink(path);
  return shown;
}

bool HaveRealLast() {
  FILE* p = popen("last --version 2>/dev/null", "r");
  char buf[128] = {};
  bool ok = p && fgets(buf, sizeof buf, p) &&
            std::string(buf).find("util-linux 2.38.1") != std::string::npos;
  if (p) pclose(p);
  return ok;
}

// `last -s X` lists records at or after since; records one second either side of our value pin
// the real one down exactly.
TEST(TimestampTest, AgreesWithRealLastSince) {
  if (!HaveRealLast()) GTEST_SKIP() << "util-linux 2.38.1 last not installed";
  struct Case {
    const char* zone;
    const char* text;
  };
  const Case cases[] = {
      {"UTC", "2012-09-22 16:34:22"},
      {"UTC", "12-09-22 16:34"},
      {"UTC", "20120922163422"},
      {"UTC", "2012-09-22T16:34:22"},
      {"Europe/Berlin", "2023-10-29 02:30"},
      {"America/New_York", "2023-11-05 01:30"},
      {"America/New_York", "2023-03-12 02:30"},
      {"Asia/Kolkata", "Fri 2023-01-20 10:00"},
      {"UTC", "2023-02-30"},
      {"UTC", "37-12-31 23:59:60"},  // wtmp times are 32-bit
      {"Australia/Lord_Howe", "2023-04-02 01:45"},
  };
  for (const Case& c : cases) {
    ResetOffsetGuess();  // a fresh `last` process
    ScopedTz tz(c.zone);
    int64_t ours = Parse(c.text) / kS;
    std::set<int64_t> want = {ours, ours + 1};
    EXPECT_EQ(RealLastShows(c.zone, {ours - 1, ours, ours + 1}, {"-s", c.text}), want)
        << c.zone << ' ' << c.text;
  }
}

// -s then -t: the second parse starts from the offset the first one found, in both tools.
TEST(TimestampTest, AgreesWithRealLastOnDstHistory) {
  if (!HaveRealLast()) GTEST_SKIP() << "util-linux 2.38.1 last not installed";
  for (const char* since : {"2023-01-01", "2023-07-01"}) {
    ResetOffsetGuess();
    ScopedTz tz("America/New_York");
    int64_t s = Parse(since) / kS;
    int64_t t = Parse("2023-11-05 01:30") / kS;
    std::set<int64_t> want = {s, t - 1, t};
    EXPECT_EQ(RealLastShows("America/New_York", {s - 1, s, t - 1, t, t + 1},
                            {"-s", since, "-t", "2023-11-05 01:30"}),
              want)
        << since;
  }
}

// Forms relative to now: our answer is taken before and after `last` runs, so a clock tick
// between the two cannot fail the test. `last` reads the time with time(2), which glibc takes
// from the coarse clock (a tick behind the precise one): the lower bound is read from that
// clock too, or `last` could see the second before it just after a second began.
TEST(TimestampTest, AgreesWithRealLastRelativeForms) {
  if (!HaveRealLast()) GTEST_SKIP() << "util-linux 2.38.1 last not installed";
  for (const char* text : {"now", "today", "yesterday", "tomorrow", "-5days", "+90min",
                           "1h 30min ago", "-1.5h", "12:34", "12:34:56", "-2months"}) {
    ResetOffsetGuess();
    ScopedTz tz("Europe/Berlin");
    auto now_us = [](clockid_t clock) {
      struct timespec ts;
      clock_gettime(clock, &ts);
      return int64_t{ts.tv_sec} * kS + ts.tv_nsec / 1000;
    };
    int64_t before = Parse(text, now_us(CLOCK_REALTIME_COARSE)) / kS;
    std::vector<int64_t> times;
    // Records for the next 30 s: on a loaded machine `last` may start seconds after us.
    for (int64_t x = before - 1; x <= before + 30; ++x) times.push_back(x);
    std::set<int64_t> shown = RealLastShows("Europe/Berlin", times, {"-s", text});
    int64_t after = Parse(text, now_us(CLOCK_REALTIME)) / kS;
    ASSERT_FALSE(shown.empty()) << text;
    int64_t real = *shown.begin();
    EXPECT_GE(real, before) << text;
    EXPECT_LE(real, after) << text;
  }
}

TEST(TimestampTest, RejectsLikeRealLast) {
  if (!HaveRealLast()) GTEST_SKIP() << "util-linux 2.38.1 last not installed";
  for (const char* text : {"2023-13-01", "yesterday 5", "abc", "-2x", "+5", "@1348331662",
                           "2012-09-22 16:34:22.5", "1969-12-31 23:59:59", "Sat 2023-01-20"}) {
    std::string cmd = std::string("TZ=UTC last -f /dev/null -s '") + text + "' >/dev/null 2>&1";
    int status = system(cmd.c_str());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << text;
    EXPECT_FALSE(ParseTimestamp(text, kRefUs).has_value()) << text;
  }
}

}  // namespace
}  // namespace utmpcd
