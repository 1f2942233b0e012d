// What only a LAN shows: datagrams whose source is a broadcast or multicast address, and
// discovery by broadcast. Each test runs in a network namespace of its own (root only), with
// loopback and a veth pair (udpv0 10.77.0.1/24, broadcast 10.77.0.255), so the forged packets
// and the broadcasts never leave it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "api/udp_wire.h"
#include "spawn_util.h"
#include "udp/udp_test_util.h"

namespace utmpcd {
namespace {

namespace fs = std::filesystem;
using testing::ClientSocket;
using testing::Endpoint;
using testing::TestUdpServer;

constexpr int kReplyMs = 10'000;

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
    std::string pattern = (fs::temp_directory_path() / "udp_netns.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    scratch_ = pattern;
  }
  void TearDown() override {
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }

  // Runs `body` on a thread in a new network namespace; what it spawns and every thread it
  // starts are in that namespace too. Returns why the namespace could not be set up, or "".
  std::string InNetns(const std::function<void()>& body) {
    std::string failure;
    std::thread thread([&] {
      if (::unshare(CLONE_NEWNET) != 0) {
        failure = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
        return;
      }
      for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
               {"link", "set", "lo", "up"},
               {"link", "add", "udpv0", "type", "veth", "peer", "name", "udpv1"},
               {"addr", "add", "10.77.0.1/24", "brd", "+", "dev", "udpv0"},
               // nodad: usable at once, not after duplicate address detection's second.
               {"-6", "addr", "add", "fd00:77::1/64", "dev", "udpv0", "nodad"},
               {"link", "set", "udpv0", "up"},
               {"link", "set", "udpv1", "up"},
               // Nothing for the test ranges leaves by a default route, should one ever exist.
               {"route", "add", "unreachable", "10.77.0.0/16"},
               {"route", "add", "unreachable", "10.78.0.0/16"}}) {
        args.insert(args.begin(), "/bin/ip");
        auto run = testing::Spawn(args, {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, scratch_);
        if (run.status != 0) {
          failure = "ip " + args[1] + " " + args[2] + " " + args[3] + ": " + run.err;
          return;
        }
      }
      body();
    });
    thread.join();
    return failure;
  }

  testing::Outcome Utmpc(std::vector<std::string> args) {
    const char* utmpc = std::getenv("UTMPC");
    EXPECT_NE(utmpc, nullptr) << "UTMPC must name the utmpc binary (ctest sets it)";
    args.insert(args.begin(), utmpc != nullptr ? utmpc : "utmpc");
    return testing::Spawn(args, {"LC_ALL=C.UTF-8"}, scratch_);
  }

  fs::path scratch_;
};

UdpSnapshot Lab() {
  UdpSnapshot s;
  s.summary.hostname = "labhost";
  s.summary.users = 1;
  s.summary.sessions = 1;
  return s;
}

// An IPv4 packet carrying one UDP datagram, with any source at all. The kernel fills in the
// IP checksum and length of a raw IP_HDRINCL packet; a UDP checksum of 0 means none (IPv4).
std::string UdpPacket(const IpEndpoint& from, const IpEndpoint& to, const std::string& payload) {
  std::string p(28, '\0');
  p[0] = 0x45;  // IPv4, 20-byte header
  p[8] = 64;    // TTL
  p[9] = IPPROTO_UDP;
  std::copy_n(from.address.bytes.begin(), 4, p.begin() + 12);
  std::copy_n(to.address.bytes.begin(), 4, p.begin() + 16);
  auto put16 = [&](size_t at, size_t v) {
    p[at] = static_cast<char>(v >> 8);
    p[at + 1] = static_cast<char>(v & 0xFF);
  };
  put16(2, 28 + payload.size());
  put16(20, from.port);
  put16(22, to.port);
  put16(24, 8 + payload.size());
  return p + payload;
}

bool SendForged(const IpEndpoint& from, const IpEndpoint& to, const std::string& payload) {
  int fd = ::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return false;
  std::string packet = UdpPacket(from, to, payload);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  std::copy_n(to.address.bytes.begin(), 4, reinterpret_cast<uint8_t*>(&addr.sin_addr));
  bool ok = ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                     sizeof addr) == static_cast<ssize_t>(packet.size());
  ::close(fd);
  return ok;
}

TEST_F(NetnsTest, NothingIsSentToABroadcastOrMulticastSource) {
  std::string failure = InNetns([&] {
    TestUdpServer server;
    UdpOptions options;
    options.listen = {"0.0.0.0:0"};
    options.discovery = true;  // the source rule holds whatever the destination
    ASSERT_EQ(server.Start(options, Lab), "");
    IpEndpoint to{IpAddress::V4(127, 0, 0, 1), server.port()};
    // Whatever the daemon sent to port 40000 of any address here would arrive on this socket:
    // replies to a broadcast address are looped back to the host's own sockets.
    ClientSocket catcher(Endpoint("0.0.0.0:40000"));
    ASSERT_TRUE(catcher.ok());
    // (0.0.0.0 cannot be forged this way: the kernel puts its own address in a raw packet
    // whose source is 0. The unit tests cover it.)
    std::vector<const char*> forged = {"255.255.255.255", "10.77.0.255", "224.0.0.1",
                                       "239.255.255.250"};
    uint32_t id = 0;
    for (const char* source : forged) {
      IpEndpoint from = Endpoint(std::string(source) + ":40000");
      ASSERT_TRUE(SendForged(from, to, EncodeUdpRequest({UdpOp::kPing, ++id, 0}, 16))) << source;
    }
    // The same forged packet from a unicast address of the host is answered, after the others.
    ASSERT_TRUE(
        SendForged(Endpoint("10.77.0.1:40000"), to, EncodeUdpRequest({UdpOp::kPing, 99, 0}, 16)));
    auto reply = catcher.Receive(kReplyMs);
    ASSERT_TRUE(reply) << "the unicast control got no reply";
    EXPECT_EQ(DecodeUdpReply(*reply)->request_id, 99u);
    EXPECT_TRUE(catcher.Pending().empty());
    UdpStats stats = server.Stats();
    EXPECT_EQ(stats.received, forged.size() + 1);
    EXPECT_EQ(stats.dropped_source, forged.size());
  });
  if (!failure.empty()) GTEST_SKIP() << failure;
}

// An address added with no broadcast address (no "brd", a /30 or a /32): glibc's getifaddrs
// reports the address itself as the interface's broadcast address. What decides is what the
// kernel says of each datagram (IP_PKTINFO), so unicast to such an address is answered.
TEST_F(NetnsTest, AnAddressWithoutABroadcastAddressIsAnswered) {
  std::string failure = InNetns([&] {
    for (const char* address : {"10.78.0.2/30", "10.78.1.5/32"}) {
      auto added = testing::Spawn({"/bin/ip", "addr", "add", address, "dev", "udpv0"},
                                  {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, scratch_);
      ASSERT_EQ(added.status, 0) << added.err;
    }
    TestUdpServer server;
    UdpOptions options;
    options.listen = {"0.0.0.0:0"};
    ASSERT_EQ(server.Start(options, Lab), "");
    for (const char* address : {"10.78.0.2", "10.78.1.5", "10.77.0.1"}) {
      auto ping = Utmpc({"ping", "-c", "1", "-W", "10",
                         std::string(address) + ":" + std::to_string(server.port())});
      EXPECT_EQ(ping.status, 0) << address << ": " << ping.out << ping.err;
    }
    EXPECT_EQ(server.Stats().dropped_broadcast, 0u);
    EXPECT_EQ(server.Stats().answered, 3u);
  });
  if (!failure.empty()) GTEST_SKIP() << failure;
}

TEST_F(NetnsTest, DiscoveryAnswersBroadcastsOnlyWhenOn) {
  std::string failure = InNetns([&] {
    TestUdpServer off, on;
    UdpOptions options;
    options.listen = {"0.0.0.0:0"};
    ASSERT_EQ(off.Start(options, Lab), "");
    options.discovery = true;
    ASSERT_EQ(on.Start(options, Lab), "");

    auto silent = Utmpc({"discover", "--port", std::to_string(off.port()), "--broadcast",
                         "127.255.255.255", "-W", "1"});
    EXPECT_EQ(silent.status, 1);
    EXPECT_NE(silent.err.find("no host answered"), std::string::npos) << silent.err;
    // And why that may be: a host answers a broadcast only when its configuration says so.
    EXPECT_NE(silent.err.find("discovery = true under [udp]"), std::string::npos) << silent.err;
    EXPECT_GE(off.Stats().dropped_broadcast, 1u);
    EXPECT_EQ(off.Stats().answered, 0u);
    // Unicast is answered all the same.
    auto ping = Utmpc({"ping", "-c", "1", "-W", "10", "127.0.0.1:" + std::to_string(off.port())});
    EXPECT_EQ(ping.status, 0) << ping.out << ping.err;

    for (const char* broadcast : {"127.255.255.255", "10.77.0.255"}) {
      auto found = Utmpc(
          {"discover", "--port", std::to_string(on.port()), "--broadcast", broadcast, "-W", "3"});
      EXPECT_EQ(found.status, 0) << broadcast << ": " << found.err;
      EXPECT_NE(found.out.find("labhost"), std::string::npos) << broadcast << ": " << found.out;
    }
    EXPECT_GE(on.Stats().answered, 2u);

    // IPv6 has no broadcast: discovery asks the all-nodes group of a link.
    TestUdpServer on6;
    options.listen = {"[::]:0"};
    ASSERT_EQ(on6.Start(options, Lab), "");
    auto found6 = Utmpc({"discover", "--port", std::to_string(on6.port()), "--broadcast",
                         "ff02::1%udpv0", "-W", "3"});
    EXPECT_EQ(found6.status, 0) << found6.err;
    EXPECT_NE(found6.out.find("labhost"), std::string::npos) << found6.out;
  });
  if (!failure.empty()) GTEST_SKIP() << failure;
}

}  // namespace
}  // namespace utmpcd
