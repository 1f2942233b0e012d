// utmpc w and utmpc uptime on this host: procps-ng 4.0.2 w(1) and uptime(1), from utmp.
//
// Deviations, each on purpose:
// - w lists USER, TTY, FROM, LOGIN@ and IDLE; JCPU, PCPU and WHAT need the terminal's
//   processes, which utmp does not name (and the network API does not give).
// - An idle time that cannot be known (no /dev entry for the tty) is "?", where w prints 0.
// - Text from records passes through AppendForTerminal. In FROM, w ends a host at its first
//   byte that is not printable, shown as '-'; utmpc does so at a space or tab, and escapes
//   control bytes (and shows UTF-8) instead of hiding what follows them.
// - The user count is the USER_PROCESS entries of utmp, as procps counts them without systemd;
//   as in w, the rows leave out entries of unknown users and of login processes that are gone.
// - Without --file, the sessions are asked of this host's utmpcd when it answers
//   (local_daemon.h), also on hosts without utmp: then the count and the rows are the daemon's
//   live sessions, oldest login first, which leave out those whose process died (named gone
//   after [sessions] gone_grace_ms), and no row is left out here.
#include <fmt/format.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/wire_decode.h"
#include "core/local_time.h"
#include "formats/utmp.h"
#include "sources/host_state.h"
#include "utmpc/commands.h"
#include "utmpc/local_daemon.h"
#include "utmpc/local_json.h"
#include "utmpc/output.h"
#include "utmpc/usage.h"
#include "utmpc/w_text.h"

namespace utmpcd {
namespace {

// glibc's _PATH_UTMP.
constexpr char kUtmpPath[] = "/var/run/utmp";

struct LocalSession {
  std::string user, tty, host;
  int64_t login_s = 0;
  int32_t pid = 0;
  bool from_daemon = false;
  std::optional<int64_t> daemon_idle_s;  // the daemon's, for a tty this process cannot stat
  // For --json: the rest of the session.
  std::array<uint8_t, 16> addr{};
  int64_t session = 0;
  int64_t login_time_us = 0;
};

// w (find_best_proc()) leaves out an entry whose user is not in the user database or whose
// login process is gone. No process has pid 0 or below (and kill would signal groups). The
// daemon's sessions are taken as they are: it watches their processes itself.
bool IsStale(const LocalSession& s) {
  if (s.from_daemon) return false;
  return ::getpwnam(s.user.c_str()) == nullptr || s.pid <= 0 ||
         (::kill(s.pid, 0) < 0 && errno == ESRCH);
}

// The logged-in sessions of utmp (USER_PROCESS with a user name), in file order.
std::vector<LocalSession> ReadSessions(const std::string& path, const char* name) {
  std::vector<LocalSession> sessions;
  auto file = UtmpFile::Open(path);
  if (!file) {
    // As procps (getutent): a missing utmp is an empty one.
    if (file.error().code != ErrorCode::kNotFound) {
      fmt::print(stderr, "utmpc {}: warning: {}\n", name, file.error().message);
    }
    return sessions;
  }
  auto read = file->ReadForward([&](const LoginRecord& r, uint64_t) {
    if (r.type == kUserProcess && !r.user.empty()) {
      LocalSession& s = sessions.emplace_back();
      s.user = r.user;
      s.tty = r.line;
      s.host = r.host;
      s.login_s = r.time_s;
      s.pid = r.pid;
      s.addr = r.addr;
      s.session = r.session;
      s.login_time_us = r.time_us();
    }
    return true;
  });
  if (!read) fmt::print(stderr, "utmpc {}: warning: {}\n", name, read.error().message);
  return sessions;
}

// The sessions to count and list: the daemon's when `path` is the default and it answers, else
// utmp's. nullopt when --socket named a daemon that did not answer (the reason is printed).
std::optional<std::vector<LocalSession>> Sessions(const std::string& path, bool path_given,
                                                  const DaemonOptions& daemon, const char* name) {
  std::vector<ApiSession> answer;
  Asked asked = Asked::kReadFiles;
  if (path_given) {
    NoteReading(daemon, name, path);
  } else {
    asked = AskSessions(daemon, name, path, &answer);
  }
  if (asked == Asked::kFailed) return std::nullopt;
  if (asked == Asked::kReadFiles) return ReadSessions(path, name);
  std::vector<LocalSession> sessions;
  for (ApiSession& s : answer) {
    sessions.push_back(
        {.user = std::move(s.user),
         .tty = std::move(s.tty),
         .host = std::move(s.host),
         .login_s = SecondsOf(s.login_time_us),
         .pid = static_cast<int32_t>(std::clamp<int64_t>(s.pid, INT32_MIN, INT32_MAX)),
         .from_daemon = true,
         .daemon_idle_s = s.idle_s,
         .addr = AddrBytes(s.addr),
         .session = s.session,
         .login_time_us = s.login_time_us});
  }
  return sessions;
}

std::string LocalUptimeLine(int64_t users) {
  timespec up{};
  clock_gettime(CLOCK_BOOTTIME, &up);
  LocalClock clock;
  return UptimeLine(clock.Local(::time(nullptr)), up.tv_sec, users, LoadAverage());
}

// The distinct users of `sessions`, as GET /v1/host counts them.
int64_t DistinctUsers(const std::vector<LocalSession>& sessions) {
  std::set<std::string_view> users;
  for (const LocalSession& s : sessions) users.insert(s.user);
  return static_cast<int64_t>(users.size());
}

// w --json: {"summary":{...},"sessions":[...]}, as `utmpc w --json @HOST` gives each host's:
// the summary as GET /v1/host names its fields, the sessions as GET /v1/sessions.
void AppendWJson(std::string& o, const std::vector<LocalSession>& all,
                 const std::vector<const LocalSession*>& listed, int64_t now_s) {
  o += "{\"summary\":";
  AppendUptimeJson(o, DistinctUsers(all), static_cast<int64_t>(all.size()));
  o += ",\"sessions\":[";
  std::vector<std::string> objects;
  for (const LocalSession* s : listed) {
    std::optional<int64_t> idle_s = TerminalIdleS(s->tty, now_s);
    AppendSessionJson(objects.emplace_back(),
                      SessionJson{.user = s->user,
                                  .tty = s->tty,
                                  .host = s->host,
                                  .addr = s->addr,
                                  .pid = s->pid,
                                  .session = s->session,
                                  .login_time_us = s->login_time_us,
                                  .idle_s = idle_s ? idle_s : s->daemon_idle_s});
  }
  AppendJsonLines(o, objects);
  o += objects.empty() ? "]}\n" : "\n]}\n";
}

void WUsage(FILE* out) {
  std::fputs(
      "Usage: utmpc w [options] [user]\n"
      "       utmpc w [options] @HOST... [--hosts-file FILE] [--timeout SECONDS] [--json]\n"
      "Show who is logged on and how long they have been idle (procps w compatible).\n\n"
      "  -h, --no-header   do not print the header\n"
      "  -s, --short       short format (no LOGIN@)\n"
      "  -f, --from        toggle the FROM column\n"
      "      --file FILE   read FILE instead of /var/run/utmp (or utmpcd)\n"
      "      --json        the uptime and the sessions, as utmpcd's GET /v1/host and\n"
      "                    GET /v1/sessions give them\n",
      out);
  std::fputs(kDaemonOptionsHelp, out);
  std::fputs("      --help        display this help and exit\n", out);
}

}  // namespace

int RunW(int argc, char** argv) {
  enum { kFile = CHAR_MAX + 1, kHelp, kJson };
  static const std::vector<struct option> kLong = WithDaemonOptions({
      {"no-header", no_argument, nullptr, 'h'}, {"short", no_argument, nullptr, 's'},
      {"from", no_argument, nullptr, 'f'},      {"file", required_argument, nullptr, kFile},
      {"json", no_argument, nullptr, kJson},    {"help", no_argument, nullptr, kHelp}});
  WTextOptions o;
  bool header = true, json = false;
  std::string path = kUtmpPath;
  bool path_given = false;
  DaemonOptions daemon;
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "hsf", kLong.data(), nullptr)) != -1) {
    if (int status = TakeDaemonOption(c, optarg, "w", &daemon); status != -2) {
      if (status >= 0) return status;
    } else if (c == 'h') {
      header = false;
    } else if (c == 's') {
      o.short_form = true;
    } else if (c == 'f') {
      o.show_from = !o.show_from;
    } else if (c == kFile) {
      path = optarg;
      path_given = true;
    } else if (c == kJson) {
      json = true;
    } else if (c == kHelp) {
      WUsage(stdout);
      return 0;
    } else {
      WUsage(stderr);
      return kUsageError;
    }
  }
  if (argc - optind > 1) {
    fmt::print(stderr, "utmpc w: too many arguments\n");
    return kUsageError;
  }
  std::optional<std::string> only_user;
  if (optind < argc) only_user = argv[optind];
  o.charset = CurrentTerminalCharset();

  auto sessions = Sessions(path, path_given, daemon, "w");
  if (!sessions) return 1;
  Output out(stdout);
  LocalClock clock;
  int64_t now_s = ::time(nullptr);
  std::vector<const LocalSession*> listed;
  for (const LocalSession& s : *sessions) {
    if ((only_user && s.user != *only_user) || IsStale(s)) continue;
    listed.push_back(&s);
  }
  if (json) {
    AppendWJson(out.buffer(), *sessions, listed, now_s);
  } else {
    if (header) {
      out.buffer() += LocalUptimeLine(static_cast<int64_t>(sessions->size()));
      out.buffer() += '\n';
      AppendWHeading(out.buffer(), o);
    }
    for (const LocalSession* s : listed) {
      std::optional<int64_t> idle_s = TerminalIdleS(s->tty, now_s);
      if (!idle_s) idle_s = s->daemon_idle_s;
      AppendWRow(out.buffer(), o, {s->user, s->tty, s->host, s->login_s, idle_s}, clock, now_s);
    }
  }
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc w: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

// The seconds since boot as procps reads them, from /proc/uptime (fractions kept: -p and -s
// count from them); CLOCK_BOOTTIME, the same clock, when it cannot be read.
double UptimeSeconds() {
  double up = 0;
  if (FILE* f = std::fopen("/proc/uptime", "re")) {
    bool ok = std::fscanf(f, "%lf", &up) == 1;
    std::fclose(f);
    if (ok) return up;
  }
  timespec t{};
  clock_gettime(CLOCK_BOOTTIME, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// procps uptime -s: when the system booted, local time, now less the uptime rounded to the
// second.
std::string UptimeSince(double up_s) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  double now_s = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
  time_t since = static_cast<time_t>(now_s - up_s + 0.5);
  struct tm local {};
  localtime_r(&since, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

int RunUptime(int argc, char** argv) {
  enum { kFile = CHAR_MAX + 1, kJson };
  static const std::vector<struct option> kLong = WithDaemonOptions(
      {{"file", required_argument, nullptr, kFile},
       {"pretty", no_argument, nullptr, 'p'},
       {"since", no_argument, nullptr, 's'},
       {"json", no_argument, nullptr, kJson},
       {"help", no_argument, nullptr, 'h'}});
  bool json = false;
  std::string path = kUtmpPath;
  bool path_given = false;
  DaemonOptions daemon;
  optind = 0;
  int c;
  char form = 0;  // 'p' or 's'
  while ((c = getopt_long(argc, argv, "hps", kLong.data(), nullptr)) != -1) {
    if (int status = TakeDaemonOption(c, optarg, "uptime", &daemon); status != -2) {
      if (status >= 0) return status;
    } else if (c == kFile) {
      path = optarg;
      path_given = true;
    } else if (c == 'p' || c == 's') {
      if (form == 0 || c == 's') form = static_cast<char>(c);  // -s wins, as in procps
    } else if (c == kJson) {
      json = true;
    } else {
      FILE* out = c == 'h' ? stdout : stderr;
      std::fputs(
          "Usage: utmpc uptime [-p|--pretty] [-s|--since] [--json] [--file FILE]\n"
          "                    [--socket PATH] [--no-daemon] [--timeout SECONDS] [--verbose]\n"
          "       utmpc uptime HOST... [--hosts-file FILE] [--timeout SECONDS] [--json]\n"
          "Tell how long the system has been running (procps uptime compatible).\n"
          "The user count is of utmpcd's sessions when it answers, else of /var/run/utmp.\n"
          "--json gives {\"summary\":{...}}, the fields of utmpcd's GET /v1/host.\n",
          out);
      return c == 'h' ? 0 : kUsageError;
    }
  }
  std::string line;
  if (json) {
    auto sessions = Sessions(path, path_given, daemon, "uptime");
    if (!sessions) return 1;
    line = "{\"summary\":";
    AppendUptimeJson(line, DistinctUsers(*sessions), static_cast<int64_t>(sessions->size()));
    line += "}\n";
  } else if (form != 0) {  // neither counts users: no session source is asked
    double up_s = UptimeSeconds();
    line = (form == 'p' ? PrettyUptime(up_s) : UptimeSince(up_s)) + "\n";
  } else {
    auto sessions = Sessions(path, path_given, daemon, "uptime");
    if (!sessions) return 1;
    line = LocalUptimeLine(static_cast<int64_t>(sessions->size())) + "\n";
  }
  if (std::fputs(line.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
    fmt::print(stderr, "utmpc uptime: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace utmpcd
