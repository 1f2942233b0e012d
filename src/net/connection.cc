#include "net/connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <type_traits>
#include <cerrno>

namespace utmpcd {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;

template <typename Socket>
class SocketConnection : public Connection {
 public:
  SocketConnection(Socket socket, Peer peer, std::shared_ptr<ConnectionCounts> counts)
      : Connection(socket.get_executor(), std::move(peer), std::move(counts)),
        socket_(std::move(socket)) {}

  void ReadSome(asio::mutable_buffer buffer, Handler handler) override {
    socket_.async_read_some(buffer, std::move(handler));
  }
  void WriteSome(const std::vector<asio::const_buffer>& buffers, Handler handler) override {
    socket_.async_write_some(buffers, std::move(handler));
  }
  void CloseGracefully(std::chrono::steady_clock::duration within) override {
    error_code ignored;
    socket_.shutdown(Socket::shutdown_send, ignored);
    ExpiresAfter(within);
    Drain(std::static_pointer_cast<SocketConnection>(shared_from_this()), 0);
  }
  void SendAndClose(std::string_view bytes) override {
    const int fd = socket_.native_handle();
    char discard[4096];
    for (int i = 0; i < 16 && ::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0; ++i) {
    }
    // A new connection's send buffer is empty: it takes a short answer whole.
    (void)::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    error_code ignored;
    socket_.shutdown(Socket::shutdown_send, ignored);
    Close();
  }
  void PeekFirstByte(std::function<void(const error_code&, int)> handler) override {
    socket_.async_wait(Socket::wait_read, [this, self = shared_from_this(),
                                           handler = std::move(handler)](const error_code& ec) mutable {
      if (ec || closed()) return handler(ec ? ec : asio::error::operation_aborted, -1);
      unsigned char byte = 0;
      ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      // A readiness that was not (the reactor can report one for a descriptor number closed
      // and reused meanwhile): wait again.
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return PeekFirstByte(std::move(handler));
      }
      if (n < 0) return handler(error_code(errno, asio::error::get_system_category()), -1);
      handler(error_code(), n == 0 ? -1 : byte);
    });
  }

 protected:
  void CloseTransport() override {
    error_code ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  int Descriptor() override { return socket_.native_handle(); }
  std::optional<tcp::socket> TakeTcpSocket() override {
    if constexpr (std::is_same_v<Socket, tcp::socket>) {
      if (closed()) return std::nullopt;
      MarkClosed();
      return std::move(socket_);
    } else {
      return std::nullopt;
    }
  }

 private:
  // Reads and drops what the client still sends, up to kDrainBytes, until it closes.
  static void Drain(std::shared_ptr<SocketConnection> self, size_t read) {
    if (read > kDrainBytes) return self->Close();
    if (!self->discard_) self->discard_ = std::make_unique<std::array<char, 4096>>();
    SocketConnection& c = *self;
    c.socket_.async_read_some(asio::buffer(*c.discard_),
                              [self = std::move(self), read](const error_code& ec, size_t n) {
                                if (ec || self->closed()) return self->Close();
                                Drain(self, read + n);
                              });
  }
  static constexpr size_t kDrainBytes = 64 * 1024;

  Socket socket_;
  std::unique_ptr<std::array<char, 4096>> discard_;
};

// Writes what is left of `buffers` from `offset` on, then calls `handler`.
void WriteRest(std::shared_ptr<Connection> connection,
               std::shared_ptr<std::vector<asio::const_buffer>> buffers, size_t written,
               Connection::Handler handler) {
  // Drop what was written.
  auto& b = *buffers;
  size_t skip = written;
  size_t first = 0;
  while (first < b.size() && skip >= b[first].size()) skip -= b[first++].size();
  if (first == b.size()) {
    handler(error_code(), 0);
    return;
  }
  b.erase(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(first));
  b.front() += skip;
  Connection& c = *connection;
  c.WriteSome(b, [connection = std::move(connection), buffers,
                  handler = std::move(handler)](const error_code& ec, size_t n) mutable {
    if (ec) {
      handler(ec, 0);
      return;
    }
    WriteRest(std::move(connection), std::move(buffers), n, std::move(handler));
  });
}

}  // namespace

std::string SourceOf(const Peer& peer) {
  if (peer.transport == Peer::Transport::kTcp) {
    // An IPv6 host has a /64 to choose addresses from: it counts as one source.
    asio::ip::address_v6::bytes_type bytes;
    std::string address = peer.address.substr(0, peer.address.find('%'));
    if (address.find(':') != std::string::npos &&
        ::inet_pton(AF_INET6, address.c_str(), bytes.data()) == 1) {
      std::fill(bytes.begin() + 8, bytes.end(), 0);
      return asio::ip::address_v6(bytes).to_string() + "/64";
    }
    return peer.address;
  }
  return peer.uid ? "uid:" + std::to_string(*peer.uid) : "unix";
}

Connection::Connection(const asio::any_io_executor& executor, Peer peer,
                       std::shared_ptr<ConnectionCounts> counts)
    : peer_(std::move(peer)), timer_(executor), counts_(std::move(counts)),
      source_(SourceOf(peer_)) {
  if (counts_) {
    ++counts_->total;
    ++counts_->per_source[source_];
  }
}

Connection::~Connection() {
  if (!counts_) return;
  --counts_->total;
  auto it = counts_->per_source.find(source_);
  if (it != counts_->per_source.end() && --it->second <= 0) counts_->per_source.erase(it);
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  CloseTransport();
}

void Connection::LimitSendBuffer(int bytes) {
  if (int fd = Descriptor(); fd >= 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  }
}

void Connection::MarkClosed() {
  closed_ = true;
  timer_.cancel();
}

void Connection::PeekFirstByte(std::function<void(const error_code&, int)> handler) {
  asio::post(executor(), [handler = std::move(handler)] { handler(error_code(), -1); });
}

void Connection::ExpiresAfter(std::chrono::steady_clock::duration timeout) {
  uint64_t deadline = ++deadline_;
  timer_.expires_after(timeout);
  timer_.async_wait([weak = weak_from_this(), deadline](const error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (self && self->deadline_ == deadline) self->Close();
  });
}

void Connection::ExpiresNever() {
  ++deadline_;
  timer_.cancel();
}

void Connection::Write(std::vector<asio::const_buffer> buffers, Handler handler) {
  WriteRest(shared_from_this(),
            std::make_shared<std::vector<asio::const_buffer>>(std::move(buffers)), 0,
            std::move(handler));
}

std::shared_ptr<Connection> MakeConnection(tcp::socket socket,
                                           std::shared_ptr<ConnectionCounts> counts) {
  Peer peer;
  peer.transport = Peer::Transport::kTcp;
  error_code ec;
  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (!ec) {
    asio::ip::address address = remote.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    peer.address = address.to_string();
    peer.port = remote.port();
  }
  socket.set_option(tcp::no_delay(true), ec);
  return std::make_shared<SocketConnection<tcp::socket>>(std::move(socket), std::move(peer),
                                                         std::move(counts));
}

std::shared_ptr<Connection> MakeConnection(local::socket socket,
                                           std::shared_ptr<ConnectionCounts> counts) {
  Peer peer;
  peer.transport = Peer::Transport::kUnix;
  struct ucred cred {};
  socklen_t size = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0 &&
      size == sizeof cred) {
    peer.uid = cred.uid;
    peer.gid = cred.gid;
  }
  // The supplementary groups too: a member of group utmp need not have it as primary group.
  std::vector<gid_t> groups(64);
  socklen_t groups_size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERGROUPS, groups.data(),
                   &groups_size) != 0 && errno == ERANGE) {
    groups.resize(groups_size / sizeof(gid_t));
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERGROUPS, groups.data(),
                     &groups_size) != 0) {
      groups_size = 0;
    }
  }
  groups.resize(groups_size / sizeof(gid_t));
  peer.groups.assign(groups.begin(), groups.end());
  return std::make_shared<SocketConnection<local::socket>>(std::move(socket), std::move(peer),
                                                           std::move(counts));
}

}  // namespace utmpcd
