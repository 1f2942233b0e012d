#include "api/whod.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace utmpcd {
namespace {

uint32_t ReadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

void PutHost32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

int64_t NonNegative(uint32_t v) { return std::max<int64_t>(0, static_cast<int32_t>(v)); }

bool HostnameByte(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

// A NUL-padded field of `size` bytes: its text up to the first NUL (what follows is padding,
// whatever it holds), each byte outside printable ASCII (a control byte, a space, a byte of
// UTF-8) as '?': rwhod copies utmp's bytes as they are, and one odd name must not cost the
// host its packet.
std::string Field(const uint8_t* p, size_t size) {
  std::string out;
  for (size_t n = 0; n < size && p[n] != 0; ++n) {
    out += (p[n] >= 0x21 && p[n] <= 0x7e) ? static_cast<char>(p[n]) : '?';
  }
  return out;
}

// Offsets in the header.
constexpr size_t kVers = 0, kType = 1, kSend = 4, kRecv = 8, kHost = 12, kLoad = 44, kBoot = 56;
constexpr size_t kHostSize = 32;

template <typename Put>
std::vector<uint8_t> Encode(const WhodStatus& s, bool spool, Put put) {
  size_t n = std::min(s.entries.size(), kWhodMaxEntries);
  std::vector<uint8_t> out(kWhodHeaderSize + n * kWhodEntrySize, 0);
  out[kVers] = 1;
  out[kType] = 1;
  put(&out[kSend], static_cast<uint32_t>(s.send_s));
  put(&out[kRecv], spool ? static_cast<uint32_t>(s.recv_s) : 0);
  std::memcpy(&out[kHost], s.hostname.data(), std::min(s.hostname.size(), kHostSize - 1));
  for (size_t i = 0; i < 3; ++i) put(&out[kLoad + 4 * i], static_cast<uint32_t>(s.load100[i]));
  put(&out[kBoot], static_cast<uint32_t>(s.boot_s));
  for (size_t i = 0; i < n; ++i) {
    uint8_t* e = &out[kWhodHeaderSize + i * kWhodEntrySize];
    const WhodEntry& w = s.entries[i];
    std::memcpy(e, w.tty.data(), std::min<size_t>(w.tty.size(), 8));
    std::memcpy(e + 8, w.user.data(), std::min<size_t>(w.user.size(), 8));
    put(e + 16, static_cast<uint32_t>(w.login_s));
    put(e + 20, static_cast<uint32_t>(std::clamp<int64_t>(w.idle_s, 0, INT32_MAX)));
  }
  return out;
}

}  // namespace

int64_t UnwrapTime32(uint32_t low, int64_t near_s) {
  constexpr int64_t kSpan = int64_t{1} << 32;
  // The candidate in near_s's 2^32 window, then the neighbour nearer to near_s.
  int64_t base = near_s - (near_s & (kSpan - 1));  // floor to a multiple of 2^32
  int64_t t = base + low;
  if (t - near_s > kSpan / 2) t -= kSpan;
  else if (near_s - t > kSpan / 2) t += kSpan;
  return t;
}

Result<WhodStatus> DecodeWhod(std::span<const uint8_t> d, int64_t now_s) {
  auto corrupt = [](std::string what) { return MakeError(ErrorCode::kCorrupt, std::move(what)); };
  if (d.size() < kWhodHeaderSize) {
    return corrupt(fmt::format("{} bytes: shorter than the 60-byte header", d.size()));
  }
  if (d.size() > kWhodMaxSize || (d.size() - kWhodHeaderSize) % kWhodEntrySize != 0) {
    return corrupt(fmt::format("{} bytes: not the header and whole entries (24 bytes, at most 42)",
                               d.size()));
  }
  if (d[kVers] != 1) return corrupt(fmt::format("version {}, not 1", d[kVers]));
  if (d[kType] != 1) return corrupt(fmt::format("type {}, not 1 (status)", d[kType]));
  WhodStatus s;
  const uint8_t* host = &d[kHost];
  size_t len = 0;
  while (len < kHostSize && host[len] != 0) {
    if (!HostnameByte(host[len])) return corrupt("a host name with a byte other than [A-Za-z0-9._-]");
    ++len;
  }
  if (len == kHostSize) return corrupt("a host name without its terminating NUL");
  if (len == 0) return corrupt("an empty host name");
  s.hostname.assign(reinterpret_cast<const char*>(host), len);
  if (s.hostname == "." || s.hostname == "..") return corrupt("a host name of dots");
  s.send_s = UnwrapTime32(ReadBe32(&d[kSend]), now_s);
  s.recv_s = now_s;
  for (size_t i = 0; i < 3; ++i) {
    s.load100[i] = static_cast<int32_t>(NonNegative(ReadBe32(&d[kLoad + 4 * i])));
  }
  s.boot_s = UnwrapTime32(ReadBe32(&d[kBoot]), now_s);
  size_t n = (d.size() - kWhodHeaderSize) / kWhodEntrySize;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* e = &d[kWhodHeaderSize + i * kWhodEntrySize];
    std::string tty = Field(e, 8);
    std::string user = Field(e + 8, 8);
    if (user.empty()) return corrupt(fmt::format("entry {}: no user", i + 1));
    s.entries.push_back(WhodEntry{.tty = std::move(tty),
                                  .user = std::move(user),
                                  .login_s = UnwrapTime32(ReadBe32(e + 16), now_s),
                                  .idle_s = NonNegative(ReadBe32(e + 20))});
  }
  return s;
}

std::vector<uint8_t> EncodeWhod(const WhodStatus& status) { return Encode(status, false, PutBe32); }

std::vector<uint8_t> EncodeWhodSpool(const WhodStatus& status) {
  return Encode(status, true, PutHost32);
}

}  // namespace utmpcd
