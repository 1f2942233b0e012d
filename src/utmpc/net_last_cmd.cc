// utmpc last and lastb over the network: GET /v1/history (/v1/failed) of each host, page by
// page, printed as util-linux last prints rows, with a HOST column first.
//
// The rows of all hosts are merged newest login first, each host's rows in its own order (see
// Merge), so `last -n 20 @a @b` is the 20 newest sessions of the two. With -n N each host is
// asked for its N newest, and the merged listing stops after N rows; --json lists each host's
// N. There is no "wtmp begins" line: a host's history has no file.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <string>
#include <vector>

#include "api/wire_decode.h"
#include "core/last_builder.h"
#include "core/timestamp.h"
#include "core/version.h"
#include "utmpc/last_options.h"
#include "utmpc/last_text.h"
#include "utmpc/net_commands.h"
#include "utmpc/net_query.h"
#include "utmpc/output.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

// The daemon's largest page (docs/PROTOCOL.md, `limit`).
constexpr uint64_t kMaxPage = 1000;

// The pages of one host's history, up to max_rows rows (0: all of them).
class HistoryExchange : public HostExchange {
 public:
  HistoryExchange(std::string target, bool failed, uint64_t max_rows)
      : target_(std::move(target)), failed_(failed), max_rows_(max_rows) {}

  std::string FirstTarget() override { return Target(std::nullopt); }
  Result<std::optional<std::string>> OnBody(std::string_view body) override {
    auto page = DecodeHistoryPage(body, failed_);
    if (!page) return tl::unexpected(page.error());
    for (ApiHistoryRow& row : page->rows) {
      if (max_rows_ != 0 && rows.size() >= max_rows_) break;
      rows.push_back(std::move(row));
    }
    if ((max_rows_ != 0 && rows.size() >= max_rows_) || !page->next_cursor) return std::nullopt;
    // Each answer gives the next one its own timeout: a host handing out the same page again
    // would keep the client forever.
    if (page->next_cursor == cursor_) {
      return MakeError(ErrorCode::kCorrupt, "bad answer: the same next_cursor twice");
    }
    cursor_ = page->next_cursor;
    return Target(cursor_);
  }

  std::vector<ApiHistoryRow> rows;

 private:
  std::string Target(const std::optional<std::string>& cursor) const {
    std::string target = target_;
    uint64_t wanted = max_rows_ == 0 ? kMaxPage : std::min(kMaxPage, max_rows_ - rows.size());
    AddParam(&target, "limit", std::to_string(wanted));
    if (cursor) AddParam(&target, "cursor", *cursor);
    return target;
  }

  std::string target_;
  bool failed_;
  uint64_t max_rows_;
  std::optional<std::string> cursor_;  // of the last request
};

struct NetLastArgs {
  NetArgs net;
  LastTextOptions text;
  uint64_t max_rows = 0;
  std::string target;  // the endpoint and its filters
};

// A name that last would match against the tty column rather than a user.
bool LooksLikeTty(std::string_view name) {
  return name.find('/') != std::string_view::npos || name.starts_with("tty") ||
         name.starts_with("pts") || name == "console" || name.starts_with(':');
}

bool ParseTime(const char* name, const char* text, std::string* target, const char* param) {
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  auto t = ParseTimestamp(text, int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000);
  if (!t) {
    fmt::print(stderr, "utmpc {}: invalid time value \"{}\"\n", name, text);
    return false;
  }
  AddParam(target, param, std::to_string(SecondsOf(*t)));
  return true;
}

void Usage(const char* name, FILE* out) {
  fmt::print(out,
             "Usage: utmpc {} [options] @HOST... [<username>...] [<tty>...]\n"
             "       [--hosts-file FILE] [--timeout SECONDS] [--json]\n\n"
             "Options as for a local listing: -<number>, -n, -a, -d, -F, -i, -R, -s, -t, -w,\n"
             "--time-format, --color. A name with a '/', or starting with tty, pts or ':', or\n"
             "\"console\", is a tty; any other name is a user.\n",
             name);
}

// Applies one of last's options; an exit status, or -1 to go on.
int TakeOption(const char* name, int c, const char* arg, NetLastArgs* a, LastTimeFlags* flags) {
  if (int taken = TakeLastTextOption(name, c, arg, &a->text, flags); taken != -2) return taken;
  switch (c) {
    case 'n': {
      char* end = nullptr;
      errno = 0;
      long n = std::strtol(arg, &end, 10);
      if (errno != 0 || end == arg || *end != '\0' || n < 0) {
        fmt::print(stderr, "utmpc {}: failed to parse number: '{}'\n", name, arg);
        return kUsageError;
      }
      a->max_rows = static_cast<uint64_t>(n);
      return -1;
    }
    case 's':
      return ParseTime(name, arg, &a->target, "since") ? -1 : kUsageError;
    case 't':
      return ParseTime(name, arg, &a->target, "until") ? -1 : kUsageError;
    case 'h':
      Usage(name, stdout);
      return 0;
    case 'V':
      fmt::print("utmpc {} (utmpcd) {}\n", name, kVersion);
      return 0;
    default:
      if (c >= '0' && c <= '9') {
        a->max_rows = 10 * a->max_rows + static_cast<unsigned>(c - '0');
        return -1;
      }
      if (c != '?') {
        // -x and -p: what last makes of runlevel records and of a time, from the host's wtmp.
        std::string option = (c > ' ' && c < 127) ? fmt::format("-{}", static_cast<char>(c))
                                                  : std::string("this option");
        fmt::print(stderr, "utmpc {}: {} is not available over the network\n", name, option);
      }
      fmt::print(stderr, "Try 'utmpc {} --help' for more information.\n", name);
      return kUsageError;
  }
}

int ParseArgs(int argc, char** argv, bool lastb, NetLastArgs* a) {
  const char* name = lastb ? "lastb" : "last";
  a->target = lastb ? "/v1/failed" : "/v1/history";
  LastTimeFlags flags;
  flags.color = DefaultLastColor(argv[0]);
  std::vector<std::string> names;
  int status = ParseNetCommandLine(
      argc, argv, name, kLastShortOptions, LastLongOptions({}, false), false,
      [&](int c, const char* arg) { return TakeOption(name, c, arg, a, &flags); }, &a->net,
      &names);
  if (status >= 0) return status;
  if (int exclusive = CheckLastTimeFlags(name, flags); exclusive >= 0) return exclusive;
  a->text.color = UseColor(flags.color, STDOUT_FILENO);
  for (const std::string& n : names) AddParam(&a->target, LooksLikeTty(n) ? "tty" : "user", n);
  a->text.charset = CurrentTerminalCharset();
  // The hosts send UTF-8: in a UTF-8 terminal, columns line up by what it shows. (In the C
  // locale a byte is a character, and rows are as last.c makes them, as the local listing's.)
  a->text.by_columns = a->text.charset == TerminalCharset::kUtf8;
  return -1;
}

// The SessionEnd last prints for a row's "end" (docs/PROTOCOL.md); *running when the session
// (or boot) runs on, which last shows against the listing's own now.
SessionEnd EndOf(const ApiHistoryRow& row, bool* running) {
  *running = false;
  const std::string& e = row.end;
  if (row.type == "failed") return SessionEnd::kLogout;
  if (e == "running") {
    *running = true;
    return row.type == "boot" ? SessionEnd::kBoot : SessionEnd::kLogout;
  }
  if (e == "logout") return SessionEnd::kLogout;
  if (e == "boot") return SessionEnd::kBoot;
  if (e == "crash") return SessionEnd::kCrash;
  if (e == "down") return SessionEnd::kDown;
  if (e == "still" || e == "still logged in") return SessionEnd::kStillLoggedIn;
  if (e == "gone") return SessionEnd::kGone;
  // "time_change", and kinds of end this client does not know: no logout or length columns.
  return SessionEnd::kTimeChange;
}

// `addr` ("192.0.2.7", "2001:db8::1") as ut_addr_v6 holds it, for -i and -d.
std::array<uint8_t, 16> AddressBytes(const std::optional<std::string>& addr) {
  std::array<uint8_t, 16> bytes{};
  if (!addr) return bytes;
  if (::inet_pton(AF_INET, addr->c_str(), bytes.data()) != 1) {
    if (::inet_pton(AF_INET6, addr->c_str(), bytes.data()) != 1) bytes = {};
  }
  return bytes;
}

void AppendRow(std::string& out, LastText& text, const ApiHistoryRow& row, int64_t now_s) {
  LoginRecord record;
  record.type = row.type == "boot" ? kBootTime : kUserProcess;
  record.user = row.user;
  record.line = row.tty;
  record.host = row.host;
  record.pid = static_cast<int32_t>(row.pid);
  record.time_s = SecondsOf(row.login_time_us);
  record.addr = AddressBytes(row.addr);
  bool running = false;
  LastRow last;
  last.record = &record;
  last.line = row.tty;
  last.end = EndOf(row, &running);
  last.login_s = record.time_s;
  last.logout_s = running                ? now_s
                  : row.type == "failed" ? record.time_s
                  : row.logout_time_us   ? SecondsOf(*row.logout_time_us)
                                         : record.time_s;
  text.AppendRow(out, last);
}

struct Ref {
  size_t host;
  const ApiHistoryRow* row;
};

// The rows of all hosts, newest login first, each host's rows in the order it listed them (as
// last lists a wtmp, which after a clock change is not quite time order): at each step, the
// next row of the host whose next row logged in last (the first named on a tie). At most
// max_rows (0: all).
std::vector<Ref> Merge(const std::vector<HistoryExchange>& exchanges, uint64_t max_rows) {
  struct Head {
    size_t host, next;
  };
  auto later = [&](const Head& x, const Head& y) {  // priority_queue: the top is the largest
    int64_t tx = exchanges[x.host].rows[x.next].login_time_us;
    int64_t ty = exchanges[y.host].rows[y.next].login_time_us;
    return tx != ty ? tx < ty : x.host > y.host;
  };
  std::priority_queue<Head, std::vector<Head>, decltype(later)> heads(later);
  for (size_t i = 0; i < exchanges.size(); ++i) {
    if (!exchanges[i].rows.empty()) heads.push({i, 0});
  }
  std::vector<Ref> merged;
  while (!heads.empty() && (max_rows == 0 || merged.size() < max_rows)) {
    Head head = heads.top();
    heads.pop();
    merged.push_back({head.host, &exchanges[head.host].rows[head.next]});
    if (++head.next < exchanges[head.host].rows.size()) heads.push(head);
  }
  return merged;
}

}  // namespace

int RunNetLast(int argc, char** argv, bool lastb) {
  const char* name = lastb ? "lastb" : "last";
  NetLastArgs a;
  if (int status = ParseArgs(argc, argv, lastb, &a); status >= 0) return status;

  std::vector<HistoryExchange> exchanges(a.net.hosts.size(),
                                         HistoryExchange(a.target, lastb, a.max_rows));
  std::vector<HostExchange*> pointers;
  for (HistoryExchange& e : exchanges) pointers.push_back(&e);
  auto results = RunExchanges(a.net, pointers);

  Output out(stdout);
  if (a.net.json) {
    HostsJson json(&out.buffer());
    for (size_t i = 0; i < a.net.hosts.size(); ++i) {
      if (!json.BeginHost(a.net.hosts[i].label, results[i])) continue;
      json.Array(lastb ? "failed" : "sessions", exchanges[i].rows);
      json.EndHost();
    }
    json.End();
  } else {
    std::vector<Ref> merged = Merge(exchanges, a.max_rows);
    a.text.now_s = ::time(nullptr);
    a.text.boot_s = INT64_MAX;  // last's cut of 32-byte names in open sessions is not ours
    LastText text(a.text);
    HostColumn column(a.net.hosts, a.text.charset);
    for (const Ref& ref : merged) {
      column.Append(out.buffer(), ref.host);
      AppendRow(out.buffer(), text, *ref.row, a.text.now_s);
      out.MaybeFlush();
    }
  }
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc {}: write error: {}\n", name, std::strerror(errno));
    return 1;
  }
  return StatusOf(results);
}

}  // namespace utmpcd
