// utmpcd's HTTP server on untrusted request bytes: what it makes of a request head, as the
// server reads it (net/http_request.h: Beast's parser, then the method, Host and
// Transfer-Encoding rules). Never a crash; every refusal is one of the server's statuses and
// says why; a request it serves is a GET or HEAD with its Host, and what follows the head (a
// pipelined request, a body's bytes) changes nothing about it.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "net/http_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  utmpcd::Peer peer;
  auto read = utmpcd::ParseRequestBytes(bytes, peer);
  if (!read) return 0;  // incomplete: the server waits for more
  if (read->refusal) {
    int s = read->refusal->status;
    Check(s == 400 || s == 405 || s == 413 || s == 431 || s == 501, "a refusal of another status");
    Check(!read->refusal->message.empty() && !read->refusal->code.empty(), "a refusal says why");
    return 0;
  }
  const utmpcd::ApiRequest& r = read->request;
  Check(r.method == "GET" || r.method == "HEAD", "a method other than GET and HEAD served");
  Check(!r.target.empty(), "a request without a target");
  for (const auto& [name, value] : r.headers) {
    Check(name.find_first_of("\r\n:") == std::string::npos, "a field name with CR, LF or ':'");
    Check(value.find_first_of("\r\n") == std::string::npos, "a field value with CR or LF");
  }
  // A bearer token is hashed (64 hex digits), never passed on as it came.
  if (!r.bearer_sha256.empty()) {
    Check(r.bearer_present && r.bearer_sha256.size() == 64 &&
              r.bearer_sha256.find_first_not_of("0123456789abcdef") == std::string::npos,
          "a bearer token's hash is not 64 hex digits");
  }
  auto again = utmpcd::ParseRequestBytes(std::string(bytes) + "GET / HTTP/1.1\r\n", peer);
  Check(again && !again->refusal && again->request.target == r.target &&
            again->request.headers == r.headers,
        "the bytes after a head changed the request");
  return 0;
}
