// The text of util-linux `last` rows, byte for byte (see last.c list()).
#pragma once

#include <cstdint>
#include <string>

#include "core/last_builder.h"
#include "core/local_time.h"
#include "core/text.h"

namespace utmpcd {

enum class LastTimeFormat { kNoTime, kShort, kFull, kIso };

struct LastTextOptions {
  LastTimeFormat time_format = LastTimeFormat::kShort;
  bool show_host = true;   // -R clears it
  bool host_last = false;  // -a
  bool numeric_ip = false; // -i: the address instead of ut_host
  bool dns = false;        // -d: the address's name instead of ut_host
  int name_len = 8;        // -w: 32
  int host_len = 16;       // -w: 256
  int64_t now_s = 0;       // a row whose end is exactly now "still running"
  int64_t boot_s = 0;      // this boot's start (see UserColumn in last_text.cc)
  TerminalCharset charset = TerminalCharset::kAscii;
};

class LastText {
 public:
  explicit LastText(const LastTextOptions& options) : options_(options) {}

  // Appends one row and its newline, sanitized for a terminal.
  void AppendRow(std::string& out, const LastRow& row);
  // Appends "\n<file> begins <time>\n" (nothing with --time-format notime).
  void AppendBegins(std::string& out, const std::string& basename, int64_t begins_s);

 private:
  // The time as the column shows it, written into `buf` (kMaxCtimeLength bytes) or iso_.
  std::string_view FormatTime(char* buf, LastTimeFormat format, int64_t t, bool hour_minute);
  void AppendHost(std::string& out, const LastRow& row);
  static void EndColumns(SessionEnd end, LastTimeFormat fmt, std::string_view* logout,
                         std::string_view* length);

  LastTextOptions options_;
  LocalClock clock_;
  std::string host_, iso_;
};

}  // namespace utmpcd
