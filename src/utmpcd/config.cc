#include "utmpcd/config.h"

#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "net/config_toml.h"

namespace utmpcd {
namespace {

Result<void> ReadFiles(const toml::table& files, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(files, "files", {"wtmp", "btmp", "utmp", "lastlog", "lastlog2", "layout",
                                              "wtmpdb"},
                         origin);
      !ok) {
    return ok;
  }
  for (auto [key, out] : {std::pair<std::string_view, std::string*>{"wtmp", &c->wtmp},
                          {"btmp", &c->btmp},
                          {"wtmpdb", &c->wtmpdb},
                          {"utmp", &c->utmp},
                          {"lastlog", &c->lastlog},
                          {"lastlog2", &c->lastlog2}}) {
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

Result<void> ReadSources(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "sources", {"history", "failed", "journal_directory"}, origin); !ok) {
    return ok;
  }
  if (auto ok = ReadString(t, "failed", &c->failed_source, origin); !ok) return ok;
  if (auto ok = ReadString(t, "journal_directory", &c->journal_directory, origin); !ok) return ok;
  if (c->failed_source != "auto" && c->failed_source != "btmp" && c->failed_source != "journal" &&
      c->failed_source != "both" && c->failed_source != "none") {
    return tl::unexpected(ConfigError(origin, t.get("failed")->source(),
                                      "'failed' must be \"auto\", \"btmp\", \"journal\", "
                                      "\"both\" or \"none\""));
  }
  if (auto ok = ReadString(t, "history", &c->history_source, origin); !ok) return ok;
  if (c->history_source != "auto" && c->history_source != "wtmp" &&
      c->history_source != "wtmpdb" && c->history_source != "both") {
    return tl::unexpected(ConfigError(origin, t.get("history")->source(),
                                      "'history' must be \"auto\", \"wtmp\", \"wtmpdb\" or "
                                      "\"both\""));
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

}  // namespace

namespace {

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

Result<void> ReadFinger(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  if (auto ok = OnlyKeys(t, "finger", {"listen"}, origin); !ok) return ok;
  return ReadListen(t, &c->finger_listen, origin);
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

Result<void> ReadTlsSection(const toml::table& t, DaemonConfig* c, std::string_view origin) {
  return ReadTls(t, &c->tls, origin);
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
      {"sources", ReadSources},   {"finger", ReadFinger},
      {"log", ReadLog},           {"tls", ReadTlsSection}};
  for (const auto& [key, node] : root) {
    if (key.str() == "access") {
      if (auto ok = ReadAccessRules(key, node, &config.access, origin); !ok) {
        return tl::unexpected(ok.error());
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
          fmt::format("unknown {} '{}' (expected [daemon], [files], [sources], [store], [ingest], [sessions], [http], [tls], [udp], [log] or [[access]])",
                      node.is_table() ? "table" : "key", key.str())));
    }
    if (auto ok = (*reader)(*node.as_table(), &config, origin); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  return config;
}

Result<DaemonConfig> LoadConfig(const std::string& path, bool required) {
  auto text = ReadTextFile(path, required);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return DaemonConfig{};
  return ParseConfig(**text, path);
}

}  // namespace utmpcd
