// SseParser (utmpc watch's reading of GET /v1/events) on arbitrary bytes from a server: never a
// crash, and the messages never depend on how TCP cut the stream. The input is parsed whole, in
// two pieces cut where its first byte says, and one byte at a time; all three must give the same
// messages, last event ID and retry time, and fail (a message over the limit) together.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "net/sse.h"

namespace {

struct Outcome {
  std::vector<utmpcd::SseMessage> messages;
  bool ok = true;
  std::string last_event_id;
  std::optional<uint64_t> retry_ms;
};

Outcome Parse(std::string_view stream, const std::vector<size_t>& cuts) {
  utmpcd::SseParser parser;
  Outcome out;
  size_t at = 0;
  auto take = [&](const utmpcd::SseMessage& m) { out.messages.push_back(m); };
  for (size_t cut : cuts) {
    if (out.ok) out.ok = parser.Feed(stream.substr(at, cut - at), take).has_value();
    at = cut;
  }
  if (out.ok) out.ok = parser.Feed(stream.substr(at), take).has_value();
  out.last_event_id = parser.last_event_id();
  out.retry_ms = parser.retry_ms();
  return out;
}

bool Same(const Outcome& a, const Outcome& b) {
  if (a.ok != b.ok || a.messages.size() != b.messages.size()) return false;
  if (!a.ok) return true;  // where the limit struck may differ; the failure may not
  if (a.last_event_id != b.last_event_id || a.retry_ms != b.retry_ms) return false;
  for (size_t i = 0; i < a.messages.size(); ++i) {
    const utmpcd::SseMessage& x = a.messages[i];
    const utmpcd::SseMessage& y = b.messages[i];
    if (x.event != y.event || x.data != y.data || x.last_event_id != y.last_event_id) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::string_view stream(reinterpret_cast<const char*>(data), size);
  Outcome whole = Parse(stream, {});
  for (const utmpcd::SseMessage& m : whole.messages) {
    Check(!m.event.empty(), "a message has an event name");
    Check(m.data.size() <= utmpcd::SseParser::kMaxMessageBytes, "data over the limit");
    Check(m.last_event_id.find('\0') == std::string::npos, "an id with a NUL was taken");
    Check(m.data.find('\r') == std::string::npos, "a CR inside data: a line end was missed");
  }
  if (size == 0) return 0;
  Outcome two = Parse(stream, {static_cast<size_t>(data[0]) % size});
  Check(Same(whole, two), "cutting the stream in two changed the messages");
  std::vector<size_t> every;
  for (size_t i = 1; i < size && i < 4096; ++i) every.push_back(i);
  if (size <= 4096) {
    Check(Same(whole, Parse(stream, every)), "one byte at a time changed the messages");
  }
  return 0;
}
