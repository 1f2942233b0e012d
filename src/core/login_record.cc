#include "core/login_record.h"

#include "core/strings_internal.h"

namespace utmpcd {

int16_t EffectiveType(const LoginRecord& r) {
  using internal::StartsWith;
  int16_t type = r.type;
  if (StartsWith(r.line, "~")) {
    if (StartsWith(r.user, "shutdown")) return kShutdownTime;
    if (StartsWith(r.user, "reboot")) return kBootTime;
    if (StartsWith(r.user, "runlevel")) return kRunLevel;
    return type;
  }
  if (type != kDeadProcess && !r.user.empty() && !r.line.empty() && !StartsWith(r.user, "LOGIN"))
    type = kUserProcess;
  if (r.user.empty()) type = kDeadProcess;
  if (StartsWith(r.user, "date")) {
    if (StartsWith(r.line, "|")) type = kOldTime;
    if (StartsWith(r.line, "{")) type = kNewTime;
  }
  return type;
}

}  // namespace utmpcd
