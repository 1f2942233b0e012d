#include "formats/wtmpdb.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>

namespace utmpcd {

namespace {

std::optional<std::string> Text(sqlite3_stmt* s, int column) {
  if (sqlite3_column_type(s, column) == SQLITE_NULL) return std::nullopt;
  const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_blob(s, column));
  return std::string(bytes == nullptr ? "" : bytes,
                     static_cast<size_t>(sqlite3_column_bytes(s, column)));
}

}  // namespace

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
  sqlite3_busy_timeout(db.get(), 2000);
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db.get(),
                          "SELECT ID, Type, User, Login, Logout, TTY, RemoteHost, Service "
                          "FROM wtmp ORDER BY Login DESC, Logout ASC",
                          -1, &stmt, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(stmt, &sqlite3_finalize);
  if (rc != SQLITE_OK) return fail("not a wtmpdb database");
  std::vector<WtmpdbRow> rows;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    WtmpdbRow row;
    row.id = sqlite3_column_int64(stmt, 0);
    row.type = sqlite3_column_int(stmt, 1);
    row.user = Text(stmt, 2).value_or("");
    row.login_us = sqlite3_column_int64(stmt, 3);
    if (sqlite3_column_type(stmt, 4) != SQLITE_NULL) row.logout_us = sqlite3_column_int64(stmt, 4);
    row.tty = Text(stmt, 5);
    row.host = Text(stmt, 6);
    row.service = Text(stmt, 7);
    rows.push_back(std::move(row));
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
