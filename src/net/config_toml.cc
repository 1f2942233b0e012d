// Reading a server's TOML configuration (net/config_toml.h).
#include "net/config_toml.h"

#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "net/udp_address.h"

namespace utmpcd {

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

// [tls]: the certificate and key a server serves, the CA of client certificates.
Result<void> ReadTls(const toml::table& t, std::optional<TlsServerOptions>* out,
                     std::string_view origin) {
  if (auto ok = OnlyKeys(t, "tls", {"certificate", "key", "client_ca", "plaintext_from"}, origin);
      !ok) {
    return ok;
  }
  TlsServerOptions tls;
  tls.plaintext_from = *out ? (*out)->plaintext_from : DefaultPlaintextFrom();
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
  *out = std::move(tls);
  return {};
}

// One [[access]] rule: what it grants (tier) to whom (networks, a token, a client
// certificate's subject, or several: then all of them must match).
Result<void> ReadAccessRule(const toml::table& t, std::vector<AccessRule>* out,
                            std::string_view origin) {
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
  out->push_back(std::move(rule));
  return {};
}

// The [[access]] array of tables `node` (key `key`), each rule appended to `out`.
Result<void> ReadAccessRules(const toml::key& key, const toml::node& node,
                             std::vector<AccessRule>* out, std::string_view origin) {
  const toml::array* rules = node.as_array();
  if (rules == nullptr || !rules->is_array_of_tables()) {
    return tl::unexpected(ConfigError(origin, key.source(),
                                      "'access' must be [[access]] tables, one per rule"));
  }
  for (const toml::node& rule : *rules) {
    if (auto ok = ReadAccessRule(*rule.as_table(), out, origin); !ok) return ok;
  }
  return {};
}

Result<std::optional<std::string>> ReadTextFile(const std::string& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!required && errno == ENOENT) return std::nullopt;
    return tl::unexpected(ErrnoError("cannot read " + path, errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Network> DefaultPlaintextFrom() {
  return {*ParseNetwork("127.0.0.0/8"), *ParseNetwork("::1")};
}

}  // namespace utmpcd
