#include "utmpcd/lastlog_import.h"

#include <pwd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <set>
#include <vector>

#include "core/passwd_walk.h"
#include "formats/lastlog.h"
#include "formats/lastlog2.h"

namespace utmpcd {
namespace {

struct User {
  uid_t uid;
  std::string name;
};

// Every user of the passwd database, once per uid (the first name wins, as lastlog(8) shows it).
std::vector<User> PasswdUsers() {
  std::vector<User> users;
  std::set<uid_t> seen;
  PasswdWalk walk;
  while (struct passwd* pw = walk.Next()) {
    if (seen.insert(pw->pw_uid).second) users.push_back({pw->pw_uid, pw->pw_name});
  }
  return users;
}

// Whether the one-time import keyed `key` was done; *st the file's, when it exists (false and
// st_ino 0 when it does not: nothing to import).
Result<bool> ImportDone(SqliteStore* store, const std::string& key, const std::string& path,
                        struct stat* st) {
  auto done = store->GetCursor(key);
  if (!done) return tl::unexpected(done.error());
  if (*done) return true;
  if (::stat(path.c_str(), st) != 0) {
    if (errno == ENOENT) return true;  // nothing to import (now)
    return tl::unexpected(ErrnoError("stat " + path, errno));
  }
  return false;
}

// A login the history already has at the same time or later: an imported one must not stand in
// for it (a file that appeared after the history began).
Result<bool> KnownSince(SqliteStore* store, const std::string& user, int64_t time_s) {
  auto known = store->LastLoginOf(user);
  if (!known) return tl::unexpected(known.error());
  return *known && (*known)->time_us >= time_s * 1000000 - 1000000;
}

// The imported logins and the cursor that marks the import done, in one transaction.
Result<size_t> StoreImport(SqliteStore* store, const std::string& key, const struct stat& st,
                           std::vector<Event>& events) {
  CursorUpdate cursor{key, SourceCursor{static_cast<uint64_t>(st.st_dev),
                                        static_cast<uint64_t>(st.st_ino), st.st_size, {}}};
  auto stored = store->Append(events, std::span<const CursorUpdate>(&cursor, 1));
  if (!stored) return tl::unexpected(stored.error());
  return events.size();
}

}  // namespace

Result<size_t> ImportLastlogOnce(const std::string& lastlog_path, SqliteStore* store) {
  const std::string key = "import:" + lastlog_path;
  struct stat st {};
  auto done = ImportDone(store, key, lastlog_path, &st);
  if (!done) return tl::unexpected(done.error());
  if (*done) return 0;
  auto file = LastlogFile::Open(lastlog_path);
  if (!file) return tl::unexpected(file.error());
  std::vector<Event> events;
  for (const User& user : PasswdUsers()) {
    auto entry = file->Get(user.uid);
    if (!entry) return tl::unexpected(entry.error());
    if (!*entry || (*entry)->time_s == 0) continue;  // never logged in
    auto known = KnownSince(store, user.name, (*entry)->time_s);
    if (!known) return tl::unexpected(known.error());
    if (*known) continue;
    Event e;
    e.time_us = (*entry)->time_s * 1000000;
    e.kind = EventKind::kLogin;
    e.user = user.name;
    e.tty = (*entry)->line;
    e.remote_host = (*entry)->host;
    e.source = EventSource::kImport;
    events.push_back(std::move(e));
  }
  return StoreImport(store, key, st, events);
}

Result<size_t> ImportLastlog2Once(const std::string& lastlog2_path, SqliteStore* store) {
  const std::string key = "import:" + lastlog2_path;
  struct stat st {};
  auto done = ImportDone(store, key, lastlog2_path, &st);
  if (!done) return tl::unexpected(done.error());
  if (*done) return 0;
  auto rows = ReadLastlog2(lastlog2_path);
  if (!rows) return tl::unexpected(rows.error());
  std::vector<Event> events;
  for (const Lastlog2Row& row : *rows) {
    // (Seconds that fit an event's microseconds.)
    if (!row.time_valid || row.time <= 0 || row.time > INT64_MAX / 1000000 || row.name.empty()) {
      continue;
    }
    auto known = KnownSince(store, row.name, row.time);
    if (!known) return tl::unexpected(known.error());
    if (*known) continue;
    Event e;
    e.time_us = row.time * 1000000;
    e.kind = EventKind::kLogin;
    e.user = row.name;
    e.tty = row.tty.value_or("");
    e.remote_host = row.host.value_or("");
    e.source = EventSource::kImport;
    events.push_back(std::move(e));
  }
  return StoreImport(store, key, st, events);
}

}  // namespace utmpcd
