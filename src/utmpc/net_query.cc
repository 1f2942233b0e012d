#include "utmpc/net_query.h"
#include "utmpc/client_config.h"
#include "utmpc/usage.h"
#include "api/wire_decode.h"

#include <algorithm>

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace utmpcd {
namespace {

// --timeout beyond an hour is a typo, not a wish.
constexpr double kMaxTimeoutS = 3600;

bool ParseTimeout(const char* text, int64_t* timeout_ms) {
  char* end = nullptr;
  errno = 0;
  double s = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno != 0 || !std::isfinite(s) || s <= 0 ||
      s > kMaxTimeoutS) {
    return false;
  }
  *timeout_ms = std::max<int64_t>(1, std::llround(s * 1000));
  return true;
}

// Handles --hosts-file, --timeout, --json and --parallel; an exit status, or -1 to go on.
int TakeNetOption(int c, const char* arg, const char* command, NetArgs* args) {
  switch (c) {
    case kNetHostsFile: {
      auto hosts = ReadHostsFile(arg);
      if (!hosts) {
        fmt::print(stderr, "utmpc {}: {}\n", command, hosts.error().message);
        return 1;
      }
      args->hosts.insert(args->hosts.end(), hosts->begin(), hosts->end());
      args->hosts_file = arg;
      return -1;
    }
    case kNetTimeout:
      if (!ParseTimeout(arg, &args->fetch.timeout_ms)) {
        fmt::print(stderr, "utmpc {}: invalid timeout '{}' (seconds, above 0, at most {})\n",
                   command, arg, kMaxTimeoutS);
        return kUsageError;
      }
      return -1;
    case kNetParallel: {
      char* end = nullptr;
      long n = std::strtol(arg, &end, 10);
      if (end == arg || *end != '\0' || n < 1 || n > 10000) {
        fmt::print(stderr, "utmpc {}: invalid --parallel '{}' (1 to 10000)\n", command, arg);
        return kUsageError;
      }
      args->fetch.max_parallel = static_cast<size_t>(n);
      return -1;
    }
    case kNetJson:
      args->json = true;
      return -1;
    case kNetToken:
      if (*arg == '\0') {
        fmt::print(stderr, "utmpc {}: --token: empty\n", command);
        return kUsageError;
      }
      args->fetch.token = arg;
      args->token_given = true;
      return -1;
    case kNetTls:
      args->tls = true;
      return -1;
    case kNetCaCert:
    case kNetCert:
    case kNetKey: {
      if (*arg == '\0') {
        fmt::print(stderr, "utmpc {}: --{}: empty\n", command,
                   c == kNetCaCert ? "cacert" : c == kNetCert ? "cert" : "key");
        return kUsageError;
      }
      TlsClientFiles& tls = args->fetch.tls;
      (c == kNetCaCert ? tls.ca_file : c == kNetCert ? tls.certificate : tls.key) = arg;
      (c == kNetCaCert ? args->ca_given : c == kNetCert ? args->cert_given : args->key_given) =
          true;
      return -1;
    }
    case kNetServer: {
      auto server = ParseServer(arg);
      if (!server) {
        fmt::print(stderr, "utmpc {}: --server: {}\n", command, server.error().message);
        return kUsageError;
      }
      args->server = *server;
      return -1;
    }
    default:
      return -2;  // not a network option
  }
}

// Asks the fleet server which hosts it follows; fills args->hosts with them (only those named
// by @NAME operands, when there are any).
int FleetHosts(NetArgs* args, const char* command) {
  class HostsExchange : public HostExchange {
   public:
    std::string FirstTarget() override { return "/v1/hosts"; }
    Result<std::optional<std::string>> OnBody(std::string_view body) override {
      auto decoded = DecodeFleetHosts(body);
      if (!decoded) return tl::unexpected(decoded.error());
      names = std::move(*decoded);
      return std::nullopt;
    }
    std::vector<std::string> names;
  } exchange;
  NetHost server = *args->server;
  auto results = FetchAll({server}, {&exchange}, args->fetch);
  if (!results[0]) {
    std::string line = "utmpc " + std::string(command) + ": " + server.label + ": ";
    AppendForTerminal(line, results[0].error().message, CurrentTerminalCharset());
    fmt::print(stderr, "{}\n", line);
    return 1;
  }
  std::vector<std::string> wanted;
  for (const NetHost& h : args->hosts) wanted.push_back(h.label);
  args->hosts.clear();
  for (const std::string& name : exchange.names) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    NetHost h = server;
    h.label = name;
    args->hosts.push_back(std::move(h));
  }
  for (const std::string& name : wanted) {
    if (std::find(exchange.names.begin(), exchange.names.end(), name) == exchange.names.end()) {
      std::string line = "utmpc " + std::string(command) + ": ";
      AppendForTerminal(line, name, CurrentTerminalCharset());
      fmt::print(stderr, "{}: the fleet server follows no such host\n", line);
      return 1;
    }
  }
  if (args->hosts.empty()) {
    fmt::print(stderr, "utmpc {}: the fleet server {} follows no host yet\n", command, server.label);
    return 1;
  }
  return -1;
}

// A host's exchange through the fleet server: its targets rewritten (FleetTarget).
class FleetExchange : public HostExchange {
 public:
  FleetExchange(HostExchange* inner, std::string host) : inner_(inner), host_(std::move(host)) {}
  std::string FirstTarget() override {
    auto target = FleetTarget(inner_->FirstTarget(), host_);
    return target ? *target : "/v1/fleet/unsupported";
  }
  Result<std::optional<std::string>> OnBody(std::string_view body) override {
    auto next = inner_->OnBody(body);
    if (!next || !*next) return next;
    auto target = FleetTarget(**next, host_);
    if (!target) return tl::unexpected(target.error());
    return std::optional<std::string>(*target);
  }

 private:
  HostExchange* inner_;
  std::string host_;
};

}  // namespace

Result<NetHost> ParseServer(std::string_view url) {
  auto host = ParseNetHost(url);
  if (!host) return host;
  // An explicit port ends the authority: "...:PORT" after the host (or after "]").
  std::string_view authority = url;
  if (auto scheme = authority.find("://"); scheme != std::string_view::npos)
    authority.remove_prefix(scheme + 3);
  while (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  auto colon = authority.rfind(':');
  bool explicit_port = false;
  if (colon != std::string_view::npos) {
    auto bracket = authority.rfind(']');
    explicit_port = authority.starts_with('[')
                        ? bracket != std::string_view::npos && bracket < colon
                        : authority.find(':') == colon;  // several colons: a bare IPv6 address
  }
  if (!explicit_port) host->port = 430;
  return host;
}

Result<std::string> FleetTarget(std::string_view target, std::string_view host) {
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
  if (path != "/v1/sessions" && path != "/v1/history" && path != "/v1/failed" &&
      path != "/v1/lastlog" && path != "/v1/host") {
    return MakeError(ErrorCode::kUnsupported,
                     std::string(path) + " is not answered by a fleet server (ask the host)");
  }
  // (/v1/host: the server asks the host for its live summary.)
  std::string out = "/v1/fleet/" + std::string(path.substr(4));
  AddParam(&out, "host", host);
  if (!query.empty()) {
    out += '&';
    out += query;
  }
  return out;
}

const char kNetOptionsHelp[] =
    "\nOver the network, from utmpcd hosts (port 431): name them as @HOST[:PORT]\n"
    "(@web1, @192.0.2.7:4310, @[::1]) or https://HOST[:PORT] for TLS, or list them in a file:\n"
    "      --hosts-file FILE   ask the hosts FILE names, one per line\n"
    "      --timeout SECONDS   how long each host has to answer (5)\n"
    "      --parallel N        ask at most N hosts at once (64)\n"
    "      --json              one JSON document, every host in it\n"
    "      --token TOKEN       sent to every host as a bearer token (default: $UTMPC_TOKEN)\n"
    "      --tls               speak TLS to every host (as https://HOST)\n"
    "      --cacert FILE       trust the CAs in FILE for TLS (default: the system's)\n"
    "      --cert FILE         present this client certificate (mutual TLS)\n"
    "      --key FILE          its private key (default: in the --cert file)\n"
    "      --server URL        ask a utmpsd fleet server (port 430) for the hosts it follows\n"
    "                          (default: $UTMPC_SERVER); @NAME then picks hosts of the fleet\n"
    "Hosts, groups of hosts (@GROUP) and credentials can be named in ~/.config/utmpc/config.toml\n"
    "or /etc/utmpc/config.toml ($UTMPC_CONFIG): see utmpc(1), CONFIGURATION.\n";

int ParseNetCommandLine(int argc, char** argv, const char* command, const char* short_options,
                        std::vector<struct option> long_options, bool bare_hosts,
                        const OwnOption& own, NetArgs* args, std::vector<std::string>* operands) {
  long_options.push_back({"hosts-file", required_argument, nullptr, kNetHostsFile});
  long_options.push_back({"timeout", required_argument, nullptr, kNetTimeout});
  long_options.push_back({"json", no_argument, nullptr, kNetJson});
  long_options.push_back({"parallel", required_argument, nullptr, kNetParallel});
  long_options.push_back({"token", required_argument, nullptr, kNetToken});
  long_options.push_back({"tls", no_argument, nullptr, kNetTls});
  long_options.push_back({"cacert", required_argument, nullptr, kNetCaCert});
  long_options.push_back({"cert", required_argument, nullptr, kNetCert});
  long_options.push_back({"key", required_argument, nullptr, kNetKey});
  long_options.push_back({"server", required_argument, nullptr, kNetServer});
  long_options.push_back({nullptr, 0, nullptr, 0});
  args->command = command;
  // The configuration file first (hosts, groups, credentials), then the environment, then the
  // options: each wins over the one before.
  auto config = LoadClientConfig();
  if (!config) {
    fmt::print(stderr, "utmpc {}: {}\n", command, config.error().message);
    return kUsageError;
  }
  args->fetch.token = config->token;
  args->fetch.tls = config->files;
  if (const char* server = std::getenv("UTMPC_SERVER"); server != nullptr && *server != '\0') {
    auto parsed = ParseServer(server);
    if (!parsed) {
      fmt::print(stderr, "utmpc {}: $UTMPC_SERVER: {}\n", command, parsed.error().message);
      return kUsageError;
    }
    args->server = *parsed;
  }
  // A token from the environment, so that it is not in every command line (and ps).
  if (const char* token = std::getenv("UTMPC_TOKEN"); token != nullptr && *token != '\0') {
    args->fetch.token = token;
    args->token_given = true;
  }
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, short_options, long_options.data(), nullptr)) != -1) {
    int status = TakeNetOption(c, optarg, command, args);
    if (status == -2) status = own(c, optarg);
    if (status >= 0) return status;
  }
  for (int i = optind; i < argc; ++i) {
    std::string_view operand = argv[i];
    if (!IsHostArgument(operand) && !bare_hosts) {
      operands->emplace_back(operand);
      continue;
    }
    if (operand.starts_with('@')) operand.remove_prefix(1);
    if (args->server) {  // a host of the fleet, by its name there
      NetHost named;
      named.label = std::string(operand);
      args->hosts.push_back(std::move(named));
      continue;
    }
    // A group of the configuration file, a host it names, or a host.
    auto hosts = ExpandHost(*config, operand);
    if (!hosts) {
      fmt::print(stderr, "utmpc {}: {}\n", command, hosts.error().message);
      return kUsageError;
    }
    args->hosts.insert(args->hosts.end(), hosts->begin(), hosts->end());
  }
  if (args->server) {
    if (args->tls) args->server->tls = true;
    if (args->cert_given && !args->key_given) args->fetch.tls.key.clear();
    return FleetHosts(args, command);
  }
  if (args->tls) {
    for (NetHost& host : args->hosts) host.tls = true;
  }
  // A certificate given without its key has it in the same file (not the file's key).
  if (args->cert_given && !args->key_given) args->fetch.tls.key.clear();
  // Credentials given to the command are for every host, over what the file gives some: each
  // one given replaces that one only.
  for (NetHost& host : args->hosts) {
    if (args->token_given) host.token.reset();
    if (!host.tls_files) continue;
    const TlsClientFiles& given = args->fetch.tls;
    if (args->ca_given) host.tls_files->ca_file = given.ca_file;
    if (args->cert_given) {
      host.tls_files->certificate = given.certificate;
      host.tls_files->key = given.key;  // its own key, or none (in the certificate's file)
    }
    if (args->key_given) host.tls_files->key = given.key;
  }
  if (args->hosts.empty()) {
    // Named no host at all, or a hosts file with none in it: say which.
    fmt::print(stderr, "utmpc {}: {}\n", command,
               args->hosts_file.empty()
                   ? "no host given (utmpc " + std::string(command) + " HOST...)"
                   : "no host to ask (" + args->hosts_file + " names none)");
    return kUsageError;
  }
  return -1;
}

std::vector<Result<void>> RunExchanges(const NetArgs& args,
                                       const std::vector<HostExchange*>& exchanges) {
  std::vector<FleetExchange> fleet;
  std::vector<HostExchange*> through;
  if (args.server) {
    fleet.reserve(exchanges.size());
    for (size_t i = 0; i < exchanges.size(); ++i) {
      fleet.emplace_back(exchanges[i], args.hosts[i].label);
      through.push_back(&fleet.back());
    }
  }
  std::vector<Result<void>> results =
      FetchAll(args.hosts, args.server ? through : exchanges, args.fetch);
  TerminalCharset charset = CurrentTerminalCharset();
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i]) continue;
    std::string line = "utmpc " + args.command + ": ";
    AppendForTerminal(line, args.hosts[i].label, charset);
    line += ": ";
    AppendForTerminal(line, results[i].error().message, charset);
    line += '\n';
    std::fputs(line.c_str(), stderr);
  }
  return results;
}

int StatusOf(const std::vector<Result<void>>& results) {
  for (const Result<void>& r : results) {
    if (!r) return 1;
  }
  return 0;
}

HostColumn::HostColumn(const std::vector<NetHost>& hosts, TerminalCharset charset) {
  for (const NetHost& host : hosts) {
    std::string label;
    AppendForTerminal(label, host.label, charset);
    int columns;
    FitColumns(label, -1, charset, &columns);
    width_ = std::max(width_, static_cast<size_t>(columns));
    label_columns_.push_back(static_cast<size_t>(columns));
    labels_.push_back(std::move(label));
  }
}

void HostColumn::Append(std::string& out, size_t host) const {
  out += labels_[host];
  out.append(width_ + 1 - label_columns_[host], ' ');
}

void HostColumn::AppendHeading(std::string& out) const {
  out += "HOST";
  out.append(width_ + 1 - 4, ' ');
}

void AddParam(std::string* target, std::string_view name, std::string_view value) {
  *target += target->find('?') == std::string::npos ? '?' : '&';
  *target += name;
  *target += '=';
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      *target += c;
    } else {
      *target += '%';
      *target += kHex[u >> 4];
      *target += kHex[u & 15];
    }
  }
}

bool HostsJson::BeginHost(const std::string& label, const Result<void>& result) {
  *out_ += first_ ? "\n{\"host\":" : ",\n{\"host\":";
  first_ = false;
  AppendJsonString(*out_, label);
  if (result) {
    *out_ += ",\"ok\":true";
    return true;
  }
  *out_ += ",\"ok\":false,\"error\":";
  AppendJsonString(*out_, result.error().message);
  *out_ += '}';
  return false;
}

void HostsJson::Field(std::string_view name, std::string_view raw_json) {
  *out_ += ",\"";
  *out_ += name;
  *out_ += "\":";
  *out_ += raw_json;
}

void HostsJson::OpenArray(std::string_view name) {
  *out_ += ",\"";
  *out_ += name;
  *out_ += "\":[";
  first_element_ = true;
}

void HostsJson::Element(std::string_view json) {
  *out_ += first_element_ ? "\n" : ",\n";
  first_element_ = false;
  *out_ += json;
}

}  // namespace utmpcd
