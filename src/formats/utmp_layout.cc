// The small parts of formats/utmp.h: layout names and detection, address text.
#include "formats/utmp.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace utmpcd {

const char* LayoutName(UtmpLayout layout) {
  return layout == UtmpLayout::kGlibc384 ? "384" : "400";
}

std::optional<UtmpLayout> ParseLayout(std::string_view name) {
  if (name == "384" || name == "glibc") return UtmpLayout::kGlibc384;
  if (name == "400" || name == "wide") return UtmpLayout::kWide400;
  return std::nullopt;
}

std::string AddressText(const std::array<uint8_t, 16>& addr) {
  static constexpr uint8_t kZero[12] = {};
  bool v6 = std::memcmp(addr.data() + 4, kZero, sizeof kZero) != 0;
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), text, sizeof text);
  return text;
}

std::string AddressText(const LoginRecord& r) { return AddressText(r.addr); }

bool HasAddress(const LoginRecord& r) {
  return std::any_of(r.addr.begin(), r.addr.end(), [](uint8_t b) { return b != 0; });
}

namespace {

// How plausible the first records are under a layout: a valid type and a microsecond count
// below one million, for each of up to 16 records.
int Plausibility(std::string_view head, UtmpLayout layout) {
  size_t rec = RecordSize(layout);
  int score = 0;
  for (size_t off = 0; off + rec <= head.size() && off < 16 * rec; off += rec) {
    auto r = DecodeUtmp(head.substr(off, rec), layout);
    if (r && r->time_usec >= 0 && r->time_usec < 1000000) ++score;
  }
  return score;
}

}  // namespace

UtmpLayout DetectLayout(std::string_view head, uint64_t file_size) {
  bool fits384 = file_size % 384 == 0;
  bool fits400 = file_size % 400 == 0;
  if (fits384 && !fits400) return UtmpLayout::kGlibc384;
  if (fits400 && !fits384) return UtmpLayout::kWide400;
  int narrow = Plausibility(head, UtmpLayout::kGlibc384);
  int wide = Plausibility(head, UtmpLayout::kWide400);
  return wide > narrow ? UtmpLayout::kWide400 : UtmpLayout::kGlibc384;
}

}  // namespace utmpcd
