// wtmpdb's database (thkukuk/wtmpdb; Debian 13 ships 0.73): the history of hosts without
// wtmp, one SQLite file (Debian 13: /var/log/wtmp.db, with /var/lib/wtmpdb/wtmp.db a link to
// it; upstream and openSUSE: /var/lib/wtmpdb/wtmp.db) with one table,
//   wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, Login INTEGER,
//        Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT
// a row a session (Type 3, USER_PROCESS) or a boot (Type 1, BOOT_TIME, User "reboot"; wtmpdb's
// own numbers, not utmp's), times in
// microseconds since the epoch; a session's Logout is filled in when it ends (../shared/
// REFERENCE.md, "The new generation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

struct sqlite3_stmt;

namespace utmpcd {

// Where wtmpdb keeps its database: Debian 13's place first, then upstream's.
inline constexpr const char* kWtmpdbPaths[] = {"/var/log/wtmp.db", "/var/lib/wtmpdb/wtmp.db"};
// The first of kWtmpdbPaths that exists, or nullptr.
const char* ExistingWtmpdbPath();
inline constexpr int kWtmpdbBootTime = 1;
inline constexpr int kWtmpdbUserProcess = 3;

// A row as wtmpdb's own reader sees it (sqlite3_exec: each column as text, cut at a NUL byte;
// times through strtoull, so a REAL 1.7e15 reads as 1).
struct WtmpdbRow {
  int64_t id = 0;
  int type = 0;
  std::string user;
  uint64_t login_us = 0;
  std::optional<uint64_t> logout_us;
  std::string login_text;                         // the Login column as text ("" for NULL)
  int64_t login_integer = 0;                       // the Login column as SQLite's integer
  std::optional<std::string> logout_text;
  bool login_valid = true, logout_valid = true;   // the text was a whole number
  std::optional<std::string> tty, host, service;  // NULL: nullopt
};

// The columns WtmpdbRowFrom reads, in its order.
#define UTMPCD_WTMPDB_COLUMNS "ID, Type, User, Login, Logout, TTY, RemoteHost, Service"

// The row `stmt` stands on, its columns UTMPCD_WTMPDB_COLUMNS, read as wtmpdb reads it.
WtmpdbRow WtmpdbRowFrom(sqlite3_stmt* stmt);

// Every row of the database at `path`, as `wtmpdb last` reads them: newest login first
// (ORDER BY Login DESC, Logout ASC). Opened read-only: its writers (pam_wtmpdb, wtmpdbd) are
// never locked out, and a database in WAL mode is read as of one snapshot. kNotFound when the
// file is missing; kIo with SQLite's message otherwise.
Result<std::vector<WtmpdbRow>> ReadWtmpdb(const std::string& path);

// Whether `path` is an SQLite database with wtmpdb's table (not, say, utmpcd's history).
bool IsWtmpdb(const std::string& path);

}  // namespace utmpcd
