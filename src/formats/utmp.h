// utmp, wtmp and btmp: glibc's struct utmp as bytes on disk, decoded and encoded field by field.
//
// Layouts (native byte order):
//   kGlibc384  x86-64 and other ports with the 32-bit compat layout: ut_session and ut_tv are
//              32-bit; 384 bytes a record.
//   kWide400   64-bit ports without it (aarch64...): ut_session and both halves of ut_tv are
//              64-bit; 400 bytes a record.
// Offsets are in utmp.cc; see also docs/FORMATS.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/login_record.h"
#include "core/result.h"

namespace utmpcd {

enum class UtmpLayout { kGlibc384, kWide400 };

size_t RecordSize(UtmpLayout layout);
const char* LayoutName(UtmpLayout layout);
// "384" or "400" (also "glibc", "wide"); nullopt for anything else.
std::optional<UtmpLayout> ParseLayout(std::string_view name);

// Decodes one record from exactly RecordSize(layout) bytes. Text fields of the result point
// into `bytes`. Fails with kCorrupt when the size is wrong or ut_type is not one glibc defines
// (how a garbled or misaligned record shows itself).
Result<LoginRecord> DecodeUtmp(std::string_view bytes, UtmpLayout layout);

// Appends the RecordSize(layout) bytes of `record`; text longer than its field is cut, a field
// filled completely gets no NUL (as glibc writes it). Unused bytes are zero.
void EncodeUtmp(const LoginRecord& record, UtmpLayout layout, std::string* out);

// Picks the layout that decodes the first records of a file best; kGlibc384 when in doubt.
UtmpLayout DetectLayout(std::string_view head, uint64_t file_size);

// A utmp-format file read in windows with pread(2), so memory stays flat whatever its size and a
// file truncated under the reader ends the listing early instead of faulting (as mmap would).
// Records are counted from the start of the file; a partial record at the end is ignored and
// reported in damage(). Not thread-safe.
class UtmpFile {
 public:
  struct Damage {
    uint64_t garbled = 0;               // records skipped because they do not decode
    uint64_t first_garbled_offset = 0;  // byte offset of the first of them
    uint64_t trailing_bytes = 0;        // a truncated record at the end of the file
  };

  // Opens `path`; the layout is detected unless given.
  static Result<UtmpFile> Open(const std::string& path, std::optional<UtmpLayout> layout = {});
  UtmpFile(UtmpFile&& other) noexcept;
  UtmpFile& operator=(UtmpFile&& other) noexcept;
  UtmpFile(const UtmpFile&) = delete;
  UtmpFile& operator=(const UtmpFile&) = delete;
  ~UtmpFile();

  const std::string& path() const { return path_; }
  UtmpLayout layout() const { return layout_; }
  uint64_t record_count() const { return record_count_; }
  uint64_t size_bytes() const { return size_bytes_; }
  // The file's ctime, which `last` reports as the start of an empty file.
  int64_t ctime_s() const { return ctime_s_; }
  const Damage& damage() const { return damage_; }

  // Calls visit(const LoginRecord&, uint64_t offset) for each record that decodes, newest (last
  // in the file) first; stops early when visit returns false. The record's text is valid only
  // during the call.
  template <typename Visit>
  Result<void> ReadBackward(Visit&& visit);
  // The same, oldest first.
  template <typename Visit>
  Result<void> ReadForward(Visit&& visit);

  // One line for a person when damage() is not empty: "wtmp: skipped 3 garbled records (first at
  // byte 1152); ignored 17 trailing bytes at byte 38400 (truncated record)". Empty otherwise.
  std::string DamageReport() const;

 private:
  // 16 records first, then doubling to 21,845 (8 MiB of 384-byte records): big reads are few,
  // memory stays flat, and a listing that needs only the newest records reads only a few.
  static constexpr uint64_t kFirstWindowRecords = 16;
  static constexpr uint64_t kMaxWindowRecords = 21845;

  UtmpFile() = default;
  // Reads records [first, first + count); fewer when the file has shrunk since Open.
  Result<std::string_view> ReadRecords(uint64_t first, uint64_t count);
  void CountGarbled(uint64_t offset);

  std::string path_;
  int fd_ = -1;
  UtmpLayout layout_ = UtmpLayout::kGlibc384;
  uint64_t size_bytes_ = 0;
  uint64_t record_count_ = 0;
  int64_t ctime_s_ = 0;
  Damage damage_;
  std::string buffer_;
};

template <typename Visit>
Result<void> UtmpFile::ReadBackward(Visit&& visit) {
  const size_t rec = RecordSize(layout_);
  damage_.garbled = 0;
  uint64_t end = record_count_;
  // Windows grow from a few records to kMaxWindowRecords, so `last -n 20` reads kilobytes.
  uint64_t window = kFirstWindowRecords;
  while (end > 0) {
    uint64_t count = end < window ? end : window;
    uint64_t first = end - count;
    auto bytes = ReadRecords(first, count);
    if (!bytes) return tl::unexpected(bytes.error());
    // A file that shrank under us: records past its new end are gone, visit what was read.
    for (uint64_t i = bytes->size() / rec; i-- > 0;) {
      auto record = DecodeUtmp(bytes->substr(i * rec, rec), layout_);
      if (!record) {
        CountGarbled((first + i) * rec);
        continue;
      }
      if (!visit(*record, (first + i) * rec)) return {};
    }
    end = first;
    window = window * 2 < kMaxWindowRecords ? window * 2 : kMaxWindowRecords;
  }
  return {};
}

template <typename Visit>
Result<void> UtmpFile::ReadForward(Visit&& visit) {
  const size_t rec = RecordSize(layout_);
  damage_.garbled = 0;
  uint64_t window = kFirstWindowRecords;
  for (uint64_t first = 0; first < record_count_;) {
    uint64_t count = record_count_ - first < window ? record_count_ - first : window;
    auto bytes = ReadRecords(first, count);
    if (!bytes) return tl::unexpected(bytes.error());
    uint64_t got = bytes->size() / rec;
    for (uint64_t i = 0; i < got; ++i) {
      auto record = DecodeUtmp(bytes->substr(i * rec, rec), layout_);
      if (!record) {
        CountGarbled((first + i) * rec);
        continue;
      }
      if (!visit(*record, (first + i) * rec)) return {};
    }
    if (got < count) break;  // the file shrank
    first += count;
    window = window * 2 < kMaxWindowRecords ? window * 2 : kMaxWindowRecords;
  }
  return {};
}

}  // namespace utmpcd
