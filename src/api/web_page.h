// The dashboard (web/, docs/DASHBOARD.md): a page each server answers at "/", whose script
// reads the same API a client does, with the viewer's own credential. The page's files hold no
// login data, so anyone who reaches the server may load them (the summary tier); what the page
// then shows is what the viewer's tier allows.
#pragma once

#include <optional>
#include <string_view>

#include "api/request.h"

namespace utmpcd {

// The page's Content-Security-Policy: its own script and style only, no inline script, no
// request to anywhere but this server, not framed.
inline constexpr std::string_view kWebPagePolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// 200 with the file at `path` ("/" is index.html, "/app.js") and the page's security headers;
// nullopt when `path` is no file of the page. `server` ("utmpcd", "utmpsd") tells the page
// which API it reads (index.html's data-server).
std::optional<ApiResponse> WebPageFile(std::string_view path, std::string_view server);

}  // namespace utmpcd
