#include "core/log.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/text.h"

namespace utmpcd {
namespace {

bool g_debug = false;
const char* g_program = "utmpcd";

}  // namespace

void SetLogDebug(bool debug) { g_debug = debug; }
void SetLogProgram(const char* name) { g_program = name; }

void LogLine(LogLevel level, std::string_view message) {
  if (level == LogLevel::kDebug && !g_debug) return;
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string line = journal ? fmt::format("<{}>", static_cast<int>(level))
                            : fmt::format("{}: ", g_program);
  // Messages carry paths and record text: nothing raw reaches a terminal or splits a line.
  AppendForTerminal(line, message, TerminalCharset::kAscii);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace utmpcd
