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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/request.h"
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
  };
  Routed Route(const ApiRequest& request, int64_t newest, const FleetHealth& health) const;

  // The answer to a request Route said queries the store.
  ApiResponse Handle(const ApiRequest& request, FleetStore& store) const;

  // One fleet event as the fleet stream sends it: "id: POS\nevent: KIND\ndata: {...}\n\n".
  static std::string Frame(const FleetStore::Positioned& event);

 private:
  ApiResponse Hosts(FleetStore& store) const;
  ApiResponse Sessions(const class Query& query, FleetStore& store) const;
  ApiResponse History(const class Query& query, FleetStore& store, bool failed) const;
  ApiResponse Lastlog(const class Query& query, FleetStore& store) const;

  FleetApiOptions options_;
};

}  // namespace utmpcd
