#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "formats/utmp.h"

namespace utmpcd {
namespace {

class UtmpFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/utmp_file_test.XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = name;
  }
  void TearDown() override { unlink(path_.c_str()); }

  // Writes `n` login records whose pid is their index; returns the bytes.
  std::string Records(int n) {
    std::string bytes;
    for (int i = 0; i < n; ++i) {
      LoginRecord r;
      r.type = kUserProcess;
      r.pid = i;
      r.user = "user";
      r.line = "pts/1";
      r.time_s = 1700000000 + i;
      EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
    }
    return bytes;
  }
  void Write(const std::string& bytes) {
    FILE* f = std::fopen(path_.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }

  std::string path_;
};

// 50,000 records span several mmap windows and hundreds of batches: every record must come out
// exactly once, in order, in both directions.
TEST_F(UtmpFileTest, VisitsEveryRecordOnceInOrderBothWays) {
  Write(Records(50000));
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->record_count(), 50000u);
  int32_t expect = 49999;
  ASSERT_TRUE(file->ReadBackward([&](const LoginRecord& r, uint64_t offset) {
    EXPECT_EQ(r.pid, expect);
    EXPECT_EQ(offset, static_cast<uint64_t>(expect) * 384);
    EXPECT_EQ(r.user, "user");
    --expect;
    return true;
  }));
  EXPECT_EQ(expect, -1);
  expect = 0;
  ASSERT_TRUE(file->ReadForward([&](const LoginRecord& r, uint64_t) {
    EXPECT_EQ(r.pid, expect++);
    return true;
  }));
  EXPECT_EQ(expect, 50000);
}

TEST_F(UtmpFileTest, GarbledAndTruncatedRecordsAreSkippedAndReported) {
  std::string bytes = Records(10);
  bytes[3 * 384] = 42;  // record 3 gets an impossible ut_type
  bytes[7 * 384] = 99;
  bytes += std::string(100, 'x');  // a partial record at the end
  Write(bytes);
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file);
  std::vector<int32_t> pids;
  ASSERT_TRUE(file->ReadForward([&](const LoginRecord& r, uint64_t) {
    pids.push_back(r.pid);
    return true;
  }));
  EXPECT_EQ(pids, (std::vector<int32_t>{0, 1, 2, 4, 5, 6, 8, 9}));
  EXPECT_EQ(file->damage().garbled, 2u);
  EXPECT_EQ(file->damage().first_garbled_offset, 3u * 384);
  EXPECT_EQ(file->damage().trailing_bytes, 100u);
  EXPECT_EQ(file->DamageReport(),
            path_ + ": skipped 2 garbled records (first at byte 1152); ignored 100 trailing "
                    "bytes at byte 3840 (truncated record)");
}

// A wtmp truncated while it is being listed (logrotate's copytruncate, an admin's "> wtmp")
// would kill an mmap reader with SIGBUS; the listing must just end.
TEST_F(UtmpFileTest, FileTruncatedUnderTheReaderEndsTheListing) {
  Write(Records(200000));
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file);
  uint64_t seen = 0;
  auto result = file->ReadForward([&](const LoginRecord&, uint64_t) {
    if (++seen == 1000) {
      EXPECT_EQ(truncate(path_.c_str(), 0), 0);
    }
    return true;
  });
  EXPECT_TRUE(result);
  EXPECT_GE(seen, 1000u);
  EXPECT_LT(seen, 200000u);
}

TEST_F(UtmpFileTest, MissingFileIsAClearError) {
  auto file = UtmpFile::Open("/nonexistent/wtmp");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(file.error().message, "cannot open /nonexistent/wtmp: No such file or directory");
}

}  // namespace
}  // namespace utmpcd
