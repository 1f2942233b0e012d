// LastText's colours (utmpc last --color): a session still on is green, one that ended in a
// crash or is gone red, every other row as it is; the escapes wrap the whole row, so without
// them the row is byte for byte the one printed without colour. (On a pipe and a terminal,
// with NO_COLOR: tests/utmpc/color_test.sh.)
#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "core/last_builder.h"
#include "core/login_record.h"
#include "utmpc/color.h"
#include "utmpc/last_options.h"
#include "utmpc/last_text.h"

namespace utmpcd {
namespace {

// Sets (or, with nullptr, unsets) an environment variable for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string Row(SessionEnd end, bool color, LastTimeFormat format) {
  LoginRecord record;
  record.type = kUserProcess;
  record.user = "alice";
  record.line = "pts/1";
  record.host = "192.0.2.7";
  record.time_s = 1700000000;
  LastRow row;
  row.record = &record;
  row.line = record.line;
  row.login_s = record.time_s;
  row.logout_s = record.time_s + 3600;
  row.end = end;
  LastTextOptions options;
  options.color = color;
  options.time_format = format;
  options.now_s = 1800000000;
  LastText text(options);
  std::string out;
  text.AppendRow(out, row);
  return out;
}

TEST(LastColorTest, RowsAreColouredByHowTheSessionEnded) {
  for (LastTimeFormat format : {LastTimeFormat::kShort, LastTimeFormat::kIso}) {
    for (auto [end, color] : {std::pair{SessionEnd::kStillLoggedIn, kSgrGreen},
                              std::pair{SessionEnd::kCrash, kSgrRed},
                              std::pair{SessionEnd::kGone, kSgrRed},
                              std::pair{SessionEnd::kLogout, std::string_view()},
                              std::pair{SessionEnd::kDown, std::string_view()}}) {
      std::string plain = Row(end, false, format);
      std::string colored = Row(end, true, format);
      SCOPED_TRACE(plain);
      ASSERT_FALSE(plain.empty());
      ASSERT_EQ(plain.back(), '\n');
      if (color.empty()) {
        EXPECT_EQ(colored, plain);
        continue;
      }
      EXPECT_EQ(colored, std::string(color) + plain.substr(0, plain.size() - 1) +
                             std::string(kSgrReset) + "\n");
    }
  }
}

TEST(LastColorTest, UnderTheToolsOwnNameTheDefaultIsNoColour) {
  EXPECT_EQ(DefaultLastColor("utmpc last"), ColorWhen::kAuto);
  EXPECT_EQ(DefaultLastColor("utmpc lastb"), ColorWhen::kAuto);
  EXPECT_EQ(DefaultLastColor("last"), ColorWhen::kNever);
  EXPECT_EQ(DefaultLastColor("/usr/lib/utmpcd/compat/lastb"), ColorWhen::kNever);
}

TEST(LastColorTest, WhenToColour) {
  EXPECT_EQ(ParseColorWhen("auto"), ColorWhen::kAuto);
  EXPECT_EQ(ParseColorWhen("always"), ColorWhen::kAlways);
  EXPECT_EQ(ParseColorWhen("never"), ColorWhen::kNever);
  EXPECT_FALSE(ParseColorWhen("yes"));
  EXPECT_TRUE(UseColor(ColorWhen::kAlways, -1));
  EXPECT_FALSE(UseColor(ColorWhen::kNever, -1));
  EXPECT_FALSE(UseColor(ColorWhen::kAuto, -1));  // no terminal
}

// --color=auto on a terminal (a pseudo-terminal here): colour, unless NO_COLOR is set and not
// empty, or TERM is unset or "dumb".
TEST(LastColorTest, AutoColoursATerminalUnlessNoColorOrADumbTerminal) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  ScopedEnv term("TERM", "xterm");
  {
    ScopedEnv no_color("NO_COLOR", nullptr);
    EXPECT_TRUE(UseColor(ColorWhen::kAuto, slave));
    EXPECT_FALSE(UseColor(ColorWhen::kNever, slave));
  }
  {
    ScopedEnv no_color("NO_COLOR", "");
    EXPECT_TRUE(UseColor(ColorWhen::kAuto, slave));  // empty: as if unset (no-color.org)
  }
  {
    ScopedEnv no_color("NO_COLOR", "1");
    EXPECT_FALSE(UseColor(ColorWhen::kAuto, slave));
    EXPECT_TRUE(UseColor(ColorWhen::kAlways, slave));
  }
  {
    ScopedEnv no_color("NO_COLOR", nullptr);
    ScopedEnv dumb("TERM", "dumb");
    EXPECT_FALSE(UseColor(ColorWhen::kAuto, slave));
  }
  {
    ScopedEnv no_color("NO_COLOR", nullptr);
    ScopedEnv none("TERM", nullptr);
    EXPECT_FALSE(UseColor(ColorWhen::kAuto, slave));
  }
  ::close(slave);
  ::close(master);
}

}  // namespace
}  // namespace utmpcd
