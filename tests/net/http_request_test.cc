// What the server makes of a request's credential (net/http_request.h): the bearer token of an
// Authorization field, or of the cookie utmp_token that the dashboard sets (an EventSource
// cannot send a field), hashed once.
#include "net/http_request.h"

#include <gtest/gtest.h>

#include <string>

#include "net/digest.h"

namespace utmpcd {
namespace {

ApiRequest Parse(const std::string& fields) {
  auto parsed = ParseRequestBytes("GET /v1/host HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n", Peer{});
  EXPECT_TRUE(parsed);
  EXPECT_FALSE(parsed->refusal);
  return parsed->request;
}

TEST(HttpRequestTest, ABrowserPresentsItsTokenAsTheCookieUtmpToken) {
  ApiRequest plain = Parse("");
  EXPECT_FALSE(plain.bearer_present);

  ApiRequest cookie = Parse("Cookie: theme=dark; utmp_token=s3cr%20t%3B; other=1\r\n");
  EXPECT_TRUE(cookie.bearer_present);
  EXPECT_EQ(cookie.bearer_sha256, Sha256Hex("s3cr t;"));

  // The field wins over the cookie.
  ApiRequest both = Parse("Cookie: utmp_token=a\r\nAuthorization: Bearer b\r\n");
  EXPECT_EQ(both.bearer_sha256, Sha256Hex("b"));

  // Another cookie of a similar name is none; a second Cookie field is read too.
  ApiRequest similar = Parse("Cookie: xutmp_token=a; utmp_token_old=b\r\n");
  EXPECT_FALSE(similar.bearer_present);
  ApiRequest second = Parse("Cookie: a=1\r\nCookie: utmp_token=c\r\n");
  EXPECT_EQ(second.bearer_sha256, Sha256Hex("c"));

  // A malformed one is a credential no rule knows (401), not silently none.
  for (const char* bad : {"utmp_token=%zz", "utmp_token=ab%2", "utmp_token="}) {
    ApiRequest r = Parse(std::string("Cookie: ") + bad + "\r\n");
    EXPECT_TRUE(r.bearer_present) << bad;
    EXPECT_TRUE(r.bearer_sha256.empty()) << bad;
  }
}

}  // namespace
}  // namespace utmpcd
