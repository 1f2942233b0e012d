// Query: the request target of an HTTP request to port 431, split into its path and its
// decoded parameters, with the typed readers every endpoint shares (docs/PROTOCOL.md, "Query
// parameters"). Bytes come from the network: nothing here trusts them.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace utmpcd {

class Query {
 public:
  // Splits `target` ("/v1/history?user=alice&limit=5") into the path and the parameters,
  // decoding %XX and '+'. Fails (kInvalidArgument, the message says what) for a target that
  // is not origin-form or holds a malformed escape.
  static Result<Query> Parse(std::string_view target);

  const std::string& path() const { return path_; }

  // Fails naming the first parameter that is not in `known` (a typo must not widen a query).
  Result<void> OnlyKnown(std::initializer_list<std::string_view> known) const;

  // Every value of `name`, in order.
  std::vector<std::string> All(std::string_view name) const;
  // The value of `name` when given once; nullopt when absent; an error when repeated.
  Result<std::optional<std::string>> One(std::string_view name) const;
  // An integer in [min, max]; `fallback` when absent.
  Result<int64_t> Integer(std::string_view name, int64_t min, int64_t max,
                          int64_t fallback) const;
  // A time (RFC 3339, or whole seconds since the epoch) as microseconds UTC; nullopt when absent.
  Result<std::optional<int64_t>> TimeUs(std::string_view name) const;

 private:
  std::string path_;
  std::vector<std::pair<std::string, std::string>> params_;
};

// An RFC 3339 date-time ("2026-11-28T18:00:00Z", "...T19:00:00.25+01:00"; 'T' or ' ', 'z'
// accepted) or an integer count of seconds since the epoch, as microseconds UTC.
std::optional<int64_t> ParseApiTimeUs(std::string_view text);

// %XX decoded to its byte ('+' stays '+'); kInvalidArgument for a malformed escape. What
// request targets are decoded with, and the dashboard's cookie (net/http_request.cc).
Result<std::string> PercentDecode(std::string_view text);

}  // namespace utmpcd
