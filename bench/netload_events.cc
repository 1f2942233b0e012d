// The event-stream modes of netload (see netload_events.h).
#include "bench/netload_events.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <openssl/ssl.h>

#include "bench/http_frame.h"
#include "core/login_record.h"
#include "formats/utmp.h"

extern char** environ;

namespace utmpcd::bench {
namespace {

// Appends one login of user "benchlat" on pts/77 from `host` to `wtmp`, stamped now, in one
// write(2) (O_APPEND: the daemon never sees half a record).
void AppendLogin(const std::string& wtmp, const std::string& host) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  LoginRecord r;
  r.type = kUserProcess;
  r.pid = static_cast<int32_t>(getpid());
  r.line = "pts/77";
  r.id = "ts77";
  r.user = "benchlat";
  r.host = host;
  r.time_s = now.tv_sec;
  r.time_usec = static_cast<int32_t>(now.tv_nsec / 1000);
  std::string bytes;
  EncodeUtmp(r, UtmpLayout::kGlibc384, &bytes);
  int fd = open(wtmp.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 || write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    std::string error = strerror(errno);
    if (fd >= 0) close(fd);
    throw std::runtime_error("append to " + wtmp + ": " + error);
  }
  close(fd);
}

// The resident set of process `pid` in KiB (VmRSS), or -1.
int64_t RssKb(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      int64_t kb = -1;
      status >> kb;
      return kb;
    }
    status.ignore(1 << 20, '\n');
  }
  return -1;
}

// Finds `needle` in a byte stream read in pieces: keeps the last needle.size() - 1 bytes seen,
// so a match split across two reads is found too.
class StreamMatcher {
 public:
  explicit StreamMatcher(std::string needle) : needle_(std::move(needle)) {}
  // Whether the needle ends within `chunk` (or straddles into it).
  bool Feed(std::string_view chunk) {
    window_.append(chunk);
    bool found = window_.find(needle_) != std::string::npos;
    size_t keep = needle_.size() - 1;
    if (window_.size() > keep) window_.erase(0, window_.size() - keep);
    return found;
  }
  void Reset(std::string needle) {
    needle_ = std::move(needle);
    window_.clear();
  }

 private:
  std::string needle_;
  std::string window_;
};

// Opens a blocking connection to `target`, sends GET /v1/events and reads the response head;
// throws unless it is 200 text/event-stream. Returns the fd; *rest gets bytes after the head.
int OpenEventStream(const Endpoint& target, std::string* rest) {
  int fd = socket(target.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&target.addr), target.len) != 0) {
    throw std::runtime_error("connect " + target.text + ": " + strerror(errno));
  }
  std::string request = HttpGet("/v1/events", target, false);
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    throw std::runtime_error(std::string("send: ") + strerror(errno));
  }
  std::string in;
  char buffer[4096];
  while (true) {
    ResponseFrame frame = FrameResponse(in);
    if (frame.head_size > 0 || frame.state == ResponseFrame::State::kMalformed) {
      if (frame.status != 200 || frame.content_type.find("text/event-stream") != 0) {
        throw std::runtime_error("GET /v1/events: not a 200 event stream: " + in.substr(0, 200));
      }
      *rest = in.substr(frame.head_size);
      return fd;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) throw std::runtime_error("GET /v1/events: no answer in 10 s");
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) throw std::runtime_error("GET /v1/events: closed before its head");
    in.append(buffer, static_cast<size_t>(n));
  }
}

enum class Phase { kConnecting, kHandshaking, kHead, kOpen, kClosed };

struct Watcher {
  int fd = -1;
  SSL* ssl = nullptr;  // with --tls
  Phase phase = Phase::kConnecting;
  std::string buffer;  // the response head while it comes in; then the last bytes seen
  bool delivered = false;
};

// Many event streams on one epoll set (level-triggered: a watcher reads what is there).
class WatcherSet {
 public:
  explicit WatcherSet(const WatchersOptions& o) : o_(o), watchers_(static_cast<size_t>(o.count)) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (o.tls) {
      tls_ = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_min_proto_version(tls_, TLS1_2_VERSION);
      SSL_CTX_set_verify(tls_, SSL_VERIFY_NONE, nullptr);
      // What an idle client holds between records: no buffers.
      SSL_CTX_set_mode(tls_, SSL_MODE_RELEASE_BUFFERS);
    }
  }
  WatcherSet(const WatcherSet&) = delete;
  WatcherSet& operator=(const WatcherSet&) = delete;
  ~WatcherSet() {
    for (Watcher& w : watchers_) {
      if (w.ssl != nullptr) SSL_free(w.ssl);
      if (w.fd >= 0) close(w.fd);
    }
    close(epfd_);
    if (tls_ != nullptr) SSL_CTX_free(tls_);
  }

  // Opens every stream, `concurrency` at a time; returns the seconds it took.
  double OpenAll() {
    int64_t start = NowNs(), deadline = start + SecondsToNs(o_.open_timeout_s);
    size_t started = 0;
    while ((started < watchers_.size() || in_flight_ > 0) && NowNs() < deadline) {
      while (started < watchers_.size() && in_flight_ < static_cast<size_t>(o_.concurrency)) {
        Start(started++);
      }
      Pump(10);
    }
    for (size_t i = 0; i < watchers_.size(); ++i) {
      Phase p = watchers_[i].phase;
      if (i >= started) {
        ++failures_["not started in time"];
        watchers_[i].phase = Phase::kClosed;
      } else if (p == Phase::kConnecting || p == Phase::kHead) {
        Fail(i, "open timeout");
      }
    }
    return static_cast<double>(NowNs() - start) / 1e9;
  }

  // Services the open streams (reads their heartbeats) for `seconds`.
  // Returns how many streams carried a heartbeat (": ping") meanwhile.
  size_t Hold(double seconds) {
    Match(": ping");
    for (int64_t end = NowNs() + SecondsToNs(seconds); NowNs() < end;) Pump(100);
    return delivered_;
  }

  // Appends a login to wtmp and waits until every open stream has carried it (or the timeout).
  void Deliver(const std::string& wtmp) {
    Match("fanout-" + std::to_string(getpid()) + "-" + std::to_string(NowNs() % 1000000));
    AppendLogin(wtmp, needle_);
    int64_t deadline = trigger_ns_ + SecondsToNs(o_.deliver_timeout_s);
    while (delivered_ < open_count() && NowNs() < deadline) Pump(10);
  }

  size_t open_count() const {
    size_t n = 0;
    for (const Watcher& w : watchers_) n += w.phase == Phase::kOpen;
    return n;
  }
  size_t opened() const { return opened_; }
  size_t closed_by_daemon() const { return closed_; }
  size_t delivered() const { return delivered_; }
  Latencies& delivery() { return delivery_; }
  const std::map<std::string, uint64_t>& failures() const { return failures_; }

 private:
  // From now on, counts the open streams that carry `needle` (and when).
  void Match(std::string needle) {
    needle_ = std::move(needle);
    for (Watcher& w : watchers_) {
      w.buffer.clear();
      w.delivered = false;
    }
    delivered_ = 0;
    delivery_ = Latencies();
    trigger_ns_ = NowNs();
  }

  void Start(size_t i) {
    Watcher& w = watchers_[i];
    ++in_flight_;
    w.fd = socket(o_.target.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (w.fd < 0) return Fail(i, std::string("socket: ") + strerror(errno));
    if (!o_.sources.empty() && !o_.target.ipv6() &&
        !BindSource(w.fd, o_.sources[i % o_.sources.size()])) {
      return Fail(i, std::string("bind: ") + strerror(errno));
    }
    if (connect(w.fd, reinterpret_cast<const sockaddr*>(&o_.target.addr), o_.target.len) != 0 &&
        errno != EINPROGRESS) {
      return Fail(i, std::string("connect: ") + strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, w.fd, &ev);
  }

  void Pump(int timeout_ms) {
    epoll_event events[512];
    int n = epoll_wait(epfd_, events, 512, timeout_ms);
    for (int k = 0; k < n; ++k) OnEvent(events[k].data.u64, events[k].events);
  }

  void OnEvent(size_t i, uint32_t events) {
    Watcher& w = watchers_[i];
    if (w.phase == Phase::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(w.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return Fail(i, std::string("connect: ") + strerror(err));
      if (tls_ != nullptr) {
        w.ssl = SSL_new(tls_);
        SSL_set_fd(w.ssl, w.fd);
        SSL_set_connect_state(w.ssl);
        w.phase = Phase::kHandshaking;
      } else {
        return SendRequest(i);
      }
    }
    if (w.phase == Phase::kHandshaking) {
      int r = SSL_do_handshake(w.ssl);
      if (r == 1) return SendRequest(i);
      int e = SSL_get_error(w.ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        return Fail(i, "TLS handshake failed");
      }
      epoll_event ev{};
      ev.events = e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(epfd_, EPOLL_CTL_MOD, w.fd, &ev);
      return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    // Over TLS a record may hold more than one read takes: read until it would block.
    for (int reads = 0; reads < 64 && w.phase != Phase::kClosed; ++reads) {
      if (!ReadOnce(i)) return;
    }
  }

  void SendRequest(size_t i) {
    Watcher& w = watchers_[i];
    std::string request = HttpGet("/v1/events", o_.target, false);
    ssize_t sent = w.ssl != nullptr
                       ? SSL_write(w.ssl, request.data(), static_cast<int>(request.size()))
                       : send(w.fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(request.size())) {
      return Fail(i, std::string("send: ") + strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, w.fd, &ev);
    w.phase = Phase::kHead;
  }

  // One read of a stream; false when nothing more is there now.
  bool ReadOnce(size_t i) {
    Watcher& w = watchers_[i];
    char chunk[16384];
    ssize_t n;
    if (w.ssl != nullptr) {
      n = SSL_read(w.ssl, chunk, sizeof chunk);
      if (n <= 0) {
        int e = SSL_get_error(w.ssl, static_cast<int>(n));
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
        n = 0;  // closed (close_notify or not)
      }
    } else {
      n = read(w.fd, chunk, sizeof chunk);
      if (n < 0 && errno == EAGAIN) return false;
    }
    if (n <= 0) {
      if (w.phase == Phase::kHead) {
        Fail(i, "closed before the response head");
        return false;
      }
      ++closed_;
      Drop(w);
      return false;
    }
    if (w.phase == Phase::kHead) {
      OnHead(i, std::string_view(chunk, static_cast<size_t>(n)));
    } else {
      OnData(w, std::string_view(chunk, static_cast<size_t>(n)));
    }
    return w.ssl != nullptr && w.phase != Phase::kClosed;  // a socket: level-triggered epoll
  }

  void Drop(Watcher& w) {
    if (w.ssl != nullptr) SSL_free(w.ssl);
    w.ssl = nullptr;
    if (w.fd >= 0) close(w.fd);
    w.fd = -1;
    w.phase = Phase::kClosed;
  }

  void OnHead(size_t i, std::string_view chunk) {
    Watcher& w = watchers_[i];
    w.buffer.append(chunk);
    ResponseFrame frame = FrameResponse(w.buffer);
    if (frame.state == ResponseFrame::State::kMalformed) return Fail(i, "malformed response");
    if (frame.head_size == 0) return;
    if (frame.status != 200) return Fail(i, "status " + std::to_string(frame.status));
    if (frame.content_type.find("text/event-stream") != 0) return Fail(i, "not an event stream");
    std::string rest = w.buffer.substr(frame.head_size);
    w.buffer.clear();
    w.buffer.shrink_to_fit();
    w.phase = Phase::kOpen;
    --in_flight_;
    ++opened_;
    OnData(w, rest);
  }

  // Data of an open stream: after the trigger, looks for the login's host name.
  void OnData(Watcher& w, std::string_view data) {
    if (needle_.empty() || w.delivered) return;
    w.buffer.append(data);
    if (w.buffer.find(needle_) != std::string::npos) {
      w.delivered = true;
      ++delivered_;
      delivery_.Add(NowNs() - trigger_ns_);
      w.buffer.clear();
      return;
    }
    if (w.buffer.size() >= needle_.size()) w.buffer.erase(0, w.buffer.size() - needle_.size() + 1);
  }

  void Fail(size_t i, const std::string& kind) {
    Watcher& w = watchers_[i];
    if (w.phase == Phase::kConnecting || w.phase == Phase::kHandshaking ||
        w.phase == Phase::kHead) {
      --in_flight_;
    }
    Drop(w);
    ++failures_[kind];
  }

  const WatchersOptions& o_;
  std::vector<Watcher> watchers_;
  int epfd_ = -1;
  SSL_CTX* tls_ = nullptr;
  size_t in_flight_ = 0;
  size_t opened_ = 0;
  size_t closed_ = 0;
  size_t delivered_ = 0;
  std::string needle_;
  int64_t trigger_ns_ = 0;
  Latencies delivery_;
  std::map<std::string, uint64_t> failures_;
};

// Starts `command` with its standard output on a pipe; returns the pipe's read end.
int SpawnReader(const std::vector<std::string>& command, pid_t* child) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int rc = posix_spawnp(child, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error("spawn " + command[0] + ": " + strerror(rc));
  }
  return fds[0];
}

// Reads `fd` until `needle` has come by; returns CLOCK_MONOTONIC ns of the read that brought
// it, or -1 after `timeout_s`. Throws when the watcher closes its output.
int64_t WaitFor(int fd, StreamMatcher& matcher, double timeout_s) {
  int64_t deadline = NowNs() + SecondsToNs(timeout_s);
  char chunk[16384];
  for (int64_t now = NowNs(); now < deadline; now = NowNs()) {
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>((deadline - now) / 1'000'000) + 1);
    if (ready <= 0) continue;
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) throw std::runtime_error("the watcher closed its output");
    if (matcher.Feed(std::string_view(chunk, static_cast<size_t>(n)))) return NowNs();
  }
  return -1;
}

// What a latency run reads: netload's own event stream, or a command's standard output.
class WatchSource {
 public:
  explicit WatchSource(const LatencyOptions& o) {
    std::string ignored;  // what follows the head: nothing a login of this run could be in
    fd_ = o.command.empty() ? OpenEventStream(o.target, &ignored) : SpawnReader(o.command, &child_);
  }
  WatchSource(const WatchSource&) = delete;
  WatchSource& operator=(const WatchSource&) = delete;
  ~WatchSource() {
    close(fd_);
    if (child_ > 0) {
      kill(child_, SIGTERM);
      waitpid(child_, nullptr, 0);
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  pid_t child_ = 0;
};

}  // namespace

nlohmann::json RunLatency(const LatencyOptions& o) {
  WatchSource source(o);
  std::string tag = std::to_string(getpid() % 100000);
  // The watcher is ready once it shows a login: until then, one every second (a stream only
  // carries events stored after it was opened).
  StreamMatcher matcher("warm" + tag + "-");
  int64_t seen = -1;
  for (int k = 0; k < 30 && seen < 0; ++k) {
    AppendLogin(o.wtmp, "warm" + tag + "-" + std::to_string(k));
    seen = WaitFor(source.fd(), matcher, 1);
  }
  if (seen < 0) throw std::runtime_error("the watcher showed no login in 30 s");
  Tally tally;
  int64_t start = NowNs();
  for (int i = 0; i < o.count; ++i) {
    // Unique, and short enough for any column a watcher prints the remote host in.
    char host[32];
    snprintf(host, sizeof host, "l%06dx%s", i, tag.c_str());
    matcher.Reset(host);
    int64_t written = NowNs();
    AppendLogin(o.wtmp, host);
    int64_t shown = WaitFor(source.fd(), matcher, o.timeout_s);
    if (shown < 0) {
      tally.Error("not shown within " + std::to_string(o.timeout_s) + " s");
    } else {
      ++tally.ok;
      tally.latency.Add(shown - written);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(o.pace_ms * 1000)));
  }
  nlohmann::json report = tally.Report(static_cast<double>(NowNs() - start) / 1e9);
  report["watcher"] = o.command.empty() ? "GET /v1/events (netload)" : o.command[0];
  return report;
}

nlohmann::json RunWatchers(const WatchersOptions& o) {
  nlohmann::json report;
  report["file_limit"] = RaiseFileLimit(static_cast<uint64_t>(o.count) + 1024);
  report["asked"] = o.count;
  report["tls"] = o.tls;
  if (o.daemon_pid > 0) report["daemon_rss_kb_before"] = RssKb(o.daemon_pid);
  WatcherSet set(o);
  report["open_s"] = Round1(set.OpenAll());
  report["opened"] = set.opened();
  report["failures"] = set.failures();
  report["heartbeats_seen"] = set.Hold(o.hold_s);
  report["hold_s"] = o.hold_s;
  report["open_after_hold"] = set.open_count();
  report["closed_by_daemon"] = set.closed_by_daemon();
  if (o.daemon_pid > 0) report["daemon_rss_kb_with"] = RssKb(o.daemon_pid);
  if (!o.wtmp.empty()) {
    size_t open = set.open_count();
    set.Deliver(o.wtmp);
    report["login_delivered"] = set.delivered();
    report["login_missing"] = open - set.delivered();
    report["delivery"] = set.delivery().Summary();
  }
  return report;
}

}  // namespace utmpcd::bench
