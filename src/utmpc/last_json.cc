#include "utmpc/last_json.h"

#include "core/text.h"

namespace utmpcd {

void LastJson::Begin() { out_->buffer() += "["; }

void LastJson::AppendRow(const LastRow& row, int64_t now_s, const std::string& file) {
  std::string& o = out_->buffer();
  o += first_ ? "\n{" : ",\n{";
  first_ = false;
  AppendLastRowFields(o, row, now_s, btmp_);
  o += ",\"file\":";
  AppendJsonString(o, file);
  o += "}";
}

void LastJson::End() { out_->buffer() += first_ ? "]\n" : "\n]\n"; }

}  // namespace utmpcd
