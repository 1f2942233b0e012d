// `utmpc last` and `lastb` on the daemon's history: fixtures from wtmpgen ($WTMPGEN) imported by
// the real daemon (`$UTMPCD --once`), then `utmpc last --database DB` against util-linux
// `last -f FILE` byte for byte, and the indexed path against the full scan row for row.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/record_event.h"
#include "formats/utmp.h"
#include "private_tmpfs.h"
#include "store/history_read.h"
#include "store/sqlite_store.h"
#include "utmpc/cmd_test_util.h"

namespace utmpcd::testing {
namespace {

constexpr char kLast[] = "/usr/bin/last";
constexpr char kLastb[] = "/usr/bin/lastb";

// --- RecordFromEvent --------------------------------------------------------------------------

LoginRecord Record(int16_t type, std::string_view user, std::string_view line, int32_t pid = 42) {
  LoginRecord r;
  r.type = type;
  r.user = user;
  r.line = line;
  r.host = "10.1.2.3";
  r.pid = pid;
  r.session = 9;
  r.time_s = 1700000000;
  r.time_usec = 123456;
  r.addr = {10, 1, 2, 3};
  return r;
}

// Every record shape wtmpgen and real writers leave: the rebuilt record reads as the original.
TEST(RecordFromEventTest, LastReadsTheRebuiltRecordAsTheOriginal) {
  const std::vector<LoginRecord> records = {
      Record(kUserProcess, "alice", "pts/0"),  Record(kDeadProcess, "", "pts/0"),
      Record(kDeadProcess, "bob", "tty1"),     Record(kInitProcess, "", "tty2"),
      Record(kLoginProcess, "bob", "tty2"),    Record(kBootTime, "reboot", "~", 0),
      Record(kRunLevel, "shutdown", "~", 0),   Record(kRunLevel, "runlevel", "~", '6' + 256 * '5'),
      Record(kRunLevel, "runlevel", "~", '0'), Record(kRunLevel, "runlevel", "~", '3'),
      Record(kRunLevel, "runlevel", "", '0'),  Record(kOldTime, "date", "|", 0),
      Record(kNewTime, "date", "{", 0),        Record(kUserProcess, "x", "", 7),
      Record(kBootTime, "someone", "", 0),
  };
  for (const LoginRecord& original : records) {
    auto event = EventFromRecord(original, EventSource::kWtmp);
    ASSERT_TRUE(event) << original.user << "@" << original.line;
    LoginRecord rebuilt = RecordFromEvent(*event);
    std::string what = std::string(original.user) + "@" + std::string(original.line);
    EXPECT_EQ(EffectiveType(rebuilt), EffectiveType(original)) << what;
    EXPECT_EQ(rebuilt.user, original.user) << what;
    EXPECT_EQ(rebuilt.line, original.line) << what;
    EXPECT_EQ(rebuilt.host, original.host) << what;
    EXPECT_EQ(rebuilt.pid, original.pid) << what;
    EXPECT_EQ(rebuilt.time_us(), original.time_us()) << what;
    EXPECT_EQ(rebuilt.addr, original.addr) << what;
  }
  auto failed = EventFromRecord(Record(kLoginProcess, "root", "ssh:notty"), EventSource::kBtmp);
  ASSERT_TRUE(failed);
  EXPECT_EQ(RecordFromEvent(*failed).type, kLoginProcess);
}

TEST(RecordFromEventTest, TextIsCutAsAUtmpFieldHoldsIt) {
  Event e;
  e.kind = EventKind::kLogin;
  e.user = std::string(40, 'u');
  e.tty = std::string("pts/1\0junk", 10);
  e.remote_host = std::string(300, 'h');
  e.time_us = -1;  // just before the epoch
  LoginRecord r = RecordFromEvent(e);
  EXPECT_EQ(r.user, std::string(kUserSize, 'u'));
  EXPECT_EQ(r.line, "pts/1");
  EXPECT_EQ(r.host.size(), kHostSize);
  EXPECT_EQ(r.time_s, -1);
  EXPECT_EQ(r.time_usec, 999999);
}

// --- The daemon's history against the files it read --------------------------------------------

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* utmpcd = std::getenv("UTMPCD");
    const char* gen = std::getenv("WTMPGEN");
    utmpc_ = UtmpcPath();
    ASSERT_TRUE(utmpcd != nullptr && gen != nullptr && !utmpc_.empty())
        << "UTMPC, UTMPCD and WTMPGEN must be set (run through ctest)";
    utmpcd_ = utmpcd;
    wtmpgen_ = gen;
    ASSERT_FALSE(dir_.path().empty());
  }

  // A wtmpgen file dir/<sub>/<name> (last prints the file's name in its begins line).
  std::string Fixture(const std::string& sub, const std::string& name, Args options) {
    fs::create_directories(dir_ / sub);
    std::string path = (dir_ / sub / name).string();
    options.insert(options.begin(), wtmpgen_);
    options.insert(options.end(), {"-o", path});
    Outcome gen = Spawn(options, {}, dir_.path());
    EXPECT_EQ(gen.status, 0) << gen.err;
    return path;
  }

  // Imports `wtmp` and `btmp` with the real daemon; the database's path.
  std::string Import(const std::string& sub, const std::string& wtmp, const std::string& btmp) {
    std::string db = (dir_ / sub / "history.db").string();
    // As root: what is tested is the history, not the privilege drop (daemon_test.cc and
    // run_script_test.sh test that), and the scratch directory is root's alone.
    Outcome run = Spawn({utmpcd_, "--once", "--config", "/dev/null", "--wtmp", wtmp, "--btmp", btmp,
                         "--database", db, "--user", "root"},
                        {}, dir_.path());
    EXPECT_EQ(run.status, 0) << run.err;
    return db;
  }

  Outcome Tool(const std::string& tool, const Args& args, const std::string& tz,
               const Args& extra_env = {}) {
    Args argv{tool};
    if (tool == utmpc_) argv = {utmpc_, lastb_ ? "lastb" : "last"};
    argv.insert(argv.end(), args.begin(), args.end());
    Args env = Env("C", tz);
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    return Spawn(argv, env, dir_.path());
  }

  // `last -f file OPTIONS` and `utmpc last --database db OPTIONS`: the same bytes and status.
  void ExpectSame(const std::string& file, const std::string& db, const Args& options,
                  const std::string& tz) {
    Args want_args{"-f", file}, got_args{"--database", db};
    want_args.insert(want_args.end(), options.begin(), options.end());
    got_args.insert(got_args.end(), options.begin(), options.end());
    Outcome want = Tool(lastb_ ? kLastb : kLast, want_args, tz);
    Outcome got = Tool(utmpc_, got_args, tz);
    std::string what = ::testing::PrintToString(got_args) + " TZ=" + tz;
    EXPECT_EQ(want.status, got.status) << what << "\n" << got.err;
    EXPECT_EQ(got.err, "") << what;
    EXPECT_EQ(want.out, got.out) << what;
  }

  bool lastb_ = false;
  ScratchDir dir_;
  std::string utmpc_, utmpcd_, wtmpgen_;
};

bool HaveLast() { return IsExecutable(kLast) && IsExecutable(kLastb); }

// Everything `last` takes, alone and together: the indexed path (a user or tty, no -s/-t/-x)
// and the full scan.
const std::vector<Args> kLastOptions = {
    {},
    {"-x"},
    {"-n", "7"},
    {"-w", "-F"},
    {"-a", "-i"},
    {"-R", "--time-format", "iso"},
    {"--time-format", "short"},
    {"-s", "2023-11-20", "-t", "2024-01-10"},
    {"-p", "2023-12-01 12:00"},
    {"alice"},
    {"-n", "20", "alice"},
    {"-n", "3", "bob", "carol", "-w"},
    {"pts/3"},
    {"3", "-n", "5"},
    {"tty2"},
    {"2", "-F"},
    {"reboot"},
    {"-n", "4", "reboot"},
    {"reboot", "-x"},
    {":0", "ttyS1"},
    {"S1"},
    {"alice", "-p", "2023-12-20 08:00"},
    {"alice", "-s", "2023-12-01"},
    {"ftp", "uucp", "-n", "9"},
    {"averyveryverylongusername0123456", "-w"},
    {"nobody"},
    {"alice", "pts/1", "-x", "-n", "12"},
};

TEST_F(HistoryTest, DatabaseListsWhatLastListsForTheWtmp) {
  if (!HaveLast()) GTEST_SKIP() << "util-linux last not installed";
  for (const char* seed : {"1", "2", "3"}) {
    for (const char* records : {"1", "40", "3000"}) {
      std::string sub = std::string("s") + seed + "n" + records;
      std::string wtmp = Fixture(sub, "wtmp", {"--seed", seed, "--records", records});
      std::string btmp = Fixture(sub, "btmp", {"--seed", seed, "--records", "5", "--kind", "btmp"});
      std::string db = Import(sub, wtmp, btmp);
      for (const Args& options : kLastOptions) ExpectSame(wtmp, db, options, "Europe/Berlin");
    }
  }
}

TEST_F(HistoryTest, LargeHistoryAcrossTimeZones) {
  if (!HaveLast()) GTEST_SKIP() << "util-linux last not installed";
  std::string wtmp = Fixture("large", "wtmp", {"--seed", "20", "--records", "20000"});
  std::string btmp =
      Fixture("large", "btmp", {"--seed", "21", "--records", "10", "--kind", "btmp"});
  std::string db = Import("large", wtmp, btmp);
  for (const char* tz : {"UTC", "America/New_York"}) {
    for (const Args& options : kLastOptions) ExpectSame(wtmp, db, options, tz);
  }
}

TEST_F(HistoryTest, LastbReadsTheFailedLogins) {
  if (!HaveLast()) GTEST_SKIP() << "util-linux lastb not installed";
  lastb_ = true;
  std::string wtmp = Fixture("b", "wtmp", {"--seed", "7", "--records", "500"});
  std::string btmp = Fixture("b", "btmp", {"--seed", "8", "--records", "3000", "--kind", "btmp"});
  std::string db = Import("b", wtmp, btmp);
  for (const Args& options : std::vector<Args>{{},
                                               {"-n", "10"},
                                               {"-w", "-i"},
                                               {"root"},
                                               {"-n", "5", "root", "admin"},
                                               {"ssh:notty", "-n", "9"},
                                               {"pts/3"},
                                               {"ftp"},
                                               {"-s", "2023-11-14 09:00", "-t", "2023-11-14 12:00"},
                                               {"--time-format", "iso", "-R"}}) {
    ExpectSame(btmp, db, options, "UTC");
  }
}

// An empty btmp: lastb says it begins when the file was made (its ctime), and so must utmpc
// lastb reading the history of it, not when the database was. In a mount namespace, with a
// tmpfs on /var/log, so that the btmp the listing names is the test's own.
TEST_F(HistoryTest, AnEmptyBtmpBeginsWhenLastbSaysIt) {
  if (!HaveLast()) GTEST_SKIP() << "util-linux lastb not installed";
  PrivateTmpfs var_log("/var/log", "4m");
  if (!var_log.no_namespace().empty()) GTEST_SKIP() << var_log.no_namespace();
  ASSERT_TRUE(var_log.mounted()) << var_log.error();
  lastb_ = true;
  std::string wtmp = Fixture("e", "wtmp", {"--seed", "7", "--records", "50"});
  std::ofstream("/var/log/btmp").close();
  // The database is made a second later: the two begins lines can only agree by the btmp.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::string db = Import("e", wtmp, "/var/log/btmp");
  ExpectSame("/var/log/btmp", db, {}, "UTC");
}

// The daemon stopped, then someone logged in: the history is behind /var/log/wtmp. utmpc last
// must not show less than last: it says so on stderr and reads the file. Caught up, the history
// is read again. (A tmpfs on /var/log in a mount namespace: the wtmp is the test's own.)
TEST_F(HistoryTest, AHistoryBehindTheWtmpIsNotListedSilently) {
  if (!HaveLast()) GTEST_SKIP() << "util-linux last not installed";
  PrivateTmpfs var_log("/var/log", "8m");
  if (!var_log.no_namespace().empty()) GTEST_SKIP() << var_log.no_namespace();
  ASSERT_TRUE(var_log.mounted()) << var_log.error();
  std::string made = Fixture("behind", "wtmp", {"--seed", "12", "--records", "400"});
  ASSERT_TRUE(fs::copy_file(made, "/var/log/wtmp"));
  std::ofstream("/var/log/btmp").close();
  std::string db = Import("behind", "/var/log/wtmp", "/var/log/btmp");
  Args env_db{"UTMPC_DATABASE=" + db};
  Outcome caught_up = Tool(utmpc_, {}, "UTC", env_db);
  EXPECT_EQ(caught_up.err, "");
  // A login while no daemon runs.
  LoginRecord login;
  login.type = kUserProcess;
  login.user = "late";
  login.line = "pts/9";
  login.pid = 4242;
  login.time_s = static_cast<int64_t>(::time(nullptr)) - 60;
  std::string bytes;
  EncodeUtmp(login, UtmpLayout::kGlibc384, &bytes);
  std::ofstream("/var/log/wtmp", std::ios::app | std::ios::binary) << bytes;
  Outcome want = Tool(kLast, {"-f", "/var/log/wtmp"}, "UTC");
  Outcome got = Tool(utmpc_, {}, "UTC", env_db);
  EXPECT_EQ(got.out, want.out);
  EXPECT_NE(got.out.find("late     pts/9"), std::string::npos) << got.out;
  EXPECT_EQ(got.err, "utmpc last: the utmpcd history " + db +
                         " is 1 record behind /var/log/wtmp (is utmpcd running?); reading "
                         "/var/log/wtmp\n");
  // Imported, the history is read again, and says nothing.
  Import("behind", "/var/log/wtmp", "/var/log/btmp");
  Outcome again = Tool(utmpc_, {"--verbose"}, "UTC", env_db);
  EXPECT_EQ(again.out, want.out);
  EXPECT_EQ(again.err, "utmpc last: reading the utmpcd history " + db + " (full scan)\n");
}

// --- The indexed path against the full scan ---------------------------------------------------

using Row = std::tuple<std::string, std::string, int64_t, int64_t, SessionEnd, int64_t>;

std::vector<Row> Rows(HistoryReader& history, const LastQuery& query, uint64_t max_rows,
                      bool use_index) {
  std::vector<Row> rows;
  // A made-up liveness: every login whose pid is odd is gone, so both ends show up.
  auto phantom = [](const LoginRecord& r) { return r.pid % 2 != 0; };
  auto emit = [&](const LastRow& row) {
    rows.emplace_back(std::string(row.record->user), std::string(row.line), row.login_s,
                      row.logout_s, row.end, row.record->time_us());
    return max_rows == 0 || rows.size() < max_rows;
  };
  auto listed = history.List(query, 1800000000, phantom, emit, use_index);
  EXPECT_TRUE(listed.has_value()) << listed.error().message;
  return rows;
}

void ExpectIndexedAsScan(HistoryReader& history, bool lastb, const std::vector<std::string>& show,
                         int64_t present_s = 0) {
  LastQuery query;
  query.btmp = lastb;
  query.show = show;
  query.present_s = present_s;
  ASSERT_TRUE(HistoryReader::UsesIndex(query)) << ::testing::PrintToString(show);
  for (uint64_t max_rows : {0, 1, 20}) {
    std::vector<Row> scan = Rows(history, query, max_rows, false);
    std::vector<Row> indexed = Rows(history, query, max_rows, true);
    EXPECT_EQ(indexed, scan) << ::testing::PrintToString(show) << " -n " << max_rows;
  }
}

const std::vector<std::vector<std::string>> kShows = {{"alice"},
                                                      {"bob"},
                                                      {"x"},
                                                      {"reboot"},
                                                      {"zoe-adm", "eve"},
                                                      {"pts/3"},
                                                      {"3"},
                                                      {"tty1"},
                                                      {"1"},
                                                      {":0"},
                                                      {"S0"},
                                                      {"ttyS1"},
                                                      {"alice", "pts/1"},
                                                      {"runlevel", "date"},
                                                      {"user7-with-long-name"},
                                                      {"ftp123"},
                                                      {"nobody"},
                                                      {"shutdown"},
                                                      {"~"},
                                                      {"LOGIN"}};

TEST_F(HistoryTest, IndexedPathListsTheRowsOfTheFullScan) {
  for (const char* seed : {"31", "32", "33"}) {
    std::string wtmp = Fixture(seed, "wtmp", {"--seed", seed, "--records", "6000"});
    std::string btmp =
        Fixture(seed, "btmp", {"--seed", seed, "--records", "2000", "--kind", "btmp"});
    std::string db = Import(seed, wtmp, btmp);
    auto last = HistoryReader::Open(db, false);
    ASSERT_TRUE(last.has_value()) << last.error().message;
    for (const auto& show : kShows) ExpectIndexedAsScan(**last, false, show);
    ExpectIndexedAsScan(**last, false, {"alice", "bob", "tty2"}, 1701000000);
    auto lastb = HistoryReader::Open(db, true);
    ASSERT_TRUE(lastb.has_value()) << lastb.error().message;
    for (const auto& show : std::vector<std::vector<std::string>>{
             {"root"}, {"guest", "pi"}, {"ssh:notty"}, {"pts/4"}, {"4"}, {"alice"}}) {
      ExpectIndexedAsScan(**lastb, true, show);
    }
  }
}

TEST_F(HistoryTest, IndexOnlyWhereItIsExact) {
  LastQuery q;
  EXPECT_FALSE(HistoryReader::UsesIndex(q));  // nothing to look up
  q.show = {"alice"};
  EXPECT_TRUE(HistoryReader::UsesIndex(q));
  for (const char* name : {"ftp", "uucp", "system boot", "", "abcdefghijklmnopqrstuvwxyz012"}) {
    LastQuery odd = q;
    odd.show.push_back(name);
    EXPECT_FALSE(HistoryReader::UsesIndex(odd)) << name;
  }
  LastQuery x = q;
  x.extended = true;
  EXPECT_FALSE(HistoryReader::UsesIndex(x));
  x.btmp = true;  // lastb lists every record, -x or not
  EXPECT_TRUE(HistoryReader::UsesIndex(x));
  LastQuery since = q;
  since.since_s = 1;
  EXPECT_FALSE(HistoryReader::UsesIndex(since));
}

// Events last never saw (another source's logins, a gone session, failed logins) sit between
// the wtmp's, on the same lines and users: the listing is still the wtmp's, on both paths.
TEST_F(HistoryTest, OtherSourcesDoNotChangeTheListing) {
  if (!HaveLast()) GTEST_SKIP() << "util-linux last not installed";
  std::string wtmp = Fixture("noise", "wtmp", {"--seed", "44", "--records", "4000"});
  std::string db = (dir_ / "noise" / "history.db").string();
  {
    auto store = SqliteStore::Open(db);
    ASSERT_TRUE(store.has_value()) << store.error().message;
    auto file = UtmpFile::Open(wtmp);
    ASSERT_TRUE(file.has_value());
    std::vector<Event> events;
    auto read = file->ReadForward([&](const LoginRecord& r, uint64_t) {
      auto e = EventFromRecord(r, EventSource::kWtmp);
      if (!e) return true;
      events.push_back(*e);
      for (auto [kind, source] : {std::pair{EventKind::kLogin, EventSource::kLogind},
                                  std::pair{EventKind::kGone, EventSource::kWtmp},
                                  std::pair{EventKind::kFailed, EventSource::kBtmp},
                                  std::pair{EventKind::kBoot, EventSource::kUtmp}}) {
        Event noise = *e;
        noise.kind = kind;
        noise.source = source;
        if (noise.user.empty()) noise.user = "alice";
        events.push_back(noise);
      }
      return true;
    });
    ASSERT_TRUE(read.has_value());
    ASSERT_TRUE((*store)->Append(events, {}).has_value());
  }
  for (const Args& options :
       std::vector<Args>{{}, {"alice"}, {"-n", "5", "bob"}, {"pts/2"}, {"reboot"}, {"-x"}}) {
    ExpectSame(wtmp, db, options, "UTC");
  }
  auto history = HistoryReader::Open(db, false);
  ASSERT_TRUE(history.has_value());
  for (const auto& show : kShows) ExpectIndexedAsScan(**history, false, show);
}

// --- Where `last` reads -------------------------------------------------------------------------

TEST_F(HistoryTest, WithoutFileReadsTheDatabaseElseTheWtmp) {
  if (!HaveLast()) GTEST_SKIP() << "util-linux last not installed";
  std::string wtmp = Fixture("sel", "wtmp", {"--seed", "9", "--records", "800"});
  std::string btmp = Fixture("sel", "btmp", {"--seed", "9", "--records", "50", "--kind", "btmp"});
  std::string other = Fixture("other", "wtmp", {"--seed", "10", "--records", "300"});
  std::string db = Import("sel", wtmp, btmp);
  Outcome want = Tool(kLast, {"-f", wtmp}, "UTC");
  Args env_db{"UTMPC_DATABASE=" + db};

  // $UTMPC_DATABASE, and --database over it.
  EXPECT_EQ(Tool(utmpc_, {}, "UTC", env_db).out, want.out);
  EXPECT_EQ(Tool(utmpc_, {"--database", db}, "UTC", {"UTMPC_DATABASE=/nonexistent"}).out, want.out);
  // -f always reads the file.
  EXPECT_EQ(Tool(utmpc_, {"-f", other}, "UTC", env_db).out, Tool(kLast, {"-f", other}, "UTC").out);
  // --verbose says where, on stderr only.
  Outcome verbose = Tool(utmpc_, {"--verbose", "alice"}, "UTC", env_db);
  EXPECT_EQ(verbose.out, Tool(kLast, {"-f", wtmp, "alice"}, "UTC").out);
  EXPECT_EQ(verbose.err, "utmpc last: reading the utmpcd history " + db + " (indexed)\n");

  // No database: the classic file, exactly as with -f.
  Args missing{"UTMPC_DATABASE=" + (dir_ / "missing.db").string()};
  Outcome fallback = Tool(utmpc_, {}, "UTC", missing);
  Outcome file = Tool(utmpc_, {"-f", "/var/log/wtmp"}, "UTC");
  EXPECT_EQ(fallback.out, file.out);
  EXPECT_EQ(fallback.status, file.status);
  EXPECT_NE(Tool(utmpc_, {"--verbose"}, "UTC", missing).err.find("; reading /var/log/wtmp"),
            std::string::npos);
  // A database named on the command line must be there.
  Outcome named = Tool(utmpc_, {"--database", (dir_ / "missing.db").string()}, "UTC");
  EXPECT_EQ(named.status, 1);
  EXPECT_NE(named.err.find("missing.db"), std::string::npos) << named.err;
  EXPECT_EQ(named.out, "");
}

}  // namespace
}  // namespace utmpcd::testing
