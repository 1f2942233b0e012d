#include "sources/inotify_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

namespace utmpcd {
namespace {

constexpr uint32_t kFileMask = IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF;
constexpr uint32_t kDirMask = IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR;

}  // namespace

Result<InotifyWatch> InotifyWatch::Create(const std::string& path, bool with_wal) {
  namespace fs = std::filesystem;
  InotifyWatch watch;
  watch.path_ = path;
  if (with_wal) watch.wal_name_ = fs::path(path).filename().string() + "-wal";
  fs::path p(path);
  watch.name_ = p.filename().string();
  std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  watch.fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (watch.fd_ < 0) return tl::unexpected(ErrnoError("inotify_init1", errno));
  // The directory first: a file created between the two calls is then reported, not missed.
  watch.dir_wd_ = ::inotify_add_watch(watch.fd_, dir.c_str(), kDirMask);
  if (watch.dir_wd_ < 0) {
    int err = errno;
    Error error = ErrnoError("inotify_add_watch " + dir, err);
    if (err == ENOENT || err == ENOTDIR) error.code = ErrorCode::kNotFound;
    return tl::unexpected(error);
  }
  watch.WatchFile();
  watch.WatchWal();
  return watch;
}

InotifyWatch::InotifyWatch(InotifyWatch&& other) noexcept
    : path_(std::move(other.path_)),
      name_(std::move(other.name_)),
      wal_name_(std::move(other.wal_name_)),
      fd_(std::exchange(other.fd_, -1)),
      dir_wd_(std::exchange(other.dir_wd_, -1)),
      wal_wd_(std::exchange(other.wal_wd_, -1)),
      file_wds_(std::move(other.file_wds_)) {}

InotifyWatch& InotifyWatch::operator=(InotifyWatch&& other) noexcept {
  if (this != &other) {
    Reset();
    path_ = std::move(other.path_);
    name_ = std::move(other.name_);
    wal_name_ = std::move(other.wal_name_);
    fd_ = std::exchange(other.fd_, -1);
    dir_wd_ = std::exchange(other.dir_wd_, -1);
    wal_wd_ = std::exchange(other.wal_wd_, -1);
    file_wds_ = std::move(other.file_wds_);
  }
  return *this;
}

InotifyWatch::~InotifyWatch() { Reset(); }

void InotifyWatch::Reset() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor removes all its watches
  fd_ = -1;
  wal_wd_ = -1;
  file_wds_.clear();
}

void InotifyWatch::WatchWal() {
  if (wal_name_.empty()) return;
  std::string wal = path_ + "-wal";
  int wd = ::inotify_add_watch(fd_, wal.c_str(), IN_MODIFY);
  if (wd >= 0) wal_wd_ = wd;
}

void InotifyWatch::WatchFile() {
  // A missing file is not an error: the directory watch reports its creation.
  int wd = ::inotify_add_watch(fd_, path_.c_str(), kFileMask);
  if (wd < 0) return;
  // The same inode gives back the same descriptor; a new one is a new file.
  if (std::find(file_wds_.begin(), file_wds_.end(), wd) != file_wds_.end()) return;
  // Keep the current and the rotated-away file only, as LogFollower does; older ones are done.
  while (file_wds_.size() >= 2) {
    ::inotify_rm_watch(fd_, file_wds_.front());
    file_wds_.erase(file_wds_.begin());
  }
  file_wds_.push_back(wd);
}

Result<InotifyWatch::Events> InotifyWatch::Drain() {
  Events events;
  // Room for many events per read(2); each is at least 16 bytes plus its name.
  alignas(struct inotify_event) char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) return tl::unexpected(ErrnoError("read inotify", errno));
    if (n == 0) break;
    // The kernel pads each name so that the next event is aligned, and only whole events are
    // returned by one read(2).
    for (const char* p = buffer; p < buffer + n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(p);
      Classify(*event, events);
      p += sizeof(struct inotify_event) + event->len;
    }
  }
  if (events.replaced || events.overflow) WatchFile();
  if (wal_created_ || events.overflow) WatchWal();
  wal_created_ = false;
  return events;
}

void InotifyWatch::Classify(const struct inotify_event& event, Events& events) {
  ++events.count;
  if (event.mask & IN_Q_OVERFLOW) {
    events.overflow = true;
    return;
  }
  if (event.mask & IN_IGNORED) {  // the watched file is gone for good
    std::erase(file_wds_, event.wd);
    if (event.wd == wal_wd_) wal_wd_ = -1;
    return;
  }
  if (event.wd == dir_wd_) {
    // The name is NUL-padded to event.len.
    std::string_view name(event.name, ::strnlen(event.name, event.len));
    if (!wal_name_.empty() && name == wal_name_) {
      if (event.mask & (IN_CREATE | IN_MOVED_TO)) {
        wal_created_ = true;
        events.modified = true;
      }
      return;
    }
    if (name != name_) return;
    if (event.mask & (IN_CREATE | IN_MOVED_TO)) events.replaced = true;
    if (event.mask & (IN_MOVED_FROM | IN_DELETE)) events.removed = true;
    return;
  }
  if (event.mask & IN_MODIFY) events.modified = true;
  if (event.mask & (IN_MOVE_SELF | IN_DELETE_SELF)) events.removed = true;
}

}  // namespace utmpcd
