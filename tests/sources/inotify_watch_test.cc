// InotifyWatch on a real directory: writes, rotations and creations make its descriptor
// readable (waited for with poll(2) and a deadline, never a sleep loop); other names do not
// count. And the follower driven by it alone, as the daemon's event loop will.
#include "sources/inotify_watch.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sources/log_follower.h"
#include "sources/sources_test_util.h"

namespace utmpcd::testing {
namespace {

// Generous: the kernel queues the event before write(2) returns; this only bounds a failure.
constexpr int kDeadlineMs = 2000;

bool Readable(int fd, int timeout_ms) {
  struct pollfd p {
    fd, POLLIN, 0
  };
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

class InotifyWatchTest : public ::testing::Test {
 protected:
  // Waits for the descriptor, then reads what it has.
  InotifyWatch::Events Next(InotifyWatch& watch) {
    EXPECT_TRUE(Readable(watch.fd(), kDeadlineMs)) << "no event within " << kDeadlineMs << " ms";
    auto events = watch.Drain();
    EXPECT_TRUE(events) << events.error().message;
    EXPECT_FALSE(Readable(watch.fd(), 0)) << "Drain left events behind";
    return events ? *events : InotifyWatch::Events{};
  }

  TempDir dir_;
  std::string wtmp_ = dir_ / "wtmp";
  std::string wtmp1_ = dir_ / "wtmp.1";
};

TEST_F(InotifyWatchTest, AWriteMakesTheDescriptorReadable) {
  AppendBytes(wtmp_, Encode(UserRecord(1)));
  auto watch = InotifyWatch::Create(wtmp_);
  ASSERT_TRUE(watch) << watch.error().message;
  EXPECT_FALSE(Readable(watch->fd(), 0));
  auto none = watch->Drain();  // non-blocking when nothing is pending
  ASSERT_TRUE(none);
  EXPECT_EQ(none->count, 0u);

  AppendBytes(wtmp_, Encode(UserRecord(2)));
  InotifyWatch::Events events = Next(*watch);
  EXPECT_TRUE(events.modified);
  EXPECT_FALSE(events.replaced);
  EXPECT_FALSE(events.removed);

  ASSERT_EQ(::truncate(wtmp_.c_str(), 0), 0);  // copytruncate
  EXPECT_TRUE(Next(*watch).modified);
}

TEST_F(InotifyWatchTest, RotationMakesTheDescriptorReadableAndTheNewFileIsWatched) {
  AppendBytes(wtmp_, Encode(UserRecord(1)));
  auto watch = InotifyWatch::Create(wtmp_);
  ASSERT_TRUE(watch) << watch.error().message;

  ASSERT_EQ(std::rename(wtmp_.c_str(), wtmp1_.c_str()), 0);
  InotifyWatch::Events moved = Next(*watch);
  EXPECT_TRUE(moved.removed);
  EXPECT_FALSE(moved.replaced);

  AppendBytes(wtmp_, "");  // logrotate's create: an empty new file
  EXPECT_TRUE(Next(*watch).replaced);
  AppendBytes(wtmp_, Encode(UserRecord(2)));
  EXPECT_TRUE(Next(*watch).modified);
  AppendBytes(wtmp1_, Encode(UserRecord(3)));  // a late write to the rotated file
  EXPECT_TRUE(Next(*watch).modified);
}

TEST_F(InotifyWatchTest, AFileThatAppearsLaterIsReportedAndWatched) {
  auto watch = InotifyWatch::Create(wtmp_);
  ASSERT_TRUE(watch) << watch.error().message;
  AppendBytes(wtmp_, Encode(UserRecord(1)));
  EXPECT_TRUE(Next(*watch).replaced);
  AppendBytes(wtmp_, Encode(UserRecord(2)));
  EXPECT_TRUE(Next(*watch).modified);
}

TEST_F(InotifyWatchTest, OtherNamesInTheDirectoryAreNotReported) {
  auto watch = InotifyWatch::Create(wtmp_);
  ASSERT_TRUE(watch) << watch.error().message;
  AppendBytes(dir_ / "wtmpx", "x");
  AppendBytes(dir_ / "btmp", "x");
  InotifyWatch::Events events = Next(*watch);
  EXPECT_GT(events.count, 0u);
  EXPECT_FALSE(events.any());
}

TEST_F(InotifyWatchTest, MissingDirectoryIsNotFound) {
  auto watch = InotifyWatch::Create(dir_ / "no/such/wtmp");
  ASSERT_FALSE(watch);
  EXPECT_EQ(watch.error().code, ErrorCode::kNotFound);
}

// The daemon's loop in small: Poll only when the descriptor says so. Every record written,
// before, around and after a rotation, arrives; none waits for another event.
TEST_F(InotifyWatchTest, DrivesAFollowerThroughARotation) {
  auto watch = InotifyWatch::Create(wtmp_);
  ASSERT_TRUE(watch) << watch.error().message;
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  std::vector<int32_t> got;
  auto on_event = [&] {
    Next(*watch);
    auto batch = follower.Poll();
    ASSERT_TRUE(batch) << batch.error().message;
    for (const FollowedRecord& r : batch->records) got.push_back(r.record.pid);
  };
  AppendBytes(wtmp_, Encode(UserRecord(1)));
  on_event();
  ASSERT_EQ(std::rename(wtmp_.c_str(), wtmp1_.c_str()), 0);
  AppendBytes(wtmp1_, Encode(UserRecord(2)));
  on_event();
  AppendBytes(wtmp_, Encode(UserRecord(3)));
  on_event();
  AppendBytes(wtmp1_, Encode(UserRecord(4)));
  on_event();
  AppendBytes(wtmp_, Encode(UserRecord(5)));
  on_event();
  EXPECT_EQ(got, (std::vector<int32_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(Readable(watch->fd(), 0));
}

}  // namespace
}  // namespace utmpcd::testing
