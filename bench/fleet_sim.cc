// fleet_sim: many utmpcd hosts' event streams (GET /v1/events, docs/PROTOCOL.md) served by one
// process on loopback, for bench/fleet.sh. Host k is 127.A.B.C (host_address(k)); one socket
// listening on 0.0.0.0:PORT serves them all, telling them apart by the address a connection
// reached. Each host records events at --rate a second (a login, then its logout, on one of
// eight lines; its first --open events are logins that stay open), and a stream resumes from
// `from=` or `Last-Event-ID` exactly as a utmpcd's does: event SEQ of a host is always the
// same event.
//
// With --probe URL it also measures what the fleet shows: every --probe-every ms one host
// records a login of a user of its own, and a client asks URL's /v1/fleet/sessions?user=...
// until the session is there; at the end the latencies' percentiles are printed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Host k is 127.(1 + k / 62500).((k / 250) % 250).(k % 250 + 1): its index from the address.
int64_t HostIndex(uint32_t addr_host_order) {
  int64_t a = (addr_host_order >> 16) & 255, b = (addr_host_order >> 8) & 255,
          c = addr_host_order & 255;
  return (a - 1) * 62500 + b * 250 + (c - 1);
}

struct Options {
  int port = 4310;
  int64_t hosts = 1000;
  double rate = 1;       // events a second, each host
  int64_t open = 0;      // each host's first events: logins that stay open
  double seconds = 30;   // then exit (0: never)
  std::string probe;     // http://127.0.0.1:430 (empty: no probes)
  int64_t probe_every_ms = 100;
  int64_t heartbeat_s = 15;
  int64_t probe_warmup_s = 5;
};

struct Host {
  int64_t recorded = 0;  // events recorded so far: seqs 1..recorded
  double carry = 0;
  std::map<int64_t, std::string> probes;  // seq → the probe user of that login
};

struct Stream {
  int fd = -1;
  int64_t host = -1;
  std::string in;
  bool streaming = false;
  int64_t sent = 0;  // the last seq sent
  std::string out;
  Clock::time_point last_write = Clock::now();
};

Options g;
std::vector<Host> hosts;
std::mutex probe_mutex;  // hosts[].probes and recorded, read by the event thread only: the
                         // probe thread asks for a probe through `pending_probes`
std::vector<std::pair<int64_t, std::string>> pending_probes;  // host, user
std::atomic<int64_t> recorded_total{0};

// Event SEQ of host K, as the stream's data.
std::string EventJson(int64_t k, int64_t seq, const Host& h) {
  int64_t time_us = 1764000000000000 + seq * 1000000;
  std::string kind, user, tty;
  auto probe = h.probes.find(seq);
  if (probe != h.probes.end()) {
    kind = "login";
    user = probe->second;
    tty = "probe/" + std::to_string(seq);
    time_us = NowUs();
  } else if (seq <= g.open) {
    kind = "login";
    user = "open" + std::to_string(seq % 50);
    tty = "tty" + std::to_string(seq);
  } else {
    int64_t n = seq - g.open;  // 1, 2, ...: login, logout, login, ...
    kind = n % 2 == 1 ? "login" : "logout";
    user = kind == "login" ? "u" + std::to_string((k + n) % 200) : "";
    tty = "pts/" + std::to_string((n - 1) / 2 % 8);
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"seq\":%lld,\"kind\":\"%s\",\"time_us\":%lld,\"user\":\"%s\",\"tty\":\"%s\","
                "\"host\":\"10.%lld.%lld.1\",\"addr\":null,\"pid\":%lld,\"session\":0,"
                "\"source\":\"wtmp\",\"boot_id\":null}",
                static_cast<long long>(seq), kind.c_str(), static_cast<long long>(time_us),
                user.c_str(), tty.c_str(), static_cast<long long>(k / 250 % 250),
                static_cast<long long>(k % 250), static_cast<long long>(1000 + seq % 30000));
  return buf;
}

void Frame(std::string& out, int64_t k, int64_t seq, const Host& h) {
  std::string json = EventJson(k, seq, h);
  out += "id: " + std::to_string(seq) + "@00000000000000" + std::to_string(10 + k % 90) + "\n";
  out += "data: " + json + "\n\n";
}

// The seq a request resumes after: Last-Event-ID's, else from= - 1, else the newest.
int64_t ResumeAfter(const std::string& head, const Host& h) {
  auto id = head.find("Last-Event-ID: ");
  if (id != std::string::npos) return std::atoll(head.c_str() + id + 15);
  auto from = head.find("from=");
  if (from != std::string::npos) return std::max<int64_t>(std::atoll(head.c_str() + from + 5), 1) - 1;
  return h.recorded;
}

// Flushes what a stream has to send; false when the connection is gone.
bool Flush(Stream& s) {
  while (!s.out.empty()) {
    ssize_t n = ::send(s.fd, s.out.data(), s.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    s.out.erase(0, static_cast<size_t>(n));
    s.last_write = Clock::now();
  }
  return true;
}

// Queues a stream's events up to its host's newest, at most 64 KiB at a time.
void Fill(Stream& s) {
  const Host& h = hosts[static_cast<size_t>(s.host)];
  while (s.sent < h.recorded && s.out.size() < 65536) Frame(s.out, s.host, ++s.sent, h);
}

// One keep-alive connection to the fleet server, as a client that asks often keeps one (a new
// connection a request would measure SYN retransmissions of a full accept queue, 1 s each).
class Client {
 public:
  Client(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~Client() { Close(); }
  // The body of GET `target`; "" when the server could not be asked.
  std::string Get(const std::string& target) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0 && !Connect()) return "";
      std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + host_ + "\r\n\r\n";
      if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
        std::string body;
        if (Read(&body)) return body;
      }
      Close();  // the server closed it (idle timeout): once more on a new one
    }
    return "";
  }

 private:
  bool Connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    ::inet_pton(AF_INET, host_.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      Close();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buffer_.clear();
    return true;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // One response with Content-Length (what the server sends), its body into `body`.
  bool Read(std::string* body) {
    char buf[65536];
    for (;;) {
      auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = buffer_.find("Content-Length: ");
        if (cl == std::string::npos || cl > end) return false;
        size_t length = std::strtoul(buffer_.c_str() + cl + 16, nullptr, 10);
        if (buffer_.size() >= end + 4 + length) {
          *body = buffer_.substr(end + 4, length);
          buffer_.erase(0, end + 4 + length);
          return true;
        }
      }
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  std::string host_;
  int port_;
  int fd_ = -1;
  std::string buffer_;
};

void Probes(std::vector<double>* latencies_ms, std::atomic<bool>* stop) {
  // http://HOST:PORT
  std::string url = g.probe.substr(g.probe.find("://") + 3);
  std::string host = url.substr(0, url.find(':'));
  int port = std::atoi(url.c_str() + url.find(':') + 1);
  Client client(host, port);
  // Not while the fleet server is still connecting to every host (its start is not its pace).
  for (auto until = Clock::now() + std::chrono::seconds(g.probe_warmup_s);
       !*stop && Clock::now() < until;)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int64_t n = 0; !*stop; ++n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(g.probe_every_ms));
    std::string user = "probe" + std::to_string(n);
    int64_t k = (n * 7919) % g.hosts;
    auto t0 = Clock::now();
    {
      std::lock_guard lock(probe_mutex);
      pending_probes.emplace_back(k, user);
    }
    bool seen = false;
    while (!*stop && Clock::now() - t0 < std::chrono::seconds(10)) {
      std::string answer = client.Get("/v1/fleet/sessions?user=" + user);
      if (answer.find("\"" + user + "\"") != std::string::npos) {
        seen = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // asking is load too
    }
    if (seen) {
      latencies_ms->push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    } else if (!*stop) {
      latencies_ms->push_back(10000);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleet_sim: many utmpcd hosts' event streams on loopback (bench/fleet.sh)"};
  app.add_option("--port", g.port, "port every host listens on");
  app.add_option("--hosts", g.hosts, "hosts (127.1.0.1 on)");
  app.add_option("--rate", g.rate, "events a second, each host");
  app.add_option("--open", g.open, "each host's first events: logins that stay open");
  app.add_option("--seconds", g.seconds, "run this long, then print and exit (0: until killed)");
  app.add_option("--probe", g.probe, "measure login → /v1/fleet/sessions at this fleet server");
  app.add_option("--probe-every-ms", g.probe_every_ms, "a probe login this often");
  app.add_option("--heartbeat-s", g.heartbeat_s, "a ': ping' after this long without events");
  app.add_option("--probe-warmup-s", g.probe_warmup_s, "the first probe after this long");
  CLI11_PARSE(app, argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  hosts.resize(static_cast<size_t>(g.hosts));
  for (Host& h : hosts) h.recorded = g.open;  // the open sessions are there from the start
  recorded_total = g.open * g.hosts;

  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(g.port));
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd, 4096) != 0) {
    std::perror("fleet_sim: bind");
    return 1;
  }
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, Stream> streams;
  std::fprintf(stderr, "fleet_sim: %lld hosts on port %d\n", static_cast<long long>(g.hosts), g.port);

  std::vector<double> latencies;
  std::atomic<bool> stop{false};
  std::thread prober;
  if (!g.probe.empty()) prober = std::thread(Probes, &latencies, &stop);

  auto start = Clock::now();
  auto last_tick = start;
  epoll_event events[256];
  while (g.seconds <= 0 || Clock::now() - start < std::chrono::duration<double>(g.seconds)) {
    int n = ::epoll_wait(ep, events, 256, 5);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          sockaddr_in local{};
          int c = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          socklen_t len = sizeof local;
          ::getsockname(c, reinterpret_cast<sockaddr*>(&local), &len);
          int64_t k = HostIndex(ntohl(local.sin_addr.s_addr));
          if (k < 0 || k >= g.hosts) {
            ::close(c);
            continue;
          }
          Stream s;
          s.fd = c;
          s.host = k;
          streams[c] = s;
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.fd = c;
          ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      auto it = streams.find(fd);
      if (it == streams.end()) continue;
      Stream& s = it->second;
      char buf[4096];
      ssize_t got = ::recv(fd, buf, sizeof buf, 0);
      if (got <= 0 && !(got < 0 && errno == EAGAIN)) {
        ::close(fd);
        streams.erase(it);
        continue;
      }
      if (got > 0 && !s.streaming) {
        s.in.append(buf, static_cast<size_t>(got));
        if (s.in.find("\r\n\r\n") == std::string::npos) continue;
        Host& h = hosts[static_cast<size_t>(s.host)];
        s.sent = std::min(ResumeAfter(s.in, h), h.recorded);
        s.streaming = true;
        s.out = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\r\n";
        s.out += "retry: 1000\nid: " + std::to_string(s.sent) + "@00000000000000" +
                 std::to_string(10 + s.host % 90) + "\n\n";
        Fill(s);
        if (!Flush(s)) {
          ::close(fd);
          streams.erase(it);
        }
      }
    }
    // Record the events due since the last tick, and send them.
    auto now = Clock::now();
    double dt = std::chrono::duration<double>(now - last_tick).count();
    if (dt >= 0.01) {
      last_tick = now;
      for (Host& h : hosts) {
        h.carry += g.rate * dt;
        auto whole = static_cast<int64_t>(h.carry);
        h.carry -= static_cast<double>(whole);
        h.recorded += whole;
        recorded_total += whole;
      }
      std::lock_guard lock(probe_mutex);
      for (auto& [k, user] : pending_probes) {
        Host& h = hosts[static_cast<size_t>(k)];
        h.probes[++h.recorded] = user;
        ++recorded_total;
      }
      pending_probes.clear();
    }
    for (auto it = streams.begin(); it != streams.end();) {
      Stream& s = it->second;
      if (s.streaming) {
        Fill(s);
        if (s.out.empty() && now - s.last_write > std::chrono::seconds(g.heartbeat_s)) s.out = ": ping\n\n";
        if (!Flush(s)) {
          ::close(s.fd);
          it = streams.erase(it);
          continue;
        }
      }
      ++it;
    }
  }
  stop = true;
  if (prober.joinable()) prober.join();
  std::printf("recorded %lld events\n", static_cast<long long>(recorded_total.load()));
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) {
      return latencies[std::min(latencies.size() - 1,
                                static_cast<size_t>(std::ceil(p * static_cast<double>(latencies.size())) - 1))];
    };
    std::printf("probes %zu: login to /v1/fleet/sessions p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                latencies.size(), pct(0.5), pct(0.99), latencies.back());
  }
  return 0;
}
