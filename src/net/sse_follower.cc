#include "net/sse_follower.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/wire_decode.h"
#include "net/event_loop.h"
#include "net/http_client_internal.h"

namespace utmpcd {

using namespace http_client_internal;  // NOLINT(build/namespaces): the client's own helpers

namespace {
class WatchSession;
}  // namespace

namespace {

// One host's event stream, resumed after every failure. Each connection attempt has a number;
// a callback of an earlier attempt (a late name lookup, say) finds it changed and does nothing.
class WatchSession : public std::enable_shared_from_this<WatchSession> {
 public:
  WatchSession(SseFollower::Impl* follower, size_t id, NetHost host, std::optional<int64_t> from);
  void Start();
  // Ends every attempt: nothing of this session runs again.
  void Stop();

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
  void Authorize();
  // A handler's guard: false when its attempt is over.
  bool Current(uint64_t attempt) const { return attempt == attempt_ && !given_up_; }

  SseFollower::Impl* watcher_;
  size_t index_;
  NetHost host_;
  asio::steady_timer timer_;
  ClientStream stream_;
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

}  // namespace

class SseFollower::Impl {
 public:
  Impl(EventLoop& loop, const WatchOptions& options, EventSink* sink)
      : loop_(loop), options_(options), sink_(sink), resolver_(loop.io()) {}
  ~Impl() {
    for (auto& [id, session] : sessions_) session->Stop();
  }

  size_t Add(const NetHost& host, std::optional<int64_t> from) {
    size_t id = next_id_++;
    auto session = std::make_shared<WatchSession>(this, id, host, from);
    sessions_.emplace(id, session);
    session->Start();
    return id;
  }
  void Remove(size_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    it->second->Stop();
    sessions_.erase(it);
  }
  void GaveUp(size_t id) {
    ++given_up_;
    sessions_.erase(id);
  }

  asio::io_context& io() { return loop_.io(); }
  Resolver& resolver() { return resolver_; }
  // The TLS client context of an https host: its own files' or the options', made when the
  // first host that needs it is added.
  const Result<std::shared_ptr<TlsContext>>& tls(const NetHost& host) {
    return contexts_.For(host.tls_files.value_or(options_.tls));
  }
  const WatchOptions& options() const { return options_; }
  EventSink* sink() const { return sink_; }
  std::mt19937& random() { return random_; }
  size_t following() const { return sessions_.size(); }
  size_t given_up() const { return given_up_; }

 private:
  EventLoop& loop_;
  WatchOptions options_;
  EventSink* sink_;
  Resolver resolver_;
  ClientTlsContexts contexts_;
  std::map<size_t, std::shared_ptr<WatchSession>> sessions_;
  std::mt19937 random_{std::random_device{}()};
  size_t next_id_ = 0;
  size_t given_up_ = 0;
};

namespace {

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

WatchSession::WatchSession(SseFollower::Impl* follower, size_t id, NetHost host,
                           std::optional<int64_t> from)
    : watcher_(follower),
      index_(id),
      host_(std::move(host)),
      timer_(follower->io()),
      stream_(follower->io(),
              host_.tls && follower->tls(host_) ? *follower->tls(host_) : nullptr),
      from_(from) {}

void WatchSession::Start() {
  if (host_.tls && !watcher_->tls(host_)) {  // no TLS to speak (a CA file that cannot be read)
    asio::post(watcher_->io(), [self = shared_from_this(),
                                why = watcher_->tls(host_).error().message] {
      if (!self->given_up_) self->Trouble(why, /*give_up=*/true);
    });
    return;
  }
  Attempt();
}

void WatchSession::Authorize() {
  const std::string& token = host_.token.value_or(watcher_->options().token);
  if (!token.empty()) request_.set(http::field::authorization, "Bearer " + token);
}

void WatchSession::Stop() {
  ++attempt_;
  given_up_ = true;
  stream_.Close();
  timer_.cancel();
}

void WatchSession::Attempt() {
  uint64_t attempt = ++attempt_;
  stream_.Close();
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
  stream_.tcp().expires_after(Ms(watcher_->options().connect_timeout_ms));
  stream_.tcp().async_connect(endpoints_, [self = shared_from_this(), attempt](
                                              const beast::error_code& ec, const tcp::endpoint&) {
    if (!self->Current(attempt)) return;
    if (ec) return self->Trouble(Describe(ec));
    self->stream_.Handshake(self->host_.name, [self, attempt](const std::string& failed) {
      if (!self->Current(attempt)) return;
      if (!failed.empty()) return self->Trouble(failed);
      if (self->resume_id_ || self->from_ ||
          self->watcher_->options().events_path != "/v1/events") {
        return self->RequestEvents(attempt);
      }
      self->RequestHost(attempt);
    });
  });
}

// Without a place to resume from, the stream starts after the host's newest event: the same
// as "from now on", but a reconnection then knows where it was.
void WatchSession::RequestHost(uint64_t attempt) {
  request_ = Get(host_, "/v1/host");
  Authorize();
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
  std::string target = watcher_->options().events_path;
  if (!resume_id_ && from_) target += "?from=" + std::to_string(*from_);
  request_ = Get(host_, target);
  Authorize();
  request_.set(http::field::accept, "text/event-stream");
  if (resume_id_) request_.set("Last-Event-ID", *resume_id_);
  http::async_write(
      stream_, request_, [self = shared_from_this(), attempt](const beast::error_code& ec, size_t) {
        if (!self->Current(attempt)) return;
        if (ec) return self->Trouble(Describe(ec));
        self->event_parser_.emplace();
        self->event_parser_->body_limit(boost::none);  // a stream has no end
        self->stream_.tcp().expires_after(Ms(self->watcher_->options().silence_timeout_ms));
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
  watcher_->sink()->OnOpened(index_);
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
  stream_.tcp().expires_after(Ms(watcher_->options().silence_timeout_ms));
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
  stream_.Close();
  timer_.cancel();
  troubled_ = true;
  if (give_up) {
    given_up_ = true;
    auto keep = shared_from_this();  // GaveUp drops the follower's reference
    watcher_->GaveUp(index_);
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

SseFollower::SseFollower(EventLoop& loop, const WatchOptions& options, EventSink* sink)
    : impl_(std::make_shared<Impl>(loop, options, sink)) {}
SseFollower::~SseFollower() = default;
size_t SseFollower::Add(const NetHost& host, std::optional<int64_t> from) {
  return impl_->Add(host, from);
}
void SseFollower::Remove(size_t id) { impl_->Remove(id); }
size_t SseFollower::following() const { return impl_->following(); }
size_t SseFollower::given_up() const { return impl_->given_up(); }

size_t WatchAll(const std::vector<NetHost>& hosts, const WatchOptions& options, EventSink* sink) {
  EventLoop loop;
  SseFollower follower(loop, options, sink);
  for (size_t i = 0; i < hosts.size(); ++i) {
    follower.Add(hosts[i], i < options.from.size() ? options.from[i] : std::nullopt);
  }
  loop.Run();  // until every host is given up: nothing is left to wait for
  return follower.given_up();
}

}  // namespace utmpcd
