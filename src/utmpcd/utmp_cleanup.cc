#include "utmpcd/utmp_cleanup.h"

#include <utmpx.h>

#include <cerrno>
#include <cstring>

namespace utmpcd {
namespace {

// Copies `text` into a fixed utmpx field, NUL-padded, cut to the field's size as utmp stores it.
template <size_t N>
void CopyField(char (&field)[N], const std::string& text) {
  std::memset(field, 0, N);
  std::memcpy(field, text.data(), text.size() < N ? text.size() : N);
}

}  // namespace

Result<void> RecordLogoutOfGone(const std::string& utmp_path, const std::string& wtmp_path,
                                const LiveSession& session, int64_t now_us) {
  if (utmpxname(utmp_path.c_str()) != 0) {
    return tl::unexpected(ErrnoError("utmpxname " + utmp_path, errno));
  }
  setutxent();
  struct utmpx key {};
  key.ut_type = USER_PROCESS;
  CopyField(key.ut_line, session.line);
  struct utmpx* found = getutxline(&key);
  bool ours = found != nullptr && found->ut_type == USER_PROCESS && found->ut_pid == session.pid &&
              std::strncmp(found->ut_user, session.user.c_str(), sizeof found->ut_user) == 0;
  if (!ours) {
    endutxent();
    return {};  // the line was logged out or reused meanwhile: nothing of ours to clean
  }
  struct utmpx dead = *found;
  dead.ut_type = DEAD_PROCESS;
  std::memset(dead.ut_user, 0, sizeof dead.ut_user);
  std::memset(dead.ut_host, 0, sizeof dead.ut_host);
  dead.ut_tv.tv_sec = static_cast<decltype(dead.ut_tv.tv_sec)>(now_us / 1000000);
  dead.ut_tv.tv_usec = static_cast<decltype(dead.ut_tv.tv_usec)>(now_us % 1000000);
  errno = 0;
  bool written = pututxline(&dead) != nullptr;
  int saved = errno;
  endutxent();
  if (!written) return tl::unexpected(ErrnoError("pututxline " + utmp_path, saved));
  // updwtmpx returns nothing: a failure shows as the missing record, which the daemon's own
  // wtmp follower would also never see.
  updwtmpx(wtmp_path.c_str(), &dead);
  return {};
}

}  // namespace utmpcd
