// The text of procps-ng 4.0.2 uptime(1) and w(1), shared by `utmpc uptime` and `utmpc w` on
// this host and on the network.
//
// w's JCPU, PCPU and WHAT columns come from the processes of a terminal, which neither utmp nor
// the network API gives: utmpc w prints the columns up to IDLE.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/local_time.h"
#include "core/text.h"

namespace utmpcd {

// uptime's line: " 18:04:05 up 8 days, 11:04,  3 users,  load average: 0.12, 0.08, 0.02"
// (no newline), for the local time `now` (time zone applied).
std::string UptimeLine(const CivilTime& now, int64_t uptime_s, int64_t users,
                       const std::array<double, 3>& load);

struct WTextOptions {
  bool show_from = true;    // -f toggles it
  bool short_form = false;  // -s: no LOGIN@ column
  TerminalCharset charset = TerminalCharset::kAscii;
};

struct WRow {
  std::string_view user, tty, from;
  int64_t login_s = 0;
  std::optional<int64_t> idle_s;  // nullopt: unknown ("?")
};

// "USER     TTY      FROM             LOGIN@   IDLE" and a newline.
void AppendWHeading(std::string& out, const WTextOptions& o);
// One session's row and a newline. `now` is the local time the listing is made at: LOGIN@
// shows a time of day within 12 hours (or today), a weekday within 6 days, else a date.
void AppendWRow(std::string& out, const WTextOptions& o, const WRow& row, LocalClock& clock,
                int64_t now_s);

// procps 4 uptime -p for `up_s` seconds since boot: "up 2 weeks, 1 day, 3 hours, 0 minutes".
// Each unit is taken only when more than one of it is left (a strict ">", as procps does), and
// the minutes always end it.
std::string PrettyUptime(double up_s);

}  // namespace utmpcd
