// LoginRecord: one utmp/wtmp/btmp record, decoded but not interpreted.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/strings_internal.h"

namespace utmpcd {

// The ut_type values of glibc's <utmp.h>; a record's type is stored as it was found.
enum RecordType : int16_t {
  kEmpty = 0,
  kRunLevel = 1,
  kBootTime = 2,
  kNewTime = 3,
  kOldTime = 4,
  kInitProcess = 5,
  kLoginProcess = 6,
  kUserProcess = 7,
  kDeadProcess = 8,
  kAccounting = 9,
};
inline constexpr int16_t kMaxRecordType = kAccounting;
// Not a glibc type: what util-linux last calls a record of user "shutdown" on line "~".
inline constexpr int16_t kShutdownTime = 254;

// Field sizes of struct utmp; text fields are not NUL-terminated when full.
inline constexpr size_t kLineSize = 32;
inline constexpr size_t kIdSize = 4;
inline constexpr size_t kUserSize = 32;
inline constexpr size_t kHostSize = 256;

// A record's ut_tv: whole seconds (what `last` prints and measures with, as util-linux does) and
// the microseconds beside them, as read (a garbled record may hold any value there).
struct RecordTime {
  int64_t s = 0;
  int32_t usec = 0;
  int64_t us() const { return s * 1000000 + usec; }
};

// Text fields are raw bytes up to the first NUL (or the whole field when it has none): login
// records carry bytes, not UTF-8. The views point into the buffer the record was decoded from and
// are valid only while it is.
struct LoginRecord {
  int16_t type = kEmpty;
  int32_t pid = 0;
  std::string_view line;
  std::string_view id;
  std::string_view user;
  std::string_view host;
  int16_t exit_termination = 0;
  int16_t exit_status = 0;
  int32_t session = 0;
  // ut_tv as read: seconds are unsigned 32-bit on disk (good until 2106, as glibc 2.40 reads them).
  int64_t time_s = 0;
  int32_t time_usec = 0;
  // ut_addr_v6 in network byte order; IPv4 is the first word with the other three zero.
  std::array<uint8_t, 16> addr{};
  // Not utmp's: the wtmpdb row this record stands for (0 for a utmp record). Such a session
  // ends with its own row's end, as wtmpdb last pairs them, not at the next record on its line
  // (LastBuilder).
  int64_t row = 0;

  int64_t time_us() const { return time_s * 1000000 + time_usec; }
  RecordTime time() const { return {time_s, time_usec}; }
};

// The type a record really has. Old writers leave ut_type wrong, and readers since sysvinit's
// last fix it from the text, as util-linux last.c does: on line "~", user "shutdown" is
// kShutdownTime, "reboot" kBootTime, "runlevel" kRunLevel; elsewhere a record with a user and a
// line is a login (unless its user starts with "LOGIN" or it is a DEAD_PROCESS), one without a
// user a logout, and user "date" on line "|" or "{" a clock change. Inline: a listing asks it of
// every record.
[[gnu::always_inline]] inline int16_t EffectiveType(const LoginRecord& r) {
  using internal::StartsWith;
  int16_t type = r.type;
  if (StartsWith(r.line, "~")) {
    if (StartsWith(r.user, "shutdown")) return kShutdownTime;
    if (StartsWith(r.user, "reboot")) return kBootTime;
    if (StartsWith(r.user, "runlevel")) return kRunLevel;
    return type;
  }
  if (r.user.empty()) return kDeadProcess;
  if (type != kDeadProcess && !r.line.empty() && !StartsWith(r.user, "LOGIN")) type = kUserProcess;
  if (StartsWith(r.user, "date")) {
    if (StartsWith(r.line, "|")) type = kOldTime;
    if (StartsWith(r.line, "{")) type = kNewTime;
  }
  return type;
}

}  // namespace utmpcd
