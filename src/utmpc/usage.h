// How every utmpc command ends on a usage error: a wrong option, option value or operand.
#pragma once

namespace utmpcd {

// The exit status of a usage error, the same in every command: 1, as util-linux last and
// utmpdump, coreutils who, procps w and uptime and shadow lastlog end on one, so that a script
// written for them reads utmpc alike. The message on stderr says what was wrong.
inline constexpr int kUsageError = 1;

}  // namespace utmpcd
