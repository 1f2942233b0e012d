// Port 431 under stress, against a real utmpcd process ($UTMPCD) on real files:
//   - the event stream, cut at random points while records are being written and resumed with
//     Last-Event-ID, delivers every stored event exactly once, in order;
//   - slow, malformed and oversized requests get errors or time out while other clients are
//     served;
//   - whatever bytes a record holds, every answer is valid JSON.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "formats/utmp.h"
#include "login_records.h"
#include "spawn_util.h"
#include "store/sqlite_store.h"

namespace utmpcd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A TCP connection to the daemon on 127.0.0.1.
class Client {
 public:
  // `receive_buffer` (bytes, 0: the default) makes a slow reader's small window.
  explicit Client(int port, int receive_buffer = 0)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Appends what arrives within `wait` to `into`; false at the end of the stream (or error).
  bool Receive(std::string& into, std::chrono::milliseconds wait) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    into.append(buf, static_cast<size_t>(n));
    return true;
  }
  // Everything until the server closes the connection or `limit` passes.
  std::string ReceiveAll(std::chrono::milliseconds limit) {
    std::string all;
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline && Receive(all, 50ms)) {
    }
    return all;
  }
  // Whether the server closed the connection within `limit`.
  bool ClosedWithin(std::chrono::milliseconds limit) {
    std::string ignored;
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (!Receive(ignored, 50ms)) return true;
    }
    return false;
  }

 private:
  int fd_;
  bool connected_ = false;
};

// One complete HTTP response on a keep-alive connection: the status and the body.
struct Response {
  int status = 0;
  std::string body;
};

std::optional<Response> Request(Client& client, const std::string& target) {
  if (!client.Send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n")) return std::nullopt;
  std::string data;
  auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    size_t head_end = data.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::smatch m;
      std::string head = data.substr(0, head_end);
      if (std::regex_search(head, m, std::regex("Content-Length: (\\d+)", std::regex::icase))) {
        size_t length = std::stoul(m[1]);
        if (data.size() >= head_end + 4 + length) {
          return Response{std::stoi(data.substr(9, 3)), data.substr(head_end + 4, length)};
        }
      }
    }
    if (!client.Receive(data, 100ms)) break;
  }
  return std::nullopt;
}

class ApiStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* daemon = std::getenv("UTMPCD");
    ASSERT_NE(daemon, nullptr) << "UTMPCD must name the utmpcd binary (ctest sets it)";
    daemon_ = daemon;
    std::string pattern = (fs::temp_directory_path() / "utmpcd_api.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    wtmp_ = (dir_ / "wtmp").string();
    db_ = (dir_ / "history.db").string();
    std::ofstream(wtmp_).close();
    std::ofstream(dir_ / "btmp").close();
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }

  // Starts the daemon with `config` (TOML) and returns the port its HTTP API listens on.
  int Start(const std::string& config = "") {
    std::ofstream(dir_ / "utmpcd.toml") << config;
    std::vector<std::string> args{
        daemon_,        "-c",          (dir_ / "utmpcd.toml").string(),
        "--wtmp",       wtmp_,         "--btmp",
        (dir_ / "btmp").string(),      "--utmp",
        (dir_ / "utmp").string(),      "--lastlog",
        "/nonexistent", "--database",  db_,
        "--ingest-socket",             "none",
        "--http-listen",               "127.0.0.1:0",
        "--user",                      "root"};
    std::string log = (dir_ / "daemon.log").string();
    pid_ = testing::SpawnInBackground(args, log, /*truncate_log=*/true);
    EXPECT_GT(pid_, 0);
    std::regex where("HTTP API on 127\\.0\\.0\\.1:(\\d+)");
    for (auto deadline = Clock::now() + 20s; Clock::now() < deadline;) {
      std::smatch m;
      std::string text = ReadFile(log);
      if (std::regex_search(text, m, where)) return std::stoi(m[1]);
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "the daemon did not say where it listens: " << ReadFile(log);
    return 0;
  }

  static std::string Records(uint32_t first, uint32_t count) {
    return testing::LoginLogoutRecords(first, count);
  }
  void Append(const std::string& bytes) { testing::AppendToFile(wtmp_, bytes); }

  std::string daemon_;
  fs::path dir_;
  std::string wtmp_, db_;
  pid_t pid_ = -1;
};

// The SSE messages complete in `buffer` (removed from it): (id, data) pairs.
std::vector<std::pair<int64_t, std::string>> TakeMessages(std::string& buffer) {
  std::vector<std::pair<int64_t, std::string>> messages;
  for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
    std::string block = buffer.substr(0, end);
    buffer.erase(0, end + 2);
    std::optional<int64_t> id;
    std::string data;
    std::istringstream lines(block);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("id: ", 0) == 0) id = std::stoll(line.substr(4));
      if (line.rfind("data: ", 0) == 0) data = line.substr(6);
    }
    // An id without data (the resume point the stream opens with) is no event.
    if (id && !data.empty()) messages.emplace_back(*id, data);
  }
  return messages;
}

TEST_F(ApiStreamTest, ResumedStreamLosesAndRepeatsNothingWhileEventsAreWritten) {
  int port = Start();
  ASSERT_GT(port, 0);
  constexpr uint32_t kBatches = 60, kPerBatch = 50, kTotal = kBatches * kPerBatch;
  std::thread writer([this] {
    for (uint32_t b = 0; b < kBatches; ++b) {
      Append(Records(b * kPerBatch, kPerBatch));
      std::this_thread::sleep_for(10ms);
    }
  });

  std::mt19937 random(431);
  std::vector<int64_t> ids;
  std::vector<std::string> data;
  int connections = 0;
  auto deadline = Clock::now() + 90s;
  while (ids.size() < kTotal && Clock::now() < deadline) {
    Client client(port);
    ASSERT_TRUE(client.connected());
    ++connections;
    std::string request = ids.empty() ? "GET /v1/events?from=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                      : "GET /v1/events HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: " +
                                            std::to_string(ids.back()) + "\r\n\r\n";
    ASSERT_TRUE(client.Send(request));
    // Read a random number of events, then drop the connection mid-stream.
    size_t want = std::uniform_int_distribution<size_t>(1, 300)(random);
    std::string buffer;
    bool head_seen = false;
    size_t got = 0;
    while (got < want && ids.size() < kTotal && Clock::now() < deadline) {
      if (!client.Receive(buffer, 100ms)) break;
      if (!head_seen) {
        size_t end = buffer.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        ASSERT_EQ(buffer.substr(0, 12), "HTTP/1.1 200") << buffer;
        buffer.erase(0, end + 4);
        head_seen = true;
      }
      for (auto& [id, json] : TakeMessages(buffer)) {
        ids.push_back(id);
        data.push_back(std::move(json));
        ++got;
      }
    }
  }
  writer.join();
  ASSERT_EQ(ids.size(), kTotal) << "after " << connections << " connections";
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], static_cast<int64_t>(i + 1)) << "at message " << i;
  }
  EXPECT_GT(connections, 10);

  // Each message is the stored event.
  auto store = SqliteStore::Open(db_, {.read_only = true});
  ASSERT_TRUE(store);
  auto stored = (*store)->EventsFrom(0, kTotal + 10);
  ASSERT_TRUE(stored);
  ASSERT_EQ(stored->size(), kTotal);
  for (size_t i = 0; i < kTotal; ++i) {
    auto doc = nlohmann::json::parse(data[i]);
    const Event& e = (*stored)[i];
    ASSERT_EQ(doc["seq"], e.seq);
    ASSERT_EQ(doc["kind"], EventKindName(e.kind));
    ASSERT_EQ(doc["time_us"], e.time_us);
    ASSERT_EQ(doc["user"], e.user);
    ASSERT_EQ(doc["tty"], e.tty);
  }
}

// A live stream that read nothing while 20,000 events were stored fell more than the daemon's
// ring (8,192 events) behind: once it reads again it goes on from the stored history, every
// event once, in order, on the same connection. Another stream read the whole history first,
// so the page the newest events then fell in had been read while it was still filling: it must
// be read again, not taken as it was (the events stored after it would be skipped).
TEST_F(ApiStreamTest, AStreamABurstOutranGoesOnFromTheStoredHistory) {
  constexpr int64_t kBefore = 1000;
  Append(Records(0, kBefore));
  int port = Start();
  ASSERT_GT(port, 0);
  Client early(port);
  ASSERT_TRUE(early.Send("GET /v1/events?from=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string seen;
  for (auto deadline = Clock::now() + 10s;
       seen.find("id: " + std::to_string(kBefore) + "@") == std::string::npos &&
       Clock::now() < deadline;) {
    early.Receive(seen, 100ms);
  }
  ASSERT_NE(seen.find("id: " + std::to_string(kBefore) + "@"), std::string::npos) << seen.size();
  Client client(port, 4096);  // a slow reader's window
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string first;
  for (auto deadline = Clock::now() + 10s;
       first.find("retry: 1000") == std::string::npos && Clock::now() < deadline;) {
    client.Receive(first, 100ms);
  }
  ASSERT_EQ(first.substr(0, 12), "HTTP/1.1 200") << first;
  // Live: now 20,000 events are stored while it reads nothing.
  constexpr int64_t kTotal = 20000;
  Append(Records(kBefore, kTotal));
  for (auto deadline = Clock::now() + 60s; Clock::now() < deadline;) {
    auto store = SqliteStore::Open(db_, {.read_only = true});
    if (store && (*store)->LastSeq().value_or(0) >= kBefore + kTotal) break;
    std::this_thread::sleep_for(50ms);
  }
  std::string buffer = first.substr(first.find("\r\n\r\n") + 4);
  std::vector<int64_t> ids;
  for (auto deadline = Clock::now() + 30s; Clock::now() < deadline && ids.size() < kTotal;) {
    ASSERT_TRUE(client.Receive(buffer, 100ms)) << "the stream was closed after " << ids.size();
    for (auto& [id, json] : TakeMessages(buffer)) ids.push_back(id);
  }
  ASSERT_EQ(ids.size(), static_cast<size_t>(kTotal));
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], kBefore + static_cast<int64_t>(i + 1)) << i;
  }
}

// Retention deleted what one stream had replayed: another stream resuming from the first
// event afterwards is told of the gap and gets only what is still stored (the daemon forgets
// the pages it framed for the first one), never an event retention deleted.
TEST_F(ApiStreamTest, AfterRetentionAReplayGetsOnlyWhatIsStillStored) {
  Append(Records(0, 3000));  // of 2023: older than a day
  int port = Start();
  ASSERT_GT(port, 0);
  auto read_until = [&](Client& client, const std::string& until) {
    std::string got;
    for (auto deadline = Clock::now() + 20s;
         got.find(until) == std::string::npos && Clock::now() < deadline;) {
      if (!client.Receive(got, 100ms)) break;
    }
    return got;
  };
  Client first(port);
  ASSERT_TRUE(first.Send("GET /v1/events?from=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_NE(read_until(first, "id: 3000@").find("id: 3000@"), std::string::npos);

  std::ofstream(dir_ / "utmpcd.toml") << "[store]\nretention_days = 1\n";
  ::kill(pid_, SIGHUP);
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    if (ReadFile(dir_ / "daemon.log").find("SIGHUP: configuration reloaded") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  Append(Records(3000, 1));  // wakes the daemon: retention deletes all but the newest
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    if (ReadFile(dir_ / "daemon.log").find("retention: deleted") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(ReadFile(dir_ / "daemon.log").find("retention: deleted 3000 events"),
            std::string::npos)
      << ReadFile(dir_ / "daemon.log");
  std::this_thread::sleep_for(200ms);  // (the API thread takes the news between two requests)

  Client second(port);
  ASSERT_TRUE(second.Send("GET /v1/events?from=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string got = read_until(second, "id: 3001@");
  EXPECT_NE(got.find("event: gap\ndata: {\"from\":1,\"oldest\":3001}"), std::string::npos) << got;
  std::string body = got.substr(got.find("\r\n\r\n") + 4);
  std::vector<int64_t> ids;
  for (auto& [id, json] : TakeMessages(body)) ids.push_back(id);
  EXPECT_EQ(ids, std::vector<int64_t>{3001}) << "events retention deleted were sent";
}

// GET /v1/events with `headers`; what the stream sent once `until` is in it (or 10 s passed).
std::string StreamUntil(int port, const std::string& headers, const std::string& until) {
  Client client(port);
  if (!client.Send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\n" + headers + "\r\n")) return "";
  std::string buffer;
  for (auto deadline = Clock::now() + 10s;
       buffer.find(until) == std::string::npos && Clock::now() < deadline;) {
    client.Receive(buffer, 100ms);
  }
  return buffer;
}

// Event ids name their history: a client resuming with an id of a history that was replaced
// (the database deleted and the daemon started anew), or beyond the newest event, is told so
// by an "event: reset" instead of silently missing what it thinks it has not seen yet.
TEST_F(ApiStreamTest, ResumingInAnotherHistoryIsSaidNotSkipped) {
  Append(Records(0, 10));
  int port = Start();
  ASSERT_GT(port, 0);
  std::string first = StreamUntil(port, "Last-Event-ID: 9\r\n", "\"seq\":10");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first, m, std::regex("id: 10@([0-9a-f]{16})\n"))) << first;
  std::string old_history = m[1];
  // Same history: resumed exactly, no reset.
  std::string same = StreamUntil(port, "Last-Event-ID: 9@" + old_history + "\r\n", "\"seq\":10");
  EXPECT_NE(same.find("\"seq\":10"), std::string::npos) << same;
  EXPECT_EQ(same.find("event: reset"), std::string::npos) << same;

  // The history is replaced: stopped, its database removed, started again on the same wtmp.
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db_ + suffix);
  port = Start();
  ASSERT_GT(port, 0);
  std::string fresh = StreamUntil(port, "Last-Event-ID: 9\r\n", "\"seq\":10");
  ASSERT_TRUE(std::regex_search(fresh, m, std::regex("id: 10@([0-9a-f]{16})\n"))) << fresh;
  std::string new_history = m[1];
  EXPECT_NE(new_history, old_history);

  // Resumed in the old history, and beyond the new one's newest event: each is told, then gets
  // what is stored from then on, and nothing else (not seq 5 to 10 of this history).
  Client foreign(port), ahead(port);
  ASSERT_TRUE(foreign.Send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 4@" +
                           old_history + "\r\n\r\n"));
  ASSERT_TRUE(ahead.Send("GET /v1/events HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 500@" +
                         new_history + "\r\n\r\n"));
  std::string foreign_text, ahead_text;
  auto read_until = [](Client& client, std::string& buffer, const std::string& text) {
    for (auto deadline = Clock::now() + 10s;
         buffer.find(text) == std::string::npos && Clock::now() < deadline;) {
      client.Receive(buffer, 100ms);
    }
  };
  read_until(foreign, foreign_text, "event: reset");
  read_until(ahead, ahead_text, "event: reset");
  Append(Records(10, 1));
  read_until(foreign, foreign_text, "\"seq\":11");
  read_until(ahead, ahead_text, "\"seq\":11");
  std::this_thread::sleep_for(200ms);  // room for a wrongly resumed event to show up
  foreign.Receive(foreign_text, 100ms);
  ahead.Receive(ahead_text, 100ms);
  EXPECT_NE(foreign_text.find("event: reset\ndata: {\"reason\":\"foreign\",\"history\":\"" +
                              new_history + "\",\"last_seq\":10}"),
            std::string::npos)
      << foreign_text;
  EXPECT_NE(ahead_text.find("event: reset\ndata: {\"reason\":\"ahead\",\"history\":\"" +
                            new_history + "\",\"last_seq\":10}"),
            std::string::npos)
      << ahead_text;
  for (const std::string* text : {&foreign_text, &ahead_text}) {
    size_t events = 0;
    for (size_t at = 0; (at = text->find("\"seq\":", at)) != std::string::npos; ++at) ++events;
    EXPECT_EQ(events, 1u) << *text;
    EXPECT_NE(text->find("id: 11@" + new_history), std::string::npos) << *text;
  }
}

TEST_F(ApiStreamTest, BadClientsGetErrorsOrTimeOutWhileOthersAreServed) {
  int port = Start("[http]\nrequest_timeout_s = 1\nidle_timeout_s = 2\n");
  ASSERT_GT(port, 0);
  // Slow clients: a request head that never ends.
  std::vector<std::unique_ptr<Client>> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(slow.back()->Send("GET /v1/host HTTP/1.1\r\nHost: localhost\r\nX-Slow: "));
  }
  // Idle clients: connected, saying nothing.
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 50; ++i) idle.push_back(std::make_unique<Client>(port));

  // Meanwhile a well-behaved client is answered, request after request.
  Client good(port);
  for (int i = 0; i < 20; ++i) {
    auto response = Request(good, "/healthz");
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->status, 200);
  }

  // Garbage, oversized heads and bodies: an error each, then the connection closes.
  struct Bad {
    std::string bytes;
    std::string status;
  };
  std::string huge = "GET /v1/host HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n";
  for (const Bad& bad : {Bad{"GARBAGE\r\n\r\n", "400"}, Bad{huge, "431"},
                         Bad{"GET /v1/host HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nbody", "413"},
                         // RFC 9112: a Transfer-Encoding this server cannot frame is refused
                         // (its body would be read as the next request), as is a missing or
                         // repeated Host in HTTP/1.1.
                         Bad{"GET /v1/host HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "0\r\n\r\n",
                             "413"},
                         Bad{"GET /v1/host HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n", "501"},
                         Bad{"GET /v1/host HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                             "501"},
                         Bad{"GET /v1/host HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n",
                             "501"},
                         Bad{"GET /v1/host HTTP/1.1\r\n\r\n", "400"},
                         Bad{"GET /v1/host HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
                         Bad{"GET /v1/host HTTP/9.9\r\n\r\n", "400"},
                         Bad{"GET /v1/host HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n", "400"},
                         Bad{std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                                 "\r\n\r\n",
                             "400"}}) {
    Client client(port);
    ASSERT_TRUE(client.Send(bad.bytes));
    std::string answer = client.ReceiveAll(5s);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 " + bad.status) << answer;
    auto body = answer.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    auto doc = nlohmann::json::parse(answer.substr(body + 4));
    EXPECT_TRUE(doc["error"]["code"].is_string());
    EXPECT_TRUE(doc["error"]["message"].is_string());
  }

  // A request smuggled behind a body of unknown length is never answered: one error, then the
  // connection closes.
  {
    Client client(port);
    ASSERT_TRUE(client.Send("GET /v1/host HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n"
                            "GET /v1/failed HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    std::string answer = client.ReceiveAll(5s);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 501") << answer;
    EXPECT_EQ(answer.find("HTTP/1.1", 1), std::string::npos) << answer;
    EXPECT_EQ(answer.find("\"failed\""), std::string::npos) << answer;
  }
  // An absolute-form target is served as its path (RFC 9112 3.2.2).
  {
    Client client(port);
    ASSERT_TRUE(client.Send("GET http://web1:431/v1/host HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    std::string answer = client.ReceiveAll(2s);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer;
    EXPECT_NE(answer.find("\"api\":1"), std::string::npos) << answer;
  }

  // The slow and the idle ones are let go, the good one (between requests) too, later.
  for (auto& client : slow) EXPECT_TRUE(client->ClosedWithin(5s));
  for (auto& client : idle) EXPECT_TRUE(client->ClosedWithin(5s));
  Client after(port);
  auto response = Request(after, "/v1/host");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(nlohmann::json::parse(response->body)["api"] == 1);
}

TEST_F(ApiStreamTest, HostileBytesInRecordsStillMakeValidJson) {
  std::string bytes;
  LoginRecord r;
  r.type = kUserProcess;
  r.pid = 77;
  std::string user = "\x1b[31m\xff\xfe";
  std::string line = "pts/\x07\n";
  std::string host = "a\"b\\c\r\n\x7f\xc3(";
  r.user = user;
  r.line = line;
  r.host = host;
  r.time_s = 1700000000;
  EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
  Append(bytes);
  // Loopback gets the history tier by default; /v1/failed needs full.
  int port = Start("[[access]]\nnetworks = [\"127.0.0.0/8\"]\ntier = \"full\"\n");
  ASSERT_GT(port, 0);
  Client client(port);
  for (std::string target : {"/v1/history", "/v1/history?user=%1B%5B31m%FF%FE", "/v1/host",
                             "/v1/sessions", "/v1/failed", "/v1/lastlog?user=root"}) {
    auto response = Request(client, target);
    ASSERT_TRUE(response) << target;
    ASSERT_EQ(response->status, 200) << target << ": " << response->body;
    nlohmann::json doc;
    ASSERT_NO_THROW(doc = nlohmann::json::parse(response->body)) << target;
    if (target.rfind("/v1/history", 0) == 0) {
      ASSERT_EQ(doc["sessions"].size(), 1u) << target;
      EXPECT_EQ(doc["sessions"][0]["user"], "\x1b[31m\xef\xbf\xbd\xef\xbf\xbd");
      EXPECT_EQ(doc["sessions"][0]["host"], "a\"b\\c\r\n\x7f\xef\xbf\xbd(");
    }
  }
  // The stream too.
  Client stream(port);
  ASSERT_TRUE(stream.Send("GET /v1/events?from=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string buffer;
  auto deadline = Clock::now() + 10s;
  std::vector<std::pair<int64_t, std::string>> messages;
  while (messages.empty() && Clock::now() < deadline && stream.Receive(buffer, 100ms)) {
    size_t head = buffer.find("\r\n\r\n");
    if (head == std::string::npos) continue;
    std::string rest = buffer.substr(head + 4);
    messages = TakeMessages(rest);
  }
  ASSERT_EQ(messages.size(), 1u);
  auto doc = nlohmann::json::parse(messages[0].second);
  EXPECT_EQ(doc["tty"], "pts/\x07\n");
}

}  // namespace
}  // namespace utmpcd
