#include "formats/lastlog2.h"

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

using Database = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;


Database OpenReadOnly(const std::string& path, int* rc) {
  sqlite3* raw = nullptr;
  *rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  Database db(raw, &sqlite3_close);
  if (*rc == SQLITE_OK) sqlite3_busy_timeout(db.get(), 5000);  // its writers are waited for
  return db;
}

constexpr const char* kColumns = "SELECT Name, Time, TTY, RemoteHost, Service FROM Lastlog2";

}  // namespace

Result<std::vector<Lastlog2Row>> ReadLastlog2(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return tl::unexpected(ErrnoError(path, errno));
  int rc = SQLITE_OK;
  Database db = OpenReadOnly(path, &rc);
  // As lastlog2 words them.
  auto fail = [&](const char* what) {
    return MakeError(ErrorCode::kIo, std::string(what) +
                                         (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
  };
  if (rc != SQLITE_OK) return fail(("Cannot open database (" + path + "): ").c_str());
  sqlite3_stmt* raw = nullptr;
  rc = sqlite3_prepare_v2(db.get(), (std::string(kColumns) + " ORDER BY Name ASC").c_str(), -1,
                          &raw, nullptr);
  Statement stmt(raw, &sqlite3_finalize);
  if (rc != SQLITE_OK) return fail("SQL error: ");
  std::vector<Lastlog2Row> rows;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    Lastlog2Row row;
    row.name = Text(raw, 0).value_or("");
    row.time_text = Text(raw, 1).value_or("");
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(row.time_text.c_str(), &end, 10);
    row.time = value;
    row.time_valid = !(errno == ERANGE && (value == LLONG_MAX || value == LLONG_MIN)) &&
                     end != row.time_text.c_str() && *end == '\0';
    row.tty = Text(raw, 2);
    row.host = Text(raw, 3);
    row.service = Text(raw, 4);
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return fail("SQL error: ");
  return rows;
}

std::optional<Lastlog2Row> ReadLastlog2User(const std::string& path, std::string_view user) {
  int rc = SQLITE_OK;
  Database db = OpenReadOnly(path, &rc);
  if (rc != SQLITE_OK) return std::nullopt;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), (std::string(kColumns) + " WHERE Name = ?").c_str(), -1, &raw,
                         nullptr) != SQLITE_OK) {
    return std::nullopt;
  }
  Statement stmt(raw, &sqlite3_finalize);
  sqlite3_bind_text(raw, 1, user.data(), static_cast<int>(user.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(raw) != SQLITE_ROW) return std::nullopt;
  Lastlog2Row row;
  row.name = Text(raw, 0).value_or("");
  row.time = sqlite3_column_int64(raw, 1);
  auto nonempty = [&](int column) -> std::optional<std::string> {
    auto text = Text(raw, column);
    if (!text || text->empty()) return std::nullopt;
    return text;
  };
  row.tty = nonempty(2);
  row.host = nonempty(3);
  row.service = nonempty(4);
  return row;
}

}  // namespace utmpcd
