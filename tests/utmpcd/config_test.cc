#include "utmpcd/config.h"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

namespace utmpcd {
namespace {

TEST(ConfigTest, TheDocumentedExampleIsTheDefaults) {
  const char* source = std::getenv("UTMPCD_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  auto config = LoadConfig(std::string(source) + "/dist/utmpcd.toml", true);
  ASSERT_TRUE(config) << config.error().message;
  DaemonConfig defaults;
  EXPECT_EQ(config->wtmp, defaults.wtmp);
  EXPECT_EQ(config->btmp, defaults.btmp);
  EXPECT_EQ(config->database, defaults.database);
  EXPECT_EQ(config->retention_days, 0);
  EXPECT_FALSE(config->layout);
  EXPECT_EQ(config->gone_grace_ms, defaults.gone_grace_ms);
  EXPECT_EQ(config->cleanup_gone, defaults.cleanup_gone);
  EXPECT_EQ(config->ingest_socket, defaults.ingest_socket);
}

TEST(ConfigTest, ValuesAreRead) {
  auto config = ParseConfig(
      "[files]\nwtmp = \"/tmp/w\"\nlayout = \"400\"\n[store]\nretention_days = 90\n"
      "[log]\ndebug = true\n",
      "t.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->wtmp, "/tmp/w");
  EXPECT_EQ(config->layout, UtmpLayout::kWide400);
  EXPECT_EQ(config->retention_days, 90);
  EXPECT_TRUE(config->debug);
}

// Each mistake is reported with the file, the line and the column, and what is wrong.
TEST(ConfigTest, MistakesAreClearErrors) {
  auto error = [](const char* text) {
    auto c = ParseConfig(text, "u.toml");
    return c ? std::string("(accepted)") : c.error().message;
  };
  EXPECT_EQ(error("[files]\nwtmpp = \"x\"\n"), "u.toml:2:1: unknown key 'wtmpp' in [files]");
  EXPECT_EQ(error("[file]\n"), "u.toml:1:2: unknown table 'file' (expected [files], [store], [ingest], [sessions] or [log])");
  EXPECT_EQ(error("[store]\nretention_days = -1\n"),
            "u.toml:2:18: 'retention_days' must be a whole number >= 0");
  EXPECT_EQ(error("[store]\nretention_days = \"90\"\n"),
            "u.toml:2:18: 'retention_days' must be a whole number >= 0");
  EXPECT_EQ(error("[files]\nlayout = \"386\"\n"), "u.toml:2:10: 'layout' must be \"384\" or \"400\"");
  EXPECT_EQ(error("[files]\nwtmp = \"\"\n"), "u.toml:2:8: 'wtmp' must be a non-empty string");
  EXPECT_EQ(error("[log]\ndebug = 1\n"), "u.toml:2:9: 'debug' must be true or false");
  EXPECT_NE(error("[files\n").find("u.toml:1:"), std::string::npos);
  EXPECT_EQ(error("wtmp = \"x\"\n"),
            "u.toml:1:1: unknown key 'wtmp' (expected [files], [store], [ingest], [sessions] or [log])");
}

TEST(ConfigTest, AMissingFileIsAnErrorOnlyWhenNamed) {
  EXPECT_TRUE(LoadConfig("/nonexistent/utmpcd.toml", false));
  auto named = LoadConfig("/nonexistent/utmpcd.toml", true);
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().message, "cannot read /nonexistent/utmpcd.toml: No such file or directory");
}

}  // namespace
}  // namespace utmpcd
