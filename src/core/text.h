// Text from login records is bytes. These functions make it safe for where it is going.
#pragma once

#include <string>
#include <string_view>

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

// Appends `text` as valid UTF-8: each byte that is not part of a well-formed UTF-8 sequence
// becomes U+FFFD. Never fails; the result is safe to embed in JSON (with escaping).
void AppendValidUtf8(std::string& out, std::string_view text);

// Appends `text` as a JSON string literal, quotes included: valid UTF-8 (as AppendValidUtf8),
// with '"', '\\' and every control character escaped.
void AppendJsonString(std::string& out, std::string_view text);

// Length of the well-formed UTF-8 sequence at the start of `text`, or 0 when it is not one.
size_t Utf8SequenceLength(std::string_view text, char32_t* code_point);

}  // namespace utmpcd
