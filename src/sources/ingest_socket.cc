#include "sources/ingest_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

namespace utmpcd {
namespace {

Result<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Keep room for the terminating NUL: a name filling sun_path exactly is legal but is not a
  // C string, and every tool that prints or opens it would read past the end.
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return MakeError(ErrorCode::kInvalidArgument, "ingest socket: path must be 1.." +
                                                      std::to_string(sizeof(addr.sun_path) - 1) +
                                                      " bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

// mkdir -p with 0755 for each directory created; existing ones are left as they are.
Result<void> MakeParents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) == 0) {
      // The umask may have taken bits away; the directory must be searchable by senders.
      if (::chmod(dir.c_str(), 0755) != 0) return tl::unexpected(ErrnoError("chmod " + dir, errno));
    } else if (errno != EEXIST) {
      return tl::unexpected(ErrnoError("mkdir " + dir, errno));
    }
  }
  return {};
}

}  // namespace

// A dead daemon's file refuses the connection; a live one (of any socket type) does not, and
// must not be stolen.
Result<void> CheckSocketUnused(const std::string& path, std::string_view what) {
  auto addr = UnixAddress(path);
  if (!addr) return tl::unexpected(addr.error());
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return tl::unexpected(ErrnoError("stat " + path, errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + ": " + path +
                         " exists and is not a socket; not replacing it");
  }
  int probe = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return tl::unexpected(ErrnoError("socket", errno));
  int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  int err = errno;
  ::close(probe);
  if (rc != 0 && err == ECONNREFUSED) return {};
  if (rc == 0 || err == EPROTOTYPE) {
    return MakeError(ErrorCode::kIo,
                     std::string(what) + ": " + path + " is in use by another process");
  }
  return tl::unexpected(ErrnoError("connect " + path, err));
}

namespace {

// Binds `fd` at a temporary name beside `path`, gives it `mode`, and renames it over `path`.
Result<void> BindAt(int fd, const std::string& path, mode_t mode) {
  std::string temp = path + "." + std::to_string(::getpid()) + ".tmp";
  auto addr = UnixAddress(temp);
  if (!addr) return tl::unexpected(addr.error());
  ::unlink(temp.c_str());  // a leftover of a crashed start with the same pid
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    return tl::unexpected(ErrnoError("bind " + temp, errno));
  }
  if (::chmod(temp.c_str(), mode) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return tl::unexpected(ErrnoError("install " + path, err));
  }
  return {};
}

// Room for the credentials and a few descriptors: a sender may attach SCM_RIGHTS, which must
// be received (and closed) rather than leak. Descriptors beyond this are discarded by the kernel.
constexpr size_t kControlBytes = CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(16 * sizeof(int));

// The sender's credentials among the control messages, if any; closes every passed descriptor.
std::optional<ucred> TakeCredentials(msghdr& msg) {
  std::optional<ucred> cred;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    size_t data = c->cmsg_len - CMSG_LEN(0);
    if (c->cmsg_type == SCM_CREDENTIALS && data >= sizeof(ucred)) {
      ucred value;
      std::memcpy(&value, CMSG_DATA(c), sizeof(value));
      cred = value;
    } else if (c->cmsg_type == SCM_RIGHTS) {
      for (size_t i = 0; i + sizeof(int) <= data; i += sizeof(int)) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c) + i, sizeof(passed));
        ::close(passed);
      }
    }
  }
  return cred;
}

}  // namespace

Result<IngestSocket> IngestSocket::Open(const Options& options) {
  auto addr = UnixAddress(options.path);
  if (!addr) return tl::unexpected(addr.error());
  if (options.path.front() != '/') {
    return MakeError(ErrorCode::kInvalidArgument, "ingest socket: path must be absolute");
  }
  if (auto ok = MakeParents(options.path); !ok) return tl::unexpected(ok.error());
  if (auto ok = CheckSocketUnused(options.path, "ingest socket"); !ok) {
    return tl::unexpected(ok.error());
  }
  IngestSocket socket;
  socket.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (socket.fd_ < 0) return tl::unexpected(ErrnoError("socket", errno));
  // Before the socket is reachable: every datagram must carry the sender's credentials.
  int on = 1;
  if (::setsockopt(socket.fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0) {
    return tl::unexpected(ErrnoError("setsockopt SO_PASSCRED", errno));
  }
  if (auto ok = BindAt(socket.fd_, options.path, options.mode); !ok) {
    return tl::unexpected(ok.error());
  }
  socket.path_ = options.path;
  struct stat st {};
  if (::lstat(options.path.c_str(), &st) == 0) {
    socket.dev_ = st.st_dev;
    socket.ino_ = st.st_ino;
  }
  return socket;
}

Result<IngestSocket> IngestSocket::Adopt(int fd) {
  IngestSocket socket;
  socket.fd_ = fd;  // closed by its destructor on every failure below
  int type = 0;
  socklen_t size = sizeof type;
  sockaddr_storage address{};
  socklen_t address_size = sizeof address;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size) != 0) {
    return tl::unexpected(ErrnoError("ingest socket handed over", errno));
  }
  if (type != SOCK_DGRAM || address.ss_family != AF_UNIX) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ingest socket handed over: not a Unix datagram socket");
  }
  int on = 1;
  int flags = ::fcntl(fd, F_GETFL);
  if (::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0 || flags < 0 ||
      ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return tl::unexpected(ErrnoError("ingest socket handed over", errno));
  }
  const auto* un = reinterpret_cast<const sockaddr_un*>(&address);
  if (address_size > offsetof(sockaddr_un, sun_path) && un->sun_path[0] != '\0') {
    // For the log only: path_ would make Reset remove systemd's file.
    socket.adopted_path_ = std::string(un->sun_path, strnlen(un->sun_path, sizeof un->sun_path));
  }
  return socket;
}

IngestSocket::IngestSocket(IngestSocket&& other) noexcept { *this = std::move(other); }

IngestSocket& IngestSocket::operator=(IngestSocket&& other) noexcept {
  if (this != &other) {
    Reset();
    path_ = std::move(other.path_);
    adopted_path_ = std::move(other.adopted_path_);
    fd_ = std::exchange(other.fd_, -1);
    dev_ = std::exchange(other.dev_, 0);
    ino_ = std::exchange(other.ino_, 0);
    counters_ = other.counters_;
  }
  return *this;
}

IngestSocket::~IngestSocket() { Reset(); }

void IngestSocket::Reset() {
  if (fd_ < 0) return;
  // Only our own file: a newer daemon may already have replaced it with its socket.
  struct stat st {};
  if (!path_.empty() && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlink(path_.c_str());
  }
  ::close(fd_);
  fd_ = -1;
}

Result<std::vector<IngestSocket::Received>> IngestSocket::Drain() {
  std::vector<Received> received;
  // One byte more than the largest valid datagram, so an oversized one shows as MSG_TRUNC.
  char buffer[kMaxIngestMessageBytes + 1];
  alignas(cmsghdr) char control[kControlBytes];
  for (size_t count = 0; count < kMaxPerDrain; ++count) {
    iovec iov{buffer, sizeof(buffer)};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // Messages already taken off the socket are returned; the error recurs on the next call.
      if (!received.empty()) break;
      return tl::unexpected(ErrnoError("recvmsg " + path(), errno));
    }
    std::optional<ucred> cred = TakeCredentials(msg);
    if (!cred || cred->uid != 0) {
      ++counters_.rejected;
    } else if (auto message = DecodeIngestMessage(std::string_view(buffer, n));
               !message || (msg.msg_flags & MSG_TRUNC) != 0) {
      ++counters_.malformed;
    } else {
      ++counters_.accepted;
      received.push_back(Received{std::move(*message), cred->pid, cred->uid});
    }
  }
  return received;
}

}  // namespace utmpcd
