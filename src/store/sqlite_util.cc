#include <cerrno>
#include <cstring>
#include <string>

#include "store/sqlite_util_internal.h"

namespace utmpcd::store_internal {
namespace {

ErrorCode CodeFor(int rc, int system_errno) {
  switch (rc & 0xff) {  // the primary code; extended codes refine it in the message only
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return ErrorCode::kCorrupt;
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return ErrorCode::kInvalidArgument;
    case SQLITE_CANTOPEN:
      return system_errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
    default:
      return ErrorCode::kIo;
  }
}

}  // namespace

Error SqliteError(sqlite3* db, int rc, std::string_view context) {
  // sqlite3_errmsg describes the most recent failed call on `db`, which is the one that
  // returned `rc` as long as callers convert before making another call.
  std::string message(context);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int system_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  int primary = rc & 0xff;
  // Only for failures that came from a system call; a stale errno on a constraint failure
  // would mislead.
  if (system_errno != 0 &&
      (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR || primary == SQLITE_FULL)) {
    message += " (";
    message += std::strerror(system_errno);
    message += ")";
  }
  return Error{CodeFor(rc, system_errno), std::move(message)};
}

Result<Statement> Prepare(sqlite3* db, std::string_view sql, std::string_view context) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return tl::unexpected(SqliteError(db, rc, context));
  }
  return Statement(stmt);
}

Result<void> Exec(sqlite3* db, const char* sql, std::string_view context) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(SqliteError(db, rc, context));
  return {};
}

Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view context) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) return tl::unexpected(SqliteError(db, rc, context));
  rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return tl::unexpected(SqliteError(db, rc, context));
  return sqlite3_column_int64(stmt.get(), 0);
}

Result<WriteTransaction> WriteTransaction::Begin(sqlite3* db, std::string_view context) {
  auto begun = Exec(db, "BEGIN IMMEDIATE", context);
  if (!begun) return tl::unexpected(begun.error());
  return WriteTransaction(db);
}

WriteTransaction::~WriteTransaction() {
  // After some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) SQLite has already rolled
  // back by itself; a ROLLBACK then fails harmlessly, so only roll back what is still open.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Result<void> WriteTransaction::Commit(std::string_view context) {
  int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    // A failed COMMIT (SQLITE_BUSY, a full disk) can leave the transaction open: convert the
    // error first, then let the destructor roll it back.
    Error error = SqliteError(db_, rc, context);
    return tl::unexpected(std::move(error));
  }
  db_ = nullptr;
  return {};
}

}  // namespace utmpcd::store_internal
