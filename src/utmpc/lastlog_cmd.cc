// utmpc lastlog: shadow 4.13 lastlog(8) (Debian 12's), same report; -f FILE and --json are ours.
//
// Deviations, each on purpose:
// - Names, lines and hosts pass through AppendForTerminal (lastlog prints raw bytes); columns
//   are padded by the bytes of the escaped text, so clean text lines up exactly as in lastlog.
// - ll_time is read unsigned (DESIGN.md): after 2038 lastlog (int32 ll_time) prints 1901 dates.
// - A 256-byte host with no NUL is printed whole; lastlog reads past the field.
// - Read-only: no -C/--clear, -S/--set or -R/--root.
// - Without -f, the last logins are asked of this host's utmpcd when it answers
//   (local_daemon.h): each user's newest login in its history, which holds the lastlog file it
//   imported once and every login since, from wtmp or PAM (also on hosts without lastlog).
#include <fmt/format.h>
#include <getopt.h>
#include <pwd.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire_decode.h"
#include "api/wire_json.h"
#include "core/local_time.h"
#include "core/text.h"
#include "core/uid_range.h"
#include "formats/lastlog.h"
#include "utmpc/commands.h"
#include "utmpc/lastlog_text.h"
#include "utmpc/local_daemon.h"
#include "utmpc/net_query.h"
#include "utmpc/output.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

constexpr char kLastlogPath[] = "/var/log/lastlog";
constexpr int64_t kDayS = 24 * 60 * 60;

struct LastlogArgs {
  std::string file = kLastlogPath;
  bool file_given = false;  // -f: the file, never the daemon
  DaemonOptions daemon;
  bool json = false;
  bool by_user = false;  // -u given
  std::optional<unsigned long> umin, umax;
  std::optional<int64_t> newer_than_s;  // -t DAYS
  std::optional<int64_t> older_than_s;  // -b DAYS
  TerminalCharset charset = TerminalCharset::kAscii;
};

void Usage(FILE* out) {
  std::fputs(
      "Usage: utmpc lastlog [options]\n\n"
      "Options:\n"
      "  -b, --before DAYS             print only lastlog records older than DAYS\n"
      "  -f, --file FILE               read FILE instead of /var/log/lastlog\n"
      "  -h, --help                    display this help message and exit\n"
      "  -t, --time DAYS               print only lastlog records more recent than DAYS\n"
      "  -u, --user LOGIN|RANGE        print lastlog record of the specified LOGIN or UIDs\n"
      "      --json                    one JSON object per user, in a JSON array\n",
      out);
  std::fputs(kDaemonOptionsHelp, out);
  std::fputs("Without -f, utmpcd is asked when it answers.\n", out);
  std::fputs(kNetOptionsHelp, out);
}

// shadow's getulong(): strtoul in any base C knows (0x10 is 16), the whole string, no overflow.
std::optional<unsigned long> ParseDays(const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long v = std::strtoul(text, &end, 0);
  if (*text == '\0' || *end != '\0' || errno == ERANGE) return std::nullopt;
  return v;
}

// -u: a login name first, as lastlog, then a uid or a range of them.
bool ParseUser(const char* text, LastlogArgs* a) {
  a->by_user = true;
  a->umin = a->umax = std::nullopt;
  if (const struct passwd* pw = ::getpwnam(text); pw != nullptr) {
    a->umin = a->umax = pw->pw_uid;
    return true;
  }
  if (auto range = ParseUidRange(text)) {
    a->umin = range->min;
    a->umax = range->max;
    return true;
  }
  fmt::print(stderr, "utmpc lastlog: Unknown user or range: {}\n", text);
  return false;
}

// LASTLOG_UID_MAX of /etc/login.defs, as shadow's getdef_ulong() reads it; without it, all uids.
unsigned long LastlogUidMax() {
  std::ifstream defs("/etc/login.defs");
  std::string line;
  unsigned long max = 0xFFFFFFFFUL;
  while (std::getline(defs, line)) {
    std::string_view l = line;
    l.remove_prefix(std::min(l.find_first_not_of(" \t"), l.size()));
    if (!l.starts_with("LASTLOG_UID_MAX") || l.size() < 16 || !std::isspace(l[15])) continue;
    std::string value(l.substr(16));
    if (auto v =
            ParseDays(value.c_str() + std::min(value.find_first_not_of(" \t"), value.size()))) {
      max = *v;
    }
  }
  return max;
}

// Parses lastlog's command line; returns an exit status to stop with, or -1 to go on.
int ParseArgs(int argc, char** argv, LastlogArgs* a) {
  enum { kJson = CHAR_MAX + 1 };
  static const std::vector<struct option> kLong =
      WithDaemonOptions({{"before", required_argument, nullptr, 'b'},
                         {"time", required_argument, nullptr, 't'},
                         {"user", required_argument, nullptr, 'u'},
                         {"file", required_argument, nullptr, 'f'},
                         {"json", no_argument, nullptr, kJson},
                         {"help", no_argument, nullptr, 'h'}});
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "b:t:u:f:h", kLong.data(), nullptr)) != -1) {
    if (int status = TakeDaemonOption(c, optarg, "lastlog", &a->daemon); status != -2) {
      if (status >= 0) return status;
    } else if (c == 'b' || c == 't') {
      auto days = ParseDays(optarg);
      if (!days) {
        fmt::print(stderr, "utmpc lastlog: invalid numeric argument '{}'\n", optarg);
        return kUsageError;
      }
      (c == 'b' ? a->older_than_s : a->newer_than_s) = static_cast<int64_t>(*days) * kDayS;
    } else if (c == 'u') {
      if (!ParseUser(optarg, a)) return 1;
    } else if (c == 'f') {
      a->file = optarg;
      a->file_given = true;
    } else if (c == kJson) {
      a->json = true;
    } else if (c == 'h') {
      Usage(stdout);
      return 0;
    } else {
      Usage(stderr);
      return kUsageError;
    }
  }
  if (optind < argc) {
    fmt::print(stderr, "utmpc lastlog: unexpected argument: {}\n", argv[optind]);
    Usage(stderr);
    return kUsageError;
  }
  a->charset = CurrentTerminalCharset();
  return -1;
}

class LastlogPrinter {
 public:
  LastlogPrinter(const LastlogArgs& a, Output* out) : a_(a), out_(out) {}

  // print_one(): user `name`'s entry, unless -t or -b filter it out.
  void Print(std::string_view name, const LastlogEntry& e);
  void End() {
    if (a_.json) out_->buffer() += first_ ? "[]\n" : "\n]\n";
  }

 private:
  void AppendText(std::string_view name, const LastlogEntry& e);
  void AppendJson(std::string_view name, const LastlogEntry& e);

  const LastlogArgs& a_;
  Output* out_;
  bool first_ = true;
};

void LastlogPrinter::Print(std::string_view name, const LastlogEntry& e) {
  int64_t age_s = ::time(nullptr) - e.time_s;
  if (a_.newer_than_s && age_s > *a_.newer_than_s) return;
  if (a_.older_than_s && age_s < *a_.older_than_s) return;
  if (a_.json) {
    AppendJson(name, e);
  } else {
    AppendText(name, e);
  }
  first_ = false;
  out_->MaybeFlush();
}

void LastlogPrinter::AppendText(std::string_view name, const LastlogEntry& e) {
  std::string& o = out_->buffer();
  if (first_) AppendLastlogHeading(o);
  AppendLastlogRow(o, name, e.line, e.host, e.time_s, a_.charset);
}

void LastlogPrinter::AppendJson(std::string_view name, const LastlogEntry& e) {
  std::string& o = out_->buffer();
  o += first_ ? "[\n" : ",\n";
  // The row of GET /v1/lastlog (docs/PROTOCOL.md), so that `utmpc lastlog --json` reads the
  // same here and from a host; a time of 0 is a user never logged in.
  AppendLastlogJson(o, name, e.uid, e.line, e.host,
                    e.time_s == 0 ? std::nullopt : std::optional<int64_t>(e.time_s * 1000000));
}

// LASTLOG_UID_MAX, after saying (as lastlog) when the uids asked for are above it.
unsigned long CheckUidMax(const LastlogArgs& a) {
  unsigned long uid_max = LastlogUidMax();
  if ((a.umin && *a.umin > uid_max) || (a.umax && *a.umax > uid_max)) {
    fmt::print(stderr,
               "utmpc lastlog: Selected uid(s) are higher than LASTLOG_UID_MAX ({}),\n"
               "\tthe output might be incorrect.\n",
               uid_max);
  }
  return uid_max;
}

// -u named one uid: lastlog lists the first user that has it (getpwuid()).
bool OneUid(const LastlogArgs& a) { return a.by_user && a.umin && a.umax && *a.umin == *a.umax; }

// Whether a user of the walk of every user is listed: in -u's range, else up to uid_max.
bool InRange(const LastlogArgs& a, unsigned long uid_max, unsigned long uid) {
  if (!a.by_user) return uid <= uid_max;
  return !(a.umin && uid < *a.umin) && !(a.umax && uid > *a.umax);
}

// print(): one uid asked for is looked up; otherwise every passwd entry in its order. False on
// a read error of the file.
bool PrintFromFile(const LastlogArgs& a, const LastlogFile& file, LastlogPrinter* printer) {
  unsigned long uid_max = CheckUidMax(a);
  auto print = [&](const struct passwd& pw) {
    auto got = file.Get(pw.pw_uid);
    if (!got) {
      fmt::print(stderr, "utmpc lastlog: Failed to get the entry for UID {}: {}\n", pw.pw_uid,
                 got.error().message);
      return false;
    }
    // Past the end of the sparse file is a uid that never logged in.
    LastlogEntry e;
    e.uid = pw.pw_uid;
    if (got->has_value()) e = **got;
    printer->Print(pw.pw_name, e);
    return true;
  };
  if (OneUid(a)) {
    const struct passwd* pw = *a.umin <= UINT32_MAX ? ::getpwuid(*a.umin) : nullptr;
    return pw == nullptr || print(*pw);
  }
  bool ok = true;
  ::setpwent();
  while (const struct passwd* pw = ::getpwent()) {
    if (InRange(a, uid_max, pw->pw_uid) && !print(*pw)) {
      ok = false;
      break;
    }
  }
  ::endpwent();
  return ok;
}

// The same from the daemon's answer, which lists the users of the user database in its order
// (as getpwent() walks it) with their newest login.
void PrintFromDaemon(const LastlogArgs& a, const std::vector<ApiLastlog>& users,
                     LastlogPrinter* printer) {
  unsigned long uid_max = CheckUidMax(a);
  for (const ApiLastlog& u : users) {
    // lastlog lists uids: a row without one (no daemon of ours sends it) has no place.
    if (!u.uid || *u.uid < 0 || *u.uid > int64_t{UINT32_MAX}) continue;
    auto uid = static_cast<unsigned long>(*u.uid);
    if (OneUid(a) ? uid != *a.umin : !InRange(a, uid_max, uid)) continue;
    LastlogEntry e;
    e.uid = static_cast<uint32_t>(uid);
    e.time_s = u.time_us ? SecondsOf(*u.time_us) : 0;
    e.line = u.tty.value_or("");
    e.host = u.host.value_or("");
    printer->Print(u.user, e);
    if (OneUid(a)) break;
  }
}

// The daemon's answer, when it is to be asked and answers; `*status` is set to 1 when --socket
// named one that did not answer.
std::optional<std::vector<ApiLastlog>> AskDaemon(const LastlogArgs& a, int* status) {
  if (a.file_given) {
    NoteReading(a.daemon, "lastlog", a.file);
    return std::nullopt;
  }
  // One uid: only its user's row is needed, and the daemon looks up no one else's history.
  std::optional<std::string> name;
  if (OneUid(a) && *a.umin <= UINT32_MAX) {
    if (const struct passwd* pw = ::getpwuid(*a.umin)) name = pw->pw_name;
  }
  std::vector<ApiLastlog> users;
  Asked asked = AskLastlog(a.daemon, "lastlog", a.file, name, &users);
  if (asked == Asked::kFailed) *status = 1;
  if (asked != Asked::kAnswered) return std::nullopt;
  return users;
}

}  // namespace

int RunLastlog(int argc, char** argv) {
  LastlogArgs args;
  if (int status = ParseArgs(argc, argv, &args); status >= 0) return status;
  int status = 0;
  std::optional<std::vector<ApiLastlog>> answer = AskDaemon(args, &status);
  if (status != 0) return status;
  Output out(stdout);
  LastlogPrinter printer(args, &out);
  bool ok = true;
  if (answer) {
    PrintFromDaemon(args, *answer, &printer);
  } else {
    auto file = LastlogFile::Open(args.file);
    if (!file) {
      fmt::print(stderr, "utmpc lastlog: {}\n", file.error().message);
      return 1;
    }
    ok = PrintFromFile(args, *file, &printer);
  }
  printer.End();
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc lastlog: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return ok ? 0 : 1;
}

}  // namespace utmpcd
