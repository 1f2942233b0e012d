// What the HTTP client's two halves share (net/http_client.cc: FetchAll and the Unix-socket
// request; net/sse_follower.cc: event streams): limits, error words, the request every GET
// starts from, and name lookups that never hold up another host. For src/net only.
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 with g++ 12 needs std::exchange declared first
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "core/result.h"
#include "core/version.h"
#include "net/hosts.h"
#include "net/tls_internal.h"

namespace utmpcd::http_client_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Endpoints = std::vector<tcp::endpoint>;
using Ms = std::chrono::milliseconds;

// A history page of 1000 rows with 256-byte hosts escaped is well under 2 MiB; more than 64 MiB
// is no answer of ours, and the limit keeps a hostile server from taking the client's memory.
constexpr uint64_t kMaxBodyBytes = 64 << 20;
// An error body is a line of JSON.
constexpr size_t kMaxErrorBodyBytes = 64 << 10;
constexpr int64_t kMinRetryMs = 100;

// A system message as a clause: "Connection refused" -> "connection refused".
inline std::string Clause(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      (text.size() < 2 || !(text[1] >= 'A' && text[1] <= 'Z'))) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

inline std::string Describe(const beast::error_code& ec) {
  if (ec == asio::error::eof || ec == http::error::end_of_stream ||
      ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated) {
    return "connection closed by the host";
  }
  if (ec == beast::error::timeout) return "timed out";
  // After the handshake: the server's alert (TLS 1.3 checks a client certificate then).
  if (ec.category() == asio::error::get_ssl_category()) return DescribeTlsFailure(nullptr, ec);
  return Clause(ec.message());
}

inline std::string Seconds(int64_t ms) { return fmt::format("{:g} s", static_cast<double>(ms) / 1000); }

// The Host header: the name, bracketed when it is an IPv6 literal, and the port.
inline std::string HostHeader(const NetHost& host) {
  bool v6 = host.name.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host.name, v6 ? "]" : "", host.port);
}

inline http::request<http::empty_body> Get(const NetHost& host, const std::string& target) {
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, HostHeader(host));
  request.set(http::field::user_agent, std::string("utmpc/") + kVersion);
  return request;
}

// A client's connection to one host: TCP, with TLS over it for an https host. Reads and writes
// go to whichever is in use, so Beast reads HTTP from it either way.
class ClientStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using Tls = asio::ssl::stream<beast::tcp_stream&>;

  // `context`: the TLS client context when the host is https, else null.
  ClientStream(asio::io_context& io, std::shared_ptr<TlsContext> context)
      : tcp_(io), context_(std::move(context)) {}

  beast::tcp_stream& tcp() { return tcp_; }
  executor_type get_executor() { return tcp_.get_executor(); }
  bool tls() const { return context_ != nullptr; }
  // Closes the connection; pending operations end with an error. Connect again at will.
  void Close() {
    beast::error_code ignored;
    tcp_.socket().close(ignored);
  }

  // Once connected: the TLS handshake, expecting `name` in the server's certificate; `done`
  // gets "" or why it failed ("TLS: certificate has expired"). Without TLS, done("") at once.
  void Handshake(const std::string& name, std::function<void(const std::string&)> done) {
    if (!context_) {
      asio::post(tcp_.get_executor(), [done = std::move(done)] { done(""); });
      return;
    }
    // A new TLS session for each connection; the last one lives on in the handlers that still
    // refer to it.
    tls_ = std::make_shared<Tls>(tcp_, *context_);
    if (auto named = ExpectServerName(tls_->native_handle(), name); !named) {
      asio::post(tcp_.get_executor(),
                 [done = std::move(done), why = named.error().message] { done(why); });
      return;
    }
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [tls = tls_, done = std::move(done)](const beast::error_code& ec) {
                            done(ec ? DescribeTlsFailure(tls->native_handle(), ec) : "");
                          });
  }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& bufs) {
          if (!tls_) return tcp_.async_read_some(bufs, std::move(handler));
          tls_->async_read_some(bufs, [tls = tls_, handler = std::move(handler)](
                                          const beast::error_code& ec, size_t n) mutable {
            handler(ec, n);
          });
        },
        token, buffers);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& bufs) {
          if (!tls_) return tcp_.async_write_some(bufs, std::move(handler));
          tls_->async_write_some(bufs, [tls = tls_, handler = std::move(handler)](
                                           const beast::error_code& ec, size_t n) mutable {
            handler(ec, n);
          });
        },
        token, buffers);
  }

 private:
  beast::tcp_stream tcp_;
  std::shared_ptr<TlsContext> context_;
  std::shared_ptr<Tls> tls_;
};

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

}  // namespace utmpcd::http_client_internal
