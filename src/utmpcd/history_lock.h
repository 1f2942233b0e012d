// HistoryLock: one daemon per history. Two daemons following the same files into the same
// database would each store every record (issue: "a second daemon stores everything twice").
#pragma once

#include <string>

#include "core/result.h"

namespace utmpcd {

// An exclusive flock(2) on `<database>.lock`, held for the life of the object (and of the
// process: the descriptor survives the privilege drop, and the kernel releases it at exit,
// also after kill -9, so a stale lock file is harmless). The file holds the holder's pid.
class HistoryLock {
 public:
  // Creates the lock file when missing and takes the lock without waiting. Fails with
  // kConflict naming the database and the pid of the daemon that holds it, kIo when the lock
  // file cannot be opened.
  static Result<HistoryLock> Acquire(const std::string& database);

  HistoryLock(HistoryLock&& other) noexcept;
  HistoryLock& operator=(HistoryLock&& other) noexcept;
  HistoryLock(const HistoryLock&) = delete;
  HistoryLock& operator=(const HistoryLock&) = delete;
  ~HistoryLock();

  // The lock file's descriptor, for chown(2) to the daemon's user.
  int fd() const { return fd_; }

 private:
  explicit HistoryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace utmpcd
