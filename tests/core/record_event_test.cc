#include "core/record_event.h"

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

LoginRecord Rec(int16_t type, const char* user, const char* line, int32_t pid = 100) {
  LoginRecord r;
  r.type = type;
  r.user = user;
  r.line = line;
  r.host = "198.51.100.7";
  r.pid = pid;
  r.time_s = 1700000000;
  r.time_usec = 250;
  return r;
}

EventKind KindOf(const LoginRecord& r, EventSource source = EventSource::kWtmp) {
  auto e = EventFromRecord(r, source);
  EXPECT_TRUE(e.has_value());
  return e ? e->kind : EventKind::kGone;
}

TEST(RecordEventTest, WtmpRecordsBecomeTheEventsLastSees) {
  EXPECT_EQ(KindOf(Rec(kUserProcess, "alice", "pts/0")), EventKind::kLogin);
  EXPECT_EQ(KindOf(Rec(kDeadProcess, "", "pts/0")), EventKind::kLogout);
  EXPECT_EQ(KindOf(Rec(kBootTime, "reboot", "~")), EventKind::kBoot);
  EXPECT_EQ(KindOf(Rec(kRunLevel, "shutdown", "~")), EventKind::kShutdown);
  EXPECT_EQ(KindOf(Rec(kRunLevel, "runlevel", "~", '5')), EventKind::kRunlevel);
  EXPECT_EQ(KindOf(Rec(kRunLevel, "runlevel", "~", '6')), EventKind::kShutdown);
  EXPECT_EQ(KindOf(Rec(kNewTime, "date", "{")), EventKind::kClock);
  // An old writer's login with the wrong type is still a login, as last reads it.
  EXPECT_EQ(KindOf(Rec(kLoginProcess, "bob", "tty2")), EventKind::kLogin);
}

TEST(RecordEventTest, RecordsThatAreNoEvent) {
  EXPECT_FALSE(EventFromRecord(Rec(kLoginProcess, "LOGIN", "tty1"), EventSource::kWtmp));
  EXPECT_FALSE(EventFromRecord(Rec(kInitProcess, "", ""), EventSource::kWtmp));
  EXPECT_FALSE(EventFromRecord(Rec(kEmpty, "", ""), EventSource::kWtmp));
}

TEST(RecordEventTest, BtmpRecordsAreFailedLogins) {
  EXPECT_EQ(KindOf(Rec(kLoginProcess, "root", "ssh:notty"), EventSource::kBtmp),
            EventKind::kFailed);
  EXPECT_FALSE(EventFromRecord(Rec(kLoginProcess, "", "ssh:notty"), EventSource::kBtmp));
}

TEST(RecordEventTest, CopiesTheFields) {
  LoginRecord r = Rec(kUserProcess, "alice", "pts/3", 4242);
  r.session = 9;
  r.addr = {198, 51, 100, 7};
  auto e = EventFromRecord(r, EventSource::kWtmp);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->time_us, 1700000000000250);
  EXPECT_EQ(e->user, "alice");
  EXPECT_EQ(e->tty, "pts/3");
  EXPECT_EQ(e->remote_host, "198.51.100.7");
  EXPECT_EQ(e->remote_addr[0], 198);
  EXPECT_EQ(e->pid, 4242);
  EXPECT_EQ(e->session, 9);
  EXPECT_EQ(e->source, EventSource::kWtmp);
  EXPECT_EQ(e->seq, 0);
  EXPECT_EQ(std::string(EventKindName(e->kind)), "login");
  EXPECT_EQ(ParseEventKind("failed"), EventKind::kFailed);
  EXPECT_EQ(ParseEventSource("pam"), EventSource::kPam);
  EXPECT_FALSE(ParseEventKind("nope"));
}

}  // namespace
}  // namespace utmpcd
