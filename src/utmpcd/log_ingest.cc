#include "utmpcd/log_ingest.h"

#include <utmp.h>

#include <fmt/format.h>

#include <charconv>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/record_event.h"

namespace utmpcd {
namespace {

// What a cursor's `extra` holds beside the position, as space-separated words:
// "fingerprint=HEX" (the record before the position) and, while the file rotated away from is
// followed for late appends, "previous=DEV:INO:OFFSET". Unknown words (a newer version's) are
// ignored, and a malformed word reads as absent.
struct Extra {
  uint64_t fingerprint = 0;
  std::optional<FileCursor> previous;
};

std::string EncodeExtra(const Extra& extra) {
  std::string text;
  if (extra.fingerprint != 0) text = fmt::format("fingerprint={:x}", extra.fingerprint);
  if (extra.previous) {
    text += fmt::format("{}previous={}:{}:{}", text.empty() ? "" : " ", extra.previous->device,
                        extra.previous->inode, extra.previous->offset);
  }
  return text;
}

// Parses "A:B:C" (count numbers, base 10) or one hexadecimal number (count 1, base 16).
bool ParseNumbers(std::string_view text, std::span<uint64_t> out, int base) {
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (size_t i = 0; i < out.size(); ++i) {
    auto [next, ec] = std::from_chars(p, end, out[i], base);
    if (ec != std::errc()) return false;
    bool last = i + 1 == out.size();
    if (last ? next != end : (next == end || *next != ':')) return false;
    p = last ? next : next + 1;
  }
  return true;
}

Extra DecodeExtra(std::string_view text) {
  Extra extra;
  while (!text.empty()) {
    size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    if (word.starts_with("fingerprint=")) {
      uint64_t value[1];
      if (ParseNumbers(word.substr(12), value, 16)) extra.fingerprint = value[0];
    } else if (word.starts_with("previous=")) {
      uint64_t value[3];
      if (ParseNumbers(word.substr(9), value, 10)) extra.previous = {value[0], value[1], value[2]};
    }
  }
  return extra;
}

// Stamps `events` from this boot with its id and stores them with `cursor` under `key`, in one
// transaction, only from where the ingest believes the store stands (`stored`): a second daemon
// that slipped past the lock gets kConflict instead of storing the same records again. On
// success `stored` is the new cursor.
Result<void> StoreWithCursor(SqliteStore& store, const CurrentBoot& boot, const std::string& key,
                             std::vector<Event>& events, SourceCursor cursor,
                             std::optional<SourceCursor>& stored) {
  for (Event& e : events) {
    if (e.time_us >= boot.time_us) e.boot_id = boot.id;
  }
  CursorUpdate update{key, std::move(cursor)};
  update.check = true;
  update.expected = stored;
  auto appended = store.Append(events, std::span<const CursorUpdate>(&update, 1));
  if (!appended) return tl::unexpected(appended.error());
  stored = std::move(update.cursor);
  return {};
}

}  // namespace

UtmpLayout NativeLayout() {
  static_assert(sizeof(struct utmp) == 384 || sizeof(struct utmp) == 400);
  return sizeof(struct utmp) == 384 ? UtmpLayout::kGlibc384 : UtmpLayout::kWide400;
}

LogIngest::LogIngest(std::string path, EventSource source, UtmpLayout layout, SqliteStore* store,
                     const CurrentBoot* boot)
    : path_(std::move(path)),
      source_(source),
      layout_(layout),
      store_(store),
      boot_(boot),
      key_(std::string(EventSourceName(source)) + ":" + path_) {}

Result<void> LogIngest::Start() {
  auto stored = store_->GetCursor(key_);
  if (!stored) return tl::unexpected(stored.error());
  stored_ = *stored;
  std::optional<FileCursor> start;
  if (stored_) {
    start = FileCursor{stored_->device, stored_->inode, static_cast<uint64_t>(stored_->offset)};
  }
  follower_ = std::make_unique<LogFollower>(path_, layout_, start);
  if (stored_) {
    Extra extra = DecodeExtra(stored_->extra);
    follower_->ExpectFingerprint(extra.fingerprint);
    if (extra.previous) follower_->ResumePrevious(*extra.previous);
  }
  return {};
}

Result<LogIngest::Progress> LogIngest::Pump(
    const std::function<void(const std::string&)>& warn) {
  // A follower that read a batch the store then refused would skip it next time: on failure
  // it goes, and the next call starts a new follower from the last stored cursor.
  if (!follower_) {
    if (auto started = Start(); !started) return tl::unexpected(started.error());
  }
  auto batch = follower_->Poll();
  if (!batch) {
    Progress unreadable;
    unreadable.unreadable = batch.error().message;
    return unreadable;
  }
  for (const std::string& w : batch->warnings) warn(w);

  std::vector<Event> events;
  events.reserve(batch->records.size());
  for (const FollowedRecord& f : batch->records) {
    auto e = EventFromRecord(f.record, source_);
    if (!e) continue;
    events.push_back(std::move(*e));
  }
  SourceCursor cursor{batch->cursor.device, batch->cursor.inode,
                      static_cast<int64_t>(batch->cursor.offset),
                      EncodeExtra({batch->fingerprint, batch->previous})};
  // Nothing read and the position unchanged (a wakeup for another file): no transaction.
  if (events.empty() && batch->garbled == 0 && cursor == stored_) {
    Progress nothing{.more = batch->more, .missing = batch->missing};
    follower_->Recycle(std::move(*batch));
    return nothing;
  }
  // (Records from before this boot, an import, belong to boots whose id nobody kept.)
  if (auto stored = StoreWithCursor(*store_, *boot_, key_, events, std::move(cursor), stored_);
      !stored) {
    follower_.reset();
    return tl::unexpected(stored.error());
  }
  Progress progress{.events = events.size(),
                    .garbled = batch->garbled,
                    .more = batch->more,
                    .missing = batch->missing};
  follower_->Recycle(std::move(*batch));
  return progress;
}

namespace {

// A wtmpdb cursor as the store keeps it: the row ID as the offset, the rest as words of extra
// ("login=US since=US"; unknown or malformed words read as absent).
SourceCursor EncodeWtmpdb(const WtmpdbCursor& c) {
  return SourceCursor{c.device, c.inode, c.last_id,
                      fmt::format("login={} since={} boot={}", c.last_login_us, c.open_since_us,
                                  c.newest_boot_id)};
}

WtmpdbCursor DecodeWtmpdb(const SourceCursor& stored) {
  WtmpdbCursor c{.device = stored.device, .inode = stored.inode, .last_id = stored.offset};
  std::string_view text = stored.extra;
  while (!text.empty()) {
    size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    auto number = [&](std::string_view prefix, int64_t& out) {
      if (!word.starts_with(prefix)) return;
      std::string_view digits = word.substr(prefix.size());
      int64_t value = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (ec == std::errc() && end == digits.data() + digits.size()) out = value;
    };
    number("login=", c.last_login_us);
    number("since=", c.open_since_us);
    number("boot=", c.newest_boot_id);
  }
  return c;
}


}  // namespace

WtmpdbIngest::WtmpdbIngest(std::string path, SqliteStore* store, const CurrentBoot* boot)
    : path_(std::move(path)),
      store_(store),
      boot_(boot),
      key_(std::string(EventSourceName(EventSource::kWtmpdb)) + ":" + path_) {}

Result<void> WtmpdbIngest::Start() {
  auto stored = store_->GetCursor(key_);
  if (!stored) return tl::unexpected(stored.error());
  stored_ = *stored;
  std::optional<WtmpdbCursor> start;
  std::vector<int64_t> open;
  if (stored_) {
    start = DecodeWtmpdb(*stored_);
    auto waiting = store_->OpenSessionsOf(EventSource::kWtmpdb, start->open_since_us);
    if (!waiting) return tl::unexpected(waiting.error());
    open = std::move(*waiting);
  }
  follower_ = std::make_unique<WtmpdbFollower>(path_, start, std::move(open), boot_->time_us);
  if (!stored_) {
    // Never read before: a host upgraded to wtmpdb had its wtmp imported into it, and a
    // history that followed that wtmp holds those sessions already.
    static constexpr EventSource kWtmp[] = {EventSource::kWtmp};
    auto newest = store_->EventsBefore(SqliteStore::kNewest, 1, kWtmp);
    if (!newest) return tl::unexpected(newest.error());
    if (!newest->empty()) follower_->SkipThrough(newest->front().time_us);
  }
  return {};
}

Result<SourceIngest::Progress> WtmpdbIngest::Pump(
    const std::function<void(const std::string&)>& warn) {
  if (!follower_) {  // the store refused the last batch: start again from what it holds
    if (auto started = Start(); !started) return tl::unexpected(started.error());
  }
  auto batch = follower_->Poll();
  if (!batch) {
    Progress unreadable;
    unreadable.unreadable = batch.error().message;
    return unreadable;
  }
  for (const std::string& w : batch->warnings) warn(w);
  SourceCursor cursor = EncodeWtmpdb(batch->cursor);
  if (batch->events.empty() && cursor == stored_) {
    return Progress{.more = batch->more, .missing = batch->missing};
  }
  if (auto stored = StoreWithCursor(*store_, *boot_, key_, batch->events, std::move(cursor),
                                    stored_);
      !stored) {
    // The follower moved on past what the store refused: the next Pump starts a new one from
    // the store (also when the store cannot be read now).
    follower_.reset();
    return tl::unexpected(stored.error());
  }
  return Progress{.events = batch->events.size(),
                  .garbled = 0,  // rows of other types are no event, not damage
                  .more = batch->more,
                  .missing = batch->missing};
}

JournalIngest::JournalIngest(std::string directory, SqliteStore* store, const CurrentBoot* boot)
    : directory_(std::move(directory)),
      name_(directory_.empty() ? std::string("the journal") : directory_),
      store_(store),
      boot_(boot),
      key_(std::string(EventSourceName(EventSource::kJournal)) + ":" +
           (directory_.empty() ? std::string("system") : directory_)) {}

Result<void> JournalIngest::Start() {
  auto stored = store_->GetCursor(key_);
  if (!stored) return tl::unexpected(stored.error());
  stored_ = *stored;
  follower_.reset();  // opened by the next Pump, from the stored cursor
  return {};
}

Result<SourceIngest::Progress> JournalIngest::Pump(
    const std::function<void(const std::string&)>& /*warn*/) {
  const std::string cursor = stored_ ? stored_->extra : std::string();
  if (!follower_) {
    // Never read before: on a host upgraded from btmp, the journal's older failures are those
    // btmp had, and a history that followed btmp holds them already.
    int64_t skip_through_us = 0;
    if (!stored_) {
      static constexpr EventSource kBtmp[] = {EventSource::kBtmp};
      auto newest = store_->EventsBefore(SqliteStore::kNewest, 1, kBtmp);
      if (!newest) return tl::unexpected(newest.error());
      if (!newest->empty()) skip_through_us = newest->front().time_us;
    }
    auto opened = JournalFollower::Open(directory_, cursor, skip_through_us);
    if (!opened) {
      Progress unreadable;
      unreadable.unreadable = opened.error().message;
      return unreadable;
    }
    follower_ = std::move(*opened);
    ++opens_;
  }
  auto batch = follower_->Poll();
  if (!batch) {
    Progress unreadable;
    unreadable.unreadable = batch.error().message;
    follower_.reset();
    return unreadable;
  }
  SourceCursor at{0, 0, 0, batch->cursor};
  if (batch->events.empty() && (batch->cursor.empty() || at == stored_)) {
    return Progress{.more = batch->more};
  }
  if (auto stored = StoreWithCursor(*store_, *boot_, key_, batch->events, std::move(at), stored_);
      !stored) {
    // Read again from what the store holds: the next Pump opens the journal at the stored
    // cursor.
    follower_.reset();
    return tl::unexpected(stored.error());
  }
  return Progress{.events = batch->events.size(), .more = batch->more};
}

}  // namespace utmpcd
