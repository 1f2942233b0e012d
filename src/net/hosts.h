// Naming the hosts `utmpc` asks over the network: `@web1`, `@web2:4310`, `@[::1]:431`, bare
// names where no user, tty or file could be meant, and files of them (`--hosts-file`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <optional>

#include "core/result.h"
#include "net/tls.h"

namespace utmpcd {

// The TCP port IANA assigned to UTMPCD (docs/PROTOCOL.md).
inline constexpr uint16_t kUtmpcdPort = 431;

struct NetHost {
  std::string label;  // as the user wrote it, without the '@': what rows and errors are named by
  std::string name;   // a DNS name or an address literal, without brackets
  uint16_t port = kUtmpcdPort;
  bool tls = false;   // https: TLS, the server's certificate verified for `name`
  // Credentials of its own (utmpc's configuration file names them for a host or a group):
  // used instead of the command's (FetchOptions, WatchOptions) when set.
  std::optional<std::string> token{};
  std::optional<TlsClientFiles> tls_files{};
};

// Parses HOST, HOST:PORT, [IPV6] or [IPV6]:PORT (no leading '@'), each also after "https://"
// (TLS; a trailing '/' is allowed) or "http://". A bare IPv6 literal ("::1", two or more
// colons) is taken whole, with the default port. Fails with kInvalidArgument and a message
// naming the text.
Result<NetHost> ParseNetHost(std::string_view text);

// Whether a command-line argument names a host: '@' and at least one more character, or an
// https:// or http:// URL.
inline bool IsHostArgument(std::string_view arg) {
  return (arg.size() > 1 && arg[0] == '@') || arg.starts_with("https://") ||
         arg.starts_with("http://");
}

// Reads a hosts file: one host per line (as ParseNetHost, a leading '@' allowed), '#' starts a
// comment, blank lines are skipped. Fails naming the file and line of the first bad host, or
// the file when it cannot be read.
Result<std::vector<NetHost>> ReadHostsFile(const std::string& path);

}  // namespace utmpcd
