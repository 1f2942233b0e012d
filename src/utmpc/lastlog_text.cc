#include "utmpc/lastlog_text.h"

#include <time.h>

#include <ctime>

#include "utmpc/who_text.h"

namespace utmpcd {
namespace {

// lastlog's maxIPv6Addrlen: a link-local IPv6 address with "%" and an interface name
// (25 + 1 + IFNAMSIZ) is the widest host it lines up.
constexpr size_t kHostWidth = 42;

}  // namespace

void AppendLastlogHeading(std::string& out) {
  // The gap is one wider than the host column: "Latest" stands one right of the times.
  out += "Username         Port     From" + std::string(kHostWidth - 3, ' ') + "Latest\n";
}

void AppendLastlogRow(std::string& out, std::string_view user, std::string_view line,
                      std::string_view host, int64_t time_s, TerminalCharset cs) {
  AppendPadded(out, user, 16, cs);
  out += ' ';
  AppendPadded(out, line.substr(0, 8), 8, cs);  // "%-8.8s"
  out += ' ';
  AppendPadded(out, host, kHostWidth, cs);
  if (time_s == 0) {
    out += "**Never logged in**\n";
    return;
  }
  // strftime in the user's locale, as lastlog: a handful of rows, so libc's localtime is fine.
  time_t t = static_cast<time_t>(time_s);
  struct tm tm {};
  char text[80];
  if (::localtime_r(&t, &tm) == nullptr ||
      std::strftime(text, sizeof text, "%a %b %e %H:%M:%S %z %Y", &tm) == 0) {
    out += "(unknown)\n";
    return;
  }
  out += text;
  out += '\n';
}

}  // namespace utmpcd
