// `utmpc last --json`: the rows of a listing as a JSON array, one object per line.
#pragma once

#include <cstdint>
#include <string>

#include "core/last_builder.h"
#include "utmpc/output.h"

namespace utmpcd {

// Each object (docs/utmpc.1 lists the fields):
//   {"type":"login","user":"alice","tty":"pts/0","host":"10.0.0.1","addr":"10.0.0.1",
//    "pid":1234,"login":"2024-01-02T03:04:05+00:00","login_time_us":...,"end":"logout",
//    "logout":"...","logout_time_us":...,"duration_s":3600,"file":"/var/log/wtmp"}
// Text fields are valid UTF-8 whatever bytes the record holds (invalid bytes become U+FFFD).
// The fields of one row's object, without braces and without "file" (shared with the HTTP
// API's GET /v1/history, docs/PROTOCOL.md). `btmp`: the row is a failed login.
void AppendLastRowFields(std::string& out, const LastRow& row, int64_t now_s, bool btmp);

class LastJson {
 public:
  // `btmp`: the rows are failed logins (lastb).
  LastJson(Output* out, bool btmp) : out_(out), btmp_(btmp) {}
  void Begin();
  void AppendRow(const LastRow& row, int64_t now_s, const std::string& file);
  void End();

 private:
  Output* out_;
  bool btmp_;
  bool first_ = true;
};

}  // namespace utmpcd
