// The fleet store (store/fleet_store.h) on both of its databases: a SQLite file, and a real
// PostgreSQL 15 server this test starts on loopback (tests/support/postgres.sh) and stops
// after. Every test runs on each; each PostgreSQL test has a database of its own.
#include "store/fleet_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace utmpcd {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status != 0) out = "FAILED(" + std::to_string(status) + "): " + out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// One PostgreSQL server for the whole test binary.
class PostgresServer : public ::testing::Environment {
 public:
  static inline std::string url;  // of the "postgres" database; "" when it did not start
  static inline std::string problem;
  static inline fs::path dir;

  void SetUp() override {
    char tmpl[] = "/tmp/fleet_store_test.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return;
    dir = tmpl;
    chmod(dir.c_str(), 0711);  // the server's user (nobody) reaches its directory inside
    std::string script = std::string(std::getenv("UTMPCD_SOURCE_DIR")) + "/tests/support/postgres.sh";
    std::string out = Shell(script + " start " + (dir / "pg").string() + " 2>&1");
    if (out.starts_with("postgresql://")) {
      url = out;
    } else {
      problem = out;
    }
  }
  void TearDown() override {
    if (dir.empty()) return;
    std::string script = std::string(std::getenv("UTMPCD_SOURCE_DIR")) + "/tests/support/postgres.sh";
    Shell(script + " stop " + (dir / "pg").string());
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // A new, empty database; its URL.
  static std::string NewDatabase() {
    static std::atomic<int> n{0};
    std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++n);
    std::string out = Shell("psql -q -X '" + url + "' -c 'CREATE DATABASE " + name + "' 2>&1");
    EXPECT_EQ(out, "");
    return url.substr(0, url.rfind('/') + 1) + name;
  }
};
const auto* const kServer = ::testing::AddGlobalTestEnvironment(new PostgresServer);

constexpr int64_t kT0 = 1764349200000000;  // 2025-11-28T17:00:00Z
constexpr int64_t kMinute = 60000000;

Event Ev(int64_t seq, EventKind kind, int64_t minute, std::string user = "",
         std::string tty = "pts/0", std::string remote = "") {
  Event e;
  e.seq = seq;
  e.kind = kind;
  e.time_us = kT0 + minute * kMinute;
  e.user = std::move(user);
  e.tty = std::move(tty);
  e.remote_host = std::move(remote);
  e.pid = static_cast<int32_t>(1000 + seq);
  e.source = EventSource::kWtmp;
  return e;
}

class FleetStoreTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (std::string(GetParam()) == "postgresql") {
      ASSERT_FALSE(PostgresServer::url.empty())
          << "the test's PostgreSQL server did not start: " << PostgresServer::problem;
      url_ = PostgresServer::NewDatabase();
    } else {
      char tmpl[] = "/tmp/fleet_sqlite.XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      url_ = (dir_ / "fleet.db").string();
    }
    store_ = OpenStore();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  std::unique_ptr<FleetStore> OpenStore() {
    auto s = FleetStore::Open(url_);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? std::move(*s) : nullptr;
  }

  // Stores one batch of `host` as owner "a" (holding every host).
  FleetStoreResult Put(const std::string& host, std::vector<Event> events,
                       std::string history = "h1") {
    std::vector<FleetBatch> b{{host, std::move(history), std::move(events)}};
    auto r = store_->Store(b, "");
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : FleetStoreResult{};
  }

  std::vector<std::string> OpenNames(const FleetFilter& f) {
    auto s = store_->OpenSessions(f);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? Names(*s) : std::vector<std::string>{};
  }
  std::vector<std::string> HistoryNames(const FleetFilter& f) {
    auto s = store_->History(f);
    EXPECT_TRUE(s) << (s ? "" : s.error().message);
    return s ? Names(*s) : std::vector<std::string>{};
  }

  static std::vector<std::string> Names(const std::vector<FleetSession>& s) {
    std::vector<std::string> out;
    for (auto& x : s) out.push_back(x.hostname + ":" + x.user + "@" + x.tty + ":" + x.end);
    return out;
  }

  std::string url_;
  fs::path dir_;
  std::unique_ptr<FleetStore> store_;
};

TEST_P(FleetStoreTest, ARedeliveredEventIsStoredOnceAndTheResumePointIsWhatWasCommitted) {
  auto r = Put("web1", {Ev(1, EventKind::kBoot, 0), Ev(2, EventKind::kLogin, 1, "alice")});
  EXPECT_EQ(r.stored, 2);
  // The stream repeats event 2 after a reconnect, and goes on.
  r = Put("web1", {Ev(2, EventKind::kLogin, 1, "alice"), Ev(3, EventKind::kLogout, 2, "")});
  EXPECT_EQ(r.stored, 1);
  EXPECT_EQ(r.skipped, 1);
  auto hosts = store_->Hosts();
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].host, "web1");
  EXPECT_EQ((*hosts)[0].last_seq, 3);
  EXPECT_EQ((*hosts)[0].history, "h1");
  EXPECT_EQ((*hosts)[0].last_event_us, kT0 + 2 * kMinute);
  auto events = store_->EventsAfter(0, 100);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].position, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*events)[i].event.host_seq, static_cast<int64_t>(i + 1));
  }
  EXPECT_EQ((*events)[1].event.event.user, "alice");
  EXPECT_EQ((*events)[1].event.event.pid, 1002);
  EXPECT_EQ(*store_->LastPosition(), 3);
  // A store opened again finds the same (the schema is not made twice).
  store_ = OpenStore();
  ASSERT_TRUE(store_);
  EXPECT_EQ((*store_->Hosts())[0].last_seq, 3);
}

TEST_P(FleetStoreTest, SessionsOpenAndCloseAsLastPairsThem) {
  Put("web1", {Ev(1, EventKind::kBoot, 0), Ev(2, EventKind::kLogin, 1, "alice", "pts/0", "10.0.0.1"),
               Ev(3, EventKind::kLogin, 2, "bob", "pts/1"),
               Ev(4, EventKind::kLogin, 3, "carol", "tty1")});
  Put("db1", {Ev(1, EventKind::kLogin, 1, "alice", "pts/3")});
  EXPECT_THAT(OpenNames({}), ElementsAre("db1:alice@pts/3:", "web1:alice@pts/0:",
                                        "web1:bob@pts/1:", "web1:carol@tty1:"));
  // bob logs out; a new login on carol's line ends hers (as last says: logout).
  Put("web1", {Ev(5, EventKind::kLogout, 4, "", "pts/1"), Ev(6, EventKind::kLogin, 5, "dave", "tty1")});
  FleetFilter alice;
  alice.users = {"alice"};
  EXPECT_THAT(OpenNames(alice),
              ElementsAre("db1:alice@pts/3:", "web1:alice@pts/0:"));
  FleetFilter web1;
  web1.hosts = {"web1"};
  EXPECT_THAT(OpenNames(web1),
              ElementsAre("web1:alice@pts/0:", "web1:dave@tty1:"));
  // A crash: the host boots with no shutdown; every session of web1 ends "crash".
  Put("web1", {Ev(7, EventKind::kBoot, 60)});
  EXPECT_THAT(OpenNames({}), ElementsAre("db1:alice@pts/3:"));
  auto history = store_->History(web1);
  ASSERT_TRUE(history);
  EXPECT_THAT(Names(*history),
              ElementsAre("web1:reboot@system boot:", "web1:dave@tty1:crash",
                          "web1:carol@tty1:logout", "web1:bob@pts/1:logout",
                          "web1:alice@pts/0:crash", "web1:reboot@system boot:boot"));
  EXPECT_EQ((*history)[3].end_us, kT0 + 4 * kMinute);
  EXPECT_EQ((*history)[4].remote_host, "10.0.0.1");
  // A shutdown ends the rest "down"; a gone session ends with no time.
  Put("db1", {Ev(2, EventKind::kLogin, 70, "erin", "pts/4"), Ev(3, EventKind::kGone, 71, "", "pts/4"),
              Ev(4, EventKind::kShutdown, 80)});
  FleetFilter db1;
  db1.hosts = {"db1"};
  EXPECT_THAT(HistoryNames(db1), ElementsAre("db1:erin@pts/4:gone", "db1:alice@pts/3:down"));
  EXPECT_FALSE(store_->History(db1)->at(0).end_us.has_value());
  EXPECT_TRUE(store_->OpenSessions({})->empty());
}

TEST_P(FleetStoreTest, HistoryAndFailedArePagedNewestFirstAcrossHosts) {
  std::vector<Event> a, b;
  for (int i = 1; i <= 30; ++i) {
    a.push_back(Ev(i, i % 3 == 0 ? EventKind::kFailed : EventKind::kLogin, 2 * i, "u" + std::to_string(i)));
    b.push_back(Ev(i, i % 3 == 0 ? EventKind::kFailed : EventKind::kLogin, 2 * i + 1, "v" + std::to_string(i)));
  }
  Put("a", a);
  Put("b", b);
  FleetFilter f;
  f.limit = 7;
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto rows = store_->History(f);
    ASSERT_TRUE(rows) << rows.error().message;
    for (auto& r : *rows) seen.push_back(r.hostname + r.user);
    if (rows->size() < static_cast<size_t>(f.limit)) break;
    f.before = FleetFilter::After{rows->back().login_us, rows->back().hostname, rows->back().seq};
  }
  ASSERT_EQ(seen.size(), 40u);  // 20 logins a host
  EXPECT_EQ(seen.front(), "bv29");
  EXPECT_EQ(seen[1], "au29");
  EXPECT_EQ(seen.back(), "au1");
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 40u);

  FleetFilter failed;
  failed.since_us = kT0 + 20 * kMinute;
  failed.until_us = kT0 + 40 * kMinute;
  auto rows = store_->Failed(failed);
  ASSERT_TRUE(rows) << rows.error().message;
  std::vector<std::string> users;
  for (auto& r : *rows) users.push_back(r.hostname + r.event.user);
  // Failed at minutes 2i (a) and 2i+1 (b) for i = 3, 6, ...: in [20, 40): i = 12, 15, 18.
  EXPECT_THAT(users, ElementsAre("bv18", "au18", "bv15", "au15", "bv12", "au12"));
  failed.users = {"v15"};
  EXPECT_EQ(store_->Failed(failed)->size(), 1u);
}

TEST_P(FleetStoreTest, LastlogIsEachUsersNewestLoginOnAnyHost) {
  Put("web1", {Ev(1, EventKind::kLogin, 1, "alice", "pts/0", "10.0.0.1"),
               Ev(2, EventKind::kLogin, 5, "bob", "pts/1"), Ev(3, EventKind::kFailed, 9, "alice")});
  Put("db1", {Ev(1, EventKind::kLogin, 3, "alice", "pts/7", "10.0.0.2"),
              Ev(2, EventKind::kLogin, 2, "bob", "pts/2")});
  auto l = store_->Lastlog({});
  ASSERT_TRUE(l) << l.error().message;
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].user, "alice");
  EXPECT_EQ((*l)[0].hostname, "db1");  // minute 3; the failed login does not count
  EXPECT_EQ((*l)[0].tty, "pts/7");
  EXPECT_EQ((*l)[0].remote_host, "10.0.0.2");
  EXPECT_EQ((*l)[1].user, "bob");
  EXPECT_EQ((*l)[1].hostname, "web1");
  FleetFilter bob;
  bob.users = {"bob"};
  EXPECT_EQ(store_->Lastlog(bob)->size(), 1u);
}

TEST_P(FleetStoreTest, BytesThatAreNoTextSurviveTheRoundTrip) {
  std::string user("caf\xe9\x1b[2J\0x", 10);
  Put("web1", {Ev(1, EventKind::kLogin, 1, user, std::string("pts/\xff", 5))});
  FleetFilter f;
  f.users = {user};
  auto open = store_->OpenSessions(f);
  ASSERT_TRUE(open);
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].user, user);
  EXPECT_EQ((*open)[0].tty, std::string("pts/\xff", 5));
}

TEST_P(FleetStoreTest, ANewHistoryOfAHostIsStoredAboveTheOldOne) {
  Put("web1", {Ev(1, EventKind::kLogin, 1, "alice"), Ev(2, EventKind::kLogin, 2, "bob", "pts/1")});
  // The host's database was made anew: its seqs start at 1 again.
  auto r = Put("web1", {Ev(1, EventKind::kLogin, 3, "carol", "pts/2")}, "h2");
  EXPECT_EQ(r.stored, 1);
  auto hosts = store_->Hosts();
  EXPECT_EQ((*hosts)[0].history, "h2");
  EXPECT_EQ((*hosts)[0].last_seq, 1);
  EXPECT_EQ((*hosts)[0].stored_seq, 3);
  auto events = store_->EventsAfter(0, 10);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[2].event.event.seq, 3);
  EXPECT_EQ((*events)[2].event.host_seq, 1);
  EXPECT_EQ((*events)[2].event.event.user, "carol");
}

TEST_P(FleetStoreTest, SeqsThatWentBackInTheSameHistoryAreStoredAsNewEvents) {
  Put("web1", {Ev(1, EventKind::kLogin, 1, "a"), Ev(2, EventKind::kLogin, 2, "b", "pts/1"),
               Ev(3, EventKind::kLogin, 3, "c", "pts/2")});
  // A backup of the host's database restored: its newest is seq 1 again, and it goes on.
  std::vector<FleetBatch> b{{"web1", "h1", {Ev(2, EventKind::kLogin, 4, "d", "pts/3")}, 1}};
  auto r = store_->Store(b, "");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->stored, 1);
  auto events = store_->EventsAfter(0, 10);
  ASSERT_EQ(events->size(), 4u);
  EXPECT_EQ((*events)[3].event.event.user, "d");
  EXPECT_EQ((*events)[3].event.event.seq, 4);
  EXPECT_EQ((*events)[3].event.host_seq, 2);
  EXPECT_EQ((*store_->Hosts())[0].last_seq, 2);
  // Delivered again, it is not stored twice.
  b[0].rebase_to.reset();
  EXPECT_EQ(store_->Store(b, "")->stored, 0);
}

TEST_P(FleetStoreTest, InstancesShareTheHostsAndTakeOverThoseOfOneThatStops) {
  std::vector<std::string> hosts;
  for (int i = 0; i < 10; ++i) hosts.push_back("h" + std::to_string(i));
  ASSERT_TRUE(store_->SetHosts(hosts));
  auto a = store_->Claim("a", 60000, hosts);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->size(), 10u);  // alone: everything
  auto b = store_->Claim("b", 60000, hosts);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->size(), 0u);  // a holds them all
  a = store_->Claim("a", 60000, hosts);  // a sees b: gives back above its share
  EXPECT_EQ(a->size(), 5u);
  b = store_->Claim("b", 60000, hosts);
  EXPECT_EQ(b->size(), 5u);
  std::set<std::string> both(a->begin(), a->end());
  both.insert(b->begin(), b->end());
  EXPECT_EQ(both.size(), 10u);
  // Only the holder stores a host's events.
  std::vector<FleetBatch> batch{{(*a)[0], "h", {Ev(1, EventKind::kLogin, 1, "x")}}};
  auto refused = store_->Store(batch, "b");
  ASSERT_TRUE(refused);
  EXPECT_THAT(refused->not_owned, ElementsAre((*a)[0]));
  EXPECT_EQ(refused->stored, 0);
  EXPECT_EQ(store_->Store(batch, "a")->stored, 1);
  // a stops cleanly: b takes everything at its next round.
  ASSERT_TRUE(store_->Release("a"));
  EXPECT_EQ(store_->Claim("b", 60000, hosts)->size(), 10u);
  // b dies (no release): once its lease runs out, c takes over.
  ASSERT_TRUE(store_->Claim("b", 300, hosts));
  EXPECT_EQ(store_->Claim("c", 300, hosts)->size(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(store_->Claim("c", 60000, hosts)->size(), 10u);
  // A host no longer configured is given up and no longer listed.
  hosts.pop_back();
  ASSERT_TRUE(store_->SetHosts(hosts));
  EXPECT_EQ(store_->Claim("c", 60000, hosts)->size(), 9u);
  EXPECT_EQ(store_->Hosts()->size(), 9u);
}

TEST_P(FleetStoreTest, RetentionDropsOldEventsAndEndedSessionsButNotOpenOnes) {
  int64_t day = 24 * 60 * kMinute;
  // Two months ago, and now.
  int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  auto at = [&](Event e, int64_t t) {
    e.time_us = t;
    return e;
  };
  Put("web1", {at(Ev(1, EventKind::kLogin, 0, "old", "pts/0"), now - 70 * day),
               at(Ev(2, EventKind::kLogout, 0, "", "pts/0"), now - 69 * day),
               at(Ev(3, EventKind::kLogin, 0, "stays", "pts/1"), now - 68 * day),
               at(Ev(4, EventKind::kLogin, 0, "new", "pts/2"), now)});
  auto gone = store_->DropOlderThan(now - 40 * day);
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_GE(*gone, 1);
  auto events = store_->EventsAfter(0, 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].event.event.user, "new");
  auto history = store_->History({});
  ASSERT_TRUE(history);
  std::vector<std::string> users;
  for (auto& s : *history) users.push_back(s.user);
  EXPECT_THAT(users, ElementsAre("new", "stays"));
}

TEST_P(FleetStoreTest, ConcurrentWritersOfOneHostStoreEachEventOnce) {
  // Two connections (as two instances during a takeover) deliver the same stream at once.
  auto other = OpenStore();
  ASSERT_TRUE(other);
  std::vector<Event> events;
  for (int i = 1; i <= 400; ++i) events.push_back(Ev(i, EventKind::kLogin, i, "u", "pts/" + std::to_string(i % 7)));
  auto feed = [&](FleetStore* s) {
    for (size_t i = 0; i < events.size(); i += 20) {
      std::vector<FleetBatch> b{{"web1", "h", {events.begin() + static_cast<long>(i),
                                               events.begin() + static_cast<long>(i + 20)}}};
      for (int attempt = 0; attempt < 50; ++attempt) {
        auto r = s->Store(b, "");
        if (r) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // SQLite: busy
      }
    }
  };
  std::thread t([&] { feed(other.get()); });
  feed(store_.get());
  t.join();
  auto stored = store_->EventsAfter(0, 1000);
  ASSERT_EQ(stored->size(), 400u);
  for (size_t i = 0; i < stored->size(); ++i)
    EXPECT_EQ((*stored)[i].event.host_seq, static_cast<int64_t>(i + 1));
  EXPECT_EQ(store_->OpenSessions({})->size(), 7u);  // one open session a line
}

TEST_P(FleetStoreTest, AValueTheDatabaseRefusesFailsTheBatchAsInvalidNothingStored) {
  // utmpsd stores host by host when a batch fails so (fleet_server.cc), and sets aside the
  // host whose events are refused. PostgreSQL refuses a NUL in text; SQLite takes it.
  Event bad = Ev(1, EventKind::kLogin, 1, "x");
  bad.boot_id = std::string("ab\0cd", 5);
  std::vector<FleetBatch> b{{"web1", "h", {Ev(1, EventKind::kLogin, 1, "ok")}},
                            {"web2", "h", {bad}}};
  auto r = store_->Store(b, "");
  if (std::string(GetParam()) == "sqlite") {
    EXPECT_TRUE(r);
    return;
  }
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
  EXPECT_TRUE(store_->EventsAfter(0, 10)->empty());  // the transaction stored nothing
  b.pop_back();
  EXPECT_EQ(store_->Store(b, "")->stored, 1);  // the other host's alone
}

TEST_P(FleetStoreTest, ASchemaNewerThanThisBuildIsRefused) {
  store_.reset();
  if (std::string(GetParam()) == "postgresql") {
    Shell("psql -q -X '" + url_ + "' -c \"UPDATE fleet_meta SET value = 99 WHERE key = 'schema_version'\"");
  } else {
    Shell("sqlite3 '" + url_ + "' \"UPDATE fleet_meta SET value = 99 WHERE key = 'schema_version'\"");
  }
  auto s = FleetStore::Open(url_);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kUnsupported);
  EXPECT_THAT(s.error().message, HasSubstr("version 99"));
}

INSTANTIATE_TEST_SUITE_P(Stores, FleetStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& p) { return std::string(p.param); });

TEST(FleetStoreOpen, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  auto s = FleetStore::Open("postgresql://u:secret@127.0.0.1:1/fleet?connect_timeout=2");
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("postgresql://u:***@127.0.0.1:1/fleet"));
  EXPECT_THAT(s.error().message, HasSubstr("refused"));
  EXPECT_THAT(s.error().message, ::testing::Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace utmpcd
