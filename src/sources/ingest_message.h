// IngestMessage: the datagram pam_utmpcd.so sends to utmpcd's ingest socket when a PAM session
// opens or closes, or (authfail) an authentication fails, and its pure encoder and decoder
// (fuzz/fuzz_ingest_message.cc).
//
// Binary rather than key=value lines: every field is bytes as PAM gave it (a tty or host may hold
// '=', a newline, anything but NUL), so text would need escaping and an unescaper to fuzz; a
// length-prefixed field needs neither, and a fixed header makes the bounds checks trivial.
//
// Wire format, version 1. All integers little-endian, whatever the host.
//
//   offset  size  field
//   0       4     magic "UTCI"
//   4       1     version: 1
//   5       1     type: 1 open, 2 close, 3 failed (an authentication that failed)
//   6       2     flags: 0 (anything else is rejected, so a later version can use them)
//   8       8     time_us: int64 microseconds since the epoch, UTC, >= 0
//   16      4     pid: int32 > 0, the process that ran the PAM stack
//   20      8     session: int64 >= 0, logind's XDG_SESSION_ID when numeric, else 0 (unknown)
//   28      ...   four strings, in this order: user, tty, rhost, service; each is a uint16
//                 length then that many bytes (no NUL, at most the field's kMax*Bytes)
//
// Nothing may follow the last string. The whole datagram is at most kMaxIngestMessageBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/result.h"

namespace utmpcd {

inline constexpr std::string_view kIngestMagic = "UTCI";
inline constexpr uint8_t kIngestVersion = 1;

// Bounds on each text field. LOGIN_NAME_MAX is 256 on Linux; PAM_TTY is a device path or a
// display name; PAM_RHOST is a host name (NI_MAXHOST is 1025 with its NUL); PAM service names
// are file names in /etc/pam.d.
inline constexpr size_t kMaxIngestUserBytes = 256;
inline constexpr size_t kMaxIngestTtyBytes = 128;
inline constexpr size_t kMaxIngestRhostBytes = 1024;
inline constexpr size_t kMaxIngestServiceBytes = 128;
inline constexpr size_t kIngestHeaderBytes = 28;
inline constexpr size_t kMaxIngestMessageBytes = kIngestHeaderBytes + 4 * 2 + kMaxIngestUserBytes +
                                                 kMaxIngestTtyBytes + kMaxIngestRhostBytes +
                                                 kMaxIngestServiceBytes;

enum class IngestType : uint8_t { kOpen = 1, kClose = 2, kFailed = 3 };

// One session open or close as PAM saw it. Text is bytes as PAM gave them (PAM_USER, PAM_TTY,
// PAM_RHOST, PAM_SERVICE), possibly empty except `user`.
struct IngestMessage {
  IngestType type = IngestType::kOpen;
  int64_t time_us = 0;
  int32_t pid = 0;
  int64_t session = 0;
  std::string user;
  std::string tty;
  std::string rhost;
  std::string service;

  bool operator==(const IngestMessage&) const = default;
};

// Whether `message` can be encoded: the same rules DecodeIngestMessage enforces (non-empty user,
// bounded fields without NUL, pid > 0, time_us >= 0, session >= 0). An error names the field.
Result<void> ValidateIngestMessage(const IngestMessage& message);

// The datagram for `message`. Precondition: ValidateIngestMessage(message) succeeded; otherwise
// the bytes are still produced but DecodeIngestMessage will reject them.
std::string EncodeIngestMessage(const IngestMessage& message);

// Decodes one datagram. Strict: wrong magic or version (kUnsupported for a version other than
// 1), unknown type, non-zero flags, a field too long or containing NUL, a length running past
// the end, trailing bytes, or a datagram over kMaxIngestMessageBytes are kCorrupt errors whose
// message says which. Pure: no allocation beyond the result, never reads past `bytes`.
Result<IngestMessage> DecodeIngestMessage(std::string_view bytes);

// The stored fact: kLogin for open, kLogout for close, kFailed for failed, source kPam. `tty` loses a leading
// "/dev/" (PAM_TTY is often "/dev/pts/3"; utmp lines are "pts/3", so the two sources agree);
// `rhost` becomes remote_host and, when it is a literal IPv4 or IPv6 address, remote_addr too
// (laid out as ut_addr_v6). The service has no place in an Event and is dropped.
Event EventFromIngest(const IngestMessage& message);

}  // namespace utmpcd
