#include "utmpcd/history_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

namespace utmpcd {
namespace {

// The holder's pid as it wrote it; "" when there is none to read.
std::string ReadHolder(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string pid(buffer, n > 0 ? static_cast<size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid;
}

}  // namespace

Result<HistoryLock> HistoryLock::Acquire(const std::string& database) {
  std::string path = database + ".lock";
  // 0644: anyone may see who holds it; no one but the daemon writes it.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
  if (fd < 0) return tl::unexpected(ErrnoError("open " + path, errno));
  HistoryLock lock(fd);
  // Opened as root in a directory the daemon's user may write: a hard link planted there to
  // another file must not be truncated and written.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return tl::unexpected(ErrnoError("fstat " + path, errno));
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
    return MakeError(ErrorCode::kIo, path + ": not a lock file of utmpcd's (a link, or not a "
                                            "regular file); remove it");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return tl::unexpected(ErrnoError("lock " + path, errno));
    std::string holder = ReadHolder(fd);
    return MakeError(ErrorCode::kConflict,
                     "another utmpcd" + (holder.empty() ? "" : " (pid " + holder + ")") +
                         " is storing into " + database + " (it holds " + path +
                         "); one history has one daemon: stop that one first");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    return tl::unexpected(ErrnoError("write " + path, errno));
  }
  return lock;
}

HistoryLock::HistoryLock(HistoryLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

HistoryLock& HistoryLock::operator=(HistoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

HistoryLock::~HistoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace utmpcd
