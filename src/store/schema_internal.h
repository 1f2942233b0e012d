// Private to src/store (and its tests): the SQLite schema of history.db, its migrations, and the
// SQL of every statement SqliteStore runs, so a test can EXPLAIN exactly what the store executes.
#pragma once

#include <cstdint>
#include <span>

namespace utmpcd::store_internal {

// PRAGMA application_id of a utmpcd history database ("UTCD"), so another program's SQLite file
// is refused instead of migrated.
inline constexpr int32_t kApplicationId = 0x55544344;

// A cursor's opaque extra state is small by contract; the schema enforces it (CHECK).
inline constexpr int kMaxCursorExtraBytes = 4096;

struct Migration {
  int version;      // PRAGMA user_version after this migration
  const char* sql;  // applied inside the migration transaction
};

// Every migration, oldest first; versions are 1, 2, 3... with no gaps. Never edit a released
// migration: add the next one.
std::span<const Migration> Migrations();

// The schema version this build writes and understands: the last migration's version.
int CurrentSchemaVersion();

// Column list read back into an Event by every query (the order ReadEvent expects).
#define UTMPCD_EVENT_COLUMNS \
  "seq, time_us, kind, user, tty, remote_host, remote_addr, pid, session, source, boot_id"

// seq is left NULL: SQLite assigns max(seq) + 1 (see DeleteOlderThan on why that is monotonic).
inline constexpr const char* kInsertEvent =
    "INSERT INTO events (time_us, kind, user, tty, remote_host, remote_addr, pid, session, "
    "source, boot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
inline constexpr const char* kUpsertCursor =
    "INSERT INTO cursors (source_key, device, inode, file_offset, extra) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source_key) DO UPDATE SET "
    "device = excluded.device, inode = excluded.inode, file_offset = excluded.file_offset, "
    "extra = excluded.extra";
inline constexpr const char* kSelectCursor =
    "SELECT device, inode, file_offset, extra FROM cursors WHERE source_key = ?1";
inline constexpr const char* kLastSeq = "SELECT max(seq) FROM events";
inline constexpr const char* kEventsFrom =
    "SELECT " UTMPCD_EVENT_COLUMNS " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2";
inline constexpr const char* kEventsByUser =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events WHERE user = ?1 AND user != x'' AND seq < ?2 ORDER BY seq DESC LIMIT ?3";
inline constexpr const char* kEventsInRange =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events WHERE time_us >= ?1 AND time_us < ?2 ORDER BY time_us, seq LIMIT ?3";
// History walks for `last` (schema version 2). kEventsBeforeFrom binds eight sources
// (?3..?10), one per EventSource, repeating one to ask for fewer.
inline constexpr const char* kEventsBefore =
    "SELECT " UTMPCD_EVENT_COLUMNS " FROM events WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2";
inline constexpr const char* kEventsBeforeFrom =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events WHERE seq < ?1 AND source IN (?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ORDER BY seq DESC "
    "LIMIT ?2";
inline constexpr const char* kEventsOnTty =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events INDEXED BY events_by_tty_seq WHERE tty = ?1 AND seq < ?2 ORDER BY seq DESC "
    "LIMIT ?3";
inline constexpr const char* kEventsOnTtyAfter =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events INDEXED BY events_by_tty_seq WHERE tty = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
inline constexpr const char* kEventsOfKindAfter =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events INDEXED BY events_by_kind WHERE kind = ?1 AND seq > ?2"
    " AND kind NOT IN ('login', 'logout') ORDER BY seq LIMIT ?3";
// The oldest event of a source that last lists (not a failed login nor a gone session): a scan
// in seq order that stops at the first match, which the history's first events nearly always
// are.
inline constexpr const char* kFirstListedOfSource =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events WHERE source = ?1 AND kind NOT IN ('failed', 'gone') ORDER BY seq LIMIT 1";
// The next event of wtmpdb's row ?1 stored after seq ?2: the row's end (logout, or shutdown for
// a boot row), or the start of another row under the same ID (the rows were numbered anew).
inline constexpr const char* kEndOfWtmpdbRow =
    "SELECT " UTMPCD_EVENT_COLUMNS
    " FROM events INDEXED BY events_by_wtmpdb_row WHERE source = 'wtmpdb' AND session = ?1 AND "
    "seq > ?2 ORDER BY seq LIMIT 1";
// The sessions (and boots) of a source that began at or after ?2 and have no end stored:
// their `session` numbers (for wtmpdb, the row IDs whose Logout is still to come). A scan of
// the time range, once at a follower's start.
inline constexpr const char* kOpenSessionsOf =
    "SELECT session FROM events WHERE source = ?1 AND time_us >= ?2 AND kind IN ('login', "
    "'boot') EXCEPT SELECT session FROM events WHERE source = ?1 AND time_us >= ?2 AND kind IN "
    "('logout', 'shutdown') ORDER BY session";
inline constexpr const char* kDeleteOlderThan =
    "DELETE FROM events WHERE time_us < ?1 AND seq < (SELECT max(seq) FROM events)";
inline constexpr const char* kLastLogin =
    "SELECT seq, time_us, tty, remote_host FROM lastlog WHERE user = ?1";
inline constexpr const char* kGetMeta = "SELECT value FROM meta WHERE key = ?1";
inline constexpr const char* kSetMeta =
    "INSERT INTO meta (key, value) VALUES (?1, ?2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value";

}  // namespace utmpcd::store_internal
