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
  // Each text column made safe for the terminal first, then cut and padded by the columns its
  // characters take (wcwidth), not by bytes: for listings of hosts, whose text is UTF-8, in a
  // UTF-8 terminal. last.c counts bytes, and local listings do as it does.
  bool by_columns = false;
  // Rows of sessions still on in green, of those that ended in a crash or gone in red (SGR
  // escapes around the whole row: utmpc/color.h).
  bool color = false;
};

class LastText {
 public:
  explicit LastText(const LastTextOptions& options);

  // Appends one row and its newline, sanitized for a terminal (and coloured with
  // LastTextOptions::color).
  void AppendRow(std::string& out, const LastRow& row);
  // Appends "\n<file> begins <time>\n" (nothing with --time-format notime).
  void AppendBegins(std::string& out, const std::string& basename, int64_t begins_s);

 private:
  struct Days;
  // The time as the column shows it, written into `buf` (kMaxCtimeLength bytes) or iso_; `days`
  // are the column's short-format days.
  std::string_view FormatTime(char* buf, LastTimeFormat format, int64_t t, bool hour_minute,
                              Days& days);
  // AppendRow for the default columns (the short time format, 8-byte names, 16-byte hosts, the
  // host before the times): each column at its fixed place in one buffer, checked for bytes to
  // escape once. False, having appended nothing, for a row it leaves to the general path: bytes
  // to escape, or a time on a day whose UTC offset changes.
  bool AppendShortRow(std::string& out, const LastRow& row);
  // AppendRow without colour.
  void AppendRowText(std::string& out, const LastRow& row);
  // The host column: the record's host, or with -i/-d its address or name (held in host_).
  std::string_view HostColumn(const LastRow& row);
  // The logout and length columns of `row` as last.c's list() makes them, the length written
  // into `length_buf` (64 bytes) when it is a length; true when the logout column shows the
  // logout time, which the caller writes (*logout is then empty).
  bool EndColumns(const LastRow& row, LastTimeFormat fmt, char* length_buf,
                  std::string_view* logout, std::string_view* length) const;

  LastTextOptions options_;
  bool short_rows_;  // the options are the default columns of AppendShortRow
  struct Day;
  // The day of `days` that `t` falls in; when none, one of them is moved to `t`'s day first if
  // that day has one UTC offset all through it, else nullptr. The day found last is tried
  // first, inline: most times fall in it.
  const Day* ShortDay(Days& days, int64_t t) {
    const Day& last = days.day[days.last];
    return t >= last.start && t - last.start < kSecondsPerDay ? &last : OtherShortDay(days, t);
  }
  const Day* OtherShortDay(Days& days, int64_t t);

  static constexpr int64_t kSecondsPerDay = 86400;
  LocalClock clock_;
  // The short format's days: most rows' times fall in a day of the rows just before, and cost no
  // calendar conversion then. A few per column: logins come newest first, but their logouts
  // move back and forth between the days around a midnight, row after row.
  struct Day {
    int64_t start = INT64_MAX;    // its first second (UTC); INT64_MAX: none yet
    char ctime[kMaxCtimeLength];  // FormatCtime of its midnight: "Tue Nov 14 00:00:00 2023"
  };
  struct Days {
    static constexpr size_t kCount = 4;
    Day day[kCount];
    size_t last = 0;  // the one found last
    size_t next = 0;  // the one to move next, in turn
  };
  Days login_days_, logout_days_;
  std::string host_, iso_;
};

}  // namespace utmpcd
