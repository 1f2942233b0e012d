// Api: the answers of port 431's HTTP endpoints (docs/PROTOCOL.md), without the network. The
// HTTP server (net/http_server.h) reads a request and calls Handle; every endpoint is routed
// here, the event stream included: Handle decides where a stream starts and what it says
// first, and the SSE hub (net/sse_hub.h) sends it, framed by EventFrame.
//
// An Api is used by one thread, the daemon's API thread. It reads the history through its own
// read-only connection to the store, so queries never wait on (nor delay) the ingest, and it
// learns the live sessions from a LiveView the ingest thread keeps current.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/host_summary.h"
#include "api/request.h"
#include "api/server_metrics.h"
#include "api/wire_json.h"
#include "core/event.h"
#include "core/result.h"
#include "sources/utmp_snapshot.h"

namespace utmpcd {

class HistoryReader;
class Query;
class SqliteStore;

// The live sessions, shared between the thread that tracks them and the threads that answer
// about them. Thread-safe.
class LiveView {
 public:
  void Set(std::vector<LiveSession> sessions);
  std::shared_ptr<const std::vector<LiveSession>> Get() const;

  // Why events are not being stored now ("" while they are): the store cannot be written (a
  // read-only file system), or it refused a batch that waits for a retry. /healthz says it.
  void SetIngestProblem(std::string problem);
  std::string IngestProblem() const;

 private:
  mutable std::mutex mutex_;
  std::string ingest_problem_;
  std::shared_ptr<const std::vector<LiveSession>> sessions_ =
      std::make_shared<const std::vector<LiveSession>>();
};

struct ApiOptions {
  std::string database;        // the daemon's history, opened read-only
  std::string boot_id;         // this boot, "" when unknown
  int64_t boot_time_us = 0;
  std::string version;         // the daemon's release
  // This history's id (16 hex digits, the store's meta "history_id"): event ids are SEQ@ID, so
  // a client resuming with an id of another history (the database was replaced) is told so.
  std::string history_id;
  // Who may ask what (api/access.h).
  AccessPolicy access;
  // This host's names: a request from loopback whose Host field names another is refused
  // (HostIsThisHost, api/access.h).
  std::vector<std::string> host_names{};
  // A log line per request: the peer, the rule that gave its tier, the tier, the request and
  // the status ([log] access).
  bool access_log = false;
  // GET /metrics (the sessions tier), and each request counted; none: 404, nothing counted.
  // Shared by the daemon's two Apis (the loop's and the query thread's).
  std::shared_ptr<ServerMetrics> metrics{};
};

class Api {
 public:
  static Result<std::unique_ptr<Api>> Open(const ApiOptions& options,
                                           std::shared_ptr<const LiveView> live);
  ~Api();

  // The answer to `request` (HEAD gets the same, the server drops the body). For
  // /v1/events, a response whose `stream` says where the stream starts.
  ApiResponse Handle(const ApiRequest& request);
  // Handle of a GET of `target` as root on the Unix socket (the full tier).
  ApiResponse Get(std::string_view target);

  // Who may ask what from now on (a configuration reloaded), and what the UDP server asks;
  // the host's names the Host field is checked against.
  void SetAccess(AccessPolicy policy, bool access_log, std::vector<std::string> host_names) {
    options_.access = std::move(policy);
    options_.access_log = access_log;
    options_.host_names = std::move(host_names);
  }
  const AccessPolicy& access() const { return options_.access; }
  // Where GET /healthz reads the server's counts (none: it shows none).
  void SetStats(std::function<ServerStats()> stats) { stats_ = std::move(stats); }
  // Whether Handle would answer `request` with a query of the stored history (/v1/history,
  // /v1/failed, /v1/lastlog asked with the tier they need): the answers that may take long,
  // which the daemon computes on a thread of their own (utmpcd/api_server.h). Cheap: the
  // access is decided and the target parsed, nothing is read.
  bool QueriesHistory(const ApiRequest& request) const;
  // A time budget for the answers Handle gives from now on: a query still running at
  // `deadline` ends, answered 503 over_budget with Retry-After. nullopt lifts it.
  void SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline);

  // The host summary (GET /v1/host, the UDP summary). Cheap: no query of the store.
  HostSummary Summary() const;

  // Up to `limit` stored events with seq > after_seq, oldest first: what the event stream
  // sends. Also updates last_seq().
  Result<std::vector<Event>> EventsAfter(int64_t after_seq, int64_t limit);
  // The newest seq seen by EventsAfter or ReadLastSeq.
  int64_t last_seq() const { return last_seq_; }
  Result<int64_t> ReadLastSeq();
  // Closes the read connections to the history and opens them again (ApiServer::ReopenStore).
  // On failure every request is answered 503 until a Reopen succeeds.
  Result<void> Reopen();
  // Thread-safe (while no other thread opens or closes them): what runs on its connections to
  // the history now ends at once, failing (stopping the daemon).
  void Interrupt();
  // Closes them (every request is answered 503 until a Reopen): a process's connections to
  // the file must all let go of it before any reopens (ApiServer::ReopenStore).
  void Close();

 private:
  Api(const ApiOptions& options, std::shared_ptr<const LiveView> live);
  ApiResponse Route(const ApiRequest& request, const Access& access);
  ApiResponse Events(const ApiRequest& request, Tier tier);
  ApiResponse Host();
  ApiResponse Sessions(const Query& query);
  ApiResponse History(const Query& query, bool failed);
  ApiResponse Lastlog(const Query& query);
  ApiResponse Healthz();
  // The 503 of a query past its deadline, when the deadline passed and `error` (if any) is
  // the interruption it caused; nullopt else.
  std::optional<ApiResponse> OverBudget(const Error* error = nullptr) const;

  ApiOptions options_;
  std::shared_ptr<const LiveView> live_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<HistoryReader> history_;
  std::unique_ptr<HistoryReader> failed_;
  int64_t last_seq_ = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::function<ServerStats()> stats_;
};

// One event as a Server-Sent Events message: "id: SEQ@HISTORY\nevent: KIND\ndata: {...}\n\n"
// ("id: SEQ" when `history_id` is empty).
std::string EventFrame(const Event& event, std::string_view history_id);

// An event id as the stream sends it: "812@3f2a9c1d0b7e4a55", or "812" with no history id.
std::string EventId(int64_t seq, std::string_view history_id);

// A Last-Event-ID as a client sends it back: SEQ@HISTORY, or a bare SEQ (of a client that made
// it up, or of a daemon before history ids). nullopt for anything else: a seq must be a
// decimal integer >= 0, a history id 1 to 32 hex digits.
struct ResumeId {
  int64_t seq = 0;
  std::string history;  // "" for a bare seq
};
std::optional<ResumeId> ParseEventId(std::string_view text);

}  // namespace utmpcd
