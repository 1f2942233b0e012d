// The client side of port 431's datagrams (docs/PROTOCOL.md, "UDP") for `utmpc ping`,
// `utmpc summary` and `utmpc discover`: naming a host, a socket to it, one request out and the
// replies in, each with a deadline.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/udp_wire.h"
#include "core/result.h"
#include "net/udp_address.h"

namespace utmpcd {

// A host asked over UDP: the name the user gave, and the address it resolved to.
struct UdpPeer {
  std::string label;    // as written, without a leading '@': "web1", "[::1]:4310"
  IpEndpoint endpoint;  // the first address getaddrinfo(3) gave
};

// Resolves "web1", "@web1", "web1:4310", "192.0.2.7", "[2001:db8::1]:431" (`default_port` when
// none is given). The error names the text and says why (no such host, bad port).
Result<UdpPeer> ResolveUdpPeer(std::string_view text, uint16_t default_port);

// A UDP socket, closed with the object.
class UdpSocket {
 public:
  // A socket connected to `peer`: the kernel drops datagrams from anyone else, and an ICMP
  // "port unreachable" is reported by the next Receive as ECONNREFUSED.
  static Result<UdpSocket> Connect(const IpEndpoint& peer);
  // An unconnected socket of `peer`'s family allowed to send to a broadcast address
  // (SO_BROADCAST), for `discover`.
  static Result<UdpSocket> ForBroadcast(const IpEndpoint& peer);

  UdpSocket(UdpSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  UdpSocket& operator=(UdpSocket&&) = delete;
  ~UdpSocket();

  int fd() const { return fd_; }
  // Sends `datagram` (to `to`, or to the connected peer when nullopt).
  Result<void> Send(std::string_view datagram, const std::optional<IpEndpoint>& to = std::nullopt);
  // The next datagram waiting on the socket that decodes as a reply, without blocking: nullopt
  // when none is left. Datagrams that do not decode are read and skipped. An error when the
  // socket failed (ECONNREFUSED: an ICMP port unreachable came back). `from` gets the sender.
  Result<std::optional<UdpReply>> ReceiveNow(IpEndpoint* from = nullptr);

 private:
  explicit UdpSocket(int fd) : fd_(fd) {}
  int fd_;
};

// Waits until one of `sockets` has a datagram or `deadline_ns` (MonotonicNs) passes; returns
// the indexes of the readable ones (none at the deadline).
std::vector<size_t> WaitReadable(const std::vector<const UdpSocket*>& sockets, int64_t deadline_ns);

// Nanoseconds of CLOCK_MONOTONIC.
int64_t MonotonicNs();

// A request id no other run of utmpc is likely to use, so a late reply to another run is
// never taken for an answer.
uint32_t RandomRequestId();

}  // namespace utmpcd
