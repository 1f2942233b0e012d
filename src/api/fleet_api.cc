#include "api/fleet_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>

#include "api/access_gate.h"
#include "api/query.h"
#include "api/web_page.h"
#include "api/wire_json.h"
#include "core/log.h"
#include "core/text.h"
#include "core/timestamp.h"

namespace utmpcd {
namespace {

std::optional<Tier> NeededTier(std::string_view path) {
  if (path == "/healthz" || path == "/v1/hosts" || path == "/v1/fleet/host" ||
      path == "/v1/access") {
    return Tier::kSummary;
  }
  // Counts, each host's state and lag, no names of users: the sessions tier's.
  if (path == "/v1/fleet/sessions" || path == "/metrics") return Tier::kSessions;
  if (path == "/v1/fleet/history" || path == "/v1/fleet/lastlog" || path == "/v1/fleet/events")
    return Tier::kHistory;
  if (path == "/v1/fleet/failed") return Tier::kFull;
  return std::nullopt;
}

ApiResponse BadParameter(const Error& error) {
  return ErrorResponse(400, "bad_parameter", error.message);
}

ApiResponse Unavailable(const Error& error) {
  ApiResponse r = ErrorResponse(503, "unavailable", "the fleet store: " + error.message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AppendTimeField(std::string& o, std::string_view name, int64_t time_us) {
  o += fmt::format("\"{}\":", name);
  if (time_us == 0) {
    o += fmt::format("null,\"{}_us\":null", name);
    return;
  }
  AppendJsonTime(o, time_us);
  o += fmt::format(",\"{}_us\":{}", name, time_us);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) return std::nullopt;
    out += static_cast<char>(v);
  }
  return out;
}

// Cursors: "TIME.SEQ.HOSTHEX" of the last row of a page (opaque to clients).
std::string MakeCursor(int64_t time_us, int64_t seq, std::string_view host) {
  return fmt::format("{}.{}.{}", time_us, seq, Hex(host));
}
std::optional<FleetFilter::After> ParseCursor(std::string_view text) {
  auto dot1 = text.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : text.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return std::nullopt;
  FleetFilter::After a;
  auto t = text.substr(0, dot1), s = text.substr(dot1 + 1, dot2 - dot1 - 1);
  if (std::from_chars(t.data(), t.data() + t.size(), a.time_us).ptr != t.data() + t.size() ||
      std::from_chars(s.data(), s.data() + s.size(), a.seq).ptr != s.data() + s.size() ||
      t.empty() || s.empty()) {
    return std::nullopt;
  }
  auto host = Unhex(text.substr(dot2 + 1));
  if (!host) return std::nullopt;
  a.hostname = std::move(*host);
  return a;
}

}  // namespace

FleetApi::Routed FleetApi::Route(const ApiRequest& request, int64_t newest,
                                 const FleetHealth& health) const {
  Access access = DecideAccess(request, options_.access);
  auto answer = [&](ApiResponse r) {
    if (options_.access_log) LogAccess(request, access, r.status);
    if (options_.metrics) options_.metrics->CountRequest(request.target, r.status, access.tier);
    return Routed{std::move(r), false, access};
  };
  // The dashboard's files hold no login data: served before any check (a viewer whose browser
  // holds a wrong token still gets the page that says so).
  if (std::string_view target = request.target,
      path = target.substr(0, target.find('?'));
      !path.starts_with("/v1/") && path != "/healthz" && path != "/metrics") {
    if (auto file = WebPageFile(path, "utmpsd")) return answer(std::move(*file));
  }
  if (auto refused = CheckHostField(request, access, options_.host_names)) return answer(*refused);
  if (auto refused = CheckCredential(access)) return answer(*refused);
  auto query = Query::Parse(request.target);
  if (!query) return answer(ErrorResponse(400, "bad_request", query.error().message));
  const std::string& path = query->path();
  std::optional<Tier> need = NeededTier(path);
  if (!need) {
    return answer(ErrorResponse(404, "not_found",
                                "no such endpoint; see /v1/hosts, /v1/fleet/host, /v1/fleet/sessions, "
                                "/v1/fleet/history, /v1/fleet/failed, /v1/fleet/lastlog, "
                                "/v1/fleet/events, /v1/access, /healthz, /metrics"));
  }
  if (auto refused = CheckTier(request, access, path, *need)) return answer(*refused);

  if (path == "/v1/access") {
    if (auto known = query->OnlyKnown({}); !known) return answer(BadParameter(known.error()));
    return answer(AccessAnswer(access));
  }
  if (path == "/metrics") {
    if (auto known = query->OnlyKnown({}); !known) return answer(BadParameter(known.error()));
    if (!options_.metrics) {
      return answer(ErrorResponse(404, "not_found", "this server keeps no metrics"));
    }
    return answer(options_.metrics->Scrape());
  }
  if (path == "/healthz") {
    if (auto known = query->OnlyKnown({}); !known) return answer(BadParameter(known.error()));
    std::string body = fmt::format(
        "{{\"status\":\"{}\",\"store\":\"{}\",", health.store_ok ? "ok" : "degraded",
        health.store_ok ? "up" : "down");
    if (!health.store_ok) {
      body += "\"reason\":";
      AppendJsonString(body, health.store_problem);
      body += ',';
    }
    body += fmt::format(
        "\"store_kind\":\"{}\",\"hosts_followed\":{},\"hosts_up\":{},\"events_stored\":{},"
        "\"connections\":{},\"streams\":{},\"version\":",
        health.store_kind, health.hosts_followed, health.hosts_up, health.events_stored,
        health.connections, health.streams);
    AppendJsonString(body, options_.version);
    body += "}\n";
    ApiResponse r;
    r.status = health.store_ok ? 200 : 503;
    r.body = std::move(body);
    return answer(std::move(r));
  }
  if (path == "/v1/fleet/events") {
    std::optional<int64_t> after;
    if (const std::string* id = request.Header("Last-Event-ID")) {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(id->data(), id->data() + id->size(), v);
      if (ec != std::errc() || p != id->data() + id->size() || v < 0)
        return answer(ErrorResponse(400, "bad_parameter",
                                    "Last-Event-ID: not an event id this server sent"));
      after = v;
    }
    if (auto known = query->OnlyKnown({"from"}); !known)
      return answer(BadParameter(known.error()));
    auto from = query->Integer("from", 0, INT64_MAX, -1);
    if (!from) return answer(BadParameter(from.error()));
    if (!after && *from >= 0) after = std::max<int64_t>(*from, 1) - 1;
    std::string reset;
    if (after && *after > newest && request.Header("Last-Event-ID") != nullptr) {
      // The store was replaced (or rolled back): what the client saw is not here.
      reset = fmt::format("event: reset\ndata: {{\"reason\":\"ahead\",\"last_seq\":{}}}\n\n",
                          newest);
      after.reset();
    }
    if (!after) after = newest;
    ApiResponse r;
    r.content_type = "text/event-stream";
    r.stream = ApiResponse::Stream{.after_seq = *after,
                                   .preface = fmt::format("retry: 1000\nid: {}\n\n{}", *after,
                                                          reset),
                                   .tier = static_cast<int>(access.tier)};
    return answer(std::move(r));
  }
  if (path == "/v1/fleet/host") {
    // A host's live summary, asked of the host (FleetServer): one known host by name.
    if (auto known = query->OnlyKnown({"host"}); !known) return answer(BadParameter(known.error()));
    auto host = query->One("host");
    if (!host) return answer(BadParameter(host.error()));
    if (!*host || !(options_.host_urls.contains(**host) ||
                    (options_.heard_host && options_.heard_host(**host))))
      return answer(ErrorResponse(404, "not_found", "host: no such host is followed"));
  }
  return Routed{std::nullopt, true, access};
}

ApiResponse FleetApi::Handle(const ApiRequest& request, FleetStore& store,
                             OpenSessionsView* open) const {
  auto query = Query::Parse(request.target);
  if (!query) return ErrorResponse(400, "bad_request", query.error().message);
  const std::string& path = query->path();
  if (path == "/v1/hosts") {
    if (auto known = query->OnlyKnown({}); !known) return BadParameter(known.error());
    return Hosts(store);
  }
  if (path == "/v1/fleet/sessions") return Sessions(*query, store, open);
  if (path == "/v1/fleet/history") return History(*query, store, false);
  if (path == "/v1/fleet/failed") return History(*query, store, true);
  if (path == "/v1/fleet/lastlog") return Lastlog(*query, store);
  return ErrorResponse(404, "not_found", "no such endpoint");
}

ApiResponse FleetApi::Hosts(FleetStore& store) const {
  auto hosts = store.Hosts();
  if (!hosts) return Unavailable(hosts.error());
  int64_t now = NowUs();
  std::string o = "{\"hosts\":[";
  bool first = true;
  for (const FleetHost& h : *hosts) {
    auto url = options_.host_urls.find(h.host);
    // A host taken in from its rwhod packets (docs/FLEET.md, "rwho and ruptime"): no URL, its
    // state as the instance hearing it set it.
    const bool rwho = url == options_.host_urls.end() && h.history == "rwhod";
    if (url == options_.host_urls.end() && !rwho) continue;  // no longer followed
    if (!first) o += ',';
    first = false;
    o += "{\"name\":";
    AppendJsonString(o, h.host);
    o += ",\"url\":";
    if (rwho) {
      o += "null";
    } else {
      AppendJsonString(o, url->second);
    }
    o += rwho ? ",\"via\":\"rwhod\"" : ",\"via\":\"utmpcd\"";
    // A lease that ran out: its holder died and nobody took it yet.
    bool held = !h.owner.empty() && h.lease_until_us >= now;
    std::string state = rwho || held ? h.state : (h.state == "new" ? "new" : "unfollowed");
    o += ",\"state\":";
    AppendJsonString(o, state);
    o += ',';
    AppendTimeField(o, "since", h.state_since_us);
    o += ",\"problem\":";
    AppendJsonNullable(o, h.problem);
    o += ",\"followed_by\":";
    AppendJsonNullable(o, held ? h.owner : "");
    o += fmt::format(",\"last_seq\":{},", h.last_seq);
    AppendTimeField(o, "last_event", h.last_event_us);
    o += ',';
    AppendTimeField(o, "stored_at", h.stored_at_us);
    o += fmt::format(",\"lag_ms\":{}", h.lag_ms);
    o += ",\"groups\":[";
    bool g1 = true;
    for (const auto& [group, members] : options_.groups) {
      if (std::find(members.begin(), members.end(), h.host) == members.end()) continue;
      if (!g1) o += ',';
      g1 = false;
      AppendJsonString(o, group);
    }
    o += "]}";
  }
  o += "]}\n";
  ApiResponse r;
  r.body = std::move(o);
  return r;
}

namespace {

// user, host, tty and group parameters into a filter; `group` adds its hosts.
Result<FleetFilter> ReadFilter(const Query& q,
                               const std::map<std::string, std::vector<std::string>>& groups,
                               bool times) {
  FleetFilter f;
  f.users = q.All("user");
  f.hosts = q.All("host");
  f.ttys = q.All("tty");
  for (const std::string& g : q.All("group")) {
    auto it = groups.find(g);
    if (it == groups.end())
      return MakeError(ErrorCode::kInvalidArgument, "group: no group '" + g + "' is configured");
    f.hosts.insert(f.hosts.end(), it->second.begin(), it->second.end());
  }
  if (!q.All("group").empty() && f.hosts.empty()) f.hosts.push_back("");  // empty groups: none
  if (times) {
    auto since = q.TimeUs("since");
    if (!since) return tl::unexpected(since.error());
    auto until = q.TimeUs("until");
    if (!until) return tl::unexpected(until.error());
    f.since_us = *since;
    f.until_us = *until;
  }
  return f;
}

}  // namespace

namespace {

// One open session's object as /v1/fleet/sessions lists it.
void AppendFleetSession(std::string& o, const FleetSession& s) {
  std::string one;
  AppendSessionJson(one, SessionJson{.user = s.user, .tty = s.tty, .host = s.remote_host,
                                     .addr = s.addr, .pid = s.pid, .session = s.session,
                                     .login_time_us = s.login_us, .idle_s = std::nullopt});
  o += "{\"hostname\":";
  AppendJsonString(o, s.hostname);
  o += ',';
  o.append(one, 1);
}

// One text of a login as a cell of a row: its JSON string; when its bytes are not valid UTF-8,
// "NAME_hex":"..." is added to `hex` too (the object's fields, as AppendJsonText gives them).
void AppendTextCell(std::string& o, std::string& hex, std::string_view name,
                    std::string_view bytes) {
  AppendJsonString(o, bytes);
  if (IsValidUtf8(bytes)) return;
  hex += hex.empty() ? '{' : ',';
  AppendJsonHexField(hex, name, bytes);
}

// A session as a row of {"columns":kSessionColumns,"rows":[...]} (form=rows).
constexpr std::string_view kSessionColumns =
    "[\"hostname\",\"user\",\"tty\",\"host\",\"addr\",\"pid\",\"session\","
    "\"login_time_us\",\"idle_s\",\"hex\"]";
void AppendFleetSessionRow(std::string& o, const FleetSession& s) {
  std::string hex;
  o += '[';
  AppendJsonString(o, s.hostname);
  o += ',';
  AppendTextCell(o, hex, "user", s.user);
  o += ',';
  AppendTextCell(o, hex, "tty", s.tty);
  o += ',';
  AppendTextCell(o, hex, "host", s.remote_host);
  o += ',';
  AppendJsonAddr(o, s.addr);
  o += fmt::format(",{},{},{},null,{}]", s.pid, s.session, s.login_us,
                   hex.empty() ? std::string("null") : hex + '}');
}

// {"sessions":[ or, for form=rows, {"columns":[...],"rows":[
void AppendSessionsOpening(std::string& o, bool rows_form) {
  if (rows_form) {
    o += "{\"columns\":";
    o += kSessionColumns;
    o += ",\"rows\":[";
  } else {
    o += "{\"sessions\":[";
  }
}

bool Matches(const std::vector<std::string>& wanted, const std::string& value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

}  // namespace

Result<void> OpenSessionsView::Refresh(FleetStore& store) {
  constexpr int64_t kPage = 10000;
  if (!loaded_) {
    // The newest position first, then the open sessions (as new or newer): changes after it
    // that the load already saw are applied again, which changes nothing.
    auto position = store.LastPosition();
    if (!position) return tl::unexpected(position.error());
    FleetFilter all;
    all.limit = INT64_MAX;
    auto open = store.OpenSessions(all);
    if (!open) return tl::unexpected(open.error());
    by_key_.clear();
    by_seq_.clear();
    for (const FleetSession& s : *open) Apply(s);
    position_ = *position;
    loaded_ = true;
  }
  auto changed = store.SessionsChangedAfter(position_, kPage);
  if (!changed) return tl::unexpected(changed.error());
  if (static_cast<int64_t>(changed->size()) == kPage) {
    // A full page may end inside one position: every session a batch opens or ends carries
    // the batch's position, and one batch may change more than a page of them (10,000 hosts
    // reconnecting). Paging on by position would skip the rest of it: all is read at once.
    changed = store.SessionsChangedAfter(position_, INT64_MAX);
    if (!changed) return tl::unexpected(changed.error());
  }
  for (const FleetSession& s : *changed) {
    Apply(s);
    position_ = std::max(position_, s.changed_pos);
  }
  return {};
}

void OpenSessionsView::Apply(const FleetSession& s) {
  auto id = std::make_pair(s.hostname, s.seq);
  if (auto old = by_seq_.find(id); old != by_seq_.end()) {
    by_key_.erase(old->second);
    by_seq_.erase(old);
  }
  if (!s.end.empty() || s.boot) return;  // ended: no longer on
  Key key{s.hostname, s.login_us, s.seq};
  Entry entry{s.user, s.tty, {}, {}};
  AppendFleetSession(entry.json, s);
  AppendFleetSessionRow(entry.row, s);
  by_key_[key] = std::move(entry);
  by_seq_[id] = std::move(key);
}

std::string OpenSessionsView::Answer(const FleetFilter& f, int64_t limit, bool rows_form) const {
  std::string o;
  std::vector<const std::string*> rows;
  size_t bytes = 0;
  bool truncated = false;
  for (const auto& [key, entry] : by_key_) {
    if (!Matches(f.hosts, key.host) || !Matches(f.users, entry.user) || !Matches(f.ttys, entry.tty))
      continue;
    if (static_cast<int64_t>(rows.size()) == limit) {
      truncated = true;
      break;
    }
    const std::string& one = rows_form ? entry.row : entry.json;
    rows.push_back(&one);
    bytes += one.size() + 1;
  }
  o.reserve(bytes + 256);
  AppendSessionsOpening(o, rows_form);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) o += ',';
    o += *rows[i];
  }
  o += fmt::format("],\"truncated\":{}}}\n", truncated ? "true" : "false");
  return o;
}

ApiResponse FleetApi::Sessions(const Query& q, FleetStore& store, OpenSessionsView* open) const {
  if (auto known = q.OnlyKnown({"user", "host", "tty", "group", "limit", "form"}); !known)
    return BadParameter(known.error());
  auto f = ReadFilter(q, options_.groups, false);
  if (!f) return BadParameter(f.error());
  auto limit = q.Integer("limit", 1, 1000000, 100000);
  if (!limit) return BadParameter(limit.error());
  auto form = q.One("form");
  if (!form) return BadParameter(form.error());
  if (*form && **form != "objects" && **form != "rows")
    return BadParameter(Error{ErrorCode::kInvalidArgument, "form: objects or rows"});
  const bool rows_form = *form && **form == "rows";
  if (open != nullptr) {
    if (auto refreshed = open->Refresh(store); !refreshed) {
      *open = OpenSessionsView();  // loaded anew once the store answers
      return Unavailable(refreshed.error());
    }
    ApiResponse r;
    r.body = open->Answer(*f, *limit, rows_form);
    return r;
  }
  f->limit = *limit + 1;
  auto rows = store.OpenSessions(*f);
  if (!rows) return Unavailable(rows.error());
  bool truncated = rows->size() > static_cast<size_t>(*limit);
  if (truncated) rows->pop_back();
  std::string o;
  o.reserve(rows->size() * 256 + 256);
  AppendSessionsOpening(o, rows_form);
  for (size_t i = 0; i < rows->size(); ++i) {
    const FleetSession& s = (*rows)[i];
    if (i > 0) o += ',';
    if (rows_form) {
      AppendFleetSessionRow(o, s);
    } else {
      AppendFleetSession(o, s);
    }
  }
  o += fmt::format("],\"truncated\":{}}}\n", truncated ? "true" : "false");
  ApiResponse r;
  r.body = std::move(o);
  return r;
}

ApiResponse FleetApi::History(const Query& q, FleetStore& store, bool failed) const {
  if (auto known =
          q.OnlyKnown({"user", "host", "tty", "group", "since", "until", "limit", "cursor"});
      !known)
    return BadParameter(known.error());
  auto f = ReadFilter(q, options_.groups, true);
  if (!f) return BadParameter(f.error());
  auto limit = q.Integer("limit", 1, 1000, 100);
  if (!limit) return BadParameter(limit.error());
  f->limit = *limit;
  // One host: as its own last lists them (by seq); several: newest first across them.
  f->host_order = f->hosts.size() == 1;
  auto cursor = q.One("cursor");
  if (!cursor) return BadParameter(cursor.error());
  if (*cursor) {
    f->before = ParseCursor(**cursor);
    if (!f->before)
      return ErrorResponse(400, "bad_parameter", "cursor: not a cursor this server gave");
  }
  std::string o;
  std::optional<std::string> next;
  if (failed) {
    auto rows = store.Failed(*f);
    if (!rows) return Unavailable(rows.error());
    o += "{\"failed\":[";
    for (size_t i = 0; i < rows->size(); ++i) {
      const FleetEvent& e = (*rows)[i];
      if (i > 0) o += ',';
      std::string one;
      AppendFailedJson(one, e.event.seq, e.event.user, e.event.tty, e.event.remote_host,
                       e.event.remote_addr, e.event.pid, e.event.time_us);
      o += "{\"hostname\":";
      AppendJsonString(o, e.hostname);
      o += ',';
      o.append(one, 1);
    }
    if (rows->size() == static_cast<size_t>(*limit))
      next = MakeCursor(rows->back().event.time_us, rows->back().event.seq, rows->back().hostname);
  } else {
    auto rows = store.History(*f);
    if (!rows) return Unavailable(rows.error());
    o += "{\"sessions\":[";
    for (size_t i = 0; i < rows->size(); ++i) {
      const FleetSession& s = (*rows)[i];
      if (i > 0) o += ',';
      o += "{\"hostname\":";
      AppendJsonString(o, s.hostname);
      o += fmt::format(",\"seq\":{},\"type\":\"{}\",", s.seq, s.boot ? "boot" : "login");
      AppendUserTtyHost(o, s.user, s.tty, s.remote_host);
      o += ",\"addr\":";
      AppendJsonAddr(o, s.addr);
      o += fmt::format(",\"pid\":{},\"login\":", s.pid);
      AppendJsonTime(o, s.login_us);
      o += fmt::format(",\"login_time_us\":{},\"end\":", s.login_us);
      std::string end = !s.end.empty() ? s.end : s.boot ? "running" : "still";
      AppendJsonString(o, end);
      if (s.end_us) {
        o += ",\"logout\":";
        AppendJsonTime(o, *s.end_us);
        o += fmt::format(",\"logout_time_us\":{},\"duration_s\":{}", *s.end_us,
                         SecondsOf(*s.end_us) - SecondsOf(s.login_us));
      } else {
        o += ",\"logout\":null,\"logout_time_us\":null,\"duration_s\":null";
      }
      o += '}';
    }
    if (rows->size() == static_cast<size_t>(*limit))
      next = MakeCursor(rows->back().login_us, rows->back().seq, rows->back().hostname);
  }
  o += "],\"next_cursor\":";
  if (next) {
    AppendJsonString(o, *next);
  } else {
    o += "null";
  }
  o += "}\n";
  ApiResponse r;
  r.body = std::move(o);
  return r;
}

ApiResponse FleetApi::Lastlog(const Query& q, FleetStore& store) const {
  if (auto known = q.OnlyKnown({"user", "host", "group"}); !known)
    return BadParameter(known.error());
  auto f = ReadFilter(q, options_.groups, false);
  if (!f) return BadParameter(f.error());
  auto rows = store.Lastlog(*f);
  if (!rows) return Unavailable(rows.error());
  std::string o = "{\"lastlog\":[";
  for (size_t i = 0; i < rows->size(); ++i) {
    const FleetLastlog& l = (*rows)[i];
    if (i > 0) o += ',';
    o += '{';
    AppendJsonText(o, "user", l.user);
    o += ",\"hostname\":";
    AppendJsonString(o, l.hostname);
    o += ',';
    AppendJsonText(o, "tty", l.tty);
    o += ',';
    AppendJsonText(o, "host", l.remote_host);
    o += ",\"time\":";
    AppendJsonTime(o, l.time_us);
    o += fmt::format(",\"time_us\":{}}}", l.time_us);
  }
  o += "]}\n";
  ApiResponse r;
  r.body = std::move(o);
  return r;
}

std::string FleetApi::Frame(const FleetStore::Positioned& p) {
  const FleetEvent& e = p.event;
  std::string json;
  AppendEventJson(json, e.event);
  std::string o = fmt::format("id: {}\nevent: {}\ndata: {{\"position\":{},\"hostname\":", p.position,
                              EventKindName(e.event.kind), p.position);
  AppendJsonString(o, e.hostname);
  o += fmt::format(",\"host_seq\":{},", e.host_seq);
  o.append(json, 1);
  o += "\n\n";
  return o;
}

}  // namespace utmpcd
