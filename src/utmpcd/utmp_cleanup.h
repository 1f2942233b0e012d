// Cleaning up after a session that is gone, as Solaris utmpd does: its utmp entry is marked
// DEAD_PROCESS (so who(1) stops listing it) and the matching logout is appended to wtmp (so
// last(1) shows the session closed). Off by default: utmp and wtmp belong to the login programs.
#pragma once

#include <string>

#include "core/result.h"
#include "sources/utmp_snapshot.h"

namespace utmpcd {

// Through glibc's own utmpx functions (utmpxname, pututxline, updwtmpx), which take the locks
// every other writer of these files takes. The entry is only changed while it still names
// `session` (same line, pid and user); `now_us` becomes the logout's time.
Result<void> RecordLogoutOfGone(const std::string& utmp_path, const std::string& wtmp_path,
                                const LiveSession& session, int64_t now_us);

}  // namespace utmpcd
