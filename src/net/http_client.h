// HTTP/1.1 to many utmpcd hosts at once, on one thread: the requests of `utmpc who @a @b`
// (FetchAll); and to this host's utmpcd over its Unix socket (GetFromSocket). Event streams
// are followed by net/sse_follower.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/hosts.h"
#include "net/tls.h"

namespace utmpcd {

// One host's conversation: GET requests one after another on one connection (a history is
// read page by page).
class HostExchange {
 public:
  virtual ~HostExchange() = default;
  // The target of the first request ("/v1/sessions?user=alice").
  virtual std::string FirstTarget() = 0;
  // The body of a 200 answer to the last request. Returns the next target, nullopt when the
  // host is done, or an error that ends the host's conversation (and fails it).
  virtual Result<std::optional<std::string>> OnBody(std::string_view body) = 0;
};

struct FetchOptions {
  // How long a host has to answer: from the start of its name lookup to its first answer,
  // and from each answer to the next (so a history of many pages is not cut short).
  int64_t timeout_ms = 5000;
  // Hosts in flight at once: a few hundred hosts never mean a few hundred sockets and threads.
  size_t max_parallel = 64;
  // Sent as "Authorization: Bearer TOKEN" when not empty (the daemon's [[access]] rules).
  std::string token;
  // For the hosts with `tls`: whom to trust, and a client certificate.
  TlsClientFiles tls{};
};

// Runs exchanges[i] against hosts[i] for every i, at most max_parallel at a time, and returns
// once all are done. Result i is empty when host i's exchange finished, else why it failed, in
// words for "utmpc: HOST: ...": "connection refused", "timed out after 5 s", "HTTP 404: no
// such endpoint". A failure of one host never delays another beyond its own deadline.
std::vector<Result<void>> FetchAll(const std::vector<NetHost>& hosts,
                                   const std::vector<HostExchange*>& exchanges,
                                   const FetchOptions& options);

// One GET of `target` over the Unix stream socket at `socket_path` (utmpcd's API socket,
// docs/PROTOCOL.md), for `utmpc who` and friends on this host. One deadline covers the whole
// exchange, connecting included. Returns the body of a 200 answer; otherwise fails (kIo) with
// why, in words: "no such file or directory", "connection refused", "timed out after 1 s",
// "HTTP 404: no such endpoint".
Result<std::string> GetFromSocket(const std::string& socket_path, const std::string& target,
                                  int64_t timeout_ms);

}  // namespace utmpcd
