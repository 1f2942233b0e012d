// netload: a load generator for port 431 and the classic services that answer the same question
// (finger, rusers). Internal to bench/: the pieces its modes share. Every mode sends only to
// loopback addresses and stops by itself after a bounded time.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace utmpcd::bench {

// CLOCK_MONOTONIC in nanoseconds.
int64_t NowNs();
int64_t SecondsToNs(double s);

// A loopback address and port: "127.0.0.1:431", "127.0.0.5:79", "[::1]:431". Throws
// std::invalid_argument for anything that is not in 127.0.0.0/8 or ::1: netload sends only to
// this machine.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string text;
  bool ipv6() const { return addr.ss_family == AF_INET6; }
};
Endpoint ParseLoopback(std::string_view host_port);

// Source addresses for many connections: 127.0.0.1 ... 127.0.0.N, so that tens of thousands of
// connections to one port do not exhaust one address's ephemeral ports. Empty: let the kernel
// choose (also for IPv6 targets).
std::vector<in_addr> LoopbackSources(int count);

// Binds `fd` to `source` with IP_BIND_ADDRESS_NO_PORT, so the port is picked at connect(2) for
// the whole 4-tuple rather than reserved at bind(2). Returns false with errno set.
bool BindSource(int fd, const in_addr& source);

// Raises RLIMIT_NOFILE's soft limit to its hard limit (root: to `want`); returns the new soft
// limit.
uint64_t RaiseFileLimit(uint64_t want);

// Completed requests' latencies, in microseconds.
class Latencies {
 public:
  void Add(int64_t ns) { us_.push_back(static_cast<uint32_t>(ns / 1000)); }
  void Merge(const Latencies& other);
  size_t count() const { return us_.size(); }
  // {"p50_us", "p90_us", "p99_us", "p999_us", "max_us"}; an empty object when none.
  nlohmann::json Summary();

 private:
  std::vector<uint32_t> us_;
};

// What one thread of a throughput mode counted inside the measured window.
struct Tally {
  uint64_t ok = 0;
  uint64_t bytes = 0;  // response bytes of the ok requests
  std::map<std::string, uint64_t> errors;
  Latencies latency;

  void Error(const std::string& kind) { ++errors[kind]; }
  void Merge(const Tally& other);
  // {"requests":..., "seconds":..., "rate":..., "errors":{...}, "error_count":..., "latency":{...},
  //  "bytes_per_response":...}
  nlohmann::json Report(double seconds);
};

// How a throughput mode runs: `threads` threads, each with its share of `connections`, for
// `warmup_s` unmeasured and then `seconds` measured.
struct LoadOptions {
  Endpoint target;
  std::string request;  // the bytes of one request
  std::string expect;   // each response must contain this (empty: anything)
  int connections = 32;
  int threads = 1;
  double seconds = 10;
  double warmup_s = 1;
  double timeout_s = 5;  // a request unanswered this long is an error
  std::vector<in_addr> sources;
  bool tls = false;     // TCP modes: TLS over each connection
  bool resume = false;  // and resume the previous session of the same connection slot
  int tls_version = 0;  // 12: TLS 1.2 at most; 0: whatever both speak (1.3)
};

// HTTP GETs over persistent connections: a request is sent when the previous response is in.
nlohmann::json RunKeepAlive(const LoadOptions& options);
// One new TCP connection per request, read to EOF (finger's pattern). `http`: the response must
// be an HTTP 2xx; otherwise any non-empty answer counts.
nlohmann::json RunConnectPerRequest(const LoadOptions& options, bool http);

// Runs body(index, tally) on `threads` threads at once and merges their tallies into one
// report over `seconds`.
nlohmann::json RunThreads(int threads, double seconds,
                          const std::function<void(int index, Tally* tally)>& body);

// The bytes of a GET request for `path`.
std::string HttpGet(std::string_view path, const Endpoint& target, bool close);

// The shortest number that reads well in a report: 1234.5678 -> 1234.6.
double Round1(double v);

}  // namespace utmpcd::bench
