// Port 431's request targets (the path and query string of an HTTP request, bytes from anyone
// who can connect) against a real history: never a crash, and every answer is valid JSON with
// a status the protocol names (docs/PROTOCOL.md).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/query.h"
#include "api/web_page.h"
#include "store/sqlite_store.h"

namespace {

std::unique_ptr<utmpcd::Api> api;
std::string history_dir;  // removed at exit: each run leaves nothing in /tmp

void RemoveHistory() {
  api.reset();
  std::error_code ignored;
  std::filesystem::remove_all(history_dir, ignored);
}

// A small history with logins, logouts, boots and failures, in a file of its own.
void MakeHistory(const std::string& path) {
  auto store = utmpcd::SqliteStore::Open(path);
  if (!store) std::abort();
  std::vector<utmpcd::Event> events;
  for (int i = 0; i < 200; ++i) {
    utmpcd::Event e;
    e.time_us = (INT64_C(1700000000) + i * 60) * 1000000;
    e.kind = i % 50 == 0   ? utmpcd::EventKind::kBoot
             : i % 7 == 0  ? utmpcd::EventKind::kFailed
             : i % 2 == 0  ? utmpcd::EventKind::kLogin
                           : utmpcd::EventKind::kLogout;
    e.source = e.kind == utmpcd::EventKind::kFailed ? utmpcd::EventSource::kBtmp
                                                    : utmpcd::EventSource::kWtmp;
    e.user = e.kind == utmpcd::EventKind::kBoot ? "reboot" : "user" + std::to_string(i % 5);
    e.tty = e.kind == utmpcd::EventKind::kBoot ? "~" : "pts/" + std::to_string(i % 9);
    e.pid = 100 + i;
    events.push_back(e);
  }
  if (!(*store)->Append(events, {})) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char dir[] = "/tmp/fuzz_api.XXXXXX";
  if (::mkdtemp(dir) == nullptr) std::abort();
  history_dir = dir;
  std::atexit(RemoveHistory);
  std::string path = history_dir + "/history.db";
  MakeHistory(path);
  auto live = std::make_shared<utmpcd::LiveView>();
  utmpcd::ApiOptions options;
  options.database = path;
  options.version = "fuzz";
  auto opened = utmpcd::Api::Open(options, live);
  if (!opened) std::abort();
  api = std::move(*opened);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)utmpcd::ParseApiTimeUs(text);
  // The event stream's Last-Event-ID: an id it accepts, written again, reads back the same.
  if (auto id = utmpcd::ParseEventId(text)) {
    auto again = utmpcd::ParseEventId(utmpcd::EventId(id->seq, id->history));
    if (!again || again->seq != id->seq || again->history != id->history) std::abort();
  }
  // Targets start with '/' in HTTP; the fuzzer's bytes go after it (and as they are).
  for (std::string target : {std::string(text), "/v1/history?" + std::string(text)}) {
    if (target.rfind("/v1/lastlog", 0) == 0) continue;  // the host's user database: slow
    utmpcd::ApiResponse response = api->Get(target);
    if (response.status != 200 && response.status != 400 && response.status != 404 &&
        response.status != 503) {
      std::abort();
    }
    if (!response.stream && response.content_type != "application/json") {
      // The dashboard's files ("/", "/app.js"), as the build embedded them: nothing else.
      std::string_view path = std::string_view(target).substr(0, target.find('?'));
      if (response.status != 200 || !utmpcd::WebPageFile(path, "utmpcd") ||
          utmpcd::WebPageFile(path, "utmpcd")->body != response.body) {
        std::abort();
      }
      continue;
    }
    if (response.stream) {
      // /v1/events: a stream from a position the store has, opened by its "retry" and "id".
      if (response.status != 200 || response.stream->after_seq < 0 ||
          response.stream->preface.rfind("retry: 1000\nid: ", 0) != 0) {
        std::abort();
      }
      continue;
    }
    if (response.body.empty() || response.body.back() != '\n' ||
        !nlohmann::json::accept(response.body)) {
      std::abort();
    }
  }
  return 0;
}
