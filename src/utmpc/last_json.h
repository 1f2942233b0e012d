// `utmpc last --json`: the rows of a listing as a JSON array, one object per line.
#pragma once

#include <cstdint>
#include <string>

#include "api/history_json.h"
#include "core/last_builder.h"
#include "utmpc/output.h"

namespace utmpcd {

// Each object is a row's AppendLastRowFields (api/history_json.h) and "file":"/var/log/wtmp";
// docs/utmpc.1 lists the fields.
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
