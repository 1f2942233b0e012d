// The generic HTTP server of src/net on loopback and on a Unix socket, with a handler of the
// test's own: what it tells the handler about the peer, an exception in the handler failing
// one request with a 500 (the connection and the server go on), and a stream taken over.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/http_server.h"
#include "net/sse_hub.h"

namespace utmpcd {
namespace {

class TestHandler : public HttpHandler {
 public:
  ApiResponse Handle(const ApiRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      last_peer_ = request.peer;
      const std::string* agent = request.Header("x-test");
      last_header_ = agent != nullptr ? *agent : "";
    }
    if (request.target == "/throw") throw std::runtime_error("boom in the handler");
    ApiResponse response;
    if (request.target == "/stream") {
      response.content_type = "text/event-stream";
      response.stream = ApiResponse::Stream{.after_seq = 0, .preface = "retry: 1000\n\n"};
      return response;
    }
    response.body = "{\"target\":\"" + request.target + "\"}\n";
    return response;
  }
  void TakeOver(std::shared_ptr<Connection> connection, const ApiResponse& response,
                bool head) override {
    hub_->Open(std::move(connection), response.stream->after_seq, head,
               response.stream->preface);
  }

  Peer last_peer() {
    std::lock_guard lock(mutex_);
    return last_peer_;
  }
  std::string last_header() {
    std::lock_guard lock(mutex_);
    return last_header_;
  }
  SseHub* hub_ = nullptr;

 private:
  std::mutex mutex_;
  Peer last_peer_;
  std::string last_header_;
};

// Two messages, seq 1 and 2.
class TwoMessages : public SseFeed {
 public:
  Result<std::vector<SseFrame>> FramesAfter(int64_t after_seq, int64_t limit) override {
    std::vector<SseFrame> out;
    for (int64_t seq = after_seq + 1; seq <= 2 && static_cast<int64_t>(out.size()) < limit;
         ++seq) {
      out.push_back(SseFrame{seq, std::make_shared<const std::string>(
                                      "id: " + std::to_string(seq) + "\ndata: {}\n\n")});
    }
    return out;
  }
  int64_t NewestSeq() override { return 2; }
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("http_server_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    StartServer(Options());
  }
  void TearDown() override {
    StopServer();
    std::filesystem::remove_all(dir_);
  }

  HttpServerOptions Options() const {
    return HttpServerOptions{.listen = {"127.0.0.1:0"},
                             .unix_socket = (dir_ / "api.sock").string(),
                             .inherited_fds = {},
                             .server_name = "test/1"};
  }
  void StartServer(const HttpServerOptions& options) {
    loop_ = std::make_unique<EventLoop>();
    hub_ = std::make_unique<SseHub>(*loop_, feed_, SseHubOptions{.server_name = "test/1"});
    handler_.hub_ = hub_.get();
    auto server = HttpServer::Open(*loop_, options, handler_);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    server_->Start();
    thread_ = std::thread([this] { loop_->Run(); });
  }
  void StopServer() {
    if (!loop_) return;
    loop_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    hub_.reset();
    loop_.reset();
  }

  // A TCP connection to the server from `from` (any address of 127.0.0.0/8), or -1.
  int ConnectFrom(const char* from) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
  }
  // Whether the server closed `fd` (a read sees the end of the stream, or a reset) within 5 s.
  static bool ClosedByServer(int fd) {
    char c;
    ssize_t n = ::read(fd, &c, 1);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }
  // What the server sent on `fd` before it closed it (a refusal).
  static std::string ReadToEnd(int fd) {
    std::string all;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) {
      all.append(buffer, static_cast<size_t>(n));
    }
    return all;
  }
  // One request on `fd`; true when it was answered 200.
  static bool Served(int fd, const std::string& target) {
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) return false;
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    return n > 0 && std::string(buffer, static_cast<size_t>(n)).starts_with("HTTP/1.1 200 OK");
  }

  uint16_t port() const {
    std::string e = server_->endpoints().at(0);
    return static_cast<uint16_t>(std::stoi(e.substr(e.rfind(':') + 1)));
  }

  // Sends `bytes` on a new connection (TCP, or the Unix socket), then reads until the server
  // closes it, `until` arrived, or 5 s pass. `local_port` gets the client's own port (TCP).
  std::string Exchange(const std::string& bytes, bool unix_socket = false,
                       uint16_t* local_port = nullptr, const std::string& until = "") {
    int fd = -1;
    if (unix_socket) {
      fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::string path = (dir_ / "api.sock").string();
      path.copy(addr.sun_path, sizeof addr.sun_path - 1);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
    } else {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port());
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
      sockaddr_in mine{};
      socklen_t size = sizeof mine;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &size);
      if (local_port != nullptr) *local_port = ntohs(mine.sin_port);
    }
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    (void)!::write(fd, bytes.data(), bytes.size());
    std::string got;
    char buffer[4096];
    for (;;) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      got.append(buffer, static_cast<size_t>(n));
      if (!until.empty() && got.find(until) != std::string::npos) break;
    }
    ::close(fd);
    return got;
  }

  std::filesystem::path dir_;
  std::unique_ptr<EventLoop> loop_;
  TwoMessages feed_;
  std::unique_ptr<SseHub> hub_;
  TestHandler handler_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, AnExceptionInTheHandlerFailsThatRequestAlone) {
  ::testing::internal::CaptureStderr();
  std::string got = Exchange(
      "GET /throw HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string log = ::testing::internal::GetCapturedStderr();
  // The 500 first, with the protocol's error body, then the next request on the same
  // connection is answered as usual.
  size_t failed = got.find("HTTP/1.1 500 Internal Server Error\r\n");
  size_t next = got.find("HTTP/1.1 200 OK\r\n");
  ASSERT_NE(failed, std::string::npos) << got;
  ASSERT_NE(next, std::string::npos) << got;
  EXPECT_LT(failed, next);
  EXPECT_NE(got.find("{\"error\":{\"code\":\"internal\""), std::string::npos) << got;
  EXPECT_NE(got.find("{\"target\":\"/after\"}"), std::string::npos) << got;
  EXPECT_EQ(got.find("boom"), std::string::npos) << "the exception's text reached the client";
  EXPECT_NE(log.find("GET /throw: boom in the handler"), std::string::npos) << log;
  // And the server still serves new connections.
  EXPECT_NE(Exchange("GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .find("{\"target\":\"/again\"}"),
            std::string::npos);
}

TEST_F(HttpServerTest, TheHandlerLearnsThePeerAndTheHeaders) {
  uint16_t local_port = 0;
  std::string got = Exchange(
      "GET /who HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\nConnection: close\r\n\r\n", false,
      &local_port);
  ASSERT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos) << got;
  Peer tcp = handler_.last_peer();
  EXPECT_EQ(tcp.transport, Peer::Transport::kTcp);
  EXPECT_EQ(tcp.address, "127.0.0.1");
  EXPECT_EQ(tcp.port, local_port);
  EXPECT_FALSE(tcp.uid.has_value());
  EXPECT_EQ(handler_.last_header(), "hello");

  got = Exchange("GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true);
  ASSERT_NE(got.find("HTTP/1.1 200 OK"), std::string::npos) << got;
  Peer unix_peer = handler_.last_peer();
  EXPECT_EQ(unix_peer.transport, Peer::Transport::kUnix);
  ASSERT_TRUE(unix_peer.uid.has_value());
  EXPECT_EQ(*unix_peer.uid, ::getuid());
  ASSERT_TRUE(unix_peer.gid.has_value());
  EXPECT_EQ(*unix_peer.gid, ::getgid());
}

TEST_F(HttpServerTest, AStreamTakenOverSendsThePrefaceThenTheFeed) {
  std::string expected_tail = "id: 2\ndata: {}\n\n";
  // The stream stays open: read until the second message came.
  std::string got =
      Exchange("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", false, nullptr, expected_tail);
  EXPECT_NE(got.find("HTTP/1.1 200 OK\r\nServer: test/1\r\nContent-Type: text/event-stream"),
            std::string::npos)
      << got;
  size_t preface = got.find("retry: 1000\n\n");
  size_t first = got.find("id: 1\ndata: {}\n\n");
  size_t second = got.find(expected_tail);
  ASSERT_NE(preface, std::string::npos) << got;
  ASSERT_NE(first, std::string::npos) << got;
  ASSERT_NE(second, std::string::npos) << got;
  EXPECT_LT(preface, first);
  EXPECT_LT(first, second);
}

TEST_F(HttpServerTest, AfterARefusalTheServerReadsOnUntilTheClientIsDone) {
  // The server refuses a body and closes while the client is still sending the rest of it.
  // Closing at once would make the kernel reset the connection at the client's next bytes, and
  // a reset can destroy the answer before the client read it (RFC 9112, 9.6): the server
  // shuts down its sending side and reads on (for up to 2 s) instead.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string part(2000, 'x');
  std::string head = "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n" + part;
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::string got;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) got.append(buffer, static_cast<size_t>(n));
  EXPECT_EQ(n, 0) << "the answer did not end with the server's end of stream";
  EXPECT_NE(got.find("HTTP/1.1 413 Payload Too Large\r\n"), std::string::npos) << got;
  // The rest of the body, after the answer: the server is still reading, so neither send
  // meets a reset (EPIPE or ECONNRESET).
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(::send(fd, part.data(), part.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(part.size()))
        << "send " << i << ": " << std::strerror(errno);
  }
  ::close(fd);
}

TEST_F(HttpServerTest, OneSourceCannotTakeTheOthersRoom) {
  StopServer();
  HttpServerOptions options = Options();
  options.max_connections = 6;
  options.max_connections_per_source = 3;
  StartServer(options);
  // 127.0.0.2 holds its share of connections, idle: a fourth of its own is refused.
  std::vector<int> greedy;
  for (int i = 0; i < 3; ++i) {
    greedy.push_back(ConnectFrom("127.0.0.2"));
    ASSERT_GE(greedy.back(), 0);
    ASSERT_TRUE(Served(greedy.back(), "/greedy")) << i;
  }
  int fourth = ConnectFrom("127.0.0.2");
  ASSERT_GE(fourth, 0);
  // It is told why, and when to try again, then closed.
  std::string refusal = ReadToEnd(fourth);
  EXPECT_TRUE(refusal.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << refusal;
  EXPECT_NE(refusal.find("\r\nRetry-After: 1\r\n"), std::string::npos) << refusal;
  EXPECT_NE(refusal.find("\"code\":\"too_many_connections\""), std::string::npos) << refusal;
  EXPECT_TRUE(ClosedByServer(fourth)) << "a fourth connection of one source was kept";
  EXPECT_EQ(server_->stats().refused_per_source, 1u);
  ::close(fourth);
  // Others fill the server with idle connections; then one more client is still served: the
  // connection idle longest makes room (the first of 127.0.0.2's).
  std::vector<int> others = {ConnectFrom("127.0.0.3"), ConnectFrom("127.0.0.4"),
                             ConnectFrom("127.0.0.5")};
  for (int fd : others) ASSERT_TRUE(Served(fd, "/other"));
  int late = ConnectFrom("127.0.0.6");
  ASSERT_GE(late, 0);
  EXPECT_TRUE(Served(late, "/late")) << "a new client was refused while others sat idle";
  EXPECT_TRUE(ClosedByServer(greedy.front())) << "the connection idle longest was not closed";
  EXPECT_EQ(server_->stats().evicted, 1u);
  for (int fd : greedy) ::close(fd);
  for (int fd : others) ::close(fd);
  ::close(late);
}

TEST_F(HttpServerTest, OutOfDescriptorsTheServerWaitsInsteadOfSpinning) {
  // The test's clients and the server share this process's descriptors. The clients' sockets
  // are made first; then the limit drops to what is open, and they connect (which takes no
  // descriptor): every accept of the server fails, and the connections wait in the backlog.
  ::testing::internal::CaptureStderr();  // (its file is a descriptor too: before the count)
  std::vector<int> clients;
  for (int i = 0; i < 16; ++i) clients.push_back(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  int highest = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::stoi(entry.path().filename().string()));
  }
  struct rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(highest + 1);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  // Closed descriptors below the limit would still be free: taken too, none is left.
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fillers.push_back(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int fd : clients) {
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
  }
  // The server's thread, for a second of this: it must wait, not retry at full speed.
  clockid_t clock;
  ASSERT_EQ(::pthread_getcpuclockid(thread_.native_handle(), &clock), 0);
  auto cpu_ms = [&] {
    timespec t{};
    ::clock_gettime(clock, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
  };
  int64_t before = cpu_ms();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int64_t spent = cpu_ms() - before;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  for (int fd : fillers) ::close(fd);
  for (int fd : clients) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a pause or two of accepting
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_LT(spent, 200) << "the server's thread used " << spent << " ms of CPU in 1 s";
  size_t warnings = 0;
  for (size_t at = 0; (at = log.find("out of file descriptors", at)) != std::string::npos; ++at) {
    ++warnings;
  }
  EXPECT_GE(warnings, 1u) << "running out of descriptors was not said: " << log;
  EXPECT_LE(warnings, 1u) << log;
  // With descriptors free again, new clients are served.
  EXPECT_NE(Exchange("GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .find("{\"target\":\"/after\"}"),
            std::string::npos);
}

// Requests from one network beyond its rate are answered 429 with Retry-After, and cost the
// other networks nothing; loopback is this host's own and not limited unless asked.
TEST_F(HttpServerTest, ANetworkBeyondItsRateIsToldToSlowDown) {
  StopServer();
  HttpServerOptions options = Options();
  options.requests_per_second = 1;
  options.request_burst = 5;
  options.limit_loopback = true;  // the test's clients are all on loopback
  StartServer(options);
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += "GET /r HTTP/1.1\r\nHost: x\r\n\r\n";
  ten += "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  int fd = ConnectFrom("127.0.0.2");
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, ten.data(), ten.size(), MSG_NOSIGNAL), static_cast<ssize_t>(ten.size()));
  std::string got;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) got.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  auto count = [&](const std::string& what) {
    size_t k = 0;
    for (size_t at = 0; (at = got.find(what, at)) != std::string::npos; ++at) ++k;
    return k;
  };
  EXPECT_EQ(count("HTTP/1.1 200 OK"), 5u) << got;
  EXPECT_EQ(count("HTTP/1.1 429 Too Many Requests"), 6u) << got;
  EXPECT_EQ(count("Retry-After: 1\r\n"), 6u) << got;
  EXPECT_NE(got.find("\"too_many_requests\""), std::string::npos) << got;
  EXPECT_EQ(server_->rate_limited(), 6u);
  // Another /24 has its own bucket.
  int other = ConnectFrom("127.0.1.2");
  ASSERT_GE(other, 0);
  EXPECT_TRUE(Served(other, "/other"));
  ::close(other);
}

TEST_F(HttpServerTest, LoopbackIsNotRateLimitedByDefault) {
  StopServer();
  HttpServerOptions options = Options();
  options.requests_per_second = 1;
  options.request_burst = 1;
  StartServer(options);
  int fd = ConnectFrom("127.0.0.1");
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Served(fd, "/local")) << i;
  ::close(fd);
  EXPECT_EQ(server_->rate_limited(), 0u);
}

}  // namespace
}  // namespace utmpcd
