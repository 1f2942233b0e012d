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
  // The host column: the record's host, or with -i/-d its address or name (held in host_).
  std::string_view HostColumn(const LastRow& row);
  static void EndColumns(SessionEnd end, LastTimeFormat fmt, std::string_view* logout,
                         std::string_view* length);

  LastTextOptions options_;
  // Whether `t` falls in day_, the local day of the last short time formatted; moves day_ to
  // `t`'s day first when that day has one UTC offset all through it.
  bool InShortDay(int64_t t);

  static constexpr int64_t kSecondsPerDay = 86400;
  LocalClock clock_;
  // The short format's day: most rows' times fall in the day of the row before, and cost no
  // calendar conversion then.
  struct Day {
    int64_t start = INT64_MAX;    // its first second (UTC); INT64_MAX: none yet
    char ctime[kMaxCtimeLength];  // FormatCtime of its midnight: "Tue Nov 14 00:00:00 2023"
  };
  Day day_;
  std::string host_, iso_;
};

}  // namespace utmpcd
