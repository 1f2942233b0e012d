#include "utmpc/local_daemon.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "net/http_client.h"
#include "utmpc/net_query.h"
#include "utmpc/usage.h"

namespace utmpcd {
namespace {

// --timeout beyond a minute is a typo for a daemon on this host.
constexpr double kMaxTimeoutS = 60;

// Asks for `target` and hands the body to `take` (which decodes it: a body it cannot read is no
// answer either). `what` names the answer for --verbose.
Asked Ask(const DaemonOptions& o, const char* command, std::string_view files,
          const std::string& target, std::string_view what,
          const std::function<Result<void>(std::string_view)>& take) {
  if (o.no_daemon) {
    NoteReading(o, command, files);
    return Asked::kReadFiles;
  }
  std::string socket = ApiSocketPath(o);
  auto body = GetFromSocket(socket, target, o.timeout_ms);
  Result<void> taken = body ? take(*body) : tl::unexpected(body.error());
  if (taken) {
    if (o.verbose) {
      fmt::print(stderr, "utmpc {}: reading {} of utmpcd on {}\n", command, what, socket);
    }
    return Asked::kAnswered;
  }
  // A socket named with --socket must answer; the default one (or $UTMPC_SOCKET) is asked only
  // in passing, as `last` reads the daemon's database when there is one.
  if (!o.socket.empty()) {
    fmt::print(stderr, "utmpc {}: {}: {}\n", command, socket, taken.error().message);
    return Asked::kFailed;
  }
  if (o.verbose) {
    fmt::print(stderr, "utmpc {}: {}: {}; reading {}\n", command, socket, taken.error().message,
               files);
  }
  return Asked::kReadFiles;
}

bool ParseTimeout(const char* text, int64_t* timeout_ms) {
  char* end = nullptr;
  errno = 0;
  double s = std::strtod(text, &end);
  if (end == text || *end != '\0' || errno != 0 || !std::isfinite(s) || s <= 0 ||
      s > kMaxTimeoutS) {
    return false;
  }
  *timeout_ms = std::max<int64_t>(1, std::llround(s * 1000));
  return true;
}

}  // namespace

const char kDaemonOptionsHelp[] =
    "      --socket PATH     ask the utmpcd listening on PATH (default: $UTMPC_SOCKET, else\n"
    "                        /run/utmpcd/api.sock); it must answer\n"
    "      --no-daemon       read the file even when utmpcd answers\n"
    "      --timeout SECONDS how long utmpcd has to answer before the file is read (1)\n"
    "      --verbose         say on stderr what is read\n";

std::vector<struct option> WithDaemonOptions(std::vector<struct option> own) {
  own.push_back({"socket", required_argument, nullptr, kDaemonSocket});
  own.push_back({"no-daemon", no_argument, nullptr, kDaemonNoDaemon});
  own.push_back({"timeout", required_argument, nullptr, kDaemonTimeout});
  own.push_back({"verbose", no_argument, nullptr, kDaemonVerbose});
  own.push_back({nullptr, 0, nullptr, 0});
  return own;
}

int TakeDaemonOption(int c, const char* arg, const char* command, DaemonOptions* o) {
  switch (c) {
    case kDaemonSocket:
      if (*arg == '\0') {
        fmt::print(stderr, "utmpc {}: --socket: empty path\n", command);
        return kUsageError;
      }
      o->socket = arg;
      return -1;
    case kDaemonNoDaemon:
      o->no_daemon = true;
      return -1;
    case kDaemonTimeout:
      if (!ParseTimeout(arg, &o->timeout_ms)) {
        fmt::print(stderr, "utmpc {}: invalid timeout '{}' (seconds, above 0, at most {})\n",
                   command, arg, kMaxTimeoutS);
        return kUsageError;
      }
      return -1;
    case kDaemonVerbose:
      o->verbose = true;
      return -1;
    default:
      return -2;
  }
}

std::string ApiSocketPath(const DaemonOptions& o) {
  if (!o.socket.empty()) return o.socket;
  const char* env = std::getenv("UTMPC_SOCKET");
  return env != nullptr && *env != '\0' ? env : kApiSocketPath;
}

Asked AskSessions(const DaemonOptions& o, const char* command, std::string_view files,
                  std::vector<ApiSession>* sessions) {
  return Ask(o, command, files, "/v1/sessions", "the live sessions",
             [&](std::string_view body) -> Result<void> {
               auto decoded = DecodeSessions(body);
               if (!decoded) return tl::unexpected(decoded.error());
               *sessions = std::move(*decoded);
               return {};
             });
}

Asked AskLastlog(const DaemonOptions& o, const char* command, std::string_view files,
                 const std::optional<std::string>& user, std::vector<ApiLastlog>* users) {
  std::string target = "/v1/lastlog";
  if (user) AddParam(&target, "user", *user);
  return Ask(o, command, files, target, "the last logins",
             [&](std::string_view body) -> Result<void> {
               auto decoded = DecodeLastlog(body);
               if (!decoded) return tl::unexpected(decoded.error());
               *users = std::move(*decoded);
               return {};
             });
}

void NoteReading(const DaemonOptions& o, const char* command, std::string_view files) {
  if (o.verbose) fmt::print(stderr, "utmpc {}: reading {}\n", command, files);
}

}  // namespace utmpcd
