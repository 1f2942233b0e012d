// What the network tests of utmpc share (net_e2e_test.cc, net_watch_test.cc): real utmpcd
// daemons on loopback ports, hosts that are down or mute, and the records they serve.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>

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
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "formats/utmp.h"
#include "spawn_util.h"

namespace utmpcd::net_test {

namespace fs = std::filesystem;
using testing::Args;
using testing::Outcome;
using testing::ReadAll;
using testing::Spawn;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

using testing::Lines;
using testing::WaitUntil;

// One record as a login program writes it.
inline std::string Record(int16_t type, const std::string& user, const std::string& line,
                   const std::string& host, int32_t pid, int64_t time_s) {
  LoginRecord r;
  r.type = type;
  r.user = user;
  r.line = line;
  r.host = host;
  r.pid = pid;
  r.time_s = time_s;
  r.id = line.size() > 4 ? std::string_view(line).substr(line.size() - 4) : line;
  std::string bytes;
  EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
  return bytes;
}

// Logins and logouts on 10 lines, one a second from 2023-11-14 22:13:20 UTC.
inline std::string Sessions(uint32_t first, uint32_t count) {
  std::string bytes;
  for (uint32_t i = first; i < first + count; ++i) {
    bool login = i % 2 == 0;
    bytes += Record(login ? kUserProcess : kDeadProcess, login ? "user" + std::to_string(i) : "",
                    "pts/" + std::to_string(i / 2 % 10), "192.0.2.9",
                    static_cast<int32_t>(1000 + i / 2), 1700000000 + i);
  }
  return bytes;
}

inline void Append(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A utmpcd on its own files, serving HTTP on 127.0.0.1.
class Daemon {
 public:
  explicit Daemon(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    for (const char* f : {"wtmp", "btmp", "utmp"}) std::ofstream(dir_ / f).close();
    // Loopback gets the history tier by default; lastb and failed events need full.
    std::ofstream(dir_ / "utmpcd.toml") << "[[access]]\nnetworks = [\"127.0.0.0/8\"]\n"
                                         << "tier = \"full\"\n";
  }
  ~Daemon() { Stop(SIGKILL); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  fs::path file(const char* name) const { return dir_ / name; }

  // Starts utmpcd on `port` (0: any free one) and returns the port it serves, 0 on failure.
  int Start(int port = 0) {
    std::string log = (dir_ / "daemon.log").string();
    std::ofstream(log, std::ios::trunc).close();
    Args args{Env("UTMPCD"),
              "-c",
              file("utmpcd.toml").string(),
              "--wtmp",
              file("wtmp").string(),
              "--btmp",
              file("btmp").string(),
              "--utmp",
              file("utmp").string(),
              "--lastlog",
              "/nonexistent",
              "--database",
              file("history.db").string(),
              "--ingest-socket",
              "none",
              "--api-socket",
              "none",
              "--user",
              "root",
              "--http-listen",
              "127.0.0.1:" + std::to_string(port)};
    pid_ = testing::SpawnInBackground(args, log);
    if (pid_ < 0) return 0;
    std::regex where("HTTP API on 127\\.0\\.0\\.1:(\\d+)");
    std::smatch m;
    std::string text;
    WaitUntil([&] {
      text = ReadAll(log);
      return std::regex_search(text, m, where);
    });
    port_ = m.empty() ? 0 : std::stoi(m[1]);
    return port_;
  }
  void Stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return ReadAll(dir_ / "daemon.log"); }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// A program left running (utmpc watch), stdout and stderr into files; killed at the end.
class Background {
 public:
  Background(const Args& argv, const Args& env, const fs::path& dir)
      : out_(dir / "bg.out"), err_(dir / "bg.err") {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> cargv, cenv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cargv.push_back(nullptr);
    cenv.push_back(nullptr);
    if (posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), cenv.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Background() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  std::string out() const { return ReadAll(out_); }
  std::string err() const { return ReadAll(err_); }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
};

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Env("UTMPCD").empty()) << "UTMPCD must name utmpcd (ctest sets it)";
    ASSERT_FALSE(Env("UTMPC").empty()) << "UTMPC must name utmpc (ctest sets it)";
    char pattern[] = "/tmp/utmpc-net-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Two daemons: A with alice logged in on pts/1, B with bob on pts/2 (this test process
  // stands for their sessions' leaders, alive as long as the test), and the history of `wtmp`
  // files when given. Waits until both list their session.
  void StartTwo(const std::string& wtmp_a = "", const std::string& wtmp_b = "") {
    a_ = std::make_unique<Daemon>(dir_ / "a");
    b_ = std::make_unique<Daemon>(dir_ / "b");
    Append(a_->file("utmp"),
           Record(kUserProcess, "alice", "pts/1", "192.0.2.1", ::getpid(), login_s_));
    Append(b_->file("utmp"),
           Record(kUserProcess, "bob", "pts/2", "192.0.2.2", ::getpid(), login_s_ + 1));
    Append(a_->file("wtmp"), wtmp_a);
    Append(b_->file("wtmp"), wtmp_b);
    ASSERT_GT(a_->Start(), 0) << a_->Log();
    ASSERT_GT(b_->Start(), 0) << b_->Log();
    for (auto* d : {a_.get(), b_.get()}) {
      ASSERT_TRUE(WaitUntil([&] {
        return Utmpc({"who", "@" + d->host()}).out.size() > 0;
      })) << d->Log();
    }
  }

  Outcome Utmpc(Args args) {
    args.insert(args.begin(), Env("UTMPC"));
    return Spawn(args, env_, dir_);
  }

  // A port with nobody listening: bound, then closed (nobody else takes it within a test).
  static int DeadPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
  }

  // The sessions' login time in UTC, as who shows it ("%b %e %H:%M"), or as w's LOGIN@ shows
  // a login of more than 6 days ago ("%d%b%y").
  std::string LoginTime(bool who) const {
    char text[64];
    time_t t = login_s_;
    if (who) {
      std::strftime(text, sizeof text, "%b %e %H:%M", std::gmtime(&t));
    } else {
      std::tm* tm = std::gmtime(&t);
      std::strftime(text, sizeof text, "%d%b", tm);
      return text + fmt::format("{:02}", tm->tm_year % 100);
    }
    return text;
  }

  fs::path dir_;
  Args env_ = {"LC_ALL=C", "TZ=UTC", "PATH=/usr/bin:/bin"};
  // A month ago, on a whole minute: old enough for every "long ago" format.
  const int64_t login_s_ = (::time(nullptr) - 30 * 24 * 3600) / 60 * 60;
  std::unique_ptr<Daemon> a_, b_;
};

}  // namespace utmpcd::net_test
