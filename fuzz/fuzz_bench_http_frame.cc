// bench/http_frame.h on untrusted bytes (what a server under load answers netload): never reads
// outside them, and frames consistently. A complete response is complete again when cut to its
// size, and every shorter cut of it is incomplete -- so a client feeding it the bytes as they
// come stops exactly at the end of the response, wherever the reads split it.
#include <cstdint>
#include <string_view>

#include "bench/http_frame.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::bench::FrameResponse;
  using utmpcd::bench::ResponseFrame;
  using utmpcd::fuzz::Check;
  using State = ResponseFrame::State;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  ResponseFrame frame = FrameResponse(bytes);
  if (!frame.content_type.empty()) {
    Check(frame.content_type.data() >= bytes.data() &&
              frame.content_type.data() + frame.content_type.size() <= bytes.data() + bytes.size(),
          "content_type points outside the input");
  }
  if (frame.head_size > 0) {
    Check(frame.head_size <= bytes.size(), "head larger than the input");
    Check(frame.status >= 100 && frame.status <= 999, "status out of range");
  }
  if (frame.state != State::kComplete) return 0;
  Check(frame.head_size > 0 && frame.head_size <= frame.size, "complete without a head");
  Check(frame.size <= bytes.size(), "complete response larger than the input");
  Check(!frame.body_to_eof, "complete with a body that ends at EOF");

  ResponseFrame again = FrameResponse(bytes.substr(0, frame.size));
  Check(again.state == State::kComplete && again.size == frame.size,
        "the response cut to its size frames differently");
  for (size_t cut : {frame.size - 1, frame.size / 2, frame.head_size - 1}) {
    Check(FrameResponse(bytes.substr(0, cut)).state == State::kIncomplete,
          "a cut of a complete response is not incomplete");
  }
  return 0;
}
