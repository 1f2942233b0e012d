// The whole `utmpc last` path on untrusted bytes: the input is a wtmp (or btmp) file, read by
// UtmpFile (layout detection, windowed reads, damage counting), paired by LastBuilder and
// rendered by LastText and LastJson. Never a crash; the text is safe for a terminal (no control
// byte but '\t' and the '\n' ending each line) and the JSON parses.
#include <sys/mman.h>
#include <unistd.h>

#include <clocale>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/last_builder.h"
#include "core/text.h"
#include "formats/utmp.h"
#include "fuzz/fuzz_check.h"
#include "utmpc/last_json.h"
#include "utmpc/last_text.h"
#include "utmpc/output.h"

namespace utmpcd::fuzz {
namespace {

// The listing's "now": fixed, so a crash reproduces (2023-11-14T22:13:20Z).
constexpr int64_t kNowS = 1700000000;

struct Variant {
  LastQuery query;
  LastTextOptions text;
};

// A few option sets that between them reach every branch of the builder and the formatter
// that does not need the network (-d would resolve names).
std::vector<Variant> Variants() {
  std::vector<Variant> v(3);
  v[0].query.extended = true;  // last -x
  v[1].query.btmp = true;      // lastb -w --time-format iso -a
  v[1].text.time_format = LastTimeFormat::kIso;
  v[1].text.host_last = true;
  v[1].text.name_len = 32;
  v[1].text.host_len = 256;
  v[1].text.charset = TerminalCharset::kUtf8;
  v[2].query.present_s = kNowS - 86400;  // last -F -i -p ... root pts/1
  v[2].query.since_s = 1;
  v[2].query.show = {"root", "pts/1"};
  v[2].text.time_format = LastTimeFormat::kFull;
  v[2].text.numeric_ip = true;
  v[2].text.charset = TerminalCharset::kUtf8;
  for (Variant& each : v) each.text.now_s = kNowS;
  return v;
}

// The input as a file UtmpFile can open by name, without touching the disk.
int InputFd() {
  static int fd = memfd_create("fuzz_wtmp", MFD_CLOEXEC);
  Check(fd >= 0, "memfd_create failed");
  return fd;
}

FILE* DevNull() {
  static FILE* f = std::fopen("/dev/null", "w");
  return f;
}

void List(const std::string& path, const Variant& v) {
  auto file = UtmpFile::Open(path);
  Check(file.has_value(), "UtmpFile::Open failed on a regular file");
  LastText text(v.text);
  Output json_out(DevNull());
  LastJson json(&json_out, v.query.btmp);
  json.Begin();
  std::string out;
  // As last.c: a login with no logout is "gone" when its process is; here every odd pid is.
  LastBuilder builder(v.query, kNowS, [](const LoginRecord& r) { return r.pid % 2 != 0; });
  int64_t begins_s = file->ctime_s();
  (void)file->ReadForward([&](const LoginRecord& r, uint64_t) {
    begins_s = r.time_s;
    return false;
  });
  auto read = file->ReadBackward([&](const LoginRecord& r, uint64_t) {
    return builder.Feed(r, [&](const LastRow& row) {
      text.AppendRow(out, row);
      json.AppendRow(row, kNowS, path);
      return true;
    });
  });
  Check(read.has_value(), "reading a memfd failed");
  // utmpc last reads without hosts (but those of logins when it prints them all) and completes
  // the rows it prints: the same text.
  std::string lean_out;
  LastText lean_text(v.text);
  LastBuilder lean_builder(v.query, kNowS, [](const LoginRecord& r) { return r.pid % 2 != 0; });
  auto lean_read = file->ReadBackward(
      [&](const LoginRecord& r, uint64_t) {
        return lean_builder.Feed(r, [&](const LastRow& row) {
          Check(file->Complete(*row.record) == row.record, "Complete lost a row's record");
          lean_text.AppendRow(lean_out, row);
          return true;
        });
      },
      v.query.show.empty() ? RecordDetail::kNoHostButLogins : RecordDetail::kNoHost);
  Check(lean_read.has_value(), "reading a memfd without hosts failed");
  Check(lean_out == out, "rows read without hosts and completed differ from whole rows");
  text.AppendBegins(out, "wtmp", begins_s);
  json.End();
  (void)file->DamageReport();

  bool utf8 = v.text.charset == TerminalCharset::kUtf8;
  Check(IsTerminalSafe(out, utf8, /*newlines=*/true), "last text output is not terminal-safe");
  Check(out.empty() || out.back() == '\n', "last text output does not end a line");
  auto parsed = nlohmann::json::parse(json_out.buffer(), nullptr, /*allow_exceptions=*/false);
  Check(!parsed.is_discarded() && parsed.is_array(), "last --json output is not a JSON array");
  json_out.buffer().clear();
}

}  // namespace
}  // namespace utmpcd::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // A zone with daylight saving time, given inline so no tzdata is needed.
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  tzset();
  // iswprint answers for UTF-8 only in a UTF-8 locale; C.UTF-8 is always there on glibc 2.35+.
  std::setlocale(LC_CTYPE, "C.UTF-8");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace utmpcd;
  static const std::vector<fuzz::Variant> variants = fuzz::Variants();
  int fd = fuzz::InputFd();
  fuzz::Check(ftruncate(fd, 0) == 0, "ftruncate failed");
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    fuzz::Check(n > 0, "pwrite failed");
    done += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  for (const fuzz::Variant& v : variants) fuzz::List(path, v);
  return 0;
}
