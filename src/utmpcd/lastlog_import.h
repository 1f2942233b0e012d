// The one-time import of lastlog on the daemon's first start: the last login of each user of the
// passwd database, as kLogin events with source kImport, so a history starts with what the host
// knew before utmpcd ran (wtmp is often rotated away; lastlog keeps one login per user forever).
#pragma once

#include <string>

#include "core/result.h"
#include "store/sqlite_store.h"

namespace utmpcd {

// Imports `lastlog_path` into `store` unless a previous run did. The events and the cursor that
// marks the import done commit in one transaction: never twice, never half. A missing file is
// no error (nothing to import). Returns the number of events stored.
Result<size_t> ImportLastlogOnce(const std::string& lastlog_path, SqliteStore* store);

// The same for lastlog2's database (Debian 13): each row's login (user, time, tty, remote
// host), once. Rows with no time or an unreadable one are skipped.
Result<size_t> ImportLastlog2Once(const std::string& lastlog2_path, SqliteStore* store);

}  // namespace utmpcd
