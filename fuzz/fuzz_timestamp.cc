// ParseTimestamp (last -s/-t/-p arguments) on untrusted text: never a crash, an exception or
// undefined behaviour (overflow in "+99999999999y" is the classic one).
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include "core/timestamp.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A zone with daylight saving time, given inline so no tzdata is needed.
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  tzset();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // A realistic now (2023-11-14T22:13:20.123456Z), and the epoch, where "-1d" is negative.
  (void)utmpcd::ParseTimestamp(text, INT64_C(1700000000123456));
  (void)utmpcd::ParseTimestamp(text, 0);
  return 0;
}
