#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include "net/datagram_receiver.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "net/event_loop.h"

namespace utmpcd {
namespace asio = boost::asio;

namespace {
// Datagrams read per wakeup before others' callbacks get the loop again.
constexpr int kPerWakeup = 64;
}  // namespace

class DatagramReceiver::Impl {
 public:
  Impl(asio::io_context& io, Handler handler) : io_(io), handler_(std::move(handler)) {}

  Result<void> Bind(const std::string& text, uint16_t default_port) {
    auto split = SplitHostPort(text, default_port);
    if (!split) return MakeError(ErrorCode::kInvalidArgument, "listen " + split.error().message);
    auto address = ParseIpAddress(split->host);
    if (!address) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "listen '" + text + "': not a numeric IPv4 or [IPv6] address");
    }
    IpEndpoint endpoint{*address, split->port};
    int fd = ::socket(address->v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && address->v6 && errno == EAFNOSUPPORT) {
      Log(LogLevel::kWarning, "UDP: not listening on {}: this host has no IPv6", text);
      return {};
    }
    if (fd < 0) return tl::unexpected(ErrnoError("udp " + text + ": socket", errno));
    int on = 1;
    if (address->v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    sockaddr_storage addr;
    socklen_t length = SockaddrFromEndpoint(endpoint, &addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
      auto error = ErrnoError("udp " + text + ": bind", errno);
      ::close(fd);
      return tl::unexpected(error);
    }
    auto socket = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
    sockaddr_storage bound;
    socklen_t bound_length = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
    auto local = EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&bound), bound_length);
    listeners_.push_back(Listener{std::move(socket), local ? FormatEndpoint(*local) : text});
    return {};
  }

  void Start() {
    for (Listener& l : listeners_) Arm(l);
  }

  std::vector<std::string> Endpoints() const {
    std::vector<std::string> out;
    for (const Listener& l : listeners_) out.push_back(l.local);
    return out;
  }

 private:
  struct Listener {
    std::unique_ptr<asio::posix::stream_descriptor> socket;  // owns the fd
    std::string local;
  };

  void Arm(Listener& l) {
    // listeners_ no longer changes once Start ran; the destructor cancels the wait first.
    l.socket->async_wait(asio::posix::descriptor_base::wait_read,
                         [this, &l](const boost::system::error_code& ec) {
                           if (ec) return;
                           Drain(l);
                         });
  }

  void Drain(Listener& l) {
    int fd = l.socket->native_handle();
    for (int i = 0; i < kPerWakeup; ++i) {
      sockaddr_storage peer;
      iovec iov{buffer_.data(), buffer_.size()};
      msghdr h{};
      h.msg_name = &peer;
      h.msg_namelen = sizeof peer;
      h.msg_iov = &iov;
      h.msg_iovlen = 1;
      ssize_t n = ::recvmsg(fd, &h, MSG_DONTWAIT);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          Log(LogLevel::kWarning, "udp {}: recvmsg: {}", l.local, std::strerror(errno));
        }
        break;
      }
      auto from = EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&peer), h.msg_namelen);
      if (!from) continue;
      handler_(std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(n)), *from,
               (h.msg_flags & MSG_TRUNC) != 0);
    }
    Arm(l);
  }

  asio::io_context& io_;
  Handler handler_;
  std::vector<Listener> listeners_;
  std::array<uint8_t, 2048> buffer_{};
};

Result<std::unique_ptr<DatagramReceiver>> DatagramReceiver::Open(
    EventLoop& loop, const std::vector<std::string>& listen, uint16_t default_port,
    Handler handler) {
  auto impl = std::make_unique<Impl>(loop.io(), std::move(handler));
  for (const std::string& text : listen) {
    if (auto bound = impl->Bind(text, default_port); !bound) return tl::unexpected(bound.error());
  }
  impl->Start();
  return std::unique_ptr<DatagramReceiver>(new DatagramReceiver(std::move(impl)));
}

DatagramReceiver::DatagramReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DatagramReceiver::~DatagramReceiver() = default;

std::vector<std::string> DatagramReceiver::endpoints() const { return impl_->Endpoints(); }

}  // namespace utmpcd
