// lastlog2's database (util-linux 2.40+, Debian 13: /var/lib/lastlog/lastlog2.db): each user's
// last login, one SQLite table written by pam_lastlog2,
//   Lastlog2(Name TEXT PRIMARY KEY, Time INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT)
// Time in seconds since the epoch (../shared/REFERENCE.md, "The new generation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace utmpcd {

inline constexpr const char* kLastlog2Path = "/var/lib/lastlog/lastlog2.db";

// A row as lastlog2 reads it: text cut at its first NUL (sqlite3_exec); the time as strtoll
// reads the column's text (`time_valid` false when not all of it is a number).
struct Lastlog2Row {
  std::string name;
  int64_t time = 0;
  std::string time_text;
  bool time_valid = true;
  std::optional<std::string> tty, host, service;  // NULL: nullopt
};

// Every row, by name (ORDER BY Name ASC, as lastlog2 lists them), read-only. kNotFound for a
// missing file; kIo with lastlog2's words otherwise ("SQL error: no such table: Lastlog2").
Result<std::vector<Lastlog2Row>> ReadLastlog2(const std::string& path);

// The row of one user, read as lastlog2 -u reads it (the time as an integer column, empty text
// as none); nullopt when the user has none or the database cannot be read.
std::optional<Lastlog2Row> ReadLastlog2User(const std::string& path, std::string_view user);

}  // namespace utmpcd
