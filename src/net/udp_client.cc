#include "net/udp_client.h"

#include <netdb.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <random>

namespace utmpcd {

Result<UdpPeer> ResolveUdpPeer(std::string_view text, uint16_t default_port) {
  if (!text.empty() && text[0] == '@') text.remove_prefix(1);
  auto split = SplitHostPort(text, default_port);
  if (!split) return tl::unexpected(split.error());
  UdpPeer peer{std::string(text), {}};
  if (auto literal = ParseIpAddress(split->host)) {
    peer.endpoint = IpEndpoint{*literal, split->port};
    return peer;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(split->host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return MakeError(ErrorCode::kNotFound, std::string(text) + ": " + ::gai_strerror(rc));
  }
  std::optional<IpEndpoint> endpoint;
  for (addrinfo* a = found; a != nullptr && !endpoint; a = a->ai_next) {
    endpoint = EndpointFromSockaddr(a->ai_addr, a->ai_addrlen);
  }
  ::freeaddrinfo(found);
  if (!endpoint) return MakeError(ErrorCode::kNotFound, std::string(text) + ": no IP address");
  endpoint->port = split->port;
  peer.endpoint = *endpoint;
  return peer;
}

namespace {

Result<int> OpenSocket(const IpEndpoint& peer) {
  int fd = ::socket(peer.address.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tl::unexpected(ErrnoError("socket", errno));
  return fd;
}

}  // namespace

Result<UdpSocket> UdpSocket::Connect(const IpEndpoint& peer) {
  auto fd = OpenSocket(peer);
  if (!fd) return tl::unexpected(fd.error());
  UdpSocket socket(*fd);
  sockaddr_storage addr;
  socklen_t length = SockaddrFromEndpoint(peer, &addr);
  if (::connect(*fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    return tl::unexpected(ErrnoError("connect " + FormatEndpoint(peer), errno));
  }
  return socket;
}

Result<UdpSocket> UdpSocket::ForBroadcast(const IpEndpoint& peer) {
  auto fd = OpenSocket(peer);
  if (!fd) return tl::unexpected(fd.error());
  UdpSocket socket(*fd);
  int on = 1;
  if (!peer.address.v6 && ::setsockopt(*fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) {
    return tl::unexpected(ErrnoError("setsockopt SO_BROADCAST", errno));
  }
  return socket;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> UdpSocket::Send(std::string_view datagram, const std::optional<IpEndpoint>& to) {
  ssize_t sent;
  if (to) {
    sockaddr_storage addr;
    socklen_t length = SockaddrFromEndpoint(*to, &addr);
    sent = ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                    length);
  } else {
    sent = ::send(fd_, datagram.data(), datagram.size(), 0);
  }
  if (sent < 0) return tl::unexpected(ErrnoError("send", errno));
  return {};
}

Result<std::optional<UdpReply>> UdpSocket::ReceiveNow(IpEndpoint* from) {
  // One byte more than any reply may be, so an oversized one is seen as such and dropped.
  std::array<char, kMaxUdpDatagramBytes + 1> buffer;
  while (true) {
    sockaddr_storage addr;
    socklen_t length = sizeof addr;
    ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&addr), &length);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
      if (errno == EINTR) continue;
      return tl::unexpected(ErrnoError("receive", errno));
    }
    auto reply = DecodeUdpReply(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (!reply) continue;
    if (from != nullptr) {
      auto peer = EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&addr), length);
      *from = peer ? *peer : IpEndpoint{};
    }
    return std::optional<UdpReply>(std::move(*reply));
  }
}

std::vector<size_t> WaitReadable(const std::vector<const UdpSocket*>& sockets,
                                 int64_t deadline_ns) {
  std::vector<pollfd> fds;
  for (const UdpSocket* s : sockets) fds.push_back(pollfd{s->fd(), POLLIN, 0});
  std::vector<size_t> readable;
  while (readable.empty()) {
    int64_t left_ns = deadline_ns - MonotonicNs();
    if (left_ns <= 0) break;
    // Rounded up, so a wait of 0.3 ms is one poll, not a busy loop of 0 ms polls.
    int timeout_ms = static_cast<int>(std::min<int64_t>((left_ns + 999'999) / 1'000'000, 60'000));
    int rc = ::poll(fds.data(), fds.size(), timeout_ms);
    if (rc < 0 && errno != EINTR) break;
    for (size_t i = 0; rc > 0 && i < fds.size(); ++i) {
      if (fds[i].revents != 0) readable.push_back(i);
    }
  }
  return readable;
}

int64_t MonotonicNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint32_t RandomRequestId() {
  std::random_device device;
  return device();
}

}  // namespace utmpcd
