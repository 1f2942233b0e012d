// utmpc wtmpdb last, and utmpc last --database FILE: the sessions of a wtmpdb database
// (formats/wtmpdb.h) as `wtmpdb last` (0.73, Debian 13) prints them, option for option and
// byte for byte, except that text from the records is made safe for a terminal (as utmpc last
// does) and the JSON is valid JSON whatever the records hold.
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <sys/socket.h>

#include <locale.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "core/text.h"
#include "formats/wtmpdb.h"
#include "utmpc/commands.h"
#include "utmpc/usage.h"

namespace utmpcd {

namespace {

constexpr int64_t kUsecPerSec = 1000000;

enum class TimeFmt { kCtime, kShort, kHhmm, kNotime, kIso };

struct Options {
  bool hostlast = false, nohostname = false, noservice = true, dns = false, ip = false;
  bool json = false, fullnames = false, system = false;
  TimeFmt login_fmt = TimeFmt::kShort, logout_fmt = TimeFmt::kHhmm;
  int login_len = 16, logout_len = 5;
  TimeFmt trailer_fmt = TimeFmt::kCtime;  // "... begins TIME" (--time-format sets it)
  unsigned long maxentries = 0;
  time_t present = 0, since = 0, until = 0;
  std::vector<std::string> match;  // users or ttys
  std::optional<std::string> path;
};

// wtmpdb's parse_time: "YYYYMMDDhhmmss", "YYYY-MM-DD hh:mm:ss", "YYYY-MM-DD hh:mm",
// "YYYY-MM-DD", "hh:mm:ss", "hh:mm" (today), now, today, yesterday, tomorrow; local time.
bool ParseTime(const char* str, time_t* out) {
  static const char* const kDateTime[] = {"%Y%m%d%H%M%S", "%Y-%m-%d %T", "%Y-%m-%d %R",
                                          "%Y-%m-%d"};
  static const char* const kTime[] = {"%T", "%R"};
  struct tm rst {};
  rst.tm_isdst = -1;
  struct tm res {};
  for (const char* fmt : kDateTime) {
    res = rst;
    const char* r = strptime(str, fmt, &res);
    if (r != nullptr && *r == '\0') {
      *out = mktime(&res);
      return true;
    }
  }
  time_t t = time(nullptr);
  localtime_r(&t, &rst);
  rst.tm_isdst = -1;
  for (const char* fmt : kTime) {
    res = rst;
    const char* r = strptime(str, fmt, &res);
    if (r != nullptr && *r == '\0') {
      *out = mktime(&res);
      return true;
    }
  }
  if (std::strcmp(str, "now") != 0) {
    res.tm_sec = res.tm_min = res.tm_hour = 0;
    if (std::strcmp(str, "yesterday") == 0) {
      res.tm_mday--;
    } else if (std::strcmp(str, "tomorrow") == 0) {
      res.tm_mday++;
    } else if (std::strcmp(str, "today") != 0) {
      return false;
    }
  }
  *out = mktime(&res);
  return true;
}

// wtmpdb never calls setlocale: its day and month names are English whatever the locale
// (utmpc keeps LC_CTYPE for what it escapes, and formats times in the C locale).
locale_t CLocale() {
  static const locale_t c = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  return c;
}

std::string FormatTime(TimeFmt fmt, uint64_t seconds) {
  const char* pattern = nullptr;
  switch (fmt) {
    case TimeFmt::kCtime: pattern = "%a %b %e %H:%M:%S %Y"; break;  // ctime(3), no newline
    case TimeFmt::kShort: pattern = "%a %b %e %H:%M"; break;
    case TimeFmt::kHhmm: pattern = "%H:%M"; break;
    case TimeFmt::kIso: pattern = "%FT%T%z"; break;
    case TimeFmt::kNotime: return "";
  }
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  if (localtime_r(&t, &tm) == nullptr) return "";
  char buf[64] = "";
  strftime_l(buf, sizeof buf, pattern, &tm, CLocale());
  return buf;
}

std::string Length(uint64_t start_us, uint64_t stop_us) {
  uint64_t secs = (stop_us - start_us) / kUsecPerSec;
  int mins = static_cast<int>((secs / 60) % 60);
  int hours = static_cast<int>((secs / 3600) % 24);
  uint64_t days = secs / 86400;
  char buf[64];
  if (days) {
    std::snprintf(buf, sizeof buf, "(%" PRIu64 "+%02d:%02d)", days, hours, mins);
  } else if (hours) {
    std::snprintf(buf, sizeof buf, " (%02d:%02d)", hours, mins);
  } else {
    std::snprintf(buf, sizeof buf, " (00:%02d)", mins);
  }
  return buf;
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char* out = nullptr;
  int n = vasprintf(&out, fmt, args);
  va_end(args);
  if (n < 0) return "";
  std::string s(out, static_cast<size_t>(n));
  std::free(out);
  return s;
}

std::string Json(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

class Printer {
 public:
  explicit Printer(const Options& o) : o_(o), charset_(CurrentTerminalCharset()) {}

  std::string Safe(std::string_view text) const {
    std::string out;
    AppendForTerminal(out, text, charset_);
    return out;
  }

  // wtmpdb's print_line.
  void Line(const std::string& user_raw, const std::string& tty_raw, const std::string& host_raw,
            const std::string& service, const std::string& login, const std::string& logout,
            const std::string& length) {
    if (o_.json) {
      std::fputs(first_ ? "" : ",\n", stdout);
      first_ = false;
      std::string o = "     { \"user\": " + Json(user_raw) + ",\n";
      o += "       \"tty\": " + Json(tty_raw) + ",\n";
      if (!o_.nohostname) o += "       \"hostname\": " + Json(host_raw) + ",\n";
      // (wtmpdb prints the service as its column: a space, then 12 columns.)
      if (!service.empty()) {
        o += "       \"service\": " + Json(Format(" %-12.12s", service_raw_.c_str())) + ",\n";
      }
      o += "       \"login\": " + Json(login) + ",\n";
      if (!length.empty() && (length[0] == ' ' || length[0] == '(')) {
        std::string inner = length;
        if (auto open = inner.find('('); open != std::string::npos) {
          inner = inner.substr(open + 1);
          if (auto close = inner.find(')'); close != std::string::npos) inner.resize(close);
        }
        o += "       \"logout\": " + Json(logout) + ",\n";
        o += "       \"length\": " + Json(inner) + "\n";
      } else {
        o += "       \"logout\": " + Json(logout + " " + length) + "\n";
      }
      o += "     }";
      std::fputs(o.c_str(), stdout);
      return;
    }
    // The line as wtmpdb formats it, from the bytes the records hold (its columns cut and pad
    // bytes), then made safe for a terminal: what wtmpdb prints, escaped where it would have
    // printed a control character.
    const std::string user = MapSoftReboot(user_raw);
    const int name = o_.fullnames ? static_cast<int>(user.size()) : 8;
    std::string line;
    if (o_.nohostname) {
      line = Format("%-8.*s %-12.12s%s %-*.*s - %-*.*s %s", name, user.c_str(), tty_raw.c_str(),
                    service.c_str(), o_.login_len, o_.login_len, login.c_str(), o_.logout_len,
                    o_.logout_len, logout.c_str(), length.c_str());
    } else if (o_.hostlast) {
      // (As wtmpdb 0.73 has it: the length takes the 12 columns, the host follows.)
      line = Format("%-8.*s %-12.12s%s %-*.*s - %-*.*s %-12.12s %s", name, user.c_str(),
                    tty_raw.c_str(), service.c_str(), o_.login_len, o_.login_len, login.c_str(),
                    o_.logout_len, o_.logout_len, logout.c_str(), length.c_str(),
                    host_raw.c_str());
    } else {
      const int host_len = o_.fullnames ? static_cast<int>(host_raw.size()) : 16;
      line = Format("%-8.*s %-12.12s %-16.*s%s %-*.*s - %-*.*s %s", name, user.c_str(),
                    tty_raw.c_str(), host_len, host_raw.c_str(), service.c_str(), o_.login_len,
                    o_.login_len, login.c_str(), o_.logout_len, o_.logout_len, logout.c_str(),
                    length.c_str());
    }
    line = Safe(line) + '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }

  // wtmpdb's print_entry, for each row in the order read.
  void Entry(const WtmpdbRow& row) {
    if (o_.maxentries && current_ >= o_.maxentries) return;
    if (!row.login_valid) {
      std::fprintf(stderr, "Invalid numeric time entry for 'login': '%s'\n",
                   Safe(row.login_text).c_str());
    }
    const uint64_t login_t = row.login_us;
    if (login_t < start_) start_ = login_t;
    const time_t login_s = static_cast<time_t>(login_t / kUsecPerSec);
    if (o_.since && o_.since > login_s) return;
    if (o_.until && o_.until < login_s) return;
    if (o_.present && o_.present < login_s) return;
    std::string tty = row.tty.value_or("?");
    if (!o_.match.empty()) {
      bool found = false;
      for (const std::string& m : o_.match) found = found || m == row.user || m == tty;
      if (!found) return;
    }
    std::string login = FormatTime(o_.login_fmt, login_t / kUsecPerSec);
    std::string logout, length;
    uint64_t logout_t = 0;
    if (row.logout_us) {
      if (!row.logout_valid) {
        std::fprintf(stderr, "Invalid numeric time entry for 'logout': '%s'\n",
                     Safe(row.logout_text.value_or("")).c_str());
      }
      logout_t = *row.logout_us;
      if (o_.present && 0 < logout_t / kUsecPerSec &&
          static_cast<time_t>(logout_t / kUsecPerSec) < o_.present) {
        return;
      }
      logout = FormatTime(o_.logout_fmt, logout_t / kUsecPerSec);
      length = Length(login_t, logout_t);
    } else if (after_reboot_) {
      logout = "crash";
    } else if (row.type == kWtmpdbUserProcess) {
      if (o_.logout_fmt == TimeFmt::kHhmm) {
        logout = "still";
        length = "logged in";
      } else {
        logout = "still logged in";
      }
    } else if (row.type == kWtmpdbBootTime) {
      if (o_.logout_fmt == TimeFmt::kHhmm) {
        logout = "still";
        length = "running";
      } else {
        logout = "still running";
      }
    } else {
      logout = "ERROR";
      length = "Unknown: " + std::to_string(row.type);
    }
    if (row.type == kWtmpdbBootTime) {
      tty = "system boot";
      after_reboot_ = true;
    }
    service_raw_ = row.service.value_or("");
    std::string service = o_.noservice ? "" : Format(" %-12.12s", service_raw_.c_str());
    std::string host = Lookup(row.host.value_or(""));
    Line(row.user, tty, host, service, login, logout, length);
    if (o_.system && row.type == kWtmpdbBootTime && newer_boot_ != 0 && logout_t != 0) {
      Line("shutdown", "system down", host, service, FormatTime(o_.login_fmt, logout_t / kUsecPerSec),
           FormatTime(o_.logout_fmt, newer_boot_ / kUsecPerSec), Length(logout_t, newer_boot_));
    }
    if (o_.system && row.type == kWtmpdbBootTime) newer_boot_ = login_t;
    ++current_;
  }

  // The trailer: "\nFILE begins TIME", or "FILE has no entries".
  void End(const std::string& name) {
    if (start_ == UINT64_MAX) {
      if (!o_.json) std::printf("%s has no entries\n", name.c_str());
      // (wtmpdb closes no list here: its JSON of an empty database is no JSON.)
      if (o_.json) std::printf("   ]\n");
    } else if (o_.trailer_fmt != TimeFmt::kNotime) {
      std::string when = FormatTime(o_.trailer_fmt, start_ / kUsecPerSec);
      if (o_.json) {
        std::printf("\n   ],\n   \"start\": %s\n", Json(when).c_str());
      } else {
        std::printf("\n%s begins %s\n", name.c_str(), when.c_str());
      }
    } else if (o_.json) {
      std::printf("\n   ]\n");
    }
    if (o_.json) std::printf("}\n");
  }

 private:
  std::string MapSoftReboot(const std::string& user) const {
    if (o_.fullnames || user != "soft-reboot") return user;
    return "s-reboot";
  }

  // -d: an address as its name; -i: a name as its address (as wtmpdb does, with the resolver).
  std::string Lookup(const std::string& host) const {
    if (host.empty() || (!o_.dns && !o_.ip)) return host;
    char buf[NI_MAXHOST];
    if (o_.dns) {
      sockaddr_storage addr{};
      auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
      auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
      if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) > 0) {
        addr.ss_family = AF_INET;
      } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) > 0) {
        addr.ss_family = AF_INET6;
      } else {
        return host;
      }
      if (getnameinfo(reinterpret_cast<sockaddr*>(&addr), sizeof addr, buf, sizeof buf, nullptr,
                      0, NI_NAMEREQD) == 0) {
        return buf;
      }
      return host;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* result = nullptr;
    std::string out = host;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &result) == 0) {
      const void* a = nullptr;
      if (result->ai_family == AF_INET) {
        a = &reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr;
      } else if (result->ai_family == AF_INET6) {
        a = &reinterpret_cast<sockaddr_in6*>(result->ai_addr)->sin6_addr;
      }
      if (a != nullptr && inet_ntop(result->ai_family, a, buf, sizeof buf) != nullptr) out = buf;
      freeaddrinfo(result);
    }
    return out;
  }

  const Options& o_;
  TerminalCharset charset_;
  bool first_ = true;
  bool after_reboot_ = false;
  uint64_t start_ = UINT64_MAX;
  uint64_t newer_boot_ = 0;
  unsigned long current_ = 0;
  std::string service_raw_;
};

void Usage(FILE* out) {
  std::fputs(
      "Usage: utmpc wtmpdb last [options] [username...] [tty...]\n"
      "       utmpc last --database FILE [options] [username...] [tty...]\n"
      "The sessions of a wtmpdb database (default /var/log/wtmp.db, else\n"
      "/var/lib/wtmpdb/wtmp.db), as wtmpdb last prints them.\n\n"
      "  -a, --hostlast      Display hostnames as last entry\n"
      "  -d, --dns           Translate IP addresses into a hostname\n"
      "  -f, --file FILE     Use FILE as wtmpdb database\n"
      "  -F, --fulltimes     Display full times and dates\n"
      "  -i, --ip            Translate hostnames to IP addresses\n"
      "  -j, --json          Generate JSON output\n"
      "  -n, --limit N, -N   Display only first N entries\n"
      "  -p, --present TIME  Display who was present at TIME\n"
      "  -R, --nohostname    Don't display hostname\n"
      "  -S, --service       Display PAM service used to login\n"
      "  -s, --since TIME    Display who was logged in after TIME\n"
      "  -t, --until TIME    Display who was logged in until TIME\n"
      "  -w, --fullnames     Display full IP addresses and user and domain names\n"
      "  -x, --system        Display system shutdown entries\n"
      "      --time-format FORMAT  notime|short|full|iso\n"
      "TIME: YYYY-MM-DD HH:MM:SS, YYYYMMDDHHMMSS, YYYY-MM-DD, HH:MM, now, today, yesterday,\n"
      "tomorrow.\n",
      out);
}

}  // namespace

int RunWtmpdbLast(int argc, char** argv, const char* database) {
  constexpr int kTimeFormat = 255;
  constexpr int kDatabase = 256;
  // wtmpdb's own long options (so that abbreviations mean what they mean there: --h is
  // --hostlast, --d is --dns); utmpc last --database FILE also takes --database.
  static const option kLong[] = {
      {"hostlast", no_argument, nullptr, 'a'},   {"dns", no_argument, nullptr, 'd'},
      {"file", required_argument, nullptr, 'f'}, {"fullnames", no_argument, nullptr, 'w'},
      {"fulltimes", no_argument, nullptr, 'F'},  {"ip", no_argument, nullptr, 'i'},
      {"limit", required_argument, nullptr, 'n'}, {"present", required_argument, nullptr, 'p'},
      {"nohostname", no_argument, nullptr, 'R'}, {"service", no_argument, nullptr, 'S'},
      {"since", required_argument, nullptr, 's'}, {"system", no_argument, nullptr, 'x'},
      {"until", required_argument, nullptr, 't'},
      {"time-format", required_argument, nullptr, kTimeFormat},
      {"json", no_argument, nullptr, 'j'},       {"database", required_argument, nullptr, kDatabase},
      {nullptr, 0, nullptr, 0}};
  static const option* const kWtmpdbLong = [] {
    static option table[std::size(kLong)];
    size_t n = 0;
    for (const option& o : kLong) {
      if (o.name == nullptr || std::strcmp(o.name, "database") != 0) table[n++] = o;
    }
    return table;
  }();
  Options o;
  if (database != nullptr) o.path = database;
  optind = 0;
  int c;
  const option* longopts = database != nullptr ? kLong : kWtmpdbLong;
  while ((c = getopt_long(argc, argv, "0123456789adf:Fijn:p:RSs:t:wx", longopts, nullptr)) != -1) {
    switch (c) {
      case '0': case '1': case '2': case '3': case '4':
      case '5': case '6': case '7': case '8': case '9':
        o.maxentries = o.maxentries * 10 + static_cast<unsigned long>(c - '0');
        break;
      case 'a': o.hostlast = true; break;
      case 'd': o.dns = true; break;
      case 'f': case kDatabase: o.path = optarg; break;
      case 'F':
        o.login_fmt = o.logout_fmt = TimeFmt::kCtime;
        o.login_len = o.logout_len = 24;
        break;
      case 'i': o.ip = true; break;
      case 'j': o.json = true; break;
      case 'n': o.maxentries = std::strtoul(optarg, nullptr, 10); break;
      case 'p': case 's': case 't': {
        time_t* t = c == 'p' ? &o.present : c == 's' ? &o.since : &o.until;
        if (!ParseTime(optarg, t)) {
          std::fprintf(stderr, "Invalid time value '%s'\n", optarg);  // (as wtmpdb says it)
          return kUsageError;
        }
        break;
      }
      case 'R': o.nohostname = true; break;
      case 'S': o.noservice = false; break;
      case 'w': o.fullnames = true; break;
      case 'x': o.system = true; break;
      case kTimeFormat: {
        std::string_view f = optarg;
        if (f == "notime") {
          o.login_fmt = o.logout_fmt = o.trailer_fmt = TimeFmt::kNotime;
          o.login_len = o.logout_len = 0;
        } else if (f == "short") {
          o.login_fmt = o.trailer_fmt = TimeFmt::kShort;
          o.logout_fmt = TimeFmt::kHhmm;
          o.login_len = 16;
          o.logout_len = 5;
        } else if (f == "full") {
          o.login_fmt = o.logout_fmt = o.trailer_fmt = TimeFmt::kCtime;
          o.login_len = o.logout_len = 24;
        } else if (f == "iso") {
          o.login_fmt = o.logout_fmt = o.trailer_fmt = TimeFmt::kIso;
          o.login_len = o.logout_len = 25;
        } else {
          std::fprintf(stderr, "Invalid time format '%s'\n", optarg);
          return kUsageError;
        }
        break;
      }
      default: Usage(stderr); return kUsageError;
    }
  }
  for (int i = optind; i < argc; ++i) o.match.emplace_back(argv[i]);
  const char* conflict = o.nohostname && o.hostlast ? "-a and -R"
                         : o.nohostname && o.dns    ? "-d and -R"
                         : o.nohostname && o.ip     ? "-i and -R"
                         : o.dns && o.ip            ? "-d and -i"
                                                    : nullptr;
  if (conflict != nullptr) {
    std::fprintf(stderr, "The options %s cannot be used together.\n", conflict);
    Usage(stderr);
    return kUsageError;
  }
  const char* found = ExistingWtmpdbPath();
  const std::string path = o.path.value_or(found != nullptr ? found : kWtmpdbPaths[0]);
  if (o.json) std::fputs("{\n   \"entries\": [\n", stdout);  // before the file, as wtmpdb
  auto rows = ReadWtmpdb(path);
  if (!rows) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", argv[0], rows.error().message.c_str());
    return 1;
  }
  Printer printer(o);
  for (const WtmpdbRow& row : *rows) printer.Entry(row);
  printer.End(o.path ? *o.path : "wtmpdb");
  return 0;
}

int RunWtmpdb(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "last") != 0) {
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
      Usage(stdout);
      return 0;
    }
    std::fprintf(stderr, "%s: only 'last' is read here (boot, rotate and import write: use "
                 "wtmpdb itself)\n", argv[0]);
    return kUsageError;
  }
  std::string program = std::string(argv[0]) + " last";
  argv[1] = program.data();
  return RunWtmpdbLast(argc - 1, argv + 1, nullptr);
}

}  // namespace utmpcd
