// utmpc dump -r's parser of utmpdump text (UndumpLine) on untrusted lines: never a crash or
// undefined behaviour, and a line it takes is exactly one record, which decodes again.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/utmp.h"
#include "fuzz/fuzz_check.h"
#include "utmpc/dump_undump.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Lines as utmpdump's fgets cuts them: at a newline or after 1022 bytes.
  while (!input.empty()) {
    size_t newline = input.find('\n');
    size_t end = newline == std::string_view::npos ? input.size() : newline + 1;
    end = std::min<size_t>(end, 1022);
    std::string line(input.substr(0, end));
    input.remove_prefix(end);
    for (utmpcd::UtmpLayout layout : {utmpcd::UtmpLayout::kGlibc384, utmpcd::UtmpLayout::kWide400}) {
      std::string out = "x";
      bool taken = utmpcd::UndumpLine(line, &out, layout);
      size_t record = utmpcd::RecordSize(layout);
      utmpcd::fuzz::Check(out.size() == (taken ? 1 + record : 1), "one record per line taken");
      if (taken) {
        auto decoded = utmpcd::DecodeUtmp(std::string_view(out).substr(1), layout);
        (void)decoded;  // a type utmpdump wrote may be one no decoder takes: no crash is all
      }
    }
  }
  return 0;
}
