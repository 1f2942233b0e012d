// Differential tests: `utmpc last|lastb` against util-linux 2.38 `last`/`lastb`, byte for byte,
// on fixtures from wtmpgen ($WTMPGEN), for the options, filters, time zones and locales that
// scripts depend on.
//
// Both tools run on the same machine, so they see the same boot time, users and processes: what
// `last` decides from the live system ("gone" or "still logged in") comes out the same, as long
// as no record sits within seconds of a moving boundary (boot time, "now" in a relative time).
// Fixtures keep away from those: old ones predate any boot, and near-now ones are checked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/utmp.h"
#include "spawn_util.h"

namespace utmpcd {
namespace {

using testing::Args;
using testing::Outcome;
using testing::ReadAll;
using testing::Spawn;
namespace fs = std::filesystem;

constexpr char kLast[] = "/usr/bin/last";
constexpr char kLastb[] = "/usr/bin/lastb";
const std::vector<std::string> kZones = {"UTC", "Europe/Berlin", "America/New_York"};
const char* const kSplitModes[] = {"0", "4"};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// On a mismatch, the first differing line and a little context: a whole listing is thousands
// of lines nobody reads.
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::vector<std::string> a = Lines(want), b = Lines(got);
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::ostringstream s;
  s << "first difference at line " << i + 1 << " (last: " << a.size()
    << " lines, utmpc: " << b.size() << ")\n";
  for (size_t j = i >= 2 ? i - 2 : 0; j < i + 3; ++j) {
    if (j < a.size()) s << "  last  " << (j < i ? "  " : "- ") << a[j] << "\n";
    if (j >= i && j < b.size()) s << "  utmpc + " << b[j] << "\n";
  }
  if (i == a.size() && i == b.size()) s << "  (lines agree; bytes differ, e.g. a final newline)\n";
  return s.str();
}

std::string Join(const Args& args) {
  std::string s;
  for (const std::string& a : args) s += (s.empty() ? "" : " ") + ("'" + a + "'");
  return s;
}

class LastDiff : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* utmpc = std::getenv("UTMPC");
    const char* gen = std::getenv("WTMPGEN");
    // Run through ctest, which sets both; without them the test would prove nothing.
    ASSERT_TRUE(utmpc != nullptr && gen != nullptr) << "UTMPC and WTMPGEN must be set";
    if (::access(kLast, X_OK) != 0 || ::access(kLastb, X_OK) != 0) {
      GTEST_SKIP() << "util-linux last/lastb not installed";
    }
    utmpc_ = utmpc;
    wtmpgen_ = gen;
    std::string pattern = (fs::temp_directory_path() / "last_diff.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Writes a fixture (wtmpgen options) as dir/<subdir>/<name>: one name per file, since `last`
  // prints the file's basename.
  std::string Fixture(const std::string& subdir, const std::string& name, Args options) {
    fs::create_directories(dir_ / subdir);
    std::string path = (dir_ / subdir / name).string();
    options.insert(options.begin(), wtmpgen_);
    options.insert(options.end(), {"-o", path});
    Outcome gen = Spawn(options, {}, dir_);
    EXPECT_EQ(gen.status, 0) << Join(options) << ": " << gen.err;
    return path;
  }

  Outcome Last(bool lastb, const Args& args, const std::string& tz, const std::string& locale) {
    Args argv{lastb ? kLastb : kLast};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, {"TZ=" + tz, "LC_ALL=" + locale}, dir_);
  }
  // `split` is $UTMPC_SPLIT_RECORDS: "0" lists every file in one process; "4" cuts any file
  // of 4 records or more in two, after a shutdown near its middle (lastb: after any record),
  // and lists the pieces in two processes, as utmpc does with big files; "" is the default.
  Outcome Utmpc(bool lastb, const Args& args, const std::string& tz, const std::string& locale,
                const std::string& split = "0") {
    Args argv{utmpc_, lastb ? "lastb" : "last"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Spawn(argv, {"TZ=" + tz, "LC_ALL=" + locale, "UTMPC_SPLIT_RECORDS=" + split}, dir_);
  }

  // Runs both with the same arguments and expects the same stdout and exit status, from utmpc
  // in one process and in two.
  void ExpectSame(bool lastb, const Args& args, const std::string& tz = "UTC",
                  const std::string& locale = "C") {
    Outcome want = Last(lastb, args, tz, locale);
    for (const char* split : kSplitModes) {
      Outcome got = Utmpc(lastb, args, tz, locale, split);
      std::string what = std::string(lastb ? "lastb " : "last ") + Join(args) + " (TZ=" + tz +
                         " LC_ALL=" + locale + " UTMPC_SPLIT_RECORDS=" + split + ")";
      EXPECT_EQ(want.status, got.status) << what << "\nutmpc stderr: " << got.err;
      if (want.out != got.out) ADD_FAILURE() << what << "\n" << FirstDifference(want.out, got.out);
    }
  }

  // Every option set, once per time zone, on the files `files` (given as -f arguments).
  void ExpectSameForAll(bool lastb, const Args& files, const std::vector<Args>& option_sets) {
    for (const std::string& tz : kZones) {
      for (const Args& options : option_sets) {
        Args args = files;
        args.insert(args.end(), options.begin(), options.end());
        ExpectSame(lastb, args, tz);
      }
    }
  }

  // Generates a clean file from `base` and a damaged one from `base` plus `damage`, and expects
  // utmpc on the damaged one to print what `last` prints for the clean one.
  void ExpectDamageSkipped(bool lastb, const Args& base, const Args& damage,
                           const std::string& tag);

  std::string utmpc_, wtmpgen_;
  fs::path dir_;
};

// The options of the default listing, alone and combined. Absolute times are read in the time
// zone of the run; the fixtures start on 2023-11-14 08:20 UTC.
const std::vector<Args> kWtmpOptions = {
    {},
    {"-x"},
    {"-n", "7"},
    {"-12"},
    {"-w"},
    {"-F"},
    {"-i"},
    {"-a"},
    {"-R"},
    {"-i", "-a"},
    {"-w", "-a", "-x"},
    {"-x", "-F", "-w", "-i"},
    {"-R", "-F"},
    {"--time-format", "notime"},
    {"--time-format", "short"},
    {"--time-format", "full", "-a"},
    {"--time-format", "iso"},
    {"--time-format", "iso", "-x", "-R"},
    {"--time-format", "notime", "-a", "-w"},
    {"-s", "2023-11-14 10:00:00"},
    {"-t", "2023-11-20 00:00:00"},
    {"-p", "2023-11-16 12:00:00"},
    {"-x", "-p", "2023-11-15 03:00"},
    {"-s", "2023-11-15", "-t", "2023-12-01 18:30:00", "-x"},
    {"-s", "@1700100000", "-n", "5"},
    {"alice"},
    {"pts/3"},
    {"2"},
    {"tty2", "-x"},
    {"ftp", "uucp"},
    {"alice", "bob", "pts/1", "-w"},
    {"reboot", "-x"},
    {"averyveryverylongusername0123456", "-w"},
    {"-n", "3", "carol", "-F"},
};

TEST_F(LastDiff, EmptyWtmpAllOptions) {
  ExpectSameForAll(false, {"-f", Fixture("a", "wtmp", {"--records", "0"})}, kWtmpOptions);
}

TEST_F(LastDiff, TinyWtmpsAllOptions) {
  for (const char* seed : {"1", "2", "3"}) {
    for (const char* records : {"1", "3", "60"}) {
      std::string file = Fixture(std::string("s") + seed + "n" + records, "wtmp",
                                 {"--seed", seed, "--records", records});
      ExpectSameForAll(false, {"-f", file}, kWtmpOptions);
    }
  }
}

TEST_F(LastDiff, MediumWtmpsAllOptions) {
  for (const char* seed : {"11", "12"}) {
    std::string file = Fixture(seed, "wtmp", {"--seed", seed, "--records", "2500"});
    ExpectSameForAll(false, {"-f", file}, kWtmpOptions);
  }
}

TEST_F(LastDiff, LargeWtmp) {
  std::string file = Fixture("large", "wtmp", {"--seed", "20", "--records", "20000"});
  ExpectSameForAll(false, {"-f", file},
                   {{},
                    {"-x", "-w", "-i"},
                    {"--time-format", "iso", "-a"},
                    {"-n", "100"},
                    {"-p", "2024-01-10 12:00"},
                    {"-s", "2024-02-01", "-t", "2024-02-15"}});
}

// Files big enough that utmpc lists them in two processes by default, with more text from the
// older half than fits its buffer: that text goes through the temporary file, to a pipe here.
TEST_F(LastDiff, BigFilesListedInTwoProcesses) {
  std::string wtmp = Fixture("big", "wtmp", {"--seed", "21", "--records", "100000"});
  std::string btmp =
      Fixture("big", "btmp", {"--seed", "22", "--records", "60000", "--kind", "btmp"});
  ExpectSameForAll(false, {"-f", wtmp}, {{}, {"-x", "-F"}, {"alice"}, {"-a", "-i"}});
  ExpectSameForAll(true, {"-f", btmp}, {{}});
  // At the default threshold, as a user runs it.
  Outcome split = Utmpc(false, {"-f", wtmp, "--verbose"}, "UTC", "C", "");
  EXPECT_NE(split.err.find("in two processes"), std::string::npos) << split.err;
  EXPECT_EQ(split.out, Last(false, {"-f", wtmp}, "UTC", "C").out);
  Outcome one = Utmpc(false, {"-f", wtmp, "--verbose"}, "UTC", "C", "0");
  EXPECT_EQ(one.err.find("in two processes"), std::string::npos) << one.err;
}

// A start just before the fall-back of 2023-11-05 in New York: an ambiguous local time in -s.
TEST_F(LastDiff, AcrossDaylightSavingTimeChanges) {
  std::string file =
      Fixture("dst", "wtmp", {"--seed", "30", "--records", "3000", "--start", "1698800000"});
  ExpectSameForAll(false, {"-f", file},
                   {{},
                    {"-F", "-x"},
                    {"--time-format", "iso"},
                    {"-s", "2023-11-05 01:30:00"},
                    {"-t", "2023-10-29 02:30:00"}});
}

TEST_F(LastDiff, SeveralFiles) {
  std::string a = Fixture("m", "wtmp", {"--seed", "41", "--records", "300"});
  std::string b = Fixture("m", "wtmp.1", {"--seed", "42", "--records", "500"});
  std::string c = Fixture("m", "btmp", {"--seed", "43", "--records", "200", "--kind", "btmp"});
  std::string e = Fixture("m", "empty", {"--records", "0"});
  ExpectSameForAll(false, {"-f", a, "-f", b, "-f", e, "-f", c},
                   {{}, {"-x", "-F"}, {"-n", "5"}, {"-n", "200"}, {"alice", "-R"}});
  ExpectSameForAll(true, {"-f", c, "-f", e, "-f", a}, {{}, {"-n", "3"}, {"-w", "-i"}});
}

TEST_F(LastDiff, LiveUtmpFile) {
  std::string file = Fixture("u", "utmp", {"--seed", "51", "--records", "80", "--kind", "utmp"});
  ExpectSameForAll(false, {"-f", file}, {{}, {"-x"}, {"-w", "-a"}});
}

TEST_F(LastDiff, Lastb) {
  for (const char* seed : {"61", "62"}) {
    std::string file =
        Fixture(seed, "btmp", {"--seed", seed, "--records", "3000", "--kind", "btmp"});
    ExpectSameForAll(true, {"-f", file},
                     {{},
                      {"-w"},
                      {"-i", "-a"},
                      {"-x", "-F"},
                      {"root"},
                      {"ssh:notty", "-n", "9"},
                      {"--time-format", "iso", "-R"},
                      {"-s", "2023-11-14 09:00", "-t", "2023-11-14 12:00"}});
  }
}

// UTF-8 host names pass in a UTF-8 locale and become \ooo in C; control bytes are "*X" in both.
TEST_F(LastDiff, Utf8Locale) {
  std::string w = Fixture("u8", "wtmp", {"--seed", "71", "--records", "4000"});
  std::string b = Fixture("u8", "btmp", {"--seed", "72", "--records", "2000", "--kind", "btmp"});
  for (const Args& options : std::vector<Args>{{}, {"-w"}, {"-a", "-w", "-x"}}) {
    Args wargs{"-f", w}, bargs{"-f", b};
    wargs.insert(wargs.end(), options.begin(), options.end());
    bargs.insert(bargs.end(), options.begin(), options.end());
    ExpectSame(false, wargs, "Europe/Berlin", "C.UTF-8");
    ExpectSame(true, bargs, "America/New_York", "C.UTF-8");
  }
}

// wtmpgen writes the same records in both layouts: utmpc reading the 400-byte file must print
// what `last` prints for the 384-byte one (which is all x86-64 `last` can read).
TEST_F(LastDiff, WideLayoutReadsAsGlibcLayout) {
  std::string narrow = Fixture("narrow", "wtmp", {"--seed", "81", "--records", "1500"});
  std::string wide =
      Fixture("wide", "wtmp", {"--seed", "81", "--records", "1500", "--layout", "400"});
  for (const Args& options : std::vector<Args>{{}, {"-x", "-F", "-w"}}) {
    Args a{"-f", narrow}, b{"-f", wide};
    a.insert(a.end(), options.begin(), options.end());
    b.insert(b.end(), options.begin(), options.end());
    Outcome want = Last(false, a, "UTC", "C");
    for (const char* split : kSplitModes) {
      Outcome got = Utmpc(false, b, "UTC", "C", split);
      EXPECT_EQ(got.err, "");
      // The begins line names the file; both are called "wtmp".
      EXPECT_EQ(want.out, got.out) << FirstDifference(want.out, got.out);
    }
  }
}

// --- Damaged files ----------------------------------------------------------------------------

struct Damage {
  std::vector<uint64_t> garbled;  // byte offsets of records with an invalid ut_type
  bool truncated = false;         // a partial record at the end...
  uint64_t trailing_at = 0;       // ...starting at this offset
};

// What a careful reader should report for `path`, found independently of utmpc's reader.
Damage ScanDamage(const std::string& path) {
  std::string bytes = ReadAll(path);
  constexpr size_t kRec = 384;
  Damage d;
  for (size_t off = 0; off + kRec <= bytes.size(); off += kRec) {
    int16_t type;
    std::memcpy(&type, bytes.data() + off, sizeof type);
    if (type < 0 || type > 9) d.garbled.push_back(off);
  }
  d.truncated = bytes.size() % kRec != 0;
  d.trailing_at = bytes.size() - bytes.size() % kRec;
  return d;
}

// utmpc tells about damage in exactly one line on stderr, naming the file and where it starts.
// A listing cut short (-n) reports only the garbled records it read: maybe none.
void ExpectOneWarning(const std::string& err, const std::string& path, const Damage& d,
                      bool read_all = true) {
  if (!read_all && !d.truncated && err.empty()) return;
  if (d.garbled.empty() && !d.truncated) {
    EXPECT_EQ(err, "") << path;
    return;
  }
  ASSERT_FALSE(err.empty()) << path << ": no warning";
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(err.back(), '\n') << err;
  EXPECT_NE(err.find(path), std::string::npos) << err;
  if (!read_all) return;
  uint64_t first = d.garbled.empty() ? d.trailing_at : d.garbled.front();
  EXPECT_NE(err.find("byte " + std::to_string(first)), std::string::npos)
      << err << "(expected byte " << first << ")";
  if (!d.garbled.empty() && d.truncated) {
    EXPECT_NE(err.find("byte " + std::to_string(d.trailing_at)), std::string::npos) << err;
  }
}

// utmpc on a damaged file must print what `last` prints for the same file without the damage.
void LastDiff::ExpectDamageSkipped(bool lastb, const Args& base, const Args& damage,
                                   const std::string& tag) {
  Args clean_opts = base, damaged_opts = base;
  damaged_opts.insert(damaged_opts.end(), damage.begin(), damage.end());
  std::string name = lastb ? "btmp" : "wtmp";
  std::string clean = Fixture("clean" + tag, name, clean_opts);
  std::string damaged = Fixture("damaged" + tag, name, damaged_opts);
  Damage d = ScanDamage(damaged);
  for (const Args& options : std::vector<Args>{{}, {"-x", "-w", "-F"}, {"-n", "10"}}) {
    Args want_args{"-f", clean}, got_args{"-f", damaged};
    want_args.insert(want_args.end(), options.begin(), options.end());
    got_args.insert(got_args.end(), options.begin(), options.end());
    Outcome want = Last(lastb, want_args, "Europe/Berlin", "C");
    for (const char* split : kSplitModes) {
      Outcome got = Utmpc(lastb, got_args, "Europe/Berlin", "C", split);
      std::string what = Join(got_args) + " (UTMPC_SPLIT_RECORDS=" + split + ")";
      EXPECT_EQ(got.status, 0) << what;
      if (want.out != got.out) ADD_FAILURE() << what << "\n" << FirstDifference(want.out, got.out);
      ExpectOneWarning(got.err, damaged, d, options.empty() || options[0] != "-n");
    }
  }
}

TEST_F(LastDiff, GarbledRecordsAreSkipped) {
  for (const char* seed : {"91", "92"}) {
    for (const char* records : {"1", "50", "6000"}) {
      std::string tag = std::string(seed) + "-" + records;
      ExpectDamageSkipped(false, {"--seed", seed, "--records", records}, {"--garbage", "0.03"},
                          "g" + tag);
      ExpectDamageSkipped(false, {"--seed", seed, "--records", records}, {"--truncate"}, "t" + tag);
      ExpectDamageSkipped(false, {"--seed", seed, "--records", records},
                          {"--garbage", "0.5", "--truncate"}, "gt" + tag);
    }
  }
  ExpectDamageSkipped(true, {"--seed", "93", "--records", "2000", "--kind", "btmp"},
                      {"--garbage", "0.02", "--truncate"}, "b");
}

// Shorter than one record: `last` lists nothing and dates the file by its ctime.
TEST_F(LastDiff, FileShorterThanOneRecord) {
  std::string path = Fixture("short", "wtmp", {"--records", "0", "--truncate"});
  Damage d = ScanDamage(path);
  ASSERT_GT(ReadAll(path).size(), 0u);
  ASSERT_LT(ReadAll(path).size(), 384u);
  for (bool lastb : {false, true}) {
    Outcome want = Last(lastb, {"-f", path}, "UTC", "C");
    Outcome got = Utmpc(lastb, {"-f", path}, "UTC", "C");
    EXPECT_EQ(want.out, got.out) << FirstDifference(want.out, got.out);
    ExpectOneWarning(got.err, path, d);
  }
}

TEST_F(LastDiff, EmptyFile) {
  std::string path = Fixture("empty", "wtmp", {"--records", "0"});
  for (bool lastb : {false, true}) {
    for (const Args& options : std::vector<Args>{{}, {"-F"}, {"--time-format", "iso"}}) {
      Args args{"-f", path};
      args.insert(args.end(), options.begin(), options.end());
      ExpectSame(lastb, args, "America/New_York");
      EXPECT_EQ(Utmpc(lastb, args, "UTC", "C").err, "");
    }
  }
}

// --- Relative times: fixtures around now -----------------------------------------------------

std::vector<int64_t> RecordTimes(const std::string& path) {
  std::vector<int64_t> times;
  auto file = UtmpFile::Open(path, UtmpLayout::kGlibc384);
  if (!file) return times;
  (void)file->ReadForward([&](const LoginRecord& r, uint64_t) {
    times.push_back(r.time_s);
    return true;
  });
  return times;
}

int64_t BootTime() {
  timespec now{}, up{};
  clock_gettime(CLOCK_REALTIME, &now);
  clock_gettime(CLOCK_BOOTTIME, &up);
  return now.tv_sec - up.tv_sec;
}

// True when no record is within `margin_s` of any of `boundaries`: then the second or two
// between the runs of `last` and utmpc cannot move a record across one.
bool QuietAround(const std::vector<int64_t>& times, const std::vector<int64_t>& boundaries,
                 int64_t margin_s) {
  for (int64_t t : times) {
    for (int64_t b : boundaries) {
      if (t > b - margin_s && t < b + margin_s) return false;
    }
  }
  return true;
}

TEST_F(LastDiff, RelativeTimesNearNow) {
  const std::vector<std::pair<Args, std::vector<int64_t>>> cases = {
      {{"-s", "-2d"}, {-2 * 86400}},
      {{"-t", "-1d", "-w"}, {-86400}},
      {{"-p", "-36h"}, {-36 * 3600}},
      {{"-s", "-3d", "-t", "+1d", "-x"}, {-3 * 86400, 86400}},
      {{"-s", "-50h", "-x", "-w", "-F"}, {-50 * 3600}},
  };
  // Seeds 5 and 6 leave sessions of a 32-byte user open in the future (after boot): `last -w`
  // prints those names cut to 31 bytes, a side effect of its is_phantom().
  for (const char* seed : {"5", "6", "103"}) {
    int64_t now = std::time(nullptr);
    std::vector<int64_t> boundaries{BootTime()};
    for (const auto& c : cases) {
      for (int64_t offset : c.second) boundaries.push_back(now + offset);
    }
    // Shift the start until the records keep clear of every boundary (usually at once).
    std::string file;
    for (int64_t shift = 0; shift < 100 * 601; shift += 601) {
      file = Fixture(
          std::string("now") + seed, "wtmp",
          {"--seed", seed, "--records", "400", "--start", std::to_string(now - 3 * 86400 + shift)});
      if (QuietAround(RecordTimes(file), boundaries, 300)) break;
    }
    ASSERT_TRUE(QuietAround(RecordTimes(file), boundaries, 300)) << "no quiet fixture";
    std::vector<Args> option_sets{{}, {"-w"}, {"-x", "-w", "--time-format", "iso"}};
    for (const auto& c : cases) option_sets.push_back(c.first);
    ExpectSameForAll(false, {"-f", file}, option_sets);
  }
}

}  // namespace
}  // namespace utmpcd

namespace utmpcd {
namespace {

bool HasControlBytes(const std::string& line) {
  return std::any_of(line.begin(), line.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == '\x7f';
  });
}

bool HasHighBytes(const std::string& line) {
  return std::any_of(line.begin(), line.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// who prints record text raw; utmpc never lets a control byte through, nor (in the C locale) a
// byte that is not ASCII, and lines columns up by the escaped text. Lines with such bytes must
// differ by being safe; every other line must be the same.
void ExpectSameButSanitized(const std::string& want, const std::string& got,
                            const std::string& what, bool c_locale) {
  std::vector<std::string> a = Lines(want), b = Lines(got);
  ASSERT_EQ(a.size(), b.size()) << what << "\n" << FirstDifference(want, got);
  for (size_t i = 0; i < a.size(); ++i) {
    if (HasControlBytes(a[i]) || HasHighBytes(a[i])) {
      EXPECT_FALSE(HasControlBytes(b[i])) << what << " line " << i + 1 << ": " << b[i];
      EXPECT_FALSE(c_locale && HasHighBytes(b[i])) << what << " line " << i + 1 << ": " << b[i];
    } else {
      EXPECT_EQ(a[i], b[i]) << what << " line " << i + 1;
    }
  }
  EXPECT_EQ(want.back() == '\n', got.back() == '\n') << what;
}

// The other tools on the same generated files: utmpdump on wtmp and btmp, who on a utmp and on
// a wtmp (who reads any utmp-format file), in two zones and both locales.
TEST_F(LastDiff, DumpAndWhoMatchOnGeneratedFiles) {
  if (::access("/usr/bin/utmpdump", X_OK) != 0 || ::access("/usr/bin/who", X_OK) != 0) {
    GTEST_SKIP() << "utmpdump or who not installed";
  }
  std::string wtmp = Fixture("dw", "wtmp", {"--seed", "31", "--records", "5000"});
  std::string btmp = Fixture("dw", "btmp", {"--seed", "32", "--records", "2000", "--kind", "btmp"});
  std::string utmp = Fixture("dw", "utmp", {"--seed", "33", "--records", "300", "--kind", "utmp"});
  struct Case {
    Args classic, ours;
  };
  const std::vector<Case> cases = {
      {{"/usr/bin/utmpdump", wtmp}, {utmpc_, "dump", wtmp}},
      {{"/usr/bin/utmpdump", btmp}, {utmpc_, "dump", btmp}},
      {{"/usr/bin/who", utmp}, {utmpc_, "who", utmp}},
      {{"/usr/bin/who", "-a", utmp}, {utmpc_, "who", "-a", utmp}},
      {{"/usr/bin/who", "-H", "-u", utmp}, {utmpc_, "who", "-H", "-u", utmp}},
      {{"/usr/bin/who", "-q", utmp}, {utmpc_, "who", "-q", utmp}},
      {{"/usr/bin/who", "-b", wtmp}, {utmpc_, "who", "-b", wtmp}},
      {{"/usr/bin/who", "-a", wtmp}, {utmpc_, "who", "-a", wtmp}},
  };
  for (const std::string tz : {"UTC", "America/New_York"}) {
    for (const std::string locale : {"C", "C.UTF-8"}) {
      for (const Case& c : cases) {
        Args env{"TZ=" + tz, "LC_ALL=" + locale};
        Outcome want = Spawn(c.classic, env, dir_);
        Outcome got = Spawn(c.ours, env, dir_);
        std::string what = Join(c.ours) + " (TZ=" + tz + " LC_ALL=" + locale + ")";
        EXPECT_EQ(want.status, got.status) << what << "\nutmpc stderr: " << got.err;
        ASSERT_FALSE(want.out.empty()) << what;
        ExpectSameButSanitized(want.out, got.out, what, locale == "C");
      }
    }
  }
}

}  // namespace
}  // namespace utmpcd
