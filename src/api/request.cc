#include "api/request.h"

#include <strings.h>

#include "core/text.h"

namespace utmpcd {

const std::string* ApiRequest::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (field.size() == name.size() && ::strncasecmp(field.data(), name.data(), name.size()) == 0) {
      return &value;
    }
  }
  return nullptr;
}

ApiResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  std::string body = "{\"error\":{\"code\":";
  AppendJsonString(body, code);
  body += ",\"message\":";
  AppendJsonString(body, message);
  body += "}}\n";
  ApiResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace utmpcd
