// utmpc dump -r: utmpdump's text back to records, as `utmpdump -r` parses it.
#pragma once

#include <optional>
#include <string>

#include "formats/utmp.h"

namespace utmpcd {

// Reads utmpdump text from `file` (stdin when nullopt) and writes one record of `layout` to
// stdout per line. Returns the exit status; errors are printed as "utmpc dump: ...".
int Undump(const std::optional<std::string>& file, UtmpLayout layout);

}  // namespace utmpcd
