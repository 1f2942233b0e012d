// `utmpc who FILE` against coreutils 9.1 `who FILE`, byte for byte, for the options scripts use,
// in the C locale (the "%b %e" time) and C.UTF-8 (the ISO time), plus the cases where we
// sanitize on purpose and who does not.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <string>
#include <vector>

#include "utmpc/cmd_test_util.h"

namespace utmpcd::testing {
namespace {

constexpr char kWho[] = "/usr/bin/who";
const std::vector<Args> kOptionSets = {
    {},           {"-H"},
    {"-b"},       {"-q"},
    {"-u"},       {"-a"},
    {"-l"},       {"-p"},
    {"-r"},       {"-t"},
    {"-d"},       {"-T"},
    {"-s"},       {"-m"},
    {"-aH"},      {"-bH"},
    {"-uH"},      {"-w", "-u"},
    {"-q", "-a"}, {"-s", "-d"},
    {"-mH"},      {"--all", "--heading"},
    {"--count"},  {"-b", "-r"},
};

class WhoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    utmpc_ = UtmpcPath();
    ASSERT_TRUE(IsExecutable(utmpc_)) << "set UTMPC to the utmpc binary";
    ASSERT_FALSE(dir_.path().empty());
  }

  Outcome Ours(const Args& args, const std::string& locale = "C") {
    Args argv = {utmpc_, "who"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, Env(locale, "Europe/Berlin"), dir_.path());
  }
  Outcome Theirs(const Args& args, const std::string& locale = "C") {
    Args argv = {kWho};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, Env(locale, "Europe/Berlin"), dir_.path());
  }

  // Every option set, both locales: our stdout and status are who's.
  void ExpectSameAsWho(const std::string& file) {
    if (!IsExecutable(kWho)) GTEST_SKIP() << "no coreutils who here";
    for (const std::string locale : {"C", "C.UTF-8"}) {
      for (Args args : kOptionSets) {
        args.push_back(file);
        Outcome theirs = Theirs(args, locale), ours = Ours(args, locale);
        std::string what = "who " + ::testing::PrintToString(args) + " in " + locale;
        EXPECT_EQ(ours.out, theirs.out) << what;
        EXPECT_EQ(ours.status, theirs.status) << what;
      }
    }
  }

  // A stand-in for a tty: its atime `idle_s` ago, mode 0620 (mesg y) or 0600.
  std::string Tty(const std::string& name, int64_t idle_s, bool writable) {
    fs::path path = dir_ / name;
    WriteAll(path, "");
    ::chmod(path.c_str(), writable ? 0620 : 0600);
    struct timespec times[2] = {{::time(nullptr) - idle_s, 0}, {0, UTIME_OMIT}};
    ::utimensat(AT_FDCWD, path.c_str(), times, 0);
    return path.string();
  }

  std::string utmpc_;
  ScratchDir dir_;
};

// Every record type who knows, each as its print_* function shows it. The ttys (pts/9N) do not
// exist, so idle and mesg are "?" for both tools whatever terminals this host has open.
std::vector<Rec> AllTypes() {
  return {
      {.type = kBootTime, .line = "~", .id = "~~", .user = "reboot", .host = "6.1.0-13-amd64"},
      {.type = kRunLevel, .pid = 'N' * 256 + '5', .line = "~", .id = "~~", .user = "runlevel"},
      {.type = kRunLevel, .pid = 0x01 * 256 + '3', .line = "~", .id = "~~", .user = "runlevel"},
      {.type = kInitProcess, .pid = 512, .line = "tty1", .id = "1"},
      {.type = kLoginProcess, .pid = 513, .line = "tty2", .id = "2", .user = "LOGIN"},
      {.pid = 1000, .line = "pts/90", .id = "ts/0", .user = "alice", .host = "203.0.113.9"},
      {.pid = 1001, .line = "pts/91", .id = "ts/1", .user = "bob", .host = "2001:db8::1"},
      {.pid = 1002, .line = "pts/92", .id = "ts/2", .user = "carol", .host = "ws7:0.0"},
      {.pid = 1003, .line = "pts/93", .id = "ts/3", .user = "dave", .host = ""},
      {.pid = 1004, .line = "pts/94", .id = "ts/4", .user = ""},  // no name: not a user
      {.type = kDeadProcess,
       .pid = 77,
       .line = "pts/95",
       .id = "ts/5",
       .exit_termination = 3,
       .exit_status = 4},
      {.type = kNewTime, .line = "{", .user = "date", .time_s = 1700000600},
      {.type = kOldTime, .line = "|", .user = "date", .time_s = 1700000500},
      {.type = kAccounting, .pid = 9, .line = "acct"},
      {.type = kEmpty},
  };
}

TEST_F(WhoTest, EveryRecordTypeMatchesWho) {
  fs::path file = dir_ / "utmp";
  WriteAll(file, Encode(AllTypes()));
  ExpectSameAsWho(file);
}

TEST_F(WhoTest, FullWidthFieldsMatchWho) {
  std::string user32(32, 'u'), line32(32, 'l'), host256(256, 'h');
  fs::path file = dir_ / "wide";
  WriteAll(file, Encode({
                     {.pid = 1, .line = line32, .id = "wxyz", .user = user32, .host = host256},
                     {.pid = 2147483647, .line = "p", .user = "x", .host = "::ffff:192.0.2.1"},
                     {.pid = -5, .line = "pts/99", .user = "trail  ", .host = "h:"},
                     {.type = kDeadProcess,
                      .pid = 3,
                      .line = line32,
                      .id = "abcd",
                      .exit_termination = -1,
                      .exit_status = 32767},
                     {.type = kLoginProcess, .pid = 4, .line = "", .id = ""},
                 }));
  ExpectSameAsWho(file);
}

TEST_F(WhoTest, IdleAndMesgFromTheTtyMatchWho) {
  int64_t now = ::time(nullptr);
  fs::path file = dir_ / "idle";
  WriteAll(file, Encode({
                     {.pid = 1, .line = Tty("t0", 10, true), .user = "before"},
                     {.type = kBootTime, .line = "~", .user = "reboot", .time_s = now - 7200},
                     {.pid = 2, .line = Tty("t1", 10, true), .user = "dot"},
                     {.pid = 3, .line = Tty("t2", 1900, false), .user = "minutes"},
                     {.pid = 4, .line = Tty("t3", 9000, true), .user = "preboot"},
                     {.pid = 5, .line = Tty("t4", 3 * 86400, true), .user = "days"},
                     {.pid = 6, .line = Tty("t5", -600, true), .user = "future"},
                     {.pid = 7, .line = (dir_ / "missing").string(), .user = "gone"},
                     {.pid = 8, .line = "null", .user = "devnull"},
                 }));
  ExpectSameAsWho(file);
  Outcome ours = Ours({"-u", file});
  EXPECT_NE(ours.out.find("dot      " + (dir_ / "t1").string() + " Nov"), std::string::npos);
  EXPECT_NE(ours.out.find("   .             2\n"), std::string::npos) << ours.out;
  EXPECT_NE(ours.out.find(" 00:31           3\n"), std::string::npos) << ours.out;
  EXPECT_NE(ours.out.find("  old            4\n"), std::string::npos) << ours.out;
  EXPECT_NE(ours.out.find("   ?             7\n"), std::string::npos) << ours.out;
}

TEST_F(WhoTest, MissingFileListsNoOneLikeWho) {
  std::string missing = (dir_ / "nope").string();
  ExpectSameAsWho(missing);
  Outcome ours = Ours({"-q", missing});
  EXPECT_EQ(ours.out, "\n# users=0\n");
  EXPECT_EQ(ours.status, 0);
}

TEST_F(WhoTest, TimeFormatFollowsTheLocale) {
  fs::path file = dir_ / "one";
  WriteAll(file, Encode({{.pid = 1, .line = "pts/0", .user = "alice", .host = "h"}}));
  // 22:13 UTC is 23:13 in Berlin in November.
  EXPECT_EQ(Ours({file}).out, "alice    pts/0        Nov 14 23:13 (h)\n");
  EXPECT_EQ(Ours({file}, "C.UTF-8").out, "alice    pts/0        2023-11-14 23:13 (h)\n");
  EXPECT_EQ(Ours({"-f", file, "-H"}).out,
            "NAME     LINE         TIME         COMMENT\n"
            "alice    pts/0        Nov 14 23:13 (h)\n");
}

// who prints record bytes raw, so a user name can move the cursor or recolor the screen; we
// print control bytes as caret escapes and, in the C locale, other bytes as octal.
TEST_F(WhoTest, ControlBytesAreSanitized) {
  fs::path file = dir_ / "evil";
  WriteAll(file, Encode({{.pid = 1, .line = "pts/\x07", .user = "ev\x1b[2Jil", .host = "h\r\nost"},
                         {.pid = 2, .line = "pts/1", .user = "caf\xc3\xa9"}}));
  Outcome c = Ours({file});
  EXPECT_EQ(c.out,
            "ev*[[2Jil pts/*G       Nov 14 23:13 (h*M*Jost)\n"
            "caf\\303\\251 pts/1        Nov 14 23:13\n");
  EXPECT_EQ(c.out.find('\x1b'), std::string::npos);
  // In a UTF-8 locale a printable character passes, and pads by its bytes as who pads.
  std::string utf8 = Ours({file}, "C.UTF-8").out;
  EXPECT_EQ(utf8.substr(utf8.find('\n') + 1), "caf\xc3\xa9    pts/1        2023-11-14 23:13\n");
  Outcome q = Ours({"-q", file});
  EXPECT_EQ(q.out, "ev*[[2Jil caf\\303\\251\n# users=2\n");
}

TEST_F(WhoTest, GarbledRecordIsSkippedWithAWarning) {
  std::string bytes = Encode({{.pid = 1, .line = "pts/90", .user = "alice"}});
  std::string garbled = Encode({{.pid = 2, .line = "pts/91", .user = "bob"}});
  garbled[0] = 42;  // no such ut_type
  bytes += garbled + Encode({{.pid = 3, .line = "pts/92", .user = "carol"}});
  fs::path file = dir_ / "garbled";
  WriteAll(file, bytes + "tail");
  if (IsExecutable(kWho)) {
    EXPECT_EQ(Ours({"-a", file}).out, Theirs({"-a", file}).out);
  }
  Outcome ours = Ours({file});
  EXPECT_EQ(ours.out,
            "alice    pts/90       Nov 14 23:13\n"
            "carol    pts/92       Nov 14 23:13\n");
  EXPECT_NE(ours.err.find("skipped 1 garbled record"), std::string::npos) << ours.err;
  EXPECT_NE(ours.err.find("4 trailing bytes"), std::string::npos) << ours.err;
  EXPECT_EQ(ours.status, 0);
}

TEST_F(WhoTest, AmIWithoutATerminalListsNoOne) {
  fs::path file = dir_ / "one";
  WriteAll(file, Encode({{.pid = 1, .line = "pts/0", .user = "alice"}}));
  EXPECT_EQ(Ours({"-m", file}).out, "");
  EXPECT_EQ(Ours({"-mH", file}).out, "NAME     LINE         TIME         COMMENT\n");
  Outcome extra = Ours({"a", "b", "c"});
  EXPECT_EQ(extra.status, 1);
  EXPECT_NE(extra.err.find("extra operand 'c'"), std::string::npos) << extra.err;
}

}  // namespace
}  // namespace utmpcd::testing
