// utmpsd's configuration (dist/utmpsd.toml documents every key) and its hosts file: which
// utmpcd hosts to follow, with what credentials, where to store, and port 430's server
// settings (the same [http], [tls], [[access]] and [log] as utmpcd's).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "core/result.h"
#include "net/hosts.h"
#include "net/tls.h"

namespace utmpcd {

inline constexpr uint16_t kUtmpsdPort = 430;

// One host to follow, as the configuration or the hosts file names it.
struct FleetHostConfig {
  std::string name;  // what the fleet calls it (the label of its address unless `name=`)
  std::string url;   // as written ("https://web1.example.org", "web1:431")
  NetHost net;       // parsed; its token and TLS files set when the host has its own
  std::vector<std::string> groups;
  std::string token_file;  // its own token's file ("" : the [follow] one)
};

struct FleetConfig {
  // [server]
  std::vector<std::string> listen = {"0.0.0.0:430", "[::]:430"};
  std::string user = "_utmpsd";  // "root" keeps root
  // This instance's name among those sharing the store (leases): the host name when unset.
  // Two instances on one machine need names of their own.
  std::string instance;
  // [store]
  std::string store_url = "/var/lib/utmpsd/fleet.db";
  int64_t retention_days = 0;  // 0 keeps everything
  // [follow]: the credentials every host is followed with, unless it has its own.
  std::string hosts_file = "/etc/utmpsd/hosts";  // "" for none; a missing file is no host
  std::string token_file;  // a file holding the bearer token the hosts grant `full`
  TlsClientFiles tls{};    // CA of the hosts' certificates; a client certificate and key
  int64_t lease_s = 10;    // a dead instance's hosts are taken over within lease_s + lease_s/3
  int64_t max_backoff_s = 30;
  // A stream that gives nothing (no event, no heartbeat) for this long is taken for dead and
  // the host for down: three of utmpcd's 15 s heartbeats by default.
  int64_t silence_s = 45;
  // [[host]] tables and the hosts file's lines, in order; names unique.
  std::vector<FleetHostConfig> hosts;
  // [http]
  int64_t max_connections = 20000;
  int64_t max_connections_per_source = 1024;
  double requests_per_second = 50;
  double request_burst = 200;
  int64_t idle_timeout_s = 30;
  int64_t request_timeout_s = 10;
  int64_t heartbeat_s = 15;
  std::vector<std::string> host_names;
  int64_t max_queued_queries = 64;
  // [tls], [[access]]
  std::optional<TlsServerOptions> tls_server;
  std::vector<AccessRule> access;
  // [rwho]: hosts that still run rwhod, taken in from their packets (UDP 513), and the spool
  // rwho(1) and ruptime(1) read, written for the whole fleet (docs/FLEET.md).
  std::vector<std::string> rwho_listen;    // empty: no intake
  std::vector<std::string> rwho_networks;  // the sources taken in; required with rwho_listen
  int64_t rwho_max_hosts = 1024;           // new names beyond it are refused
  int64_t rwho_min_interval_s = 30;        // a host's packets sooner than this are left out
  std::string rwho_spool;                  // "" : no spool written
  // [log]
  bool debug = false;
  bool access_log = false;
};

// Parses TOML text (errors "FILE:LINE:COLUMN: what"); hosts of [[host]] only (LoadFleetConfig
// adds the hosts file's).
Result<FleetConfig> ParseFleetConfig(std::string_view text, std::string_view origin);

// One line of a hosts file: HOST [name=NAME] [groups=A,B] [token_file=F] [ca=F]
// [certificate=F] [key=F], HOST as utmpc takes it ("web1", "web1:4310", "https://web1").
// `origin` names the file and line in errors.
Result<FleetHostConfig> ParseHostLine(std::string_view line, std::string_view origin);

// Reads `path` (required: it was named on the command line) or the default path (its absence
// leaves the defaults), then the hosts file it names, and checks the whole: host names unique,
// credential files readable. Reads each token file into the hosts' NetHost (SIGHUP reads them
// anew).
// `hosts_file`, when not empty, replaces [follow] hosts_file (and must exist).
Result<FleetConfig> LoadFleetConfig(const std::string& path, bool required,
                                    const std::string& hosts_file = "");

}  // namespace utmpcd
