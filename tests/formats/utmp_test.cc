#include "formats/utmp.h"

#include <string>

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

LoginRecord Sample() {
  LoginRecord r;
  r.type = kUserProcess;
  r.pid = 4242;
  r.line = "pts/7";
  r.id = "ts/7";
  r.user = "alice";
  r.host = "203.0.113.9";
  r.session = 77;
  r.time_s = 3000000000;  // after 2038: unsigned on disk
  r.time_usec = 123456;
  r.addr = {203, 0, 113, 9};
  return r;
}

TEST(UtmpTest, RoundTripsBothLayouts) {
  for (UtmpLayout layout : {UtmpLayout::kGlibc384, UtmpLayout::kWide400}) {
    std::string bytes;
    EncodeUtmp(Sample(), layout, &bytes);
    ASSERT_EQ(bytes.size(), RecordSize(layout));
    auto r = DecodeUtmp(bytes, layout);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->type, kUserProcess);
    EXPECT_EQ(r->pid, 4242);
    EXPECT_EQ(r->line, "pts/7");
    EXPECT_EQ(r->user, "alice");
    EXPECT_EQ(r->host, "203.0.113.9");
    EXPECT_EQ(r->session, 77);
    EXPECT_EQ(r->time_s, 3000000000);
    EXPECT_EQ(r->time_usec, 123456);
    EXPECT_EQ(r->addr[0], 203);
  }
}

TEST(UtmpTest, FieldOffsetsAreGlibcs) {
  std::string bytes;
  EncodeUtmp(Sample(), UtmpLayout::kGlibc384, &bytes);
  EXPECT_EQ(bytes.substr(8, 5), "pts/7");
  EXPECT_EQ(bytes.substr(44, 5), "alice");
  EXPECT_EQ(bytes.substr(76, 11), "203.0.113.9");
  EXPECT_EQ(static_cast<uint8_t>(bytes[348]), 203);
}

TEST(UtmpTest, FullWidthTextHasNoNul) {
  LoginRecord r = Sample();
  std::string user(32, 'u'), host(300, 'h');
  r.user = user;
  r.host = host;
  std::string bytes;
  EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
  auto d = DecodeUtmp(bytes, UtmpLayout::kGlibc384);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->user, user);
  EXPECT_EQ(d->host, std::string(256, 'h'));
}

TEST(UtmpTest, GarbledTypeIsCorrupt) {
  std::string bytes(384, '\0');
  bytes[0] = 42;
  auto d = DecodeUtmp(bytes, UtmpLayout::kGlibc384);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kCorrupt);
  EXPECT_FALSE(DecodeUtmp(bytes.substr(0, 100), UtmpLayout::kGlibc384));
}

TEST(UtmpTest, DetectsTheWideLayout) {
  std::string bytes;
  for (int i = 0; i < 12; ++i) EncodeUtmp(Sample(), UtmpLayout::kWide400, &bytes);
  // 4800 bytes fits both sizes: the contents decide.
  EXPECT_EQ(DetectLayout(bytes, bytes.size()), UtmpLayout::kWide400);
  std::string narrow;
  for (int i = 0; i < 25; ++i) EncodeUtmp(Sample(), UtmpLayout::kGlibc384, &narrow);
  EXPECT_EQ(DetectLayout(narrow, narrow.size()), UtmpLayout::kGlibc384);
}

}  // namespace
}  // namespace utmpcd
