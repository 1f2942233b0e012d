// utmpc against real daemons on loopback: watch across a restart and from now on, uptime and w
// from a hosts file, and the usage errors of every network command.
#include "utmpc/net_fixture.h"

namespace utmpcd::net_test {

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

TEST_F(NetTest, WatchColoursLinesByTheirKind) {
  StartTwo(Sessions(0, 10));
  const std::string host = a_->host();
  Background watch({Env("UTMPC"), "watch", "--color=always", "@" + host}, env_, dir_);
  uint32_t next = 10;
  ASSERT_TRUE(WaitUntil(
      [&] {
        Append(a_->file("wtmp"), Sessions(next, 2));
        next += 2;
        std::this_thread::sleep_for(1s);
        return Lines(watch.out()).size() >= 2;
      },
      60s))
      << watch.err();
  // Logins green, the escape around the whole line; logouts as they are without colour.
  size_t logins = 0;
  for (const std::string& line : Lines(watch.out())) {
    if (line.find(" login ") != std::string::npos) {
      ++logins;
      EXPECT_EQ(line.rfind("\033[32m" + host, 0), 0u) << line;
      EXPECT_TRUE(line.ends_with("\033[0m")) << line;
    } else {
      EXPECT_EQ(line.find('\033'), std::string::npos) << line;
    }
  }
  EXPECT_GE(logins, 1u) << watch.out();
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

}  // namespace utmpcd::net_test
