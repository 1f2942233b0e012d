// SqlDb over a SQLite file (store/sql_db_internal.h).
#include <map>

#include "store/sql_db_internal.h"
#include "store/sqlite_util_internal.h"

namespace utmpcd::store_internal {
namespace {

class SqliteDb final : public SqlDb {
 public:
  SqliteDb(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  ~SqliteDb() override {
    statements_.clear();
    sqlite3_close_v2(db_);
  }

  bool postgres() const override { return false; }
  const std::string& name() const override { return path_; }
  const char* NowUs() const override {
    return "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)";
  }

  Result<void> Exec(std::string_view sql) override {
    std::string text(sql);
    return store_internal::Exec(db_, text.c_str(), path_);
  }

  Result<SqlRows> Query(const std::string& sql, std::span<const SqlValue> params) override {
    auto stmt = Cached(sql);
    if (!stmt) return tl::unexpected(stmt.error());
    ScopedReset reset(*stmt);
    for (size_t i = 0; i < params.size(); ++i) {
      std::string name = "$" + std::to_string(i + 1);
      int index = sqlite3_bind_parameter_index(*stmt, name.c_str());
      if (index == 0) continue;  // a parameter the statement does not use
      const SqlValue& v = params[i];
      int rc = SQLITE_OK;
      switch (v.type) {
        case SqlValue::Type::kNull: rc = sqlite3_bind_null(*stmt, index); break;
        case SqlValue::Type::kInt: rc = sqlite3_bind_int64(*stmt, index, v.i); break;
        case SqlValue::Type::kText: rc = BindText(*stmt, index, v.s); break;
        case SqlValue::Type::kBytes: rc = BindBytes(*stmt, index, v.s); break;
      }
      if (rc != SQLITE_OK) return tl::unexpected(SqliteError(db_, rc, path_));
    }
    SqlRows rows;
    for (;;) {
      int rc = sqlite3_step(*stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return tl::unexpected(SqliteError(db_, rc, path_));
      int n = sqlite3_column_count(*stmt);
      SqlRow row(static_cast<size_t>(n));
      for (int c = 0; c < n; ++c) {
        switch (sqlite3_column_type(*stmt, c)) {
          case SQLITE_NULL: break;
          case SQLITE_INTEGER:
          case SQLITE_FLOAT: row[c] = SqlValue::Int(sqlite3_column_int64(*stmt, c)); break;
          case SQLITE_TEXT: row[c] = SqlValue::Text(ColumnBytes(*stmt, c)); break;
          default: row[c] = SqlValue::Bytes(ColumnBytes(*stmt, c)); break;
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<std::vector<SqlRows>> Pipeline(std::span<const SqlStatement> statements) override {
    std::vector<SqlRows> out;
    out.reserve(statements.size());
    for (const SqlStatement& s : statements) {
      auto rows = Query(s.sql, s.params);
      if (!rows) return tl::unexpected(rows.error());
      out.push_back(std::move(*rows));
    }
    return out;
  }

  Result<void> Begin() override { return Exec("BEGIN IMMEDIATE"); }
  Result<void> Commit() override { return Exec("COMMIT"); }
  void Rollback() override {
    if (!sqlite3_get_autocommit(db_)) (void)Exec("ROLLBACK");
  }

 private:
  Result<sqlite3_stmt*> Cached(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second.get();
    // Statements with a list of values are made per length: keep a bounded number.
    if (statements_.size() > 256) statements_.clear();
    auto stmt = Prepare(db_, sql, path_);
    if (!stmt) return tl::unexpected(stmt.error());
    sqlite3_stmt* raw = stmt->get();
    statements_.emplace(sql, std::move(*stmt));
    return raw;
  }

  std::string path_;
  sqlite3* db_;
  std::map<std::string, Statement> statements_;
};

}  // namespace

Result<std::unique_ptr<SqlDb>> OpenSqlite(const std::string& path, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(db, rc, path + ": open");
    sqlite3_close_v2(db);
    return tl::unexpected(e);
  }
  auto out = std::make_unique<SqliteDb>(path, db);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  auto wal = out->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                       " PRAGMA foreign_keys = OFF");
  if (!wal) return tl::unexpected(wal.error());
  return std::unique_ptr<SqlDb>(std::move(out));
}

}  // namespace utmpcd::store_internal
