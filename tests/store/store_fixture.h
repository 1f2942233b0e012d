// What SqliteStore's tests share (sqlite_store_test.cc, sqlite_store_files_test.cc): events to
// store, raw SQL on the file, and a temporary directory per test.
#pragma once

#include "store/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/schema_internal.h"

namespace utmpcd::store_test {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

inline Event MakeEvent(int64_t time_us, std::string user, std::string tty = "pts/1") {
  Event event;
  event.time_us = time_us;
  event.kind = EventKind::kLogin;
  event.user = std::move(user);
  event.tty = std::move(tty);
  event.remote_host = "10.0.0.1";
  event.pid = 1234;
  event.session = 7;
  event.source = EventSource::kWtmp;
  event.boot_id = "0123456789abcdef0123456789abcdef";
  return event;
}

// The first column of every row of `sql`, as text, through a connection of the test's own.
inline std::vector<std::string> RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> rows;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  EXPECT_EQ(rc, SQLITE_OK) << sqlite3_errmsg(db);
  const int column = sqlite3_column_count(stmt) - 1;  // EXPLAIN QUERY PLAN: the last is detail
  while (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, sql.starts_with("EXPLAIN") ? column : 0);
    rows.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

inline void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
  sqlite3_free(error);
  sqlite3_close(db);
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/store_test.XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
    path_ = dir_ + "/history.db";
  }
  void TearDown() override {
    chmod(dir_.c_str(), 0700);
    fs::remove_all(dir_);
  }

  std::unique_ptr<SqliteStore> OpenOk(const StoreOptions& options = {}) {
    auto store = SqliteStore::Open(path_, options);
    EXPECT_TRUE(store.has_value()) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  std::string dir_;
  std::string path_;
};

}  // namespace utmpcd::store_test
