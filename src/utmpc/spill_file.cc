#include "utmpc/spill_file.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace utmpcd {
namespace {

constexpr size_t kSpillBytes = 1 << 20;

// Writes all of [data, data + size) to fd.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Result<SpillFile> SpillFile::Create() {
  const char* dir = std::getenv("TMPDIR");
  if (dir == nullptr || *dir == '\0') dir = "/tmp";
  SpillFile f;
  f.fd_ = ::open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (f.fd_ < 0) {
    // A file system without O_TMPFILE: a named file, unlinked at once.
    std::string name = std::string(dir) + "/utmpc.XXXXXX";
    f.fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (f.fd_ < 0) {
      return tl::unexpected(
          ErrnoError(std::string("cannot create a temporary file in ") + dir, errno));
    }
    ::unlink(name.c_str());
  }
  f.buffer_.reserve(kSpillBytes + (64 << 10));  // grown by doubling, it would fault in copies
  return f;
}

SpillFile::SpillFile(SpillFile&& other) noexcept { *this = std::move(other); }

SpillFile& SpillFile::operator=(SpillFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
    error_ = std::move(other.error_);
  }
  return *this;
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool SpillFile::MaybeSpill() { return buffer_.size() < kSpillBytes || Spill(); }

bool SpillFile::Spill() {
  if (!error_.empty()) {
    buffer_.clear();
    return false;
  }
  if (!WriteAll(fd_, buffer_.data(), buffer_.size())) {
    error_ = std::string("cannot write a temporary file: ") + std::strerror(errno);
    buffer_.clear();
    return false;
  }
  buffer_.clear();
  return true;
}

bool SpillFile::AppendTo(Output& out) {
  if (!error_.empty() || !out.Flush()) return false;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return false;
  int to = ::fileno(out.file());
  off_t offset = 0;
  while (offset < st.st_size) {
    // sendfile copies in the kernel to any file, pipe or socket; read and write otherwise.
    ssize_t n = ::sendfile(to, fd_, &offset, static_cast<size_t>(st.st_size - offset));
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) break;
    return false;
  }
  char chunk[1 << 16];
  while (offset < st.st_size) {
    ssize_t n = ::pread(fd_, chunk, sizeof chunk, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || !WriteAll(to, chunk, static_cast<size_t>(n))) return false;
    offset += n;
  }
  out.buffer().append(buffer_);
  buffer_.clear();
  return true;
}

}  // namespace utmpcd
