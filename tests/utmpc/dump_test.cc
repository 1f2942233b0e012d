// `utmpc dump` against util-linux 2.38 `utmpdump`, byte for byte; its JSON; and `dump -r`
// against `utmpdump -r`.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "utmpc/cmd_test_util.h"

namespace utmpcd::testing {
namespace {

constexpr char kUtmpdump[] = "/usr/bin/utmpdump";

std::array<uint8_t, 16> Addr(int family, const char* text) {
  std::array<uint8_t, 16> a{};
  inet_pton(family, text, a.data());
  return a;
}

// Records that exercise every column: types, pid widths, full fields, addresses, brackets and
// bytes utmpdump cleanses, microseconds.
std::vector<Rec> Variety() {
  return {
      {.type = kBootTime, .line = "~", .id = "~~", .user = "reboot", .host = "6.1.0-13-amd64"},
      {.type = kRunLevel, .pid = 20019, .line = "~", .id = "~~", .user = "runlevel"},
      {.type = kInitProcess, .pid = 5, .line = "tty1", .id = "1"},
      {.type = kLoginProcess, .pid = 999999, .line = "tty2", .id = "2", .user = "LOGIN"},
      {.pid = -7,
       .line = "pts/0",
       .id = "ts/0",
       .user = "alice",
       .host = "203.0.113.9",
       .time_usec = 123456,
       .addr = Addr(AF_INET, "203.0.113.9")},
      {.pid = 1,
       .line = std::string(32, 'l'),
       .id = "abcd",
       .user = std::string(32, 'u'),
       .host = std::string(256, 'h'),
       .addr = Addr(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:1")},
      {.pid = 2,
       .line = "pts/1",
       .id = "ts/1",
       .user = "b[o]b",
       .host = "esc\x1b[31m\x7f",
       .time_usec = 999999,
       .addr = Addr(AF_INET6, "::ffff:192.0.2.7")},
      {.pid = 3,
       .line = "pts/2",
       .id = "\x01\x02",
       .user = "caf\xc3\xa9",
       .host = "::1",
       .addr = Addr(AF_INET6, "::1")},
      {.type = kDeadProcess, .pid = 4, .line = "pts/3", .id = "ts/3", .time_s = 0},
      {.type = kNewTime, .line = "{", .user = "date", .time_s = 4000000000},  // after 2038
      {.type = kEmpty},
  };
}

class DumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    utmpc_ = UtmpcPath();
    ASSERT_TRUE(IsExecutable(utmpc_)) << "set UTMPC to the utmpc binary";
    ASSERT_FALSE(dir_.path().empty());
  }
  Outcome Ours(const Args& args, const std::string& locale = "C",
               const std::string& tz = "America/New_York") {
    Args argv = {utmpc_, "dump"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, Env(locale, tz), dir_.path());
  }
  Outcome Theirs(const Args& args, const std::string& locale = "C",
                 const std::string& tz = "America/New_York") {
    Args argv = {kUtmpdump};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, Env(locale, tz), dir_.path());
  }

  std::string utmpc_;
  ScratchDir dir_;
};

TEST_F(DumpTest, TextMatchesUtmpdump) {
  if (!IsExecutable(kUtmpdump)) GTEST_SKIP() << "no utmpdump here";
  fs::path file = dir_ / "wtmp";
  // Without the post-2038 record: glibc 2.36's utmpdump reads tv_sec signed (see dump_cmd.cc).
  std::vector<Rec> records = Variety();
  records.erase(records.begin() + 9);
  WriteAll(file, Encode(records));
  for (const std::string locale : {"C", "C.UTF-8"}) {
    for (const std::string tz : {"UTC", "Asia/Kolkata", "America/New_York"}) {
      Outcome theirs = Theirs({file}, locale, tz), ours = Ours({file}, locale, tz);
      EXPECT_EQ(ours.out, theirs.out) << locale << " " << tz;
      EXPECT_EQ(ours.status, 0);
      EXPECT_EQ(ours.err, "");
    }
  }
}

TEST_F(DumpTest, TextColumnsAndCleansing) {
  fs::path file = dir_ / "wtmp";
  WriteAll(file, Encode(Variety()));
  std::string out = Ours({file}).out;
  // Time is UTC with microseconds whatever TZ says, as utmpdump's ISO_TIMESTAMP_COMMA_GT.
  EXPECT_NE(out.find("[7] [-0007] [ts/0] [alice   ] [pts/0       ] [203.0.113.9         ] "
                     "[203.0.113.9    ] [2023-11-14T22:13:20,123456+00:00]\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("[7] [00002] [ts/1] [b?o?b   ] [pts/1       ] [esc??31m?           ] "
                     "[::ffff:192.0.2.7] [2023-11-14T22:13:20,999999+00:00]\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("[7] [00003] [??  ] [caf??   ]"), std::string::npos) << out;
  EXPECT_NE(out.find("[8] [00004] [ts/3] [        ] [pts/3       ] [                    ] "
                     "[0.0.0.0        ] [1970-01-01T00:00:00,000000+00:00]\n"),
            std::string::npos);
  // Seconds are unsigned on disk (DESIGN.md): 4000000000 is in 2096, not 1901.
  EXPECT_NE(out.find("[2096-10-02T07:06:40,000000+00:00]"), std::string::npos) << out;
}

TEST_F(DumpTest, JsonIsValidWhateverTheBytes) {
  fs::path file = dir_ / "wtmp";
  WriteAll(file, Encode(Variety()));
  Outcome ours = Ours({"--json", file});
  ASSERT_EQ(ours.status, 0);
  nlohmann::json doc = nlohmann::json::parse(ours.out);  // throws on invalid JSON or UTF-8
  ASSERT_TRUE(doc.is_array());
  ASSERT_EQ(doc.size(), Variety().size());
  EXPECT_EQ(doc[4]["user"], "alice");
  EXPECT_EQ(doc[4]["pid"], -7);
  EXPECT_EQ(doc[4]["addr"], "203.0.113.9");
  EXPECT_EQ(doc[4]["time"], "2023-11-14T22:13:20.123456+00:00");
  EXPECT_EQ(doc[4]["time_us"], 1700000000123456);
  EXPECT_EQ(doc[4]["offset"], 4 * 384);
  EXPECT_EQ(doc[5]["host"], std::string(256, 'h'));
  EXPECT_EQ(doc[5]["addr"], "2001:db8:ffff:ffff:ffff:ffff:ffff:1");
  EXPECT_EQ(doc[6]["host"], "esc\x1b[31m\x7f");  // escaped in the JSON text, exact once parsed
  EXPECT_EQ(doc[7]["user"], "caf\xc3\xa9");
  EXPECT_TRUE(doc[0]["addr"].is_null());

  fs::path empty = dir_ / "empty";
  WriteAll(empty, "");
  EXPECT_EQ(Ours({"--json", empty}).out, "[]\n");
}

TEST_F(DumpTest, InvalidUtf8BecomesReplacementCharacters) {
  fs::path file = dir_ / "bad";
  WriteAll(file, Encode({{.pid = 1,
                          .line = "pts/0",
                          .user = "a\xff\xfe"
                                  "b"}}));
  nlohmann::json doc = nlohmann::json::parse(Ours({"--json", file}).out);
  EXPECT_EQ(doc[0]["user"],
            "a\xef\xbf\xbd\xef\xbf\xbd"
            "b");
}

TEST_F(DumpTest, GarbledAndTruncatedRecordsAreSkippedWithOneWarning) {
  std::vector<Rec> records = Variety();
  std::string bytes = Encode({records[0], records[4]});
  std::string garbled = Encode({records[5]});
  garbled[0] = 99;
  fs::path file = dir_ / "damaged";
  WriteAll(file, bytes.substr(0, 384) + garbled + bytes.substr(384) + std::string(100, 'x'));
  fs::path clean = dir_ / "clean";
  WriteAll(clean, bytes);
  Outcome damaged = Ours({file}), expected = Ours({clean});
  EXPECT_EQ(damaged.out, expected.out);
  EXPECT_EQ(damaged.status, 0);
  EXPECT_NE(damaged.err.find("skipped 1 garbled record (first at byte 384)"), std::string::npos)
      << damaged.err;
  EXPECT_NE(damaged.err.find("ignored 100 trailing bytes"), std::string::npos) << damaged.err;
  EXPECT_EQ(std::count(damaged.err.begin(), damaged.err.end(), '\n'), 1);
}

TEST_F(DumpTest, WideLayoutDecodes) {
  fs::path narrow = dir_ / "narrow", wide = dir_ / "wide";
  std::vector<Rec> records = Variety();
  WriteAll(narrow, Encode(records));
  WriteAll(wide, Encode(records, UtmpLayout::kWide400));
  EXPECT_EQ(Ours({"--layout", "400", wide}).out, Ours({narrow}).out);
  EXPECT_EQ(Ours({"--layout", "999", wide}).status, 1);
}

TEST_F(DumpTest, ReverseMatchesUtmpdumpReverse) {
  if (!IsExecutable(kUtmpdump)) GTEST_SKIP() << "no utmpdump here";
  fs::path file = dir_ / "wtmp", text = dir_ / "wtmp.txt";
  std::vector<Rec> records = Variety();
  records.erase(records.begin() + 9);
  WriteAll(file, Encode(records));
  WriteAll(text, Theirs({file}).out +
                     "[7] [00001] [ts/0] [al ice  ] [pts/0       ] [host with space     ] "
                     "[::1            ] [Tue Nov 14 22:13:20 2023 GMT]\n");
  Outcome theirs = Theirs({"-r", text}), ours = Ours({"-r", text});
  ASSERT_EQ(ours.status, 0) << ours.err;
  EXPECT_EQ(ours.out, theirs.out);
  // And back: the round trip through our own text is stable.
  fs::path again = dir_ / "again";
  WriteAll(again, ours.out);
  EXPECT_EQ(Ours({again}).out, Theirs({again}).out);
}

TEST_F(DumpTest, MissingFileIsAnError) {
  Outcome ours = Ours({(dir_ / "nope").string()});
  EXPECT_EQ(ours.status, 1);
  EXPECT_NE(ours.err.find("utmpc dump: cannot open"), std::string::npos) << ours.err;
  EXPECT_EQ(Ours({}).status, 1);
}

}  // namespace
}  // namespace utmpcd::testing
