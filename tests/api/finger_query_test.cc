// The finger responder's protocol (api/finger.h): the query forms of RFC 1288, and what each
// tier is told. (Over the network, with Debian's finger client: tests/api/finger_test.sh.)
#include "api/finger.h"

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

std::vector<LiveSession> Sessions() {
  LiveSession alice;
  alice.user = "alice";
  alice.line = "pts/1";
  alice.host = "192.0.2.7";
  alice.login_time_us = INT64_C(1796637600) * 1000000;
  LiveSession evil = alice;
  evil.user = "ev\x1b[2Jil";
  evil.line = "pts/2";
  evil.host = "h\nst";
  return {evil, alice};
}

TEST(FingerQueryTest, ParsesTheFormsOfRfc1288) {
  EXPECT_EQ(ParseFingerQuery("").user, "");
  EXPECT_EQ(ParseFingerQuery("\r").user, "");
  EXPECT_EQ(ParseFingerQuery("alice\r").user, "alice");
  FingerQuery w = ParseFingerQuery("/W alice\r");
  EXPECT_TRUE(w.verbose);
  EXPECT_EQ(w.user, "alice");
  EXPECT_TRUE(ParseFingerQuery("/W\r").verbose);
  EXPECT_TRUE(ParseFingerQuery("alice@web2\r").forward);
  EXPECT_TRUE(ParseFingerQuery("@web2").forward);
  EXPECT_TRUE(ParseFingerQuery("al ice").bad);
  EXPECT_TRUE(ParseFingerQuery("al\x01" "ce").bad);
  EXPECT_TRUE(ParseFingerQuery(std::string(300, 'a')).bad);
}

TEST(FingerQueryTest, EachTierIsToldWhatItMaySee) {
  HostSummary host;
  host.hostname = "web1";
  host.users = 2;
  host.sessions = 2;
  host.uptime_s = 3 * 86400 + 4 * 3600 + 5 * 60;
  const auto sessions = Sessions();
  std::string summary = FingerAnswer(ParseFingerQuery(""), Tier::kSummary, host, sessions);
  EXPECT_EQ(summary,
            "utmpcd on web1: 2 users, 2 sessions, up 3 days, 04:05\r\n"
            "Who is on is not told to this network.\r\n");
  EXPECT_EQ(FingerAnswer(ParseFingerQuery("alice"), Tier::kSummary, host, sessions), summary);
  EXPECT_EQ(FingerAnswer(ParseFingerQuery("nosuch"), Tier::kSummary, host, sessions), summary);

  std::string all = FingerAnswer(ParseFingerQuery(""), Tier::kSessions, host, sessions);
  EXPECT_NE(all.find("\r\nalice     pts/1        "), std::string::npos) << all;
  EXPECT_NE(all.find("192.0.2.7\r\n"), std::string::npos) << all;
  EXPECT_EQ(all.find('\x1b'), std::string::npos) << all;
  EXPECT_EQ(all.find("h\nst"), std::string::npos) << all;  // a newline from a record, escaped
  std::string one = FingerAnswer(ParseFingerQuery("alice"), Tier::kSessions, host, sessions);
  EXPECT_NE(one.find("alice"), std::string::npos);
  EXPECT_EQ(one.find("pts/2"), std::string::npos);
  EXPECT_EQ(FingerAnswer(ParseFingerQuery("nosuch"), Tier::kSessions, host, sessions),
            "finger: nosuch: not logged in\r\n");
  EXPECT_EQ(FingerAnswer(ParseFingerQuery("alice@web2"), Tier::kFull, host, sessions),
            "finger: forwarding is not served here\r\n");
}

}  // namespace
}  // namespace utmpcd
