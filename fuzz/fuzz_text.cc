// The text sanitizers on untrusted bytes. AppendForTerminal leaves no C0 control but '\t' (and
// in ASCII mode no byte >= 0x80; in UTF-8 mode no C1 control or bidi override);
// AppendJsonString makes one valid JSON string whose value is AppendValidUtf8 of the input;
// AppendValidUtf8 makes well-formed UTF-8 and leaves well-formed UTF-8 as it was.
#include <clocale>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // iswprint answers for UTF-8 only in a UTF-8 locale.
  std::setlocale(LC_CTYPE, "C.UTF-8");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace utmpcd;
  using fuzz::Check;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  std::string ascii = "prefix ";
  AppendForTerminal(ascii, text, TerminalCharset::kAscii);
  Check(ascii.compare(0, 7, "prefix ") == 0, "AppendForTerminal changed what was there");
  Check(fuzz::IsTerminalSafe(ascii, /*utf8=*/false, /*newlines=*/false),
        "AppendForTerminal (ASCII) let a control or high byte through");
  std::string utf8;
  AppendForTerminal(utf8, text, TerminalCharset::kUtf8);
  Check(fuzz::IsTerminalSafe(utf8, /*utf8=*/true, /*newlines=*/false),
        "AppendForTerminal (UTF-8) let a control, C1, bidi or invalid byte through");

  std::string valid;
  AppendValidUtf8(valid, text);
  Check(fuzz::IsWellFormedUtf8(valid), "AppendValidUtf8 output is not UTF-8");
  if (fuzz::IsWellFormedUtf8(text)) Check(valid == text, "AppendValidUtf8 changed valid UTF-8");

  std::string json;
  AppendJsonString(json, text);
  for (unsigned char c : json) Check(c >= 0x20, "AppendJsonString left a raw control byte");
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  Check(!parsed.is_discarded() && parsed.is_string(), "AppendJsonString is not a JSON string");
  Check(parsed.get<std::string>() == valid, "the JSON string's value is not the valid UTF-8 text");
  return 0;
}
