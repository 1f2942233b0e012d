#include "api/server_metrics.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace utmpcd {
namespace {

// /proc/self/stat's starttime (clock ticks after boot) plus /proc/stat's btime; now when either
// cannot be read.
double ProcessStartTime() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  // The fields after the command, which is in parentheses and may hold spaces.
  size_t close = line.rfind(')');
  std::istringstream fields(close == std::string::npos ? "" : line.substr(close + 2));
  std::string field;
  uint64_t start_ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 22) {
      start_ticks = std::strtoull(field.c_str(), nullptr, 10);
      break;
    }
  }
  std::ifstream proc_stat("/proc/stat");
  uint64_t boot_s = 0;
  while (std::getline(proc_stat, line)) {
    if (line.starts_with("btime ")) boot_s = std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  long ticks = ::sysconf(_SC_CLK_TCK);
  if (start_ticks == 0 || boot_s == 0 || ticks <= 0) return static_cast<double>(now.tv_sec);
  return static_cast<double>(boot_s) + static_cast<double>(start_ticks) / static_cast<double>(ticks);
}

}  // namespace

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
  // The moment the process started (as the client libraries give it): a restart shows as a
  // step, and counters that went back to 0 are explained.
  registry_->Add("process_start_time_seconds",
                 "Start time of the process since the epoch, in seconds.", MetricType::kGauge)
      .Set({}, ProcessStartTime());
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
