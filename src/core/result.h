// Result<T> and Error: how every library in utmpcd reports failure.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace utmpcd {

enum class ErrorCode {
  kInvalidArgument,  // the caller asked for something malformed
  kNotFound,         // a named file, user or record does not exist
  kCorrupt,          // bytes that do not decode as the format says
  kIo,               // the operating system refused (errno in the message)
  kUnsupported,      // valid, but not something this build can do
  kConflict,         // someone else changed it first (another writer of the same store)
};

const char* ErrorCodeName(ErrorCode code);

// A code plus the context a person needs to act on it ("wtmp: offset 384: invalid ut_type 42").
struct Error {
  ErrorCode code;
  std::string message;
};

// A one-line alias so the switch to std::expected is one line too.
template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// An Error built from errno after a failed system call: "open /var/log/wtmp: Permission denied".
Error ErrnoError(const std::string& what, int errnum);

}  // namespace utmpcd
