// From a request head Beast parsed to the request the handler sees, or to the error the server
// answers instead: the method (GET and HEAD only), RFC 9112's rules on Host and
// Transfer-Encoding (net/request_head.h), no body. For src/net (it includes Beast) and the
// fuzz target that feeds it raw bytes as the server reads them.
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include <boost/beast/http.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "api/request.h"

namespace utmpcd {

// What a request line and its header fields may take together.
inline constexpr size_t kRequestHeadLimit = 8192;

struct Refusal {
  int status = 400;
  std::string code;
  std::string message;
  bool keep_alive = false;  // the connection may serve the next request (when the client wants)
};

struct RequestOrRefusal {
  ApiRequest request;             // when there is no refusal
  std::optional<Refusal> refusal;
};

// `parser` has read a whole head.
RequestOrRefusal RequestFromHead(
    const boost::beast::http::request_parser<boost::beast::http::empty_body>& parser,
    const Peer& peer);

// What the server makes of `bytes` arriving on a connection: the request (or refusal) of the
// head they begin with, a refusal when they are no HTTP or too long, nullopt while the head is
// incomplete. The server reads with Beast's async_read_header into the same parser.
std::optional<RequestOrRefusal> ParseRequestBytes(std::string_view bytes, const Peer& peer);

}  // namespace utmpcd
