#include "api/udp_wire.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace utmpcd {
namespace {

// The SUMMARY payload before its two texts: now_us, boot_time_us, uptime_s (int64 each), three
// load averages and the user and session counts (uint32 each), last_seq (int64).
constexpr size_t kSummaryFixedBytes = 3 * 8 + 3 * 4 + 2 * 4 + 8;
// The SESSIONS payload before its entries: total, offset (uint32), count (uint16).
constexpr size_t kSessionsFixedBytes = 4 + 4 + 2;
constexpr size_t kSessionsReplyMinBytes = kUdpHeaderBytes + kSessionsFixedBytes;
// One session: login_time_us (int64) and three length bytes, before the texts.
constexpr size_t kSessionFixedBytes = 8 + 3;
constexpr size_t kTooSmallBytes = kUdpHeaderBytes + 4;
static_assert(kTooSmallBytes == kMinUdpRequestBytes);
// The largest SUMMARY reply and the largest one-session page fit in kMaxUdpDatagramBytes, so a
// request of that size is never "too small".
static_assert(kUdpHeaderBytes + kSummaryFixedBytes + 2 * (1 + kMaxUdpTextBytes) <=
              kMaxUdpDatagramBytes);
static_assert(kSessionsReplyMinBytes + kSessionFixedBytes + 3 * kMaxUdpTextBytes <=
              kMaxUdpDatagramBytes);

std::string_view Cut(std::string_view text) { return text.substr(0, kMaxUdpTextBytes); }

// Big-endian integers and length-prefixed text into a fixed buffer, byte by byte (never a cast
// of a struct). Callers size the buffer first; a write past its end is dropped, not made.
class Writer {
 public:
  explicit Writer(std::span<char> out) : out_(out) {}

  void Uint(uint64_t value, size_t bytes) {
    for (size_t i = bytes; i-- > 0;) Byte(static_cast<uint8_t>(value >> (8 * i)));
  }
  void Text(std::string_view text) {
    text = Cut(text);
    Uint(text.size(), 1);
    for (char c : text) Byte(static_cast<uint8_t>(c));
  }
  void Header(UdpOp op, uint32_t request_id, uint8_t flags, UdpStatus status) {
    for (char c : kUdpMagic) Byte(static_cast<uint8_t>(c));
    Uint(kUdpVersion, 1);
    Uint(static_cast<uint8_t>(op), 1);
    Uint(flags, 1);
    Uint(static_cast<uint8_t>(status), 1);
    Uint(request_id, 4);
  }
  size_t size() const { return at_; }

 private:
  void Byte(uint8_t b) {
    if (at_ < out_.size()) out_[at_] = static_cast<char>(b);
    ++at_;
  }
  std::span<char> out_;
  size_t at_ = 0;
};

class Reader {
 public:
  Reader(std::string_view in, size_t at) : in_(in), at_(at) {}

  bool Uint(size_t bytes, uint64_t* value) {
    if (in_.size() - at_ < bytes) return false;
    *value = 0;
    for (size_t i = 0; i < bytes; ++i) {
      *value = (*value << 8) | static_cast<unsigned char>(in_[at_ + i]);
    }
    at_ += bytes;
    return true;
  }
  bool Int64(int64_t* value) {
    uint64_t bits;
    if (!Uint(8, &bits)) return false;
    *value = static_cast<int64_t>(bits);
    return true;
  }
  bool Text(std::string* text) {
    uint64_t length;
    if (!Uint(1, &length) || in_.size() - at_ < length) return false;
    text->assign(in_.substr(at_, length));
    at_ += length;
    return true;
  }
  bool AtEnd() const { return at_ == in_.size(); }

 private:
  std::string_view in_;
  size_t at_;
};

uint64_t GetUint(std::string_view in, size_t at, size_t bytes) {
  uint64_t value = 0;
  Reader(in, at).Uint(bytes, &value);
  return value;
}

tl::unexpected<Error> Corrupt(const std::string& what) {
  return MakeError(ErrorCode::kCorrupt, "udp: " + what);
}

uint32_t Saturate32(int64_t value) {
  return static_cast<uint32_t>(std::clamp<int64_t>(value, 0, std::numeric_limits<uint32_t>::max()));
}

// A load average in hundredths, as /proc/loadavg and uptime(1) show it.
uint32_t Hundredths(double load) {
  if (!(load > 0)) return 0;  // negative and NaN too
  double hundredths = std::round(load * 100);
  if (hundredths >= static_cast<double>(std::numeric_limits<uint32_t>::max())) {
    return std::numeric_limits<uint32_t>::max();
  }
  return static_cast<uint32_t>(hundredths);
}

size_t SummaryReplyBytes(const HostSummary& s) {
  return kUdpHeaderBytes + kSummaryFixedBytes + 2 + Cut(s.hostname).size() + Cut(s.boot_id).size();
}

size_t SessionBytes(std::string_view user, std::string_view line, std::string_view host) {
  return kSessionFixedBytes + Cut(user).size() + Cut(line).size() + Cut(host).size();
}

// `now_us` and `uptime_s` stand in for the summary's own: the server answers with the time of
// the answer from a summary taken a moment before.
void WriteSummary(Writer& w, const HostSummary& s, int64_t now_us, int64_t uptime_s) {
  w.Uint(static_cast<uint64_t>(now_us), 8);
  w.Uint(static_cast<uint64_t>(s.boot_time_us), 8);
  w.Uint(static_cast<uint64_t>(uptime_s), 8);
  for (double load : s.load) w.Uint(Hundredths(load), 4);
  w.Uint(Saturate32(s.users), 4);
  w.Uint(Saturate32(s.sessions), 4);
  w.Uint(static_cast<uint64_t>(s.last_seq), 8);
  w.Text(s.hostname);
  w.Text(s.boot_id);
}

void WriteSession(Writer& w, int64_t login_time_us, std::string_view user, std::string_view line,
                  std::string_view host) {
  w.Uint(static_cast<uint64_t>(login_time_us), 8);
  w.Text(user);
  w.Text(line);
  w.Text(host);
}

size_t WriteTooSmall(Writer& w, const UdpRequest& request, size_t needed) {
  w.Header(request.op, request.request_id, kUdpFlagReply, UdpStatus::kTooSmall);
  w.Uint(needed, 4);
  return w.size();
}

bool KnownOp(uint8_t op) { return op >= 1 && op <= 3; }

Result<void> CheckCommon(std::string_view d, const char* what) {
  if (d.size() > kMaxUdpDatagramBytes) {
    return Corrupt(std::string(what) + " of " + std::to_string(d.size()) + " bytes, over " +
                   std::to_string(kMaxUdpDatagramBytes));
  }
  if (d.size() < kUdpHeaderBytes) return Corrupt(std::string(what) + " shorter than its header");
  if (d.substr(0, 4) != kUdpMagic) return Corrupt("bad magic");
  if (static_cast<uint8_t>(d[4]) != kUdpVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "udp: version " + std::to_string(static_cast<uint8_t>(d[4])));
  }
  if (!KnownOp(static_cast<uint8_t>(d[5]))) {
    return Corrupt("unknown op " + std::to_string(static_cast<uint8_t>(d[5])));
  }
  return {};
}

Result<void> DecodeSummary(Reader& r, HostSummary* s) {
  uint64_t load, users, sessions;
  if (!r.Int64(&s->now_us) || !r.Int64(&s->boot_time_us) || !r.Int64(&s->uptime_s)) {
    return Corrupt("summary ends early");
  }
  for (double& l : s->load) {
    if (!r.Uint(4, &load)) return Corrupt("summary ends early");
    l = static_cast<double>(load) / 100;
  }
  if (!r.Uint(4, &users) || !r.Uint(4, &sessions) || !r.Int64(&s->last_seq) ||
      !r.Text(&s->hostname) || !r.Text(&s->boot_id)) {
    return Corrupt("summary ends early");
  }
  s->users = static_cast<int64_t>(users);
  s->sessions = static_cast<int64_t>(sessions);
  return {};
}

Result<void> DecodeSessions(Reader& r, bool truncated, UdpReply* reply) {
  uint64_t total, offset, count;
  if (!r.Uint(4, &total) || !r.Uint(4, &offset) || !r.Uint(2, &count)) {
    return Corrupt("sessions reply ends early");
  }
  reply->total = static_cast<uint32_t>(total);
  reply->offset = static_cast<uint32_t>(offset);
  if (count > 0 && offset + count > total) return Corrupt("more sessions than the total");
  if (truncated != (offset + count < total)) {
    return Corrupt("truncated flag disagrees with the counts");
  }
  reply->truncated = truncated;
  reply->sessions.resize(count);
  for (UdpSession& s : reply->sessions) {
    if (!r.Int64(&s.login_time_us) || !r.Text(&s.user) || !r.Text(&s.line) || !r.Text(&s.host)) {
      return Corrupt("session ends early");
    }
  }
  return {};
}

Result<void> DecodePayload(Reader& r, uint8_t flags, UdpReply* reply) {
  bool truncated = flags & kUdpFlagTruncated;
  if (truncated && (reply->op != UdpOp::kSessions || reply->status != UdpStatus::kOk)) {
    return Corrupt("truncated flag on a reply that cannot be truncated");
  }
  if (reply->status == UdpStatus::kRefused) return {};  // the header says it all
  if (reply->status == UdpStatus::kTooSmall) {
    uint64_t needed;
    if (!r.Uint(4, &needed)) return Corrupt("too-small reply ends early");
    if (needed < kMinUdpRequestBytes || needed > kMaxUdpDatagramBytes) {
      return Corrupt("too-small reply asks for " + std::to_string(needed) + " bytes");
    }
    reply->needed_bytes = static_cast<uint32_t>(needed);
    return {};
  }
  switch (reply->op) {
    case UdpOp::kPing:
      return {};
    case UdpOp::kSummary:
      return DecodeSummary(r, &reply->summary);
    case UdpOp::kSessions:
      return DecodeSessions(r, truncated, reply);
  }
  return {};
}

size_t AnswerSessions(Writer& w, const UdpRequest& request, size_t limit,
                      std::span<const LiveSession> sessions) {
  size_t total = sessions.size();
  size_t first = std::min<size_t>(request.offset, total);
  size_t needed = kSessionsReplyMinBytes;
  if (first < total) {
    const LiveSession& s = sessions[first];
    needed += SessionBytes(s.user, s.line, s.host);
  }
  if (needed > limit) return WriteTooSmall(w, request, needed);
  size_t end = first, bytes = kSessionsReplyMinBytes;
  // 0xFFFF: the count is a uint16; 1200 bytes hold at most 107 sessions anyway.
  while (end < total && end - first < 0xFFFF) {
    const LiveSession& s = sessions[end];
    size_t more = SessionBytes(s.user, s.line, s.host);
    if (bytes + more > limit) break;
    bytes += more;
    ++end;
  }
  bool truncated = end < total;
  w.Header(request.op, request.request_id, kUdpFlagReply | (truncated ? kUdpFlagTruncated : 0),
           UdpStatus::kOk);
  w.Uint(Saturate32(static_cast<int64_t>(total)), 4);
  w.Uint(request.offset, 4);
  w.Uint(end - first, 2);
  for (size_t i = first; i < end; ++i) {
    WriteSession(w, sessions[i].login_time_us, sessions[i].user, sessions[i].line,
                 sessions[i].host);
  }
  return w.size();
}

}  // namespace

const char* UdpOpName(UdpOp op) {
  switch (op) {
    case UdpOp::kPing:
      return "PING";
    case UdpOp::kSummary:
      return "SUMMARY";
    case UdpOp::kSessions:
      return "SESSIONS";
  }
  return "?";
}

std::string EncodeUdpRequest(const UdpRequest& request, size_t size) {
  std::string out(std::clamp(size, kMinUdpRequestBytes, kMaxUdpDatagramBytes), '\0');
  Writer w(out);
  w.Header(request.op, request.request_id, 0, UdpStatus::kOk);
  w.Uint(request.offset, 4);
  return out;
}

Result<UdpRequest> DecodeUdpRequest(std::string_view d) {
  if (auto ok = CheckCommon(d, "request"); !ok) return tl::unexpected(ok.error());
  if (d.size() < kMinUdpRequestBytes) {
    return Corrupt("request of " + std::to_string(d.size()) + " bytes, under " +
                   std::to_string(kMinUdpRequestBytes));
  }
  if (d[6] != 0 || d[7] != 0) return Corrupt("flags or status set in a request");
  UdpRequest request;
  request.op = static_cast<UdpOp>(d[5]);
  request.request_id = static_cast<uint32_t>(GetUint(d, 8, 4));
  request.offset = static_cast<uint32_t>(GetUint(d, 12, 4));
  if (request.offset != 0 && request.op != UdpOp::kSessions) {
    return Corrupt("argument set for an op that takes none");
  }
  std::string_view padding = d.substr(kMinUdpRequestBytes);
  if (padding.find_first_not_of('\0') != std::string_view::npos) {
    return Corrupt("non-zero padding");
  }
  return request;
}

std::string EncodeUdpReply(const UdpReply& reply) {
  std::string out;
  for (int pass = 0; pass < 2; ++pass) {  // the first pass measures, the second writes
    Writer w(out);
    uint8_t flags = kUdpFlagReply | (reply.truncated ? kUdpFlagTruncated : 0);
    w.Header(reply.op, reply.request_id, flags, reply.status);
    if (reply.status == UdpStatus::kRefused) {
      // the header alone
    } else if (reply.status == UdpStatus::kTooSmall) {
      w.Uint(reply.needed_bytes, 4);
    } else if (reply.op == UdpOp::kSummary) {
      WriteSummary(w, reply.summary, reply.summary.now_us, reply.summary.uptime_s);
    } else if (reply.op == UdpOp::kSessions) {
      w.Uint(reply.total, 4);
      w.Uint(reply.offset, 4);
      w.Uint(reply.sessions.size(), 2);
      for (const UdpSession& s : reply.sessions) {
        WriteSession(w, s.login_time_us, s.user, s.line, s.host);
      }
    }
    if (pass == 0) out.assign(w.size(), '\0');
  }
  return out;
}

Result<UdpReply> DecodeUdpReply(std::string_view d) {
  if (auto ok = CheckCommon(d, "reply"); !ok) return tl::unexpected(ok.error());
  auto flags = static_cast<uint8_t>(d[6]);
  auto status = static_cast<uint8_t>(d[7]);
  if (!(flags & kUdpFlagReply)) return Corrupt("a request, not a reply");
  if (flags & ~(kUdpFlagReply | kUdpFlagTruncated)) return Corrupt("unknown flags");
  if (status > static_cast<uint8_t>(UdpStatus::kRefused)) {
    return Corrupt("unknown status " + std::to_string(status));
  }
  UdpReply reply;
  reply.op = static_cast<UdpOp>(d[5]);
  reply.status = static_cast<UdpStatus>(status);
  reply.request_id = static_cast<uint32_t>(GetUint(d, 8, 4));
  Reader r(d, kUdpHeaderBytes);
  if (auto ok = DecodePayload(r, flags, &reply); !ok) return tl::unexpected(ok.error());
  if (!r.AtEnd()) return Corrupt("trailing bytes");
  return reply;
}

size_t AnswerUdpRequest(const UdpRequest& request, size_t request_bytes,
                        const UdpAnswerSource& source, std::span<char> out) {
  size_t limit = std::min({request_bytes, out.size(), kMaxUdpDatagramBytes});
  Writer w(out.first(limit));
  switch (request.op) {
    case UdpOp::kPing:
      w.Header(request.op, request.request_id, kUdpFlagReply, UdpStatus::kOk);
      return w.size();
    case UdpOp::kSummary: {
      size_t needed = SummaryReplyBytes(source.summary);
      if (needed > limit) return WriteTooSmall(w, request, needed);
      w.Header(request.op, request.request_id, kUdpFlagReply, UdpStatus::kOk);
      const HostSummary& s = source.summary;
      int64_t now_us = source.now_us != 0 ? source.now_us : s.now_us;
      int64_t uptime_s = s.uptime_s;
      if (s.now_us != 0 && now_us > s.now_us) uptime_s += (now_us - s.now_us) / 1'000'000;
      WriteSummary(w, s, now_us, uptime_s);
      return w.size();
    }
    case UdpOp::kSessions:
      if (!source.sessions_allowed) {
        w.Header(request.op, request.request_id, kUdpFlagReply, UdpStatus::kRefused);
        return w.size();
      }
      return AnswerSessions(w, request, limit, source.sessions);
  }
  return 0;
}

}  // namespace utmpcd
