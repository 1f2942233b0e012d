// ApiServer: port 431's HTTP/1.1 server (docs/PROTOCOL.md) on a thread of its own, so a slow
// query or ten thousand event streams never delay the ingest. The answers come from an Api
// (api/api.h) on its own read-only connection to the store; the ingest thread tells the server
// when it stored events (NotifyStored) and keeps the LiveView of live sessions current.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/api.h"
#include "core/result.h"
#include "net/finger_server.h"
#include "net/tls.h"
#include "net/udp_server.h"

namespace utmpcd {

struct ApiServerOptions {
  // "127.0.0.1:431", "[::1]:431", "0.0.0.0:4310"; port 0 picks a free one (tests).
  std::vector<std::string> listen;
  // A Unix socket serving the same API to local clients (`utmpc who` on a host without utmp);
  // "" for none.
  std::string unix_socket;
  // Listening stream sockets systemd handed over, served besides the above.
  std::vector<int> inherited_fds;
  int64_t max_connections = 20000;  // HTTP connections and event streams together
  int64_t max_connections_per_source = 1024;  // of one address (a Unix peer: of one uid)
  double requests_per_second = 0;  // per source network beyond the burst; 0: unlimited
  double request_burst = 0;
  int64_t idle_timeout_s = 30;      // a keep-alive connection waiting for its next request
  int64_t request_timeout_s = 10;   // a request head, from its first byte
  int64_t write_timeout_s = 30;     // a client that does not read what it is sent
  int64_t heartbeat_s = 15;         // an event stream's ": ping" when nothing happens
  // Queries of the history run on a thread of their own (so that /v1/host, /healthz, the
  // sessions, the event streams and UDP never wait behind them), each answered 503
  // over_budget when still running this long after it arrived. At most max_queued_queries
  // wait or run, an eighth of them (at least one) from one source (an address, a uid); more
  // are answered 503 busy with Retry-After.
  int64_t query_budget_ms = 2000;
  int64_t max_queued_queries = 64;
  std::optional<TlsServerOptions> tls{};  // HTTPS on the TCP listeners ([tls])
  ApiOptions api;
  // GET /metrics counts into this registry (with what the daemon counts itself, the events it
  // stores); none: no /metrics.
  std::shared_ptr<MetricsRegistry> metrics{};
  // Port 431 over UDP on the same thread; none when unset.
  std::optional<UdpOptions> udp;
  // A finger responder (RFC 1288, api/finger.h) on the same thread, answering by the same
  // access rules (the source address alone); none when unset.
  std::optional<FingerOptions> finger{};
};

class ApiServer {
 public:
  // Binds every listen address (an error names the one that failed) and opens the store;
  // serves nothing until Start.
  static Result<std::unique_ptr<ApiServer>> Open(const ApiServerOptions& options,
                                                 std::shared_ptr<const LiveView> live);
  ~ApiServer();  // stops the thread and closes every connection

  // Starts the server's thread.
  void Start();
  // Thread-safe: events were stored; event streams send them.
  void NotifyStored();
  // Thread-safe: retention deleted events; event streams resuming from before read them anew.
  void NotifyDeleted();
  // Thread-safe: the live sessions changed; UDP answers take a new snapshot.
  void NotifyLiveChanged();
  // Thread-safe: requests from now on are answered by these access rules and checked against
  // these names of the host (SIGHUP).
  void SetAccess(AccessPolicy policy, bool access_log, std::vector<std::string> host_names);
  // Thread-safe, blocking until done: new TLS connections get these files and networks (SIGHUP:
  // a renewed certificate); open ones keep theirs. On failure the TLS served is unchanged.
  Result<void> ReloadTls(const TlsServerOptions& tls);
  // Thread-safe, blocking until done: closes and opens again the server's read connections to
  // the history. SQLite shares one shared-memory index per file among a process's connections,
  // read-only when the first of them opened it on a read-only file system: once the file system
  // is writable, the daemon's writer can only write after every connection let go of it.
  Result<void> ReopenStore();
  // The addresses bound, as "127.0.0.1:43123" / "[::1]:431" (the real port when 0 was asked),
  // and "unix:PATH".
  std::vector<std::string> endpoints() const;
  // The UDP addresses bound (none without UDP).
  std::vector<std::string> udp_endpoints() const;
  // The finger addresses bound (none without [finger]).
  std::vector<std::string> finger_endpoints() const;

 private:
  class Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace utmpcd
