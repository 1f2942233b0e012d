// utmpc over the network as a user runs it: real utmpcd processes ($UTMPCD) on loopback ports,
// each on its own temporary files, asked by the real utmpc ($UTMPC), with a port nobody
// listens on and a listener that never answers beside them.
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

namespace utmpcd {
namespace {

namespace fs = std::filesystem;
using testing::Args;
using testing::Outcome;
using testing::ReadAll;
using testing::Spawn;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

using testing::Lines;
using testing::WaitUntil;

// One record as a login program writes it.
std::string Record(int16_t type, const std::string& user, const std::string& line,
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
std::string Sessions(uint32_t first, uint32_t count) {
  std::string bytes;
  for (uint32_t i = first; i < first + count; ++i) {
    bool login = i % 2 == 0;
    bytes += Record(login ? kUserProcess : kDeadProcess, login ? "user" + std::to_string(i) : "",
                    "pts/" + std::to_string(i / 2 % 10), "192.0.2.9",
                    static_cast<int32_t>(1000 + i / 2), 1700000000 + i);
  }
  return bytes;
}

void Append(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A utmpcd on its own files, serving HTTP on 127.0.0.1.
class Daemon {
 public:
  explicit Daemon(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    for (const char* f : {"wtmp", "btmp", "utmp"}) std::ofstream(dir_ / f).close();
    std::ofstream(dir_ / "utmpcd.toml").close();
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

TEST_F(NetTest, WhoListsEveryHostAndNamesTheOneThatIsDown) {
  StartTwo();
  std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  Outcome run = Utmpc({"who", "-H", "@" + a_->host(), "@" + dead, "@" + b_->host()});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err, "utmpc who: " + dead + ": connection refused\n");
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  // The HOST column is as wide as the widest host named (the dead one included).
  size_t width = std::max({a_->host().size(), b_->host().size(), dead.size()}) + 1;
  EXPECT_EQ(lines[0],
            "HOST" + std::string(width - 4, ' ') + "NAME     LINE         TIME         COMMENT");
  std::string pad_a(width - a_->host().size(), ' '), pad_b(width - b_->host().size(), ' ');
  const std::string time = LoginTime(true);
  EXPECT_EQ(lines[1], a_->host() + pad_a + "alice    pts/1        " + time + " (192.0.2.1)");
  EXPECT_EQ(lines[2], b_->host() + pad_b + "bob      pts/2        " + time + " (192.0.2.2)");

  // Every host up: status 0, nothing on stderr.
  run = Utmpc({"who", "@" + a_->host(), "@" + b_->host()});
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.err, "");
}

TEST_F(NetTest, AHostThatNeverAnswersCostsItsTimeoutAndNoMore) {
  StartTwo();
  // Accepts connections (the kernel does, into the backlog) and never says a word.
  int mute = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(mute, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(mute, 16), 0);
  ::getsockname(mute, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string silent = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  // One host at a time, the silent one first: the others still get their turn.
  auto start = Clock::now();
  Outcome run = Utmpc({"who", "--timeout", "1", "--parallel", "1", "@" + silent, "@" + a_->host(),
                       "@" + b_->host()});
  double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(mute);
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err, "utmpc who: " + silent + ": timed out after 1 s\n");
  EXPECT_NE(run.out.find("alice"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("bob"), std::string::npos) << run.out;
  EXPECT_GE(elapsed_s, 0.9);
  // The timeout, and time for two answers on a loaded machine: far below a second timeout.
  EXPECT_LT(elapsed_s, 8.0);
}

// The lines of `utmpc last -f FILE` before its "wtmp begins" line.
std::vector<std::string> LocalRows(const Outcome& run) {
  std::vector<std::string> rows = Lines(run.out);
  while (!rows.empty() &&
         (rows.back().empty() || rows.back().find(" begins ") != std::string::npos)) {
    rows.pop_back();
  }
  return rows;
}

// The rows of `host` in a network listing, without the HOST column.
std::vector<std::string> RowsOf(const std::vector<std::string>& lines, const std::string& host,
                                size_t width) {
  std::vector<std::string> rows;
  for (const std::string& line : lines) {
    if (line.compare(0, host.size() + 1, host + " ") == 0) rows.push_back(line.substr(width));
  }
  return rows;
}

// The rows of a host over the network are the rows of its wtmp, byte for byte: text that is no
// valid UTF-8 travels as its bytes too ("user_hex"), so the client escapes it as the local
// listing does (issue 13 item 6; before, it arrived as U+FFFD).
// Returns how many of the rows hold escaped bytes.
size_t ExpectSameRows(const std::vector<std::string>& net, const std::vector<std::string>& local) {
  EXPECT_EQ(net.size(), local.size());
  if (net.size() != local.size()) return 0;
  size_t escaped = 0;
  for (size_t i = 0; i < net.size(); ++i) {
    EXPECT_EQ(net[i], local[i]) << "row " << i;
    if (local[i].find('\\') != std::string::npos) ++escaped;
  }
  return escaped;
}

TEST_F(NetTest, LastMergesHostsNewestFirstEachAsLastListsIt) {
  fs::create_directories(dir_ / "gen");
  for (const char* seed : {"11", "12"}) {
    Outcome gen = Spawn(
        {Env("WTMPGEN"), "--seed", seed, "--records", "400", "-o", (dir_ / "gen" / seed).string()},
        env_, dir_);
    ASSERT_EQ(gen.status, 0) << gen.err;
  }
  StartTwo(ReadAll(dir_ / "gen" / "11"), ReadAll(dir_ / "gen" / "12"));
  std::vector<std::string> local_a = LocalRows(Utmpc({"last", "-f", (dir_ / "gen/11").string()}));
  std::vector<std::string> local_b = LocalRows(Utmpc({"last", "-f", (dir_ / "gen/12").string()}));
  ASSERT_GT(local_a.size(), 50u);
  size_t width = std::max(a_->host().size(), b_->host().size()) + 1;

  // The daemons import in the background: wait until both hold their whole history.
  Outcome run;
  std::vector<std::string> lines;
  ASSERT_TRUE(WaitUntil([&] {
    run = Utmpc({"last", "@" + a_->host(), "@" + b_->host()});
    lines = Lines(run.out);
    return lines.size() == local_a.size() + local_b.size();
  })) << run.out
      << run.err;
  EXPECT_EQ(run.status, 0) << run.err;
  size_t escaped = ExpectSameRows(RowsOf(lines, a_->host(), width), local_a) +
                   ExpectSameRows(RowsOf(lines, b_->host(), width), local_b);
  EXPECT_GT(escaped, 0u) << "the fixtures have no bytes to escape: the comparison shows little";

  // -n: the newest N of all hosts together.
  run = Utmpc({"last", "-n", "7", "@" + a_->host(), "@" + b_->host()});
  ASSERT_EQ(Lines(run.out).size(), 7u) << run.out;
  EXPECT_EQ(std::vector<std::string>(lines.begin(), lines.begin() + 7), Lines(run.out));
  // A user filter, and -R as last has it.
  run = Utmpc({"last", "-R", "@" + a_->host(), "alice"});
  std::vector<std::string> local =
      LocalRows(Utmpc({"last", "-R", "-f", (dir_ / "gen/11").string(), "alice"}));
  ASSERT_FALSE(local.empty());
  ExpectSameRows(RowsOf(Lines(run.out), a_->host(), a_->host().size() + 1), local);
}

TEST_F(NetTest, LastbListsFailedLoginsAsLastbDoes) {
  fs::create_directories(dir_ / "gen");
  Outcome gen = Spawn({Env("WTMPGEN"), "--seed", "13", "--records", "150", "--kind", "btmp", "-o",
                       (dir_ / "gen/btmp").string()},
                      env_, dir_);
  ASSERT_EQ(gen.status, 0) << gen.err;
  StartTwo();
  a_->Stop(SIGTERM);
  Append(a_->file("btmp"), ReadAll(dir_ / "gen/btmp"));
  ASSERT_GT(a_->Start(), 0);
  std::vector<std::string> local = LocalRows(Utmpc({"lastb", "-f", (dir_ / "gen/btmp").string()}));
  ASSERT_EQ(local.size(), 150u);
  Outcome run;
  ASSERT_TRUE(WaitUntil([&] {
    run = Utmpc({"lastb", "@" + a_->host()});
    return Lines(run.out).size() == local.size();
  })) << run.out
      << run.err;
  ExpectSameRows(RowsOf(Lines(run.out), a_->host(), a_->host().size() + 1), local);
}

TEST_F(NetTest, JsonIsOneDocumentWithEveryHost) {
  StartTwo(Sessions(0, 20));
  std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  Outcome run = Utmpc({"who", "--json", "@" + a_->host(), "@" + dead});
  EXPECT_EQ(run.status, 1);
  auto doc = nlohmann::json::parse(run.out);
  ASSERT_EQ(doc["hosts"].size(), 2u);
  EXPECT_EQ(doc["hosts"][0]["host"], a_->host());
  EXPECT_EQ(doc["hosts"][0]["ok"], true);
  EXPECT_EQ(doc["hosts"][0]["sessions"][0]["user"], "alice");
  EXPECT_EQ(doc["hosts"][0]["sessions"][0]["pid"], ::getpid());
  EXPECT_EQ(doc["hosts"][1]["ok"], false);
  EXPECT_EQ(doc["hosts"][1]["error"], "connection refused");

  ASSERT_TRUE(WaitUntil([&] {
    run = Utmpc({"last", "--json", "-n", "3", "@" + a_->host(), "@" + b_->host()});
    return nlohmann::json::parse(run.out)["hosts"][0]["sessions"].size() == 3;
  })) << run.out;
  doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["hosts"][0]["sessions"][0]["user"], "user18");
  EXPECT_EQ(doc["hosts"][0]["sessions"][0]["seq"], 19);
  EXPECT_EQ(doc["hosts"][1]["sessions"].size(), 0u);

  for (const char* command : {"w", "uptime", "lastlog"}) {
    run = Utmpc({command, "--json", "@" + a_->host(), "@" + b_->host()});
    EXPECT_EQ(run.status, 0) << command << ": " << run.err;
    doc = nlohmann::json::parse(run.out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << command << ": " << run.out;
    EXPECT_EQ(doc["hosts"][1]["host"], b_->host()) << command;
  }
  EXPECT_EQ(doc["hosts"][0]["lastlog"][0]["user"], "root");
}

// lastlog -u over the network takes what it takes here: a name, a uid range, and says the same
// error for neither (exit status 1), instead of printing nothing.
TEST_F(NetTest, LastlogUserAndRangeAsLocally) {
  StartTwo();
  auto users = [](const std::string& json) {
    std::vector<std::string> names;
    auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded()) return std::vector<std::string>{"(not JSON)"};
    for (const auto& u : doc["hosts"][0]["lastlog"]) names.push_back(u["user"]);
    return names;
  };
  testing::Outcome range = Utmpc({"lastlog", "--json", "-u", "0-1", "@" + a_->host()});
  EXPECT_EQ(range.status, 0) << range.err;
  std::vector<std::string> want;
  for (uid_t uid : {0u, 1u}) {
    if (const passwd* pw = ::getpwuid(uid)) want.push_back(pw->pw_name);
  }
  EXPECT_EQ(users(range.out), want) << range.out;
  testing::Outcome name = Utmpc({"lastlog", "--json", "-u", "root", "@" + a_->host()});
  EXPECT_EQ(users(name.out), std::vector<std::string>{"root"}) << name.out;
  for (const char* bad : {"utmpcd-nosuch", "1-x"}) {
    testing::Outcome remote = Utmpc({"lastlog", "-u", bad, "@" + a_->host()});
    testing::Outcome local = Utmpc({"lastlog", "-u", bad});
    EXPECT_EQ(local.status, 1) << local.err;
    EXPECT_EQ(remote.status, 1) << bad << ": " << remote.out << remote.err;
    EXPECT_NE(remote.err.find(std::string("Unknown user or range: ") + bad), std::string::npos)
        << remote.err;
    EXPECT_EQ(remote.out, "") << remote.out;
  }
}

TEST_F(NetTest, HostileNamesReachTheTerminalEscaped) {
  const std::string user = "ev\x1b]0;owned\x07il";
  const std::string host = "\x1b[2J\r\nroot     pts/0";
  StartTwo(Record(kUserProcess, user, "pts/7", host, 4242, 1700000000));
  a_->Stop(SIGTERM);
  Append(a_->file("utmp"), Record(kUserProcess, user, "pts/7", host, ::getpid(), 1700000000));
  ASSERT_GT(a_->Start(), 0);
  auto clean = [](const std::string& text) {
    for (unsigned char c : text) {
      if ((c < 0x20 && c != '\n') || c >= 0x7f) return false;
    }
    return true;
  };
  Outcome run;
  ASSERT_TRUE(WaitUntil([&] {
    run = Utmpc({"who", "@" + a_->host()});
    return Lines(run.out).size() == 2;
  })) << run.out;
  EXPECT_TRUE(clean(run.out)) << run.out;
  EXPECT_NE(run.out.find("ev*[]0;owned*Gil"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("(*[[2J*M*Jroot     pts/0)"), std::string::npos) << run.out;
  // w and last cut the user to 8 bytes before escaping it; watch prints it whole.
  struct Case {
    Args args;
    std::string expected;
  };
  for (const Case& c : {Case{{"w"}, "ev*[]0;ow "}, Case{{"last"}, "ev*[]0;ow "},
                        Case{{"watch", "--from", "1"}, "ev*[]0;owned*Gil "}}) {
    Args args = c.args;
    args.push_back("@" + a_->host());
    if (args[0] == "watch") {
      Background watch({Env("UTMPC"), args[0], args[1], args[2], args[3]}, env_, dir_);
      ASSERT_TRUE(WaitUntil([&] { return Lines(watch.out()).size() == 1; })) << watch.err();
      run.out = watch.out();
    } else {
      run = Utmpc(args);
    }
    EXPECT_TRUE(clean(run.out)) << args[0] << ": " << run.out;
    EXPECT_NE(run.out.find(c.expected), std::string::npos) << args[0] << ": " << run.out;
  }
  // JSON carries the bytes exactly, escaped as JSON.
  run = Utmpc({"who", "--json", "@" + a_->host()});
  EXPECT_TRUE(clean(run.out)) << run.out;
  auto doc = nlohmann::json::parse(run.out);
  // Sessions come oldest login first: the hostile one (2023) before alice's.
  EXPECT_EQ(doc["hosts"][0]["sessions"][0]["user"], user);
  EXPECT_EQ(doc["hosts"][0]["sessions"][0]["host"], host);
}

// In a UTF-8 terminal, last's columns from hosts line up by what the terminal shows: a name of
// two-byte characters, or of wide ones (two columns each), is padded by its columns, not by its
// bytes, and a long one is cut at a character, never inside one (issue 12 item 15).
TEST_F(NetTest, LastPadsColumnsByWhatTheTerminalShows) {
  StartTwo(Record(kUserProcess, "zo\u00eb", "pts/7", "m\u00fcnchen", 4242, 1700000000) +
           Record(kDeadProcess, "", "pts/7", "", 4242, 1700000060) +
           Record(kUserProcess, "\u5c71\u7530", "pts/8", "h", 4243, 1700000100) +
           Record(kDeadProcess, "", "pts/8", "", 4243, 1700000160) +
           Record(kUserProcess, "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "pts/9",
                  "h", 4244, 1700000200) +
           Record(kDeadProcess, "", "pts/9", "", 4244, 1700000260) +
           // A byte that is no UTF-8 shows as \351, four columns: it does not fit after six,
           // and goes whole rather than cut to "\3".
           Record(kUserProcess, "abcdef\xe9x", "pts/6", "h", 4245, 1700000300) +
           Record(kDeadProcess, "", "pts/6", "", 4245, 1700000360));
  Args utf8 = {"LC_ALL=C.UTF-8", "TZ=UTC", "PATH=/usr/bin:/bin"};
  Outcome run = Spawn({Env("UTMPC"), "last", "@" + a_->host()}, utf8, dir_);
  ASSERT_EQ(run.status, 0) << run.err;
  std::string label = a_->host() + " ";
  auto row_of = [&](const std::string& tty) {
    for (const std::string& line : Lines(run.out)) {
      if (line.find(tty) != std::string::npos) return line;
    }
    return std::string();
  };
  // HOST, then the user in 8 columns and a space, then the tty.
  EXPECT_EQ(row_of("pts/7").rfind(label + "zo\u00eb      pts/7        m\u00fcnchen         ", 0), 0u)
      << run.out;
  EXPECT_EQ(row_of("pts/8").rfind(label + "\u5c71\u7530     pts/8        h       ", 0), 0u) << run.out;
  EXPECT_EQ(row_of("pts/9").rfind(label + "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9 pts/9", 0), 0u)
      << run.out;
  EXPECT_EQ(row_of("pts/6").rfind(label + "abcdef   pts/6", 0), 0u) << run.out;
}

// Each JSON line of `utmpc watch --json`: the seqs, after checking the host is `host`.
std::vector<int64_t> Seqs(const std::string& out, const std::string& host) {
  std::vector<int64_t> seqs;
  for (const std::string& line : Lines(out)) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_discarded() || doc["host"] != host) return {-1};
    seqs.push_back(doc["event"]["seq"].get<int64_t>());
  }
  return seqs;
}

TEST_F(NetTest, WatchResumesAfterARestartWithNothingLostOrRepeated) {
  StartTwo();
  const std::string host = a_->host();
  const int port = std::stoi(host.substr(host.find(':') + 1));
  Background watch({Env("UTMPC"), "watch", "--json", "--from", "1", host}, env_, dir_);
  Append(a_->file("wtmp"), Sessions(0, 20));
  ASSERT_TRUE(WaitUntil([&] { return Seqs(watch.out(), host).size() == 20; }))
      << watch.out() << watch.err();

  // Killed mid-stream; logins go on while it is down; it comes back on the same port.
  a_->Stop(SIGKILL);
  Append(a_->file("wtmp"), Sessions(20, 20));
  ASSERT_EQ(a_->Start(port), port) << a_->Log();
  Append(a_->file("wtmp"), Sessions(40, 20));
  ASSERT_TRUE(WaitUntil([&] { return Seqs(watch.out(), host).size() >= 60; }))
      << watch.out() << watch.err();
  std::this_thread::sleep_for(300ms);  // room for a repeated event to show up, were there one
  std::vector<int64_t> seqs = Seqs(watch.out(), host);
  ASSERT_EQ(seqs.size(), 60u);
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
  EXPECT_TRUE(std::regex_search(watch.err(), std::regex(": " + host + ": .*; reconnecting in")))
      << watch.err();
  EXPECT_NE(watch.err().find(host + ": the stream is open again, going on after event 20"),
            std::string::npos)
      << watch.err();
}

TEST_F(NetTest, WatchStartsWithNewEventsAndTextLines) {
  StartTwo(Sessions(0, 10));
  const std::string host = a_->host();
  // Wait until the 10 records are stored, so "new" means after them.
  ASSERT_TRUE(WaitUntil([&] {
    auto doc = nlohmann::json::parse(Utmpc({"uptime", "--json", host}).out, nullptr, false);
    return !doc.is_discarded() && doc["hosts"][0]["summary"]["last_seq"] == 10;
  }));
  Background watch({Env("UTMPC"), "watch", "@" + host, b_->host()}, env_, dir_);
  // Whether the watcher is connected yet cannot be seen from here: write a login a second
  // until one is printed; from then on every one must be.
  uint32_t next = 10;
  ASSERT_TRUE(WaitUntil(
      [&] {
        Append(a_->file("wtmp"), Sessions(next, 2));
        next += 2;
        std::this_thread::sleep_for(1s);
        return !watch.out().empty();
      },
      60s))
      << watch.err();
  // HOST TIME KIND USER TTY REMOTE-HOST, the time in ISO 8601; as Sessions() wrote record i.
  size_t pad = std::max(host.size(), b_->host().size()) + 1 - host.size();
  // A logout shows the user of the login this watch showed on its line (wtmp's logout names
  // none); the first line may be a logout whose login came before the watch began.
  uint32_t first = 10;
  auto line_of = [&](uint32_t i) {
    std::string kind = i % 2 == 0 ? "login   " : "logout  ";
    bool paired = i % 2 == 0 || i > first;
    std::string user = paired ? "user" + std::to_string(i - i % 2) : "";
    user.resize(8, ' ');
    std::string tty = "pts/" + std::to_string(i / 2 % 10);
    tty.resize(12, ' ');
    char time[32];
    time_t t = 1700000000 + i;
    std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S+00:00", std::gmtime(&t));
    return host + std::string(pad, ' ') + time + " " + kind + " " + user + " " + tty + " 192.0.2.9";
  };
  // The first line printed is of a record written after the watch began, none before.
  std::vector<std::string> lines = Lines(watch.out());
  while (first < next && line_of(first) != lines[0]) ++first;
  ASSERT_LT(first, next) << lines[0];
  a_->Stop(SIGTERM);
  ASSERT_GT(a_->Start(std::stoi(host.substr(host.find(':') + 1))), 0);
  Append(a_->file("wtmp"), Sessions(next, 4));
  next += 4;
  ASSERT_TRUE(WaitUntil([&] { return Lines(watch.out()).size() >= next - first; }))
      << watch.out() << watch.err();
  std::this_thread::sleep_for(300ms);  // room for a repeated event to show up, were there one
  lines = Lines(watch.out());
  ASSERT_EQ(lines.size(), next - first) << watch.out();
  for (uint32_t i = first; i < next; ++i) EXPECT_EQ(lines[i - first], line_of(i));
}

TEST_F(NetTest, UptimeAndWFromAHostsFile) {
  StartTwo();
  std::ofstream(dir_ / "hosts") << "# the test hosts\n"
                                << a_->host() << "\n\n@" << b_->host() << "  # the second\n";
  Outcome run = Utmpc({"uptime", "--hosts-file", (dir_ / "hosts").string()});
  EXPECT_EQ(run.status, 0) << run.err;
  std::vector<std::string> lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 2u) << run.out;
  std::regex uptime(
      " [0-9]{2}:[0-9]{2}:[0-9]{2} up .*,  1 user,  load average: "
      "[0-9]+\\.[0-9]{2}, [0-9]+\\.[0-9]{2}, [0-9]+\\.[0-9]{2}");
  EXPECT_EQ(lines[0].substr(0, a_->host().size()), a_->host());
  EXPECT_TRUE(std::regex_search(lines[0], uptime)) << lines[0];
  EXPECT_EQ(lines[1].substr(0, b_->host().size()), b_->host());

  run = Utmpc({"w", "@" + a_->host()});
  lines = Lines(run.out);
  ASSERT_EQ(lines.size(), 3u) << run.out;
  EXPECT_TRUE(std::regex_search(lines[0], uptime)) << lines[0];
  size_t width = a_->host().size() + 1;
  EXPECT_EQ(lines[1], "HOST" + std::string(width - 4, ' ') +
                          "USER     TTY      FROM             LOGIN@   IDLE");
  // pts/1 is no terminal of this machine's: its idle time is not known.
  EXPECT_EQ(lines[2],
            a_->host() + " alice    pts/1    192.0.2.1        " + LoginTime(false) + "   ?   ");
}

TEST_F(NetTest, BadHostsAndOptionsAreUsageErrors) {
  Outcome run = Utmpc({"who", "@web 1"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err, "utmpc who: web 1: invalid host\n");
  run = Utmpc({"last", "-x", "@127.0.0.1:1"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("utmpc last: -x is not available over the network"), std::string::npos)
      << run.err;
  // Each command's --help says how to ask hosts.
  for (const char* command : {"last", "lastb", "who", "lastlog"}) {
    run = Utmpc({command, "--help"});
    EXPECT_EQ(run.status, 0) << command;
    for (const char* text : {"@HOST[:PORT]", "--hosts-file FILE", "--parallel N", "--timeout"}) {
      EXPECT_NE(run.out.find(text), std::string::npos) << command << " --help lacks " << text;
    }
  }
  // who's utmp-only options are named, and why, not "invalid option".
  run = Utmpc({"who", "-b", "@127.0.0.1:1"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("utmpc who: -b is not available over the network (it reads the host's "
                         "utmp file"),
            std::string::npos)
      << run.err;
  run = Utmpc({"uptime", "--timeout", "0", "127.0.0.1:1"});
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.err.find("invalid timeout"), std::string::npos) << run.err;
  run = Utmpc({"who", "@nonexistent.invalid"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err.rfind("utmpc who: nonexistent.invalid: ", 0), 0u) << run.err;
}

// Every command says a wrong option the same way: "utmpc COMMAND:" first (getopt's own
// messages too), exit status 1 as the classic tools, nothing on stdout.
TEST_F(NetTest, EveryCommandEndsAWrongOptionAlike) {
  for (const char* command : {"last", "lastb", "who", "w", "uptime", "lastlog", "dump", "watch",
                              "ping", "summary", "discover"}) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {command, "--bogus"}, {command, "--bogus", "@127.0.0.1:1"}}) {
      Outcome run = Utmpc(args);
      std::string what = ::testing::PrintToString(args);
      EXPECT_EQ(run.status, 1) << what << ": " << run.err;
      EXPECT_EQ(run.out, "") << what;
      EXPECT_EQ(run.err.rfind(fmt::format("utmpc {}: ", command), 0), 0u) << what << ": " << run.err;
      EXPECT_NE(run.err.find("--bogus"), std::string::npos) << what << ": " << run.err;
    }
  }
  Outcome run = Utmpc({"bogus"});
  EXPECT_EQ(run.status, 1);
  EXPECT_EQ(run.err.rfind("utmpc: unknown command 'bogus'", 0), 0u) << run.err;
}

}  // namespace
}  // namespace utmpcd
