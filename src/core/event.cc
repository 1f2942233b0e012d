#include "core/event.h"

#include <arpa/inet.h>

namespace utmpcd {
namespace {

constexpr const char* kKindNames[] = {"login",    "logout",   "boot", "shutdown",
                                      "failed",   "gone",     "runlevel", "clock"};
constexpr const char* kSourceNames[] = {"utmp", "wtmp",   "btmp",   "logind",
                                        "pam",  "import", "wtmpdb", "journal", "rwhod"};

}  // namespace

const char* EventKindName(EventKind kind) { return kKindNames[static_cast<int>(kind)]; }
const char* EventSourceName(EventSource source) {
  return kSourceNames[static_cast<int>(source)];
}

std::optional<EventKind> ParseEventKind(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kKindNames)); ++i) {
    if (name == kKindNames[i]) return static_cast<EventKind>(i);
  }
  return std::nullopt;
}

std::optional<EventSource> ParseEventSource(std::string_view name) {
  for (int i = 0; i < static_cast<int>(std::size(kSourceNames)); ++i) {
    if (name == kSourceNames[i]) return static_cast<EventSource>(i);
  }
  return std::nullopt;
}

std::array<uint8_t, 16> RemoteAddrOf(const std::string& host) {
  std::array<uint8_t, 16> address{};
  if (::inet_pton(AF_INET6, host.c_str(), address.data()) == 1) return address;
  address.fill(0);
  if (::inet_pton(AF_INET, host.c_str(), address.data()) != 1) address.fill(0);
  return address;
}

}  // namespace utmpcd
