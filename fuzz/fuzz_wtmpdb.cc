// A wtmpdb database with rows anyone who logs in chooses the text of (user, tty, remote host,
// service): `utmpc wtmpdb last` over it, and utmpcd's WtmpdbFollower. The input's first byte
// picks options; the rest is rows, one a line, fields tab-separated (Type, User, Login, Logout,
// TTY, RemoteHost, Service; a number where a number can be, NULL for "\N"), inserted into
// wtmpdb's STRICT table (a row it refuses is left out). Asserted: no crash; the text listing has
// no control byte but line ends; the JSON listing parses; the follower reads each row's start
// at most once, each batch in time order, and an end only for a row it started before.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "sources/wtmpdb_follower.h"
#include "utmpc/commands.h"

namespace {

std::vector<std::string_view> Split(std::string_view text, char by) {
  std::vector<std::string_view> parts;
  for (size_t at = 0;;) {
    size_t next = text.find(by, at);
    parts.push_back(text.substr(at, next == std::string_view::npos ? next : next - at));
    if (next == std::string_view::npos) return parts;
    at = next + 1;
  }
}

void Bind(sqlite3_stmt* stmt, int column, std::string_view field, bool number) {
  if (field == "\\N") {
    sqlite3_bind_null(stmt, column);
    return;
  }
  if (number) {
    char* end = nullptr;
    std::string text(field);
    long long value = std::strtoll(text.c_str(), &end, 10);
    if (!text.empty() && *end == '\0') {
      sqlite3_bind_int64(stmt, column, value);
      return;
    }
  }
  sqlite3_bind_text(stmt, column, field.data(), static_cast<int>(field.size()), SQLITE_TRANSIENT);
}

std::string Listing(const std::string& path, std::vector<std::string> args) {
  std::string out_path = path + ".out";
  std::fflush(stdout);
  int saved = ::dup(1);
  int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, 1);
  ::close(fd);
  args.insert(args.begin(), "utmpc wtmpdb last");
  args.push_back("-f");
  args.push_back(path);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  utmpcd::RunWtmpdbLast(static_cast<int>(args.size()), argv.data(), nullptr);
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  std::string text;
  if (FILE* f = std::fopen(out_path.c_str(), "rb")) {
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    std::fclose(f);
  }
  ::unlink(out_path.c_str());
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  if (size == 0 || size > 8192) return 0;
  const uint8_t options = data[0];
  std::string_view rows(reinterpret_cast<const char*>(data + 1), size - 1);
  char dir_template[] = "/tmp/fuzz_wtmpdb.XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return 0;
  const std::string dir = dir_template;
  const std::string path = dir + "/wtmp.db";
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "CREATE TABLE wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, "
               "Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO wtmp (Type, User, Login, Logout, TTY, RemoteHost, Service) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     -1, &insert, nullptr);
  int inserted = 0;
  for (std::string_view line : Split(rows, '\n')) {
    if (inserted == 64) break;
    std::vector<std::string_view> fields = Split(line, '\t');
    fields.resize(7, "\\N");
    sqlite3_reset(insert);
    for (int i = 0; i < 7; ++i) Bind(insert, i + 1, fields[static_cast<size_t>(i)], i == 0 || i == 2 || i == 3);
    if (sqlite3_step(insert) == SQLITE_DONE) ++inserted;
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);

  // utmpc wtmpdb last, text and JSON.
  std::vector<std::string> args;
  if (options & 1) args.push_back("-x");
  if (options & 2) args.push_back("-F");
  if (options & 4) args.push_back("-w");
  if (options & 8) args.push_back("-a");
  if (options & 16) args.push_back("-S");
  std::string text = Listing(path, args);
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    Check(c == '\n' || (c >= 0x20 && c != 0x7f), "no control byte reaches the terminal");
  }
  args.push_back("-j");
  std::string json = Listing(path, args);
  Check(nlohmann::json::accept(json), "the JSON listing is JSON");

  // The follower: each row's start once, ends only of rows started before, each batch in
  // time order (rows whose IDs are not in time order, as an import into a database in use
  // makes, cannot be in time order across batches).
  utmpcd::WtmpdbFollower follower(path, std::nullopt, {}, 0, (options & 32) ? 2 : 64);
  std::map<int64_t, int> starts, ends;
  for (int polls = 0; polls < 100; ++polls) {
    auto batch = follower.Poll();
    if (!batch) break;
    int64_t last_time = INT64_MIN;
    for (const utmpcd::Event& e : batch->events) {
      bool start = e.kind == utmpcd::EventKind::kLogin || e.kind == utmpcd::EventKind::kBoot;
      (start ? starts : ends)[e.session]++;
      Check(start || starts.count(e.session) == 1, "an end after its row's start");
      Check(e.time_us >= last_time, "a batch in time order");
      last_time = e.time_us;
    }
    if (!batch->more) break;
  }
  for (const auto& [row, n] : starts) Check(n == 1, "a row's start once");
  for (const auto& [row, n] : ends) {
    Check(n == 1, "a row's end once");
    Check(starts.count(row) == 1, "an end of a row started");
  }
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
  return 0;
}
