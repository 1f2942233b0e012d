// The fleet store (store/fleet_store.h): one implementation over SqlDb, so PostgreSQL and SQLite
// run the same statements on the same schema. What differs is said where it does: the DDL
// (PostgreSQL partitions the events by month, for retention by DROP), row locks (FOR UPDATE,
// SKIP LOCKED) and the clock expression.
//
// Seqs. A host numbers its events 1, 2, ... within its history. The store keeps a `base` per
// host, and stores event seq + base: when a host's history changes (its database was made
// anew), base becomes the highest seq stored for it, so the new history's events are stored
// above everything stored before and nothing is overwritten. `last_seq` is the host's own seq
// of the newest stored event: where its stream resumes.
//
// Positions. Every stored event also gets a fleet-wide position, for /v1/fleet/events: taken
// from one counter row (fleet_meta 'position') whose row lock each storing transaction holds
// until it commits, so positions are handed out in commit order and a reader that saw
// position P has seen everything below it.
#include "store/fleet_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>

#include "store/sql_db_internal.h"

namespace utmpcd {
namespace {

using store_internal::SqlDb;
using store_internal::SqlRows;
using store_internal::SqlStatement;
using store_internal::SqlValue;

constexpr int64_t kSchemaVersion = 1;

// Columns of fleet_events, in the order of every INSERT and SELECT of them.
constexpr const char* kEventColumns =
    "host, seq, host_seq, pos, time_us, kind, user_name, tty, remote_host, addr, pid, session,"
    " source, boot_id";
constexpr int kEventColumnCount = 14;
constexpr const char* kSessionColumns =
    "host, seq, boot, user_name, tty, remote_host, addr, pid, session, login_us, end_kind, end_us,"
    " changed_pos";
constexpr int kSessionColumnCount = 13;

std::string SchemaSql(bool postgres) {
  // {B}: bytes; the events' key and partitioning differ (a partitioned table's key must hold
  // the partition key; (host, seq) is unique all the same, a seq having one time).
  std::string sql = R"(
CREATE TABLE fleet_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO fleet_meta (key, value) VALUES ('position', 0);
CREATE TABLE fleet_instances (owner TEXT PRIMARY KEY, alive_until_us BIGINT NOT NULL);
CREATE TABLE fleet_hosts (
  host TEXT PRIMARY KEY,
  followed SMALLINT NOT NULL DEFAULT 1,
  history TEXT NOT NULL DEFAULT '',
  base BIGINT NOT NULL DEFAULT 0,
  last_seq BIGINT NOT NULL DEFAULT 0,
  last_event_us BIGINT NOT NULL DEFAULT 0,
  stored_at_us BIGINT NOT NULL DEFAULT 0,
  lag_ms BIGINT NOT NULL DEFAULT 0,
  owner TEXT NOT NULL DEFAULT '',
  lease_until_us BIGINT NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'new',
  state_since_us BIGINT NOT NULL DEFAULT 0,
  problem TEXT NOT NULL DEFAULT '');
CREATE TABLE fleet_events (
  host TEXT NOT NULL, seq BIGINT NOT NULL, host_seq BIGINT NOT NULL, pos BIGINT NOT NULL,
  time_us BIGINT NOT NULL, kind TEXT NOT NULL, user_name {B} NOT NULL, tty {B} NOT NULL,
  remote_host {B} NOT NULL, addr {B} NOT NULL, pid BIGINT NOT NULL, session BIGINT NOT NULL,
  source TEXT NOT NULL, boot_id TEXT NOT NULL,
  {EVENTS_KEY};
CREATE INDEX fleet_events_pos ON fleet_events (pos);
CREATE INDEX fleet_events_failed ON fleet_events (time_us) WHERE kind = 'failed';
CREATE INDEX fleet_events_failed_user ON fleet_events (user_name, time_us) WHERE kind = 'failed';
CREATE TABLE fleet_sessions (
  host TEXT NOT NULL, seq BIGINT NOT NULL, boot SMALLINT NOT NULL, user_name {B} NOT NULL,
  tty {B} NOT NULL, remote_host {B} NOT NULL, addr {B} NOT NULL, pid BIGINT NOT NULL,
  session BIGINT NOT NULL, login_us BIGINT NOT NULL, end_kind TEXT NOT NULL DEFAULT '',
  end_us BIGINT, changed_pos BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (host, seq));
CREATE INDEX fleet_sessions_changed ON fleet_sessions (changed_pos);
CREATE INDEX fleet_sessions_open ON fleet_sessions (host, login_us) WHERE end_kind = '';
CREATE INDEX fleet_sessions_open_user ON fleet_sessions (user_name) WHERE end_kind = '';
CREATE INDEX fleet_sessions_user ON fleet_sessions (user_name, login_us);
CREATE INDEX fleet_sessions_time ON fleet_sessions (login_us);
CREATE INDEX fleet_sessions_ended ON fleet_sessions (end_us) WHERE end_kind <> '';
CREATE TABLE fleet_lastlog (
  host TEXT NOT NULL, user_name {B} NOT NULL, seq BIGINT NOT NULL, time_us BIGINT NOT NULL,
  tty {B} NOT NULL, remote_host {B} NOT NULL,
  PRIMARY KEY (host, user_name));
CREATE INDEX fleet_lastlog_user ON fleet_lastlog (user_name, time_us);
INSERT INTO fleet_meta (key, value) VALUES ('schema_version', 1);
)";
  auto replace = [&](std::string_view from, std::string_view to) {
    for (size_t p = 0; (p = sql.find(from, p)) != std::string::npos; p += to.size())
      sql.replace(p, from.size(), to);
  };
  replace("{B}", postgres ? "BYTEA" : "BLOB");
  replace("{EVENTS_KEY}", postgres ? "PRIMARY KEY (host, seq, time_us)) PARTITION BY RANGE (time_us)"
                                   : "PRIMARY KEY (host, seq))");
  if (postgres) {
    // Events outside the months that get a partition of their own (see EnsurePartitions).
    sql += "CREATE TABLE fleet_events_other PARTITION OF fleet_events DEFAULT;\n";
  }
  return sql;
}

// "$1, $2, ..." for `rows` rows of `columns` values each, as a VALUES list.
std::string ValuesList(int rows, int columns) {
  std::string out;
  int n = 0;
  for (int r = 0; r < rows; ++r) {
    out += r == 0 ? "(" : ", (";
    for (int c = 0; c < columns; ++c) {
      if (c > 0) out += ", ";
      out += fmt::format("${}", ++n);
    }
    out += ")";
  }
  return out;
}

// Statements for `rows` rows of `columns` values each, in chunks of 128, 64, ... rows (a few
// statement shapes, each prepared once): sql(VALUES list) is a chunk's text, params(i, out)
// appends row i's values.
void AddRows(std::vector<SqlStatement>& out, size_t rows, int columns,
             const std::function<std::string(const std::string&)>& sql,
             const std::function<void(size_t, std::vector<SqlValue>&)>& params) {
  for (size_t i = 0; i < rows;) {
    size_t n = 128;
    while (n > rows - i) n /= 2;
    SqlStatement s;
    s.sql = sql(ValuesList(static_cast<int>(n), columns));
    s.params.reserve(n * static_cast<size_t>(columns));
    for (size_t k = i; k < i + n; ++k) params(k, s.params);
    out.push_back(std::move(s));
    i += n;
  }
}

// Pads a list of IN (...) values to a power of two by repeating its last (IN is unchanged),
// so that lists of any length make a few statement shapes, each prepared once.
void PadList(std::vector<SqlValue>& values, size_t from) {
  size_t n = values.size() - from;
  if (n == 0) return;
  size_t want = 1;
  while (want < n) want *= 2;
  SqlValue last = values.back();
  values.resize(from + want, last);
}

// "$k, $k+1, ..." for `count` parameters starting at `first`.
std::string Placeholders(int first, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ", ";
    out += fmt::format("${}", first + static_cast<int>(i));
  }
  return out;
}

std::string AddrBytes(const std::array<uint8_t, 16>& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), a.size());
}
std::array<uint8_t, 16> AddrOf(const std::string& bytes) {
  std::array<uint8_t, 16> a{};
  if (bytes.size() == a.size()) std::copy(bytes.begin(), bytes.end(), a.begin());
  return a;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The first microsecond of the month `months` after January 1970 (UTC).
int64_t MonthStartUs(int64_t months) {
  int64_t year = 1970 + (months >= 0 ? months / 12 : -((-months + 11) / 12));
  int64_t month = months - (year - 1970) * 12;  // 0..11
  std::tm tm{};
  tm.tm_year = static_cast<int>(year - 1900);
  tm.tm_mon = static_cast<int>(month);
  tm.tm_mday = 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}
int64_t MonthOf(int64_t time_us) {
  std::time_t t = static_cast<std::time_t>(time_us >= 0 ? time_us / 1000000
                                                         : (time_us - 999999) / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return (static_cast<int64_t>(tm.tm_year) + 1900 - 1970) * 12 + tm.tm_mon;
}

// The open sessions of one host while a batch is applied to them.
struct OpenEntry {
  int64_t seq = 0;
  bool boot = false;
  std::string tty;
  int64_t login_us = 0;
  int fresh = -1;  // index in the batch's new sessions, -1 for a row stored before
};

class SqlFleetStore final : public FleetStore {
 public:
  explicit SqlFleetStore(std::unique_ptr<SqlDb> db) : db_(std::move(db)) {}

  const char* kind() const override { return db_->postgres() ? "postgresql" : "sqlite"; }
  const std::string& name() const override { return db_->name(); }

  Result<void> Migrate() {
    auto has = db_->Query(db_->postgres()
                              ? "SELECT count(*) FROM pg_tables WHERE tablename = 'fleet_meta'"
                              : "SELECT count(*) FROM sqlite_master WHERE name = 'fleet_meta'",
                          {});
    if (!has) return tl::unexpected(has.error());
    if ((*has)[0][0].AsInt() == 0) {
      if (auto b = db_->Begin(); !b) return b;
      if (db_->postgres()) {
        // Two instances starting at once: one makes the schema, the other waits, then finds it.
        if (auto l = db_->Exec("SELECT pg_advisory_xact_lock(4310431)"); !l) return Abort(l);
        auto again = db_->Query("SELECT count(*) FROM pg_tables WHERE tablename = 'fleet_meta'",
                                {});
        if (!again) return Abort(again);
        if ((*again)[0][0].AsInt() != 0) {
          db_->Rollback();
          return Migrate();
        }
      }
      if (auto made = db_->Exec(SchemaSql(db_->postgres())); !made) return Abort(made);
      if (auto c = db_->Commit(); !c) return Abort(c);
    }
    auto version = db_->Query("SELECT value FROM fleet_meta WHERE key = 'schema_version'", {});
    if (!version) return tl::unexpected(version.error());
    int64_t v = version->empty() ? 0 : (*version)[0][0].AsInt();
    if (v > kSchemaVersion)
      return MakeError(ErrorCode::kUnsupported,
                       fmt::format("{}: fleet schema version {} is newer than this utmpsd knows "
                                   "({}): upgrade utmpsd",
                                   name(), v, kSchemaVersion));
    if (v < 1)
      return MakeError(ErrorCode::kCorrupt,
                       fmt::format("{}: a fleet_meta table without a schema version: not a "
                                   "utmpsd database",
                                   name()));
    // Migrations from version N to N+1 go here, each in one transaction with the version.
    return {};
  }

  Result<void> SetHosts(std::span<const std::string> hosts) override {
    auto rows = db_->Query("SELECT host, followed FROM fleet_hosts", {});
    if (!rows) return tl::unexpected(rows.error());
    std::map<std::string, bool> stored;
    for (auto& r : *rows) stored[r[0].AsString()] = r[1].AsInt() != 0;
    std::set<std::string> wanted(hosts.begin(), hosts.end());
    std::vector<SqlStatement> changes;
    for (const std::string& h : wanted) {
      auto it = stored.find(h);
      if (it == stored.end()) {
        changes.push_back({"INSERT INTO fleet_hosts (host) VALUES ($1) ON CONFLICT (host) DO "
                           "UPDATE SET followed = 1",
                           {SqlValue::Text(h)}});
      } else if (!it->second) {
        changes.push_back(
            {"UPDATE fleet_hosts SET followed = 1 WHERE host = $1", {SqlValue::Text(h)}});
      }
    }
    for (auto& [h, followed] : stored) {
      if (followed && !wanted.contains(h))
        changes.push_back({"UPDATE fleet_hosts SET followed = 0, owner = '', lease_until_us = 0 "
                           "WHERE host = $1",
                           {SqlValue::Text(h)}});
    }
    if (changes.empty()) return {};
    if (auto b = db_->Begin(); !b) return b;
    if (auto done = db_->Pipeline(changes); !done) return Abort(done);
    if (auto c = db_->Commit(); !c) return Abort(c);
    return {};
  }

  Result<std::vector<FleetHost>> Hosts() override {
    auto rows = db_->Query(
        "SELECT host, history, last_seq, base + last_seq, last_event_us, stored_at_us, owner,"
        " lease_until_us, state, state_since_us, problem, lag_ms FROM fleet_hosts WHERE"
        " followed = 1 OR history = 'rwhod' ORDER BY host",
        {});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<FleetHost> out;
    out.reserve(rows->size());
    for (auto& r : *rows) {
      FleetHost h;
      h.host = r[0].AsString();
      h.history = r[1].AsString();
      h.last_seq = r[2].AsInt();
      h.stored_seq = r[3].AsInt();
      h.last_event_us = r[4].AsInt();
      h.stored_at_us = r[5].AsInt();
      h.owner = r[6].AsString();
      h.lease_until_us = r[7].AsInt();
      h.state = r[8].AsString();
      h.state_since_us = r[9].AsInt();
      h.problem = r[10].AsString();
      h.lag_ms = r[11].AsInt();
      out.push_back(std::move(h));
    }
    return out;
  }

  Result<void> SetHostState(std::string_view host, std::string_view state,
                            std::string_view problem, int64_t since_us) override {
    auto done = db_->Query(
        "UPDATE fleet_hosts SET state = $2, problem = $3, state_since_us = CASE WHEN $4 = 0 THEN"
        " state_since_us ELSE $4 END WHERE host = $1",
        std::vector<SqlValue>{SqlValue::Text(host), SqlValue::Text(state),
                              SqlValue::Text(problem), SqlValue::Int(since_us)});
    if (!done) return tl::unexpected(done.error());
    return {};
  }

  Result<FleetStoreResult> Store(std::span<const FleetBatch> batches,
                                 std::string_view owner) override {
    FleetStoreResult result;
    std::map<std::string, std::vector<const FleetBatch*>> by_host;
    for (const FleetBatch& b : batches) by_host[b.host].push_back(&b);
    if (by_host.empty()) return result;
    if (db_->postgres()) {
      // Partitions are made in transactions of their own (DDL locks the parent table).
      if (auto made = EnsurePartitions(batches); !made) return tl::unexpected(made.error());
    }
    if (auto b = db_->Begin(); !b) return tl::unexpected(b.error());
    auto stored = StoreLocked(by_host, owner, result);
    if (!stored) {
      db_->Rollback();
      return tl::unexpected(stored.error());
    }
    if (auto c = db_->Commit(); !c) {
      db_->Rollback();
      return tl::unexpected(c.error());
    }
    return result;
  }

  Result<std::vector<std::string>> Claim(std::string_view owner, int64_t lease_ms,
                                         std::span<const std::string> known) override {
    if (auto b = db_->Begin(); !b) return tl::unexpected(b.error());
    auto held = ClaimLocked(owner, lease_ms, known);
    if (!held) {
      db_->Rollback();
      return tl::unexpected(held.error());
    }
    if (auto c = db_->Commit(); !c) {
      db_->Rollback();
      return tl::unexpected(c.error());
    }
    return held;
  }

  Result<void> Release(std::string_view owner) override {
    std::vector<SqlStatement> s{
        {"UPDATE fleet_hosts SET owner = '', lease_until_us = 0 WHERE owner = $1",
         {SqlValue::Text(owner)}},
        {"DELETE FROM fleet_instances WHERE owner = $1", {SqlValue::Text(owner)}}};
    if (auto b = db_->Begin(); !b) return b;
    if (auto done = db_->Pipeline(s); !done) return Abort(done);
    if (auto c = db_->Commit(); !c) return Abort(c);
    return {};
  }

  Result<std::vector<FleetSession>> OpenSessions(const FleetFilter& filter) override {
    std::vector<SqlValue> params;
    std::string where = "end_kind = '' AND boot = 0" + Filters(filter, "login_us", params);
    params.push_back(SqlValue::Int(filter.limit));
    auto rows = db_->Query(fmt::format("SELECT {} FROM fleet_sessions WHERE {} ORDER BY host,"
                                       " login_us, seq LIMIT ${}",
                                       kSessionColumns, where, params.size()),
                           params);
    if (!rows) return tl::unexpected(rows.error());
    return Sessions(*rows);
  }

  Result<std::vector<FleetSession>> OpenBoots() override {
    auto rows = db_->Query(fmt::format("SELECT {} FROM fleet_sessions WHERE end_kind = '' AND"
                                       " boot = 1 ORDER BY host, login_us, seq",
                                       kSessionColumns),
                           {});
    if (!rows) return tl::unexpected(rows.error());
    return Sessions(*rows);
  }

  Result<std::vector<FleetSession>> History(const FleetFilter& filter) override {
    std::vector<SqlValue> params;
    std::string where = "1 = 1" + Filters(filter, "login_us", params);
    params.push_back(SqlValue::Int(filter.limit));
    auto rows = db_->Query(fmt::format("SELECT {} FROM fleet_sessions WHERE {} ORDER BY {} LIMIT ${}",
                                       kSessionColumns, where,
                                       filter.host_order ? "seq DESC"
                                                         : "login_us DESC, host DESC, seq DESC",
                                       params.size()),
                           params);
    if (!rows) return tl::unexpected(rows.error());
    return Sessions(*rows);
  }

  Result<std::vector<FleetSession>> SessionsChangedAfter(int64_t after, int64_t limit) override {
    auto rows = db_->Query(fmt::format("SELECT {} FROM fleet_sessions WHERE changed_pos > $1 AND"
                                       " boot = 0 ORDER BY changed_pos LIMIT $2",
                                       kSessionColumns),
                           std::vector<SqlValue>{SqlValue::Int(after), SqlValue::Int(limit)});
    if (!rows) return tl::unexpected(rows.error());
    return Sessions(*rows);
  }

  Result<std::vector<FleetEvent>> Failed(const FleetFilter& filter) override {
    std::vector<SqlValue> params;
    std::string where = "kind = 'failed'" + Filters(filter, "time_us", params);
    params.push_back(SqlValue::Int(filter.limit));
    auto rows = db_->Query(fmt::format("SELECT {} FROM fleet_events WHERE {} ORDER BY {} LIMIT ${}",
                                       kEventColumns, where,
                                       filter.host_order ? "seq DESC"
                                                         : "time_us DESC, host DESC, seq DESC",
                                       params.size()),
                           params);
    if (!rows) return tl::unexpected(rows.error());
    std::vector<FleetEvent> out;
    out.reserve(rows->size());
    for (auto& r : *rows) out.push_back(EventOf(r));
    return out;
  }

  Result<std::vector<FleetLastlog>> Lastlog(const FleetFilter& filter) override {
    std::vector<SqlValue> params;
    FleetFilter f = filter;
    f.ttys.clear();
    f.before.reset();
    std::string where = "1 = 1" + Filters(f, "time_us", params);
    auto rows = db_->Query(
        fmt::format("SELECT user_name, host, tty, remote_host, time_us FROM (SELECT user_name,"
                    " host, tty, remote_host, time_us, row_number() OVER (PARTITION BY user_name"
                    " ORDER BY time_us DESC, seq DESC, host) AS n FROM fleet_lastlog WHERE {}) AS"
                    " newest WHERE n = 1 ORDER BY user_name",
                    where),
        params);
    if (!rows) return tl::unexpected(rows.error());
    std::vector<FleetLastlog> out;
    for (auto& r : *rows) {
      out.push_back({r[0].AsString(), r[1].AsString(), r[2].AsString(), r[3].AsString(),
                     r[4].AsInt()});
    }
    return out;
  }

  Result<std::vector<Positioned>> EventsAfter(int64_t after, int64_t limit) override {
    auto rows = db_->Query(fmt::format("SELECT {} FROM fleet_events WHERE pos > $1 ORDER BY pos"
                                       " LIMIT $2",
                                       kEventColumns),
                           std::vector<SqlValue>{SqlValue::Int(after), SqlValue::Int(limit)});
    if (!rows) return tl::unexpected(rows.error());
    std::vector<Positioned> out;
    out.reserve(rows->size());
    for (auto& r : *rows) out.push_back({r[3].AsInt(), EventOf(r)});
    return out;
  }

  Result<int64_t> LastPosition() override {
    auto rows = db_->Query("SELECT value FROM fleet_meta WHERE key = 'position'", {});
    if (!rows) return tl::unexpected(rows.error());
    return rows->empty() ? 0 : (*rows)[0][0].AsInt();
  }

  Result<int64_t> DropOlderThan(int64_t time_us) override {
    int64_t gone = 0;
    if (db_->postgres()) {
      // Whole months that end at or before `time_us` are dropped; the rows of the month
      // `time_us` is in stay until that month is wholly past (retention by partition).
      auto parts = db_->Query(
          "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN "
          "pg_class p ON p.oid = i.inhparent WHERE p.relname = 'fleet_events' AND c.relname "
          "LIKE 'fleet_events_m%' ORDER BY c.relname",
          {});
      if (!parts) return tl::unexpected(parts.error());
      for (auto& r : *parts) {
        const std::string& name = r[0].AsString();
        int64_t month = 0;
        try {
          month = std::stoll(name.substr(std::string_view("fleet_events_m").size()));
        } catch (...) {
          continue;
        }
        if (MonthStartUs(month + 1) > time_us) continue;
        if (auto d = db_->Exec("DROP TABLE " + name); !d) return tl::unexpected(d.error());
        partitions_.erase(month);
        ++gone;
      }
      auto other = db_->Query("DELETE FROM fleet_events_other WHERE time_us < $1",
                              std::vector<SqlValue>{SqlValue::Int(time_us)});
      if (!other) return tl::unexpected(other.error());
    } else {
      auto rows = db_->Query("DELETE FROM fleet_events WHERE time_us < $1 RETURNING 1",
                             std::vector<SqlValue>{SqlValue::Int(time_us)});
      if (!rows) return tl::unexpected(rows.error());
      gone += static_cast<int64_t>(rows->size());
    }
    // Ended sessions (open ones stay: someone is logged in).
    // (A gone session has no end time: its login's counts.)
    auto sessions = db_->Query("DELETE FROM fleet_sessions WHERE end_kind <> '' AND"
                               " coalesce(end_us, login_us) < $1",
                               std::vector<SqlValue>{SqlValue::Int(time_us)});
    if (!sessions) return tl::unexpected(sessions.error());
    return gone;
  }

 private:
  template <typename T>
  Result<void> Abort(const Result<T>& failed) {
    db_->Rollback();
    return tl::unexpected(failed.error());
  }

  // " AND ..." for the filter's lists and times, its values appended to `params`.
  static std::string Filters(const FleetFilter& f, const char* time_column,
                             std::vector<SqlValue>& params) {
    std::string sql;
    auto list = [&](const char* column, const std::vector<std::string>& values, bool bytes) {
      if (values.empty()) return;
      size_t from = params.size();
      for (const auto& v : values)
        params.push_back(bytes ? SqlValue::Bytes(v) : SqlValue::Text(v));
      PadList(params, from);
      sql += fmt::format(" AND {} IN ({})", column,
                         Placeholders(static_cast<int>(from) + 1, params.size() - from));
    };
    list("user_name", f.users, true);
    list("host", f.hosts, false);
    list("tty", f.ttys, true);
    if (f.since_us) {
      params.push_back(SqlValue::Int(*f.since_us));
      sql += fmt::format(" AND {} >= ${}", time_column, params.size());
    }
    if (f.until_us) {
      params.push_back(SqlValue::Int(*f.until_us));
      sql += fmt::format(" AND {} < ${}", time_column, params.size());
    }
    if (f.before && f.host_order) {
      params.push_back(SqlValue::Int(f.before->seq));
      sql += fmt::format(" AND seq < ${}", params.size());
    } else if (f.before) {
      params.push_back(SqlValue::Int(f.before->time_us));
      params.push_back(SqlValue::Text(f.before->hostname));
      params.push_back(SqlValue::Int(f.before->seq));
      size_t n = params.size();
      sql += fmt::format(" AND ({}, host, seq) < (${}, ${}, ${})", time_column, n - 2, n - 1, n);
    }
    return sql;
  }

  static std::vector<FleetSession> Sessions(const SqlRows& rows) {
    std::vector<FleetSession> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      FleetSession s;
      s.hostname = r[0].AsString();
      s.seq = r[1].AsInt();
      s.boot = r[2].AsInt() != 0;
      s.user = r[3].AsString();
      s.tty = r[4].AsString();
      s.remote_host = r[5].AsString();
      s.addr = AddrOf(r[6].AsString());
      s.pid = r[7].AsInt();
      s.session = r[8].AsInt();
      s.login_us = r[9].AsInt();
      s.end = r[10].AsString();
      if (!r[11].null()) s.end_us = r[11].AsInt();
      s.changed_pos = r[12].AsInt();
      out.push_back(std::move(s));
    }
    return out;
  }

  static FleetEvent EventOf(const store_internal::SqlRow& r) {
    FleetEvent f;
    f.hostname = r[0].AsString();
    f.event.seq = r[1].AsInt();
    f.host_seq = r[2].AsInt();
    f.event.time_us = r[4].AsInt();
    f.event.kind = ParseEventKind(r[5].AsString()).value_or(EventKind::kLogin);
    f.event.user = r[6].AsString();
    f.event.tty = r[7].AsString();
    f.event.remote_host = r[8].AsString();
    f.event.remote_addr = AddrOf(r[9].AsString());
    f.event.pid = static_cast<int32_t>(r[10].AsInt());
    f.event.session = r[11].AsInt();
    f.event.source = ParseEventSource(r[12].AsString()).value_or(EventSource::kImport);
    f.event.boot_id = r[13].AsString();
    return f;
  }

  // PostgreSQL: a partition for every month of the batch's events within ten years back and
  // one month ahead of now; other times go to fleet_events_other.
  Result<void> EnsurePartitions(std::span<const FleetBatch> batches) {
    int64_t now = MonthOf(NowUs());
    std::set<int64_t> months;
    for (const FleetBatch& b : batches)
      for (const Event& e : b.events) {
        int64_t m = MonthOf(e.time_us);
        if (m >= now - 120 && m <= now + 1 && !partitions_.contains(m)) months.insert(m);
      }
    for (int64_t m : months) {
      auto made = db_->Exec(fmt::format(
          "CREATE TABLE IF NOT EXISTS fleet_events_m{} PARTITION OF fleet_events FOR VALUES "
          "FROM ({}) TO ({})",
          m, MonthStartUs(m), MonthStartUs(m + 1)));
      if (!made) {
        // Rows of that month already in fleet_events_other (a clock that was ahead): they
        // stay there, and so do the month's next events.
        db_->Rollback();
      }
      partitions_.insert(m);
    }
    return {};
  }

  Result<void> StoreLocked(const std::map<std::string, std::vector<const FleetBatch*>>& by_host,
                           std::string_view owner, FleetStoreResult& result) {
    // The hosts' rows, locked until commit (another instance storing the same host waits).
    std::vector<SqlValue> names;
    for (auto& [host, _] : by_host) names.push_back(SqlValue::Text(host));
    std::vector<SqlStatement> ensure;
    for (auto& [host, list] : by_host) {
      bool followed = std::none_of(list.begin(), list.end(),
                                   [](const FleetBatch* b) { return b->unfollowed; });
      ensure.push_back({"INSERT INTO fleet_hosts (host, followed) VALUES ($1, $2) ON CONFLICT "
                        "(host) DO NOTHING",
                        {SqlValue::Text(host), SqlValue::Int(followed ? 1 : 0)}});
    }
    if (auto e = db_->Pipeline(ensure); !e) return tl::unexpected(e.error());
    PadList(names, 0);
    std::string in = Placeholders(1, names.size());
    auto rows = db_->Query(
        fmt::format("SELECT host, history, base, last_seq, owner FROM fleet_hosts WHERE host IN"
                    " ({}){}",
                    in, db_->postgres() ? " FOR UPDATE" : ""),
        names);
    if (!rows) return tl::unexpected(rows.error());
    struct HostRow {
      std::string history;
      int64_t base = 0, last_seq = 0;
      std::string owner;
    };
    std::unordered_map<std::string, HostRow> hosts;
    for (auto& r : *rows)
      hosts[r[0].AsString()] = {r[1].AsString(), r[2].AsInt(), r[3].AsInt(), r[4].AsString()};

    // The events to store: those above each host's resume point, with their store seq.
    struct Pending {
      const std::string* host;
      int64_t host_seq;
      int64_t seq;
      const Event* event;
    };
    std::vector<Pending> pending;
    std::map<std::string, HostRow> updated;
    std::map<std::string, int64_t> received;  // the oldest event's arrival, by host
    for (auto& [host, list] : by_host) {
      for (const FleetBatch* b : list)
        if (b->received_us > 0 && (!received.contains(host) || b->received_us < received[host]))
          received[host] = b->received_us;
      HostRow row = hosts[host];
      if (!owner.empty() && row.owner != owner) {
        result.not_owned.push_back(host);
        continue;
      }
      bool changed = false;
      for (const FleetBatch* b : list) {
        if (b->rebase_to && *b->rebase_to >= 0 && *b->rebase_to < row.last_seq) {
          // Seqs that went back in the same history: the host's next event (rebase_to + 1)
          // is stored after the newest stored.
          row.base += row.last_seq - *b->rebase_to;
          row.last_seq = *b->rebase_to;
          changed = true;
        }
        if (!b->history.empty() && b->history != row.history) {
          if (!row.history.empty()) {
            // Another history of this host: its seqs start anew above what is stored.
            row.base += row.last_seq;
            row.last_seq = 0;
          }
          row.history = b->history;
          changed = true;
        }
        for (const Event& e : b->events) {
          if (e.seq <= row.last_seq) {
            ++result.skipped;
            continue;
          }
          row.last_seq = e.seq;
          pending.push_back({&host, e.seq, e.seq + row.base, &e});
          changed = true;
        }
      }
      if (changed) updated[host] = row;
    }
    if (pending.empty() && updated.empty()) return {};

    // Fleet positions, in commit order: the counter row stays locked until commit.
    int64_t first_pos = 0;
    if (!pending.empty()) {
      auto pos = db_->Query(
          "UPDATE fleet_meta SET value = value + $1 WHERE key = 'position' RETURNING value",
          std::vector<SqlValue>{SqlValue::Int(static_cast<int64_t>(pending.size()))});
      if (!pos) return tl::unexpected(pos.error());
      if (pos->empty()) return MakeError(ErrorCode::kCorrupt, name() + ": no position counter");
      first_pos = (*pos)[0][0].AsInt() - static_cast<int64_t>(pending.size()) + 1;
    }

    // The open sessions of these hosts.
    std::map<std::string, std::vector<OpenEntry>> open;
    if (!pending.empty()) {
      std::vector<SqlValue> with_events;
      for (auto& [host, row] : updated) with_events.push_back(SqlValue::Text(host));
      PadList(with_events, 0);
      auto o = db_->Query(fmt::format("SELECT host, seq, boot, tty, login_us FROM fleet_sessions"
                                      " WHERE end_kind = '' AND host IN ({}) ORDER BY host, seq",
                                      Placeholders(1, with_events.size())),
                          with_events);
      if (!o) return tl::unexpected(o.error());
      for (auto& r : *o)
        open[r[0].AsString()].push_back(
            {r[1].AsInt(), r[2].AsInt() != 0, r[3].AsString(), r[4].AsInt(), -1});
    }

    std::vector<SqlStatement> statements;
    std::vector<FleetSession> fresh;  // sessions opened by this batch
    struct Ended {
      std::string host;
      int64_t seq;
      std::string end;
      std::optional<int64_t> end_us;
    };
    std::vector<Ended> ended;  // stored sessions this batch ends
    struct Newest {
      int64_t seq, time_us;
      std::string tty, remote_host;
    };
    std::map<std::pair<std::string, std::string>, Newest> lastlog;

    auto close = [&](const std::string& host, OpenEntry& entry, const char* end,
                     std::optional<int64_t> end_us) {
      if (entry.fresh >= 0) {
        fresh[static_cast<size_t>(entry.fresh)].end = end;
        fresh[static_cast<size_t>(entry.fresh)].end_us = end_us;
      } else {
        ended.push_back({host, entry.seq, end, end_us});
      }
    };
    for (const Pending& p : pending) {
      const Event& e = *p.event;
      auto& entries = open[*p.host];
      auto close_where = [&](auto pred, const char* end, std::optional<int64_t> end_us) {
        std::erase_if(entries, [&](OpenEntry& entry) {
          if (!pred(entry)) return false;
          close(*p.host, entry, end, end_us);
          return true;
        });
      };
      auto on_line = [&](const OpenEntry& entry) { return !entry.boot && entry.tty == e.tty; };
      switch (e.kind) {
        case EventKind::kLogin:
        case EventKind::kBoot: {
          bool boot = e.kind == EventKind::kBoot;
          if (boot) {
            // A boot ends every session of the boot before: a crash, as `last` says when no
            // shutdown came first; the boot before ends as a boot.
            close_where([](const OpenEntry& x) { return !x.boot; }, "crash", e.time_us);
            close_where([](const OpenEntry& x) { return x.boot; }, "boot", e.time_us);
          } else {
            close_where(on_line, "logout", e.time_us);
            auto& newest = lastlog[{*p.host, e.user}];
            if (p.seq >= newest.seq) newest = {p.seq, e.time_us, e.tty, e.remote_host};
          }
          FleetSession s;
          s.hostname = *p.host;
          s.seq = p.seq;
          s.boot = boot;
          s.user = boot ? "reboot" : e.user;
          s.tty = boot ? "system boot" : e.tty;
          s.remote_host = e.remote_host;
          s.addr = e.remote_addr;
          s.pid = e.pid;
          s.session = e.session;
          s.login_us = e.time_us;
          entries.push_back({p.seq, boot, s.tty, e.time_us, static_cast<int>(fresh.size())});
          fresh.push_back(std::move(s));
          break;
        }
        case EventKind::kLogout: close_where(on_line, "logout", e.time_us); break;
        case EventKind::kGone: close_where(on_line, "gone", std::nullopt); break;
        case EventKind::kShutdown:
          close_where([](const OpenEntry& x) { return !x.boot; }, "down", e.time_us);
          close_where([](const OpenEntry& x) { return x.boot; }, "boot", e.time_us);
          break;
        case EventKind::kFailed:
        case EventKind::kRunlevel:
        case EventKind::kClock: break;
      }
    }

    // Sessions opened or ended by this batch carry its last position (SessionsChangedAfter).
    const int64_t last_pos = first_pos + static_cast<int64_t>(pending.size()) - 1;
    // The events, in multi-row INSERTs of 128, 64, ... rows (a few statement shapes).
    for (size_t i = 0; i < pending.size();) {
      size_t n = 128;
      while (n > pending.size() - i) n /= 2;
      SqlStatement s;
      s.sql = fmt::format("INSERT INTO fleet_events ({}) VALUES {}", kEventColumns,
                          ValuesList(static_cast<int>(n), kEventColumnCount));
      s.params.reserve(n * kEventColumnCount);
      for (size_t k = i; k < i + n; ++k) {
        const Pending& p = pending[k];
        const Event& e = *p.event;
        s.params.push_back(SqlValue::Text(*p.host));
        s.params.push_back(SqlValue::Int(p.seq));
        s.params.push_back(SqlValue::Int(p.host_seq));
        s.params.push_back(SqlValue::Int(first_pos + static_cast<int64_t>(k)));
        s.params.push_back(SqlValue::Int(e.time_us));
        s.params.push_back(SqlValue::Text(EventKindName(e.kind)));
        s.params.push_back(SqlValue::Bytes(e.user));
        s.params.push_back(SqlValue::Bytes(e.tty));
        s.params.push_back(SqlValue::Bytes(e.remote_host));
        s.params.push_back(SqlValue::Bytes(AddrBytes(e.remote_addr)));
        s.params.push_back(SqlValue::Int(e.pid));
        s.params.push_back(SqlValue::Int(e.session));
        s.params.push_back(SqlValue::Text(EventSourceName(e.source)));
        s.params.push_back(SqlValue::Text(e.boot_id));
      }
      statements.push_back(std::move(s));
      i += n;
    }
    for (size_t i = 0; i < fresh.size();) {
      size_t n = 64;
      while (n > fresh.size() - i) n /= 2;
      SqlStatement s;
      s.sql = fmt::format("INSERT INTO fleet_sessions ({}) VALUES {}", kSessionColumns,
                          ValuesList(static_cast<int>(n), kSessionColumnCount));
      for (size_t k = i; k < i + n; ++k) {
        const FleetSession& f = fresh[k];
        s.params.push_back(SqlValue::Text(f.hostname));
        s.params.push_back(SqlValue::Int(f.seq));
        s.params.push_back(SqlValue::Int(f.boot ? 1 : 0));
        s.params.push_back(SqlValue::Bytes(f.user));
        s.params.push_back(SqlValue::Bytes(f.tty));
        s.params.push_back(SqlValue::Bytes(f.remote_host));
        s.params.push_back(SqlValue::Bytes(AddrBytes(f.addr)));
        s.params.push_back(SqlValue::Int(f.pid));
        s.params.push_back(SqlValue::Int(f.session));
        s.params.push_back(SqlValue::Int(f.login_us));
        s.params.push_back(SqlValue::Text(f.end));
        s.params.push_back(f.end_us ? SqlValue::Int(*f.end_us) : SqlValue::Null());
        s.params.push_back(SqlValue::Int(last_pos));
      }
      statements.push_back(std::move(s));
      i += n;
    }
    // A statement a session ended: a lookup by its key each. (One UPDATE ... FROM (VALUES)
    // of many is planned as a scan of the whole table once it is prepared: half the rate.)
    for (const Ended& x : ended) {
      statements.push_back(
          {"UPDATE fleet_sessions SET end_kind = $3, end_us = $4, changed_pos = $5 WHERE host = $1"
           " AND seq = $2",
           {SqlValue::Text(x.host), SqlValue::Int(x.seq), SqlValue::Text(x.end),
            x.end_us ? SqlValue::Int(*x.end_us) : SqlValue::Null(), SqlValue::Int(last_pos)}});
    }
    // The users' newest logins and the hosts' rows in multi-row statements (an upsert finds
    // its row by the key; the hosts are few).
    std::vector<std::pair<const std::pair<std::string, std::string>*, const Newest*>> newest;
    for (auto& [key, n] : lastlog) newest.emplace_back(&key, &n);
    AddRows(statements, newest.size(), 6,
            [](const std::string& values) {
              return "INSERT INTO fleet_lastlog (host, user_name, seq, time_us, tty, remote_host)"
                     " VALUES " + values +
                     " ON CONFLICT (host, user_name) DO UPDATE SET seq = excluded.seq, time_us ="
                     " excluded.time_us, tty = excluded.tty, remote_host = excluded.remote_host"
                     " WHERE excluded.seq > fleet_lastlog.seq";
            },
            [&](size_t i, std::vector<SqlValue>& out) {
              const auto& [key, n] = newest[i];
              out.push_back(SqlValue::Text(key->first));
              out.push_back(SqlValue::Bytes(key->second));
              out.push_back(SqlValue::Int(n->seq));
              out.push_back(SqlValue::Int(n->time_us));
              out.push_back(SqlValue::Bytes(n->tty));
              out.push_back(SqlValue::Bytes(n->remote_host));
            });
    std::map<std::string, int64_t> last_time;
    for (const Pending& p : pending) last_time[*p.host] = p.event->time_us;
    std::vector<std::pair<const std::string*, const HostRow*>> rows_to_update;
    for (auto& [host, row] : updated) rows_to_update.emplace_back(&host, &row);
    const std::string now = db_->NowUs();
    const int64_t local_now = NowUs();
    AddRows(statements, rows_to_update.size(), 6,
            [&now](const std::string& values) {
              return "UPDATE fleet_hosts SET history = v.column2, base = v.column3, last_seq ="
                     " v.column4, last_event_us = CASE WHEN v.column5 = 0 THEN"
                     " fleet_hosts.last_event_us ELSE v.column5 END, stored_at_us = " + now +
                     ", lag_ms = v.column6 FROM (VALUES " + values +
                     ") AS v WHERE fleet_hosts.host = v.column1";
            },
            [&](size_t i, std::vector<SqlValue>& out) {
              const auto& [host, row] = rows_to_update[i];
              auto t = last_time.find(*host);
              out.push_back(SqlValue::Text(*host));
              out.push_back(SqlValue::Text(row->history));
              out.push_back(SqlValue::Int(row->base));
              out.push_back(SqlValue::Int(row->last_seq));
              out.push_back(SqlValue::Int(t == last_time.end() ? 0 : t->second));
              auto r = received.find(*host);
              out.push_back(SqlValue::Int(
                  r == received.end() ? 0 : std::max<int64_t>(0, (local_now - r->second) / 1000)));
            });
    auto done = db_->Pipeline(statements);
    if (!done) return tl::unexpected(done.error());
    result.stored = static_cast<int64_t>(pending.size());
    for (const Pending& p : pending) ++result.stored_by_kind[p.event->kind];
    return {};
  }

  Result<std::vector<std::string>> ClaimLocked(std::string_view owner, int64_t lease_ms,
                                               std::span<const std::string> known) {
    std::string now = db_->NowUs();
    SqlValue me = SqlValue::Text(owner);
    SqlValue lease = SqlValue::Int(lease_ms * 1000);
    std::vector<SqlStatement> first{
        {fmt::format("INSERT INTO fleet_instances (owner, alive_until_us) VALUES ($1, {0} + $2)"
                     " ON CONFLICT (owner) DO UPDATE SET alive_until_us = excluded.alive_until_us",
                     now),
         {me, lease}},
        {fmt::format("DELETE FROM fleet_instances WHERE alive_until_us < {}", now), {}},
        {"UPDATE fleet_hosts SET owner = '', lease_until_us = 0 WHERE owner = $1 AND followed = 0",
         {me}},
        {fmt::format("UPDATE fleet_hosts SET lease_until_us = {} + $2 WHERE owner = $1 RETURNING"
                     " host",
                     now),
         {me, lease}},
        {"SELECT count(*) FROM fleet_hosts WHERE followed = 1", {}},
        {"SELECT count(*) FROM fleet_instances", {}},
    };
    auto r = db_->Pipeline(first);
    if (!r) return tl::unexpected(r.error());
    std::vector<std::string> held;
    for (auto& row : (*r)[3]) held.push_back(row[0].AsString());
    int64_t hosts = (*r)[4][0][0].AsInt();
    int64_t instances = std::max<int64_t>(1, (*r)[5][0][0].AsInt());
    int64_t share = (hosts + instances - 1) / instances;
    auto count = static_cast<int64_t>(held.size());
    if (count > share) {
      // Too many: give the newest-named back, so a new instance gets its share.
      std::sort(held.begin(), held.end());
      std::vector<SqlStatement> give;
      for (int64_t i = share; i < count; ++i)
        give.push_back({"UPDATE fleet_hosts SET owner = '', lease_until_us = 0 WHERE host = $1"
                        " AND owner = $2",
                        {SqlValue::Text(held[static_cast<size_t>(i)]), me}});
      if (auto g = db_->Pipeline(give); !g) return tl::unexpected(g.error());
      held.resize(static_cast<size_t>(share));
    } else if (count < share) {
      auto taken = db_->Query(
          fmt::format("UPDATE fleet_hosts SET owner = $1, lease_until_us = {0} + $2 WHERE host IN"
                      " (SELECT host FROM fleet_hosts WHERE followed = 1 AND (owner = '' OR"
                      " lease_until_us < {0}) ORDER BY host LIMIT $3{1}) RETURNING host",
                      now, db_->postgres() ? " FOR UPDATE SKIP LOCKED" : ""),
          std::vector<SqlValue>{me, lease, SqlValue::Int(share - count)});
      if (!taken) return tl::unexpected(taken.error());
      for (auto& row : *taken) held.push_back(row[0].AsString());
    }
    // Hosts this instance does not know (another instance's newer configuration, not yet
    // reloaded here) go back at once, for an instance that knows them.
    std::set<std::string> knows(known.begin(), known.end());
    std::vector<SqlStatement> unknown;
    std::erase_if(held, [&](const std::string& h) {
      if (knows.contains(h)) return false;
      unknown.push_back({"UPDATE fleet_hosts SET owner = '', lease_until_us = 0 WHERE host = $1"
                         " AND owner = $2",
                         {SqlValue::Text(h), me}});
      return true;
    });
    if (!unknown.empty()) {
      if (auto g = db_->Pipeline(unknown); !g) return tl::unexpected(g.error());
    }
    std::sort(held.begin(), held.end());
    return held;
  }

  std::unique_ptr<SqlDb> db_;
  std::set<int64_t> partitions_;  // months whose partition exists (PostgreSQL)
};

bool IsPostgresUrl(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://") ||
         url.starts_with("host=") || url.starts_with("dbname=") ||
         url.starts_with("service=");
}

}  // namespace

Result<std::unique_ptr<FleetStore>> FleetStore::Open(const std::string& url,
                                                     const FleetStoreOptions& options) {
  Result<std::unique_ptr<SqlDb>> db =
      IsPostgresUrl(url)
          ? store_internal::ConnectPostgres(url, options.application_name,
                                            options.connect_timeout_s)
          : store_internal::OpenSqlite(url, options.busy_timeout_ms);
  if (!db) return tl::unexpected(db.error());
  auto store = std::make_unique<SqlFleetStore>(std::move(*db));
  if (auto migrated = store->Migrate(); !migrated) return tl::unexpected(migrated.error());
  return std::unique_ptr<FleetStore>(std::move(store));
}

}  // namespace utmpcd
