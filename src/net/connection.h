// Connection: one accepted byte stream behind one interface, so that the HTTP server and the
// event streams never name a socket type: a TCP socket, a Unix stream socket, or TLS over TCP.
// It carries the peer as the transport knows it (a TLS client's verified certificate
// subject included), and a deadline that closes it.
//
// For src/net only (it includes Asio). A connection lives in a shared_ptr: its deadline holds
// a weak one. It is used from its io_context's thread.
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/request.h"

namespace boost::asio::ssl {
class context;
}

namespace utmpcd {

// How many connections a server has open, in all and per source (SourceOf). Each Connection counts itself in while it lives.
struct ConnectionCounts {
  int64_t total = 0;
  std::unordered_map<std::string, int64_t> per_source;
};

// The source a peer counts under: "192.0.2.7", "2001:db8:1:2::/64" (an IPv6 host has its
// /64 to pick addresses from), "uid:1000" ("unix" without credentials).
std::string SourceOf(const Peer& peer);

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Handler = std::function<void(const boost::system::error_code&, size_t)>;

  virtual ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Peer& peer() const { return peer_; }
  const std::string& source() const { return source_; }
  boost::asio::any_io_executor executor() { return timer_.get_executor(); }

  // What a socket's async_read_some and async_write_some do (at least one byte, or an error).
  virtual void ReadSome(boost::asio::mutable_buffer buffer, Handler handler) = 0;
  virtual void WriteSome(const std::vector<boost::asio::const_buffer>& buffers,
                         Handler handler) = 0;
  // Writes all of `buffers`, then calls `handler` once.
  void Write(std::vector<boost::asio::const_buffer> buffers, Handler handler);
  // Ends the connection after what was written, without losing it to a reset (RFC 9112 9.6):
  // a socket sends its end of stream, then reads and drops what the client still sends until
  // it closes its side; TLS sends its close_notify and waits for the client's. Closed at the
  // latest after `within`.
  virtual void CloseGracefully(std::chrono::steady_clock::duration within) = 0;
  // `handler` is called once bytes can be read, with the first byte waiting (not read: the
  // next ReadSome returns it), or -1 at the end of the stream. Sockets only (TLS: -1).
  virtual void PeekFirstByte(std::function<void(const boost::system::error_code&, int)> handler);
  // Sends `bytes` (a refusal, before any request was read) as far as the socket takes them at
  // once, and closes: what the client sent already is read and dropped first, so that the
  // close sends no reset that could destroy the answer. TLS: closes only.
  virtual void SendAndClose(std::string_view bytes) {
    (void)bytes;
    Close();
  }
  // Caps what the kernel buffers for sending (SO_SNDBUF, which turns its autotuning off): an
  // event stream whose client reads nothing then holds that much, not megabytes. Sockets and
  // TLS over a socket.
  void LimitSendBuffer(int bytes);
  // Closes it: what is pending completes with an error. Idempotent.
  void Close();
  bool closed() const { return closed_; }

  // The connection closes if it is still open after `timeout` (a client that sends its request
  // too slowly, or does not read what it is sent); a later call moves the deadline.
  void ExpiresAfter(std::chrono::steady_clock::duration timeout);
  void ExpiresNever();

 protected:
  Connection(const boost::asio::any_io_executor& executor, Peer peer,
             std::shared_ptr<ConnectionCounts> counts);
  virtual void CloseTransport() = 0;
  // The socket's descriptor (-1 for none).
  virtual int Descriptor() { return -1; }
  // A TCP connection's socket, taken to go on as TLS (nullopt for another kind): this
  // connection counts as closed without closing it.
  virtual std::optional<boost::asio::ip::tcp::socket> TakeTcpSocket() { return std::nullopt; }
  void MarkClosed();
  Peer& mutable_peer() { return peer_; }
  const std::shared_ptr<ConnectionCounts>& counts() const { return counts_; }

  friend std::shared_ptr<Connection> AcceptTls(
      std::shared_ptr<Connection> plain, std::shared_ptr<boost::asio::ssl::context> context,
      std::chrono::steady_clock::duration timeout,
      std::function<void(std::shared_ptr<Connection>, std::string)> done);

 private:
  Peer peer_;
  boost::asio::steady_timer timer_;
  // The server's counts of open connections: one of them until destroyed.
  std::shared_ptr<ConnectionCounts> counts_;
  std::string source_;
  // Which deadline is the current one: a wait that already completed cannot be cancelled, so
  // its handler checks that no later ExpiresAfter or ExpiresNever came.
  uint64_t deadline_ = 0;
  bool closed_ = false;
};

// A connection over a TCP or a Unix stream socket (Socket: tcp::socket or
// local::stream_protocol::socket).
std::shared_ptr<Connection> MakeConnection(boost::asio::ip::tcp::socket socket,
                                           std::shared_ptr<ConnectionCounts> counts);
std::shared_ptr<Connection> MakeConnection(boost::asio::local::stream_protocol::socket socket,
                                           std::shared_ptr<ConnectionCounts> counts);

// The server's side of TLS on `plain`, an accepted TCP connection nothing was read from yet
// (net/tls_connection.cc): returns the TLS connection, whose handshake runs; `done` gets it
// once the handshake succeeded within `timeout` (its peer says tls, and the subject of a
// verified client certificate), or nullptr and why it failed (Close ends the handshake too).
// `plain` is spent either way; nullptr when it was no open TCP connection.
std::shared_ptr<Connection> AcceptTls(std::shared_ptr<Connection> plain,
               std::shared_ptr<boost::asio::ssl::context> context,
               std::chrono::steady_clock::duration timeout,
               std::function<void(std::shared_ptr<Connection>, std::string)> done);

// A Connection as the stream Beast reads HTTP from and writes it to (AsyncReadStream and
// AsyncWriteStream).
class BeastStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  explicit BeastStream(std::shared_ptr<Connection> connection)
      : connection_(std::move(connection)) {}
  executor_type get_executor() { return connection_->executor(); }
  Connection& connection() { return *connection_; }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const MutableBuffers& bufs) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          boost::asio::mutable_buffer first;
          for (auto it = boost::asio::buffer_sequence_begin(bufs);
               it != boost::asio::buffer_sequence_end(bufs); ++it) {
            if (boost::asio::mutable_buffer b(*it); b.size() > 0) {
              first = b;
              break;
            }
          }
          connection_->ReadSome(first, [shared](const boost::system::error_code& ec,
                                                size_t n) { (*shared)(ec, n); });
        },
        token, buffers);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const ConstBuffers& bufs) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          std::vector<boost::asio::const_buffer> flat;
          for (auto it = boost::asio::buffer_sequence_begin(bufs);
               it != boost::asio::buffer_sequence_end(bufs); ++it) {
            flat.emplace_back(*it);
          }
          connection_->WriteSome(flat, [shared](const boost::system::error_code& ec,
                                                size_t n) { (*shared)(ec, n); });
        },
        token, buffers);
  }

 private:
  std::shared_ptr<Connection> connection_;
};

}  // namespace utmpcd
