#include "sources/wtmpdb_follower.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <set>
#include <tuple>
#include <utility>

#include "formats/wtmpdb.h"

namespace utmpcd {
namespace {

using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

Error SqlError(sqlite3* db, const std::string& path, const char* what) {
  return Error{ErrorCode::kIo, fmt::format("{}: {}: {}", path, what, sqlite3_errmsg(db))};
}

Result<Statement> Prepare(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return tl::unexpected(SqlError(db, path, "not a wtmpdb database"));
  }
  return Statement(stmt, &sqlite3_finalize);
}

// A time of the database as an event's: a whole number of microseconds that fits.
std::optional<int64_t> TimeUs(uint64_t value, bool valid) {
  if (!valid || value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(value);
}

bool IsBoot(const WtmpdbRow& row) { return row.type == kWtmpdbBootTime; }

Event StartOf(const WtmpdbRow& row, int64_t login_us) {
  Event e;
  e.time_us = login_us;
  e.kind = IsBoot(row) ? EventKind::kBoot : EventKind::kLogin;
  e.user = row.user;
  e.tty = row.tty.value_or("");
  e.remote_host = row.host.value_or("");
  if (!IsBoot(row)) e.remote_addr = RemoteAddrOf(e.remote_host);
  e.session = row.id;
  e.source = EventSource::kWtmpdb;
  return e;
}

// A row's end as a wtmp record would have told it: a logout names the line only; a boot's end
// is the host's shutdown ("shutdown" on "~~", the kernel release as host, as util-linux
// writes it). Never before the row's start, so that the pair stays in order.
Event EndOf(const WtmpdbRow& row, int64_t login_us, int64_t logout_us) {
  Event e;
  e.time_us = std::max(login_us, logout_us);
  e.session = row.id;
  e.source = EventSource::kWtmpdb;
  if (IsBoot(row)) {
    e.kind = EventKind::kShutdown;
    e.user = "shutdown";
    e.tty = "~~";
    e.remote_host = row.host.value_or("");
  } else {
    e.kind = EventKind::kLogout;
    e.tty = row.tty.value_or("");
  }
  return e;
}

// Ends a read transaction however the poll leaves.
struct ReadTransaction {
  sqlite3* db;
  ~ReadTransaction() { sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr); }
};

}  // namespace

WtmpdbFollower::WtmpdbFollower(std::string path, std::optional<WtmpdbCursor> start,
                               std::vector<int64_t> open, int64_t boot_time_us,
                               size_t max_batch_rows)
    : path_(std::move(path)),
      cursor_(start.value_or(WtmpdbCursor{})),
      boot_time_us_(boot_time_us),
      max_batch_rows_(std::max<size_t>(1, max_batch_rows)) {
  for (int64_t id : open) open_.emplace(id, cursor_.open_since_us);
}

WtmpdbFollower::~WtmpdbFollower() { CloseDatabase(); }

std::vector<int64_t> WtmpdbFollower::open() const {
  std::vector<int64_t> ids;
  ids.reserve(open_.size());
  for (const auto& [id, login] : open_) ids.push_back(id);
  return ids;
}

void WtmpdbFollower::CloseDatabase() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Result<void> WtmpdbFollower::OpenDatabase(uint64_t device, uint64_t inode) {
  CloseDatabase();
  int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Error error = SqlError(db_, path_, "cannot open");
    CloseDatabase();
    return tl::unexpected(error);
  }
  // A writer's lock is waited for as wtmpdb itself waits, never forced.
  sqlite3_busy_timeout(db_, 5000);
  db_device_ = device;
  db_inode_ = inode;
  return {};
}

Result<WtmpdbBatch> WtmpdbFollower::Poll() {
  WtmpdbBatch batch;
  // Worked on copies: a poll that fails consumes nothing.
  OpenRows open = open_;
  WtmpdbCursor cursor = cursor_;
  if (auto ok = PollIn(batch, open, cursor); !ok) {
    CloseDatabase();  // opened anew next time (a file replaced, a lock that did not end)
    return tl::unexpected(ok.error());
  }
  open_ = std::move(open);
  cursor_ = cursor;
  batch.cursor = cursor;
  return batch;
}

Result<void> WtmpdbFollower::PollIn(WtmpdbBatch& batch, OpenRows& open, WtmpdbCursor& cursor) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      CloseDatabase();
      batch.missing = true;
      return {};
    }
    return tl::unexpected(ErrnoError(path_, errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, path_ + ": not a regular file");
  }
  const auto device = static_cast<uint64_t>(st.st_dev);
  const auto inode = static_cast<uint64_t>(st.st_ino);
  if (db_ == nullptr || device != db_device_ || inode != db_inode_) {
    if (auto opened = OpenDatabase(device, inode); !opened) return opened;
  }
  const bool same_file = cursor.device == device && cursor.inode == inode;
  const bool was_read = cursor.device != 0 || cursor.inode != 0;
  cursor.device = device;
  cursor.inode = inode;

  if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return tl::unexpected(SqlError(db_, path_, "cannot read"));
  }
  ReadTransaction transaction{db_};

  // A file with no table yet (created, its first row not yet written): nothing to read. One
  // with tables but not wtmpdb's is another program's: an error, said.
  {
    auto tables = Prepare(db_, path_,
                          "SELECT count(*), count(CASE name WHEN 'wtmp' THEN 1 END) FROM "
                          "sqlite_master WHERE type = 'table'");
    if (!tables) return tl::unexpected(tables.error());
    if (sqlite3_step(tables->get()) != SQLITE_ROW) {
      return tl::unexpected(SqlError(db_, path_, "cannot read"));
    }
    if (sqlite3_column_int64(tables->get(), 0) == 0) return {};
    if (sqlite3_column_int64(tables->get(), 1) == 0) {
      return MakeError(ErrorCode::kIo, path_ + ": not a wtmpdb database (no table wtmp)");
    }
  }

  // Which database is this? The cursor's row, still there with its Login, says the same rows
  // under the same numbers, whatever the file (moved, copied, restored). wtmpdb's IDs are
  // rowids without AUTOINCREMENT: a table emptied (rotate moved every row away), or a new file
  // (logrotate), numbers anew from 1; rows deleted below the cursor's (rotate) change nothing.
  int64_t from_id = cursor.last_id;
  std::optional<int64_t> after_login;  // only rows logged in after it, once renumbered
  if (cursor.last_id > 0) {
    auto same = Prepare(db_, path_, "SELECT Login, (SELECT max(ID) FROM wtmp) FROM wtmp "
                                    "WHERE ID = ?1 UNION ALL SELECT NULL, max(ID) FROM wtmp");
    if (!same) return tl::unexpected(same.error());
    sqlite3_bind_int64(same->get(), 1, cursor.last_id);
    int rc = sqlite3_step(same->get());
    if (rc != SQLITE_ROW) return tl::unexpected(SqlError(db_, path_, "cannot read"));
    const bool present = sqlite3_column_type(same->get(), 0) != SQLITE_NULL;
    const int64_t login = sqlite3_column_int64(same->get(), 0);
    const int64_t max_id = sqlite3_column_int64(same->get(), 1);
    const bool same_row = present && login == cursor.last_login_us;
    if (same_row && !same_file) {
      batch.warnings.push_back(fmt::format(
          "{}: another file (inode {}) with the same rows (moved or copied): going on after "
          "row {}",
          path_, inode, cursor.last_id));
    } else if (!same_row && !(same_file && !present && max_id >= cursor.last_id)) {
      batch.warnings.push_back(fmt::format(
          "{}: row {} is not the one read before ({}): the rows are numbered anew; reading "
          "those logged in after it",
          path_, cursor.last_id, same_file ? "the table was emptied or rewritten" : "another file"));
      after_login = cursor.last_login_us;
      from_id = 0;
      cursor.last_id = 0;  // the new numbering's rows from here on
      cursor.newest_boot_id = -1;
      open.clear();
    }
  } else if (was_read && !same_file) {
    batch.warnings.push_back(
        fmt::format("{}: another file (inode {}): reading it from its first row", path_, inode));
  }

  // The newest boot row: rows before it belong to earlier boots. Looked up once (a scan of the
  // table), then kept up to date from the rows read.
  if (cursor.newest_boot_id < 0) {
    auto newest_boot = Prepare(db_, path_, "SELECT max(ID) FROM wtmp WHERE Type = 1");
    if (!newest_boot) return tl::unexpected(newest_boot.error());
    if (sqlite3_step(newest_boot->get()) != SQLITE_ROW) {
      return tl::unexpected(SqlError(db_, path_, "cannot read"));
    }
    cursor.newest_boot_id = sqlite3_column_int64(newest_boot->get(), 0);
  }
  // A session that began before the newest boot row (or that boot row's predecessors) will
  // never end now: the host went down under it. Without any boot row, the clock is all there
  // is: a session logged in before this boot began.
  auto of_earlier_boot = [&](const WtmpdbRow& row, int64_t login_us, int64_t newest_boot_id) {
    if (newest_boot_id > 0) return row.id < newest_boot_id;
    return !IsBoot(row) && login_us < boot_time_us_;
  };

  std::vector<Event> starts, ends;
  std::vector<int64_t> end_logins;  // the Login of each of `ends`' rows
  // The rows waiting for their end, looked up a few hundred at a time.
  if (!open.empty()) {
    std::vector<int64_t> ids;
    for (const auto& [id, login] : open) ids.push_back(id);
    std::set<int64_t> seen;
    for (size_t at = 0; at < ids.size(); at += 256) {
      std::string sql = "SELECT " UTMPCD_WTMPDB_COLUMNS " FROM wtmp WHERE ID IN (";
      for (size_t i = at; i < std::min(ids.size(), at + 256); ++i) {
        sql += fmt::format("{}{}", i == at ? "" : ",", ids[i]);
      }
      sql += ")";
      auto lookup = Prepare(db_, path_, sql.c_str());
      if (!lookup) return tl::unexpected(lookup.error());
      int rc;
      while ((rc = sqlite3_step(lookup->get())) == SQLITE_ROW) {
        WtmpdbRow row = WtmpdbRowFrom(lookup->get());
        seen.insert(row.id);
        auto login = TimeUs(row.login_us, row.login_valid);
        if (!login) {
          open.erase(row.id);
        } else if (row.logout_us) {
          open[row.id] = *login;
          ends.push_back(EndOf(row, *login, TimeUs(*row.logout_us, row.logout_valid).value_or(0)));
          end_logins.push_back(*login);
        } else if (of_earlier_boot(row, *login, cursor.newest_boot_id)) {
          open.erase(row.id);
        } else {
          open[row.id] = *login;
        }
      }
      if (rc != SQLITE_DONE) return tl::unexpected(SqlError(db_, path_, "cannot read"));
    }
    // Rotated away: wtmpdb itself can no longer end them.
    std::erase_if(open, [&](const auto& entry) { return !seen.contains(entry.first); });
  }

  // The new rows.
  auto fresh = Prepare(db_, path_,
                       "SELECT " UTMPCD_WTMPDB_COLUMNS " FROM wtmp WHERE ID > ?1 ORDER BY ID "
                       "LIMIT ?2");
  if (!fresh) return tl::unexpected(fresh.error());
  sqlite3_bind_int64(fresh->get(), 1, from_id);
  sqlite3_bind_int64(fresh->get(), 2, static_cast<int64_t>(max_batch_rows_) + 1);
  size_t read = 0;
  int rc;
  std::vector<WtmpdbRow> rows;
  while ((rc = sqlite3_step(fresh->get())) == SQLITE_ROW) {
    if (read == max_batch_rows_) {
      batch.more = true;
      break;
    }
    ++read;
    rows.push_back(WtmpdbRowFrom(fresh->get()));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return tl::unexpected(SqlError(db_, path_, "cannot read"));
  }
  for (const WtmpdbRow& row : rows) {
    if (IsBoot(row)) cursor.newest_boot_id = std::max(cursor.newest_boot_id, row.id);
  }
  for (const WtmpdbRow& row : rows) {
    auto login = TimeUs(row.login_us, row.login_valid);
    cursor.last_id = row.id;
    cursor.last_login_us = row.login_integer;  // what tells this row from another (as read back)
    if (!login || (row.type != kWtmpdbBootTime && row.type != kWtmpdbUserProcess)) {
      ++batch.skipped;
      continue;
    }
    if (after_login && *login <= *after_login) continue;  // read before the table was emptied
    // What the history already has from elsewhere (wtmp, imported into wtmpdb by an upgrade).
    if (skip_through_us_ && *login <= *skip_through_us_) continue;
    starts.push_back(StartOf(row, *login));
    if (row.logout_us) {
      ends.push_back(EndOf(row, *login, TimeUs(*row.logout_us, row.logout_valid).value_or(0)));
      end_logins.push_back(*login);
      open.emplace(row.id, *login);  // until its end is taken below
    } else if (!of_earlier_boot(row, *login, cursor.newest_boot_id)) {
      open.emplace(row.id, *login);
    }
  }
  sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);

  // While a backlog is read in pieces, an end later than this piece's newest start waits for
  // a later piece (its row stays open), so that no start of a later piece comes before it.
  int64_t newest_start = INT64_MIN;
  for (const Event& e : starts) newest_start = std::max(newest_start, e.time_us);
  // In time order; at one instant the ends of earlier sessions, then the starts, then the ends
  // of sessions that began at that instant (a row's start always before its end).
  struct Keyed {
    int64_t time_us;
    int rank;
    int64_t session;
    Event event;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(starts.size() + ends.size());
  for (Event& e : starts) keyed.push_back({e.time_us, 1, e.session, std::move(e)});
  for (size_t i = 0; i < ends.size(); ++i) {
    Event& e = ends[i];
    if (batch.more && e.time_us > newest_start) continue;
    open.erase(e.session);
    keyed.push_back({e.time_us, e.time_us == end_logins[i] ? 2 : 0, e.session, std::move(e)});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return std::tie(a.time_us, a.rank, a.session) < std::tie(b.time_us, b.rank, b.session);
  });
  batch.events.reserve(keyed.size());
  for (Keyed& k : keyed) batch.events.push_back(std::move(k.event));

  int64_t since = cursor.last_login_us;
  for (const auto& [id, login] : open) since = std::min(since, login);
  cursor.open_since_us = since;
  return {};
}

}  // namespace utmpcd
