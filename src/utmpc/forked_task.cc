#include "utmpc/forked_task.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace utmpcd {

namespace {

// Whether this process runs one thread ("Threads:" of /proc/self/status); false when unknown.
bool SingleThreaded() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return false;
  char line[256];
  bool single = false;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "Threads:", 8) == 0) {
      single = std::strtol(line + 8, nullptr, 10) == 1;
      break;
    }
  }
  std::fclose(f);
  return single;
}

}  // namespace

Result<ForkedTask> ForkedTask::Start(size_t report_size, const std::function<void(void*)>& work) {
  if (report_size > PIPE_BUF) {
    return MakeError(ErrorCode::kInvalidArgument, "a child's report is too long");
  }
  if (!SingleThreaded()) {
    return MakeError(ErrorCode::kUnsupported, "cannot fork a process that runs other threads");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return tl::unexpected(ErrnoError("cannot make a pipe", errno));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return tl::unexpected(ErrnoError("cannot start a process", e));
  }
  if (pid == 0) {
    ::close(fds[0]);
    // A parent killed mid-listing (by SIGPIPE under `| head`, say) takes the child along.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(125);
    alignas(std::max_align_t) char report[PIPE_BUF] = {};
    try {
      work(report);
    } catch (...) {
      ::_exit(126);
    }
    ssize_t n;
    do {
      n = ::write(fds[1], report, report_size);
    } while (n < 0 && errno == EINTR);
    ::_exit(n == static_cast<ssize_t>(report_size) ? 0 : 127);
  }
  ::close(fds[1]);
  return ForkedTask(pid, fds[0], report_size);
}

ForkedTask::ForkedTask(ForkedTask&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}

ForkedTask::~ForkedTask() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Reap();
  }
  if (fd_ >= 0) ::close(fd_);
}

int ForkedTask::Reap() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

Result<void> ForkedTask::Wait(void* report) {
  size_t got = 0;
  while (got < size_) {
    ssize_t n = ::read(fd_, static_cast<char*>(report) + got, size_ - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd_);
  fd_ = -1;
  const int status = Reap();
  if (got == size_) return {};
  std::string how;
  if (WIFSIGNALED(status)) {
    how = std::string("killed by ") + ::strsignal(WTERMSIG(status));
  } else if (WIFEXITED(status)) {
    how = "exit status " + std::to_string(WEXITSTATUS(status));
  }
  return MakeError(ErrorCode::kIo, "a child process ended without its report (" + how + ")");
}

}  // namespace utmpcd
