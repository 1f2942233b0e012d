// DecodeUtmp on untrusted bytes, both layouts: never a crash, text views stay inside the input,
// and a decoded record survives EncodeUtmp unchanged (encode(decode(x)) decodes to the same
// fields). Also DetectLayout on the same bytes as a file head.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/login_record.h"
#include "formats/utmp.h"
#include "fuzz/fuzz_check.h"

namespace utmpcd::fuzz {
namespace {

bool Inside(std::string_view field, std::string_view bytes) {
  return field.empty() ||
         (field.data() >= bytes.data() && field.data() + field.size() <= bytes.data() + bytes.size());
}

bool TextOk(std::string_view field, size_t size, std::string_view bytes) {
  return field.size() <= size && field.find('\0') == std::string_view::npos &&
         Inside(field, bytes);
}

bool SameFields(const LoginRecord& a, const LoginRecord& b) {
  return a.type == b.type && a.pid == b.pid && a.line == b.line && a.id == b.id &&
         a.user == b.user && a.host == b.host && a.exit_termination == b.exit_termination &&
         a.exit_status == b.exit_status && a.session == b.session && a.time_s == b.time_s &&
         a.time_usec == b.time_usec && a.addr == b.addr;
}

void DecodeOne(std::string_view bytes, UtmpLayout layout) {
  const size_t rec = RecordSize(layout);
  auto whole = DecodeUtmp(bytes, layout);
  Check(bytes.size() == rec || !whole, "a record of the wrong size decoded");
  if (bytes.size() < rec) return;
  std::string_view first = bytes.substr(0, rec);
  auto r = DecodeUtmp(first, layout);
  if (!r) return;
  Check(r->type >= 0 && r->type <= kMaxRecordType, "ut_type out of range");
  Check(TextOk(r->line, kLineSize, first) && TextOk(r->id, kIdSize, first) &&
            TextOk(r->user, kUserSize, first) && TextOk(r->host, kHostSize, first),
        "text field too long, holds a NUL, or points outside the record");
  // Every consumer computes time_us() and differences of times: a decoded time must allow it.
  int64_t time_us;
  Check(!__builtin_mul_overflow(r->time_s, int64_t{1000000}, &time_us) &&
            !__builtin_add_overflow(time_us, int64_t{r->time_usec}, &time_us),
        "a decoded time overflows time_us()");
  if (layout == UtmpLayout::kGlibc384) {
    Check(r->time_s >= 0 && r->time_s <= UINT32_MAX, "384-byte ut_tv.tv_sec not unsigned 32-bit");
  }

  std::string encoded;
  EncodeUtmp(*r, layout, &encoded);
  Check(encoded.size() == rec, "EncodeUtmp wrote the wrong size");
  auto again = DecodeUtmp(encoded, layout);
  Check(again.has_value(), "an encoded record does not decode");
  Check(SameFields(*r, *again), "encode(decode(x)) decodes to different fields");
  // The same record in the other layout keeps every field that fits both.
  UtmpLayout other = layout == UtmpLayout::kGlibc384 ? UtmpLayout::kWide400 : UtmpLayout::kGlibc384;
  std::string converted;
  EncodeUtmp(*r, other, &converted);
  auto crossed = DecodeUtmp(converted, other);
  Check(crossed.has_value(), "a record converted to the other layout does not decode");
  Check(crossed->user == r->user && crossed->line == r->line && crossed->host == r->host &&
            crossed->pid == r->pid && crossed->addr == r->addr &&
            crossed->time_s == (other == UtmpLayout::kGlibc384
                                    ? static_cast<int64_t>(static_cast<uint32_t>(r->time_s))
                                    : r->time_s),
        "layout conversion changed a field");
}

}  // namespace
}  // namespace utmpcd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace utmpcd;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz::DecodeOne(bytes, UtmpLayout::kGlibc384);
  fuzz::DecodeOne(bytes, UtmpLayout::kWide400);
  // As a file head, with its real size and with a size that fits both layouts (19200 bytes).
  UtmpLayout detected = DetectLayout(bytes, size);
  fuzz::Check(detected == UtmpLayout::kGlibc384 || detected == UtmpLayout::kWide400,
              "DetectLayout returned no layout");
  (void)DetectLayout(bytes, 19200);
  return 0;
}
