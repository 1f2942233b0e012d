// The daemon as a user runs it: a real utmpcd process ($UTMPCD) following real files into a
// real SQLite file, killed and restarted; live sessions and gone ones, systemd, users.
#include "utmpcd/daemon_fixture.h"

#include <algorithm>

namespace utmpcd::daemon_test {

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
  // utmp, and systemd-journal where it exists (failed logins from the journal), ascending as
  // the kernel lists them.
  std::vector<gid_t> groups = {utmp_group->gr_gid};
  if (group* journal = getgrnam("systemd-journal")) groups.push_back(journal->gr_gid);
  std::sort(groups.begin(), groups.end());
  std::string want = "Groups:\t";
  for (gid_t g : groups) want += std::to_string(g) + " ";
  EXPECT_EQ(groups_line, want);
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

}  // namespace utmpcd::daemon_test
