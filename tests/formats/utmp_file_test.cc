#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
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

  // Writes `n` login records whose pid is their index, from host "host<index>"; returns the
  // bytes.
  std::string Records(int n) {
    std::string bytes;
    for (int i = 0; i < n; ++i) {
      LoginRecord r;
      r.type = kUserProcess;
      r.pid = i;
      r.user = "user";
      r.line = "pts/1";
      std::string host = "host" + std::to_string(i);
      r.host = host;
      r.id = "ts/1";
      r.session = i;
      r.exit_status = 3;
      r.time_s = 1700000000 + i;
      r.time_usec = i;
      r.addr[0] = static_cast<uint8_t>(i);
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

// A pass without hosts leaves them empty until Complete(), which gives each record's own.
TEST_F(UtmpFileTest, HostAndTheRestAreDecodedOnlyWhenCompleted) {
  Write(Records(3000));
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file);
  int32_t expect = 2999;
  ASSERT_TRUE(file->ReadBackward(
      [&](const LoginRecord& r, uint64_t) {
        EXPECT_EQ(r.pid, expect);
        EXPECT_EQ(r.user, "user");
        EXPECT_EQ(r.line, "pts/1");
        EXPECT_EQ(r.time_s, 1700000000 + expect);
        // What pairing records does not need waits for Complete().
        EXPECT_EQ(r.host, "");
        EXPECT_EQ(r.id, "");
        EXPECT_EQ(r.session, 0);
        if (r.pid % 7 == 0) {
          const LoginRecord* whole = file->Complete(r);
          EXPECT_EQ(whole, &r);
          EXPECT_EQ(r.host, "host" + std::to_string(r.pid));
          EXPECT_EQ(r.id, "ts/1");
          EXPECT_EQ(r.session, r.pid);
          EXPECT_EQ(r.exit_status, 3);
          EXPECT_EQ(r.time_usec, r.pid);
          EXPECT_EQ(r.addr[0], static_cast<uint8_t>(r.pid));
          EXPECT_EQ(file->Complete(r), &r);  // a second time changes nothing
          EXPECT_EQ(r.host, "host" + std::to_string(r.pid));
        }
        --expect;
        return true;
      },
      RecordDetail::kNoHost));
  EXPECT_EQ(expect, -1);
  LoginRecord stranger;
  EXPECT_EQ(file->Complete(stranger), nullptr);
}

// A range that starts and ends off any window or 2 MiB boundary, read without hosts and made
// whole record by record: the windows cut at 2 MiB boundaries of the file, and the batch after
// each one is prefetched; neither may drop, repeat or mix up a record.
TEST_F(UtmpFileTest, OddRangesAcrossManyWindowsAreReadWhole) {
  Write(Records(60000));
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file);
  const RecordRange range{7, 59993};
  int32_t expect = 59992;
  ASSERT_TRUE(file->ReadBackward(
      [&](const LoginRecord& r, uint64_t) {
        const LoginRecord* whole = file->Complete(r);
        EXPECT_NE(whole, nullptr);
        if (whole == nullptr || whole->pid != expect) {
          ADD_FAILURE() << "record " << r.pid << " where " << expect << " was expected";
          return false;
        }
        EXPECT_EQ(whole->host, "host" + std::to_string(expect));
        --expect;
        return true;
      },
      RecordDetail::kNoHost, range));
  EXPECT_EQ(expect, 6);
  expect = 7;
  ASSERT_TRUE(file->ReadForward(
      [&](const LoginRecord& r, uint64_t offset) {
        EXPECT_EQ(offset, static_cast<uint64_t>(expect) * 384);
        if (r.pid != expect || r.host != "host" + std::to_string(expect)) {
          ADD_FAILURE() << "record " << r.pid << " where " << expect << " was expected";
          return false;
        }
        ++expect;
        return true;
      },
      RecordDetail::kNoHostButLogins, range));
  EXPECT_EQ(expect, 59993);
}

TEST_F(UtmpFileTest, ReadsARangeOfRecordsBothWays) {
  Write(Records(5000));
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file);
  std::vector<int32_t> pids;
  auto collect = [&](const LoginRecord& r, uint64_t) {
    pids.push_back(r.pid);
    return true;
  };
  ASSERT_TRUE(file->ReadBackward(collect, RecordDetail::kFull, {1000, 1003}));
  EXPECT_EQ(pids, (std::vector<int32_t>{1002, 1001, 1000}));
  pids.clear();
  ASSERT_TRUE(file->ReadForward(collect, RecordDetail::kNoHost, {4998, 9999999}));
  EXPECT_EQ(pids, (std::vector<int32_t>{4998, 4999}));
  pids.clear();
  ASSERT_TRUE(file->ReadBackward(collect, RecordDetail::kFull, {7000, 8000}));
  EXPECT_TRUE(pids.empty());
}

// Two readers of one file, one per thread, each with a part of it: together they see every
// record once, and their damage adds up to what one reader of the whole file reports.
TEST_F(UtmpFileTest, SharedReadersSplitTheFileAndTheDamage) {
  std::string bytes = Records(40000);
  bytes[30000 * 384] = 42;
  bytes[1234 * 384] = 42;
  bytes[1235 * 384] = 42;
  Write(bytes);
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file);
  auto other = file->Share();
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->record_count(), 40000u);
  std::vector<int> seen(40000);
  std::thread older([&] {
    ASSERT_TRUE(other->ReadBackward(
        [&](const LoginRecord& r, uint64_t) {
          ++seen[static_cast<size_t>(r.pid)];
          return true;
        },
        RecordDetail::kNoHost, {0, 20000}));
  });
  ASSERT_TRUE(file->ReadBackward(
      [&](const LoginRecord& r, uint64_t) {
        ++seen[static_cast<size_t>(r.pid)];
        return true;
      },
      RecordDetail::kNoHost, {20000, 40000}));
  older.join();
  for (int i = 0; i < 40000; ++i) {
    EXPECT_EQ(seen[static_cast<size_t>(i)], i == 30000 || i == 1234 || i == 1235 ? 0 : 1) << i;
  }
  EXPECT_EQ(file->damage().garbled, 1u);
  file->MergeDamage(other->damage());
  EXPECT_EQ(file->damage().garbled, 3u);
  EXPECT_EQ(file->damage().first_garbled_offset, 1234u * 384);
}

// The file truncated while a pass without hosts runs: completing a record that is gone ends the
// listing, and shrank() says why.
TEST_F(UtmpFileTest, FileTruncatedBeforeCompleteEndsTheListing) {
  Write(Records(200000));
  auto file = UtmpFile::Open(path_);
  ASSERT_TRUE(file);
  uint64_t seen = 0, completed = 0;
  auto result = file->ReadBackward(
      [&](const LoginRecord& r, uint64_t) {
        if (++seen == 1000) {
          EXPECT_EQ(truncate(path_.c_str(), 0), 0);
        }
        if (file->Complete(r) == nullptr) return false;
        ++completed;
        return true;
      },
      RecordDetail::kNoHost);
  EXPECT_TRUE(result);
  EXPECT_TRUE(file->shrank());
  EXPECT_GE(completed, 999u);
  EXPECT_LT(completed, 200000u);
}

TEST_F(UtmpFileTest, MissingFileIsAClearError) {
  auto file = UtmpFile::Open("/nonexistent/wtmp");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(file.error().message, "cannot open /nonexistent/wtmp: No such file or directory");
}

}  // namespace
}  // namespace utmpcd
