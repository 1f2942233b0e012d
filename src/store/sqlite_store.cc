#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "store/schema_internal.h"
#include "store/sqlite_util_internal.h"

namespace utmpcd {

using store_internal::BindBytes;
using store_internal::BindText;
using store_internal::ColumnBytes;
using store_internal::Exec;
using store_internal::QueryInt;
using store_internal::ScopedReset;
using store_internal::SqliteError;
using store_internal::Statement;
using store_internal::WriteTransaction;

struct SqliteStore::Statements {
  Statement insert_event;
  Statement upsert_cursor;
  Statement select_cursor;
  Statement last_seq;
  Statement events_from;
  Statement events_by_user;
  Statement events_in_range;
  Statement events_before;
  Statement events_before_from;
  Statement events_on_tty;
  Statement events_on_tty_after;
  Statement events_of_kind_after;
  Statement first_listed_of_source;
  Statement open_sessions_of;
  Statement end_of_wtmpdb_row;
  Statement delete_older_than;
  Statement last_login;
  Statement get_meta;
  Statement set_meta;
};

namespace {

// A WAL that grew during a burst (an import) is cut back to this size at the next checkpoint
// instead of staying as large as the burst was.
constexpr int64_t kJournalSizeLimitBytes = 64 << 20;

Error StoreError(ErrorCode code, const std::string& path, const std::string& message) {
  return Error{code, path + ": " + message};
}

// Binds the ten parameters of kInsertEvent; the first failing SQLite code, or SQLITE_OK.
int BindEvent(sqlite3_stmt* stmt, const Event& event) {
  const std::string_view addr(reinterpret_cast<const char*>(event.remote_addr.data()),
                              event.remote_addr.size());
  const int codes[] = {
      sqlite3_bind_int64(stmt, 1, event.time_us),
      BindText(stmt, 2, EventKindName(event.kind)),
      BindBytes(stmt, 3, event.user),
      BindBytes(stmt, 4, event.tty),
      BindBytes(stmt, 5, event.remote_host),
      BindBytes(stmt, 6, addr),
      sqlite3_bind_int64(stmt, 7, event.pid),
      sqlite3_bind_int64(stmt, 8, event.session),
      BindText(stmt, 9, EventSourceName(event.source)),
      BindText(stmt, 10, event.boot_id),
  };
  for (int rc : codes) {
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

}  // namespace

SqliteStore::SqliteStore(std::string path, sqlite3* db)
    : path_(std::move(path)), db_(db), stmts_(std::make_unique<Statements>()) {}

SqliteStore::~SqliteStore() {
  stmts_.reset();  // statements first: sqlite3_close refuses a connection that still has any
  sqlite3_close(db_);
}

std::string SqliteStore::Context(const char* what) const { return path_ + ": " + what; }

Error SqliteStore::Fail(int rc, const char* what) const {
  return SqliteError(db_, rc, Context(what));
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const StoreOptions& options) {
  // NOMUTEX: the class is documented single-threaded, so SQLite's per-call locking is waste.
  int flags =
      SQLITE_OPEN_NOMUTEX |
      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error error = SqliteError(db, rc, path + ": open");
    sqlite3_close(db);  // SQLite hands out a handle even when opening fails
    return tl::unexpected(std::move(error));
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, std::max(0, options.busy_timeout_ms));
  store->on_append_ = options.on_append;
  // Identity first: nothing is written (not even the journal mode) to a file that is not ours.
  auto ready = store->CheckIdentity();
  if (ready) ready = store->Configure(options);
  if (ready) ready = store->Migrate();
  if (ready) ready = store->PrepareStatements();
  if (!ready) return tl::unexpected(ready.error());
  return store;
}

Result<void> SqliteStore::Configure(const StoreOptions& options) {
  if (options.read_only) return {};
  // sqlite3_open_v2 quietly falls back to read-only for a file it may not write; the daemon
  // would then fail at every append, so say it now.
  if (sqlite3_db_readonly(db_, "main") == 1) {
    return tl::unexpected(StoreError(ErrorCode::kIo, path_,
                                     "open: the database file is read-only (open it read-only "
                                     "to query it)"));
  }
  // Durability. In WAL mode, synchronous=NORMAL makes a commit an append to the WAL file that
  // is fsync'ed at checkpoints, not at each commit. A commit that returned survives the process
  // being killed (the WAL is in the kernel's page cache); a power loss or kernel crash may roll
  // back the last commits, but only whole transactions, never a torn one. Since events and
  // their cursors commit together, such a rollback rewinds both: the sources re-read the same
  // records from the older cursor, so nothing is stored twice and nothing is lost that the
  // source files still hold. FULL would add an fsync per append batch for no such gain.
  const std::string pragmas = "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = " +
                              std::to_string(kJournalSizeLimitBytes) + ";";
  // 16 KiB pages, for a new file only (an existing one keeps its size): the four indexes of
  // every append are shallower B-trees, written in fewer, larger pieces. With a 16 MiB page
  // cache (the default is 2 MiB, which a backlog's index pages overflow into the WAL), an
  // import of 1M wtmp records went from 5.8 s to 4.0-4.6 s here (bench/daemon.sh). The cache
  // is filled only as pages are used: a small history never holds that much.
  auto sized = Exec(db_, "PRAGMA page_size = 16384; PRAGMA cache_size = -16384",
                    Context("open: page size"));
  if (!sized) return sized;
  auto mode = Exec(db_, "PRAGMA journal_mode = WAL", Context("open: journal_mode"));
  if (mode) mode = Exec(db_, pragmas.c_str(), Context("open"));
  if (!mode) return mode;
  auto journal = QueryInt(db_, "SELECT journal_mode = 'wal' FROM pragma_journal_mode",
                          Context("open: journal_mode"));
  if (!journal) return tl::unexpected(journal.error());
  if (*journal != 1) {
    return tl::unexpected(StoreError(ErrorCode::kUnsupported, path_,
                                     "open: the file system does not support WAL mode"));
  }
  // Keep the -wal and -shm files when the last connection closes, so a reader that may not
  // create files in the directory (utmpc as an ordinary user) can still open the database.
  int persist_wal = 1;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist_wal);
  return {};
}

Result<void> SqliteStore::CheckIdentity() {
  // The first statement to read the file: a file that is not a database fails here
  // ("file is not a database").
  auto app_id = QueryInt(db_, "PRAGMA application_id", Context("open"));
  if (!app_id) return tl::unexpected(app_id.error());
  if (*app_id == store_internal::kApplicationId) return CheckNotNewer();
  if (*app_id != 0) {
    char hex[16];
    // application_id is a signed 32-bit header field: show its bits.
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(static_cast<uint32_t>(*app_id)));
    return tl::unexpected(
        StoreError(ErrorCode::kCorrupt, path_,
                   std::string("not a utmpcd database (application_id 0x") + hex + ")"));
  }
  // No application id: either a new, empty file (ours to create) or another program's.
  auto tables = QueryInt(db_, "SELECT count(*) FROM sqlite_schema", Context("open"));
  if (!tables) return tl::unexpected(tables.error());
  if (*tables != 0) {
    return tl::unexpected(StoreError(ErrorCode::kCorrupt, path_,
                                     "not a utmpcd database (it holds another program's "
                                     "tables)"));
  }
  return CheckNotNewer();
}

Result<void> SqliteStore::CheckNotNewer() {
  const int current = store_internal::CurrentSchemaVersion();
  auto version = QueryInt(db_, "PRAGMA user_version", Context("open"));
  if (!version) return tl::unexpected(version.error());
  if (*version <= current) return {};
  return tl::unexpected(StoreError(ErrorCode::kUnsupported, path_,
                                   "schema version " + std::to_string(*version) +
                                       " is newer than this utmpcd knows (" +
                                       std::to_string(current) + "); use a newer utmpcd"));
}

Result<void> SqliteStore::Migrate() {
  const int current = store_internal::CurrentSchemaVersion();
  auto version = QueryInt(db_, "PRAGMA user_version", Context("open"));
  if (!version) return tl::unexpected(version.error());
  if (*version >= current) return {};  // newer ones were refused by CheckIdentity
  if (sqlite3_db_readonly(db_, "main") == 1) {
    return tl::unexpected(StoreError(
        *version == 0 ? ErrorCode::kNotFound : ErrorCode::kUnsupported, path_,
        *version == 0 ? "no utmpcd history in it yet (the daemon creates it)"
                      : "schema version " + std::to_string(*version) +
                            " is older than this utmpcd's; open it read-write once to migrate"));
  }
  auto txn = WriteTransaction::Begin(db_, Context("migrate"));
  if (!txn) return tl::unexpected(txn.error());
  // Read again under the write lock: another process may have migrated meanwhile.
  version = QueryInt(db_, "PRAGMA user_version", Context("migrate"));
  if (!version) return tl::unexpected(version.error());
  for (const auto& migration : store_internal::Migrations()) {
    if (migration.version <= *version) continue;
    const std::string what = "migrate to schema version " + std::to_string(migration.version);
    auto applied = Exec(db_, migration.sql, Context(what.c_str()));
    if (applied) {
      const std::string bump = "PRAGMA user_version = " + std::to_string(migration.version);
      applied = Exec(db_, bump.c_str(), Context(what.c_str()));
    }
    if (!applied) return applied;
  }
  return txn->Commit(Context("migrate"));
}

Result<void> SqliteStore::PrepareStatements() {
  namespace sql = store_internal;
  const std::pair<Statement*, const char*> all[] = {
      {&stmts_->insert_event, sql::kInsertEvent},
      {&stmts_->upsert_cursor, sql::kUpsertCursor},
      {&stmts_->select_cursor, sql::kSelectCursor},
      {&stmts_->last_seq, sql::kLastSeq},
      {&stmts_->events_from, sql::kEventsFrom},
      {&stmts_->events_by_user, sql::kEventsByUser},
      {&stmts_->events_in_range, sql::kEventsInRange},
      {&stmts_->events_before, sql::kEventsBefore},
      {&stmts_->events_before_from, sql::kEventsBeforeFrom},
      {&stmts_->events_on_tty, sql::kEventsOnTty},
      {&stmts_->events_on_tty_after, sql::kEventsOnTtyAfter},
      {&stmts_->events_of_kind_after, sql::kEventsOfKindAfter},
      {&stmts_->first_listed_of_source, sql::kFirstListedOfSource},
      {&stmts_->open_sessions_of, sql::kOpenSessionsOf},
      {&stmts_->end_of_wtmpdb_row, sql::kEndOfWtmpdbRow},
      {&stmts_->delete_older_than, sql::kDeleteOlderThan},
      {&stmts_->last_login, sql::kLastLogin},
      {&stmts_->get_meta, sql::kGetMeta},
      {&stmts_->set_meta, sql::kSetMeta},
  };
  for (const auto& [slot, text] : all) {
    auto prepared = store_internal::Prepare(db_, text, Context("prepare"));
    if (!prepared) return tl::unexpected(prepared.error());
    *slot = std::move(*prepared);
  }
  return {};
}

Result<int64_t> SqliteStore::Append(std::span<Event> events,
                                    std::span<const CursorUpdate> cursors) {
  Result<void> done;
  const auto start = std::chrono::steady_clock::now();
  {
    auto txn = WriteTransaction::Begin(db_, Context("append"));
    if (!txn) return tl::unexpected(txn.error());
    done = InsertEvents(events);
    if (done) done = UpsertCursors(cursors);
    if (done) done = txn->Commit(Context("append"));
  }  // rolled back here unless committed
  if (!done) {
    for (Event& event : events) event.seq = 0;  // those seqs were never stored
    return tl::unexpected(done.error());
  }
  if (on_append_) {
    on_append_(events, std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                           .count());
  }
  if (!events.empty()) return events.back().seq;
  return LastSeq();
}

Result<void> SqliteStore::InsertEvents(std::span<Event> events) {
  sqlite3_stmt* stmt = stmts_->insert_event.get();
  for (Event& event : events) {
    ScopedReset reset(stmt);
    int rc = BindEvent(stmt, event);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return tl::unexpected(Fail(rc, "append"));
    event.seq = sqlite3_last_insert_rowid(db_);
  }
  return {};
}

Result<void> SqliteStore::UpsertCursors(std::span<const CursorUpdate> cursors) {
  sqlite3_stmt* stmt = stmts_->upsert_cursor.get();
  for (const CursorUpdate& update : cursors) {
    if (update.check) {
      // Read inside the write transaction: no other writer can change it before the commit.
      auto held = GetCursor(update.key);
      if (!held) return tl::unexpected(held.error());
      if (*held != update.expected) {
        return MakeError(ErrorCode::kConflict,
                         Context("append") + ": the cursor of " + update.key +
                             " was moved by another writer (a second utmpcd on this history?)");
      }
    }
    ScopedReset reset(stmt);
    // device and inode are unsigned 64-bit; SQLite integers are signed. Stored as the same
    // bits, read back the same way.
    int rc = BindText(stmt, 1, update.key);
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(update.cursor.device));
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_int64(stmt, 3, static_cast<int64_t>(update.cursor.inode));
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 4, update.cursor.offset);
    if (rc == SQLITE_OK) rc = BindBytes(stmt, 5, update.cursor.extra);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) return tl::unexpected(Fail(rc, "append: cursor"));
  }
  return {};
}

Result<std::optional<SourceCursor>> SqliteStore::GetCursor(std::string_view key) {
  sqlite3_stmt* stmt = stmts_->select_cursor.get();
  ScopedReset reset(stmt);
  int rc = BindText(stmt, 1, key);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::optional<SourceCursor>();
  if (rc != SQLITE_ROW) return tl::unexpected(Fail(rc, "cursor"));
  SourceCursor cursor;
  cursor.device = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
  cursor.inode = static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
  cursor.offset = sqlite3_column_int64(stmt, 2);
  cursor.extra = ColumnBytes(stmt, 3);
  return std::optional<SourceCursor>(std::move(cursor));
}

Result<int64_t> SqliteStore::LastSeq() {
  sqlite3_stmt* stmt = stmts_->last_seq.get();
  ScopedReset reset(stmt);
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) return tl::unexpected(Fail(rc, "last seq"));
  return sqlite3_column_int64(stmt, 0);  // max() of no rows is NULL, read as 0
}

Result<std::vector<Event>> SqliteStore::EventsFrom(int64_t after_seq, int64_t limit) {
  sqlite3_stmt* stmt = stmts_->events_from.get();
  ScopedReset reset(stmt);
  sqlite3_bind_int64(stmt, 1, after_seq);
  sqlite3_bind_int64(stmt, 2, std::max<int64_t>(0, limit));
  return ReadEvents(stmt, "events from seq");
}

Result<std::vector<Event>> SqliteStore::EventsByUser(std::string_view user, int64_t before_seq,
                                                     int64_t limit) {
  return ReadKeyed(stmts_->events_by_user.get(), user, before_seq, limit, "events by user");
}

Result<std::vector<Event>> SqliteStore::EventsInRange(int64_t since_us, int64_t until_us,
                                                      int64_t limit) {
  sqlite3_stmt* stmt = stmts_->events_in_range.get();
  ScopedReset reset(stmt);
  sqlite3_bind_int64(stmt, 1, since_us);
  sqlite3_bind_int64(stmt, 2, until_us);
  sqlite3_bind_int64(stmt, 3, std::max<int64_t>(0, limit));
  return ReadEvents(stmt, "events in range");
}

Result<std::vector<Event>> SqliteStore::EventsBefore(int64_t before_seq, int64_t limit,
                                                     std::span<const EventSource> sources) {
  sqlite3_stmt* stmt =
      sources.empty() ? stmts_->events_before.get() : stmts_->events_before_from.get();
  ScopedReset reset(stmt);
  sqlite3_bind_int64(stmt, 1, before_seq);
  sqlite3_bind_int64(stmt, 2, std::max<int64_t>(0, limit));
  // Eight slots, one per EventSource: the list is filled up by repeating its last source.
  constexpr int kSourceSlots = 8;
  static_assert(static_cast<int>(EventSource::kJournal) + 1 == kSourceSlots);
  for (int i = 0; i < kSourceSlots && !sources.empty(); ++i) {
    EventSource source = sources[std::min<size_t>(i, sources.size() - 1)];
    int rc = BindText(stmt, 3 + i, EventSourceName(source));
    if (rc != SQLITE_OK) return tl::unexpected(Fail(rc, "events before seq"));
  }
  return ReadEvents(stmt, "events before seq");
}

Result<std::vector<Event>> SqliteStore::EventsOnTty(std::string_view tty, int64_t before_seq,
                                                    int64_t limit) {
  return ReadKeyed(stmts_->events_on_tty.get(), tty, before_seq, limit, "events on tty");
}

Result<std::vector<Event>> SqliteStore::EventsOnTtyAfter(std::string_view tty, int64_t after_seq,
                                                         int64_t limit) {
  return ReadKeyed(stmts_->events_on_tty_after.get(), tty, after_seq, limit, "events on tty");
}

Result<std::vector<Event>> SqliteStore::ReadKeyed(sqlite3_stmt* stmt, std::string_view key,
                                                  int64_t seq, int64_t limit, const char* what) {
  ScopedReset reset(stmt);
  int rc = BindBytes(stmt, 1, key);
  if (rc != SQLITE_OK) return tl::unexpected(Fail(rc, what));
  sqlite3_bind_int64(stmt, 2, seq);
  sqlite3_bind_int64(stmt, 3, std::max<int64_t>(0, limit));
  return ReadEvents(stmt, what);
}

Result<std::vector<Event>> SqliteStore::EventsOfKindAfter(EventKind kind, int64_t after_seq,
                                                          int64_t limit) {
  if (kind == EventKind::kLogin || kind == EventKind::kLogout) {
    return MakeError(ErrorCode::kInvalidArgument,
                     Context("events of kind") + ": logins and logouts are not indexed by kind");
  }
  sqlite3_stmt* stmt = stmts_->events_of_kind_after.get();
  ScopedReset reset(stmt);
  int rc = BindText(stmt, 1, EventKindName(kind));
  if (rc != SQLITE_OK) return tl::unexpected(Fail(rc, "events of kind"));
  sqlite3_bind_int64(stmt, 2, after_seq);
  sqlite3_bind_int64(stmt, 3, std::max<int64_t>(0, limit));
  return ReadEvents(stmt, "events of kind");
}

Result<std::optional<Event>> SqliteStore::FirstListedOfSource(EventSource source) {
  sqlite3_stmt* stmt = stmts_->first_listed_of_source.get();
  ScopedReset reset(stmt);
  int rc = BindText(stmt, 1, EventSourceName(source));
  if (rc != SQLITE_OK) return tl::unexpected(Fail(rc, "first event"));
  auto events = ReadEvents(stmt, "first event");
  if (!events) return tl::unexpected(events.error());
  if (events->empty()) return std::optional<Event>();
  return std::optional<Event>(std::move(events->front()));
}

Result<std::vector<int64_t>> SqliteStore::OpenSessionsOf(EventSource source, int64_t since_us) {
  sqlite3_stmt* stmt = stmts_->open_sessions_of.get();
  ScopedReset reset(stmt);
  int rc = BindText(stmt, 1, EventSourceName(source));
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 2, since_us);
  if (rc != SQLITE_OK) return tl::unexpected(Fail(rc, "open sessions"));
  std::vector<int64_t> sessions;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) sessions.push_back(sqlite3_column_int64(stmt, 0));
  if (rc != SQLITE_DONE) return tl::unexpected(Fail(rc, "open sessions"));
  return sessions;
}

Result<std::optional<Event>> SqliteStore::EndOfWtmpdbRow(int64_t row, int64_t after_seq) {
  sqlite3_stmt* stmt = stmts_->end_of_wtmpdb_row.get();
  ScopedReset reset(stmt);
  sqlite3_bind_int64(stmt, 1, row);
  sqlite3_bind_int64(stmt, 2, after_seq);
  auto events = ReadEvents(stmt, "end of a wtmpdb row");
  if (!events) return tl::unexpected(events.error());
  // A start next is another row's under a number used again: this one never ended.
  if (events->empty() || (events->front().kind != EventKind::kLogout &&
                          events->front().kind != EventKind::kShutdown)) {
    return std::optional<Event>();
  }
  return std::optional<Event>(std::move(events->front()));
}

void SqliteStore::Interrupt() { sqlite3_interrupt(db_); }

void SqliteStore::SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
  deadline_ = deadline;
  if (!deadline) {
    sqlite3_progress_handler(db_, 0, nullptr, nullptr);
    return;
  }
  sqlite3_progress_handler(
      db_, 4096,
      [](void* self) -> int {
        auto* store = static_cast<SqliteStore*>(self);
        return store->deadline_ && std::chrono::steady_clock::now() >= *store->deadline_;
      },
      this);
}

Result<std::optional<SqliteStore::LastLogin>> SqliteStore::LastLoginOf(std::string_view user) {
  sqlite3_stmt* stmt = stmts_->last_login.get();
  ScopedReset reset(stmt);
  int rc = BindBytes(stmt, 1, user);
  if (rc != SQLITE_OK) return tl::unexpected(Fail(rc, "last login"));
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::optional<LastLogin>();
  if (rc != SQLITE_ROW) return tl::unexpected(Fail(rc, "last login"));
  LastLogin login;
  login.seq = sqlite3_column_int64(stmt, 0);
  login.time_us = sqlite3_column_int64(stmt, 1);
  login.tty = store_internal::ColumnBytes(stmt, 2);
  login.remote_host = store_internal::ColumnBytes(stmt, 3);
  return std::optional<LastLogin>(std::move(login));
}

// Rows are checked as they are read: a kind or source this build does not know, or an address
// of the wrong size, means the file was written by something else (or damaged), and is
// reported rather than guessed at.
Result<std::vector<Event>> SqliteStore::ReadEvents(sqlite3_stmt* stmt, const char* what) {
  std::vector<Event> events;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Event& event = events.emplace_back();
    event.seq = sqlite3_column_int64(stmt, 0);
    event.time_us = sqlite3_column_int64(stmt, 1);
    const std::string kind = ColumnBytes(stmt, 2);
    const std::string source = ColumnBytes(stmt, 9);
    auto parsed_kind = ParseEventKind(kind);
    auto parsed_source = ParseEventSource(source);
    const std::string addr = ColumnBytes(stmt, 6);
    if (!parsed_kind || !parsed_source || addr.size() != event.remote_addr.size()) {
      return tl::unexpected(StoreError(
          ErrorCode::kCorrupt, path_,
          std::string(what) + ": event seq " + std::to_string(event.seq) + " has kind '" + kind +
              "', source '" + source + "', a " + std::to_string(addr.size()) + "-byte address"));
    }
    event.kind = *parsed_kind;
    event.source = *parsed_source;
    std::memcpy(event.remote_addr.data(), addr.data(), addr.size());
    event.user = ColumnBytes(stmt, 3);
    event.tty = ColumnBytes(stmt, 4);
    event.remote_host = ColumnBytes(stmt, 5);
    event.pid = static_cast<int32_t>(sqlite3_column_int64(stmt, 7));
    event.session = sqlite3_column_int64(stmt, 8);
    event.boot_id = ColumnBytes(stmt, 10);
  }
  if (rc != SQLITE_DONE) return tl::unexpected(Fail(rc, what));
  return events;
}

// Why the newest event is never deleted: seq is the rowid, and SQLite gives a new row
// max(rowid) + 1. Were every event deleted, the next one would get seq 1 again (after a restart
// as well as before), and a follower that has seen seq 1000 would skip the new events as old.
// Keeping the row that holds the maximum keeps every future seq above every past one, without
// AUTOINCREMENT's extra write per insert.
Result<int64_t> SqliteStore::DeleteOlderThan(int64_t time_us) {
  sqlite3_stmt* stmt = stmts_->delete_older_than.get();
  ScopedReset reset(stmt);
  sqlite3_bind_int64(stmt, 1, time_us);
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return tl::unexpected(Fail(rc, "retention"));
  return sqlite3_changes64(db_);
}

Result<std::optional<std::string>> SqliteStore::GetMeta(std::string_view key) {
  sqlite3_stmt* stmt = stmts_->get_meta.get();
  ScopedReset reset(stmt);
  int rc = BindText(stmt, 1, key);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return tl::unexpected(Fail(rc, "meta"));
  return std::optional<std::string>(ColumnBytes(stmt, 0));
}

Result<void> SqliteStore::SetMeta(std::string_view key, std::string_view value) {
  sqlite3_stmt* stmt = stmts_->set_meta.get();
  ScopedReset reset(stmt);
  int rc = BindText(stmt, 1, key);
  if (rc == SQLITE_OK) rc = BindBytes(stmt, 2, value);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return tl::unexpected(Fail(rc, "set meta"));
  return {};
}

}  // namespace utmpcd
