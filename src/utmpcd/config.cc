#include "utmpcd/config.h"

#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "net/udp_address.h"

namespace utmpcd {
namespace {

// "origin:line:col: message", or "origin: message" when toml++ gives no position.
Error ConfigError(std::string_view origin, const toml::source_region& where,
                  const std::string& message) {
  if (where.begin.line == 0) {
    return Error{ErrorCode::kInvalidArgument, fmt::format("{}: {}", origin, message)};
  }
  return Error{ErrorCode::kInvalidArgument,
               fmt::format("{}:{}:{}: {}", origin, where.begin.line, where.begin.column, message)};
}

// Rejects keys a table does not know: a typo must not silently leave a default in force.
Result<void> OnlyKeys(const toml::table& table, std::string_view name,
                      const std::set<std::string_view>& known, std::string_view origin) {
  for (const auto& [key, node] : table) {
    if (known.count(key.str()) == 0) {
      return tl::unexpected(ConfigError(
          origin, key.source(), fmt::format("unknown key '{}' in [{}]", key.str(), name)));
    }
  }
  return {};
}

Result<void> ReadString(const toml::table& table, std::string_view key, std::string* out,
                        std::string_view origin) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return {};
  // The as_*() accessors are exact: toml++'s value<T>() would turn 1 into true or 90.5 into 90.
  const toml::value<std::string>* value = node->as_string();
  if (value == nullptr || value->get().empty()) {
    return tl::unexpected(
        ConfigError(origin, node->source(), fmt::format("'{}' must be a non-empty string", key)));
  }
  *out = value->get();
  return {};
}

Result<void> ReadFiles(const toml::table& files, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(files, "files", {"wtmp", "btmp", "utmp", "lastlog", "layout"}, origin); !ok) return ok;
  for (auto [key, out] : {std::pair<std::string_view, std::string*>{"wtmp", &c->wtmp},
                          {"btmp", &c->btmp},
                          {"utmp", &c->utmp},
                          {"lastlog", &c->lastlog}}) {
    if (auto ok = ReadString(files, key, out, origin); !ok) return ok;
  }
  std::string layout;
  if (auto ok = ReadString(files, "layout", &layout, origin); !ok) return ok;
  if (!layout.empty()) {
    c->layout = ParseLayout(layout);
    if (!c->layout) {
      return tl::unexpected(ConfigError(origin, files.get("layout")->source(),
                                        "'layout' must be \"384\" or \"400\""));
    }
  }
  return {};
}

Result<void> ReadStore(const toml::table& store, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(store, "store", {"database", "retention_days"}, origin); !ok) return ok;
  if (auto ok = ReadString(store, "database", &c->database, origin); !ok) return ok;
  if (const toml::node* node = store.get("retention_days")) {
    const toml::value<int64_t>* days = node->as_integer();
    if (days == nullptr || days->get() < 0) {
      return tl::unexpected(ConfigError(origin, node->source(),
                                        "'retention_days' must be a whole number >= 0"));
    }
    c->retention_days = days->get();
  }
  return {};
}

Result<void> ReadIngest(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "ingest", {"socket"}, origin); !ok) return ok;
  if (const toml::node* node = t.get("socket")) {
    const toml::value<std::string>* path = node->as_string();
    if (path == nullptr) {
      return tl::unexpected(ConfigError(origin, node->source(), "'socket' must be a string"));
    }
    c->ingest_socket = path->get();
  }
  return {};
}

Result<void> ReadSessions(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "sessions", {"source", "gone_grace_ms", "cleanup_gone"}, origin); !ok) {
    return ok;
  }
  if (auto ok = ReadString(t, "source", &c->session_source, origin); !ok) return ok;
  if (c->session_source != "auto" && c->session_source != "utmp" &&
      c->session_source != "logind") {
    return tl::unexpected(ConfigError(origin, t.get("source")->source(),
                                      "'source' must be \"auto\", \"utmp\" or \"logind\""));
  }
  if (const toml::node* node = t.get("cleanup_gone")) {
    const toml::value<bool>* cleanup = node->as_boolean();
    if (cleanup == nullptr) {
      return tl::unexpected(
          ConfigError(origin, node->source(), "'cleanup_gone' must be true or false"));
    }
    c->cleanup_gone = cleanup->get();
  }
  if (const toml::node* node = t.get("gone_grace_ms")) {
    const toml::value<int64_t>* ms = node->as_integer();
    // Up to an hour: longer would keep a ghost in `who` for no reason anyone needs.
    if (ms == nullptr || ms->get() < 0 || ms->get() > 3600000) {
      return tl::unexpected(ConfigError(origin, node->source(),
                                        "'gone_grace_ms' must be a whole number from 0 to 3600000"));
    }
    c->gone_grace_ms = ms->get();
  }
  return {};
}

Result<void> ReadInteger(const toml::table& t, std::string_view key, int64_t min, int64_t max,
                         int64_t* out, std::string_view origin) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return {};
  const toml::value<int64_t>* value = node->as_integer();
  if (value == nullptr || value->get() < min || value->get() > max) {
    return tl::unexpected(ConfigError(
        origin, node->source(),
        fmt::format("'{}' must be a whole number from {} to {}", key, min, max)));
  }
  *out = value->get();
  return {};
}

Result<void> ReadNumber(const toml::table& t, std::string_view key, double min, double max,
                        double* out, std::string_view origin) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return {};
  std::optional<double> value;
  if (const auto* d = node->as_floating_point()) value = d->get();
  if (const auto* i = node->as_integer()) value = static_cast<double>(i->get());
  if (!value || !(*value >= min && *value <= max)) {
    return tl::unexpected(ConfigError(origin, node->source(),
                                      fmt::format("'{}' must be a number from {} to {}", key,
                                                  min, max)));
  }
  *out = *value;
  return {};
}

Result<void> ReadBool(const toml::table& t, std::string_view key, bool* out,
                      std::string_view origin) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return {};
  const toml::value<bool>* value = node->as_boolean();
  if (value == nullptr) {
    return tl::unexpected(
        ConfigError(origin, node->source(), fmt::format("'{}' must be true or false", key)));
  }
  *out = value->get();
  return {};
}

}  // namespace

Result<void> CheckListenAddress(std::string_view text) {
  auto split = SplitHostPort(text, 0);
  if (!split) return tl::unexpected(split.error());
  std::string where = "'" + std::string(text) + "'";
  if (text.empty() || text.back() == ']' || text.find(':') == std::string_view::npos ||
      (text[0] != '[' && text.find(':') != text.rfind(':'))) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + ": not ADDRESS:PORT (\"127.0.0.1:431\", \"[::1]:431\")");
  }
  if (!ParseIpAddress(split->host)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + ": '" + split->host + "' is not a numeric IPv4 or IPv6 address");
  }
  return {};
}

namespace {

// An array of "ADDRESS:PORT" strings, each a numeric address and a port of 0 to 65535.
Result<void> ReadListen(const toml::table& t, std::vector<std::string>* out,
                        std::string_view origin) {
  const toml::node* node = t.get("listen");
  if (node == nullptr) return {};
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    return tl::unexpected(ConfigError(origin, node->source(),
                                      "'listen' must be an array of \"ADDRESS:PORT\" strings"));
  }
  out->clear();
  for (const toml::node& item : *array) {
    const toml::value<std::string>* text = item.as_string();
    if (text == nullptr || text->get().find(':') == std::string::npos) {
      return tl::unexpected(ConfigError(
          origin, item.source(),
          "'listen' entries must be \"ADDRESS:PORT\" strings (\"127.0.0.1:431\", \"[::1]:431\")"));
    }
    if (auto ok = CheckListenAddress(text->get()); !ok) {
      return tl::unexpected(ConfigError(origin, item.source(), "'listen' " + ok.error().message));
    }
    out->push_back(text->get());
  }
  return {};
}

Result<void> ReadHttp(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "http",
                         {"listen", "socket", "max_connections", "max_connections_per_source",
                          "requests_per_second", "request_burst", "idle_timeout_s",
                          "request_timeout_s", "heartbeat_s", "host_names", "query_budget_ms",
                          "max_queued_queries"},
                         origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadListen(t, &c->http_listen, origin); !ok) return ok;
  if (const toml::node* node = t.get("socket")) {
    const toml::value<std::string>* path = node->as_string();
    if (path == nullptr) {
      return tl::unexpected(ConfigError(origin, node->source(), "'socket' must be a string"));
    }
    c->api_socket = path->get();
  }
  if (const toml::node* node = t.get("host_names")) {
    const toml::array* list = node->as_array();
    if (list == nullptr) {
      return tl::unexpected(ConfigError(origin, node->source(),
                                        "'host_names' must be an array of host names"));
    }
    c->http_host_names.clear();
    for (const toml::node& entry : *list) {
      const toml::value<std::string>* name = entry.as_string();
      if (name == nullptr || name->get().empty() ||
          name->get().find_first_of(" \t:/[]") != std::string::npos) {
        return tl::unexpected(ConfigError(origin, entry.source(),
                                          "'host_names' entries must be host names such as "
                                          "\"web1.example.org\""));
      }
      c->http_host_names.push_back(name->get());
    }
  }
  if (auto ok = ReadInteger(t, "max_connections", 1, 1000000, &c->http_max_connections, origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadInteger(t, "max_connections_per_source", 1, 1000000,
                            &c->http_max_connections_per_source, origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadNumber(t, "requests_per_second", 0, 1e6, &c->http_requests_per_second, origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadNumber(t, "request_burst", 1, 1e6, &c->http_request_burst, origin); !ok) {
    return ok;
  }
  if (auto ok = ReadInteger(t, "idle_timeout_s", 1, 3600, &c->http_idle_timeout_s, origin); !ok) {
    return ok;
  }
  if (auto ok = ReadInteger(t, "request_timeout_s", 1, 3600, &c->http_request_timeout_s, origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadInteger(t, "query_budget_ms", 1, 3600000, &c->http_query_budget_ms, origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadInteger(t, "max_queued_queries", 1, 100000, &c->http_max_queued_queries,
                            origin);
      !ok) {
    return ok;
  }
  return ReadInteger(t, "heartbeat_s", 1, 3600, &c->http_heartbeat_s, origin);
}

Result<void> ReadUdp(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "udp", {"listen", "rate_per_prefix", "burst", "discovery"}, origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadListen(t, &c->udp_listen, origin); !ok) return ok;
  // 0: no limit (a benchmark on loopback, where every client is in 127.0.0.0/24).
  if (auto ok = ReadNumber(t, "rate_per_prefix", 0, 1e6, &c->udp_rate_per_prefix, origin);
      !ok) {
    return ok;
  }
  if (auto ok = ReadNumber(t, "burst", 1, 1e6, &c->udp_burst, origin); !ok) return ok;
  return ReadBool(t, "discovery", &c->udp_discovery, origin);
}

Result<void> ReadDaemon(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "daemon", {"user", "seccomp"}, origin); !ok) return ok;
  if (const toml::node* node = t.get("seccomp")) {
    if (const toml::value<bool>* on = node->as_boolean()) {
      c->seccomp = on->get() ? SeccompMode::kEnforce : SeccompMode::kOff;
    } else if (const toml::value<std::string>* text = node->as_string();
               text != nullptr && text->get() == "log") {
      c->seccomp = SeccompMode::kLog;
    } else {
      return tl::unexpected(ConfigError(origin, node->source(),
                                        "'seccomp' must be true, false or \"log\""));
    }
  }
  return ReadString(t, "user", &c->user, origin);
}

Result<void> ReadLog(const toml::table& log, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(log, "log", {"debug", "access"}, origin); !ok) return ok;
  for (auto [key, out] : {std::pair<std::string_view, bool*>{"debug", &c->debug},
                          {"access", &c->access_log}}) {
    if (const toml::node* node = log.get(key)) {
      const toml::value<bool>* value = node->as_boolean();
      if (value == nullptr) {
        return tl::unexpected(
            ConfigError(origin, node->source(), fmt::format("'{}' must be true or false", key)));
      }
      *out = value->get();
    }
  }
  return {};
}

}  // namespace

// `key` of `t`, an array of networks ("10.0.0.0/8", "::1"), into `out` when present; an
// empty array only when `empty_ok`.
Result<void> ReadNetworks(const toml::table& t, std::string_view key, bool empty_ok,
                          std::vector<Network>* out, std::string_view origin) {
  const toml::node* networks = t.get(key);
  if (networks == nullptr) return {};
  const toml::array* list = networks->as_array();
  if (list == nullptr) {
    return tl::unexpected(ConfigError(
        origin, networks->source(),
        fmt::format("'{}' must be an array of \"ADDRESS/BITS\" strings", key)));
  }
  out->clear();
  for (const toml::node& entry : *list) {
    const toml::value<std::string>* text = entry.as_string();
    std::optional<Network> network = text ? ParseNetwork(text->get()) : std::nullopt;
    if (!network) {
      return tl::unexpected(ConfigError(
          origin, entry.source(),
          fmt::format("'{}' entries must be networks such as \"10.0.0.0/8\", \"fd00::/8\" or "
                      "\"192.0.2.7\"",
                      key)));
    }
    out->push_back(*network);
  }
  if (out->empty() && !empty_ok) {
    return tl::unexpected(ConfigError(
        origin, networks->source(),
        fmt::format("'{}' is empty: name the networks the rule is for", key)));
  }
  return {};
}

// [tls]: the certificate and key port 431 serves, the CA of client certificates.
Result<void> ReadTls(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "tls", {"certificate", "key", "client_ca", "plaintext_from"}, origin);
      !ok) {
    return ok;
  }
  TlsServerOptions tls;
  tls.plaintext_from = c->tls ? c->tls->plaintext_from : DefaultPlaintextFrom();
  if (auto ok = ReadString(t, "certificate", &tls.files.certificate, origin); !ok) return ok;
  if (auto ok = ReadString(t, "key", &tls.files.key, origin); !ok) return ok;
  if (auto ok = ReadString(t, "client_ca", &tls.files.client_ca, origin); !ok) return ok;
  if (auto ok = ReadNetworks(t, "plaintext_from", true, &tls.plaintext_from, origin); !ok) {
    return ok;
  }
  if (tls.files.certificate.empty() || tls.files.key.empty()) {
    return tl::unexpected(ConfigError(
        origin, t.source(), "[tls] needs 'certificate' and 'key' (PEM files)"));
  }
  c->tls = std::move(tls);
  return {};
}

// One [[access]] rule: what it grants (tier) to whom (networks, a token, a client
// certificate's subject, or several: then all of them must match).
Result<void> ReadAccessRule(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "[access]",
                         {"name", "networks", "token_sha256", "client_subject", "tier"}, origin);
      !ok) {
    return ok;
  }
  AccessRule rule;
  if (auto ok = ReadString(t, "name", &rule.name, origin); !ok) return ok;
  const toml::node* tier = t.get("tier");
  if (tier == nullptr) {
    return tl::unexpected(ConfigError(origin, t.source(),
                                      "an [[access]] rule needs a 'tier' (\"summary\", "
                                      "\"sessions\", \"history\" or \"full\")"));
  }
  const toml::value<std::string>* tier_name = tier->as_string();
  std::optional<Tier> parsed = tier_name ? ParseTier(tier_name->get()) : std::nullopt;
  if (!parsed) {
    return tl::unexpected(ConfigError(
        origin, tier->source(),
        "'tier' must be \"summary\", \"sessions\", \"history\" or \"full\""));
  }
  rule.tier = *parsed;
  if (auto ok = ReadNetworks(t, "networks", false, &rule.networks, origin); !ok) return ok;
  if (const toml::node* token = t.get("token_sha256")) {
    const toml::value<std::string>* hash = token->as_string();
    if (hash == nullptr || hash->get().size() != 64 ||
        hash->get().find_first_not_of("0123456789abcdef") != std::string::npos) {
      return tl::unexpected(ConfigError(
          origin, token->source(),
          "'token_sha256' must be 64 lowercase hex digits (utmpcd --hash-token prints them)"));
    }
    rule.token_sha256 = hash->get();
  }
  if (const toml::node* subject = t.get("client_subject")) {
    const toml::value<std::string>* text = subject->as_string();
    if (text == nullptr || text->get().empty()) {
      return tl::unexpected(ConfigError(
          origin, subject->source(),
          "'client_subject' must be a certificate subject such as \"CN=utmpsd.example.org\" "
          "(openssl x509 -noout -subject -nameopt RFC2253 prints it)"));
    }
    rule.client_subject = text->get();
  }
  if (rule.networks.empty() && rule.token_sha256.empty() && rule.client_subject.empty()) {
    // Granting to everyone is possible, but only as written: networks = ["0.0.0.0/0", "::/0"].
    return tl::unexpected(ConfigError(
        origin, t.source(),
        "an [[access]] rule needs 'networks', 'token_sha256' or 'client_subject'"));
  }
  c->access.push_back(std::move(rule));
  return {};
}

Result<DaemonConfig> ParseConfig(std::string_view text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return tl::unexpected(ConfigError(origin, e.source(), std::string(e.description())));
  }
  DaemonConfig config;
  using Reader = Result<void> (*)(const toml::table&, DaemonConfig*, std::string_view);
  const std::pair<std::string_view, Reader> sections[] = {
      {"daemon", ReadDaemon},     {"files", ReadFiles}, {"store", ReadStore}, {"ingest", ReadIngest},
      {"sessions", ReadSessions}, {"http", ReadHttp},   {"udp", ReadUdp},
      {"log", ReadLog},           {"tls", ReadTls}};
  for (const auto& [key, node] : root) {
    if (key.str() == "access") {
      const toml::array* rules = node.as_array();
      if (rules == nullptr || !rules->is_array_of_tables()) {
        return tl::unexpected(ConfigError(origin, key.source(),
                                          "'access' must be [[access]] tables, one per rule"));
      }
      for (const toml::node& rule : *rules) {
        if (auto ok = ReadAccessRule(*rule.as_table(), &config, origin); !ok) {
          return tl::unexpected(ok.error());
        }
      }
      continue;
    }
    const Reader* reader = nullptr;
    for (const auto& [name, read] : sections) {
      if (key.str() == name) reader = &read;
    }
    if (reader == nullptr || !node.is_table()) {
      return tl::unexpected(ConfigError(
          origin, key.source(),
          fmt::format("unknown {} '{}' (expected [daemon], [files], [store], [ingest], [sessions], [http], [tls], [udp], [log] or [[access]])",
                      node.is_table() ? "table" : "key", key.str())));
    }
    if (auto ok = (*reader)(*node.as_table(), &config, origin); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return config;
}

std::vector<Network> DefaultPlaintextFrom() {
  return {*ParseNetwork("127.0.0.0/8"), *ParseNetwork("::1")};
}

Result<DaemonConfig> LoadConfig(const std::string& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!required && errno == ENOENT) return DaemonConfig{};
    return tl::unexpected(ErrnoError("cannot read " + path, errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

}  // namespace utmpcd
