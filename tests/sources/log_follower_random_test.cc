// Exactly once: a long random (fixed seed) sequence of appends in pieces, rotations with the
// follower running and stopped, truncations, restarts and crashes before a commit. What was
// committed, batch after batch, must be exactly the records written, in order.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sources/log_follower.h"
#include "sources/sources_test_util.h"

namespace utmpcd::testing {
namespace {

// Small batches so that the limit, and rotations in the middle of a batch, happen often.
constexpr size_t kBatchLimit = 16;

class ExactlyOnce {
 public:
  explicit ExactlyOnce(const TempDir& dir)
      : wtmp_(dir / "wtmp"), wtmp1_(dir / "wtmp.1"), rng_(20240531) {
    Restart();
  }

  void Step() {
    int op = Uniform(0, 99);
    if (op < 45) {
      Append(wtmp_, Uniform(1, 40), /*poll_between=*/true);
    } else if (op < 65) {
      PollAndCommit();
    } else if (op < 75) {
      Crash();
    } else if (op < 82) {
      Restart();
    } else if (op < 90) {
      Rotate(/*stopped=*/false);
    } else if (op < 96) {
      Rotate(/*stopped=*/true);
    } else {
      Truncate();
    }
  }

  void Drain() {
    while (PollAndCommit()) {
    }
  }

  const std::vector<int32_t>& written() const { return written_; }
  const std::vector<int32_t>& committed() const { return committed_; }
  int rotations() const { return rotations_; }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  // Returns whether the follower has more to give right away.
  bool PollAndCommit() {
    auto batch = follower_->Poll();
    EXPECT_TRUE(batch) << batch.error().message;
    if (!batch) return false;
    for (const FollowedRecord& r : batch->records) committed_.push_back(r.record.pid);
    stored_ = batch->cursor;
    return batch->more;
  }

  // The daemon read a batch and died before its transaction committed.
  void Crash() {
    EXPECT_TRUE(follower_->Poll());
    Restart();
  }

  void Restart() {
    follower_ = std::make_unique<LogFollower>(wtmp_, UtmpLayout::kGlibc384, stored_, kBatchLimit);
  }

  // `n` new records, written in random pieces (cut anywhere, even inside a record), with
  // Polls between the pieces when asked.
  void Append(const std::string& path, int n, bool poll_between) {
    std::string bytes;
    for (int i = 0; i < n; ++i) {
      written_.push_back(next_pid_);
      bytes += Encode(UserRecord(next_pid_++));
    }
    for (size_t at = 0; at < bytes.size();) {
      size_t piece = std::min<size_t>(bytes.size() - at, Uniform(1, 3 * 384));
      AppendBytes(path, std::string_view(bytes).substr(at, piece));
      at += piece;
      if (poll_between && Uniform(0, 3) == 0) PollAndCommit();
    }
  }

  // logrotate with `create` and `rotate 1`, while a writer still appends to the old file. The
  // follower is caught up first, so deleting the last wtmp.1 loses nothing.
  void Rotate(bool stopped) {
    if (::access(wtmp_.c_str(), F_OK) != 0) return;  // rotated already, nothing new since
    Drain();
    if (stopped) follower_.reset();
    Append(wtmp_, Uniform(0, 10), false);  // a backlog the follower has not seen
    ::unlink(wtmp1_.c_str());
    ASSERT_EQ(std::rename(wtmp_.c_str(), wtmp1_.c_str()), 0);
    Append(wtmp1_, Uniform(0, 5), false);
    if (Uniform(0, 1) == 0) Append(wtmp_, Uniform(0, 10), false);  // else created later
    if (stopped) Restart();
    ++rotations_;
  }

  // copytruncate after the follower caught up, noticed before anything new is written.
  void Truncate() {
    if (::access(wtmp_.c_str(), F_OK) != 0) return;
    Drain();
    ASSERT_EQ(::truncate(wtmp_.c_str(), 0), 0);
    PollAndCommit();
  }

  std::string wtmp_, wtmp1_;
  std::mt19937 rng_;
  std::unique_ptr<LogFollower> follower_;
  std::optional<FileCursor> stored_;
  int32_t next_pid_ = 1;
  std::vector<int32_t> written_, committed_;
  int rotations_ = 0;
};

TEST(LogFollowerRandomTest, EveryRecordCommittedExactlyOnceInOrder) {
  TempDir dir;
  ExactlyOnce run(dir);
  for (int step = 0; step < 600 && !::testing::Test::HasFatalFailure(); ++step) run.Step();
  run.Drain();
  EXPECT_GT(run.rotations(), 20);  // the sequence did exercise what it is about
  EXPECT_GT(run.written().size(), 3000u);
  ASSERT_EQ(run.committed().size(), run.written().size());
  EXPECT_EQ(run.committed(), run.written());
}

}  // namespace
}  // namespace utmpcd::testing
