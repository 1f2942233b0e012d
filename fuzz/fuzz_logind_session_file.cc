// ParseLogindSessionFile (logind's session state file: root writes it, but REMOTE_HOST and
// other values in it come from the login) on arbitrary bytes: never a crash; a leader and start
// time that are never negative; a user name with nothing that needs unquoting; and what it
// found, written back the way logind writes it, parses to the same fields.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "sources/logind_session_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  utmpcd::LogindSessionFile f = utmpcd::ParseLogindSessionFile(text);
  Check(f.leader >= 0, "leader is never negative");
  Check(f.realtime_us >= 0, "start time is never negative");
  for (unsigned char c : f.user) {
    Check(c > ' ' && c != 0x7F && c != '"' && c != '\'' && c != '\\', "user name is plain");
  }
  std::string again = "LEADER=" + std::to_string(f.leader) + "\nREALTIME=" +
                      std::to_string(f.realtime_us) + "\nUSER=" + f.user + "\n";
  utmpcd::LogindSessionFile g = utmpcd::ParseLogindSessionFile(again);
  Check(g.leader == f.leader && g.realtime_us == f.realtime_us && g.user == f.user,
        "the fields written back parse the same");
  utmpcd::IsLogindSessionId(text);
  return 0;
}
