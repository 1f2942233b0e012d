// SseParser: the WHATWG "Server-sent events" stream format (text/event-stream), as the daemon's
// GET /v1/events sends it (docs/PROTOCOL.md), parsed from bytes that arrive in any pieces.
//
// It interprets the stream as the HTML standard's "event stream interpretation" does: lines end
// at CR LF, LF or CR; a line starting with ':' is a comment; "event", "data", "id" and "retry"
// fields build a message, which an empty line dispatches; other fields are ignored. Text is kept
// as bytes (whoever reads `data` validates it). Untrusted input: the size of a message is
// bounded, and everything else is O(1) per byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace utmpcd {

struct SseMessage {
  std::string event;          // the "event" field, or "message" when there was none
  std::string data;           // the "data" lines joined by '\n'
  std::string last_event_id;  // the stream's last event ID once this message is dispatched
};

class SseParser {
 public:
  // A line, or a message's data, longer than this ends the stream with an error: no event of
  // ours is more than a few KiB, so 1 MiB is an allowance, not a need.
  static constexpr size_t kMaxMessageBytes = 1 << 20;

  using OnMessage = std::function<void(const SseMessage&)>;

  // Parses `bytes`, the next part of the stream, calling `on_message` for each message it
  // completes, in order. Fails (kCorrupt) when a line or message exceeds kMaxMessageBytes;
  // the parser is then unusable until StartStream().
  Result<void> Feed(std::string_view bytes, const OnMessage& on_message);

  // A new connection: forgets a partly received line and message (the spec's end of stream
  // discards them), keeps the last event ID and the retry time.
  void StartStream();

  // The last event ID: the value of the newest "id" field of a dispatched message ("" before).
  const std::string& last_event_id() const { return last_event_id_; }
  // The reconnection time the stream asked for with "retry", in milliseconds.
  std::optional<uint64_t> retry_ms() const { return retry_ms_; }

 private:
  Result<void> Line(std::string_view line, const OnMessage& on_message);
  void Field(std::string_view name, std::string_view value);
  void Dispatch(const OnMessage& on_message);

  std::string line_;
  bool after_cr_ = false;        // the last byte was a CR: a LF right after it is the same end
  bool at_stream_start_ = true;  // a UTF-8 BOM here is skipped
  std::string event_;
  std::string data_;
  std::string id_buffer_;
  std::string last_event_id_;
  std::optional<uint64_t> retry_ms_;
  bool failed_ = false;
};

}  // namespace utmpcd
