// The daemon as a user runs it: a real utmpcd process ($UTMPCD) following real files into a
// real SQLite file, killed and restarted.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <grp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/record_event.h"
#include "formats/lastlog.h"
#include "formats/utmp.h"
#include "login_records.h"
#include "private_tmpfs.h"
#include "spawn_util.h"
#include "store/sqlite_store.h"

namespace utmpcd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A process that stands for a session's leader: it waits until killed, and is killed at the
// latest when the test ends (a test that fails early must not leave it holding ctest's pipe).
class Leader {
 public:
  Leader() : pid_(fork()) {
    if (pid_ == 0) {
      pause();
      _exit(0);
    }
  }
  ~Leader() { Kill(); }
  pid_t pid() const { return pid_; }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* daemon = std::getenv("UTMPCD");
    ASSERT_NE(daemon, nullptr) << "UTMPCD must name the utmpcd binary (ctest sets it)";
    daemon_ = daemon;
    std::string pattern = (fs::temp_directory_path() / "utmpcd_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::string scratch = (fs::temp_directory_path() / "utmpcd_test_out.XXXXXX").string();
    ASSERT_NE(::mkdtemp(scratch.data()), nullptr);
    scratch_ = scratch;
    fs::permissions(scratch_, fs::perms(0755));
    wtmp_ = (dir_ / "wtmp").string();
    btmp_ = (dir_ / "btmp").string();
    db_ = (dir_ / "lib" / "history.db").string();
    std::ofstream(wtmp_).close();
    std::ofstream(btmp_).close();
  }
  void TearDown() override {
    Stop(SIGKILL);
    fs::remove_all(dir_);
    fs::remove_all(scratch_);
  }

  pid_t Start(const std::string& config = "/dev/null") {
    std::vector<std::string> args{daemon_,        "-c",   config,            "--wtmp", wtmp_,
                                  "--btmp",       btmp_,  "--database",      db_,
                                  "--utmp",       utmp(), "--ingest-socket", socket(),
                                  "--lastlog",    lastlog(),  "--http-listen",   http_listen_,
                                  "--user",       user_};
    if (!api_socket_.empty()) args.insert(args.end(), {"--api-socket", api_socket_});
    pid_ = testing::SpawnInBackground(args, dir_ / "daemon.log");
    EXPECT_GT(pid_, 0);
    return pid_;
  }
  int Stop(int signal) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  // Records as a login program would write them: logins and logouts on 40 lines.
  static std::string Records(uint32_t first, uint32_t count) {
    return testing::LoginLogoutRecords(first, count);
  }
  static void Append(const std::string& path, const std::string& bytes) {
    testing::AppendToFile(path, bytes);
  }

  // All stored events, oldest first (a read-only connection, as a client would open it).
  std::vector<Event> Stored() {
    StoreOptions options;
    options.read_only = true;
    auto store = SqliteStore::Open(db_, options);
    if (!store) return {};
    auto events = (*store)->EventsFrom(0, 10'000'000);
    return events ? *events : std::vector<Event>{};
  }
  // Waits (up to 20 s) until `count` events are stored.
  size_t WaitFor(size_t count) {
    auto deadline = Clock::now() + std::chrono::seconds(20);
    size_t stored = 0;
    while ((stored = Stored().size()) < count && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return stored;
  }
  bool WaitForLog(const std::string& text) {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Log().find(text) == std::string::npos && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Log().find(text) != std::string::npos;
  }
  std::string utmp() const { return (dir_ / "utmp").string(); }
  std::string lastlog() const { return (dir_ / "lastlog").string(); }
  // One utmp entry, as a login program writes it.
  static std::string Entry(int16_t type, const char* user, const char* line, pid_t pid) {
    LoginRecord r;
    r.type = type;
    r.user = user;
    r.line = line;
    r.pid = pid;
    r.host = "203.0.113.5";
    r.time_s = 1700000000;
    std::string bytes;
    EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
    return bytes;
  }
  std::string socket() const { return (dir_ / "ingest.sock").string(); }
  std::string user_ = "root";          // --user
  std::string http_listen_ = "none";   // --http-listen
  std::string api_socket_;             // --api-socket, when not empty
  // GET `target` on the API socket; the whole answer, headers and body.
  std::string Get(const std::string& target) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, api_socket_.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return "(no connection)";
    }
    std::string request = "GET " + target + " HTTP/1.0\r\nHost: x\r\n\r\n";
    std::string answer;
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) {
        answer.append(buf, static_cast<size_t>(n));
      }
    }
    ::close(fd);
    return answer;
  }
  std::string Log() {
    std::ifstream in(dir_ / "daemon.log");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  testing::Outcome Import(const std::vector<std::string>& extra = {});

  std::string daemon_;
  fs::path dir_;
  fs::path scratch_;  // beside dir_, 0755: where Import's output and some stores go
  std::string wtmp_, btmp_, db_;
  pid_t pid_ = -1;
};

TEST_F(DaemonTest, ImportsThenFollowsAppends) {
  Append(wtmp_, Records(0, 1000));
  Start();
  ASSERT_EQ(WaitFor(1000), 1000u) << Log();
  Append(wtmp_, Records(1000, 10));
  ASSERT_EQ(WaitFor(1010), 1010u) << Log();
  std::vector<Event> events = Stored();
  EXPECT_EQ(events.back().kind, EventKind::kLogout);
  EXPECT_EQ(events.back().tty, "pts/9");
  EXPECT_EQ(events.back().time_us, int64_t{1700001009} * 1000000);
  EXPECT_EQ(events[1000].kind, EventKind::kLogin);
  EXPECT_EQ(events[1000].user, "user6");
  // Records from 2023, before this boot: which boot they were in is not known.
  EXPECT_EQ(events[1000].boot_id, "");
  // Login history is personal: nobody but the owner and group reads it.
  struct stat st {};
  ASSERT_EQ(::stat(db_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::stat((dir_ / "lib").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  // SIGTERM stops it cleanly.
  int status = Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << Log();
}

TEST_F(DaemonTest, FailedLoginsFromBtmp) {
  Start();
  Append(btmp_, Records(0, 4));  // two of them have a user: the failed logins
  ASSERT_EQ(WaitFor(2), 2u) << Log();
  for (const Event& e : Stored()) EXPECT_EQ(e.kind, EventKind::kFailed);
}

// kill -9 at any instant, restart: every record is stored exactly once, also across a
// rotation in the middle of the burst.
TEST_F(DaemonTest, KillNineDuringABurstLosesAndRepeatsNothing) {
  constexpr uint32_t kTotal = 100000;
  std::mt19937 rng(7);
  Start();
  // Up and following (its cursor is stored): from here on the file is the daemon's to track.
  ASSERT_TRUE(WaitForLog("following")) << Log();
  uint32_t written = 0;
  int kills = 0;
  while (written < kTotal) {
    uint32_t chunk = std::min<uint32_t>(kTotal - written, 500 + rng() % 3000);
    Append(wtmp_, Records(written, chunk));
    written += chunk;
    if (written >= kTotal / 2 && written - chunk < kTotal / 2) {
      fs::rename(wtmp_, wtmp_ + ".1");  // logrotate: rename, then a new file
      Append(wtmp_ + ".1", Records(written, 700));  // a writer still on the old file
      written += 700;
      std::ofstream(wtmp_).close();
    }
    if (rng() % 4 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
      Stop(SIGKILL);
      ++kills;
      Start();
    }
  }
  ASSERT_GT(kills, 3);
  ASSERT_EQ(WaitFor(written), written) << Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // nothing more may come
  std::vector<Event> events = Stored();
  ASSERT_EQ(events.size(), written) << Log();
  // Each record once: the times are 1700000000 + its index, and every index is there once.
  std::vector<bool> seen(written, false);
  int64_t last_seq = 0;
  for (const Event& e : events) {
    EXPECT_GT(e.seq, last_seq);
    last_seq = e.seq;
    int64_t index = e.time_us / 1000000 - 1700000000;
    ASSERT_TRUE(index >= 0 && index < static_cast<int64_t>(written)) << index;
    ASSERT_FALSE(seen[index]) << "record " << index << " stored twice";
    seen[index] = true;
  }
}

// The disk under the database fills up: a clear error, the daemon keeps running, and once
// there is room again it stores everything that was written meanwhile, once.
TEST_F(DaemonTest, FullDiskIsRetriedAndNothingIsLost) {
  // A 2 MiB tmpfs for the database, in a mount namespace of this test process alone (the
  // daemon it starts inherits it); the host's mounts are untouched. (5,100 events in 16 KiB
  // pages, and the WAL of the batch that stores 5,000 of them, need more than 1 MiB.)
  fs::path lib = dir_ / "lib";
  fs::create_directories(lib);
  testing::PrivateTmpfs tmpfs(lib, "2m");
  if (!tmpfs.no_namespace().empty()) GTEST_SKIP() << tmpfs.no_namespace();
  ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
  Append(wtmp_, Records(0, 100));
  Start();
  ASSERT_EQ(WaitFor(100), 100u) << Log();
  // Fill the disk, then log in and out 5,000 times.
  std::string filler = (lib / "filler").string();
  {
    std::ofstream out(filler, std::ios::binary);
    std::string block(4096, 'x');
    while (out.write(block.data(), block.size())) {
    }
  }
  Append(wtmp_, Records(100, 5000));
  ASSERT_TRUE(WaitForLog("full")) << Log();
  EXPECT_EQ(::kill(pid_, 0), 0) << "the daemon must keep running";
  fs::remove(filler);
  ASSERT_EQ(WaitFor(5100), 5100u) << Log();
  EXPECT_NE(Log().find("caught up"), std::string::npos) << Log();
  std::vector<Event> events = Stored();
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].time_us, (1700000000 + static_cast<int64_t>(i)) * 1000000) << i;
  }
  Stop(SIGTERM);
}

// A history on a file system that is read-only when the daemon starts (remounted read-only
// after an error, a rescue boot): the daemon starts all the same, serves what the history
// holds, says on /healthz that ingest is stopped and why, and stores everything once the file
// system can be written again, without a restart (under systemd's start limit a daemon that
// exited would stay down).
TEST_F(DaemonTest, AReadOnlyHistoryAtStartIsServedAndWrittenOnceItCanBe) {
  fs::path lib = dir_ / "lib";
  fs::create_directories(lib);
  testing::PrivateTmpfs tmpfs(lib, "8m");
  if (!tmpfs.no_namespace().empty()) GTEST_SKIP() << tmpfs.no_namespace();
  ASSERT_TRUE(tmpfs.mounted()) << tmpfs.error();
  Append(wtmp_, Records(0, 10));
  testing::Outcome imported = Import();
  ASSERT_EQ(imported.status, 0) << imported.err;
  ASSERT_EQ(::mount(nullptr, lib.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0)
      << std::strerror(errno);
  Append(wtmp_, Records(10, 5));
  api_socket_ = (scratch_ / "api.sock").string();
  Start();
  ASSERT_TRUE(WaitForLog("serving what the history holds")) << Log();
  ASSERT_TRUE(testing::WaitUntil([&] { return Get("/healthz").find("HTTP/1.0 503") == 0; }))
      << Get("/healthz") << Log();
  std::string health = Get("/healthz");
  EXPECT_NE(health.find("\"ingest\":\"stopped\""), std::string::npos) << health;
  EXPECT_NE(health.find("Read-only file system"), std::string::npos) << health;
  std::string history = Get("/v1/history?limit=3");
  EXPECT_EQ(history.find("HTTP/1.0 200"), 0u) << history;
  EXPECT_NE(history.find("{\"seq\":9,"), std::string::npos) << history;
  EXPECT_EQ(::kill(pid_, 0), 0) << "the daemon must keep running";

  ASSERT_EQ(::mount(nullptr, lib.c_str(), nullptr, MS_REMOUNT, nullptr), 0) << std::strerror(errno);
  ASSERT_EQ(WaitFor(15), 15u) << Log();
  EXPECT_TRUE(testing::WaitUntil([&] { return Get("/healthz").find("HTTP/1.0 200") == 0; }))
      << Get("/healthz") << Log();
  EXPECT_NE(Get("/healthz").find("\"ingest\":\"running\""), std::string::npos);
  Append(wtmp_, Records(15, 2));
  EXPECT_EQ(WaitFor(17), 17u) << Log();
  Stop(SIGTERM);
}

// A live session (in utmp) whose leader process dies with no logout is stored as gone, once;
// one whose logout is recorded is not.
TEST_F(DaemonTest, SessionWhoseLeaderDiesWithoutLogoutIsGone) {
  std::string config = (dir_ / "utmpcd.toml").string();
  std::ofstream(config) << "[sessions]\ngone_grace_ms = 200\n";
  Leader ghost, clean;
  {
    std::ofstream out(utmp(), std::ios::binary);
    out << Entry(kUserProcess, "mallory", "pts/7", ghost.pid())
        << Entry(kUserProcess, "alice", "pts/8", clean.pid());
  }
  Start(config);
  ASSERT_TRUE(WaitForLog("following")) << Log();
  // alice logs out properly (utmp says so), then her process ends; mallory's sshd is killed.
  {
    std::ofstream out(utmp(), std::ios::binary);
    out << Entry(kUserProcess, "mallory", "pts/7", ghost.pid()) << Entry(kDeadProcess, "", "pts/8", clean.pid());
  }
  pid_t ghost_pid = ghost.pid();
  clean.Kill();
  ghost.Kill();
  ASSERT_EQ(WaitFor(1), 1u) << Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // alice's grace runs out too
  std::vector<Event> events = Stored();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, EventKind::kGone);
  EXPECT_EQ(events[0].user, "mallory");
  EXPECT_EQ(events[0].tty, "pts/7");
  EXPECT_EQ(events[0].pid, ghost_pid);
  EXPECT_EQ(events[0].source, EventSource::kUtmp);
  // It happened in this boot: it carries the boot's id, as the kernel gives it.
  std::ifstream boot_id_file("/proc/sys/kernel/random/boot_id");
  std::string boot_id;
  std::getline(boot_id_file, boot_id);
  boot_id.erase(std::remove(boot_id.begin(), boot_id.end(), '-'), boot_id.end());
  EXPECT_EQ(events[0].boot_id, boot_id);
  EXPECT_EQ(events[0].boot_id.size(), 32u);
  // A restart finds the ghost still in utmp, and does not report it again.
  Stop(SIGTERM);
  Start(config);
  ASSERT_TRUE(WaitForLog("following")) << Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Stored().size(), 1u);
}

// A session whose process is dead when the daemon starts (its sshd was killed while the daemon
// was down) is never listed as logged in: not during the grace period, not after the daemon
// restarts and finds it in utmp again. Its session in the history ends "gone", not "still",
// even where /proc would not tell (its tty, here /dev/null, belongs to its user).
TEST_F(DaemonTest, AGhostIsNeverListedAndItsHistoryEndsGone) {
  std::string config = (dir_ / "utmpcd.toml").string();
  // A grace period long enough that the first look below is surely inside it.
  std::ofstream(config) << "[sessions]\ngone_grace_ms = 4000\n";
  api_socket_ = (scratch_ / "api.sock").string();
  Leader ghost;
  pid_t ghost_pid = ghost.pid();
  LoginRecord login;
  login.type = kUserProcess;
  login.user = "root";
  login.line = "null";
  login.pid = ghost_pid;
  login.time_s = static_cast<int64_t>(::time(nullptr));
  std::string bytes;
  EncodeUtmp(login, UtmpLayout::kGlibc384, &bytes);
  Append(wtmp_, bytes);
  std::ofstream(utmp(), std::ios::binary) << bytes;
  ghost.Kill();
  auto started = Clock::now();
  Start(config);
  ASSERT_TRUE(WaitForLog("following")) << Log();
  ASSERT_EQ(WaitFor(1), 1u) << Log();
  std::string during_grace = Get("/v1/sessions");
  ASSERT_LT(Clock::now() - started, std::chrono::milliseconds(4000)) << "not inside the grace";
  EXPECT_NE(during_grace.find("{\"sessions\":[]"), std::string::npos) << during_grace;
  ASSERT_EQ(WaitFor(2), 2u) << Log();  // the kGone event, after the grace period
  std::vector<Event> events = Stored();
  EXPECT_EQ(events[1].kind, EventKind::kGone);
  std::string history = Get("/v1/history");
  EXPECT_NE(history.find("\"end\":\"gone\""), std::string::npos) << history;
  EXPECT_EQ(history.find("\"end\":\"still\""), std::string::npos) << history;
  // Restarted, it finds the ghost in utmp again: not listed, not reported twice.
  EXPECT_EQ(Stop(SIGTERM), 0);
  Start(config);
  ASSERT_TRUE(testing::WaitUntil([&] { return Get("/v1/host").find("200 OK") != std::string::npos; }));
  std::string after_restart = Get("/v1/sessions");
  EXPECT_NE(after_restart.find("{\"sessions\":[]"), std::string::npos) << after_restart;
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));  // past its grace period
  EXPECT_EQ(Stored().size(), 2u) << Log();
  EXPECT_NE(Get("/v1/sessions").find("{\"sessions\":[]"), std::string::npos);
}

// With cleanup_gone, the ghost leaves who(1) and last(1) too: its utmp entry is marked dead
// and its logout appended to wtmp (which the daemon then reads back as the session's logout).
TEST_F(DaemonTest, CleanupMarksTheGhostDeadInUtmpAndWtmp) {
  std::string config = (dir_ / "utmpcd.toml").string();
  std::ofstream(config) << "[sessions]\ngone_grace_ms = 100\ncleanup_gone = true\n";
  Leader ghost;
  std::ofstream(utmp(), std::ios::binary) << Entry(kUserProcess, "mallory", "pts/7", ghost.pid());
  Start(config);
  ASSERT_TRUE(WaitForLog("following")) << Log();
  ghost.Kill();
  ASSERT_EQ(WaitFor(2), 2u) << Log();  // the gone event, then the logout read back from wtmp
  std::vector<Event> events = Stored();
  EXPECT_EQ(events[0].kind, EventKind::kGone);
  EXPECT_EQ(events[1].kind, EventKind::kLogout);
  EXPECT_EQ(events[1].tty, "pts/7");
  auto file = UtmpFile::Open(utmp());
  ASSERT_TRUE(file);
  int live = 0;
  ASSERT_TRUE(file->ReadForward([&](const LoginRecord& rec, uint64_t) {
    live += rec.type == kUserProcess;
    return true;
  }));
  EXPECT_EQ(live, 0) << "who would still list the ghost";
}

// Under systemd (Type=notify, WatchdogSec=): READY once caught up, WATCHDOG at half the
// interval, STOPPING on SIGTERM — read from a notify socket of the test's own.
TEST_F(DaemonTest, TellsSystemdReadyWatchdogAndStopping) {
  std::string path = (dir_ / "notify.sock").string();
  int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "200000", 1);  // 200 ms: pings every 100 ms
  Start();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  auto next = [&]() {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return std::string("(nothing in 5 s)");
    char buf[256];
    ssize_t n = ::recv(sock, buf, sizeof buf, 0);
    return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  };
  EXPECT_EQ(next(), "READY=1");
  EXPECT_EQ(next(), "WATCHDOG=1");
  EXPECT_EQ(next(), "WATCHDOG=1");
  ::kill(pid_, SIGTERM);
  std::string last;
  for (int i = 0; i < 5 && last != "STOPPING=1"; ++i) last = next();
  EXPECT_EQ(last, "STOPPING=1");
  Stop(SIGTERM);
  ::close(sock);
}

// The first start imports the last login of each user from lastlog; later starts do not.
TEST_F(DaemonTest, ImportsLastlogOnceOnTheFirstStart) {
  LastlogEntry root;  // uid 0: the first record of the file
  root.time_s = 1690000000;
  root.line = "tty1";
  root.host = "console";
  std::string bytes;
  EncodeLastlog(root, &bytes);
  std::ofstream(lastlog(), std::ios::binary) << bytes;
  for (int run = 0; run < 2; ++run) {
    Start();
    ASSERT_TRUE(WaitForLog("following")) << Log();
    Stop(SIGTERM);
  }
  std::vector<Event> events = Stored();
  ASSERT_EQ(events.size(), 1u) << Log();
  EXPECT_EQ(events[0].kind, EventKind::kLogin);
  EXPECT_EQ(events[0].source, EventSource::kImport);
  EXPECT_EQ(events[0].user, "root");
  EXPECT_EQ(events[0].tty, "tty1");
  EXPECT_EQ(events[0].time_us, int64_t{1690000000} * 1000000);
}

// As root it opens what needs root (the store, the sockets, the HTTP port), then runs as the
// configured user, with group utmp, and goes on recording and answering.
TEST_F(DaemonTest, RunsAsTheConfiguredUserOnceWhatNeedsRootIsOpen) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  // The user must be able to reach the files it follows after the drop.
  fs::permissions(dir_, fs::perms(0755));
  Append(wtmp_, Records(0, 10));
  user_ = "nobody";
  http_listen_ = "127.0.0.1:0";
  Start();
  ASSERT_TRUE(WaitForLog("running as nobody")) << Log();
  ASSERT_EQ(WaitFor(10), 10u) << Log();
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  std::string line, uid_line, groups_line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) uid_line = line;
    if (line.rfind("Groups:", 0) == 0) groups_line = line;
  }
  EXPECT_EQ(uid_line, "Uid:\t65534\t65534\t65534\t65534") << "real, effective, saved, fs";
  group* utmp_group = getgrnam("utmp");
  ASSERT_NE(utmp_group, nullptr);
  EXPECT_EQ(groups_line, "Groups:\t" + std::to_string(utmp_group->gr_gid) + " ");
  // Still recording after the drop.
  Append(wtmp_, Records(10, 5));
  EXPECT_EQ(WaitFor(15), 15u) << Log();
  // And answering on the port it bound as root.
  std::smatch m;
  std::string log = Log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("HTTP API on 127\\.0\\.0\\.1:(\\d+)")));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(m[1])));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string request = "GET /v1/host HTTP/1.0\r\n\r\n";
  ASSERT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(answer.substr(0, 15), "HTTP/1.0 200 OK") << answer;
  EXPECT_NE(answer.find("\"last_seq\":15"), std::string::npos) << answer;
  int stopped = Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << Log();
}

TEST_F(DaemonTest, AUserThatDoesNotExistIsAnError) {
  user_ = "utmpcd-no-such-user";
  Start();
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  if (::geteuid() == 0) {
    EXPECT_NE(Log().find("utmpcd-no-such-user"), std::string::npos) << Log();
  }
}

// An import (--once) with the same options the daemon would follow with.
testing::Outcome DaemonTest::Import(const std::vector<std::string>& extra) {
  std::vector<std::string> args{daemon_,    "-c",    "/dev/null", "--once", "--wtmp",
                                wtmp_,      "--btmp", btmp_,      "--database", db_,
                                "--lastlog", lastlog(), "--utmp", utmp(), "--user", user_};
  args.insert(args.end(), extra.begin(), extra.end());
  return testing::Spawn(args, {}, scratch_);
}

// wtmp truncated and written past the old position while the daemon was stopped: every new
// record is stored (none skipped as if it had been read), with a warning.
TEST_F(DaemonTest, AWtmpRewrittenWhileStoppedLosesNothing) {
  Append(wtmp_, Records(0, 10));
  Start();
  ASSERT_EQ(WaitFor(10), 10u) << Log();
  EXPECT_EQ(Stop(SIGTERM), 0) << Log();
  ASSERT_EQ(::truncate(wtmp_.c_str(), 0), 0);
  Append(wtmp_, Records(100, 25));  // more than there was, so the file looks grown
  Start();
  ASSERT_EQ(WaitFor(35), 35u) << Log();
  EXPECT_TRUE(WaitForLog("rewritten while it was not followed")) << Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<Event> events = Stored();
  ASSERT_EQ(events.size(), 35u);
  EXPECT_EQ(events[10].time_us, int64_t{1700000100} * 1000000) << "the first record of the new file";
}

// One history has one daemon: a second one (a second run.sh, a --once beside the service)
// refuses to start, names the first one's pid, and stores nothing.
TEST_F(DaemonTest, ASecondDaemonOnTheSameHistoryRefusesToStart) {
  Append(wtmp_, Records(0, 100));
  pid_t first = Start();
  ASSERT_EQ(WaitFor(100), 100u) << Log();
  testing::Outcome second = Import();
  EXPECT_EQ(second.status, 1) << second.err;
  EXPECT_NE(second.err.find("another utmpcd (pid " + std::to_string(first) + ")"),
            std::string::npos)
      << second.err;
  Append(wtmp_, Records(100, 50));
  EXPECT_EQ(WaitFor(150), 150u) << Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Stored().size(), 150u) << "stored twice";
  // Once the first has stopped, the lock is free again (also after kill -9).
  Stop(SIGKILL);
  testing::Outcome after = Import();
  EXPECT_EQ(after.status, 0) << after.err;
  EXPECT_EQ(Stored().size(), 150u);
}

// A process that opened wtmp before logrotate renamed it writes its logout to wtmp.1 after the
// daemon was restarted: the daemon stored where it stood in wtmp.1 too, and stores the record.
TEST_F(DaemonTest, ALateWriteToTheRotatedFileSurvivesARestart) {
  Append(wtmp_, Records(0, 10));
  Start();
  ASSERT_EQ(WaitFor(10), 10u) << Log();
  std::string rotated = wtmp_ + ".1";
  ASSERT_EQ(std::rename(wtmp_.c_str(), rotated.c_str()), 0);
  Append(wtmp_, Records(10, 5));
  ASSERT_EQ(WaitFor(15), 15u) << Log();
  EXPECT_EQ(Stop(SIGTERM), 0) << Log();
  Append(rotated, Records(15, 3));  // late, while the daemon is stopped
  Start();
  ASSERT_EQ(WaitFor(18), 18u) << Log();
  Append(rotated, Records(18, 2));  // and again, once it runs
  Append(wtmp_, Records(20, 1));
  ASSERT_EQ(WaitFor(21), 21u) << Log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::vector<Event> events = Stored();
  ASSERT_EQ(events.size(), 21u) << "stored twice";
  std::vector<int64_t> times;
  for (const Event& e : events) times.push_back(e.time_us / 1000000 - 1700000000);
  std::sort(times.begin(), times.end());
  for (int64_t i = 0; i < 21; ++i) EXPECT_EQ(times[static_cast<size_t>(i)], i);
}

// An import of a file the daemon's user cannot read fails: exit status 1, the path and the
// reason named, what to change said, and nothing half-stored.
TEST_F(DaemonTest, AnImportOfAFileItCannotReadFails) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  Append(wtmp_, Records(0, 10));
  // The store's directory is the user's to write; the files' directory is root's alone.
  fs::permissions(dir_, fs::perms(0700));
  db_ = (scratch_ / "lib" / "history.db").string();
  user_ = "nobody";
  testing::Outcome run = Import();
  EXPECT_EQ(run.status, 1) << run.err;
  EXPECT_NE(run.err.find(wtmp_), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("Permission denied"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("cannot search directory " + dir_.string()), std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find("chmod g+rx " + dir_.string()), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("import is incomplete"), std::string::npos) << run.err;
  EXPECT_TRUE(Stored().empty());
  // As root (the scratch directory is root's): the same import works.
  user_ = "root";
  testing::Outcome as_root = Import();
  EXPECT_EQ(as_root.status, 0) << as_root.err;
  EXPECT_EQ(Stored().size(), 10u);
  EXPECT_NE(as_root.err.find("imported 10 events (10 from " + wtmp_), std::string::npos)
      << as_root.err;
}

// A file named that does not exist, or is not a regular file, is an import that failed.
TEST_F(DaemonTest, AnImportOfAMissingFileFails) {
  Append(wtmp_, Records(0, 4));
  fs::remove(btmp_);
  testing::Outcome missing = Import();
  EXPECT_EQ(missing.status, 1) << missing.err;
  EXPECT_NE(missing.err.find(btmp_ + ": not imported: does not exist"), std::string::npos)
      << missing.err;
  EXPECT_EQ(Stored().size(), 4u) << "what could be read is imported";
  fs::create_directory(btmp_);
  testing::Outcome directory = Import();
  EXPECT_EQ(directory.status, 1) << directory.err;
  EXPECT_NE(directory.err.find("not a regular file"), std::string::npos) << directory.err;
}

// A following daemon says once that a file cannot be read, and again when it can.
TEST_F(DaemonTest, AFileThatBecomesReadableIsFollowedWithoutARestart) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  fs::permissions(dir_, fs::perms(0755));
  Append(wtmp_, Records(0, 6));
  ::chmod(wtmp_.c_str(), 0600);
  user_ = "nobody";
  Start();
  ASSERT_TRUE(WaitForLog("cannot be read")) << Log();
  EXPECT_NE(Log().find("cannot read " + wtmp_ + " (-rw------- root:root)"), std::string::npos)
      << Log();
  ::chmod(wtmp_.c_str(), 0644);
  ASSERT_EQ(WaitFor(6), 6u) << Log();
  EXPECT_TRUE(WaitForLog("it can be read again")) << Log();
  std::string log = Log();
  size_t said = 0;
  for (size_t at = 0; (at = log.find("cannot be read", at)) != std::string::npos; ++at) ++said;
  EXPECT_EQ(said, 1u) << log;
}

// A second daemon (on another history) must not take over the first one's live API socket.
TEST_F(DaemonTest, ALiveApiSocketIsNotTakenOver) {
  std::string api = (scratch_ / "api.sock").string();
  std::vector<std::string> common{"-c",        "/dev/null", "--wtmp", wtmp_, "--btmp", btmp_,
                                  "--utmp",    utmp(),      "--ingest-socket", "none",
                                  "--http-listen", "none",  "--user", "root", "--api-socket", api};
  std::vector<std::string> first{daemon_, "--database", db_};
  first.insert(first.end(), common.begin(), common.end());
  pid_ = testing::SpawnInBackground(first, dir_ / "daemon.log");
  ASSERT_TRUE(WaitForLog("unix:" + api)) << Log();
  struct stat before {};
  ASSERT_EQ(::stat(api.c_str(), &before), 0);
  std::vector<std::string> second{daemon_, "--database", (scratch_ / "other.db").string()};
  second.insert(second.end(), common.begin(), common.end());
  fs::path second_log = scratch_ / "second.log";
  pid_t other = testing::SpawnInBackground(second, second_log);
  ASSERT_GT(other, 0);
  bool said = testing::WaitUntil([&] {
    return testing::ReadAll(second_log).find("in use by another process") != std::string::npos;
  });
  ::kill(other, SIGTERM);
  ::waitpid(other, nullptr, 0);
  EXPECT_TRUE(said) << testing::ReadAll(second_log);
  EXPECT_NE(testing::ReadAll(second_log).find("API socket: " + api), std::string::npos);
  struct stat after {};
  ASSERT_EQ(::stat(api.c_str(), &after), 0) << "the second daemon left no socket behind";
  EXPECT_EQ(before.st_ino, after.st_ino) << "the socket was replaced";
  // Its own daemon removes it when it stops.
  EXPECT_EQ(Stop(SIGTERM), 0) << Log();
  EXPECT_FALSE(fs::exists(api)) << "the socket was left behind";
}

// Usage errors: one prefix, exit status 2, like a bad configuration; also with --once.
TEST_F(DaemonTest, BadOptionsAreAClearErrorAndExitStatus2) {
  testing::Outcome bogus = testing::Spawn({daemon_, "--bogus"}, {}, scratch_);
  EXPECT_EQ(bogus.status, 2);
  EXPECT_EQ(bogus.err.rfind("utmpcd: ", 0), 0u) << bogus.err;
  EXPECT_NE(bogus.err.find("--bogus"), std::string::npos) << bogus.err;
  testing::Outcome port = Import({"--http-listen", "127.0.0.1:99999"});
  EXPECT_EQ(port.status, 2);
  EXPECT_EQ(port.err, "utmpcd: --http-listen: '127.0.0.1:99999': port is not 0 to 65535\n");
  testing::Outcome address = Import({"--udp-listen", "1.2.3.4.5:431"});
  EXPECT_EQ(address.status, 2);
  EXPECT_EQ(address.err,
            "utmpcd: --udp-listen: '1.2.3.4.5:431': '1.2.3.4.5' is not a numeric IPv4 or IPv6 "
            "address\n");
  EXPECT_TRUE(Stored().empty());
  std::string config = (scratch_ / "listen.toml").string();
  std::ofstream(config) << "[http]\nlisten = [\"1.2.3.4.5:431\"]\n";
  testing::Outcome configured =
      testing::Spawn({daemon_, "-c", config, "--once", "--database", db_}, {}, scratch_);
  EXPECT_EQ(configured.status, 2);
  EXPECT_EQ(configured.err, "utmpcd: " + config +
                                ":2:11: 'listen' '1.2.3.4.5:431': '1.2.3.4.5' is not a numeric "
                                "IPv4 or IPv6 address\n");
}

TEST_F(DaemonTest, BadConfigurationIsAClearErrorAndExitStatus2) {
  std::string config = (dir_ / "bad.toml").string();
  std::ofstream(config) << "[files]\nwtmpp = \"/var/log/wtmp\"\n";
  std::string cmd = daemon_ + " -c " + config + " --once 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_EQ(std::string(buf, n), "utmpcd: " + config + ":2:1: unknown key 'wtmpp' in [files]\n");
}

}  // namespace
}  // namespace utmpcd
