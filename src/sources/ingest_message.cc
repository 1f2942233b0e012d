#include "sources/ingest_message.h"

#include <arpa/inet.h>

#include <array>
#include <optional>
#include <utility>

namespace utmpcd {
namespace {

// Little-endian integers packed and unpacked byte by byte: never a cast of a struct, so the
// format is the same on every host (STYLE.md, skarnet/utmps).
void PutUint(std::string& out, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t GetUint(std::string_view in, size_t at, size_t bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return value;
}

struct TextField {
  const char* name;
  size_t max_bytes;
};
constexpr TextField kUser{"user", kMaxIngestUserBytes};
constexpr TextField kTty{"tty", kMaxIngestTtyBytes};
constexpr TextField kRhost{"rhost", kMaxIngestRhostBytes};
constexpr TextField kService{"service", kMaxIngestServiceBytes};

Result<void> CheckText(const TextField& field, std::string_view text) {
  if (text.size() > field.max_bytes) {
    return MakeError(ErrorCode::kCorrupt, std::string("ingest: ") + field.name + " longer than " +
                                              std::to_string(field.max_bytes) + " bytes");
  }
  if (text.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kCorrupt, std::string("ingest: NUL inside ") + field.name);
  }
  return {};
}

Result<void> CheckNumbers(const IngestMessage& m) {
  if (m.type != IngestType::kOpen && m.type != IngestType::kClose &&
      m.type != IngestType::kFailed) {
    return MakeError(ErrorCode::kCorrupt, "ingest: unknown type");
  }
  if (m.time_us < 0) return MakeError(ErrorCode::kCorrupt, "ingest: negative time_us");
  if (m.pid <= 0) return MakeError(ErrorCode::kCorrupt, "ingest: pid not positive");
  if (m.session < 0) return MakeError(ErrorCode::kCorrupt, "ingest: negative session");
  return {};
}

// Reads one uint16-length-prefixed field at `*at` and advances past it.
Result<std::string> ReadText(std::string_view bytes, size_t* at, const TextField& field) {
  if (bytes.size() - *at < 2) {
    return MakeError(ErrorCode::kCorrupt, std::string("ingest: truncated before ") + field.name);
  }
  size_t length = GetUint(bytes, *at, 2);
  *at += 2;
  if (length > bytes.size() - *at) {
    return MakeError(ErrorCode::kCorrupt,
                     std::string("ingest: ") + field.name + " runs past the end of the datagram");
  }
  std::string_view text = bytes.substr(*at, length);
  if (auto ok = CheckText(field, text); !ok) return tl::unexpected(ok.error());
  *at += length;
  return std::string(text);
}

Result<void> CheckHeader(std::string_view bytes) {
  if (bytes.size() > kMaxIngestMessageBytes) {
    return MakeError(ErrorCode::kCorrupt, "ingest: datagram of " + std::to_string(bytes.size()) +
                                              " bytes, more than " +
                                              std::to_string(kMaxIngestMessageBytes));
  }
  if (bytes.size() < kIngestHeaderBytes) {
    return MakeError(ErrorCode::kCorrupt, "ingest: datagram shorter than its header");
  }
  if (bytes.substr(0, 4) != kIngestMagic) {
    return MakeError(ErrorCode::kCorrupt, "ingest: bad magic");
  }
  if (static_cast<uint8_t>(bytes[4]) != kIngestVersion) {
    return MakeError(ErrorCode::kUnsupported,
                     "ingest: version " + std::to_string(static_cast<uint8_t>(bytes[4])));
  }
  if (GetUint(bytes, 6, 2) != 0) return MakeError(ErrorCode::kCorrupt, "ingest: non-zero flags");
  return {};
}

// The 16 bytes of ut_addr_v6 for a literal address: IPv4 in the first word, network order.
std::optional<std::array<uint8_t, 16>> ParseAddress(const std::string& host) {
  std::array<uint8_t, 16> addr{};
  if (::inet_pton(AF_INET, host.c_str(), addr.data()) == 1) return addr;
  if (::inet_pton(AF_INET6, host.c_str(), addr.data()) == 1) return addr;
  return std::nullopt;
}

}  // namespace

Result<void> ValidateIngestMessage(const IngestMessage& m) {
  if (m.user.empty()) return MakeError(ErrorCode::kCorrupt, "ingest: empty user");
  for (auto [field, text] : {std::pair{kUser, &m.user}, std::pair{kTty, &m.tty},
                             std::pair{kRhost, &m.rhost}, std::pair{kService, &m.service}}) {
    if (auto ok = CheckText(field, *text); !ok) return ok;
  }
  return CheckNumbers(m);
}

std::string EncodeIngestMessage(const IngestMessage& m) {
  std::string out;
  out.reserve(kIngestHeaderBytes + 8 + m.user.size() + m.tty.size() + m.rhost.size() +
              m.service.size());
  out.append(kIngestMagic);
  PutUint(out, kIngestVersion, 1);
  PutUint(out, static_cast<uint8_t>(m.type), 1);
  PutUint(out, 0, 2);
  PutUint(out, static_cast<uint64_t>(m.time_us), 8);
  PutUint(out, static_cast<uint32_t>(m.pid), 4);
  PutUint(out, static_cast<uint64_t>(m.session), 8);
  for (const std::string* text : {&m.user, &m.tty, &m.rhost, &m.service}) {
    PutUint(out, text->size(), 2);
    out.append(*text);
  }
  return out;
}

Result<IngestMessage> DecodeIngestMessage(std::string_view bytes) {
  if (auto ok = CheckHeader(bytes); !ok) return tl::unexpected(ok.error());
  IngestMessage m;
  uint8_t type = static_cast<uint8_t>(bytes[5]);
  if (type < 1 || type > 3) {
    return MakeError(ErrorCode::kCorrupt, "ingest: unknown type " + std::to_string(type));
  }
  m.type = static_cast<IngestType>(type);
  m.time_us = static_cast<int64_t>(GetUint(bytes, 8, 8));
  m.pid = static_cast<int32_t>(GetUint(bytes, 16, 4));
  m.session = static_cast<int64_t>(GetUint(bytes, 20, 8));
  size_t at = kIngestHeaderBytes;
  std::string* texts[] = {&m.user, &m.tty, &m.rhost, &m.service};
  const TextField* fields[] = {&kUser, &kTty, &kRhost, &kService};
  for (size_t i = 0; i < 4; ++i) {
    auto text = ReadText(bytes, &at, *fields[i]);
    if (!text) return tl::unexpected(text.error());
    *texts[i] = std::move(*text);
  }
  if (at != bytes.size()) return MakeError(ErrorCode::kCorrupt, "ingest: trailing bytes");
  if (m.user.empty()) return MakeError(ErrorCode::kCorrupt, "ingest: empty user");
  if (auto ok = CheckNumbers(m); !ok) return tl::unexpected(ok.error());
  return m;
}

Event EventFromIngest(const IngestMessage& m) {
  Event event;
  event.time_us = m.time_us;
  event.kind = m.type == IngestType::kOpen    ? EventKind::kLogin
               : m.type == IngestType::kClose ? EventKind::kLogout
                                              : EventKind::kFailed;
  event.source = EventSource::kPam;
  event.user = m.user;
  std::string_view tty = m.tty;
  constexpr std::string_view kDev = "/dev/";
  if (tty.substr(0, kDev.size()) == kDev) tty.remove_prefix(kDev.size());
  event.tty = std::string(tty);
  event.remote_host = m.rhost;
  if (auto addr = ParseAddress(m.rhost)) event.remote_addr = *addr;
  event.pid = m.pid;
  event.session = m.session;
  return event;
}

}  // namespace utmpcd
