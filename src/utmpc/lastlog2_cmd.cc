// utmpc lastlog2: each user's last login from lastlog2's database (formats/lastlog2.h) as
// util-linux's lastlog2 (2.41, Debian 13) prints it, option for option and byte for byte,
// except that text from the database is made safe for a terminal (as everywhere in utmpc). It
// only reads: -C, -i, -r and -S change the database and are lastlog2's own business.
#include <getopt.h>
#include <pwd.h>

#include <cerrno>
#include <cstdarg>
#include <climits>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "core/text.h"
#include "formats/lastlog2.h"
#include "utmpc/commands.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

struct Options {
  bool active = false, service = false;
  std::optional<time_t> before_s, within_s;  // -b, -t: in seconds
  std::string path = kLastlog2Path;
  std::optional<std::string> user;
};

class Printer {
 public:
  explicit Printer(const Options& o) : o_(o), charset_(CurrentTerminalCharset()) {}

  // lastlog2's print_entry.
  void Entry(const std::string& user, int64_t ll_time, const char* tty, const char* rhost,
             const char* service, const std::string& error) {
    constexpr int kMaxIPv6AddrLen = 42;
    const time_t now = ::time(nullptr);
    if (o_.active && ll_time == 0) return;
    if (o_.before_s && (now - ll_time) < *o_.before_s) return;
    if (o_.within_s && (now - ll_time) > *o_.within_s) return;
    char datetime[80];
    const char* datep = "(unknown)";
    time_t t = static_cast<time_t>(ll_time);
    struct tm tm_buf {};
    if (::localtime_r(&t, &tm_buf) != nullptr) {
      std::strftime(datetime, sizeof datetime, "%a %b %e %H:%M:%S %z %Y", &tm_buf);
      datep = datetime;
    }
    if (ll_time == 0) datep = "**Never logged in**";
    const int datelen = static_cast<int>(std::strlen(datep));
    if (!header_) {
      Line("Username         Port     From%*s Latest%*s%s", kMaxIPv6AddrLen - 4, " ",
           o_.service ? datelen - 5 : 0, " ", o_.service ? "Service" : "");
      header_ = true;
    }
    Line("%-16s %-8.8s %*s %s%*s%s", user.c_str(), tty != nullptr ? tty : "", -kMaxIPv6AddrLen,
         rhost != nullptr ? rhost : "", datep, o_.service ? 31 - datelen : 0,
         (o_.service && service != nullptr) ? " " : "",
         o_.service ? (service != nullptr ? service : "") : "");
    if (!error.empty()) {  // lastlog2: "\nError: %s\n", its message ending in a newline
      std::fputc('\n', stdout);
      Line("Error: %s", error.c_str());
      std::fputc('\n', stdout);
    }
  }

 private:
  // One line as lastlog2 prints it (printf, the widths counted in the database's bytes), then
  // made safe for a terminal whole: a newline in a field is shown, not sent, so a row can never
  // pass for two (the bytes come from the database, which anyone who logs in writes to).
  void Line(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    va_list args;
    va_start(args, fmt);
    char* raw = nullptr;
    int n = vasprintf(&raw, fmt, args);
    va_end(args);
    if (n < 0) return;
    std::string out;
    AppendForTerminal(out, std::string_view(raw, static_cast<size_t>(n)), charset_);
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::free(raw);
  }

  const Options& o_;
  TerminalCharset charset_;
  bool header_ = false;
};

void Usage(FILE* out) {
  std::fputs(
      "\nUsage:\n"
      " utmpc lastlog2 [options]\n\n"
      "Each user's last login from lastlog2's database, as lastlog2(8) prints it.\n\n"
      "Options:\n"
      " -a, --active            print lastlog excluding '**Never logged in**' users\n"
      " -b, --before DAYS       print only records older than DAYS\n"
      " -d, --database FILE     use FILE as lastlog2 database\n"
      " -s, --service           display PAM service\n"
      " -t, --time DAYS         print only lastlog records more recent than DAYS\n"
      " -u, --user LOGIN        print lastlog record of the specified LOGIN\n\n"
      " -h, --help              display this help\n\n"
      "It only reads: lastlog2 -C, -i, -r and -S change the database.\n",
      out);
}

// util-linux's strtoul_or_err, for DAYS: a negative number or one too large is out of range
// (said with strerror, as err(3) does), anything else that is no number is said without.
std::optional<time_t> Days(const char* program, const char* arg) {
  errno = 0;
  char* end = nullptr;
  unsigned long days = std::strtoul(arg, &end, 10);
  const char* first = arg;
  while (*first == ' ' || (*first >= '\t' && *first <= '\r')) ++first;
  if (*first == '-' && end != arg) errno = ERANGE;
  if (errno == ERANGE) {
    std::fprintf(stderr, "%s: Cannot parse days: '%s': %s\n", program, arg, std::strerror(ERANGE));
    return std::nullopt;
  }
  if (errno != 0 || end == arg || *end != '\0') {
    std::fprintf(stderr, "%s: Cannot parse days: '%s'\n", program, arg);
    return std::nullopt;
  }
  // (Wrapping as util-linux's time_t arithmetic does on 64 bits, without its overflow.)
  return static_cast<time_t>(static_cast<uint64_t>(days) * 86400u);
}

}  // namespace

int RunLastlog2(int argc, char** argv) {
  static const option kLong[] = {
      {"active", no_argument, nullptr, 'a'},     {"before", required_argument, nullptr, 'b'},
      {"clear", no_argument, nullptr, 'C'},      {"database", required_argument, nullptr, 'd'},
      {"help", no_argument, nullptr, 'h'},       {"import", required_argument, nullptr, 'i'},
      {"rename", required_argument, nullptr, 'r'}, {"service", no_argument, nullptr, 's'},
      {"set", no_argument, nullptr, 'S'},        {"time", required_argument, nullptr, 't'},
      {"user", required_argument, nullptr, 'u'}, {nullptr, 0, nullptr, 0}};
  Options o;
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "ab:Cd:hi:r:sSt:u:", kLong, nullptr)) != -1) {
    switch (c) {
      case 'a': o.active = true; break;
      case 'b':
        if (!(o.before_s = Days(argv[0], optarg))) return kUsageError;
        break;
      case 't':
        if (!(o.within_s = Days(argv[0], optarg))) return kUsageError;
        break;
      case 'd': o.path = optarg; break;
      case 'h': Usage(stdout); return 0;
      case 's': o.service = true; break;
      case 'u': o.user = optarg; break;
      case 'C': case 'i': case 'r': case 'S':
        std::fprintf(stderr, "%s: only reads lastlog2's database: run lastlog2 -%c to change it\n",
                     argv[0], c);
        return kUsageError;
      default:
        std::fprintf(stderr, "Try '%s --help' for more information.\n", argv[0]);
        return kUsageError;
    }
  }
  Printer printer(o);
  if (o.user) {
    if (::getpwnam(o.user->c_str()) == nullptr) {
      std::fprintf(stderr, "%s: User '%s' does not exist.\n", argv[0], o.user->c_str());
      return 1;
    }
    // As lastlog2: a user the database does not hold (or cannot be read) never logged in.
    auto row = ReadLastlog2User(o.path, *o.user);
    auto text = [](const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; };
    printer.Entry(*o.user, row ? row->time : 0, row ? text(row->tty) : nullptr,
                  row ? text(row->host) : nullptr, row ? text(row->service) : nullptr, {});
    return 0;
  }
  auto rows = ReadLastlog2(o.path);
  if (!rows) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: Couldn't read entries for all users\n", argv[0]);
    if (rows.error().code == ErrorCode::kNotFound) {
      std::fprintf(stderr, "%s: Cannot open database (%s): unable to open database file\n",
                   argv[0], o.path.c_str());
    } else {
      std::fprintf(stderr, "%s: %s\n", argv[0], rows.error().message.c_str());
    }
    return 1;
  }
  for (const Lastlog2Row& row : *rows) {
    std::string error;
    if (!row.time_valid) {
      error = "Invalid numeric time entry for '" + row.name + "': '" + row.time_text + "'";
    }
    auto text = [](const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; };
    printer.Entry(row.name, row.time, text(row.tty), text(row.host), text(row.service), error);
  }
  return 0;
}

}  // namespace utmpcd
