// utmpsd's configuration (ParseFleetConfig) and its hosts file's lines (ParseHostLine) on
// arbitrary bytes: an error naming the file, or a configuration; never a crash, an exception
// escaping, or undefined behaviour.
#include <cstdint>
#include <string_view>

#include "utmpsd/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = utmpcd::ParseFleetConfig(text, "fuzz.toml");
  if (!config && config.error().message.rfind("fuzz.toml", 0) != 0) __builtin_trap();
  auto line = utmpcd::ParseHostLine(text.substr(0, text.find('\n')), "hosts:1");
  if (!line && line.error().message.rfind("hosts:1", 0) != 0) __builtin_trap();
  if (line && line->name.empty()) __builtin_trap();
  return 0;
}
