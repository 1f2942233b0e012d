#include "net/http_client.h"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first

#include "api/wire_decode.h"
#include "core/version.h"

namespace utmpcd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Endpoints = std::vector<tcp::endpoint>;
using SteadyClock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// A history page of 1000 rows with 256-byte hosts escaped is well under 2 MiB; more than 64 MiB
// is no answer of ours, and the limit keeps a hostile server from taking the client's memory.
constexpr uint64_t kMaxBodyBytes = 64 << 20;
// An error body is a line of JSON.
constexpr size_t kMaxErrorBodyBytes = 64 << 10;
constexpr int64_t kMinRetryMs = 100;

// A system message as a clause: "Connection refused" -> "connection refused".
std::string Clause(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      (text.size() < 2 || !(text[1] >= 'A' && text[1] <= 'Z'))) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

std::string Describe(const beast::error_code& ec) {
  if (ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == http::error::partial_message) {
    return "connection closed by the host";
  }
  if (ec == beast::error::timeout) return "timed out";
  return Clause(ec.message());
}

std::string Seconds(int64_t ms) { return fmt::format("{:g} s", static_cast<double>(ms) / 1000); }

// The Host header: the name, bracketed when it is an IPv6 literal, and the port.
std::string HostHeader(const NetHost& host) {
  bool v6 = host.name.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host.name, v6 ? "]" : "", host.port);
}

http::request<http::empty_body> Get(const NetHost& host, const std::string& target) {
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, HostHeader(host));
  request.set(http::field::user_agent, std::string("utmpc/") + kVersion);
  return request;
}

// Name lookups. Asio's resolver runs getaddrinfo on one background thread, one lookup after
// another, so one host whose DNS server never answers would hold up every other name. Here each
// name gets its own short-lived thread, and the answer is handed to the io_context unless the
// Resolver has gone (the host's deadline has long passed then, and so has the io_context).
class Resolver {
 public:
  using Done = std::function<void(Result<Endpoints>)>;

  explicit Resolver(asio::io_context& io) : shared_(std::make_shared<Shared>()) {
    shared_->io = &io;
  }
  ~Resolver() {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->io = nullptr;
  }
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Calls `done` on the io_context's thread, never from within Resolve. `done` must not own
  // anything that needs the io_context to be destroyed (hold a weak_ptr): it may be destroyed
  // on the lookup thread.
  void Resolve(const NetHost& host, Done done) {
    beast::error_code ec;
    auto address = asio::ip::make_address(host.name, ec);
    if (!ec) {
      asio::post(*shared_->io, [done = std::move(done), e = tcp::endpoint(address, host.port)] {
        done(Endpoints{e});
      });
      return;
    }
    std::thread([shared = shared_, name = host.name, port = host.port, done = std::move(done)] {
      Result<Endpoints> result = Lookup(name, port);
      std::lock_guard<std::mutex> lock(shared->mutex);
      if (shared->io == nullptr) return;
      asio::post(*shared->io, [done, result = std::move(result)] { done(result); });
    }).detach();
  }

 private:
  struct Shared {
    std::mutex mutex;
    asio::io_context* io = nullptr;  // nullptr once the Resolver is gone
  };

  static Result<Endpoints> Lookup(const std::string& name, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    int rc = ::getaddrinfo(name.c_str(), std::to_string(port).c_str(), &hints, &list);
    if (rc != 0) return MakeError(ErrorCode::kNotFound, Clause(::gai_strerror(rc)));
    Endpoints endpoints;
    for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
      tcp::endpoint e;
      if (a->ai_addrlen > e.capacity()) continue;
      std::memcpy(e.data(), a->ai_addr, a->ai_addrlen);
      e.resize(a->ai_addrlen);
      endpoints.push_back(e);
    }
    ::freeaddrinfo(list);
    if (endpoints.empty()) return MakeError(ErrorCode::kNotFound, "no address");
    return endpoints;
  }

  std::shared_ptr<Shared> shared_;
};

// ---- FetchAll ----

class Fetcher;

// One host of FetchAll: lookup, connect, then the exchange's requests one after another. The
// first answer must come within the timeout of the start, and each further one within the
// timeout of the answer before (a long history is many pages). Everything runs on the
// io_context's thread.
class FetchSession : public std::enable_shared_from_this<FetchSession> {
 public:
  FetchSession(Fetcher* fetcher, size_t index);
  void Start();

 private:
  void ArmDeadline();
  void Connect();
  void Send();
  void OnRead(const beast::error_code& ec);
  void Finish(Result<void> result);
  void Fail(std::string what) { Finish(MakeError(ErrorCode::kIo, std::move(what))); }

  Fetcher* fetcher_;
  size_t index_;
  const NetHost& host_;
  HostExchange* exchange_;
  asio::steady_timer deadline_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Endpoints endpoints_;
  std::string target_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool done_ = false;
};

class Fetcher {
 public:
  Fetcher(const std::vector<NetHost>& hosts, const std::vector<HostExchange*>& exchanges,
          const FetchOptions& options)
      : hosts_(hosts),
        exchanges_(exchanges),
        options_(options),
        resolver_(io_),
        results_(hosts.size(), Result<void>{}) {}

  std::vector<Result<void>> Run() {
    StartMore();
    io_.run();
    return std::move(results_);
  }
  void Finished(size_t index, Result<void> result) {
    results_[index] = std::move(result);
    --active_;
    StartMore();
  }

  asio::io_context& io() { return io_; }
  Resolver& resolver() { return resolver_; }
  const NetHost& host(size_t i) const { return hosts_[i]; }
  HostExchange* exchange(size_t i) const { return exchanges_[i]; }
  const FetchOptions& options() const { return options_; }

 private:
  void StartMore() {
    while (next_ < hosts_.size() && active_ < std::max<size_t>(options_.max_parallel, 1)) {
      ++active_;
      std::make_shared<FetchSession>(this, next_++)->Start();
    }
  }

  const std::vector<NetHost>& hosts_;
  const std::vector<HostExchange*>& exchanges_;
  FetchOptions options_;
  asio::io_context io_;
  Resolver resolver_;  // after io_: gone before it
  std::vector<Result<void>> results_;
  size_t next_ = 0, active_ = 0;
};

FetchSession::FetchSession(Fetcher* fetcher, size_t index)
    : fetcher_(fetcher),
      index_(index),
      host_(fetcher->host(index)),
      exchange_(fetcher->exchange(index)),
      deadline_(fetcher->io()),
      stream_(fetcher->io()) {}

void FetchSession::Start() {
  ArmDeadline();
  target_ = exchange_->FirstTarget();
  fetcher_->resolver().Resolve(host_, [weak = weak_from_this()](Result<Endpoints> endpoints) {
    auto self = weak.lock();
    if (!self || self->done_) return;
    if (!endpoints) return self->Fail(endpoints.error().message);
    self->endpoints_ = std::move(*endpoints);
    self->Connect();
  });
}

void FetchSession::ArmDeadline() {
  int64_t timeout_ms = fetcher_->options().timeout_ms;
  deadline_.expires_after(Ms(timeout_ms));  // cancels the wait of the request before
  deadline_.async_wait([self = shared_from_this(), timeout_ms](const beast::error_code& ec) {
    if (!ec) self->Fail("timed out after " + Seconds(timeout_ms));
  });
}

void FetchSession::Connect() {
  stream_.async_connect(
      endpoints_, [self = shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
        if (self->done_) return;
        if (ec) return self->Fail(Describe(ec));
        self->Send();
      });
}

void FetchSession::Send() {
  request_ = Get(host_, target_);
  http::async_write(
      stream_, request_, [self = shared_from_this()](const beast::error_code& ec, size_t) {
        if (self->done_) return;
        if (ec) return self->Fail(Describe(ec));
        self->parser_.emplace();
        self->parser_->body_limit(kMaxBodyBytes);
        http::async_read(
            self->stream_, self->buffer_, *self->parser_,
            [self](const beast::error_code& read_ec, size_t) { self->OnRead(read_ec); });
      });
}

void FetchSession::OnRead(const beast::error_code& ec) {
  if (done_) return;
  if (ec) return Fail(Describe(ec));
  http::response<http::string_body>& response = parser_->get();
  if (response.result_int() != 200) {
    return Fail(DescribeHttpError(response.result_int(), response.body()));
  }
  auto next = exchange_->OnBody(response.body());
  if (!next) return Fail(next.error().message);
  if (!*next) return Finish({});
  target_ = std::move(**next);
  ArmDeadline();  // an answer came: the next request gets its own time
  if (response.keep_alive()) return Send();
  // The host closes this connection: the next request goes on a new one.
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
  Connect();
}

void FetchSession::Finish(Result<void> result) {
  if (done_) return;
  done_ = true;
  deadline_.cancel();
  beast::error_code ignored;
  stream_.socket().close(ignored);  // pending operations end with operation_aborted
  fetcher_->Finished(index_, std::move(result));
}

// ---- WatchAll ----

class Watcher;

// One host's event stream, resumed after every failure. Each connection attempt has a number;
// a callback of an earlier attempt (a late name lookup, say) finds it changed and does nothing.
class WatchSession : public std::enable_shared_from_this<WatchSession> {
 public:
  WatchSession(Watcher* watcher, size_t index);
  void Start();

 private:
  using EventParser = http::response_parser<http::buffer_body>;

  void Attempt();
  void Connect(uint64_t attempt);
  void RequestHost(uint64_t attempt);
  void RequestEvents(uint64_t attempt);
  void OnHeader(uint64_t attempt);
  void ReadErrorBody(uint64_t attempt);
  void ReadSome(uint64_t attempt);
  void OnSome(uint64_t attempt, beast::error_code ec);
  void TakeMessage(const SseMessage& message);
  // Ends the attempt; resumes after the backoff, or gives the host up.
  void Trouble(const std::string& what, bool give_up = false);
  // A handler's guard: false when its attempt is over.
  bool Current(uint64_t attempt) const { return attempt == attempt_ && !given_up_; }

  Watcher* watcher_;
  size_t index_;
  const NetHost& host_;
  asio::steady_timer timer_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Endpoints endpoints_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> host_parser_;
  std::optional<EventParser> event_parser_;
  std::string error_body_;
  char chunk_[16384];
  SseParser sse_;
  std::optional<int64_t> from_;
  std::optional<std::string> resume_id_;  // sent as Last-Event-ID
  uint64_t attempt_ = 0;
  int failures_ = 0;  // attempts in a row that did not open a stream
  bool troubled_ = false;  // the stream broke since it last opened: say when it opens again
  bool given_up_ = false;
};

class Watcher {
 public:
  Watcher(const std::vector<NetHost>& hosts, const WatchOptions& options, EventSink* sink)
      : hosts_(hosts), options_(options), sink_(sink), resolver_(io_) {}

  size_t Run() {
    for (size_t i = 0; i < hosts_.size(); ++i) std::make_shared<WatchSession>(this, i)->Start();
    io_.run();
    return given_up_;
  }
  void GaveUp() { ++given_up_; }

  asio::io_context& io() { return io_; }
  Resolver& resolver() { return resolver_; }
  const NetHost& host(size_t i) const { return hosts_[i]; }
  const WatchOptions& options() const { return options_; }
  EventSink* sink() const { return sink_; }
  std::mt19937& random() { return random_; }

 private:
  const std::vector<NetHost>& hosts_;
  WatchOptions options_;
  EventSink* sink_;
  asio::io_context io_;
  Resolver resolver_;  // after io_: gone before it
  std::mt19937 random_{std::random_device{}()};
  size_t given_up_ = 0;
};

// An event id as utmpcd sends it, SEQ@HISTORY (or a bare SEQ): resent as Last-Event-ID only
// when it is one, so a hostile host cannot make the client send it anything else.
bool IsEventId(std::string_view text) {
  size_t at = text.find('@');
  std::string_view seq = text.substr(0, at);
  if (seq.empty() || seq.size() > 18) return false;  // an int64 seq
  for (char c : seq) {
    if (c < '0' || c > '9') return false;
  }
  if (at == std::string_view::npos) return true;
  std::string_view history = text.substr(at + 1);
  return !history.empty() && history.size() <= 32 &&
         history.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

WatchSession::WatchSession(Watcher* watcher, size_t index)
    : watcher_(watcher),
      index_(index),
      host_(watcher->host(index)),
      timer_(watcher->io()),
      stream_(watcher->io()) {
  const auto& from = watcher->options().from;
  if (index < from.size()) from_ = from[index];
}

void WatchSession::Start() { Attempt(); }

void WatchSession::Attempt() {
  uint64_t attempt = ++attempt_;
  beast::error_code ignored;
  stream_.socket().close(ignored);
  buffer_.clear();
  // The lookup has the connect timeout too; the timer also keeps the io_context running.
  timer_.expires_after(Ms(watcher_->options().connect_timeout_ms));
  timer_.async_wait([self = shared_from_this(), attempt](const beast::error_code& ec) {
    if (!ec && self->Current(attempt) && self->endpoints_.empty()) {
      self->Trouble("name lookup timed out");
    }
  });
  endpoints_.clear();
  watcher_->resolver().Resolve(host_, [weak = weak_from_this(), attempt](Result<Endpoints> r) {
    auto self = weak.lock();
    if (!self || !self->Current(attempt)) return;
    if (!r) return self->Trouble(r.error().message);
    self->endpoints_ = std::move(*r);
    self->timer_.cancel();
    self->Connect(attempt);
  });
}

void WatchSession::Connect(uint64_t attempt) {
  stream_.expires_after(Ms(watcher_->options().connect_timeout_ms));
  stream_.async_connect(endpoints_, [self = shared_from_this(), attempt](
                                        const beast::error_code& ec, const tcp::endpoint&) {
    if (!self->Current(attempt)) return;
    if (ec) return self->Trouble(Describe(ec));
    if (self->resume_id_ || self->from_) return self->RequestEvents(attempt);
    self->RequestHost(attempt);
  });
}

// Without a place to resume from, the stream starts after the host's newest event: the same
// as "from now on", but a reconnection then knows where it was.
void WatchSession::RequestHost(uint64_t attempt) {
  request_ = Get(host_, "/v1/host");
  http::async_write(
      stream_, request_, [self = shared_from_this(), attempt](const beast::error_code& ec, size_t) {
        if (!self->Current(attempt)) return;
        if (ec) return self->Trouble(Describe(ec));
        self->host_parser_.emplace();
        self->host_parser_->body_limit(kMaxErrorBodyBytes);
        http::async_read(
            self->stream_, self->buffer_, *self->host_parser_,
            [self, attempt](const beast::error_code& read_ec, size_t) {
              if (!self->Current(attempt)) return;
              if (read_ec) return self->Trouble(Describe(read_ec));
              auto& response = self->host_parser_->get();
              if (response.result_int() != 200) {
                return self->Trouble(DescribeHttpError(response.result_int(), response.body()));
              }
              auto host = DecodeHost(response.body());
              if (!host) return self->Trouble(host.error().message);
              self->resume_id_ = std::to_string(host->last_seq);
              if (!response.keep_alive()) return self->Attempt();
              self->RequestEvents(attempt);
            });
      });
}

void WatchSession::RequestEvents(uint64_t attempt) {
  std::string target = "/v1/events";
  if (!resume_id_ && from_) target += "?from=" + std::to_string(*from_);
  request_ = Get(host_, target);
  request_.set(http::field::accept, "text/event-stream");
  if (resume_id_) request_.set("Last-Event-ID", *resume_id_);
  http::async_write(
      stream_, request_, [self = shared_from_this(), attempt](const beast::error_code& ec, size_t) {
        if (!self->Current(attempt)) return;
        if (ec) return self->Trouble(Describe(ec));
        self->event_parser_.emplace();
        self->event_parser_->body_limit(boost::none);  // a stream has no end
        self->stream_.expires_after(Ms(self->watcher_->options().silence_timeout_ms));
        http::async_read_header(self->stream_, self->buffer_, *self->event_parser_,
                                [self, attempt](const beast::error_code& read_ec, size_t) {
                                  if (!self->Current(attempt)) return;
                                  if (read_ec) return self->Trouble(Describe(read_ec));
                                  self->OnHeader(attempt);
                                });
      });
}

void WatchSession::OnHeader(uint64_t attempt) {
  if (event_parser_->get().result_int() != 200) return ReadErrorBody(attempt);
  failures_ = 0;
  sse_.StartStream();
  if (troubled_) {
    troubled_ = false;
    watcher_->sink()->OnResumed(index_, resume_id_.value_or(""));
  }
  ReadSome(attempt);
}

// An answer other than 200: its body says why. 4xx (but a timeout or too many requests) will
// not change by asking again, so the host is given up; anything else is retried.
void WatchSession::ReadErrorBody(uint64_t attempt) {
  auto& body = event_parser_->get().body();
  body.data = chunk_;
  body.size = sizeof chunk_;
  http::async_read_some(
      stream_, buffer_, *event_parser_,
      [self = shared_from_this(), attempt](beast::error_code ec, size_t) {
        if (!self->Current(attempt)) return;
        auto& parser = *self->event_parser_;
        size_t got = sizeof self->chunk_ - parser.get().body().size;
        if (self->error_body_.size() < kMaxErrorBodyBytes)
          self->error_body_.append(self->chunk_, got);
        if (ec == http::error::need_buffer) ec = {};
        if (!ec && !parser.is_done() && self->error_body_.size() < kMaxErrorBodyBytes) {
          return self->ReadErrorBody(attempt);
        }
        unsigned status = parser.get().result_int();
        std::string what = DescribeHttpError(status, self->error_body_);
        self->error_body_.clear();
        bool permanent = status >= 400 && status < 500 && status != 408 && status != 429;
        self->Trouble(what, permanent);
      });
}

void WatchSession::ReadSome(uint64_t attempt) {
  auto& body = event_parser_->get().body();
  body.data = chunk_;
  body.size = sizeof chunk_;
  stream_.expires_after(Ms(watcher_->options().silence_timeout_ms));
  http::async_read_some(stream_, buffer_, *event_parser_,
                        [self = shared_from_this(), attempt](beast::error_code ec, size_t) {
                          self->OnSome(attempt, ec);
                        });
}

void WatchSession::OnSome(uint64_t attempt, beast::error_code ec) {
  if (!Current(attempt)) return;
  size_t got = sizeof chunk_ - event_parser_->get().body().size;
  auto fed = sse_.Feed(std::string_view(chunk_, got),
                       [this](const SseMessage& message) { TakeMessage(message); });
  if (!Current(attempt)) return;  // a message's handler cannot end the attempt, but be sure
  if (IsEventId(sse_.last_event_id())) resume_id_ = sse_.last_event_id();
  if (!fed) return Trouble(fed.error().message);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) return Trouble(Describe(ec));
  if (event_parser_->is_done()) return Trouble("the host ended the stream");
  ReadSome(attempt);
}

void WatchSession::TakeMessage(const SseMessage& message) {
  if (IsEventId(message.last_event_id)) resume_id_ = message.last_event_id;
  watcher_->sink()->OnMessage(index_, message);
}

void WatchSession::Trouble(const std::string& what, bool give_up) {
  ++attempt_;  // every handler of the attempt that failed is now stale
  beast::error_code ignored;
  stream_.socket().close(ignored);
  timer_.cancel();
  troubled_ = true;
  if (give_up) {
    given_up_ = true;
    watcher_->GaveUp();
    watcher_->sink()->OnTrouble(index_, what, std::nullopt);
    return;
  }
  // The stream's retry (1 s by default) doubled per failure in a row, capped, and up to a
  // quarter more at random so a fleet of watchers does not reconnect in step.
  // Never under 100 ms, whatever "retry" says: a host that closes each stream at once must
  // not have the watcher spin.
  const int64_t cap_ms = std::max<int64_t>(watcher_->options().max_backoff_ms, kMinRetryMs);
  int64_t delay_ms = static_cast<int64_t>(
      std::clamp<uint64_t>(sse_.retry_ms().value_or(1000), kMinRetryMs, cap_ms));
  for (int i = 0; i < failures_ && delay_ms < cap_ms; ++i)
    delay_ms = std::min(delay_ms * 2, cap_ms);
  delay_ms += std::uniform_int_distribution<int64_t>(0, delay_ms / 4)(watcher_->random());
  ++failures_;
  watcher_->sink()->OnTrouble(index_, what, delay_ms);
  uint64_t attempt = attempt_;
  timer_.expires_after(Ms(delay_ms));
  timer_.async_wait([self = shared_from_this(), attempt](const beast::error_code& ec) {
    if (!ec && self->Current(attempt)) self->Attempt();
  });
}

}  // namespace

std::vector<Result<void>> FetchAll(const std::vector<NetHost>& hosts,
                                   const std::vector<HostExchange*>& exchanges,
                                   const FetchOptions& options) {
  Fetcher fetcher(hosts, exchanges, options);
  return fetcher.Run();
}

Result<std::string> GetFromSocket(const std::string& socket_path, const std::string& target,
                                  int64_t timeout_ms) {
  using local = asio::local::stream_protocol;
  // sun_path holds 108 bytes with the NUL; Asio would throw for a longer path.
  if (socket_path.empty() || socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return MakeError(ErrorCode::kInvalidArgument, "not a socket path (1 to 107 bytes)");
  }
  asio::io_context io;
  beast::basic_stream<local> stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> request = Get(NetHost{"", "localhost"}, target);
  request.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  beast::error_code error;
  stream.expires_after(Ms(timeout_ms));  // for the connect and every read and write after it
  stream.async_connect(local::endpoint(socket_path), [&](const beast::error_code& ec) {
    if (ec) {
      error = ec;
      return;
    }
    http::async_write(stream, request, [&](const beast::error_code& write_ec, size_t) {
      if (write_ec) {
        error = write_ec;
        return;
      }
      http::async_read(stream, buffer, parser,
                       [&](const beast::error_code& read_ec, size_t) { error = read_ec; });
    });
  });
  io.run();
  if (error == beast::error::timeout) {
    return MakeError(ErrorCode::kIo, "timed out after " + Seconds(timeout_ms));
  }
  if (error) return MakeError(ErrorCode::kIo, Describe(error));
  http::response<http::string_body>& response = parser.get();
  if (response.result_int() != 200) {
    return MakeError(ErrorCode::kIo, DescribeHttpError(response.result_int(), response.body()));
  }
  return std::move(response.body());
}

size_t WatchAll(const std::vector<NetHost>& hosts, const WatchOptions& options, EventSink* sink) {
  Watcher watcher(hosts, options, sink);
  return watcher.Run();
}

}  // namespace utmpcd
