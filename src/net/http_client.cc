#include "net/http_client.h"

#include <sys/un.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "api/wire_decode.h"
#include "net/http_client_internal.h"

namespace utmpcd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace http_client_internal;  // NOLINT(build/namespaces): this file's own helpers

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
  ClientStream stream_;
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
    // Each https host's context: its own files' or the command's (one per distinct files). A
    // host whose context cannot be made fails with why; the others are asked.
    tls_.resize(hosts_.size());
    for (size_t i = 0; i < hosts_.size(); ++i) {
      if (!hosts_[i].tls) continue;
      const auto& context = contexts_.For(hosts_[i].tls_files.value_or(options_.tls));
      if (context) {
        tls_[i] = *context;
      } else {
        results_[i] = tl::unexpected(context.error());
      }
    }
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
  const std::shared_ptr<TlsContext>& tls(size_t i) const { return tls_[i]; }
  std::string token(size_t i) const { return hosts_[i].token.value_or(options_.token); }

 private:
  void StartMore() {
    while (next_ < hosts_.size() && active_ < std::max<size_t>(options_.max_parallel, 1)) {
      if (hosts_[next_].tls && !tls_[next_]) {  // failed already: no TLS context
        ++next_;
        continue;
      }
      ++active_;
      std::make_shared<FetchSession>(this, next_++)->Start();
    }
  }

  const std::vector<NetHost>& hosts_;
  const std::vector<HostExchange*>& exchanges_;
  FetchOptions options_;
  asio::io_context io_;
  ClientTlsContexts contexts_;
  std::vector<std::shared_ptr<TlsContext>> tls_;  // each https host's
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
      stream_(fetcher->io(), host_.tls ? fetcher->tls(index) : nullptr) {}

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
  stream_.tcp().async_connect(
      endpoints_, [self = shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
        if (self->done_) return;
        if (ec) return self->Fail(Describe(ec));
        self->stream_.Handshake(self->host_.name, [self](const std::string& failed) {
          if (self->done_) return;
          if (!failed.empty()) return self->Fail(failed);
          self->Send();
        });
      });
}

void FetchSession::Send() {
  request_ = Get(host_, target_);
  if (std::string token = fetcher_->token(index_); !token.empty()) {
    request_.set(http::field::authorization, "Bearer " + token);
  }
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
  stream_.Close();
  buffer_.clear();
  Connect();
}

void FetchSession::Finish(Result<void> result) {
  if (done_) return;
  done_ = true;
  deadline_.cancel();
  stream_.Close();  // pending operations end with operation_aborted
  fetcher_->Finished(index_, std::move(result));
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

}  // namespace utmpcd
