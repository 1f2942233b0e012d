// String helpers private to src/core.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace utmpcd::internal {

// Whether `s` starts with the literal `prefix`; the compile-time length lets the compiler inline
// the comparison (this runs for every record of a listing).
template <size_t N>
bool StartsWith(std::string_view s, const char (&prefix)[N]) {
  return s.size() >= N - 1 && std::memcmp(s.data(), prefix, N - 1) == 0;
}

}  // namespace utmpcd::internal
