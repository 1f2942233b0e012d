#include "net/http_request.h"

#include <strings.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/query.h"
#include "net/digest.h"
#include "net/request_head.h"

namespace utmpcd {

namespace http = boost::beast::http;

namespace {

// The value of the cookie utmp_token (RFC 6265 syntax: "a=1; utmp_token=T"), percent-decoded
// (the page stores it with encodeURIComponent); "" when it is malformed, nullopt when absent.
std::optional<std::string> CookieToken(const ApiRequest& r) {
  for (const auto& [name, value] : r.headers) {
    if (name.size() != 6 || ::strncasecmp(name.data(), "Cookie", 6) != 0) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      if (!pair.starts_with("utmp_token=")) continue;
      auto token = PercentDecode(pair.substr(11));
      if (!token) return std::string();
      while (!token->empty() && token->back() == ' ') token->pop_back();
      return *token;
    }
  }
  return std::nullopt;
}

}  // namespace

RequestOrRefusal RequestFromHead(const http::request_parser<http::empty_body>& parser,
                                 const Peer& peer) {
  RequestOrRefusal out;
  const auto& req = parser.get();
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    out.refusal = Refusal{405, "method_not_allowed", "only GET and HEAD are served", true};
    return out;
  }
  size_t hosts = 0;
  std::vector<std::string_view> codings;
  for (const auto& field : req) {
    if (field.name() == http::field::host) ++hosts;
    if (field.name() == http::field::transfer_encoding) {
      codings.emplace_back(field.value().data(), field.value().size());
    }
  }
  HeadCheck checked = CheckRequestHead(
      req.version(), std::string_view(req.target().data(), req.target().size()), hosts, codings);
  if (checked.status != 0) {
    out.refusal = Refusal{checked.status, checked.code, checked.message, false};
    return out;
  }
  if (!parser.is_done()) {
    out.refusal = Refusal{413, "body_not_allowed", "a request to this server has no body", false};
    return out;
  }
  ApiRequest& r = out.request;
  r.method = req.method() == http::verb::head ? "HEAD" : "GET";
  r.target = std::move(checked.target);
  r.headers.reserve(static_cast<size_t>(std::distance(req.begin(), req.end())));
  for (const auto& field : req) {
    r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  r.peer = peer;
  // The token is hashed here, once: the rules hold hashes, and api/ needs no OpenSSL.
  // A browser presents it as the cookie utmp_token (the dashboard sets it: an EventSource
  // cannot send an Authorization field); the field wins when both are sent.
  if (const std::string* authorization = r.Header("Authorization"); authorization == nullptr) {
    if (auto token = CookieToken(r); token) {
      r.bearer_present = true;
      if (!token->empty()) r.bearer_sha256 = Sha256Hex(*token);
    }
  }
  if (const std::string* authorization = r.Header("Authorization")) {
    r.bearer_present = true;
    std::string_view value = *authorization;
    if (value.size() > 7 && ::strncasecmp(value.data(), "Bearer ", 7) == 0) {
      std::string_view token = value.substr(7);
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
      while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
      if (!token.empty()) r.bearer_sha256 = Sha256Hex(token);
    }
  }
  return out;
}

std::optional<RequestOrRefusal> ParseRequestBytes(std::string_view bytes, const Peer& peer) {
  http::request_parser<http::empty_body> parser;
  parser.header_limit(kRequestHeadLimit);
  boost::system::error_code ec;
  // Beast parses a head once it is all there (and says header_limit once it is too long).
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec == http::error::need_more) return std::nullopt;
  RequestOrRefusal out;
  if (ec == http::error::header_limit) {
    out.refusal = Refusal{431, "headers_too_large", "the request line and headers exceed 8 KiB"};
    return out;
  }
  if (ec) {
    out.refusal = Refusal{400, "bad_request", "not a valid HTTP/1.1 request: " + ec.message()};
    return out;
  }
  return RequestFromHead(parser, peer);
}

}  // namespace utmpcd
