// Logging to stderr in a form journald understands: "<N>message" priority prefixes when
// stderr is the journal (JOURNAL_STREAM is set), "PROGRAM: message" otherwise.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace utmpcd {

enum class LogLevel { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

void SetLogDebug(bool debug);
// The name lines start with outside the journal ("utmpcd" unless set; a string literal).
void SetLogProgram(const char* name);
void LogLine(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  LogLine(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace utmpcd
