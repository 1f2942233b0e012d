// utmpc over the network as a user runs it: real utmpcd processes ($UTMPCD) on loopback ports,
// each on its own temporary files, asked by the real utmpc ($UTMPC), with a port nobody
// listens on and a listener that never answers beside them.
#include "utmpc/net_fixture.h"

namespace utmpcd::net_test {

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

}  // namespace utmpcd::net_test
