// UidRange: lastlog's -u argument when it is not a login name (shadow 4.13 getrange()).
#pragma once

#include <optional>
#include <string_view>

namespace utmpcd {

// An inclusive range of uids; an end left open is nullopt.
struct UidRange {
  std::optional<unsigned long> min;
  std::optional<unsigned long> max;

  bool Contains(unsigned long uid) const { return !(min && uid < *min) && !(max && uid > *max); }
};

// "N", "-N", "N-" or "N-M" in decimal, as shadow's getrange() takes them (an empty string is
// 0, as there); nullopt for anything else, or a number that does not fit.
std::optional<UidRange> ParseUidRange(std::string_view text);

}  // namespace utmpcd
