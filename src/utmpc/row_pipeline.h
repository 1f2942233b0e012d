// RowPipeline: rows of a listing are built on the calling thread and formatted on a second one,
// so a long listing uses two cores: one decodes and pairs records, the other writes text.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/last_builder.h"

namespace utmpcd {

class RowPipeline {
 public:
  // `format` runs on the worker thread, once per row, in the order rows were pushed; it is the
  // only code touching the output while the pipeline runs.
  explicit RowPipeline(std::function<void(const LastRow&)> format);
  // Finishes.
  ~RowPipeline();
  RowPipeline(const RowPipeline&) = delete;
  RowPipeline& operator=(const RowPipeline&) = delete;

  // Copies `row` (its record's text too) into the current batch; may wait for a free batch.
  void Push(const LastRow& row);
  // Returns once every pushed row has been formatted, and stops the worker.
  void Finish();

 private:
  struct Batch;
  void Work();
  void Hand(Batch* full);

  std::function<void(const LastRow&)> format_;
  std::vector<std::unique_ptr<Batch>> batches_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Batch*> free_;  // guarded by mu_
  std::vector<Batch*> full_;  // guarded by mu_, oldest first
  bool done_ = false;         // guarded by mu_
  Batch* filling_ = nullptr;  // the caller's
  std::thread worker_;
};

}  // namespace utmpcd
