// WtmpdbFollower on real SQLite databases made with wtmpdb's own table and written with its own
// statements (thkukuk/wtmpdb lib/sqlite.c): new rows, Logouts filled in later, restarts from a
// stored cursor, rotation, a table emptied, a database replaced, backlogs in pieces, odd rows,
// and writers that hold their locks.
#include "sources/wtmpdb_follower.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "sources/sources_test_util.h"

namespace utmpcd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kBoot = 1'700'000'000'000'000;  // this boot began here (µs)
constexpr int64_t kMinute = 60'000'000;

// A database as wtmpdb writes it, through its own statements.
class Wtmpdb {
 public:
  explicit Wtmpdb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    Exec("CREATE TABLE IF NOT EXISTS wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT "
         "NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT;");
  }
  ~Wtmpdb() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
    sqlite3_free(error);
  }
  // wtmpdb_login: "INSERT INTO wtmp (Type,User,Login,TTY,RemoteHost,Service) VALUES(...)".
  int64_t Login(int type, const std::string& user, int64_t login_us, const char* tty,
                const char* host, const char* service = "sshd") {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_,
                       "INSERT INTO wtmp (Type,User,Login,TTY,RemoteHost,Service) "
                       "VALUES(?,?,?,?,?,?);",
                       -1, &stmt, nullptr);
    sqlite3_bind_int(stmt, 1, type);
    sqlite3_bind_text(stmt, 2, user.data(), static_cast<int>(user.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 3, login_us);
    if (tty) sqlite3_bind_text(stmt, 4, tty, -1, SQLITE_TRANSIENT);
    if (host) sqlite3_bind_text(stmt, 5, host, -1, SQLITE_TRANSIENT);
    if (service) sqlite3_bind_text(stmt, 6, service, -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    return sqlite3_last_insert_rowid(db_);
  }
  int64_t User(const std::string& user, int64_t login_us, const char* tty = "pts/0",
               const char* host = "192.0.2.7") {
    return Login(3, user, login_us, tty, host);
  }
  // wtmpdb_logout: "UPDATE wtmp SET Logout = ? WHERE ID = ?".
  void Logout(int64_t id, int64_t logout_us) {
    Exec("UPDATE wtmp SET Logout = " + std::to_string(logout_us) +
         " WHERE ID = " + std::to_string(id));
  }
  sqlite3* db() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

std::string Describe(const Event& e) {
  return std::string(EventKindName(e.kind)) + " " + std::to_string(e.session) + " " + e.user +
         "@" + e.tty + " " + std::to_string((e.time_us - kBoot) / kMinute);
}

std::vector<std::string> Describe(const WtmpdbBatch& batch) {
  std::vector<std::string> out;
  for (const Event& e : batch.events) out.push_back(Describe(e));
  return out;
}

WtmpdbBatch PollOk(WtmpdbFollower& follower) {
  auto batch = follower.Poll();
  EXPECT_TRUE(batch.has_value()) << (batch ? "" : batch.error().message);
  return batch ? std::move(*batch) : WtmpdbBatch{};
}

TEST(WtmpdbFollowerTest, RowsAreLoginsBootsAndTheirEndsInTheOrderTheyHappened) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  int64_t boot = db.Login(1, "reboot", kBoot, "~", "6.1.0-13-amd64", nullptr);
  int64_t alice = db.User("alice", kBoot + 5 * kMinute);
  int64_t bob = db.User("bob", kBoot + 2 * kMinute, "tty1", nullptr);
  db.Logout(bob, kBoot + 7 * kMinute);
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  WtmpdbBatch batch = PollOk(follower);
  EXPECT_THAT(Describe(batch), ElementsAre("boot 1 reboot@~ 0", "login 3 bob@tty1 2",
                                           "login 2 alice@pts/0 5", "logout 3 @tty1 7"));
  EXPECT_EQ(batch.events[0].remote_host, "6.1.0-13-amd64");
  EXPECT_EQ(batch.events[0].source, EventSource::kWtmpdb);
  const auto& addr = batch.events[2].remote_addr;  // alice from 192.0.2.7, as ut_addr_v6
  EXPECT_EQ(addr[0], 192);
  EXPECT_EQ(addr[3], 7);
  EXPECT_EQ(batch.cursor.last_id, bob);
  EXPECT_THAT(follower.open(), ElementsAre(boot, alice));
  EXPECT_EQ(batch.cursor.open_since_us, kBoot);

  // The Logout filled in later is alice's logout, once; the boot row's, the shutdown.
  db.Logout(alice, kBoot + 9 * kMinute);
  EXPECT_THAT(Describe(PollOk(follower)), ElementsAre("logout 2 @pts/0 9"));
  EXPECT_THAT(PollOk(follower).events, IsEmpty());
  db.Logout(boot, kBoot + 10 * kMinute);
  WtmpdbBatch down = PollOk(follower);
  EXPECT_THAT(Describe(down), ElementsAre("shutdown 1 shutdown@~~ 10"));
  EXPECT_EQ(down.events[0].remote_host, "6.1.0-13-amd64");
  EXPECT_THAT(follower.open(), IsEmpty());
}

TEST(WtmpdbFollowerTest, ARestartFromTheStoredCursorRepeatsNothingAndMissesNothing) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  int64_t a = db.User("alice", kBoot + 1 * kMinute);
  int64_t b = db.User("bob", kBoot + 2 * kMinute, "pts/1");
  WtmpdbCursor cursor;
  std::vector<int64_t> open;
  {
    WtmpdbFollower first(dir / "wtmp.db", std::nullopt, {}, kBoot);
    EXPECT_EQ(PollOk(first).events.size(), 2u);
    cursor = first.cursor();
    open = first.open();
  }
  // While nothing follows: bob logs out, carol logs in.
  db.Logout(b, kBoot + 3 * kMinute);
  db.User("carol", kBoot + 4 * kMinute, "pts/2");
  WtmpdbFollower second(dir / "wtmp.db", cursor, open, kBoot);
  EXPECT_THAT(Describe(PollOk(second)), ElementsAre("logout 2 @pts/1 3", "login 3 carol@pts/2 4"));
  db.Logout(a, kBoot + 5 * kMinute);
  EXPECT_THAT(Describe(PollOk(second)), ElementsAre("logout 1 @pts/0 5"));
}

TEST(WtmpdbFollowerTest, SessionsBeforeTheNewestBootRowAreNotWaitedForWhateverTheClock) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  // A host without a real-time clock: its first login stamped before this boot's start as the
  // daemon computes it, then the boot row; the session is this boot's all the same.
  int64_t early = db.User("early", kBoot - 90 * kMinute);
  int64_t boot = db.Login(1, "reboot", kBoot - 95 * kMinute, "~", "6.1.0", nullptr);
  int64_t late = db.User("late", kBoot - 80 * kMinute, "pts/1");
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_EQ(PollOk(follower).events.size(), 3u);
  EXPECT_THAT(follower.open(), ElementsAre(boot, late)) << "early is before the boot row";
  db.Logout(late, kBoot + kMinute);
  EXPECT_THAT(Describe(PollOk(follower)), ElementsAre("logout 3 @pts/1 1"));
  (void)early;
}

TEST(WtmpdbFollowerTest, SessionsOfEarlierBootsAndEarlierBootsAreNotWaitedFor) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  db.Login(1, "reboot", kBoot - 60 * kMinute, "~", "6.1.0", nullptr);  // crashed
  db.User("old", kBoot - 30 * kMinute);                                  // lost in the crash
  int64_t now_boot = db.Login(1, "reboot", kBoot, "~", "6.1.0", nullptr);
  int64_t alice = db.User("alice", kBoot + kMinute);
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_EQ(PollOk(follower).events.size(), 4u);
  EXPECT_THAT(follower.open(), ElementsAre(now_boot, alice));
  // Restored from a store that still waits for the old ones: they are let go at the first Poll.
  WtmpdbFollower again(dir / "wtmp.db", follower.cursor(), {1, 2, now_boot, alice}, kBoot);
  EXPECT_THAT(PollOk(again).events, IsEmpty());
  EXPECT_THAT(again.open(), ElementsAre(now_boot, alice));
}

TEST(WtmpdbFollowerTest, RowsRotatedAwayAreLetGoAndNewRowsStillRead) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  int64_t old = db.User("alice", kBoot + kMinute);
  db.User("bob", kBoot + 50 * kMinute, "pts/1");
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_EQ(PollOk(follower).events.size(), 2u);
  // wtmpdb rotate: "DELETE FROM wtmp where Login <= ?" after copying the rows elsewhere.
  db.Exec("DELETE FROM wtmp WHERE Login <= " + std::to_string(kBoot + 10 * kMinute));
  db.User("carol", kBoot + 60 * kMinute, "pts/2");
  EXPECT_THAT(Describe(PollOk(follower)), ElementsAre("login 3 carol@pts/2 60"));
  EXPECT_THAT(follower.open(), ElementsAre(2, 3));
  (void)old;
}

TEST(WtmpdbFollowerTest, ATableEmptiedAndNumberedAnewIsReadFromItsNewRows) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  db.User("alice", kBoot + kMinute);
  db.User("bob", kBoot + 2 * kMinute, "pts/1");
  db.User("carol", kBoot + 3 * kMinute, "pts/2");
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_EQ(PollOk(follower).events.size(), 3u);
  db.Exec("DELETE FROM wtmp");  // a rotate that moved every row away
  EXPECT_EQ(db.User("dave", kBoot + 4 * kMinute), 1);
  WtmpdbBatch batch = PollOk(follower);
  EXPECT_THAT(Describe(batch), ElementsAre("login 1 dave@pts/0 4"));
  EXPECT_THAT(batch.warnings, ElementsAre(HasSubstr("numbered anew")));
  db.User("erin", kBoot + 5 * kMinute, "pts/3");
  batch = PollOk(follower);
  EXPECT_THAT(Describe(batch), ElementsAre("login 2 erin@pts/3 5"));
  EXPECT_THAT(batch.warnings, IsEmpty());
}

TEST(WtmpdbFollowerTest, AnotherDatabaseAtThePathIsReadFromTheLoginsAfterTheCursorsRow) {
  TempDir dir;
  {
    Wtmpdb db(dir / "wtmp.db");
    db.User("alice", kBoot + kMinute);
  }
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_EQ(PollOk(follower).events.size(), 1u);
  {
    Wtmpdb other(dir / "new.db");  // logrotate's new file: numbered from 1 again
    other.User("bob", kBoot + 2 * kMinute);
  }
  ASSERT_EQ(std::rename((dir / "new.db").c_str(), (dir / "wtmp.db").c_str()), 0);
  WtmpdbBatch batch = PollOk(follower);
  EXPECT_THAT(Describe(batch), ElementsAre("login 1 bob@pts/0 2"));
  EXPECT_THAT(batch.warnings, ElementsAre(HasSubstr("numbered anew")));
}

TEST(WtmpdbFollowerTest, TheSameRowsInAnotherFileAreGoneOnWithNotReadAgain) {
  TempDir dir;
  int64_t alice;
  {
    Wtmpdb db(dir / "wtmp.db");
    db.User("zed", kBoot + kMinute);
    alice = db.User("alice", kBoot + 2 * kMinute);
  }
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_EQ(PollOk(follower).events.size(), 2u);
  // Moved to another file system and back (Debian's move from /var/lib/wtmpdb to /var/log), a
  // backup restored: a copy, another inode, the same rows.
  {
    std::ifstream from(dir / "wtmp.db", std::ios::binary);
    std::ofstream to(dir / "copy.db", std::ios::binary);
    to << from.rdbuf();
  }
  ASSERT_EQ(std::rename((dir / "copy.db").c_str(), (dir / "wtmp.db").c_str()), 0);
  {
    Wtmpdb db(dir / "wtmp.db");
    db.Logout(alice, kBoot + 3 * kMinute);
    db.User("carol", kBoot + 4 * kMinute, "pts/2");
  }
  WtmpdbBatch batch = PollOk(follower);
  EXPECT_THAT(Describe(batch), ElementsAre("logout 2 @pts/0 3", "login 3 carol@pts/2 4"));
  EXPECT_THAT(batch.warnings, ElementsAre(HasSubstr("same rows")));
}

TEST(WtmpdbFollowerTest, ATableRefilledPastTheCursorIsNumberedAnewToo) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  db.User("alice", kBoot + kMinute);
  db.User("bob", kBoot + 2 * kMinute, "pts/1");
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_EQ(PollOk(follower).events.size(), 2u);
  // Emptied, then three rows before the next Poll: row 2 is there, but another.
  db.Exec("DELETE FROM wtmp");
  db.User("carol", kBoot + 3 * kMinute, "pts/2");
  db.User("dave", kBoot + 4 * kMinute, "pts/3");
  db.User("erin", kBoot + 5 * kMinute, "pts/4");
  WtmpdbBatch batch = PollOk(follower);
  EXPECT_THAT(Describe(batch), ElementsAre("login 1 carol@pts/2 3", "login 2 dave@pts/3 4",
                                           "login 3 erin@pts/4 5"));
  EXPECT_THAT(batch.warnings, ElementsAre(HasSubstr("numbered anew")));
}

TEST(WtmpdbFollowerTest, AnEmptyFileIsNoRowsYet) {
  TempDir dir;
  { std::ofstream(dir / "wtmp.db"); }  // created, its first row not yet written
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  WtmpdbBatch batch = PollOk(follower);
  EXPECT_THAT(batch.events, IsEmpty());
  EXPECT_FALSE(batch.missing);
  Wtmpdb db(dir / "wtmp.db");
  db.User("alice", kBoot + kMinute);
  EXPECT_EQ(PollOk(follower).events.size(), 1u);
}

TEST(WtmpdbFollowerTest, WhatTheHistoryHasFromWtmpIsPassedOver) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  int64_t imported = db.User("alice", kBoot + kMinute);  // imported from wtmp by the upgrade
  db.Logout(imported, kBoot + 2 * kMinute);
  int64_t old_open = db.User("bob", kBoot + 3 * kMinute, "pts/1");
  db.User("carol", kBoot + 10 * kMinute, "pts/2");       // since the upgrade
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  follower.SkipThrough(kBoot + 5 * kMinute);  // the newest event the history has from wtmp
  EXPECT_THAT(Describe(PollOk(follower)), ElementsAre("login 3 carol@pts/2 10"));
  db.Logout(old_open, kBoot + 11 * kMinute);  // an end of a row passed over is passed over too
  EXPECT_THAT(PollOk(follower).events, IsEmpty());
}

TEST(WtmpdbFollowerTest, ABacklogReadInPiecesStaysInTimeOrder) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  // Sessions that overlap: each ends after the next two began.
  for (int i = 0; i < 9; ++i) {
    int64_t id = db.User("u" + std::to_string(i), kBoot + i * 10 * kMinute,
                         ("pts/" + std::to_string(i)).c_str());
    db.Logout(id, kBoot + (i * 10 + 25) * kMinute);
  }
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot, 2);
  std::vector<Event> all;
  for (int polls = 0; polls < 20; ++polls) {
    WtmpdbBatch batch = PollOk(follower);
    for (Event& e : batch.events) all.push_back(std::move(e));
    if (!batch.more) break;
  }
  ASSERT_EQ(all.size(), 18u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_LE(all[i - 1].time_us, all[i].time_us) << Describe(all[i - 1]) << " / " << Describe(all[i]);
  }
  EXPECT_THAT(follower.open(), IsEmpty());
}

TEST(WtmpdbFollowerTest, OddRowsAreSkippedOrKeptAsBytesNeverFatal) {
  TempDir dir;
  Wtmpdb db(dir / "wtmp.db");
  db.Exec("INSERT INTO wtmp (Type, User, Login, TTY) VALUES (2, 'runlevel', 1, '~')");
  db.Exec("INSERT INTO wtmp (Type, User, Login, Logout, TTY) VALUES (3, 'x', 5, NULL, 'pts/9')");
  db.Exec("UPDATE wtmp SET Login = NULL WHERE ID = 2");
  db.Exec("INSERT INTO wtmp (Type, User, Login) VALUES (3, 'no tty', " +
          std::to_string(kBoot + kMinute) + ")");
  db.Exec("INSERT INTO wtmp (Type, User, Login, TTY, RemoteHost) VALUES (3, 'evil' || "
          "char(27) || '[2J', " +
          std::to_string(kBoot + 2 * kMinute) + ", 'pts/1', 'host' || char(7))");
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  WtmpdbBatch batch = PollOk(follower);
  EXPECT_EQ(batch.skipped, 2u);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].tty, "");
  EXPECT_EQ(batch.events[1].user, "evil\x1b[2J");
  EXPECT_EQ(batch.events[1].remote_host, "host\x07");
  EXPECT_EQ(batch.cursor.last_id, 4);
}

TEST(WtmpdbFollowerTest, AMissingFileWaitsAndAForeignFileIsAnError) {
  TempDir dir;
  WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
  EXPECT_TRUE(PollOk(follower).missing);
  {
    sqlite3* other = nullptr;
    sqlite3_open((dir / "wtmp.db").c_str(), &other);
    sqlite3_exec(other, "CREATE TABLE events (seq INTEGER)", nullptr, nullptr, nullptr);
    sqlite3_close(other);
  }
  auto refused = follower.Poll();
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message, HasSubstr("not a wtmpdb database"));
  std::remove((dir / "wtmp.db").c_str());
  Wtmpdb db(dir / "wtmp.db");
  db.User("alice", kBoot + kMinute);
  EXPECT_EQ(PollOk(follower).events.size(), 1u);
}

TEST(WtmpdbFollowerTest, AWriterInTheMiddleOfItsTransactionIsNotWaitedForNorSeenHalfDone) {
  for (bool wal : {false, true}) {
    SCOPED_TRACE(wal ? "WAL" : "rollback journal");
    TempDir dir;
    Wtmpdb db(dir / "wtmp.db");
    if (wal) db.Exec("PRAGMA journal_mode=WAL");
    db.User("alice", kBoot + kMinute);
    WtmpdbFollower follower(dir / "wtmp.db", std::nullopt, {}, kBoot);
    EXPECT_EQ(PollOk(follower).events.size(), 1u);
    db.Exec("BEGIN IMMEDIATE");  // pam_wtmpdb between its INSERT and its commit
    db.User("bob", kBoot + 2 * kMinute, "pts/1");
    auto started = std::chrono::steady_clock::now();
    EXPECT_THAT(PollOk(follower).events, IsEmpty());
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    db.Exec("COMMIT");
    EXPECT_THAT(Describe(PollOk(follower)), ElementsAre("login 2 bob@pts/1 2"));
  }
}

}  // namespace
}  // namespace utmpcd::testing
