// `utmpc w` and `utmpc uptime` against procps-ng 4.0.2 `w` and `uptime` on the same utmp. Both
// tools read only the system's /var/run/utmp, so each comparison runs in a mount namespace of
// its own with a tmpfs on /run holding the test's file (root only; skipped otherwise).
//
// What is compared: uptime's line but the clock and the load (which move between the two
// runs); w's heading and, per row, the columns up to LOGIN@ (IDLE is the access time of
// /dev/TTY, which any reader of /dev/null moves; JCPU, PCPU and WHAT are not ours).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "utmpc/cmd_test_util.h"
#include "utmpc/w_text.h"

namespace utmpcd::testing {
namespace {

constexpr char kW[] = "/usr/bin/w";
constexpr char kUptime[] = "/usr/bin/uptime";
constexpr char kUnshare[] = "/usr/bin/unshare";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// " 19:16:22 up  2:32,  5 users,  load average: 4.40, 4.80, 3.77" without the clock and load.
std::string Masked(const std::string& uptime_line) {
  static const std::regex clock("^ [0-9]{2}:[0-9]{2}:[0-9]{2} up");
  static const std::regex load("load average: .*$");
  std::string s = std::regex_replace(uptime_line, clock, " HH:MM:SS up");
  return std::regex_replace(s, load, "load average: L");
}

class WTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace";
    for (const char* tool : {kW, kUptime, kUnshare}) {
      if (!IsExecutable(tool)) GTEST_SKIP() << "no " << tool << " here";
    }
    ASSERT_FALSE(dir_.path().empty());
    // A process standing for the sessions' leaders: w lists only sessions whose leader lives.
    leader_ = ::fork();
    if (leader_ == 0) {
      ::pause();
      ::_exit(0);
    }
  }
  void TearDown() override {
    if (leader_ > 0) {
      ::kill(leader_, SIGKILL);
      ::waitpid(leader_, nullptr, 0);
    }
  }

  // Runs `command` with `file` as /run/utmp, in a namespace of its own.
  Outcome Run(const std::string& file, const std::string& command) {
    std::string script = "mount -t tmpfs tmpfs /run && cp " + file + " /run/utmp && " + command;
    return Spawn({kUnshare, "-m", "/bin/sh", "-c", script}, Env("C", "UTC"), dir_.path());
  }

  std::string Utmp(int64_t now_s) {
    // Users that exist on any Debian; one a stale entry (no such process), one of an unknown
    // user (w leaves both out); ttys with and without a /dev entry; a login of minutes, hours,
    // days and weeks ago; an empty host and a long one.
    return Encode({
        {.type = kUserProcess,
         .pid = leader_,
         .line = "null",
         .user = "root",
         .host = "192.0.2.7",
         .time_s = now_s - 600},
        {.type = kUserProcess,
         .pid = leader_,
         .line = "pts/77",
         .user = "daemon",
         .time_s = now_s - 3 * 86400},
        {.type = kUserProcess,
         .pid = 99999999,
         .line = "tty9",
         .user = "root",
         .host = "x",
         .time_s = now_s},
        {.type = kUserProcess,
         .pid = leader_,
         .line = "zero",
         .user = "bin",
         .host = "a.very.long.hostname.example.com",
         .time_s = now_s - 10 * 86400},
        {.type = kUserProcess,
         .pid = leader_,
         .line = "full",
         .user = "no-such-user-here",
         .time_s = now_s},
        {.type = kUserProcess,
         .pid = leader_,
         .line = "random",
         .user = "nobody",
         .host = "tab\there",
         .time_s = now_s - 13 * 3600},
        {.type = kDeadProcess, .pid = 0, .line = "tty3", .time_s = now_s},
    });
  }

  ScratchDir dir_;
  pid_t leader_ = -1;
};

// The two tools run one after the other: a minute of uptime may tick over between them. Runs
// `compare` (which returns what differs, or "") up to three times until it finds no difference.
std::string Retried(const std::function<std::string()>& compare) {
  std::string diff;
  for (int attempt = 0; attempt < 3; ++attempt) {
    diff = compare();
    if (diff.empty()) break;
  }
  return diff;
}

TEST_F(WTest, UptimeMatchesProcps) {
  std::string file = (dir_ / "utmp").string();
  WriteAll(file, Utmp(::time(nullptr)));
  std::string diff = Retried([&]() -> std::string {
    Outcome theirs = Run(file, kUptime);
    Outcome ours = Run(file, UtmpcPath() + " uptime");
    if (theirs.status != 0 || ours.status != 0) return theirs.err + ours.err;
    if (theirs.out.find(" 6 users, ") == std::string::npos) return "uptime: " + theirs.out;
    if (Masked(ours.out) != Masked(theirs.out))
      return "ours:\n" + ours.out + "theirs:\n" + theirs.out;
    return "";
  });
  EXPECT_EQ(diff, "");
}

// uptime -p and -s as procps prints them on this machine now.
TEST_F(WTest, UptimePrettyAndSinceMatchProcps) {
  std::string file = (dir_ / "utmp").string();
  WriteAll(file, Utmp(::time(nullptr)));
  for (const char* options : {" -p", " -s", " -p -s", " --pretty"}) {
    std::string diff = Retried([&]() -> std::string {
      Outcome theirs = Run(file, std::string(kUptime) + options);
      Outcome ours = Run(file, UtmpcPath() + " uptime" + options);
      if (theirs.status != 0 || ours.status != 0) return theirs.err + ours.err;
      if (ours.out != theirs.out) return "ours:\n" + ours.out + "theirs:\n" + theirs.out;
      return "";
    });
    EXPECT_EQ(diff, "") << options;
  }
}

// uptime -p over every unit, as procps 4's procps_uptime_sprint_short() counts them: a unit only
// when more than one of it is left, the minutes always.
TEST(PrettyUptimeTest, CountsAsProcps) {
  EXPECT_EQ(PrettyUptime(59.5), "up 0 minutes");
  EXPECT_EQ(PrettyUptime(60.5), "up 1 minute");
  EXPECT_EQ(PrettyUptime(3600), "up 60 minutes");  // not more than an hour
  EXPECT_EQ(PrettyUptime(3600.5), "up 1 hour, 0 minutes");
  EXPECT_EQ(PrettyUptime(86400 + 3600 + 61), "up 1 day, 1 hour, 1 minute");
  EXPECT_EQ(PrettyUptime(2 * 604800 + 2 * 86400 + 7200 + 600),
            "up 2 weeks, 2 days, 2 hours, 10 minutes");
  EXPECT_EQ(PrettyUptime(31536000.0 * 11 + 120), "up 1 decade, 1 year, 2 minutes");
}

// What differs between our w and procps w in the columns we have; "" when nothing does.
std::string CompareW(const std::string& options, const Outcome& ours, const Outcome& theirs) {
  if (theirs.status != 0 || ours.status != 0) return theirs.err + ours.err;
  std::vector<std::string> o = Lines(ours.out), t = Lines(theirs.out);
  std::string both = "w" + options + "\nours:\n" + ours.out + "theirs:\n" + theirs.out;
  if (o.size() != t.size()) return both;
  bool header = options.find("-h") == std::string::npos;
  for (size_t i = 0; i < o.size(); ++i) {
    if (header && i == 0) {
      if (Masked(o[i]) != Masked(t[i])) return both;
    } else if (header && i == 1) {
      if (t[i].compare(0, o[i].size(), o[i]) != 0) return both;  // ours ends at IDLE
    } else {
      size_t before_idle = o[i].size() - 7;  // IDLE is 7 columns
      if (o[i].compare(0, before_idle, t[i], 0, before_idle) != 0) return both;
    }
  }
  return "";
}

TEST_F(WTest, ColumnsUpToLoginMatchProcps) {
  std::string file = (dir_ / "utmp").string();
  WriteAll(file, Utmp(::time(nullptr)));
  for (std::string options : {"", " -s", " -f", " -h", " root", " -s -f"}) {
    EXPECT_EQ(Retried([&] {
                Outcome theirs = Run(file, kW + options);
                return CompareW(options, Run(file, UtmpcPath() + " w" + options), theirs);
              }),
              "");
  }
}

// Where w prints a host's first control byte as '-' and drops the rest, utmpc escapes them all.
TEST_F(WTest, ControlBytesAreEscaped) {
  std::string file = (dir_ / "utmp").string();
  WriteAll(file, Encode({{.type = kUserProcess,
                          .pid = leader_,
                          .line = "null",
                          .user = "root",
                          .host = "h\x1b]0;x\x07\r",
                          .time_s = ::time(nullptr)}}));
  Outcome ours = Run(file, UtmpcPath() + " w -h");
  EXPECT_EQ(ours.status, 0) << ours.err;
  // FROM is 16 columns of the escaped text, then LOGIN@ starts with a space.
  EXPECT_EQ(ours.out.rfind("root     null     h*[]0;x*G*M      ", 0), 0u) << ours.out;
  EXPECT_EQ(ours.out.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace utmpcd::testing
