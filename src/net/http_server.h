// HttpServer: a generic HTTP/1.1 server on an EventLoop. It listens on TCP addresses and a
// Unix socket, reads request heads under the timeouts and size limits below, refuses what RFC
// 9112 says a server without request bodies must refuse (net/request_head.h), and hands every
// other request to an HttpHandler: its answer is sent (keep-alive as the client asks), or the
// handler takes the connection over as a stream (Server-Sent Events, net/sse_hub.h).
//
// An exception thrown by the handler fails that request alone, with a 500, and is logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/request.h"
#include "api/server_metrics.h"
#include "core/result.h"
#include "net/tls.h"

namespace utmpcd {

class Connection;
class EventLoop;

struct HttpServerOptions {
  // "127.0.0.1:431", "[::1]:431", "0.0.0.0:4310"; port 0 picks a free one (tests).
  std::vector<std::string> listen;
  // A Unix socket path ("" for none), created mode 0666 in a directory made 0755 if missing. A
  // socket left at the path by a process that died is replaced, a live one is not.
  std::string unix_socket;
  // Listening stream sockets handed over (systemd socket activation): TCP or Unix, served as
  // they are, besides `listen` and `unix_socket`. The server owns them from Open on.
  std::vector<int> inherited_fds;
  std::string server_name;          // the Server field: "utmpcd/0.9.0"
  // TLS on every TCP listener: a client's first byte tells a TLS handshake from plain HTTP,
  // which only `plaintext_from` may speak. None when unset.
  std::optional<TlsServerOptions> tls{};
  // Open connections, streams taken over included, at most; fewer when the descriptor limit
  // (RLIMIT_NOFILE) leaves less room. When full, the connection idle longest (waiting for a
  // request) is closed to make room; with none idle, the new one is refused.
  int64_t max_connections = 20000;
  // Open connections of one source (a TCP peer's address, a Unix peer's uid) at most: more
  // from it are refused, so that one source cannot take the others' room.
  int64_t max_connections_per_source = 1024;
  // Requests a second per source prefix (/24 for IPv4, /64 for IPv6) once `request_burst` is
  // spent; more are answered 429 with Retry-After. 0 turns it off. Loopback clients are not
  // limited unless `limit_loopback` (they are this host's own), nor is the Unix socket.
  double requests_per_second = 0;
  double request_burst = 0;
  bool limit_loopback = false;
  int64_t idle_timeout_s = 30;      // a keep-alive connection waiting for its next request
  int64_t request_timeout_s = 10;   // a request head, from its first byte
  int64_t write_timeout_s = 30;     // a client that does not read what it is sent
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // The answer to a GET or HEAD (a HEAD's body is not sent). Runs on the loop's thread.
  virtual ApiResponse Handle(const ApiRequest& request) = 0;
  // Asked first, for every request (cheaply): whether the handler answers it later, as one
  // whose answer takes long (a query of a database). Then Defer is called instead of Handle:
  // it answers through `reply`, on the loop's thread, exactly once (the connection may have
  // gone by then). The connection reads nothing more meanwhile.
  using Reply = std::function<void(ApiResponse)>;
  virtual bool Defers(const ApiRequest& /*request*/) const { return false; }
  virtual void Defer(const ApiRequest& /*request*/, Reply /*reply*/) {}
  // `response.stream` was set: `connection` is the handler's now, with nothing sent on it yet
  // (`head`: the request was a HEAD).
  virtual void TakeOver(std::shared_ptr<Connection> connection, const ApiResponse& response,
                        bool head) = 0;
};

class HttpServer {
 public:
  // Binds every listen address (an error names the one that failed); accepts nothing until
  // Start. `loop` and `handler` outlive the server.
  static Result<std::unique_ptr<HttpServer>> Open(EventLoop& loop,
                                                  const HttpServerOptions& options,
                                                  HttpHandler& handler);
  // Stops listening and removes its Unix socket. Destroy it with the loop stopped (or never
  // run): its connections' handlers refer to it.
  ~HttpServer();

  // Starts accepting (on the loop's thread, or before it runs).
  void Start();
  // The addresses bound, as "127.0.0.1:43123" / "[::1]:431" (the real port when 0 was asked),
  // and "unix:PATH".
  std::vector<std::string> endpoints() const;
  // The connections open now, streams taken over included.
  int64_t open_connections() const;
  // max_connections as the descriptor limit leaves it.
  int64_t connection_limit() const;
  // Requests answered 429 by the rate limit since Open.
  uint64_t rate_limited() const;
  const HttpServerOptions& options() const;
  // On the loop's thread: new connections get TLS from these files and networks from now on
  // (open ones keep theirs). A file that cannot be used fails it and leaves the TLS served
  // before unchanged. Fails when the server was opened without TLS.
  Result<void> ReloadTls(const TlsServerOptions& tls);
  // TLS handshakes that failed since Open.
  uint64_t tls_failures() const;
  // The connections now, and what the limits refused since Open: the fields of ServerStats a
  // server counts (connections, connection_limit, refused_full, refused_per_source, evicted,
  // rate_limited, accept_paused, tls_failures); the handler's own (streams, busy, ...) are 0.
  using Stats = ServerStats;
  Stats stats() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace utmpcd
