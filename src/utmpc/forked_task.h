// ForkedTask: work done in a forked child process, which hands a small report back to the
// parent through a pipe. For parallel work that shares nothing but files: two threads of one
// process share its page tables, so every mapping one of them drops sends the other's processor
// a TLB flush, and both take the same lock to map; two processes do neither.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>

#include "core/result.h"

namespace utmpcd {

class ForkedTask {
 public:
  // Forks, only while the process runs a single thread (a child of a threaded process would run
  // with whatever locks the other threads held): an error otherwise. The child runs work(report),
  // which fills `report_size` bytes (at most PIPE_BUF: written whole, never torn), sends them and
  // exits without running exit handlers or flushing stdio buffers it inherited. It dies with the
  // parent. An error when no child could be made.
  static Result<ForkedTask> Start(size_t report_size, const std::function<void(void*)>& work);
  ForkedTask(ForkedTask&& other) noexcept;
  ForkedTask& operator=(ForkedTask&& other) = delete;
  ForkedTask(const ForkedTask&) = delete;
  ForkedTask& operator=(const ForkedTask&) = delete;
  // Kills and reaps a child not waited for.
  ~ForkedTask();

  // Waits for the child's report, copied into `report`, and reaps it; an error saying how the
  // child ended when it sent none (it crashed, was killed, or its work threw).
  Result<void> Wait(void* report);

 private:
  ForkedTask(pid_t pid, int fd, size_t size) : pid_(pid), fd_(fd), size_(size) {}
  // Reaps the child; its wait status.
  int Reap();

  pid_t pid_ = -1;
  int fd_ = -1;  // the pipe's reading end
  size_t size_ = 0;
};

}  // namespace utmpcd
