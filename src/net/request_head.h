// What RFC 9112 asks of a server that takes no request body, decided on the request head
// alone, before any endpoint runs: no bytes of one request may be read as the next one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace utmpcd {

struct HeadCheck {
  // The target in origin form ("/v1/host?x=1"): an absolute-form target
  // ("http://web1:431/v1/host") loses its scheme and authority, as RFC 9112 3.2.2 says.
  std::string target;
  // 0: serve it. Else the error to answer, after which the connection closes: 400 for an
  // HTTP/1.1 request without exactly one Host field, 413 for a chunked body, 501 for any other
  // Transfer-Encoding (which says nothing of where the body ends).
  int status = 0;
  std::string code;
  std::string message;
};

// `version` is 10 or 11; `host_fields` how many Host fields the head has; `transfer_encodings`
// the value of each Transfer-Encoding field.
HeadCheck CheckRequestHead(unsigned version, std::string_view target, size_t host_fields,
                           const std::vector<std::string_view>& transfer_encodings);

}  // namespace utmpcd
