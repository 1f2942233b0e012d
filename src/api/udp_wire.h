// The UDP datagrams of port 431 (docs/PROTOCOL.md, "UDP" is normative): their pure encoders and
// decoders (fuzz/fuzz_udp_wire.cc), and the server's answer to a request.
//
// One datagram in, at most one out, and the reply is never larger than the request: a client
// pads its request to the size of the answer it wants, so the daemon can never be used to
// amplify traffic toward a spoofed source. All integers big-endian; text is a uint8 length and
// that many bytes (as the login records hold them: clients sanitize before printing).
//
//   offset  size  field (every datagram)
//   0       4     magic "UTCU"
//   4       1     version: 1
//   5       1     op: 1 PING, 2 SUMMARY, 3 SESSIONS
//   6       1     flags: 0 in a request; in a reply 0x01 (reply) | 0x02 (truncated, SESSIONS)
//   7       1     status: 0 in a request; in a reply 0 ok, 1 too small
//   8       4     request id: chosen by the client, echoed by the reply
//   12      ...   request: uint32 argument (SESSIONS: sessions to skip; else 0), then zero
//                 bytes up to the size the client wants; reply: the op's payload
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/host_summary.h"
#include "core/result.h"
#include "sources/utmp_snapshot.h"

namespace utmpcd {

inline constexpr std::string_view kUdpMagic = "UTCU";
inline constexpr uint8_t kUdpVersion = 1;
inline constexpr uint16_t kUdpDefaultPort = 431;
// IPv6 guarantees an MTU of 1280 bytes; less its 40-byte header, UDP's 8 and room for a tunnel
// or extension header, 1200 bytes (QUIC's bound, for the same reason) cross any path unfragmented.
inline constexpr size_t kMaxUdpDatagramBytes = 1200;
inline constexpr size_t kUdpHeaderBytes = 12;
// Header and argument: the smallest request, and exactly the size of a "too small" reply, so
// every request that decodes can be told what it lacks.
inline constexpr size_t kMinUdpRequestBytes = 16;
inline constexpr size_t kMaxUdpTextBytes = 255;  // longer text is cut to this many bytes
inline constexpr uint8_t kUdpFlagReply = 0x01;
inline constexpr uint8_t kUdpFlagTruncated = 0x02;
// What a client pads a SUMMARY request to when it does not know the host: enough for a 64-byte
// host name (HOST_NAME_MAX) and a 36-byte boot id, with room to spare.
inline constexpr size_t kUdpSummaryRequestBytes = 256;

enum class UdpOp : uint8_t { kPing = 1, kSummary = 2, kSessions = 3 };
// kRefused: the source's network may not see what it asked for (SESSIONS needs the sessions
// tier, api/access.h); the reply is the header alone.
enum class UdpStatus : uint8_t { kOk = 0, kTooSmall = 1, kRefused = 2 };

// "PING", "SUMMARY", "SESSIONS".
const char* UdpOpName(UdpOp op);

struct UdpRequest {
  UdpOp op = UdpOp::kPing;
  uint32_t request_id = 0;
  uint32_t offset = 0;  // SESSIONS: how many sessions to skip (paging); 0 for the other ops

  bool operator==(const UdpRequest&) const = default;
};

// The request datagram, padded with zeros to `size` bytes (clamped to kMinUdpRequestBytes ..
// kMaxUdpDatagramBytes): the most the reply may be.
std::string EncodeUdpRequest(const UdpRequest& request, size_t size);

// Decodes one request datagram. Strict: a size outside 16..1200 bytes, wrong magic, a version
// other than 1 (kUnsupported), an unknown op, non-zero flags or status (a reply is not a
// request), a non-zero argument for PING or SUMMARY, or a non-zero padding byte is a kCorrupt
// error whose message says which. Never reads past `datagram`, never allocates but for an error.
Result<UdpRequest> DecodeUdpRequest(std::string_view datagram);

// One live session as a SESSIONS reply carries it.
struct UdpSession {
  int64_t login_time_us = 0;
  std::string user;
  std::string line;  // "pts/0"
  std::string host;  // remote host, "" for a local login

  bool operator==(const UdpSession&) const = default;
};

struct UdpReply {
  UdpOp op = UdpOp::kPing;
  uint32_t request_id = 0;
  UdpStatus status = UdpStatus::kOk;
  uint32_t needed_bytes = 0;  // kTooSmall: the request size that gets an answer
  // SUMMARY, kOk. The wire carries the load averages in hundredths, counts as uint32.
  HostSummary summary;
  // SESSIONS, kOk: `sessions` are the live sessions from `offset` on, of `total`.
  uint32_t total = 0;
  uint32_t offset = 0;
  bool truncated = false;  // more sessions follow: ask again with offset + sessions.size()
  std::vector<UdpSession> sessions;
};

// The reply datagram. For tests, the fuzz target and clients that want to answer; the daemon
// uses AnswerUdpRequest. Text longer than kMaxUdpTextBytes is cut; the result may be over
// kMaxUdpDatagramBytes when `reply` holds that much.
std::string EncodeUdpReply(const UdpReply& reply);

// Decodes one reply datagram. Strict as DecodeUdpRequest: a missing reply flag, a truncated
// flag where it cannot be, an unknown status, a payload that ends early or has trailing bytes,
// a session count that disagrees with total, offset and the truncated flag: kCorrupt.
Result<UdpReply> DecodeUdpReply(std::string_view datagram);

// What the daemon answers from.
struct UdpAnswerSource {
  const HostSummary& summary;
  std::span<const LiveSession> sessions;
  // Now, microseconds UTC: the summary's time, and its uptime moved on from summary.now_us, so
  // a summary taken a moment ago answers with the current time.
  int64_t now_us = 0;
  // Whether the source may be sent the session list (else SESSIONS is answered "refused").
  bool sessions_allowed = true;
};

// Writes the reply to `request` (a datagram of `request_bytes` bytes) into `out` and returns
// its size, never more than min(request_bytes, out.size(), kMaxUdpDatagramBytes). SUMMARY and
// the first session of a SESSIONS page must fit whole; when they do not, the reply is "too
// small" (16 bytes) with the size that would do. SESSIONS lists as many sessions from
// `request.offset` on as fit, and flags the rest. Allocates nothing.
// Precondition: `request` decoded from a datagram of `request_bytes` (>= kMinUdpRequestBytes)
// and out.size() >= kMinUdpRequestBytes.
size_t AnswerUdpRequest(const UdpRequest& request, size_t request_bytes,
                        const UdpAnswerSource& source, std::span<char> out);

}  // namespace utmpcd
