// utmp, wtmp and btmp: glibc's struct utmp as bytes on disk, decoded and encoded field by field.
//
// Layouts (native byte order):
//   kGlibc384  x86-64 and other ports with the 32-bit compat layout: ut_session and ut_tv are
//              32-bit; 384 bytes a record.
//   kWide400   64-bit ports without it (aarch64...): ut_session and both halves of ut_tv are
//              64-bit; 400 bytes a record.
// Offsets are in utmp.cc; see also docs/FORMATS.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
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
// into `bytes`. Fails with kCorrupt when the size is wrong, ut_type is not one glibc defines or
// a 64-bit ut_tv is too large for time_us() (how a garbled or misaligned record shows itself).
Result<LoginRecord> DecodeUtmp(std::string_view bytes, UtmpLayout layout);

// Appends the RecordSize(layout) bytes of `record`; text longer than its field is cut, a field
// filled completely gets no NUL (as glibc writes it). Unused bytes are zero.
void EncodeUtmp(const LoginRecord& record, UtmpLayout layout, std::string* out);

// ut_addr_v6 as text, the way utmpdump and last -i read it: IPv6 when any of its last three
// words is set, else the IPv4 address in its first word ("0.0.0.0" when nothing is recorded).
std::string AddressText(const LoginRecord& record);
// The same for an ut_addr_v6 value on its own (an Event's remote_addr).
std::string AddressText(const std::array<uint8_t, 16>& addr);
// Whether the record holds an address at all.
bool HasAddress(const LoginRecord& record);

// Picks the layout that decodes the first records of a file best; kGlibc384 when in doubt.
UtmpLayout DetectLayout(std::string_view head, uint64_t file_size);

// How much of each record a pass over a UtmpFile decodes.
enum class RecordDetail {
  kFull,  // every field
  // Only what pairing records needs: type, pid, line, user and time. Host, id, exit status,
  // session, microseconds and address stay empty until UtmpFile::Complete(). The host spans four
  // of a 384-byte record's six cache lines: a pass that prints few of the records it reads (last
  // pairs every record but may show one user's) need not bring them in from memory, nor decode
  // fields it does not print.
  kNoHost,
  // The same, with the logins (USER_PROCESS records) decoded whole, many at a time: for a
  // listing that prints every login; other records still wait for Complete().
  kNoHostButLogins,
};

// Records [first, end) of a file, counted from its start; `end` is cut to the record count.
struct RecordRange {
  uint64_t first = 0;
  uint64_t end = UINT64_MAX;
};

// A utmp-format file read through windows of mmap(2), so memory stays flat whatever its size.
// Records are counted from the start of the file; a partial record at the end is ignored and
// reported in damage(). A file truncated under the reader ends the listing early instead of
// killing the process with SIGBUS: records are decoded out of the mapping in small batches under
// a SIGBUS guard, with their text copied out, before anyone sees them. Not thread-safe.
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

  // Another reader of the same open file, for another thread: its own descriptor (dup(2)) and
  // passes, the same layout and record count. Damage it meets is its own (see MergeDamage).
  Result<UtmpFile> Share() const;

  // Calls visit(const LoginRecord&, uint64_t offset) for each record of `range` that decodes,
  // newest (last in the file) first; stops early when visit returns false. The record's text is
  // valid only during the call.
  template <typename Visit>
  Result<void> ReadBackward(Visit&& visit, RecordDetail detail = RecordDetail::kFull,
                            RecordRange range = {}) {
    return Read(true, detail, range, visit);
  }
  // The same, oldest first.
  template <typename Visit>
  Result<void> ReadForward(Visit&& visit, RecordDetail detail = RecordDetail::kFull,
                           RecordRange range = {}) {
    return Read(false, detail, range, visit);
  }

  // Decodes what a pass without hosts left out of `record` (see RecordDetail::kNoHost), which
  // it is visiting now, and returns the record whole; nullptr when the file shrank under the
  // reader (the pass then ends, as shrank() says) or the record is not one this pass is
  // visiting.
  const LoginRecord* Complete(const LoginRecord& record);

  // Whether the file got shorter under the last pass, which then ended early: what is gone is
  // gone.
  bool shrank() const { return shrank_; }
  // Adds the damage another reader of this file met (see Share) to this one's.
  void MergeDamage(const Damage& other);

  // One line for a person when damage() is not empty: "wtmp: skipped 3 garbled records (first at
  // byte 1152); ignored 17 trailing bytes at byte 38400 (truncated record)". Empty otherwise.
  std::string DamageReport() const;

 private:
  // A decoded record whose text lives in `text`, not in the mapping.
  // Standard layout: Complete() finds the slot of a record it is given.
  struct Slot {
    LoginRecord record;
    uint64_t offset;
    bool ok;
    // kNoHost: the host field in the mapping, until Complete() decodes it and the other fields
    // left out (see RecordDetail).
    const char* host_bytes;
    char text[kLineSize + kIdSize + kUserSize + kHostSize];
  };
  // Windows grow from 16 records to 21,845 (8 MiB of 384-byte records): a listing that needs
  // only the newest records maps a few pages, and a full listing makes few mmap calls.
  static constexpr uint64_t kFirstWindowRecords = 16;
  static constexpr uint64_t kMaxWindowRecords = 21845;
  // Records decoded per guarded batch: small enough to stay in cache.
  static constexpr size_t kBatchRecords = 256;

  UtmpFile() = default;
  template <typename Visit>
  Result<void> Read(bool backward, RecordDetail detail, RecordRange range, Visit& visit);
  // Starts a pass over the file; NextBatch then fills slots_ in visiting order, returning how
  // many (0 at the end, or when the file shrank under us).
  void StartPass(bool backward, RecordDetail detail, RecordRange range);
  Result<size_t> NextBatch();
  Result<void> MapWindow(uint64_t first, uint64_t count);
  // A window of about `count` records (no more) from the cursor, cut at a 2 MiB boundary of
  // the file. The kernel maps the page cache's 2 MiB folios whole (one page-table entry for
  // 512 pages) where a mapping covers them whole, which costs far less to map, unmap and walk;
  // a readahead of a big file (as `last` or `cat` does) caches most of it in such folios.
  uint64_t AlignedWindow(uint64_t count) const;
  // Where ut_tv's seconds are in a record.
  static size_t TimeOffset(UtmpLayout layout);
  // The records of the batch NextBatch will decode next, and how many, when the current mapping
  // holds them; else nullptr.
  const char* NextBatchBytes(size_t* count) const;
  // Runs f() with a SIGBUS inside the mapping turned into a false return.
  template <typename F>
  bool Guarded(F&& f);
  size_t DecodeGuarded(uint64_t first, size_t count);
  // Inlined into DecodeGuarded's loop: it runs for every record.
  [[gnu::always_inline]] inline void DecodeInto(Slot& slot, const char* bytes, uint64_t offset);
  // Decodes what a pass without hosts left out of the slot's record.
  void DecodeRestOf(Slot& slot);
  static bool IsLogin(const Slot& slot) {
    return slot.ok && slot.host_bytes != nullptr && slot.record.type == kUserProcess;
  }
  void Unmap();
  void CountGarbled(uint64_t offset);

  std::string path_;
  int fd_ = -1;
  UtmpLayout layout_ = UtmpLayout::kGlibc384;
  uint64_t size_bytes_ = 0;
  uint64_t record_count_ = 0;
  int64_t ctime_s_ = 0;
  Damage damage_;

  // The pass in progress.
  bool backward_ = true;
  RecordDetail detail_ = RecordDetail::kFull;
  uint64_t first_ = 0;  // the range of the pass
  uint64_t end_ = 0;
  uint64_t cursor_ = 0;  // backward: records left before it; forward: the next record
  bool shrank_ = false;
  uint64_t window_ = kFirstWindowRecords;
  void* map_ = nullptr;
  size_t map_len_ = 0;
  const char* map_records_ = nullptr;  // record map_first_ in the mapping
  uint64_t map_first_ = 0;
  uint64_t map_count_ = 0;
  std::unique_ptr<Slot[]> slots_;
};

template <typename Visit>
Result<void> UtmpFile::Read(bool backward, RecordDetail detail, RecordRange range, Visit& visit) {
  StartPass(backward, detail, range);
  while (true) {
    auto n = NextBatch();
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) return {};
    const Slot* const slots = slots_.get();  // once: what visit stores could alias the member
    // While visiting this batch, the next one's first and time cache lines are fetched, one
    // record per visit: the visits' work then overlaps the trips to memory that the next
    // batch's decode would otherwise wait for. (A prefetch never faults, also past the file's
    // end.)
    size_t ahead_count;
    const char* const ahead = NextBatchBytes(&ahead_count);
    const size_t rec = RecordSize(layout_);
    const size_t time_offset = TimeOffset(layout_);
    for (size_t i = 0; i < *n; ++i) {
      if (i < ahead_count) {
        const char* p = ahead + (backward ? ahead_count - 1 - i : i) * rec;
        __builtin_prefetch(p);
        __builtin_prefetch(p + time_offset);
      }
      if (slots[i].ok &&
          !visit(static_cast<const LoginRecord&>(slots[i].record), slots[i].offset)) {
        Unmap();
        return {};
      }
    }
  }
}

}  // namespace utmpcd
