// SqliteStore and its file: schema migrations, files it refuses, a read-only directory, a full
// disk, retention.
#include "store/store_fixture.h"

namespace utmpcd::store_test {

// A database of schema version 1 (before the indexes of `last`) gets them on the first
// read-write open, events kept, and loses the index of version 1 that no query read.
TEST_F(StoreTest, MigratesVersionOneAddingTheHistoryIndexes) {
  std::ofstream(path_).close();
  RawExec(path_, std::string(store_internal::Migrations()[0].sql) +
                     "PRAGMA user_version = 1;"
                     "INSERT INTO events (time_us, kind, user, tty, remote_host, remote_addr, pid,"
                     " session, source, boot_id) VALUES (5, 'login', x'616c', x'7474', x'',"
                     " zeroblob(16), 1, 2, 'wtmp', '');");
  auto read_only = SqliteStore::Open(path_, {.read_only = true});
  ASSERT_FALSE(read_only.has_value());  // read-only cannot migrate: it says so
  EXPECT_EQ(read_only.error().code, ErrorCode::kUnsupported);
  auto store = OpenOk();
  ASSERT_TRUE(store);
  auto on_tty = store->EventsOnTtyAfter("tt", 0, 10);
  ASSERT_TRUE(on_tty.has_value()) << on_tty.error().message;
  ASSERT_EQ(on_tty->size(), 1u);
  EXPECT_EQ(on_tty->at(0).user, "al");
  // Version 6 filled the lastlog table from the events there were.
  auto last = store->LastLoginOf("al");
  ASSERT_TRUE(last.has_value()) << last.error().message;
  ASSERT_TRUE(last->has_value());
  EXPECT_EQ((*last)->seq, 1);
  EXPECT_EQ((*last)->time_us, 5);
  EXPECT_EQ((*last)->tty, "tt");
  store.reset();
  // Version 3 dropped events_by_tty, which no query read.
  EXPECT_EQ(RawQuery(path_, "SELECT name FROM sqlite_schema WHERE name IN "
                            "('events_by_tty', 'events_by_tty_seq', 'events_by_kind') "
                            "ORDER BY name"),
            (std::vector<std::string>{"events_by_kind", "events_by_tty_seq"}));
}

TEST_F(StoreTest, MigratesAnEmptyFileToTheCurrentSchema) {
  std::ofstream(path_).close();  // an existing, zero-byte file
  auto store = OpenOk();
  ASSERT_TRUE(store);
  store.reset();
  EXPECT_EQ(RawQuery(path_, "PRAGMA user_version"),
            std::vector<std::string>{std::to_string(store_internal::CurrentSchemaVersion())});
  EXPECT_EQ(RawQuery(path_, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(RawQuery(path_, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"),
            (std::vector<std::string>{"cursors", "events", "lastlog", "meta"}));
  // Opening again applies nothing and keeps the data.
  store = OpenOk();
  std::vector<Event> events(1, MakeEvent(1, "x"));
  ASSERT_TRUE(store->Append(events, {}).has_value());
  store = OpenOk();
  EXPECT_EQ(store->LastSeq().value_or(-1), 1);
}

TEST_F(StoreTest, RefusesASchemaNewerThanItKnows) {
  OpenOk().reset();
  RawExec(path_,
          "PRAGMA user_version = " + std::to_string(store_internal::CurrentSchemaVersion() + 1));
  for (bool read_only : {false, true}) {
    auto store = SqliteStore::Open(path_, {.read_only = read_only});
    ASSERT_FALSE(store.has_value());
    EXPECT_EQ(store.error().code, ErrorCode::kUnsupported);
    EXPECT_THAT(
        store.error().message,
        HasSubstr(path_ + ": schema version " +
                  std::to_string(store_internal::CurrentSchemaVersion() + 1) + " is newer"));
  }
}

TEST_F(StoreTest, RefusesAFileThatIsNotADatabase) {
  const std::string garbage(8192, 'w');
  std::ofstream(path_) << garbage;
  auto store = SqliteStore::Open(path_);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(store.error().message, path_ + ": open: file is not a database");
  std::string after((std::istreambuf_iterator<char>(std::ifstream(path_).rdbuf())), {});
  EXPECT_EQ(after, garbage);  // left as it was

  const std::string other = dir_ + "/other.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE songs (title TEXT)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  store = SqliteStore::Open(other);
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kCorrupt);
  EXPECT_THAT(store.error().message, HasSubstr("not a utmpcd database"));
  EXPECT_EQ(RawQuery(other, "PRAGMA journal_mode"), std::vector<std::string>{"delete"});
}

// Runs `body` in a child process that cannot write in dir_: as nobody when we are root (root
// ignores file modes), else as ourselves. Returns the child's exit status.
template <typename Body>
int RunWithoutWriteAccess(const std::string& dir, Body body) {
  pid_t child = fork();
  if (child == 0) {
    if (geteuid() == 0 &&
        (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0)) {
      _exit(90);
    }
    if (access(dir.c_str(), W_OK) == 0) _exit(91);  // the test would prove nothing
    _exit(body());
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(StoreTest, ReadOnlyDirectoryServesQueriesAndRefusesWrites) {
  {
    auto store = OpenOk();
    std::vector<Event> events(3, MakeEvent(5, "dave"));
    ASSERT_TRUE(store->Append(events, {}).has_value());
  }
  ASSERT_EQ(chmod(dir_.c_str(), 0555), 0);
  for (const char* file : {"/history.db", "/history.db-wal", "/history.db-shm"}) {
    chmod((dir_ + file).c_str(), 0444);
  }
  const std::string path = path_;
  int status = RunWithoutWriteAccess(dir_, [&path] {
    auto store = SqliteStore::Open(path, {.read_only = true});
    if (!store) return std::fprintf(stderr, "%s\n", store.error().message.c_str()), 10;
    if ((*store)->EventsByUser("dave", SqliteStore::kNewest, 10).value().size() != 3) return 11;
    if ((*store)->LastSeq().value_or(-1) != 3) return 12;
    std::vector<Event> more(1, MakeEvent(6, "dave"));
    auto appended = (*store)->Append(more, {});
    if (appended) return 13;
    std::fprintf(stderr, "append: %s\n", appended.error().message.c_str());
    if (appended.error().message.find(path + ": append: attempt to write a readonly database") !=
        0) {
      return 14;
    }
    auto writer = SqliteStore::Open(path);  // read-write: refused at once, clearly
    if (writer) return 15;
    std::fprintf(stderr, "open: %s\n", writer.error().message.c_str());
    return writer.error().message.find("read-only") != std::string::npos ? 0 : 16;
  });
  EXPECT_EQ(status, 0);
  auto missing = SqliteStore::Open(dir_ + "/missing.db", {.read_only = true});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// Fills the disk under `dir` until an append fails, then makes room with `grow` and appends
// again. Returns 0 when the failure was clear and atomic and the store recovered.
template <typename Grow>
int FillDiskThenRecover(const std::string& path, bool real_enospc, Grow grow) {
  auto store = SqliteStore::Open(path);
  if (!store) return std::fprintf(stderr, "%s\n", store.error().message.c_str()), 10;
  Result<int64_t> appended = 0;
  int64_t stored = 0;
  while (appended) {
    std::vector<Event> events(100, MakeEvent(1, std::string(200, 'f')));
    CursorUpdate cursor{"wtmp", {0, 0, stored + 100, ""}};
    appended = (*store)->Append(events, {&cursor, 1});
    if (appended) stored += 100;
  }
  const std::string& message = appended.error().message;
  std::fprintf(stderr, "after %lld events: %s\n", static_cast<long long>(stored), message.c_str());
  // RLIMIT_FSIZE shows itself as EFBIG, which SQLite reports as an I/O error, not as full.
  const std::string want = real_enospc ? ": append: database or disk is full" : ": append: ";
  if (message.find(path + want) != 0 || stored == 0) return 11;
  if ((*store)->LastSeq().value_or(-1) != stored) return 12;
  if ((*store)->GetCursor("wtmp")->value().offset != stored) return 13;
  grow();
  std::vector<Event> events(100, MakeEvent(2, "after"));
  CursorUpdate cursor{"wtmp", {0, 0, stored + 100, ""}};
  if (!(*store)->Append(events, {&cursor, 1})) return 14;
  if ((*store)->LastSeq().value_or(-1) != stored + 100) return 15;
  if ((*store)->GetCursor("wtmp")->value().offset != stored + 100) return 16;
  store->reset();
  return RawQuery(path, "PRAGMA integrity_check") == std::vector<std::string>{"ok"} ? 0 : 17;
}

// A full disk: a small tmpfs over the test directory in a private mount namespace when we may
// mount, else RLIMIT_FSIZE (EFBIG). A clear error, nothing half-stored, and appends work again
// once there is room.
TEST_F(StoreTest, FullDiskIsAClearErrorAndRecoverable) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string dir = dir_;
    if (unshare(CLONE_NEWNS) == 0 &&
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=512k") == 0) {
      _exit(FillDiskThenRecover(
          path_, true, [&dir] { mount("tmpfs", dir.c_str(), "tmpfs", MS_REMOUNT, "size=8m"); }));
    }
    signal(SIGXFSZ, SIG_IGN);
    rlimit limit{1 << 20, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &limit);
    _exit(FillDiskThenRecover(path_, false, [&limit] {
      limit.rlim_cur = RLIM_INFINITY;
      setrlimit(RLIMIT_FSIZE, &limit);
    }));
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(StoreTest, RetentionDeletesOldEventsButNeverTheNewest) {
  auto store = OpenOk();
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i) events.push_back(MakeEvent(100 + i, "e"));
  ASSERT_TRUE(store->Append(events, {}).has_value());
  EXPECT_EQ(store->DeleteOlderThan(105).value_or(-1), 5);
  EXPECT_EQ(store->EventsFrom(0, 100)->front().time_us, 105);
  EXPECT_EQ(store->DeleteOlderThan(1000).value_or(-1), 4);
  auto left = store->EventsFrom(0, 100);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().seq, 10);

  store = OpenOk();  // after a restart the next seq still follows the highest ever given
  std::vector<Event> more(1, MakeEvent(2000, "f"));
  EXPECT_EQ(store->Append(more, {}).value_or(-1), 11);
  EXPECT_THAT(store->EventsFrom(0, 100)->front().user, Not(HasSubstr("f")));
}

}  // namespace utmpcd::store_test
