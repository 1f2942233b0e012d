// Text from login records is bytes. These functions make it safe for where it is going.
#pragma once

#include <string>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace utmpcd {

// How bytes outside printable ASCII reach a terminal.
enum class TerminalCharset {
  kAscii,  // C/POSIX locale: every byte >= 0x80 is shown as \ooo
  kUtf8,   // UTF-8 locale (LC_CTYPE must be one: iswprint decides): printable characters
           // pass, everything else is \ooo
};

// The charset of the current LC_CTYPE (call setlocale first).
TerminalCharset CurrentTerminalCharset();

// Appends `text` for a terminal the way util-linux `last` prints a row (fputc_careful): a C0
// control byte or DEL becomes '*' plus its caret letter ("\x1b" -> "*["), a byte that is not
// printable in `charset` becomes a backslash and three octal digits. Unlike `last`, it also
// escapes '\n', '\r' and '\a' (which `last` passes raw, letting a login record rewrite the
// screen) and the Unicode bidirectional controls that can reorder what a reader sees.
// '\t' passes, as in `last`.
void AppendForTerminal(std::string& out, std::string_view text, TerminalCharset charset);

// The longest prefix of `safe` (text as AppendForTerminal made it) that takes at most
// `max_columns` columns of a terminal (all of it when max_columns < 0), and in *columns how many
// it takes: with kUtf8 a character takes wcwidth(3) columns (a wide one two; LC_CTYPE must be a
// UTF-8 locale), else a byte takes one.
std::string_view FitColumns(std::string_view safe, int max_columns, TerminalCharset charset,
                            int* columns);

// Length of the prefix of `text` that AppendForTerminal copies as it is (printable ASCII and
// tabs): text is left as it is when this is its size.
size_t RawPrefix(std::string_view text);

// A bit for each of the 16 bytes at `p` that is not printable ASCII (0x20..0x7E), the first
// byte's lowest: the test RawPrefix makes, for callers that know where text can be.
inline unsigned NotPrintable16(const char* p) {
#if defined(__SSE2__)
  // As signed bytes, printable ASCII is above 0x1F and below 0x7F (0x80 and up are negative).
  __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i ok =
      _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8(0x1F)), _mm_cmplt_epi8(x, _mm_set1_epi8(0x7F)));
  return ~static_cast<unsigned>(_mm_movemask_epi8(ok)) & 0xFFFFu;
#else
  unsigned bits = 0;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c > 0x7E) bits |= 1u << i;
  }
  return bits;
#endif
}

// Appends `text` as valid UTF-8: each byte that is not part of a well-formed UTF-8 sequence
// becomes U+FFFD. Never fails; the result is safe to embed in JSON (with escaping).
void AppendValidUtf8(std::string& out, std::string_view text);

// Appends `text` as a JSON string literal, quotes included: valid UTF-8 (as AppendValidUtf8),
// with '"', '\\' and every control character escaped (C0, DEL and C1, as \u00XX).
void AppendJsonString(std::string& out, std::string_view text);

// Whether `text` is well-formed UTF-8 throughout.
bool IsValidUtf8(std::string_view text);

// Length of the well-formed UTF-8 sequence at the start of `text`, or 0 when it is not one.
size_t Utf8SequenceLength(std::string_view text, char32_t* code_point);

}  // namespace utmpcd
