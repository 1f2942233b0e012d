// InotifyWatch: one inotify descriptor that becomes readable when a followed file changes,
// is replaced (rotation) or appears.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/result.h"

struct inotify_event;  // <sys/inotify.h>

namespace utmpcd {

// Watches a file and its directory, so that every way a login file changes is seen:
//   the file:       IN_MODIFY (appends, truncation), IN_MOVE_SELF, IN_DELETE_SELF;
//   the directory:  IN_CREATE, IN_MOVED_TO, IN_MOVED_FROM, IN_DELETE for the file's name only.
// When the name is (re)created the new file is watched too; the file rotated away stays watched
// (a late append to it still wakes the follower) until the next rotation or its deletion.
// A file that does not exist yet is fine: its creation is reported.
//
// fd() is non-blocking and close-on-exec, for an event loop (epoll, asio's posix descriptor):
// when it is readable, call Drain(). There are no timers and no polling. Not thread-safe.
class InotifyWatch {
 public:
  // What the pending events amount to. The follower's answer is the same to all (Poll), but
  // the daemon logs and counts them differently.
  struct Events {
    size_t count = 0;       // inotify events read
    bool modified = false;  // the file (or the one rotated away) was written or truncated
    bool replaced = false;  // a file was created or moved in under the name
    bool removed = false;   // the file was renamed away or deleted
    bool overflow = false;  // the kernel queue overflowed: events were lost, re-check all
    bool any() const { return modified || replaced || removed || overflow; }
  };

  // Fails with kNotFound when the directory does not exist, kIo when inotify is unavailable
  // (its limits reached, or no permission to read the directory). `with_wal`: the file is an
  // SQLite database, whose writes in WAL mode go to `path`-wal: its changes count as the
  // file's (modified).
  static Result<InotifyWatch> Create(const std::string& path, bool with_wal = false);
  InotifyWatch(InotifyWatch&& other) noexcept;
  InotifyWatch& operator=(InotifyWatch&& other) noexcept;
  InotifyWatch(const InotifyWatch&) = delete;
  InotifyWatch& operator=(const InotifyWatch&) = delete;
  ~InotifyWatch();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Reads every pending event without blocking (none pending: an empty Events) and watches a
  // newly created file. Call it before reading the file (LogFollower::Poll), never after: a
  // write that lands after the read then always makes fd() readable again. Fails with kIo only
  // when read(2) does.
  Result<Events> Drain();

 private:
  InotifyWatch() = default;
  void WatchFile();
  void WatchWal();
  void Classify(const ::inotify_event& event, Events& events);
  void Reset();

  std::string path_;
  std::string name_;  // the file's name in its directory
  std::string wal_name_;  // its WAL file's name, when it is a database
  int fd_ = -1;
  int dir_wd_ = -1;
  int wal_wd_ = -1;
  bool wal_created_ = false;
  // Watches on the file now at the path (back) and on the one rotated away (front, if any).
  std::vector<int> file_wds_;
};

}  // namespace utmpcd
