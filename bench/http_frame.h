// Where one HTTP/1.1 response ends in the bytes a client has received so far: what a load
// generator needs to reuse a keep-alive connection, without a full HTTP parser. The bytes come
// from the server under test, so they are untrusted input (fuzz/fuzz_http_frame.cc).
#pragma once

#include <cstddef>
#include <string_view>

namespace utmpcd::bench {

// A response head may not be longer than this; a longer one is kMalformed (a client that kept
// reading would grow its buffer without bound).
inline constexpr size_t kMaxResponseHead = 64 * 1024;

struct ResponseFrame {
  enum class State { kIncomplete, kComplete, kMalformed };
  State state = State::kIncomplete;
  int status = 0;                 // the status code, once the head is complete
  size_t head_size = 0;           // status line and headers with the blank line, once complete
  size_t size = 0;                // the whole response, head and body; kComplete only
  bool close = false;             // the server closes after it ("Connection: close", or HTTP/1.0
                                  // without "Connection: keep-alive")
  bool body_to_eof = false;       // neither Content-Length nor chunked: the body ends at EOF
                                  // (the response is then kIncomplete until the caller sees it)
  std::string_view content_type;  // the header's value as sent, pointing into the bytes
};

// Frames the response at the start of `bytes`, the reply to a GET (not HEAD). kIncomplete: more
// bytes are needed. kMalformed: no valid response can start with these bytes. Pure; never reads
// outside `bytes`. A chunked body is walked from the start on every call, so a caller feeding it
// a byte at a time pays quadratic time: the responses a benchmark reads are small.
ResponseFrame FrameResponse(std::string_view bytes);

}  // namespace utmpcd::bench
