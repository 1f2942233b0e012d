// What the network forms of `utmpc who|w|last|lastb|lastlog|uptime` share: the command line
// (@HOST, --hosts-file, --timeout, --json), running one HostExchange per host, reporting the
// hosts that failed, the HOST column and the JSON document.
#pragma once

#include <getopt.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/text.h"
#include "net/hosts.h"
#include "net/http_client.h"

namespace utmpcd {

struct NetArgs {
  std::string command;  // "last", "who", ...: what messages begin with, after "utmpc "
  std::vector<NetHost> hosts;
  std::string hosts_file;  // the last --hosts-file given, "" for none
  FetchOptions fetch;
  bool json = false;
  bool tls = false;  // --tls: every host over TLS, as if named https://HOST
  // A token ($UTMPC_TOKEN, --token) or TLS files (--cacert, --cert, --key) were given to the
  // command: each is every host's, over a host's own from the configuration file.
  bool token_given = false;
  bool ca_given = false, cert_given = false, key_given = false;
  // --server URL ($UTMPC_SERVER): a utmpsd fleet server (port 430) answers for the hosts it
  // follows. `hosts` are then the fleet's hosts (labelled by their fleet names, each the
  // server's address), and every request goes to the server's /v1/fleet/... for that host.
  std::optional<NetHost> server;
};

// What every network command adds to its --help: how to name hosts, and the options
// ParseNetCommandLine takes for them.
extern const char kNetOptionsHelp[];

// getopt_long codes of the options every network command takes.
enum NetOptionCode {
  kNetHostsFile = CHAR_MAX + 100,
  kNetTimeout,
  kNetJson,
  kNetParallel,
  kNetToken,
  kNetTls,
  kNetCaCert,
  kNetCert,
  kNetKey,
  kNetServer
};

// Handles a command's own option `c` (with getopt's optarg); returns an exit status to stop
// with (after printing what is needed), or -1 to go on.
using OwnOption = std::function<int(int c, const char* arg)>;

// Parses a network command's line with getopt_long: `short_options` and `long_options` are
// the command's own (handled by `own`; '?' reaches it too, for an unknown option), to which
// --hosts-file FILE, --timeout SECONDS, --json, --parallel N, --token TOKEN, --tls,
// --cacert FILE, --cert FILE and --key FILE are added. Operands starting
// with '@' name hosts; with `bare_hosts` every operand does; the others go to `operands`.
// Returns an exit status to stop with, or -1 to go on (then args->hosts is not empty).
int ParseNetCommandLine(int argc, char** argv, const char* command, const char* short_options,
                        std::vector<struct option> long_options, bool bare_hosts,
                        const OwnOption& own, NetArgs* args, std::vector<std::string>* operands);

// Runs exchanges[i] against args.hosts[i] and prints "utmpc COMMAND: HOST: why" on stderr for each
// host that failed. Returns the results, in host order.
std::vector<Result<void>> RunExchanges(const NetArgs& args,
                                       const std::vector<HostExchange*>& exchanges);

// The exit status after RunExchanges: 1 when any host failed, else 0.
int StatusOf(const std::vector<Result<void>>& results);

// The HOST column: each host's label made safe for a terminal, padded to the widest label
// plus one space ("HOST" counts when there is a heading).
class HostColumn {
 public:
  HostColumn(const std::vector<NetHost>& hosts, TerminalCharset charset);
  void Append(std::string& out, size_t host) const;
  void AppendHeading(std::string& out) const;

 private:
  std::vector<std::string> labels_;   // made safe for the terminal
  std::vector<size_t> label_columns_;  // the terminal columns each takes
  size_t width_ = 4;                   // "HOST"
};

// The target a host's request becomes through a fleet server: "/v1/sessions?user=a" of host
// web1 is "/v1/fleet/sessions?host=web1&user=a"; "/v1/host" is "/v1/fleet/host?host=web1",
// which the server asks the host for. Fails for a path the fleet does not answer.
Result<std::string> FleetTarget(std::string_view target, std::string_view host);

// --server's URL as a host: port 430 unless it names one.
Result<NetHost> ParseServer(std::string_view url);

// Appends name=value to a request target, with '?' or '&' and value percent-encoded.
void AddParam(std::string* target, std::string_view name, std::string_view value);

// The JSON document of --json: {"hosts":[{"host":LABEL,"ok":true,...},{"host":...,"ok":false,
// "error":"connection refused"}]}, one host per line.
class HostsJson {
 public:
  explicit HostsJson(std::string* out) : out_(out) { *out_ += "{\"hosts\":["; }
  // Starts host `label`'s object; for a failed host, writes its error and closes it. Returns
  // whether the host is ok (then call Field for its fields, and EndHost).
  bool BeginHost(const std::string& label, const Result<void>& result);
  // ,"name": then `raw_json` (a JSON value as it is).
  void Field(std::string_view name, std::string_view raw_json);
  // ,"name":[ then the `json` of each row (a JSON value as received), one per line, then ].
  template <typename Rows>
  void Array(std::string_view name, const Rows& rows, size_t max_rows = SIZE_MAX) {
    OpenArray(name);
    size_t n = 0;
    for (const auto& row : rows) {
      if (n++ == max_rows) break;
      Element(row.json);
    }
    *out_ += ']';
  }
  void EndHost() { *out_ += '}'; }
  void End() { *out_ += "\n]}\n"; }

 private:
  void OpenArray(std::string_view name);
  void Element(std::string_view json);

  std::string* out_;
  bool first_ = true;
  bool first_element_ = true;
};

}  // namespace utmpcd
