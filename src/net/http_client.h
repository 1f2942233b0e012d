// HTTP/1.1 to many utmpcd hosts at once, on one thread: the requests of `utmpc who @a @b`
// (FetchAll) and the event streams of `utmpc watch a b` (WatchAll); and to this host's utmpcd
// over its Unix socket (GetFromSocket). Boost.Beast lives in net_http.cc only: it compiles
// slowly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/hosts.h"
#include "net/sse.h"

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

// What a watch does with each host's stream. Called on the thread running WatchAll.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // One message of host `host`'s stream, in stream order.
  virtual void OnMessage(size_t host, const SseMessage& message) = 0;
  // Something went wrong with host `host`'s stream: `what` in words ("connection refused").
  // With `retry_ms` the stream is resumed after that long, else it is given up.
  virtual void OnTrouble(size_t host, const std::string& what, std::optional<int64_t> retry_ms) = 0;
  // Host `host`'s stream is open again after trouble, resumed after event `after_id` (its
  // SEQ@HISTORY id; "" when it had none yet).
  virtual void OnResumed(size_t /*host*/, const std::string& /*after_id*/) {}
};

struct WatchOptions {
  // Per host: a seq to start from (?from=); nullopt starts with the events stored from now on.
  std::vector<std::optional<int64_t>> from;
  int64_t connect_timeout_ms = 5000;
  // No byte (event or heartbeat) for this long means a dead stream: the daemon's heartbeat is
  // 15 s and the protocol says to reconnect after three missed ones.
  int64_t silence_timeout_ms = 45000;
  // Reconnection waits: the stream's "retry" (1 s unless it says otherwise), doubled after
  // each failed attempt up to max_backoff_ms; a stream that opened resets it.
  int64_t max_backoff_ms = 30000;
};

// Follows GET /v1/events of every host until all of them are given up (a daemon answering
// 4xx to the stream, say); that is, in practice, until the process is killed. A disconnected
// stream is resumed with Last-Event-ID, so no event is missed or repeated. Without a `from`,
// the host's last_seq (GET /v1/host) is where the stream starts, so events stored during a
// reconnection are not missed either. Returns the number of hosts given up.
size_t WatchAll(const std::vector<NetHost>& hosts, const WatchOptions& options, EventSink* sink);

}  // namespace utmpcd
