// bench/http_frame.h: where a response ends, as netload relies on it to reuse a connection.
#include "bench/http_frame.h"

#include <gtest/gtest.h>

#include <string>

namespace utmpcd::bench {
namespace {

using State = ResponseFrame::State;

TEST(HttpFrameTest, ContentLengthEndsTheResponseWhereverTheReadsSplitIt) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n";
  std::string response = head + "{\"sessions\":[]}\n";
  std::string next = "HTTP/1.1 200 OK\r\n";
  for (size_t cut = 0; cut < response.size(); ++cut) {
    EXPECT_EQ(FrameResponse(response.substr(0, cut)).state, State::kIncomplete) << cut;
  }
  ResponseFrame frame = FrameResponse(response + next);
  ASSERT_EQ(frame.state, State::kComplete);
  EXPECT_EQ(frame.status, 200);
  EXPECT_EQ(frame.size, response.size());
  EXPECT_EQ(frame.head_size, head.size());
  EXPECT_EQ(frame.content_type, "application/json");
  EXPECT_FALSE(frame.close);
}

TEST(HttpFrameTest, ChunkedBodyWithExtensionsAndTrailers) {
  std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\nb\r\n, 431 world\r\n0\r\nX-Trailer: 1\r\n\r\n";
  for (size_t cut = 0; cut < response.size(); ++cut) {
    EXPECT_EQ(FrameResponse(response.substr(0, cut)).state, State::kIncomplete) << cut;
  }
  ResponseFrame frame = FrameResponse(response + "extra");
  ASSERT_EQ(frame.state, State::kComplete);
  EXPECT_EQ(frame.size, response.size());
}

TEST(HttpFrameTest, TheConnectionCloses) {
  EXPECT_TRUE(
      FrameResponse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").close);
  EXPECT_TRUE(FrameResponse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").close);
  EXPECT_FALSE(
      FrameResponse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
          .close);
  // Neither a length nor chunked: the body is what comes until the server closes.
  ResponseFrame to_eof = FrameResponse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome");
  EXPECT_EQ(to_eof.state, State::kIncomplete);
  EXPECT_TRUE(to_eof.body_to_eof);
  EXPECT_TRUE(to_eof.close);
  EXPECT_EQ(to_eof.status, 200);
}

TEST(HttpFrameTest, NoBodyFor204And304) {
  ResponseFrame frame = FrameResponse("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n");
  ASSERT_EQ(frame.state, State::kComplete);
  EXPECT_EQ(frame.size, frame.head_size);
}

TEST(HttpFrameTest, WhatNoServerCouldMeanIsMalformed) {
  for (std::string bytes : {
           "Login     Name       Tty\r\n",  // a finger answer
           "HTTP/2 200\r\n\r\n",            // not HTTP/1.x
           "HTTP/1.1 2000 OK\r\n\r\n",      // a four-digit status
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",       // not hex
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",  // no CRLF after
       }) {
    EXPECT_EQ(FrameResponse(bytes).state, State::kMalformed) << bytes;
  }
  // A head that never ends: malformed once it is past the limit, not a buffer without bound.
  std::string endless = "HTTP/1.1 200 OK\r\n" + std::string(kMaxResponseHead, 'x');
  EXPECT_EQ(FrameResponse(endless).state, State::kMalformed);
}

}  // namespace
}  // namespace utmpcd::bench
