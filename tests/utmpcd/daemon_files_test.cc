// The daemon and its files: imports (--once), wtmp rewritten or rotated, files that cannot be
// read or appear later, a second daemon, and wrong options or configuration.
#include "utmpcd/daemon_fixture.h"

namespace utmpcd::daemon_test {

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

// The history's directory and files are the daemon's alone, as sshd's StrictModes asks: a
// directory every user may write to, or a symbolic link where SQLite would write, is refused
// before anything is opened.
TEST_F(DaemonTest, AHistoryOthersCouldTamperWithIsRefused) {
  Append(wtmp_, Records(0, 4));
  const fs::path dir = fs::path(db_).parent_path();
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms(01777));
  testing::Outcome open_dir = Import();
  EXPECT_EQ(open_dir.status, 1) << open_dir.err;
  EXPECT_NE(open_dir.err.find(dir.string() + ": the history's directory is writable by every user"),
            std::string::npos)
      << open_dir.err;
  EXPECT_FALSE(fs::exists(db_)) << "the history was opened in it";
  fs::permissions(dir, fs::perms(0755));
  const fs::path target = dir_ / "planted";
  fs::create_symlink(target, db_ + "-wal");
  testing::Outcome planted = Import();
  EXPECT_EQ(planted.status, 1) << planted.err;
  EXPECT_NE(planted.err.find(db_ + "-wal: a symbolic link"), std::string::npos) << planted.err;
  EXPECT_FALSE(fs::exists(target)) << "SQLite wrote through the link";
  fs::remove(db_ + "-wal");
  // A directory above it that every user may write to (not sticky, as /tmp is) is refused too:
  // the history's directory could be renamed away and another put in its place.
  fs::permissions(dir_, fs::perms(0777));
  testing::Outcome above = Import();
  EXPECT_EQ(above.status, 1) << above.err;
  EXPECT_NE(above.err.find(dir_.string() + ": a directory above the history's may be changed"),
            std::string::npos)
      << above.err;
  fs::permissions(dir_, fs::perms(01777));  // sticky: others cannot rename what is not theirs
  testing::Outcome sticky = Import();
  EXPECT_EQ(sticky.status, 0) << sticky.err;
  fs::permissions(dir_, fs::perms(0700));
  testing::Outcome fine = Import();
  EXPECT_EQ(fine.status, 0) << fine.err;
  EXPECT_EQ(Stored().size(), 4u);
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

}  // namespace utmpcd::daemon_test
