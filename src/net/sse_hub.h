// SseHub: the event streams (Server-Sent Events) of one server. A stream is a connection the
// HTTP server handed over (HttpHandler::TakeOver): the hub sends it the response head, a
// preface, then every message after a position, in order, as the feed stores them, with a
// ": ping" when nothing happens. Messages come from an SseFeed: the host daemon's event store
// today, a fleet's tomorrow (utmpsd serves its fleet-wide stream with the same hub).
//
// The newest messages are framed once, in a ring every stream sends from. A stream behind the
// ring (one resuming from long ago) sends from pages of the feed, each framed once and shared
// by the streams that read it, with one of max_replays slots. A stream whose first message is
// past its position (retention deleted what it asked for) is told with an "event: gap"
// message first. A stream that falls behind the ring (it reads more slowly than messages
// come, or a burst outran it) goes on from the pages. A stream whose client does not read is
// closed after write_timeout_s, or replay_write_timeout_s while it holds a replay slot; the
// kernel holds at most batch_bytes for it meanwhile (SO_SNDBUF).
// Used on its loop's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace utmpcd {

class Connection;
class EventLoop;

// One message as the stream sends it ("id: ...\nevent: ...\ndata: ...\n\n"), and its position.
struct SseFrame {
  int64_t seq = 0;
  std::shared_ptr<const std::string> text;
  int tier = 0;  // a stream below this level skips it (api/access.h's Tier)
};

class SseFeed {
 public:
  virtual ~SseFeed() = default;
  // Up to `limit` messages with a seq above `after_seq`, oldest first, framed.
  virtual Result<std::vector<SseFrame>> FramesAfter(int64_t after_seq, int64_t limit) = 0;
  // The newest seq stored, read anew (the newest known when it cannot be read).
  virtual int64_t NewestSeq() = 0;
};

struct SseHubOptions {
  std::string server_name;      // the Server field: "utmpcd/0.9.0"
  int64_t heartbeat_s = 15;     // ": ping" after this long without a message
  int64_t write_timeout_s = 30;  // a client that does not read what it is sent is dropped
  size_t ring_frames = 8192;    // messages kept framed
  size_t batch_bytes = 256 * 1024;  // what a stream sends in one write, at most
  int64_t feed_page = 512;      // messages read from the feed at a time
  // Streams behind the ring sending from the feed at once; the others wait their turn (the
  // memory of replays in flight is bounded, whatever the number of streams replaying).
  size_t max_replays = 64;
  // A stream sending from the feed holds a slot others may wait for: a batch it cannot take in
  // this long closes it (it resumes later with Last-Event-ID).
  int64_t replay_write_timeout_s = 10;
};

class SseHub {
 public:
  // `loop` and `feed` outlive the hub.
  SseHub(EventLoop& loop, SseFeed& feed, SseHubOptions options);
  // Destroy it with the loop stopped (or never run): its streams' handlers refer to it.
  ~SseHub();
  SseHub(const SseHub&) = delete;
  SseHub& operator=(const SseHub&) = delete;

  // `connection` becomes a stream: a 200 head with Content-Type text/event-stream, then (not
  // for a HEAD request) `preface` and every message with a seq above `after_seq` whose tier
  // is at most `tier`.
  void Open(std::shared_ptr<Connection> connection, int64_t after_seq, bool head,
            std::string preface, int tier = 0);
  // The feed has stored messages: they are framed into the ring and sent.
  void FetchNew();
  // The feed lost messages (retention deleted them, or it was opened anew): pages framed from
  // it before are not sent again (streams sending from one finish that write).
  void ForgetPages();
  // The streams open now.
  size_t streams() const;
  // Streams closed since the hub began because they could not take a batch of their replay
  // within replay_write_timeout_s.
  uint64_t closed_too_slow() const;

 private:
  class Stream;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace utmpcd
