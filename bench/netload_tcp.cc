// The TCP modes of netload: keep-alive HTTP, and one connection per request, in plain TCP or
// TLS (OpenSSL on the same non-blocking sockets, the server's certificate not verified: this
// measures the server). Each thread runs its own epoll set over its share of the connections,
// edge-triggered: a connection is a small state machine (connecting, handshaking, sending,
// receiving) driven by its events.
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <vector>

#include "bench/http_frame.h"
#include "bench/netload.h"

namespace utmpcd::bench {
namespace {

// A connection that failed waits this long before it is opened again, so a refusing or
// exhausted target costs a few hundred attempts a second, not a busy loop.
constexpr int64_t kRetryNs = 10'000'000;
// Timeouts and retries are looked at this often.
constexpr int64_t kScanNs = 10'000'000;
// A request still unanswered this long when the run ends is an error too: a run shorter than
// the timeout still shows a server that stopped answering.
constexpr int64_t kStuckNs = 1'000'000'000;
// A connection-per-request answer larger than this is an error (a finger listing of a few
// users is a few hundred bytes; this only bounds memory).
constexpr size_t kMaxAnswer = 1 << 20;

enum class Phase { kIdle, kConnecting, kHandshaking, kSending, kReceiving };

struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;              // with --tls
  SSL_SESSION* session = nullptr;  // with --resume: the session the next connection resumes
  uint32_t generation = 0;  // tells a stale event of a closed fd from one of its successor
  Phase phase = Phase::kIdle;
  size_t sent = 0;
  std::string in;
  int64_t start_ns = 0;  // when the request began: the connect, or the send on keep-alive
  int64_t retry_ns = 0;  // kIdle: when to open again
};

class TcpWorker {
 public:
  TcpWorker(const LoadOptions& options, bool keep_alive, bool http, int index, Tally* tally,
            SSL_CTX* tls)
      : o_(options), keep_alive_(keep_alive), http_(http), tally_(tally), tls_(tls) {
    int share = o_.connections / o_.threads + (index < o_.connections % o_.threads ? 1 : 0);
    conns_.resize(static_cast<size_t>(share));
    next_source_ = static_cast<size_t>(index);
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
  }
  TcpWorker(const TcpWorker&) = delete;
  TcpWorker& operator=(const TcpWorker&) = delete;
  ~TcpWorker() {
    for (Conn& c : conns_) {
      Close(c);
      if (c.session != nullptr) SSL_SESSION_free(c.session);
    }
    close(epfd_);
  }
  uint64_t resumed() const { return resumed_; }
  uint64_t handshakes() const { return handshakes_; }

  void Run(int64_t measure_from_ns, int64_t end_ns) {
    measure_from_ns_ = measure_from_ns;
    end_ns_ = end_ns;
    int64_t now = NowNs();
    for (Conn& c : conns_) Open(c, now);
    epoll_event events[256];
    int64_t last_scan = now;
    while (now < end_ns_) {
      int n = epoll_wait(epfd_, events, 256, 10);
      now = NowNs();
      for (int i = 0; i < n; ++i) {
        Conn& c = conns_[events[i].data.u64 & 0xffffffff];
        if (c.fd >= 0 && c.generation == events[i].data.u64 >> 32) Drive(c, events[i].events, now);
      }
      if (now - last_scan >= kScanNs) {
        Scan(now);
        last_scan = now;
      }
    }
    for (const Conn& c : conns_) {
      if (c.phase != Phase::kIdle && end_ns_ - c.start_ns > kStuckNs) {
        tally_->Error("unanswered at the end (over 1 s)");
      }
    }
  }

 private:
  bool Measured(int64_t now) const { return now >= measure_from_ns_ && now < end_ns_; }

  void Open(Conn& c, int64_t now) {
    c.fd = socket(o_.target.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ++c.generation;
    c.start_ns = now;
    c.sent = 0;
    c.in.clear();
    if (c.fd < 0) return Fail(c, now, std::string("socket: ") + strerror(errno));
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!o_.sources.empty() && !o_.target.ipv6() &&
        !BindSource(c.fd, o_.sources[next_source_++ % o_.sources.size()])) {
      return Fail(c, now, std::string("bind: ") + strerror(errno));
    }
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&o_.target.addr), o_.target.len) != 0 &&
        errno != EINPROGRESS) {
      return Fail(c, now, std::string("connect: ") + strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (uint64_t{c.generation} << 32) | static_cast<uint64_t>(&c - conns_.data());
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.phase = Phase::kConnecting;
  }

  void Drive(Conn& c, uint32_t events, int64_t now) {
    if (c.phase == Phase::kConnecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return Fail(c, now, std::string("connect: ") + strerror(err));
      if (keep_alive_) c.start_ns = now;
      c.phase = Phase::kSending;
      if (tls_ != nullptr) {
        c.ssl = SSL_new(tls_);
        SSL_set_fd(c.ssl, c.fd);
        SSL_set_connect_state(c.ssl);
        if (o_.resume && c.session != nullptr) SSL_set_session(c.ssl, c.session);
        c.phase = Phase::kHandshaking;
      }
    }
    if (c.phase == Phase::kHandshaking) Handshake(c, now);
    if (c.phase == Phase::kSending) Send(c, now);
    if (c.phase == Phase::kReceiving && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
      Receive(c, now);
    }
  }

  void Handshake(Conn& c, int64_t now) {
    int r = SSL_do_handshake(c.ssl);
    if (r == 1) {
      if (Measured(now)) {
        ++handshakes_;
        if (SSL_session_reused(c.ssl)) ++resumed_;
      }
      c.phase = Phase::kSending;
      return;
    }
    int e = SSL_get_error(c.ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;  // the next event
    Fail(c, now, "TLS handshake: " + TlsError());
  }

  static std::string TlsError() {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    return reason != nullptr ? reason : "failed";
  }

  // Bytes sent (> 0), 0 for "wait for the next event", -1 after Fail.
  ssize_t Write(Conn& c, const char* data, size_t size, int64_t now) {
    if (c.ssl == nullptr) {
      ssize_t n = send(c.fd, data, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EAGAIN) return 0;  // EPOLLOUT comes back (edge-triggered)
      Fail(c, now, std::string("send: ") + strerror(errno));
      return -1;
    }
    int n = SSL_write(c.ssl, data, static_cast<int>(size));
    if (n > 0) return n;
    int e = SSL_get_error(c.ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return 0;
    Fail(c, now, "TLS write: " + TlsError());
    return -1;
  }

  // Bytes read (> 0), 0 at the end of the stream, -2 for "wait", -1 after Fail.
  ssize_t Read(Conn& c, char* buffer, size_t size, int64_t now) {
    if (c.ssl == nullptr) {
      ssize_t n = read(c.fd, buffer, size);
      if (n >= 0) return n;
      if (errno == EAGAIN) return -2;
      Fail(c, now, std::string("read: ") + strerror(errno));
      return -1;
    }
    int n = SSL_read(c.ssl, buffer, static_cast<int>(size));
    if (n > 0) return n;
    int e = SSL_get_error(c.ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -2;
    if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) {
      ERR_clear_error();
      return 0;  // close_notify, or the connection closed without one (the server's close)
    }
    Fail(c, now, "TLS read: " + TlsError());
    return -1;
  }

  void Send(Conn& c, int64_t now) {
    while (c.sent < o_.request.size()) {
      ssize_t n = Write(c, o_.request.data() + c.sent, o_.request.size() - c.sent, now);
      if (n <= 0) return;
      c.sent += static_cast<size_t>(n);
    }
    c.phase = Phase::kReceiving;
  }

  void Receive(Conn& c, int64_t now) {
    static thread_local char buffer[64 * 1024];
    while (true) {
      ssize_t n = Read(c, buffer, sizeof buffer, now);
      if (n < 0) return;  // wait, or failed
      if (n == 0) return AtEof(c, now);
      c.in.append(buffer, static_cast<size_t>(n));
      if (!keep_alive_) {
        if (c.in.size() > kMaxAnswer) return Fail(c, now, "answer too large");
        continue;
      }
      ResponseFrame frame = FrameResponse(c.in);
      if (frame.state == ResponseFrame::State::kMalformed) {
        return Fail(c, now, "malformed response");
      }
      if (frame.state == ResponseFrame::State::kComplete) {
        return Complete(c, now, frame.status, frame.size, !frame.close);
      }
    }
  }

  void AtEof(Conn& c, int64_t now) {
    if (!http_) {
      if (c.in.empty()) return Fail(c, now, "empty answer");
      return Complete(c, now, 200, c.in.size(), false);
    }
    ResponseFrame frame = FrameResponse(c.in);
    if (c.in.empty()) return Fail(c, now, "closed without a response");
    if (frame.body_to_eof || frame.state == ResponseFrame::State::kComplete) {
      return Complete(c, now, frame.status, c.in.size(), false);
    }
    Fail(c, now, "truncated response");
  }

  // A whole response of `size` bytes is in c.in: count it, then ask again on the same
  // connection (`reuse`) or on a new one.
  void Complete(Conn& c, int64_t now, int status, size_t size, bool reuse) {
    if (Measured(now)) {
      std::string_view answer(c.in.data(), size);
      if (http_ && (status < 200 || status > 299)) {
        tally_->Error("status " + std::to_string(status));
      } else if (!o_.expect.empty() && answer.find(o_.expect) == std::string_view::npos) {
        tally_->Error("answer without \"" + o_.expect + "\"");
      } else {
        ++tally_->ok;
        tally_->bytes += size;
        tally_->latency.Add(now - c.start_ns);
      }
    }
    if (!keep_alive_ || !reuse || size != c.in.size()) {
      Close(c);
      return Open(c, now);
    }
    c.in.clear();
    c.sent = 0;
    c.start_ns = now;
    c.phase = Phase::kSending;
    Send(c, now);
  }

  void Fail(Conn& c, int64_t now, const std::string& kind) {
    if (Measured(now)) tally_->Error(kind);
    Close(c);
    c.retry_ns = now + kRetryNs;
  }

  void Close(Conn& c) {
    if (c.ssl != nullptr) {
      // With --resume, this connection's session (its ticket came with the response) for the
      // next one: a TLS 1.3 session is resumed once.
      if (o_.resume) {
        SSL_SESSION* latest = SSL_get1_session(c.ssl);
        if (latest != nullptr && SSL_SESSION_is_resumable(latest)) {
          if (c.session != nullptr) SSL_SESSION_free(c.session);
          c.session = latest;
        } else if (latest != nullptr) {
          SSL_SESSION_free(latest);
        }
      }
      // A close_notify, as a client that ends properly sends: a server takes a close without
      // one for a truncation, and forgets the session.
      if (c.phase != Phase::kHandshaking && c.phase != Phase::kConnecting) SSL_shutdown(c.ssl);
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    c.phase = Phase::kIdle;
    c.in.clear();
  }

  // Requests unanswered for too long fail; failed connections whose wait is over open again.
  void Scan(int64_t now) {
    int64_t timeout_ns = SecondsToNs(o_.timeout_s);
    for (Conn& c : conns_) {
      if (c.phase == Phase::kIdle) {
        if (now >= c.retry_ns) Open(c, now);
      } else if (now - c.start_ns > timeout_ns) {
        Fail(c, now, "timeout");
      }
    }
  }

  const LoadOptions& o_;
  bool keep_alive_;
  bool http_;
  Tally* tally_;
  SSL_CTX* tls_;
  uint64_t resumed_ = 0;
  uint64_t handshakes_ = 0;
  int epfd_ = -1;
  std::vector<Conn> conns_;
  size_t next_source_ = 0;
  int64_t measure_from_ns_ = 0;
  int64_t end_ns_ = 0;
};

nlohmann::json RunTcp(const LoadOptions& o, bool keep_alive, bool http) {
  RaiseFileLimit(static_cast<uint64_t>(o.connections) + 1024);
  SSL_CTX* tls = nullptr;
  if (o.tls) {
    tls = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(tls, TLS1_2_VERSION);
    if (o.tls_version == 12) SSL_CTX_set_max_proto_version(tls, TLS1_2_VERSION);
    SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(tls, SSL_SESS_CACHE_CLIENT);
  }
  int64_t measure_from = NowNs() + SecondsToNs(o.warmup_s);
  int64_t end = measure_from + SecondsToNs(o.seconds);
  std::atomic<uint64_t> handshakes{0}, resumed{0};
  nlohmann::json report = RunThreads(o.threads, o.seconds, [&](int index, Tally* tally) {
    TcpWorker worker(o, keep_alive, http, index, tally, tls);
    worker.Run(measure_from, end);
    handshakes += worker.handshakes();
    resumed += worker.resumed();
  });
  if (tls != nullptr) {
    report["tls_handshakes"] = handshakes.load();
    report["tls_resumed"] = resumed.load();
    SSL_CTX_free(tls);
  }
  return report;
}

}  // namespace

nlohmann::json RunKeepAlive(const LoadOptions& options) { return RunTcp(options, true, true); }

nlohmann::json RunConnectPerRequest(const LoadOptions& options, bool http) {
  return RunTcp(options, false, http);
}

}  // namespace utmpcd::bench
