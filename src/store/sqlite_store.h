// SqliteStore: the host daemon's durable event history, one SQLite file in WAL mode
// (DESIGN.md, "Store"). Events get their seq here; events and the cursors of the sources that
// produced them commit together, so ingest resumes after a crash exactly where it stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace utmpcd {

// Where a source stopped reading: a position in a file that survives restarts. The store does
// not interpret it; the source compares device and inode to detect rotation.
struct SourceCursor {
  uint64_t device = 0;  // st_dev of the file read
  uint64_t inode = 0;   // st_ino of the file read
  int64_t offset = 0;   // bytes consumed, >= 0
  std::string extra;    // opaque source state, at most 4096 bytes

  bool operator==(const SourceCursor&) const = default;
};

// A cursor to store under `key` (one per source, e.g. "wtmp:/var/log/wtmp").
struct CursorUpdate {
  std::string key;
  SourceCursor cursor;
  // Compare and set: with `check`, the update (and the whole Append with it) applies only when
  // the store holds `expected` under `key` (nullopt: no cursor yet), else the Append fails with
  // kConflict. So a second writer that read the same records cannot store them twice.
  bool check = false;
  std::optional<SourceCursor> expected = std::nullopt;
};

struct StoreOptions {
  // Opens an existing, current database for queries only; nothing is created or migrated and
  // every write fails. For readers without write access to the file.
  bool read_only = false;
  // How long a write waits for another connection's write (or a checkpoint) to finish before
  // failing with "database is locked".
  int busy_timeout_ms = 5000;
  // Called after each Append that committed, on its thread, with the events stored and how
  // long the transaction took (seconds): the daemon's metrics.
  std::function<void(std::span<const Event> stored, double seconds)> on_append{};
};

// Not thread-safe: one thread uses a SqliteStore at a time. Several stores, in this process or
// others, may open the same file: readers never block the writer nor each other (WAL); writers
// take turns, each waiting up to busy_timeout_ms. Every error message starts with the path.
// No exceptions are thrown (except std::bad_alloc).
class SqliteStore {
 public:
  // seq bound for EventsByUser meaning "from the newest event".
  static constexpr int64_t kNewest = std::numeric_limits<int64_t>::max();

  // Opens `path`, creating it (and not its directory) when missing, and brings its schema up
  // to date in one transaction. Fails with kCorrupt for a file that is not a SQLite database
  // or is another program's, kUnsupported for a schema newer than this build knows, kNotFound
  // for a missing file opened read-only, and kIo when the file cannot be opened or written
  // (a read-write open of a read-only file fails here, not at the first Append).
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const StoreOptions& options = {});

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore();

  // Stores `events` in order and the `cursors` that produced them, in one transaction: after
  // a crash at any instant either all of it is stored or none. Fails with kConflict, storing
  // nothing, when a checked cursor is not what the update expected (CursorUpdate::check). On success each event's seq is
  // set (strictly increasing, above every seq ever returned before) and the last event's seq
  // is returned (LastSeq() when `events` is empty). On failure nothing is stored, the events'
  // seq are reset to 0, and the store stays usable (retry once the cause is fixed).
  // Durability: a success survives a crash of the process; a crash of the whole machine may
  // lose the last successes, whole, cursors included (see Open in the .cc).
  Result<int64_t> Append(std::span<Event> events, std::span<const CursorUpdate> cursors);

  // The cursor stored under `key`; nullopt when there is none.
  Result<std::optional<SourceCursor>> GetCursor(std::string_view key);

  // The highest seq stored; 0 when there are no events.
  Result<int64_t> LastSeq();

  // Up to `limit` events with seq > after_seq, oldest first (the live stream resumes here).
  Result<std::vector<Event>> EventsFrom(int64_t after_seq, int64_t limit);

  // Up to `limit` events of `user` (bytes, matched exactly) with seq < before_seq, newest
  // first; page on by passing the last returned seq. A lookup in an index: the cost grows
  // with log(events) + limit, not with the number of events. Events with no user (logouts)
  // are not indexed by user (schema version 5): an empty `user` finds none.
  Result<std::vector<Event>> EventsByUser(std::string_view user, int64_t before_seq, int64_t limit);

  // Up to `limit` events with since_us <= time_us < until_us (microseconds UTC), in order of
  // time_us, then seq.
  Result<std::vector<Event>> EventsInRange(int64_t since_us, int64_t until_us, int64_t limit);

  // Walking the history as `last` walks a wtmp (store/history_read.h). Each returns up to
  // `limit` events; page on by passing the last returned seq. Each is a lookup in an index or
  // the seq order: the cost grows with log(events) + what is returned (for EventsBefore with
  // `sources`, + the events of other sources passed over).
  //
  // Events with seq < before_seq, newest first, of the given sources only (of every source
  // when `sources` is empty).
  Result<std::vector<Event>> EventsBefore(int64_t before_seq, int64_t limit,
                                          std::span<const EventSource> sources = {});
  // Events on `tty` (bytes, matched exactly) with seq < before_seq, newest first.
  Result<std::vector<Event>> EventsOnTty(std::string_view tty, int64_t before_seq, int64_t limit);
  // Events on `tty` (bytes, matched exactly) with seq > after_seq, oldest first.
  Result<std::vector<Event>> EventsOnTtyAfter(std::string_view tty, int64_t after_seq,
                                              int64_t limit);
  // Events of `kind` with seq > after_seq, oldest first. Not for kLogin and kLogout, which the
  // index leaves out (schema version 4): kInvalidArgument.
  Result<std::vector<Event>> EventsOfKindAfter(EventKind kind, int64_t after_seq, int64_t limit);

  // The oldest event of `source` that is neither a failed login nor a gone session (where a
  // listing of last begins); nullopt when there is none. A scan in seq order that stops at the
  // first match.
  Result<std::optional<Event>> FirstListedOfSource(EventSource source);

  // The `session` numbers of the logins and boots of `source` at or after since_us that have
  // no logout or shutdown with the same number stored: what a follower of a source whose rows
  // end later (wtmpdb) still waits to see end. Ascending.
  Result<std::vector<int64_t>> OpenSessionsOf(EventSource source, int64_t since_us);

  // The end (a logout, or a boot row's shutdown) of wtmpdb's row `row` stored after
  // after_seq, before any other start under that ID (rows numbered anew): what ends that row's
  // login or boot (nullopt: none yet).
  Result<std::optional<Event>> EndOfWtmpdbRow(int64_t row, int64_t after_seq);

  // The newest login of `user` (bytes, matched exactly) ever stored, from the lastlog table the
  // store keeps with the events (schema version 6): a lookup by key, however many other events
  // (failed logins) the user has. Retention does not delete it. nullopt: none.
  struct LastLogin {
    int64_t seq = 0;
    int64_t time_us = 0;
    std::string tty;
    std::string remote_host;
  };
  Result<std::optional<LastLogin>> LastLoginOf(std::string_view user);

  // Retention: deletes events with time_us < time_us, except that the newest event (highest
  // seq) is always kept. Returns the number deleted. Runs as one transaction.
  Result<int64_t> DeleteOlderThan(int64_t time_us);

  // Small key/value settings of this database (the host id, ...). Values are bytes.
  Result<std::optional<std::string>> GetMeta(std::string_view key);
  Result<void> SetMeta(std::string_view key, std::string_view value);

  const std::string& path() const { return path_; }

  // A time budget: a statement still running at `deadline` is interrupted and fails (its
  // message says "interrupted"); nullopt lifts it. Checked every few thousand steps of
  // SQLite's virtual machine, so a query overruns it by well under a millisecond.
  void SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline);
  // Thread-safe (sqlite3_interrupt): the statement running now fails at once ("interrupted").
  void Interrupt();

 private:
  struct Statements;

  SqliteStore(std::string path, sqlite3* db);
  Result<void> Configure(const StoreOptions& options);
  Result<void> CheckIdentity();
  Result<void> CheckNotNewer();
  Result<void> Migrate();
  Result<void> PrepareStatements();
  Result<void> InsertEvents(std::span<Event> events);
  Result<void> UpsertCursors(std::span<const CursorUpdate> cursors);
  Result<std::vector<Event>> ReadEvents(sqlite3_stmt* stmt, const char* what);
  // Runs a statement whose parameters are (bytes key, seq bound, limit).
  Result<std::vector<Event>> ReadKeyed(sqlite3_stmt* stmt, std::string_view key, int64_t seq,
                                       int64_t limit, const char* what);
  std::string Context(const char* what) const;
  Error Fail(int rc, const char* what) const;

  std::string path_;
  std::function<void(std::span<const Event>, double)> on_append_;  // StoreOptions::on_append
  sqlite3* db_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::unique_ptr<Statements> stmts_;
};

}  // namespace utmpcd
