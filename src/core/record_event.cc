#include "core/record_event.h"

#include <string>

namespace utmpcd {
namespace {

std::optional<EventKind> KindOf(const LoginRecord& r, EventSource source) {
  if (source == EventSource::kBtmp) {
    return r.user.empty() ? std::nullopt : std::optional(EventKind::kFailed);
  }
  switch (EffectiveType(r)) {
    case kShutdownTime:
      return EventKind::kShutdown;
    case kBootTime:
      return EventKind::kBoot;
    case kRunLevel: {
      // last counts a change to runlevel 0 (halt) or 6 (reboot) as the host going down.
      char level = static_cast<char>(r.pid & 255);
      return level == '0' || level == '6' ? EventKind::kShutdown : EventKind::kRunlevel;
    }
    case kOldTime:
    case kNewTime:
      return EventKind::kClock;
    case kUserProcess:
      return EventKind::kLogin;
    case kDeadProcess:
      return r.line.empty() ? std::nullopt : std::optional(EventKind::kLogout);
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<Event> EventFromRecord(const LoginRecord& r, EventSource source) {
  std::optional<EventKind> kind = KindOf(r, source);
  if (!kind) return std::nullopt;
  Event e;
  e.time_us = r.time_us();
  e.kind = *kind;
  e.user = std::string(r.user);
  e.tty = std::string(r.line);
  e.remote_host = std::string(r.host);
  e.remote_addr = r.addr;
  e.pid = r.pid;
  e.session = r.session;
  e.source = source;
  return e;
}

}  // namespace utmpcd
