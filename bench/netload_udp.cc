// The UDP request/response mode of netload: each of `connections` sockets sends one datagram,
// waits for its answer (or a timeout), and sends the next, as a polling client would.
#include "bench/netload_udp.h"

#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "api/udp_wire.h"

namespace utmpcd::bench {
namespace {

// Looked at this often for timeouts.
constexpr int64_t kScanNs = 10'000'000;
// A request still unanswered this long when the run ends is an error too: a run shorter than
// the timeout still shows a server that stopped answering.
constexpr int64_t kStuckNs = 1'000'000'000;

struct Pending {
  int fd = -1;
  uint32_t id = 0;  // the request id of the datagram awaiting an answer
  int64_t start_ns = 0;
};

class UdpWorker {
 public:
  UdpWorker(const LoadOptions& o, const UdpExchange& exchange, int index, Tally* tally)
      : o_(o), exchange_(exchange), tally_(tally) {
    int share = o.connections / o.threads + (index < o.connections % o.threads ? 1 : 0);
    sockets_.resize(static_cast<size_t>(share));
    // Ids differ between threads, so a stray answer never matches another socket's request.
    next_id_ = static_cast<uint32_t>(index) << 24;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
  }
  UdpWorker(const UdpWorker&) = delete;
  UdpWorker& operator=(const UdpWorker&) = delete;
  ~UdpWorker() {
    for (Pending& p : sockets_) {
      if (p.fd >= 0) close(p.fd);
    }
    close(epfd_);
  }

  // Returns false (with the reason in the tally) when a socket cannot be set up.
  bool Start() {
    for (size_t i = 0; i < sockets_.size(); ++i) {
      Pending& p = sockets_[i];
      p.fd = socket(o_.target.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (p.fd < 0 ||
          (!o_.sources.empty() && !o_.target.ipv6() &&
           !BindSource(p.fd, o_.sources[i % o_.sources.size()])) ||
          connect(p.fd, reinterpret_cast<const sockaddr*>(&o_.target.addr), o_.target.len) != 0) {
        tally_->Error(std::string("socket: ") + strerror(errno));
        return false;
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, p.fd, &ev);
    }
    return true;
  }

  void Run(int64_t measure_from_ns, int64_t end_ns) {
    int64_t now = NowNs();
    for (Pending& p : sockets_) Ask(p, now, end_ns);
    epoll_event events[256];
    int64_t last_scan = now;
    int64_t timeout_ns = SecondsToNs(o_.timeout_s);
    while (now < end_ns) {
      int n = epoll_wait(epfd_, events, 256, 10);
      now = NowNs();
      for (int i = 0; i < n; ++i) {
        Receive(sockets_[events[i].data.u64], now, measure_from_ns, end_ns);
      }
      if (now - last_scan < kScanNs) continue;
      last_scan = now;
      for (Pending& p : sockets_) {
        if (now - p.start_ns <= timeout_ns) continue;
        if (now >= measure_from_ns) tally_->Error("timeout (no answer)");
        Ask(p, now, end_ns);
      }
    }
    for (const Pending& p : sockets_) {
      if (end_ns - p.start_ns > kStuckNs) tally_->Error("unanswered at the end (over 1 s)");
    }
  }

 private:
  void Ask(Pending& p, int64_t now, int64_t end_ns) {
    p.id = ++next_id_;
    p.start_ns = now;
    std::string request = exchange_.request(p.id);
    if (send(p.fd, request.data(), request.size(), 0) < 0 && now < end_ns) {
      // Counted whatever the window: a send error is rare and always worth seeing.
      tally_->Error(std::string("send: ") + strerror(errno));
    }
  }

  void Receive(Pending& p, int64_t now, int64_t measure_from_ns, int64_t end_ns) {
    char buffer[65536];
    while (true) {
      ssize_t n = recv(p.fd, buffer, sizeof buffer, 0);
      if (n < 0) {
        if (errno != EAGAIN && now >= measure_from_ns) {
          tally_->Error(std::string("recv: ") + strerror(errno));
        }
        return;
      }
      std::string_view answer(buffer, static_cast<size_t>(n));
      if (!exchange_.answers(answer, p.id)) {
        // A late answer to a request that timed out, or a wrong one.
        if (now >= measure_from_ns) tally_->Error("answer not to the pending request");
        continue;
      }
      if (now >= measure_from_ns && now < end_ns) {
        ++tally_->ok;
        tally_->bytes += answer.size();
        tally_->latency.Add(now - p.start_ns);
      }
      Ask(p, now, end_ns);
    }
  }

  const LoadOptions& o_;
  const UdpExchange& exchange_;
  Tally* tally_;
  int epfd_ = -1;
  std::vector<Pending> sockets_;
  uint32_t next_id_ = 0;
};

}  // namespace

UdpExchange SummaryExchange() {
  UdpExchange e;
  e.request = [](uint32_t id) {
    return EncodeUdpRequest(UdpRequest{UdpOp::kSummary, id, 0}, kUdpSummaryRequestBytes);
  };
  e.answers = [](std::string_view answer, uint32_t id) {
    auto reply = DecodeUdpReply(answer);
    return reply && reply->op == UdpOp::kSummary && reply->request_id == id &&
           reply->status == UdpStatus::kOk;
  };
  return e;
}

nlohmann::json RunUdp(const LoadOptions& o, const UdpExchange& exchange) {
  RaiseFileLimit(static_cast<uint64_t>(o.connections) + 1024);
  int64_t measure_from = NowNs() + SecondsToNs(o.warmup_s);
  int64_t end = measure_from + SecondsToNs(o.seconds);
  return RunThreads(o.threads, o.seconds, [&](int index, Tally* tally) {
    UdpWorker worker(o, exchange, index, tally);
    if (worker.Start()) worker.Run(measure_from, end);
  });
}

}  // namespace utmpcd::bench
