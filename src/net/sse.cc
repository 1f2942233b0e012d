#include "net/sse.h"

#include <fmt/format.h>

namespace utmpcd {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

Result<void> TooLong() {
  return MakeError(ErrorCode::kCorrupt, fmt::format("event stream: a message longer than {} bytes",
                                                    SseParser::kMaxMessageBytes));
}

}  // namespace

Result<void> SseParser::Feed(std::string_view bytes, const OnMessage& on_message) {
  if (failed_) return TooLong();
  while (!bytes.empty()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes[0] == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    size_t end = bytes.find_first_of("\r\n");
    std::string_view piece = bytes.substr(0, end);
    if (line_.size() + piece.size() > kMaxMessageBytes) {
      failed_ = true;
      return TooLong();
    }
    if (end == std::string_view::npos) {
      line_.append(piece);
      break;
    }
    after_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    Result<void> done;
    if (line_.empty()) {
      done = Line(piece, on_message);  // the whole line arrived at once: no copy
    } else {
      line_.append(piece);
      done = Line(line_, on_message);
      line_.clear();
    }
    if (!done) {
      failed_ = true;
      return done;
    }
  }
  return {};
}

void SseParser::StartStream() {
  line_.clear();
  after_cr_ = false;
  at_stream_start_ = true;
  event_.clear();
  data_.clear();
  id_buffer_ = last_event_id_;
  failed_ = false;
}

Result<void> SseParser::Line(std::string_view line, const OnMessage& on_message) {
  if (at_stream_start_) {
    at_stream_start_ = false;
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    Dispatch(on_message);
    return {};
  }
  if (line[0] == ':') return {};  // a comment: the heartbeat
  size_t colon = line.find(':');
  std::string_view name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (name == "data" && data_.size() + value.size() + 1 > kMaxMessageBytes) return TooLong();
  Field(name, value);
  return {};
}

void SseParser::Field(std::string_view name, std::string_view value) {
  if (name == "event") {
    event_.assign(value);
  } else if (name == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
  } else if (name == "retry") {
    // Digits only, as the spec says; a number too large for 64 bits is ignored like any other
    // invalid value.
    uint64_t ms = 0;
    bool ok = !value.empty();
    for (char c : value) {
      if (c < '0' || c > '9' || ms > (UINT64_MAX - 9) / 10) {
        ok = false;
        break;
      }
      ms = ms * 10 + static_cast<uint64_t>(c - '0');
    }
    if (ok) retry_ms_ = ms;
  }
}

void SseParser::Dispatch(const OnMessage& on_message) {
  last_event_id_ = id_buffer_;
  if (data_.empty()) {
    event_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last data line
  SseMessage message;
  message.event = event_.empty() ? "message" : std::move(event_);
  message.data = std::move(data_);
  message.last_event_id = last_event_id_;
  event_.clear();
  data_.clear();
  on_message(message);
}

}  // namespace utmpcd
