// bench/netload, the load generator of bench/net.sh, against a real utmpcd: what it counts as
// answered was answered, what failed is reported as failed (never hidden in a rate), and it
// refuses to send anywhere but loopback. Short runs: this checks the tool, it measures nothing.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "spawn_util.h"

extern char** environ;

namespace utmpcd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Args;
using Json = nlohmann::json;

class NetloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* daemon = std::getenv("UTMPCD");
    const char* binary_dir = std::getenv("UTMPCD_BINARY_DIR");
    ASSERT_NE(daemon, nullptr) << "UTMPCD must name the utmpcd binary (ctest sets it)";
    ASSERT_NE(binary_dir, nullptr);
    netload_ = fs::path(binary_dir) / "bench" / "netload";
    if (!fs::exists(netload_)) GTEST_SKIP() << "built without the benchmarks (UTMPCD_BENCH=OFF)";
    daemon_ = daemon;
    std::string pattern = (fs::temp_directory_path() / "utmpcd_netload.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    wtmp_ = (dir_ / "wtmp").string();
    std::ofstream(wtmp_).close();
    std::ofstream(dir_ / "btmp").close();
    std::ofstream(dir_ / "utmp").close();
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Starts the daemon on free loopback ports; returns its HTTP "127.0.0.1:PORT" (and the UDP
  // one in *udp).
  std::string StartDaemon(std::string* udp = nullptr) {
    // No UDP rate limit: the test's datagrams all come from 127.0.0.0/24.
    std::ofstream(dir_ / "utmpcd.toml") << "[udp]\nrate_per_prefix = 0\n";
    std::vector<std::string> args{daemon_,
                                  "-c",
                                  (dir_ / "utmpcd.toml").string(),
                                  "--wtmp",
                                  wtmp_,
                                  "--btmp",
                                  (dir_ / "btmp").string(),
                                  "--utmp",
                                  (dir_ / "utmp").string(),
                                  "--lastlog",
                                  "/nonexistent",
                                  "--database",
                                  (dir_ / "history.db").string(),
                                  "--ingest-socket",
                                  "none",
                                  "--http-listen",
                                  "127.0.0.1:0",
                                  "--udp-listen",
                                  "127.0.0.1:0",
                                  "--user",
                                  "root"};
    std::string log = (dir_ / "daemon.log").string();
    pid_ = testing::SpawnInBackground(args, log);
    EXPECT_GT(pid_, 0);
    std::regex http("HTTP API on (127\\.0\\.0\\.1:\\d+)"), udp_on("UDP on (127\\.0\\.0\\.1:\\d+)");
    for (auto deadline = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < deadline;) {
      std::smatch h, u;
      std::string text = testing::ReadAll(log);
      if (std::regex_search(text, h, http) && std::regex_search(text, u, udp_on)) {
        if (udp != nullptr) *udp = u[1];
        return h[1];
      }
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "the daemon did not say where it listens: " << testing::ReadAll(log);
    return "127.0.0.1:1";
  }

  // Runs netload with `args`; its report, or null when it failed (the failure is recorded).
  Json Run(const Args& args, testing::Outcome* outcome = nullptr) {
    Args argv{netload_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::Outcome run = testing::Spawn(argv, {"PATH=/usr/bin:/bin"}, dir_);
    if (outcome != nullptr) *outcome = run;
    if (run.status != 0) {
      if (outcome == nullptr) ADD_FAILURE() << "netload failed: " << run.err;
      return nullptr;
    }
    return Json::parse(run.out);
  }

  fs::path netload_;
  std::string daemon_;
  fs::path dir_;
  std::string wtmp_;
  pid_t pid_ = -1;
};

TEST_F(NetloadTest, KeepAliveAndConnectionPerRequestCountAnsweredRequests) {
  std::string target = StartDaemon();
  for (Args mode : {Args{"http", target}, Args{"connect", target, "--http", "/v1/sessions"}}) {
    mode.insert(mode.end(), {"-c", "4", "-d", "1", "--warmup", "0.2", "--expect", "\"sessions\""});
    Json report = Run(mode);
    ASSERT_FALSE(report.is_null());
    EXPECT_GT(report["requests"].get<int64_t>(), 0) << report;
    EXPECT_EQ(report["error_count"], 0) << report;
    EXPECT_GT(report["bytes_per_response"].get<int64_t>(), 0) << report;
    EXPECT_GT(report["latency"]["p99_us"].get<int64_t>(), 0) << report;
  }
}

TEST_F(NetloadTest, UdpSummariesAreCountedWhenTheyAnswerTheRequest) {
  std::string udp;
  StartDaemon(&udp);
  Json report = Run({"udp", udp, "-c", "4", "-d", "1", "--warmup", "0.2"});
  ASSERT_FALSE(report.is_null());
  EXPECT_GT(report["requests"].get<int64_t>(), 0) << report;
  EXPECT_EQ(report["error_count"], 0) << report;
  // Datagrams to a port nobody answers on: no request counts, each loss is an error.
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);  // bound, never read
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  report = Run({"udp", "127.0.0.1:" + std::to_string(ntohs(a.sin_port)), "-c", "2", "-d", "1.5",
                "--warmup", "0", "--timeout", "0.5"});
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["requests"], 0) << report;
  EXPECT_GT(report["errors"]["timeout (no answer)"].get<int64_t>(), 0) << report;
  // A run shorter than the timeout still reports the requests left unanswered.
  report = Run({"udp", "127.0.0.1:" + std::to_string(ntohs(a.sin_port)), "-c", "2", "-d", "1.5",
                "--warmup", "0"});
  ::close(fd);
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["requests"], 0) << report;
  EXPECT_EQ(report["errors"]["unanswered at the end (over 1 s)"], 2) << report;
}

TEST_F(NetloadTest, ErrorAnswersAreErrorsNotRequests) {
  std::string target = StartDaemon();
  Json report =
      Run({"http", target, "--path", "/v1/no-such-thing", "-c", "2", "-d", "0.5", "--warmup", "0"});
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["requests"], 0) << report;
  EXPECT_GT(report["errors"]["status 404"].get<int64_t>(), 0) << report;
  // An answer without what was expected is no answer either.
  report = Run({"http", target, "-c", "2", "-d", "0.5", "--warmup", "0", "--expect", "fingerd"});
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["requests"], 0) << report;
  EXPECT_GT(report["error_count"].get<int64_t>(), 0) << report;
}

TEST_F(NetloadTest, ARefusingPortIsReportedAsRefused) {
  // Bound and not listening: every connection to it is refused, and nobody else can take it.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::string target = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  Json report = Run({"connect", target, "--finger", "", "-c", "2", "-d", "0.5", "--warmup", "0"});
  ::close(fd);
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["requests"], 0) << report;
  EXPECT_GT(report["errors"]["connect: Connection refused"].get<int64_t>(), 0) << report;
}

TEST_F(NetloadTest, SendsOnlyToLoopback) {
  for (const char* target :
       {"192.0.2.1:431", "10.0.0.1:79", "[2001:db8::1]:431", "localhost:431"}) {
    testing::Outcome run;
    Json report = Run({"http", target, "-d", "0.1"}, &run);
    EXPECT_TRUE(report.is_null()) << target;
    EXPECT_NE(run.err.find("not a loopback address"), std::string::npos) << target << run.err;
  }
}

TEST_F(NetloadTest, WatchersAreHeldAndEveryOneReceivesTheLogin) {
  std::string target = StartDaemon();
  Json report = Run({"watchers", target, "--count", "50", "--hold", "0.5", "--pid",
                     std::to_string(pid_), "--wtmp", wtmp_});
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["opened"], 50) << report;
  EXPECT_EQ(report["open_after_hold"], 50) << report;
  EXPECT_EQ(report["login_delivered"], 50) << report;
  EXPECT_GT(report["daemon_rss_kb_with"].get<int64_t>(), 0) << report;
}

TEST_F(NetloadTest, LatencyTimesEachLoginToItsEvent) {
  std::string target = StartDaemon();
  Json report =
      Run({"latency", "--wtmp", wtmp_, "--count", "20", "--pace-ms", "1", "--sse", target});
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["requests"], 20) << report;
  EXPECT_EQ(report["error_count"], 0) << report;
  // And through utmpc watch, whose output it reads from a pipe.
  const char* utmpc = std::getenv("UTMPC");
  ASSERT_NE(utmpc, nullptr);
  report = Run({"latency", "--wtmp", wtmp_, "--count", "20", "--pace-ms", "1", "--", utmpc, "watch",
                target});
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["requests"], 20) << report;
  EXPECT_EQ(report["error_count"], 0) << report;
}

}  // namespace
}  // namespace utmpcd
