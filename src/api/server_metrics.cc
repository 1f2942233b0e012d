#include "api/server_metrics.h"

#include <time.h>

#include <algorithm>

namespace utmpcd {

ServerMetrics::ServerMetrics(std::shared_ptr<MetricsRegistry> registry, std::string_view prefix,
                             std::string_view version, std::vector<std::string> endpoints)
    : registry_(std::move(registry)),
      endpoints_(std::move(endpoints)),
      requests_(registry_->Add(std::string(prefix) + "_http_requests_total",
                               "HTTP requests answered, by endpoint, status and the tier the "
                               "request got.",
                               MetricType::kCounter, {"endpoint", "code", "tier"})),
      refused_(registry_->Add(std::string(prefix) + "_refused_total",
                              "Connections, requests and datagrams refused, by the limit that "
                              "refused them.",
                              MetricType::kCounter, {"limit"})),
      connections_(registry_->Add(std::string(prefix) + "_connections",
                                  "HTTP connections open now, event streams included.",
                                  MetricType::kGauge)),
      connection_limit_(registry_->Add(std::string(prefix) + "_connection_limit",
                                       "The most HTTP connections served at once.",
                                       MetricType::kGauge)),
      streams_(registry_->Add(std::string(prefix) + "_event_streams",
                              "Event streams open now (watchers of the events endpoint).",
                              MetricType::kGauge)) {
  registry_->Add(std::string(prefix) + "_build_info", "The release running, as a label.",
                 MetricType::kGauge, {"version"})
      .Set({version}, 1);
  // The moment the process started (as node_exporter and the client libraries give it): a
  // restart shows as a step, and counters that went back to 0 are explained.
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  registry_->Add("process_start_time_seconds",
                 "Start time of the process since the epoch, in seconds.", MetricType::kGauge)
      .Set({}, static_cast<double>(now.tv_sec));
  for (std::string_view limit : {"server_full", "too_many_connections", "too_many_requests",
                                 "busy", "over_budget", "udp_rate"}) {
    refused_.Add({limit}, 0);  // listed from the start: rate() needs the 0
  }
}

void ServerMetrics::CountRequest(std::string_view target, int status, Tier tier) {
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view endpoint = "other";
  if (std::find(endpoints_.begin(), endpoints_.end(), path) != endpoints_.end()) {
    endpoint = path;
  } else if (!path.starts_with("/v1/") && status < 400) {
    endpoint = "page";  // the dashboard's files
  }
  requests_.Add({endpoint, std::to_string(status), TierName(tier)});
}

void ServerMetrics::SetStats(const ServerStats& s) {
  connections_.Set({}, static_cast<double>(s.connections));
  connection_limit_.Set({}, static_cast<double>(s.connection_limit));
  streams_.Set({}, static_cast<double>(s.streams));
  refused_.Set({"server_full"}, static_cast<double>(s.refused_full));
  refused_.Set({"too_many_connections"}, static_cast<double>(s.refused_per_source));
  refused_.Set({"too_many_requests"}, static_cast<double>(s.rate_limited));
  refused_.Set({"busy"}, static_cast<double>(s.busy));
  refused_.Set({"over_budget"}, static_cast<double>(s.over_budget));
  refused_.Set({"udp_rate"}, static_cast<double>(s.udp_rate_limited));
}

ApiResponse ServerMetrics::Scrape() {
  if (collect_) collect_();
  ApiResponse response;
  response.body = registry_->Render();
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

}  // namespace utmpcd
