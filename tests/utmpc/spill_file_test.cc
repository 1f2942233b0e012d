#include "utmpc/spill_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace utmpcd {
namespace {

// Several MiB written in uneven pieces, so the text is partly in the file and partly still in
// the buffer when it is appended: it must come out whole and in order.
std::string Text(size_t bytes) {
  std::string text;
  for (size_t i = 0; text.size() < bytes; ++i) text += "row " + std::to_string(i) + "\n";
  return text;
}

void WriteInPieces(SpillFile& spill, const std::string& text) {
  for (size_t at = 0; at < text.size();) {
    size_t n = std::min<size_t>(text.size() - at, 1 + (at * 7919) % 70000);
    spill.buffer().append(text, at, n);
    ASSERT_TRUE(spill.MaybeSpill()) << spill.error();
    at += n;
  }
}

TEST(SpillFileTest, AppendsEverythingInOrderToAFile) {
  auto spill = SpillFile::Create();
  ASSERT_TRUE(spill) << spill.error().message;
  const std::string text = Text(5 << 20);
  WriteInPieces(*spill, text);
  FILE* out_file = std::tmpfile();
  ASSERT_NE(out_file, nullptr);
  {
    Output out(out_file);
    out.buffer() = "before\n";
    ASSERT_TRUE(spill->AppendTo(out));
    out.buffer() += "after\n";
    ASSERT_TRUE(out.Flush());
  }
  std::rewind(out_file);
  std::string got;
  char chunk[65536];
  for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, out_file)) > 0;) got.append(chunk, n);
  std::fclose(out_file);
  EXPECT_EQ(got.size(), text.size() + 13);
  EXPECT_TRUE(got == "before\n" + text + "after\n");
}

// Through a pipe, as `utmpc last | less` reads it.
TEST(SpillFileTest, AppendsEverythingInOrderToAPipe) {
  auto spill = SpillFile::Create();
  ASSERT_TRUE(spill) << spill.error().message;
  const std::string text = Text(3 << 20);
  WriteInPieces(*spill, text);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string got;
  std::thread reader([&] {
    char chunk[65536];
    for (ssize_t n; (n = read(fds[0], chunk, sizeof chunk)) > 0;) got.append(chunk, n);
  });
  FILE* w = fdopen(fds[1], "w");
  ASSERT_NE(w, nullptr);
  {
    Output out(w);
    EXPECT_TRUE(spill->AppendTo(out));
  }
  std::fclose(w);
  reader.join();
  close(fds[0]);
  EXPECT_EQ(got.size(), text.size());
  EXPECT_TRUE(got == text);
}

TEST(SpillFileTest, UnwritableDirectoryIsAClearError) {
  const char* old = std::getenv("TMPDIR");
  std::string saved = old != nullptr ? old : "";
  setenv("TMPDIR", "/nonexistent/dir", 1);
  auto spill = SpillFile::Create();
  if (old != nullptr) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  ASSERT_FALSE(spill);
  EXPECT_NE(spill.error().message.find("/nonexistent/dir"), std::string::npos)
      << spill.error().message;
}

}  // namespace
}  // namespace utmpcd
