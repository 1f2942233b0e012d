// UdpServer on loopback with real sockets, as a client on the network sees it: the size of
// every reply against its request, what gets no reply at all, the rate limit, and utmpc's
// ping and summary against it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "api/udp_wire.h"
#include "spawn_util.h"
#include "udp/udp_test_util.h"

namespace utmpcd {
namespace {

using testing::ClientSocket;
using testing::Endpoint;
using testing::Eventually;
using testing::TestUdpServer;

// How long a reply that should come may take on a loaded machine. Replies that must not come
// are never waited for: a PING sent after them is, and its reply comes after theirs would have.
constexpr int kReplyMs = 10'000;

LiveSession Session(int i) {
  LiveSession s;
  s.user = "user" + std::to_string(i);
  s.line = "pts/" + std::to_string(i);
  s.host = std::string(static_cast<size_t>(i % 40), 'h');
  s.login_time_us = 1764349201000000 + i;
  return s;
}

UdpSnapshot Snapshot(int sessions, std::string hostname = "web1") {
  UdpSnapshot snapshot;
  snapshot.summary.hostname = std::move(hostname);
  snapshot.summary.boot_id = "0f5b8a2e-9c1d-4e7f-a3b6-2d4c8e1f0a9b";
  // Taken now, as the daemon's provider does: answers move the uptime on from it. 10 s past the
  // minute, so a reply late by less than 50 s shows the same minute.
  snapshot.summary.now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  snapshot.summary.uptime_s = 3 * 86400 + 4 * 3600 + 5 * 60 + 10;
  snapshot.summary.load = {0.12, 0.08, 0.02};
  snapshot.summary.users = 3;
  snapshot.summary.sessions = sessions;
  for (int i = 0; i < sessions; ++i) snapshot.sessions.push_back(Session(i));
  return snapshot;
}

// A reply sent at the daemon (by a spoofer hoping two daemons would answer each other forever).
std::string TooSmallReply() {
  UdpReply reply;
  reply.op = UdpOp::kSummary;
  reply.status = UdpStatus::kTooSmall;
  reply.needed_bytes = 300;
  return EncodeUdpReply(reply);
}

class UdpServerTest : public ::testing::Test {
 protected:
  // A server on 127.0.0.1 (and ::1 when `v6`), answering from Snapshot(sessions).
  void Start(UdpOptions options, int sessions = 150, std::string hostname = "web1") {
    if (options.listen.empty()) options.listen = {"127.0.0.1:0"};
    auto error = server_.Start(options, [this, sessions, hostname] {
      ++provided_;
      return Snapshot(sessions, hostname);
    });
    ASSERT_EQ(error, "");
    to_ = Endpoint(server_.endpoints().at(0));
  }

  // Sends `request` from `client` and returns the reply; fails the test when none comes.
  std::string Ask(ClientSocket& client, const std::string& request) {
    EXPECT_TRUE(client.SendTo(request, to_));
    auto reply = client.Receive(kReplyMs);
    EXPECT_TRUE(reply) << "no reply";
    return reply.value_or("");
  }

  // Sends `bad`, then a PING: the only reply must be the PING's.
  void ExpectNoReplyTo(const std::string& bad, const std::string& what) {
    static uint32_t id = 1000;
    ClientSocket client(Endpoint("127.0.0.1:0"));
    ASSERT_TRUE(client.SendTo(bad, to_)) << what;
    std::string ping = EncodeUdpRequest({UdpOp::kPing, ++id, 0}, 16);
    auto reply = DecodeUdpReply(Ask(client, ping));
    ASSERT_TRUE(reply) << what;
    EXPECT_EQ(reply->request_id, id) << what << ": the first reply is not the ping's";
    EXPECT_TRUE(client.Pending().empty()) << what;
  }

  TestUdpServer server_;
  IpEndpoint to_;
  std::atomic<int> provided_{0};
};

TEST_F(UdpServerTest, EveryReplyIsNoLargerThanItsRequest) {
  UdpOptions options;
  options.rate_per_prefix = 0;
  Start(options, 150, std::string(200, 'h'));  // a summary of more than 256 bytes
  ClientSocket client(Endpoint("127.0.0.1:0"));
  uint32_t id = 0;
  int too_small = 0, ok = 0;
  for (UdpOp op : {UdpOp::kPing, UdpOp::kSummary, UdpOp::kSessions}) {
    for (size_t size : {16, 17, 21, 22, 40, 100, 255, 256, 300, 600, 1199, 1200}) {
      std::string request = EncodeUdpRequest({op, ++id, 0}, size);
      std::string reply = Ask(client, request);
      EXPECT_LE(reply.size(), request.size()) << UdpOpName(op) << " " << size;
      EXPECT_LE(reply.size(), kMaxUdpDatagramBytes);
      auto decoded = DecodeUdpReply(reply);
      ASSERT_TRUE(decoded) << decoded.error().message;
      EXPECT_EQ(decoded->request_id, id);
      EXPECT_EQ(decoded->op, op);
      (decoded->status == UdpStatus::kTooSmall ? too_small : ok)++;
    }
  }
  EXPECT_GT(too_small, 0);  // the small requests were told to pad
  EXPECT_GT(ok, 0);
  UdpStats stats;
  ASSERT_TRUE(Eventually([&] { return (stats = server_.Stats()).answered == id; }));
  EXPECT_EQ(stats.received, id);
  EXPECT_EQ(stats.dropped_malformed, 0u);
}

TEST_F(UdpServerTest, SessionsPageOverTheNetwork) {
  UdpOptions options;
  options.rate_per_prefix = 0;
  Start(options, 150);
  ClientSocket client(Endpoint("127.0.0.1:0"));
  std::vector<UdpSession> got;
  for (uint32_t offset = 0, id = 1; id < 100; ++id) {
    auto page = DecodeUdpReply(Ask(client, EncodeUdpRequest({UdpOp::kSessions, id, offset}, 1200)));
    ASSERT_TRUE(page);
    ASSERT_EQ(page->status, UdpStatus::kOk);
    EXPECT_EQ(page->total, 150u);
    got.insert(got.end(), page->sessions.begin(), page->sessions.end());
    offset += static_cast<uint32_t>(page->sessions.size());
    if (!page->truncated) break;
  }
  ASSERT_EQ(got.size(), 150u);
  for (int i = 0; i < 150; ++i) EXPECT_EQ(got[static_cast<size_t>(i)].user, Session(i).user);
}

// The session list goes only to the sources allowed it (the daemon: by network, api/access.h);
// the others are told "refused" in a reply of the header alone, and still get the summary.
TEST_F(UdpServerTest, SessionsAreRefusedToSourcesNotAllowedThem) {
  UdpOptions options;
  options.may_list_sessions = [](const IpAddress& a) { return a == IpAddress::V4(127, 0, 0, 1); };
  Start(options, 3);
  ClientSocket allowed(Endpoint("127.0.0.1:0"));
  ClientSocket other(Endpoint("127.0.0.2:0"));
  std::string ask = EncodeUdpRequest({UdpOp::kSessions, 7, 0}, 1200);
  auto page = DecodeUdpReply(Ask(allowed, ask));
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->status, UdpStatus::kOk);
  EXPECT_EQ(page->sessions.size(), 3u);
  std::string raw = Ask(other, ask);
  auto refused = DecodeUdpReply(raw);
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_EQ(refused->status, UdpStatus::kRefused);
  EXPECT_EQ(refused->request_id, 7u);
  EXPECT_TRUE(refused->sessions.empty());
  EXPECT_EQ(raw.size(), kUdpHeaderBytes);
  EXPECT_EQ(raw.find(Session(0).user), std::string::npos);
  auto summary = DecodeUdpReply(Ask(other, EncodeUdpRequest({UdpOp::kSummary, 8, 0}, 1200)));
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->status, UdpStatus::kOk);
  EXPECT_EQ(summary->summary.sessions, 3);
}

TEST_F(UdpServerTest, MalformedDatagramsGetNoReplyAndAreCounted) {
  Start(UdpOptions{});
  std::string ping = EncodeUdpRequest({UdpOp::kPing, 1, 0}, 16);
  std::vector<std::pair<std::string, std::string>> bad = {
      {"", "empty"},
      {ping.substr(0, 11), "truncated header"},
      {ping.substr(0, 15), "truncated request"},
      {ping + std::string(1200 - 16 + 1, '\0'), "1201 bytes"},
      {ping + std::string(60000, '\0'), "60016 bytes"},
      {TooSmallReply(), "a reply, 16 bytes like a request"},
  };
  std::mt19937 random(431);
  for (int i = 0; i < 20; ++i) {
    std::string d(random() % 1500, '\0');
    for (char& c : d) c = static_cast<char>(random());
    bad.emplace_back(d, "random " + std::to_string(i));
  }
  for (const auto& [datagram, what] : bad) ExpectNoReplyTo(datagram, what);
  UdpStats stats = server_.Stats();
  EXPECT_EQ(stats.dropped_malformed, bad.size());
  EXPECT_EQ(stats.received, 2 * bad.size());
}

TEST_F(UdpServerTest, RateLimitPerPrefix) {
  UdpOptions options;
  options.burst = 5;
  options.rate_per_prefix = 0.001;  // one more every 1000 s: nothing refills during the test
  Start(options);
  ClientSocket flooder(Endpoint("127.0.0.1:0"));
  ClientSocket neighbour(Endpoint("127.0.0.77:0"));  // same /24
  ClientSocket other(Endpoint("127.0.1.1:0"));       // another /24
  for (uint32_t id = 1; id <= 20; ++id) {
    ASSERT_TRUE(flooder.SendTo(EncodeUdpRequest({UdpOp::kPing, id, 0}, 16), to_));
  }
  ASSERT_TRUE(neighbour.SendTo(EncodeUdpRequest({UdpOp::kPing, 21, 0}, 16), to_));
  // The other prefix is answered, after every datagram above was handled.
  auto reply = DecodeUdpReply(Ask(other, EncodeUdpRequest({UdpOp::kPing, 99, 0}, 16)));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->request_id, 99u);
  std::vector<std::string> answered = flooder.Pending();
  ASSERT_EQ(answered.size(), 5u);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(DecodeUdpReply(answered[i])->request_id, i + 1);
  EXPECT_TRUE(neighbour.Pending().empty());
  EXPECT_EQ(server_.Stats().dropped_rate_limited, 16u);
}

TEST_F(UdpServerTest, SnapshotIsTakenOncePerAgeOrInvalidation) {
  UdpOptions options;
  options.rate_per_prefix = 0;
  options.snapshot_max_age_ms = 3'600'000;
  Start(options);
  ClientSocket client(Endpoint("127.0.0.1:0"));
  EXPECT_TRUE(DecodeUdpReply(Ask(client, EncodeUdpRequest({UdpOp::kPing, 1, 0}, 16))));
  EXPECT_EQ(provided_, 0);  // PING needs no snapshot
  for (uint32_t id = 2; id < 12; ++id) {
    EXPECT_TRUE(DecodeUdpReply(Ask(client, EncodeUdpRequest({UdpOp::kSummary, id, 0}, 256))));
  }
  EXPECT_EQ(provided_, 1);
  server_.Invalidate();
  EXPECT_TRUE(DecodeUdpReply(Ask(client, EncodeUdpRequest({UdpOp::kSessions, 20, 0}, 1200))));
  EXPECT_EQ(provided_, 2);
}

TEST_F(UdpServerTest, Ipv6Loopback) {
  ClientSocket probe(Endpoint("[::1]:0"));
  if (!probe.ok()) GTEST_SKIP() << "no IPv6 loopback here";
  UdpOptions options;
  options.listen = {"[::1]:0", "127.0.0.1:0"};
  Start(options);
  IpEndpoint v6 = Endpoint(server_.endpoints().at(0));
  ASSERT_TRUE(v6.address.v6);
  ASSERT_TRUE(probe.SendTo(EncodeUdpRequest({UdpOp::kSummary, 6, 0}, 256), v6));
  auto reply = probe.Receive(kReplyMs);
  ASSERT_TRUE(reply);
  auto decoded = DecodeUdpReply(*reply);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->summary.hostname, "web1");
}

TEST(UdpServerOpen, BadListenAddressesFailClearly) {
  for (const char* listen : {"localhost:431", "127.0.0.1:99999", "[::1", "300.1.1.1:4"}) {
    TestUdpServer server;
    UdpOptions options;
    options.listen = {listen};
    std::string error = server.Start(options, [] { return UdpSnapshot{}; });
    EXPECT_NE(error.find(listen), std::string::npos) << listen << ": " << error;
  }
  // A port already taken.
  TestUdpServer first, second;
  UdpOptions options;
  options.listen = {"127.0.0.1:0"};
  ASSERT_EQ(first.Start(options, [] { return UdpSnapshot{}; }), "");
  options.listen = {first.endpoints().at(0)};
  EXPECT_NE(second.Start(options, [] { return UdpSnapshot{}; }).find("Address already in use"),
            std::string::npos);
}

// ---- utmpc ping and summary against the server ----

class UtmpcUdpTest : public UdpServerTest {
 protected:
  void SetUp() override {
    const char* utmpc = std::getenv("UTMPC");
    ASSERT_NE(utmpc, nullptr) << "UTMPC must name the utmpc binary (ctest sets it)";
    utmpc_ = utmpc;
    std::string pattern = (std::filesystem::temp_directory_path() / "udp_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    scratch_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(scratch_); }

  testing::Outcome Utmpc(std::vector<std::string> args) {
    args.insert(args.begin(), utmpc_);
    return testing::Spawn(args, {"LC_ALL=C.UTF-8", "PATH=/usr/bin:/bin"}, scratch_);
  }

  std::string utmpc_;
  std::filesystem::path scratch_;
};

TEST_F(UtmpcUdpTest, PingReportsRoundTrips) {
  Start(UdpOptions{});
  std::string host = server_.endpoints().at(0);
  auto run = Utmpc({"ping", "-c", "3", "-i", "0.05", "-W", "10", host});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find(host + " (" + host + "): 3 sent, 3 received, 0% loss, rtt min/avg/max "),
            std::string::npos)
      << run.out;
  EXPECT_EQ(server_.Stats().received, 3u);
}

TEST_F(UtmpcUdpTest, PingOfASilentHostIsLossAndFailure) {
  Start(UdpOptions{});
  // Bound, so nothing answers "port unreachable", and never read: a host that drops everything.
  ClientSocket silent(Endpoint("127.0.0.1:0"));
  std::string dead = FormatEndpoint(silent.local());
  std::string live = server_.endpoints().at(0);
  auto run = Utmpc({"ping", "-c", "2", "-i", "0.05", "-W", "3", live, dead});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.out.find(live + " (" + live + "): 2 sent, 2 received"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find(dead + " (" + dead + "): 2 sent, 0 received, 100% loss"),
            std::string::npos)
      << run.out;
}

TEST_F(UtmpcUdpTest, SummaryIsSanitizedAndPadsWhenTold) {
  // A host name longer than the first request leaves room for: utmpc asks again at the size
  // the daemon names. Its escape sequence must not reach the terminal.
  std::string hostname = "evil\x1b]0;owned\x07" + std::string(230, 'x');
  Start(UdpOptions{}, 2, hostname);
  std::string host = server_.endpoints().at(0);
  auto run = Utmpc({"summary", "-W", "10", host});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(run.out.find('\x07'), std::string::npos);
  EXPECT_NE(run.out.find("evil*[]0;owned*G" + std::string(230, 'x') + "  up"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("up  3+04:05,    3 users,    2 sessions, load 0.12, 0.08, 0.02"),
            std::string::npos)
      << run.out;
  auto json = Utmpc({"summary", "--json", "-W", "10", host});
  EXPECT_EQ(json.status, 0) << json.err;
  auto doc = nlohmann::json::parse(json.out);
  ASSERT_EQ(doc["hosts"].size(), 1u);
  EXPECT_EQ(doc["hosts"][0]["ok"], true);
  EXPECT_EQ(doc["hosts"][0]["hostname"], hostname);
  EXPECT_EQ(doc["hosts"][0]["users"], 3);
  EXPECT_EQ(doc["hosts"][0]["uptime_s"].get<int64_t>() >= 3 * 86400, true);
}

TEST_F(UtmpcUdpTest, SummaryOfARefusingHostFails) {
  Start(UdpOptions{});
  std::string refused;
  {
    ClientSocket closed(Endpoint("127.0.0.1:0"));  // a port nobody holds once this closes
    refused = FormatEndpoint(closed.local());
  }
  auto run = Utmpc({"summary", "-W", "2", server_.endpoints().at(0), refused});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.out.find("web1"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("utmpc summary: " + refused + ": "), std::string::npos) << run.err;
}

}  // namespace
}  // namespace utmpcd
