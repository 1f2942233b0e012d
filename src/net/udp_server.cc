// Asio only says when a socket is readable; the datagrams themselves go through recvmmsg(2)/sendmmsg(2), up to
// kBatch at a time, with IP_PKTINFO so the server knows the address each was sent to.
#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include "net/udp_server.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstring>
#include <optional>

#include "api/udp_wire.h"
#include "core/log.h"
#include "net/event_loop.h"
#include "net/udp_address.h"
#include "net/udp_rate_limiter.h"

namespace utmpcd {
namespace asio = boost::asio;
namespace {

// Datagrams read (and replies sent) per system call: enough that a flood costs two system calls
// per 32 queries, small enough (80 KiB of buffers) to keep in cache.
constexpr size_t kBatch = 32;
// Batches read per readiness before the socket goes back to the loop, so one busy socket cannot
// starve the daemon's other work.
constexpr int kBatchesPerWakeup = 8;
// Room for one in6_pktinfo control message (the larger of the two families).
constexpr size_t kControlBytes = CMSG_SPACE(sizeof(in6_pktinfo));
// How long the list of this host's broadcast addresses is trusted before it is read again.
constexpr int64_t kBroadcastsMaxAgeUs = 5'000'000;

int64_t ClockUs(clockid_t clock) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

// Where a datagram was sent: the address in its IP header, and the address a reply should come
// from (the same for unicast; for a broadcast, the receiving interface's own).
struct Destination {
  bool known = false;
  IpAddress address;
  IpAddress reply_from;
  unsigned ifindex = 0;
};

Destination DestinationOf(msghdr& msg) {
  Destination d;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      d.known = true;
      std::memcpy(d.address.bytes.data(), &info.ipi_addr, 4);
      std::memcpy(d.reply_from.bytes.data(), &info.ipi_spec_dst, 4);
      d.ifindex = static_cast<unsigned>(info.ipi_ifindex);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      d.known = true;
      d.address.v6 = d.reply_from.v6 = true;
      std::memcpy(d.address.bytes.data(), &info.ipi6_addr, 16);
      d.reply_from = d.address;
      d.ifindex = info.ipi6_ifindex;
    }
  }
  return d;
}

// Decided by what the kernel says of the datagram alone: for IPv4 it gives a unicast datagram's
// own destination as ipi_spec_dst, and for a broadcast (limited or directed) the interface
// address a reply should use instead. (A list of broadcast addresses from getifaddrs would be
// wrong: for an address added without one, a /30 with no "brd" or a /32, glibc reports the
// address itself, and every unicast datagram to it looked like a broadcast.)
bool IsGroupDestination(const Destination& d) {
  if (!d.known || !IsUnicastAddress(d.address)) return true;
  return !d.address.v6 && !(d.reply_from == d.address);
}

// The directed broadcast addresses of this host's interfaces (192.0.2.255 of 192.0.2.1/24).
std::vector<IpAddress> ReadBroadcasts() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (!(i->ifa_flags & IFF_BROADCAST) || i->ifa_broadaddr == nullptr ||
        i->ifa_broadaddr->sa_family != AF_INET) {
      continue;
    }
    auto broadcast = EndpointFromSockaddr(i->ifa_broadaddr, sizeof(sockaddr_in));
    auto own = i->ifa_addr != nullptr ? EndpointFromSockaddr(i->ifa_addr, sizeof(sockaddr_in))
                                      : std::nullopt;
    // An address with no broadcast address of its own is reported as its own broadcast: it is
    // a unicast address of this host, not a broadcast.
    if (broadcast && !(own && own->address == broadcast->address)) {
      out.push_back(broadcast->address);
    }
  }
  ::freeifaddrs(list);
  return out;
}

// The reply's source address and interface, so a host with several addresses answers from the
// one that was asked (a client would drop a reply from another).
size_t WriteReplyControl(const Destination& d, bool group, std::span<char> out) {
  if (!d.known) return 0;
  std::memset(out.data(), 0, out.size());
  msghdr msg{};
  msg.msg_control = out.data();
  msg.msg_controllen = out.size();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!d.address.v6) {
    in_pktinfo info{};
    std::memcpy(&info.ipi_spec_dst, d.reply_from.bytes.data(), 4);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    return CMSG_SPACE(sizeof info);
  }
  in6_pktinfo info{};
  // To a multicast request the kernel picks the source; a link-local one needs its interface.
  if (!group) std::memcpy(&info.ipi6_addr, d.address.bytes.data(), 16);
  bool link_local = d.address.bytes[0] == 0xFE && (d.address.bytes[1] & 0xC0) == 0x80;
  if (group || link_local) info.ipi6_ifindex = d.ifindex;
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof info);
  std::memcpy(CMSG_DATA(c), &info, sizeof info);
  return CMSG_SPACE(sizeof info);
}

Result<int> OpenSocket(const std::string& text, const IpEndpoint& endpoint) {
  auto fail = [&](const char* what) {
    return tl::unexpected(ErrnoError("udp " + text + ": " + what, errno));
  };
  int family = endpoint.address.v6 ? AF_INET6 : AF_INET;
  int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket");
  int on = 1;
  bool ok = endpoint.address.v6
                ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0 &&
                      ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0
                : ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0;
  if (!ok) {
    auto error = fail("setsockopt");
    ::close(fd);
    return error;
  }
  sockaddr_storage addr;
  socklen_t length = SockaddrFromEndpoint(endpoint, &addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    auto error = fail("bind");
    ::close(fd);
    return error;
  }
  return fd;
}

}  // namespace

class UdpServer::Impl {
 public:
  Impl(asio::io_context& io, const UdpOptions& options, Provider provider)
      : io_(io),
        options_(options),
        provider_(std::move(provider)),
        limiter_(options.rate_per_prefix, options.burst) {}

  Result<void> Bind(const std::string& text);
  Result<void> Adopt(int fd);  // a socket handed over
  void Start() {
    broadcasts_ = ReadBroadcasts();
    broadcasts_read_us_ = ClockUs(CLOCK_MONOTONIC);
    for (Listener& l : listeners_) Arm(l);
  }
  void Close() { listeners_.clear(); }
  std::vector<std::string> Endpoints() const {
    std::vector<std::string> out;
    for (const Listener& l : listeners_) out.push_back(l.local);
    return out;
  }
  UdpStats Stats() const;
  void Invalidate() { stale_.store(true, std::memory_order_relaxed); }

 private:
  struct Listener {
    std::unique_ptr<asio::posix::stream_descriptor> socket;  // owns the fd
    std::string local;
  };
  // Buffers for one recvmmsg/sendmmsg round, allocated once.
  struct Batch {
    std::array<std::array<char, kMaxUdpDatagramBytes>, kBatch> in, out;
    std::array<std::array<char, kControlBytes>, kBatch> in_control, out_control;
    std::array<sockaddr_storage, kBatch> peers;
    std::array<iovec, kBatch> in_iov, out_iov;
    std::array<mmsghdr, kBatch> in_msgs, out_msgs;
  };
  enum class Outcome { kAnswer, kMalformed, kRateLimited, kSource, kBroadcast, kFailed };
  struct Counter {
    std::atomic<uint64_t> value{0};
    void Add(uint64_t n = 1) { value.fetch_add(n, std::memory_order_relaxed); }
    uint64_t Get() const { return value.load(std::memory_order_relaxed); }
  };

  void Arm(Listener& l);
  void Drain(Listener& l);
  int Receive(int fd);
  // What to do with datagram `i` of the batch; for kAnswer, the reply is in batch_->out[i],
  // `*reply_bytes` long, and `*destination` is where the datagram was sent.
  Outcome Handle(size_t i, int64_t mono_us, int64_t real_us, size_t* reply_bytes,
                 Destination* destination);
  // Makes the answer to datagram `i` (in batch_->out[i], `bytes` long) the `slot`th reply to send.
  void QueueReply(size_t i, size_t bytes, const Destination& d, size_t slot);
  void Send(int fd, size_t count);
  std::span<const IpAddress> Broadcasts(int64_t mono_us);
  bool RefreshSnapshot(int64_t mono_us);
  void Count(Outcome outcome);
  // Logs the drop counts: at the first drop, then at most once a minute while drops go on, so
  // that a silent UDP port (a firewall's broadcast, a flood) shows in the log.
  void ReportDrops(int64_t mono_us);

  asio::io_context& io_;
  UdpOptions options_;
  Provider provider_;
  UdpRateLimiter limiter_;
  std::vector<Listener> listeners_;
  std::unique_ptr<Batch> batch_ = std::make_unique<Batch>();
  std::vector<IpAddress> broadcasts_;
  int64_t broadcasts_read_us_ = 0;
  std::optional<UdpSnapshot> snapshot_;
  int64_t snapshot_taken_us_ = 0;
  std::atomic<bool> stale_{false};
  Counter received_, answered_, malformed_, rate_limited_, source_, broadcast_, send_failed_;
  int64_t drops_reported_us_ = 0;  // monotonic; 0: never
};

Result<void> UdpServer::Impl::Adopt(int fd) {
  int type = 0;
  socklen_t size = sizeof type;
  sockaddr_storage address{};
  socklen_t address_size = sizeof address;
  std::string what = "udp socket " + std::to_string(fd) + " handed over";
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size) != 0) {
    auto error = ErrnoError(what, errno);
    ::close(fd);
    return tl::unexpected(error);
  }
  if (type != SOCK_DGRAM || (address.ss_family != AF_INET && address.ss_family != AF_INET6)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidArgument, what + ": not an IPv4 or IPv6 datagram socket");
  }
  // An IPv6 socket must be IPv6-only, as OpenSocket makes its own: on a dual-stack one IPv4
  // datagrams come with mapped addresses, which the broadcast checks do not look into.
  int v6only = 0;
  size = sizeof v6only;
  if (address.ss_family == AF_INET6 &&
      (::getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &size) != 0 || v6only == 0)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidArgument,
                     what + ": an IPv6 socket that takes IPv4 too (set BindIPv6Only=ipv6-only)");
  }
  // As OpenSocket sets its own: the address each datagram was sent to, and no blocking.
  int on = 1;
  bool ok = address.ss_family == AF_INET6
                ? ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0
                : ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0;
  int flags = ::fcntl(fd, F_GETFL);
  if (!ok || flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    auto error = ErrnoError(what, errno);
    ::close(fd);
    return tl::unexpected(error);
  }
  Listener l;
  l.socket = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
  auto local = EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&address), address_size);
  l.local = local ? FormatEndpoint(*local) : what;
  listeners_.push_back(std::move(l));
  return {};
}

Result<void> UdpServer::Impl::Bind(const std::string& text) {
  auto split = SplitHostPort(text, kUdpDefaultPort);
  if (!split) return MakeError(ErrorCode::kInvalidArgument, "udp listen " + split.error().message);
  auto address = ParseIpAddress(split->host);
  if (!address) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "udp listen '" + text + "': not a numeric IPv4 or [IPv6] address");
  }
  auto fd = OpenSocket(text, IpEndpoint{*address, split->port});
  if (!fd && address->v6 && errno == EAFNOSUPPORT) {
    // A host without IPv6 (ipv6.disable=1): [::]:431 of the default is no error.
    Log(LogLevel::kWarning, "UDP: not listening on {}: this host has no IPv6", text);
    return {};
  }
  if (!fd) return tl::unexpected(fd.error());
  Listener l;
  l.socket = std::make_unique<asio::posix::stream_descriptor>(io_, *fd);
  sockaddr_storage bound;
  socklen_t length = sizeof bound;
  ::getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &length);
  auto local = EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&bound), length);
  l.local = local ? FormatEndpoint(*local) : text;
  listeners_.push_back(std::move(l));
  return {};
}

void UdpServer::Impl::Arm(Listener& l) {
  // Listeners live in a vector that no longer changes once Start ran: the reference stays valid
  // until Close, which cancels the wait first (operation_aborted).
  l.socket->async_wait(asio::posix::descriptor_base::wait_read,
                       [this, &l](const boost::system::error_code& ec) {
                         if (ec) return;
                         Drain(l);
                       });
}

void UdpServer::Impl::Drain(Listener& l) {
  int fd = l.socket->native_handle();
  for (int round = 0; round < kBatchesPerWakeup; ++round) {
    int n = Receive(fd);
    if (n <= 0) break;
    int64_t mono_us = ClockUs(CLOCK_MONOTONIC);
    int64_t real_us = ClockUs(CLOCK_REALTIME);
    size_t replies = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      size_t bytes = 0;
      Destination d;
      Outcome outcome = Handle(i, mono_us, real_us, &bytes, &d);
      if (outcome != Outcome::kAnswer) {
        Count(outcome);
        ReportDrops(mono_us);
        continue;
      }
      QueueReply(i, bytes, d, replies);
      ++replies;
    }
    Send(fd, replies);
    if (static_cast<size_t>(n) < kBatch) break;
  }
  Arm(l);
}

void UdpServer::Impl::QueueReply(size_t i, size_t bytes, const Destination& d, size_t slot) {
  // The reply goes back to the peer it came from, from the address it was sent to.
  Batch& b = *batch_;
  mmsghdr& out = b.out_msgs[slot];
  const msghdr& in = b.in_msgs[i].msg_hdr;
  b.out_iov[slot] = iovec{b.out[i].data(), bytes};
  out = mmsghdr{};
  out.msg_hdr.msg_name = in.msg_name;
  out.msg_hdr.msg_namelen = in.msg_namelen;
  out.msg_hdr.msg_iov = &b.out_iov[slot];
  out.msg_hdr.msg_iovlen = 1;
  size_t control = WriteReplyControl(d, IsGroupDestination(d), b.out_control[slot]);
  out.msg_hdr.msg_control = control > 0 ? b.out_control[slot].data() : nullptr;
  out.msg_hdr.msg_controllen = control;
}

int UdpServer::Impl::Receive(int fd) {
  Batch& b = *batch_;
  for (size_t i = 0; i < kBatch; ++i) {
    b.in_iov[i] = iovec{b.in[i].data(), b.in[i].size()};
    msghdr& h = b.in_msgs[i].msg_hdr;
    h = msghdr{};
    h.msg_name = &b.peers[i];
    h.msg_namelen = sizeof b.peers[i];
    h.msg_iov = &b.in_iov[i];
    h.msg_iovlen = 1;
    h.msg_control = b.in_control[i].data();
    h.msg_controllen = b.in_control[i].size();
  }
  int n = ::recvmmsg(fd, b.in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    Log(LogLevel::kWarning, "udp: recvmmsg: {}", std::strerror(errno));
  }
  return n;
}

UdpServer::Impl::Outcome UdpServer::Impl::Handle(size_t i, int64_t mono_us, int64_t real_us,
                                                 size_t* reply_bytes, Destination* destination) {
  Batch& b = *batch_;
  received_.Add();
  msghdr& h = b.in_msgs[i].msg_hdr;
  // MSG_TRUNC: the datagram was larger than the buffer, that is than any request may be.
  if (h.msg_flags & MSG_TRUNC) return Outcome::kMalformed;
  auto peer = EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&b.peers[i]), h.msg_namelen);
  if (!peer || !IsAnswerableSource(*peer, Broadcasts(mono_us))) return Outcome::kSource;
  *destination = DestinationOf(h);
  if (!options_.discovery && IsGroupDestination(*destination)) {
    return Outcome::kBroadcast;
  }
  size_t size = b.in_msgs[i].msg_len;
  auto request = DecodeUdpRequest(std::string_view(b.in[i].data(), size));
  if (!request) return Outcome::kMalformed;
  if (!limiter_.Allow(PrefixOf(peer->address), mono_us)) return Outcome::kRateLimited;
  static const HostSummary kNoSummary;
  const HostSummary* summary = &kNoSummary;
  std::span<const LiveSession> sessions;
  if (request->op != UdpOp::kPing) {
    if (!RefreshSnapshot(mono_us)) return Outcome::kFailed;
    summary = &snapshot_->summary;
    sessions = snapshot_->sessions;
  }
  bool sessions_allowed = request->op != UdpOp::kSessions || !options_.may_list_sessions ||
                          options_.may_list_sessions(peer->address);
  *reply_bytes = AnswerUdpRequest(
      *request, size, UdpAnswerSource{*summary, sessions, real_us, sessions_allowed}, b.out[i]);
  return Outcome::kAnswer;
}

void UdpServer::Impl::Send(int fd, size_t count) {
  Batch& b = *batch_;
  size_t at = 0;
  while (at < count) {
    int sent = ::sendmmsg(fd, &b.out_msgs[at], static_cast<unsigned>(count - at), MSG_DONTWAIT);
    if (sent > 0) {
      answered_.Add(static_cast<uint64_t>(sent));
      at += static_cast<size_t>(sent);
      continue;
    }
    // The reply at `at` failed. EACCES: its destination is a broadcast address after all (the
    // kernel refuses those without SO_BROADCAST, which this socket never sets).
    if (sent < 0 && errno == EACCES) {
      source_.Add();
    } else {
      send_failed_.Add();
    }
    ++at;
  }
}

std::span<const IpAddress> UdpServer::Impl::Broadcasts(int64_t mono_us) {
  if (mono_us - broadcasts_read_us_ > kBroadcastsMaxAgeUs) {
    broadcasts_ = ReadBroadcasts();
    broadcasts_read_us_ = mono_us;
  }
  return broadcasts_;
}

bool UdpServer::Impl::RefreshSnapshot(int64_t mono_us) {
  bool stale = stale_.exchange(false, std::memory_order_relaxed);
  int64_t max_age_us = int64_t{options_.snapshot_max_age_ms} * 1000;
  if (snapshot_ && !stale && mono_us - snapshot_taken_us_ <= max_age_us) {
    return true;
  }
  try {
    snapshot_ = provider_();
    snapshot_taken_us_ = mono_us;
    return true;
  } catch (const std::exception& e) {
    // The edge of a request: this one fails, the server goes on.
    Log(LogLevel::kError, "udp: no snapshot to answer from: {}", e.what());
    snapshot_.reset();
    return false;
  }
}

void UdpServer::Impl::Count(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAnswer:
      break;
    case Outcome::kMalformed:
      malformed_.Add();
      break;
    case Outcome::kRateLimited:
      rate_limited_.Add();
      break;
    case Outcome::kSource:
      source_.Add();
      break;
    case Outcome::kBroadcast:
      broadcast_.Add();
      break;
    case Outcome::kFailed:
      send_failed_.Add();
      break;
  }
}

void UdpServer::Impl::ReportDrops(int64_t mono_us) {
  constexpr int64_t kEveryUs = 60'000'000;
  if (drops_reported_us_ != 0 && mono_us - drops_reported_us_ < kEveryUs) return;
  drops_reported_us_ = mono_us;
  UdpStats s = Stats();
  Log(LogLevel::kInfo,
      "udp: {} received, {} answered; dropped: {} malformed, {} rate-limited, {} from a "
      "broadcast or multicast source, {} sent to a broadcast address{}",
      s.received, s.answered, s.dropped_malformed, s.dropped_rate_limited, s.dropped_source,
      s.dropped_broadcast, options_.discovery ? "" : " ([udp] discovery is off)");
}

UdpStats UdpServer::Impl::Stats() const {
  UdpStats s;
  s.received = received_.Get();
  s.answered = answered_.Get();
  s.dropped_malformed = malformed_.Get();
  s.dropped_rate_limited = rate_limited_.Get();
  s.dropped_source = source_.Get();
  s.dropped_broadcast = broadcast_.Get();
  s.send_failed = send_failed_.Get();
  return s;
}

UdpServer::UdpServer() = default;
UdpServer::~UdpServer() { Close(); }

Result<void> UdpServer::Open(EventLoop& loop, const UdpOptions& options, Provider provider) {
  asio::io_context& io = loop.io();
  auto impl = std::make_unique<Impl>(io, options, std::move(provider));
  const std::vector<int>& handed = options.inherited_fds;
  for (size_t i = 0; i < handed.size(); ++i) {
    if (auto ok = impl->Adopt(handed[i]); !ok) {
      for (size_t j = i + 1; j < handed.size(); ++j) ::close(handed[j]);  // ours, unused
      return ok;
    }
  }
  for (const std::string& text : options.listen) {
    if (auto ok = impl->Bind(text); !ok) return ok;
  }
  impl->Start();
  impl_ = std::move(impl);
  return {};
}

std::vector<std::string> UdpServer::LocalEndpoints() const {
  return impl_ ? impl_->Endpoints() : std::vector<std::string>{};
}

UdpStats UdpServer::Stats() const { return impl_ ? impl_->Stats() : UdpStats{}; }

void UdpServer::Invalidate() {
  if (impl_) impl_->Invalidate();
}

void UdpServer::Close() {
  if (impl_) impl_->Close();
  impl_.reset();
}

}  // namespace utmpcd
