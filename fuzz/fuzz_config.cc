// ParseConfig (the daemon's TOML configuration) on arbitrary bytes: an error or a config,
// never a crash, an exception escaping, or undefined behaviour.
#include <cstdint>
#include <string_view>

#include "utmpcd/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = utmpcd::ParseConfig(text, "fuzz.toml");
  if (!config && config.error().message.rfind("fuzz.toml", 0) != 0) __builtin_trap();
  return 0;
}
