// What every server of the protocol (utmpcd's Api, utmpsd's FleetApi) checks before an endpoint
// answers, once the request's access is decided (api/access.h): the Host field of a request
// granted more than the summary by its address alone (DNS rebinding), a credential no rule
// knows, and the tier the endpoint needs. Each returns the error response, or nullopt to go on.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/request.h"

namespace utmpcd {

// 421 misdirected_request when `request` (over TCP) got more than the summary by its address
// alone and its Host field names none of `host_names` (HostIsThisHost).
std::optional<ApiResponse> CheckHostField(const ApiRequest& request, const Access& access,
                                          const std::vector<std::string>& host_names);
// 401 when the request presented a credential that no rule knows.
std::optional<ApiResponse> CheckCredential(const Access& access);
// 401 (no credential: how to present one) or 403 (a good credential, too weak) when the
// request's tier is below `need`; the message names `path` and both tiers.
std::optional<ApiResponse> CheckTier(const ApiRequest& request, const Access& access,
                                     std::string_view path, Tier need);
// GET /v1/access: the tier the request got, the rule that gave it, and whether it presented a
// token: {"tier":"history","rule":null,"token":false}. A client (the dashboard) asks it to
// leave out what the viewer may not see, and to say why.
ApiResponse AccessAnswer(const Access& access);
// The access log line of a request ([log] access): the peer, the rule, the tier, the request
// and the status.
void LogAccess(const ApiRequest& request, const Access& access, int status);

}  // namespace utmpcd
