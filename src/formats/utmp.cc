#include "formats/utmp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <type_traits>

#include <fmt/format.h>

namespace utmpcd {
namespace {

// Field offsets shared by both layouts, then the ones that differ (see utmp.h).
constexpr size_t kTypeOffset = 0;
constexpr size_t kPidOffset = 4;
constexpr size_t kLineOffset = 8;
constexpr size_t kIdOffset = 40;
constexpr size_t kUserOffset = 44;
constexpr size_t kHostOffset = 76;
constexpr size_t kExitOffset = 332;
constexpr size_t kSessionOffset = 336;

struct WideOffsets {
  size_t tv_sec, tv_usec, addr, size;
  bool wide;
};
constexpr WideOffsets kGlibc{340, 344, 348, 384, false};
constexpr WideOffsets kWide{344, 352, 360, 400, true};

constexpr const WideOffsets& OffsetsOf(UtmpLayout layout) {
  return layout == UtmpLayout::kGlibc384 ? kGlibc : kWide;
}

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void Store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// Length of a text field: up to its first NUL, or all of it. Runs three or four times per
// record, so it tests 16 bytes at a time with SSE2 (8 with a word elsewhere), and never reads a
// chunk past the NUL: a short user name leaves the cache line after it untouched.
#if defined(__SSE2__)
// A bit for each NUL among the 16 bytes at p, the first byte's lowest.
unsigned NulBits16(const char* p) {
  __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(chunk, _mm_setzero_si128())));
}
#endif

size_t FieldLength(const char* p, size_t size) {
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= size; i += 16) {
    if (unsigned nul = NulBits16(p + i); nul != 0) {
      return i + static_cast<size_t>(std::countr_zero(nul));
    }
  }
#else
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= size; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      uint64_t zero = (w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL;
      if (zero != 0) return i + (std::countr_zero(zero) >> 3);
    }
  }
#endif
  for (; i < size; ++i) {
    if (p[i] == '\0') return i;
  }
  return size;
}

std::string_view Text(const char* p, size_t size) { return {p, FieldLength(p, size)}; }

// FieldLength of the fields every record has, without a loop: ut_line and ut_user (32 bytes;
// the second half is read only when the first holds no NUL) and ut_id (4 bytes).
size_t Length32(const char* p) {
#if defined(__SSE2__)
  if (unsigned low = NulBits16(p); low != 0) return static_cast<size_t>(std::countr_zero(low));
  unsigned high = NulBits16(p + 16);
  return high != 0 ? 16 + static_cast<size_t>(std::countr_zero(high)) : 32;
#else
  return FieldLength(p, 32);
#endif
}

size_t Length4(const char* p) {
  if constexpr (std::endian::native == std::endian::little) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    uint32_t zero = (w - 0x01010101U) & ~w & 0x80808080U;
    return zero != 0 ? static_cast<size_t>(std::countr_zero(zero) >> 3) : 4;
  } else {
    return FieldLength(p, 4);
  }
}

void PutText(char* p, size_t size, std::string_view text) {
  std::memcpy(p, text.data(), std::min(size, text.size()));
}

}  // namespace

size_t RecordSize(UtmpLayout layout) { return OffsetsOf(layout).size; }

namespace {

// The fields DecodeFields leaves out without `whole`: id, host, exit status, session and
// address.
[[gnu::always_inline]] inline void DecodeRest(const char* p, const WideOffsets& o, LoginRecord* r) {
  r->id = {p + kIdOffset, Length4(p + kIdOffset)};
  r->host = Text(p + kHostOffset, kHostSize);
  r->exit_termination = Load<int16_t>(p + kExitOffset);
  r->exit_status = Load<int16_t>(p + kExitOffset + 2);
  if (o.wide) {
    r->session = static_cast<int32_t>(Load<int64_t>(p + kSessionOffset));
  } else {
    r->session = Load<int32_t>(p + kSessionOffset);
  }
  std::memcpy(r->addr.data(), p + o.addr, r->addr.size());
}

// Decodes a record at `p`; false when ut_type is not one glibc defines or the time is out of
// range. Without `whole`, only what pairing records needs (type, pid, line, user and time, with
// the microseconds a row's logout time carries), the rest left empty for DecodeRest. Builds
// nothing that needs destroying: it runs under the SIGBUS guard (see DecodeGuarded).
[[gnu::always_inline]] inline bool DecodeFields(const char* p, const WideOffsets& o, LoginRecord* r,
                                                bool whole = true) {
  r->type = Load<int16_t>(p + kTypeOffset);
  if (r->type < 0 || r->type > kMaxRecordType) return false;
  r->pid = Load<int32_t>(p + kPidOffset);
  static_assert(kLineSize == 32 && kUserSize == 32 && kIdSize == 4);
  r->line = {p + kLineOffset, Length32(p + kLineOffset)};
  r->user = {p + kUserOffset, Length32(p + kUserOffset)};
  if (o.wide) {
    r->time_s = Load<int64_t>(p + o.tv_sec);
    // A 64-bit second count whose time_us() would overflow int64 (about 292,000 years from
    // 1970) is no real time but a garbled record; passed on, every time_us() and every
    // difference of two times would be undefined behaviour (found by fuzz_utmp_listing).
    constexpr int64_t kMaxTimeS = (INT64_MAX - INT32_MAX) / 1000000;
    if (r->time_s > kMaxTimeS || r->time_s < -kMaxTimeS) return false;
    r->time_usec = static_cast<int32_t>(Load<int64_t>(p + o.tv_usec));
  } else {
    // Unsigned: a 32-bit second counter read as glibc 2.40 reads it, good until 2106.
    r->time_s = Load<uint32_t>(p + o.tv_sec);
    r->time_usec = Load<int32_t>(p + o.tv_usec);
  }
  if (whole) {
    DecodeRest(p, o, r);
  } else {
    // Each field stored on its own: `id = host = {}` copied host to id with a 16-byte load of
    // what had just been stored 8 bytes at a time, a store-forwarding stall on every record.
    r->id = std::string_view();
    r->host = std::string_view();
    r->exit_termination = 0;
    r->exit_status = 0;
    r->session = 0;
    r->addr = {};
  }
  return true;
}

// The SIGBUS guard: a fault inside the guarded mapping jumps back to DecodeGuarded.
struct Guard {
  sigjmp_buf jump;
  const char* begin;
  const char* end;
};
thread_local Guard* t_guard = nullptr;
struct sigaction g_previous_sigbus;

void OnSigbus(int sig, siginfo_t* info, void* context) {
  Guard* guard = t_guard;
  const char* addr = static_cast<const char*>(info->si_addr);
  if (guard != nullptr && addr >= guard->begin && addr < guard->end) siglongjmp(guard->jump, 1);
  // Not a fault of ours: do what would have happened without this handler.
  if ((g_previous_sigbus.sa_flags & SA_SIGINFO) != 0) {
    g_previous_sigbus.sa_sigaction(sig, info, context);
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    g_previous_sigbus.sa_handler(sig);
  } else {
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
  }
}

void InstallSigbusHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    // SA_NODEFER: SIGBUS stays unblocked after the jump, so sigsetjmp need not save the mask.
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &g_previous_sigbus);
  });
}

}  // namespace

Result<LoginRecord> DecodeUtmp(std::string_view bytes, UtmpLayout layout) {
  const WideOffsets& o = OffsetsOf(layout);
  if (bytes.size() != o.size) {
    return MakeError(ErrorCode::kCorrupt,
                     fmt::format("record of {} bytes, expected {}", bytes.size(), o.size));
  }
  LoginRecord r;
  if (!DecodeFields(bytes.data(), o, &r)) {
    return MakeError(ErrorCode::kCorrupt,
                     fmt::format("invalid ut_type {} or ut_tv", Load<int16_t>(bytes.data())));
  }
  return r;
}

void EncodeUtmp(const LoginRecord& r, UtmpLayout layout, std::string* out) {
  const WideOffsets& o = OffsetsOf(layout);
  size_t start = out->size();
  out->resize(start + o.size, '\0');
  char* p = out->data() + start;
  Store<int16_t>(p + kTypeOffset, r.type);
  Store<int32_t>(p + kPidOffset, r.pid);
  PutText(p + kLineOffset, kLineSize, r.line);
  PutText(p + kIdOffset, kIdSize, r.id);
  PutText(p + kUserOffset, kUserSize, r.user);
  PutText(p + kHostOffset, kHostSize, r.host);
  Store<int16_t>(p + kExitOffset, r.exit_termination);
  Store<int16_t>(p + kExitOffset + 2, r.exit_status);
  if (o.wide) {
    Store<int64_t>(p + kSessionOffset, r.session);
    Store<int64_t>(p + o.tv_sec, r.time_s);
    Store<int64_t>(p + o.tv_usec, r.time_usec);
  } else {
    Store<int32_t>(p + kSessionOffset, r.session);
    Store<uint32_t>(p + o.tv_sec, static_cast<uint32_t>(r.time_s));
    Store<int32_t>(p + o.tv_usec, r.time_usec);
  }
  std::memcpy(p + o.addr, r.addr.data(), r.addr.size());
}

Result<UtmpFile> UtmpFile::Open(const std::string& path, std::optional<UtmpLayout> layout) {
  UtmpFile f;
  f.path_ = path;
  f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd_ < 0) return tl::unexpected(ErrnoError("cannot open " + path, errno));
  struct stat st {};
  if (fstat(f.fd_, &st) != 0) return tl::unexpected(ErrnoError("stat of " + path, errno));
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, path + ": not a regular file");
  }
  f.size_bytes_ = static_cast<uint64_t>(st.st_size);
  f.ctime_s_ = st.st_ctim.tv_sec;
  if (layout) {
    f.layout_ = *layout;
  } else {
    char head[16 * 400];
    ssize_t n = pread(f.fd_, head, sizeof head, 0);
    if (n < 0) return tl::unexpected(ErrnoError("cannot read " + path, errno));
    f.layout_ = DetectLayout(std::string_view(head, static_cast<size_t>(n)), f.size_bytes_);
  }
  size_t rec = RecordSize(f.layout_);
  f.record_count_ = f.size_bytes_ / rec;
  f.damage_.trailing_bytes = f.size_bytes_ % rec;
  return f;
}

Result<UtmpFile> UtmpFile::Share() const {
  UtmpFile f;
  f.path_ = path_;
  f.fd_ = fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (f.fd_ < 0) return tl::unexpected(ErrnoError("cannot share " + path_, errno));
  f.layout_ = layout_;
  f.size_bytes_ = size_bytes_;
  f.record_count_ = record_count_;
  f.ctime_s_ = ctime_s_;
  f.damage_.trailing_bytes = damage_.trailing_bytes;
  return f;
}

void UtmpFile::MergeDamage(const Damage& other) {
  if (other.garbled == 0) return;
  if (damage_.garbled == 0 || other.first_garbled_offset < damage_.first_garbled_offset) {
    damage_.first_garbled_offset = other.first_garbled_offset;
  }
  damage_.garbled += other.garbled;
}

UtmpFile::UtmpFile(UtmpFile&& other) noexcept { *this = std::move(other); }

UtmpFile& UtmpFile::operator=(UtmpFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    layout_ = other.layout_;
    size_bytes_ = other.size_bytes_;
    record_count_ = other.record_count_;
    ctime_s_ = other.ctime_s_;
    damage_ = other.damage_;
    other.Unmap();
  }
  return *this;
}

UtmpFile::~UtmpFile() {
  Unmap();
  if (fd_ >= 0) ::close(fd_);
}

void UtmpFile::Unmap() {
  if (map_ != nullptr) munmap(map_, map_len_);
  map_ = nullptr;
  map_len_ = 0;
  map_count_ = 0;
}

void UtmpFile::StartPass(bool backward, RecordDetail detail, RecordRange range) {
  Unmap();
  damage_.garbled = 0;
  shrank_ = false;
  backward_ = backward;
  detail_ = detail;
  end_ = std::min(range.end, record_count_);
  first_ = std::min(range.first, end_);
  cursor_ = backward ? end_ : first_;
  window_ = kFirstWindowRecords;
  if (!slots_) slots_ = std::make_unique<Slot[]>(kBatchRecords);
}

Result<void> UtmpFile::MapWindow(uint64_t first, uint64_t count) {
  Unmap();
  const uint64_t rec = RecordSize(layout_);
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t begin = first * rec;
  uint64_t aligned = begin / page * page;
  size_t len = static_cast<size_t>(begin - aligned + count * rec);
  // MAP_POPULATE: the whole window is read anyway, and one fault per page would cost more.
  void* m = mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_,
                 static_cast<off_t>(aligned));
  if (m == MAP_FAILED) return tl::unexpected(ErrnoError("cannot map " + path_, errno));
  map_ = m;
  map_len_ = len;
  map_records_ = static_cast<const char*>(m) + (begin - aligned);
  map_first_ = first;
  map_count_ = count;
  return {};
}

uint64_t UtmpFile::AlignedWindow(uint64_t count) const {
  constexpr uint64_t kHugePage = 2 << 20;
  const uint64_t rec = RecordSize(layout_);
  if (count * rec < 2 * kHugePage) return count;  // a small window, at the start of a pass
  if (backward_) {
    // Start at the first record from the 2 MiB boundary at or after where it would start.
    uint64_t boundary = ((cursor_ - count) * rec + kHugePage - 1) / kHugePage * kHugePage;
    uint64_t first = (boundary + rec - 1) / rec;
    return first < cursor_ ? cursor_ - first : count;
  }
  // End with the record that crosses the 2 MiB boundary at or before where it would end.
  uint64_t boundary = (cursor_ + count) * rec / kHugePage * kHugePage;
  uint64_t end = (boundary + rec - 1) / rec;
  return end > cursor_ ? end - cursor_ : count;
}

size_t UtmpFile::TimeOffset(UtmpLayout layout) { return OffsetsOf(layout).tv_sec; }

Result<size_t> UtmpFile::NextBatch() {
  uint64_t left = backward_ ? cursor_ - first_ : end_ - cursor_;
  if (left == 0) {
    Unmap();
    return 0;
  }
  uint64_t map_end = map_first_ + map_count_;
  bool covered = map_count_ > 0 && (backward_ ? cursor_ > map_first_ && cursor_ <= map_end
                                              : cursor_ >= map_first_ && cursor_ < map_end);
  if (!covered) {
    uint64_t count = left < window_ ? left : window_;
    if (count == window_) count = AlignedWindow(count);
    auto mapped = MapWindow(backward_ ? cursor_ - count : cursor_, count);
    if (!mapped) return tl::unexpected(mapped.error());
    window_ = window_ * 2 < kMaxWindowRecords ? window_ * 2 : kMaxWindowRecords;
    map_end = map_first_ + map_count_;
  }
  uint64_t available = backward_ ? cursor_ - map_first_ : map_end - cursor_;
  size_t n = static_cast<size_t>(available < kBatchRecords ? available : kBatchRecords);
  uint64_t first = backward_ ? cursor_ - n : cursor_;
  if (DecodeGuarded(first, n) < n) {  // the file shrank under us: what is gone is gone
    Unmap();
    cursor_ = backward_ ? first_ : end_;
    shrank_ = true;
    return 0;
  }
  cursor_ = backward_ ? cursor_ - n : cursor_ + n;
  return n;
}

const char* UtmpFile::NextBatchBytes(size_t* count) const {
  *count = 0;
  if (map_ == nullptr) return nullptr;
  const uint64_t left = backward_ ? cursor_ - first_ : end_ - cursor_;
  const uint64_t in_map = backward_ ? cursor_ - map_first_ : map_first_ + map_count_ - cursor_;
  const uint64_t n = std::min<uint64_t>({left, in_map, kBatchRecords});
  if (n == 0) return nullptr;
  *count = static_cast<size_t>(n);
  return map_records_ + ((backward_ ? cursor_ - n : cursor_) - map_first_) * RecordSize(layout_);
}

template <typename F>
bool UtmpFile::Guarded(F&& f) {
  InstallSigbusHandler();
  Guard guard;
  guard.begin = static_cast<const char*>(map_);
  guard.end = guard.begin + map_len_;
  if (sigsetjmp(guard.jump, 0) != 0) {
    t_guard = nullptr;
    return false;
  }
  t_guard = &guard;
  f();
  t_guard = nullptr;
  return true;
}

size_t UtmpFile::DecodeGuarded(uint64_t first, size_t count) {
  const size_t rec = RecordSize(layout_);
  const char* base = map_records_ + (first - map_first_) * rec;
  const bool host = detail_ == RecordDetail::kFull;
  const size_t time_offset = OffsetsOf(layout_).tv_sec;
  Slot* const slots = slots_.get();  // once: stores to slots could alias the member
  bool whole = Guarded([&] {
    // Each pass over the batch starts with a bare loop that loads the cache lines the decode
    // will read (most of them already on their way: Read prefetches a batch while visiting the
    // one before). With nothing else in it, the processor has many trips to memory under way at
    // once; the decode, long per record, stalled on each record's first load even with
    // prefetches. The batch then stays in cache for the decode.
    uint64_t touched = 0;
    for (size_t i = 0; i < count; ++i) {
      const char* r = base + i * rec;
      touched += static_cast<unsigned char>(r[kTypeOffset]);
      touched += static_cast<unsigned char>(r[time_offset]);
      if (host) touched += static_cast<unsigned char>(r[kHostOffset]);
    }
    asm volatile("" : : "r"(touched));  // the loads must happen
    for (size_t i = 0; i < count; ++i) {
      size_t index = backward_ ? count - 1 - i : i;
      DecodeInto(slots[i], base + index * rec, (first + index) * rec);
    }
    if (detail_ == RecordDetail::kNoHostButLogins) {
      // The same for the hosts of the batch's logins.
      for (size_t i = 0; i < count; ++i) {
        if (IsLogin(slots[i])) touched += static_cast<unsigned char>(slots[i].host_bytes[0]);
      }
      asm volatile("" : : "r"(touched));
      for (size_t i = 0; i < count; ++i) {
        if (IsLogin(slots[i])) DecodeRestOf(slots[i]);
      }
    }
  });
  return whole ? count : 0;
}

void UtmpFile::DecodeInto(Slot& slot, const char* bytes, uint64_t offset) {
  slot.offset = offset;
  const bool host = detail_ == RecordDetail::kFull;
  slot.ok = DecodeFields(bytes, OffsetsOf(layout_), &slot.record, host);
  if (!slot.ok) {
    CountGarbled(offset);
    return;
  }
  char* p = slot.text;
  LoginRecord& r = slot.record;
  if (host) {
    // Line, id and user at their fixed sizes (a few vector moves); the host, mostly empty
    // space, at its own length.
    std::memcpy(p, bytes + kLineOffset, kLineSize + kIdSize + kUserSize);
    std::memcpy(p + kLineSize + kIdSize + kUserSize, r.host.data(), r.host.size());
    r.host = std::string_view(p + kLineSize + kIdSize + kUserSize, r.host.size());
    slot.host_bytes = nullptr;
  } else {
    // Only the bytes read already: a user name shorter than 16 bytes leaves the rest of its
    // field, on the next cache line, untouched. Fixed sizes: a few vector moves.
    std::memcpy(p, bytes + kLineOffset, kLineSize + kIdSize);
    if (r.user.size() < 16) {
      std::memcpy(p + kLineSize + kIdSize, bytes + kUserOffset, 16);
    } else {
      std::memcpy(p + kLineSize + kIdSize, bytes + kUserOffset, kUserSize);
    }
    slot.host_bytes = bytes + kHostOffset;
  }
  r.line = std::string_view(p, r.line.size());
  r.id = std::string_view(p + kLineSize, r.id.size());
  r.user = std::string_view(p + kLineSize + kIdSize, r.user.size());
}

void UtmpFile::DecodeRestOf(Slot& slot) {
  LoginRecord& r = slot.record;
  DecodeRest(slot.host_bytes - kHostOffset, OffsetsOf(layout_), &r);
  // The id was copied with the line; the host goes after the user.
  char* p = slot.text;
  r.id = std::string_view(p + kLineSize, r.id.size());
  char* host = p + kLineSize + kIdSize + kUserSize;
  std::memcpy(host, r.host.data(), r.host.size());
  r.host = std::string_view(host, r.host.size());
  slot.host_bytes = nullptr;
}

const LoginRecord* UtmpFile::Complete(const LoginRecord& record) {
  static_assert(std::is_standard_layout_v<Slot>);
  if (shrank_) return nullptr;  // the mapping is gone
  // The record is the first member of a slot of the current batch.
  auto at = reinterpret_cast<uintptr_t>(&record);
  auto first = reinterpret_cast<uintptr_t>(slots_.get());
  const uintptr_t end = first + kBatchRecords * sizeof(Slot);
  if (at < first || at >= end || (at - first) % sizeof(Slot) != 0) return nullptr;  // not ours
  Slot& s = slots_[(at - first) / sizeof(Slot)];
  if (s.host_bytes == nullptr) return &s.record;
  if (!Guarded([&] { DecodeRestOf(s); })) {
    Unmap();
    cursor_ = backward_ ? first_ : end_;
    shrank_ = true;
    return nullptr;
  }
  return &s.record;
}

void UtmpFile::CountGarbled(uint64_t offset) {
  // Read backward, the first one met is the last in the file: keep the lowest offset.
  if (damage_.garbled++ == 0 || offset < damage_.first_garbled_offset) {
    damage_.first_garbled_offset = offset;
  }
}

std::string UtmpFile::DamageReport() const {
  std::string report;
  if (damage_.garbled > 0) {
    report = fmt::format("{}: skipped {} garbled record{} (first at byte {})", path_,
                         damage_.garbled, damage_.garbled == 1 ? "" : "s",
                         damage_.first_garbled_offset);
  }
  if (damage_.trailing_bytes > 0) {
    report += report.empty() ? path_ + ": " : "; ";
    report += fmt::format("ignored {} trailing bytes at byte {} (truncated record)",
                          damage_.trailing_bytes, size_bytes_ - damage_.trailing_bytes);
  }
  return report;
}

}  // namespace utmpcd
