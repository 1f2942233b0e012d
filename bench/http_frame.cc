#include "bench/http_frame.h"

#include <cstdint>
#include <optional>

namespace utmpcd::bench {
namespace {

using State = ResponseFrame::State;

// Far above any body a benchmark reads; it keeps size arithmetic far from overflow.
constexpr uint64_t kMaxBodySize = uint64_t{1} << 40;
// A chunk-size line or trailer line longer than this is not something a server sends.
constexpr size_t kMaxChunkLine = 4096;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 13) return std::nullopt;  // 13 digits > kMaxBodySize
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > kMaxBodySize) return std::nullopt;
  return v;
}

// Calls f(token) for each comma-separated token of a header value, trimmed.
template <typename F>
void ForEachToken(std::string_view value, F&& f) {
  while (true) {
    size_t comma = value.find(',');
    f(Trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

// What the headers say about the body and the connection.
struct Head {
  std::optional<uint64_t> content_length;
  bool chunked = false;
  bool other_coding = false;  // a transfer coding that is not chunked last: body to EOF
  bool close = false;
  bool keep_alive = false;
  std::string_view content_type;
};

bool ReadHeader(std::string_view line, Head* head) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view name = line.substr(0, colon);
  if (name.find_first_of(" \t") != std::string_view::npos) return false;
  std::string_view value = Trim(line.substr(colon + 1));
  if (EqualsNoCase(name, "content-length")) {
    auto n = ParseDecimal(value);
    if (!n || (head->content_length && *head->content_length != *n)) return false;
    head->content_length = n;
  } else if (EqualsNoCase(name, "transfer-encoding")) {
    ForEachToken(value, [&](std::string_view token) {
      head->chunked = EqualsNoCase(token, "chunked");
      head->other_coding = !head->chunked;
    });
  } else if (EqualsNoCase(name, "connection")) {
    ForEachToken(value, [&](std::string_view token) {
      if (EqualsNoCase(token, "close")) head->close = true;
      if (EqualsNoCase(token, "keep-alive")) head->keep_alive = true;
    });
  } else if (EqualsNoCase(name, "content-type")) {
    head->content_type = value;
  }
  return true;
}

// "HTTP/1.1 200 OK": the status, and whether the version is 1.0.
bool ReadStatusLine(std::string_view line, int* status, bool* http10) {
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || !IsDigit(line[7]) || line[8] != ' ' ||
      !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11])) {
    return false;
  }
  if (line.size() > 12 && line[12] != ' ') return false;
  *http10 = line[7] == '0';
  *status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  return *status >= 100;
}

// The size of a chunked body that starts at `body`, or nullopt while incomplete; sets
// *malformed when no valid chunked body starts there.
std::optional<size_t> ChunkedSize(std::string_view body, bool* malformed) {
  size_t pos = 0;
  while (true) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      *malformed = body.size() - pos > kMaxChunkLine;
      return std::nullopt;
    }
    if (eol - pos > kMaxChunkLine) return *malformed = true, std::nullopt;
    std::string_view line = body.substr(pos, eol - pos);
    std::string_view digits = line.substr(0, line.find(';'));
    uint64_t size = 0;
    if (digits.empty() || digits.size() > 10) return *malformed = true, std::nullopt;
    for (char c : digits) {
      int v = IsDigit(c)                             ? c - '0'
              : (Lower(c) >= 'a' && Lower(c) <= 'f') ? Lower(c) - 'a' + 10
                                                     : -1;
      if (v < 0) return *malformed = true, std::nullopt;
      size = size * 16 + static_cast<uint64_t>(v);
    }
    pos = eol + 2;
    if (size == 0) break;
    if (body.size() - pos < size + 2) return std::nullopt;
    if (body.substr(pos + size, 2) != "\r\n") return *malformed = true, std::nullopt;
    pos += size + 2;
  }
  // Trailer lines, then the empty line.
  while (true) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      *malformed = body.size() - pos > kMaxChunkLine;
      return std::nullopt;
    }
    if (eol == pos) return pos + 2;
    if (eol - pos > kMaxChunkLine) return *malformed = true, std::nullopt;
    pos = eol + 2;
  }
}

}  // namespace

ResponseFrame FrameResponse(std::string_view bytes) {
  ResponseFrame frame;
  constexpr std::string_view kPrefix = "HTTP/1.";
  if (bytes.substr(0, kPrefix.size()) != kPrefix.substr(0, bytes.size())) {
    frame.state = State::kMalformed;
    return frame;
  }
  size_t end = bytes.substr(0, kMaxResponseHead).find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= kMaxResponseHead) frame.state = State::kMalformed;
    return frame;
  }
  std::string_view head_text = bytes.substr(0, end + 2);
  size_t eol = head_text.find("\r\n");
  bool http10 = false;
  Head head;
  bool ok = ReadStatusLine(head_text.substr(0, eol), &frame.status, &http10);
  for (size_t pos = eol + 2; ok && pos < head_text.size();) {
    size_t next = head_text.find("\r\n", pos);
    ok = ReadHeader(head_text.substr(pos, next - pos), &head);
    pos = next + 2;
  }
  if (!ok) {
    frame.state = State::kMalformed;
    return frame;
  }
  frame.head_size = end + 4;
  frame.content_type = head.content_type;
  frame.close = head.close || (http10 && !head.keep_alive);
  std::string_view body = bytes.substr(frame.head_size);
  if (frame.status < 200 || frame.status == 204 || frame.status == 304) {
    frame.size = frame.head_size;
  } else if (head.chunked) {
    bool malformed = false;
    auto size = ChunkedSize(body, &malformed);
    if (malformed) frame.state = State::kMalformed;
    if (!size) return frame;
    frame.size = frame.head_size + *size;
  } else if (head.content_length && !head.other_coding) {
    if (body.size() < *head.content_length) return frame;
    frame.size = frame.head_size + static_cast<size_t>(*head.content_length);
  } else {
    frame.body_to_eof = true;
    frame.close = true;
    return frame;
  }
  frame.state = State::kComplete;
  return frame;
}

}  // namespace utmpcd::bench
