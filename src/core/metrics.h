// Metrics: what a server counts, for GET /metrics in Prometheus's text exposition format
// (version 0.0.4; docs/PROTOCOL.md, "Metrics"). A registry holds families, each a name, a help
// line, a type and the names of its labels; a family holds one value (a histogram: its buckets)
// per set of label values. Thread-safe: the ingest, the API and the query threads count into
// one registry, and the API thread renders it.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace utmpcd {

enum class MetricType { kCounter, kGauge, kHistogram };

class MetricFamily {
 public:
  // `labels` are values, in the order of the family's label names (as many).
  // A counter or a gauge: adds `value` (a counter: >= 0).
  void Add(std::initializer_list<std::string_view> labels, double value = 1);
  // A gauge, or a counter kept elsewhere and copied at each scrape: the value now.
  void Set(std::initializer_list<std::string_view> labels, double value);
  // A histogram: one observation (seconds, for the latencies here).
  void Observe(std::initializer_list<std::string_view> labels, double value);
  // Forgets every sample: a gauge whose label sets are set anew at each scrape (one per host
  // followed now), so that a host no longer followed is no longer listed.
  void Clear();

  // Appends the family in the text format: # HELP, # TYPE, then its samples in label order.
  void Render(std::string& out) const;

 private:
  friend class MetricsRegistry;
  struct Sample {
    double value = 0;                 // a counter's or a gauge's
    std::vector<uint64_t> in_bucket;  // a histogram's: observations <= each bound (not summed)
    double sum = 0;
    uint64_t count = 0;
  };
  MetricFamily(std::string name, std::string help, MetricType type,
               std::vector<std::string> label_names, std::vector<double> buckets);
  Sample& At(std::initializer_list<std::string_view> labels);  // mutex_ held

  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;  // a histogram's upper bounds, ascending (+Inf implied)
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, Sample> samples_;
};

class MetricsRegistry {
 public:
  // A new family, or the one of that name added before (with its type, labels and buckets: the
  // same call made twice); the reference lives as long as the registry. `name` follows
  // Prometheus's rules ([a-zA-Z_:][a-zA-Z0-9_:]*; a counter's ends in _total), checked by the
  // tests' promtool, not here.
  MetricFamily& Add(std::string name, std::string help, MetricType type,
                    std::vector<std::string> label_names = {}, std::vector<double> buckets = {});
  // The families so far, in the order they were added.
  std::string Render() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

// Upper bounds for latencies in seconds: 100 µs to 10 s.
std::vector<double> LatencyBuckets();

}  // namespace utmpcd
