#include "utmpc/net_host.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <fstream>

namespace utmpcd {
namespace {

Result<uint16_t> ParsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: invalid port", whole));
  }
  return static_cast<uint16_t>(value);
}

// Bytes a host name or address may hold: no whitespace, no control, none of the characters
// that would end it in a URL or an HTTP header.
bool IsNameByte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f && c != '/' && c != '?' && c != '#' && c != '@' && c != '[' &&
         c != ']';
}

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsNameByte(c)) return false;
  }
  return true;
}

}  // namespace

Result<NetHost> ParseNetHost(std::string_view text) {
  NetHost host;
  host.label = std::string(text);
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: invalid host", text));
  };
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad();
    host.name = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad();
      auto port = ParsePort(rest.substr(1), text);
      if (!port) return tl::unexpected(port.error());
      host.port = *port;
    }
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                            text.find(':', colon + 1) == std::string_view::npos) {
    host.name = std::string(text.substr(0, colon));
    auto port = ParsePort(text.substr(colon + 1), text);
    if (!port) return tl::unexpected(port.error());
    host.port = *port;
  } else {
    host.name = std::string(text);  // a name, or an IPv6 literal without brackets
  }
  if (!IsValidName(host.name)) return bad();
  return host;
}

Result<std::vector<NetHost>> ReadHostsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return tl::unexpected(ErrnoError(path, errno));
  std::vector<NetHost> hosts;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string_view l = line;
    if (size_t hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r')) {
      l.remove_suffix(1);
    }
    if (l.empty()) continue;
    if (l.front() == '@') l.remove_prefix(1);
    auto host = ParseNetHost(l);
    if (!host) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}:{}: {}", path, number, host.error().message));
    }
    hosts.push_back(std::move(*host));
  }
  if (in.bad()) return tl::unexpected(ErrnoError(path, errno));
  return hosts;
}

}  // namespace utmpcd
