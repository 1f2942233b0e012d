// utmpc last / lastb: util-linux last(1) and lastb(1), same options, same bytes out.
#include <fmt/format.h>
#include <getopt.h>
#include <libgen.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/last_builder.h"
#include "core/text.h"
#include "core/timestamp.h"
#include "core/version.h"
#include "formats/utmp.h"
#include "formats/wtmpdb.h"
#include "sources/host_state.h"
#include "store/history_read.h"
#include "utmpc/commands.h"
#include "utmpc/forked_task.h"
#include "utmpc/last_json.h"
#include "utmpc/last_options.h"
#include "utmpc/last_text.h"
#include "utmpc/net_query.h"
#include "utmpc/output.h"
#include "utmpc/row_pipeline.h"
#include "utmpc/spill_file.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

constexpr char kWtmpPath[] = "/var/log/wtmp";
constexpr char kBtmpPath[] = "/var/log/btmp";

struct LastArgs {
  LastQuery query;
  LastTextOptions text;
  std::vector<std::string> files;
  std::optional<UtmpLayout> layout;
  uint64_t max_rows = 0;
  bool json = false;
  std::string database;  // --database; empty: $UTMPC_DATABASE or the default
  bool no_daemon = false;  // --no-daemon: the file even when the daemon's history is there
  bool verbose = false;
};

void Usage(const char* name, bool lastb, FILE* out) {
  fmt::print(out,
             "Usage:\n utmpc {} [options] [<username>...] [<tty>...]\n\n"
             "Show a listing of last logged in users (util-linux {} compatible).\n\n"
             "Options:\n"
             " -<number>            how many lines to show\n"
             " -a, --hostlast       display hostnames in the last column\n"
             " -d, --dns            translate the IP number back into a hostname\n"
             " -f, --file <file>    use a specific file instead of {} (repeatable)\n"
             "     --database <file>  the utmpcd history to read without -f\n"
             "                      (default: $UTMPC_DATABASE, else {})\n"
             "     --no-daemon      read {} even when the utmpcd history is there\n"
             " -F, --fulltimes      print full login and logout times and dates\n"
             " -i, --ip             display IP numbers in numbers-and-dots notation\n"
             " -n, --limit <number> how many lines to show\n"
             " -R, --nohostname     don't display the hostname field\n"
             " -s, --since <time>   display the lines since the specified time\n"
             " -t, --until <time>   display the lines until the specified time\n"
             " -p, --present <time> display who were present at the specified time\n"
             " -w, --fullnames      display full user and domain names\n"
             " -x, --system         display system shutdown entries and run level changes\n"
             "     --time-format <format>  notime|short|full|iso\n"
             "     --color[=<when>] colour the sessions still on (green) and those that\n"
             "                      ended in a crash or gone (red): auto (default: on a\n"
             "                      terminal, unless $NO_COLOR is set), always, never\n"
             "     --json           one JSON object per session, in a JSON array\n"
             "     --layout <384|400>  record layout (default: detected)\n"
             "     --verbose        say on stderr what is read\n"
             " -h, --help           display this help\n",
             name, name, lastb ? kBtmpPath : kWtmpPath, kHistoryDatabasePath,
             lastb ? kBtmpPath : kWtmpPath);
  std::fputs(kNetOptionsHelp, out);
}

bool ParseTime(const char* name, const char* text, int64_t now_us, int64_t* out_s) {
  auto t = ParseTimestamp(text, now_us);
  if (!t) {
    fmt::print(stderr, "utmpc {}: invalid time value \"{}\"\n", name, text);
    return false;
  }
  *out_s = *t / 1000000;
  return true;
}

// Parses last's command line; returns an exit status to stop with, or -1 to go on.
enum { kJson = kLastColor + 1, kLayout, kDatabase, kVerbose, kNoDaemon };

// utmpc last's long options (util-linux last's, and utmpc's own).
const std::vector<struct option>& LastCmdLongOptions() {
  static const std::vector<struct option> kLong =
      LastLongOptions({{"json", no_argument, nullptr, kJson},
                       {"layout", required_argument, nullptr, kLayout},
                       {"database", required_argument, nullptr, kDatabase},
                       {"verbose", no_argument, nullptr, kVerbose},
                       {"no-daemon", no_argument, nullptr, kNoDaemon}});
  return kLong;
}

int ParseArgs(int argc, char** argv, bool lastb, LastArgs* a) {
  const char* name = lastb ? "lastb" : "last";
  const std::vector<struct option>& kLong = LastCmdLongOptions();
  // Relative times (-s now, -t -2d) count from time(2), whole seconds, as util-linux's
  // parse_timestamp() does: glibc reads it from the coarse clock, which can still show the
  // previous second a few milliseconds into the next one.
  const int64_t now_us = int64_t{::time(nullptr)} * 1000000;
  LastTimeFlags flags;
  flags.color = DefaultLastColor(argv[0]);
  optind = 0;  // a fresh scan, also when called twice in one process (tests)
  int c;
  while ((c = getopt_long(argc, argv, kLastShortOptions, kLong.data(), nullptr)) != -1) {
    if (int taken = TakeLastTextOption(name, c, optarg, &a->text, &flags); taken != -2) {
      if (taken >= 0) return taken;
      if (CheckLastTimeFlags(name, flags) >= 0) return kUsageError;
      continue;
    }
    switch (c) {
      case 'h':
        Usage(name, lastb, stdout);
        return 0;
      case 'V':
        fmt::print("utmpc {} (utmpcd) {}\n", name, kVersion);
        return 0;
      case 'x':
        a->query.extended = true;
        break;
      case 'n': {
        char* end = nullptr;
        errno = 0;
        long n = std::strtol(optarg, &end, 10);
        if (errno != 0 || end == optarg || *end != '\0' || n < INT_MIN || n > INT_MAX) {
          fmt::print(stderr, "utmpc {}: failed to parse number: '{}'\n", name, optarg);
          return kUsageError;
        }
        // last.c stores the int in an unsigned: a negative limit is a huge one.
        a->max_rows = static_cast<unsigned int>(static_cast<int>(n));
        break;
      }
      case 'f':
        a->files.emplace_back(optarg);
        break;
      case 'p':
        if (!ParseTime(name, optarg, now_us, &a->query.present_s)) return kUsageError;
        break;
      case 's':
        if (!ParseTime(name, optarg, now_us, &a->query.since_s)) return kUsageError;
        break;
      case 't':
        if (!ParseTime(name, optarg, now_us, &a->query.until_s)) return kUsageError;
        break;
      case kJson:
        a->json = true;
        break;
      case kDatabase:
        a->database = optarg;
        break;
      case kVerbose:
        a->verbose = true;
        break;
      case kNoDaemon:
        a->no_daemon = true;
        break;
      case kLayout:
        a->layout = ParseLayout(optarg);
        if (!a->layout) {
          fmt::print(stderr, "utmpc {}: unknown record layout: {} (384 or 400)\n", name, optarg);
          return kUsageError;
        }
        break;
      default:
        if (c >= '0' && c <= '9') {
          a->max_rows = 10 * a->max_rows + static_cast<unsigned>(c - '0');
          break;
        }
        fmt::print(stderr, "Try 'utmpc {} --help' for more information.\n", name);
        return kUsageError;
    }
  }
  for (int i = optind; i < argc; ++i) a->query.show.emplace_back(argv[i]);
  a->query.btmp = lastb;
  a->text.charset = CurrentTerminalCharset();
  a->text.color = UseColor(flags.color, STDOUT_FILENO);
  return -1;
}

std::string BaseName(const std::string& path) {
  std::string copy = path;
  return ::basename(copy.data());
}

// When a listing starts: what "still running" and "gone" are decided against.
struct ListingClock {
  int64_t now_s;
  int64_t boot_s;
};
using RowEmit = std::function<bool(const LastRow&)>;
// Produces a listing's rows, newest first, through emit (false ends it).
using RowSource = std::function<Result<void>(const ListingClock&, const RowEmit&)>;

LastBuilder::PhantomCheck PhantomCheckFor(int64_t boot_s) {
  return [boot_s](const LoginRecord& r) { return IsPhantomLogin(r, boot_s); };
}

// Lists the rows of `produce`, then "<label> begins <begins_s>"; `path` names the source in
// JSON and errors. `rows` counts the rows listed so far over all sources, as last.c's
// recsdone. Returns 0, or 1 after a read error.
int ListRows(const char* name, const std::string& path, const std::string& label, int64_t begins_s,
             LastArgs& args, Output& out, LastJson& json, uint64_t& rows,
             const RowSource& produce) {
  const ListingClock clock{::time(nullptr), BootTimeS()};
  args.text.now_s = clock.now_s;
  args.text.boot_s = clock.boot_s;
  LastText text(args.text);
  RowPipeline pipeline([&](const LastRow& row) {
    if (args.json) {
      json.AppendRow(row, clock.now_s, path);
    } else {
      text.AppendRow(out.buffer(), row);
    }
    out.MaybeFlush();
  });
  auto emit = [&](const LastRow& row) {
    pipeline.Push(row);
    ++rows;
    return !(args.max_rows != 0 && args.max_rows <= rows);
  };
  auto read = produce(clock, emit);
  pipeline.Finish();
  int status = 0;
  if (!read) {
    out.Flush();
    fmt::print(stderr, "utmpc {}: {}\n", name, read.error().message);
    status = 1;
  }
  if (!args.json) text.AppendBegins(out.buffer(), label, begins_s);
  return status;
}

// Files of at least this many records are listed in two processes when they can be
// ($UTMPC_SPLIT_RECORDS changes it; 0 never splits).
constexpr uint64_t kSplitRecords = 32768;

uint64_t SplitRecords() {
  const char* env = std::getenv("UTMPC_SPLIT_RECORDS");
  if (env == nullptr || *env == '\0') return kSplitRecords;
  char* end = nullptr;
  unsigned long long n = std::strtoull(env, &end, 10);
  if (*end != '\0') return kSplitRecords;
  return n == 0 ? UINT64_MAX : n;
}

// Where a listing of `file` can be cut in two for two processes: the index of a barrier record
// (see LastBuilder::IsBarrier) near the middle, searched in the quarter before it, then in the
// quarter after. Only for text listed whole: -n stops early, and JSON is one array.
std::optional<uint64_t> FindSplit(UtmpFile& file, const LastArgs& args,
                                  const LastBuilder& builder) {
  const uint64_t n = file.record_count();
  if (args.json || args.max_rows != 0 || n < SplitRecords() || n < 4) return std::nullopt;
  std::optional<uint64_t> split;
  auto find = [&](const LoginRecord& r, uint64_t offset) {
    if (builder.IsBarrier(r)) split = offset / RecordSize(file.layout());
    return !split;
  };
  if (!file.ReadBackward(find, RecordDetail::kNoHost, {n / 4, n / 2})) return std::nullopt;
  if (!split && !file.ReadForward(find, RecordDetail::kNoHost, {n / 2, n - n / 4})) {
    return std::nullopt;
  }
  return split;
}

// How last reads a file: without hosts but those of logins when it prints every login, without
// any when it shows some (most of them are then never printed).
RecordDetail ListingDetail(const LastArgs& args) {
  return args.query.show.empty() ? RecordDetail::kNoHostButLogins : RecordDetail::kNoHost;
}

// A row's record read without its host (RecordDetail::kNoHost), made whole for printing;
// false when the file shrank under the reader.
bool CompleteRow(UtmpFile& file, const LastRow& row) {
  return file.Complete(*row.record) != nullptr;
}

// What the process listing a file's older piece tells the one listing the newer piece.
struct OlderPieceReport {
  uint64_t rows = 0;
  UtmpFile::Damage damage;
  char message[1024] = {};  // empty, or why it failed: a read error, or the spill file's
};
static_assert(std::is_trivially_copyable_v<OlderPieceReport>);

// Lists `file` in two pieces: records [split, end) in this process into `out`, and [0, split]
// in a child process into a spill file, appended after them. Each piece has its own builder;
// the older one's starts after the barrier at `split`. The output is the same as one builder's
// over the whole file. Two processes, not two threads: see ForkedTask. Returns as ListRows;
// nullopt when the child cannot be had (nothing was listed then).
std::optional<int> ListInTwo(const char* name, UtmpFile& file, uint64_t split, LastArgs& args,
                             Output& out, uint64_t& rows) {
  auto older_file = file.Share();
  auto spill = SpillFile::Create();
  if (!older_file || !spill) return std::nullopt;
  const ListingClock clock{::time(nullptr), BootTimeS()};
  args.text.now_s = clock.now_s;
  args.text.boot_s = clock.boot_s;

  auto list_older = [&](void* bytes) {
    auto* report = new (bytes) OlderPieceReport;
    LastText text(args.text);
    LastBuilder builder(args.query, clock.now_s, PhantomCheckFor(clock.boot_s));
    bool started = false;
    auto read = older_file->ReadBackward(
        [&](const LoginRecord& r, uint64_t offset) {
          if (!started) {  // the barrier itself, listed by the newer piece
            started = true;
            // Unless the file changed under us since FindSplit: then no state is assumed.
            if (offset == split * RecordSize(file.layout()) && builder.IsBarrier(r)) {
              builder.ResumeAfter(r);
              return true;
            }
          }
          return builder.Feed(r, [&](const LastRow& row) {
            if (!CompleteRow(*older_file, row)) return false;
            text.AppendRow(spill->buffer(), row);
            ++report->rows;
            return spill->MaybeSpill();
          });
        },
        ListingDetail(args), {0, split + 1});
    report->damage = older_file->damage();
    std::string error;
    if (!spill->Flush()) {
      error = spill->error();
    } else if (!read) {
      error = read.error().message;
    }
    error.copy(report->message, sizeof report->message - 1);
  };
  auto older = ForkedTask::Start(sizeof(OlderPieceReport), list_older);
  if (!older) return std::nullopt;

  LastText text(args.text);
  LastBuilder builder(args.query, clock.now_s, PhantomCheckFor(clock.boot_s));
  auto read = file.ReadBackward(
      [&](const LoginRecord& r, uint64_t) {
        return builder.Feed(r, [&](const LastRow& row) {
          if (!CompleteRow(file, row)) return false;
          text.AppendRow(out.buffer(), row);
          ++rows;
          out.MaybeFlush();
          return true;
        });
      },
      ListingDetail(args), {split, UINT64_MAX});

  // As one pass: a read error or a file that shrank ends the listing where it happened (and
  // the child is stopped).
  if (!read) {
    out.Flush();
    fmt::print(stderr, "utmpc {}: {}\n", name, read.error().message);
    return 1;
  }
  if (file.shrank()) return 0;
  OlderPieceReport report;
  if (auto waited = older->Wait(&report); !waited) {
    out.Flush();
    fmt::print(stderr, "utmpc {}: {}: the records before {} were not listed: {}\n", name,
               file.path(), split, waited.error().message);
    return 1;
  }
  file.MergeDamage(report.damage);
  rows += report.rows;
  if (!spill->AppendTo(out)) {
    out.Flush();
    fmt::print(stderr, "utmpc {}: write error: {}\n", name, std::strerror(errno));
    return 1;
  }
  if (report.message[0] != '\0') {
    out.Flush();
    fmt::print(stderr, "utmpc {}: {}\n", name, report.message);
    return 1;
  }
  return 0;
}

// Lists one file. Returns 0, 1 after a read error, or -1 when the file cannot be opened.
int ListFile(const char* name, const std::string& path, LastArgs& args, Output& out,
             LastJson& json, uint64_t& rows) {
  auto file = UtmpFile::Open(path, args.layout);
  if (!file) {
    out.Flush();
    fmt::print(stderr, "utmpc {}: {}\n", name, file.error().message);
    return -1;
  }
  // As last.c: the listing "begins" at the first record, or the file's ctime when empty.
  int64_t begins_s = file->ctime_s();
  (void)file->ReadForward([&](const LoginRecord& r, uint64_t) {
    begins_s = r.time_s;
    return false;
  });
  std::optional<int> split_status;
  if (auto split = FindSplit(*file, args, LastBuilder(args.query, 0, nullptr))) {
    split_status = ListInTwo(name, *file, *split, args, out, rows);
    if (args.verbose && split_status) {
      fmt::print(stderr, "utmpc {}: listed {} in two processes, cut at record {} of {}\n", name,
                 path, *split, file->record_count());
    }
  }
  int status = 0;
  if (split_status) {
    status = *split_status;
    LastText(args.text).AppendBegins(out.buffer(), BaseName(path), begins_s);
  } else {
    status = ListRows(name, path, BaseName(path), begins_s, args, out, json, rows,
                      [&](const ListingClock& clock, const RowEmit& emit) {
                        LastBuilder builder(args.query, clock.now_s,
                                            PhantomCheckFor(clock.boot_s));
                        return file->ReadBackward(
                            [&](const LoginRecord& r, uint64_t) {
                              return builder.Feed(r, [&](const LastRow& row) {
                                return CompleteRow(*file, row) && emit(row);
                              });
                            },
                            ListingDetail(args));
                      });
  }
  if (std::string report = file->DamageReport(); !report.empty()) {
    out.Flush();
    fmt::print(stderr, "utmpc {}: warning: {}\n", name, report);
  }
  return status;
}

// Lists the daemon's history as last lists the wtmp (btmp) it holds, down to the begins line,
// which names that file. An empty history begins where last says that file begins, at its
// ctime (when it was made, for a btmp no one failed to log in to); without the file, when the
// database file was last changed.
int ListHistory(const char* name, HistoryReader& history, bool lastb, LastArgs& args,
                Output& out, LastJson& json, uint64_t& rows) {
  auto begins = history.BeginsS();
  if (!begins) {
    fmt::print(stderr, "utmpc {}: {}\n", name, begins.error().message);
    return 1;
  }
  struct stat st {};
  int64_t begins_s = ::stat(lastb ? kBtmpPath : kWtmpPath, &st) == 0 ||
                             ::stat(history.path().c_str(), &st) == 0
                         ? st.st_ctime
                         : 0;
  return ListRows(
      name, history.path(), BaseName(lastb ? kBtmpPath : kWtmpPath), begins->value_or(begins_s),
      args, out, json, rows, [&](const ListingClock& clock, const RowEmit& emit) {
        return history.List(args.query, clock.now_s, PhantomCheckFor(clock.boot_s), emit);
      });
}

// Without -f: the daemon's history when it can be read (unless --no-daemon), else the classic
// file. A database named with --database must be readable; the default one (or
// $UTMPC_DATABASE) is only used when it is. Returns the history to read, or nullptr (read
// args.files); sets *status to stop.
std::unique_ptr<HistoryReader> ChooseSource(const char* name, bool lastb, LastArgs& args,
                                            int* status) {
  if (!args.files.empty()) return nullptr;
  if (args.no_daemon) {
    args.files.emplace_back(lastb ? kBtmpPath : kWtmpPath);
    if (args.verbose) fmt::print(stderr, "utmpc {}: reading {}\n", name, args.files.back());
    return nullptr;
  }
  const std::string path = HistoryDatabasePath(args.database);
  auto history = HistoryReader::Open(path, lastb);
  if (history) {
    // A daemon that is stopped (or behind) leaves the history short of the file: never show
    // less than last would. The file itself is read then, and the reason said.
    const char* file = lastb ? kBtmpPath : kWtmpPath;
    auto behind = (*history)->RecordsBehind(
        file, lastb ? EventSource::kBtmp : EventSource::kWtmp,
        RecordSize(args.layout.value_or(UtmpLayout::kGlibc384)));
    if (behind && *behind && **behind > 0 && args.database.empty()) {
      fmt::print(stderr,
                 "utmpc {}: the utmpcd history {} is {} record{} behind {} (is utmpcd "
                 "running?); reading {}\n",
                 name, path, **behind, **behind == 1 ? "" : "s", file, file);
      args.files.emplace_back(file);
      return nullptr;
    }
    if (args.verbose) {
      fmt::print(stderr, "utmpc {}: reading the utmpcd history {} ({})\n", name, path,
                 HistoryReader::UsesIndex(args.query) ? "indexed" : "full scan");
    }
    return std::move(*history);
  }
  if (!args.database.empty()) {
    fmt::print(stderr, "utmpc {}: {}\n", name, history.error().message);
    *status = 1;
    return nullptr;
  }
  args.files.emplace_back(lastb ? kBtmpPath : kWtmpPath);
  if (args.verbose) {
    fmt::print(stderr, "utmpc {}: {}; reading {}\n", name, history.error().message,
               args.files.back());
  }
  return nullptr;
}

// A wtmpdb database to read instead of wtmp: a file that --database or -f names when it is one
// (`utmpc last -f /var/log/wtmp.db` on Debian 13), or on a host whose history is wtmpdb's (no
// /var/log/wtmp, no utmpcd history, a wtmpdb database in one of its places) that one when no
// file is named ("": the default). Then the arguments are wtmpdb last's. (Options are looked
// for as written, not as getopt's abbreviations.)
std::optional<std::string> WtmpdbInstead(int argc, char** argv) {
  bool named_file = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    std::optional<std::string> path;
    if (a.starts_with("--") && a.size() > 2) {
      // A long option as getopt_long takes it: whole, or any prefix that names one option.
      std::string_view name = a.substr(2, a.find('=') == std::string_view::npos
                                              ? std::string_view::npos
                                              : a.find('=') - 2);
      const struct option* found = nullptr;
      int matches = 0;
      for (const struct option& o : LastCmdLongOptions()) {
        if (o.name == nullptr || !std::string_view(o.name).starts_with(name)) continue;
        found = &o;
        ++matches;
        if (name == o.name) {
          matches = 1;
          break;
        }
      }
      if (matches != 1) continue;  // getopt_long says what is wrong
      const bool inline_value = a.find('=') != std::string_view::npos;
      std::optional<std::string> value;
      if (inline_value) {
        value = std::string(a.substr(a.find('=') + 1));
      } else if (found->has_arg == required_argument && i + 1 < argc) {
        value = argv[++i];
      }
      const std::string_view option_name = found->name;
      if (option_name == "database" || option_name == "file") path = value;
    } else if (a == "-f" && i + 1 < argc) {
      path = argv[++i];
    } else if (a.size() > 2 && a.starts_with("-f")) {
      path = std::string(a.substr(2));
    } else if (a.size() >= 2 && a[0] == '-' && a[1] != '-' &&
               a.find('f') != std::string_view::npos) {
      named_file = true;  // -xf FILE and the like: a file, not looked at here
    }
    if (!path) continue;
    if (IsWtmpdb(*path)) return path;
    named_file = true;
  }
  struct stat st {};
  if (named_file || ::stat(kWtmpPath, &st) == 0 || ExistingWtmpdbPath() == nullptr) {
    return std::nullopt;
  }
  if (HistoryReader::Open(HistoryDatabasePath(""), false)) return std::nullopt;
  return std::string();
}

}  // namespace

int RunLast(int argc, char** argv, bool lastb) {
  const char* name = lastb ? "lastb" : "last";
  if (!lastb) {
    if (auto wtmpdb = WtmpdbInstead(argc, argv)) {
      return RunWtmpdbLast(argc, argv, wtmpdb->empty() ? nullptr : wtmpdb->c_str());
    }
  }
  LastArgs args;
  if (int status = ParseArgs(argc, argv, lastb, &args); status >= 0) return status;

  int status = 0;
  std::unique_ptr<HistoryReader> history = ChooseSource(name, lastb, args, &status);
  if (status != 0) return status;

  Output out(stdout);
  LastJson json(&out, lastb);
  if (args.json) json.Begin();
  uint64_t rows = 0;
  if (history) status = ListHistory(name, *history, lastb, args, out, json, rows);
  for (const std::string& path : args.files) {
    int file_status = ListFile(name, path, args, out, json, rows);
    if (file_status < 0) return 1;  // as last: a file that cannot be opened ends the run
    status |= file_status;
  }
  if (args.json) json.End();
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc {}: write error: {}\n", name, std::strerror(errno));
    return 1;
  }
  return status;
}

}  // namespace utmpcd
