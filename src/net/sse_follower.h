// SseFollower: follows GET /v1/events of any number of utmpcd hosts on the caller's EventLoop,
// hosts added and removed at any time (utmpsd shares thousands of hosts out among its
// instances; `utmpc watch` follows a fixed list with WatchAll). A stream that breaks is
// resumed with Last-Event-ID after a backoff, so no event is missed or repeated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/hosts.h"
#include "net/sse.h"
#include "net/tls.h"

namespace utmpcd {

class EventLoop;

// What a follower does with each host's stream. Called on the loop's thread; `host` is the id
// SseFollower::Add gave (for WatchAll, the host's index).
class EventSink {
 public:
  virtual ~EventSink() = default;
  // One message of host `host`'s stream, in stream order.
  virtual void OnMessage(size_t host, const SseMessage& message) = 0;
  // Something went wrong with host `host`'s stream: `what` in words ("connection refused").
  // With `retry_ms` the stream is resumed after that long, else it is given up.
  virtual void OnTrouble(size_t host, const std::string& what, std::optional<int64_t> retry_ms) = 0;
  // Host `host`'s stream is open again after trouble, resumed after event `after_id` (its
  // SEQ@HISTORY id; "" when it had none yet).
  virtual void OnResumed(size_t /*host*/, const std::string& /*after_id*/) {}
  // Host `host`'s stream is open (answered 200): the first time, and after each trouble
  // (before OnResumed).
  virtual void OnOpened(size_t /*host*/) {}
};

struct WatchOptions {
  // Per host: a seq to start from (?from=); nullopt starts with the events stored from now on.
  std::vector<std::optional<int64_t>> from;
  int64_t connect_timeout_ms = 5000;
  // No byte (event or heartbeat) for this long means a dead stream: the daemon's heartbeat is
  // 15 s and the protocol says to reconnect after three missed ones.
  int64_t silence_timeout_ms = 45000;
  // Reconnection waits: the stream's "retry" (1 s unless it says otherwise), doubled after
  // each failed attempt up to max_backoff_ms; a stream that opened resets it.
  int64_t max_backoff_ms = 30000;
  // Sent as "Authorization: Bearer TOKEN" when not empty.
  std::string token;
  // For the hosts with `tls`: whom to trust, and a client certificate.
  TlsClientFiles tls{};
  // The stream's path: a utmpcd's "/v1/events", or a fleet server's "/v1/fleet/events". Only
  // for the former is a stream without `from` started at the newest seq GET /v1/host names
  // (a fleet stream's first id says where it started).
  std::string events_path = "/v1/events";
};

// Follows GET /v1/events of every host until all of them are given up (a daemon answering
// 4xx to the stream, say); that is, in practice, until the process is killed. A disconnected
// stream is resumed with Last-Event-ID, so no event is missed or repeated. Without a `from`,
// the host's last_seq (GET /v1/host) is where the stream starts, so events stored during a
// reconnection are not missed either. Returns the number of hosts given up.
size_t WatchAll(const std::vector<NetHost>& hosts, const WatchOptions& options, EventSink* sink);

class SseFollower {
 public:
  // `loop` and `sink` outlive the follower.
  SseFollower(EventLoop& loop, const WatchOptions& options, EventSink* sink);
  // Stops following every host (on the loop's thread, or when it is not running).
  ~SseFollower();
  SseFollower(const SseFollower&) = delete;
  SseFollower& operator=(const SseFollower&) = delete;

  // Starts following `host`, from event `from` on (nullopt: from the host's newest event on).
  // Returns the id the sink's calls name it by. On the loop's thread.
  size_t Add(const NetHost& host, std::optional<int64_t> from = std::nullopt);
  // Stops following host `id` at once: the sink hears nothing more of it. On the loop's thread.
  void Remove(size_t id);
  // The hosts followed now (given up ones not counted), and those given up so far.
  size_t following() const;
  size_t given_up() const;

  class Impl;  // sse_follower.cc's

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace utmpcd
