#include "core/text.h"

#include <clocale>
#include <string>

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

std::string Term(std::string_view s, TerminalCharset cs) {
  std::string out;
  AppendForTerminal(out, s, cs);
  return out;
}

TEST(TextTest, ControlBytesNeverReachTheTerminal) {
  // An escape sequence that would clear the screen, as `last` shows it.
  EXPECT_EQ(Term("a\x1b[2Jb", TerminalCharset::kUtf8), "a*[[2Jb");
  EXPECT_EQ(Term("\x7f", TerminalCharset::kUtf8), "*?");
  // `last` passes these raw; a record must not be able to move the cursor or ring the bell.
  EXPECT_EQ(Term("u\nv\rw\a", TerminalCharset::kUtf8), "u*Jv*Mw*G");
  EXPECT_EQ(Term("tab\there", TerminalCharset::kUtf8), "tab\there");
}

TEST(TextTest, EveryPositionOfLongRowsIsChecked) {
  // Rows are checked 16 bytes at a time, then by their last 16: one byte to escape (or a tab,
  // which passes) at every position of rows of every length up to 80 must be found.
  for (size_t len = 1; len <= 80; ++len) {
    for (size_t at = 0; at < len; ++at) {
      for (char odd : {'\x1b', '\x7f', '\t', '\xff', '\x00'}) {
        std::string row(len, 'x');
        row[at] = odd;
        std::string want(at, 'x');
        if (odd == '\t') {
          want += '\t';
        } else if (odd == '\xff') {
          want += "\\377";
        } else {
          want += '*';
          want += static_cast<char>(odd ^ 0x40);
        }
        want += std::string(len - at - 1, 'x');
        ASSERT_EQ(Term(row, TerminalCharset::kAscii), want) << "length " << len << " at " << at;
      }
    }
    EXPECT_EQ(Term(std::string(len, '~'), TerminalCharset::kAscii), std::string(len, '~'));
  }
}

TEST(TextTest, HighBytesDependOnTheLocale) {
  // kUtf8 means the process runs in a UTF-8 locale (iswprint answers from it).
  ASSERT_NE(std::setlocale(LC_CTYPE, "C.UTF-8"), nullptr);
  EXPECT_EQ(Term("h\xc3\xa9x", TerminalCharset::kAscii), "h\\303\\251x");
  EXPECT_EQ(Term("h\xc3\xa9x", TerminalCharset::kUtf8), "h\xc3\xa9x");
  // Invalid UTF-8 and the 8-bit CSI.
  EXPECT_EQ(Term("\xff\x9b", TerminalCharset::kUtf8), "\\377\\233");
  // U+009B encoded in UTF-8 is still a control character.
  EXPECT_EQ(Term("\xc2\x9b", TerminalCharset::kUtf8), "\\302\\233");
  // U+202E RIGHT-TO-LEFT OVERRIDE would reorder the rest of the row.
  EXPECT_EQ(Term("a\xe2\x80\xae" "b", TerminalCharset::kUtf8), "a\\342\\200\\256b");
  std::setlocale(LC_CTYPE, "C");
}

// Characters a terminal shows as nothing make one name look like another ("root" and
// "ro<ZWSP>ot"): they are escaped, whatever the locale thinks of them; letters are not.
TEST(TextTest, InvisibleCharactersAreEscaped) {
  ASSERT_NE(std::setlocale(LC_CTYPE, "C.UTF-8"), nullptr);
  struct Case {
    const char* utf8;
    const char* escaped;
  };
  for (const Case& c : {Case{"\xe2\x80\x8b", "\\342\\200\\213"},      // U+200B zero width space
                        Case{"\xe2\x80\x8d", "\\342\\200\\215"},      // U+200D zero width joiner
                        Case{"\xe2\x81\xa0", "\\342\\201\\240"},      // U+2060 word joiner
                        Case{"\xef\xbb\xbf", "\\357\\273\\277"},      // U+FEFF no-break ZW space
                        Case{"\xc2\xad", "\\302\\255"},                // U+00AD soft hyphen
                        Case{"\xe3\x85\xa4", "\\343\\205\\244"},      // U+3164 Hangul filler
                        Case{"\xef\xb8\x8f", "\\357\\270\\217"},      // U+FE0F variation selector
                        Case{"\xf3\xa0\x81\x81", "\\363\\240\\201\\201"}}) {  // U+E0041 tag A
    EXPECT_EQ(Term(std::string("ro") + c.utf8 + "ot", TerminalCharset::kUtf8),
              std::string("ro") + c.escaped + "ot")
        << c.escaped;
  }
  // Letters around them stay letters: é (U+00E9), ß, a CJK ideograph.
  EXPECT_EQ(Term("\xc3\xa9\xc3\x9f\xe5\xb1\xb1", TerminalCharset::kUtf8), "\xc3\xa9\xc3\x9f\xe5\xb1\xb1");
  std::setlocale(LC_CTYPE, "C");
}

TEST(TextTest, JsonIsValidWhateverTheBytes) {
  std::string out;
  AppendJsonString(out, std::string("q\"\\\x01\xff\xc3\xa9\0x", 9));
  EXPECT_EQ(out, "\"q\\\"\\\\\\u0001\xEF\xBF\xBD\xc3\xa9\\u0000x\"");
}

// PROTOCOL.md says control characters are escaped: DEL and the C1 controls (U+0080 to U+009F,
// which some terminals obey) too, not only C0.
TEST(TextTest, JsonEscapesDelAndC1Controls) {
  std::string o;
  AppendJsonString(o, "a\x7f b\xc2\x85 c\xc2\x9b d\xc2\xa0");
  EXPECT_EQ(o, "\"a\\u007f b\\u0085 c\\u009b d\xc2\xa0\"");  // U+00A0 is no control
  EXPECT_TRUE(IsValidUtf8("pts/0 caf\xc3\xa9"));
  EXPECT_FALSE(IsValidUtf8("caf\xe9"));
}

TEST(TextTest, Utf8RejectsOverlongAndSurrogates) {
  char32_t cp;
  EXPECT_EQ(Utf8SequenceLength("\xc0\xaf", &cp), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xed\xa0\x80", &cp), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xf4\x90\x80\x80", &cp), 0u);
  EXPECT_EQ(Utf8SequenceLength("\xf0\x9f\x98\x80", &cp), 4u);
  EXPECT_EQ(cp, 0x1F600u);
}

}  // namespace
}  // namespace utmpcd
