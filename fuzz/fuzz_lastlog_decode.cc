// DecodeLastlog on untrusted bytes: never a crash, only exact-size records decode, text holds
// no NUL and fits its field, and EncodeLastlog writes back what was read.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "formats/lastlog.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace utmpcd;
  using fuzz::Check;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The uid is the record's position in the file; take it from the input so any value is tried.
  uint32_t uid = 0;
  std::memcpy(&uid, data, size < sizeof uid ? size : sizeof uid);
  auto whole = DecodeLastlog(bytes, uid);
  Check(size == kLastlogRecordSize || !whole, "a lastlog record of the wrong size decoded");
  if (size < kLastlogRecordSize) return 0;
  std::string_view record = bytes.substr(0, kLastlogRecordSize);
  auto e = DecodeLastlog(record, uid);
  Check(e.has_value(), "a lastlog record of the right size did not decode");
  Check(e->uid == uid, "uid not kept");
  Check(e->time_s >= 0 && e->time_s <= UINT32_MAX, "ll_time not unsigned 32-bit");
  Check(e->line.size() <= 32 && e->line.find('\0') == std::string::npos, "bad ll_line");
  Check(e->host.size() <= 256 && e->host.find('\0') == std::string::npos, "bad ll_host");

  std::string encoded;
  EncodeLastlog(*e, &encoded);
  Check(encoded.size() == kLastlogRecordSize, "EncodeLastlog wrote the wrong size");
  auto again = DecodeLastlog(encoded, uid);
  Check(again.has_value() && again->time_s == e->time_s && again->line == e->line &&
            again->host == e->host,
        "encode(decode(x)) decodes to different fields");
  return 0;
}
