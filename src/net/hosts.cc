#include "net/hosts.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <fstream>

#include "net/udp_address.h"

namespace utmpcd {
namespace {

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
  for (std::string_view scheme : {"https://", "http://"}) {
    if (text.starts_with(scheme)) {
      host.tls = scheme == "https://";
      text.remove_prefix(scheme.size());
      if (text.ends_with('/')) text.remove_suffix(1);
      if (text.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         fmt::format("{}: no host after {}", host.label, scheme));
      }
      break;
    }
  }
  // The same HOST[:PORT] / [IPV6][:PORT] rules as the daemon's listen addresses.
  auto split = SplitHostPort(text, host.port);
  if (!split) {
    bool port = split.error().message.find("port") != std::string::npos;
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: invalid {}", text, port ? "port" : "host"));
  }
  if (split->port == 0) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: invalid port", text));
  }
  if (!IsValidName(split->host)) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: invalid host", text));
  }
  host.name = std::move(split->host);
  host.port = split->port;
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
