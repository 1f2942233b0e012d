// SpillFile: text written now to be printed later, held in a buffer that spills to an unnamed
// temporary file, so that memory stays flat however much is held. A listing in two pieces
// writes its older piece here (in a child process, which shares the file) while the newer
// piece goes to the terminal.
#pragma once

#include <string>

#include "core/result.h"
#include "utmpc/output.h"

namespace utmpcd {

class SpillFile {
 public:
  // An unnamed file in $TMPDIR (or /tmp), gone when closed.
  static Result<SpillFile> Create();
  SpillFile(SpillFile&& other) noexcept;
  SpillFile& operator=(SpillFile&& other) noexcept;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  ~SpillFile();

  std::string& buffer() { return buffer_; }
  // Writes the buffer to the file once it holds more than 1 MiB; false when that failed
  // (error() says why, and nothing more is kept).
  bool MaybeSpill();
  // Writes everything buffered to the file (as the child that wrote it ends); false as
  // MaybeSpill.
  bool Flush() { return buffer_.empty() || Spill(); }
  // Appends everything held to `out`, in the order written: flushes `out`, copies the file to
  // its descriptor, then leaves the buffer's rest in out.buffer(). False when reading the file
  // or writing `out` failed.
  bool AppendTo(Output& out);
  const std::string& error() const { return error_; }

 private:
  SpillFile() = default;
  bool Spill();

  int fd_ = -1;
  std::string buffer_;
  std::string error_;
};

}  // namespace utmpcd
