// The datagram codecs, the answer's size rules, the address checks and the rate limiter: pure
// functions, so these tests need no socket.
#include "api/udp_wire.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "net/udp_address.h"
#include "net/udp_rate_limiter.h"

namespace utmpcd {
namespace {

LiveSession Session(std::string user, std::string line, std::string host, int64_t t) {
  LiveSession s;
  s.user = std::move(user);
  s.line = std::move(line);
  s.host = std::move(host);
  s.login_time_us = t;
  return s;
}

HostSummary Summary() {
  HostSummary s;
  s.hostname = "web1";
  s.boot_id = "0f5b8a2e-9c1d-4e7f-a3b6-2d4c8e1f0a9b";
  s.now_us = 1764353045000000;
  s.boot_time_us = 1763622000000000;
  s.uptime_s = 731045;
  s.load = {0.12, 0.08, 2.5};
  s.users = 3;
  s.sessions = 5;
  s.last_seq = 120394;
  return s;
}

// The reply the daemon makes to `request` padded to `size`, decoded.
UdpReply Answer(const UdpRequest& request, size_t size, const HostSummary& summary,
                const std::vector<LiveSession>& sessions, size_t* reply_bytes = nullptr) {
  std::string datagram = EncodeUdpRequest(request, size);
  auto decoded = DecodeUdpRequest(datagram);
  EXPECT_TRUE(decoded) << decoded.error().message;
  std::vector<char> out(kMaxUdpDatagramBytes);
  size_t n = AnswerUdpRequest(*decoded, datagram.size(), {summary, sessions, summary.now_us}, out);
  EXPECT_LE(n, datagram.size());
  if (reply_bytes != nullptr) *reply_bytes = n;
  auto reply = DecodeUdpReply(std::string_view(out.data(), n));
  EXPECT_TRUE(reply) << reply.error().message;
  return reply ? *reply : UdpReply{};
}

TEST(UdpWire, RequestRoundTripsAtEverySize) {
  for (UdpOp op : {UdpOp::kPing, UdpOp::kSummary, UdpOp::kSessions}) {
    for (size_t size : {size_t{16}, size_t{17}, size_t{256}, size_t{1200}}) {
      UdpRequest request{op, 0xDEADBEEF, op == UdpOp::kSessions ? 7u : 0u};
      std::string datagram = EncodeUdpRequest(request, size);
      ASSERT_EQ(datagram.size(), size);
      auto decoded = DecodeUdpRequest(datagram);
      ASSERT_TRUE(decoded) << decoded.error().message;
      EXPECT_EQ(*decoded, request);
    }
  }
}

TEST(UdpWire, RequestLayoutIsBigEndian) {
  std::string d = EncodeUdpRequest({UdpOp::kSessions, 0x01020304, 0x0A0B0C0D}, 16);
  EXPECT_EQ(d, std::string("UTCU\x01\x03\x00\x00\x01\x02\x03\x04\x0A\x0B\x0C\x0D", 16));
}

TEST(UdpWire, RequestSizeIsClampedToTheBounds) {
  EXPECT_EQ(EncodeUdpRequest({}, 0).size(), kMinUdpRequestBytes);
  EXPECT_EQ(EncodeUdpRequest({}, 5000).size(), kMaxUdpDatagramBytes);
}

TEST(UdpWire, MalformedRequestsAreRejected) {
  std::string good = EncodeUdpRequest({UdpOp::kSummary, 9, 0}, 64);
  ASSERT_TRUE(DecodeUdpRequest(good));
  auto rejected = [](std::string d) { return !DecodeUdpRequest(d).has_value(); };
  EXPECT_TRUE(rejected(""));
  EXPECT_TRUE(rejected(good.substr(0, 11)));                       // shorter than the header
  EXPECT_TRUE(rejected(good.substr(0, 15)));                       // no argument
  EXPECT_TRUE(rejected(good + std::string(1200 - 64 + 1, '\0')));  // 1201 bytes
  std::string d = good;
  d[0] = 'X';
  EXPECT_TRUE(rejected(d));  // magic
  d = good;
  d[4] = 2;
  EXPECT_EQ(DecodeUdpRequest(d).error().code, ErrorCode::kUnsupported);  // version
  for (char op : {'\0', '\x04', '\xFF'}) {
    d = good;
    d[5] = op;
    EXPECT_TRUE(rejected(d)) << int(op);
  }
  d = good;
  d[6] = 1;  // a reply sent back at the daemon: never answered, so two daemons cannot loop
  EXPECT_TRUE(rejected(d));
  d = good;
  d[7] = 1;
  EXPECT_TRUE(rejected(d));
  d = good;
  d[15] = 1;  // an offset for SUMMARY
  EXPECT_TRUE(rejected(d));
  d = good;
  d[63] = 1;  // padding
  EXPECT_TRUE(rejected(d));
}

TEST(UdpWire, RandomBytesAreNotRequests) {
  std::mt19937 random(431);
  for (int i = 0; i < 10000; ++i) {
    std::string d(random() % 1300, '\0');
    for (char& c : d) c = static_cast<char>(random());
    EXPECT_FALSE(DecodeUdpRequest(d));
    EXPECT_FALSE(DecodeUdpReply(d));
  }
}

TEST(UdpWire, PingReplyIsTheHeader) {
  size_t bytes = 0;
  UdpReply reply = Answer({UdpOp::kPing, 77, 0}, 16, Summary(), {}, &bytes);
  EXPECT_EQ(bytes, kUdpHeaderBytes);
  EXPECT_EQ(reply.op, UdpOp::kPing);
  EXPECT_EQ(reply.request_id, 77u);
  EXPECT_EQ(reply.status, UdpStatus::kOk);
}

TEST(UdpWire, SummaryCarriesTheHostSummary) {
  HostSummary s = Summary();
  UdpReply reply = Answer({UdpOp::kSummary, 5, 0}, 256, s, {});
  ASSERT_EQ(reply.status, UdpStatus::kOk);
  EXPECT_EQ(reply.summary.hostname, "web1");
  EXPECT_EQ(reply.summary.boot_id, s.boot_id);
  EXPECT_EQ(reply.summary.now_us, s.now_us);
  EXPECT_EQ(reply.summary.boot_time_us, s.boot_time_us);
  EXPECT_EQ(reply.summary.uptime_s, s.uptime_s);
  EXPECT_DOUBLE_EQ(reply.summary.load[0], 0.12);
  EXPECT_DOUBLE_EQ(reply.summary.load[2], 2.5);
  EXPECT_EQ(reply.summary.users, 3);
  EXPECT_EQ(reply.summary.sessions, 5);
  EXPECT_EQ(reply.summary.last_seq, 120394);
}

TEST(UdpWire, SummaryAnswersWithTheTimeOfTheAnswer) {
  HostSummary s = Summary();
  std::string datagram = EncodeUdpRequest({UdpOp::kSummary, 5, 0}, 256);
  std::vector<char> out(kMaxUdpDatagramBytes);
  int64_t later_us = s.now_us + 90'000'000;
  size_t n = AnswerUdpRequest(*DecodeUdpRequest(datagram), datagram.size(), {s, {}, later_us}, out);
  auto reply = DecodeUdpReply(std::string_view(out.data(), n));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->summary.now_us, later_us);
  EXPECT_EQ(reply->summary.uptime_s, s.uptime_s + 90);
}

TEST(UdpWire, TooSmallSummaryRequestIsToldTheSizeItNeeds) {
  HostSummary s = Summary();
  s.hostname = std::string(200, 'h');
  size_t bytes = 0;
  UdpReply reply = Answer({UdpOp::kSummary, 5, 0}, 100, s, {}, &bytes);
  ASSERT_EQ(reply.status, UdpStatus::kTooSmall);
  EXPECT_EQ(bytes, kMinUdpRequestBytes);
  ASSERT_GT(reply.needed_bytes, 100u);
  EXPECT_EQ(Answer({UdpOp::kSummary, 5, 0}, reply.needed_bytes - 1, s, {}).status,
            UdpStatus::kTooSmall);
  UdpReply full = Answer({UdpOp::kSummary, 5, 0}, reply.needed_bytes, s, {}, &bytes);
  ASSERT_EQ(full.status, UdpStatus::kOk);
  EXPECT_EQ(bytes, reply.needed_bytes);
  EXPECT_EQ(full.summary.hostname, s.hostname);
}

TEST(UdpWire, LongTextIsCutTo255Bytes) {
  HostSummary s = Summary();
  s.hostname = std::string(1000, 'h');
  UdpReply reply = Answer({UdpOp::kSummary, 5, 0}, 1200, s, {});
  ASSERT_EQ(reply.status, UdpStatus::kOk);
  EXPECT_EQ(reply.summary.hostname, std::string(255, 'h'));
  UdpReply page =
      Answer({UdpOp::kSessions, 1, 0}, 1200, s, {Session(std::string(300, 'u'), "l", "", 0)});
  ASSERT_EQ(page.sessions.size(), 1u);
  EXPECT_EQ(page.sessions[0].user, std::string(255, 'u'));
}

std::vector<LiveSession> ManySessions(int n) {
  std::vector<LiveSession> sessions;
  for (int i = 0; i < n; ++i) {
    sessions.push_back(Session("user" + std::to_string(i), "pts/" + std::to_string(i),
                               std::string(static_cast<size_t>(i % 50), 'h'), 1000 + i));
  }
  return sessions;
}

TEST(UdpWire, SessionsPageThroughEverySessionOnce) {
  std::vector<LiveSession> sessions = ManySessions(300);
  for (size_t size : {size_t{60}, size_t{200}, size_t{1200}}) {
    std::vector<UdpSession> got;
    uint32_t offset = 0;
    for (int pages = 0; pages < 1000; ++pages) {
      size_t bytes = 0;
      UdpReply page = Answer({UdpOp::kSessions, 3, offset}, size, Summary(), sessions, &bytes);
      if (page.status == UdpStatus::kTooSmall) {
        ASSERT_GT(page.needed_bytes, size);  // one session this long never fits
        size_t bigger = page.needed_bytes;
        page = Answer({UdpOp::kSessions, 3, offset}, bigger, Summary(), sessions, &bytes);
        ASSERT_EQ(page.status, UdpStatus::kOk);
      }
      ASSERT_EQ(page.total, 300u);
      ASSERT_EQ(page.offset, offset);
      ASSERT_FALSE(page.sessions.empty());
      got.insert(got.end(), page.sessions.begin(), page.sessions.end());
      offset += static_cast<uint32_t>(page.sessions.size());
      EXPECT_EQ(page.truncated, offset < 300);
      if (!page.truncated) break;
    }
    ASSERT_EQ(got.size(), sessions.size()) << "request size " << size;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].user, sessions[i].user);
      EXPECT_EQ(got[i].line, sessions[i].line);
      EXPECT_EQ(got[i].host, sessions[i].host);
      EXPECT_EQ(got[i].login_time_us, sessions[i].login_time_us);
    }
  }
}

TEST(UdpWire, SessionsPastTheEndAreAnEmptyPage) {
  UdpReply page = Answer({UdpOp::kSessions, 3, 50}, 64, Summary(), ManySessions(3));
  ASSERT_EQ(page.status, UdpStatus::kOk);
  EXPECT_EQ(page.total, 3u);
  EXPECT_TRUE(page.sessions.empty());
  EXPECT_FALSE(page.truncated);
  EXPECT_EQ(Answer({UdpOp::kSessions, 3, 0}, 16, Summary(), {}).status, UdpStatus::kTooSmall);
}

TEST(UdpWire, ReplyRoundTripsAndRejectsInconsistentCounts) {
  UdpReply page;
  page.op = UdpOp::kSessions;
  page.request_id = 4;
  page.total = 5;
  page.offset = 1;
  page.truncated = true;
  page.sessions = {{1, "alice", "pts/0", "192.0.2.7"}, {2, "bob", "tty1", ""}};
  std::string d = EncodeUdpReply(page);
  auto decoded = DecodeUdpReply(d);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->sessions, page.sessions);
  EXPECT_EQ(EncodeUdpReply(*decoded), d);
  page.truncated = false;  // 1 + 2 < 5: it is cut
  EXPECT_FALSE(DecodeUdpReply(EncodeUdpReply(page)));
  page.total = 2;  // offset 1 + 2 sessions > 2
  EXPECT_FALSE(DecodeUdpReply(EncodeUdpReply(page)));
  EXPECT_FALSE(DecodeUdpReply(d + "x"));                    // trailing byte
  EXPECT_FALSE(DecodeUdpReply(d.substr(0, d.size() - 1)));  // cut short
  std::string request = EncodeUdpRequest({UdpOp::kPing, 1, 0}, 16);
  EXPECT_FALSE(DecodeUdpReply(request.substr(0, 12)));  // no reply flag
}

TEST(UdpAddress, OnlyUnicastSourcesAreAnswerable) {
  auto v4 = [](const char* text, uint16_t port = 5000) {
    return IpEndpoint{*ParseIpAddress(text), port};
  };
  std::vector<IpAddress> broadcasts = {*ParseIpAddress("192.0.2.255")};
  EXPECT_TRUE(IsAnswerableSource(v4("192.0.2.7"), broadcasts));
  EXPECT_TRUE(IsAnswerableSource(v4("127.0.0.1"), broadcasts));
  EXPECT_TRUE(IsAnswerableSource(v4("2001:db8::1"), broadcasts));
  EXPECT_TRUE(IsAnswerableSource(v4("::1"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("192.0.2.255"), broadcasts));  // directed broadcast
  EXPECT_FALSE(IsAnswerableSource(v4("255.255.255.255"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("224.0.0.1"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("239.255.255.250"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("240.0.0.1"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("0.0.0.0"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("ff02::1"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("::"), broadcasts));
  EXPECT_FALSE(IsAnswerableSource(v4("192.0.2.7", 0), broadcasts));  // port 0
}

TEST(UdpAddress, MappedIpv4IsCheckedAsIpv4) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(9);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:255.255.255.255", &in6.sin6_addr), 1);
  auto e = EndpointFromSockaddr(reinterpret_cast<sockaddr*>(&in6), sizeof in6);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->address.v6);
  EXPECT_EQ(FormatIpAddress(e->address), "255.255.255.255");
  EXPECT_FALSE(IsAnswerableSource(*e, {}));
}

TEST(UdpAddress, PrefixesAreSlash24AndSlash64) {
  EXPECT_EQ(PrefixOf(*ParseIpAddress("192.0.2.7")), PrefixOf(*ParseIpAddress("192.0.2.200")));
  EXPECT_NE(PrefixOf(*ParseIpAddress("192.0.2.7")), PrefixOf(*ParseIpAddress("192.0.3.7")));
  EXPECT_EQ(PrefixOf(*ParseIpAddress("2001:db8:1:2::1")),
            PrefixOf(*ParseIpAddress("2001:db8:1:2:ffff::9")));
  EXPECT_NE(PrefixOf(*ParseIpAddress("2001:db8:1:2::1")),
            PrefixOf(*ParseIpAddress("2001:db8:1:3::1")));
  // 10.0.0.0/24 and the IPv6 prefix with the same leading bytes are different networks.
  EXPECT_NE(PrefixOf(*ParseIpAddress("10.0.0.1")), PrefixOf(*ParseIpAddress("a00::1")));
}

TEST(UdpAddress, HostPortForms) {
  auto split = [](const char* text) { return SplitHostPort(text, 431); };
  EXPECT_EQ(split("web1")->host, "web1");
  EXPECT_EQ(split("web1")->port, 431);
  EXPECT_EQ(split("web1:4310")->port, 4310);
  EXPECT_EQ(split("[::1]:9")->host, "::1");
  EXPECT_EQ(split("[::1]:9")->port, 9);
  EXPECT_EQ(split("[::1]")->port, 431);
  EXPECT_EQ(split("::1")->host, "::1");
  EXPECT_EQ(split("127.0.0.1:0")->port, 0);
  for (const char* bad : {"", ":431", "web1:", "web1:65536", "web1:x", "[::1", "[::1]x", "[]:4"}) {
    EXPECT_FALSE(split(bad)) << bad;
  }
}

TEST(UdpRateLimiter, BurstThenRate) {
  UdpRateLimiter limiter(10, 5, 64, 1);
  SourcePrefix p = PrefixOf(*ParseIpAddress("192.0.2.7"));
  int64_t t = 1'000'000;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow(p, t)) << i;
  EXPECT_FALSE(limiter.Allow(p, t));
  EXPECT_FALSE(limiter.Allow(p, t + 50'000));  // half a token
  EXPECT_TRUE(limiter.Allow(p, t + 100'000));  // one token after 100 ms at 10/s
  EXPECT_FALSE(limiter.Allow(p, t + 100'000));
  // A long silence refills to the burst, no more.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.Allow(p, t + 3'600'000'000)) << i;
  EXPECT_FALSE(limiter.Allow(p, t + 3'600'000'000));
  // Time going backwards refills nothing.
  EXPECT_FALSE(limiter.Allow(p, t));
}

TEST(UdpRateLimiter, PrefixesHaveTheirOwnBuckets) {
  UdpRateLimiter limiter(1, 2, 64, 1);
  SourcePrefix a = PrefixOf(*ParseIpAddress("192.0.2.7"));
  SourcePrefix same_net = PrefixOf(*ParseIpAddress("192.0.2.99"));
  SourcePrefix b = PrefixOf(*ParseIpAddress("198.51.100.7"));
  EXPECT_TRUE(limiter.Allow(a, 0));
  EXPECT_TRUE(limiter.Allow(same_net, 0));
  EXPECT_FALSE(limiter.Allow(a, 0));  // the /24 shares one bucket
  EXPECT_TRUE(limiter.Allow(b, 0));
  EXPECT_TRUE(limiter.Allow(b, 0));
  EXPECT_FALSE(limiter.Allow(b, 0));
}

TEST(UdpRateLimiter, MemoryIsBounded) {
  UdpRateLimiter limiter(1, 1, 256, 7);
  for (uint32_t i = 0; i < 100000; ++i) {
    SourcePrefix p{true, uint64_t{i} << 20};
    EXPECT_TRUE(limiter.Allow(p, i));  // each new prefix starts with a full bucket
  }
  EXPECT_EQ(limiter.tracked(), 256u);
}

TEST(UdpRateLimiter, ZeroRateAllowsEverything) {
  UdpRateLimiter limiter(0, 1);
  SourcePrefix p = PrefixOf(*ParseIpAddress("192.0.2.7"));
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(limiter.Allow(p, 0));
}

}  // namespace
}  // namespace utmpcd
