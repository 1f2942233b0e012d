// Output: a large buffer in front of stdout, so a million rows cost a few hundred write(2)s.
#pragma once

#include <cstdio>
#include <string>

namespace utmpcd {

class Output {
 public:
  // The buffer is made big enough once: grown by doubling, a long listing would fault in
  // fresh pages of each new copy.
  explicit Output(FILE* file) : file_(file) { buffer_.reserve(kFlushBytes + kRowSlack); }
  ~Output() { Flush(); }

  std::string& buffer() { return buffer_; }
  FILE* file() const { return file_; }
  // Writes the buffer once it holds more than 1 MiB.
  void MaybeFlush() {
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  // Writes everything buffered; false when the write failed (errno says why).
  bool Flush() {
    bool ok = true;
    if (!buffer_.empty()) ok = std::fwrite(buffer_.data(), 1, buffer_.size(), file_) == buffer_.size();
    buffer_.clear();
    return std::fflush(file_) == 0 && ok;
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 20;
  static constexpr size_t kRowSlack = 64 << 10;  // what one row or record may add past it
  FILE* file_;
  std::string buffer_;
};

}  // namespace utmpcd
