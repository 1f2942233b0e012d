#include "formats/wtmpdb.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "formats/sqlite_text_internal.h"

namespace utmpcd {

namespace {

using formats_internal::Text;

// A time as wtmpdb's strtoull reads the column's text; *valid when all of it was a number.
uint64_t TimeOf(const std::string& text, bool* valid) {
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  *valid = !(errno == ERANGE && v == ULLONG_MAX) && end != text.c_str() && *end == '\0';
  return v;
}

}  // namespace

WtmpdbRow WtmpdbRowFrom(sqlite3_stmt* stmt) {
  WtmpdbRow row;
  row.id = sqlite3_column_int64(stmt, 0);
  row.type = std::atoi(Text(stmt, 1).value_or("0").c_str());
  row.user = Text(stmt, 2).value_or("");
  row.login_text = Text(stmt, 3).value_or("");
  row.login_integer = sqlite3_column_int64(stmt, 3);
  row.login_us = TimeOf(row.login_text, &row.login_valid);
  if ((row.logout_text = Text(stmt, 4))) {
    row.logout_us = TimeOf(*row.logout_text, &row.logout_valid);
  }
  row.tty = Text(stmt, 5);
  row.host = Text(stmt, 6);
  row.service = Text(stmt, 7);
  return row;
}

Result<std::vector<WtmpdbRow>> ReadWtmpdb(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return tl::unexpected(ErrnoError(path, errno));
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  auto fail = [&](const std::string& what) {
    return MakeError(ErrorCode::kIo, path + ": " + what + ": " +
                                         (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  };
  if (rc != SQLITE_OK) return fail("cannot open");
  // A writer holding its lock briefly is waited for, never forced.
  sqlite3_busy_timeout(db.get(), 5000);  // as wtmpdb waits
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db.get(),
                          "SELECT " UTMPCD_WTMPDB_COLUMNS " FROM wtmp ORDER BY Login DESC, Logout ASC",
                          -1, &stmt, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(stmt, &sqlite3_finalize);
  if (rc != SQLITE_OK) return fail("not a wtmpdb database");
  std::vector<WtmpdbRow> rows;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    rows.push_back(WtmpdbRowFrom(stmt));
  }
  if (rc != SQLITE_DONE) return fail("cannot read");
  return rows;
}

const char* ExistingWtmpdbPath() {
  struct stat st {};
  for (const char* path : kWtmpdbPaths) {
    if (::stat(path, &st) == 0) return path;
  }
  return nullptr;
}

bool IsWtmpdb(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) return false;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'wtmp'", -1,
                         &stmt, nullptr) != SQLITE_OK) {
    return false;
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(stmt, &sqlite3_finalize);
  return sqlite3_step(stmt) == SQLITE_ROW;
}

}  // namespace utmpcd
