#include "utmpsd/config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <set>
#include <sstream>

#include "api/whod.h"
#include "net/config_toml.h"
#include "net/udp_address.h"

namespace utmpcd {
namespace {

Result<void> ReadStringList(const toml::table& t, std::string_view key,
                            std::vector<std::string>* out, std::string_view origin) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return {};
  const toml::array* list = node->as_array();
  if (list == nullptr) {
    return tl::unexpected(
        ConfigError(origin, node->source(), fmt::format("'{}' must be an array of strings", key)));
  }
  out->clear();
  for (const toml::node& item : *list) {
    const toml::value<std::string>* s = item.as_string();
    if (s == nullptr || s->get().empty()) {
      return tl::unexpected(ConfigError(origin, item.source(),
                                        fmt::format("'{}' entries must be non-empty strings", key)));
    }
    out->push_back(s->get());
  }
  return {};
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
          c == ':' || c == '[' || c == ']'))
      return false;
  }
  return true;
}

// The host's URL parsed, its own credentials applied.
Result<void> CompleteHost(FleetHostConfig* h, const TlsClientFiles& own, std::string_view where) {
  auto net = ParseNetHost(h->url);
  if (!net) return MakeError(ErrorCode::kInvalidArgument, fmt::format("{}: {}", where, net.error().message));
  h->net = *net;
  if (h->name.empty()) {
    // As written, without the scheme: "https://web1.example.org/" is "web1.example.org".
    std::string_view label = h->net.label;
    for (std::string_view scheme : {"https://", "http://"})
      if (label.starts_with(scheme)) label.remove_prefix(scheme.size());
    while (label.ends_with('/')) label.remove_suffix(1);
    h->name = std::string(label);
  }
  if (!ValidName(h->name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: '{}' is no host name (letters, digits, '-', '.', '_', ':', '[', ']')",
                                 where, h->name));
  }
  h->net.label = h->name;
  if (!own.ca_file.empty() || !own.certificate.empty() || !own.key.empty()) {
    h->net.tls_files = own;
    h->net.tls = true;  // a CA or certificate of its own means TLS, as utmpc takes it
  }
  return {};
}

Result<void> ReadHostTable(const toml::table& t, FleetConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "[host]",
                         {"name", "url", "groups", "token_file", "ca", "certificate", "key"},
                         origin);
      !ok)
    return ok;
  FleetHostConfig h;
  if (auto ok = ReadString(t, "name", &h.name, origin); !ok) return ok;
  if (auto ok = ReadString(t, "url", &h.url, origin); !ok) return ok;
  if (h.url.empty()) {
    return tl::unexpected(ConfigError(origin, t.source(),
                                      "a [[host]] needs a 'url' (\"https://web1.example.org\")"));
  }
  if (auto ok = ReadStringList(t, "groups", &h.groups, origin); !ok) return ok;
  if (auto ok = ReadString(t, "token_file", &h.token_file, origin); !ok) return ok;
  TlsClientFiles own;
  if (auto ok = ReadString(t, "ca", &own.ca_file, origin); !ok) return ok;
  if (auto ok = ReadString(t, "certificate", &own.certificate, origin); !ok) return ok;
  if (auto ok = ReadString(t, "key", &own.key, origin); !ok) return ok;
  std::string where = fmt::format("{}:{}:{}", origin, t.source().begin.line,
                                  t.source().begin.column);
  if (auto ok = CompleteHost(&h, own, where); !ok) return ok;
  c->hosts.push_back(std::move(h));
  return {};
}

Result<void> ReadSection(std::string_view name, const toml::table& t, FleetConfig* c,
                         std::string_view origin) {
  if (name == "server") {
    if (auto ok = OnlyKeys(t, "server", {"listen", "user", "instance"}, origin); !ok) return ok;
    if (auto ok = ReadListen(t, &c->listen, origin); !ok) return ok;
    if (auto ok = ReadString(t, "user", &c->user, origin); !ok) return ok;
    return ReadString(t, "instance", &c->instance, origin);
  }
  if (name == "store") {
    if (auto ok = OnlyKeys(t, "store", {"url", "retention_days"}, origin); !ok) return ok;
    if (auto ok = ReadString(t, "url", &c->store_url, origin); !ok) return ok;
    return ReadInteger(t, "retention_days", 0, 36500, &c->retention_days, origin);
  }
  if (name == "follow") {
    if (auto ok = OnlyKeys(t, "follow",
                           {"hosts_file", "token_file", "ca", "certificate", "key", "lease_s",
                            "max_backoff_s", "silence_s"},
                           origin);
        !ok)
      return ok;
    if (const toml::node* n = t.get("hosts_file"); n != nullptr && n->as_string() != nullptr &&
                                                    n->as_string()->get().empty()) {
      c->hosts_file.clear();  // "" turns it off
    } else if (auto ok = ReadString(t, "hosts_file", &c->hosts_file, origin); !ok) {
      return ok;
    }
    if (auto ok = ReadString(t, "token_file", &c->token_file, origin); !ok) return ok;
    if (auto ok = ReadString(t, "ca", &c->tls.ca_file, origin); !ok) return ok;
    if (auto ok = ReadString(t, "certificate", &c->tls.certificate, origin); !ok) return ok;
    if (auto ok = ReadString(t, "key", &c->tls.key, origin); !ok) return ok;
    if (auto ok = ReadInteger(t, "lease_s", 2, 3600, &c->lease_s, origin); !ok) return ok;
    if (auto ok = ReadInteger(t, "silence_s", 1, 3600, &c->silence_s, origin); !ok) return ok;
    return ReadInteger(t, "max_backoff_s", 1, 3600, &c->max_backoff_s, origin);
  }
  if (name == "http") {
    if (auto ok = OnlyKeys(t, "http",
                           {"max_connections", "max_connections_per_source", "requests_per_second",
                            "request_burst", "idle_timeout_s", "request_timeout_s", "heartbeat_s",
                            "host_names", "max_queued_queries"},
                           origin);
        !ok)
      return ok;
    if (auto ok = ReadInteger(t, "max_connections", 1, 1000000, &c->max_connections, origin); !ok)
      return ok;
    if (auto ok = ReadInteger(t, "max_connections_per_source", 1, 1000000,
                              &c->max_connections_per_source, origin);
        !ok)
      return ok;
    if (auto ok = ReadNumber(t, "requests_per_second", 0, 1e6, &c->requests_per_second, origin); !ok)
      return ok;
    if (auto ok = ReadNumber(t, "request_burst", 1, 1e6, &c->request_burst, origin); !ok) return ok;
    if (auto ok = ReadInteger(t, "idle_timeout_s", 1, 3600, &c->idle_timeout_s, origin); !ok)
      return ok;
    if (auto ok = ReadInteger(t, "request_timeout_s", 1, 3600, &c->request_timeout_s, origin); !ok)
      return ok;
    if (auto ok = ReadInteger(t, "max_queued_queries", 1, 100000, &c->max_queued_queries, origin);
        !ok)
      return ok;
    if (auto ok = ReadStringList(t, "host_names", &c->host_names, origin); !ok) return ok;
    return ReadInteger(t, "heartbeat_s", 1, 3600, &c->heartbeat_s, origin);
  }
  if (name == "tls") return ReadTls(t, &c->tls_server, origin);
  if (name == "rwho") {
    if (auto ok = OnlyKeys(t, "rwho", {"listen", "networks", "max_hosts", "min_interval_s", "spool"},
                           origin);
        !ok)
      return ok;
    if (auto ok = ReadStringList(t, "listen", &c->rwho_listen, origin); !ok) return ok;
    for (const std::string& l : c->rwho_listen) {
      auto split = SplitHostPort(l, kWhodPort);
      if (!split || !ParseIpAddress(split->host)) {
        return tl::unexpected(ConfigError(origin, t.get("listen")->source(),
                                          fmt::format("[rwho] listen '{}': not a numeric IPv4 or "
                                                      "[IPv6] address with an optional port",
                                                      l)));
      }
    }
    if (auto ok = ReadStringList(t, "networks", &c->rwho_networks, origin); !ok) return ok;
    for (const std::string& n : c->rwho_networks) {
      if (!ParseNetwork(n)) {
        return tl::unexpected(ConfigError(
            origin, t.get("networks")->source(),
            fmt::format("[rwho] networks '{}': not an address or ADDRESS/PREFIX", n)));
      }
    }
    if (!c->rwho_listen.empty() && c->rwho_networks.empty()) {
      return tl::unexpected(ConfigError(
          origin, t.source(),
          "[rwho] listen needs networks: rwhod's packets carry no proof of where they come "
          "from, so name the networks whose hosts are taken in"));
    }
    if (auto ok = ReadInteger(t, "max_hosts", 1, 1000000, &c->rwho_max_hosts, origin); !ok)
      return ok;
    if (auto ok = ReadInteger(t, "min_interval_s", 1, 3600, &c->rwho_min_interval_s, origin); !ok)
      return ok;
    return ReadString(t, "spool", &c->rwho_spool, origin);
  }
  if (name == "log") {
    if (auto ok = OnlyKeys(t, "log", {"debug", "access"}, origin); !ok) return ok;
    if (auto ok = ReadBool(t, "debug", &c->debug, origin); !ok) return ok;
    return ReadBool(t, "access", &c->access_log, origin);
  }
  return MakeError(ErrorCode::kInvalidArgument, "");  // not reached: names are checked first
}

Result<std::string> ReadToken(const std::string& path) {
  auto text = ReadTextFile(path, true);
  if (!text) return tl::unexpected(text.error());
  std::string token = **text;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + ": a token file holds one token (no spaces) on one line");
  }
  return token;
}

}  // namespace

Result<FleetConfig> ParseFleetConfig(std::string_view text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return tl::unexpected(ConfigError(origin, e.source(), std::string(e.description())));
  }
  FleetConfig c;
  static const std::set<std::string_view> kSections = {"server", "store", "follow", "http",
                                                       "tls",    "rwho",  "log"};
  for (const auto& [key, node] : root) {
    if (key.str() == "access") {
      if (auto ok = ReadAccessRules(key, node, &c.access, origin); !ok)
        return tl::unexpected(ok.error());
      continue;
    }
    if (key.str() == "host") {
      const toml::array* list = node.as_array();
      if (list == nullptr || !list->is_array_of_tables()) {
        return tl::unexpected(ConfigError(origin, key.source(),
                                          "'host' must be [[host]] tables, one per host"));
      }
      for (const toml::node& h : *list) {
        if (auto ok = ReadHostTable(*h.as_table(), &c, origin); !ok)
          return tl::unexpected(ok.error());
      }
      continue;
    }
    if (!kSections.contains(key.str()) || !node.is_table()) {
      return tl::unexpected(ConfigError(
          origin, key.source(),
          fmt::format("unknown {} '{}' (expected [server], [store], [follow], [http], [tls], "
                      "[rwho], [log], [[access]] or [[host]])",
                      node.is_table() ? "table" : "key", key.str())));
    }
    if (auto ok = ReadSection(key.str(), *node.as_table(), &c, origin); !ok)
      return tl::unexpected(ok.error());
  }
  return c;
}

Result<FleetHostConfig> ParseHostLine(std::string_view line, std::string_view origin) {
  std::istringstream words{std::string(line)};
  std::string word;
  FleetHostConfig h;
  TlsClientFiles own;
  bool first = true;
  while (words >> word) {
    if (first) {
      h.url = word.starts_with("@") ? word.substr(1) : word;
      first = false;
      continue;
    }
    auto eq = word.find('=');
    std::string key = word.substr(0, eq), value = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (eq == std::string::npos || value.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: '{}': expected KEY=VALUE (name, groups, token_file, ca, "
                                   "certificate, key)",
                                   origin, word));
    }
    if (key == "name") {
      h.name = value;
    } else if (key == "groups") {
      for (size_t p = 0; p <= value.size();) {
        size_t comma = value.find(',', p);
        if (comma == std::string::npos) comma = value.size();
        if (comma > p) h.groups.push_back(value.substr(p, comma - p));
        p = comma + 1;
      }
    } else if (key == "token_file") {
      h.token_file = value;
    } else if (key == "ca") {
      own.ca_file = value;
    } else if (key == "certificate") {
      own.certificate = value;
    } else if (key == "key") {
      own.key = value;
    } else {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: unknown key '{}' (name, groups, token_file, ca, "
                                   "certificate, key)",
                                   origin, key));
    }
  }
  if (auto ok = CompleteHost(&h, own, origin); !ok) return tl::unexpected(ok.error());
  return h;
}

Result<FleetConfig> LoadFleetConfig(const std::string& path, bool required,
                                    const std::string& hosts_file) {
  auto text = ReadTextFile(path, required);
  if (!text) return tl::unexpected(text.error());
  FleetConfig c;
  if (*text) {
    auto parsed = ParseFleetConfig(**text, path);
    if (!parsed) return tl::unexpected(parsed.error());
    c = std::move(*parsed);
  }
  if (!hosts_file.empty()) c.hosts_file = hosts_file;
  if (!c.hosts_file.empty()) {
    auto hosts = ReadTextFile(c.hosts_file, !hosts_file.empty());
    if (!hosts) return tl::unexpected(hosts.error());
    if (*hosts) {
      std::istringstream lines(**hosts);
      std::string line;
      for (int n = 1; std::getline(lines, line); ++n) {
        if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto h = ParseHostLine(line, fmt::format("{}:{}", c.hosts_file, n));
        if (!h) return tl::unexpected(h.error());
        c.hosts.push_back(std::move(*h));
      }
    }
  }
  std::set<std::string> names;
  for (const FleetHostConfig& h : c.hosts) {
    if (!names.insert(h.name).second) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: host '{}' is named twice (give one a name=)", path, h.name));
    }
  }
  // Tokens: the [follow] one and each host's own, read now (and again at each SIGHUP).
  std::optional<std::string> shared;
  if (!c.token_file.empty()) {
    auto token = ReadToken(c.token_file);
    if (!token) return tl::unexpected(token.error());
    shared = *token;
  }
  for (FleetHostConfig& h : c.hosts) {
    if (!h.token_file.empty()) {
      auto token = ReadToken(h.token_file);
      if (!token) return tl::unexpected(token.error());
      h.net.token = *token;
    } else if (shared) {
      h.net.token = shared;
    }
  }
  if (c.instance.empty()) {
    char name[256] = "";
    ::gethostname(name, sizeof name - 1);
    c.instance = name[0] != '\0' ? name : "utmpsd";
  }
  return c;
}

}  // namespace utmpcd
