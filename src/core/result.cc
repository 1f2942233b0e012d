#include "core/result.h"

#include <cstring>

namespace utmpcd {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kCorrupt:
      return "corrupt";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kConflict:
      return "conflict";
  }
  return "unknown";
}

Error ErrnoError(const std::string& what, int errnum) {
  return Error{errnum == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
               what + ": " + std::strerror(errnum)};
}

}  // namespace utmpcd
