#include "core/line_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace utmpcd {
namespace {

// Every length a line can have, and lines that differ only in their last byte or in length
// ("pts/1" and "pts/10", a high last byte): each is its own key, found again with its time.
TEST(LineTableTest, EveryLengthAndLastByteIsItsOwnLine) {
  std::vector<std::string> lines;
  for (size_t n = 1; n <= kLineSize; ++n) {
    std::string line;
    for (size_t i = 0; i < n; ++i) line.push_back(static_cast<char>('A' + (i * 7 + n) % 26));
    lines.push_back(line);
    line.back() = static_cast<char>(line.back() + 1);
    lines.push_back(line);
    lines.push_back(line.substr(0, n - 1) + "\x80");
  }
  lines.push_back("pts/1");
  lines.push_back("pts/10");
  LineTable table;
  RecordTime previous;
  // Microseconds are kept with the seconds: a logout time is exact.
  auto time_of = [](size_t i) { return RecordTime{static_cast<int64_t>(i), static_cast<int32_t>(i * 7919)}; };
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_FALSE(table.Exchange(lines[i], time_of(i), &previous)) << lines[i];
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(table.Exchange(lines[i], time_of(1000 + i), &previous)) << lines[i];
    EXPECT_EQ(previous.s, time_of(i).s) << lines[i];
    EXPECT_EQ(previous.usec, time_of(i).usec) << lines[i];
  }
  // A line longer than the field is its first 32 bytes.
  std::string longer = lines[3 * (kLineSize - 1)] + "tail";
  ASSERT_TRUE(table.Exchange(longer, {7, 0}, &previous));
  table.Clear();
  EXPECT_FALSE(table.Exchange("pts/1", {1, 0}, &previous));
}

// Keys are read from the string's own bytes only: a line at the very end of a buffer (here a
// string whose data ends with it) is read without touching what follows.
TEST(LineTableTest, ShortLinesAtTheEndOfTheirBuffer) {
  LineTable table;
  RecordTime previous;
  for (size_t n = 1; n <= 7; ++n) {
    std::string buffer(n, 'x');
    std::string_view line(buffer.data(), n);
    EXPECT_FALSE(table.Exchange(line, {static_cast<int64_t>(n), 0}, &previous));
    EXPECT_TRUE(table.Exchange(std::string(n, 'x'), {}, &previous));
    EXPECT_EQ(previous.s, static_cast<int64_t>(n));
  }
}

}  // namespace
}  // namespace utmpcd
