// The ingest datagram: what pam_utmpcd.so encodes, the daemon decodes to the same message, and
// every malformed datagram is refused with an error that says why.
#include "sources/ingest_message.h"

#include <gtest/gtest.h>

#include <string>

#include "pam/pam_test_util.h"

namespace utmpcd::testing {
namespace {

// Decodes `bytes`, expecting a failure whose message contains `why`.
void ExpectRejected(std::string_view bytes, std::string_view why,
                    ErrorCode code = ErrorCode::kCorrupt) {
  auto decoded = DecodeIngestMessage(bytes);
  ASSERT_FALSE(decoded) << "accepted; expected: " << why;
  EXPECT_EQ(decoded.error().code, code);
  EXPECT_NE(decoded.error().message.find(why), std::string::npos) << decoded.error().message;
}

TEST(IngestMessageTest, RoundTripsEveryField) {
  IngestMessage open = SshdOpen();
  IngestMessage close = open;
  close.type = IngestType::kClose;
  close.rhost = "2001:db8::1";
  close.tty = "";
  close.service = "";
  for (const IngestMessage& m : {open, close}) {
    ASSERT_TRUE(ValidateIngestMessage(m));
    auto decoded = DecodeIngestMessage(EncodeIngestMessage(m));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, m);
  }
}

TEST(IngestMessageTest, LayoutIsLittleEndianWithLengthPrefixedText) {
  std::string bytes = EncodeIngestMessage(SshdOpen());
  ASSERT_EQ(bytes.size(), kIngestHeaderBytes + 8 + 5 + 10 + 9 + 4);
  EXPECT_EQ(bytes.substr(0, 4), "UTCI");
  EXPECT_EQ(bytes[4], 1);                                          // version
  EXPECT_EQ(bytes[5], 1);                                          // open
  EXPECT_EQ(bytes.substr(16, 4), std::string("\x92\x10\0\0", 4));  // pid 4242
  EXPECT_EQ(bytes.substr(20, 1), "\x11");                          // session 17
  EXPECT_EQ(bytes.substr(28, 7), std::string("\x05\0alice", 7));
}

TEST(IngestMessageTest, LongestFieldsFitTheBound) {
  IngestMessage m = SshdOpen();
  m.user.assign(kMaxIngestUserBytes, 'u');
  m.tty.assign(kMaxIngestTtyBytes, 't');
  m.rhost.assign(kMaxIngestRhostBytes, 'h');
  m.service.assign(kMaxIngestServiceBytes, 's');
  std::string bytes = EncodeIngestMessage(m);
  EXPECT_EQ(bytes.size(), kMaxIngestMessageBytes);
  auto decoded = DecodeIngestMessage(bytes);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, m);
}

TEST(IngestMessageTest, RejectsBadHeaders) {
  std::string good = EncodeIngestMessage(SshdOpen());
  ExpectRejected("", "shorter than its header");
  ExpectRejected(good.substr(0, kIngestHeaderBytes - 1), "shorter than its header");
  ExpectRejected("XTCI" + good.substr(4), "bad magic");
  std::string v2 = good;
  v2[4] = 2;
  ExpectRejected(v2, "version 2", ErrorCode::kUnsupported);
  std::string type = good;
  type[5] = 4;
  ExpectRejected(type, "unknown type 4");
  type[5] = 0;
  ExpectRejected(type, "unknown type 0");
  std::string flags = good;
  flags[7] = 1;
  ExpectRejected(flags, "non-zero flags");
  ExpectRejected(std::string(kMaxIngestMessageBytes + 1, 'x'), "more than");
}

TEST(IngestMessageTest, RejectsEveryTruncationAndTrailingBytes) {
  std::string good = EncodeIngestMessage(SshdOpen());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeIngestMessage(good.substr(0, n))) << "prefix of " << n << " bytes";
  }
  ExpectRejected(good + "x", "trailing bytes");
}

TEST(IngestMessageTest, RejectsBadFields) {
  IngestMessage m = SshdOpen();
  m.tty = std::string("pts\0/1", 6);
  ExpectRejected(EncodeIngestMessage(m), "NUL inside tty");
  m = SshdOpen();
  m.user.assign(kMaxIngestUserBytes + 1, 'u');
  ExpectRejected(EncodeIngestMessage(m), "user longer than 256");
  m = SshdOpen();
  m.user.clear();
  ExpectRejected(EncodeIngestMessage(m), "empty user");
  m = SshdOpen();
  m.pid = 0;
  ExpectRejected(EncodeIngestMessage(m), "pid not positive");
  m = SshdOpen();
  m.time_us = -1;
  ExpectRejected(EncodeIngestMessage(m), "negative time_us");
  m = SshdOpen();
  m.session = -5;
  ExpectRejected(EncodeIngestMessage(m), "negative session");
  // A length that runs past the end: the service claims 200 bytes, 4 are there.
  std::string bytes = EncodeIngestMessage(SshdOpen());
  bytes[bytes.size() - 6] = static_cast<char>(200);
  ExpectRejected(bytes, "service runs past the end");
}

TEST(IngestMessageTest, ValidateRefusesWhatDecodeWouldRefuse) {
  IngestMessage m = SshdOpen();
  EXPECT_TRUE(ValidateIngestMessage(m));
  m.rhost.assign(kMaxIngestRhostBytes + 1, 'h');
  auto ok = ValidateIngestMessage(m);
  ASSERT_FALSE(ok);
  EXPECT_NE(ok.error().message.find("rhost"), std::string::npos);
  EXPECT_FALSE(DecodeIngestMessage(EncodeIngestMessage(m)));
}

TEST(IngestMessageTest, EventFromOpenAndClose) {
  IngestMessage m = SshdOpen();
  Event login = EventFromIngest(m);
  EXPECT_EQ(login.kind, EventKind::kLogin);
  EXPECT_EQ(login.source, EventSource::kPam);
  EXPECT_EQ(login.time_us, m.time_us);
  EXPECT_EQ(login.user, "alice");
  EXPECT_EQ(login.tty, "pts/3");  // as utmp names the line
  EXPECT_EQ(login.remote_host, "192.0.2.7");
  std::array<uint8_t, 16> v4{192, 0, 2, 7};
  EXPECT_EQ(login.remote_addr, v4);
  EXPECT_EQ(login.pid, 4242);
  EXPECT_EQ(login.session, 17);
  EXPECT_EQ(login.seq, 0);

  m.type = IngestType::kClose;
  m.rhost = "2001:db8::1";
  m.tty = "ssh";
  Event logout = EventFromIngest(m);
  EXPECT_EQ(logout.kind, EventKind::kLogout);
  EXPECT_EQ(logout.tty, "ssh");
  EXPECT_EQ(logout.remote_addr[0], 0x20);
  EXPECT_EQ(logout.remote_addr[1], 0x01);
  EXPECT_EQ(logout.remote_addr[15], 0x01);

  m.rhost = "host.example.org";
  EXPECT_EQ(EventFromIngest(m).remote_addr, (std::array<uint8_t, 16>{}));

  // authfail: a failed authentication, through the wire and back.
  m.type = IngestType::kFailed;
  auto failed = DecodeIngestMessage(EncodeIngestMessage(m));
  ASSERT_TRUE(failed) << failed.error().message;
  EXPECT_EQ(failed->type, IngestType::kFailed);
  EXPECT_EQ(EventFromIngest(*failed).kind, EventKind::kFailed);
  EXPECT_EQ(EventFromIngest(*failed).user, "alice");
}

}  // namespace
}  // namespace utmpcd::testing
