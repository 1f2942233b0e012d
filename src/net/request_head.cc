#include "net/request_head.h"

#include <strings.h>

namespace utmpcd {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ::strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

HeadCheck Refuse(int status, std::string code, std::string message) {
  return HeadCheck{{}, status, std::move(code), std::move(message)};
}

}  // namespace

HeadCheck CheckRequestHead(unsigned version, std::string_view target, size_t host_fields,
                           const std::vector<std::string_view>& transfer_encodings) {
  if (!transfer_encodings.empty()) {
    std::string_view coding = Trim(transfer_encodings.front());
    if (transfer_encodings.size() == 1 && coding.size() == 7 &&
        ::strncasecmp(coding.data(), "chunked", 7) == 0) {
      return Refuse(413, "body_not_allowed", "a request to this server has no body");
    }
    std::string all;
    for (std::string_view v : transfer_encodings) all += (all.empty() ? "" : ", ") + std::string(v);
    return Refuse(501, "not_implemented", "Transfer-Encoding: " + all + " is not supported");
  }
  if (version >= 11 && host_fields != 1) {
    return Refuse(400, "bad_request",
                  host_fields == 0 ? "an HTTP/1.1 request names its Host"
                                   : "an HTTP/1.1 request names one Host, not several");
  }
  HeadCheck ok;
  if (StartsWithNoCase(target, "http://") || StartsWithNoCase(target, "https://")) {
    std::string_view rest = target.substr(target.find("//") + 2);
    size_t path = rest.find_first_of("/?");
    if (path == std::string_view::npos) {
      ok.target = "/";
    } else {
      ok.target = rest[path] == '?' ? "/" + std::string(rest.substr(path)) : std::string(rest.substr(path));
    }
  } else {
    ok.target = std::string(target);
  }
  return ok;
}

}  // namespace utmpcd
