#include "api/access_gate.h"

#include <fmt/format.h>

#include "core/log.h"
#include "core/text.h"

namespace utmpcd {
namespace {

// 401 (no credential, or a wrong one) or 403 (a good one, too low a tier).
ApiResponse Refused(int status, std::string_view message) {
  ApiResponse response =
      ErrorResponse(status, status == 401 ? "unauthorized" : "forbidden", message);
  if (status == 401) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace

std::optional<ApiResponse> CheckHostField(const ApiRequest& request, const Access& access,
                                          const std::vector<std::string>& host_names) {
  // DNS rebinding: a browser on this host (or on a network an [[access]] rule grants more), on
  // a page of another name that now resolves to this host's address, would read what that
  // address is given. Its Host field names that other host. Only a request whose tier a
  // token or a client certificate gave is let through: a page of another name knows no token
  // that grants more than its address gets (it could present one that grants less, and keep
  // the address's tier: so the tier must come from the credential, not merely be sent with
  // one), and a browser sends the dashboard's cookie only to the name that set it.
  const bool by_address = !access.by_credential && access.tier > Tier::kSummary;
  if (request.peer.transport == Peer::Transport::kTcp && by_address) {
    const std::string* host = request.Header("Host");
    if (host != nullptr && !HostIsThisHost(*host, host_names)) {
      return ErrorResponse(421, "misdirected_request",
                           "Host names no name of this host: ask for localhost, an address, or "
                           "a name of this host ([http] host_names)");
    }
  }
  return std::nullopt;
}

std::optional<ApiResponse> CheckCredential(const Access& access) {
  if (access.token && !access.token_ok) {
    return Refused(401, "the credential is no token this host knows (Authorization: Bearer "
                        "TOKEN)");
  }
  return std::nullopt;
}

std::optional<ApiResponse> CheckTier(const ApiRequest& request, const Access& access,
                                     std::string_view path, Tier need) {
  if (access.tier >= need) return std::nullopt;
  const std::string& subject = request.peer.certificate_subject;
  std::string who = access.token        ? "this token"
                    : !subject.empty() ? "the certificate of " + subject
                                       : "this client";
  std::string message = fmt::format("{} needs the {} tier; {} has {}", path, TierName(need), who,
                                    TierName(access.tier));
  // A credential that was presented and is too weak: 403; none at all: 401, and how.
  if (access.token || !subject.empty()) return Refused(403, message);
  return Refused(401, message + fmt::format(": present a token (Authorization: Bearer TOKEN){} "
                                            "that grants it",
                                            request.peer.tls ? " or a client certificate" : ""));
}

void LogAccess(const ApiRequest& request, const Access& access, int status) {
  const Peer& p = request.peer;
  std::string who = p.transport == Peer::Transport::kTcp
                        ? fmt::format("{}{}{}:{}", p.address.find(':') != std::string::npos ? "[" : "",
                                      p.address,
                                      p.address.find(':') != std::string::npos ? "]" : "", p.port)
                        : p.uid ? fmt::format("unix uid {}", *p.uid) : std::string("unix");
  // (LogLine escapes what the client sent: the target reaches the journal as text.)
  Log(LogLevel::kInfo, "access: {} rule={} tier={} {} {} {}", who,
      access.rule.empty() ? "-" : access.rule,
      access.token && !access.token_ok ? "refused" : TierName(access.tier), request.method,
      request.target, status);
}

ApiResponse AccessAnswer(const Access& access) {
  std::string body = fmt::format("{{\"tier\":\"{}\",\"rule\":", TierName(access.tier));
  if (access.rule.empty()) {
    body += "null";
  } else {
    AppendJsonString(body, access.rule);
  }
  body += fmt::format(",\"token\":{}}}\n", access.token ? "true" : "false");
  ApiResponse response;
  response.body = std::move(body);
  return response;
}

}  // namespace utmpcd
