// The JSON of one session row, as GET /v1/history lists it and `utmpc last --json` prints it
// (which adds "file"): the fields are named here, once.
#pragma once

#include <cstdint>
#include <string>

#include "core/last_builder.h"

namespace utmpcd {

// The fields of one row's object, without braces (docs/PROTOCOL.md, GET /v1/history):
//   "type":"login","user":"alice","tty":"pts/0","host":"10.0.0.1","addr":"10.0.0.1",
//   "pid":1234,"login":"2024-01-02T03:04:05+00:00","login_time_us":...,"end":"logout",
//   "logout":"...","logout_time_us":...,"duration_s":3600
// Text fields are valid UTF-8 whatever bytes the record holds (invalid bytes become U+FFFD).
// `btmp`: the row is a failed login.
void AppendLastRowFields(std::string& out, const LastRow& row, int64_t now_s, bool btmp);

}  // namespace utmpcd
