#include "net/sse_hub.h"

#include <malloc.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>
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

  // A page of the feed, framed: the messages with first < seq <= first + feed_page, and the
  // seq of the first message after them (0: none), to step over a page with none.
  struct Page {
    std::vector<SseFrame> frames;
    int64_t next_seq = 0;
  };
  // Page `index` (seqs above index * feed_page), shared by every stream behind the ring that
  // reads it: framed once while any stream holds it, and the newest few kept a while longer.
  Result<std::shared_ptr<const Page>> PageAt(int64_t index);
  // A stream behind the ring sends from a page only with one of max_replays slots: false
  // when none is free, and then the stream is pumped once one is.
  bool TakeReplaySlot(const std::shared_ptr<Stream>& stream);
  void ReleaseReplaySlot(const std::string& source);
  // Gives memory back to the system a while after many streams closed.
  void TrimSoon();

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
  std::unordered_map<int64_t, std::weak_ptr<const Page>> pages_;
  std::deque<std::shared_ptr<const Page>> recent_pages_;
  size_t replaying_ = 0;
  std::unordered_map<std::string, size_t> replaying_by_source_;
  std::deque<std::weak_ptr<Stream>> replay_queue_;
  size_t closed_since_trim_ = 0;
  uint64_t closed_too_slow_ = 0;
  Timer trim_{loop_};
  bool trim_pending_ = false;
  std::optional<std::chrono::steady_clock::time_point> trim_waiting_since_;
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
        "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n"
        "X-Accel-Buffering: no\r\n\r\n" +
        (head ? std::string() : preface)));
    close_after_write_ = head;
    WatchClose();
    Write(-1);
  }

  // Sends what there is to send, unless a write is in flight (its completion calls Pump).
  void Pump() {
    if (writing_ || connection_->closed() || closed_) return;
    int64_t last = -1;
    size_t bytes = 0;
    if (after_seq_ < hub_.ring_base_) {
      // Behind the ring: from the pages of the feed, with a replay slot.
      if (!hub_.TakeReplaySlot(shared_from_this())) return;
      if (check_gap_) {
        check_gap_ = false;
        auto first = hub_.feed_.FramesAfter(after_seq_, 1);
        if (!first) return Fail(first.error());
        if (!first->empty() && first->front().seq > after_seq_ + 1) {
          // Retention deleted the messages this client asked for first.
          pending_.push_back(std::make_shared<const std::string>(
              fmt::format("event: gap\ndata: {{\"from\":{},\"oldest\":{}}}\n\n",
                          after_seq_ + 1, first->front().seq)));
        }
      }
      const int64_t page_size = hub_.options_.feed_page;
      auto page = hub_.PageAt(after_seq_ / page_size);
      if (!page) return Fail(page.error());
      const std::vector<SseFrame>& frames = (*page)->frames;
      auto from = std::upper_bound(frames.begin(), frames.end(), after_seq_,
                                   [](int64_t seq, const SseFrame& f) { return seq < f.seq; });
      for (; from != frames.end() && bytes < hub_.options_.batch_bytes; ++from) {
        last = from->seq;
        if (from->tier > tier_) continue;
        pending_.push_back(from->text);
        bytes += from->text->size();
      }
      if (last < 0) {
        // Nothing left in this page: on to the next message there is. A page with none after
        // it was read just now (such a page is never cached) and holds the newest stored: the
        // ring's messages up to ring_base_ were deleted since (retention).
        int64_t next = (*page)->next_seq;
        last = next > 0 ? next - 1 : std::max(after_seq_, hub_.ring_base_);
      }
      page_ = std::move(*page);  // held while its frames are written
    } else {
      auto from = std::upper_bound(hub_.ring_.begin(), hub_.ring_.end(), after_seq_,
                                   [](int64_t seq, const SseFrame& f) { return seq < f.seq; });
      for (; from != hub_.ring_.end() && bytes < hub_.options_.batch_bytes; ++from) {
        last = from->seq;
        if (from->tier > tier_) continue;  // not for this client's tier
        pending_.push_back(from->text);
        bytes += from->text->size();
      }
      check_gap_ = false;
    }
    if (pending_.empty()) {
      EndReplay();
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
    EndReplay();
    connection_->Close();
    hub_.Closed(this);
  }

  const std::string& source() const { return connection_->source(); }
  bool replay_slot_ = false;  // holds one of the hub's replay slots
  bool replay_queued_ = false;  // waits for one

 private:
  // Writes pending_; `last_seq` (-1: none) is the seq of the last message in it.
  void Write(int64_t last_seq) {
    writing_ = true;
    in_flight_.swap(pending_);
    pending_.clear();
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(in_flight_.size());
    for (const auto& text : in_flight_) buffers.emplace_back(text->data(), text->size());
    // A client that stops reading is dropped; one that holds a replay slot (which others may
    // wait for) sooner.
    const int64_t timeout_s = replay_slot_ ? std::min(hub_.options_.write_timeout_s,
                                                      hub_.options_.replay_write_timeout_s)
                                           : hub_.options_.write_timeout_s;
    write_started_ = std::chrono::steady_clock::now();
    connection_->ExpiresAfter(std::chrono::seconds(timeout_s));
    connection_->Write(std::move(buffers), [self = shared_from_this(), last_seq](
                                               const error_code& ec, size_t) {
      self->writing_ = false;
      self->in_flight_.clear();
      if (ec && self->replay_slot_ &&
          std::chrono::steady_clock::now() - self->write_started_ >=
              std::chrono::seconds(self->hub_.options_.replay_write_timeout_s)) {
        ++self->hub_.closed_too_slow_;  // could not take one batch of its replay in time
      }
      self->EndReplay();
      if (ec || self->close_after_write_ || self->connection_->closed()) {
        self->Close();
        return;
      }
      self->connection_->ExpiresNever();
      if (last_seq >= 0) self->after_seq_ = last_seq;
      self->Pump();
    });
  }

  // Lets go of the page it sent from and of its replay slot (the next stream waiting gets it).
  void EndReplay() {
    page_.reset();
    if (!replay_slot_) return;
    replay_slot_ = false;
    hub_.ReleaseReplaySlot(source());
  }

  void Fail(const Error& error) {
    Log(LogLevel::kError, "event stream: {}", error.message);
    Close();
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
  std::shared_ptr<const Impl::Page> page_;
  std::chrono::steady_clock::time_point write_started_;
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
  // What the kernel holds for a client that does not read: one batch, not megabytes (its
  // buffer would grow to tcp_wmem's maximum, 4 MiB, each filled from the history).
  connection->LimitSendBuffer(static_cast<int>(options_.batch_bytes));
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
      break;
    }
  }
  if (++closed_since_trim_ >= 256) TrimSoon();
}

void SseHub::Impl::TrimSoon() {
  if (trim_pending_) return;
  trim_pending_ = true;
  if (!trim_waiting_since_) trim_waiting_since_ = std::chrono::steady_clock::now();
  // Once no stream closed for a second (a thousand streams closing at once trim once), or
  // after ten seconds of closes that never stop.
  const size_t closed = closed_since_trim_;
  trim_.After(std::chrono::seconds(1), [this, closed] {
    trim_pending_ = false;
    if (closed_since_trim_ != closed &&
        std::chrono::steady_clock::now() - *trim_waiting_since_ < std::chrono::seconds(10)) {
      return TrimSoon();
    }
    trim_waiting_since_.reset();
    closed_since_trim_ = 0;
    if (streams_.empty()) recent_pages_.clear();
    ::malloc_trim(0);  // glibc keeps freed memory otherwise
  });
}

Result<std::shared_ptr<const SseHub::Impl::Page>> SseHub::Impl::PageAt(int64_t index) {
  if (auto it = pages_.find(index); it != pages_.end()) {
    if (auto page = it->second.lock()) return page;
    pages_.erase(it);
  }
  const int64_t first = index * options_.feed_page;
  auto frames = feed_.FramesAfter(first, options_.feed_page + 1);
  if (!frames) return tl::unexpected(frames.error());
  auto page = std::make_shared<Page>();
  for (SseFrame& f : *frames) {
    if (f.seq > first + options_.feed_page) {
      page->next_seq = f.seq;
      break;
    }
    page->frames.push_back(std::move(f));
  }
  if (page->frames.empty() && page->next_seq == 0 && !frames->empty()) {
    page->next_seq = frames->front().seq;
  }
  // Only a page with a message after it is whole: messages yet to be stored may still belong
  // to the last one, which is read anew each time.
  if (page->next_seq == 0) return std::shared_ptr<const Page>(std::move(page));
  if (pages_.size() > 4 * options_.max_replays) {
    std::erase_if(pages_, [](const auto& entry) { return entry.second.expired(); });
  }
  pages_[index] = page;
  recent_pages_.push_back(page);
  if (recent_pages_.size() > 16) recent_pages_.pop_front();
  return std::shared_ptr<const Page>(std::move(page));
}

bool SseHub::Impl::TakeReplaySlot(const std::shared_ptr<Stream>& stream) {
  if (stream->replay_slot_) return true;
  // A free slot, and the stream's source (an address, an IPv6 /64) holds less than its share:
  // one source's streams cannot keep the others' from their turn.
  const std::string& source = stream->source();
  const size_t share = std::max<size_t>(1, options_.max_replays / 8);
  if (replaying_ < options_.max_replays && replaying_by_source_[source] < share) {
    ++replaying_;
    ++replaying_by_source_[source];
    stream->replay_slot_ = true;
    return true;
  }
  if (replaying_by_source_[source] == 0) replaying_by_source_.erase(source);
  if (!stream->replay_queued_) {
    stream->replay_queued_ = true;
    replay_queue_.push_back(stream);
  }
  return false;
}

void SseHub::Impl::ReleaseReplaySlot(const std::string& source) {
  --replaying_;
  if (auto it = replaying_by_source_.find(source);
      it != replaying_by_source_.end() && --it->second == 0) {
    replaying_by_source_.erase(it);
  }
  // The slots go to the streams that waited longest (still open) whose source is under its
  // share.
  const size_t share = std::max<size_t>(1, options_.max_replays / 8);
  for (auto it = replay_queue_.begin();
       it != replay_queue_.end() && replaying_ < options_.max_replays;) {
    auto next = it->lock();
    if (!next || !streams_.count(next)) {
      it = replay_queue_.erase(it);
      continue;
    }
    size_t& held = replaying_by_source_[next->source()];
    if (held >= share) {
      ++it;
      continue;
    }
    it = replay_queue_.erase(it);
    next->replay_queued_ = false;
    ++replaying_;
    ++held;
    next->replay_slot_ = true;
    loop_.Post([next] { next->Pump(); });
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
void SseHub::ForgetPages() {
  impl_->pages_.clear();
  impl_->recent_pages_.clear();
}
size_t SseHub::streams() const { return impl_->streams_.size(); }
uint64_t SseHub::closed_too_slow() const { return impl_->closed_too_slow_; }

}  // namespace utmpcd
