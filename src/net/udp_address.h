// The addresses of a UDP datagram, and the checks utmpcd makes on them before it answers
// (docs/PROTOCOL.md, "UDP"): whom a reply may go to, and which prefix a source is rate-limited
// under. Pure: no sockets, no system calls.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace utmpcd {

// An IPv4 or IPv6 address. IPv4 sits in the first 4 bytes, network order; the rest are zero.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  bool operator==(const IpAddress&) const = default;

  static IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
};

// A datagram's peer: its address and port.
struct IpEndpoint {
  IpAddress address;
  uint16_t port = 0;

  bool operator==(const IpEndpoint&) const = default;
};

// `endpoint` as a sockaddr_in or sockaddr_in6 in `*out`; returns its length.
socklen_t SockaddrFromEndpoint(const IpEndpoint& endpoint, sockaddr_storage* out);

// The endpoint in `addr` (AF_INET or AF_INET6, `length` bytes), or nullopt for any other family
// or a short length. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket
// reports for an IPv4 peer) comes back as the IPv4 address, so the checks below see it as such.
std::optional<IpEndpoint> EndpointFromSockaddr(const sockaddr* addr, socklen_t length);

// Parses a numeric address: "192.0.2.7", "2001:db8::1" (no brackets, no zone, no port).
std::optional<IpAddress> ParseIpAddress(const std::string& text);

// "192.0.2.7" or "2001:db8::1".
std::string FormatIpAddress(const IpAddress& address);

// "192.0.2.7:431" or "[2001:db8::1]:431".
std::string FormatEndpoint(const IpEndpoint& endpoint);

// A host and a port as a user writes them: "web1", "web1:4310", "192.0.2.7:431", "[::1]:431",
// "[::1]", or a bare IPv6 address ("::1", taken as a host without a port). `default_port`
// when none is given. kInvalidArgument for an empty host, a port that is not 0..65535, or an
// unclosed bracket. The host is not looked up.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> SplitHostPort(std::string_view text, uint16_t default_port);

// Whether `address` names one host: false for the unspecified address (0.0.0.0/8, ::), the
// limited broadcast 255.255.255.255 and the reserved 240.0.0.0/4 it lies in, multicast
// (224.0.0.0/4, ff00::/8). A directed broadcast (192.0.2.255 of a /24) looks like any other
// address: only the interface it belongs to knows (see IsAnswerableSource).
bool IsUnicastAddress(const IpAddress& address);

// 127.0.0.0/8 or ::1 (or ::ffff:127.x.y.z): this host talking to itself.
bool IsLoopback(const IpAddress& address);

// Whether a reply may be sent to `source`: a unicast address, a port other than 0, and none of
// `broadcasts` (the directed broadcast addresses of this host's interfaces). A reply to a
// broadcast or multicast source would reach every host of a network that never asked.
bool IsAnswerableSource(const IpEndpoint& source, std::span<const IpAddress> broadcasts);

// The network a source belongs to for rate limiting: its /24 for IPv4, its /64 for IPv6 (the
// smallest network one customer is usually given, so one host cannot dodge the limit by
// changing its address within it).
struct SourcePrefix {
  bool v6 = false;
  uint64_t bits = 0;  // the prefix's bits, left-aligned; the host bits are zero

  bool operator==(const SourcePrefix&) const = default;
};

SourcePrefix PrefixOf(const IpAddress& address);

}  // namespace utmpcd
