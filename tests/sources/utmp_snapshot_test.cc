// utmp snapshots: which entries are live sessions, reading the file (also as written by
// util-linux `utmpdump -r`), and the diff the daemon turns into login and logout events.
#include "sources/utmp_snapshot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sources/sources_test_util.h"

namespace utmpcd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

LoginRecord Entry(int16_t type, int32_t pid, std::string_view user, std::string_view line) {
  LoginRecord r = UserRecord(pid, user, line);
  r.type = type;
  return r;
}

LiveSession Live(std::string_view line, int32_t pid, std::string_view user = "u") {
  LiveSession s;
  s.line = line;
  s.pid = pid;
  s.user = user;
  return s;
}

std::vector<std::string> Users(const std::vector<LiveSession>& sessions) {
  std::vector<std::string> users;
  for (const LiveSession& s : sessions) users.push_back(s.user);
  return users;
}

TEST(UtmpSnapshotTest, OnlyUserProcessesWithAUserAreLive) {
  std::string bytes = Encode(Entry(kBootTime, 0, "reboot", "~")) +
                      Encode(Entry(kRunLevel, 20019, "runlevel", "~")) +
                      Encode(Entry(kLoginProcess, 700, "LOGIN", "tty1")) +
                      Encode(Entry(kUserProcess, 100, "alice", "pts/0")) +
                      Encode(Entry(kDeadProcess, 101, "", "pts/1")) +
                      Encode(Entry(kUserProcess, 102, "", "pts/2"));
  std::string garbled = Encode(Entry(kUserProcess, 103, "mallory", "pts/3"));
  garbled[0] = 99;
  bytes += garbled + Encode(Entry(kUserProcess, 104, "bob", "pts/4"));
  bytes += "partial";
  UtmpSnapshot snapshot = ParseUtmpSnapshot(bytes, UtmpLayout::kGlibc384);
  EXPECT_THAT(Users(snapshot.sessions), ElementsAre("alice", "bob"));
  EXPECT_EQ(snapshot.garbled, 1u);
  const LiveSession& alice = snapshot.sessions[0];
  EXPECT_EQ(alice.line, "pts/0");
  EXPECT_EQ(alice.id, "ts/0");
  EXPECT_EQ(alice.host, "192.0.2.7");
  EXPECT_EQ(alice.pid, 100);
  EXPECT_EQ(alice.session, 100);
  EXPECT_EQ(alice.login_time_us, (1700000000 + 100) * 1000000LL + 100);
}

TEST(UtmpSnapshotTest, ReadsAFileWrittenByUtmpdump) {
  if (::access("/usr/bin/utmpdump", X_OK) != 0) GTEST_SKIP() << "no utmpdump here";
  TempDir dir;
  std::string text = dir / "utmp.txt", utmp = dir / "utmp";
  FILE* f = std::fopen(text.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(
      "[2] [00000] [~~  ] [reboot  ] [~           ] [6.1.0-13-amd64      ] [0.0.0.0        ] "
      "[2023-11-14T22:10:00,000000+00:00]\n"
      "[6] [00700] [tty1] [LOGIN   ] [tty1        ] [                    ] [0.0.0.0        ] "
      "[2023-11-14T22:10:05,000000+00:00]\n"
      "[7] [04242] [ts/0] [alice   ] [pts/0       ] [example.org         ] [192.0.2.1      ] "
      "[2023-11-14T22:13:20,123456+00:00]\n",
      f);
  std::fclose(f);
  std::string command = "/usr/bin/utmpdump -r < '" + text + "' > '" + utmp + "' 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto snapshot = ReadUtmpSnapshot(utmp, UtmpLayout::kGlibc384);
  ASSERT_TRUE(snapshot) << snapshot.error().message;
  ASSERT_EQ(snapshot->sessions.size(), 1u);
  const LiveSession& alice = snapshot->sessions[0];
  EXPECT_EQ(alice.user, "alice");
  EXPECT_EQ(alice.line, "pts/0");
  EXPECT_EQ(alice.host, "example.org");
  EXPECT_EQ(alice.pid, 4242);
  EXPECT_EQ(alice.login_time_us, 1700000000123456);
  EXPECT_EQ(alice.addr[0], 192);
}

TEST(UtmpSnapshotTest, MissingFileIsNotFoundRatherThanEmpty) {
  TempDir dir;
  auto snapshot = ReadUtmpSnapshot(dir / "utmp", UtmpLayout::kGlibc384);
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error().code, ErrorCode::kNotFound);
  auto directory = ReadUtmpSnapshot(dir.path().string(), UtmpLayout::kGlibc384);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, ErrorCode::kInvalidArgument);
}

TEST(UtmpSnapshotTest, DiffKeysSessionsByLineAndPid) {
  std::vector<LiveSession> before = {Live("pts/0", 100, "alice"), Live("pts/1", 200, "bob")};
  std::vector<LiveSession> now = {Live("pts/1", 200, "bob"), Live("pts/0", 300, "carol"),
                                  Live("tty1", 400, "dave")};
  SessionDiff diff = Diff(before, now);
  EXPECT_THAT(Users(diff.appeared), ElementsAre("carol", "dave"));
  EXPECT_THAT(Users(diff.disappeared), ElementsAre("alice"));

  SessionDiff same = Diff(now, now);
  EXPECT_THAT(same.appeared, IsEmpty());
  EXPECT_THAT(same.disappeared, IsEmpty());

  // A duplicated entry in a damaged utmp is one session.
  SessionDiff dup = Diff({}, {Live("pts/5", 5), Live("pts/5", 5)});
  EXPECT_EQ(dup.appeared.size(), 1u);
}

// What login programs do: the entry of a line is rewritten in place, DEAD_PROCESS on logout
// and a new USER_PROCESS for the next login on that line.
TEST(UtmpSnapshotTest, DiffOfTwoReadingsOfTheFile) {
  TempDir dir;
  std::string utmp = dir / "utmp";
  auto write = [&](const std::vector<LoginRecord>& records) {
    std::string bytes;
    for (const LoginRecord& r : records) bytes += Encode(r);
    std::remove(utmp.c_str());
    AppendBytes(utmp, bytes);
  };
  write({Entry(kUserProcess, 100, "alice", "pts/0"), Entry(kUserProcess, 200, "bob", "pts/1")});
  auto first = ReadUtmpSnapshot(utmp, UtmpLayout::kGlibc384);
  ASSERT_TRUE(first);
  write({Entry(kDeadProcess, 100, "", "pts/0"), Entry(kUserProcess, 200, "bob", "pts/1"),
         Entry(kUserProcess, 300, "carol", "pts/2")});
  auto second = ReadUtmpSnapshot(utmp, UtmpLayout::kGlibc384);
  ASSERT_TRUE(second);
  SessionDiff diff = Diff(first->sessions, second->sessions);
  ASSERT_EQ(diff.appeared.size(), 1u);
  EXPECT_EQ(diff.appeared[0].user, "carol");
  EXPECT_EQ(diff.appeared[0].line, "pts/2");
  ASSERT_EQ(diff.disappeared.size(), 1u);
  EXPECT_EQ(diff.disappeared[0].user, "alice");
  EXPECT_EQ(diff.disappeared[0].pid, 100);
}

}  // namespace
}  // namespace utmpcd::testing
