// utmpc who: coreutils 9.1 who(1), same options, same bytes out.
//
// Deviations, each on purpose:
// - Text from records passes through AppendForTerminal: who prints raw bytes, so a user or host
//   name could carry terminal escapes. Columns are padded by the bytes of the escaped text, as
//   who pads by the bytes of the raw text, so clean names line up exactly as in who.
// - ut_tv.tv_sec is read unsigned (DESIGN.md): after 2038 who (glibc 2.36) prints 1901 dates.
// - A garbled record (undefined ut_type) is skipped with a warning on stderr; who would read it
//   and print nothing for it either, so stdout is the same.
// - -f FILE is ours (who takes the file only as an operand); --lookup (DNS) is not offered.
// - Without a file, the users logged in are asked of this host's utmpcd when it answers
//   (local_daemon.h), else read from /var/run/utmp as who reads them. The daemon lists them
//   oldest login first (who: in utmp's order), also on hosts without utmp, and without the
//   sessions whose process died (it names them gone after [sessions] gone_grace_ms; who drops
//   a login whose pid no longer exists, which misses a pid used again).
#include <fmt/format.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire_decode.h"
#include "core/local_time.h"
#include "core/text.h"
#include "formats/utmp.h"
#include "utmpc/commands.h"
#include "utmpc/local_daemon.h"
#include "utmpc/local_json.h"
#include "utmpc/net_query.h"
#include "utmpc/output.h"
#include "utmpc/usage.h"
#include "utmpc/who_text.h"

namespace utmpcd {
namespace {

// glibc's _PATH_UTMP, which who reads when no file is named.
constexpr char kUtmpPath[] = "/var/run/utmp";

struct WhoOptions : WhoTextOptions {
  bool need_boottime = false, need_deadprocs = false, need_login = false;
  bool need_initspawn = false, need_runlevel = false, need_clockchange = false;
  bool need_users = false;
  bool include_heading = false, short_list = false;
  bool my_line_only = false;
  bool json = false;         // --json: the sessions, as GET /v1/sessions lists them
  char json_refused = 0;     // an option --json does not go with
  bool default_file = true;  // no FILE and no -f: the system's utmp, or the daemon
  bool check_pids = false;  // who drops logins whose process is gone, for its default file only
  std::string file = kUtmpPath;
  std::optional<UtmpLayout> layout;
  DaemonOptions daemon;
};

void Usage(FILE* out) {
  std::fputs(
      "Usage: utmpc who [OPTION]... [ FILE | ARG1 ARG2 ]\n"
      "Print information about users who are currently logged in (coreutils who compatible).\n\n"
      "  -a, --all         same as -b -d --login -p -r -t -T -u\n"
      "  -b, --boot        time of last system boot\n"
      "  -d, --dead        print dead processes\n"
      "  -f, --file FILE   read FILE instead of /var/run/utmp\n"
      "  -H, --heading     print line of column headings\n"
      "  -l, --login       print system login processes\n"
      "  -m                only hostname and user associated with stdin\n"
      "  -p, --process     print active processes spawned by init\n"
      "  -q, --count       all login names and number of users logged on\n"
      "  -r, --runlevel    print current runlevel\n"
      "  -s, --short       print only name, line, and time (default)\n"
      "  -t, --time        print last system clock change\n"
      "  -T, -w, --mesg    add user's message status as +, - or ?\n"
      "  -u, --users       list users logged in\n"
      "      --message     same as -T\n"
      "      --writable    same as -T\n"
      "      --layout <384|400>  record layout (default: detected)\n"
      "      --json        the sessions (who -u's), as utmpcd's GET /v1/sessions lists them\n",
      out);
  std::fputs(kDaemonOptionsHelp, out);
  std::fputs(
      "  -h, --help        display this help and exit\n\n"
      "If ARG1 ARG2 given, -m presumed: 'am i' or 'mom likes' are usual.\n"
      "Without FILE, utmpcd is asked when it answers (not for -a -b -d -l -p -r -t).\n",
      out);
  std::fputs(kNetOptionsHelp, out);
}

class WhoPrinter {
 public:
  WhoPrinter(const WhoOptions& o, Output* out) : o_(o), out_(out), now_s_(::time(nullptr)) {}

  void Heading() {
    AppendWhoHeading(out_->buffer(), o_);
  }

  // scan_entries() for one record: print it if asked for (and `print`), then remember a boot.
  void Feed(const LoginRecord& r, bool print);

 private:
  void Print(const LoginRecord& r);
  void User(const LoginRecord& r);
  void RunLevel(const LoginRecord& r);
  void WithId(const LoginRecord& r, std::string_view user, std::string_view exit);
  void System(const LoginRecord& r, std::string_view what) {
    std::string t = WhoTimeString(clock_, r.time_s, o_.hard_locale);
    AppendWhoRow(out_->buffer(), o_, {"", ' ', what, t, "", "", "", ""});
  }

  const WhoOptions& o_;
  Output* out_;
  LocalClock clock_;
  int64_t now_s_;
  int64_t boot_s_ = INT64_MIN;
};

// gnulib's IS_USER_PROCESS: a USER_PROCESS record with a user name.
bool IsUserProcess(const LoginRecord& r) { return r.type == kUserProcess && !r.user.empty(); }

void WhoPrinter::Feed(const LoginRecord& r, bool print) {
  // who -m prints only its own line, but idle times still count from boots on any line.
  if (print) Print(r);
  if (r.type == kBootTime) boot_s_ = r.time_s;
  out_->MaybeFlush();
}

void WhoPrinter::Print(const LoginRecord& r) {
  if (o_.need_users && IsUserProcess(r)) {
    User(r);
  } else if (o_.need_runlevel && r.type == kRunLevel) {
    RunLevel(r);
  } else if (o_.need_boottime && r.type == kBootTime) {
    System(r, "system boot");
  } else if (o_.need_clockchange && r.type == kNewTime) {
    System(r, "clock change");
  } else if (o_.need_initspawn && r.type == kInitProcess) {
    WithId(r, "", "");
  } else if (o_.need_login && r.type == kLoginProcess) {
    WithId(r, "LOGIN", "");
  } else if (o_.need_deadprocs && r.type == kDeadProcess) {
    WithId(r, "", fmt::format("term={} exit={}", r.exit_termination, r.exit_status));
  }
}

// print_user(): idle time and mesg state come from the tty's inode, the host in parentheses.
void WhoPrinter::User(const LoginRecord& r) {
  std::string path = r.line.starts_with('/') ? "" : "/dev/";
  path.append(r.line);
  struct stat st {};
  char state = '?';
  int64_t atime_s = 0;
  if (::stat(path.c_str(), &st) == 0) {
    // Debian builds coreutils without TTY_GROUP_NAME: group-writable is all that counts.
    state = (st.st_mode & S_IWGRP) ? '+' : '-';
    atime_s = st.st_atime;
  }
  std::string idle = atime_s != 0 ? WhoIdleString(atime_s, boot_s_, now_s_) : "  ?";
  std::string pid = std::to_string(r.pid);
  // who splits an X display off at the first ':' and joins it back the same way.
  std::string host = r.host.empty() ? "" : "(" + std::string(r.host) + ")";
  std::string t = WhoTimeString(clock_, r.time_s, o_.hard_locale);
  AppendWhoRow(out_->buffer(), o_, {r.user, state, r.line, t, idle, pid, host, ""});
}

// print_runlevel(): ut_pid holds the previous level * 256 + the current one, as characters.
void WhoPrinter::RunLevel(const LoginRecord& r) {
  auto last = static_cast<unsigned char>(r.pid / 256);
  auto curr = static_cast<unsigned char>(r.pid % 256);
  std::string line = "run-level ";
  if (curr != 0) line += static_cast<char>(curr);  // sprintf's %c of NUL ends the string
  std::string comment = "last=";
  comment += last == 'N' ? 'S' : static_cast<char>(last);
  bool printable = last >= 0x20 && last < 0x7f;
  std::string t = WhoTimeString(clock_, r.time_s, o_.hard_locale);
  AppendWhoRow(out_->buffer(), o_, {"", ' ', line, t, "", "", printable ? comment : "", ""});
}

// print_initspawn(), print_login() and print_deadprocs(): the comment is "id=" plus ut_id.
void WhoPrinter::WithId(const LoginRecord& r, std::string_view user, std::string_view exit) {
  std::string comment = "id=" + std::string(r.id);
  std::string pid = std::to_string(r.pid);
  std::string t = WhoTimeString(clock_, r.time_s, o_.hard_locale);
  AppendWhoRow(out_->buffer(), o_, {user, ' ', r.line, t, "", pid, comment, exit});
}

// gnulib read_utmp()'s READ_UTMP_CHECK_PIDS: a login whose process no longer exists.
bool IsStale(const LoginRecord& r, const WhoOptions& o) {
  return o.check_pids && IsUserProcess(r) && r.pid > 0 && ::kill(r.pid, 0) < 0 && errno == ESRCH;
}

// The tty of stdin without "/dev/", or nullopt when stdin is no terminal.
std::optional<std::string> StdinLine() {
  const char* name = ::ttyname(STDIN_FILENO);
  if (name == nullptr) return std::nullopt;
  std::string_view n = name;
  if (n.starts_with("/dev/")) n.remove_prefix(5);
  return std::string(n.substr(0, kLineSize));
}

// who -q: the names of the users, then their count.
void ListUsers(const LoginRecord& r, std::string& out, uint64_t* count, TerminalCharset cs) {
  if (!IsUserProcess(r)) return;
  std::string_view name = r.user;
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  if (*count > 0) out += ' ';
  AppendForTerminal(out, name, cs);
  ++*count;
}

void SetAll(WhoOptions* o) {
  o->need_boottime = o->need_deadprocs = o->need_login = o->need_initspawn = true;
  o->need_runlevel = o->need_clockchange = o->need_users = true;
  o->include_mesg = o->include_idle = o->include_exit = true;
}

// Options that only change how rows look (-H -m -q -s -T/-w); false for any other letter.
bool ApplyDisplayOption(int c, WhoOptions* o) {
  switch (c) {
    case 'H':
      o->include_heading = true;
      return true;
    case 'm':
      o->my_line_only = true;
      return true;
    case 'q':
      o->short_list = true;
      return true;
    case 's':
      o->short_output = true;
      return true;
    case 'T':
    case 'w':
      o->include_mesg = true;
      return true;
    default:
      return false;
  }
}

// Options that pick which records to show, and so turn off the default listing, as who's main()
// sets them; false for an unknown letter.
bool ApplySelectOption(int c, WhoOptions* o) {
  switch (c) {
    case 'a':
      SetAll(o);
      return true;
    case 'b':
      o->need_boottime = true;
      return true;
    case 'd':
      o->need_deadprocs = o->include_idle = o->include_exit = true;
      return true;
    case 'l':
      o->need_login = o->include_idle = true;
      return true;
    case 'p':
      o->need_initspawn = true;
      return true;
    case 'r':
      o->need_runlevel = o->include_idle = true;
      return true;
    case 't':
      o->need_clockchange = true;
      return true;
    case 'u':
      o->need_users = o->include_idle = true;
      return true;
    default:
      return false;
  }
}

// who's operands: FILE, or two words ("am i") for -m; -f FILE takes the place of FILE. Returns an
// exit status to stop with, or -1 to go on.
int TakeOperands(int count, char** operands, bool file_given, WhoOptions* o) {
  if (count == 1 && !file_given) {
    o->file = operands[0];
  } else if (count == 2) {
    o->my_line_only = true;
  } else if (count != 0) {
    fmt::print(stderr, "utmpc who: extra operand '{}'\n", operands[count > 2 ? 2 : 0]);
    std::fputs("Try 'utmpc who --help' for more information.\n", stderr);
    return kUsageError;
  }
  o->default_file = count != 1 && !file_given;
  // read_utmp's READ_UTMP_CHECK_PIDS: who checks processes only in the system's own utmp.
  o->check_pids = o->default_file;
  return -1;
}

// Parses who's command line; returns an exit status to stop with, or -1 to go on.
int ParseArgs(int argc, char** argv, WhoOptions* o) {
  enum { kLayout = CHAR_MAX + 1, kJson };
  static const std::vector<struct option> kLong = WithDaemonOptions({
      {"all", no_argument, nullptr, 'a'},        {"boot", no_argument, nullptr, 'b'},
      {"count", no_argument, nullptr, 'q'},      {"dead", no_argument, nullptr, 'd'},
      {"heading", no_argument, nullptr, 'H'},    {"login", no_argument, nullptr, 'l'},
      {"message", no_argument, nullptr, 'T'},    {"mesg", no_argument, nullptr, 'T'},
      {"process", no_argument, nullptr, 'p'},    {"runlevel", no_argument, nullptr, 'r'},
      {"short", no_argument, nullptr, 's'},      {"time", no_argument, nullptr, 't'},
      {"users", no_argument, nullptr, 'u'},      {"writable", no_argument, nullptr, 'T'},
      {"file", required_argument, nullptr, 'f'}, {"layout", required_argument, nullptr, kLayout},
      {"json", no_argument, nullptr, kJson},     {"help", no_argument, nullptr, 'h'}});
  bool assumptions = true, file_given = false;
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "abdlmpqrstuwHTf:h", kLong.data(), nullptr)) != -1) {
    if (int status = TakeDaemonOption(c, optarg, "who", &o->daemon); status != -2) {
      if (status >= 0) return status;
    } else if (c == 'h') {
      Usage(stdout);
      return 0;
    } else if (c == 'f') {
      o->file = optarg;
      file_given = true;
    } else if (c == kLayout) {
      o->layout = ParseLayout(optarg);
      if (!o->layout) {
        fmt::print(stderr, "utmpc who: unknown record layout: {} (384 or 400)\n", optarg);
        return kUsageError;
      }
    } else if (c == kJson) {
      o->json = true;
    } else if (ApplySelectOption(c, o)) {
      assumptions = false;
      // Records that are no session: --json lists sessions only.
      if (c != 'u') o->json_refused = static_cast<char>(c);
    } else if (!ApplyDisplayOption(c, o)) {
      std::fputs("Try 'utmpc who --help' for more information.\n", stderr);
      return kUsageError;
    } else if (c == 'q') {
      o->json_refused = 'q';
    }
  }
  if (o->json && o->json_refused != 0) {
    fmt::print(stderr, "utmpc who: --json lists the sessions; -{} does not go with it\n",
               o->json_refused);
    return kUsageError;
  }
  if (assumptions) o->need_users = o->short_output = true;
  if (o->include_exit) o->short_output = false;
  o->hard_locale = HardLocaleTime();
  o->charset = CurrentTerminalCharset();
  return TakeOperands(argc - optind, argv + optind, file_given, o);
}

// Whether the daemon can answer: it knows who is logged in, which is all of who's default
// listing and of -u, -q, -m, -H, -s and -T. Boot, runlevel, clock change, init and dead-process
// records (-a -b -d -l -p -r -t) are utmp's alone, as is a file named or a --layout.
bool DaemonCanAnswer(const WhoOptions& o) {
  return o.default_file && !o.layout && !o.need_boottime && !o.need_deadprocs &&
         !o.need_login && !o.need_initspawn && !o.need_runlevel && !o.need_clockchange;
}

using Feed = std::function<void(const LoginRecord&)>;

// The daemon's sessions as the USER_PROCESS records utmp would hold for them.
void FeedSessions(const std::vector<ApiSession>& sessions, const Feed& feed) {
  for (const ApiSession& s : sessions) {
    LoginRecord r;
    r.type = kUserProcess;
    r.user = s.user;
    r.line = s.tty;
    r.host = s.host;
    r.pid = static_cast<int32_t>(std::clamp<int64_t>(s.pid, INT32_MIN, INT32_MAX));
    r.time_s = SecondsOf(s.login_time_us);
    feed(r);
  }
}

// The records of o.file (those of logins whose process is gone left out, for the system's
// utmp). Problems go to stderr; `out` is flushed before a warning about damage.
void FeedFile(const WhoOptions& o, bool list_entries, Output& out, const Feed& feed) {
  auto file = UtmpFile::Open(o.file, o.layout);
  // who reads through getutxent(), which shows a file it cannot open as an empty one: hosts
  // without utmp (systemd-only) list no one. A reason other than absence is still worth a word.
  if (!file) {
    if (file.error().code != ErrorCode::kNotFound) {
      fmt::print(stderr, "utmpc who: warning: {}\n", file.error().message);
    }
    return;
  }
  if (!list_entries) return;
  auto read = file->ReadForward([&](const LoginRecord& r, uint64_t) {
    if (!IsStale(r, o)) feed(r);
    return true;
  });
  if (!read) fmt::print(stderr, "utmpc who: {}\n", read.error().message);
  if (std::string report = file->DamageReport(); !report.empty()) {
    out.Flush();
    fmt::print(stderr, "utmpc who: warning: {}\n", report);
  }
}

// who --json: {"sessions":[...]}, each as GET /v1/sessions gives it, in utmp's order (the
// daemon's: oldest login first); with -m, stdin's only. The idle time is the terminal's as this
// process sees it (as -u shows it), else the daemon's.
int WriteJson(const WhoOptions& o, Asked asked, const std::vector<ApiSession>& sessions,
              const std::optional<std::string>& my_line, Output& out) {
  std::vector<std::string> objects;
  bool listed = !o.my_line_only || my_line.has_value();
  if (asked == Asked::kAnswered) {
    int64_t now_s = ::time(nullptr);
    for (const ApiSession& s : sessions) {
      if (!listed || (o.my_line_only && s.tty != *my_line)) continue;
      std::optional<int64_t> idle_s = TerminalIdleS(s.tty, now_s);
      AppendSessionJson(objects.emplace_back(),
                        SessionJson{.user = s.user,
                                    .tty = s.tty,
                                    .host = s.host,
                                    .addr = AddrBytes(s.addr),
                                    .pid = s.pid,
                                    .session = s.session,
                                    .login_time_us = s.login_time_us,
                                    .idle_s = idle_s ? idle_s : s.idle_s});
    }
  } else {
    int64_t now_s = ::time(nullptr);
    FeedFile(o, listed, out, [&](const LoginRecord& r) {
      if (!IsUserProcess(r) || (o.my_line_only && r.line != *my_line)) return;
      AppendSessionJson(objects.emplace_back(), SessionOfRecord(r, now_s));
    });
  }
  out.buffer() += "{\"sessions\":[";
  AppendJsonLines(out.buffer(), objects);
  out.buffer() += objects.empty() ? "]}\n" : "\n]}\n";
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc who: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace

int RunWho(int argc, char** argv) {
  WhoOptions o;
  if (int status = ParseArgs(argc, argv, &o); status >= 0) return status;
  std::vector<ApiSession> sessions;
  Asked asked = Asked::kReadFiles;
  if (DaemonCanAnswer(o)) {
    asked = AskSessions(o.daemon, "who", o.file, &sessions);
    if (asked == Asked::kFailed) return 1;
  } else {
    NoteReading(o.daemon, "who", o.file);
  }

  Output out(stdout);
  std::optional<std::string> my_line;
  if (o.my_line_only) my_line = StdinLine();
  if (o.json) return WriteJson(o, asked, sessions, my_line, out);
  WhoPrinter printer(o, &out);
  uint64_t users = 0;
  if (!o.short_list && o.include_heading) printer.Heading();
  bool list_entries = o.short_list || !o.my_line_only || my_line.has_value();
  Feed feed = [&](const LoginRecord& r) {
    if (o.short_list) {
      ListUsers(r, out.buffer(), &users, o.charset);
    } else {
      printer.Feed(r, !o.my_line_only || r.line == *my_line);
    }
  };
  if (asked == Asked::kAnswered) {
    if (list_entries) FeedSessions(sessions, feed);
  } else {
    FeedFile(o, list_entries, out, feed);
  }
  if (o.short_list) fmt::format_to(std::back_inserter(out.buffer()), "\n# users={}\n", users);
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc who: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

}  // namespace utmpcd
