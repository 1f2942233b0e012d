// LogFollower on real files in a temporary directory: appends in pieces, rotation, truncation,
// garbled records, restarts from a stored cursor.
#include "sources/log_follower.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sources/sources_test_util.h"

namespace utmpcd::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint64_t kSize = 384;

std::vector<int32_t> Pids(const Batch& batch) {
  std::vector<int32_t> pids;
  for (const FollowedRecord& r : batch.records) pids.push_back(r.record.pid);
  return pids;
}

std::string Records(int32_t first, int32_t last) {
  std::string bytes;
  for (int32_t pid = first; pid <= last; ++pid) bytes += Encode(UserRecord(pid));
  return bytes;
}

FileCursor IdOf(const std::string& path, uint64_t offset) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), offset};
}

class LogFollowerTest : public ::testing::Test {
 protected:
  Batch PollOk(LogFollower& follower) {
    auto batch = follower.Poll();
    EXPECT_TRUE(batch) << batch.error().message;
    return batch ? std::move(*batch) : Batch{};
  }

  TempDir dir_;
  std::string wtmp_ = dir_ / "wtmp";
  std::string wtmp1_ = dir_ / "wtmp.1";
};

TEST_F(LogFollowerTest, ConsumesOnlyWholeRecordsOfAppendsInPieces) {
  std::string bytes = Records(1, 5);
  AppendBytes(wtmp_, bytes.substr(0, 2 * kSize + 100));  // two and a bit
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  Batch first = PollOk(follower);
  EXPECT_THAT(Pids(first), ElementsAre(1, 2));
  EXPECT_EQ(first.records[1].at, IdOf(wtmp_, kSize));
  EXPECT_EQ(first.cursor, IdOf(wtmp_, 2 * kSize));
  EXPECT_FALSE(first.more);
  EXPECT_EQ(first.records[0].record.user, "alice");  // text owned by the batch
  EXPECT_THAT(Pids(PollOk(follower)), IsEmpty());

  AppendBytes(wtmp_, bytes.substr(2 * kSize + 100, kSize));  // the rest of 3, most of 4
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(3));
  AppendBytes(wtmp_, bytes.substr(3 * kSize + 100));
  Batch last = PollOk(follower);
  EXPECT_THAT(Pids(last), ElementsAre(4, 5));
  EXPECT_EQ(last.cursor, IdOf(wtmp_, 5 * kSize));
  EXPECT_THAT(last.warnings, IsEmpty());
}

// A recycled batch's buffer is read into again: the next batch holds its own records, and a
// last, smaller read into the same buffer leaves nothing of the one before.
TEST_F(LogFollowerTest, RecycledBatchesHoldTheirOwnRecords) {
  AppendBytes(wtmp_, Records(1, 10));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt, 4);
  Batch first = PollOk(follower);
  EXPECT_THAT(Pids(first), ElementsAre(1, 2, 3, 4));
  ASSERT_TRUE(first.more);
  const char* buffer = first.storage.at(0).bytes.get();
  follower.Recycle(std::move(first));
  Batch second = PollOk(follower);
  EXPECT_THAT(Pids(second), ElementsAre(5, 6, 7, 8));
  EXPECT_EQ(second.storage.at(0).bytes.get(), buffer);  // the same memory, read again
  EXPECT_EQ(second.records[0].at, IdOf(wtmp_, 4 * kSize));
  EXPECT_EQ(second.records[3].record.user, "alice");
  follower.Recycle(std::move(second));
  Batch third = PollOk(follower);
  EXPECT_THAT(Pids(third), ElementsAre(9, 10));
  EXPECT_FALSE(third.more);
  EXPECT_EQ(third.cursor, IdOf(wtmp_, 10 * kSize));
  follower.Recycle(std::move(third));  // caught up: nothing kept
  AppendBytes(wtmp_, Records(11, 11));
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(11));
}

TEST_F(LogFollowerTest, WideLayoutFollowsIn400ByteRecords) {
  AppendBytes(wtmp_, Encode(UserRecord(1), UtmpLayout::kWide400) +
                         Encode(UserRecord(2), UtmpLayout::kWide400).substr(0, 10));
  LogFollower follower(wtmp_, UtmpLayout::kWide400, std::nullopt);
  Batch batch = PollOk(follower);
  EXPECT_THAT(Pids(batch), ElementsAre(1));
  EXPECT_EQ(batch.cursor.offset, 400u);
}

TEST_F(LogFollowerTest, MissingFileIsNotAnErrorUntilItAppears) {
  std::string deep = dir_ / "not/yet/wtmp";
  LogFollower in_missing_dir(deep, UtmpLayout::kGlibc384, std::nullopt);
  EXPECT_THAT(Pids(PollOk(in_missing_dir)), IsEmpty());

  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  Batch none = PollOk(follower);
  EXPECT_THAT(Pids(none), IsEmpty());
  EXPECT_EQ(none.cursor, FileCursor{});
  AppendBytes(wtmp_, Records(1, 2));
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(1, 2));
}

TEST_F(LogFollowerTest, NotARegularFileIsAnError) {
  ASSERT_EQ(::mkdir(wtmp_.c_str(), 0755), 0);
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  auto batch = follower.Poll();
  ASSERT_FALSE(batch);
  EXPECT_EQ(batch.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(LogFollowerTest, GarbledRecordIsSkippedCountedAndConsumed) {
  std::string garbled = Encode(UserRecord(3));
  garbled[0] = 42;  // no such ut_type
  AppendBytes(wtmp_, Records(1, 2) + garbled + Records(4, 4));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  Batch batch = PollOk(follower);
  EXPECT_THAT(Pids(batch), ElementsAre(1, 2, 4));
  EXPECT_EQ(batch.records[2].at.offset, 3 * kSize);
  EXPECT_EQ(batch.garbled, 1u);
  EXPECT_EQ(follower.garbled_total(), 1u);
  EXPECT_EQ(batch.cursor.offset, 4 * kSize);
  ASSERT_EQ(batch.warnings.size(), 1u);
  EXPECT_THAT(batch.warnings[0], HasSubstr("1 garbled record (first at byte 768"));
  AppendBytes(wtmp_, Records(5, 5));
  Batch next = PollOk(follower);
  EXPECT_THAT(Pids(next), ElementsAre(5));
  EXPECT_EQ(next.garbled, 0u);
}

// logrotate's create mode: rename, then a new file. Records a writer appends to the old file
// after the rename, even after the follower moved on, must still come out.
TEST_F(LogFollowerTest, RotationLosesNoRecordWrittenAroundIt) {
  AppendBytes(wtmp_, Records(1, 2));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(1, 2));
  AppendBytes(wtmp_, Records(3, 3));
  ASSERT_EQ(std::rename(wtmp_.c_str(), wtmp1_.c_str()), 0);
  AppendBytes(wtmp1_, Records(4, 4));  // a writer that opened wtmp before the rename
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(3, 4));  // no new file yet: keep waiting
  AppendBytes(wtmp1_, Records(5, 5));
  AppendBytes(wtmp_, Records(6, 7));
  Batch batch = PollOk(follower);
  EXPECT_THAT(Pids(batch), ElementsAre(5, 6, 7));
  EXPECT_EQ(batch.records[0].at, IdOf(wtmp1_, 4 * kSize));
  EXPECT_EQ(batch.records[1].at, IdOf(wtmp_, 0));
  EXPECT_EQ(batch.cursor, IdOf(wtmp_, 2 * kSize));
  EXPECT_THAT(batch.warnings, ElementsAre(HasSubstr("rotated")));

  AppendBytes(wtmp1_, Records(8, 8));  // late, after the switch
  AppendBytes(wtmp_, Records(9, 9));
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(8, 9));
  // Later still, polls after the switch: the old file is followed until it is deleted.
  AppendBytes(wtmp1_, Records(10, 10));
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(10));
  EXPECT_THAT(Pids(PollOk(follower)), IsEmpty());
  AppendBytes(wtmp1_, Records(11, 11));
  AppendBytes(wtmp_, Records(12, 12));
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(11, 12));
  // Deleted, the old file is let go; the new one goes on.
  ASSERT_EQ(::unlink(wtmp1_.c_str()), 0);
  AppendBytes(wtmp_, Records(13, 13));
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(13));
}

// A restart between a rotation and a late write to the old file: the batch carries the old
// file's cursor beside the new one's, and a follower resumed from both reads the late record.
TEST_F(LogFollowerTest, RotatedFileIsFollowedAcrossARestart) {
  AppendBytes(wtmp_, Records(1, 2));
  Batch before;
  {
    LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
    EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(1, 2));
    ASSERT_EQ(std::rename(wtmp_.c_str(), wtmp1_.c_str()), 0);
    AppendBytes(wtmp_, Records(3, 3));
    before = PollOk(follower);
    EXPECT_THAT(Pids(before), ElementsAre(3));
    ASSERT_TRUE(before.previous.has_value());
    EXPECT_EQ(*before.previous, IdOf(wtmp1_, 2 * kSize));
  }
  AppendBytes(wtmp1_, Records(4, 4));  // late, while no follower runs
  AppendBytes(wtmp_, Records(5, 5));
  LogFollower resumed(wtmp_, UtmpLayout::kGlibc384, before.cursor);
  resumed.ResumePrevious(*before.previous);
  Batch after = PollOk(resumed);
  EXPECT_THAT(Pids(after), ElementsAre(4, 5));
  AppendBytes(wtmp1_, Records(6, 6));
  EXPECT_THAT(Pids(PollOk(resumed)), ElementsAre(6));
  // Deleted while stopped: nothing to resume, and no error.
  ASSERT_EQ(::unlink(wtmp1_.c_str()), 0);
  LogFollower again(wtmp_, UtmpLayout::kGlibc384, IdOf(wtmp_, 2 * kSize));
  again.ResumePrevious(*before.previous);  // a rotated file gone since is no error
  Batch last = PollOk(again);
  EXPECT_THAT(Pids(last), IsEmpty());
  EXPECT_FALSE(last.previous.has_value());
}

TEST_F(LogFollowerTest, RotationByDeleteAndCreate) {
  AppendBytes(wtmp_, Records(1, 2));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(1, 2));
  ASSERT_EQ(::unlink(wtmp_.c_str()), 0);
  AppendBytes(wtmp_, Records(3, 3));
  Batch batch = PollOk(follower);
  EXPECT_THAT(Pids(batch), ElementsAre(3));
  EXPECT_EQ(batch.cursor, IdOf(wtmp_, kSize));
}

// Truncated and written past the stored cursor while no follower ran: the fingerprint of the
// record before the cursor tells the rewritten file from one that grew.
TEST_F(LogFollowerTest, AFileRewrittenPastTheCursorWhileStoppedIsReadAgain) {
  AppendBytes(wtmp_, Records(1, 2));
  Batch before;
  {
    LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
    before = PollOk(follower);
    EXPECT_THAT(Pids(before), ElementsAre(1, 2));
    EXPECT_NE(before.fingerprint, 0u);
  }
  ASSERT_EQ(::truncate(wtmp_.c_str(), 0), 0);
  AppendBytes(wtmp_, Records(3, 6));
  LogFollower resumed(wtmp_, UtmpLayout::kGlibc384, before.cursor);
  resumed.ExpectFingerprint(before.fingerprint);
  Batch after = PollOk(resumed);
  EXPECT_THAT(Pids(after), ElementsAre(3, 4, 5, 6));
  EXPECT_THAT(after.warnings, ElementsAre(HasSubstr("rewritten")));
  // A file that only grew resumes where it stood, without a warning.
  AppendBytes(wtmp_, Records(7, 7));
  LogFollower grown(wtmp_, UtmpLayout::kGlibc384, after.cursor);
  grown.ExpectFingerprint(after.fingerprint);
  Batch more = PollOk(grown);
  EXPECT_THAT(Pids(more), ElementsAre(7));
  EXPECT_THAT(more.warnings, IsEmpty());
  EXPECT_NE(more.fingerprint, after.fingerprint);
}

// logrotate's copytruncate: the same inode, shorter than the cursor.
TEST_F(LogFollowerTest, TruncationRestartsFromTheStartWithAWarning) {
  AppendBytes(wtmp_, Records(1, 4));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(1, 2, 3, 4));
  ASSERT_EQ(::truncate(wtmp_.c_str(), 0), 0);
  Batch empty = PollOk(follower);
  EXPECT_THAT(Pids(empty), IsEmpty());
  EXPECT_THAT(empty.warnings, ElementsAre(HasSubstr("truncated")));
  EXPECT_EQ(empty.cursor, IdOf(wtmp_, 0));
  AppendBytes(wtmp_, Records(5, 6));
  EXPECT_THAT(Pids(PollOk(follower)), ElementsAre(5, 6));

  // Truncated and written again, still shorter than the cursor, between two Polls.
  ASSERT_EQ(::truncate(wtmp_.c_str(), 0), 0);
  AppendBytes(wtmp_, Records(7, 7));
  Batch again = PollOk(follower);
  EXPECT_THAT(Pids(again), ElementsAre(7));
  EXPECT_THAT(again.warnings, ElementsAre(HasSubstr("truncated")));
}

TEST_F(LogFollowerTest, ResumesFromAStoredCursorWithNothingRepeated) {
  AppendBytes(wtmp_, Records(1, 3));
  FileCursor stored;
  {
    LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
    stored = PollOk(follower).cursor;
  }
  AppendBytes(wtmp_, Records(4, 5));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, stored);
  EXPECT_EQ(follower.cursor(), stored);
  Batch batch = PollOk(follower);
  EXPECT_THAT(Pids(batch), ElementsAre(4, 5));
  EXPECT_THAT(batch.warnings, IsEmpty());
}

// The daemon was down while wtmp was rotated: the rest of wtmp.1, then the new wtmp.
TEST_F(LogFollowerTest, RotatedWhileStoppedFinishesTheSiblingFirst) {
  AppendBytes(wtmp_, Records(1, 3));
  FileCursor stored{IdOf(wtmp_, 2 * kSize)};
  AppendBytes(dir_ / "wtmpx", Records(90, 90));  // a name that shares the prefix: ignored
  ASSERT_EQ(std::rename(wtmp_.c_str(), wtmp1_.c_str()), 0);
  AppendBytes(wtmp1_, Records(4, 4));
  AppendBytes(wtmp_, Records(5, 6));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, stored);
  Batch batch = PollOk(follower);
  EXPECT_THAT(Pids(batch), ElementsAre(3, 4, 5, 6));
  EXPECT_THAT(batch.warnings,
              ElementsAre(HasSubstr("rotated while stopped"), HasSubstr("rotated")));
  EXPECT_EQ(batch.cursor, IdOf(wtmp_, 2 * kSize));
}

TEST_F(LogFollowerTest, CursorOfAVanishedFileReadsThePathFromTheStart) {
  AppendBytes(wtmp_, Records(1, 2));
  FileCursor gone = IdOf(wtmp_, kSize);
  gone.inode += 1000003;  // nothing in the directory has it
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, gone);
  Batch batch = PollOk(follower);
  EXPECT_THAT(Pids(batch), ElementsAre(1, 2));
  EXPECT_THAT(batch.warnings, ElementsAre(HasSubstr("is gone")));
}

TEST_F(LogFollowerTest, HugeBacklogComesInBoundedBatches) {
  AppendBytes(wtmp_, Records(1, 1000));
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt, 64);
  std::vector<int32_t> all;
  int polls = 0;
  for (bool more = true; more; ++polls) {
    Batch batch = PollOk(follower);
    ASSERT_LE(batch.records.size(), 64u);
    for (int32_t pid : Pids(batch)) all.push_back(pid);
    more = batch.more;
  }
  EXPECT_EQ(polls, 16);  // 15 full batches and the last 40 records
  ASSERT_EQ(all.size(), 1000u);
  for (int32_t i = 0; i < 1000; ++i) ASSERT_EQ(all[i], i + 1);
}

// Records written by util-linux itself, appended with the shell's >> in two writes.
TEST_F(LogFollowerTest, FollowsRecordsWrittenByUtmpdump) {
  if (::access("/usr/bin/utmpdump", X_OK) != 0) GTEST_SKIP() << "no utmpdump here";
  std::string text = dir_ / "records.txt";
  auto undump = [&](const std::string& lines) {
    FILE* f = std::fopen(text.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(lines.c_str(), f);
    std::fclose(f);
    std::string command = "/usr/bin/utmpdump -r < '" + text + "' >> '" + wtmp_ + "' 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0);
  };
  LogFollower follower(wtmp_, UtmpLayout::kGlibc384, std::nullopt);
  undump(
      "[2] [00000] [~~  ] [reboot  ] [~           ] [6.1.0-13-amd64      ] [0.0.0.0        ] "
      "[2023-11-14T22:10:00,000000+00:00]\n"
      "[7] [04242] [ts/0] [alice   ] [pts/0       ] [example.org         ] [192.0.2.1      ] "
      "[2023-11-14T22:13:20,123456+00:00]\n");
  Batch batch = PollOk(follower);
  ASSERT_EQ(batch.records.size(), 2u);
  EXPECT_EQ(batch.records[0].record.type, kBootTime);
  const LoginRecord& alice = batch.records[1].record;
  EXPECT_EQ(alice.user, "alice");
  EXPECT_EQ(alice.line, "pts/0");
  EXPECT_EQ(alice.host, "example.org");
  EXPECT_EQ(alice.pid, 4242);
  EXPECT_EQ(alice.time_us(), 1700000000123456);
  undump(
      "[8] [04242] [ts/0] [        ] [pts/0       ] [                    ] [0.0.0.0        ] "
      "[2023-11-14T23:00:00,000000+00:00]\n");
  Batch logout = PollOk(follower);
  ASSERT_EQ(logout.records.size(), 1u);
  EXPECT_EQ(logout.records[0].record.type, kDeadProcess);
  EXPECT_EQ(logout.cursor.offset, 3 * kSize);
}

}  // namespace
}  // namespace utmpcd::testing
