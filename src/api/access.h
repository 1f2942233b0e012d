// Who may ask what (docs/PROTOCOL.md, "Access"): the tier of a request, decided once, here,
// from what the network layer says about the peer (its address, a Unix peer's uid and gid)
// and the bearer token it presented, and the tier each endpoint needs.
//
// By default a request gets no more than the host's own files give its sender: root and group
// utmp on the Unix socket get `full` (btmp is 0660 root:utmp), any other local user and
// loopback TCP `history` (utmp and wtmp are world-readable), every other address `summary`.
// Rules ([[access]] in utmpcd.toml) grant more to source networks, tokens and TLS client
// certificates; a request gets the highest tier of the rules it matches.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/request.h"

namespace utmpcd {

// From least to most; each includes those below it.
enum class Tier {
  kSummary = 0,  // host name, boot, uptime, load, counts: no names
  kSessions,     // + who is on now (/v1/sessions)
  kHistory,      // + /v1/history, /v1/lastlog, the event stream without failed logins
  kFull,         // + failed logins (/v1/failed, failed events)
};
std::string_view TierName(Tier tier);
std::optional<Tier> ParseTier(std::string_view name);

// A source network: "10.0.0.0/8", "fd00::/8", or one address ("192.0.2.7": /32, /128).
struct Network {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int prefix = 0;
};
std::optional<Network> ParseNetwork(std::string_view text);
// Whether `address` ("192.0.2.7", "::1"; an IPv4-mapped IPv6 address counts as IPv4) is in it.
bool NetworkContains(const Network& network, std::string_view address);
// 127.0.0.0/8, ::1, or ::ffff:127.x.y.z.
bool IsLoopbackAddress(std::string_view address);

struct AccessRule {
  std::string name;               // for the log; "" for none
  std::vector<Network> networks;  // the sources it grants to (any, when empty)
  std::string token_sha256;       // 64 lowercase hex digits: also needs this bearer token
  // Also needs a verified TLS client certificate with this subject (Peer::certificate_subject,
  // compared whole).
  std::string client_subject{};
  Tier tier = Tier::kSummary;
};

struct AccessPolicy {
  std::vector<AccessRule> rules;
  std::optional<uint32_t> utmp_gid;  // group utmp: `full` on the Unix socket
};

struct Access {
  Tier tier = Tier::kSummary;
  bool token = false;     // the request presented a bearer token (or a malformed credential)
  bool token_ok = false;  // and a rule knows it
  std::string rule;       // the name of the rule that gave the tier ("" for the default)
  // A rule that needs a token or a client certificate gives the tier on its own (not only the
  // request's address: the default, or a rule of networks only).
  bool by_credential = false;
};
Access DecideAccess(const ApiRequest& request, const AccessPolicy& policy);

// Whether a request naming `host` in its Host field ("web1:431", "[::1]:431") is for this
// host. A browser on this host or a network that gets more than the summary can be made to
// read port 431 (DNS rebinding: a page of evil.example, whose name then resolves to this
// host's address, is allowed to read what evil.example answers): such a request names a host
// that is not this one. Asked of requests whose tier above the summary came from their
// address (loopback, an [[access]] network), not from a token or a certificate. Allowed: an IP address literal, "localhost" and names under ".localhost",
// and `names` (this host's: its hostname, its aliases, [http] host_names); names compare
// case-insensitively, a trailing dot aside. An empty field is allowed (HTTP/1.0).
bool HostIsThisHost(std::string_view host, const std::vector<std::string>& names);

}  // namespace utmpcd
