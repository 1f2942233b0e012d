// pam_utmpcd.so run by pamtester through pam_wrapper (libpam-wrapper): the real libpam reads
// a service file from a directory of the test's own (PAM_WRAPPER_SERVICE_DIR) instead of
// /etc/pam.d, so nothing of the host changes and a non-root user can run the stack too. The
// module's pam_syslog lines arrive on stderr (PAM_WRAPPER_DEBUGLEVEL). Reports go to a real
// utmpcd ($UTMPCD) with its ingest socket in a temporary directory, or to no daemon, or to a
// socket that never reads. As root, each case is also run as nobody (setpriv).
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pam/pam_test_util.h"
#include "sources/ingest_socket.h"
#include "spawn_util.h"
#include "store/sqlite_store.h"

namespace utmpcd::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Far above what a session costs (pam_wrapper copies libpam's configuration, loads libraries):
// only a module that blocks on a stuck daemon comes near it.
constexpr int64_t kBoundMs = 5000;

const char* const kPamWrapper = "libpam_wrapper.so";

bool HavePamWrapper() {
  for (const char* dir :
       {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/lib/aarch64-linux-gnu"}) {
    if (fs::exists(fs::path(dir) / kPamWrapper)) return true;
  }
  return false;
}

struct Timed {
  Outcome outcome;
  int64_t elapsed_ms = 0;
};

// A real utmpcd following empty files, its ingest socket at `socket`, stopped with the test.
class Daemon {
 public:
  Daemon(const fs::path& dir, const std::string& socket) : dir_(dir) {
    // Port 431 is neither this test's nor free under ctest -j: no HTTP.
    std::vector<std::string> args{
        std::getenv("UTMPCD"), "-c",   "/dev/null",     "--database", database(),
        "--ingest-socket",     socket, "--http-listen", "none", "--user", "root"};
    for (const char* name : {"wtmp", "btmp", "utmp", "lastlog"}) {
      std::ofstream(dir / name).close();
      args.insert(args.end(), {std::string("--") + name, (dir / name).string()});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = (dir / "daemon.log").string();
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    // Ready once the socket is bound (it is bound under a temporary name, then renamed).
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (pid_ > 0 && !fs::exists(socket) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~Daemon() { Kill(SIGTERM); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool running() const { return pid_ > 0; }
  void Kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string database() const { return (dir_ / "history.db").string(); }
  std::string Log() const { return ReadAll(dir_ / "daemon.log"); }

  // The PAM events stored, once there are at least `count` (or after 20 s).
  std::vector<Event> WaitForPamEvents(size_t count) const {
    std::vector<Event> pam;
    auto deadline = Clock::now() + std::chrono::seconds(20);
    do {
      pam.clear();
      StoreOptions options;
      options.read_only = true;
      if (auto store = SqliteStore::Open(database(), options)) {
        if (auto events = (*store)->EventsFrom(0, 1000)) {
          for (const Event& e : *events) {
            if (e.source == EventSource::kPam) pam.push_back(e);
          }
        }
      }
      if (pam.size() >= count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (Clock::now() < deadline);
    return pam;
  }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
};

class PamWrapperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HavePamWrapper()) GTEST_SKIP() << "libpam-wrapper is not installed";
    if (!fs::exists("/usr/bin/pamtester")) GTEST_SKIP() << "pamtester is not installed";
    const char* module = std::getenv("PAM_UTMPCD");
    ASSERT_NE(module, nullptr) << "PAM_UTMPCD is not set";
    ASSERT_NE(std::getenv("UTMPCD"), nullptr) << "UTMPCD is not set";
    // Everything nobody must reach: the directory, the service file, the module (a copy, so no
    // directory of the build tree needs to be reachable).
    ::chmod(dir_.path().c_str(), 0755);
    fs::create_directory(dir_.path() / "services");
    module_ = dir_ / "pam_utmpcd.so";
    fs::copy_file(module, module_);
    ::chmod(module_.c_str(), 0755);
    if (::geteuid() == 0) {
      struct passwd* pw = ::getpwnam("nobody");
      if (pw != nullptr) nobody_ = {pw->pw_uid, pw->pw_gid};
    }
  }

  // The users to run pamtester as: this process's, and nobody when this process is root.
  std::vector<bool> AsWhom() const {
    std::vector<bool> as_nobody{false};
    if (nobody_.first != 0) as_nobody.push_back(true);
    return as_nobody;
  }

  // pamtester opening and closing a session of service "utmpcd-pw" whose stack is this module
  // alone, reporting to `socket`; as nobody when `as_nobody`.
  Timed Pamtester(const std::string& socket, bool as_nobody) {
    std::ofstream(dir_ / "services/utmpcd-pw")
        << "session required " << module_ << " socket=" << socket << " debug\n";
    ::chmod((dir_ / "services/utmpcd-pw").c_str(), 0644);
    const char* user = as_nobody ? "nobody" : (::geteuid() == 0 ? "root" : "user");
    Args argv;
    if (as_nobody) {
      argv = {"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody_.first),
              "--regid=" + std::to_string(nobody_.second), "--clear-groups"};
    }
    // env(1) after setpriv: only pamtester runs with pam_wrapper preloaded.
    Args tail{"/usr/bin/env",
              std::string("LD_PRELOAD=") + kPamWrapper,
              "PAM_WRAPPER=1",
              "PAM_WRAPPER_SERVICE_DIR=" + dir_ / "services",
              "PAM_WRAPPER_DEBUGLEVEL=2",
              "/usr/bin/pamtester",
              "-v",
              "-I",
              "tty=/dev/pts/9",
              "-I",
              "rhost=192.0.2.7",
              "utmpcd-pw",
              user,
              "open_session",
              "close_session"};
    argv.insert(argv.end(), tail.begin(), tail.end());
    Timed run;
    auto start = Clock::now();
    run.outcome = Spawn(argv, {"PATH=/usr/bin:/bin"}, scratch_.path());
    run.elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    return run;
  }

  static std::string Describe(const Timed& run) {
    return "status " + std::to_string(run.outcome.status) + ", " + std::to_string(run.elapsed_ms) +
           " ms\n--- stdout\n" + run.outcome.out + "--- stderr\n" + run.outcome.err;
  }

  // pamtester's own words that both PAM calls returned success.
  static void ExpectSessionOpenedAndClosed(const Timed& run) {
    EXPECT_EQ(run.outcome.status, 0) << Describe(run);
    EXPECT_NE(run.outcome.out.find("successfully opened a session"), std::string::npos)
        << Describe(run);
    EXPECT_NE(run.outcome.out.find("session has successfully been closed"), std::string::npos)
        << Describe(run);
  }

  PamTempDir dir_;
  PamTempDir scratch_;  // pamtester's captured output
  std::string module_;
  std::pair<uid_t, gid_t> nobody_{0, 0};
};

TEST_F(PamWrapperTest, RootSessionReachesTheStore) {
  if (::geteuid() != 0) GTEST_SKIP() << "the daemon accepts reports from root only";
  Daemon daemon(dir_.path(), dir_ / "ingest.sock");
  ASSERT_TRUE(daemon.running() && fs::exists(dir_ / "ingest.sock")) << daemon.Log();

  Timed run = Pamtester(dir_ / "ingest.sock", false);
  ExpectSessionOpenedAndClosed(run);
  EXPECT_NE(run.outcome.err.find("session open reported for root"), std::string::npos)
      << Describe(run);

  std::vector<Event> pam = daemon.WaitForPamEvents(2);
  ASSERT_EQ(pam.size(), 2u) << daemon.Log() << Describe(run);
  EXPECT_EQ(pam[0].kind, EventKind::kLogin);
  EXPECT_EQ(pam[1].kind, EventKind::kLogout);
  for (const Event& e : pam) {
    EXPECT_EQ(e.user, "root");
    EXPECT_EQ(e.tty, "pts/9");
    EXPECT_EQ(e.remote_host, "192.0.2.7");
  }
}

TEST_F(PamWrapperTest, NonRootSessionOpensAndIsNotStored) {
  Daemon daemon(dir_.path(), dir_ / "ingest.sock");
  ASSERT_TRUE(daemon.running() && fs::exists(dir_ / "ingest.sock")) << daemon.Log();
  if (::geteuid() != 0) {
    // Daemon and module run as this user: the report is sent, and refused by the daemon.
    ExpectSessionOpenedAndClosed(Pamtester(dir_ / "ingest.sock", false));
    return;
  }
  ASSERT_NE(nobody_.first, 0u) << "no user nobody";
  Timed run = Pamtester(dir_ / "ingest.sock", true);
  ExpectSessionOpenedAndClosed(run);
  // The socket is root's, mode 0600: nobody cannot even connect; the module says so in syslog.
  EXPECT_NE(run.outcome.err.find("session open not reported"), std::string::npos) << Describe(run);
  EXPECT_NE(run.outcome.err.find("Permission denied"), std::string::npos) << Describe(run);
  EXPECT_LT(run.elapsed_ms, kBoundMs) << Describe(run);

  // root's session afterwards is stored, and it is all that is.
  ExpectSessionOpenedAndClosed(Pamtester(dir_ / "ingest.sock", false));
  std::vector<Event> pam = daemon.WaitForPamEvents(2);
  ASSERT_EQ(pam.size(), 2u) << daemon.Log();
  EXPECT_EQ(pam[0].user, "root");
  EXPECT_EQ(pam[1].user, "root");
}

TEST_F(PamWrapperTest, NothingListeningDoesNotFailTheSession) {
  for (bool as_nobody : AsWhom()) {
    SCOPED_TRACE(as_nobody ? "as nobody" : "as this user");
    // No daemon ever ran: no socket file.
    Timed run = Pamtester(dir_ / "missing.sock", as_nobody);
    ExpectSessionOpenedAndClosed(run);
    EXPECT_NE(run.outcome.err.find("No such file or directory"), std::string::npos)
        << Describe(run);
    EXPECT_LT(run.elapsed_ms, kBoundMs) << Describe(run);
  }

  // A daemon killed with SIGKILL leaves its socket file behind, with nobody reading it.
  std::string socket = dir_ / "dead.sock";
  {
    Daemon daemon(dir_.path(), socket);
    ASSERT_TRUE(daemon.running() && fs::exists(socket)) << daemon.Log();
    daemon.Kill(SIGKILL);
  }
  ASSERT_TRUE(fs::exists(socket));
  for (bool as_nobody : AsWhom()) {
    SCOPED_TRACE(as_nobody ? "as nobody" : "as this user");
    Timed run = Pamtester(socket, as_nobody);
    ExpectSessionOpenedAndClosed(run);
    // root: connect(2) is refused; nobody: not even allowed to try (mode 0600).
    EXPECT_NE(run.outcome.err.find(as_nobody ? "Permission denied" : "Connection refused"),
              std::string::npos)
        << Describe(run);
    EXPECT_LT(run.elapsed_ms, kBoundMs) << Describe(run);
  }
}

TEST_F(PamWrapperTest, SocketThatNeverReadsCostsAtMostTheDeadline) {
  // Anyone may send here (0666), so that nobody's report too meets the full queue rather than
  // a refused connect.
  std::string path = dir_ / "stuck.sock";
  auto socket = IngestSocket::Open({path, 0666});
  ASSERT_TRUE(socket) << socket.error().message;
  int filler = ConnectTo(path);
  ASSERT_GE(filler, 0);
  std::string bytes = EncodeIngestMessage(SshdOpen());
  int queued = 0;
  while (::send(filler, bytes.data(), bytes.size(), 0) >= 0) ++queued;
  ASSERT_EQ(errno, EAGAIN) << "after " << queued << " datagrams";

  for (bool as_nobody : AsWhom()) {
    SCOPED_TRACE(as_nobody ? "as nobody" : "as this user");
    Timed run = Pamtester(path, as_nobody);
    ExpectSessionOpenedAndClosed(run);
    // Two sends (open, close), each given up after the module's 100 ms deadline.
    EXPECT_GE(run.elapsed_ms, 190) << "the module did not meet a full queue?\n" << Describe(run);
    EXPECT_LT(run.elapsed_ms, kBoundMs) << Describe(run);
    EXPECT_NE(run.outcome.err.find("Connection timed out"), std::string::npos) << Describe(run);
  }
  ::close(filler);
  auto received = socket->Drain();
  ASSERT_TRUE(received) << received.error().message;
  // Only the filler's datagrams (refused, not accepted, when this test is not root).
  EXPECT_EQ(received->size() + socket->counters().rejected, static_cast<size_t>(queued));
}

}  // namespace
}  // namespace utmpcd::testing
