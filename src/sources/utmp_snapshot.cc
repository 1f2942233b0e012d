#include "sources/utmp_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <utility>

namespace utmpcd {
namespace {

// utmp holds one entry per line ever used: even a host with thousands of ptys stays far below
// this; anything bigger is not a utmp file.
constexpr uint64_t kMaxUtmpBytes = 16 << 20;

using Key = std::pair<std::string_view, int32_t>;

std::set<Key> Keys(const std::vector<LiveSession>& sessions) {
  std::set<Key> keys;
  for (const LiveSession& s : sessions) keys.emplace(s.line, s.pid);
  return keys;
}

// The sessions of `from` whose key is not in `other`, each key once.
std::vector<LiveSession> Missing(const std::vector<LiveSession>& from, const std::set<Key>& other) {
  std::vector<LiveSession> out;
  std::set<Key> seen;
  for (const LiveSession& s : from) {
    Key key(s.line, s.pid);
    if (!other.contains(key) && seen.insert(key).second) out.push_back(s);
  }
  return out;
}

// Reads to the end rather than to st_size: utmp may grow between the two calls.
Result<std::string> ReadAll(int fd, const std::string& path) {
  std::string bytes;
  char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(ErrnoError("read " + path, errno));
    if (n == 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(n));
    if (bytes.size() > kMaxUtmpBytes) {
      return MakeError(ErrorCode::kInvalidArgument, path + ": too large for a utmp file");
    }
  }
}

// O_NONBLOCK: a FIFO planted at the path must not block open(2); it is then refused.
Result<std::string> ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    Error error = ErrnoError("open " + path, err);
    if (err == ENOENT) error.code = ErrorCode::kNotFound;
    return tl::unexpected(error);
  }
  struct stat st;
  Result<std::string> bytes;
  if (::fstat(fd, &st) != 0) {
    bytes = tl::unexpected(ErrnoError("fstat " + path, errno));
  } else if (!S_ISREG(st.st_mode)) {
    bytes = MakeError(ErrorCode::kInvalidArgument, path + ": not a regular file");
  } else {
    bytes = ReadAll(fd, path);
  }
  ::close(fd);
  return bytes;
}

}  // namespace

UtmpSnapshot ParseUtmpSnapshot(std::string_view bytes, UtmpLayout layout) {
  UtmpSnapshot snapshot;
  size_t size = RecordSize(layout);
  for (size_t at = 0; at + size <= bytes.size(); at += size) {
    auto record = DecodeUtmp(bytes.substr(at, size), layout);
    if (!record) {
      ++snapshot.garbled;
      continue;
    }
    if (record->type != kUserProcess || record->user.empty()) continue;
    LiveSession s;
    s.line = record->line;
    s.id = record->id;
    s.user = record->user;
    s.host = record->host;
    s.addr = record->addr;
    s.pid = record->pid;
    s.session = record->session;
    s.login_time_us = record->time_us();
    snapshot.sessions.push_back(std::move(s));
  }
  return snapshot;
}

Result<UtmpSnapshot> ReadUtmpSnapshot(const std::string& path, UtmpLayout layout) {
  auto bytes = ReadSmallFile(path);
  if (!bytes) return tl::unexpected(bytes.error());
  return ParseUtmpSnapshot(*bytes, layout);
}

SessionDiff Diff(const std::vector<LiveSession>& before, const std::vector<LiveSession>& now) {
  SessionDiff diff;
  diff.appeared = Missing(now, Keys(before));
  diff.disappeared = Missing(before, Keys(now));
  return diff;
}

}  // namespace utmpcd
