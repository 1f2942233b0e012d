// The daemon's configuration: a TOML file (dist/utmpcd.toml documents every key), then
// command-line overrides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "core/result.h"
#include "formats/utmp.h"
#include "net/config_toml.h"
#include "net/tls.h"
#include "utmpcd/sandbox.h"

namespace utmpcd {

struct DaemonConfig {
  // [daemon]
  // The user the daemon runs as once it has opened what needs root (port 431, the sockets, the
  // store); "root" keeps root. A user that does not exist is an error at start.
  std::string user = "_utmpcd";
  // The daemon's seccomp filter (utmpcd/sandbox.h): on, off, or logging only.
  SeccompMode seccomp = SeccompMode::kEnforce;
  // [files]
  std::string wtmp = "/var/log/wtmp";
  std::string btmp = "/var/log/btmp";
  std::string utmp = "/run/utmp";
  std::string lastlog = "/var/log/lastlog";  // imported once, on the first start
  // lastlog2's database (Debian 13), imported once on the first start as lastlog is.
  std::string lastlog2 = "/var/lib/lastlog/lastlog2.db";
  // wtmpdb's database (Debian 13, openSUSE); "": the first of /var/log/wtmp.db and
  // /var/lib/wtmpdb/wtmp.db that exists (the first when neither does).
  std::string wtmpdb;
  std::optional<UtmpLayout> layout;  // detected when unset
  // [sources]
  // Where the history comes from: "wtmp", "wtmpdb", "both", or "auto": each of the two that
  // exists at start (both when neither does, to follow whichever appears).
  std::string history_source = "auto";
  // Where failed logins come from: "btmp", "journal", "both", "none", or "auto": btmp where
  // the history comes from wtmp, the journal where it comes from wtmpdb.
  std::string failed_source = "auto";
  // The journal's directory to read ("": the system journal, /var/log/journal and
  // /run/log/journal).
  std::string journal_directory;
  // [store]
  std::string database = "/var/lib/utmpcd/history.db";
  int64_t retention_days = 0;  // 0 keeps everything
  // [ingest]
  // The socket pam_utmpcd.so reports session open/close to; "" turns it off.
  std::string ingest_socket = "/run/utmpcd/ingest.sock";
  // [sessions]
  // How long a session whose leader died may take to record its logout before it is "gone".
  int64_t gone_grace_ms = 2000;
  // Where live sessions come from: "utmp", "logind" (systemd-logind through sd-login), or
  // "auto": utmp when the file exists, else logind when it runs.
  std::string session_source = "auto";
  // Mark a gone session's utmp entry dead and append its logout to wtmp (Solaris utmpd).
  bool cleanup_gone = false;
  // [http]: port 431's HTTP/JSON API and event stream (docs/PROTOCOL.md), on every address:
  // another host gets the summary tier unless [[access]] grants more. An empty list turns
  // HTTP off.
  std::vector<std::string> http_listen = {"0.0.0.0:431", "[::]:431"};
  // The same API on a Unix socket for local clients; "" for none.
  std::string api_socket = "/run/utmpcd/api.sock";
  int64_t http_max_connections = 20000;
  int64_t http_max_connections_per_source = 1024;
  // Requests a second per source network (/24, /64) beyond the burst; 0: no limit. Loopback and
  // the Unix socket are not limited.
  double http_requests_per_second = 50;
  double http_request_burst = 200;
  // [[access]]: tiers granted beyond the defaults (api/access.h), in the file's order.
  std::vector<AccessRule> access;
  // [tls]: HTTPS on port 431 (the same port: a client's first byte tells); plain HTTP only
  // from plaintext_from (loopback by default). None when unset.
  std::optional<TlsServerOptions> tls;
  // More names of this host than its hostname and /etc/hosts aliases: a request from loopback
  // whose Host field names none of them (nor localhost or an address) is refused (DNS
  // rebinding).
  std::vector<std::string> http_host_names;
  int64_t http_idle_timeout_s = 30;     // a keep-alive connection between requests
  int64_t http_request_timeout_s = 10;  // a request head, from its first byte
  int64_t http_heartbeat_s = 15;
  // Queries of the history (/v1/history, /v1/failed, /v1/lastlog) run on a thread of their
  // own, each within this budget from its arrival, at most this many waiting or running (a
  // source: an eighth of them).
  int64_t http_query_budget_ms = 2000;
  int64_t http_max_queued_queries = 64;
  // [udp]: port 431's datagrams; an empty list turns UDP off.
  std::vector<std::string> udp_listen = {"0.0.0.0:431", "[::]:431"};
  double udp_rate_per_prefix = 20;  // datagrams per second from one /24 or /64
  double udp_burst = 40;
  bool udp_discovery = false;  // answer datagrams sent to a broadcast address
  // [finger]: a finger responder (RFC 1288) on these addresses; off (empty) by default.
  std::vector<std::string> finger_listen;
  // [log]
  bool debug = false;
  bool debug_forced = false;  // --debug: kept on when SIGHUP reads debug = false
  bool access_log = false;  // [log] access: a line per HTTP request
  // --once: an import. Stores what wtmp, btmp and lastlog hold, then exits; serves nothing,
  // watches no live sessions, opens no ingest socket.
  bool once = false;
};

// Parses TOML text; `origin` names it in errors ("utmpcd.toml:3:7: unknown key 'wtmpp' in
// [files]"). Unknown keys and tables, wrong types and impossible values are errors: a typo must
// not silently fall back to a default.
Result<DaemonConfig> ParseConfig(std::string_view text, std::string_view origin);

// Reads and parses a file. A missing file is an error only when `required` (it was named on the
// command line); otherwise the defaults apply.
Result<DaemonConfig> LoadConfig(const std::string& path, bool required);

}  // namespace utmpcd
