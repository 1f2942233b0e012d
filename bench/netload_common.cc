#include <arpa/inet.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <stdexcept>
#include <thread>

#include "bench/netload.h"

namespace utmpcd::bench {

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t SecondsToNs(double s) { return static_cast<int64_t>(s * 1e9); }

namespace {

[[noreturn]] void NotLoopback(const std::string& text) {
  throw std::invalid_argument("not a loopback address (numeric, in 127.0.0.0/8 or [::1]): " + text);
}

}  // namespace

Endpoint ParseLoopback(std::string_view host_port) {
  Endpoint e;
  e.text = std::string(host_port);
  size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == host_port.size()) {
    throw std::invalid_argument("not HOST:PORT: " + e.text);
  }
  std::string host(host_port.substr(0, colon));
  std::string port_text(host_port.substr(colon + 1));
  size_t used = 0;
  int port = std::stoi(port_text, &used);
  if (used != port_text.size() || port < 1 || port > 65535) {
    throw std::invalid_argument("bad port: " + e.text);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1 ||
        !IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
      NotLoopback(e.text);
    }
    e.len = sizeof(sockaddr_in6);
    return e;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&e.addr);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1 ||
      (ntohl(a4->sin_addr.s_addr) >> 24) != 127) {
    NotLoopback(e.text);
  }
  e.len = sizeof(sockaddr_in);
  return e;
}

std::vector<in_addr> LoopbackSources(int count) {
  // 127.0.0.1 .. 127.0.0.254 (one /24 is plenty: 254 x ~28,000 ephemeral ports).
  std::vector<in_addr> sources;
  for (int i = 1; i <= std::min(count, 254); ++i) {
    in_addr a{};
    a.s_addr = htonl((127u << 24) | static_cast<uint32_t>(i));
    sources.push_back(a);
  }
  return sources;
}

bool BindSource(int fd, const in_addr& source) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr = source;
  return bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

uint64_t RaiseFileLimit(uint64_t want) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  rlimit raised = r;
  raised.rlim_cur = raised.rlim_max = std::max<rlim_t>(r.rlim_max, want);
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {  // not root: up to the hard limit only
    raised = r;
    raised.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &raised);
  }
  getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

void Latencies::Merge(const Latencies& other) {
  us_.insert(us_.end(), other.us_.begin(), other.us_.end());
}

nlohmann::json Latencies::Summary() {
  nlohmann::json j = nlohmann::json::object();
  if (us_.empty()) return j;
  std::sort(us_.begin(), us_.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(us_.size()))) - 1;
    return us_[std::min(i, us_.size() - 1)];
  };
  j["p50_us"] = at(0.50);
  j["p90_us"] = at(0.90);
  j["p99_us"] = at(0.99);
  j["p999_us"] = at(0.999);
  j["max_us"] = us_.back();
  return j;
}

void Tally::Merge(const Tally& other) {
  ok += other.ok;
  bytes += other.bytes;
  for (const auto& [kind, n] : other.errors) errors[kind] += n;
  latency.Merge(other.latency);
}

nlohmann::json Tally::Report(double seconds) {
  uint64_t error_count = 0;
  for (const auto& [kind, n] : errors) error_count += n;
  nlohmann::json j;
  j["requests"] = ok;
  j["seconds"] = seconds;
  j["rate"] = Round1(static_cast<double>(ok) / seconds);
  j["error_count"] = error_count;
  j["errors"] = errors;
  j["bytes_per_response"] = ok ? bytes / ok : 0;
  j["latency"] = latency.Summary();
  return j;
}

nlohmann::json RunThreads(int threads, double seconds,
                          const std::function<void(int index, Tally* tally)>& body) {
  std::vector<Tally> tallies(static_cast<size_t>(threads));
  std::vector<std::thread> running;
  for (int i = 0; i < threads; ++i) running.emplace_back(body, i, &tallies[static_cast<size_t>(i)]);
  for (std::thread& t : running) t.join();
  Tally all;
  for (const Tally& t : tallies) all.Merge(t);
  return all.Report(seconds);
}

std::string HttpGet(std::string_view path, const Endpoint& target, bool close) {
  std::string r = "GET ";
  r += path;
  r += " HTTP/1.1\r\nHost: ";
  r += target.text;
  r += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  return r;
}

double Round1(double v) { return std::round(v * 10) / 10; }

}  // namespace utmpcd::bench
