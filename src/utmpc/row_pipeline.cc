#include "utmpc/row_pipeline.h"

#include <cstring>
#include <string_view>
#include <utility>

namespace utmpcd {
namespace {

// Rows per batch: big enough that the two threads rarely meet at the lock, small enough that
// three batches stay a few megabytes.
constexpr size_t kBatchRows = 2048;
constexpr size_t kBatches = 3;
// Room for one row's text: line, id, user, host and the tty column (at most a line's size).
constexpr size_t kRowText = kLineSize + kIdSize + kUserSize + kHostSize + kLineSize;

}  // namespace

struct RowPipeline::Batch {
  struct Item {
    LoginRecord record;
    std::string_view line;
    int64_t login_s;
    int64_t logout_s;
    SessionEnd end;
    int32_t logout_usec;
  };
  Item items[kBatchRows];
  size_t count = 0;
  char text[kBatchRows * kRowText];
};

RowPipeline::RowPipeline(std::function<void(const LastRow&)> format)
    : format_(std::move(format)) {
  worker_ = std::thread([this] { Work(); });
}

RowPipeline::~RowPipeline() { Finish(); }

void RowPipeline::Push(const LastRow& row) {
  if (filling_ == nullptr) {
    std::unique_lock lock(mu_);
    // Batches are made as needed: a short listing (-n 20) never pays for three.
    if (free_.empty() && batches_.size() < kBatches) {
      batches_.emplace_back(new Batch);  // not value-initialized: the text is written before read
      free_.push_back(batches_.back().get());
    }
    changed_.wait(lock, [this] { return !free_.empty(); });
    filling_ = free_.back();
    free_.pop_back();
    filling_->count = 0;
  }
  Batch::Item& item = filling_->items[filling_->count];
  char* p = filling_->text + filling_->count * kRowText;
  auto copy = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    std::string_view copied(p, s.size());
    p += s.size();
    return copied;
  };
  item.record = *row.record;
  item.record.line = copy(row.record->line);
  item.record.id = copy(row.record->id);
  item.record.user = copy(row.record->user);
  item.record.host = copy(row.record->host);
  item.line = copy(row.line.substr(0, kLineSize));
  item.login_s = row.login_s;
  item.logout_s = row.logout_s;
  item.end = row.end;
  item.logout_usec = row.logout_usec;
  if (++filling_->count == kBatchRows) Hand(std::exchange(filling_, nullptr));
}

void RowPipeline::Hand(Batch* full) {
  {
    std::lock_guard lock(mu_);
    full_.push_back(full);
  }
  changed_.notify_all();
}

void RowPipeline::Work() {
  while (true) {
    Batch* batch;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [this] { return !full_.empty() || done_; });
      if (full_.empty()) return;
      batch = full_.front();
      full_.erase(full_.begin());
    }
    for (size_t i = 0; i < batch->count; ++i) {
      const Batch::Item& item = batch->items[i];
      format_(LastRow{&item.record, item.line, item.login_s, item.logout_s, item.end,
                      item.logout_usec});
    }
    {
      std::lock_guard lock(mu_);
      free_.push_back(batch);
    }
    changed_.notify_all();
  }
}

void RowPipeline::Finish() {
  if (!worker_.joinable()) return;
  if (filling_ != nullptr) Hand(std::exchange(filling_, nullptr));
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  changed_.notify_all();
  worker_.join();
}

}  // namespace utmpcd
