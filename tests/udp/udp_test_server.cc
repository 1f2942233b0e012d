#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "net/event_loop.h"
#include "udp/udp_test_util.h"

namespace utmpcd::testing {

class TestUdpServer::Impl {
 public:
  ~Impl() {
    if (thread_.joinable()) {
      // With its sockets closed the loop has nothing left to wait for: Run returns.
      loop_.Post([this] { server_.Close(); });
      thread_.join();
    }
  }

  EventLoop loop_;
  UdpServer server_;
  std::thread thread_;
};

TestUdpServer::TestUdpServer() : impl_(std::make_unique<Impl>()) {}
TestUdpServer::~TestUdpServer() = default;

std::string TestUdpServer::Start(const UdpOptions& options, UdpServer::Provider provider) {
  auto opened = impl_->server_.Open(impl_->loop_, options, std::move(provider));
  if (!opened) return opened.error().message;
  impl_->thread_ = std::thread([this] { impl_->loop_.Run(); });
  return "";
}

std::vector<std::string> TestUdpServer::endpoints() const {
  return impl_->server_.LocalEndpoints();
}

uint16_t TestUdpServer::port() const { return Endpoint(endpoints().at(0)).port; }

UdpStats TestUdpServer::Stats() const { return impl_->server_.Stats(); }

void TestUdpServer::Invalidate() { impl_->server_.Invalidate(); }

ClientSocket::ClientSocket(const IpEndpoint& local) {
  fd_ = ::socket(local.address.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_storage addr;
  socklen_t length = SockaddrFromEndpoint(local, &addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

ClientSocket::~ClientSocket() {
  if (fd_ >= 0) ::close(fd_);
}

IpEndpoint ClientSocket::local() const {
  sockaddr_storage addr;
  socklen_t length = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) return {};
  return EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&addr), length).value_or(IpEndpoint{});
}

bool ClientSocket::SendTo(std::string_view datagram, const IpEndpoint& to) {
  sockaddr_storage addr;
  socklen_t length = SockaddrFromEndpoint(to, &addr);
  return ::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                  length) == static_cast<ssize_t>(datagram.size());
}

std::optional<std::string> ClientSocket::Receive(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return std::nullopt;
  std::string buffer(65536, '\0');
  ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (n < 0) return std::nullopt;
  buffer.resize(static_cast<size_t>(n));
  return buffer;
}

std::vector<std::string> ClientSocket::Pending() {
  std::vector<std::string> out;
  while (auto d = Receive(0)) out.push_back(std::move(*d));
  return out;
}

IpEndpoint Endpoint(const std::string& text) {
  auto split = SplitHostPort(text, 0);
  if (!split) return {};
  auto address = ParseIpAddress(split->host);
  return IpEndpoint{address.value_or(IpAddress{}), split->port};
}

bool Eventually(const std::function<bool()>& done) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace utmpcd::testing
