#include "api/web_page.h"

#include <string>

#include "api/web_files_internal.h"

namespace utmpcd {

namespace {

std::string_view ContentType(std::string_view path) {
  auto ends = [&](std::string_view suffix) { return path.ends_with(suffix); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::optional<ApiResponse> WebPageFile(std::string_view path, std::string_view server) {
  if (path == "/") path = "/index.html";
  for (const WebFile& file : WebFiles()) {
    if (file.path != path) continue;
    ApiResponse r;
    r.body = std::string(file.bytes);
    if (path == "/index.html") {
      constexpr std::string_view kMarker = "@SERVER@";
      if (size_t at = r.body.find(kMarker); at != std::string::npos) {
        r.body.replace(at, kMarker.size(), server);
      }
    }
    r.content_type = std::string(ContentType(path));
    r.headers = {{"Content-Security-Policy", std::string(kWebPagePolicy)},
                 {"Referrer-Policy", "no-referrer"},
                 {"X-Frame-Options", "DENY"},
                 {"Cross-Origin-Resource-Policy", "same-origin"}};
    return r;
  }
  return std::nullopt;
}

}  // namespace utmpcd
