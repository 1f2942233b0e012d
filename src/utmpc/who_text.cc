#include "utmpc/who_text.h"

#include <clocale>
#include <cstring>

#include <fmt/format.h>

#include <iterator>

namespace utmpcd {

bool HardLocaleTime() {
  const char* lc_time = std::setlocale(LC_TIME, nullptr);
  return lc_time != nullptr && std::strcmp(lc_time, "C") != 0 && std::strcmp(lc_time, "POSIX") != 0;
}
namespace {

// who's IDLESTR_LEN: the widest idle text ("HH:MM", " old ") is 5, the column 6.
constexpr size_t kIdleWidth = 6;

}  // namespace

void AppendPadded(std::string& out, std::string_view text, size_t width, TerminalCharset cs) {
  size_t start = out.size();
  AppendForTerminal(out, text, cs);
  size_t len = out.size() - start;
  if (len < width) out.append(width - len, ' ');
}

void AppendWhoRow(std::string& out, const WhoTextOptions& o, const WhoRow& row) {
  size_t start = out.size();
  AppendPadded(out, row.user, 8, o.charset);
  if (o.include_mesg) {
    out += ' ';
    out += row.state;
  }
  out += ' ';
  AppendPadded(out, row.line, 12, o.charset);
  out += ' ';
  AppendPadded(out, row.time, o.hard_locale ? 16 : 12, o.charset);
  if (o.include_idle && !o.short_output && row.idle.size() < kIdleWidth + 1) {
    out += ' ';
    AppendPadded(out, row.idle, kIdleWidth, o.charset);
  }
  if (!o.short_output) fmt::format_to(std::back_inserter(out), " {:>10}", row.pid);
  out += ' ';
  AppendPadded(out, row.comment, 8, o.charset);
  if (o.include_exit) fmt::format_to(std::back_inserter(out), " {:<12}", row.exit);
  while (out.size() > start && out.back() == ' ') out.pop_back();
  out += '\n';
}

std::string WhoTimeString(LocalClock& clock, int64_t t_s, bool hard_locale) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  CivilTime c = clock.Local(t_s);
  if (hard_locale) {
    return fmt::format("{}-{:02}-{:02} {:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute);
  }
  return fmt::format("{} {:>2} {:02}:{:02}", kMonths[c.month - 1], c.day, c.hour, c.minute);
}

std::string WhoIdleString(int64_t when_s, int64_t boot_s, int64_t now_s) {
  if (boot_s < when_s && now_s - 24 * 60 * 60 < when_s && when_s <= now_s) {
    int64_t idle_s = now_s - when_s;
    if (idle_s < 60) return "  .  ";
    return fmt::format("{:02}:{:02}", idle_s / 3600, idle_s % 3600 / 60);
  }
  return " old ";
}

}  // namespace utmpcd
