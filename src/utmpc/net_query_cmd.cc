// utmpc who, w, uptime and lastlog over the network: the same columns as on this host, with a
// HOST column first, hosts in the order they were named (a host's sessions oldest login first,
// as the daemon lists them).
#include <fmt/format.h>
#include <time.h>

#include <cerrno>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "api/wire_decode.h"
#include "core/local_time.h"
#include "utmpc/lastlog_text.h"
#include "utmpc/net_commands.h"
#include "utmpc/net_query.h"
#include "utmpc/output.h"
#include "utmpc/usage.h"
#include "utmpc/w_text.h"
#include "utmpc/who_text.h"

namespace utmpcd {
namespace {

constexpr int64_t kDayS = 24 * 60 * 60;

// GET /v1/host and/or GET /v1/sessions (with filters) of one host, on one connection.
class SummaryExchange : public HostExchange {
 public:
  SummaryExchange(bool want_host, std::optional<std::string> sessions_target)
      : want_host_(want_host), sessions_target_(std::move(sessions_target)) {}

  std::string FirstTarget() override { return want_host_ ? "/v1/host" : *sessions_target_; }
  Result<std::optional<std::string>> OnBody(std::string_view body) override {
    if (want_host_ && !host) {
      auto decoded = DecodeHost(body);
      if (!decoded) return tl::unexpected(decoded.error());
      host = std::move(*decoded);
      return sessions_target_;
    }
    auto decoded = DecodeSessions(body);
    if (!decoded) return tl::unexpected(decoded.error());
    sessions = std::move(*decoded);
    return std::nullopt;
  }

  std::optional<ApiHost> host;
  std::vector<ApiSession> sessions;

 private:
  bool want_host_;
  std::optional<std::string> sessions_target_;
};

// GET /v1/lastlog of one host.
class LastlogExchange : public HostExchange {
 public:
  explicit LastlogExchange(std::string target) : target_(std::move(target)) {}
  std::string FirstTarget() override { return target_; }
  Result<std::optional<std::string>> OnBody(std::string_view body) override {
    auto decoded = DecodeLastlog(body);
    if (!decoded) return tl::unexpected(decoded.error());
    users = std::move(*decoded);
    return std::nullopt;
  }

  std::vector<ApiLastlog> users;

 private:
  std::string target_;
};

template <typename Exchange>
std::vector<HostExchange*> Pointers(std::vector<Exchange>& exchanges) {
  std::vector<HostExchange*> pointers;
  for (Exchange& e : exchanges) pointers.push_back(&e);
  return pointers;
}

// Writes `text` to stdout; 1 (after saying so) when that failed.
int Write(Output& out, const char* command) {
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc {}: write error: {}\n", command, std::strerror(errno));
    return 1;
  }
  return 0;
}

int NoOperands(const std::vector<std::string>& operands, const char* command) {
  if (operands.empty()) return -1;
  fmt::print(stderr, "utmpc {}: extra operand '{}' (name hosts with @HOST)\n", command,
             operands[0]);
  return kUsageError;
}

// An option the command has locally but not over the network: says which, and `why`.
int Unavailable(const char* command, int c, const char* why = "") {
  if (c != '?') {
    std::string option = (c > ' ' && c < 127) ? fmt::format("-{}", static_cast<char>(c))
                                              : std::string("this option");
    fmt::print(stderr, "utmpc {}: {} is not available over the network{}\n", command, option,
               why);
  }
  fmt::print(stderr, "Try 'utmpc {} --help' for more information.\n", command);
  return kUsageError;
}

// ---- who ----

void WhoRows(std::string& out, const WhoTextOptions& o, const HostColumn& column, size_t host,
             const std::vector<ApiSession>& sessions, LocalClock& clock, int64_t now_s) {
  for (const ApiSession& s : sessions) {
    std::string t = WhoTimeString(clock, SecondsOf(s.login_time_us), o.hard_locale);
    std::string idle =
        s.idle_s ? WhoIdleString(now_s - *s.idle_s, INT64_MIN, now_s) : std::string("  ?");
    std::string pid = std::to_string(s.pid);
    std::string comment = s.host.empty() ? "" : "(" + s.host + ")";
    column.Append(out, host);
    AppendWhoRow(out, o, {s.user, ' ', s.tty, t, idle, pid, comment, ""});
  }
}

}  // namespace

int RunNetWho(int argc, char** argv) {
  NetArgs args;
  WhoTextOptions o;
  o.short_output = true;
  bool heading = false, count = false;
  std::vector<std::string> operands;
  int status = ParseNetCommandLine(
      argc, argv, "who", "Hqsuhabdlprt",
      {{"heading", no_argument, nullptr, 'H'},
       {"count", no_argument, nullptr, 'q'},
       {"short", no_argument, nullptr, 's'},
       {"users", no_argument, nullptr, 'u'},
       {"help", no_argument, nullptr, 'h'}},
      false,
      [&](int c, const char*) {
        if (c == 'H') {
          heading = true;
        } else if (c == 'q') {
          count = true;
        } else if (c == 's') {
          o.short_output = true;
        } else if (c == 'u') {
          o.include_idle = true;
          o.short_output = false;
        } else if (c == 'h') {
          std::fputs(
              "Usage: utmpc who [-H] [-q] [-s] [-u] [--json] @HOST... "
              "[--hosts-file FILE] [--timeout SECONDS]\n",
              stdout);
          return 0;
        } else if (std::strchr("abdlprt", c) != nullptr) {
          // Boot time, dead processes, login and init lines, runlevel, clock: utmp records
          // the daemon does not serve.
          return Unavailable("who", c, " (it reads the host's utmp file: run who there)");
        } else {
          return Unavailable("who", c);
        }
        return -1;
      },
      &args, &operands);
  if (status < 0) status = NoOperands(operands, "who");
  if (status >= 0) return status;
  o.hard_locale = HardLocaleTime();
  o.charset = CurrentTerminalCharset();

  std::vector<SummaryExchange> exchanges(args.hosts.size(), SummaryExchange(false, "/v1/sessions"));
  auto results = RunExchanges(args, Pointers(exchanges));
  Output out(stdout);
  if (args.json) {
    HostsJson json(&out.buffer());
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      if (!json.BeginHost(args.hosts[i].label, results[i])) continue;
      json.Array("sessions", exchanges[i].sessions);
      json.EndHost();
    }
    json.End();
  } else if (count) {
    HostColumn column(args.hosts, o.charset);
    size_t users = 0;
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      if (!results[i]) continue;
      column.Append(out.buffer(), i);
      for (size_t k = 0; k < exchanges[i].sessions.size(); ++k) {
        if (k != 0) out.buffer() += ' ';
        AppendForTerminal(out.buffer(), exchanges[i].sessions[k].user, o.charset);
      }
      out.buffer() += '\n';
      users += exchanges[i].sessions.size();
    }
    fmt::format_to(std::back_inserter(out.buffer()), "# users={}\n", users);
  } else {
    HostColumn column(args.hosts, o.charset);
    if (heading) {
      column.AppendHeading(out.buffer());
      AppendWhoHeading(out.buffer(), o);
    }
    LocalClock clock;
    int64_t now_s = ::time(nullptr);
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      WhoRows(out.buffer(), o, column, i, exchanges[i].sessions, clock, now_s);
    }
  }
  return Write(out, "who") | StatusOf(results);
}

// ---- w and uptime ----

namespace {

std::string HostUptime(const ApiHost& h, LocalClock& clock) {
  return UptimeLine(clock.Local(SecondsOf(h.time_us)), h.uptime_s, h.sessions, h.load);
}

}  // namespace

int RunNetW(int argc, char** argv) {
  NetArgs args;
  WTextOptions o;
  bool header = true;
  std::vector<std::string> operands;
  int status = ParseNetCommandLine(
      argc, argv, "w", "hsf",
      {{"no-header", no_argument, nullptr, 'h'},
       {"short", no_argument, nullptr, 's'},
       {"from", no_argument, nullptr, 'f'},
       {"help", no_argument, nullptr, 'H'}},
      false,
      [&](int c, const char*) {
        if (c == 'h') {
          header = false;
        } else if (c == 's') {
          o.short_form = true;
        } else if (c == 'f') {
          o.show_from = !o.show_from;
        } else if (c == 'H') {
          std::fputs(
              "Usage: utmpc w [-h] [-s] [-f] [--json] @HOST... [user] "
              "[--hosts-file FILE] [--timeout SECONDS]\n",
              stdout);
          return 0;
        } else {
          return Unavailable("w", c);
        }
        return -1;
      },
      &args, &operands);
  if (status < 0 && operands.size() > 1) {
    fmt::print(stderr, "utmpc w: too many arguments\n");
    status = 1;
  }
  if (status >= 0) return status;
  std::string target = "/v1/sessions";
  if (!operands.empty()) AddParam(&target, "user", operands[0]);
  o.charset = CurrentTerminalCharset();

  std::vector<SummaryExchange> exchanges(args.hosts.size(), SummaryExchange(true, target));
  auto results = RunExchanges(args, Pointers(exchanges));
  Output out(stdout);
  if (args.json) {
    HostsJson json(&out.buffer());
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      if (!json.BeginHost(args.hosts[i].label, results[i])) continue;
      json.Field("summary", exchanges[i].host->json);
      json.Array("sessions", exchanges[i].sessions);
      json.EndHost();
    }
    json.End();
    return Write(out, "w") | StatusOf(results);
  }
  HostColumn column(args.hosts, o.charset);
  LocalClock clock;
  if (header) {
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      if (!results[i]) continue;
      column.Append(out.buffer(), i);
      out.buffer() += HostUptime(*exchanges[i].host, clock);
      out.buffer() += '\n';
    }
    column.AppendHeading(out.buffer());
    AppendWHeading(out.buffer(), o);
  }
  for (size_t i = 0; i < args.hosts.size(); ++i) {
    if (!results[i]) continue;
    // LOGIN@ and IDLE as the host saw them when it answered.
    int64_t now_s = SecondsOf(exchanges[i].host->time_us);
    for (const ApiSession& s : exchanges[i].sessions) {
      column.Append(out.buffer(), i);
      AppendWRow(out.buffer(), o, {s.user, s.tty, s.host, SecondsOf(s.login_time_us), s.idle_s},
                 clock, now_s);
    }
  }
  return Write(out, "w") | StatusOf(results);
}

int RunNetUptime(int argc, char** argv) {
  NetArgs args;
  std::vector<std::string> operands;
  int status = ParseNetCommandLine(
      argc, argv, "uptime", "h", {{"help", no_argument, nullptr, 'h'}}, true,
      [&](int c, const char*) {
        if (c == 'h') {
          std::fputs(
              "Usage: utmpc uptime [--json] HOST... [--hosts-file FILE] "
              "[--timeout SECONDS]\n",
              stdout);
          return 0;
        }
        return Unavailable("uptime", c);
      },
      &args, &operands);
  if (status >= 0) return status;

  std::vector<SummaryExchange> exchanges(args.hosts.size(), SummaryExchange(true, std::nullopt));
  auto results = RunExchanges(args, Pointers(exchanges));
  Output out(stdout);
  if (args.json) {
    HostsJson json(&out.buffer());
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      if (!json.BeginHost(args.hosts[i].label, results[i])) continue;
      json.Field("summary", exchanges[i].host->json);
      json.EndHost();
    }
    json.End();
  } else {
    HostColumn column(args.hosts, CurrentTerminalCharset());
    LocalClock clock;
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      if (!results[i]) continue;
      column.Append(out.buffer(), i);
      out.buffer() += HostUptime(*exchanges[i].host, clock);
      out.buffer() += '\n';
    }
  }
  return Write(out, "uptime") | StatusOf(results);
}

// ---- lastlog ----

int RunNetLastlog(int argc, char** argv) {
  NetArgs args;
  std::string target = "/v1/lastlog";
  std::optional<int64_t> newer_than_s, older_than_s;
  std::vector<std::string> operands;
  int status = ParseNetCommandLine(
      argc, argv, "lastlog", "u:t:b:h",
      {{"user", required_argument, nullptr, 'u'},
       {"time", required_argument, nullptr, 't'},
       {"before", required_argument, nullptr, 'b'},
       {"help", no_argument, nullptr, 'h'}},
      false,
      [&](int c, const char* arg) {
        if (c == 'u') {
          AddParam(&target, "user", arg);
        } else if (c == 't' || c == 'b') {
          char* end = nullptr;
          errno = 0;
          unsigned long days = std::strtoul(arg, &end, 0);
          if (*arg == '\0' || *end != '\0' || errno == ERANGE || days > INT64_MAX / kDayS) {
            fmt::print(stderr, "utmpc lastlog: invalid numeric argument '{}'\n", arg);
            return kUsageError;
          }
          (c == 't' ? newer_than_s : older_than_s) = static_cast<int64_t>(days) * kDayS;
        } else if (c == 'h') {
          std::fputs(
              "Usage: utmpc lastlog [-u LOGIN] [-t DAYS] [-b DAYS] [--json] @HOST... "
              "[--hosts-file FILE] [--timeout SECONDS]\n",
              stdout);
          return 0;
        } else {
          return Unavailable("lastlog", c);
        }
        return -1;
      },
      &args, &operands);
  if (status < 0) status = NoOperands(operands, "lastlog");
  if (status >= 0) return status;

  std::vector<LastlogExchange> exchanges(args.hosts.size(), LastlogExchange(target));
  auto results = RunExchanges(args, Pointers(exchanges));
  int64_t now_s = ::time(nullptr);
  // lastlog -t and -b: the age of the newest login, a user who never logged in being oldest.
  for (LastlogExchange& e : exchanges) {
    std::erase_if(e.users, [&](const ApiLastlog& u) {
      int64_t age_s = now_s - (u.time_us ? SecondsOf(*u.time_us) : 0);
      return (newer_than_s && age_s > *newer_than_s) || (older_than_s && age_s < *older_than_s);
    });
  }
  Output out(stdout);
  if (args.json) {
    HostsJson json(&out.buffer());
    for (size_t i = 0; i < args.hosts.size(); ++i) {
      if (!json.BeginHost(args.hosts[i].label, results[i])) continue;
      json.Array("lastlog", exchanges[i].users);
      json.EndHost();
    }
    json.End();
    return Write(out, "lastlog") | StatusOf(results);
  }
  TerminalCharset charset = CurrentTerminalCharset();
  HostColumn column(args.hosts, charset);
  bool heading = false;
  for (size_t i = 0; i < args.hosts.size(); ++i) {
    for (const ApiLastlog& u : exchanges[i].users) {
      if (!heading) {
        column.AppendHeading(out.buffer());
        AppendLastlogHeading(out.buffer());
        heading = true;
      }
      column.Append(out.buffer(), i);
      AppendLastlogRow(out.buffer(), u.user, u.tty.value_or(""), u.host.value_or(""),
                       u.time_us ? SecondsOf(*u.time_us) : 0, charset);
    }
  }
  return Write(out, "lastlog") | StatusOf(results);
}

}  // namespace utmpcd

namespace utmpcd {

bool WantsNetwork(std::string_view command, int argc, char** argv) {
  bool bare_hosts = command == "uptime";
  if (command != "who" && command != "w" && command != "last" && command != "lastb" &&
      command != "lastlog" && !bare_hosts) {
    return false;
  }
  if (const char* server = std::getenv("UTMPC_SERVER"); server != nullptr && *server != '\0')
    return true;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (IsHostArgument(arg) || arg.starts_with("--hosts-file") || arg.starts_with("--server"))
      return true;
    if (!bare_hosts) continue;
    if (arg == "--file" || arg == "--socket" || arg == "--timeout") {
      ++i;  // its value is a file or a number
    } else if (!arg.starts_with('-')) {
      return true;
    }
  }
  return false;
}

int RunNet(std::string_view command, int argc, char** argv) {
  if (command == "who") return RunNetWho(argc, argv);
  if (command == "w") return RunNetW(argc, argv);
  if (command == "uptime") return RunNetUptime(argc, argv);
  if (command == "lastlog") return RunNetLastlog(argc, argv);
  return RunNetLast(argc, argv, command == "lastb");
}

}  // namespace utmpcd
