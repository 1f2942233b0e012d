#include "api/api.h"

#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "api/access_gate.h"
#include "api/history_json.h"
#include "api/query.h"
#include "api/web_page.h"
#include "core/log.h"
#include "api/wire_json.h"
#include "core/local_time.h"
#include "core/passwd_walk.h"
#include "core/text.h"
#include "core/timestamp.h"
#include "core/uid_range.h"
#include "formats/utmp.h"
#include "sources/host_state.h"
#include "store/history_read.h"
#include "store/sqlite_store.h"

namespace utmpcd {
namespace {

int64_t NowUs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}


// Seconds since the terminal last saw input: the access time of /dev/LINE, as w(1) reads it.
std::optional<int64_t> IdleSeconds(const std::string& line, int64_t now_us) {
  // utmp is written by root, but its text is still not a path to follow anywhere.
  if (line.empty() || line[0] == '/' || line.find("..") != std::string::npos ||
      line.find('\0') != std::string::npos) {
    return std::nullopt;
  }
  struct stat st{};
  if (::stat(("/dev/" + line).c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) return std::nullopt;
  int64_t idle = SecondsOf(now_us) - st.st_atim.tv_sec;
  return std::max<int64_t>(idle, 0);
}

ApiResponse Answer(int status, std::string body) {
  ApiResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

ApiResponse Ok(std::string body) {
  body += '\n';
  return Answer(200, std::move(body));
}

ApiResponse BadParameter(const Error& error) {
  return ErrorResponse(400, "bad_parameter", error.message);
}

ApiResponse Unavailable(const Error& error) {
  return ErrorResponse(503, "unavailable", error.message);
}

// The tier an endpoint needs; nullopt for a path that is none (404 for everybody).
std::optional<Tier> NeededTier(std::string_view path) {
  if (path == "/v1/host" || path == "/healthz" || path == "/v1/access") return Tier::kSummary;
  // Counts and the server's health, no names: still more than a stranger needs to know.
  if (path == "/v1/sessions" || path == "/metrics") return Tier::kSessions;
  if (path == "/v1/history" || path == "/v1/lastlog" || path == "/v1/events") {
    return Tier::kHistory;
  }
  if (path == "/v1/failed") return Tier::kFull;
  return std::nullopt;
}

bool Wanted(const std::vector<std::string>& wanted, const std::string& value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

}  // namespace

void LiveView::Set(std::vector<LiveSession> sessions) {
  auto shared = std::make_shared<const std::vector<LiveSession>>(std::move(sessions));
  std::lock_guard lock(mutex_);
  sessions_ = std::move(shared);
}

std::shared_ptr<const std::vector<LiveSession>> LiveView::Get() const {
  std::lock_guard lock(mutex_);
  return sessions_;
}

void LiveView::SetIngestProblem(std::string problem) {
  std::lock_guard lock(mutex_);
  ingest_problem_ = std::move(problem);
}

std::string LiveView::IngestProblem() const {
  std::lock_guard lock(mutex_);
  return ingest_problem_;
}

std::string EventId(int64_t seq, std::string_view history_id) {
  return history_id.empty() ? std::to_string(seq) : fmt::format("{}@{}", seq, history_id);
}

std::optional<ResumeId> ParseEventId(std::string_view text) {
  ResumeId id;
  size_t at = text.find('@');
  std::string_view seq = text.substr(0, at);
  auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), id.seq);
  if (seq.empty() || ec != std::errc() || end != seq.data() + seq.size() || id.seq < 0) {
    return std::nullopt;
  }
  if (at == std::string_view::npos) return id;
  std::string_view history = text.substr(at + 1);
  if (history.empty() || history.size() > 32 ||
      history.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return std::nullopt;
  }
  id.history = std::string(history);
  return id;
}

std::string EventFrame(const Event& event, std::string_view history_id) {
  std::string frame = fmt::format("id: {}\nevent: {}\ndata: ", EventId(event.seq, history_id),
                                  EventKindName(event.kind));
  AppendEventJson(frame, event);  // JSON escapes every newline: one data line
  frame += "\n\n";
  return frame;
}

Api::Api(const ApiOptions& options, std::shared_ptr<const LiveView> live)
    : options_(options), live_(std::move(live)) {}

Api::~Api() = default;

Result<std::unique_ptr<Api>> Api::Open(const ApiOptions& options,
                                       std::shared_ptr<const LiveView> live) {
  std::unique_ptr<Api> api(new Api(options, std::move(live)));
  if (auto opened = api->Reopen(); !opened) return tl::unexpected(opened.error());
  return api;
}

void Api::Interrupt() {
  if (store_) store_->Interrupt();
  if (history_) history_->Interrupt();
  if (failed_) failed_->Interrupt();
}

void Api::Close() {
  store_.reset();
  history_.reset();
  failed_.reset();
}

Result<void> Api::Reopen() {
  // The old connections go first: the point is that none of them holds the file any more.
  Close();
  auto store = SqliteStore::Open(options_.database, {.read_only = true});
  if (!store) return tl::unexpected(store.error());
  auto history = HistoryReader::Open(options_.database, false);
  if (!history) return tl::unexpected(history.error());
  auto failed = HistoryReader::Open(options_.database, true);
  if (!failed) return tl::unexpected(failed.error());
  store_ = std::move(*store);
  history_ = std::move(*history);
  failed_ = std::move(*failed);
  if (auto seq = ReadLastSeq(); !seq) return tl::unexpected(seq.error());
  return {};
}

Result<int64_t> Api::ReadLastSeq() {
  if (!store_) return MakeError(ErrorCode::kIo, options_.database + ": not open (reopening failed)");
  auto seq = store_->LastSeq();
  if (seq) last_seq_ = std::max(last_seq_, *seq);
  return seq;
}

Result<std::vector<Event>> Api::EventsAfter(int64_t after_seq, int64_t limit) {
  if (!store_) return MakeError(ErrorCode::kIo, options_.database + ": not open (reopening failed)");
  auto events = store_->EventsFrom(after_seq, limit);
  if (events && !events->empty()) last_seq_ = std::max(last_seq_, events->back().seq);
  return events;
}

HostSummary Api::Summary() const {
  HostSummary s;
  char name[256] = "";
  if (::gethostname(name, sizeof name - 1) == 0) s.hostname = name;
  s.boot_id = options_.boot_id;
  s.now_us = NowUs();
  s.boot_time_us = options_.boot_time_us;
  timespec up{};
  if (clock_gettime(CLOCK_BOOTTIME, &up) == 0) s.uptime_s = up.tv_sec;
  s.load = LoadAverage();
  auto sessions = live_->Get();
  std::set<std::string_view> users;
  for (const LiveSession& session : *sessions) users.insert(session.user);
  s.users = static_cast<int64_t>(users.size());
  s.sessions = static_cast<int64_t>(sessions->size());
  s.last_seq = last_seq_;
  return s;
}

ApiResponse Api::Get(std::string_view target) {
  ApiRequest request;
  request.target = target;
  request.peer.transport = Peer::Transport::kUnix;
  request.peer.uid = 0;
  return Handle(request);
}

ApiResponse Api::Handle(const ApiRequest& request) {
  // The tier first, once: no endpoint decides it again.
  Access access = DecideAccess(request, options_.access);
  ApiResponse response = Route(request, access);
  if (options_.access_log) LogAccess(request, access, response.status);
  if (options_.metrics) options_.metrics->CountRequest(request.target, response.status, access.tier);
  return response;
}

bool Api::QueriesHistory(const ApiRequest& request) const {
  std::string_view target = request.target;
  // Most requests are told apart by their path as written; only one with an escape ("%68")
  // is decoded first (Handle parses every request anyway: not twice on the hot path).
  std::string_view written = target.substr(0, target.find('?'));
  if (written.find('%') == std::string_view::npos && written != "/v1/history" &&
      written != "/v1/failed" && written != "/v1/lastlog") {
    return false;
  }
  auto parsed = Query::Parse(target);  // the path as it is routed: decoded
  if (!parsed) return false;
  const std::string& path = parsed->path();
  if (path != "/v1/history" && path != "/v1/failed" && path != "/v1/lastlog") return false;
  Access access = DecideAccess(request, options_.access);
  if (access.token && !access.token_ok) return false;
  return access.tier >= NeededTier(path).value_or(Tier::kFull);
}

void Api::SetDeadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
  deadline_ = deadline;
  if (store_) store_->SetDeadline(deadline);
  if (history_) history_->SetDeadline(deadline);
  if (failed_) failed_->SetDeadline(deadline);
}

std::optional<ApiResponse> Api::OverBudget(const Error* error) const {
  if (!deadline_ || std::chrono::steady_clock::now() < *deadline_) return std::nullopt;
  // Another failure after the deadline (a damaged file) is said as itself.
  if (error != nullptr && error->message.find("interrupted") == std::string::npos) {
    return std::nullopt;
  }
  ApiResponse response = ErrorResponse(
      503, "over_budget",
      "the query took longer than its time budget ([http] query_budget_ms): ask for less "
      "(since=, user=, tty=, limit=)");
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

ApiResponse Api::Route(const ApiRequest& request, const Access& access) {
  std::string_view target = request.target;
  // The dashboard's files hold no login data: served before any check, so that a viewer
  // whose browser holds a wrong token still gets the page that says so (and forgets it).
  if (std::string_view path = target.substr(0, target.find('?'));
      !path.starts_with("/v1/") && path != "/healthz" && path != "/metrics") {
    if (auto file = WebPageFile(path, "utmpcd")) return *file;
  }
  if (auto refused = CheckHostField(request, access, options_.host_names)) return *refused;
  if (auto refused = CheckCredential(access)) return *refused;
  // The tier an endpoint needs is looked up on the path as it is routed: decoded ("%66ailed"
  // is "failed"), and a path with no tier is no endpoint.
  const bool events = target == "/v1/events" || target.substr(0, 11) == "/v1/events?";
  std::optional<Query> query;
  std::string path = "/v1/events";
  if (!events) {
    auto parsed = Query::Parse(target);
    if (!parsed) return ErrorResponse(400, "bad_request", parsed.error().message);
    query.emplace(std::move(*parsed));
    path = query->path();
  }
  std::optional<Tier> need = NeededTier(path);
  if (!need) {
    return ErrorResponse(404, "not_found",
                         "no such endpoint; see /v1/host, /v1/sessions, /v1/history, /v1/failed, "
                         "/v1/lastlog, /v1/events, /v1/access, /healthz, /metrics");
  }
  if (auto refused = CheckTier(request, access, path, *need)) return *refused;
  if (events) return Events(request, access.tier);
  if (path == "/v1/access") {
    if (auto known = query->OnlyKnown({}); !known) return BadParameter(known.error());
    return AccessAnswer(access);
  }
  if (path == "/metrics") {
    if (auto known = query->OnlyKnown({}); !known) return BadParameter(known.error());
    if (!options_.metrics) return ErrorResponse(404, "not_found", "this server keeps no metrics");
    return options_.metrics->Scrape();
  }
  if (!store_ || !history_ || !failed_) {
    return ErrorResponse(503, "unavailable", options_.database + ": the history is not open");
  }
  if (path == "/v1/sessions") return Sessions(*query);
  if (path == "/v1/history") return History(*query, false);
  if (path == "/v1/failed") return History(*query, true);
  if (path == "/v1/host" || path == "/healthz") {
    if (auto known = query->OnlyKnown({}); !known) return BadParameter(known.error());
    return path == "/healthz" ? Healthz() : Host();
  }
  if (path == "/v1/lastlog") return Lastlog(*query);
  // (A path with a tier and no handler: "/v1/%65vents" decodes to the stream's path, which is
  // only served as written.)
  return ErrorResponse(404, "not_found", "no such endpoint; the event stream is /v1/events");
}

ApiResponse Api::Events(const ApiRequest& request, Tier tier) {
  std::string_view target = request.target;
  std::optional<int64_t> after;
  auto bad = [](const std::string& message) {
    return ErrorResponse(400, "bad_parameter", message);
  };
  std::string history;  // the history the client's id is of ("": it did not say)
  const std::string* last_id = request.Header("Last-Event-ID");
  if (last_id != nullptr) {
    auto id = ParseEventId(*last_id);
    if (!id) return bad("Last-Event-ID: not an event id this daemon sent");
    after = id->seq;
    history = id->history;
  }
  size_t question = target.find('?');
  if (question != std::string_view::npos) {
    std::string_view query = target.substr(question + 1);
    if (query.substr(0, 5) != "from=" || query.find('&') != std::string_view::npos) {
      return bad("/v1/events takes one parameter, from=SEQ");
    }
    auto from = ParseEventId(query.substr(5));
    if (!from || !from->history.empty()) return bad("from: must be an integer >= 0");
    if (!after) after = std::max<int64_t>(from->seq, 1) - 1;  // Last-Event-ID wins
  }
  (void)ReadLastSeq();
  const int64_t newest = last_seq_;
  // A position in another history (the database was replaced) or beyond this one's newest
  // event (a history reset, then refilled less far): resuming there would silently skip
  // events. The client is told, and gets what is stored from now on.
  // (?from=N beyond the newest asks for what is still to come, as PROTOCOL.md says.)
  const std::string& ours = options_.history_id;
  std::string reason = !history.empty() && history != ours                ? "foreign"
                       : last_id != nullptr && after && *after > newest ? "ahead"
                                                                          : "";
  std::string reset;
  if (!reason.empty()) {
    reset = fmt::format(
        "event: reset\ndata: {{\"reason\":\"{}\",\"history\":\"{}\",\"last_seq\":{}}}\n\n",
        reason, ours, newest);
    after.reset();
  }
  if (!after) after = newest;  // only what is stored from now on
  ApiResponse response;
  response.content_type = "text/event-stream";
  response.stream = ApiResponse::Stream{
      .after_seq = *after,
      .preface = fmt::format("retry: 1000\nid: {}\n\n{}", EventId(*after, ours), reset),
      .tier = static_cast<int>(tier)};
  return response;
}

ApiResponse Api::Healthz() {
  if (auto seq = ReadLastSeq(); !seq) return Unavailable(seq.error());
  std::string stats;
  if (stats_) {
    ServerStats s = stats_();
    stats = fmt::format(
        ",\"connections\":{},\"connection_limit\":{},\"streams\":{},\"refused\":{{"
        "\"server_full\":{},\"too_many_connections\":{},\"too_many_requests\":{},"
        "\"busy\":{},\"over_budget\":{}}},\"evicted_idle\":{},\"streams_too_slow\":{},"
        "\"accept_paused\":{},\"tls_failures\":{}",
        s.connections, s.connection_limit, s.streams, s.refused_full, s.refused_per_source,
        s.rate_limited, s.busy, s.over_budget, s.evicted, s.streams_too_slow, s.accept_paused,
        s.tls_failures);
  }
  // The history is served either way; a monitor alerts on the 503 and reads the reason.
  if (std::string problem = live_->IngestProblem(); !problem.empty()) {
    std::string body = "{\"status\":\"degraded\",\"ingest\":\"stopped\",\"reason\":";
    AppendJsonString(body, problem);
    body += stats;
    body += "}\n";
    return Answer(503, std::move(body));
  }
  return Ok("{\"status\":\"ok\",\"ingest\":\"running\"" + stats + "}");
}

ApiResponse Api::Host() {
  (void)ReadLastSeq();  // a failure shows as the last known seq; /healthz reports it
  HostSummary s = Summary();
  std::string o = "{\"api\":1,\"version\":";
  AppendJsonString(o, options_.version);
  o += ',';
  AppendHostFields(o, s, true);
  o += fmt::format(",\"last_seq\":{}}}", s.last_seq);
  return Ok(std::move(o));
}

ApiResponse Api::Sessions(const Query& query) {
  if (auto known = query.OnlyKnown({"user", "tty"}); !known) return BadParameter(known.error());
  std::vector<std::string> users = query.All("user");
  std::vector<std::string> ttys = query.All("tty");
  auto live = live_->Get();
  std::vector<const LiveSession*> listed;
  for (const LiveSession& s : *live) {
    if (Wanted(users, s.user) && Wanted(ttys, s.line)) listed.push_back(&s);
  }
  std::stable_sort(listed.begin(), listed.end(), [](const LiveSession* a, const LiveSession* b) {
    return a->login_time_us < b->login_time_us;
  });
  int64_t now_us = NowUs();
  std::string o = "{\"sessions\":[";
  for (const LiveSession* s : listed) {
    o += o.back() == '[' ? "\n" : ",\n";
    AppendSessionJson(o, SessionJson{.user = s->user,
                                     .tty = s->line,
                                     .host = s->host,
                                     .addr = s->addr,
                                     .pid = s->pid,
                                     .session = s->session,
                                     .login_time_us = s->login_time_us,
                                     .idle_s = IdleSeconds(s->line, now_us)});
  }
  o += "]}";
  return Ok(std::move(o));
}

ApiResponse Api::History(const Query& query, bool failed) {
  if (auto known = query.OnlyKnown({"user", "tty", "since", "until", "limit", "cursor"});
      !known) {
    return BadParameter(known.error());
  }
  HistoryReader::PageQuery page;
  page.users = query.All("user");
  page.ttys = query.All("tty");
  auto since = query.TimeUs("since");
  if (!since) return BadParameter(since.error());
  auto until = query.TimeUs("until");
  if (!until) return BadParameter(until.error());
  page.since_us = *since;
  page.until_us = *until;
  auto limit = query.Integer("limit", 1, 1000, 100);
  if (!limit) return BadParameter(limit.error());
  page.max_rows = *limit;
  auto cursor = query.One("cursor");
  if (!cursor) return BadParameter(cursor.error());
  if (*cursor) {
    const std::string& c = **cursor;
    int64_t seq = 0;
    auto [end, ec] = std::from_chars(c.data(), c.data() + c.size(), seq);
    if (c.empty() || ec != std::errc() || end != c.data() + c.size() || seq < 1) {
      return ErrorResponse(400, "bad_parameter", "cursor: not a cursor this daemon gave");
    }
    page.before_seq = seq;
  }

  const int64_t now_s = SecondsOf(NowUs());
  const int64_t boot_s = SecondsOf(options_.boot_time_us);
  auto is_phantom = [boot_s](const LoginRecord& r) { return IsPhantomLogin(r, boot_s); };
  std::string o = failed ? "{\"failed\":[" : "{\"sessions\":[";
  auto next = (failed ? failed_ : history_)
                  ->Page(page, now_s, is_phantom, [&](const LastRow& row, int64_t seq) {
                    if (o.back() != '[') o += ',';
                    if (failed) {
                      const LoginRecord& r = *row.record;
                      o += '\n';
                      // tty as lastb shows it ("ftp" for ftpNNN)
                      AppendFailedJson(o, seq, r.user, row.line, r.host, r.addr, r.pid,
                                       r.time_us());
                    } else {
                      o += fmt::format("\n{{\"seq\":{},", seq);
                      AppendLastRowFields(o, row, now_s, false);
                      o += '}';
                    }
                    return true;
                  });
  if (!next) return OverBudget(&next.error()).value_or(Unavailable(next.error()));
  o += "],\"next_cursor\":";
  o += *next > 0 ? fmt::format("\"{}\"", *next) : "null";
  o += '}';
  return Ok(std::move(o));
}

ApiResponse Api::Lastlog(const Query& query) {
  if (auto known = query.OnlyKnown({"user"}); !known) return BadParameter(known.error());
  // Each user= is a login name, else a uid or a range of uids as lastlog -u takes it
  // ("1000", "1000-1999", "-999", "1000-"); anything else is an error, as lastlog says it.
  std::vector<std::string> names;
  std::vector<UidRange> ranges;
  for (const std::string& user : query.All("user")) {
    struct passwd pw_storage {};
    struct passwd* pw = nullptr;
    char buf[4096];
    if (getpwnam_r(user.c_str(), &pw_storage, buf, sizeof buf, &pw) == 0 && pw != nullptr) {
      names.push_back(user);
    } else if (auto range = ParseUidRange(user)) {
      ranges.push_back(*range);
    } else {
      return ErrorResponse(404, "not_found", "Unknown user or range: " + user);
    }
  }
  bool all = names.empty() && ranges.empty();
  std::string o = "{\"lastlog\":[";
  // The user database, in its order.
  PasswdWalk walk;
  while (passwd* pw = walk.Next()) {
    std::string name = pw->pw_name;
    uid_t uid = pw->pw_uid;
    bool wanted = all || std::find(names.begin(), names.end(), name) != names.end() ||
                  std::any_of(ranges.begin(), ranges.end(),
                              [uid](const UidRange& r) { return r.Contains(uid); });
    if (!wanted) continue;
    auto newest = store_->LastLoginOf(name);
    // (A passwd database of millions of users is slow too: the budget is checked per user.)
    if (auto over = OverBudget(newest ? nullptr : &newest.error())) return *over;
    if (!newest) return Unavailable(newest.error());
    if (o.back() != '[') o += ',';
    o += '\n';
    if (*newest) {
      const SqliteStore::LastLogin& login = **newest;
      AppendLastlogJson(o, name, uid, login.tty, login.remote_host, login.time_us);
    } else {
      AppendLastlogJson(o, name, uid, "", "", std::nullopt);
    }
  }
  o += "]}";
  return Ok(std::move(o));
}

}  // namespace utmpcd
