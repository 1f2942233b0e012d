// SqliteStore throughput and query latency on a real file (Google Benchmark).
// Usage: store_bench [--benchmark_filter=...]   (files go to $BENCH_DIR or a temp dir)
//   BM_Append/B      events appended per second, B events and one cursor per transaction
//   BM_LastTwenty/N  EventsByUser(limit 20) in a store of N events (`last -n 20 USER`)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite_store.h"

namespace utmpcd {
namespace {

// A fresh directory for one benchmark's database, removed with it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("BENCH_DIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/store_bench.XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr const char* kUsers[] = {"alice",  "bob",   "carol",  "dave", "erin",    "frank",
                                  "grace",  "heidi", "ivan",   "judy", "mallory", "niaj",
                                  "olivia", "peggy", "rupert", "sybil"};
constexpr int64_t kUserCount = std::size(kUsers);

// What a wtmp import produces, shaped like tests/fixtures/wtmpgen: logins by a few regular users
// and a long tail of rare ones (1 in 50), and logouts, which carry no user in wtmp, on 64 ptys.
Event SampleEvent(int64_t i) {
  Event event;
  event.time_us = 1700000000000000 + i * 1000;
  event.kind = i % 2 == 0 ? EventKind::kLogin : EventKind::kLogout;
  if (event.kind == EventKind::kLogin) {
    event.user = i % 100 == 0 ? "user" + std::to_string(i) : kUsers[(i / 2) % kUserCount];
  }
  event.tty = "pts/" + std::to_string((i / 2) % 64);
  event.remote_host = "198.51.100." + std::to_string(i % 250);
  event.remote_addr = {198, 51, 100, static_cast<uint8_t>(i % 250)};
  event.pid = static_cast<int32_t>(1000 + (i / 2) % 30000);
  event.session = i / 2;
  event.source = EventSource::kWtmp;
  event.boot_id = "6f1b0e7c9a2d4e3f8b5a1c0d9e8f7a6b";
  return event;
}

std::unique_ptr<SqliteStore> OpenOrSkip(benchmark::State& state, const ScratchDir& dir) {
  auto store = SqliteStore::Open(dir.path() + "/history.db");
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return nullptr;
  }
  return std::move(*store);
}

void BM_Append(benchmark::State& state) {
  ScratchDir dir;
  auto store = OpenOrSkip(state, dir);
  if (!store) return;
  const int64_t batch = state.range(0);
  int64_t next = 0;
  std::vector<Event> events;
  for (auto _ : state) {
    state.PauseTiming();  // building the events is the source's cost, not the store's
    events.clear();
    for (int64_t i = 0; i < batch; ++i) events.push_back(SampleEvent(next++));
    CursorUpdate cursor{"wtmp:/var/log/wtmp", {2049, 131, next * 384, ""}};
    state.ResumeTiming();
    auto appended = store->Append(events, {&cursor, 1});
    if (!appended) {
      state.SkipWithError(appended.error().message.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_Append)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime()  // commits wait for I/O too
    ->Unit(benchmark::kMicrosecond);

void BM_LastTwenty(benchmark::State& state) {
  ScratchDir dir;
  auto store = OpenOrSkip(state, dir);
  if (!store) return;
  std::vector<Event> events;
  for (int64_t i = 0; i < state.range(0); ++i) {
    events.push_back(SampleEvent(i));
    if (events.size() == 10000 || i + 1 == state.range(0)) {
      if (!store->Append(events, {})) return state.SkipWithError("filling the store failed");
      events.clear();
    }
  }
  int64_t user = 0;
  for (auto _ : state) {
    auto found = store->EventsByUser(kUsers[user++ % kUserCount], SqliteStore::kNewest, 20);
    if (!found || found->size() != 20) return state.SkipWithError("EventsByUser failed");
    benchmark::DoNotOptimize(found);
  }
}
BENCHMARK(BM_LastTwenty)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace utmpcd

BENCHMARK_MAIN();
