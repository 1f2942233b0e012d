// Helpers for the tests of src/sources: a temporary directory and login files written the way
// login programs write them (appends through O_APPEND, sometimes in pieces).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "formats/utmp.h"

namespace utmpcd::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr ? tmp : "/tmp") + "/utmpcd_sources.XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A USER_PROCESS record told apart by its pid.
inline LoginRecord UserRecord(int32_t pid, std::string_view user = "alice",
                              std::string_view line = "pts/0") {
  LoginRecord r;
  r.type = kUserProcess;
  r.pid = pid;
  r.user = user;
  r.line = line;
  r.id = "ts/0";
  r.host = "192.0.2.7";
  r.session = pid;
  r.time_s = 1700000000 + pid;
  r.time_usec = pid % 1000000;
  return r;
}

inline std::string Encode(const LoginRecord& record, UtmpLayout layout = UtmpLayout::kGlibc384) {
  std::string bytes;
  EncodeUtmp(record, layout, &bytes);
  return bytes;
}

// Appends `bytes` to `path` (created when missing) with one write(2), as updwtmp does.
inline void AppendBytes(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

}  // namespace utmpcd::testing
