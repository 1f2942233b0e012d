// pam_utmpcd.so as sshd or login would use it: loaded with dlopen(RTLD_NOW) (no unresolved
// symbol, nothing exported but pam_sm_*), and run through a real PAM stack by pamtester with a
// temporary service in /etc/pam.d, reporting to an IngestSocket this test holds. With no daemon,
// or a daemon that does not read, the session still opens, within the module's deadline.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "pam/pam_test_util.h"
#include "sources/ingest_socket.h"

namespace utmpcd::testing {
namespace {

std::string ModulePath() {
  const char* path = std::getenv("PAM_UTMPCD");
  return path != nullptr ? path : "";
}

struct Command {
  int status = -1;
  std::string output;
  int64_t elapsed_ms = 0;
};

// Runs a shell command, with its stderr in the output.
Command RunShell(const std::string& command) {
  Command result;
  auto start = std::chrono::steady_clock::now();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) {
    result.output.append(buffer, n);
  }
  result.status = ::pclose(pipe);
  result.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
  return result;
}

TEST(PamModuleTest, LoadsWithRtldNowAndExportsOnlyPamEntryPoints) {
  std::string module = ModulePath();
  ASSERT_FALSE(module.empty()) << "PAM_UTMPCD is not set";
  void* handle = ::dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  EXPECT_NE(::dlsym(handle, "pam_sm_open_session"), nullptr);
  EXPECT_NE(::dlsym(handle, "pam_sm_close_session"), nullptr);
  EXPECT_NE(::dlsym(handle, "pam_sm_authenticate"), nullptr);
  EXPECT_NE(::dlsym(handle, "pam_sm_setcred"), nullptr);
  EXPECT_EQ(::dlsym(handle, "pam_sm_acct_mgmt"), nullptr);
  ::dlclose(handle);

  Command nm = RunShell("nm -D --defined-only '" + module + "'");
  ASSERT_EQ(nm.status, 0) << nm.output;
  std::set<std::string> exported;
  std::istringstream lines(nm.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string address, type, name;
    if (fields >> address >> type >> name) exported.insert(name);
  }
  EXPECT_EQ(exported, (std::set<std::string>{"pam_sm_authenticate", "pam_sm_close_session",
                                             "pam_sm_open_session", "pam_sm_setcred"}))
      << nm.output;
}

class PamtesterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (a service file in /etc/pam.d)";
    if (RunShell("command -v pamtester").status != 0) GTEST_SKIP() << "pamtester is not installed";
    ASSERT_FALSE(ModulePath().empty()) << "PAM_UTMPCD is not set";
    ::chmod(dir_.path().c_str(), 0755);
  }
  void TearDown() override { std::remove(service_file_.c_str()); }

  // Writes the one-line session stack, reporting to `socket`, and runs pamtester on it.
  Command Pamtester(const std::string& socket, const std::string& extra_args = "") {
    std::ofstream(service_file_) << "session required " << ModulePath() << " socket=" << socket
                                 << " debug\n";
    return RunShell("pamtester -v " + extra_args + " " + service_ +
                    " root open_session close_session");
  }

  // Waits for `count` datagrams, or the deadline.
  std::vector<IngestSocket::Received> Collect(IngestSocket& socket, size_t count) {
    std::vector<IngestSocket::Received> all;
    while (all.size() < count && Readable(socket.fd(), kDeadlineMs)) {
      auto received = socket.Drain();
      if (!received) break;
      all.insert(all.end(), received->begin(), received->end());
    }
    return all;
  }

  PamTempDir dir_;
  std::string socket_path_ = dir_ / "ingest.sock";
  std::string service_ = "utmpcd-test-" + std::to_string(::getpid());
  std::string service_file_ = "/etc/pam.d/" + service_;
};

TEST_F(PamtesterTest, OpenAndCloseReachTheDaemon) {
  auto socket = IngestSocket::Open({socket_path_, 0600});
  ASSERT_TRUE(socket) << socket.error().message;
  int64_t before_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Command run =
      Pamtester(socket_path_, "-I tty=/dev/pts/9 -I rhost=192.0.2.7 -E XDG_SESSION_ID=42");
  ASSERT_EQ(run.status, 0) << run.output;

  auto received = Collect(*socket, 2);
  ASSERT_EQ(received.size(), 2u) << run.output;
  const IngestMessage& open = received[0].message;
  const IngestMessage& close = received[1].message;
  EXPECT_EQ(open.type, IngestType::kOpen);
  EXPECT_EQ(close.type, IngestType::kClose);
  for (const auto& r : received) {
    EXPECT_EQ(r.message.user, "root");
    EXPECT_EQ(r.message.service, service_);
    EXPECT_EQ(r.message.tty, "/dev/pts/9");
    EXPECT_EQ(r.message.rhost, "192.0.2.7");
    EXPECT_EQ(r.message.session, 42);
    EXPECT_EQ(r.message.pid, r.sender_pid) << "the module reports its own process";
    EXPECT_EQ(r.sender_uid, 0u);
    EXPECT_GE(r.message.time_us, before_us);
  }
  EXPECT_LE(open.time_us, close.time_us);
  EXPECT_EQ(EventFromIngest(open).kind, EventKind::kLogin);
  EXPECT_EQ(EventFromIngest(close).tty, "pts/9");
}

TEST_F(PamtesterTest, NoDaemonDoesNotFailOrDelayTheSession) {
  Command run = Pamtester(dir_ / "missing/ingest.sock");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("successfully opened"), std::string::npos) << run.output;
  // Nothing to wait for: connect fails at once. A second would mean the module blocked.
  EXPECT_LT(run.elapsed_ms, 1000) << run.output;
}

TEST_F(PamtesterTest, StuckDaemonCostsAtMostTheDeadline) {
  // A daemon that never reads: its receive queue fills up, and a sender can only wait.
  auto socket = IngestSocket::Open({socket_path_, 0600});
  ASSERT_TRUE(socket) << socket.error().message;
  int filler = ConnectTo(socket_path_);
  ASSERT_GE(filler, 0);
  std::string bytes = EncodeIngestMessage(SshdOpen());
  int queued = 0;
  while (::send(filler, bytes.data(), bytes.size(), 0) >= 0) ++queued;
  ASSERT_EQ(errno, EAGAIN) << "after " << queued << " datagrams";

  Command run = Pamtester(socket_path_);
  ::close(filler);
  EXPECT_EQ(run.status, 0) << run.output;
  // Two sends (open, close), each given up after the module's 100 ms deadline.
  EXPECT_GE(run.elapsed_ms, 190) << "the module did not wait for the full queue at all?";
  EXPECT_LT(run.elapsed_ms, 1000) << run.output;
  // pamtester has exited: whatever it managed to queue is there now, no need to wait.
  auto received = socket->Drain();
  ASSERT_TRUE(received) << received.error().message;
  EXPECT_EQ(received->size(), static_cast<size_t>(queued)) << "only the filler's datagrams";
}

// authfail, placed as pam_faillock's: after the module that decides (pam_deny or pam_permit
// here, pam_unix on a host), which skips it on success.
TEST_F(PamtesterTest, AuthfailReportsAFailedAuthenticationAndLeavesTheOutcomeAsItWas) {
  auto socket = IngestSocket::Open({socket_path_, 0600});
  ASSERT_TRUE(socket) << socket.error().message;
  for (const char* decider : {"pam_deny.so", "pam_permit.so"}) {
    SCOPED_TRACE(decider);
    std::ofstream(service_file_) << "auth [success=1 default=bad] " << decider << "\n"
                                 << "auth [default=die] " << ModulePath()
                                 << " authfail socket=" << socket_path_ << "\n"
                                 << "auth required pam_permit.so\n";
    Command run = RunShell("pamtester -v -I tty=ssh -I rhost=2001:db8::9 " + service_ +
                           " 'mallory\x1b[2J' authenticate");
    const bool denied = std::string(decider) == "pam_deny.so";
    EXPECT_EQ(run.status != 0, denied) << run.output;
    auto received = Collect(*socket, 1);
    if (!denied) {
      EXPECT_TRUE(received.empty()) << "a login that succeeded was reported as failed";
      continue;
    }
    ASSERT_EQ(received.size(), 1u) << run.output;
    const IngestMessage& failed = received[0].message;
    EXPECT_EQ(failed.type, IngestType::kFailed);
    EXPECT_EQ(failed.user, "mallory\x1b[2J");  // bytes as given; escaped where they are shown
    EXPECT_EQ(failed.tty, "ssh");
    EXPECT_EQ(failed.rhost, "2001:db8::9");
    EXPECT_EQ(failed.service, service_);
    Event event = EventFromIngest(failed);
    EXPECT_EQ(event.kind, EventKind::kFailed);
    EXPECT_EQ(event.source, EventSource::kPam);
    EXPECT_EQ(event.remote_addr[0], 0x20);
  }
}

// Without authfail, in the auth stack by mistake: no say in authentication, nothing reported.
TEST_F(PamtesterTest, WithoutAuthfailTheModuleHasNoSayInAuthentication) {
  auto socket = IngestSocket::Open({socket_path_, 0600});
  ASSERT_TRUE(socket) << socket.error().message;
  std::ofstream(service_file_) << "auth required " << ModulePath() << " socket=" << socket_path_
                               << "\n"
                               << "auth required pam_permit.so\n";
  Command run = RunShell("pamtester -v " + service_ + " root authenticate");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_TRUE(Collect(*socket, 1).empty()) << "reported without authfail";
}

}  // namespace
}  // namespace utmpcd::testing
