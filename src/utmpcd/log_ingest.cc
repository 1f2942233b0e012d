#include "utmpcd/log_ingest.h"

#include <utmp.h>

#include <utility>
#include <vector>

#include "core/record_event.h"

namespace utmpcd {

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
  std::optional<FileCursor> start;
  stored_cursor_.reset();
  if (*stored) {
    start = FileCursor{(*stored)->device, (*stored)->inode,
                       static_cast<uint64_t>((*stored)->offset)};
    stored_cursor_ = start;
  }
  follower_ = std::make_unique<LogFollower>(path_, layout_, start);
  return {};
}

Result<LogIngest::Progress> LogIngest::Pump(
    const std::function<void(const std::string&)>& warn) {
  // A follower that read a batch the store then refused would skip it next time: keep a copy of
  // its cursor, and on failure start a new follower from the last stored one.
  auto batch = follower_->Poll();
  if (!batch) return tl::unexpected(batch.error());
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
  // Nothing read and the position unchanged (a wakeup for another file): no transaction.
  if (events.empty() && batch->cursor == stored_cursor_ && batch->garbled == 0) {
    return Progress{0, 0, batch->more};
  }
  CursorUpdate cursor{key_, SourceCursor{batch->cursor.device, batch->cursor.inode,
                                         static_cast<int64_t>(batch->cursor.offset), {}}};
  auto stored = store_->Append(events, std::span<const CursorUpdate>(&cursor, 1));
  if (!stored) {
    if (auto restarted = Start(); !restarted) warn(restarted.error().message);
    return tl::unexpected(stored.error());
  }
  stored_cursor_ = batch->cursor;
  return Progress{events.size(), batch->garbled, batch->more};
}

}  // namespace utmpcd
