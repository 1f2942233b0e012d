#include "core/last_builder.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

struct Seen {
  std::string user, line;
  int64_t login_s, logout_s;
  SessionEnd end;
  int64_t logout_us;
};

LoginRecord Rec(int16_t type, const char* user, const char* line, int64_t t, int32_t pid = 1) {
  LoginRecord r;
  r.type = type;
  r.user = user;
  r.line = line;
  r.time_s = t;
  r.pid = pid;
  return r;
}

// Feeds `records` (given oldest first, as in the file) newest first, as `last` reads.
std::vector<Seen> Build(const std::vector<LoginRecord>& records, const LastQuery& q,
                        int64_t now = 10000, bool phantom = false) {
  LastBuilder b(q, now, [phantom](const LoginRecord&) { return phantom; });
  std::vector<Seen> seen;
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    b.Feed(*it, [&](const LastRow& row) {
      seen.push_back({std::string(row.record->user), std::string(row.line), row.login_s,
                      row.logout_s, row.end, row.logout_us()});
      return true;
    });
  }
  return seen;
}

TEST(LastBuilderTest, PairsLogoutWithLoginOnTheSameLine) {
  auto rows = Build({Rec(kBootTime, "reboot", "~", 100), Rec(kUserProcess, "alice", "pts/0", 200),
                     Rec(kUserProcess, "bob", "pts/1", 300), Rec(kDeadProcess, "", "pts/0", 400)},
                    {});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].user, "bob");
  EXPECT_EQ(rows[0].end, SessionEnd::kStillLoggedIn);
  EXPECT_EQ(rows[1].user, "alice");
  EXPECT_EQ(rows[1].end, SessionEnd::kLogout);
  EXPECT_EQ(rows[1].logout_s, 400);
  EXPECT_EQ(rows[2].line, "system boot");
  EXPECT_EQ(rows[2].end, SessionEnd::kBoot);
  EXPECT_EQ(rows[2].logout_s, 10000);  // no shutdown since: still running
}

LoginRecord At(LoginRecord r, int32_t usec) {
  r.time_usec = usec;
  return r;
}

// A row's logout time is the closing record's, to the microsecond (issue 12 item 7: it was cut
// to the second, so a session could end before it began), for every kind of end; the seconds
// the columns show are the record's own.
TEST(LastBuilderTest, LogoutTimesKeepTheirMicroseconds) {
  auto rows = Build({At(Rec(kBootTime, "reboot", "~", 100), 1),
                     At(Rec(kUserProcess, "alice", "pts/0", 200), 900000),
                     At(Rec(kDeadProcess, "", "pts/0", 200), 950001),  // same second, later
                     At(Rec(kUserProcess, "bob", "pts/1", 300), 5),
                     At(Rec(kBootTime, "reboot", "~", 400), 123456),   // bob: crash
                     At(Rec(kUserProcess, "carol", "tty1", 500), 0),
                     At(Rec(kRunLevel, "shutdown", "~", 600), 654321),  // carol: down
                     At(Rec(kBootTime, "reboot", "~", 700), 999999)},
                    {});
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[1].user, "carol");
  EXPECT_EQ(rows[1].end, SessionEnd::kDown);
  EXPECT_EQ(rows[1].logout_s, 600);
  EXPECT_EQ(rows[1].logout_us, 600654321);
  EXPECT_EQ(rows[2].line, "system boot");  // the boot at 400 ended with the shutdown
  EXPECT_EQ(rows[2].logout_us, 600654321);
  EXPECT_EQ(rows[3].user, "bob");
  EXPECT_EQ(rows[3].end, SessionEnd::kCrash);
  EXPECT_EQ(rows[3].logout_us, 400123456);
  EXPECT_EQ(rows[4].user, "alice");
  EXPECT_EQ(rows[4].end, SessionEnd::kLogout);
  EXPECT_EQ(rows[4].logout_s, 200);
  EXPECT_EQ(rows[4].logout_us, 200950001);
  EXPECT_GE(rows[4].logout_us, 200900000);  // never before the login
}

TEST(LastBuilderTest, CrashAndDownCloseOpenSessions) {
  auto rows = Build({Rec(kBootTime, "reboot", "~", 100), Rec(kUserProcess, "alice", "tty1", 200),
                     Rec(kBootTime, "reboot", "~", 300), Rec(kUserProcess, "bob", "tty1", 400),
                     Rec(kRunLevel, "shutdown", "~", 500), Rec(kBootTime, "reboot", "~", 600)},
                    {});
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1].user, "bob");
  EXPECT_EQ(rows[1].end, SessionEnd::kDown);
  EXPECT_EQ(rows[1].logout_s, 500);
  EXPECT_EQ(rows[3].user, "alice");
  EXPECT_EQ(rows[3].end, SessionEnd::kCrash);
  EXPECT_EQ(rows[3].logout_s, 300);
}

// A halt or reboot through init writes only "runlevel" 0 or 6 (no "shutdown" record): last takes
// the runlevel change itself for the shutdown, so the login before it ends "down", not "crash".
TEST(LastBuilderTest, RunlevelZeroOrSixWithoutShutdownIsDown) {
  for (char level : {'0', '6'}) {
    auto rows = Build({Rec(kBootTime, "reboot", "~", 100), Rec(kUserProcess, "alice", "tty1", 200),
                       Rec(kRunLevel, "runlevel", "~", 500, level + 256 * '5'),
                       Rec(kBootTime, "reboot", "~", 600)},
                      {});
    ASSERT_EQ(rows.size(), 3u) << "level " << level;
    EXPECT_EQ(rows[1].user, "alice") << "level " << level;
    EXPECT_EQ(rows[1].end, SessionEnd::kDown) << "level " << level;
    EXPECT_EQ(rows[1].logout_s, 500) << "level " << level;
  }
  // Any other level is no shutdown: the boot after it was a crash.
  auto rows = Build({Rec(kBootTime, "reboot", "~", 100), Rec(kUserProcess, "alice", "tty1", 200),
                     Rec(kRunLevel, "runlevel", "~", 500, '3' + 256 * '5'),
                     Rec(kBootTime, "reboot", "~", 600)},
                    {});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].end, SessionEnd::kCrash);
}

TEST(LastBuilderTest, OpenLoginOfAGoneProcessIsGone) {
  auto rows = Build({Rec(kUserProcess, "alice", "pts/3", 200)}, {}, 10000, /*phantom=*/true);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].end, SessionEnd::kGone);
}

TEST(LastBuilderTest, ShowFiltersByUserOrTty) {
  LastQuery q;
  q.show = {"1"};  // matches tty1 through the "tty" prefix rule
  auto rows = Build({Rec(kUserProcess, "alice", "tty1", 200), Rec(kUserProcess, "bob", "tty2", 300)},
                    q);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].user, "alice");
}

TEST(LastBuilderTest, ExtendedListsRunlevelsAndClockChanges) {
  LastQuery q;
  q.extended = true;
  auto rows = Build({Rec(kRunLevel, "runlevel", "~", 100, '5'), Rec(kNewTime, "date", "{", 200),
                     Rec(kRunLevel, "shutdown", "~", 300, 0)},
                    q);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, "system down");
  EXPECT_EQ(rows[1].line, "new time");
  EXPECT_EQ(rows[1].end, SessionEnd::kTimeChange);
  EXPECT_EQ(rows[2].line, "(to lvl 5)");
}

TEST(LastBuilderTest, SinceDropsRecordsBeforePairing) {
  LastQuery q;
  q.since_s = 250;
  // The logout at 400 is kept; the login at 200 is dropped, so nothing pairs with it.
  auto rows = Build({Rec(kUserProcess, "alice", "pts/0", 200), Rec(kDeadProcess, "", "pts/0", 400),
                     Rec(kUserProcess, "bob", "pts/0", 300)},
                    q);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].user, "bob");
}

}  // namespace
}  // namespace utmpcd
