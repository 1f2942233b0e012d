#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include "net/http_server.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <list>
#include <optional>

#include <fmt/format.h>

#include "core/log.h"
#include "net/connection.h"
#include "net/event_loop.h"
#include "net/http_request.h"
#include "net/tcp_listen_internal.h"
#include "net/tls_internal.h"
#include "net/udp_address.h"
#include "net/udp_rate_limiter.h"
#include "sources/ingest_socket.h"

namespace utmpcd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using boost::system::error_code;

constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kMaxPending = 1024;
// How long accepting pauses when the process is out of descriptors.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Descriptors kept for what is not a connection: the store, the files followed, the sockets.
constexpr int64_t kReservedDescriptors = 64;

}  // namespace

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

Result<std::unique_ptr<tcp::acceptor>> OpenAcceptor(asio::io_context& io, const std::string& text,
                                                     const char* what) {
  auto endpoint = ParseEndpoint(text);
  if (!endpoint) return tl::unexpected(endpoint.error());
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  error_code ec;
  acceptor->open(endpoint->protocol(), ec);
  if (ec == asio::error::address_family_not_supported && endpoint->address().is_v6()) {
    // A host without IPv6 (ipv6.disable=1): [::]:431 of the default is no error.
    Log(LogLevel::kWarning, "{}: not listening on {}: this host has no IPv6", what, text);
    return nullptr;
  }
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && endpoint->address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("{}: listening on {}: {}", what, text, ec.message()));
  }
  return acceptor;
}

class HttpServer::Impl {
 public:
  Impl(EventLoop& loop, const HttpServerOptions& options, HttpHandler& handler)
      : loop_(loop), options_(options), handler_(handler) {}
  ~Impl() {
    *alive_ = false;  // sessions destroyed with the loop, after the server, leave idle_ alone
    for (auto& acceptor : acceptors_) acceptor->close();
    if (unix_acceptor_) unix_acceptor_->close();
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
  }

  class Session;

  EventLoop& loop_;
  HttpServerOptions options_;
  HttpHandler& handler_;
  // Connections count themselves out when destroyed, which can be as late as the loop's
  // destruction (their handlers own them): the counts outlive the server.
  std::shared_ptr<ConnectionCounts> counts_ = std::make_shared<ConnectionCounts>();
  int64_t limit_ = 0;  // max_connections, or less (the descriptor limit)
  // Sessions waiting for a request, longest waiting first: the first to go when full.
  std::list<std::weak_ptr<Session>> idle_;
  // TCP connections of a TLS server not yet known to be TLS or plain, or in their handshake,
  // oldest first: the first to go when full (before idle_), and never more than kMaxPending
  // (a handshake holds some 70 KiB of buffers).
  std::list<std::weak_ptr<Connection>> pending_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::optional<UdpRateLimiter> limiter_;  // requests per source prefix, when limited
  std::shared_ptr<TlsContext> tls_;  // what new TLS connections get; none without [tls]
  HttpServer::Stats stats_;  // (its connection counts aside)
  // Monotonic, of the last "out of file descriptors" (long before any clock's start).
  int64_t last_fd_warning_s_ = std::numeric_limits<int64_t>::min() / 2;
  int64_t fd_warnings_skipped_ = 0;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::unique_ptr<local::acceptor> unix_acceptor_;
  std::string unix_path_;   // where unix_acceptor_ is bound, removed at exit
  struct stat unix_id_ {};  // its device and inode once bound
  std::vector<std::string> endpoints_;

 private:
  Result<void> BindUnix(const std::string& path);
  Result<void> Adopt(int fd);
  // Closes the connection idle longest; false when none is.
  bool EvictIdle();
  // Closes the oldest pending connection; false when none is.
  bool ClosePending();
  // A new connection refused: 503 `code` with Retry-After where it can be said, then closed.
  void Refuse(Connection& connection, std::string_view code, std::string_view message);

 public:
  // Whether the rate limit lets one more request of `peer` through (and counts it).
  bool AllowRequest(const Peer& peer);

 private:
  void OutOfDescriptors(int64_t now_s);
  template <typename Acceptor>
  void Accept(Acceptor& acceptor);
  // A TCP connection with TLS on: its first byte says whether it is a TLS handshake.
  void Sniff(std::shared_ptr<Connection> connection);
  bool PlaintextAllowed(const Peer& peer) const;
};

// One HTTP connection: requests one after another, each answered before the next is read.
class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Impl& server, std::shared_ptr<Connection> connection)
      : server_(server), server_alive_(server.alive_), connection_(connection),
        stream_(std::move(connection)) {}
  ~Session() { Busy(); }

  void Start() { WaitForRequest(); }
  // Plain HTTP from a network that must speak TLS: each request is refused, saying so.
  void RequireTls() { tls_required_ = true; }
  // Closes the connection while it waits for a request, to make room for a new one.
  void Evict() {
    Busy();
    connection_->Close();  // the pending read ends with an error, and the session with it
  }

 private:
  const HttpServerOptions& options() const { return server_.options_; }

  // Idle until the next request's first byte (idle timeout), then its head (request timeout).
  void WaitForRequest() {
    parser_.emplace();
    parser_->header_limit(kRequestHeadLimit);
    if (buffer_.size() > 0) {  // pipelined: the next request is already here
      ReadHead();
      return;
    }
    connection_->ExpiresAfter(std::chrono::seconds(options().idle_timeout_s));
    Idle();
    stream_.async_read_some(buffer_.prepare(kRequestHeadLimit),
                            [self = shared_from_this()](const error_code& ec, size_t n) {
                              self->Busy();
                              // Closed, or idle too long: the connection goes.
                              if (ec || self->connection_->closed()) return;
                              self->buffer_.commit(n);
                              self->ReadHead();
                            });
  }

  // On the server's list of idle sessions while waiting for a request's first byte.
  void Idle() {
    server_.idle_.push_back(weak_from_this());
    idle_at_ = std::prev(server_.idle_.end());
  }
  void Busy() {
    if (!idle_at_ || !*server_alive_) return;
    server_.idle_.erase(*idle_at_);
    idle_at_.reset();
  }

  void ReadHead() {
    connection_->ExpiresAfter(std::chrono::seconds(options().request_timeout_s));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](const error_code& ec, size_t) {
                              self->OnHead(ec);
                            });
  }

  void OnHead(const error_code& ec) {
    if (connection_->closed()) return;  // too slow: the deadline closed it
    if (ec == http::error::header_limit) {
      Fail(11, 431, "headers_too_large", "the request line and headers exceed 8 KiB");
      return;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::ssl::error::stream_truncated) {
      return;  // the connection goes
    }
    if (ec) {
      Fail(11, 400, "bad_request", "not a valid HTTP/1.1 request: " + ec.message());
      return;
    }
    connection_->ExpiresNever();
    RequestOrRefusal read = RequestFromHead(*parser_, connection_->peer());
    unsigned version = parser_->get().version();
    if (read.refusal) {
      const Refusal& r = *read.refusal;
      Fail(version, r.status, r.code, r.message, r.keep_alive);
      return;
    }
    const bool head = read.request.method == "HEAD";
    if (tls_required_) {
      Fail(version, 400, "tls_required",
           "this server speaks HTTPS to your network: use https:// (utmpc: --tls or "
           "https://HOST)");
      return;
    }
    if (!server_.AllowRequest(connection_->peer())) {
      ApiResponse refused = ErrorResponse(429, "too_many_requests",
                                          "too many requests from your network; slow down");
      refused.headers.emplace_back("Retry-After", "1");
      Respond(version, parser_->get().keep_alive(), head, std::move(refused));
      return;
    }
    const bool keep_alive = parser_->get().keep_alive();
    ApiResponse answer;
    try {
      if (server_.handler_.Defers(read.request)) {
        server_.handler_.Defer(read.request, [self = shared_from_this(), version, keep_alive,
                                              head](ApiResponse later) {
          if (self->connection_->closed()) return;
          self->Answer(version, keep_alive, head, std::move(later));
        });
        return;
      }
      answer = server_.handler_.Handle(read.request);
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "HTTP: {} {}: {}", read.request.method, read.request.target,
          e.what());
      answer = ErrorResponse(500, "internal", "the server failed to answer this request");
    } catch (...) {
      Log(LogLevel::kError, "HTTP: {} {}: an exception of unknown type", read.request.method,
          read.request.target);
      answer = ErrorResponse(500, "internal", "the server failed to answer this request");
    }
    Answer(version, keep_alive, head, std::move(answer));
  }

  void Answer(unsigned version, bool keep_alive, bool head, ApiResponse answer) {
    if (answer.stream) {
      server_.handler_.TakeOver(connection_, answer, head);
      return;
    }
    Respond(version, keep_alive, head, std::move(answer));
  }

  void Respond(unsigned version, bool keep_alive, bool head, ApiResponse answer) {
    response_.emplace();
    auto& res = *response_;
    res.version(version);
    res.result(static_cast<http::status>(answer.status));
    res.set(http::field::server, options().server_name);
    res.set(http::field::content_type, answer.content_type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : answer.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = std::move(answer.body);
    res.prepare_payload();
    serializer_.emplace(res);
    connection_->ExpiresAfter(std::chrono::seconds(options().write_timeout_s));
    auto done = [self = shared_from_this(), keep_alive](const error_code& ec, size_t) {
      self->serializer_.reset();
      self->response_.reset();
      if (ec || self->connection_->closed()) return;
      self->connection_->ExpiresNever();
      // RFC 9112 (9.6): closing with unread bytes would send a reset, which can destroy the
      // response before the client read it (a refused request with a body, a pipelined
      // request after a refusal).
      if (!keep_alive) return self->connection_->CloseGracefully(kLingerTime);
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
    ApiResponse answer = ErrorResponse(status, code, message);
    if (status == 405) answer.headers.emplace_back("Allow", "GET, HEAD");
    Respond(version, keep_alive, false, std::move(answer));
  }

  Impl& server_;
  std::shared_ptr<const bool> server_alive_;
  std::shared_ptr<Connection> connection_;
  BeastStream stream_;
  beast::flat_buffer buffer_{kRequestHeadLimit};
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::optional<std::list<std::weak_ptr<Session>>::iterator> idle_at_;
  bool tls_required_ = false;
};

Result<void> HttpServer::Impl::Bind() {
  const std::vector<int>& handed = options_.inherited_fds;
  for (size_t i = 0; i < handed.size(); ++i) {
    if (auto adopted = Adopt(handed[i]); !adopted) {
      for (size_t j = i + 1; j < handed.size(); ++j) ::close(handed[j]);  // ours, unused
      return adopted;
    }
  }
  for (const std::string& text : options_.listen) {
    auto acceptor = OpenAcceptor(loop_.io(), text, "HTTP");
    if (!acceptor) return tl::unexpected(acceptor.error());
    if (!*acceptor) continue;
    endpoints_.push_back(EndpointText((*acceptor)->local_endpoint()));
    acceptors_.push_back(std::move(*acceptor));
  }
  if (!options_.unix_socket.empty()) {
    if (unix_acceptor_) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "a Unix socket was handed over: not binding " + options_.unix_socket);
    }
    return BindUnix(options_.unix_socket);
  }
  return {};
}

Result<void> HttpServer::Impl::Adopt(int fd) {
  // The socket is ours from here on: closed unless an acceptor takes it.
  auto refuse = [fd](Error error) {
    ::close(fd);
    return tl::unexpected(std::move(error));
  };
  int type = 0;
  int listening = 0;
  socklen_t size = sizeof type;
  sockaddr_storage address{};
  socklen_t address_size = sizeof address;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size) != 0) {
    return refuse(ErrnoError(fmt::format("socket {} handed over", fd), errno));
  }
  size = sizeof listening;
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size);
  if (type != SOCK_STREAM || listening == 0) {
    return refuse(Error{ErrorCode::kInvalidArgument,
                        fmt::format("socket {} handed over is no listening stream socket", fd)});
  }
  error_code ec;
  if (address.ss_family == AF_UNIX) {
    if (unix_acceptor_) {
      return refuse(Error{ErrorCode::kInvalidArgument, "more than one Unix socket handed over"});
    }
    auto acceptor = std::make_unique<local::acceptor>(loop_.io());
    acceptor->assign(local(), fd, ec);
    if (ec) return refuse(Error{ErrorCode::kIo, "socket handed over: " + ec.message()});
    endpoints_.push_back("unix:" + acceptor->local_endpoint(ec).path());
    unix_acceptor_ = std::move(acceptor);  // systemd's: it stays at its path
    return {};
  }
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6) {
    return refuse(Error{ErrorCode::kInvalidArgument,
                        fmt::format("socket {} handed over is neither TCP nor Unix", fd)});
  }
  auto acceptor = std::make_unique<tcp::acceptor>(loop_.io());
  acceptor->assign(address.ss_family == AF_INET ? tcp::v4() : tcp::v6(), fd, ec);
  if (ec) return refuse(Error{ErrorCode::kIo, "socket handed over: " + ec.message()});
  endpoints_.push_back(EndpointText(acceptor->local_endpoint()));
  acceptors_.push_back(std::move(acceptor));
  return {};
}

Result<void> HttpServer::Impl::BindUnix(const std::string& path) {
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
  auto acceptor = std::make_unique<local::acceptor>(loop_.io());
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
void HttpServer::Impl::Accept(Acceptor& acceptor) {
  using Protocol = typename Acceptor::protocol_type;
  acceptor.async_accept([this, &acceptor](const error_code& ec,
                                          typename Protocol::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors (or another failure of accept): accepting again at once would fail
      // again at once, a core spinning and a log flood. The pending connections wait in the
      // backlog until accepting resumes.
      if (ec == asio::error::no_descriptors || ec.value() == ENFILE) {
        OutOfDescriptors(std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count());
      }
      auto pause = std::make_shared<asio::steady_timer>(loop_.io(), kAcceptPause);
      pause->async_wait([this, &acceptor, pause, alive = alive_](const error_code& wait_ec) {
        if (!wait_ec && *alive) Accept(acceptor);
      });
      return;
    }
    if (!ec) {
      auto connection = MakeConnection(std::move(socket), counts_);
      if (counts_->per_source[connection->source()] > options_.max_connections_per_source) {
        // This source has its share: the others keep theirs.
        ++stats_.refused_per_source;
        Refuse(*connection, "too_many_connections",
               "too many connections from your address; close some, or try again");
      } else if (counts_->total > limit_ && !EvictIdle()) {
        // Full, and every connection is busy: the newest goes.
        ++stats_.refused_full;
        Refuse(*connection, "server_full", "the server has no room for more connections");
      } else if (tls_ && connection->peer().transport == Peer::Transport::kTcp) {
        Sniff(std::move(connection));
      } else {
        std::make_shared<Session>(*this, std::move(connection))->Start();
      }
    }
    Accept(acceptor);
  });
}

void HttpServer::Impl::Refuse(Connection& connection, std::string_view code,
                              std::string_view message) {
  // On a TLS server a client would not read plain text: it is closed only.
  if (tls_ && connection.peer().transport == Peer::Transport::kTcp) return connection.Close();
  ApiResponse refusal = ErrorResponse(503, code, message);
  connection.SendAndClose(fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nServer: {}\r\nContent-Type: application/json\r\n"
      "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nRetry-After: 1\r\n"
      "Connection: close\r\nContent-Length: {}\r\n\r\n{}",
      options_.server_name, refusal.body.size(), refusal.body));
}

void HttpServer::Impl::Sniff(std::shared_ptr<Connection> connection) {
  // Its first byte and its handshake share one deadline, and it waits on pending_ meanwhile.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(options_.request_timeout_s);
  connection->ExpiresAfter(std::chrono::seconds(options_.request_timeout_s));
  if (pending_.size() >= kMaxPending) ClosePending();
  pending_.push_back(connection);
  // The entry is erased when the last handler holding the slot is done (or the server is
  // gone), never before: the slot's iterator stays valid. Cleared, it no longer counts.
  auto slot = std::shared_ptr<std::list<std::weak_ptr<Connection>>::iterator>(
      new auto(std::prev(pending_.end())), [this, alive = alive_](auto* it) {
        if (*alive) pending_.erase(*it);
        delete it;
      });
  Connection& c = *connection;
  c.PeekFirstByte([this, alive = alive_, connection = std::move(connection), deadline, slot](
                      const error_code& ec, int byte) mutable {
    if (!*alive) return;
    if (ec || byte < 0 || connection->closed()) return connection->Close();
    if (byte == 0x16) {  // a TLS record of type handshake: a ClientHello
      auto left = std::max<std::chrono::steady_clock::duration>(
          deadline - std::chrono::steady_clock::now(), std::chrono::milliseconds(1));
      auto tls = AcceptTls(std::move(connection), tls_, left,
                           [this, alive, slot](std::shared_ptr<Connection> handshaken,
                                               const std::string& why) {
                             if (!*alive) return;
                             if (!handshaken) {
                               ++stats_.tls_failures;
                               Log(LogLevel::kDebug, "HTTP: {}", why);
                               return;
                             }
                             **slot = std::weak_ptr<Connection>();  // no longer pending
                             std::make_shared<Session>(*this, std::move(handshaken))->Start();
                           });
      **slot = tls;  // pending until its handshake is done
      return;
    }
    connection->ExpiresNever();
    **slot = std::weak_ptr<Connection>();
    auto session = std::make_shared<Session>(*this, connection);
    if (!PlaintextAllowed(connection->peer())) session->RequireTls();
    session->Start();
  });
}

bool HttpServer::Impl::PlaintextAllowed(const Peer& peer) const {
  for (const Network& network : options_.tls->plaintext_from) {
    if (NetworkContains(network, peer.address)) return true;  // (a zone is ignored there)
  }
  return false;
}

bool HttpServer::Impl::AllowRequest(const Peer& peer) {
  if (!limiter_ || peer.transport != Peer::Transport::kTcp) return true;
  // A link-local peer comes with its zone ("fe80::1%eth0"): the address is before it.
  auto address = ParseIpAddress(peer.address.substr(0, peer.address.find('%')));
  if (!address) return true;
  if (!options_.limit_loopback && IsLoopback(*address)) return true;
  int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  if (limiter_->Allow(PrefixOf(*address), now_us)) return true;
  ++stats_.rate_limited;
  return false;
}

bool HttpServer::Impl::ClosePending() {
  for (auto& entry : pending_) {
    auto connection = entry.lock();
    entry.reset();
    if (connection && !connection->closed()) {
      connection->Close();  // its handlers end, and erase the entry
      return true;
    }
  }
  return false;
}

bool HttpServer::Impl::EvictIdle() {
  // First a connection still to show it speaks TLS or HTTP, oldest first: a client that has
  // not sent a request yet after the longest time.
  if (ClosePending()) {
    ++stats_.evicted;
    return true;
  }
  for (const auto& waiting : idle_) {
    if (auto session = waiting.lock()) {
      session->Evict();  // takes it off the list
      ++stats_.evicted;
      return true;
    }
  }
  return false;
}

void HttpServer::Impl::OutOfDescriptors(int64_t now_s) {
  ++stats_.accept_paused;
  if (now_s - last_fd_warning_s_ < 10) {
    ++fd_warnings_skipped_;
    return;
  }
  Log(LogLevel::kWarning,
      "HTTP: out of file descriptors with {} connections open; accepting again in {} ms "
      "(raise LimitNOFILE){}",
      counts_->total, kAcceptPause.count(),
      fd_warnings_skipped_ > 0 ? fmt::format("; {} more times since the last warning",
                                             fd_warnings_skipped_)
                               : "");
  last_fd_warning_s_ = now_s;
  fd_warnings_skipped_ = 0;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::Open(EventLoop& loop,
                                                     const HttpServerOptions& options,
                                                     HttpHandler& handler) {
  auto impl = std::make_unique<Impl>(loop, options, handler);
  if (auto bound = impl->Bind(); !bound) return tl::unexpected(bound.error());
  if (options.tls) {
    auto context = MakeServerTlsContext(options.tls->files);
    if (!context) return tl::unexpected(context.error());
    impl->tls_ = std::move(*context);
    // OpenSSL writes TLS records with write(2), not send(2) with MSG_NOSIGNAL as Asio does:
    // a client gone before its records were written would kill the process with SIGPIPE.
    // Writing to it fails with EPIPE instead.
    ::signal(SIGPIPE, SIG_IGN);
  }
  if (options.requests_per_second > 0) {
    impl->limiter_.emplace(options.requests_per_second,
                           std::max(options.request_burst, options.requests_per_second));
  }
  // A connection is a descriptor: more than the process may open would only fail at accept.
  impl->limit_ = options.max_connections;
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    int64_t room = static_cast<int64_t>(files.rlim_cur) - kReservedDescriptors;
    if (room < impl->limit_) {
      impl->limit_ = std::max<int64_t>(room, 1);
      Log(LogLevel::kInfo,
          "HTTP: at most {} connections, as the descriptor limit is {} (max_connections is {}; "
          "raise LimitNOFILE)",
          impl->limit_, files.rlim_cur, options.max_connections);
    }
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Start() { impl_->Start(); }
std::vector<std::string> HttpServer::endpoints() const { return impl_->endpoints_; }
int64_t HttpServer::open_connections() const { return impl_->counts_->total; }
int64_t HttpServer::connection_limit() const { return impl_->limit_; }
uint64_t HttpServer::rate_limited() const { return impl_->stats_.rate_limited; }
const HttpServerOptions& HttpServer::options() const { return impl_->options_; }
uint64_t HttpServer::tls_failures() const { return impl_->stats_.tls_failures; }
HttpServer::Stats HttpServer::stats() const {
  Stats stats = impl_->stats_;
  stats.connections = impl_->counts_->total;
  stats.connection_limit = impl_->limit_;
  return stats;
}

Result<void> HttpServer::ReloadTls(const TlsServerOptions& tls) {
  if (!impl_->tls_) {
    return MakeError(ErrorCode::kInvalidArgument, "TLS was off at start: it takes a restart");
  }
  auto context = MakeServerTlsContext(tls.files);
  if (!context) return tl::unexpected(context.error());
  impl_->tls_ = std::move(*context);
  impl_->options_.tls = tls;
  return {};
}

}  // namespace utmpcd
