#include "utmpc/forked_task.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>

namespace utmpcd {
namespace {

struct Report {
  pid_t pid;
  char text[64];
};

// The work runs in another process, which hands back its report and what it wrote to a file
// both hold: how a listing's older piece comes back.
TEST(ForkedTaskTest, ReportAndSharedFileComeBack) {
  FILE* shared = std::tmpfile();
  ASSERT_NE(shared, nullptr);
  const int fd = ::fileno(shared);
  auto task = ForkedTask::Start(sizeof(Report), [&](void* bytes) {
    auto* report = new (bytes) Report{::getpid(), {}};
    std::strcpy(report->text, "older rows");
    if (::write(fd, "text from the child\n", 20) != 20) throw std::runtime_error("write");
  });
  ASSERT_TRUE(task) << task.error().message;
  Report report{};
  auto waited = task->Wait(&report);
  ASSERT_TRUE(waited) << waited.error().message;
  EXPECT_NE(report.pid, ::getpid());
  EXPECT_STREQ(report.text, "older rows");
  char text[64] = {};
  EXPECT_EQ(::pread(fd, text, sizeof text, 0), 20);
  EXPECT_STREQ(text, "text from the child\n");
  std::fclose(shared);
}

TEST(ForkedTaskTest, ChildKilledOrThrowingIsAnErrorThatSaysHow) {
  auto killed = ForkedTask::Start(sizeof(Report), [](void*) { ::raise(SIGKILL); });
  ASSERT_TRUE(killed);
  Report report{};
  auto waited = killed->Wait(&report);
  ASSERT_FALSE(waited);
  EXPECT_NE(waited.error().message.find("killed by Killed"), std::string::npos)
      << waited.error().message;

  auto threw = ForkedTask::Start(sizeof(Report), [](void*) { throw std::runtime_error("no"); });
  ASSERT_TRUE(threw);
  waited = threw->Wait(&report);
  ASSERT_FALSE(waited);
  EXPECT_NE(waited.error().message.find("exit status 126"), std::string::npos)
      << waited.error().message;
}

// A child of a process running other threads could start with a lock one of them held: no fork
// then (a listing stays in one process).
TEST(ForkedTaskTest, RefusesToForkAProcessRunningOtherThreads) {
  std::thread other([] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  auto task = ForkedTask::Start(sizeof(Report), [](void*) {});
  other.join();
  ASSERT_FALSE(task);
  EXPECT_NE(task.error().message.find("other threads"), std::string::npos);
  EXPECT_TRUE(ForkedTask::Start(sizeof(Report), [](void*) {}));  // alone again
}

// A task dropped before Wait (the parent's own piece failed) leaves no child behind.
TEST(ForkedTaskTest, DroppedTaskKillsAndReapsItsChild) {
  FILE* shared = std::tmpfile();
  ASSERT_NE(shared, nullptr);
  const int fd = ::fileno(shared);
  pid_t child = 0;
  {
    auto task = ForkedTask::Start(sizeof(Report), [&](void*) {
      pid_t self = ::getpid();
      if (::write(fd, &self, sizeof self) != sizeof self) return;
      ::pause();
    });
    ASSERT_TRUE(task);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::pread(fd, &child, sizeof child, 0) != sizeof child) {
      ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the child never started";
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  errno = 0;
  EXPECT_EQ(::kill(child, 0), -1);
  EXPECT_EQ(errno, ESRCH);  // gone and reaped, not a zombie
  std::fclose(shared);
}

}  // namespace
}  // namespace utmpcd
