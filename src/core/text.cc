#include "core/text.h"

#include <langinfo.h>
#include <strings.h>
#include <wchar.h>
#include <wctype.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace utmpcd {
namespace {

// Characters a terminal shows as nothing, or that change how the rest of the row shows: the
// bidirectional controls (which reorder it), the zero-width and other invisible format
// characters (Unicode's Cf: a name that looks like another), the fillers that print as blank,
// and the tag characters. Escaped even where the locale calls them printable.
bool IsInvisibleOrBidi(char32_t c) {
  if (c < 0x00AD) return false;  // the common case: ASCII and Latin-1 letters
  return c == 0x00AD ||                                      // soft hyphen
         c == 0x034F ||                                      // combining grapheme joiner
         (c >= 0x0600 && c <= 0x0605) || c == 0x061C ||      // Arabic format, letter mark
         c == 0x06DD || c == 0x070F || c == 0x0890 || c == 0x0891 || c == 0x08E2 ||
         c == 0x115F || c == 0x1160 || c == 0x3164 || c == 0xFFA0 ||  // Hangul fillers
         c == 0x180E ||                                      // Mongolian vowel separator
         (c >= 0x200B && c <= 0x200F) ||                     // zero-width, LRM, RLM
         (c >= 0x202A && c <= 0x202E) ||                     // embeddings, overrides
         (c >= 0x2060 && c <= 0x2064) ||                     // word joiner, invisible ops
         (c >= 0x2066 && c <= 0x206F) ||                     // isolates, deprecated format
         (c >= 0xFE00 && c <= 0xFE0F) ||                     // variation selectors
         c == 0xFEFF ||                                      // zero-width no-break space
         (c >= 0xFFF9 && c <= 0xFFFB) ||                     // interlinear annotation
         c == 0x110BD || c == 0x110CD || (c >= 0x13430 && c <= 0x1343F) ||
         (c >= 0x1BCA0 && c <= 0x1BCA3) || (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0000 && c <= 0xE0FFF);                     // tags, variation selectors
}

void AppendOctal(std::string& out, unsigned char byte) {
  out.push_back('\\');
  out.push_back(static_cast<char>('0' + (byte >> 6)));
  out.push_back(static_cast<char>('0' + ((byte >> 3) & 7)));
  out.push_back(static_cast<char>('0' + (byte & 7)));
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

TerminalCharset CurrentTerminalCharset() {
  const char* codeset = nl_langinfo(CODESET);
  if (codeset != nullptr &&
      (strcasecmp(codeset, "UTF-8") == 0 || strcasecmp(codeset, "utf8") == 0)) {
    return TerminalCharset::kUtf8;
  }
  return TerminalCharset::kAscii;
}

size_t Utf8SequenceLength(std::string_view text, char32_t* code_point) {
  if (text.empty()) return 0;
  auto b = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = b(0);
  size_t len;
  char32_t cp;
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (text.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not well-formed.
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  *code_point = cp;
  return len;
}

namespace {

bool PassesRaw(unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t'; }

}  // namespace

// Length of the prefix of `text` that passes raw: 16 bytes at a time (NotPrintable16), the tail
// as the last 16; text shorter than that eight bytes at a time, then one. The first byte that is
// not printable ASCII (a tab may still pass) goes to the byte loop.
size_t RawPrefix(std::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
  size_t i = 0;
  if (n >= 16) {
    unsigned bad = 0;
    for (; i + 16 <= n; i += 16) {
      if ((bad = NotPrintable16(p + i)) != 0) break;
    }
    // The tail as the last 16 bytes, shifted to start at i.
    if (bad == 0 && i < n) bad = NotPrintable16(p + n - 16) >> (16 - (n - i));
    if (bad == 0) return n;
    i += static_cast<size_t>(std::countr_zero(bad));
    // A tab passes: on byte by byte from there.
    while (i < n && PassesRaw(static_cast<unsigned char>(p[i]))) ++i;
    return i;
  }
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    uint64_t below_space = (w - kOnes * 0x20) & ~w & kHighs;
    uint64_t del_or_high = (w | (w + kOnes)) & kHighs;
    if ((below_space | del_or_high) != 0) break;
  }
  while (i < n && PassesRaw(static_cast<unsigned char>(p[i]))) ++i;
  return i;
}

void AppendForTerminal(std::string& out, std::string_view text, TerminalCharset charset) {
  size_t clean = RawPrefix(text);
  out.append(text.data(), clean);
  for (size_t i = clean; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (PassesRaw(c)) {
      // Rows are almost always plain ASCII: copy the whole run at once.
      size_t run = i + 1;
      while (run < text.size() && PassesRaw(static_cast<unsigned char>(text[run]))) ++run;
      out.append(text.data() + i, run - i);
      i = run;
    } else if (c < 0x80) {
      out.push_back('*');
      out.push_back(static_cast<char>(c ^ 0x40));
      ++i;
    } else {
      char32_t cp = 0;
      size_t len = charset == TerminalCharset::kUtf8 ? Utf8SequenceLength(text.substr(i), &cp) : 0;
      if (len > 0 && iswprint(static_cast<wint_t>(cp)) && !IsInvisibleOrBidi(cp)) {
        out.append(text.substr(i, len));
        i += len;
      } else if (len > 0) {
        for (size_t k = 0; k < len; ++k) AppendOctal(out, static_cast<unsigned char>(text[i + k]));
        i += len;
      } else {
        AppendOctal(out, c);
        ++i;
      }
    }
  }
}

std::string_view FitColumns(std::string_view safe, int max_columns, TerminalCharset charset,
                            int* columns) {
  int used = 0;
  size_t i = 0;
  while (i < safe.size()) {
    size_t len = 1;
    int cols = 1;
    char32_t cp;
    if (charset == TerminalCharset::kUtf8 && static_cast<unsigned char>(safe[i]) >= 0x80) {
      len = Utf8SequenceLength(safe.substr(i), &cp);
      if (len == 0) {
        len = 1;  // not after AppendForTerminal; a byte, one column
      } else {
        cols = std::max(::wcwidth(static_cast<wchar_t>(cp)), 0);
      }
    }
    if (max_columns >= 0 && used + cols > max_columns) break;
    used += cols;
    i += len;
  }
  *columns = used;
  return safe.substr(0, i);
}

void AppendValidUtf8(std::string& out, std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    size_t len = Utf8SequenceLength(text.substr(i), &cp);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {  // C0 controls and DEL
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
      continue;
    }
    char32_t cp;
    size_t len = Utf8SequenceLength(text.substr(i), &cp);
    if (len == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else if (cp >= 0x80 && cp <= 0x9f) {  // C1 controls, escaped as the C0 ones
      out.append("\\u00");
      out.push_back(kHex[cp >> 4]);
      out.push_back(kHex[cp & 15]);
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  out.push_back('"');
}

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp;
    size_t len = Utf8SequenceLength(text.substr(i), &cp);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

}  // namespace utmpcd
