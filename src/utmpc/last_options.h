// last's and lastb's options, one table for both ways of listing: from a file or this host's
// daemon (last_cmd.cc) and from utmpcd hosts (net_last_cmd.cc). Each adds its own (--json and
// --database here, --hosts-file there) and decides the few that differ (-n, -s, -t, -p, -x, -f).
#pragma once

#include <getopt.h>

#include <climits>
#include <vector>

#include "utmpc/color.h"
#include "utmpc/last_text.h"

namespace utmpcd {

// getopt_long codes of the long options that have no short one.
inline constexpr int kLastTimeFormat = CHAR_MAX + 1;
inline constexpr int kLastColor = CHAR_MAX + 2;

// last.c's short options.
inline constexpr char kLastShortOptions[] = "hVf:n:RxadFit:p:s:0123456789w";

// The long options both listings take, and `more`; then getopt_long's terminator unless
// another function adds options of its own (ParseNetCommandLine).
std::vector<struct option> LastLongOptions(const std::vector<struct option>& more,
                                           bool terminated = true);

// Whether --fulltimes and --time-format were given (they exclude each other).
struct LastTimeFlags {
  bool full_times = false;
  bool time_format = false;
  ColorWhen color = ColorWhen::kAuto;  // --color: LastTextOptions::color once parsed
};

// The colour of a listing without --color: auto for `utmpc last`; never when utmpc runs as
// `last` or `lastb` (a link of that name, argv[0]), which print as util-linux's do.
ColorWhen DefaultLastColor(const char* argv0);

// Applies one of the options that shape the text (-a, -d, -F, -i, -R, -w, --time-format,
// --color):
// -1 when taken, kUsageError (said on stderr) when its value is wrong, -2 when `c` is none of
// them. After the last option, CheckLastTimeFlags.
int TakeLastTextOption(const char* name, int c, const char* arg, LastTextOptions* text,
                       LastTimeFlags* flags);

// kUsageError (said on stderr) when both --fulltimes and --time-format were given, else -1.
int CheckLastTimeFlags(const char* name, const LastTimeFlags& flags);

}  // namespace utmpcd
