// utmpc dump: util-linux 2.38 utmpdump(1), same text out; --json for programs; -r back to bytes.
//
// Deviations, each on purpose:
// - A garbled record (undefined ut_type) or a truncated one at the end is skipped with one
//   warning on stderr; utmpdump prints whatever the bytes say (or silently drops the tail).
// - ut_tv.tv_sec is read unsigned (DESIGN.md): after 2038 utmpdump (glibc 2.36) prints 1901.
// - A FILE is required to dump (utmpdump reads stdin without one); -r reads stdin without one.
// - No "Utmp dump of FILE" line on stderr, no --follow, no --output.
#include <fmt/format.h>
#include <getopt.h>
#include <time.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/local_time.h"
#include "core/text.h"
#include "formats/utmp.h"
#include "utmpc/commands.h"
#include "utmpc/dump_undump.h"
#include "utmpc/output.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

struct DumpArgs {
  std::optional<std::string> file;
  std::optional<UtmpLayout> layout;
  bool json = false;
  bool reverse = false;
};

void Usage(FILE* out) {
  std::fputs(
      "Usage:\n utmpc dump [options] <file>\n\n"
      "Dump a utmp, wtmp or btmp file (util-linux utmpdump compatible).\n\n"
      "Options:\n"
      " -r, --reverse          read utmpdump text (from <file> or stdin), write records\n"
      "     --json             one JSON object per record, in a JSON array\n"
      "     --layout <384|400> record layout (default: detected; -r writes 384)\n"
      " -h, --help             display this help\n",
      out);
}

// utmpdump's cleanse(): everything but printable ASCII, and the brackets that delimit its
// columns, becomes '?', so the text can be read back by -r.
void AppendCleansed(std::string& out, std::string_view text, size_t width) {
  for (char ch : text) {
    bool printable = ch >= 0x20 && ch < 0x7f && ch != '[' && ch != ']';
    out += printable ? ch : '?';
  }
  if (text.size() < width) out.append(width - text.size(), ' ');
}

// util-linux's ISO_TIMESTAMP_COMMA_GT: UTC whatever TZ says, "%06ld" microseconds (printf,
// not modulo: a garbage tv_usec shows as garbage). JSON gets '.' before the microseconds, which
// more parsers (JavaScript's Date among them) accept than utmpdump's ','.
void AppendUtcTime(std::string& out, const LoginRecord& r, char separator = ',') {
  std::string iso;
  AppendIso8601(iso, CivilFromUnix(r.time_s, 0));
  // "...T23:13:20+00:00": the microseconds go between the seconds and the zone.
  out.append(iso, 0, iso.size() - 6);
  fmt::format_to(std::back_inserter(out), "{}{:06}", separator, r.time_usec);
  out.append(iso, iso.size() - 6);
}

void AppendText(std::string& out, const LoginRecord& r) {
  fmt::format_to(std::back_inserter(out), "[{}] [{:05}] [", r.type, r.pid);
  AppendCleansed(out, r.id, 4);
  out += "] [";
  AppendCleansed(out, r.user, 8);
  out += "] [";
  AppendCleansed(out, r.line, 12);
  out += "] [";
  AppendCleansed(out, r.host, 20);
  fmt::format_to(std::back_inserter(out), "] [{:<15}] [", AddressText(r));
  AppendUtcTime(out, r);
  out += "]\n";
}

void AppendJson(std::string& out, const LoginRecord& r, uint64_t offset, bool first) {
  out += first ? "\n" : ",\n";
  fmt::format_to(std::back_inserter(out),
                 "{{\"offset\":{},\"type\":{},\"pid\":{},\"line\":", offset, r.type, r.pid);
  AppendJsonString(out, r.line);
  out += ",\"id\":";
  AppendJsonString(out, r.id);
  out += ",\"user\":";
  AppendJsonString(out, r.user);
  out += ",\"host\":";
  AppendJsonString(out, r.host);
  out += ",\"addr\":";
  if (HasAddress(r)) {
    AppendJsonString(out, AddressText(r));
  } else {
    out += "null";
  }
  fmt::format_to(std::back_inserter(out),
                 ",\"exit_termination\":{},\"exit_status\":{},\"session\":{},\"time\":\"",
                 r.exit_termination, r.exit_status, r.session);
  AppendUtcTime(out, r, '.');
  fmt::format_to(std::back_inserter(out), "\",\"time_us\":{}}}", r.time_us());
}

// Parses dump's command line; returns an exit status to stop with, or -1 to go on.
int ParseArgs(int argc, char** argv, DumpArgs* a) {
  enum { kJson = CHAR_MAX + 1, kLayout };
  static const struct option kLong[] = {{"reverse", no_argument, nullptr, 'r'},
                                        {"json", no_argument, nullptr, kJson},
                                        {"layout", required_argument, nullptr, kLayout},
                                        {"help", no_argument, nullptr, 'h'},
                                        {nullptr, 0, nullptr, 0}};
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, "rh", kLong, nullptr)) != -1) {
    switch (c) {
      case 'r':
        a->reverse = true;
        break;
      case kJson:
        a->json = true;
        break;
      case kLayout:
        a->layout = ParseLayout(optarg);
        if (!a->layout) {
          fmt::print(stderr, "utmpc dump: unknown record layout: {} (384 or 400)\n", optarg);
          return kUsageError;
        }
        break;
      case 'h':
        Usage(stdout);
        return 0;
      default:
        std::fputs("Try 'utmpc dump --help' for more information.\n", stderr);
        return kUsageError;
    }
  }
  if (argc - optind > 1) {
    fmt::print(stderr, "utmpc dump: unexpected argument: {}\n", argv[optind + 1]);
    return kUsageError;
  }
  if (optind < argc) a->file = argv[optind];
  if (!a->file && !a->reverse) {
    std::fputs("utmpc dump: no file given\n", stderr);
    Usage(stderr);
    return kUsageError;
  }
  return -1;
}

int Dump(const DumpArgs& args) {
  auto file = UtmpFile::Open(*args.file, args.layout);
  if (!file) {
    fmt::print(stderr, "utmpc dump: {}\n", file.error().message);
    return 1;
  }
  Output out(stdout);
  if (args.json) out.buffer() += "[";
  bool first = true;
  auto read = file->ReadForward([&](const LoginRecord& r, uint64_t offset) {
    if (args.json) {
      AppendJson(out.buffer(), r, offset, first);
    } else {
      AppendText(out.buffer(), r);
    }
    first = false;
    out.MaybeFlush();
    return true;
  });
  if (args.json) out.buffer() += first ? "]\n" : "\n]\n";
  int status = 0;
  if (!read) {
    out.Flush();
    fmt::print(stderr, "utmpc dump: {}\n", read.error().message);
    status = 1;
  }
  if (std::string report = file->DamageReport(); !report.empty()) {
    out.Flush();
    fmt::print(stderr, "utmpc dump: warning: {}\n", report);
  }
  if (!out.Flush()) {
    fmt::print(stderr, "utmpc dump: write error: {}\n", std::strerror(errno));
    return 1;
  }
  return status;
}

}  // namespace

int RunDump(int argc, char** argv) {
  DumpArgs args;
  if (int status = ParseArgs(argc, argv, &args); status >= 0) return status;
  if (!args.reverse) return Dump(args);
  if (args.json) {
    std::fputs("utmpc dump: --json does not go with --reverse\n", stderr);
    return kUsageError;
  }
  return Undump(args.file, args.layout.value_or(UtmpLayout::kGlibc384));
}

}  // namespace utmpcd
