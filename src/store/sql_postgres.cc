// SqlDb over a PostgreSQL connection (libpq; store/sql_db_internal.h). Parameters are sent and
// results read in binary, so bytes (BYTEA) pass untouched and integers need no parsing.
// Statements are prepared once per connection; Pipeline sends many in one round trip
// (libpq's pipeline mode).
#include <arpa/inet.h>
#include <libpq-fe.h>

#include <cstring>
#include <map>
#include <optional>

#include "store/sql_db_internal.h"

namespace utmpcd::store_internal {
namespace {

// pg_type OIDs (catalog/pg_type.dat).
constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
              kVarchar = 1043, kName = 19;

// Sent before each Sync, so that the results waiting in the socket never fill it while
// statements are still being written (libpq's pipeline deadlock, in blocking mode).
constexpr size_t kPipelineChunk = 200;
// Prepared statements kept a connection (then all are deallocated and prepared again).
constexpr size_t kMaxPrepared = 1024;

// libpq's messages end in a newline and may run over several lines ("...\n\tThis probably
// means..."): one line, for the log.
std::string Trim(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

ErrorCode CodeOf(const PGresult* res) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (state == nullptr) return ErrorCode::kIo;
  std::string_view s(state);
  if (s == "23505" || s == "40001" || s == "40P01") return ErrorCode::kConflict;
  if (s.starts_with("22") || s.starts_with("23") || s.starts_with("42"))
    return ErrorCode::kInvalidArgument;
  return ErrorCode::kIo;
}

int64_t ReadBigEndian(const char* p, int len) {
  uint64_t v = 0;
  for (int i = 0; i < len; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  // Sign-extend the narrower integers.
  if (len < 8 && len > 0 && (static_cast<unsigned char>(p[0]) & 0x80) != 0)
    v |= ~uint64_t{0} << (8 * len);
  return static_cast<int64_t>(v);
}

class PostgresDb final : public SqlDb {
 public:
  PostgresDb(std::string name, PGconn* conn) : name_(std::move(name)), conn_(conn) {}
  ~PostgresDb() override { PQfinish(conn_); }

  bool postgres() const override { return true; }
  const std::string& name() const override { return name_; }
  const char* NowUs() const override {
    return "(extract(epoch from clock_timestamp()) * 1000000)::bigint";
  }

  Result<void> Exec(std::string_view sql) override {
    std::string text(sql);
    PGresult* res = PQexec(conn_, text.c_str());
    auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return Fail(res, "");
    PQclear(res);
    return {};
  }

  Result<SqlRows> Query(const std::string& sql, std::span<const SqlValue> params) override {
    SqlStatement one{sql, {params.begin(), params.end()}};
    auto rows = Pipeline(std::span<const SqlStatement>(&one, 1));
    if (!rows) return tl::unexpected(rows.error());
    return std::move(rows->front());
  }

  Result<std::vector<SqlRows>> Pipeline(std::span<const SqlStatement> statements) override {
    std::vector<SqlRows> out;
    out.reserve(statements.size());
    for (size_t start = 0; start < statements.size(); start += kPipelineChunk) {
      auto chunk = statements.subspan(start, std::min(kPipelineChunk, statements.size() - start));
      auto done = RunChunk(chunk, out);
      if (!done) return tl::unexpected(done.error());
    }
    return out;
  }

  Result<void> Begin() override { return Exec("BEGIN"); }
  Result<void> Commit() override { return Exec("COMMIT"); }
  void Rollback() override {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) (void)Exec("ROLLBACK");
  }

 private:
  struct Encoded {
    std::vector<Oid> types;
    std::vector<std::string> storage;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
  };

  static Encoded Encode(std::span<const SqlValue> params) {
    Encoded e;
    size_t n = params.size();
    e.types.resize(n);
    e.storage.resize(n);
    e.values.resize(n);
    e.lengths.resize(n);
    e.formats.assign(n, 1);
    for (size_t i = 0; i < n; ++i) {
      const SqlValue& v = params[i];
      switch (v.type) {
        case SqlValue::Type::kNull:
          // The one nullable parameter the fleet store has is a time (int8): typed so that a
          // NULL makes no statement of its own.
          e.types[i] = kInt8;
          e.values[i] = nullptr;
          continue;
        case SqlValue::Type::kInt: {
          e.types[i] = kInt8;
          uint64_t u = static_cast<uint64_t>(v.i);
          std::string b(8, '\0');
          for (int k = 7; k >= 0; --k, u >>= 8) b[static_cast<size_t>(k)] = static_cast<char>(u);
          e.storage[i] = std::move(b);
          break;
        }
        case SqlValue::Type::kText:
          e.types[i] = kText;
          e.storage[i] = v.s;
          break;
        case SqlValue::Type::kBytes:
          e.types[i] = kBytea;
          e.storage[i] = v.s;
          break;
      }
      e.lengths[i] = static_cast<int>(e.storage[i].size());
    }
    for (size_t i = 0; i < n; ++i)
      if (params[i].type != SqlValue::Type::kNull) e.values[i] = e.storage[i].data();
    return e;
  }

  // The name of `sql` prepared on this connection with the types of `params`.
  Result<std::string> Prepared(const std::string& sql, std::span<const SqlValue> params) {
    std::string key = sql;
    for (const SqlValue& v : params) {
      auto type = v.type == SqlValue::Type::kNull ? SqlValue::Type::kInt : v.type;
      key += static_cast<char>('0' + static_cast<int>(type));
    }
    auto it = prepared_.find(key);
    if (it != prepared_.end()) return it->second;
    std::string name = "u" + std::to_string(++statement_count_);
    Encoded e = Encode(params);
    PGresult* res = PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(params.size()),
                              e.types.data());
    if (PQresultStatus(res) != PGRES_COMMAND_OK) return tl::unexpected(Describe(res, sql));
    PQclear(res);
    prepared_.emplace(std::move(key), name);
    return name;
  }

  Result<void> RunChunk(std::span<const SqlStatement> chunk, std::vector<SqlRows>& out) {
    // Room for the whole chunk first: a statement deallocated while its chunk is being named
    // would not exist when the chunk runs.
    if (prepared_.size() + chunk.size() > kMaxPrepared) {
      auto cleared = Exec("DEALLOCATE ALL");
      if (!cleared) return tl::unexpected(cleared.error());
      prepared_.clear();
    }
    std::vector<std::string> names;
    names.reserve(chunk.size());
    for (const SqlStatement& s : chunk) {
      auto name = Prepared(s.sql, s.params);
      if (!name) return tl::unexpected(name.error());
      names.push_back(std::move(*name));
    }
    if (PQenterPipelineMode(conn_) != 1) return tl::unexpected(Describe(nullptr, "pipeline"));
    for (size_t i = 0; i < chunk.size(); ++i) {
      Encoded e = Encode(chunk[i].params);
      if (PQsendQueryPrepared(conn_, names[i].c_str(), static_cast<int>(e.values.size()),
                              e.values.data(), e.lengths.data(), e.formats.data(), 1) != 1) {
        utmpcd::Error error = Describe(nullptr, chunk[i].sql);
        Drain();
        return tl::unexpected(error);
      }
    }
    if (PQpipelineSync(conn_) != 1) {
      utmpcd::Error error = Describe(nullptr, "sync");
      Drain();
      return tl::unexpected(error);
    }
    std::optional<utmpcd::Error> first;
    for (size_t i = 0; i < chunk.size(); ++i) {
      PGresult* res = PQgetResult(conn_);
      if (res == nullptr) {
        if (!first) first = Describe(nullptr, chunk[i].sql);
        break;
      }
      auto status = PQresultStatus(res);
      if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
        if (!first) out.push_back(Rows(res));
      } else if (!first) {
        first = Describe(res, status == PGRES_PIPELINE_ABORTED ? "" : chunk[i].sql);
      }
      PQclear(res);
      PGresult* end = PQgetResult(conn_);  // the NULL that ends each statement's results
      if (end != nullptr) PQclear(end);
    }
    Drain();
    if (first) return tl::unexpected(*first);
    return {};
  }

  // Reads what is left up to the Sync, and leaves pipeline mode.
  void Drain() {
    for (int guard = 0; guard < 100000 && PQpipelineStatus(conn_) != PQ_PIPELINE_OFF; ++guard) {
      PGresult* res = PQgetResult(conn_);
      if (res == nullptr) {
        if (PQexitPipelineMode(conn_) == 1) break;
        if (PQstatus(conn_) == CONNECTION_BAD) break;
        continue;
      }
      bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
      PQclear(res);
      if (sync && PQexitPipelineMode(conn_) == 1) break;
    }
  }

  static SqlRows Rows(const PGresult* res) {
    SqlRows rows;
    int nrows = PQntuples(res), ncols = PQnfields(res);
    rows.reserve(static_cast<size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      SqlRow row(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res, r, c)) continue;
        const char* p = PQgetvalue(res, r, c);
        int len = PQgetlength(res, r, c);
        switch (PQftype(res, c)) {
          case kBool:
          case kInt2:
          case kInt4:
          case kInt8: row[c] = SqlValue::Int(ReadBigEndian(p, len)); break;
          case kText:
          case kVarchar:
          case kName: row[c] = SqlValue::Text(std::string_view(p, static_cast<size_t>(len))); break;
          default: row[c] = SqlValue::Bytes(std::string_view(p, static_cast<size_t>(len))); break;
        }
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  utmpcd::Error Describe(PGresult* res, std::string_view sql) {
    std::string message = name_ + ": ";
    const char* text = res != nullptr ? PQresultErrorMessage(res) : "";
    if (text == nullptr || *text == '\0') text = PQerrorMessage(conn_);
    message += Trim(text);
    if (message.back() == ' ' || message.back() == ':') message += "failed";
    if (!sql.empty() && sql.size() < 200) {
      message += " (in: ";
      message += sql;
      message += ")";
    }
    ErrorCode code = CodeOf(res);
    if (PQstatus(conn_) == CONNECTION_BAD) code = ErrorCode::kIo;
    return utmpcd::Error{code, std::move(message)};
  }

  tl::unexpected<utmpcd::Error> Fail(PGresult* res, std::string_view sql) {
    utmpcd::Error e = Describe(res, sql);
    PQclear(res);
    return tl::unexpected(std::move(e));
  }

  std::string name_;
  PGconn* conn_;
  std::map<std::string, std::string> prepared_;
  int64_t statement_count_ = 0;
};

}  // namespace

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // postgresql://user:secret@host/db
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto at = out.find('@', scheme + 3);
    auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "***");
  }
  // password=secret in a key=value string or a URL's query.
  for (size_t pos = 0; (pos = out.find("password=", pos)) != std::string::npos;) {
    size_t start = pos + 9;
    size_t end = out.find_first_of(" &", start);
    if (end == std::string::npos) end = out.size();
    out.replace(start, end - start, "***");
    pos = start + 3;
  }
  return out;
}

Result<std::unique_ptr<SqlDb>> ConnectPostgres(const std::string& url,
                                               const std::string& application_name,
                                               int connect_timeout_s) {
  std::string timeout = std::to_string(connect_timeout_s);
  // A server that vanishes (a partition, a crash of its machine) is noticed within about 30 s
  // rather than TCP's 15 minutes: keepalives and a timeout on unacknowledged writes. Given
  // before the URL, which may set them otherwise.
  const char* keys[] = {"keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "connect_timeout", "dbname",
                        "application_name", nullptr};
  const char* values[] = {"1", "10", "5", "3", "30000", timeout.c_str(), url.c_str(),
                          application_name.c_str(), nullptr};
  // expand_dbname: `url` (a URI or key=value string) supplies everything it names.
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  std::string name = RedactUrl(url);
  if (conn == nullptr) return MakeError(ErrorCode::kIo, name + ": out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = name + ": " + Trim(PQerrorMessage(conn));
    PQfinish(conn);
    return MakeError(ErrorCode::kIo, std::move(message));
  }
  auto db = std::make_unique<PostgresDb>(name, conn);
  // Times are integers and text is bytes: nothing depends on the session's settings but the
  // encoding of the few TEXT columns (host names, kinds), which are ASCII or UTF-8.
  auto set = db->Exec("SET client_encoding = 'UTF8'; SET client_min_messages = warning");
  if (!set) return tl::unexpected(set.error());
  return std::unique_ptr<SqlDb>(std::move(db));
}

}  // namespace utmpcd::store_internal
