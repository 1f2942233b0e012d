#include "net/sse_hub.h"

#include <algorithm>
#include <deque>
#include <unordered_set>

#include <fmt/format.h>

#include "core/log.h"
#include "net/connection.h"
#include "net/event_loop.h"

namespace utmpcd {

namespace asio = boost::asio;
using boost::system::error_code;

class SseHub::Impl {
 public:
  Impl(EventLoop& loop, SseFeed& feed, SseHubOptions options)
      : loop_(loop), feed_(feed), options_(std::move(options)), heartbeat_(loop) {
    ring_base_ = ring_top_ = feed_.NewestSeq();
  }

  void Open(std::shared_ptr<Connection> connection, int64_t after_seq, bool head,
            std::string preface, int tier);
  void FetchNew();
  void Heartbeat();
  void Closed(Stream* stream);

  EventLoop& loop_;
  SseFeed& feed_;
  SseHubOptions options_;
  // The ring holds every message with ring_base_ < seq <= ring_top_, framed.
  std::deque<SseFrame> ring_;
  int64_t ring_base_ = 0;
  int64_t ring_top_ = 0;
  std::unordered_set<std::shared_ptr<Stream>> streams_;
  Timer heartbeat_;
  bool heartbeat_running_ = false;
};

// One stream: sends every message after after_seq_, in order, then waits for more. Reads only
// to notice the client going away.
class SseHub::Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(Impl& hub, std::shared_ptr<Connection> connection, int64_t after_seq, int tier)
      : hub_(hub), connection_(std::move(connection)), after_seq_(after_seq), tier_(tier) {}

  void Start(bool head, const std::string& preface) {
    pending_.push_back(std::make_shared<const std::string>(
        "HTTP/1.1 200 OK\r\nServer: " + hub_.options_.server_name +
        "\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n" +
        (head ? std::string() : preface)));
    close_after_write_ = head;
    WatchClose();
    Write(-1);
  }

  // Sends what there is to send, unless a write is in flight (its completion calls Pump).
  void Pump() {
    if (writing_ || connection_->closed()) return;
    int64_t last = -1;
    size_t bytes = 0;
    if (after_seq_ < hub_.ring_base_) {
      // Behind the ring: from the feed, a page at a time.
      auto frames = hub_.feed_.FramesAfter(after_seq_, hub_.options_.feed_page);
      if (!frames) {
        Log(LogLevel::kError, "event stream: {}", frames.error().message);
        Close();
        return;
      }
      if (check_gap_ && !frames->empty() && frames->front().seq > after_seq_ + 1) {
        // Retention deleted the messages this client asked for first.
        pending_.push_back(std::make_shared<const std::string>(
            fmt::format("event: gap\ndata: {{\"from\":{},\"oldest\":{}}}\n\n", after_seq_ + 1,
                        frames->front().seq)));
      }
      for (SseFrame& f : *frames) {
        if (f.tier <= tier_) pending_.push_back(std::move(f.text));
        last = f.seq;
      }
    } else {
      auto from = std::upper_bound(hub_.ring_.begin(), hub_.ring_.end(), after_seq_,
                                   [](int64_t seq, const SseFrame& f) { return seq < f.seq; });
      for (; from != hub_.ring_.end() && bytes < hub_.options_.batch_bytes; ++from) {
        last = from->seq;
        if (from->tier > tier_) continue;  // not for this client's tier
        pending_.push_back(from->text);
        bytes += from->text->size();
      }
    }
    check_gap_ = false;
    if (pending_.empty()) {
      // Caught up (wait for FetchNew), or every message was above this stream's tier: then it
      // moves past them and looks for more -- in a later turn of the loop, so that a long run
      // of skipped messages holds up no other client (and no stack grows with it).
      if (last > after_seq_) {
        after_seq_ = last;
        hub_.loop_.Post([self = shared_from_this()] { self->Pump(); });
      }
      return;
    }
    Write(last);
  }

  // ": ping" unless something is being sent anyway.
  void Ping() {
    if (writing_ || connection_->closed()) return;
    static const auto kPing = std::make_shared<const std::string>(": ping\n\n");
    pending_.push_back(kPing);
    Write(-1);
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    connection_->Close();
    hub_.Closed(this);
  }

 private:
  // Writes pending_; `last_seq` (-1: none) is the seq of the last message in it.
  void Write(int64_t last_seq) {
    writing_ = true;
    in_flight_.swap(pending_);
    pending_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(in_flight_.size());
    for (const auto& text : in_flight_) buffers.emplace_back(text->data(), text->size());
    // A client that stops reading is dropped.
    connection_->ExpiresAfter(std::chrono::seconds(hub_.options_.write_timeout_s));
    connection_->Write(std::move(buffers), [self = shared_from_this(), last_seq](
                                               const error_code& ec, size_t) {
      self->writing_ = false;
      self->in_flight_.clear();
      if (ec || self->close_after_write_ || self->connection_->closed()) {
        self->Close();
        return;
      }
      self->connection_->ExpiresNever();
      if (last_seq >= 0) self->after_seq_ = last_seq;
      self->Pump();
    });
  }

  void WatchClose() {
    connection_->ReadSome(asio::buffer(discard_),
                          [self = shared_from_this()](const error_code& ec, size_t) {
                            if (ec) {
                              self->Close();
                            } else {
                              self->WatchClose();  // a client has nothing to say: ignored
                            }
                          });
  }

  Impl& hub_;
  std::shared_ptr<Connection> connection_;
  int64_t after_seq_;  // the last message sent (or the resume point)
  int tier_;           // messages above it are skipped
  bool check_gap_ = true;
  bool writing_ = false;
  bool closed_ = false;
  bool close_after_write_ = false;
  std::vector<std::shared_ptr<const std::string>> pending_;
  std::vector<std::shared_ptr<const std::string>> in_flight_;
  char discard_[64];
};

void SseHub::Impl::Open(std::shared_ptr<Connection> connection, int64_t after_seq, bool head,
                        std::string preface, int tier) {
  connection->ExpiresNever();
  auto stream = std::make_shared<Stream>(*this, std::move(connection), after_seq, tier);
  streams_.insert(stream);
  stream->Start(head, preface);
  if (!heartbeat_running_) Heartbeat();
}

void SseHub::Impl::Closed(Stream* stream) {
  // The set holds the last reference but one: the caller's shared_from_this keeps it alive.
  for (auto it = streams_.begin(); it != streams_.end(); ++it) {
    if (it->get() == stream) {
      streams_.erase(it);
      return;
    }
  }
}

void SseHub::Impl::Heartbeat() {
  // Runs only while there are streams: an idle server has no timer.
  if (streams_.empty()) {
    heartbeat_running_ = false;
    return;
  }
  heartbeat_running_ = true;
  heartbeat_.After(std::chrono::seconds(options_.heartbeat_s), [this] {
    std::vector<std::shared_ptr<Stream>> streams(streams_.begin(), streams_.end());
    for (const auto& stream : streams) stream->Ping();
    Heartbeat();
  });
}

void SseHub::Impl::FetchNew() {
  if (streams_.empty()) {
    // Nobody is listening: framing every message of an import would be work for nothing.
    ring_.clear();
    ring_base_ = ring_top_ = std::max(ring_top_, feed_.NewestSeq());
    return;
  }
  for (;;) {
    auto frames = feed_.FramesAfter(ring_top_, options_.feed_page);
    if (!frames) {
      Log(LogLevel::kError, "event stream: {}", frames.error().message);
      break;
    }
    for (SseFrame& f : *frames) {
      ring_top_ = f.seq;
      ring_.push_back(std::move(f));
    }
    while (ring_.size() > options_.ring_frames) {
      ring_base_ = ring_.front().seq;
      ring_.pop_front();
    }
    if (static_cast<int64_t>(frames->size()) < options_.feed_page) break;
  }
  std::vector<std::shared_ptr<Stream>> streams(streams_.begin(), streams_.end());
  for (const auto& stream : streams) stream->Pump();
}

SseHub::SseHub(EventLoop& loop, SseFeed& feed, SseHubOptions options)
    : impl_(std::make_unique<Impl>(loop, feed, std::move(options))) {}
SseHub::~SseHub() = default;

void SseHub::Open(std::shared_ptr<Connection> connection, int64_t after_seq, bool head,
                  std::string preface, int tier) {
  impl_->Open(std::move(connection), after_seq, head, std::move(preface), tier);
}
void SseHub::FetchNew() { impl_->FetchNew(); }
size_t SseHub::streams() const { return impl_->streams_.size(); }

}  // namespace utmpcd
