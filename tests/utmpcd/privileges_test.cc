// Dropping root (utmpcd/privileges.h), for real: a forked child of this (root) test drops to
// nobody and then tries what an attacker inside the daemon would (root-only files, setuid(0),
// a setuid-root program) and what the daemon itself must still do (read btmp with group utmp,
// watch a root process's death through a pidfd, write its store in the directory handed to
// it, receive root's PAM reports on the socket it opened before, mark a ghost dead in utmp).
#include "net/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "formats/utmp.h"
#include "pam/pam_test_util.h"
#include "sources/ingest_socket.h"
#include "spawn_util.h"
#include "store/sqlite_store.h"
#include "utmpcd/utmp_cleanup.h"

namespace utmpcd::testing {
namespace {

// Generous: only bounds a failure.
constexpr int kWaitMs = 10000;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Runs `child` in a forked process and returns what it returned: "" when all was as expected,
// else what was not. `parent` runs meanwhile in this process, after the fork.
std::string InChild(const std::function<std::string()>& child,
                    const std::function<void()>& parent = {}) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe2");
  pid_t pid = ::fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    ::close(fds[0]);
    std::string result = child();
    if (result.empty()) result = "ok";
    (void)!::write(fds[1], result.data(), result.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  if (parent) parent();
  std::string result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) result.append(buffer, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (result.empty()) return "the child died (status " + std::to_string(status) + ")";
  return result == "ok" ? "" : result;
}

std::string Drop(const std::string& user, const std::vector<std::string>& groups = {}) {
  auto dropped = DropPrivileges(user, groups);
  return dropped ? "" : "DropPrivileges: " + dropped.error().message;
}

class PrivilegesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    struct passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr) GTEST_SKIP() << "no user nobody";
    nobody_uid_ = pw->pw_uid;
    nobody_gid_ = pw->pw_gid;
    struct group* gr = ::getgrnam("utmp");
    utmp_gid_ = gr != nullptr ? gr->gr_gid : 0;
    ::chmod(dir_.path().c_str(), 0755);  // nobody may look in, and create nothing
  }

  // A file only root may read or write.
  std::string RootOnlyFile() {
    std::string path = dir_ / "secret";
    std::ofstream(path) << "root only\n";
    ::chmod(path.c_str(), 0600);
    return path;
  }

  PamTempDir dir_;
  uid_t nobody_uid_ = 0;
  gid_t nobody_gid_ = 0;
  gid_t utmp_gid_ = 0;
};

TEST_F(PrivilegesTest, DropsToNobodyForGood) {
  std::string secret = RootOnlyFile();
  std::string result = InChild([&]() -> std::string {
    if (auto failed = Drop("nobody"); !failed.empty()) return failed;
    uid_t r, e, s;
    gid_t rg, eg, sg;
    ::getresuid(&r, &e, &s);
    ::getresgid(&rg, &eg, &sg);
    if (r != nobody_uid_ || e != nobody_uid_ || s != nobody_uid_) return "uids are not nobody's";
    if (rg != nobody_gid_ || eg != nobody_gid_ || sg != nobody_gid_) return "gids are not nobody's";
    if (::getgroups(0, nullptr) != 0) return "supplementary groups remain";
    if (::open(secret.c_str(), O_RDONLY) >= 0 || errno != EACCES) {
      return "a root-only file is still readable";
    }
    if (::setuid(0) == 0 || ::seteuid(0) == 0 || ::setgid(0) == 0) return "root came back";
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return "no_new_privs is not set";
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if ((line.rfind("CapEff:", 0) == 0 || line.rfind("CapPrm:", 0) == 0) &&
          line.find_first_not_of("0\t ", 7) != std::string::npos) {
        return "capabilities remain: " + line;
      }
    }
    return "";
  });
  EXPECT_EQ(result, "");
  EXPECT_EQ(::geteuid(), 0u) << "the test process itself is untouched";
}

TEST_F(PrivilegesTest, ItsMemoryIsClosedToTheUsersOtherProcesses) {
  std::string scratch = dir_ / "scratch";
  std::filesystem::create_directory(scratch);
  ASSERT_EQ(::chown(scratch.c_str(), nobody_uid_, nobody_gid_), 0);
  std::string result = InChild([&]() -> std::string {
    if (auto failed = Drop("nobody"); !failed.empty()) return failed;
    // Another process of nobody's (cat) reading the daemon's environment and memory map.
    std::string self = "/proc/" + std::to_string(::getpid());
    for (const char* what : {"/environ", "/maps"}) {
      Outcome cat = Spawn({"/bin/cat", self + what}, {}, scratch);
      if (cat.status == 0) return std::string("nobody's cat read ") + what;
      if (cat.err.find("Permission denied") == std::string::npos) return cat.err;
    }
    return "";
  });
  EXPECT_EQ(result, "");
}

TEST_F(PrivilegesTest, ASetuidRootProgramRunLaterGivesNoRoot) {
  // A setuid-root copy of id(1): run by nobody it says 0, unless no_new_privs is set.
  std::string id = dir_ / "id-setuid";
  std::filesystem::copy_file("/usr/bin/id", id);
  ASSERT_EQ(::chown(id.c_str(), 0, 0), 0);
  ASSERT_EQ(::chmod(id.c_str(), 04755), 0);
  Outcome control = Spawn({"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody_uid_),
                           "--regid=" + std::to_string(nobody_gid_), "--clear-groups", id, "-u"},
                          {}, dir_.path());
  if (control.out != "0\n") GTEST_SKIP() << "setuid programs do not work here (nosuid?)";

  std::string scratch = dir_ / "scratch";
  std::filesystem::create_directory(scratch);
  ASSERT_EQ(::chown(scratch.c_str(), nobody_uid_, nobody_gid_), 0);
  std::string result = InChild([&]() -> std::string {
    if (auto failed = Drop("nobody"); !failed.empty()) return failed;
    Outcome run = Spawn({id, "-u"}, {}, scratch);
    if (run.out != std::to_string(nobody_uid_) + "\n") return "id -u said " + run.out + run.err;
    return "";
  });
  EXPECT_EQ(result, "");
}

TEST_F(PrivilegesTest, UnknownUserOrGroupIsAClearErrorAndNothingChanges) {
  std::string result = InChild([]() -> std::string {
    auto dropped = DropPrivileges("utmpcd-no-such-user", {"utmp"});
    if (dropped) return "dropped to a user that does not exist";
    if (dropped.error().code != ErrorCode::kNotFound) return "not kNotFound";
    if (dropped.error().message != "user 'utmpcd-no-such-user' does not exist") {
      return "message: " + dropped.error().message;
    }
    dropped = DropPrivileges("nobody", {"utmpcd-no-such-group"});
    if (dropped || dropped.error().code != ErrorCode::kNotFound ||
        dropped.error().message.find("'utmpcd-no-such-group'") == std::string::npos) {
      return "unknown group: " + (dropped ? "dropped" : dropped.error().message);
    }
    if (::geteuid() != 0 || ::getuid() != 0) return "ids changed after a failed lookup";
    dropped = DropPrivileges("root", {});
    if (dropped || dropped.error().code != ErrorCode::kInvalidArgument) {
      return "root accepted as the user to drop to";
    }
    return "";
  });
  EXPECT_EQ(result, "");
}

TEST_F(PrivilegesTest, GroupUtmpKeepsBtmpReadable) {
  if (utmp_gid_ == 0) GTEST_SKIP() << "no group utmp";
  // As Debian creates it: failed logins are for root and group utmp only.
  std::string btmp = dir_ / "btmp";
  std::ofstream(btmp) << "x";
  ASSERT_EQ(::chown(btmp.c_str(), 0, utmp_gid_), 0);
  ASSERT_EQ(::chmod(btmp.c_str(), 0660), 0);
  EXPECT_EQ(InChild([&]() -> std::string {
              if (auto failed = Drop("nobody", {"utmp"}); !failed.empty()) return failed;
              gid_t groups[4];
              if (::getgroups(4, groups) != 1 || groups[0] != utmp_gid_) return "groups";
              int fd = ::open(btmp.c_str(), O_RDONLY);
              if (fd < 0) return Errno("open btmp");
              ::close(fd);
              return "";
            }),
            "");
  EXPECT_EQ(InChild([&]() -> std::string {
              if (auto failed = Drop("nobody"); !failed.empty()) return failed;
              if (::open(btmp.c_str(), O_RDONLY) >= 0) return "btmp readable without utmp";
              return "";
            }),
            "");
}

TEST_F(PrivilegesTest, APidfdStillWatchesARootProcessDie) {
  // A root process standing for a session leader (sshd): it exits when its pipe closes, and
  // only the child holds the pipe's write end.
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  pid_t leader = ::fork();
  ASSERT_GE(leader, 0);
  if (leader == 0) {
    ::close(pipe_fds[1]);
    char c;
    while (::read(pipe_fds[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  ::close(pipe_fds[0]);
  std::string result = InChild(
      [&]() -> std::string {
        if (auto failed = Drop("nobody"); !failed.empty()) return failed;
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, leader, 0));
        if (pidfd < 0) return Errno("pidfd_open on root's process");
        if (Readable(pidfd, 0)) return "readable while the leader lives";
        ::close(pipe_fds[1]);  // the leader exits
        if (!Readable(pidfd, kWaitMs)) return "the leader's death was not seen";
        return "";
      },
      [&] { ::close(pipe_fds[1]); });
  ::kill(leader, SIGKILL);
  ::waitpid(leader, nullptr, 0);
  EXPECT_EQ(result, "");
}

TEST_F(PrivilegesTest, TheStoreWorksInTheDirectoryHandedOver) {
  // The store as a root daemon left it: directory, database and WAL files all root's.
  std::string lib = dir_ / "lib";
  ASSERT_EQ(::mkdir(lib.c_str(), 0750), 0);
  std::string db = lib + "/history.db";
  {
    auto store = SqliteStore::Open(db);
    ASSERT_TRUE(store) << store.error().message;
    std::vector<Event> events(1);
    ASSERT_TRUE((*store)->Append(events, {}));
  }
  std::string secret = RootOnlyFile();
  ASSERT_EQ(::symlink(secret.c_str(), (lib + "/link").c_str()), 0);

  auto append_as_nobody = [&]() -> std::string {
    if (auto failed = Drop("nobody"); !failed.empty()) return failed;
    auto store = SqliteStore::Open(db);
    if (!store) return store.error().message;
    std::vector<Event> events(1);
    auto stored = (*store)->Append(events, {});
    if (!stored) return stored.error().message;
    return *stored == 2 ? "" : "seq " + std::to_string(*stored);
  };
  EXPECT_NE(InChild(append_as_nobody), "") << "root's store is nobody's to write already?";

  ASSERT_TRUE(ChownToUser(lib, "nobody"));
  EXPECT_EQ(InChild(append_as_nobody), "");
  struct stat st {};
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "ChownToUser followed a symbolic link";
  ASSERT_EQ(::lstat((lib + "/link").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);

  auto missing = ChownToUser(dir_ / "missing", "nobody");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto no_user = ChownToUser(lib, "utmpcd-no-such-user");
  ASSERT_FALSE(no_user);
  EXPECT_EQ(no_user.error().message, "user 'utmpcd-no-such-user' does not exist");
}

TEST_F(PrivilegesTest, TheIngestSocketOpenedBeforeStillTakesRootsReports) {
  std::string run = dir_ / "run";
  std::string path = run + "/ingest.sock";
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  std::string result = InChild(
      [&]() -> std::string {
        ::close(ready[0]);
        std::string outcome;
        {
          auto socket = IngestSocket::Open({path, 0600});  // creates `run`, as root
          if (!socket) return socket.error().message;
          if (auto owned = ChownToUser(run, "nobody"); !owned) return owned.error().message;
          if (auto failed = Drop("nobody"); !failed.empty()) return failed;
          ::close(ready[1]);  // tells the parent to send
          if (!Readable(socket->fd(), kWaitMs)) return "nothing arrived";
          auto received = socket->Drain();
          if (!received) return received.error().message;
          if (received->size() != 1 || (*received)[0].sender_uid != 0) return "not root's report";
        }
        // The socket's destructor removed its file: /run/utmpcd must be the user's for that.
        if (::access(path.c_str(), F_OK) == 0) return "the socket file was left behind";
        return "";
      },
      [&] {
        ::close(ready[1]);
        char c;
        if (::read(ready[0], &c, 1) == 0) SendTo(path, EncodeIngestMessage(SshdOpen()));
        ::close(ready[0]);
      });
  EXPECT_EQ(result, "");
}

TEST_F(PrivilegesTest, GroupUtmpLetsCleanupMarkAGhostDead) {
  if (utmp_gid_ == 0) GTEST_SKIP() << "no group utmp";
  // utmp with one live session, and wtmp: root's, writable by group utmp, as on Debian.
  std::string utmp = dir_ / "utmp", wtmp = dir_ / "wtmp";
  LoginRecord r;
  r.type = kUserProcess;
  r.user = "mallory";
  r.line = "pts/7";
  r.pid = 4242;
  r.time_s = 1700000000;
  std::string bytes;
  EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
  std::ofstream(utmp, std::ios::binary) << bytes;
  std::ofstream(wtmp).close();
  for (const std::string& path : {utmp, wtmp}) {
    ASSERT_EQ(::chown(path.c_str(), 0, utmp_gid_), 0);
    ASSERT_EQ(::chmod(path.c_str(), 0664), 0);
  }
  LiveSession ghost;
  ghost.line = "pts/7";
  ghost.user = "mallory";
  ghost.pid = 4242;
  auto cleanup = [&](std::vector<std::string> groups) {
    return [&, groups]() -> std::string {
      if (auto failed = Drop("nobody", groups); !failed.empty()) return failed;
      auto done = RecordLogoutOfGone(utmp, wtmp, ghost, int64_t{1700000100} * 1000000);
      return done ? "" : done.error().message;
    };
  };
  EXPECT_NE(InChild(cleanup({})), "") << "utmp writable without group utmp?";
  EXPECT_EQ(std::filesystem::file_size(wtmp), 0u);
  EXPECT_EQ(InChild(cleanup({"utmp"})), "");
  EXPECT_EQ(std::filesystem::file_size(wtmp), 384u) << "the logout appended to wtmp";
  auto file = UtmpFile::Open(utmp);
  ASSERT_TRUE(file);
  int live = 0;
  ASSERT_TRUE(file->ReadForward([&](const LoginRecord& rec, uint64_t) {
    live += rec.type == kUserProcess;
    return true;
  }));
  EXPECT_EQ(live, 0) << "who would still list the ghost";
}

}  // namespace
}  // namespace utmpcd::testing
