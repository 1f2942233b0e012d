// ParseAuthFailure (the journal messages the daemon reads failed logins from: sshd's and PAM's,
// whose user names anyone trying to log in chooses) on arbitrary bytes: the identifier up to
// the first NUL, the message after it. Never a crash; what it finds is taken from the message
// (user and host are pieces of it), and sshd's failures are on "ssh:notty".
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "sources/journal_follower.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t nul = bytes.find('\0');
  std::string_view identifier = nul == std::string_view::npos ? "sshd" : bytes.substr(0, nul);
  std::string_view message = nul == std::string_view::npos ? bytes : bytes.substr(nul + 1);
  auto failure = utmpcd::ParseAuthFailure(identifier, message);
  if (!failure) return 0;
  Check(message.find(failure->user) != std::string_view::npos, "the user is from the message");
  Check(message.find(failure->host) != std::string_view::npos, "the host is from the message");
  const bool sshd = identifier == "sshd" || identifier == "sshd-session" || identifier == "sshd-auth";
  Check(!sshd || failure->tty == "ssh:notty", "sshd's failures are on ssh:notty");
  Check(!sshd || !failure->host.empty(), "sshd names where a failure came from");
  return 0;
}
