// Boost.Asio and Beast stay in this file: one translation unit pays their compile time.
#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include "utmpcd/api_server.h"

#include "core/version.h"
#include "sources/ingest_socket.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <deque>
#include <filesystem>
#include <optional>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "net/request_head.h"
#include "net/udp_address.h"
#include "utmpcd/log.h"

namespace utmpcd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using boost::system::error_code;

constexpr size_t kHeaderLimit = 8192;
// The newest events, framed once, that every stream sends from: a reconnect or a slow stream
// within this many events never touches the store.
constexpr size_t kRingFrames = 8192;
// What a stream sends in one write, at most.
constexpr size_t kBatchBytes = 256 * 1024;
constexpr int64_t kStorePage = 512;

// "[v6]:port" or "v4:port": an address to listen on (a name is not looked up).
Result<tcp::endpoint> ParseEndpoint(const std::string& text) {
  auto split = SplitHostPort(text, 0);
  if (!split) return tl::unexpected(split.error());
  if (text.back() == ']' || text.find(':') == std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "'" + text + "': not ADDRESS:PORT");
  }
  error_code ec;
  auto address = asio::ip::make_address(split->host, ec);
  if (ec) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + text + "': not an IP address (" + ec.message() + ")");
  }
  return tcp::endpoint(address, split->port);
}

std::string EndpointText(const tcp::endpoint& e) {
  return e.address().is_v6() ? fmt::format("[{}]:{}", e.address().to_string(), e.port())
                             : fmt::format("{}:{}", e.address().to_string(), e.port());
}

struct Frame {
  int64_t seq;
  std::shared_ptr<const std::string> text;
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(const ApiServerOptions& options, std::unique_ptr<Api> api,
       std::shared_ptr<const LiveView> live)
      : options_(options), api_(std::move(api)), live_(std::move(live)), heartbeat_(io_) {
    ring_base_ = ring_top_ = api_->last_seq();
  }
  ~Impl() {
    Stop();
    // Our own socket file only: one that replaced it (after this daemon was taken for dead)
    // is another daemon's.
    struct stat st {};
    if (!unix_path_.empty() && ::lstat(unix_path_.c_str(), &st) == 0 &&
        st.st_dev == unix_id_.st_dev && st.st_ino == unix_id_.st_ino) {
      ::unlink(unix_path_.c_str());
    }
  }

  Result<void> Bind();
  void Start() {
    for (auto& acceptor : acceptors_) Accept(*acceptor);
    if (unix_acceptor_) Accept(*unix_acceptor_);
    thread_ = std::thread([this] { io_.run(); });
  }
  void Stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  void NotifyStored() {
    if (fetch_posted_.exchange(true)) return;  // one fetch in the queue is enough
    asio::post(io_, [this] {
      fetch_posted_ = false;
      FetchNew();
    });
  }
  Result<void> ReopenStore() {
    if (!thread_.joinable()) return api_->Reopen();
    if (io_.stopped()) return MakeError(ErrorCode::kIo, "the API's thread has stopped");
    std::promise<Result<void>> done;
    asio::post(io_, [this, &done] {
      try {
        done.set_value(api_->Reopen());
      } catch (const std::exception& e) {
        done.set_value(MakeError(ErrorCode::kIo, e.what()));
      }
    });
    return done.get_future().get();
  }
  std::vector<std::string> endpoints() const { return endpoints_; }
  std::vector<std::string> udp_endpoints() const {
    return udp_ ? udp_->LocalEndpoints() : std::vector<std::string>();
  }
  void NotifyLiveChanged() {
    if (udp_) udp_->Invalidate();
  }
  Result<void> OpenUdp() {
    if (!options_.udp || options_.udp->listen.empty()) return {};
    udp_ = std::make_unique<UdpServer>();
    // Answers come from the same summary and sessions as HTTP's, taken on this thread.
    return udp_->Open(io_, *options_.udp, [this] {
      return UdpSnapshot{api_->Summary(), *live_->Get()};
    });
  }

  class StreamBase;
  template <typename Protocol>
  class Connection;
  template <typename Protocol>
  class Stream;

 private:
  template <typename Protocol>
  friend class Connection;
  template <typename Protocol>
  friend class Stream;

  Result<void> BindUnix(const std::string& path);
  template <typename Acceptor>
  void Accept(Acceptor& acceptor);
  // Reads what was stored since ring_top_ into the ring and wakes the streams.
  void FetchNew();
  void Heartbeat();
  template <typename Socket>
  void StartStream(Socket socket, int64_t after_seq, bool head, std::string preface);
  void StreamClosed(StreamBase* stream);

  // Connections and streams count themselves out when destroyed, which can be as late as the
  // io_context's destruction (their handlers own them): the counter outlives it.
  ApiServerOptions options_;
  std::unique_ptr<Api> api_;
  std::shared_ptr<const LiveView> live_;
  int64_t connections_ = 0;  // HTTP connections and streams
  asio::io_context io_{1};
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::unique_ptr<local::acceptor> unix_acceptor_;
  std::string unix_path_;    // where unix_acceptor_ is bound, removed at exit
  struct stat unix_id_ {};   // its device and inode once bound
  std::vector<std::string> endpoints_;
  std::thread thread_;
  std::atomic<bool> fetch_posted_{false};
  // The ring holds every event with ring_base_ < seq <= ring_top_, framed.
  std::deque<Frame> ring_;
  int64_t ring_base_ = 0;
  int64_t ring_top_ = 0;
  std::unordered_set<std::shared_ptr<StreamBase>> streams_;
  asio::steady_timer heartbeat_;
  bool heartbeat_running_ = false;
  std::unique_ptr<UdpServer> udp_;  // destroyed before io_, as it must be
};

// One event stream (GET /v1/events): sends every event after after_seq_, in order, then waits
// for more. Reads only to notice the client going away.
class ApiServer::Impl::StreamBase {
 public:
  virtual ~StreamBase() = default;
  // Sends what there is to send, unless a write is in flight (its completion calls Pump).
  virtual void Pump() = 0;
  // ": ping" unless something is being sent anyway.
  virtual void Ping() = 0;
};

template <typename Protocol>
class ApiServer::Impl::Stream : public StreamBase,
                                public std::enable_shared_from_this<Stream<Protocol>> {
 public:
  using Socket = typename Protocol::socket;
  // `preface`: messages sent before the first event (an "event: reset"), or "".
  Stream(Impl& server, Socket socket, int64_t after_seq, std::string preface)
      : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()),
        after_seq_(after_seq), check_gap_(true), preface_(std::move(preface)) {
    ++server_.connections_;
  }
  ~Stream() override { --server_.connections_; }

  void Start(bool head) {
    pending_.push_back(std::make_shared<const std::string>(
        "HTTP/1.1 200 OK\r\nServer: utmpcd/" + std::string(kVersion) +
        "\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n" +
        std::string(head ? ""
                         : fmt::format("retry: 1000\nid: {}\n\n{}",
                                       EventId(after_seq_, server_.options_.api.history_id),
                                       preface_))));
    close_after_write_ = head;
    WatchClose();
    Write(-1);
  }

  void Pump() override {
    if (writing_ || closed_) return;
    int64_t last = -1;
    size_t bytes = 0;
    if (after_seq_ < server_.ring_base_) {
      // Behind the ring: from the store, a page at a time.
      auto events = server_.api_->EventsAfter(after_seq_, kStorePage);
      if (!events) {
        Log(LogLevel::kError, "event stream: {}", events.error().message);
        Close();
        return;
      }
      if (check_gap_ && !events->empty() && events->front().seq > after_seq_ + 1) {
        // Retention deleted the events this client asked for first.
        pending_.push_back(std::make_shared<const std::string>(
            fmt::format("event: gap\ndata: {{\"from\":{},\"oldest\":{}}}\n\n", after_seq_ + 1,
                        events->front().seq)));
      }
      for (const Event& e : *events) {
        pending_.push_back(std::make_shared<const std::string>(
            EventFrame(e, server_.options_.api.history_id)));
        last = e.seq;
      }
    } else {
      auto from = std::upper_bound(server_.ring_.begin(), server_.ring_.end(), after_seq_,
                                   [](int64_t seq, const Frame& f) { return seq < f.seq; });
      for (; from != server_.ring_.end() && bytes < kBatchBytes; ++from) {
        pending_.push_back(from->text);
        bytes += from->text->size();
        last = from->seq;
      }
    }
    check_gap_ = false;
    if (pending_.empty()) return;  // caught up: wait for FetchNew
    Write(last);
  }

  void Ping() override {
    if (writing_ || closed_) return;
    static const auto kPing = std::make_shared<const std::string>(": ping\n\n");
    pending_.push_back(kPing);
    Write(-1);
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
    server_.StreamClosed(this);
  }

 private:
  // Writes pending_; `last_seq` (-1: none) is the seq of the last event in it.
  void Write(int64_t last_seq) {
    writing_ = true;
    in_flight_.swap(pending_);
    pending_.clear();
    buffers_.clear();
    for (const auto& text : in_flight_) buffers_.emplace_back(text->data(), text->size());
    timer_.expires_after(std::chrono::seconds(server_.options_.write_timeout_s));
    timer_.async_wait([self = this->shared_from_this()](const error_code& ec) {
      if (!ec) self->Close();  // the client stopped reading
    });
    asio::async_write(socket_, buffers_,
                      [self = this->shared_from_this(), last_seq](const error_code& ec, size_t) {
                        self->writing_ = false;
                        self->timer_.cancel();
                        self->in_flight_.clear();
                        if (ec || self->close_after_write_) {
                          self->Close();
                          return;
                        }
                        if (last_seq >= 0) self->after_seq_ = last_seq;
                        self->Pump();
                      });
  }

  void WatchClose() {
    socket_.async_read_some(asio::buffer(discard_),
                            [self = this->shared_from_this()](const error_code& ec, size_t) {
                              if (ec) {
                                self->Close();
                              } else {
                                self->WatchClose();  // a client has nothing to say: ignored
                              }
                            });
  }

  Impl& server_;
  Socket socket_;
  asio::steady_timer timer_;
  int64_t after_seq_;  // the last event sent (or the resume point)
  bool check_gap_;
  std::string preface_;
  bool writing_ = false;
  bool closed_ = false;
  bool close_after_write_ = false;
  std::vector<std::shared_ptr<const std::string>> pending_;
  std::vector<std::shared_ptr<const std::string>> in_flight_;
  std::vector<asio::const_buffer> buffers_;
  char discard_[64];
};

// One HTTP connection: requests one after another, each answered before the next is read.
template <typename Protocol>
class ApiServer::Impl::Connection : public std::enable_shared_from_this<Connection<Protocol>> {
 public:
  Connection(Impl& server, typename Protocol::socket socket)
      : server_(server), stream_(std::move(socket)) {
    ++server_.connections_;
  }
  ~Connection() { --server_.connections_; }

  void Start() { WaitForRequest(); }

 private:
  // Idle until the next request's first byte (idle timeout), then its head (request timeout).
  void WaitForRequest() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    if (buffer_.size() > 0) {  // pipelined: the next request is already here
      ReadHead();
      return;
    }
    stream_.expires_after(std::chrono::seconds(server_.options_.idle_timeout_s));
    stream_.async_read_some(buffer_.prepare(kHeaderLimit),
                            [self = this->shared_from_this()](const error_code& ec, size_t n) {
                              if (ec) return;  // closed, or idle too long: just close
                              self->buffer_.commit(n);
                              self->ReadHead();
                            });
  }

  void ReadHead() {
    stream_.expires_after(std::chrono::seconds(server_.options_.request_timeout_s));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](const error_code& ec, size_t) {
                              self->OnHead(ec);
                            });
  }

  void OnHead(const error_code& ec) {
    if (ec == http::error::header_limit) {
      Fail(11, 431, "headers_too_large", "the request line and headers exceed 8 KiB");
      return;
    }
    if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
        ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
      return;  // the connection goes
    }
    if (ec) {
      Fail(11, 400, "bad_request", "not a valid HTTP/1.1 request: " + ec.message());
      return;
    }
    stream_.expires_never();
    const auto& req = parser_->get();
    unsigned version = req.version();
    bool head = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head) {
      Fail(version, 405, "method_not_allowed", "only GET and HEAD are served", true);
      return;
    }
    size_t hosts = 0;
    std::vector<std::string_view> codings;
    for (const auto& field : req) {
      if (field.name() == http::field::host) ++hosts;
      if (field.name() == http::field::transfer_encoding) {
        codings.emplace_back(field.value().data(), field.value().size());
      }
    }
    HeadCheck checked = CheckRequestHead(
        version, std::string_view(req.target().data(), req.target().size()), hosts, codings);
    if (checked.status != 0) {
      Fail(version, checked.status, checked.code, checked.message);
      return;
    }
    if (!parser_->is_done()) {
      Fail(version, 413, "body_not_allowed", "a request to this server has no body");
      return;
    }
    std::string_view target = checked.target;
    if (target == "/v1/events" || target.substr(0, 11) == "/v1/events?") {
      OpenStream(target, head);
      return;
    }
    ApiResponse answer = server_.api_->Get(target);
    Respond(version, req.keep_alive(), head, std::move(answer));
  }

  void OpenStream(std::string_view target, bool head) {
    const auto& req = parser_->get();
    std::optional<int64_t> after;
    auto bad = [&](const std::string& message) {
      Fail(req.version(), 400, "bad_parameter", message);
    };
    auto parse_seq = [](std::string_view text) -> std::optional<int64_t> {
      auto id = ParseEventId(text);
      if (!id || !id->history.empty()) return std::nullopt;
      return id->seq;
    };
    std::string history;  // the history the client's id is of ("": it did not say)
    auto last_id = req.find("Last-Event-ID");
    if (last_id != req.end()) {
      auto id = ParseEventId(std::string_view(last_id->value().data(), last_id->value().size()));
      if (!id) return bad("Last-Event-ID: not an event id this daemon sent");
      after = id->seq;
      history = id->history;
    }
    size_t question = target.find('?');
    if (question != std::string_view::npos) {
      std::string_view query = target.substr(question + 1);
      if (query.substr(0, 5) != "from=" || query.find('&') != std::string_view::npos) {
        return bad("/v1/events takes one parameter, from=SEQ");
      }
      std::optional<int64_t> from = parse_seq(query.substr(5));
      if (!from) return bad("from: must be an integer >= 0");
      if (!after) after = std::max<int64_t>(*from, 1) - 1;  // Last-Event-ID wins
    }
    (void)server_.api_->ReadLastSeq();
    const int64_t newest = std::max(server_.api_->last_seq(), server_.ring_top_);
    // A position in another history (the database was replaced) or beyond this one's newest
    // event (a history reset, then refilled less far): resuming there would silently skip
    // events. The client is told, and gets what is stored from now on.
    const std::string& ours = server_.options_.api.history_id;
    // (?from=N beyond the newest asks for what is still to come, as PROTOCOL.md says.)
    const bool resumed = last_id != req.end();
    std::string reason = !history.empty() && history != ours       ? "foreign"
                         : resumed && after && *after > newest ? "ahead"
                                                                 : "";
    std::string preface;
    if (!reason.empty()) {
      preface = fmt::format(
          "event: reset\ndata: {{\"reason\":\"{}\",\"history\":\"{}\",\"last_seq\":{}}}\n\n", reason,
          ours, newest);
      after.reset();
    }
    if (!after) after = newest;  // only what is stored from now on
    stream_.expires_never();
    server_.StartStream(stream_.release_socket(), *after, head, std::move(preface));
  }

  void Respond(unsigned version, bool keep_alive, bool head, ApiResponse answer) {
    response_.emplace();
    auto& res = *response_;
    res.version(version);
    res.result(static_cast<http::status>(answer.status));
    res.set(http::field::server, std::string("utmpcd/") + kVersion);
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    if (answer.status == 405) res.set(http::field::allow, "GET, HEAD");
    res.keep_alive(keep_alive);
    res.body() = std::move(answer.body);
    res.prepare_payload();
    serializer_.emplace(res);
    stream_.expires_after(std::chrono::seconds(server_.options_.write_timeout_s));
    auto done = [self = this->shared_from_this(), keep_alive](const error_code& ec, size_t) {
      self->serializer_.reset();
      self->response_.reset();
      if (ec) return;
      if (!keep_alive) {
        error_code ignored;
        self->stream_.socket().shutdown(Protocol::socket::shutdown_send, ignored);
        return;
      }
      self->WaitForRequest();
    };
    if (head) {
      http::async_write_header(stream_, *serializer_, std::move(done));
    } else {
      http::async_write(stream_, *serializer_, std::move(done));
    }
  }

  // An error response, then the connection closes (unless `keep` and the client wants it).
  void Fail(unsigned version, int status, std::string_view code, const std::string& message,
            bool keep = false) {
    bool keep_alive = keep && parser_->get().keep_alive() && parser_->is_done();
    Respond(version, keep_alive, false, Api::Error(status, code, message));
  }

  Impl& server_;
  beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy> stream_;
  beast::flat_buffer buffer_{kHeaderLimit};
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
};

Result<void> ApiServer::Impl::Bind() {
  for (const std::string& text : options_.listen) {
    auto endpoint = ParseEndpoint(text);
    if (!endpoint) return tl::unexpected(endpoint.error());
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    error_code ec;
    acceptor->open(endpoint->protocol(), ec);
    if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && endpoint->address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(*endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return MakeError(ErrorCode::kIo, "listening on " + text + ": " + ec.message());
    endpoints_.push_back(EndpointText(acceptor->local_endpoint()));
    acceptors_.push_back(std::move(acceptor));
  }
  if (!options_.unix_socket.empty()) return BindUnix(options_.unix_socket);
  return {};
}

Result<void> ApiServer::Impl::BindUnix(const std::string& path) {
  std::error_code fs_error;
  std::filesystem::path where(path);
  if (where.has_parent_path() && !std::filesystem::exists(where.parent_path())) {
    std::filesystem::create_directories(where.parent_path(), fs_error);
    if (!fs_error) {
      std::filesystem::permissions(where.parent_path(), std::filesystem::perms(0755),
                                   fs_error);
    }
    if (fs_error) return MakeError(ErrorCode::kIo, "creating the directory of " + path + ": " +
                                                       fs_error.message());
  }
  // A socket left by a daemon that died is replaced; a live one (a second daemon's API) and
  // anything else at the path are not touched.
  if (auto unused = CheckSocketUnused(path, "API socket"); !unused) return unused;
  ::unlink(path.c_str());
  auto acceptor = std::make_unique<local::acceptor>(io_);
  error_code ec;
  acceptor->open(local(), ec);
  if (!ec) acceptor->bind(local::endpoint(path), ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return MakeError(ErrorCode::kIo, "listening on " + path + ": " + ec.message());
  // Local users may ask what they may ask on loopback: who is logged in (utmp is world-readable
  // too). Access control comes with the security issue.
  ::chmod(path.c_str(), 0666);
  endpoints_.push_back("unix:" + path);
  unix_acceptor_ = std::move(acceptor);
  unix_path_ = path;
  if (::lstat(path.c_str(), &unix_id_) != 0) unix_path_.clear();
  return {};
}

template <typename Acceptor>
void ApiServer::Impl::Accept(Acceptor& acceptor) {
  using Protocol = typename Acceptor::protocol_type;
  acceptor.async_accept([this, &acceptor](const error_code& ec,
                                          typename Protocol::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (connections_ >= options_.max_connections) {
        error_code ignored;
        socket.close(ignored);  // full: the newest connection goes, the others are served
      } else {
        if constexpr (std::is_same_v<Protocol, tcp>) {
          error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
        }
        std::make_shared<Connection<Protocol>>(*this, std::move(socket))->Start();
      }
    } else if (ec == asio::error::no_descriptors) {
      Log(LogLevel::kWarning, "HTTP: out of file descriptors; raise LimitNOFILE");
    }
    Accept(acceptor);
  });
}

template <typename Socket>
void ApiServer::Impl::StartStream(Socket socket, int64_t after_seq, bool head,
                                  std::string preface) {
  using Protocol = typename Socket::protocol_type;
  auto stream =
      std::make_shared<Stream<Protocol>>(*this, std::move(socket), after_seq, std::move(preface));
  streams_.insert(stream);
  stream->Start(head);
  if (!heartbeat_running_) Heartbeat();
}

void ApiServer::Impl::StreamClosed(StreamBase* stream) {
  // The set holds the last reference but one: the caller's shared_from_this keeps it alive.
  for (auto it = streams_.begin(); it != streams_.end(); ++it) {
    if (it->get() == stream) {
      streams_.erase(it);
      return;
    }
  }
}

void ApiServer::Impl::Heartbeat() {
  // Runs only while there are streams: an idle daemon has no timer.
  if (streams_.empty()) {
    heartbeat_running_ = false;
    return;
  }
  heartbeat_running_ = true;
  heartbeat_.expires_after(std::chrono::seconds(options_.heartbeat_s));
  heartbeat_.async_wait([this](const error_code& ec) {
    if (ec) return;
    std::vector<std::shared_ptr<StreamBase>> streams(streams_.begin(), streams_.end());
    for (const auto& stream : streams) stream->Ping();
    Heartbeat();
  });
}

void ApiServer::Impl::FetchNew() {
  if (streams_.empty()) {
    // Nobody is listening: framing every event of an import would be work for nothing.
    ring_.clear();
    (void)api_->ReadLastSeq();
    ring_base_ = ring_top_ = std::max(ring_top_, api_->last_seq());
    return;
  }
  for (;;) {
    auto events = api_->EventsAfter(ring_top_, kStorePage);
    if (!events) {
      Log(LogLevel::kError, "event stream: {}", events.error().message);
      break;
    }
    for (const Event& e : *events) {
      ring_.push_back(Frame{
          e.seq, std::make_shared<const std::string>(EventFrame(e, options_.api.history_id))});
      ring_top_ = e.seq;
    }
    while (ring_.size() > kRingFrames) {
      ring_base_ = ring_.front().seq;
      ring_.pop_front();
    }
    if (static_cast<int64_t>(events->size()) < kStorePage) break;
  }
  std::vector<std::shared_ptr<StreamBase>> streams(streams_.begin(), streams_.end());
  for (const auto& stream : streams) stream->Pump();
}

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() = default;

Result<std::unique_ptr<ApiServer>> ApiServer::Open(const ApiServerOptions& options,
                                                   std::shared_ptr<const LiveView> live) {
  auto api = Api::Open(options.api, live);
  if (!api) return tl::unexpected(api.error());
  auto impl = std::make_unique<Impl>(options, std::move(*api), std::move(live));
  if (auto bound = impl->Bind(); !bound) return tl::unexpected(bound.error());
  if (auto udp = impl->OpenUdp(); !udp) return tl::unexpected(udp.error());
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

void ApiServer::Start() { impl_->Start(); }
void ApiServer::NotifyStored() { impl_->NotifyStored(); }
void ApiServer::NotifyLiveChanged() { impl_->NotifyLiveChanged(); }
Result<void> ApiServer::ReopenStore() { return impl_->ReopenStore(); }
std::vector<std::string> ApiServer::udp_endpoints() const { return impl_->udp_endpoints(); }
std::vector<std::string> ApiServer::endpoints() const { return impl_->endpoints(); }

}  // namespace utmpcd
