#include "api/history_json.h"

#include <fmt/format.h>

#include "api/wire_json.h"
#include "core/local_time.h"
#include "core/text.h"
#include "formats/utmp.h"

namespace utmpcd {
namespace {

void AppendUtcIso(std::string& out, int64_t t_s) { AppendIso8601(out, CivilFromUnix(t_s, 0)); }

// The row's type, from the tty column last.c rewrote for system records.
const char* RowType(const LastRow& row, bool btmp) {
  if (btmp) return "failed";
  if (row.end == SessionEnd::kBoot) return "boot";
  if (row.end == SessionEnd::kTimeChange) return "clock";
  if (row.line == "system down") return "shutdown";
  if (row.line.substr(0, 8) == "(to lvl ") return "runlevel";
  return "login";
}

}  // namespace

void AppendLastRowFields(std::string& o, const LastRow& row, int64_t now_s, bool btmp) {
  const LoginRecord& r = *row.record;
  o += "\"type\":";
  AppendJsonString(o, RowType(row, btmp));
  o += ',';
  AppendUserTtyHost(o, r.user, row.line, r.host);
  o += ",\"addr\":";
  if (HasAddress(r)) {
    AppendJsonString(o, AddressText(r));
  } else {
    o += "null";
  }
  o += fmt::format(",\"pid\":{},\"login\":\"", r.pid);
  AppendUtcIso(o, row.login_s);
  o += fmt::format("\",\"login_time_us\":{}", r.time_us());

  // "end" names how the session ended; a logout time exists only for a real end.
  // last's "still running": a boot (or -x row) measured against now. A login that really
  // ended within this second is not running (last prints it so; the JSON says what happened).
  bool running = row.logout_s == now_s &&
                 (row.end == SessionEnd::kBoot ||
                  (row.end == SessionEnd::kLogout && EffectiveType(r) != kUserProcess));
  const char* end = running ? "running" : SessionEndName(row.end);
  bool has_logout = !running && row.end != SessionEnd::kStillLoggedIn &&
                    row.end != SessionEnd::kGone && row.end != SessionEnd::kTimeChange;
  o += ",\"end\":";
  AppendJsonString(o, end);
  if (has_logout) {
    o += ",\"logout\":\"";
    AppendUtcIso(o, row.logout_s);
    o += fmt::format("\",\"logout_time_us\":{},\"duration_s\":{}", row.logout_us(),
                     row.logout_s - row.login_s);
  } else {
    o += ",\"logout\":null,\"logout_time_us\":null,\"duration_s\":null";
  }
}

}  // namespace utmpcd
