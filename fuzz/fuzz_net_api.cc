// The decoders of a utmpcd's JSON answers (api/wire_decode.h) on arbitrary bytes from a server:
// an error or rows, never a crash. Every row keeps its object as compact JSON that parses back
// to an object and is valid UTF-8; an error message, and DescribeHttpError's text, hold nothing
// that could drive a terminal.
#include <clocale>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/wire_decode.h"
#include "api/wire_json.h"
#include "fuzz/fuzz_check.h"

namespace {

using utmpcd::fuzz::Check;

void CheckJson(const std::string& json) {
  Check(utmpcd::fuzz::IsWellFormedUtf8(json), "a row's JSON is not UTF-8");
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  Check(!parsed.is_discarded() && parsed.is_object(), "a row's JSON is not an object");
}

template <typename T>
void CheckRows(const utmpcd::Result<T>& rows) {
  if (!rows) {
    Check(rows.error().message.rfind("bad answer: ", 0) == 0, "error says it is the answer");
    return;
  }
  for (const auto& row : *rows) CheckJson(row.json);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::setlocale(LC_CTYPE, "C");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckRows(utmpcd::DecodeSessions(body));
  CheckRows(utmpcd::DecodeLastlog(body));
  for (bool failed : {false, true}) {
    auto page = utmpcd::DecodeHistoryPage(body, failed);
    if (page) {
      for (const auto& row : page->rows) CheckJson(row.json);
    }
  }
  if (auto host = utmpcd::DecodeHost(body)) CheckJson(host->json);
  if (auto event = utmpcd::DecodeEvent(body)) CheckJson(event->json);
  (void)utmpcd::DecodeGap(body);
  // What utmpsd stores of a host's stream: a decoded event, encoded again as the stream
  // frames it, decodes to the same event (nothing of it is lost or changed on the way).
  if (auto event = utmpcd::DecodeStoredEvent(body)) {
    std::string again;
    utmpcd::AppendEventJson(again, *event);
    CheckJson(again);
    auto back = utmpcd::DecodeStoredEvent(again);
    Check(back.has_value(), "a stored event does not decode after encoding");
    const utmpcd::Event& a = *event;
    const utmpcd::Event& b = *back;
    Check(a.seq == b.seq && a.time_us == b.time_us && a.kind == b.kind && a.user == b.user &&
              a.tty == b.tty && a.remote_host == b.remote_host &&
              a.remote_addr == b.remote_addr && a.pid == b.pid && a.session == b.session &&
              a.source == b.source && a.boot_id == b.boot_id,
          "a stored event changes when encoded and decoded again");
  }
  if (auto hosts = utmpcd::DecodeFleetHosts(body)) {
    for (const std::string& name : *hosts) (void)name;
  }
  std::string text = utmpcd::DescribeHttpError(500, body);
  Check(utmpcd::fuzz::IsTerminalSafe(text, /*utf8=*/false, /*newlines=*/false),
        "an error message from the server reaches the terminal unescaped");
  return 0;
}
