// `utmpc lastlog -f FILE` against shadow's `lastlog` (Debian 12 package login). lastlog reads
// only /var/log/lastlog, so the comparison runs it in a private mount namespace with FILE bound
// over that path (unshare -m): the real file is never touched, and the bind mount dies with the
// namespace. Users come from this machine's passwd database, as for both tools.
#include "formats/lastlog.h"

#include <gtest/gtest.h>
#include <pwd.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "utmpc/cmd_test_util.h"

namespace utmpcd::testing {
namespace {

constexpr char kLastlog[] = "/usr/bin/lastlog";
constexpr char kUnshare[] = "/usr/bin/unshare";
const std::string kHeader =
    "Username         Port     From                                       Latest\n";

std::string Lastlog(const std::vector<LastlogEntry>& entries) {
  std::string bytes;
  for (const LastlogEntry& e : entries) {
    if (bytes.size() < e.uid * kLastlogRecordSize) bytes.resize(e.uid * kLastlogRecordSize);
    std::string record;
    EncodeLastlog(e, &record);
    bytes.replace(e.uid * kLastlogRecordSize, kLastlogRecordSize, record);
  }
  return bytes;
}

class LastlogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    utmpc_ = UtmpcPath();
    ASSERT_TRUE(IsExecutable(utmpc_)) << "set UTMPC to the utmpc binary";
    ASSERT_FALSE(dir_.path().empty());
    // root and daemon are in every Debian passwd; nobody (65534) too.
    file_ = (dir_ / "lastlog").string();
    WriteAll(file_, Lastlog({
                        {.uid = 0, .time_s = 1700000000, .line = "pts/0", .host = "203.0.113.9"},
                        {.uid = 2,
                         .time_s = ::time(nullptr) - 3 * 86400,
                         .line = "tty1234567890",
                         .host = std::string(50, 'h')},
                        {.uid = 3, .time_s = 1000, .line = "", .host = ""},
                        {.uid = 65534,
                         .time_s = 1700000500,
                         .line = "pts/9",
                         .host = "fe80::1234:5678:9abc:def0%enp0s31f6"},
                    }));
  }

  Outcome Ours(Args args, const std::string& locale = "C") {
    Args argv = {utmpc_, "lastlog", "-f", file_};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, Env(locale, "Europe/Berlin"), dir_.path());
  }

  // The real lastlog over `file_`; nullopt when this host cannot make a mount namespace.
  std::optional<Outcome> Theirs(const Args& args, const std::string& locale = "C") {
    if (!IsExecutable(kLastlog) || !IsExecutable(kUnshare)) return std::nullopt;
    Args argv = {kUnshare,
                 "-m",
                 "--propagation",
                 "private",
                 "/bin/sh",
                 "-c",
                 "mount --bind \"$0\" /var/log/lastlog || exit 99; exec /usr/bin/lastlog \"$@\"",
                 file_};
    argv.insert(argv.end(), args.begin(), args.end());
    Outcome run = Spawn(argv, Env(locale, "Europe/Berlin"), dir_.path());
    if (run.status == 99 || run.err.find("unshare failed") != std::string::npos) {
      return std::nullopt;
    }
    return run;
  }

  std::string utmpc_, file_;
  ScratchDir dir_;
};

TEST_F(LastlogTest, MatchesShadowLastlog) {
  const std::vector<Args> cases = {
      {},
      {"-u", "root"},
      {"-u", "0"},
      {"-u", "nobody"},
      {"-u", "2-"},
      {"-u", "-3"},
      {"-u", "1-3"},
      {"-u", "999999"},
      {"-t", "5"},
      {"-t", "0x10"},
      {"-b", "1000"},
      {"-b", "1", "-t", "100000"},
      {"--user", "daemon"},
      {"-u", " 1"},
      {"-t", "20000", "-u", "0-10"},
  };
  for (const std::string locale : {"C", "C.UTF-8"}) {
    for (const Args& args : cases) {
      auto theirs = Theirs(args, locale);
      if (!theirs) GTEST_SKIP() << "no lastlog, or no mount namespace (needs root)";
      Outcome ours = Ours(args, locale);
      EXPECT_EQ(ours.out, theirs->out) << ::testing::PrintToString(args) << " " << locale;
      EXPECT_EQ(ours.status, theirs->status) << ::testing::PrintToString(args);
    }
  }
}

TEST_F(LastlogTest, BadArgumentsFailLikeLastlog) {
  for (const Args& args :
       std::vector<Args>{{"-u", "no-such-user"}, {"-u", "-"}, {"-t", ""}, {"-b", "x"}, {"stray"}}) {
    Outcome ours = Ours(args);
    EXPECT_EQ(ours.status, 1) << ::testing::PrintToString(args);
    EXPECT_EQ(ours.out, "");
    if (auto theirs = Theirs(args)) {
      EXPECT_EQ(theirs->status, 1);
    }
  }
  EXPECT_NE(Ours({"-u", "no-such-user"}).err.find("Unknown user or range: no-such-user"),
            std::string::npos);
}

TEST_F(LastlogTest, RowFormat) {
  EXPECT_EQ(Ours({"-u", "root"}).out,
            kHeader +
                "root             pts/0    203.0.113.9                               "
                "Tue Nov 14 23:13:20 +0100 2023\n");
  // A host as wide as the column runs into the time, as in lastlog.
  std::string bin = Ours({"-u", "2"}).out;
  EXPECT_EQ(bin.substr(kHeader.size(), 76), "bin              tty12345 " + std::string(50, 'h'));
  EXPECT_EQ(Ours({"-u", "daemon"}).out,
            kHeader + "daemon" + std::string(62, ' ') + "**Never logged in**\n");
  // A uid with no passwd entry prints nothing, not even the header.
  EXPECT_EQ(Ours({"-u", "999999"}).out, "");
}

TEST_F(LastlogTest, ControlBytesAreSanitized) {
  WriteAll(file_, Lastlog({{.uid = 0, .time_s = 1700000000, .line = "pts\x1b", .host = "a\nb"}}));
  EXPECT_EQ(Ours({"-u", "0"}).out, kHeader + "root             pts*[    a*Jb" +
                                       std::string(38, ' ') + "Tue Nov 14 23:13:20 +0100 2023\n");
}

TEST_F(LastlogTest, Json) {
  Outcome ours = Ours({"--json", "-u", "0-3"});
  ASSERT_EQ(ours.status, 0) << ours.err;
  nlohmann::json doc = nlohmann::json::parse(ours.out);
  ASSERT_TRUE(doc.is_array());
  ASSERT_GE(doc.size(), 3u);
  EXPECT_EQ(doc[0]["user"], "root");
  EXPECT_EQ(doc[0]["uid"], 0);
  EXPECT_EQ(doc[0]["tty"], "pts/0");  // as GET /v1/lastlog names it
  EXPECT_EQ(doc[0]["host"], "203.0.113.9");
  EXPECT_EQ(doc[0]["time"], "2023-11-14T22:13:20+00:00");
  EXPECT_EQ(doc[0]["time_us"], 1700000000000000);
  EXPECT_TRUE(doc[1]["time"].is_null());  // daemon never logged in
  EXPECT_TRUE(doc[1]["tty"].is_null());
  EXPECT_TRUE(doc[1]["host"].is_null());
  EXPECT_EQ(Ours({"--json", "-u", "999999"}).out, "[]\n");
}

// A host that is no valid UTF-8 comes whole in "host_hex" too, as GET /v1/lastlog gives it.
TEST_F(LastlogTest, JsonCarriesBytesThatAreNoUtf8) {
  WriteAll(file_, Lastlog({{.uid = 0, .time_s = 1700000000, .line = "pts/0", .host = "caf\xe9"}}));
  Outcome ours = Ours({"--json", "-u", "0"});
  ASSERT_EQ(ours.status, 0) << ours.err;
  nlohmann::json doc = nlohmann::json::parse(ours.out);
  EXPECT_EQ(doc[0]["host"], "caf\xef\xbf\xbd");
  EXPECT_EQ(doc[0]["host_hex"], "636166e9");
  EXPECT_FALSE(doc[0].contains("tty_hex"));  // valid text has no copy
}

TEST_F(LastlogTest, MissingFileIsAnError) {
  Outcome ours =
      Spawn({utmpc_, "lastlog", "-f", (dir_ / "nope").string()}, Env("C", "UTC"), dir_.path());
  EXPECT_EQ(ours.status, 1);
  EXPECT_NE(ours.err.find("cannot open"), std::string::npos) << ours.err;
}

}  // namespace
}  // namespace utmpcd::testing
