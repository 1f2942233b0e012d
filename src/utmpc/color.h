// Colour on a terminal: --color[=WHEN] of the commands that colour what they print (last,
// watch), and NO_COLOR (https://no-color.org). Only whole rows are coloured, after their text
// is made safe and padded, so the columns and the bytes between the escapes are what they are
// without colour.
#pragma once

#include <optional>
#include <string_view>

namespace utmpcd {

enum class ColorWhen { kAuto, kAlways, kNever };

// "auto", "always" or "never"; nullopt for anything else. --color with no value is "always", as
// in ls(1).
std::optional<ColorWhen> ParseColorWhen(std::string_view text);

// Whether to colour what goes to `fd`: kAlways and kNever as said; kAuto when `fd` is a
// terminal, NO_COLOR is unset or empty, and TERM is set and not "dumb".
bool UseColor(ColorWhen when, int fd);

// SGR sequences: a row's colour, and the reset that ends it.
inline constexpr std::string_view kSgrReset = "\033[0m";
inline constexpr std::string_view kSgrRed = "\033[31m";
inline constexpr std::string_view kSgrGreen = "\033[32m";
inline constexpr std::string_view kSgrYellow = "\033[33m";
inline constexpr std::string_view kSgrBoldRed = "\033[1;31m";

}  // namespace utmpcd
