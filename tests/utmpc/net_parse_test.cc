// The client's pure pieces: naming hosts, and decoding a daemon's JSON answers, including the
// malformed ones a broken or hostile server could send.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "api/wire_decode.h"
#include "net/hosts.h"
#include "utmpc/client_config.h"

namespace utmpcd {
namespace {

TEST(NetHostTest, NamesPortsAndIpv6) {
  auto h = ParseNetHost("web1");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "web1");
  EXPECT_EQ(h->port, 431);
  EXPECT_EQ(h->label, "web1");

  h = ParseNetHost("web2:4310");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "web2");
  EXPECT_EQ(h->port, 4310);
  EXPECT_EQ(h->label, "web2:4310");

  h = ParseNetHost("[::1]:431");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "::1");
  EXPECT_EQ(h->port, 431);

  h = ParseNetHost("[2001:db8::7]");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "2001:db8::7");
  EXPECT_EQ(h->port, 431);

  h = ParseNetHost("fe80::1");  // a bare IPv6 literal: the default port
  ASSERT_TRUE(h);
  EXPECT_EQ(h->name, "fe80::1");
  EXPECT_EQ(h->port, 431);
}

TEST(NetHostTest, Rejects) {
  for (const char* bad : {"", "web1:", "web1:0", "web1:65536", "web1:4x", "[::1", "[::1]x", "[]",
                          "a b", "a/b", "a\x1b", "we@b", ":431"}) {
    EXPECT_FALSE(ParseNetHost(bad)) << bad;
  }
  EXPECT_TRUE(IsHostArgument("@web1"));
  EXPECT_FALSE(IsHostArgument("@"));
  EXPECT_FALSE(IsHostArgument("alice"));
}

TEST(NetHostTest, HostsFile) {
  char dir[] = "/tmp/utmpc-hosts-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/hosts";
  std::ofstream(path) << "# the web tier\nweb1\n  @web2:4310   # spare\n\n[::1]:431\r\n";
  auto hosts = ReadHostsFile(path);
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[0].label, "web1");
  EXPECT_EQ((*hosts)[1].name, "web2");
  EXPECT_EQ((*hosts)[1].port, 4310);
  EXPECT_EQ((*hosts)[2].name, "::1");

  std::ofstream(path) << "web1\nweb 2\n";
  hosts = ReadHostsFile(path);
  ASSERT_FALSE(hosts);
  EXPECT_NE(hosts.error().message.find(path + ":2:"), std::string::npos) << hosts.error().message;
  EXPECT_FALSE(ReadHostsFile(std::string(dir) + "/missing"));
  std::filesystem::remove_all(dir);
}

TEST(NetApiTest, SessionsAsTheProtocolShowsThem) {
  auto s = DecodeSessions(
      R"({"sessions": [
        {"user": "alice", "tty": "pts/0", "host": "192.0.2.7", "addr": "192.0.2.7",
         "pid": 4242, "session": 0, "login": "2026-11-28T17:00:01Z",
         "login_time_us": 1764349201000000, "idle_s": 42, "new_field": [1, 2]},
        {"user": "bob", "tty": "seat0", "host": "", "addr": null, "pid": 1,
         "login_time_us": 1764349202000000, "idle_s": null}]})");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].user, "alice");
  EXPECT_EQ((*s)[0].addr, "192.0.2.7");
  EXPECT_EQ((*s)[0].idle_s, 42);
  EXPECT_EQ((*s)[0].login_time_us, 1764349201000000);
  EXPECT_FALSE((*s)[1].addr);
  EXPECT_FALSE((*s)[1].idle_s);
  // The row as received, fields in the host's order, for --json.
  EXPECT_EQ((*s)[1].json, R"({"user":"bob","tty":"seat0","host":"","addr":null,"pid":1,)"
                          R"("login_time_us":1764349202000000,"idle_s":null})");
}

TEST(NetApiTest, HistoryPagesAndFailed) {
  auto page = DecodeHistoryPage(
      R"({"sessions":[{"seq":812,"type":"login","user":"alice","tty":"pts/0","host":"h",
          "addr":"192.0.2.7","pid":4242,"login_time_us":1764349201000000,"end":"logout",
          "logout_time_us":1764350999000000,"duration_s":1799}],"next_cursor":"639"})",
      false);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->rows.size(), 1u);
  EXPECT_EQ(page->rows[0].end, "logout");
  EXPECT_EQ(page->rows[0].logout_time_us, 1764350999000000);
  EXPECT_EQ(page->next_cursor, "639");

  page = DecodeHistoryPage(R"({"failed":[{"seq":77,"user":"root","tty":"ssh:notty",
      "host":"198.51.100.3","addr":"198.51.100.3","pid":981,"time_us":5}],
      "next_cursor":null})",
                           true);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->rows[0].type, "failed");
  EXPECT_EQ(page->rows[0].login_time_us, 5);
  EXPECT_FALSE(page->next_cursor);
}

// Text that was no valid UTF-8 comes as its bytes in "NAME_hex" beside the readable "NAME":
// the client takes the bytes, so it shows what the local tools show.
TEST(NetApiTest, BytesThatAreNoUtf8ComeWhole) {
  auto page = DecodeHistoryPage(
      R"({"sessions":[{"seq":1,"type":"login","user":"caf\ufffd","user_hex":"636166e9",
          "tty":"pts/0","host":"h\ufffd","host_hex":"68ff","addr":null,"pid":1,
          "login_time_us":1,"end":"still","logout_time_us":null,"duration_s":null}],
          "next_cursor":null})",
      false);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->rows[0].user, "caf\xe9");
  EXPECT_EQ(page->rows[0].host, "h\xff");
  EXPECT_EQ(page->rows[0].tty, "pts/0");
  auto bad = DecodeHistoryPage(
      R"({"sessions":[{"seq":1,"type":"login","user":"x","user_hex":"6g","tty":"t","host":"h",
          "addr":null,"pid":1,"login_time_us":1,"end":"still"}],"next_cursor":null})",
      false);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("user_hex"), std::string::npos) << bad.error().message;
}

// A row passed on as received (--json @host) keeps DEL and C1 controls escaped, as the daemon
// sent them: nlohmann would write them raw, and U+009B is a terminal's CSI.
TEST(NetApiTest, RowsPassedOnKeepControlsEscaped) {
  auto sessions = DecodeSessions(
      R"({"sessions":[{"user":"a\u007fb\u009bc\u00a0","tty":"pts/0","host":"h","addr":null,
          "pid":1,"session":0,"login_time_us":1,"idle_s":null}]})");
  ASSERT_TRUE(sessions) << sessions.error().message;
  const std::string& json = (*sessions)[0].json;
  EXPECT_NE(json.find(R"("user":"a\u007fb\u009bc)" "\xc2\xa0" R"(")"), std::string::npos) << json;
  EXPECT_EQ(json.find('\x7f'), std::string::npos);
  EXPECT_EQ(json.find("\xc2\x9b"), std::string::npos);
}

TEST(NetApiTest, MalformedAnswersAreErrorsNamingTheField) {
  struct Case {
    const char* body;
    const char* names;
  } cases[] = {
      {"", "body"},
      {"[1,2]", "body"},
      {R"({"sessions": 3})", "sessions"},
      {R"({"sessions": [1]})", "sessions[0]"},
      {R"({"sessions": [{"user": 7}]})", "sessions[0].user"},
      {R"({"sessions": [{"pid": "x"}]})", "sessions[0].pid"},
      {R"({"sessions": [{"pid": 1.5}]})", "sessions[0].pid"},
      {R"({"sessions": [{"login_time_us": 18446744073709551615}]})", "login_time_us"},
      {"{\"sessions\": [{\"user\": \"\xff\"}]}", "body"},  // not UTF-8: not JSON
  };
  for (const Case& c : cases) {
    auto s = DecodeSessions(c.body);
    ASSERT_FALSE(s) << c.body;
    EXPECT_NE(s.error().message.find(c.names), std::string::npos)
        << c.body << " -> " << s.error().message;
  }
  EXPECT_FALSE(DecodeHost(R"({"load": [1, 2]})"));
  EXPECT_FALSE(DecodeHistoryPage(R"({"sessions": [], "next_cursor": 5})", false));
  EXPECT_FALSE(DecodeEvent("{\"seq\": \"1\"}"));
}

TEST(NetApiTest, HostAndEvent) {
  auto h = DecodeHost(R"({"api":1,"hostname":"web1","time_us":1764353045000000,
      "boot_time_us":1763622000000000,"uptime_s":731045,"load":[0.12,0.08,0.02],
      "users":3,"sessions":5,"last_seq":120394})");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->hostname, "web1");
  EXPECT_EQ(h->uptime_s, 731045);
  EXPECT_DOUBLE_EQ(h->load[1], 0.08);
  EXPECT_EQ(h->sessions, 5);
  EXPECT_EQ(h->last_seq, 120394);

  auto e = DecodeEvent(R"({"seq":812,"kind":"login","time_us":1764349201000000,
      "user":"al\u001bice","tty":"pts/0","host":"192.0.2.7","addr":"192.0.2.7","pid":4242})");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->seq, 812);
  EXPECT_EQ(e->user, "al\x1bice");  // decoded; escaping for the terminal is the printer's
}

TEST(NetApiTest, HttpErrorsSayWhat) {
  EXPECT_EQ(DescribeHttpError(
                400, R"({"error":{"code":"bad_parameter","message":"limit: must be 1 to 1000"}})"),
            "HTTP 400: limit: must be 1 to 1000");
  EXPECT_EQ(DescribeHttpError(502, "<html>Bad Gateway</html>"), "HTTP 502");
  // A message is made safe for the terminal it is printed on.
  EXPECT_EQ(DescribeHttpError(404, R"({"error":{"message":"no \u001b[31mway"}})"),
            "HTTP 404: no *[[31mway");
  EXPECT_EQ(SecondsOf(-1), -1);
  EXPECT_EQ(SecondsOf(1999999), 1);
}

TEST(ClientConfigTest, GroupsAndHostsExpandToWhatTheyName) {
  ClientConfig config;
  auto parsed = ParseClientConfig(
      "tls = true\ncacert = \"~/ca.pem\"\n[hosts]\nweb1 = \"web1.example.org:4310\"\n"
      "old = \"http://10.0.0.9\"\n[groups]\nweb = [\"web1\", \"@web2\"]\n"
      "all = [\"web\", \"old\"]\n",
      "c.toml", "/home/ann", &config);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(config.files.ca_file, "/home/ann/ca.pem");
  auto all = ExpandHost(config, "all");
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].label, "web1");  // called by its short name
  EXPECT_EQ((*all)[0].name, "web1.example.org");
  EXPECT_EQ((*all)[0].port, 4310);
  EXPECT_TRUE((*all)[0].tls) << "tls = true applies to every host";
  EXPECT_EQ((*all)[1].name, "web2");
  EXPECT_TRUE((*all)[1].tls);
  EXPECT_EQ((*all)[2].label, "old");
  EXPECT_FALSE((*all)[2].tls) << "a host written http:// stays plain";
  auto bare = ExpandHost(config, "db9:431");
  ASSERT_TRUE(bare);
  EXPECT_EQ((*bare)[0].name, "db9");
  // A later file's settings win; a circle of groups and a bad key are errors with a place.
  ASSERT_TRUE(ParseClientConfig("tls = false\n[groups]\nweb = [\"all\"]\n", "u.toml", "", &config));
  auto circle = ExpandHost(config, "all");
  ASSERT_FALSE(circle);
  EXPECT_NE(circle.error().message.find("in a circle"), std::string::npos);
  ClientConfig fresh;
  auto bad = ParseClientConfig("tls = true\nhost = \"x\"\n", "c.toml", "", &fresh);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "c.toml:2:1: unknown key 'host' (expected tls, cacert, cert, key, token, [hosts] or "
            "[groups])");
  bad = ParseClientConfig("[hosts]\nweb1 = \"web1:99999\"\n", "c.toml", "", &fresh);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "c.toml:2:8: hosts: 'web1' must be HOST[:PORT] or https://HOST[:PORT]");
}

// A host or a group may carry credentials of its own: each host asked takes each setting from
// the nearest place that has it (its entry, the innermost group, outer groups, the top).
TEST(ClientConfigTest, HostsAndGroupsCarryTheirOwnCredentials) {
  ClientConfig config;
  auto parsed = ParseClientConfig(
      "token = \"top\"\ncacert = \"/etc/utmpc/ca.pem\"\n"
      "[hosts]\nweb1 = \"web1.example.org\"\n"
      "[hosts.db2]\nurl = \"db2.example.org:4310\"\ntoken = \"db2-token\"\n"
      "[hosts.lab9]\nurl = \"lab9\"\ncert = \"~/lab9.pem\"\n"
      "[groups]\nprod = [\"web1\", \"db2\", \"lab\"]\n"
      "[groups.lab]\nhosts = [\"lab1\", \"lab9\"]\ntls = true\ncacert = \"/etc/utmpc/lab-ca.pem\"\n"
      "token = \"lab-token\"\n",
      "c.toml", "/home/ann", &config);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(config.tokens, 3);
  auto prod = ExpandHost(config, "prod");
  ASSERT_TRUE(prod) << prod.error().message;
  ASSERT_EQ(prod->size(), 4u);
  const NetHost& web1 = (*prod)[0];
  EXPECT_EQ(web1.label, "web1");
  EXPECT_FALSE(web1.token) << "no token of its own: the command's (the top of the file's)";
  EXPECT_FALSE(web1.tls_files);
  const NetHost& db2 = (*prod)[1];
  EXPECT_EQ(db2.name, "db2.example.org");
  EXPECT_EQ(db2.port, 4310);
  EXPECT_EQ(db2.token.value_or(""), "db2-token");
  const NetHost& lab1 = (*prod)[2];
  EXPECT_TRUE(lab1.tls) << "the group's tls = true";
  EXPECT_EQ(lab1.token.value_or(""), "lab-token");
  ASSERT_TRUE(lab1.tls_files);
  EXPECT_EQ(lab1.tls_files->ca_file, "/etc/utmpc/lab-ca.pem");
  EXPECT_EQ(lab1.tls_files->certificate, "");
  const NetHost& lab9 = (*prod)[3];
  ASSERT_TRUE(lab9.tls_files);
  EXPECT_EQ(lab9.tls_files->ca_file, "/etc/utmpc/lab-ca.pem") << "from its group";
  EXPECT_EQ(lab9.tls_files->certificate, "/home/ann/lab9.pem") << "its own";
  // Named alone, lab9 has no group: its own cert, the top's CA, no token of its own.
  auto alone = ExpandHost(config, "lab9");
  ASSERT_TRUE(alone);
  ASSERT_TRUE((*alone)[0].tls_files);
  EXPECT_EQ((*alone)[0].tls_files->ca_file, "/etc/utmpc/ca.pem");
  EXPECT_FALSE((*alone)[0].token);
  EXPECT_TRUE((*alone)[0].tls) << "a certificate of its own means TLS";

  // A host's own certificate without a key has its key in the same file, not the top's; a
  // CA or certificate of its own means TLS.
  ClientConfig keyed;
  ASSERT_TRUE(ParseClientConfig("cert = \"/me.pem\"\nkey = \"/me.key\"\n[hosts.db]\n"
                                "url = \"db\"\ncert = \"/db.pem\"\n",
                                "c.toml", "", &keyed));
  auto db = ExpandHost(keyed, "db");
  ASSERT_TRUE(db && (*db)[0].tls_files);
  EXPECT_EQ((*db)[0].tls_files->certificate, "/db.pem");
  EXPECT_EQ((*db)[0].tls_files->key, "");
  EXPECT_TRUE((*db)[0].tls);
  // A later file that names the host again, plainly, keeps none of its credentials.
  ASSERT_TRUE(ParseClientConfig("[hosts]\ndb2 = \"elsewhere\"\n[groups]\nlab = [\"x\"]\n",
                                "u.toml", "", &config));
  auto moved = ExpandHost(config, "db2");
  ASSERT_TRUE(moved);
  EXPECT_EQ((*moved)[0].name, "elsewhere");
  EXPECT_FALSE((*moved)[0].token) << "db2's token would go to another host";
  auto lab = ExpandHost(config, "lab");
  ASSERT_TRUE(lab);
  EXPECT_FALSE((*lab)[0].token);
  EXPECT_FALSE((*lab)[0].tls_files);

  ClientConfig fresh;
  auto bad = ParseClientConfig("[hosts.x]\ntoken = \"t\"\n", "c.toml", "", &fresh);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "c.toml:1:1: hosts: 'x' needs 'url'");
  bad = ParseClientConfig("[groups.g]\nhosts = [\"a\"]\nuser = \"u\"\n", "c.toml", "", &fresh);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "c.toml:3:1: unknown key 'user' (expected hosts, tls, cacert, cert, key or token)");
}

}  // namespace
}  // namespace utmpcd
