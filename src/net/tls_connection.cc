// TLS over an accepted TCP connection: one more implementation of Connection.
#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include <algorithm>
#include <array>
#include <cstring>

#include "net/connection.h"
#include "net/tls_internal.h"

namespace utmpcd {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

// A TLS record carries at most 16 KiB: small buffers written together are gathered up to that,
// so that an event stream's many small frames go as few records, not one each.
constexpr size_t kRecordBytes = 16 * 1024;

class TlsConnection : public Connection {
 public:
  TlsConnection(tcp::socket socket, Peer peer, std::shared_ptr<ConnectionCounts> counts,
                std::shared_ptr<TlsContext> context)
      : Connection(socket.get_executor(), std::move(peer), std::move(counts)),
        context_(std::move(context)),
        stream_(std::move(socket), *context_) {}

  void Handshake(std::chrono::steady_clock::duration timeout,
                 std::function<void(std::shared_ptr<Connection>, std::string)> done) {
    ExpiresAfter(timeout);
    stream_.async_handshake(
        asio::ssl::stream_base::server,
        [self = std::static_pointer_cast<TlsConnection>(shared_from_this()),
         done = std::move(done)](const error_code& ec) {
          if (ec || self->closed()) {
            std::string why = self->closed()
                                  ? "TLS: no handshake in time"
                                  : DescribeTlsFailure(self->stream_.native_handle(), ec);
            self->Close();
            return done(nullptr, why);
          }
          self->ExpiresNever();
          self->mutable_peer().certificate_subject =
              VerifiedSubject(self->stream_.native_handle());
          done(self, "");
        });
  }

  void LimitSendBuffer(int bytes) override {
    ::setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_SNDBUF, &bytes,
                 sizeof bytes);
  }
  void ReadSome(asio::mutable_buffer buffer, Handler handler) override {
    stream_.async_read_some(buffer, std::move(handler));
  }

  void WriteSome(const std::vector<asio::const_buffer>& buffers, Handler handler) override {
    // Asio's TLS stream writes the first buffer only: gather small ones into one record.
    size_t total = 0;
    size_t count = 0;
    for (const auto& b : buffers) {
      if (total + b.size() > kRecordBytes && count > 0) break;
      total += b.size();
      ++count;
    }
    if (count <= 1) {
      asio::const_buffer first = buffers.empty() ? asio::const_buffer() : buffers.front();
      stream_.async_write_some(first, std::move(handler));
      return;
    }
    gathered_.resize(total);
    size_t at = 0;
    for (size_t i = 0; i < count; ++i) {
      std::memcpy(gathered_.data() + at, buffers[i].data(), buffers[i].size());
      at += buffers[i].size();
    }
    stream_.async_write_some(asio::buffer(gathered_), std::move(handler));
  }

  void CloseGracefully(std::chrono::steady_clock::duration within) override {
    // close_notify first (a TLS peer takes a close without it for a truncation), then what
    // the client still sends is read and dropped until it closes, as over a socket: closing
    // with unread bytes would reset the connection, and the response could be lost. Asio's
    // shutdown waits for the client's close_notify and fails on data before it; either way
    // the rest is drained from the socket itself.
    ExpiresAfter(within);
    stream_.async_shutdown(
        [self = std::static_pointer_cast<TlsConnection>(shared_from_this())](const error_code&) {
          if (self->closed()) return;
          error_code ignored;
          self->stream_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
          Drain(self, 0);
        });
  }

 protected:
  void CloseTransport() override {
    error_code ignored;
    stream_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.next_layer().close(ignored);
  }

 private:
  static constexpr size_t kDrainBytes = 64 * 1024;
  // Reads the socket (no longer TLS: the close_notify was sent) to its end.
  static void Drain(std::shared_ptr<TlsConnection> self, size_t read) {
    if (read > kDrainBytes) return self->Close();
    if (!self->discard_) self->discard_ = std::make_unique<std::array<char, 4096>>();
    TlsConnection& c = *self;
    c.stream_.next_layer().async_read_some(asio::buffer(*c.discard_),
                              [self = std::move(self), read](const error_code& ec, size_t n) {
                                if (ec || self->closed()) return self->Close();
                                Drain(self, read + n);
                              });
  }

  std::shared_ptr<TlsContext> context_;  // the one it was made from, even after a reload
  asio::ssl::stream<tcp::socket> stream_;
  std::vector<char> gathered_;
  std::unique_ptr<std::array<char, 4096>> discard_;
};

}  // namespace

std::shared_ptr<Connection> AcceptTls(
    std::shared_ptr<Connection> plain, std::shared_ptr<TlsContext> context,
    std::chrono::steady_clock::duration timeout,
    std::function<void(std::shared_ptr<Connection>, std::string)> done) {
  std::optional<tcp::socket> socket = plain->TakeTcpSocket();
  if (!socket) {
    asio::post(plain->executor(),
               [done = std::move(done)] { done(nullptr, "TLS: not an open TCP connection"); });
    return nullptr;
  }
  Peer peer = plain->peer();
  peer.tls = true;
  auto tls = std::make_shared<TlsConnection>(std::move(*socket), std::move(peer),
                                             plain->counts(), std::move(context));
  plain.reset();  // counted once: by the TLS connection from here on
  tls->Handshake(timeout, std::move(done));
  return tls;
}

}  // namespace utmpcd
