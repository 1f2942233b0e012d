#include "utmpc/client_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace utmpcd {
namespace {

Error At(std::string_view origin, const toml::source_region& where, const std::string& what) {
  return Error{ErrorCode::kInvalidArgument,
               fmt::format("{}:{}:{}: {}", origin, where.begin.line, where.begin.column, what)};
}

std::string Expand(const std::string& path, const std::string& home) {
  if (path.rfind("~/", 0) == 0 && !home.empty()) return home + path.substr(1);
  return path;
}

// `outer`'s settings, each replaced by `inner`'s where it has one.
Credentials Nearest(const Credentials& outer, const Credentials& inner) {
  Credentials c = outer;
  if (inner.tls) c.tls = inner.tls;
  if (inner.ca_file) c.ca_file = inner.ca_file;
  if (inner.certificate) {
    c.certificate = inner.certificate;
    c.key.reset();  // a key from further out is no key of this certificate
  }
  if (inner.key) c.key = inner.key;
  if (inner.token) c.token = inner.token;
  return c;
}

Result<void> Expand(const ClientConfig& config, std::string_view name, int depth,
                    const Credentials& inherited, std::vector<NetHost>* out) {
  if (depth > 16) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("@{}: groups name each other in a circle", name));
  }
  const std::string key(name);
  if (auto group = config.groups.find(key); group != config.groups.end()) {
    Credentials within = inherited;
    if (auto own = config.group_credentials.find(key); own != config.group_credentials.end()) {
      within = Nearest(inherited, own->second);
    }
    for (const std::string& member : group->second) {
      if (auto ok = Expand(config, member, depth + 1, within, out); !ok) return ok;
    }
    return {};
  }
  std::string_view text = name;
  auto alias = config.hosts.find(key);
  if (alias != config.hosts.end()) text = alias->second;
  auto host = ParseNetHost(text);
  if (!host) return tl::unexpected(host.error());
  host->label = key;
  Credentials c = inherited;
  if (auto own = config.host_credentials.find(key); own != config.host_credentials.end()) {
    c = Nearest(inherited, own->second);
  }
  // A CA or a certificate of its own means TLS (a token must not go in clear because the
  // host's line forgot https://), unless the host is written http://.
  if (c.tls.value_or(config.tls.value_or(false)) || c.ca_file || c.certificate) {
    host->tls = host->tls || !text.starts_with("http://");
  }
  if (c.token) host->token = c.token;
  if (c.ca_file || c.certificate || c.key) {
    // A certificate without a key has its key in the same file.
    host->tls_files = TlsClientFiles{
        .ca_file = c.ca_file.value_or(config.files.ca_file),
        .certificate = c.certificate.value_or(config.files.certificate),
        .key = c.key.value_or(c.certificate ? std::string() : config.files.key)};
  }
  out->push_back(std::move(*host));
  return {};
}

// A string setting of the file: a non-empty string (a path with "~/" expanded).
Result<std::string> StringSetting(const toml::node& node, const std::string& name,
                                  std::string_view origin, const std::string& home) {
  const auto* value = node.as_string();
  if (value == nullptr || value->get().empty()) {
    return tl::unexpected(At(origin, node.source(), "'" + name + "' must be a non-empty string"));
  }
  return name == "token" ? value->get() : Expand(value->get(), home);
}

// The credentials of a [hosts.NAME] or [groups.NAME] table; `own` (url, hosts) is left to the
// caller. Unknown keys are errors.
Result<Credentials> ReadCredentials(const toml::table& table, std::string_view own,
                                    std::string_view origin, const std::string& home,
                                    int* tokens) {
  Credentials c;
  for (auto&& [key, node] : table) {
    const std::string name(key.str());
    if (name == own) continue;
    if (name == "tls") {
      const auto* value = node.as_boolean();
      if (value == nullptr) {
        return tl::unexpected(At(origin, node.source(), "'tls' must be true or false"));
      }
      c.tls = value->get();
      continue;
    }
    if (name != "cacert" && name != "cert" && name != "key" && name != "token") {
      return tl::unexpected(At(origin, key.source(),
                               fmt::format("unknown key '{}' (expected {}, tls, cacert, cert, "
                                           "key or token)",
                                           name, own)));
    }
    auto value = StringSetting(node, name, origin, home);
    if (!value) return tl::unexpected(value.error());
    (name == "cacert" ? c.ca_file : name == "cert" ? c.certificate
                                  : name == "key"  ? c.key
                                                   : c.token) = *value;
    if (name == "token") ++*tokens;
  }
  return c;
}

}  // namespace

Result<void> ParseClientConfig(std::string_view text, std::string_view origin,
                               const std::string& home, ClientConfig* config) {
  toml::table table;
  try {
    table = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return tl::unexpected(At(origin, e.source(), std::string(e.description())));
  }
  for (auto&& [key, node] : table) {
    const std::string name(key.str());
    if (name == "tls") {
      const auto* value = node.as_boolean();
      if (value == nullptr) {
        return tl::unexpected(At(origin, node.source(), "'tls' must be true or false"));
      }
      config->tls = value->get();
    } else if (name == "cacert" || name == "cert" || name == "key" || name == "token") {
      auto value = StringSetting(node, name, origin, home);
      if (!value) return tl::unexpected(value.error());
      if (name == "token") {
        config->token = *value;
        ++config->tokens;
      } else {
        std::string& out = name == "cacert" ? config->files.ca_file
                           : name == "cert" ? config->files.certificate
                                            : config->files.key;
        out = *value;
      }
    } else if (name == "hosts" || name == "groups") {
      const toml::table* entries = node.as_table();
      if (entries == nullptr) {
        return tl::unexpected(At(origin, node.source(), "'" + name + "' must be a table"));
      }
      for (auto&& [entry_key, entry] : *entries) {
        const std::string entry_name(entry_key.str());
        if (entry_name.empty() || entry_name.find_first_of(" @/:[]") != std::string::npos) {
          return tl::unexpected(At(origin, entry.source(), "'" + entry_name + "' is no name"));
        }
        // A table: the host's url or the group's hosts, and its own credentials.
        const toml::table* own = entry.as_table();
        const toml::node* value_node = &entry;
        if (own != nullptr) {
          const char* what = name == "hosts" ? "url" : "hosts";
          value_node = own->get(what);
          if (value_node == nullptr) {
            return tl::unexpected(At(origin, entry.source(),
                                     fmt::format("{}: '{}' needs '{}'", name, entry_name, what)));
          }
          auto credentials = ReadCredentials(*own, what, origin, home, &config->tokens);
          if (!credentials) return tl::unexpected(credentials.error());
          (name == "hosts" ? config->host_credentials
                           : config->group_credentials)[entry_name] = std::move(*credentials);
        } else {
          // Redefined without credentials (the user's file over the system's): none are kept
          // from before, lest a token go to the host the name now means.
          (name == "hosts" ? config->host_credentials : config->group_credentials)
              .erase(entry_name);
        }
        if (name == "hosts") {
          const auto* value = value_node->as_string();
          if (value == nullptr || !ParseNetHost(value->get())) {
            return tl::unexpected(At(origin, value_node->source(),
                                     "hosts: '" + entry_name +
                                         "' must be HOST[:PORT] or https://HOST[:PORT]"));
          }
          config->hosts[entry_name] = value->get();
          continue;
        }
        const toml::array* members = value_node->as_array();
        std::vector<std::string> list;
        if (members != nullptr) {
          for (const toml::node& member : *members) {
            const auto* value = member.as_string();
            if (value == nullptr || value->get().empty()) {
              members = nullptr;
              break;
            }
            std::string_view m = value->get();
            if (m.front() == '@') m.remove_prefix(1);
            list.emplace_back(m);
          }
        }
        if (members == nullptr || list.empty()) {
          return tl::unexpected(At(origin, value_node->source(),
                                   "groups: '" + entry_name + "' must be a list of host names"));
        }
        config->groups[entry_name] = std::move(list);
      }
    } else {
      return tl::unexpected(At(origin, key.source(),
                               "unknown key '" + name + "' (expected tls, cacert, cert, key, "
                               "token, [hosts] or [groups])"));
    }
  }
  return {};
}

Result<ClientConfig> LoadClientConfig() {
  const char* home_env = std::getenv("HOME");
  const std::string home = home_env != nullptr ? home_env : "";
  std::vector<std::string> paths;
  if (const char* explicit_path = std::getenv("UTMPC_CONFIG"); explicit_path && *explicit_path) {
    paths.emplace_back(explicit_path);
  } else {
    paths.emplace_back("/etc/utmpc/config.toml");
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg != nullptr && *xdg == '/') {
      paths.push_back(std::string(xdg) + "/utmpc/config.toml");
    } else if (!home.empty()) {
      paths.push_back(home + "/.config/utmpc/config.toml");
    }
  }
  ClientConfig config;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (errno == ENOENT && std::getenv("UTMPC_CONFIG") == nullptr) continue;
      return tl::unexpected(ErrnoError(path, errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    const int before = config.tokens;
    if (auto ok = ParseClientConfig(text.str(), path, home, &config); !ok) {
      return tl::unexpected(ok.error());
    }
    // A token is a password: like ssh with a private key, refuse one others may read.
    struct stat st {};
    if (config.tokens != before && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: holds a token and others may read it (mode {:o}): "
                                   "chmod 600 {}",
                                   path, st.st_mode & 0777, path));
    }
  }
  return config;
}

Result<std::vector<NetHost>> ExpandHost(const ClientConfig& config, std::string_view name) {
  std::vector<NetHost> hosts;
  if (auto ok = Expand(config, name, 0, Credentials{}, &hosts); !ok) {
    return tl::unexpected(ok.error());
  }
  return hosts;
}

}  // namespace utmpcd
