// Live sessions from systemd-logind. No logind runs here, but sd-login (the real libsystemd)
// only reads the state files logind keeps in /run/systemd: the tests that need it write those
// files, as systemd 252's session_save() writes them (a temporary file renamed into place), on a
// tmpfs mounted over /run in a mount namespace of this test process alone (root only).
#include "sources/logind_sessions.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "sources/logind_session_file.h"

namespace utmpcd {
namespace {

namespace fs = std::filesystem;

// Generous: an inotify event is queued before rename(2) returns; this only bounds a failure.
constexpr int kDeadlineMs = 5000;

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// --- the state file and the naming rules, without logind ---------------------------------

TEST(LogindSessionFileTest, ReadsLeaderStartAndUserAsLogindWritesThem) {
  LogindSessionFile f = ParseLogindSessionFile(
      "# This is private data. Do not parse.\nUID=1000\nUSER=alice\nACTIVE=1\nSTATE=active\n"
      "REMOTE=1\nTYPE=tty\nCLASS=user\nTTY=pts/0\nREMOTE_HOST=192.0.2.7\nSERVICE=sshd\n"
      "LEADER=4242\nAUDIT=3\nREALTIME=1700000000123456\nMONOTONIC=98765432\n");
  EXPECT_EQ(f.leader, 4242);
  EXPECT_EQ(f.realtime_us, 1700000000123456);
  EXPECT_EQ(f.user, "alice");
}

TEST(LogindSessionFileTest, MalformedValuesAreLeftUnknown) {
  LogindSessionFile f = ParseLogindSessionFile(
      "LEADER=-1\nREALTIME=99999999999999999999\nUSER=\"quoted\"\nLEADER2=7\n=\n");
  EXPECT_EQ(f.leader, 0);
  EXPECT_EQ(f.realtime_us, 0);
  EXPECT_EQ(f.user, "");
  EXPECT_EQ(ParseLogindSessionFile("LEADER=0\nUSER=a b").leader, 0);
  EXPECT_EQ(ParseLogindSessionFile("LEADER=12 \n").leader, 0);
  EXPECT_EQ(ParseLogindSessionFile(std::string("USER=ro\0ot\n", 11)).user, "");
  EXPECT_EQ(ParseLogindSessionFile("LEADER=1\nLEADER=2").leader, 2) << "the last one counts";
}

TEST(LogindSessionFileTest, SessionIdsAreLettersAndDigits) {
  EXPECT_TRUE(IsLogindSessionId("3"));
  EXPECT_TRUE(IsLogindSessionId("c12"));
  EXPECT_FALSE(IsLogindSessionId(""));
  EXPECT_FALSE(IsLogindSessionId("3.ref"));
  EXPECT_FALSE(IsLogindSessionId("../3"));
  EXPECT_FALSE(IsLogindSessionId(".#3abc"));
}

LogindSession Session(std::string id, std::string type, std::string tty, std::string seat = "",
                      std::string service = "sshd") {
  LogindSession s;
  s.id = std::move(id);
  s.uid = 0;
  s.state = "active";
  s.type = std::move(type);
  s.session_class = "user";
  s.service = std::move(service);
  s.tty = std::move(tty);
  s.seat = std::move(seat);
  return s;
}

LogindSession Described(LogindSession s, LogindSessionFile file = {}) {
  DescribeLogindSession(s, file);
  return s;
}

TEST(LogindNamingTest, LineIsTheTtyElseTheSeatElseTheServiceAsWhoShowsIt) {
  EXPECT_EQ(Described(Session("3", "tty", "pts/0")).live.line, "pts/0");
  EXPECT_EQ(Described(Session("3", "tty", "/dev/tty1")).live.line, "tty1");
  EXPECT_EQ(Described(Session("4", "wayland", "tty2", "seat0")).live.line, "tty2");
  EXPECT_EQ(Described(Session("c1", "x11", "", "seat0")).live.line, "seat0");
  // ssh without a pty: sshd's PAM_TTY "ssh" makes logind drop the tty and call it "tty".
  LogindSession notty = Described(Session("5", "tty", ""));
  EXPECT_EQ(notty.live.line, "sshd");
  EXPECT_TRUE(notty.listed);
  EXPECT_EQ(Described(Session("6", "web", "", "", "cockpit")).live.line, "cockpit");
}

TEST(LogindNamingTest, BackgroundManagerAndClosingSessionsAreNotListed) {
  LogindSession cron = Session("7", "unspecified", "", "", "cron");
  cron.session_class = "background";
  EXPECT_FALSE(Described(cron).listed);
  LogindSession manager = Session("8", "unspecified", "", "", "systemd-user");
  manager.session_class = "manager";
  EXPECT_FALSE(Described(manager).listed);
  LogindSession manager_tty = Session("9", "tty", "tty3");
  manager_tty.session_class = "manager-early";
  EXPECT_FALSE(Described(manager_tty).listed);
  LogindSession closing = Session("10", "tty", "pts/4");
  closing.state = "closing";
  EXPECT_FALSE(Described(closing).listed) << "logged out; only leftover processes keep it";
  EXPECT_TRUE(Described(Session("11", "tty", "pts/4")).listed);
}

TEST(LogindNamingTest, UserHostAddressPidSessionAndTime) {
  LogindSession s = Session("42", "tty", "pts/1");
  s.remote_host = "2001:db8::7";
  LogindSession d = Described(s, {.leader = 777, .realtime_us = 1700000000123456, .user = "x"});
  EXPECT_EQ(d.live.user, "root") << "the passwd name of uid 0 wins over the recorded one";
  EXPECT_EQ(d.live.host, "2001:db8::7");
  EXPECT_EQ(d.live.addr[0], 0x20);
  EXPECT_EQ(d.live.addr[15], 0x07);
  EXPECT_EQ(d.live.pid, 777);
  EXPECT_EQ(d.live.session, 42);
  EXPECT_EQ(d.live.id, "42");
  EXPECT_EQ(d.live.login_time_us, 1700000000123456);

  LogindSession x11 = Session("c3", "x11", "", "seat0", "gdm-password");
  x11.display = ":0";
  x11.uid = 3999999999u;  // in no passwd database
  d = Described(x11, {.user = "ghost"});
  EXPECT_EQ(d.live.host, ":0") << "an X11 session's display stands in for the host, as in utmp";
  EXPECT_EQ(d.live.addr, (std::array<uint8_t, 16>{}));
  EXPECT_EQ(d.live.session, 0) << "logind's c-ids are no numbers";
  EXPECT_EQ(d.live.user, "ghost");
  EXPECT_EQ(Described(x11).live.user, "3999999999") << "no name anywhere: the uid";
}

// --- sd-login on state files, in a private /run --------------------------------------------

class LogindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (a mount namespace)";
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      GTEST_SKIP() << "no mount namespace here: " << std::strerror(errno);
    }
    ASSERT_EQ(::mount("utmpcd-test-run", "/run", "tmpfs", 0, "mode=0755"), 0)
        << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2("/run", MNT_DETACH);
  }

  // What a booted systemd with a running logind leaves in /run.
  static void StartLogind() {
    for (const char* dir : {"/run/systemd", "/run/systemd/system", "/run/systemd/seats",
                            "/run/systemd/sessions", "/run/systemd/users"}) {
      ::mkdir(dir, 0755);
    }
  }

  // A session state file as systemd 252's session_save() writes it: a temporary file in the
  // same directory, renamed over the name (the monitor sees IN_MOVED_TO), and the FIFO that
  // pam_systemd holds open beside it.
  static void WriteSession(const std::string& id, const std::map<std::string, std::string>& kv) {
    static const char* kOrder[] = {
        "UID",      "USER",          "ACTIVE",  "IS_DISPLAY",  "STATE",    "REMOTE",
        "TYPE",     "ORIGINAL_TYPE", "CLASS",   "SCOPE",       "FIFO",     "SEAT",
        "TTY",      "TTY_VALIDITY",  "DISPLAY", "REMOTE_HOST", "SERVICE",  "VTNR",
        "POSITION", "LEADER",        "AUDIT",   "REALTIME",    "MONOTONIC"};
    std::string temp = "/run/systemd/sessions/.#" + id + "Xa1b2c3";
    {
      std::ofstream out(temp);
      out << "# This is private data. Do not parse.\n";
      for (const char* key : kOrder) {
        if (auto it = kv.find(key); it != kv.end()) out << key << '=' << it->second << '\n';
      }
    }
    std::string fifo = "/run/systemd/sessions/" + id + ".ref";
    ::mkfifo(fifo.c_str(), 0600);
    ASSERT_EQ(::rename(temp.c_str(), ("/run/systemd/sessions/" + id).c_str()), 0);
  }
  static void RemoveSession(const std::string& id) {
    ::unlink(("/run/systemd/sessions/" + id).c_str());
    ::unlink(("/run/systemd/sessions/" + id + ".ref").c_str());
  }

  // An ssh login with a pty, as pam_systemd registers it.
  static std::map<std::string, std::string> SshPty(const std::string& id, uid_t uid,
                                                   const std::string& user, int64_t realtime_s) {
    return {{"UID", std::to_string(uid)},
            {"USER", user},
            {"ACTIVE", "1"},
            {"IS_DISPLAY", "0"},
            {"STATE", "active"},
            {"REMOTE", "1"},
            {"TYPE", "tty"},
            {"ORIGINAL_TYPE", "tty"},
            {"CLASS", "user"},
            {"SCOPE", "session-" + id + ".scope"},
            {"FIFO", "/run/systemd/sessions/" + id + ".ref"},
            {"TTY", "pts/" + id},
            {"TTY_VALIDITY", "from-pam"},
            {"REMOTE_HOST", "192.0.2.7"},
            {"SERVICE", "sshd"},
            {"LEADER", std::to_string(::getpid())},
            {"AUDIT", id},
            {"REALTIME", std::to_string(realtime_s * 1000000 + 123456)},
            {"MONOTONIC", "98765432"}};
  }

  static std::map<std::string, LogindSession> ById() {
    std::map<std::string, LogindSession> by_id;
    auto sessions = ReadLogindSessions();
    EXPECT_TRUE(sessions) << sessions.error().message;
    if (sessions) {
      for (const auto& s : *sessions) by_id[s.id] = s;
    }
    return by_id;
  }

  bool mounted_ = false;
};

TEST_F(LogindTest, WithoutLogindItIsUnavailableCleanly) {
  ::mkdir("/run/systemd", 0755);
  EXPECT_FALSE(LogindAvailable());
  auto sessions = ReadLogindSessions();
  ASSERT_FALSE(sessions);
  EXPECT_EQ(sessions.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(sessions.error().message.find("not booted with systemd"), std::string::npos)
      << sessions.error().message;
  auto monitor = LogindMonitor::Create();
  ASSERT_FALSE(monitor);
  EXPECT_EQ(monitor.error().code, ErrorCode::kUnsupported);

  // Booted with systemd, but logind does not run (masked, or a container without it).
  ::mkdir("/run/systemd/system", 0755);
  EXPECT_FALSE(LogindAvailable());
  sessions = ReadLogindSessions();
  ASSERT_FALSE(sessions);
  EXPECT_NE(sessions.error().message.find("/run/systemd/seats"), std::string::npos)
      << sessions.error().message;

  StartLogind();
  EXPECT_TRUE(LogindAvailable());
  sessions = ReadLogindSessions();
  ASSERT_TRUE(sessions) << sessions.error().message;
  EXPECT_TRUE(sessions->empty());
}

TEST_F(LogindTest, ListsTheSessionsWhoWouldShow) {
  StartLogind();
  WriteSession("3", SshPty("3", 0, "root", 1700000300));
  // ssh without a pty: no TTY, type tty, service sshd.
  auto notty = SshPty("5", 65534, "nobody", 1700000100);
  notty.erase("TTY");
  notty.erase("TTY_VALIDITY");
  notty["REMOTE_HOST"] = "2001:db8::5";
  WriteSession("5", notty);
  // A graphical login on seat0 that logind started itself, of a user passwd does not know.
  WriteSession("c1", {{"UID", "3999999999"},
                      {"USER", "ghost"},
                      {"ACTIVE", "1"},
                      {"STATE", "active"},
                      {"REMOTE", "0"},
                      {"TYPE", "x11"},
                      {"CLASS", "user"},
                      {"SEAT", "seat0"},
                      {"DISPLAY", ":0"},
                      {"SERVICE", "gdm-password"},
                      {"VTNR", "7"},
                      {"LEADER", "1"},
                      {"REALTIME", "1700000200000000"}});
  // cron's session: no login anyone sees.
  WriteSession("7", {{"UID", "0"},
                     {"USER", "root"},
                     {"STATE", "online"},
                     {"TYPE", "unspecified"},
                     {"CLASS", "background"},
                     {"SERVICE", "cron"},
                     {"LEADER", "1"},
                     {"REALTIME", "1700000000000000"}});
  // Logged out, a leftover process keeps it.
  auto closing = SshPty("8", 0, "root", 1700000400);
  closing["STATE"] = "closing";
  WriteSession("8", closing);

  auto all = ReadLogindSessions();
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 5u) << "every session file, and no .ref FIFO or temporary file";
  EXPECT_EQ((*all)[0].id, "7") << "sorted by login time";

  auto live = ReadLogindLiveSessions();
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_EQ(live->size(), 3u);
  const LiveSession& sshd = (*live)[0];
  EXPECT_EQ(sshd.line, "sshd");
  EXPECT_EQ(sshd.user, "nobody");
  EXPECT_EQ(sshd.host, "2001:db8::5");
  EXPECT_EQ(sshd.session, 5);
  EXPECT_EQ(sshd.login_time_us, 1700000100123456);
  const LiveSession& gdm = (*live)[1];
  EXPECT_EQ(gdm.line, "seat0");
  EXPECT_EQ(gdm.user, "ghost");
  EXPECT_EQ(gdm.host, ":0");
  EXPECT_EQ(gdm.pid, 1);
  EXPECT_EQ(gdm.session, 0);
  EXPECT_EQ(gdm.id, "c1");
  const LiveSession& pts = (*live)[2];
  EXPECT_EQ(pts.line, "pts/3");
  EXPECT_EQ(pts.user, "root");
  EXPECT_EQ(pts.host, "192.0.2.7");
  EXPECT_EQ(pts.addr, (std::array<uint8_t, 16>{192, 0, 2, 7}));
  EXPECT_EQ(pts.pid, ::getpid());
  EXPECT_EQ(pts.session, 3);
  EXPECT_EQ(pts.login_time_us, 1700000300123456);

  auto by_id = ById();
  EXPECT_EQ(by_id["7"].session_class, "background");
  EXPECT_FALSE(by_id["7"].listed);
  EXPECT_EQ(by_id["8"].state, "closing");
  EXPECT_FALSE(by_id["8"].listed);
  EXPECT_EQ(by_id["c1"].seat, "seat0");
  EXPECT_EQ(by_id["5"].service, "sshd");
}

TEST_F(LogindTest, HostileRemoteHostNeverReachesTheCallerRaw) {
  StartLogind();
  auto session = SshPty("3", 0, "root", 1700000000);
  // logind writes REMOTE_HOST through cescape(): an ESC arrives in the file as "\x1b" (and
  // sd-login 252 reads the backslash away: "evilx1b[2Jnroot").
  session["REMOTE_HOST"] = "evil\\x1b[2J\\nroot";
  WriteSession("3", session);
  auto live = ReadLogindLiveSessions();
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_EQ(live->size(), 1u);
  const std::string& host = (*live)[0].host;
  EXPECT_EQ(host.find('\x1b'), std::string::npos) << host;
  EXPECT_EQ(host.find('\n'), std::string::npos) << host;
  EXPECT_EQ(host.substr(0, 4), "evil") << host;
}

TEST_F(LogindTest, MonitorWakesWhenASessionAppearsChangesOrGoes) {
  StartLogind();
  auto monitor = LogindMonitor::Create();
  ASSERT_TRUE(monitor) << monitor.error().message;
  int fd = monitor->fd();
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(Readable(fd, 0)) << "nothing happened yet";
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);

  WriteSession("3", SshPty("3", 0, "root", 1700000000));
  ASSERT_TRUE(Readable(fd, kDeadlineMs)) << "a login";
  ASSERT_TRUE(monitor->Flush());
  EXPECT_FALSE(Readable(fd, 0)) << "Flush consumed the notification";
  auto live = ReadLogindLiveSessions();
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].line, "pts/3");

  // The user logs out, a leftover process keeps the session: logind rewrites it as closing.
  auto closing = SshPty("3", 0, "root", 1700000000);
  closing["STATE"] = "closing";
  WriteSession("3", closing);
  ASSERT_TRUE(Readable(fd, kDeadlineMs)) << "a state change";
  ASSERT_TRUE(monitor->Flush());
  live = ReadLogindLiveSessions();
  ASSERT_TRUE(live) << live.error().message;
  EXPECT_TRUE(live->empty());

  RemoveSession("3");
  ASSERT_TRUE(Readable(fd, kDeadlineMs)) << "the session went";
  ASSERT_TRUE(monitor->Flush());
  EXPECT_FALSE(Readable(fd, 0));
  auto all = ReadLogindSessions();
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_TRUE(all->empty());

  // Moved, the monitor still works; the moved-from one has no descriptor.
  LogindMonitor moved = std::move(*monitor);
  EXPECT_EQ(moved.fd(), fd);
  EXPECT_EQ(monitor->fd(), -1);
  WriteSession("4", SshPty("4", 0, "root", 1700000000));
  EXPECT_TRUE(Readable(moved.fd(), kDeadlineMs));
}

// The daemon reads logind after dropping root: the state files are 0644 in 0755 directories.
TEST_F(LogindTest, ReadableByADaemonThatDroppedRoot) {
  StartLogind();
  WriteSession("3", SshPty("3", 0, "root", 1700000000));
  ::chmod("/run/systemd/sessions/3", 0644);  // as logind's session_save() leaves it
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
        ::setresuid(65534, 65534, 65534) != 0) {
      ::_exit(10);
    }
    auto monitor = LogindMonitor::Create();
    if (!monitor) ::_exit(11);
    auto live = ReadLogindLiveSessions();
    ::_exit(!live ? 12 : live->size() != 1 ? 13 : (*live)[0].pid != ::getppid() ? 14 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 monitor, 12 read, 13 count, 14 leader";
}

}  // namespace
}  // namespace utmpcd
