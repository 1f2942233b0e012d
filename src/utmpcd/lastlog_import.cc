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

}  // namespace

Result<size_t> ImportLastlogOnce(const std::string& lastlog_path, SqliteStore* store) {
  const std::string key = "import:" + lastlog_path;
  auto done = store->GetCursor(key);
  if (!done) return tl::unexpected(done.error());
  if (*done) return 0;
  struct stat st {};
  if (::stat(lastlog_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return 0;
    return tl::unexpected(ErrnoError("stat " + lastlog_path, errno));
  }
  auto file = LastlogFile::Open(lastlog_path);
  if (!file) return tl::unexpected(file.error());
  std::vector<Event> events;
  for (const User& user : PasswdUsers()) {
    auto entry = file->Get(user.uid);
    if (!entry) return tl::unexpected(entry.error());
    if (!*entry || (*entry)->time_s == 0) continue;  // never logged in
    // Not over a login the history already has (a lastlog that appeared after it began).
    auto known = store->LastLoginOf(user.name);
    if (!known) return tl::unexpected(known.error());
    if (*known && (*known)->time_us >= (*entry)->time_s * 1000000 - 1000000) continue;
    Event e;
    e.time_us = (*entry)->time_s * 1000000;
    e.kind = EventKind::kLogin;
    e.user = user.name;
    e.tty = (*entry)->line;
    e.remote_host = (*entry)->host;
    e.source = EventSource::kImport;
    events.push_back(std::move(e));
  }
  CursorUpdate cursor{key, SourceCursor{static_cast<uint64_t>(st.st_dev),
                                        static_cast<uint64_t>(st.st_ino), st.st_size, {}}};
  auto stored = store->Append(events, std::span<const CursorUpdate>(&cursor, 1));
  if (!stored) return tl::unexpected(stored.error());
  return events.size();
}

Result<size_t> ImportLastlog2Once(const std::string& lastlog2_path, SqliteStore* store) {
  const std::string key = "import:" + lastlog2_path;
  auto done = store->GetCursor(key);
  if (!done) return tl::unexpected(done.error());
  if (*done) return 0;
  struct stat st {};
  if (::stat(lastlog2_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return 0;
    return tl::unexpected(ErrnoError("stat " + lastlog2_path, errno));
  }
  auto rows = ReadLastlog2(lastlog2_path);
  if (!rows) return tl::unexpected(rows.error());
  std::vector<Event> events;
  for (const Lastlog2Row& row : *rows) {
    // (Seconds that fit an event's microseconds.)
    if (!row.time_valid || row.time <= 0 || row.time > INT64_MAX / 1000000 || row.name.empty()) {
      continue;
    }
    // A database that appeared after the history began (the first login wrote it) holds
    // nothing newer than what the history has: it must not stand in for a later login.
    auto known = store->LastLoginOf(row.name);
    if (!known) return tl::unexpected(known.error());
    if (*known && (*known)->time_us >= row.time * 1000000 - 1000000) continue;
    Event e;
    e.time_us = row.time * 1000000;
    e.kind = EventKind::kLogin;
    e.user = row.name;
    e.tty = row.tty.value_or("");
    e.remote_host = row.host.value_or("");
    e.source = EventSource::kImport;
    events.push_back(std::move(e));
  }
  CursorUpdate cursor{key, SourceCursor{static_cast<uint64_t>(st.st_dev),
                                        static_cast<uint64_t>(st.st_ino), st.st_size, {}}};
  auto stored = store->Append(events, std::span<const CursorUpdate>(&cursor, 1));
  if (!stored) return tl::unexpected(stored.error());
  return events.size();
}

}  // namespace utmpcd
