// Private to src/store: one small interface over the two SQL databases the fleet store runs on
// (SQLite in process, PostgreSQL through libpq), so that the fleet store's statements are
// written once. Statements use PostgreSQL's placeholders, $1, $2, ... (SQLite reads them as
// named parameters "$1", ... and they are bound by name). Values are typed: a column of bytes
// (login record text) is BYTEA on PostgreSQL and BLOB on SQLite, compared as bytes on both.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace utmpcd::store_internal {

struct SqlValue {
  enum class Type { kNull, kInt, kText, kBytes };
  Type type = Type::kNull;
  int64_t i = 0;
  std::string s;

  static SqlValue Null() { return {}; }
  static SqlValue Int(int64_t v) { return {Type::kInt, v, {}}; }
  static SqlValue Text(std::string_view v) { return {Type::kText, 0, std::string(v)}; }
  static SqlValue Bytes(std::string_view v) { return {Type::kBytes, 0, std::string(v)}; }

  bool null() const { return type == Type::kNull; }
  // Integers of either database (a PostgreSQL bool or smallint too); 0 for NULL.
  int64_t AsInt() const { return i; }
  const std::string& AsString() const { return s; }
};
using SqlRow = std::vector<SqlValue>;
using SqlRows = std::vector<SqlRow>;

struct SqlStatement {
  std::string sql;
  std::vector<SqlValue> params;
};

class SqlDb {
 public:
  virtual ~SqlDb() = default;
  virtual bool postgres() const = 0;
  // The database as the messages name it (a path, or a URL without its password).
  virtual const std::string& name() const = 0;

  // Runs `sql` (one or more statements, no parameters, no rows), e.g. the schema.
  virtual Result<void> Exec(std::string_view sql) = 0;
  // Runs one statement (prepared once, kept for the next call with the same text).
  virtual Result<SqlRows> Query(const std::string& sql, std::span<const SqlValue> params) = 0;
  // Runs the statements in order, on PostgreSQL in one round trip (pipeline mode), and returns
  // each one's rows. The first failure fails the whole (inside a transaction, it is aborted).
  virtual Result<std::vector<SqlRows>> Pipeline(std::span<const SqlStatement> statements) = 0;

  // A write transaction: on SQLite BEGIN IMMEDIATE (the write lock up front), on PostgreSQL
  // BEGIN (READ COMMITTED; rows are locked with FOR UPDATE where it matters).
  virtual Result<void> Begin() = 0;
  virtual Result<void> Commit() = 0;
  virtual void Rollback() = 0;

  // An SQL expression of the database's clock, in microseconds since the epoch.
  virtual const char* NowUs() const = 0;
};

// Opens a SQLite file (made when missing; WAL) or connects to PostgreSQL.
Result<std::unique_ptr<SqlDb>> OpenSqlite(const std::string& path, int busy_timeout_ms);
Result<std::unique_ptr<SqlDb>> ConnectPostgres(const std::string& url,
                                               const std::string& application_name,
                                               int connect_timeout_s);

// The URL without its password ("postgresql://utmpsd:***@db/fleet"), for messages.
std::string RedactUrl(std::string_view url);

}  // namespace utmpcd::store_internal
