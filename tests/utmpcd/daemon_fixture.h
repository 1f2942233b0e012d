// What the daemon's tests share (daemon_test.cc, daemon_files_test.cc): a real utmpcd process
// ($UTMPCD) on temporary files, a session leader to kill, an import (--once).
#pragma once

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

namespace utmpcd::daemon_test {

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

// An import (--once) with the same options the daemon would follow with.
inline testing::Outcome DaemonTest::Import(const std::vector<std::string>& extra) {
  std::vector<std::string> args{daemon_,    "-c",    "/dev/null", "--once", "--wtmp",
                                wtmp_,      "--btmp", btmp_,      "--database", db_,
                                "--lastlog", lastlog(), "--utmp", utmp(), "--user", user_};
  args.insert(args.end(), extra.begin(), extra.end());
  return testing::Spawn(args, {}, scratch_);
}

}  // namespace utmpcd::daemon_test
