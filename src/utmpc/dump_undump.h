// utmpc dump -r: utmpdump's text back to records, as `utmpdump -r` parses it.
#pragma once

#include <optional>
#include <string>

#include "formats/utmp.h"

namespace utmpcd {

// Reads utmpdump text from `file` (stdin when nullopt) and writes one record of `layout` to
// stdout per line. Returns the exit status; errors are printed as "utmpc dump: ...".
int Undump(const std::optional<std::string>& file, UtmpLayout layout);

// One line of utmpdump text (at most 1022 bytes, as utmpdump's fgets reads) to one record of
// `layout` appended to *out; false, appending nothing, when utmpdump would give up on the file
// ("Extraneous newline in file").
bool UndumpLine(const std::string& line, std::string* out, UtmpLayout layout);

}  // namespace utmpcd
