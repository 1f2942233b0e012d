#include "utmpc/color.h"

#include <unistd.h>

#include <cstdlib>

namespace utmpcd {

std::optional<ColorWhen> ParseColorWhen(std::string_view text) {
  if (text == "auto") return ColorWhen::kAuto;
  if (text == "always") return ColorWhen::kAlways;
  if (text == "never") return ColorWhen::kNever;
  return std::nullopt;
}

bool UseColor(ColorWhen when, int fd) {
  if (when != ColorWhen::kAuto) return when == ColorWhen::kAlways;
  // no-color.org: present and not empty turns colour off (an explicit --color=always wins).
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term == nullptr || std::string_view(term) == "dumb") return false;
  return ::isatty(fd) == 1;
}

}  // namespace utmpcd
