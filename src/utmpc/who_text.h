// The text of coreutils 9.1 who(1) rows (who.c print_line), shared by `utmpc who` on a utmp
// file and on the network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/local_time.h"
#include "core/text.h"

namespace utmpcd {

// The options that change how a row looks.
struct WhoTextOptions {
  bool include_idle = false, include_mesg = false, include_exit = false;
  bool short_output = false;
  bool hard_locale = false;  // LC_TIME is not C/POSIX: "%Y-%m-%d %H:%M" times
  TerminalCharset charset = TerminalCharset::kAscii;
};

// The fields of one row, as who's print_line() takes them.
struct WhoRow {
  std::string_view user;
  char state = ' ';
  std::string_view line;
  std::string_view time;
  std::string_view idle;
  std::string_view pid;
  std::string_view comment;
  std::string_view exit;
};

// Appends `text` made safe for a terminal, padded with spaces to `width` bytes.
void AppendPadded(std::string& out, std::string_view text, size_t width, TerminalCharset cs);

// print_line(): the format "%-8s%s %-12s %-*s%s%s %-8s%s", trailing spaces removed, newline.
void AppendWhoRow(std::string& out, const WhoTextOptions& o, const WhoRow& row);

// The column headings (-H).
inline void AppendWhoHeading(std::string& out, const WhoTextOptions& o) {
  AppendWhoRow(out, o, {"NAME", ' ', "LINE", "TIME", "IDLE", "PID", "COMMENT", "EXIT"});
}

// Whether LC_TIME (as set by setlocale) is a locale other than C/POSIX: who then prints
// "%Y-%m-%d %H:%M" times.
bool HardLocaleTime();

// strftime of "%b %e %H:%M" in the C locale, "%Y-%m-%d %H:%M" in any other, as who picks.
std::string WhoTimeString(LocalClock& clock, int64_t t_s, bool hard_locale);

// who's idle_string() for a terminal last used at `when_s`: "  .  " under a minute, "HH:MM"
// under a day since boot, else " old ".
std::string WhoIdleString(int64_t when_s, int64_t boot_s, int64_t now_s);

}  // namespace utmpcd
