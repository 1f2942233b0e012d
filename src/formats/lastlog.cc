#include "formats/lastlog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace utmpcd {
namespace {

constexpr size_t kTimeOffset = 0;
constexpr size_t kLineOffset = 4;
constexpr size_t kLineSize = 32;
constexpr size_t kHostOffset = 36;
constexpr size_t kHostSize = 256;

std::string Text(const char* p, size_t size) {
  const void* nul = std::memchr(p, 0, size);
  return std::string(p, nul ? static_cast<size_t>(static_cast<const char*>(nul) - p) : size);
}

}  // namespace

Result<LastlogEntry> DecodeLastlog(std::string_view bytes, uint32_t uid) {
  if (bytes.size() != kLastlogRecordSize) {
    return MakeError(ErrorCode::kCorrupt, fmt::format("lastlog record of {} bytes, expected {}",
                                                      bytes.size(), kLastlogRecordSize));
  }
  LastlogEntry e;
  e.uid = uid;
  uint32_t t;
  std::memcpy(&t, bytes.data() + kTimeOffset, sizeof t);
  e.time_s = t;
  e.line = Text(bytes.data() + kLineOffset, kLineSize);
  e.host = Text(bytes.data() + kHostOffset, kHostSize);
  return e;
}

void EncodeLastlog(const LastlogEntry& entry, std::string* out) {
  size_t start = out->size();
  out->resize(start + kLastlogRecordSize, '\0');
  char* p = out->data() + start;
  uint32_t t = static_cast<uint32_t>(entry.time_s);
  std::memcpy(p + kTimeOffset, &t, sizeof t);
  std::memcpy(p + kLineOffset, entry.line.data(), std::min(kLineSize, entry.line.size()));
  std::memcpy(p + kHostOffset, entry.host.data(), std::min(kHostSize, entry.host.size()));
}

Result<LastlogFile> LastlogFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(ErrnoError("cannot open " + path, errno));
  return LastlogFile(path, fd);
}

LastlogFile::LastlogFile(LastlogFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

LastlogFile::~LastlogFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::optional<LastlogEntry>> LastlogFile::Get(uint32_t uid) const {
  char buf[kLastlogRecordSize];
  off_t offset = static_cast<off_t>(uid) * static_cast<off_t>(kLastlogRecordSize);
  ssize_t n;
  do {
    n = pread(fd_, buf, sizeof buf, offset);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return tl::unexpected(ErrnoError("cannot read " + path_, errno));
  if (static_cast<size_t>(n) < sizeof buf) return std::optional<LastlogEntry>();
  auto entry = DecodeLastlog(std::string_view(buf, sizeof buf), uid);
  if (!entry) return tl::unexpected(entry.error());
  return std::optional<LastlogEntry>(std::move(*entry));
}

}  // namespace utmpcd
