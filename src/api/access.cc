#include "api/access.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace utmpcd {
namespace {

// The address as 16 bytes, IPv4 in the first 4 (an IPv4-mapped IPv6 address as IPv4).
std::optional<Network> ParseAddress(std::string_view text) {
  // A link-local peer comes with its zone ("fe80::1%eth0"): the address is before it.
  std::string s(text.substr(0, text.find('%')));
  Network n;
  if (::inet_pton(AF_INET, s.c_str(), n.bytes.data()) == 1) {
    n.prefix = 32;
    return n;
  }
  if (::inet_pton(AF_INET6, s.c_str(), n.bytes.data()) == 1) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(n.bytes.data(), kMapped, 12) == 0) {
      std::memmove(n.bytes.data(), n.bytes.data() + 12, 4);
      std::memset(n.bytes.data() + 4, 0, 12);
      n.prefix = 32;
      return n;
    }
    n.v6 = true;
    n.prefix = 128;
    return n;
  }
  return std::nullopt;
}

// Whether `a` (an address, as ParseAddress gives it) is in `network`.
bool Contains(const Network& network, const Network& a) {
  if (a.v6 != network.v6) return false;
  int bits = network.prefix;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF << (8 - bits));
    if ((a.bytes[i] & mask) != (network.bytes[i] & mask)) return false;
  }
  return true;
}

bool IsLoopback(const Network& a) {
  if (!a.v6) return a.bytes[0] == 127;
  static constexpr std::array<uint8_t, 16> kOne = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a.bytes == kOne;
}

// ASCII letters compared without case; `known` may end in a dot (a fully qualified name).
bool SameName(std::string_view name, std::string_view known) {
  if (!known.empty() && known.back() == '.') known.remove_suffix(1);
  return name.size() == known.size() &&
         std::equal(name.begin(), name.end(), known.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

// Compares every byte, whatever differs first: how long it takes says nothing of the token.
bool SameHash(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

bool IsLoopbackAddress(std::string_view address) {
  auto a = ParseAddress(address);
  return a && IsLoopback(*a);
}

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kSummary:
      return "summary";
    case Tier::kSessions:
      return "sessions";
    case Tier::kHistory:
      return "history";
    case Tier::kFull:
      return "full";
  }
  return "summary";
}

std::optional<Tier> ParseTier(std::string_view name) {
  for (Tier t : {Tier::kSummary, Tier::kSessions, Tier::kHistory, Tier::kFull}) {
    if (name == TierName(t)) return t;
  }
  return std::nullopt;
}

std::optional<Network> ParseNetwork(std::string_view text) {
  size_t slash = text.find('/');
  auto n = ParseAddress(text.substr(0, slash));
  if (!n) return std::nullopt;
  if (text.substr(0, slash).find(':') != std::string_view::npos && !n->v6) {
    return std::nullopt;  // ::ffff:a.b.c.d/N: say it as a.b.c.d/N
  }
  if (slash == std::string_view::npos) return n;
  std::string_view digits = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
      prefix > (n->v6 ? 128 : 32)) {
    return std::nullopt;
  }
  n->prefix = prefix;
  return n;
}

bool NetworkContains(const Network& network, std::string_view address) {
  auto a = ParseAddress(address);
  return a && Contains(network, *a);
}

Access DecideAccess(const ApiRequest& request, const AccessPolicy& policy) {
  Access access;
  const Peer& peer = request.peer;
  if (peer.transport == Peer::Transport::kUnix) {
    bool in_utmp = policy.utmp_gid &&
                   ((peer.gid && *peer.gid == *policy.utmp_gid) ||
                    std::find(peer.groups.begin(), peer.groups.end(), *policy.utmp_gid) !=
                        peer.groups.end());
    bool privileged = (peer.uid && *peer.uid == 0) || in_utmp;
    access.tier = privileged ? Tier::kFull : Tier::kHistory;
  }
  // The peer's address, parsed once for the default and every rule's networks.
  std::optional<Network> address;
  if (peer.transport == Peer::Transport::kTcp) {
    address = ParseAddress(peer.address);
    access.tier = address && IsLoopback(*address) ? Tier::kHistory : Tier::kSummary;
  }
  access.token = request.bearer_present;
  std::optional<Tier> by_credential;  // the highest tier a matching credential's rule gives
  for (const AccessRule& rule : policy.rules) {
    if (!rule.networks.empty()) {
      if (!address) continue;
      bool inside = false;
      for (const Network& n : rule.networks) inside = inside || Contains(n, *address);
      if (!inside) continue;
    }
    if (!rule.client_subject.empty() && rule.client_subject != peer.certificate_subject) {
      continue;
    }
    if (!rule.token_sha256.empty()) {
      if (request.bearer_sha256.empty() || !SameHash(rule.token_sha256, request.bearer_sha256)) {
        continue;
      }
      access.token_ok = true;
    }
    if (!rule.token_sha256.empty() || !rule.client_subject.empty()) {
      by_credential = std::max(by_credential.value_or(Tier::kSummary), rule.tier);
    }
    if (rule.tier > access.tier) {
      access.tier = rule.tier;
      access.rule = rule.name;
    }
  }
  access.by_credential = by_credential && *by_credential >= access.tier;
  return access;
}

bool HostIsThisHost(std::string_view host, const std::vector<std::string>& names) {
  if (host.empty() || host.front() == '[') return true;  // an IPv6 literal (or nothing)
  // The port, when there is one: digits after the last colon.
  if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return false;
  if (ParseAddress(host)) return true;  // an IPv4 literal: no name to rebind
  if (SameName(host, "localhost") ||
      (host.size() > 10 && SameName(host.substr(host.size() - 10), ".localhost"))) {
    return true;
  }
  return std::any_of(names.begin(), names.end(),
                     [host](const std::string& known) { return SameName(host, known); });
}

}  // namespace utmpcd
