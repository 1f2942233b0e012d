#include "core/record_event.h"

#include <algorithm>
#include <string>
#include <string_view>

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

// A text field as a utmp record holds it: up to the first NUL, at most `size` bytes.
std::string_view Field(const std::string& text, size_t size) {
  std::string_view view(text);
  return view.substr(0, std::min(view.find('\0'), size));
}

int16_t TypeOf(const Event& e, const LoginRecord& r) {
  switch (e.kind) {
    case EventKind::kLogin:
      return kUserProcess;
    case EventKind::kLogout:
    case EventKind::kGone:
      return kDeadProcess;
    case EventKind::kBoot:
      return kBootTime;
    case EventKind::kShutdown: {
      // A "shutdown" on "~", or a change to runlevel 0 or 6, reads as a shutdown from RUN_LVL.
      // Anything else was stored from a record whose own type said so.
      LoginRecord as_runlevel = r;
      as_runlevel.type = kRunLevel;
      int16_t type = EffectiveType(as_runlevel);
      char level = static_cast<char>(r.pid & 255);
      bool down = type == kShutdownTime || (type == kRunLevel && (level == '0' || level == '6'));
      return down ? int16_t{kRunLevel} : kShutdownTime;
    }
    case EventKind::kRunlevel:
      return kRunLevel;
    case EventKind::kClock:
      return r.line.starts_with("{") ? kNewTime : kOldTime;
    case EventKind::kFailed:
      return kLoginProcess;
  }
  return kEmpty;
}

}  // namespace

LoginRecord RecordFromEvent(const Event& e) {
  LoginRecord r;
  r.pid = e.pid;
  r.line = Field(e.tty, kLineSize);
  r.user = Field(e.user, kUserSize);
  r.host = Field(e.remote_host, kHostSize);
  r.session = static_cast<int32_t>(e.session);
  // Floor division: a time before the epoch keeps 0 <= usec < 1000000, as a record would.
  r.time_s = e.time_us / 1000000;
  r.time_usec = static_cast<int32_t>(e.time_us % 1000000);
  if (r.time_usec < 0) {
    r.time_usec += 1000000;
    r.time_s -= 1;
  }
  r.addr = e.remote_addr;
  r.type = TypeOf(e, r);
  if (e.source == EventSource::kWtmpdb && e.session > 0) r.row = e.session;
  return r;
}

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
