#include "utmpcd/api_server.h"

#include <unistd.h>

#include <atomic>
#include <set>
#include <future>
#include <thread>
#include <unordered_map>

#include "api/finger.h"
#include "core/log.h"
#include "core/version.h"
#include "net/connection.h"
#include "net/event_loop.h"
#include "net/http_server.h"
#include "net/sse_hub.h"

namespace utmpcd {
namespace {

// The event stream's messages: what the store holds, framed with this history's id.
class EventFeed : public SseFeed {
 public:
  EventFeed(Api& api, std::string history_id) : api_(api), history_id_(std::move(history_id)) {}

  Result<std::vector<SseFrame>> FramesAfter(int64_t after_seq, int64_t limit) override {
    auto events = api_.EventsAfter(after_seq, limit);
    if (!events) return tl::unexpected(events.error());
    std::vector<SseFrame> frames;
    frames.reserve(events->size());
    for (const Event& e : *events) {
      // Failed logins only to the full tier (btmp is root's and group utmp's).
      Tier tier = e.kind == EventKind::kFailed ? Tier::kFull : Tier::kHistory;
      frames.push_back(SseFrame{e.seq,
                                std::make_shared<const std::string>(EventFrame(e, history_id_)),
                                static_cast<int>(tier)});
    }
    return frames;
  }

  int64_t NewestSeq() override {
    (void)api_.ReadLastSeq();  // a failure leaves the newest known; /healthz says why
    return api_.last_seq();
  }

 private:
  Api& api_;
  std::string history_id_;
};

}  // namespace

// Port 431 on the server's thread: HTTP requests to the Api, event streams to the hub, UDP.
// Queries of the history go to the query thread, which has an Api (and read connections to
// the store) of its own.
class ApiServer::Impl : public HttpHandler {
 public:
  Impl(const ApiServerOptions& options, std::unique_ptr<Api> api,
       std::unique_ptr<Api> query_api, std::shared_ptr<const LiveView> live)
      : options_(options), api_(std::move(api)), query_api_(std::move(query_api)),
        live_(std::move(live)),
        feed_(*api_, options.api.history_id),
        hub_(loop_, feed_,
             SseHubOptions{.server_name = ServerName(),
                           .heartbeat_s = options.heartbeat_s,
                           .write_timeout_s = options.write_timeout_s}) {}
  ~Impl() override { Stop(); }

  Result<void> Open() {
    HttpServerOptions http{.listen = options_.listen,
                           .unix_socket = options_.unix_socket,
                           .inherited_fds = options_.inherited_fds,
                           .server_name = ServerName(),
                           .tls = options_.tls,
                           .max_connections = options_.max_connections,
                           .max_connections_per_source = options_.max_connections_per_source,
                           .requests_per_second = options_.requests_per_second,
                           .request_burst = options_.request_burst,
                           .limit_loopback = false,
                           .idle_timeout_s = options_.idle_timeout_s,
                           .request_timeout_s = options_.request_timeout_s,
                           .write_timeout_s = options_.write_timeout_s};
    auto server = HttpServer::Open(loop_, http, *this);
    if (!server) {
      if (options_.udp) {
        for (int fd : options_.udp->inherited_fds) ::close(fd);  // handed over, never served
      }
      return tl::unexpected(server.error());
    }
    http_ = std::move(*server);
    api_->SetStats([this] { return Stats(); });
    if (options_.api.metrics) CollectMetrics(*options_.api.metrics);
    if (options_.finger) {
      // A finger query carries no credential: the source address alone decides, as for UDP.
      auto opened = finger_.Open(loop_, *options_.finger,
                                 [this](const std::string& address, std::string_view line) {
                                   ApiRequest request;
                                   request.peer.address = address;
                                   Tier tier = DecideAccess(request, api_->access()).tier;
                                   return FingerAnswer(ParseFingerQuery(line), tier,
                                                       api_->Summary(), *live_->Get());
                                 });
      // The bridge is the least of the servers: a port 79 taken (an inetd fingerd) costs
      // finger, never HTTP, UDP or the API socket.
      if (!opened) Log(LogLevel::kError, "finger is not served: {}", opened.error().message);
    }
    if (!options_.udp || (options_.udp->listen.empty() && options_.udp->inherited_fds.empty())) {
      return {};
    }
    udp_ = std::make_unique<UdpServer>();
    UdpOptions udp = *options_.udp;
    // The session list goes to the sources whose network has the sessions tier (a datagram
    // carries no token, and its source can be forged: the network alone counts).
    udp.may_list_sessions = [this](const IpAddress& address) {
      ApiRequest request;
      request.peer.address = FormatIpAddress(address);
      return DecideAccess(request, api_->access()).tier >= Tier::kSessions;  // this thread's
    };
    // Answers come from the same summary and sessions as HTTP's, taken on this thread.
    return udp_->Open(loop_, udp, [this] {
      return UdpSnapshot{api_->Summary(), *live_->Get()};
    });
  }

  // On the loop's thread: what the server counted (GET /healthz, /metrics).
  ServerStats Stats() const {
    ServerStats s = http_->stats();
    s.streams = static_cast<int64_t>(hub_.streams());
    s.busy = refused_busy_;
    s.over_budget = refused_over_budget_;
    s.streams_too_slow = hub_.closed_too_slow();
    s.udp_rate_limited = udp_ ? udp_->Stats().dropped_rate_limited : 0;
    return s;
  }

  // The host's gauges, set at each scrape (on the loop's thread, where /metrics is answered).
  void CollectMetrics(ServerMetrics& metrics) {
    MetricsRegistry& r = metrics.registry();
    MetricFamily& sessions = r.Add("utmpcd_sessions",
                                   "Sessions open now, by kind: remote (from another host) or "
                                   "local.",
                                   MetricType::kGauge, {"kind"});
    MetricFamily& users =
        r.Add("utmpcd_users", "Users logged in now (each counted once).", MetricType::kGauge);
    MetricFamily& last_seq =
        r.Add("utmpcd_last_seq", "The seq of the newest event stored.", MetricType::kGauge);
    MetricFamily& ingest = r.Add("utmpcd_ingest_running",
                                 "1 while events are being stored, 0 while the store cannot be "
                                 "written (GET /healthz says why).",
                                 MetricType::kGauge);
    metrics.SetCollector([this, &metrics, &sessions, &users, &last_seq, &ingest] {
      metrics.SetStats(Stats());
      auto live = live_->Get();
      int64_t remote = 0;
      std::set<std::string_view> names;
      for (const LiveSession& s : *live) {
        if (!s.host.empty()) ++remote;
        names.insert(s.user);
      }
      sessions.Set({"local"}, static_cast<double>(static_cast<int64_t>(live->size()) - remote));
      sessions.Set({"remote"}, static_cast<double>(remote));
      users.Set({}, static_cast<double>(names.size()));
      (void)api_->ReadLastSeq();  // a failure leaves the newest known; /healthz says why
      last_seq.Set({}, static_cast<double>(api_->last_seq()));
      ingest.Set({}, live_->IngestProblem().empty() ? 1 : 0);
    });
  }

  void Start() {
    http_->Start();
    thread_ = std::thread([this] { loop_.Run(); });
    query_thread_ = std::thread([this] { query_loop_.RunUntilStopped(); });
  }
  void Stop() {
    loop_.Stop();
    if (thread_.joinable()) thread_.join();
    query_api_->Interrupt();  // a query running now ends at once, not at its budget
    query_loop_.Stop();
    if (query_thread_.joinable()) query_thread_.join();
  }
  void NotifyStored() {
    if (fetch_posted_.exchange(true)) return;  // one fetch in the queue is enough
    loop_.Post([this] {
      fetch_posted_ = false;
      hub_.FetchNew();
    });
  }
  void NotifyDeleted() {
    loop_.Post([this] { hub_.ForgetPages(); });
  }
  void NotifyLiveChanged() {
    if (udp_) udp_->Invalidate();
  }
  void SetAccess(AccessPolicy policy, bool access_log, std::vector<std::string> host_names) {
    if (!thread_.joinable()) {
      query_api_->SetAccess(policy, access_log, host_names);
      return api_->SetAccess(std::move(policy), access_log, std::move(host_names));
    }
    query_loop_.Post([this, policy, access_log, host_names]() mutable {
      query_api_->SetAccess(std::move(policy), access_log, std::move(host_names));
    });
    loop_.Post([this, policy = std::move(policy), access_log,
                host_names = std::move(host_names)]() mutable {
      api_->SetAccess(std::move(policy), access_log, std::move(host_names));
    });
  }
  Result<void> ReloadTls(const TlsServerOptions& tls) {
    return OnLoop([this, &tls] { return http_->ReloadTls(tls); });
  }
  Result<void> ReopenStore() {
    // Both threads' connections let go of the file before either opens it again (Reopen
    // closes first, in the same task: no request sees the loop thread's Api closed).
    (void)OnLoop([this] { return query_api_->Close(), Result<void>(); }, query_loop_);
    auto reopened = OnLoop([this] {
      hub_.ForgetPages();
      return api_->Reopen();
    });
    auto query_reopened = OnLoop([this] { return query_api_->Reopen(); }, query_loop_);
    return reopened ? query_reopened : reopened;
  }
  // Runs `work` on the thread of `loop` (the server's by default; here when it is not running)
  // and returns its result.
  template <typename Work>
  Result<void> OnLoop(Work work) {
    return OnLoop(std::move(work), loop_);
  }
  template <typename Work>
  Result<void> OnLoop(Work work, EventLoop& loop) {
    if (!thread_.joinable()) return work();
    if (loop.stopped()) return MakeError(ErrorCode::kIo, "the API's thread has stopped");
    std::promise<Result<void>> done;
    loop.Post([&work, &done] {
      try {
        done.set_value(work());
      } catch (const std::exception& e) {
        done.set_value(MakeError(ErrorCode::kIo, e.what()));
      }
    });
    return done.get_future().get();
  }
  std::vector<std::string> endpoints() const { return http_->endpoints(); }
  std::vector<std::string> udp_endpoints() const {
    return udp_ ? udp_->LocalEndpoints() : std::vector<std::string>();
  }
  std::vector<std::string> finger_endpoints() const { return finger_.endpoints(); }

  ApiResponse Handle(const ApiRequest& request) override { return api_->Handle(request); }

  // A query of the history goes to the query thread, unless too many wait already (from
  // everybody, or from this request's source): then 503 busy at once.
  bool Defers(const ApiRequest& request) const override { return api_->QueriesHistory(request); }
  void Defer(const ApiRequest& request, Reply reply) override {
    // As connections are counted: an address, an IPv6 /64, a uid.
    std::string source = SourceOf(request.peer);
    const int64_t per_source = std::max<int64_t>(1, options_.max_queued_queries / 8);
    int64_t& of_source = queued_by_source_[source];
    if (queued_ >= options_.max_queued_queries || of_source >= per_source) {
      if (of_source == 0) queued_by_source_.erase(source);
      ++refused_busy_;
      ApiResponse busy = ErrorResponse(
          503, "busy",
          queued_ >= options_.max_queued_queries
              ? "too many queries of the history are waiting; try again"
              : "too many of your queries of the history are waiting; try again");
      busy.headers.emplace_back("Retry-After", "1");
      Count(request, busy, *api_);
      reply(std::move(busy));
      return;
    }
    ++queued_;
    ++of_source;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.query_budget_ms);
    query_loop_.Post([this, request, reply = std::move(reply), source, deadline]() mutable {
      // The budget counts from the request's arrival: a query that waited it out is not run.
      query_api_->SetDeadline(deadline);
      ApiResponse answer;
      try {
        answer = query_api_->Handle(request);
      } catch (const std::exception& e) {
        Log(LogLevel::kError, "HTTP: {} {}: {}", request.method, request.target, e.what());
        answer = ErrorResponse(500, "internal", "the server failed to answer this request");
        Count(request, answer, *query_api_);
      } catch (...) {
        Log(LogLevel::kError, "HTTP: {} {}: an exception of unknown type", request.method,
            request.target);
        answer = ErrorResponse(500, "internal", "the server failed to answer this request");
        Count(request, answer, *query_api_);
      }
      query_api_->SetDeadline(std::nullopt);
      loop_.Post([this, answer = std::move(answer), reply = std::move(reply),
                  source = std::move(source)]() mutable {
        --queued_;
        if (auto it = queued_by_source_.find(source);
            it != queued_by_source_.end() && --it->second <= 0) {
          queued_by_source_.erase(it);
        }
        if (answer.status == 503 && answer.body.find("\"over_budget\"") != std::string::npos) {
          ++refused_over_budget_;
        }
        reply(std::move(answer));
      });
    });
  }
  void TakeOver(std::shared_ptr<Connection> connection, const ApiResponse& response,
                bool head) override {
    hub_.Open(std::move(connection), response.stream->after_seq, head,
              response.stream->preface, response.stream->tier);
  }

 private:
  // An answer given here rather than by an Api (which counts its own): in /metrics. `api` is
  // the Api of the calling thread (its access rules are that thread's).
  void Count(const ApiRequest& request, const ApiResponse& response, const Api& api) const {
    if (!options_.api.metrics) return;
    options_.api.metrics->CountRequest(request.target, response.status,
                                       DecideAccess(request, api.access()).tier);
  }

  static std::string ServerName() { return std::string("utmpcd/") + kVersion; }

  // Destroyed in reverse: the servers and the hub before the loop their waits are on; the
  // query loop (whose queued work holds connections of loop_) before loop_.
  ApiServerOptions options_;
  EventLoop loop_;
  std::unique_ptr<Api> api_;
  EventLoop query_loop_;
  std::unique_ptr<Api> query_api_;  // the query thread's
  std::thread query_thread_;
  // On loop_'s thread: the queries waiting or running, in all and by source.
  int64_t queued_ = 0;
  std::unordered_map<std::string, int64_t> queued_by_source_;
  uint64_t refused_busy_ = 0;
  uint64_t refused_over_budget_ = 0;
  std::shared_ptr<const LiveView> live_;
  EventFeed feed_;
  SseHub hub_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<UdpServer> udp_;
  FingerServer finger_;
  std::thread thread_;
  std::atomic<bool> fetch_posted_{false};
};

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() = default;

Result<std::unique_ptr<ApiServer>> ApiServer::Open(const ApiServerOptions& options,
                                                   std::shared_ptr<const LiveView> live) {
  ApiServerOptions with = options;
  if (options.metrics) {
    with.api.metrics = std::make_shared<ServerMetrics>(
        options.metrics, "utmpcd", kVersion,
        std::vector<std::string>{"/v1/host", "/v1/sessions", "/v1/history", "/v1/failed",
                                 "/v1/lastlog", "/v1/events", "/v1/access", "/healthz",
                                 "/metrics"});
  }
  auto api = Api::Open(with.api, live);
  if (!api) return tl::unexpected(api.error());
  auto query_api = Api::Open(with.api, live);
  if (!query_api) return tl::unexpected(query_api.error());
  auto impl = std::make_unique<Impl>(with, std::move(*api), std::move(*query_api),
                                     std::move(live));
  if (auto opened = impl->Open(); !opened) return tl::unexpected(opened.error());
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

void ApiServer::Start() { impl_->Start(); }
void ApiServer::NotifyStored() { impl_->NotifyStored(); }
void ApiServer::NotifyDeleted() { impl_->NotifyDeleted(); }
void ApiServer::NotifyLiveChanged() { impl_->NotifyLiveChanged(); }
void ApiServer::SetAccess(AccessPolicy policy, bool access_log,
                          std::vector<std::string> host_names) {
  impl_->SetAccess(std::move(policy), access_log, std::move(host_names));
}
Result<void> ApiServer::ReopenStore() { return impl_->ReopenStore(); }
Result<void> ApiServer::ReloadTls(const TlsServerOptions& tls) { return impl_->ReloadTls(tls); }
std::vector<std::string> ApiServer::udp_endpoints() const { return impl_->udp_endpoints(); }
std::vector<std::string> ApiServer::finger_endpoints() const {
  return impl_->finger_endpoints();
}
std::vector<std::string> ApiServer::endpoints() const { return impl_->endpoints(); }

}  // namespace utmpcd
