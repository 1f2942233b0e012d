// TLS over an accepted TCP connection: one more implementation of Connection.
#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include <algorithm>
#include <cerrno>
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

// OpenSSL straight on the socket (SSL_set_fd), not through Asio's TLS stream: that one keeps
// four 17 KiB buffers (its own two and a BIO pair's) for every connection, idle or not, and
// copies every record through them. Here an idle connection holds the SSL object alone (its
// record buffers are released between records, SSL_MODE_RELEASE_BUFFERS), and records go
// between OpenSSL and the kernel directly. The socket is non-blocking: an SSL call that would
// block waits for the socket's readiness and is made again. Completions are posted, never
// called from the initiating call (as Asio's own operations).
class TlsConnection : public Connection {
 public:
  TlsConnection(tcp::socket socket, Peer peer, std::shared_ptr<ConnectionCounts> counts,
                std::shared_ptr<TlsContext> context)
      : Connection(socket.get_executor(), std::move(peer), std::move(counts)),
        context_(std::move(context)),
        socket_(std::move(socket)),
        ssl_(SSL_new(context_->native_handle())) {
    error_code ignored;
    socket_.non_blocking(true, ignored);
    if (ssl_ != nullptr) {
      SSL_set_fd(ssl_, socket_.native_handle());
      SSL_set_accept_state(ssl_);
      // A read takes what the socket holds, not a record's header and then its body: one
      // recv(2) a record instead of two.
      SSL_set_read_ahead(ssl_, 1);
    }
  }
  ~TlsConnection() override {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }

  void Handshake(std::chrono::steady_clock::duration timeout,
                 std::function<void(std::shared_ptr<Connection>, std::string)> done) {
    ExpiresAfter(timeout);
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    Retry(
        [self] { return SSL_do_handshake(self->ssl_); },
        [self, done = std::move(done)](const error_code& ec, int) {
          if (ec || self->closed()) {
            std::string why = self->closed() ? "TLS: no handshake in time"
                                             : DescribeTlsFailure(self->ssl_, ec);
            self->Close();
            return done(nullptr, why);
          }
          self->ExpiresNever();
          self->mutable_peer().certificate_subject = VerifiedSubject(self->ssl_);
          done(self, "");
        });
  }


  void ReadSome(asio::mutable_buffer buffer, Handler handler) override {
    if (buffer.size() == 0) {  // as a socket: at once, nothing read
      asio::post(executor(), [handler = std::move(handler)] { handler(error_code(), 0); });
      return;
    }
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    Retry(
        [self, buffer] {
          size_t n = 0;
          int r = SSL_read_ex(self->ssl_, buffer.data(), buffer.size(), &n);
          return r == 1 ? static_cast<int>(n) : r;
        },
        [handler = std::move(handler)](const error_code& ec, int n) {
          handler(ec, ec ? 0 : static_cast<size_t>(n));
        });
  }

  void WriteSome(const std::vector<asio::const_buffer>& buffers, Handler handler) override {
    // The first buffer as it is (the caller keeps it until the completion, and SSL_write is
    // made again with the very same bytes while it would block), or small ones gathered into
    // one record's worth.
    size_t total = 0;
    size_t count = 0;
    for (const auto& b : buffers) {
      if (total + b.size() > kRecordBytes && count > 0) break;
      total += b.size();
      ++count;
    }
    if (total == 0) {
      asio::post(executor(), [handler = std::move(handler)] { handler(error_code(), 0); });
      return;
    }
    const void* data = buffers.front().data();
    if (count > 1) {
      gathered_.resize(total);
      size_t at = 0;
      for (size_t i = 0; i < count; ++i) {
        std::memcpy(gathered_.data() + at, buffers[i].data(), buffers[i].size());
        at += buffers[i].size();
      }
      data = gathered_.data();
    }
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    Retry(
        [self, data, total] {
          size_t n = 0;
          int r = SSL_write_ex(self->ssl_, data, total, &n);
          return r == 1 ? static_cast<int>(n) : r;
        },
        [self, handler = std::move(handler)](const error_code& ec, int n) {
          // An idle stream keeps no 16 KiB of it.
          std::vector<char>().swap(self->gathered_);
          handler(ec, ec ? 0 : static_cast<size_t>(n));
        });
  }

  void CloseGracefully(std::chrono::steady_clock::duration within) override {
    // close_notify first (a TLS peer takes a close without it for a truncation), then what
    // the client still sends is read and dropped from the socket until it closes, as over a
    // plain socket: closing with unread bytes would reset the connection, and the response
    // could be lost.
    ExpiresAfter(within);
    auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
    Retry([self] { return SSL_shutdown(self->ssl_) >= 0 ? 1 : -1; },
          [self](const error_code&, int) {
            if (self->closed()) return;
            error_code ignored;
            self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
            Drain(self, 0);
          });
  }

 protected:
  void CloseTransport() override {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  int Descriptor() override { return socket_.native_handle(); }

 private:
  using Done = std::function<void(const error_code&, int)>;

  // Makes `call` (an SSL call: > 0 done, else SSL_get_error says why) until it is done or
  // fails, waiting for the socket between tries; then calls `done` with its result: posted
  // when it ends in the initiating call, at once when in a wait's completion.
  template <typename Call>
  void Retry(Call call, Done done, bool in_completion = false) {
    auto finish = [this, in_completion](Done& d, error_code ec, int n) {
      if (in_completion) return d(ec, n);
      Post(std::move(d), ec, n);
    };
    if (ssl_ == nullptr || closed()) return finish(done, asio::error::operation_aborted, 0);
    ERR_clear_error();
    errno = 0;
    int r = call();
    if (r > 0) return finish(done, error_code(), r);
    int saved_errno = errno;
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      auto self = std::static_pointer_cast<TlsConnection>(shared_from_this());
      socket_.async_wait(
          e == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write,
          [self, call = std::move(call), done = std::move(done)](const error_code& ec) mutable {
            if (ec || self->closed()) {
              return done(ec ? ec : asio::error::operation_aborted, 0);
            }
            self->Retry(std::move(call), std::move(done), true);
          });
      return;
    }
    error_code ec = ErrorOf(e, saved_errno);
    ERR_clear_error();  // the rest of the queue is this failure's too
    finish(done, ec, 0);
  }

  void Post(Done done, error_code ec, int n) {
    asio::post(executor(), [done = std::move(done), ec, n] { done(ec, n); });
  }

  // An SSL call's failure as Asio's TLS stream says it: eof for the peer's close_notify,
  // stream_truncated for an end without one.
  static error_code ErrorOf(int e, int saved_errno) {
    if (e == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
    unsigned long err = ERR_get_error();
    if (e == SSL_ERROR_SYSCALL && err == 0) {
      return saved_errno != 0 ? error_code(saved_errno, asio::error::get_system_category())
                              : error_code(asio::ssl::error::stream_truncated);
    }
    if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return asio::ssl::error::stream_truncated;
    }
    if (err != 0) return error_code(static_cast<int>(err), asio::error::get_ssl_category());
    return asio::error::fault;
  }

  static constexpr size_t kDrainBytes = 64 * 1024;
  // Reads the socket (no longer TLS: the close_notify was sent) to its end.
  static void Drain(std::shared_ptr<TlsConnection> self, size_t read) {
    if (read > kDrainBytes) return self->Close();
    if (!self->discard_) self->discard_ = std::make_unique<std::array<char, 4096>>();
    TlsConnection& c = *self;
    c.socket_.async_read_some(asio::buffer(*c.discard_),
                              [self = std::move(self), read](const error_code& ec, size_t n) {
                                if (ec || self->closed()) return self->Close();
                                Drain(self, read + n);
                              });
  }

  std::shared_ptr<TlsContext> context_;  // the one it was made from, even after a reload
  tcp::socket socket_;
  SSL* ssl_;
  std::vector<char> gathered_;  // small buffers gathered for SSL_write, until it took them
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
