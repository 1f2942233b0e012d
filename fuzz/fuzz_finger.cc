// The finger responder's protocol (api/finger.h) on arbitrary bytes: the query line is the
// input up to its first LF, the sessions are made of what follows (NUL-separated user, tty and
// remote host, three at a time). Never a crash; every answer is printable ASCII in lines ending
// CRLF; at the summary tier the answer is the same whatever user is asked for (no name is
// told, nor whether one is known), and no name of a session is in it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/finger.h"
#include "fuzz/fuzz_check.h"

namespace {

void CheckText(const std::string& answer) {
  using utmpcd::fuzz::Check;
  Check(!answer.empty() && answer.ends_with("\r\n"), "an answer is lines ending CRLF");
  for (size_t i = 0; i < answer.size(); ++i) {
    const auto c = static_cast<unsigned char>(answer[i]);
    if (c == '\r') {
      Check(i + 1 < answer.size() && answer[i + 1] == '\n', "CR only before LF");
      continue;
    }
    if (c == '\n') {
      Check(i > 0 && answer[i - 1] == '\r', "LF only after CR");
      continue;
    }
    Check(c >= 0x20 && c < 0x7f, "printable ASCII");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using utmpcd::fuzz::Check;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t lf = bytes.find('\n');
  std::string_view line = bytes.substr(0, lf);
  std::vector<utmpcd::LiveSession> sessions;
  if (lf != std::string_view::npos) {
    std::vector<std::string> fields;
    std::string_view rest = bytes.substr(lf + 1);
    while (!rest.empty() && fields.size() < 30) {
      size_t nul = rest.find('\0');
      fields.emplace_back(rest.substr(0, nul));
      rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
    }
    for (size_t i = 0; i + 2 < fields.size(); i += 3) {
      utmpcd::LiveSession s;
      s.user = fields[i];
      s.line = fields[i + 1];
      s.host = fields[i + 2];
      s.login_time_us = static_cast<int64_t>(i) * 1000000;
      sessions.push_back(s);
    }
  }
  utmpcd::HostSummary host;
  host.hostname = "web1\x1b[2J";
  host.users = 2;
  host.sessions = static_cast<int64_t>(sessions.size());
  host.uptime_s = static_cast<int64_t>(size) * 977;
  utmpcd::FingerQuery query = utmpcd::ParseFingerQuery(line);
  for (utmpcd::Tier tier : {utmpcd::Tier::kSummary, utmpcd::Tier::kSessions, utmpcd::Tier::kFull}) {
    std::string answer = utmpcd::FingerAnswer(query, tier, host, sessions);
    CheckText(answer);
    if (tier == utmpcd::Tier::kSummary && !query.bad && !query.forward) {
      utmpcd::FingerQuery everybody;
      Check(answer == utmpcd::FingerAnswer(everybody, tier, host, sessions),
            "the summary is the same whatever user is asked for");
    }
  }
  Check(!query.forward || line.find('@') != std::string_view::npos, "forwarding needs an @");
  return 0;
}
