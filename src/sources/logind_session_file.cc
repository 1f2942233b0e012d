#include "sources/logind_session_file.h"

#include <limits>
#include <optional>

namespace utmpcd {
namespace {

// Decimal digits only, no sign, within `max`; nullopt otherwise.
std::optional<int64_t> ParseDecimal(std::string_view text, int64_t max) {
  if (text.empty() || text.size() > 19) return std::nullopt;  // 19 digits: int64_t's width
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > static_cast<uint64_t>(max)) return std::nullopt;
  return static_cast<int64_t>(value);
}

// A user name as logind writes it unquoted; anything that would need shell-style unquoting is
// refused rather than half-parsed.
bool IsPlainName(std::string_view text) {
  if (text.empty() || text.size() > 256) return false;
  for (unsigned char c : text) {
    if (c <= ' ' || c == 0x7F || c == '"' || c == '\'' || c == '\\') return false;
  }
  return true;
}

}  // namespace

LogindSessionFile ParseLogindSessionFile(std::string_view text) {
  LogindSessionFile fields;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "LEADER") {
      // pid 0 is no process; the kernel's pid_max is at most 2^22, int32_t holds it.
      auto pid = ParseDecimal(value, std::numeric_limits<int32_t>::max());
      fields.leader = pid && *pid > 0 ? static_cast<int32_t>(*pid) : 0;
    } else if (key == "REALTIME") {
      auto us = ParseDecimal(value, std::numeric_limits<int64_t>::max());
      fields.realtime_us = us ? *us : 0;
    } else if (key == "USER") {
      fields.user = IsPlainName(value) ? std::string(value) : std::string();
    }
  }
  return fields;
}

bool IsLogindSessionId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum) return false;
  }
  return true;
}

}  // namespace utmpcd
