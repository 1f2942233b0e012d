// Connection: one accepted byte stream behind one interface, so that the HTTP server and the
// event streams never name a socket type: a TCP socket or a Unix stream socket today, a TLS
// stream over TCP with issue 14 (another implementation of the same interface; nothing above
// it changes). It carries the peer as the transport knows it, and a deadline that closes it.
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
#include <string>
#include <unordered_map>
#include <vector>

#include "api/request.h"

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
  // No more bytes will be sent (the peer reads an end of stream); reading goes on.
  virtual void ShutdownSend() = 0;
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
