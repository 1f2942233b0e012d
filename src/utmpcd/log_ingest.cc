#include "utmpcd/log_ingest.h"

#include <utmp.h>

#include <fmt/format.h>

#include <charconv>
#include <string_view>
#include <utility>
#include <vector>

#include "core/record_event.h"

namespace utmpcd {
namespace {

// The cursor's `extra`: the file rotated away from, while it is followed ("previous=DEV:INO:
// OFFSET"), or nothing. Anything else (a newer version's state) reads as nothing.
constexpr std::string_view kPreviousKey = "previous=";

std::string EncodeExtra(const std::optional<FileCursor>& previous) {
  if (!previous) return {};
  return fmt::format("{}{}:{}:{}", kPreviousKey, previous->device, previous->inode,
                     previous->offset);
}

std::optional<FileCursor> DecodeExtra(std::string_view extra) {
  if (!extra.starts_with(kPreviousKey)) return std::nullopt;
  extra.remove_prefix(kPreviousKey.size());
  FileCursor c;
  uint64_t* fields[] = {&c.device, &c.inode, &c.offset};
  const char* p = extra.data();
  const char* end = extra.data() + extra.size();
  for (size_t i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, *fields[i]);
    if (ec != std::errc()) return std::nullopt;
    bool last = i == 2;
    if (last ? next != end : (next == end || *next != ':')) return std::nullopt;
    p = last ? next : next + 1;
  }
  return c;
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
    if (auto previous = DecodeExtra(stored_->extra)) follower_->ResumePrevious(*previous);
  }
  return {};
}

Result<LogIngest::Progress> LogIngest::Pump(
    const std::function<void(const std::string&)>& warn) {
  // A follower that read a batch the store then refused would skip it next time: keep a copy of
  // its cursor, and on failure start a new follower from the last stored one.
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
    // Records from before this boot (an import) belong to boots whose id nobody kept.
    if (e->time_us >= boot_->time_us) e->boot_id = boot_->id;
    events.push_back(std::move(*e));
  }
  CursorUpdate update{key_, SourceCursor{batch->cursor.device, batch->cursor.inode,
                                         static_cast<int64_t>(batch->cursor.offset),
                                         EncodeExtra(batch->previous)}};
  // Nothing read and the position unchanged (a wakeup for another file): no transaction.
  if (events.empty() && batch->garbled == 0 && update.cursor == stored_) {
    return Progress{.more = batch->more, .missing = batch->missing};
  }
  // Only from where this ingest believes the store stands: a second daemon that slipped past
  // the lock gets kConflict instead of storing the same records again, and restarts from
  // where the first one got to.
  update.check = true;
  update.expected = stored_;
  auto appended = store_->Append(events, std::span<const CursorUpdate>(&update, 1));
  if (!appended) {
    if (auto restarted = Start(); !restarted) warn(restarted.error().message);
    return tl::unexpected(appended.error());
  }
  stored_ = std::move(update.cursor);
  return Progress{.events = events.size(),
                  .garbled = batch->garbled,
                  .more = batch->more,
                  .missing = batch->missing};
}

}  // namespace utmpcd
