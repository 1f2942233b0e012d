// The text of shadow 4.13 lastlog(8) rows, shared by `utmpc lastlog` on a lastlog file and on
// the network.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.h"

namespace utmpcd {

// "Username         Port     From ... Latest".
void AppendLastlogHeading(std::string& out);

// One user's row: name, port (the tty) and host padded as lastlog pads them, then the time in
// the local zone ("%a %b %e %H:%M:%S %z %Y"), or "**Never logged in**" when `time_s` is 0.
// Text is made safe for a terminal.
void AppendLastlogRow(std::string& out, std::string_view user, std::string_view line,
                      std::string_view host, int64_t time_s, TerminalCharset cs);

}  // namespace utmpcd
