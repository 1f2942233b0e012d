#include "utmpc/w_text.h"

#include <fmt/format.h>

#include <iterator>

namespace utmpcd {
namespace {

// w's defaults for USERLEN and FROMLEN, and its tty column ("%-9.8s").
constexpr size_t kUserWidth = 8;
constexpr size_t kTtyWidth = 8;
constexpr size_t kFromWidth = 16;

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

// "%-W.Ws" of text made safe for a terminal: at most `width` bytes of the record, padded to
// `width` (escapes can make a hostile field wider; clean text lines up as in w).
void AppendField(std::string& out, std::string_view text, size_t width, TerminalCharset cs) {
  size_t start = out.size();
  AppendForTerminal(out, text.substr(0, width), cs);
  size_t len = out.size() - start;
  if (len < width) out.append(width - len, ' ');
}

// w's print_host(): at most 16 bytes of the host; w ends it at the first byte that is not a
// printable non-space, which it shows as '-'. Whitespace is cut so (the columns stay
// columns); anything else is escaped for the terminal instead, where w would hide it.
void AppendFrom(std::string& out, std::string_view host, TerminalCharset cs) {
  if (host.empty()) host = "-";
  host = host.substr(0, kFromWidth);
  size_t space = host.find_first_of(" \t");
  size_t start = out.size();
  AppendForTerminal(out, host.substr(0, space), cs);
  if (space != std::string_view::npos) out += '-';
  size_t len = out.size() - start;
  if (len < kFromWidth) out.append(kFromWidth - len, ' ');
}

// w's print_logintime().
void AppendLoginTime(std::string& out, int64_t login_s, LocalClock& clock, int64_t now_s) {
  CivilTime login = clock.Local(login_s);
  CivilTime now = clock.Local(now_s);
  bool same_day = login.year == now.year && login.month == now.month && login.day == now.day;
  auto o = std::back_inserter(out);
  if (now_s - login_s > 12 * 60 * 60 && !same_day) {
    if (now_s - login_s > 6 * 24 * 60 * 60) {
      fmt::format_to(o, " {:02}{:>3}{:02}", login.day, kMonths[login.month - 1], login.year % 100);
    } else {
      fmt::format_to(o, " {:>3}{:02}  ", kWeekdays[login.weekday], login.hour);
    }
  } else {
    fmt::format_to(o, " {:02}:{:02}  ", login.hour, login.minute);
  }
}

// w's print_time_ival7(): seven columns of idle time.
void AppendIdle(std::string& out, std::optional<int64_t> idle_s) {
  auto o = std::back_inserter(out);
  if (!idle_s || *idle_s < 0) {
    out += "   ?   ";
  } else if (int64_t t = *idle_s; t >= 48 * 60 * 60) {
    fmt::format_to(o, " {:2}days", t / (24 * 60 * 60));
  } else if (t >= 60 * 60) {
    fmt::format_to(o, " {:2}:{:02}m", t / (60 * 60), t / 60 % 60);
  } else if (t > 60) {
    fmt::format_to(o, " {:2}:{:02}s", t / 60, t % 60);
  } else {
    fmt::format_to(o, " {:2}.00s", t);
  }
}

}  // namespace

std::string UptimeLine(const CivilTime& now, int64_t uptime_s, int64_t users,
                       const std::array<double, 3>& load) {
  std::string line = fmt::format(" {:02}:{:02}:{:02} up ", now.hour, now.minute, now.second);
  auto o = std::back_inserter(line);
  int64_t days = uptime_s / (24 * 60 * 60);
  int64_t hours = uptime_s / (60 * 60) % 24;
  int64_t minutes = uptime_s / 60 % 60;
  if (days != 0) fmt::format_to(o, "{} {}, ", days, days > 1 ? "days" : "day");
  if (hours != 0) {
    fmt::format_to(o, "{:2}:{:02}, ", hours, minutes);
  } else {
    fmt::format_to(o, "{} min, ", minutes);
  }
  fmt::format_to(o, "{:2} {},  load average: {:.2f}, {:.2f}, {:.2f}", users,
                 users > 1 ? "users" : "user", load[0], load[1], load[2]);
  return line;
}

void AppendWHeading(std::string& out, const WTextOptions& o) {
  out += "USER     TTY      ";
  // w pads the heading to one less than the column (its fromlen - 1): LOGIN@ then stands one
  // right of the row's leading space, above the time.
  if (o.show_from) out += "FROM           ";
  out += o.short_form ? "   IDLE\n" : "  LOGIN@   IDLE\n";
}

void AppendWRow(std::string& out, const WTextOptions& o, const WRow& row, LocalClock& clock,
                int64_t now_s) {
  AppendField(out, row.user, kUserWidth, o.charset);
  out += ' ';
  AppendField(out, row.tty, kTtyWidth, o.charset);
  out += ' ';
  if (o.show_from) AppendFrom(out, row.from, o.charset);
  if (!o.short_form) AppendLoginTime(out, row.login_s, clock, now_s);
  AppendIdle(out, row.idle_s);
  out += '\n';
}

std::string PrettyUptime(double up_s) {
  struct Unit {
    double seconds;
    const char* one;
    const char* many;
  };
  static constexpr Unit kUnits[] = {{315360000, "decade", "decades"},
                                    {31536000, "year", "years"},
                                    {604800, "week", "weeks"},
                                    {86400, "day", "days"},
                                    {3600, "hour", "hours"}};
  std::string out = "up ";
  for (const Unit& u : kUnits) {
    if (up_s <= u.seconds) continue;
    int n = static_cast<int>(up_s / u.seconds);
    up_s -= n * u.seconds;
    out += fmt::format("{}{} {}", out.size() > 3 ? ", " : "", n, n > 1 ? u.many : u.one);
  }
  int minutes = up_s > 60 ? static_cast<int>(up_s / 60) : 0;
  return out + fmt::format("{}{} {}", out.size() > 3 ? ", " : "", minutes,
                           minutes != 1 ? "minutes" : "minute");
}

}  // namespace utmpcd
