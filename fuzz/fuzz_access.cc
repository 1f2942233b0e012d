// The access rules (api/access.h) on untrusted text: a network as a rule writes it, and the
// address a peer comes from. Never a crash; a network that parses contains the address it was
// written with; the tier a request gets is never below the default for its peer, nor above
// the highest tier of the rules.
#include <cstdint>
#include <string>
#include <string_view>

#include "api/access.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t newline = text.find('\n');
  std::string_view network_text = text.substr(0, newline);
  std::string_view address =
      newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);

  auto network = utmpcd::ParseNetwork(network_text);
  if (network) {
    Check(network->prefix >= 0 && network->prefix <= (network->v6 ? 128 : 32), "prefix range");
    std::string_view base = network_text.substr(0, network_text.find('/'));
    Check(utmpcd::NetworkContains(*network, base), "a network does not contain its address");
  }
  (void)utmpcd::NetworkContains(network.value_or(utmpcd::Network{}), address);

  utmpcd::ApiRequest request;
  request.peer.address = std::string(address);
  utmpcd::AccessPolicy none;
  utmpcd::Tier base = utmpcd::DecideAccess(request, none).tier;
  utmpcd::AccessPolicy policy;
  if (network) {
    policy.rules.push_back({.name = "n", .networks = {*network}, .token_sha256 = "",
                            .client_subject = "", .tier = utmpcd::Tier::kSessions});
  }
  utmpcd::Access access = utmpcd::DecideAccess(request, policy);
  Check(access.tier >= base, "a rule lowered the tier");
  Check(access.tier <= std::max(base, utmpcd::Tier::kSessions), "a tier no rule grants");
  Check(!access.token, "a token without a credential");
  return 0;
}
