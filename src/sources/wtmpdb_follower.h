// WtmpdbFollower: incremental reading of wtmpdb's database (formats/wtmpdb.h) as events, from
// a stored cursor: each new row's login or boot, and each older row's Logout when it is filled
// in (a logout, or a shutdown for a boot row).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/result.h"

struct sqlite3;

namespace utmpcd {

// Where a follower stopped. Store it in the same transaction as the events read before it.
struct WtmpdbCursor {
  uint64_t device = 0;  // the database file's st_dev and st_ino: a new file is read anew
  uint64_t inode = 0;
  int64_t last_id = 0;        // the highest row ID read
  // That row's Login (as SQLite's integer): a row ID used again is told from it.
  int64_t last_login_us = 0;
  // The oldest Login among the rows whose end is still to come (or, when there are none, of
  // the newest row): where a restart looks in the store for them (SqliteStore::OpenSessionsOf).
  int64_t open_since_us = 0;
  // The newest boot row's ID (0: none; -1: not looked up yet): rows before it belong to earlier
  // boots, and will never end now.
  int64_t newest_boot_id = -1;

  bool operator==(const WtmpdbCursor&) const = default;
};

// What one Poll read.
struct WtmpdbBatch {
  // In time order (a row's start before its end; at one instant ends before starts), so that
  // the history's order is the order things happened, as in wtmp. Each carries the row's ID as
  // its `session`; source kWtmpdb.
  std::vector<Event> events;
  WtmpdbCursor cursor;  // where the next Poll starts
  uint64_t skipped = 0;  // rows that are no event (another Type, a Login that is no number)
  bool more = false;     // the row limit was reached with more to read: Poll again
  bool missing = false;  // the database does not exist (yet)
  std::vector<std::string> warnings;  // for the log: a database replaced, rows renumbered
};

// Follows the database at one path, read-only: wtmpdb's writers (pam_wtmpdb, wtmpdb boot,
// rotate) are never locked out beyond one short read transaction, and a WAL database is read
// as of one snapshot.
//
// - New rows (ID above the cursor's) give a login (Type USER_PROCESS) or a boot (BOOT_TIME:
//   "reboot" or "soft-reboot" on "~", the kernel release as host). A row already ended gives
//   its end too.
// - A row's end is its Logout filled in later: a logout on the row's tty, or for a boot row a
//   shutdown ("shutdown" on "~~"). Rows waiting for their end are looked up by ID on each Poll.
//   A row that is gone (rotated away by `wtmpdb rotate`) is no longer waited for; neither is a
//   row before the newest boot row (a session or boot of an earlier boot: the host went down
//   under it, and the history calls it a crash), nor, in a database with no boot row, a session
//   logged in before this boot began.
// - An end later than the newest start read so far waits while a backlog is read in pieces
//   (Batch::more), so that the events stay in time order across pieces, as far as the rows'
//   IDs follow their logins (rows inserted later with older logins, as `wtmpdb import` into a
//   database in use makes, are stored when they are read, as a wtmp appended to out of order).
// - Which database: the cursor's row, still there with its Login, means the same numbering,
//   whatever the file (moved or copied: a warning). Otherwise (the table emptied or rewritten,
//   a new file from logrotate) the rows are numbered anew: those logged in after the cursor's
//   row are read, with a warning. Rows deleted below the cursor's (rotate) change nothing.
// - An empty file (no table yet) is read as no rows.
//
// Not thread-safe. Holds the database open between Polls (no lock is held between them).
class WtmpdbFollower {
 public:
  static constexpr size_t kDefaultMaxBatchRows = 65536;

  // `start`: the cursor stored with the last batch (nullopt: from the first row). `open`: the
  // rows whose end is still to come, as the store knows them (OpenSessionsOf from
  // start->open_since_us). `boot_time_us`: this boot's start (sessions from before it will
  // never end).
  WtmpdbFollower(std::string path, std::optional<WtmpdbCursor> start, std::vector<int64_t> open,
                 int64_t boot_time_us, size_t max_batch_rows = kDefaultMaxBatchRows);

  // Before the first Poll of a database never read: rows logged in at or before `time_us` are
  // passed over (their starts and ends), as what the history already holds from elsewhere
  // (Debian's upgrade imports wtmp into wtmpdb; a history that followed wtmp has those).
  void SkipThrough(int64_t time_us) { skip_through_us_ = time_us; }
  WtmpdbFollower(const WtmpdbFollower&) = delete;
  WtmpdbFollower& operator=(const WtmpdbFollower&) = delete;
  ~WtmpdbFollower();

  // Reads what changed since the last Poll. Fails (kIo) when the database cannot be opened or
  // read (not wtmpdb's, locked beyond the busy timeout, unreadable): nothing is consumed, and
  // a later Poll retries.
  Result<WtmpdbBatch> Poll();

  const std::string& path() const { return path_; }
  const WtmpdbCursor& cursor() const { return cursor_; }
  // The IDs of the rows whose end is still to come.
  std::vector<int64_t> open() const;

 private:
  // A row waiting for its end: its Login (the cursor's open_since until the row was read).
  using OpenRows = std::map<int64_t, int64_t>;
  Result<void> OpenDatabase(uint64_t device, uint64_t inode);
  void CloseDatabase();
  Result<void> PollIn(WtmpdbBatch& batch, OpenRows& open, WtmpdbCursor& cursor);

  std::string path_;
  WtmpdbCursor cursor_;
  OpenRows open_;
  int64_t boot_time_us_;
  size_t max_batch_rows_;
  std::optional<int64_t> skip_through_us_;
  sqlite3* db_ = nullptr;
  uint64_t db_device_ = 0, db_inode_ = 0;  // of the file db_ has open
};

}  // namespace utmpcd
