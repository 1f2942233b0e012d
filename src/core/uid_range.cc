#include "core/uid_range.h"

#include <cerrno>
#include <cstdlib>
#include <string>

namespace utmpcd {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<UidRange> ParseUidRange(std::string_view view) {
  // strtoul as shadow does it, on a NUL-terminated copy: the same numbers accepted, and an
  // embedded NUL ends the text as it would there.
  std::string copy(view.substr(0, view.find('\0')));
  const char* text = copy.c_str();
  char* end = nullptr;
  errno = 0;
  UidRange range;
  if (text[0] == '-') {
    if (!IsDigit(text[1])) return std::nullopt;
    range.max = std::strtoul(text + 1, &end, 10);
    if (*end != '\0' || errno == ERANGE) return std::nullopt;
    return range;
  }
  unsigned long n = std::strtoul(text, &end, 10);
  if (errno == ERANGE) return std::nullopt;
  if (*end == '\0') {
    range.min = range.max = n;
    return range;
  }
  if (*end != '-') return std::nullopt;
  range.min = n;
  ++end;
  if (*end == '\0') return range;
  if (!IsDigit(*end)) return std::nullopt;
  range.max = std::strtoul(end, &end, 10);
  if (*end != '\0' || errno == ERANGE) return std::nullopt;
  return range;
}

}  // namespace utmpcd
