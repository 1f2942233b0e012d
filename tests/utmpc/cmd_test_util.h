// Helpers for the utmpc command tests: a scratch directory, record files, and running a program
// (the real tool or $UTMPC) with a fixed environment, no terminal and stdin from /dev/null.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/login_record.h"
#include "formats/utmp.h"
#include "spawn_util.h"

namespace utmpcd::testing {

inline void WriteAll(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A directory under /tmp (short paths: a tty path in ut_line has 32 bytes), removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    char name[] = "/tmp/utmpc-XXXXXX";
    if (::mkdtemp(name) != nullptr) path_ = name;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// The utmpc under test, as ctest passes it.
inline std::string UtmpcPath() {
  const char* path = std::getenv("UTMPC");
  return path != nullptr ? path : "";
}

inline bool IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// The environment both tools run with: a locale, a time zone and nothing else.
inline Args Env(const std::string& locale, const std::string& tz) {
  return {"LC_ALL=" + locale, "TZ=" + tz, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
}

// A record with the fields the tests vary; the string_views of LoginRecord point into it.
struct Rec {
  int16_t type = kUserProcess;
  int32_t pid = 0;
  std::string line{}, id{}, user{}, host{};
  int64_t time_s = 1700000000;  // Tue Nov 14 22:13:20 UTC 2023
  int32_t time_usec = 0;
  std::array<uint8_t, 16> addr{};
  int16_t exit_termination = 0, exit_status = 0;
};

inline std::string Encode(const std::vector<Rec>& records,
                          UtmpLayout layout = UtmpLayout::kGlibc384) {
  std::string bytes;
  for (const Rec& r : records) {
    LoginRecord l;
    l.type = r.type;
    l.pid = r.pid;
    l.line = r.line;
    l.id = r.id;
    l.user = r.user;
    l.host = r.host;
    l.time_s = r.time_s;
    l.time_usec = r.time_usec;
    l.addr = r.addr;
    l.exit_termination = r.exit_termination;
    l.exit_status = r.exit_status;
    EncodeUtmp(l, layout, &bytes);
  }
  return bytes;
}

}  // namespace utmpcd::testing
