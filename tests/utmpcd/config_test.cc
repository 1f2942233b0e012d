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
  EXPECT_EQ(config->session_source, defaults.session_source);
  EXPECT_EQ(config->http_listen, defaults.http_listen);
  EXPECT_EQ(config->api_socket, defaults.api_socket);
  EXPECT_EQ(config->http_max_connections, defaults.http_max_connections);
  EXPECT_EQ(config->http_max_connections_per_source, defaults.http_max_connections_per_source);
  EXPECT_EQ(config->http_requests_per_second, defaults.http_requests_per_second);
  EXPECT_EQ(config->http_request_burst, defaults.http_request_burst);
  EXPECT_EQ(config->http_idle_timeout_s, defaults.http_idle_timeout_s);
  EXPECT_EQ(config->http_request_timeout_s, defaults.http_request_timeout_s);
  EXPECT_EQ(config->http_heartbeat_s, defaults.http_heartbeat_s);
  EXPECT_EQ(config->udp_listen, defaults.udp_listen);
  EXPECT_EQ(config->udp_rate_per_prefix, defaults.udp_rate_per_prefix);
  EXPECT_EQ(config->udp_burst, defaults.udp_burst);
  EXPECT_EQ(config->udp_discovery, defaults.udp_discovery);
  EXPECT_EQ(config->user, defaults.user);
}

TEST(ConfigTest, NetworkAndDaemonValuesAreRead) {
  auto config = ParseConfig(
      "[daemon]\nuser = \"nobody\"\n[sessions]\nsource = \"logind\"\n"
      "[http]\nlisten = [\"0.0.0.0:4310\", \"[::]:4310\"]\nsocket = \"\"\nmax_connections = 5\n"
      "idle_timeout_s = 7\nrequest_timeout_s = 3\nheartbeat_s = 2\n"
      "max_connections_per_source = 4\nrequests_per_second = 0.5\nrequest_burst = 3\n"
      "[udp]\nlisten = []\nrate_per_prefix = 2.5\nburst = 10\ndiscovery = true\n",
      "t.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->user, "nobody");
  EXPECT_EQ(config->session_source, "logind");
  EXPECT_EQ(config->http_listen, (std::vector<std::string>{"0.0.0.0:4310", "[::]:4310"}));
  EXPECT_EQ(config->api_socket, "");
  EXPECT_EQ(config->http_max_connections, 5);
  EXPECT_EQ(config->http_idle_timeout_s, 7);
  EXPECT_EQ(config->http_request_timeout_s, 3);
  EXPECT_EQ(config->http_heartbeat_s, 2);
  EXPECT_EQ(config->http_max_connections_per_source, 4);
  EXPECT_EQ(config->http_requests_per_second, 0.5);
  EXPECT_EQ(config->http_request_burst, 3);
  EXPECT_TRUE(config->udp_listen.empty());
  EXPECT_EQ(config->udp_rate_per_prefix, 2.5);
  EXPECT_EQ(config->udp_burst, 10);
  EXPECT_TRUE(config->udp_discovery);
}

TEST(ConfigTest, NetworkMistakesAreClearErrors) {
  auto error = [](const char* text) {
    auto config = ParseConfig(text, "u.toml");
    return config ? std::string("(accepted)") : config.error().message;
  };
  EXPECT_EQ(error("[http]\nlisten = \"127.0.0.1:431\"\n"),
            "u.toml:2:10: 'listen' must be an array of \"ADDRESS:PORT\" strings");
  EXPECT_EQ(error("[http]\nlisten = [\"localhost\"]\n"),
            "u.toml:2:11: 'listen' entries must be \"ADDRESS:PORT\" strings (\"127.0.0.1:431\", "
            "\"[::1]:431\")");
  // Each address is checked where it is written, not when the daemon binds it.
  EXPECT_EQ(error("[http]\nlisten = [\"127.0.0.1:431\", \"1.2.3.4.5:431\"]\n"),
            "u.toml:2:28: 'listen' '1.2.3.4.5:431': '1.2.3.4.5' is not a numeric IPv4 or IPv6 "
            "address");
  EXPECT_EQ(error("[udp]\nlisten = [\"127.0.0.1:99999\"]\n"),
            "u.toml:2:11: 'listen' '127.0.0.1:99999': port is not 0 to 65535");
  EXPECT_EQ(error("[http]\nlisten = [\"::1:431\"]\n"),
            "u.toml:2:11: 'listen' '::1:431': not ADDRESS:PORT (\"127.0.0.1:431\", \"[::1]:431\")");
  EXPECT_EQ(error("[http]\nlisten = [\"[::1]:431\", \"0.0.0.0:0\"]\n"), "(accepted)");
  EXPECT_EQ(error("[http]\nmax_connections = 0\n"),
            "u.toml:2:19: 'max_connections' must be a whole number from 1 to 1000000");
  EXPECT_EQ(error("[http]\nrequests_per_second = -1\n"),
            "u.toml:2:23: 'requests_per_second' must be a number from 0 to 1000000");
  EXPECT_EQ(error("[http]\nmax_connections_per_source = 0\n"),
            "u.toml:2:30: 'max_connections_per_source' must be a whole number from 1 to 1000000");
  EXPECT_EQ(error("[udp]\nrate_per_prefix = -1\n"),
            "u.toml:2:19: 'rate_per_prefix' must be a number from 0 to 1000000");
  EXPECT_EQ(error("[udp]\ndiscovery = 1\n"), "u.toml:2:13: 'discovery' must be true or false");
  EXPECT_EQ(error("[sessions]\nsource = \"wtmp\"\n"),
            "u.toml:2:10: 'source' must be \"auto\", \"utmp\" or \"logind\"");
  EXPECT_EQ(error("[daemon]\nuser = \"\"\n"), "u.toml:2:8: 'user' must be a non-empty string");
  EXPECT_EQ(error("[daemon]\ngroup = \"x\"\n"), "u.toml:2:1: unknown key 'group' in [daemon]");
}

TEST(ConfigTest, SeccompIsOnUnlessTurnedOff) {
  auto none = ParseConfig("", "t.toml");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->seccomp, SeccompMode::kEnforce);
  EXPECT_EQ(ParseConfig("[daemon]\nseccomp = false\n", "t.toml")->seccomp, SeccompMode::kOff);
  EXPECT_EQ(ParseConfig("[daemon]\nseccomp = \"log\"\n", "t.toml")->seccomp, SeccompMode::kLog);
  auto bad = ParseConfig("[daemon]\nseccomp = \"strict\"\n", "t.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "t.toml:2:11: 'seccomp' must be true, false or \"log\"");
}

TEST(ConfigTest, HostNamesAreReadAndChecked) {
  auto config = ParseConfig("[http]\nhost_names = [\"web1.example.org\", \"web1.lan\"]\n", "t.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->http_host_names,
            (std::vector<std::string>{"web1.example.org", "web1.lan"}));
  auto bad = ParseConfig("[http]\nhost_names = [\"web1:431\"]\n", "t.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "t.toml:2:15: 'host_names' entries must be host names such as \"web1.example.org\"");
}

TEST(ConfigTest, TlsIsReadAndCheckedWhereWritten) {
  auto none = ParseConfig("", "t.toml");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->tls) << "TLS is off unless [tls] says where the certificate is";
  auto config = ParseConfig(
      "[tls]\ncertificate = \"/etc/utmpcd/cert.pem\"\nkey = \"/etc/utmpcd/key.pem\"\n"
      "client_ca = \"/etc/utmpcd/clients.pem\"\n"
      "[[access]]\nclient_subject = \"CN=utmpsd.example.org\"\ntier = \"full\"\n",
      "t.toml");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_TRUE(config->tls);
  EXPECT_EQ(config->tls->files.certificate, "/etc/utmpcd/cert.pem");
  EXPECT_EQ(config->tls->files.key, "/etc/utmpcd/key.pem");
  EXPECT_EQ(config->tls->files.client_ca, "/etc/utmpcd/clients.pem");
  // Plain HTTP from loopback only, unless plaintext_from says otherwise.
  ASSERT_EQ(config->tls->plaintext_from.size(), 2u);
  EXPECT_TRUE(NetworkContains(config->tls->plaintext_from[0], "127.0.0.9"));
  EXPECT_TRUE(NetworkContains(config->tls->plaintext_from[1], "::1"));
  ASSERT_EQ(config->access.size(), 1u);
  EXPECT_EQ(config->access[0].client_subject, "CN=utmpsd.example.org");
  auto tls_only = ParseConfig(
      "[tls]\ncertificate = \"c\"\nkey = \"k\"\nplaintext_from = []\n", "t.toml");
  ASSERT_TRUE(tls_only) << tls_only.error().message;
  EXPECT_TRUE(tls_only->tls->plaintext_from.empty());
  auto error = [](const std::string& text) {
    auto c = ParseConfig(text, "a.toml");
    return c ? std::string("(accepted)") : c.error().message;
  };
  EXPECT_EQ(error("[tls]\ncertificate = \"c\"\n"),
            "a.toml:1:1: [tls] needs 'certificate' and 'key' (PEM files)");
  EXPECT_EQ(error("[tls]\ncertificate = \"c\"\nkey = \"k\"\nplaintext_from = [\"x\"]\n"),
            "a.toml:4:19: 'plaintext_from' entries must be networks such as \"10.0.0.0/8\", "
            "\"fd00::/8\" or \"192.0.2.7\"");
  EXPECT_EQ(error("[tls]\ncert = \"c\"\n"), "a.toml:2:1: unknown key 'cert' in [tls]");
}

TEST(ConfigTest, AccessRulesAreReadAndCheckedWhereWritten) {
  auto config = ParseConfig(
      "[[access]]\nnetworks = [\"10.0.0.0/8\", \"fd00::/8\"]\ntier = \"sessions\"\n"
      "[[access]]\nname = \"ops\"\ntoken_sha256 = \"" + std::string(64, 'a') +
          "\"\ntier = \"full\"\n",
      "t.toml");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->access.size(), 2u);
  EXPECT_EQ(config->access[0].tier, Tier::kSessions);
  EXPECT_EQ(config->access[0].networks.size(), 2u);
  EXPECT_EQ(config->access[1].name, "ops");
  EXPECT_EQ(config->access[1].token_sha256, std::string(64, 'a'));
  auto error = [](const std::string& text) {
    auto c = ParseConfig(text, "a.toml");
    return c ? std::string("(accepted)") : c.error().message;
  };
  EXPECT_EQ(error("[[access]]\nnetworks = [\"10.0.0.0/33\"]\ntier = \"full\"\n"),
            "a.toml:2:13: 'networks' entries must be networks such as \"10.0.0.0/8\", "
            "\"fd00::/8\" or \"192.0.2.7\"");
  EXPECT_EQ(error("[[access]]\ntier = \"admin\"\n"),
            "a.toml:2:8: 'tier' must be \"summary\", \"sessions\", \"history\" or \"full\"");
  EXPECT_EQ(error("[[access]]\nnetworks = []\n"),
            "a.toml:1:1: an [[access]] rule needs a 'tier' (\"summary\", \"sessions\", "
            "\"history\" or \"full\")");
  EXPECT_EQ(error("[[access]]\ntoken_sha256 = \"ABC\"\ntier = \"full\"\n"),
            "a.toml:2:16: 'token_sha256' must be 64 lowercase hex digits (utmpcd --hash-token "
            "prints them)");
  EXPECT_EQ(error("[[access]]\ntier = \"full\"\ntoken = \"x\"\n"),
            "a.toml:3:1: unknown key 'token' in [[access]]");
  EXPECT_EQ(error("access = 1\n"), "a.toml:1:1: 'access' must be [[access]] tables, one per rule");
  // A rule for nobody in particular would be a rule for everybody: it must say so.
  EXPECT_EQ(error("[[access]]\ntier = \"full\"\n"),
            "a.toml:1:1: an [[access]] rule needs 'networks', 'token_sha256' or "
            "'client_subject'");
  EXPECT_EQ(error("[[access]]\nclient_subject = \"\"\ntier = \"full\"\n"),
            "a.toml:2:18: 'client_subject' must be a certificate subject such as "
            "\"CN=utmpsd.example.org\" (openssl x509 -noout -subject -nameopt RFC2253 prints it)");
  EXPECT_EQ(error("[[access]]\nnetworks = []\ntier = \"full\"\n"),
            "a.toml:2:12: 'networks' is empty: name the networks the rule is for");
  EXPECT_EQ(error("[[access]]\nnetworks = [\"0.0.0.0/0\", \"::/0\"]\ntier = \"summary\"\n"),
            "(accepted)");
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
  EXPECT_EQ(error("[file]\n"), "u.toml:1:2: unknown table 'file' (expected [daemon], [files], [sources], [store], [ingest], [sessions], [http], [tls], [udp], [log] or [[access]])");
  EXPECT_EQ(error("[store]\nretention_days = -1\n"),
            "u.toml:2:18: 'retention_days' must be a whole number >= 0");
  EXPECT_EQ(error("[store]\nretention_days = \"90\"\n"),
            "u.toml:2:18: 'retention_days' must be a whole number >= 0");
  EXPECT_EQ(error("[files]\nlayout = \"386\"\n"), "u.toml:2:10: 'layout' must be \"384\" or \"400\"");
  EXPECT_EQ(error("[files]\nwtmp = \"\"\n"), "u.toml:2:8: 'wtmp' must be a non-empty string");
  EXPECT_EQ(error("[log]\ndebug = 1\n"), "u.toml:2:9: 'debug' must be true or false");
  EXPECT_NE(error("[files\n").find("u.toml:1:"), std::string::npos);
  EXPECT_EQ(error("wtmp = \"x\"\n"),
            "u.toml:1:1: unknown key 'wtmp' (expected [daemon], [files], [sources], [store], [ingest], [sessions], [http], [tls], [udp], [log] or [[access]])");
}

TEST(ConfigTest, AMissingFileIsAnErrorOnlyWhenNamed) {
  EXPECT_TRUE(LoadConfig("/nonexistent/utmpcd.toml", false));
  auto named = LoadConfig("/nonexistent/utmpcd.toml", true);
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().message, "cannot read /nonexistent/utmpcd.toml: No such file or directory");
}

}  // namespace
}  // namespace utmpcd
