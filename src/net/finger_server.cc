#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include "net/finger_server.h"

#include <boost/asio.hpp>
#include <map>

#include "core/log.h"
#include "net/event_loop.h"
#include "net/tcp_listen_internal.h"

namespace utmpcd {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// RFC 1288 sets no bound on a query; a name and "/W " fit well within this.
constexpr size_t kMaxLine = 1024;

}  // namespace

class FingerServer::Impl : public std::enable_shared_from_this<FingerServer::Impl> {
 public:
  Impl(EventLoop& loop, FingerOptions options, Answer answer)
      : loop_(loop), options_(std::move(options)), answer_(std::move(answer)) {}

  Result<void> Open() {
    for (const std::string& text : options_.listen) {
      auto acceptor = OpenAcceptor(loop_.io(), text, "finger");
      if (!acceptor) return tl::unexpected(acceptor.error());
      if (!*acceptor) continue;
      endpoints_.push_back(EndpointText((*acceptor)->local_endpoint()));
      acceptors_.push_back(std::move(*acceptor));
    }
    for (auto& acceptor : acceptors_) Accept(*acceptor);
    return {};
  }

  void Close() {
    for (auto& acceptor : acceptors_) {
      error_code ec;
      acceptor->close(ec);
    }
  }

  std::vector<std::string> endpoints_;

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io), timer(io) {}
    tcp::socket socket;
    asio::steady_timer timer;
    std::string source;  // the peer's address as counted in by_source_
    std::string line;
    std::string answer;
  };

  void Accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([self = shared_from_this(), &acceptor](const error_code& ec,
                                                                 tcp::socket socket) {
      // Closed (the server goes): no more accepts.
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) return;
      if (!ec) self->Serve(std::move(socket));
      if (ec && ec != asio::error::connection_aborted) {
        Log(LogLevel::kWarning, "finger: accept: {}", ec.message());
        // Out of descriptors and the like: a pause, not a spin.
        auto pause = std::make_shared<asio::steady_timer>(self->loop_.io());
        pause->expires_after(std::chrono::milliseconds(100));
        pause->async_wait([self, &acceptor, pause](const error_code&) { self->Accept(acceptor); });
        return;
      }
      self->Accept(acceptor);
    });
  }

  void Serve(tcp::socket socket) {
    error_code ec;
    auto remote = socket.remote_endpoint(ec);
    std::string source = ec ? "" : remote.address().to_string();
    if (open_ >= options_.max_connections || by_source_[source] >= options_.max_per_source) {
      if (by_source_[source] == 0) by_source_.erase(source);
      socket.close(ec);  // full: closed unanswered, as a busy fingerd's inetd would
      return;
    }
    ++open_;
    ++by_source_[source];
    auto c = std::make_shared<Connection>(loop_.io());
    c->source = source;
    c->socket = std::move(socket);
    c->timer.expires_after(std::chrono::milliseconds(options_.timeout_ms));
    c->timer.async_wait([c](const error_code& waited) {
      if (waited) return;  // cancelled: done in time
      error_code ignored;
      c->socket.close(ignored);
    });
    Read(c);
  }

  void Read(const std::shared_ptr<Connection>& c) {
    auto buffer = std::make_shared<std::array<char, 512>>();
    c->socket.async_read_some(
        asio::buffer(*buffer), [self = shared_from_this(), c, buffer](const error_code& ec, size_t n) {
          if (ec) return self->Done(c);
          c->line.append(buffer->data(), n);
          size_t lf = c->line.find('\n');
          if (lf == std::string::npos && c->line.size() <= kMaxLine) return self->Read(c);
          std::string_view query(c->line);
          // Too long without a LF: the query is what came (ParseFingerQuery refuses it).
          query = query.substr(0, lf == std::string::npos ? query.size() : lf);
          std::string peer = "";
          error_code ignored;
          auto remote = c->socket.remote_endpoint(ignored);
          if (!ignored) {
            auto address = remote.address();
            // An IPv4 peer of an IPv6 socket is the IPv4 address it is, for the access rules.
            if (address.is_v6() && address.to_v6().is_v4_mapped()) {
              address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
            }
            peer = address.to_string();
          }
          try {
            c->answer = self->answer_(peer, query);
          } catch (const std::exception& e) {
            Log(LogLevel::kError, "finger: {}", e.what());
            c->answer = "finger: the server failed to answer\r\n";
          }
          asio::async_write(c->socket, asio::buffer(c->answer),
                            [self, c](const error_code&, size_t) {
                              error_code ignored2;
                              c->socket.shutdown(tcp::socket::shutdown_both, ignored2);
                              self->Done(c);
                            });
        });
  }

  void Done(const std::shared_ptr<Connection>& c) {
    c->timer.cancel();
    error_code ignored;
    c->socket.close(ignored);
    --open_;
    if (auto it = by_source_.find(c->source); it != by_source_.end() && --it->second <= 0) {
      by_source_.erase(it);
    }
  }

  EventLoop& loop_;
  FingerOptions options_;
  Answer answer_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  int64_t open_ = 0;
  std::map<std::string, int64_t> by_source_;  // connections open, by peer address
};

FingerServer::FingerServer() = default;

FingerServer::~FingerServer() {
  if (impl_) impl_->Close();
}

Result<void> FingerServer::Open(EventLoop& loop, const FingerOptions& options, Answer answer) {
  impl_ = std::make_shared<Impl>(loop, options, std::move(answer));
  return impl_->Open();
}

std::vector<std::string> FingerServer::endpoints() const {
  return impl_ ? impl_->endpoints_ : std::vector<std::string>();
}

}  // namespace utmpcd
