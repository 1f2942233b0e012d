// Checks shared by the fuzz targets. A failed check aborts, which libFuzzer (and the standalone
// corpus driver) report as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace utmpcd::fuzz {

// Aborts with `what` when `ok` is false: assert() would vanish under NDEBUG (RelWithDebInfo).
inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

// Whether `s` is well-formed UTF-8 (Unicode 15, table 3-7), written from the table rather than
// from core/text.cc so the two can disagree.
inline bool IsWellFormedUtf8(std::string_view s) {
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto in = [](unsigned char b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  while (i < s.size()) {
    unsigned char b0 = at(i);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
    if (i + n > s.size()) return false;
    unsigned char b1 = at(i + 1);
    bool ok;
    if (in(b0, 0xC2, 0xDF)) {
      ok = in(b1, 0x80, 0xBF);
    } else if (b0 == 0xE0) {
      ok = in(b1, 0xA0, 0xBF);
    } else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) {
      ok = in(b1, 0x80, 0xBF);
    } else if (b0 == 0xED) {
      ok = in(b1, 0x80, 0x9F);
    } else if (b0 == 0xF0) {
      ok = in(b1, 0x90, 0xBF);
    } else if (in(b0, 0xF1, 0xF3)) {
      ok = in(b1, 0x80, 0xBF);
    } else if (b0 == 0xF4) {
      ok = in(b1, 0x80, 0x8F);
    } else {
      return false;  // 0x80..0xC1, 0xF5..0xFF never start a sequence
    }
    for (size_t k = 2; ok && k < n; ++k) ok = in(at(i + k), 0x80, 0xBF);
    if (!ok) return false;
    i += n;
  }
  return true;
}

// Whether terminal text is free of what could move the cursor or recolour the screen: no C0
// control but '\t' (and '\n' when `newlines`), no DEL, and in ASCII mode no byte >= 0x80. In
// UTF-8 mode the text must be well-formed with no C1 control (U+0080..U+009F, which a terminal
// may treat as ESC sequences) and no bidirectional override.
inline bool IsTerminalSafe(std::string_view s, bool utf8, bool newlines) {
  for (unsigned char c : s) {
    if (c == '\t' || (newlines && c == '\n')) continue;
    if (c < 0x20 || c == 0x7F) return false;
    if (!utf8 && c >= 0x80) return false;
  }
  if (!utf8) return true;
  if (!IsWellFormedUtf8(s)) return false;
  // C1 controls are U+0080..U+009F: C2 80..C2 9F in UTF-8.
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    unsigned char a = static_cast<unsigned char>(s[i]);
    unsigned char b = static_cast<unsigned char>(s[i + 1]);
    if (a == 0xC2 && b >= 0x80 && b <= 0x9F) return false;
  }
  // Bidi controls U+202A..U+202E, U+2066..U+2069, U+200E, U+200F, U+061C.
  static constexpr std::string_view kBidi[] = {
      "\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE",
      "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8", "\xE2\x81\xA9", "\xE2\x80\x8E",
      "\xE2\x80\x8F", "\xD8\x9C"};
  for (std::string_view b : kBidi) {
    if (s.find(b) != std::string_view::npos) return false;
  }
  return true;
}

}  // namespace utmpcd::fuzz
