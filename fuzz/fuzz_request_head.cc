// CheckRequestHead (utmpcd's HTTP server, before any endpoint) on untrusted request heads: a
// target and header values as the client sent them. Never a crash; a head it accepts has an
// origin-form target ("/..."), or the target as given when it was no absolute URI.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "net/request_head.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The first byte picks the version and the Host count; the rest is the target, then a
  // Transfer-Encoding value per '\n'-separated line.
  if (size == 0) return 0;
  unsigned version = (data[0] & 1) != 0 ? 11 : 10;
  size_t hosts = (data[0] >> 1) & 3;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t newline = rest.find('\n');
  std::string_view target = rest.substr(0, newline);
  std::vector<std::string_view> codings;
  while (newline != std::string_view::npos) {
    rest.remove_prefix(newline + 1);
    newline = rest.find('\n');
    codings.push_back(rest.substr(0, newline));
  }
  utmpcd::HeadCheck checked = utmpcd::CheckRequestHead(version, target, hosts, codings);
  if (checked.status == 0) {
    std::string lower(target.substr(0, 8));
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    bool absolute = lower.starts_with("http://") || lower.starts_with("https://");
    utmpcd::fuzz::Check(!absolute || (!checked.target.empty() && checked.target[0] == '/'),
                        "an absolute-form target comes out in origin form");
    utmpcd::fuzz::Check(codings.empty(), "a head with Transfer-Encoding is refused");
    utmpcd::fuzz::Check(version == 10 || hosts == 1, "HTTP/1.1 needs exactly one Host");
  } else {
    utmpcd::fuzz::Check(!checked.message.empty(), "a refusal says why");
  }
  return 0;
}
