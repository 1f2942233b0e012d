#include "utmpsd/fleet_server.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <map>
#include <set>
#include <thread>
#include <tuple>
#include <utility>
#include <unordered_map>

#include "api/access.h"
#include "api/access_gate.h"
#include "api/fleet_api.h"
#include "api/query.h"
#include "api/whod.h"
#include "api/wire_json.h"
#include "api/host_summary.h"
#include "api/wire_decode.h"
#include "core/log.h"
#include "net/connection.h"
#include "net/datagram_receiver.h"
#include "net/event_loop.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/sse_follower.h"
#include "net/sse_hub.h"
#include "store/fleet_store.h"
#include "utmpsd/rwho_bridge.h"

namespace utmpcd {
namespace {

using Clock = std::chrono::steady_clock;

int64_t WallUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A thread running an EventLoop: work is posted to it.
class Worker {
 public:
  Worker() : thread_([this] { loop_.RunUntilStopped(); }) {}
  ~Worker() {
    loop_.Stop();
    thread_.join();
  }
  void Post(std::function<void()> fn) { loop_.Post(std::move(fn)); }

 private:
  EventLoop loop_;  // before thread_: the thread runs it
  std::thread thread_;
};

// A host's events waiting for the store hold at most this many before its stream pauses
// (it resumes from what was stored): a host importing years of history cannot fill memory
// faster than the store takes it.
constexpr size_t kMaxPendingPerHost = 20000;

// "812@3f2a9c1d0b7e4a55" → the history ("" for a bare seq, or for one that is not the hex
// digits a utmpcd gives: what a host sends is not trusted into the store's text columns).
std::string HistoryOf(const std::string& id) {
  auto at = id.find('@');
  if (at == std::string::npos) return "";
  std::string history = id.substr(at + 1);
  if (history.empty() || history.size() > 64 ||
      history.find_first_not_of("0123456789abcdef") != std::string::npos)
    return "";
  return history;
}

FleetApiOptions ApiOptionsOf(const FleetConfig& c, const std::string& version,
                             std::shared_ptr<ServerMetrics> metrics,
                             std::function<bool(const std::string&)> heard_host) {
  FleetApiOptions o;
  o.heard_host = std::move(heard_host);
  o.version = version;
  o.metrics = std::move(metrics);
  o.access.rules = c.access;
  o.access_log = c.access_log;
  o.host_names = c.host_names;
  for (const FleetHostConfig& h : c.hosts) {
    o.host_urls[h.name] = h.url;
    for (const std::string& g : h.groups) o.groups[g].push_back(h.name);
  }
  return o;
}

bool IsQueryPath(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return path == "/v1/hosts" || path.starts_with("/v1/fleet/") || path.find('%') != path.npos;
}

}  // namespace

class FleetServer::Impl : public HttpHandler, public EventSink, public SseFeed {
 public:
  Impl(FleetServerOptions options, std::unique_ptr<FleetStore> write_store,
       std::unique_ptr<FleetStore> query_store, std::unique_ptr<FleetStore> feed_store)
      : options_(std::move(options)), config_(options_.config),
        api_(std::make_shared<const FleetApi>(ApiOptionsOf(config_, options_.version, server_metrics_, HeardHost()))),
        write_store_(std::move(write_store)), query_store_(std::move(query_store)),
        feed_store_(std::move(feed_store)),
        hub_(loop_, *this,
             SseHubOptions{.server_name = "utmpsd/" + options_.version,
                           .heartbeat_s = config_.heartbeat_s}),
        claim_timer_(loop_), poll_timer_(loop_), retention_timer_(loop_), rwho_timer_(loop_), spool_timer_(loop_) {
    for (EventKind kind : {EventKind::kLogin, EventKind::kLogout, EventKind::kBoot,
                           EventKind::kShutdown, EventKind::kFailed}) {
      events_stored_by_kind_.Add({EventKindName(kind)}, 0);
    }
  }

  ~Impl() override {
    follower_.reset();
    http_.reset();
  }

  // On the loop's thread: what port 430's server counted.
  ServerStats Stats() const {
    ServerStats s = http_->stats();
    s.streams = static_cast<int64_t>(hub_.streams());
    s.busy = refused_busy_;
    return s;
  }

  // At each scrape of /metrics, on the loop's thread: the hosts this instance follows.
  void CollectMetrics() {
    server_metrics_->SetStats(Stats());
    std::map<std::string, int64_t> by_state = {
        {"up", 0}, {"down", 0}, {"new", 0}, {"connecting", 0}};
    host_up_.Clear();
    host_lag_.Clear();
    int64_t others = 0;
    for (const auto& [name, h] : hosts_) {
      if (!held_.contains(name)) {
        ++others;
        continue;
      }
      ++by_state[h.state];
      host_up_.Set({name}, h.state == "up" ? 1 : 0);
      if (h.lag_s) host_lag_.Set({name}, *h.lag_s);
    }
    for (const auto& [state, n] : by_state) host_states_.Set({state}, static_cast<double>(n));
    host_states_.Set({"elsewhere"}, static_cast<double>(others));
    if (rwho_) {
      int64_t down = 0;
      for (const auto& [name, h] : rwho_hosts_) down += h.down ? 1 : 0;
      rwho_host_states_.Set({"up"}, static_cast<double>(static_cast<int64_t>(rwho_hosts_.size()) - down));
      rwho_host_states_.Set({"down"}, static_cast<double>(down));
    }
    store_up_.Set({}, store_ok_ ? 1 : 0);
  }

  Result<void> Open() {
    HttpServerOptions http{.listen = config_.listen,
                           .unix_socket = "",
                           .inherited_fds = options_.inherited_fds,
                           .server_name = "utmpsd/" + options_.version,
                           .tls = config_.tls_server,
                           .max_connections = config_.max_connections,
                           .max_connections_per_source = config_.max_connections_per_source,
                           .requests_per_second = config_.requests_per_second,
                           .request_burst = config_.request_burst,
                           .limit_loopback = false,
                           .idle_timeout_s = config_.idle_timeout_s,
                           .request_timeout_s = config_.request_timeout_s,
                           .write_timeout_s = 30};
    auto server = HttpServer::Open(loop_, http, *this);
    if (!server) return tl::unexpected(server.error());
    http_ = std::move(*server);
    server_metrics_->SetCollector([this] { CollectMetrics(); });
    store_name_ = write_store_->name();
    write_store_kind_ = write_store_->kind();
    std::vector<std::string> names;
    for (const FleetHostConfig& h : config_.hosts) names.push_back(h.name);
    if (auto set = write_store_->SetHosts(names); !set) return set;
    rwho_networks_ = Networks(config_.rwho_networks);
    if (!config_.rwho_listen.empty()) {
      // rwho hosts left up by an earlier run are not known to be up until heard again (within
      // rwhod's 3 minutes).
      auto rows = write_store_->Hosts();
      if (!rows) return tl::unexpected(rows.error());
      if (auto retired = RetireFollowed(*write_store_, *rows, FollowedNames()); !retired)
        return retired;
      for (const FleetHost& h : *rows) {
        if (h.history != "rwhod" || FollowedName(h.host) || h.state != "up") continue;
        if (auto set = write_store_->SetHostState(h.host, "down", "not heard since utmpsd started",
                                                  WallUs());
            !set) {
          return set;
        }
      }
      // Port 513 is bound here, before privileges go.
      auto rwho = DatagramReceiver::Open(
          loop_, config_.rwho_listen, kWhodPort,
          [this](std::span<const uint8_t> datagram, const IpEndpoint& from, bool truncated) {
            OnWhod(datagram, from, truncated);
          });
      if (!rwho) return MakeError(rwho.error().code, "[rwho] " + rwho.error().message);
      rwho_ = std::move(*rwho);
      for (const char* name : {"taken", "source", "malformed", "name", "full", "early"})
        rwho_packets_.Add({name}, 0);
    }
    return {};
  }

  std::vector<std::string> endpoints() const { return http_->endpoints(); }

  void Run(const std::string& config_path, bool config_required,
           const std::function<void()>& ready) {
    config_path_ = config_path;
    config_required_ = config_required;
    // The threads start here, after the caller dropped its privileges.
    store_worker_.emplace();
    query_worker_.emplace();
    proxy_worker_.emplace();
    MakeFollower();
    http_->Start();
    SignalWait signals(loop_, {SIGTERM, SIGINT, SIGHUP});
    std::function<void(int)> on_signal = [&](int sig) {
      if (sig == SIGHUP) {
        Reload();
        signals.Wait(on_signal);
        return;
      }
      Log(LogLevel::kInfo, "stopping (signal {})", sig);
      Stop();
    };
    signals.Wait(on_signal);
    Claim();
    RefreshOpenSessions();
    PollOthers();
    Retention();
    RwhoRound();
    Log(LogLevel::kInfo, "utmpsd {} serving on {} as instance '{}', {} host(s) configured, store {}",
        options_.version, fmt::join(http_->endpoints(), ", "), config_.instance,
        config_.hosts.size(), store_name_);
    if (rwho_) {
      Log(LogLevel::kInfo, "rwho: taking in rwhod's packets on udp {} from {}",
          fmt::join(rwho_->endpoints(), ", "), fmt::join(config_.rwho_networks, ", "));
    }
    if (ready) ready();
    loop_.RunUntilStopped();
    // Every thread's work ends before the stores and the loop go.
    proxy_worker_.reset();
    query_worker_.reset();
    store_worker_.reset();
  }

  // HttpHandler.
  ApiResponse Handle(const ApiRequest& request) override {
    // A stream resuming from a position another instance gave must not be taken for one
    // beyond the newest: the newest read now.
    if (request.target.starts_with("/v1/fleet/events")) (void)NewestSeq();
    auto routed = api_->Route(request, newest_position_, Health());
    if (routed.response) return std::move(*routed.response);
    // A query path Defers did not see as one (it only looks at the path as written).
    return ErrorResponse(404, "not_found", "no such endpoint");
  }
  bool Defers(const ApiRequest& request) const override { return IsQueryPath(request.target); }
  void Defer(const ApiRequest& request, Reply reply) override {
    auto routed = api_->Route(request, newest_position_, Health());
    if (routed.response) return reply(std::move(*routed.response));  // counted by Route
    // What the workers, the proxy and the limits below answer: counted as it is sent.
    reply = [reply = std::move(reply), metrics = server_metrics_, target = request.target,
             tier = routed.access.tier](ApiResponse answer) {
      metrics->CountRequest(target, answer.status, tier);
      reply(std::move(answer));
    };
    if (request.target.starts_with("/v1/fleet/host?")) {
      // Asked of the host on a thread of their own, with a cap of their own: hosts that do
      // not answer (5 s each) fill this queue, never the store's.
      if (proxies_queued_ >= kMaxQueuedProxies) {
        ++refused_busy_;
        ApiResponse busy = ErrorResponse(503, "busy", "too many host summaries are waiting; try again");
        busy.headers.emplace_back("Retry-After", "1");
        return reply(std::move(busy));
      }
      ++proxies_queued_;
      return ProxyHost(request, std::move(reply));
    }
    if (queued_ >= config_.max_queued_queries) {
      ++refused_busy_;
      ApiResponse busy = ErrorResponse(503, "busy", "too many queries are waiting; try again");
      busy.headers.emplace_back("Retry-After", "1");
      return reply(std::move(busy));
    }
    ++queued_;
    query_worker_->Post([this, api = api_, url = config_.store_url, request,
                         access = routed.access, reply = std::move(reply)]() mutable {
      ApiResponse answer;
      try {
        if (!query_store_) {
          auto reopened = FleetStore::Open(url, StoreOptions());
          if (reopened) query_store_ = std::move(*reopened);
        }
        if (!query_store_) {
          answer = ErrorResponse(503, "unavailable", "the fleet store cannot be reached");
          answer.headers.emplace_back("Retry-After", "1");
        } else {
          answer = api->Handle(request, *query_store_, &open_sessions_);
          if (answer.status == 503) query_store_.reset();  // a new connection next time
        }
      } catch (const std::exception& e) {
        Log(LogLevel::kError, "HTTP: {} {}: {}", request.method, request.target, e.what());
        answer = ErrorResponse(500, "internal", "the server failed to answer this request");
      }
      if (api->options().access_log) LogAccess(request, access, answer.status);
      loop_.Post([this, answer = std::move(answer), reply = std::move(reply)]() mutable {
        --queued_;
        reply(std::move(answer));
      });
    });
  }
  // GET /v1/fleet/host?host=NAME: the host's live summary (load and uptime are not events:
  // the store has none), asked of the host with the fleet's credentials, on the proxy thread.
  // What the host answers is checked (DecodeHost) and passed on as the host sent it.
  void ProxyHost(const ApiRequest& request, Reply reply) {
    auto query = Query::Parse(request.target);
    auto name = query ? query->One("host") : Result<std::optional<std::string>>();
    auto it = name && *name ? hosts_.find(**name) : hosts_.end();
    if (it == hosts_.end() && name && *name) {
      if (auto r = rwho_hosts_.find(**name); r != rwho_hosts_.end()) {
        --proxies_queued_;
        return reply(RwhoSummary(r->first, r->second));
      }
    }
    if (it == hosts_.end()) {
      --proxies_queued_;
      return reply(ErrorResponse(404, "not_found", "host: no such host is followed"));
    }
    NetHost net = it->second.config.net;
    FetchOptions fetch;
    fetch.timeout_ms = std::min<int64_t>(5000, config_.silence_s * 1000);
    fetch.max_parallel = 1;
    fetch.tls = config_.tls;
    // On a thread of its own: a host that does not answer holds up the next summary, never
    // the store's queries (the dashboard asks for the summaries of the hosts on its screen).
    proxy_worker_->Post([this, net = std::move(net), fetch, reply = std::move(reply)]() mutable {
      class Summary : public HostExchange {
       public:
        std::string FirstTarget() override { return "/v1/host"; }
        Result<std::optional<std::string>> OnBody(std::string_view body) override {
          auto host = DecodeHost(body);
          if (!host) return tl::unexpected(host.error());
          json = host->json + "\n";
          return std::nullopt;
        }
        std::string json;
      } exchange;
      auto results = FetchAll({net}, {&exchange}, fetch);
      ApiResponse answer;
      if (results[0]) {
        answer.body = std::move(exchange.json);
      } else {
        answer = ErrorResponse(502, "host_unreachable", net.label + ": " + results[0].error().message);
      }
      loop_.Post([this, answer = std::move(answer), reply = std::move(reply)]() mutable {
        --proxies_queued_;
        reply(std::move(answer));
      });
    });
  }

  void TakeOver(std::shared_ptr<Connection> connection, const ApiResponse& response,
                bool head) override {
    hub_.Open(std::move(connection), response.stream->after_seq, head, response.stream->preface,
              response.stream->tier);
  }

  // SseFeed: the fleet's events, from the loop's own connection.
  Result<std::vector<SseFrame>> FramesAfter(int64_t after, int64_t limit) override {
    if (!feed_store_) {
      auto reopened = FleetStore::Open(config_.store_url, StoreOptions());
      if (!reopened) return tl::unexpected(reopened.error());
      feed_store_ = std::move(*reopened);
    }
    auto events = feed_store_->EventsAfter(after, limit);
    if (!events) {
      feed_store_.reset();
      return tl::unexpected(events.error());
    }
    std::vector<SseFrame> frames;
    frames.reserve(events->size());
    for (const auto& p : *events) {
      Tier tier = p.event.event.kind == EventKind::kFailed ? Tier::kFull : Tier::kHistory;
      frames.push_back(SseFrame{p.position, std::make_shared<const std::string>(FleetApi::Frame(p)),
                                static_cast<int>(tier)});
      newest_position_ = std::max(newest_position_, p.position);
    }
    return frames;
  }
  int64_t NewestSeq() override {
    if (feed_store_) {
      if (auto p = feed_store_->LastPosition()) {
        newest_position_ = *p;
      } else {
        feed_store_.reset();
      }
    }
    return newest_position_;
  }

  // EventSink: the hosts' streams.
  void OnOpened(size_t id) override {
    Host* h = ById(id);
    if (h == nullptr) return;
    SetState(*h, "up", "");
  }
  void OnTrouble(size_t id, const std::string& what, std::optional<int64_t> retry_ms) override {
    Host* h = ById(id);
    if (h == nullptr) return;
    if (h->state != "down" || h->problem != what)
      Log(LogLevel::kWarning, "host {}: {}{}", h->config.name, what,
          retry_ms ? fmt::format(" (again in {} ms)", *retry_ms)
                   : fmt::format(" (given up; again in {} s)", config_.max_backoff_s));
    SetState(*h, "down", what);
    if (!retry_ms) {
      // The host refused the stream (4xx): asked again at a later lease round.
      by_id_.erase(id);
      h->id.reset();
      h->retry_at = Clock::now() + std::chrono::seconds(config_.max_backoff_s);
    }
  }
  void OnMessage(size_t id, const SseMessage& message) override {
    Host* h = ById(id);
    if (h == nullptr) return;
    if (message.event == "gap") {
      auto gap = DecodeGap(message.data);
      Log(LogLevel::kWarning,
          "host {}: its events {} to {} were deleted (by its retention) before the fleet stored "
          "them",
          h->config.name, gap ? gap->from : 0, gap ? gap->oldest - 1 : 0);
      return;
    }
    if (message.event == "reset") {
      auto reset = DecodeReset(message.data);
      if (reset && reset->reason == "ahead") {
        // The same history, whose newest seq went back (a backup restored): the stream goes
        // on after it, and those events are new ones.
        Log(LogLevel::kWarning,
            "host {}: its newest event is seq {}, before what the fleet stored (a restored "
            "backup?): its events from now on are stored after the ones stored",
            h->config.name, reset->last_seq);
        h->rebase_to = reset->last_seq;
        return;
      }
      Log(LogLevel::kWarning, "host {}: its history is not the one stored ({}): reading it from "
                              "its first event",
          h->config.name, reset ? reset->reason : "reset");
      return Restart(*h, 1);
    }
    std::string history = HistoryOf(message.last_event_id);
    if (!h->history.empty() && !history.empty() && history != h->history && !h->from_first) {
      Log(LogLevel::kWarning,
          "host {}: its history changed (was {}, now {}): reading the new one from its first "
          "event",
          h->config.name, h->history, history);
      return Restart(*h, 1);
    }
    auto event = DecodeStoredEvent(message.data);
    if (!event) {
      ++h->undecodable;
      if (h->undecodable == 1 || h->undecodable % 1000 == 0)
        Log(LogLevel::kWarning, "host {}: an event left out ({} so far): {}", h->config.name,
            h->undecodable, event.error().message);
      return;
    }
    if (!history.empty()) h->history = history;
    auto& batches = pending_[h->config.name];
    if (batches.empty() || batches.back().history != history || h->rebase_to)
      batches.push_back(
          FleetBatch{h->config.name, history, {}, std::exchange(h->rebase_to, {}), WallUs()});
    batches.back().events.push_back(std::move(*event));
    ++h->pending;
    if (h->pending >= kMaxPendingPerHost && h->id) {
      // Paused until what it gave is stored; then resumed from there.
      follower_->Remove(*h->id);
      by_id_.erase(*h->id);
      h->id.reset();
      h->paused = true;
    }
    Flush();
  }

 private:
  struct Host {
    FleetHostConfig config;
    std::optional<size_t> id;  // the follower's, while followed
    std::string history;       // of the events received last
    bool from_first = false;   // restarted from the first event of a new history
    int64_t committed = 0;     // the host's seq of the newest event stored
    size_t pending = 0;        // events received and not yet stored
    bool paused = false;
    std::string state = "new";
    int64_t last_up_us = 0;  // when it was last up (0: not since utmpsd started)
    std::string problem;
    uint64_t undecodable = 0;
    std::optional<Clock::time_point> retry_at;
    std::optional<int64_t> rebase_to;  // for its next batch (FleetBatch::rebase_to)
    std::optional<double> lag_s;       // its latest stored batch: arrival to commit, seconds
  };

  static FleetStoreOptions StoreOptions() { return FleetStoreOptions{}; }

  Host* ById(size_t id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    auto h = hosts_.find(it->second);
    return h == hosts_.end() ? nullptr : &h->second;
  }

  void MakeFollower() {
    WatchOptions watch;
    watch.max_backoff_ms = config_.max_backoff_s * 1000;
    watch.silence_timeout_ms = config_.silence_s * 1000;
    watch.connect_timeout_ms = std::min<int64_t>(5000, config_.silence_s * 1000);
    watch.tls = config_.tls;
    follower_ = std::make_unique<SseFollower>(loop_, watch, this);
  }

  void SetState(Host& h, const std::string& state, const std::string& problem) {
    if (h.state == state && h.problem == problem) return;
    bool changed = h.state != state;
    int64_t since = WallUs();
    if (h.state == "up" && state != "up") h.last_up_us = since;
    h.state = state;
    h.problem = problem;
    if (changed) Spool();  // ruptime sees it up or down now
    std::string name = h.config.name;
    store_worker_->Post([this, name, state, problem, since, changed] {
      if (!write_store_) return;
      // The time the state began: kept while only the reason changes.
      (void)write_store_->SetHostState(name, state, problem, changed ? since : 0);
    });
  }

  void Follow(const std::string& name, const FleetHost& row) {
    auto it = hosts_.find(name);
    if (it == hosts_.end()) return;
    Host& h = it->second;
    // A row that rwho filled (the host ran rwhod before its utmpcd): the host's own events
    // from its first, stored after those.
    const bool was_rwho = row.history == "rwhod";
    h.history = was_rwho ? "" : row.history;
    h.committed = was_rwho ? 0 : row.last_seq;
    h.from_first = was_rwho;
    h.paused = false;
    h.retry_at.reset();
    h.id = follower_->Add(h.config.net, h.committed + 1);
    by_id_[*h.id] = name;
    if (h.state == "new" || h.state == "down") SetState(h, "connecting", h.problem);
  }

  void Unfollow(Host& h) {
    if (h.id) {
      follower_->Remove(*h.id);
      by_id_.erase(*h.id);
      h.id.reset();
    }
    h.pending = 0;
    h.paused = false;
    pending_.erase(h.config.name);
  }

  void Restart(Host& h, int64_t from) {
    Unfollow(h);
    h.from_first = from == 1;
    h.committed = from - 1;  // a pause resumes from here, not from the old history's seqs
    h.rebase_to.reset();
    h.id = follower_->Add(h.config.net, from);
    by_id_[*h.id] = h.config.name;
  }

  // Sends what arrived to the store, unless a batch is being stored (then it goes next).
  void Flush() {
    if (writing_ || pending_.empty() || !store_ok_) return;
    std::vector<FleetBatch> batches;
    for (auto& [name, list] : pending_)
      for (FleetBatch& b : list) batches.push_back(std::move(b));
    pending_.clear();
    for (auto& [name, h] : hosts_) h.pending = 0;
    writing_ = true;
    store_worker_->Post([this, instance = config_.instance, batches = std::move(batches)]() mutable {
      const auto start = std::chrono::steady_clock::now();
      Result<FleetStoreResult> stored =
          write_store_ ? write_store_->Store(batches, instance)
                       : Result<FleetStoreResult>(MakeError(ErrorCode::kIo, "not connected"));
      std::map<std::string, std::string> rejected;  // host: why the store refused its events
      if (!stored && stored.error().code == ErrorCode::kInvalidArgument && write_store_) {
        // The store refused what one host sent (a value it will not take): each host's
        // events are stored on their own, and the hosts refused are set aside, so that one
        // host cannot stop the fleet's storing.
        std::map<std::string, std::vector<FleetBatch>> by_host;
        for (const FleetBatch& b : batches) by_host[b.host].push_back(b);
        FleetStoreResult total;
        std::optional<Error> other;
        for (auto& [host, list] : by_host) {
          auto one = write_store_->Store(list, instance);
          if (one) {
            total.stored += one->stored;
            total.skipped += one->skipped;
            for (const auto& [kind, n] : one->stored_by_kind) total.stored_by_kind[kind] += n;
            total.not_owned.insert(total.not_owned.end(), one->not_owned.begin(),
                                   one->not_owned.end());
          } else if (one.error().code == ErrorCode::kInvalidArgument) {
            rejected[host] = one.error().message;
          } else {
            other = one.error();
            break;
          }
        }
        stored = other ? Result<FleetStoreResult>(tl::unexpected(*other))
                       : Result<FleetStoreResult>(std::move(total));
      }
      if (!stored && write_store_) write_store_.reset();  // a new connection at the next round
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::map<std::string, int64_t> newest;
      std::map<std::string, double> lag;  // by host: its oldest event's wait, arrival to commit
      const int64_t now_us = WallUs();
      for (const FleetBatch& b : batches) {
        if (b.events.empty() || rejected.contains(b.host)) continue;
        newest[b.host] = b.events.back().seq;
        // A lag is of events committed: not when the store failed, nor for a host another
        // instance holds (its batch was refused).
        if (b.received_us <= 0 || !stored ||
            std::find(stored->not_owned.begin(), stored->not_owned.end(), b.host) !=
                stored->not_owned.end()) {
          continue;
        }
        double waited = static_cast<double>(std::max<int64_t>(0, now_us - b.received_us)) / 1e6;
        lag[b.host] = std::max(lag[b.host], waited);
      }
      if (stored) {
        store_seconds_.Observe({}, seconds);
        for (const auto& [kind, n] : stored->stored_by_kind) {
          events_stored_by_kind_.Add({EventKindName(kind)}, static_cast<double>(n));
        }
      }
      loop_.Post([this, stored = std::move(stored), newest = std::move(newest),
                  rejected = std::move(rejected), lag = std::move(lag)] {
        OnStored(stored, newest, rejected);
        for (const auto& [name, waited] : lag) {
          if (auto it = hosts_.find(name); it != hosts_.end()) it->second.lag_s = waited;
        }
      });
    });
  }

  void OnStored(const Result<FleetStoreResult>& stored, const std::map<std::string, int64_t>& newest,
                const std::map<std::string, std::string>& rejected) {
    writing_ = false;
    if (!stored) {
      StoreDown(stored.error().message);
      return;
    }
    for (const auto& [name, why] : rejected) {
      auto it = hosts_.find(name);
      if (it == hosts_.end()) continue;
      Log(LogLevel::kError, "host {}: the store refused its events ({}); set aside for 10 minutes",
          name, why);
      Unfollow(it->second);
      SetState(it->second, "down", "the store refused its events: " + why);
      it->second.retry_at = Clock::now() + std::chrono::minutes(10);
    }
    events_stored_ += stored->stored;
    // The spool follows the sessions within 5 seconds (a full pass reads every open session:
    // not one per batch).
    if (stored->stored > 0 && !config_.rwho_spool.empty()) {
      if (Clock::now() - last_spool_ >= std::chrono::seconds(5)) {
        Spool();
      } else if (!spool_soon_) {
        spool_soon_ = true;
        spool_timer_.After(std::chrono::seconds(5), [this] {
          spool_soon_ = false;
          Spool();
        });
      }
    }
    std::set<std::string> refused(stored->not_owned.begin(), stored->not_owned.end());
    for (const std::string& name : refused) {
      auto it = hosts_.find(name);
      if (it == hosts_.end()) continue;
      Log(LogLevel::kInfo, "host {}: another instance holds it now", name);
      Unfollow(it->second);
      held_.erase(name);
    }
    for (const auto& [name, seq] : newest) {
      if (refused.contains(name)) continue;
      auto it = hosts_.find(name);
      if (it != hosts_.end()) it->second.committed = std::max(it->second.committed, seq);
    }
    if (stored->stored > 0) hub_.FetchNew();
    // Paused streams go on from what is stored, once nothing of theirs waits.
    for (auto& [name, h] : hosts_) {
      if (h.paused && h.pending == 0 && !pending_.contains(name)) {
        h.paused = false;
        h.id = follower_->Add(h.config.net, h.committed + 1);
        by_id_[*h.id] = name;
      }
    }
    Flush();
  }

  // The store failed: every stream stops; the lease rounds reconnect and, once the store
  // answers, follow each host again from what it committed.
  void StoreDown(const std::string& why) {
    if (store_ok_) Log(LogLevel::kError, "the fleet store failed: {}; following stops until it answers", why);
    store_ok_ = false;
    store_problem_ = why;
    for (auto& [name, h] : hosts_) Unfollow(h);
    pending_.clear();
    held_.clear();
    claim_timer_.After(std::chrono::seconds(1), [this] { Claim(); });
  }

  // A lease round: renew, take a share, give up what is above it.
  void Claim() {
    int64_t lease_ms = config_.lease_s * 1000;
    std::string instance = config_.instance;
    std::string url = config_.store_url;
    std::vector<std::string> known;
    for (const auto& [name, h] : hosts_) known.push_back(name);
    store_worker_->Post([this, lease_ms, instance, url, known = std::move(known)] {
      std::optional<Error> error;
      std::vector<std::string> held;
      std::vector<FleetHost> rows;
      if (!write_store_) {
        auto reopened = FleetStore::Open(url, StoreOptions());
        if (reopened) {
          write_store_ = std::move(*reopened);
        } else {
          error = reopened.error();
        }
      }
      if (write_store_) {
        auto claimed = write_store_->Claim(instance, lease_ms, known);
        auto hosts = claimed ? write_store_->Hosts() : Result<std::vector<FleetHost>>();
        if (!claimed) {
          error = claimed.error();
        } else if (!hosts) {
          error = hosts.error();
        } else {
          held = std::move(*claimed);
          rows = std::move(*hosts);
        }
        if (error) write_store_.reset();
      }
      loop_.Post([this, error, held = std::move(held), rows = std::move(rows)] {
        OnClaimed(error, held, rows);
      });
    });
  }

  void OnClaimed(const std::optional<Error>& error, const std::vector<std::string>& held,
                 const std::vector<FleetHost>& rows) {
    if (stopping_) return;
    if (error) {
      StoreDown(error->message);
      return;
    }
    if (!store_ok_) Log(LogLevel::kInfo, "the fleet store answers again");
    store_ok_ = true;
    store_problem_.clear();
    std::map<std::string, const FleetHost*> by_name;
    for (const FleetHost& r : rows) by_name[r.host] = &r;
    std::set<std::string> now(held.begin(), held.end());
    for (auto& [name, h] : hosts_) {
      if (!now.contains(name)) {
        if (held_.contains(name)) Log(LogLevel::kInfo, "host {}: given to another instance", name);
        Unfollow(h);
        continue;
      }
      bool followed = h.id || h.paused || pending_.contains(name);
      bool waiting = h.retry_at && Clock::now() < *h.retry_at;
      auto row = by_name.find(name);
      if (!followed && !waiting && row != by_name.end()) {
        if (!held_.contains(name))
          Log(LogLevel::kInfo, "host {}: following from seq {}", name, row->second->last_seq + 1);
        Follow(name, *row->second);
      }
    }
    held_ = std::move(now);
    claim_timer_.After(std::chrono::milliseconds(std::max<int64_t>(config_.lease_s * 1000 / 3, 500)),
                       [this] { Claim(); });
    Flush();
  }

  // Events other instances store reach this one's streams within a second.
  void PollOthers() {
    poll_timer_.After(std::chrono::seconds(1), [this] {
      hub_.FetchNew();
      RefreshOpenSessions();
      PollOthers();
    });
  }

  // The open sessions in memory (the query thread's) are brought up to date each second, and
  // read whole at start: a request for them (the dashboard's, for all of them) finds a second's
  // changes to read at most, not every session or a minute of changes.
  void RefreshOpenSessions() {
    if (refreshing_sessions_) return;
    refreshing_sessions_ = true;
    query_worker_->Post([this, url = config_.store_url] {
      if (!query_store_) {
        auto reopened = FleetStore::Open(url, StoreOptions());
        if (reopened) query_store_ = std::move(*reopened);
      }
      if (query_store_) {
        if (auto fresh = open_sessions_.Refresh(*query_store_); !fresh) {
          Log(LogLevel::kDebug, "the open sessions: {}", fresh.error().message);
          query_store_.reset();  // a new connection next time
        }
      }
      loop_.Post([this] { refreshing_sessions_ = false; });
    });
  }

  // rwho (docs/FLEET.md, "rwho and ruptime"). A rwhod packet, on the loop's thread: checked,
  // remembered for the spool, and stored on the store's thread as the events it brings.
  static std::vector<Network> Networks(const std::vector<std::string>& texts) {
    std::vector<Network> out;
    for (const std::string& t : texts)
      if (auto n = ParseNetwork(t)) out.push_back(*n);  // checked when the file was read
    return out;
  }

  // Whether a rwho name is a followed host's: its name, or the name's first label (rwhod
  // sends its host name without the domain), in any case.
  // Whether a rwho name is a followed host's (rwho_reserved_, made anew with the hosts).
  bool FollowedName(const std::string& name) const { return RwhoNameFollowed(name, rwho_reserved_); }
  std::vector<std::string> FollowedNames() const {
    std::vector<std::string> names;
    for (const auto& [followed, h] : hosts_) names.push_back(followed);
    return names;
  }

  // Says `line` unless 64 such lines were said already (a flood of names is counted, not
  // logged).
  void WarnRwho(const std::string& key, const std::string& line) {
    if (rwho_warned_.size() >= 64 || !rwho_warned_.insert(key).second) return;
    Log(LogLevel::kWarning, "rwho: {}", line);
  }

  void OnWhod(std::span<const uint8_t> datagram, const IpEndpoint& from, bool truncated) {
    const std::string address = FormatIpAddress(from.address);
    auto count = [&](const char* result) { rwho_packets_.Add({result}, 1); };
    // rwhod sends from its own port and takes nothing from any other; the source networks
    // are what the administrator trusts (the packet carries no proof of anything).
    bool trusted = std::any_of(rwho_networks_.begin(), rwho_networks_.end(),
                               [&](const Network& n) { return NetworkContains(n, address); });
    if (!trusted || from.port != kWhodPort) return count("source");
    const int64_t now_us = WallUs();
    const Clock::time_point now = Clock::now();
    auto status = truncated ? Result<WhodStatus>(MakeError(ErrorCode::kCorrupt, "over 2 KiB"))
                            : DecodeWhod(datagram, now_us / 1000000);
    if (!status) {
      if (rwho_malformed_++ % 1000 == 0)
        Log(LogLevel::kWarning, "rwho: a packet from {} left out ({} so far): {}",
            FormatEndpoint(from), rwho_malformed_, status.error().message);
      return count("malformed");
    }
    const std::string name = status->hostname;
    if (FollowedName(name)) {
      // A host the fleet follows is known by its utmpcd: a packet in its name is not taken.
      WarnRwho("followed " + name, fmt::format("a packet from {} names {}, a host followed by "
                                               "its utmpcd: not taken",
                                               address, name));
      return count("name");
    }
    auto it = rwho_hosts_.find(name);
    if (it == rwho_hosts_.end() && static_cast<int64_t>(rwho_hosts_.size()) >= config_.rwho_max_hosts) {
      WarnRwho("full", fmt::format("host {} (from {}) not taken in: [rwho] max_hosts = {} "
                                   "reached (others are counted, not logged)",
                                   name, address, config_.rwho_max_hosts));
      return count("full");
    }
    if (it != rwho_hosts_.end()) {
      RwhoHost& h = it->second;
      // A name is its address's while the host is up: another address may take it only
      // once it is down (two hosts of one name, or a forged packet, would undo each other's
      // sessions).
      if (h.address != address && !h.down && status->send_s == h.status.send_s) {
        return count("early");  // the same packet from its other interface
      }
      if (h.address != address && !h.down) {
        WarnRwho("moved " + name, fmt::format("a packet from {} names {}, heard from {}: not "
                                              "taken while {} is up",
                                              address, name, h.address, h.address));
        return count("name");
      }
      // rwhod sends every 3 minutes (and once when it starts): more often is a loop or a
      // flood, and each packet taken costs the store a query.
      if (now - h.heard < std::chrono::seconds(config_.rwho_min_interval_s)) return count("early");
    }
    if (it == rwho_hosts_.end()) {
      Log(LogLevel::kInfo, "rwho: taking in host {} (from {}), {} session(s)", name, address,
          status->entries.size());
      it = rwho_hosts_.emplace(name, RwhoHost{}).first;
    } else if (it->second.down) {
      Log(LogLevel::kInfo, "rwho: host {} heard again (from {})", name, address);
    }
    RwhoHost& h = it->second;
    h.status = *status;
    h.heard_us = now_us;
    h.heard = now;
    h.address = address;
    h.down = false;
    count("taken");
    store_worker_->Post([this, status = *status, now_us] { RwhoStore(status, now_us); });
    // rwho and ruptime see the host now, not at the next round: its file alone.
    if (!config_.rwho_spool.empty()) {
      WhodStatus file = *status;
      query_worker_->Post([this, dir = config_.rwho_spool, file = std::move(file)] {
        if (auto written = WriteSpoolFile(dir, "whod." + file.hostname, EncodeWhodSpool(file));
            !written) {
          SpoolProblem(dir, written.error().message);
        } else {
          SpoolWritten(dir);
        }
      });
    }
  }

  struct RwhoHost {
    WhodStatus status;  // its latest packet
    int64_t heard_us = 0;  // when (the wall clock: the spool's receive time)
    Clock::time_point heard;  // when (for intervals)
    std::string address;   // where from
    bool down = false;  // silent for 11 minutes
  };

  // For the API's routing, on the loop's thread: a host heard through rwho.
  std::function<bool(const std::string&)> HeardHost() {
    return [this](const std::string& name) { return rwho_hosts_.contains(name); };
  }

  // GET /v1/fleet/host of a rwho host: its latest packet, as GET /v1/host reports a host.
  static ApiResponse RwhoSummary(const std::string& name, const RwhoHost& h) {
    if (h.down) {
      return ErrorResponse(502, "host_unreachable", name + ": no rwhod packet for 11 minutes");
    }
    const WhodStatus& w = h.status;
    HostSummary s;
    s.hostname = name;
    s.now_us = w.send_s * 1000000;
    s.boot_time_us = w.boot_s * 1000000;
    s.uptime_s = std::max<int64_t>(0, w.send_s - w.boot_s);
    for (size_t i = 0; i < 3; ++i) s.load[i] = w.load100[i] / 100.0;
    std::set<std::string> users;
    for (const WhodEntry& e : w.entries) users.insert(e.user);
    s.users = static_cast<int64_t>(users.size());
    s.sessions = static_cast<int64_t>(w.entries.size());
    std::string o = "{\"api\":1,\"version\":\"rwhod\",";
    AppendHostFields(o, s, true);
    o += ",\"last_seq\":0}\n";
    ApiResponse r;
    r.body = std::move(o);
    return r;
  }

  // rwho hosts now followed under a longer name (web1 for web1.example.org), on the store's
  // thread or in Open: what they had open ends, and their rows say why they are heard no more.
  // One followed under its own name is left to Follow (its row is its utmpcd's now).
  static Result<void> RetireFollowed(FleetStore& store, const std::vector<FleetHost>& rows,
                                     const std::vector<std::string>& followed) {
    const std::set<std::string> reserved = RwhoReservedNames(followed);
    for (const FleetHost& h : rows) {
      if (h.history != "rwhod" || !RwhoNameFollowed(h.host, reserved)) continue;
      if (std::find(followed.begin(), followed.end(), h.host) != followed.end()) continue;
      std::optional<RwhoRow> row;
      auto retired = RetireRwhoHost(store, h.host, WallUs(), row);
      if (!retired) return tl::unexpected(retired.error());
      if (retired->stored > 0) {
        Log(LogLevel::kInfo, "rwho: host {} is followed by its utmpcd under a longer name: its "
                             "sessions heard through rwho end",
            h.host);
      }
      if (h.state != "down") {
        auto set = store.SetHostState(h.host, "down", "followed by its utmpcd under a longer name",
                                      WallUs());
        if (!set) return set;
      }
    }
    return {};
  }

  // On the store's thread: the events a packet brings, against what the store has open.
  void RwhoStore(const WhodStatus& status, int64_t received_us) {
    const std::string& name = status.hostname;
    auto fail = [&](const Error& e) {
      Log(LogLevel::kWarning, "rwho: host {}: its packet not stored: {}", name, e.message);
      if (auto& row = rwho_rows_[name]) row->reread = true;  // the store's row, read again
    };
    if (!write_store_) return fail(Error{ErrorCode::kIo, "the fleet store is not connected"});
    std::optional<RwhoRow>& row = rwho_rows_[name];
    auto stored = StoreRwhoStatus(*write_store_, status, received_us, row);
    if (!stored) return fail(stored.error());
    for (const auto& [kind, n] : stored->stored_by_kind)
      events_stored_by_kind_.Add({EventKindName(kind)}, static_cast<double>(n));
    if (stored->stored > 0) {
      loop_.Post([this, n = stored->stored] {
        events_stored_ += n;
        hub_.FetchNew();
      });
    }
    if (!row->up) {
      if (auto set = write_store_->SetHostState(name, "up", "", received_us); !set) return fail(set.error());
      row->up = true;
    }
  }

  // Every 30 s: rwho hosts silent for 11 minutes are down (as ruptime says), and the spool is
  // written.
  void RwhoRound() {
    const Clock::time_point now = Clock::now();
    for (auto it = rwho_hosts_.begin(); it != rwho_hosts_.end();) {
      const std::string& name = it->first;
      RwhoHost& h = it->second;
      if (h.down && now - h.heard > kRwhoForget) {
        // Gone for a day: its place (max_hosts) is freed; its row and spool file stay.
        it = rwho_hosts_.erase(it);
        continue;
      }
      if (!h.down && now - h.heard > kRwhoDown) {
        h.down = true;
        Log(LogLevel::kWarning, "rwho: host {}: no packet for 11 minutes: down", name);
        const int64_t since = h.heard_us + std::chrono::duration_cast<std::chrono::microseconds>(kRwhoDown).count();
        store_worker_->Post([this, name = name, since] {
          if (write_store_) (void)write_store_->SetHostState(name, "down", "no rwhod packet for 11 minutes", since);
          if (auto& row = rwho_rows_[name]) row->up = false;  // up again when heard
        });
      }
      ++it;
    }
    Spool();
    rwho_timer_.After(std::chrono::seconds(30), [this] { RwhoRound(); });
  }

  // The spool written on the query thread (one write at a time; one asked for meanwhile is
  // done after it).
  void Spool() {
    if (config_.rwho_spool.empty()) return;
    if (spooling_) {
      spool_again_ = true;
      return;
    }
    spooling_ = true;
    last_spool_ = Clock::now();
    const int64_t now_us = WallUs();
    {
      std::vector<WhodStatus> heard;
      for (const auto& [name, h] : rwho_hosts_) {
        heard.push_back(h.status);
        heard.back().recv_s = h.heard_us / 1000000;
      }
      // The followed hosts: this instance's own know their state here (the store may not
      // have it yet) and when they were last up; the others', from the store.
      std::map<std::string, std::pair<std::string, int64_t>> followed;
      for (const FleetHostConfig& h : config_.hosts) {
        auto it = hosts_.find(h.name);
        bool mine = it != hosts_.end() && held_.contains(h.name);
        followed[h.name] = mine ? std::make_pair(it->second.state, it->second.last_up_us)
                                : std::make_pair(std::string(), int64_t{0});
      }
      query_worker_->Post([this, dir = config_.rwho_spool, url = config_.store_url,
                           heard = std::move(heard), followed = std::move(followed),
                           now_s = now_us / 1000000] {
        WriteSpool(dir, url, heard, followed, now_s);
        loop_.Post([this] {
          spooling_ = false;
          if (std::exchange(spool_again_, false)) Spool();
        });
      });
    }
  }

  // On the query thread: a spool problem, said once until it changes.
  void SpoolProblem(const std::string& dir, const std::string& what) {
    if (what != spool_problem_) Log(LogLevel::kWarning, "rwho spool {}: {}", dir, what);
    spool_problem_ = what;
  }

  // One spool file, written whole under another name, then renamed: a reader sees the old or
  // the new. The temporary name is made anew (O_EXCL, no symbolic link followed, nothing that
  // is not a regular file written to), so that nothing put there beforehand is written through
  // or blocks the thread.
  static Result<void> WriteSpoolFile(const std::string& dir, const std::string& file,
                                     const std::vector<uint8_t>& bytes) {
    const std::string temp = dir + "/." + file + ".new";
    ::unlink(temp.c_str());
    int fd = ::open(temp.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0) return tl::unexpected(ErrnoError(file, errno));
    struct stat st;
    bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::fchmod(fd, 0644) == 0 &&
              ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    int error = errno;
    ::close(fd);
    if (ok && ::rename(temp.c_str(), (dir + "/" + file).c_str()) == 0) return {};
    if (ok) error = errno;
    ::unlink(temp.c_str());
    return tl::unexpected(ErrnoError(file, error));
  }

  // On the query thread: whod.NAME for each host heard by rwho and each host followed (its
  // open sessions and boot, up while its stream is), and no other whod.* file in `dir`.
  void WriteSpool(const std::string& dir, const std::string& url, const std::vector<WhodStatus>& heard,
                  const std::map<std::string, std::pair<std::string, int64_t>>& followed,
                  int64_t now_s) {
    auto problem = [&](const std::string& what) { SpoolProblem(dir, what); };
    if (!query_store_) {
      auto reopened = FleetStore::Open(url, StoreOptions());
      if (!reopened) return problem(reopened.error().message);
      query_store_ = std::move(*reopened);
    }
    FleetFilter all;
    all.limit = 10000000;
    auto rows = query_store_->Hosts();
    auto open = rows ? query_store_->OpenSessions(all) : Result<std::vector<FleetSession>>();
    auto boots = open ? query_store_->OpenBoots() : Result<std::vector<FleetSession>>();
    if (!rows || !open || !boots) {
      query_store_.reset();
      return problem(!rows ? rows.error().message : !open ? open.error().message : boots.error().message);
    }
    std::map<std::string, std::vector<FleetSession>> by_host;
    for (auto* list : {&*open, &*boots})
      for (FleetSession& s : *list) by_host[s.hostname].push_back(std::move(s));
    std::map<std::string, std::vector<uint8_t>> files;
    for (const WhodStatus& s : heard) files["whod." + s.hostname] = EncodeWhodSpool(s);
    // rwho hosts not heard since utmpsd started keep the file of their last packet (ruptime
    // calls them down 11 minutes after it), as rwhod keeps them.
    std::set<std::string> keep;
    for (const FleetHost& h : *rows)
      if (h.history == "rwhod") keep.insert("whod." + h.host);
    for (const FleetHost& h : *rows) {
      auto f = followed.find(h.host);
      if (f == followed.end() || !SpoolName(h.host)) continue;
      const std::string& state = f->second.first.empty() ? h.state : f->second.first;
      if (state == "new") continue;
      // Up: heard now. Else when it was last up, or (not up since utmpsd started) long ago:
      // ruptime says "down", never "up" for a host whose stream is not.
      const int64_t last_up_s = f->second.second / 1000000;
      int64_t heard_s = state == "up" ? now_s : last_up_s > 0 ? last_up_s : 1;
      if (heard_s <= 0) continue;
      files["whod." + h.host] = EncodeWhodSpool(SpoolStatus(h.host, by_host[h.host], now_s, heard_s));
    }
    std::string failed;  // the first file that could not be written; the others are
    for (const auto& [file, bytes] : files) {
      if (auto written = WriteSpoolFile(dir, file, bytes); !written && failed.empty())
        failed = written.error().message;
    }
    // The spool is utmpsd's: whod.* files of hosts it no longer has go.
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.starts_with("whod.") && !files.contains(n) && !keep.contains(n))
          ::unlinkat(::dirfd(d), n.c_str(), 0);
      }
      ::closedir(d);
    }
    if (!failed.empty()) return problem(failed);
    SpoolWritten(dir);
  }

  // On the query thread: the spool written without a problem.
  void SpoolWritten(const std::string& dir) {
    if (!spool_problem_.empty()) Log(LogLevel::kInfo, "rwho spool {}: written again", dir);
    spool_problem_.clear();
  }

  // Hourly, whatever retention_days is now (SIGHUP may set it).
  void Retention() {
    retention_timer_.After(std::chrono::hours(1), [this] { Retention(); });
    if (config_.retention_days <= 0) return;
    int64_t before = WallUs() - config_.retention_days * 86400LL * 1000000;
    store_worker_->Post([this, before] {
      if (!write_store_) return;
      auto gone = write_store_->DropOlderThan(before);
      if (!gone) Log(LogLevel::kWarning, "retention: {}", gone.error().message);
      loop_.Post([this] { hub_.ForgetPages(); });
    });
  }

  void Reload() {
    auto loaded = LoadFleetConfig(config_path_, config_required_, options_.hosts_file);
    if (!loaded) {
      Log(LogLevel::kError, "SIGHUP: keeping the configuration in force: {}", loaded.error().message);
      return;
    }
    FleetConfig next = std::move(*loaded);
    if (options_.overrides) options_.overrides(next);
    next.instance = config_.instance;  // a lease holder keeps its name
    if (next.store_url != config_.store_url)
      Log(LogLevel::kWarning, "SIGHUP: a new [store] url needs a restart; keeping the store in use");
    next.store_url = config_.store_url;
    if (config_.tls_server && next.tls_server) {
      if (auto ok = http_->ReloadTls(*next.tls_server); !ok)
        Log(LogLevel::kError, "SIGHUP: keeping the TLS certificate served: {}", ok.error().message);
    } else if (config_.tls_server.has_value() != next.tls_server.has_value()) {
      Log(LogLevel::kWarning, "SIGHUP: turning [tls] on or off needs a restart");
    }
    // Hosts whose address or credentials changed are followed anew; removed ones let go.
    std::map<std::string, FleetHostConfig> wanted;
    for (const FleetHostConfig& h : next.hosts) wanted[h.name] = h;
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      auto w = wanted.find(it->first);
      auto files = [](const FleetHostConfig& c) {
        return c.net.tls_files ? std::make_tuple(true, c.net.tls_files->ca_file,
                                                 c.net.tls_files->certificate, c.net.tls_files->key)
                               : std::make_tuple(false, std::string(), std::string(), std::string());
      };
      bool same = w != wanted.end() && w->second.url == it->second.config.url &&
                  w->second.net.token == it->second.config.net.token &&
                  files(w->second) == files(it->second.config);
      if (!same) {
        Unfollow(it->second);
        if (w == wanted.end()) {
          held_.erase(it->first);
          it = hosts_.erase(it);
          continue;
        }
        it->second.config = w->second;
        held_.erase(it->first);  // followed again at the next lease round
      }
      ++it;
    }
    for (const auto& [name, h] : wanted)
      if (!hosts_.contains(name)) hosts_[name].config = h;
    if (next.rwho_listen != config_.rwho_listen)
      Log(LogLevel::kWarning, "SIGHUP: a new [rwho] listen needs a restart; keeping the one in use");
    next.rwho_listen = config_.rwho_listen;
    rwho_networks_ = Networks(next.rwho_networks);
    config_ = std::move(next);
    rwho_reserved_ = RwhoReservedNames(FollowedNames());
    // A name the configuration now follows is its utmpcd's from now on.
    // Followed under its own name, the row is its utmpcd's now (Follow); under a longer one
    // (web1.example.org for web1), what rwho had open ends.
    std::vector<std::string> now_followed;
    std::erase_if(rwho_hosts_, [&](const auto& entry) {
      if (!FollowedName(entry.first)) return false;
      now_followed.push_back(entry.first);
      return true;
    });
    if (!config_.rwho_listen.empty()) {
      store_worker_->Post([this, now_followed, names = FollowedNames()] {
        for (const std::string& name : now_followed) rwho_rows_.erase(name);
        if (!write_store_) return;
        auto rows = write_store_->Hosts();
        auto retired = rows ? RetireFollowed(*write_store_, *rows, names)
                            : Result<void>(tl::unexpected(rows.error()));
        if (!retired) Log(LogLevel::kWarning, "rwho: {}", retired.error().message);
      });
    }
    api_ = std::make_shared<const FleetApi>(ApiOptionsOf(config_, options_.version, server_metrics_, HeardHost()));
    std::vector<std::string> names;
    for (const FleetHostConfig& h : config_.hosts) names.push_back(h.name);
    store_worker_->Post([this, names] {
      if (write_store_) (void)write_store_->SetHosts(names);
    });
    Log(LogLevel::kInfo, "SIGHUP: configuration read again: {} host(s)", config_.hosts.size());
  }

  void Stop() {
    stopping_ = true;
    for (auto& [name, h] : hosts_) Unfollow(h);
    claim_timer_.Cancel();
    // Let the others take this instance's hosts at once; wait at most two seconds.
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    std::string instance = config_.instance;
    store_worker_->Post([this, done, instance] {
      if (write_store_) (void)write_store_->Release(instance);
      done->set_value();
    });
    future.wait_for(std::chrono::seconds(2));
    loop_.Stop();
  }

  FleetHealth Health() const {
    FleetHealth h;
    h.store_ok = store_ok_;
    h.store_problem = store_problem_;
    h.store_kind = write_store_kind_;
    for (const auto& [name, host] : hosts_) {
      if (!held_.contains(name)) continue;
      ++h.hosts_followed;
      if (host.state == "up") ++h.hosts_up;
    }
    h.events_stored = events_stored_;
    if (http_) h.connections = http_->stats().connections;
    h.streams = static_cast<int64_t>(hub_.streams());
    return h;
  }

 public:
  void InitHosts() {
    for (const FleetHostConfig& h : config_.hosts) hosts_[h.name].config = h;
    rwho_reserved_ = RwhoReservedNames(FollowedNames());
  }

 private:
  FleetServerOptions options_;
  FleetConfig config_;
  // GET /metrics: what port 430 counts (ServerMetrics) and the fleet's own families. Before
  // api_, which is made with server_metrics_.
  std::shared_ptr<MetricsRegistry> metrics_ = std::make_shared<MetricsRegistry>();
  std::shared_ptr<ServerMetrics> server_metrics_ = std::make_shared<ServerMetrics>(
      metrics_, "utmpsd", options_.version,
      std::vector<std::string>{"/v1/hosts", "/v1/fleet/host", "/v1/fleet/sessions",
                               "/v1/fleet/history", "/v1/fleet/failed", "/v1/fleet/lastlog",
                               "/v1/fleet/events", "/v1/access", "/healthz", "/metrics"});
  MetricFamily& host_states_ = metrics_->Add(
      "utmpsd_hosts",
      "Hosts configured, by state: up, connecting, down, new (never reached) for those this "
      "instance follows; elsewhere for those another instance follows or nobody holds.",
      MetricType::kGauge, {"state"});
  MetricFamily& host_up_ = metrics_->Add(
      "utmpsd_host_up", "1 while this instance follows the host's event stream, else 0.",
      MetricType::kGauge, {"host"});
  MetricFamily& host_lag_ = metrics_->Add(
      "utmpsd_host_lag_seconds",
      "How long the host's latest stored events waited in utmpsd, from their arrival to their "
      "commit.",
      MetricType::kGauge, {"host"});
  MetricFamily& events_stored_by_kind_ = metrics_->Add(
      "utmpsd_events_stored_total", "Events stored in the fleet store by this instance, by kind.",
      MetricType::kCounter, {"kind"});
  MetricFamily& store_seconds_ = metrics_->Add(
      "utmpsd_store_seconds",
      "How long storing a batch of the hosts' events took (one transaction for all hosts).",
      MetricType::kHistogram, {}, LatencyBuckets());
  MetricFamily& store_up_ = metrics_->Add(
      "utmpsd_store_up", "1 while the fleet store takes events, 0 while it is down.",
      MetricType::kGauge);
  std::string config_path_;
  bool config_required_ = false;
  EventLoop loop_;
  std::shared_ptr<const FleetApi> api_;
  std::unique_ptr<FleetStore> write_store_;  // the store worker's
  std::unique_ptr<FleetStore> query_store_;  // the query worker's
  OpenSessionsView open_sessions_;           // the query worker's
  bool refreshing_sessions_ = false;         // a refresh of it is posted (the loop's)
  std::unique_ptr<FleetStore> feed_store_;   // the loop's
  std::string write_store_kind_;  // set in Open, read on the loop thread
  std::string store_name_;
  SseHub hub_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<SseFollower> follower_;
  std::map<std::string, Host> hosts_;
  std::unordered_map<size_t, std::string> by_id_;
  std::set<std::string> held_;
  std::map<std::string, std::vector<FleetBatch>> pending_;
  bool writing_ = false;
  bool store_ok_ = true;
  bool stopping_ = false;
  std::string store_problem_;
  int64_t events_stored_ = 0;
  int64_t newest_position_ = 0;
  int64_t queued_ = 0;
  uint64_t refused_busy_ = 0;   // queries and host summaries answered 503 busy (the loop's)
  int64_t proxies_queued_ = 0;  // GET /v1/fleet/host requests waiting or asking (the loop's)
  static constexpr int64_t kMaxQueuedProxies = 16;
  Timer claim_timer_, poll_timer_, retention_timer_;
  // rwho: the hosts heard (the loop's), what the store has of them (the store thread's).
  static constexpr auto kRwhoDown = std::chrono::minutes(11);  // ruptime's "down"
  static constexpr auto kRwhoForget = std::chrono::hours(24);
  std::unique_ptr<DatagramReceiver> rwho_;
  std::vector<Network> rwho_networks_;
  std::map<std::string, RwhoHost> rwho_hosts_;
  std::set<std::string> rwho_warned_;  // names refused, said once each
  std::set<std::string> rwho_reserved_;  // the followed hosts' names, for rwho (the loop's)
  uint64_t rwho_malformed_ = 0;
  std::map<std::string, std::optional<RwhoRow>> rwho_rows_;  // the store thread's
  bool spooling_ = false;
  bool spool_again_ = false;
  bool spool_soon_ = false;
  Clock::time_point last_spool_{};
  std::string spool_problem_;  // the query thread's
  Timer rwho_timer_, spool_timer_;
  MetricFamily& rwho_packets_ = metrics_->Add(
      "utmpsd_rwho_packets_total",
      "rwhod packets received on [rwho] listen, by what became of them: taken, source (not "
      "from port 513 of a network in [rwho] networks), malformed, name (a followed host's), "
      "full ([rwho] max_hosts), early (sooner than [rwho] min_interval_s after the host's "
      "last).",
      MetricType::kCounter, {"result"});
  MetricFamily& rwho_host_states_ = metrics_->Add(
      "utmpsd_rwho_hosts",
      "Hosts heard through rwho since utmpsd started: up, or down (silent for 11 minutes).",
      MetricType::kGauge, {"state"});
  // Last: their threads stop (joined) before anything they use goes.
  std::optional<Worker> query_worker_;
  std::optional<Worker> proxy_worker_;  // GET /v1/fleet/host: asks the host
  std::optional<Worker> store_worker_;
};

FleetServer::FleetServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FleetServer::~FleetServer() = default;

Result<std::unique_ptr<FleetServer>> FleetServer::Open(FleetServerOptions options) {
  const std::string url = options.config.store_url;
  auto write = FleetStore::Open(url);
  if (!write) return tl::unexpected(write.error());
  auto query = FleetStore::Open(url);
  if (!query) return tl::unexpected(query.error());
  auto feed = FleetStore::Open(url);
  if (!feed) return tl::unexpected(feed.error());
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*write), std::move(*query),
                                     std::move(*feed));
  impl->InitHosts();
  if (auto opened = impl->Open(); !opened) return tl::unexpected(opened.error());
  return std::unique_ptr<FleetServer>(new FleetServer(std::move(impl)));
}

std::vector<std::string> FleetServer::endpoints() const { return impl_->endpoints(); }

void FleetServer::Run(const std::string& config_path, bool config_required,
                      const std::function<void()>& ready) {
  impl_->Run(config_path, config_required, ready);
}

}  // namespace utmpcd
