// Placeholder: only "@EPOCH" until the full parser lands in this session.
#include "core/timestamp.h"

#include <string>

namespace utmpcd {

Result<int64_t> ParseTimestamp(std::string_view text, int64_t) {
  if (!text.empty() && text[0] == '@') return std::stoll(std::string(text.substr(1))) * 1000000;
  return MakeError(ErrorCode::kInvalidArgument, "unsupported time");
}

}  // namespace utmpcd
