#include <iterator>

#include "store/schema_internal.h"

namespace utmpcd::store_internal {
namespace {

// Version 1.
//
// Tables are STRICT, so a value of the wrong type is an error rather than silently converted.
// Text from login records is BLOB: it is bytes (possibly invalid UTF-8, possibly NULs), and a
// TEXT column would invite SQLite or a reader to treat it as UTF-8. kind, source and boot_id are
// ours and ASCII, hence TEXT. kind and source have no CHECK list on purpose: a new kind must not
// need a table rebuild; the store refuses unknown names when it reads them back.
//
// seq is the rowid, so appending is an append to the table's B-tree and "events after seq N"
// is a range scan of it. No AUTOINCREMENT: it costs a sqlite_sequence update per insert, and
// retention keeps the newest row instead (see SqliteStore::DeleteOlderThan).
//
// Indexes (each also holds seq, the rowid, as its last key):
//   events_by_user (user, seq)     `last -n 20 alice`: seek to alice's newest, read 20 back.
//                                  Ordered by seq, not time_us, because seq is the store's
//                                  history order (the order records were written, as in wtmp,
//                                  whatever the clock did) and pages on it are exact.
//   events_by_time (time_us)       since/until ranges, and retention.
//   events_by_tty  (tty, time_us)  who was on a terminal at a time (dropped in version 3).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY,
  time_us     INTEGER NOT NULL,
  kind        TEXT    NOT NULL,
  user        BLOB    NOT NULL,
  tty         BLOB    NOT NULL,
  remote_host BLOB    NOT NULL,
  remote_addr BLOB    NOT NULL CHECK (length(remote_addr) = 16),
  pid         INTEGER NOT NULL,
  session     INTEGER NOT NULL,
  source      TEXT    NOT NULL,
  boot_id     TEXT    NOT NULL
) STRICT;
CREATE INDEX events_by_user ON events (user, seq);
CREATE INDEX events_by_time ON events (time_us);
CREATE INDEX events_by_tty ON events (tty, time_us);

CREATE TABLE cursors (
  source_key  TEXT    PRIMARY KEY,
  device      INTEGER NOT NULL,
  inode       INTEGER NOT NULL,
  file_offset INTEGER NOT NULL CHECK (file_offset >= 0),
  extra       BLOB    NOT NULL CHECK (length(extra) <= 4096)
) STRICT, WITHOUT ROWID;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT, WITHOUT ROWID;

PRAGMA application_id = 1431585604;
)sql";

// Version 2: indexes for `utmpc last` on the history (store/history_read.h), which walks the
// history in seq order as last walks a wtmp in file order. Each also holds seq, the rowid, last.
//   events_by_tty_seq (tty, seq)  the nearest later event on a terminal: what ends a login.
//                                 events_by_tty orders a terminal's events by time_us, which a
//                                 clock step breaks; last pairs by file order.
//   events_by_kind    (kind, seq) the nearest later boot or shutdown (a crash, or down), and
//                                 the oldest event of each kind (where a listing begins).
constexpr const char* kSchemaV2 = R"sql(
CREATE INDEX events_by_tty_seq ON events (tty, seq);
CREATE INDEX events_by_kind ON events (kind, seq);
)sql";

// Version 3: events_by_tty (tty, time_us) goes. Every query by terminal reads events_by_tty_seq
// (a terminal's events in history order, as last pairs them); the planner never needed the
// other, and keeping it cost a third of the time of every append (an import of 1M wtmp
// records: 7.9 s with it, 5.5 s without, bench/daemon.sh).
constexpr const char* kSchemaV3 = R"sql(
DROP INDEX events_by_tty;
)sql";

// Version 4: events_by_kind holds the rarer kinds only. Logins and logouts, nine events in ten,
// are never looked up by kind (where a listing begins is found in seq order, see
// HistoryReader::BeginsS); leaving them out saves an index insert for each, about 14% of an
// import's time, and the index is a tenth of its size.
constexpr const char* kSchemaV4 = R"sql(
DROP INDEX events_by_kind;
CREATE INDEX events_by_kind ON events (kind, seq) WHERE kind NOT IN ('login', 'logout');
)sql";

// Version 5: events_by_user leaves out events with no user. Logouts carry none (a DEAD_PROCESS
// record names the line only), nearly half of a wtmp, and nothing asks for a user's events
// by an empty name: kEventsByUser says user != x'' to use the index. (user is a BLOB: '' is
// text, and a BLOB never equals text.)
constexpr const char* kSchemaV5 = R"sql(
DROP INDEX events_by_user;
CREATE INDEX events_by_user ON events (user, seq) WHERE user != x'';
)sql";

// Version 6: lastlog, each user's newest login, kept by a trigger in the transaction that
// stores it. /v1/lastlog read a user's events newest first until it met a login, and every
// failed login of that name lay in the way: 100,000 failed logins for root (an ssh
// brute-forcer's week) cost 86 ms a call. Now a lookup by primary key. Like /var/log/lastlog,
// the table keeps the newest login even after retention deletes its event.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE lastlog (
  user        BLOB    PRIMARY KEY,
  seq         INTEGER NOT NULL,
  time_us     INTEGER NOT NULL,
  tty         BLOB    NOT NULL,
  remote_host BLOB    NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO lastlog (user, seq, time_us, tty, remote_host)
  SELECT user, max(seq), time_us, tty, remote_host FROM events
  WHERE kind = 'login' AND user != x'' GROUP BY user;
CREATE TRIGGER events_lastlog AFTER INSERT ON events
  WHEN new.kind = 'login' AND new.user != x''
BEGIN
  INSERT INTO lastlog (user, seq, time_us, tty, remote_host)
    VALUES (new.user, new.seq, new.time_us, new.tty, new.remote_host)
    ON CONFLICT (user) DO UPDATE SET seq = excluded.seq, time_us = excluded.time_us,
      tty = excluded.tty, remote_host = excluded.remote_host
    WHERE excluded.seq > lastlog.seq;
END;
)sql";

// Version 7: events_by_wtmpdb_row, the events of wtmpdb's rows by row ID (their `session`). A
// wtmpdb session ends with its own row's Logout, not at the next record on its line as a wtmp
// login does: the history finds a login's end by its row (HistoryReader::ListOne). Partial:
// only wtmpdb's events are in it, none on a host with wtmp.
constexpr const char* kSchemaV7 = R"sql(
CREATE INDEX events_by_wtmpdb_row ON events (session, seq) WHERE source = 'wtmpdb';
)sql";

static_assert(kApplicationId == 1431585604, "kSchemaV1 spells the application id out");
static_assert(kMaxCursorExtraBytes == 4096, "kSchemaV1 spells the limit out");

constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
    {7, kSchemaV7},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int CurrentSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

}  // namespace utmpcd::store_internal
