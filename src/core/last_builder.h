// LastBuilder: turns login records, read newest first, into the rows util-linux `last` prints.
//
// It is util-linux 2.38 last.c's process_wtmp_file() as a state machine, decision for decision:
// a login is closed by the nearest later record on the same line (a logout, or a newer login on
// that line); a boot or shutdown closes everything open before it (crash / down); what is still
// open after the newest boot is "still logged in" unless its process is gone. Formatting is
// elsewhere (utmpc/last_text.h).
//
// Records of wtmpdb's rows (LoginRecord::row) are paired as wtmpdb last pairs them: a row's
// login or boot ends with that row's own end (its logout, or the boot's shutdown); without one,
// it is a "crash" when a newer boot follows, else still logged in (still running). The other
// records do not touch them, nor they the others' lines.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/line_table.h"
#include "core/login_record.h"

namespace utmpcd {

// How a listed session ended; the R_* of last.c.
enum class SessionEnd {
  kLogout,         // R_NORMAL: a logout (or a newer login on the same line) at logout_s
  kCrash,          // R_CRASH: the host booted again with no shutdown
  kDown,           // R_DOWN: the host was shut down
  kStillLoggedIn,  // R_NOW: open, and its process is alive
  kBoot,           // R_REBOOT: a boot record; logout_s is when that boot ended (or now)
  kGone,           // R_PHANTOM: open, but its process is gone or older than this boot
  kTimeChange,     // R_TIMECHANGE: a clock change ("new time" / "old time", with -x)
};

const char* SessionEndName(SessionEnd end);

struct LastQuery {
  bool btmp = false;      // lastb: every record is one failed login, no pairing
  bool extended = false;  // -x: list shutdowns, runlevel and clock changes too
  // 0 means unset, as in last.c. since/until drop records before pairing; present filters rows.
  int64_t since_s = 0;
  int64_t until_s = 0;
  int64_t present_s = 0;
  // User names or ttys to show ("tty1" also matches "1"); empty shows everything.
  std::vector<std::string> show;
};

// One row. `record` is the record as read; `line` is what the tty column shows ("system boot",
// "(to lvl 3)", "ftp" for "ftp123"). Both are valid only during the emit callback.
struct LastRow {
  const LoginRecord* record = nullptr;
  std::string_view line;
  int64_t login_s = 0;
  int64_t logout_s = 0;
  SessionEnd end = SessionEnd::kLogout;
  // The microseconds of the logout time, when it is a record's (0 for "now"). The columns and
  // durations use whole seconds, as last.c does; the JSON gives the exact time.
  int32_t logout_usec = 0;

  int64_t logout_us() const { return logout_s * 1000000 + logout_usec; }
};

class LastBuilder {
 public:
  // Decides, for a login still open after the newest boot, whether its process is gone.
  using PhantomCheck = std::function<bool(const LoginRecord&)>;

  // `now_s` is the time the listing starts: what "still running" compares with. One builder per
  // file: state does not carry from one file to the next.
  LastBuilder(const LastQuery& query, int64_t now_s, PhantomCheck is_phantom);

  // Feeds the next record (newest first). Calls emit(const LastRow&) for each row to list, which
  // returns false to end the listing; Feed then returns false too.
  template <typename Emit>
  bool Feed(const LoginRecord& record, Emit&& emit);

  // Whether a builder's state after `record` is the same whatever was fed before it: true for a
  // shutdown (or a change to runlevel 0 or 6) that Feed does not skip, which closes every open
  // login and sets every time the next rows are measured against; with lastb, for every record.
  // A file can be listed in pieces cut after such records, each by its own builder (on its own
  // thread), the older pieces' builders started with ResumeAfter.
  bool IsBarrier(const LoginRecord& record) const;
  // Puts this new builder in the state it would have after being fed everything up to and
  // including `barrier` (for which IsBarrier is true), without listing anything.
  void ResumeAfter(const LoginRecord& barrier);

 private:
  // A row the caller should see, after the show/present filters; the row, or nullptr.
  // Inlined into Step, which runs for every record.
  [[gnu::always_inline]] inline const LastRow* Row(const LoginRecord& r, std::string_view line,
                                                   RecordTime logout, SessionEnd end);
  [[gnu::always_inline]] inline bool Shown(const LoginRecord& r, std::string_view line) const;
  // Applies the ut_type fixes of last.c for old writers, and acts on the record; returns the
  // row it lists, if any.
  const LastRow* Step(const LoginRecord& r);
  // Step of wtmp (not btmp) for a record of EffectiveType `type`.
  const LastRow* StepTyped(const LoginRecord& r, int16_t type);
  // A logout (or any record that ends what is open on its line): the nearest later record on a
  // line closes the logins before it. Inlined into Feed: half the records of a wtmp are these.
  [[gnu::always_inline]] void CloseLine(const LoginRecord& r) {
    RecordTime unused;
    if (r.row != 0) {
      row_ends_[r.row] = r.time();
    } else if (!r.line.empty()) {
      open_lines_.Exchange(r.line, r.time(), &unused);
    }
  }
  // A wtmpdb row's login or boot: its own end, else crash after a newer boot, else open.
  const LastRow* RowEnded(const LoginRecord& r, std::string_view line, bool boot);
  [[gnu::always_inline]] inline const LastRow* Login(const LoginRecord& r, std::string_view line);
  // Whether -s/-t drop the record before pairing (as last.c does).
  bool OutsideTimes(const LoginRecord& r) const {
    return (query_.since_s != 0 && r.time_s < query_.since_s) ||
           (query_.until_s != 0 && query_.until_s < r.time_s);
  }

  const LastQuery& query_;
  PhantomCheck is_phantom_;
  // Newest to oldest, the time of the record that closes a login on each line.
  LineTable open_lines_;
  RecordTime last_boot_;  // unset while .s is 0, as last.c's lastboot
  RecordTime last_runlevel_;
  RecordTime last_down_;
  SessionEnd why_down_ = SessionEnd::kLogout;
  RecordTime now_;
  RecordTime newer_boot_;  // the nearest newer boot (not shutdown); unset while .s is 0
  // Newest to oldest, the ends of wtmpdb rows whose login or boot is still to come.
  std::unordered_map<int64_t, RecordTime> row_ends_;
  std::string line_buffer_;
  LastRow row_;
};

template <typename Emit>
bool LastBuilder::Feed(const LoginRecord& record, Emit&& emit) {
  if (OutsideTimes(record)) return true;
  const LastRow* row;
  if (query_.btmp) {
    row = Step(record);
  } else {
    const int16_t type = EffectiveType(record);
    if (type == kDeadProcess) {
      CloseLine(record);
      return true;
    }
    row = StepTyped(record, type);
  }
  return row == nullptr || emit(*row);
}

}  // namespace utmpcd
