// Private to src/store: thin RAII and error helpers over the SQLite C API.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace utmpcd::store_internal {

// Turns a failed SQLite call into an Error: "<context>: <what SQLite says>", plus strerror when
// the failure came from the operating system. `context` names the file and the operation
// ("/var/lib/utmpcd/history.db: append"). The code follows the kind of failure: kCorrupt for a
// file that is not (or no longer) a database, kInvalidArgument for a violated constraint,
// kNotFound for a missing file, kIo for everything else (disk full, read-only, busy...).
Error SqliteError(sqlite3* db, int rc, std::string_view context);

// Owns one prepared statement; finalizes it on destruction. Move-only.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    std::swap(stmt_, other.stmt_);
    return *this;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a cached statement and clears its bindings when the scope ends, however it ends. A
// statement left half-stepped would keep its read transaction open, pinning the WAL (no
// checkpoint past it) and showing this connection a stale snapshot.
class ScopedReset {
 public:
  explicit ScopedReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;
  ~ScopedReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

// Prepares `sql` once for repeated use (SQLITE_PREPARE_PERSISTENT).
Result<Statement> Prepare(sqlite3* db, std::string_view sql, std::string_view context);

// Runs SQL without results (one or more statements).
Result<void> Exec(sqlite3* db, const char* sql, std::string_view context);

// Runs a one-row, one-column integer query ("PRAGMA user_version"); 0 when it yields no row.
Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view context);

// Text and bytes as BLOB (bound SQLITE_STATIC: `bytes` must outlive the step that uses it).
inline int BindBytes(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  // A null pointer would bind NULL instead of an empty blob; an empty view may carry one.
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  return sqlite3_bind_blob64(stmt, index, data, bytes.size(), SQLITE_STATIC);
}
inline int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// A BLOB or TEXT column as bytes (empty for NULL).
inline std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

// An open write transaction (BEGIN IMMEDIATE), rolled back on destruction unless committed.
// IMMEDIATE takes the write lock up front, so a second writer waits in busy_timeout at BEGIN
// instead of failing with SQLITE_BUSY half-way, when its read lock cannot be upgraded.
class WriteTransaction {
 public:
  static Result<WriteTransaction> Begin(sqlite3* db, std::string_view context);
  WriteTransaction(WriteTransaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  WriteTransaction& operator=(WriteTransaction&&) = delete;
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  ~WriteTransaction();

  // On failure the transaction has been rolled back: nothing of it is stored.
  Result<void> Commit(std::string_view context);

 private:
  explicit WriteTransaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;  // null once committed or rolled back
};

}  // namespace utmpcd::store_internal
