// The finger responder's protocol (RFC 1288; docs/PROTOCOL.md, "Finger (TCP 79)"), without the
// network: a query line read, and the answer written, as far as the asker's tier allows. At
// the summary tier the answer is the host's counts and the same text whatever user is asked
// for (no enumeration of names); from the sessions tier on, who is on, as `who` shows it. No
// query is ever forwarded to another host. Every byte of the answer is printable ASCII or CRLF:
// text from the records is escaped (core/text.h), finger clients print what they get.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/access.h"
#include "api/host_summary.h"
#include "sources/utmp_snapshot.h"

namespace utmpcd {

struct FingerQuery {
  bool verbose = false;  // "/W": the same answer (there is nothing more to say)
  std::string user;      // "" for everybody
  bool forward = false;  // "user@host": refused
  bool bad = false;      // not a query of RFC 1288 (a control byte, too long)
};

// The query line as read, up to (without) its LF; a CR before it is dropped.
FingerQuery ParseFingerQuery(std::string_view line);

// The answer, in lines ending CRLF.
std::string FingerAnswer(const FingerQuery& query, Tier tier, const HostSummary& host,
                         const std::vector<LiveSession>& sessions);

}  // namespace utmpcd
