// lastlog: the last login of each uid, a sparse file of 292-byte records at offset uid * 292.
//   0  ll_time  int32 seconds (read unsigned, as ut_tv), 0 = never
//   4  ll_line  char[32]
//  36  ll_host  char[256]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace utmpcd {

inline constexpr size_t kLastlogRecordSize = 292;

struct LastlogEntry {
  uint32_t uid = 0;
  int64_t time_s = 0;  // 0: never logged in
  std::string line;    // raw bytes up to the first NUL
  std::string host;
};

// Decodes exactly kLastlogRecordSize bytes; fails with kCorrupt on any other size.
Result<LastlogEntry> DecodeLastlog(std::string_view bytes, uint32_t uid);
// Appends the kLastlogRecordSize bytes of `entry` (its uid is not stored: it is the position).
void EncodeLastlog(const LastlogEntry& entry, std::string* out);

class LastlogFile {
 public:
  static Result<LastlogFile> Open(const std::string& path);
  LastlogFile(LastlogFile&& other) noexcept;
  LastlogFile& operator=(LastlogFile&&) = delete;
  LastlogFile(const LastlogFile&) = delete;
  ~LastlogFile();

  const std::string& path() const { return path_; }
  // The entry of `uid`; nullopt when the file ends before it (a uid that never logged in).
  Result<std::optional<LastlogEntry>> Get(uint32_t uid) const;

 private:
  LastlogFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

}  // namespace utmpcd
