// Request targets of port 431: decoding, typed parameters, and what is refused.
#include "api/query.h"

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

TEST(QueryTest, SplitsAndDecodes) {
  auto q = Query::Parse("/v1/history?user=al%69ce&user=b+b&tty=pts%2F0&flag&=x");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->path(), "/v1/history");
  EXPECT_EQ(q->All("user"), (std::vector<std::string>{"alice", "b b"}));
  EXPECT_EQ(q->All("tty"), (std::vector<std::string>{"pts/0"}));
  auto tty = q->One("tty");
  ASSERT_TRUE(tty);
  EXPECT_EQ(**tty, "pts/0");
  EXPECT_FALSE(q->One("user")) << "repeated";
  auto none = q->One("limit");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(QueryTest, BytesThatAreNotUtf8SurviveDecoding) {
  auto q = Query::Parse("/v1/history?user=%FF%00%1B");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->All("user")[0], std::string("\xff\0\x1b", 3));
}

TEST(QueryTest, RefusesMalformedTargets) {
  EXPECT_FALSE(Query::Parse(""));
  EXPECT_FALSE(Query::Parse("v1/host"));
  EXPECT_FALSE(Query::Parse("http://x/v1/host"));
  EXPECT_FALSE(Query::Parse("/v1/history?user=%G0"));
  EXPECT_FALSE(Query::Parse("/v1/history?user=%4"));
  EXPECT_FALSE(Query::Parse("/v1/history?user=%"));
}

TEST(QueryTest, UnknownParametersAreNamed) {
  auto q = Query::Parse("/v1/history?usr=alice");
  ASSERT_TRUE(q);
  auto known = q->OnlyKnown({"user", "tty"});
  ASSERT_FALSE(known);
  EXPECT_NE(known.error().message.find("'usr'"), std::string::npos) << known.error().message;
  EXPECT_NE(known.error().message.find("user, tty"), std::string::npos);
}

TEST(QueryTest, IntegersAreBounded) {
  auto q = Query::Parse("/x?a=5&b=0&c=1001&d=12abc&e=&f=-1&g=99999999999999999999");
  ASSERT_TRUE(q);
  EXPECT_EQ(*q->Integer("a", 1, 1000, 100), 5);
  EXPECT_EQ(*q->Integer("z", 1, 1000, 100), 100);
  for (const char* name : {"b", "c", "d", "e", "f", "g"}) {
    auto v = q->Integer(name, 1, 1000, 100);
    ASSERT_FALSE(v) << name;
    EXPECT_NE(v.error().message.find("from 1 to 1000"), std::string::npos);
  }
}

TEST(QueryTest, TimesInRfc3339OrEpochSeconds) {
  EXPECT_EQ(ParseApiTimeUs("1700000000"), 1700000000000000);
  EXPECT_EQ(ParseApiTimeUs("0"), 0);
  EXPECT_EQ(ParseApiTimeUs("2023-11-14T22:13:20Z"), 1700000000000000);
  EXPECT_EQ(ParseApiTimeUs("2023-11-14t22:13:20z"), 1700000000000000);
  EXPECT_EQ(ParseApiTimeUs("2023-11-14 22:13:20Z"), 1700000000000000);
  EXPECT_EQ(ParseApiTimeUs("2023-11-14T23:13:20+01:00"), 1700000000000000);
  EXPECT_EQ(ParseApiTimeUs("2023-11-14T21:43:20-00:30"), 1700000000000000);
  EXPECT_EQ(ParseApiTimeUs("2023-11-14T22:13:20.25Z"), 1700000000250000);
  EXPECT_EQ(ParseApiTimeUs("2023-11-14T22:13:20.123456789Z"), 1700000000123456);
  EXPECT_EQ(ParseApiTimeUs("1969-12-31T23:59:59Z"), -1000000);
  EXPECT_EQ(ParseApiTimeUs("2024-02-29T00:00:00Z"), 1709164800000000);
  for (const char* bad :
       {"", "yesterday", "2023-11-14", "2023-11-14T22:13:20", "2023-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z", "2023-04-31T00:00:00Z", "2023-11-14T24:00:00Z",
        "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+0100", "2023-11-14T22:13:20Zjunk",
        "1700000000.5", "--5", "99999999999999999999", "+1700000000"}) {
    EXPECT_FALSE(ParseApiTimeUs(bad)) << bad;
  }
}

}  // namespace
}  // namespace utmpcd
