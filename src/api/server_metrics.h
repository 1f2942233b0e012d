// ServerMetrics: GET /metrics of a protocol server (utmpcd's port 431, utmpsd's port 430;
// docs/PROTOCOL.md, "Metrics"). What every such server counts: requests by endpoint, status
// and tier, refusals by the limit that refused, connections and event streams; the program
// adds its own families to the same registry and sets its gauges in a collector run at each
// scrape. Thread-safe, but for Scrape: on one thread at a time (the server's loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/request.h"
#include "core/metrics.h"

namespace utmpcd {

// What the server around an API counts: its connections and streams now, and what its limits
// refused since it started (GET /healthz and /metrics).
struct ServerStats {
  int64_t connections = 0;
  int64_t connection_limit = 0;
  int64_t streams = 0;
  uint64_t refused_full = 0;        // new connections: 503 server_full
  uint64_t refused_per_source = 0;  // new connections: 503 too_many_connections
  uint64_t rate_limited = 0;        // requests: 429 too_many_requests
  uint64_t busy = 0;                // queries of the history: 503 busy
  uint64_t over_budget = 0;         // queries of the history: 503 over_budget
  uint64_t evicted = 0;             // idle connections closed to make room
  uint64_t streams_too_slow = 0;    // event streams closed: too slow to take their replay
  uint64_t accept_paused = 0;       // accepts that failed for want of descriptors
  uint64_t tls_failures = 0;
  uint64_t udp_rate_limited = 0;    // datagrams dropped: their source prefix had no token left
};

class ServerMetrics {
 public:
  // `prefix` names the families ("utmpcd" → utmpcd_http_requests_total); `endpoints` are the
  // paths counted as themselves (any other: "page" for a dashboard file answered, else
  // "other", so that a scan of random paths adds no series).
  ServerMetrics(std::shared_ptr<MetricsRegistry> registry, std::string_view prefix,
                std::string_view version, std::vector<std::string> endpoints);

  MetricsRegistry& registry() { return *registry_; }

  // One request answered.
  void CountRequest(std::string_view target, int status, Tier tier);
  // The server's counts now (at each scrape, from the collector).
  void SetStats(const ServerStats& stats);
  // Run at each Scrape before the families are written: sets the gauges read then.
  void SetCollector(std::function<void()> collect) { collect_ = std::move(collect); }

  // The answer to GET /metrics: every family of the registry in the text format.
  ApiResponse Scrape();

 private:
  std::shared_ptr<MetricsRegistry> registry_;
  std::vector<std::string> endpoints_;
  MetricFamily& requests_;
  MetricFamily& refused_;
  MetricFamily& connections_;
  MetricFamily& connection_limit_;
  MetricFamily& streams_;
  std::function<void()> collect_;
};

}  // namespace utmpcd
