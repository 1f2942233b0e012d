#include "api/finger.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <ctime>

#include "core/text.h"

namespace utmpcd {
namespace {

// Longer is no user name of any system here; RFC 1288 sets no bound, a server may.
constexpr size_t kMaxQuery = 256;

// As utmpc escapes for a terminal, and a tab too (a terminal takes it; the answer's promise is
// printable ASCII).
void AppendSafe(std::string& out, std::string_view text) {
  while (!text.empty()) {
    size_t tab = text.find('\t');
    AppendForTerminal(out, text.substr(0, tab), TerminalCharset::kAscii);
    if (tab == std::string_view::npos) break;
    out += "*I";
    text.remove_prefix(tab + 1);
  }
}

// "Mon Dec  7 10:00" in the host's time zone, as who and finger show a login.
std::string LoginTime(int64_t time_us) {
  time_t t = static_cast<time_t>(time_us / 1000000);
  struct tm local {};
  char buf[32] = "?";
  if (localtime_r(&t, &local) != nullptr) {
    std::strftime(buf, sizeof buf, "%a %b %e %H:%M", &local);
  }
  return buf;
}

void AppendPadded(std::string& out, std::string_view text, size_t width) {
  size_t start = out.size();
  AppendSafe(out, text);
  if (out.size() - start < width) out.append(width - (out.size() - start), ' ');
}

}  // namespace

FingerQuery ParseFingerQuery(std::string_view line) {
  FingerQuery q;
  if (line.ends_with('\r')) line.remove_suffix(1);
  if (line.size() > kMaxQuery) {
    q.bad = true;
    return q;
  }
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      q.bad = true;
      return q;
    }
  }
  // {W}: "/W" (any case), then spaces.
  if (line.size() >= 2 && line[0] == '/' && (line[1] == 'W' || line[1] == 'w')) {
    q.verbose = true;
    line.remove_prefix(2);
  }
  while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  while (!line.empty() && line.back() == ' ') line.remove_suffix(1);
  if (line.find('@') != std::string_view::npos) {
    q.forward = true;
    return q;
  }
  if (line.find(' ') != std::string_view::npos) {
    q.bad = true;
    return q;
  }
  q.user = std::string(line);
  return q;
}

std::string FingerAnswer(const FingerQuery& query, Tier tier, const HostSummary& host,
                         const std::vector<LiveSession>& sessions) {
  std::string out;
  if (query.bad) return "finger: not a query (RFC 1288: [/W] [user])\r\n";
  if (query.forward) return "finger: forwarding is not served here\r\n";
  if (tier < Tier::kSessions) {
    // The same text whoever is asked for: whether a name is known is not said.
    out += "utmpcd on ";
    AppendSafe(out, host.hostname);
    fmt::format_to(std::back_inserter(out),
                   ": {} user{}, {} session{}, up {} day{}, {:02}:{:02}\r\n", host.users,
                   host.users == 1 ? "" : "s", host.sessions, host.sessions == 1 ? "" : "s",
                   host.uptime_s / 86400, host.uptime_s / 86400 == 1 ? "" : "s",
                   host.uptime_s % 86400 / 3600, host.uptime_s % 3600 / 60);
    out += "Who is on is not told to this network.\r\n";
    return out;
  }
  std::vector<const LiveSession*> listed;
  for (const LiveSession& s : sessions) {
    if (query.user.empty() || s.user == query.user) listed.push_back(&s);
  }
  std::stable_sort(listed.begin(), listed.end(), [](const LiveSession* a, const LiveSession* b) {
    return a->login_time_us < b->login_time_us;
  });
  if (listed.empty() && !query.user.empty()) {
    out += "finger: ";
    AppendSafe(out, query.user);
    out += ": not logged in\r\n";
    return out;
  }
  out += "Login     Tty          Login Time        Where\r\n";
  for (const LiveSession* s : listed) {
    AppendPadded(out, s->user, 9);
    out += ' ';
    AppendPadded(out, s->line, 12);
    out += ' ';
    AppendPadded(out, LoginTime(s->login_time_us), 17);
    out += ' ';
    AppendSafe(out, s->host);
    while (out.back() == ' ') out.pop_back();
    out += "\r\n";
  }
  return out;
}

}  // namespace utmpcd
