// A request to port 431 (or 430) as the protocol sees it, without the transport: what the
// network layer (src/net) read and who it says sent it, and the answer to send back. The HTTP
// server fills a Request from the wire; Api::Handle answers it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace utmpcd {

// Who is on the other end, as the transport knows it. Access tiers (issue 14) are decided
// from this, once, in src/api.
struct Peer {
  enum class Transport { kTcp, kUnix };
  Transport transport = Transport::kTcp;
  std::string address;  // "192.0.2.7", "::1"; "" on a Unix socket
  uint16_t port = 0;
  // A Unix socket's peer credentials (SO_PEERCRED), when the kernel gave them.
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::vector<uint32_t> groups;  // and its supplementary groups (SO_PEERGROUPS)
  bool tls = false;  // TCP with TLS
  // The verified client certificate's subject over mutual TLS, in RFC 4514 form
  // ("CN=utmpsd.example.org,O=Example"); "" otherwise.
  std::string certificate_subject;
};

struct ApiRequest {
  std::string method = "GET";  // GET or HEAD (the server refuses the others itself)
  std::string target;          // in origin form: "/v1/history?user=ann"
  // Every header field as received, in order; names as the client spelled them.
  std::vector<std::pair<std::string, std::string>> headers;
  Peer peer;
  // An Authorization field was sent (bearer_sha256 is empty when it was no "Bearer TOKEN").
  bool bearer_present = false;
  // The SHA-256 of the bearer token, 64 lowercase hex digits: tokens are compared hashed,
  // as the configuration stores them.
  std::string bearer_sha256;

  // The value of the first field named `name` (case-insensitively), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct ApiResponse {
  int status = 200;
  std::string body;  // JSON ending in a newline
  std::string content_type = "application/json";
  // Header fields beyond Server, Content-Type, Content-Length and Cache-Control.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set on a 200 to GET /v1/events: the connection becomes an event stream that sends
  // `preface`, then every event with a seq above `after_seq`, as they are stored (the body is
  // not sent).
  struct Stream {
    int64_t after_seq = 0;
    std::string preface;
    int tier = 0;  // the request's Tier: the events of a higher one are not sent
  };
  std::optional<Stream> stream;
};

// The error body of docs/PROTOCOL.md, "Errors": {"error":{"code":...,"message":...}}.
ApiResponse ErrorResponse(int status, std::string_view code, std::string_view message);

}  // namespace utmpcd
