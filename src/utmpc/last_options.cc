#include "utmpc/last_options.h"

#include <fmt/format.h>

#include <string_view>

#include "utmpc/usage.h"

namespace utmpcd {

std::vector<struct option> LastLongOptions(const std::vector<struct option>& more,
                                           bool terminated) {
  std::vector<struct option> options = {
      {"limit", required_argument, nullptr, 'n'},
      {"help", no_argument, nullptr, 'h'},
      {"file", required_argument, nullptr, 'f'},
      {"nohostname", no_argument, nullptr, 'R'},
      {"hostlast", no_argument, nullptr, 'a'},
      {"since", required_argument, nullptr, 's'},
      {"until", required_argument, nullptr, 't'},
      {"present", required_argument, nullptr, 'p'},
      {"system", no_argument, nullptr, 'x'},
      {"dns", no_argument, nullptr, 'd'},
      {"ip", no_argument, nullptr, 'i'},
      {"fulltimes", no_argument, nullptr, 'F'},
      {"fullnames", no_argument, nullptr, 'w'},
      {"time-format", required_argument, nullptr, kLastTimeFormat},
      {"color", optional_argument, nullptr, kLastColor},
  };
  options.insert(options.end(), more.begin(), more.end());
  if (terminated) options.push_back({nullptr, 0, nullptr, 0});
  return options;
}

int TakeLastTextOption(const char* name, int c, const char* arg, LastTextOptions* text,
                       LastTimeFlags* flags) {
  switch (c) {
    case 'a':
      text->host_last = true;
      return -1;
    case 'd':
      text->dns = true;
      return -1;
    case 'i':
      text->numeric_ip = true;
      return -1;
    case 'R':
      text->show_host = false;
      return -1;
    case 'F':
      flags->full_times = true;
      text->time_format = LastTimeFormat::kFull;
      return -1;
    case 'w':
      text->name_len = 32;
      text->host_len = 256;
      return -1;
    case kLastTimeFormat: {
      flags->time_format = true;
      std::string_view f = arg;
      if (f == "notime") {
        text->time_format = LastTimeFormat::kNoTime;
      } else if (f == "short") {
        text->time_format = LastTimeFormat::kShort;
      } else if (f == "full") {
        text->time_format = LastTimeFormat::kFull;
      } else if (f == "iso") {
        text->time_format = LastTimeFormat::kIso;
      } else {
        fmt::print(stderr, "utmpc {}: unknown time format: {}\n", name, arg);
        return kUsageError;
      }
      return -1;
    }
    case kLastColor: {
      auto when = arg == nullptr ? std::optional(ColorWhen::kAlways) : ParseColorWhen(arg);
      if (!when) {
        fmt::print(stderr, "utmpc {}: --color takes auto, always or never, not '{}'\n", name, arg);
        return kUsageError;
      }
      flags->color = *when;
      return -1;
    }
    default:
      return -2;
  }
}

ColorWhen DefaultLastColor(const char* argv0) {
  // main.cc names a command "utmpc last"; under a tool's own name argv[0] is that name.
  return std::string_view(argv0).starts_with("utmpc ") ? ColorWhen::kAuto : ColorWhen::kNever;
}

int CheckLastTimeFlags(const char* name, const LastTimeFlags& flags) {
  if (flags.full_times && flags.time_format) {
    fmt::print(stderr, "utmpc {}: mutually exclusive arguments: --fulltimes --time-format\n",
               name);
    return kUsageError;
  }
  return -1;
}

}  // namespace utmpcd
