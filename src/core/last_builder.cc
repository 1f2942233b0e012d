#include "core/last_builder.h"

#include <cctype>
#include <cstring>

#include "core/strings_internal.h"

namespace utmpcd {
namespace {

using internal::StartsWith;

// A runlevel record for halt (0) or reboot (6): last.c treats it as a shutdown.
bool ShutsDown(const LoginRecord& runlevel) {
  char level = static_cast<char>(runlevel.pid & 255);
  return level == '0' || level == '6';
}

// strncmp(field, arg, size) == 0, for a field that holds no NUL before its end.
bool FieldEquals(std::string_view field, std::string_view arg, size_t size) {
  return field == arg.substr(0, size);
}

// The tty column: "ftp" and "uucp" sessions carry a number that last.c cuts off. Inlined
// into Step, for every login; most lines start with neither letter.
[[gnu::always_inline]] inline std::string_view DisplayLine(std::string_view line) {
  if (line.empty() || (line[0] != 'f' && line[0] != 'u')) return line;
  if (StartsWith(line, "ftp") && line.size() > 3 && std::isdigit(static_cast<unsigned char>(line[3])))
    return line.substr(0, 3);
  if (StartsWith(line, "uucp") && line.size() > 4 &&
      std::isdigit(static_cast<unsigned char>(line[4])))
    return line.substr(0, 4);
  return line;
}

}  // namespace

const char* SessionEndName(SessionEnd end) {
  switch (end) {
    case SessionEnd::kLogout:
      return "logout";
    case SessionEnd::kCrash:
      return "crash";
    case SessionEnd::kDown:
      return "down";
    case SessionEnd::kStillLoggedIn:
      return "still";
    case SessionEnd::kBoot:
      return "boot";
    case SessionEnd::kGone:
      return "gone";
    case SessionEnd::kTimeChange:
      return "time_change";
  }
  return "unknown";
}

LastBuilder::LastBuilder(const LastQuery& query, int64_t now_s, PhantomCheck is_phantom)
    : query_(query),
      is_phantom_(std::move(is_phantom)),
      last_runlevel_{now_s, 0},
      last_down_{now_s, 0},
      now_{now_s, 0} {}

bool LastBuilder::Shown(const LoginRecord& r, std::string_view line) const {
  if (query_.show.empty()) return true;
  for (const std::string& want : query_.show) {
    if (FieldEquals(r.user, want, kUserSize) || line == want ||
        (StartsWith(line, "tty") && line.substr(3) == want)) {
      return true;
    }
  }
  return false;
}

const LastRow* LastBuilder::Row(const LoginRecord& r, std::string_view line, RecordTime logout,
                                SessionEnd end) {
  if (!Shown(r, line)) return nullptr;
  if (query_.present_s != 0) {
    if (query_.present_s < r.time_s) return nullptr;
    if (0 < logout.s && logout.s < query_.present_s) return nullptr;
  }
  row_ = LastRow{&r, line, r.time_s, logout.s, end, logout.usec};
  return &row_;
}

const LastRow* LastBuilder::RowEnded(const LoginRecord& r, std::string_view line, bool boot) {
  auto end = row_ends_.find(r.row);
  if (end != row_ends_.end()) {
    RecordTime at = end->second;
    row_ends_.erase(end);
    return Row(r, line, at, boot ? SessionEnd::kBoot : SessionEnd::kLogout);
  }
  if (newer_boot_.s != 0) return Row(r, line, newer_boot_, SessionEnd::kCrash);
  return boot ? Row(r, line, now_, SessionEnd::kBoot)
              : Row(r, line, RecordTime{}, SessionEnd::kStillLoggedIn);
}

const LastRow* LastBuilder::Login(const LoginRecord& r, std::string_view line) {
  if (r.row != 0) return RowEnded(r, line, false);
  // The nearest later record on this line closes this login; this login then closes the ones
  // before it (as a logout would).
  RecordTime closed_at;
  bool closed = !r.line.empty() && open_lines_.Exchange(r.line, r.time(), &closed_at);
  if (closed) return Row(r, line, closed_at, SessionEnd::kLogout);
  if (last_boot_.s != 0) return Row(r, line, last_boot_, why_down_);
  // Checked only for a row that will show: the check reads /proc and the user database.
  if (!Shown(r, line)) return nullptr;
  return Row(r, line, last_boot_,
             is_phantom_ && is_phantom_(r) ? SessionEnd::kGone : SessionEnd::kStillLoggedIn);
}

bool LastBuilder::IsBarrier(const LoginRecord& r) const {
  if (OutsideTimes(r)) return false;
  if (query_.btmp) return true;
  int16_t type = EffectiveType(r);
  return type == kShutdownTime || (type == kRunLevel && ShutsDown(r));
}

void LastBuilder::ResumeAfter(const LoginRecord& barrier) {
  // Step's state after a barrier depends on the barrier alone; the row it may list is dropped.
  (void)Step(barrier);
}

const LastRow* LastBuilder::Step(const LoginRecord& r) {
  if (query_.btmp) return Row(r, DisplayLine(r.line), r.time(), SessionEnd::kLogout);
  return StepTyped(r, EffectiveType(r));
}

const LastRow* LastBuilder::StepTyped(const LoginRecord& r, int16_t type) {
  const LastRow* row = nullptr;
  bool down = false;
  switch (type) {
    case kShutdownTime:
      if (r.row != 0) row_ends_[r.row] = r.time();  // a wtmpdb boot row's end
      if (query_.extended) row = Row(r, "system down", last_boot_, SessionEnd::kLogout);
      last_down_ = last_runlevel_ = r.time();
      down = true;
      break;
    case kOldTime:
    case kNewTime:
      if (query_.extended) {
        row = Row(r, type == kNewTime ? "new time" : "old time", last_down_,
                  SessionEnd::kTimeChange);
      }
      break;
    case kBootTime:
      row = r.row != 0 ? RowEnded(r, "system boot", true)
                       : Row(r, "system boot", last_down_, SessionEnd::kBoot);
      last_boot_ = newer_boot_ = r.time();
      down = true;
      break;
    case kRunLevel: {
      char level = static_cast<char>(r.pid & 255);
      if (query_.extended) {
        line_buffer_ = "(to lvl ";
        if (level != '\0') line_buffer_ += std::string{level, ')'};
        row = Row(r, line_buffer_, last_runlevel_, SessionEnd::kLogout);
      }
      if (ShutsDown(r)) {
        last_down_ = r.time();
        down = true;
        type = kShutdownTime;
      }
      last_runlevel_ = r.time();
      break;
    }
    case kUserProcess:
      row = Login(r, DisplayLine(r.line));
      break;
    case kDeadProcess:
      CloseLine(r);
      break;
    default:  // EMPTY, INIT_PROCESS, LOGIN_PROCESS, ACCOUNTING: nothing to list
      break;
  }
  if (down) {
    last_boot_ = r.time();
    why_down_ = type == kShutdownTime ? SessionEnd::kDown : SessionEnd::kCrash;
    open_lines_.Clear();
  }
  return row;
}

}  // namespace utmpcd
