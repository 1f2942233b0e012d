// `utmpc who`, `w`, `uptime`, `lastlog` and `last` without a file, on a host where utmpcd runs:
// a real utmpcd ($UTMPCD) on the test's own files serves its API on a Unix socket only, and the
// real utmpc ($UTMPC) asks it (--socket or $UTMPC_SOCKET). What it prints is compared with what
// the same commands print for the files the daemon reads; sockets that are missing, refuse or
// never answer leave the commands reading the files, as without a daemon.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "formats/lastlog.h"
#include "utmpc/cmd_test_util.h"

namespace utmpcd::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kUnshare[] = "/usr/bin/unshare";
// The daemon answers in milliseconds; a loaded machine may take longer, and a test that names
// the socket with --socket fails rather than falls back when it does not answer in time.
constexpr char kPatientS[] = "20";

using testing::Lines;
using testing::WaitUntil;

// uptime's line (also w's first) without the clock, the time up and the load, which move
// between two runs (the time up when a minute turns between them).
std::string Masked(const std::string& text) {
  static const std::regex clock("^ [0-9]{2}:[0-9]{2}:[0-9]{2} up [^\n]*?,  ([0-9]+ users?)");
  static const std::regex load("load average: [^\n]*");
  return std::regex_replace(std::regex_replace(text, clock, " HH:MM:SS up T,  $1"), load,
                            "load L");
}

// A process standing for the sessions' leaders: alive until the test ends.
class Leader {
 public:
  Leader() : pid_(::fork()) {
    if (pid_ == 0) {
      ::pause();
      ::_exit(0);
    }
  }
  ~Leader() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Leader(const Leader&) = delete;
  Leader& operator=(const Leader&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

// The pid of a process that ran and is gone: a session leader that died without a logout.
pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

// A utmpcd on the files of `dir` (utmp, wtmp, btmp; `lastlog` imported on its first start when
// not empty), serving its API on dir/api.sock and nowhere else; its stderr in dir/daemon.log.
class Daemon {
 public:
  Daemon(const fs::path& dir, std::string lastlog) : dir_(dir), lastlog_(std::move(lastlog)) {
    for (const char* f : {"wtmp", "btmp"}) {
      if (!fs::exists(dir_ / f)) WriteAll(dir_ / f, "");
    }
    // A session whose leader died is named gone after 200 ms instead of 2 s.
    WriteAll(dir_ / "utmpcd.toml", "[sessions]\ngone_grace_ms = 200\n");
  }
  ~Daemon() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  std::string socket() const { return (dir_ / "api.sock").string(); }
  std::string log() const { return ReadAll(dir_ / "daemon.log"); }

  // Starts it; true once it says it serves the socket.
  bool Start() {
    const char* utmpcd = std::getenv("UTMPCD");
    std::string log_path = (dir_ / "daemon.log").string();
    Args args{utmpcd != nullptr ? utmpcd : "utmpcd",
              "-c",
              (dir_ / "utmpcd.toml").string(),
              "--database",
              (dir_ / "history.db").string(),
              "--wtmp",
              (dir_ / "wtmp").string(),
              "--btmp",
              (dir_ / "btmp").string(),
              "--utmp",
              (dir_ / "utmp").string(),
              "--lastlog",
              lastlog_.empty() ? "/nonexistent" : lastlog_,
              "--ingest-socket",
              "none",
              "--http-listen",
              "none",
              "--api-socket",
              socket(),
              "--user",
              "root"};
    pid_ = testing::SpawnInBackground(args, log_path, true);
    return pid_ > 0 &&
           WaitUntil([&] { return log().find("HTTP API on unix:") != std::string::npos; });
  }

 private:
  fs::path dir_;
  std::string lastlog_;
  pid_t pid_ = -1;
};

class LocalDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    utmpc_ = UtmpcPath();
    ASSERT_TRUE(IsExecutable(utmpc_)) << "set UTMPC to the utmpc binary";
    const char* utmpcd = std::getenv("UTMPCD");
    ASSERT_TRUE(utmpcd != nullptr && IsExecutable(utmpcd)) << "set UTMPCD to the daemon";
    ASSERT_FALSE(dir_.path().empty());
    utmp_ = (dir_ / "utmp").string();
  }

  // utmpc with `args`, in the C locale and UTC, plus `env`.
  Outcome Utmpc(const Args& args, const Args& env = {}) {
    Args argv{utmpc_};
    argv.insert(argv.end(), args.begin(), args.end());
    Args environment = Env("C", "UTC");
    environment.insert(environment.end(), env.begin(), env.end());
    return Spawn(argv, environment, dir_.path());
  }
  // The same asking the daemon: `args`, then --socket and a patient --timeout.
  Outcome ViaDaemon(Args args, const Daemon& daemon) {
    args.insert(args.end(), {"--socket", daemon.socket(), "--timeout", kPatientS});
    return Utmpc(args);
  }

  // Three sessions of one live leader, oldest login first (the daemon's order): on a terminal
  // idle for days and writable by its group (mesg y), on one with no device here (idle and
  // mesg unknown), and a local login. A boot record and a logout are not sessions.
  void WriteUtmp(pid_t leader) {
    int64_t now_s = ::time(nullptr);
    tty_ = (dir_ / "tty").string();
    WriteAll(tty_, "");
    ::chmod(tty_.c_str(), 0620);
    struct timespec old[2] = {{now_s - 3 * 86400 - 3600, 0}, {now_s - 3 * 86400 - 3600, 0}};
    ::utimensat(AT_FDCWD, tty_.c_str(), old, 0);
    std::string no_device = (dir_ / "gone").string();
    WriteAll(utmp_,
             Encode({
                 {.type = kBootTime, .line = "~", .user = "reboot", .time_s = now_s - 20 * 86400},
                 {.type = kUserProcess,
                  .pid = leader,
                  .line = tty_,
                  .user = "root",
                  .host = "192.0.2.7",
                  .time_s = now_s - 10 * 86400},
                 {.type = kDeadProcess, .pid = 0, .line = "pts/8", .time_s = now_s - 7200},
                 {.type = kUserProcess,
                  .pid = leader,
                  .line = no_device,
                  .user = "bin",
                  .host = "host.example",
                  .time_s = now_s - 3 * 3600},
                 {.type = kUserProcess,
                  .pid = leader,
                  .line = tty_ + "2",
                  .user = "daemon",
                  .time_s = now_s - 600},
             }));
  }

  std::string utmpc_, utmp_, tty_;
  ScratchDir dir_;
};

TEST_F(LocalDaemonTest, WhoViaTheDaemonPrintsWhatWhoPrintsForItsUtmp) {
  Leader leader;
  WriteUtmp(leader.pid());
  Daemon daemon(dir_.path(), "");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  std::string from_file = Utmpc({"who", "-f", utmp_}).out;
  ASSERT_EQ(Lines(from_file).size(), 3u) << from_file;
  // The daemon lists the sessions once it has read utmp.
  ASSERT_TRUE(WaitUntil([&] { return ViaDaemon({"who"}, daemon).out == from_file; }))
      << ViaDaemon({"who"}, daemon).out << "\nwanted:\n"
      << from_file;

  for (const Args& options : std::vector<Args>{
           {}, {"-u"}, {"-H"}, {"-q"}, {"-T"}, {"-s"}, {"-HTu"}, {"-mH"}, {"--count", "-H"}}) {
    Args file_args{"who"};
    file_args.insert(file_args.end(), options.begin(), options.end());
    Args daemon_args = file_args;
    file_args.insert(file_args.end(), {"-f", utmp_});
    Outcome want = Utmpc(file_args), got = ViaDaemon(daemon_args, daemon);
    std::string what = "who " + ::testing::PrintToString(options);
    EXPECT_EQ(got.out, want.out) << what;
    EXPECT_EQ(got.status, 0) << what << ": " << got.err;
    EXPECT_EQ(got.err, "") << what;
  }

  // $UTMPC_SOCKET names the socket too; --verbose says which source answered.
  Outcome env =
      Utmpc({"who", "--verbose", "--timeout", kPatientS}, {"UTMPC_SOCKET=" + daemon.socket()});
  EXPECT_EQ(env.out, from_file);
  EXPECT_EQ(env.err, "utmpc who: reading the live sessions of utmpcd on " + daemon.socket() + "\n");
  // Boot, runlevel, dead-process and init records are utmp's alone: those options read it.
  for (const char* option : {"-b", "-r", "-d", "-a"}) {
    Outcome boot = ViaDaemon({"who", option, "--verbose"}, daemon);
    EXPECT_EQ(boot.err, "utmpc who: reading /var/run/utmp\n") << option;
  }
}

TEST_F(LocalDaemonTest, WAndUptimeViaTheDaemonPrintWhatTheyPrintForItsUtmp) {
  Leader leader;
  WriteUtmp(leader.pid());
  Daemon daemon(dir_.path(), "");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  std::string rows = Utmpc({"w", "-h", "--file", utmp_}).out;
  ASSERT_EQ(Lines(rows).size(), 3u) << rows;
  ASSERT_TRUE(WaitUntil([&] {
    return ViaDaemon({"w", "-h"}, daemon).out == rows;
  })) << ViaDaemon({"w", "-h"}, daemon).out
      << "\nwanted:\n"
      << rows;
  for (const Args& options : std::vector<Args>{{}, {"-s"}, {"-f"}, {"daemon"}}) {
    Args file_args{"w"};
    file_args.insert(file_args.end(), options.begin(), options.end());
    Args daemon_args = file_args;
    file_args.insert(file_args.end(), {"--file", utmp_});
    Outcome want = Utmpc(file_args), got = ViaDaemon(daemon_args, daemon);
    std::string what = "w " + ::testing::PrintToString(options);
    EXPECT_EQ(Masked(got.out), Masked(want.out)) << what;
    EXPECT_EQ(got.status, 0) << what << ": " << got.err;
  }
  Outcome uptime = ViaDaemon({"uptime"}, daemon);
  EXPECT_EQ(Masked(uptime.out), Masked(Utmpc({"uptime", "--file", utmp_}).out));
  EXPECT_NE(uptime.out.find(" 3 users, "), std::string::npos) << uptime.out;
}

// who, w and uptime --json give GET /v1/sessions' and GET /v1/host's objects, the same from the
// file as from the daemon (the idle time of a terminal this process can see is its own, as in
// the text: the daemon looks only under /dev).
TEST_F(LocalDaemonTest, JsonFromTheFileIsWhatTheDaemonAnswers) {
  Leader leader;
  WriteUtmp(leader.pid());
  Daemon daemon(dir_.path(), "");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  ASSERT_TRUE(WaitUntil([&] { return Lines(ViaDaemon({"who"}, daemon).out).size() == 3; }));
  auto parse = [](const Outcome& run) {
    EXPECT_EQ(run.status, 0) << run.err;
    return nlohmann::json::parse(run.out, nullptr, false);
  };
  nlohmann::json file = parse(Utmpc({"who", "--json", "-f", utmp_}));
  nlohmann::json via = parse(ViaDaemon({"who", "--json"}, daemon));
  ASSERT_FALSE(file.is_discarded());
  ASSERT_FALSE(via.is_discarded());
  ASSERT_EQ(file["sessions"].size(), 3u) << file.dump();
  ASSERT_EQ(via["sessions"].size(), 3u) << via.dump();
  auto same = [](nlohmann::json a, nlohmann::json b, const std::string& what) {
    // Idle times are taken a moment apart.
    if (a["idle_s"].is_number() && b["idle_s"].is_number()) {
      EXPECT_LE(std::abs(a["idle_s"].get<int64_t>() - b["idle_s"].get<int64_t>()), 2) << what;
      a["idle_s"] = b["idle_s"];
    }
    EXPECT_EQ(a, b) << what;
  };
  for (size_t i = 0; i < 3; ++i) same(file["sessions"][i], via["sessions"][i], "who --json");
  EXPECT_EQ(file["sessions"][0]["user"], "root");
  EXPECT_GE(file["sessions"][0]["idle_s"].get<int64_t>(), 3 * 86400);
  EXPECT_TRUE(file["sessions"][1]["idle_s"].is_null());  // no device here
  // Options that list records other than sessions do not go with --json.
  Outcome boot = Utmpc({"who", "--json", "-b", "-f", utmp_});
  EXPECT_EQ(boot.status, 1);
  EXPECT_NE(boot.err.find("-b does not go with it"), std::string::npos) << boot.err;

  nlohmann::json w_file = parse(Utmpc({"w", "--json", "--file", utmp_}));
  nlohmann::json w_via = parse(ViaDaemon({"w", "--json"}, daemon));
  for (const nlohmann::json& w : {w_file, w_via}) {
    ASSERT_EQ(w["sessions"].size(), 3u) << w.dump();
    EXPECT_EQ(w["summary"]["sessions"], 3) << w.dump();
    EXPECT_EQ(w["summary"]["users"], 3) << w.dump();  // root, bin and daemon
    EXPECT_EQ(w["summary"]["load"].size(), 3u);
    EXPECT_GT(w["summary"]["uptime_s"].get<int64_t>(), 0);
  }
  for (size_t i = 0; i < 3; ++i) same(w_file["sessions"][i], file["sessions"][i], "w --json");
  // w's user operand picks sessions; the summary still counts them all, as w's header does.
  nlohmann::json only = parse(Utmpc({"w", "--json", "--file", utmp_, "bin"}));
  ASSERT_EQ(only["sessions"].size(), 1u);
  EXPECT_EQ(only["sessions"][0]["user"], "bin");
  EXPECT_EQ(only["summary"]["sessions"], 3);

  nlohmann::json up = parse(ViaDaemon({"uptime", "--json"}, daemon));
  EXPECT_EQ(up["summary"]["sessions"], 3) << up.dump();
  // Booted uptime_s (whole seconds) before the time it gives.
  int64_t boot_s = up["summary"]["boot_time_us"].get<int64_t>() / 1000000;
  int64_t now_s = up["summary"]["time_us"].get<int64_t>() / 1000000;
  EXPECT_LE(std::abs(now_s - up["summary"]["uptime_s"].get<int64_t>() - boot_s), 1) << up.dump();
}

TEST_F(LocalDaemonTest, AGhostIsLeftOutOnceTheDaemonNamesItGone) {
  Leader leader;
  int64_t now_s = ::time(nullptr);
  WriteAll(utmp_, Encode({{.type = kUserProcess,
                           .pid = leader.pid(),
                           .line = "pts/1",
                           .user = "root",
                           .host = "192.0.2.7",
                           .time_s = now_s - 3600},
                          {.type = kUserProcess,
                           .pid = DeadPid(),
                           .line = "pts/2",
                           .user = "daemon",
                           .host = "ghost.example",
                           .time_s = now_s - 60}}));
  Daemon daemon(dir_.path(), "");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  // who on the file lists the ghost (a file named is taken as it is); so does uptime's count.
  std::vector<std::string> from_file = Lines(Utmpc({"who", "-f", utmp_}).out);
  ASSERT_EQ(from_file.size(), 2u);
  EXPECT_NE(from_file[1].find("ghost.example"), std::string::npos);
  EXPECT_NE(Utmpc({"uptime", "--file", utmp_}).out.find(" 2 users, "), std::string::npos);

  // The daemon lists the live session only (a dead leader is never listed), and names the
  // ghost gone after its grace.
  EXPECT_EQ(ViaDaemon({"who"}, daemon).out, from_file[0] + "\n") << daemon.log();
  ASSERT_TRUE(WaitUntil([&] { return daemon.log().find("daemon on pts/2") != std::string::npos; }))
      << daemon.log();
  EXPECT_EQ(ViaDaemon({"who"}, daemon).out, from_file[0] + "\n") << daemon.log();
  EXPECT_NE(ViaDaemon({"uptime"}, daemon).out.find(" 1 user, "), std::string::npos);
  std::vector<std::string> w = Lines(ViaDaemon({"w", "-h"}, daemon).out);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rfind("root     pts/1    192.0.2.7", 0), 0u) << w[0];
}

// A host without utmp (Debian 13): the daemon knows the sessions (here from a utmp of its own,
// standing for systemd-logind), and who, w and uptime list them where the file lists no one.
// The commands run in a mount namespace with an empty /run (no /run/utmp); root only.
TEST_F(LocalDaemonTest, WithoutUtmpTheDaemonStillListsWhoIsLoggedIn) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace";
  if (!IsExecutable(kUnshare)) GTEST_SKIP() << "no " << kUnshare;
  Leader leader;
  WriteUtmp(leader.pid());
  Daemon daemon(dir_.path(), "");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  std::string from_file = Utmpc({"who", "-f", utmp_}).out;
  ASSERT_TRUE(WaitUntil([&] { return ViaDaemon({"who"}, daemon).out == from_file; }));

  auto without_utmp = [&](const Args& args) {
    Args argv{kUnshare,
              "-m",
              "--propagation",
              "private",
              "/bin/sh",
              "-c",
              "mount -t tmpfs tmpfs /run && test ! -e /var/run/utmp && exec \"$0\" \"$@\"",
              utmpc_};
    argv.insert(argv.end(), args.begin(), args.end());
    Args env = Env("C", "UTC");
    env.push_back("UTMPC_SOCKET=" + daemon.socket());
    return Spawn(argv, env, dir_.path());
  };
  Outcome files = without_utmp({"who", "--no-daemon"});
  ASSERT_EQ(files.status, 0) << files.err;
  EXPECT_EQ(files.out, "");
  Outcome who = without_utmp({"who", "--timeout", kPatientS});
  EXPECT_EQ(who.out, from_file);
  EXPECT_EQ(who.status, 0) << who.err;
  Outcome w = without_utmp({"w", "-h", "--timeout", kPatientS});
  EXPECT_EQ(w.out, Utmpc({"w", "-h", "--file", utmp_}).out);
  Outcome uptime = without_utmp({"uptime", "--timeout", kPatientS});
  EXPECT_NE(uptime.out.find(" 3 users, "), std::string::npos) << uptime.out << uptime.err;
  EXPECT_NE(without_utmp({"uptime", "--no-daemon"}).out.find(" 0 user, "), std::string::npos);
}

// A Unix socket at `path` that refuses connections (bound, never listening), or that takes
// them and never answers (listening, never accepting). Closed at the end.
class FakeSocket {
 public:
  FakeSocket(const std::string& path, bool listen) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    if (listen) ::listen(fd_, 16);
  }
  ~FakeSocket() { ::close(fd_); }
  FakeSocket(const FakeSocket&) = delete;
  FakeSocket& operator=(const FakeSocket&) = delete;

 private:
  int fd_;
};

TEST_F(LocalDaemonTest, WithoutAnAnsweringDaemonTheFilesAreRead) {
  std::string missing = (dir_ / "missing.sock").string();
  std::string refusing = (dir_ / "refusing.sock").string();
  std::string mute = (dir_ / "mute.sock").string();
  FakeSocket refuses(refusing, false), never_answers(mute, true);
  struct Case {
    std::string socket, why;
  };
  for (const Case& c :
       {Case{missing, "no such file or directory"}, Case{refusing, "connection refused"},
        Case{mute, "timed out after 0.5 s"}}) {
    // The default socket, or $UTMPC_SOCKET: what the files say, as without a daemon.
    for (const char* command : {"who", "w", "uptime", "lastlog"}) {
      Outcome files = Utmpc({command, "--no-daemon"});
      Outcome got = Utmpc({command, "--timeout", "0.5", "--verbose"}, {"UTMPC_SOCKET=" + c.socket});
      std::string what = std::string(command) + " on " + c.socket;
      EXPECT_EQ(Masked(got.out), Masked(files.out)) << what;
      EXPECT_EQ(got.status, files.status) << what;
      EXPECT_EQ(got.err.rfind(
                    fmt::format("utmpc {}: {}: {}; reading /var/", command, c.socket, c.why), 0),
                0u)
          << what << ": " << got.err;
    }
    // A socket named with --socket must answer.
    Outcome named = Utmpc({"who", "--socket", c.socket, "--timeout", "0.5"});
    EXPECT_EQ(named.status, 1);
    EXPECT_EQ(named.out, "");
    EXPECT_EQ(named.err, "utmpc who: " + c.socket + ": " + c.why + "\n");
  }
}

TEST_F(LocalDaemonTest, LastlogViaTheDaemonIsLastlogOfTheFileItImported) {
  std::string lastlog = (dir_ / "lastlog").string();
  std::string bytes;
  for (LastlogEntry e : {LastlogEntry{0, 1700000000, "pts/3", "198.51.100.1"},
                         LastlogEntry{2, 1600000000, "tty1", ""},
                         LastlogEntry{65534, 1710000000, "pts/9", "host.example"}}) {
    bytes.resize(e.uid * kLastlogRecordSize);
    std::string record;
    EncodeLastlog(e, &record);
    bytes += record;
  }
  WriteAll(lastlog, bytes);
  WriteAll(utmp_, "");
  Daemon daemon(dir_.path(), lastlog);
  ASSERT_TRUE(daemon.Start()) << daemon.log();

  for (const Args& options : std::vector<Args>{{},
                                               {"-u", "root"},
                                               {"-u", "0"},
                                               {"-u", "1-3"},
                                               {"-u", "65534"},
                                               {"-t", "36500"},
                                               {"-b", "1000"},
                                               {"--json"}}) {
    Args file_args{"lastlog"};
    file_args.insert(file_args.end(), options.begin(), options.end());
    Args daemon_args = file_args;
    file_args.insert(file_args.end(), {"-f", lastlog});
    Outcome want = Utmpc(file_args), got = ViaDaemon(daemon_args, daemon);
    std::string what = "lastlog " + ::testing::PrintToString(options);
    EXPECT_EQ(got.out, want.out) << what;
    EXPECT_EQ(got.status, want.status) << what << ": " << got.err;
  }
  Outcome root = ViaDaemon({"lastlog", "-u", "root"}, daemon);
  EXPECT_NE(root.out.find("root             pts/3    198.51.100.1"), std::string::npos) << root.out;

  // The daemon's history goes on from the file: a newer login is root's last one.
  WriteAll(dir_ / "wtmp", Encode({{.type = kUserProcess,
                                   .pid = 4242,
                                   .line = "pts/5",
                                   .user = "root",
                                   .host = "203.0.113.5",
                                   .time_s = ::time(nullptr) - 60}}));
  EXPECT_TRUE(WaitUntil([&] {
    return ViaDaemon({"lastlog", "-u", "root"}, daemon)
               .out.find("root             pts/5    203.0.113.5") != std::string::npos;
  })) << ViaDaemon({"lastlog", "-u", "root"}, daemon).out;
  EXPECT_NE(Utmpc({"lastlog", "-u", "root", "-f", lastlog}).out.find("pts/3"), std::string::npos);
}

TEST_F(LocalDaemonTest, LastReadsTheFileWithNoDaemon) {
  WriteAll(utmp_, "");
  Daemon daemon(dir_.path(), "");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  std::string db = (dir_ / "history.db").string();
  Outcome history = Utmpc({"last", "--verbose"}, {"UTMPC_DATABASE=" + db});
  EXPECT_EQ(history.err.rfind("utmpc last: reading the utmpcd history " + db, 0), 0u)
      << history.err;
  Outcome file = Utmpc({"last", "--verbose", "--no-daemon"}, {"UTMPC_DATABASE=" + db});
  EXPECT_EQ(file.err.rfind("utmpc last: reading /var/log/wtmp\n", 0), 0u) << file.err;
}

}  // namespace
}  // namespace utmpcd::testing
