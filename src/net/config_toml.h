// Reading a server's TOML configuration: the readers both daemons (utmpcd, utmpsd) use for their
// own sections, and the sections they share: listen addresses, [tls] and [[access]]. Every
// error is kInvalidArgument with "FILE:LINE:COLUMN: what is wrong" (toml++'s position), and a
// value of the wrong type or out of range is an error, never a silent default.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "api/access.h"
#include "core/result.h"
#include "net/tls.h"

namespace utmpcd {

// "origin:line:col: message", or "origin: message" when toml++ gives no position.
Error ConfigError(std::string_view origin, const toml::source_region& where,
                  const std::string& message);

// Rejects keys a table does not know: a typo must not silently leave a default in force.
Result<void> OnlyKeys(const toml::table& table, std::string_view name,
                      const std::set<std::string_view>& known, std::string_view origin);

// Each reads `key` of `t` into `out` when present, and fails when it has the wrong type or is
// out of range; a missing key leaves `out` as it was.
Result<void> ReadString(const toml::table& table, std::string_view key, std::string* out,
                        std::string_view origin);  // a non-empty string
Result<void> ReadInteger(const toml::table& t, std::string_view key, int64_t min, int64_t max,
                         int64_t* out, std::string_view origin);
Result<void> ReadNumber(const toml::table& t, std::string_view key, double min, double max,
                        double* out, std::string_view origin);
Result<void> ReadBool(const toml::table& t, std::string_view key, bool* out,
                      std::string_view origin);

// A listen address as [http] and [udp] listen and --http-listen take it: a numeric IPv4 or
// bracketed IPv6 address, a colon and a port of 0 to 65535 ("127.0.0.1:431", "[::1]:0").
// kInvalidArgument, naming the text and what is wrong, otherwise.
Result<void> CheckListenAddress(std::string_view text);
// `listen` of `t`: an array of such addresses (replacing `out`).
Result<void> ReadListen(const toml::table& t, std::vector<std::string>* out,
                        std::string_view origin);
// `key` of `t`, an array of networks ("10.0.0.0/8", "::1"), into `out` when present; an
// empty array only when `empty_ok`.
Result<void> ReadNetworks(const toml::table& t, std::string_view key, bool empty_ok,
                          std::vector<Network>* out, std::string_view origin);

// [tls] plaintext_from when unset: loopback (127.0.0.0/8 and ::1).
std::vector<Network> DefaultPlaintextFrom();
// A [tls] table: certificate, key, client_ca, plaintext_from.
Result<void> ReadTls(const toml::table& t, std::optional<TlsServerOptions>* out,
                     std::string_view origin);
// One [[access]] table (name, networks, token_sha256, client_subject, tier), appended to `out`.
Result<void> ReadAccessRule(const toml::table& t, std::vector<AccessRule>* out,
                            std::string_view origin);
// The value of key `access` of the root table: [[access]] tables, each appended to `out`.
Result<void> ReadAccessRules(const toml::key& key, const toml::node& node,
                             std::vector<AccessRule>* out, std::string_view origin);

// The whole file; nullopt when it is missing and not `required`. kIo naming the path otherwise.
Result<std::optional<std::string>> ReadTextFile(const std::string& path, bool required);

}  // namespace utmpcd
