// Shared by the UDP tests: a UdpServer on an EventLoop of its own thread, and plain POSIX
// sockets to talk to it the way any client would.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/udp_address.h"
#include "net/udp_server.h"

namespace utmpcd::testing {

// A UdpServer answering on a thread of its own until destroyed.
class TestUdpServer {
 public:
  TestUdpServer();
  ~TestUdpServer();  // closes the server on its thread, then stops and joins the thread

  // Opens the server (on this thread, as the daemon does before it runs its loop) and starts
  // its thread. The error of UdpServer::Open, or "" on success.
  std::string Start(const UdpOptions& options, UdpServer::Provider provider);
  // The server's endpoints as bound: "127.0.0.1:40123".
  std::vector<std::string> endpoints() const;
  // The port of the first endpoint.
  uint16_t port() const;
  UdpStats Stats() const;
  void Invalidate();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A UDP socket bound to `local` (port 0: any), closed with the object.
class ClientSocket {
 public:
  explicit ClientSocket(const IpEndpoint& local);
  ~ClientSocket();
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  bool ok() const { return fd_ >= 0; }
  // The address and port it is bound to.
  IpEndpoint local() const;
  // Sends `datagram` to `to`; false when sendto failed.
  bool SendTo(std::string_view datagram, const IpEndpoint& to);
  // The next datagram, waiting at most `timeout_ms`; nullopt when none came.
  std::optional<std::string> Receive(int timeout_ms);
  // Every datagram already waiting, without blocking.
  std::vector<std::string> Pending();

 private:
  int fd_ = -1;
};

// An endpoint from "127.0.0.1:431" or "[::1]:431".
IpEndpoint Endpoint(const std::string& text);

// Waits up to 10 s for `done` to hold, checking every few ms: for counters updated just after a
// reply is sent.
bool Eventually(const std::function<bool()>& done);

}  // namespace utmpcd::testing
