// FingerServer: a finger responder (RFC 1288) on TCP, port 79 by default, on the caller's
// EventLoop: one query line in, one answer out, then the connection is closed. What the answer
// says is the caller's (api/finger.h); this is the socket side: a line of at most about 1 KiB,
// a whole exchange within the timeout, a bounded number of connections at once, in all and
// from one address (more are closed at once).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace utmpcd {

class EventLoop;

struct FingerOptions {
  // Numeric addresses with ports: "0.0.0.0:79", "[::]:79"; port 0 picks a free one (tests).
  std::vector<std::string> listen;
  int64_t max_connections = 64;  // at once; a connection beyond is closed unanswered
  int64_t max_per_source = 4;    // of one address at once; beyond: closed unanswered
  int64_t timeout_ms = 10000;    // to send the query line, and to take the answer
};

class FingerServer {
 public:
  // Called on the loop's thread: the answer to `query` (the line without its CRLF) from the
  // peer at `address` ("10.0.0.7", "::1").
  using Answer = std::function<std::string(const std::string& address, std::string_view query)>;

  FingerServer();
  // Closes the listeners; connections still open end with their loop (destroy it after this,
  // with its thread stopped).
  ~FingerServer();

  // Binds every address of `options` (an error names the one that failed) and serves.
  Result<void> Open(EventLoop& loop, const FingerOptions& options, Answer answer);
  // The addresses bound: "0.0.0.0:79", "[::1]:7979".
  std::vector<std::string> endpoints() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace utmpcd
