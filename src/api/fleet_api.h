// FleetApi: the answers of port 430's HTTP endpoints (docs/FLEET.md, "API"), without the
// network: utmpsd's fleet-wide view, from its store (store/fleet_store.h). The same error
// model, tiers and paging as port 431 (docs/PROTOCOL.md): access is decided once per request,
// by the same rules and checks (api/access_gate.h).
//
// Handle runs on the thread that owns the FleetStore it is given (utmpsd's query thread); Route
// runs on the server's loop and says whether a request needs the store at all (errors, the
// event stream and /healthz do not).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/request.h"
#include "api/server_metrics.h"
#include "store/fleet_store.h"

namespace utmpcd {

struct FleetApiOptions {
  std::string version;  // utmpsd's release
  AccessPolicy access;
  bool access_log = false;
  // This server's names (the Host field of a request from loopback must name one).
  std::vector<std::string> host_names;
  // The hosts followed: name → the URL they are followed at, and their groups.
  std::map<std::string, std::string> host_urls;
  std::map<std::string, std::vector<std::string>> groups;  // group → host names
  // Whether a name not in host_urls is a host heard through rwho (GET /v1/fleet/host answers
  // for it too); called on the thread that routes requests. None: no such hosts.
  std::function<bool(const std::string&)> heard_host{};
  // GET /metrics (the sessions tier), and each request counted; none: 404, nothing counted.
  std::shared_ptr<ServerMetrics> metrics{};
};

// What the server around a FleetApi reports in /healthz.
struct FleetHealth {
  bool store_ok = true;
  std::string store_problem;  // why not
  std::string store_kind;     // "postgresql", "sqlite"
  int64_t hosts_followed = 0;  // by this instance
  int64_t hosts_up = 0;
  int64_t events_stored = 0;   // by this instance since it started
  int64_t connections = 0;
  int64_t streams = 0;
};

// The sessions open now in the whole fleet, in memory, kept current from the store's changes
// (FleetStore::SessionsChangedAfter): /v1/fleet/sessions of 100,000 sessions is a walk of a
// map and a copy of their JSON, not a query of 100,000 rows. Used by one thread (the one that
// owns the store it refreshes from).
class OpenSessionsView {
 public:
  // Brings the view up to what the store holds: at first all open sessions, then what changed.
  Result<void> Refresh(FleetStore& store);
  // {"sessions":[...],"truncated":...} of the sessions `filter` matches (users, hosts, ttys),
  // by host, then login time; at most `limit`. With `rows_form`, {"columns":[...],"rows":
  // [[...],...],"truncated":...}: each session an array (half the bytes, for the dashboard).
  std::string Answer(const FleetFilter& filter, int64_t limit, bool rows_form = false) const;
  size_t size() const { return by_key_.size(); }

 private:
  struct Key {
    std::string host;
    int64_t login_us = 0;
    int64_t seq = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    std::string user, tty;
    std::string json;  // the session's object, with its hostname
    std::string row;   // and as a row (form=rows)
  };
  void Apply(const FleetSession& s);

  bool loaded_ = false;
  int64_t position_ = 0;  // changes up to here are in
  std::map<Key, Entry> by_key_;
  std::map<std::pair<std::string, int64_t>, Key> by_seq_;  // (host, seq) → key
};

class FleetApi {
 public:
  explicit FleetApi(FleetApiOptions options) : options_(std::move(options)) {}
  const FleetApiOptions& options() const { return options_; }

  // On the server's loop. Either the answer (`response`), or `query` set: the request needs
  // the store, and Handle answers it (on the store's thread). For /v1/fleet/events the answer
  // is a stream starting after position `newest` unless the request asks for another
  // (Last-Event-ID, ?from=).
  struct Routed {
    std::optional<ApiResponse> response;
    bool query = false;
    // The request's access, for the access log line of a query once it is answered.
    Access access{};
  };
  Routed Route(const ApiRequest& request, int64_t newest, const FleetHealth& health) const;

  // The answer to a request Route said queries the store. With `open`, /v1/fleet/sessions is
  // answered from it (refreshed first).
  ApiResponse Handle(const ApiRequest& request, FleetStore& store,
                     OpenSessionsView* open = nullptr) const;

  // One fleet event as the fleet stream sends it: "id: POS\nevent: KIND\ndata: {...}\n\n".
  static std::string Frame(const FleetStore::Positioned& event);

 private:
  ApiResponse Hosts(FleetStore& store) const;
  ApiResponse Sessions(const class Query& query, FleetStore& store, OpenSessionsView* open) const;
  ApiResponse History(const class Query& query, FleetStore& store, bool failed) const;
  ApiResponse Lastlog(const class Query& query, FleetStore& store) const;

  FleetApiOptions options_;
};

}  // namespace utmpcd
