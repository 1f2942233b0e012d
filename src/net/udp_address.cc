#include "net/udp_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace utmpcd {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};

uint64_t Uint64At(const std::array<uint8_t, 16>& bytes, size_t at) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | bytes[at + i];
  return value;
}

}  // namespace

IpAddress IpAddress::V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress address;
  address.bytes[0] = a;
  address.bytes[1] = b;
  address.bytes[2] = c;
  address.bytes[3] = d;
  return address;
}

socklen_t SockaddrFromEndpoint(const IpEndpoint& endpoint, sockaddr_storage* out) {
  *out = sockaddr_storage{};
  if (endpoint.address.v6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(endpoint.port);
    std::memcpy(&in6.sin6_addr, endpoint.address.bytes.data(), 16);
    std::memcpy(out, &in6, sizeof in6);
    return sizeof in6;
  }
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(endpoint.port);
  std::memcpy(&in.sin_addr, endpoint.address.bytes.data(), 4);
  std::memcpy(out, &in, sizeof in);
  return sizeof in;
}

std::optional<IpEndpoint> EndpointFromSockaddr(const sockaddr* addr, socklen_t length) {
  IpEndpoint endpoint;
  if (addr->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, addr, sizeof in);
    std::memcpy(endpoint.address.bytes.data(), &in.sin_addr, 4);
    endpoint.port = ntohs(in.sin_port);
    return endpoint;
  }
  if (addr->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, addr, sizeof in6);
    std::memcpy(endpoint.address.bytes.data(), &in6.sin6_addr, 16);
    endpoint.port = ntohs(in6.sin6_port);
    if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(),
                   endpoint.address.bytes.begin())) {
      endpoint.address = IpAddress::V4(endpoint.address.bytes[12], endpoint.address.bytes[13],
                                       endpoint.address.bytes[14], endpoint.address.bytes[15]);
    } else {
      endpoint.address.v6 = true;
    }
    return endpoint;
  }
  return std::nullopt;
}

std::optional<IpAddress> ParseIpAddress(const std::string& text) {
  IpAddress address;
  if (::inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) return address;
  if (::inet_pton(AF_INET6, text.c_str(), address.bytes.data()) == 1) {
    address.v6 = true;
    return address;
  }
  return std::nullopt;
}

std::string FormatIpAddress(const IpAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), text, sizeof text);
  return text;
}

std::string FormatEndpoint(const IpEndpoint& endpoint) {
  std::string address = FormatIpAddress(endpoint.address);
  if (endpoint.address.v6) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port);
}

Result<HostPort> SplitHostPort(std::string_view text, uint16_t default_port) {
  auto invalid = [&](const char* why) {
    return MakeError(ErrorCode::kInvalidArgument, "'" + std::string(text) + "': " + why);
  };
  HostPort result{std::string(text), default_port};
  std::string_view port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid("no closing ']'");
    result.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return invalid("expected ':PORT' after ']'");
      port = rest.substr(1);
      if (port.empty()) return invalid("empty port");
    }
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                            text.find(':', colon + 1) == std::string_view::npos) {
    result.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (port.empty()) return invalid("empty port");
  }
  if (result.host.empty()) return invalid("no host");
  if (!port.empty()) {
    uint32_t value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || port.size() > 5) return invalid("port is not 0 to 65535");
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value > 65535) return invalid("port is not 0 to 65535");
    result.port = static_cast<uint16_t>(value);
  }
  return result;
}

bool IsUnicastAddress(const IpAddress& address) {
  const auto& b = address.bytes;
  if (!address.v6) {
    // 0.0.0.0/8 is "this network", only ever a source before a host has an address;
    // 224.0.0.0/4 is multicast; 240.0.0.0/4 is reserved and holds 255.255.255.255.
    return b[0] != 0 && b[0] < 224;
  }
  if (b[0] == 0xFF) return false;  // multicast
  if (std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; })) return false;
  return true;
}

bool IsLoopback(const IpAddress& address) {
  const auto& b = address.bytes;
  if (!address.v6) return b[0] == 127;
  static constexpr std::array<uint8_t, 16> kOne = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  return b == kOne || (std::equal(kMapped, kMapped + 12, b.begin()) && b[12] == 127);
}

bool IsAnswerableSource(const IpEndpoint& source, std::span<const IpAddress> broadcasts) {
  if (source.port == 0 || !IsUnicastAddress(source.address)) return false;
  return std::find(broadcasts.begin(), broadcasts.end(), source.address) == broadcasts.end();
}

SourcePrefix PrefixOf(const IpAddress& address) {
  SourcePrefix prefix;
  prefix.v6 = address.v6;
  if (address.v6) {
    prefix.bits = Uint64At(address.bytes, 0);
  } else {
    prefix.bits = (uint64_t{address.bytes[0]} << 56) | (uint64_t{address.bytes[1]} << 48) |
                  (uint64_t{address.bytes[2]} << 40);
  }
  return prefix;
}

}  // namespace utmpcd
