// Access tiers (api/access.h) without the network: the tier each kind of peer and credential
// gets, and what each tier is answered by every endpoint of a real Api over a real SQLite
// history (with a live session and failed logins in it).
#include "api/access.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "api/access_gate.h"
#include "api/api.h"
#include "api/web_page.h"
#include "store/sqlite_store.h"

namespace utmpcd {
namespace {

ApiRequest From(Peer::Transport transport, std::string address, std::optional<uint32_t> uid = {},
                std::optional<uint32_t> gid = {}) {
  ApiRequest r;
  r.peer.transport = transport;
  r.peer.address = std::move(address);
  r.peer.uid = uid;
  r.peer.gid = gid;
  return r;
}

constexpr auto kTcp = Peer::Transport::kTcp;
constexpr auto kUnix = Peer::Transport::kUnix;
const std::string kHashA(64, 'a');
const std::string kHashB(64, 'b');

AccessPolicy Policy() {
  AccessPolicy p;
  p.utmp_gid = 43;
  p.rules.push_back({.name = "lan", .networks = {*ParseNetwork("10.0.0.0/8")},
                     .token_sha256 = "", .client_subject = "", .tier = Tier::kSessions});
  p.rules.push_back({.name = "ops", .networks = {}, .token_sha256 = kHashA, .client_subject = "",
                     .tier = Tier::kFull});
  p.rules.push_back({.name = "ops-from-lan", .networks = {*ParseNetwork("10.1.0.0/16")},
                     .token_sha256 = kHashB, .client_subject = "", .tier = Tier::kHistory});
  return p;
}

TEST(AccessTest, DefaultsGiveWhatTheHostsFilesGive) {
  AccessPolicy none;
  none.utmp_gid = 43;
  EXPECT_EQ(DecideAccess(From(kUnix, "", 0, 0), none).tier, Tier::kFull);       // root
  EXPECT_EQ(DecideAccess(From(kUnix, "", 1000, 43), none).tier, Tier::kFull);   // group utmp
  EXPECT_EQ(DecideAccess(From(kUnix, "", 1000, 1000), none).tier, Tier::kHistory);
  EXPECT_EQ(DecideAccess(From(kUnix, ""), none).tier, Tier::kHistory);          // no credentials
  EXPECT_EQ(DecideAccess(From(kTcp, "127.0.0.1"), none).tier, Tier::kHistory);
  EXPECT_EQ(DecideAccess(From(kTcp, "127.9.9.9"), none).tier, Tier::kHistory);
  EXPECT_EQ(DecideAccess(From(kTcp, "::1"), none).tier, Tier::kHistory);
  EXPECT_EQ(DecideAccess(From(kTcp, "::ffff:127.0.0.1"), none).tier, Tier::kHistory);
  EXPECT_EQ(DecideAccess(From(kTcp, "192.0.2.7"), none).tier, Tier::kSummary);
  EXPECT_EQ(DecideAccess(From(kTcp, "2001:db8::1"), none).tier, Tier::kSummary);
  EXPECT_EQ(DecideAccess(From(kTcp, "::2"), none).tier, Tier::kSummary);
}

TEST(AccessTest, RulesGrantTheHighestTierTheyMatch) {
  AccessPolicy p = Policy();
  Access lan = DecideAccess(From(kTcp, "10.2.3.4"), p);
  EXPECT_EQ(lan.tier, Tier::kSessions);
  EXPECT_EQ(lan.rule, "lan");
  EXPECT_EQ(DecideAccess(From(kTcp, "11.2.3.4"), p).tier, Tier::kSummary);
  // A token rule matches wherever the request comes from.
  ApiRequest ops = From(kTcp, "192.0.2.7");
  ops.bearer_present = true;
  ops.bearer_sha256 = kHashA;
  Access a = DecideAccess(ops, p);
  EXPECT_EQ(a.tier, Tier::kFull);
  EXPECT_TRUE(a.token && a.token_ok);
  EXPECT_EQ(a.rule, "ops");
  // A rule with networks and a token needs both.
  ApiRequest b = From(kTcp, "10.2.0.1");
  b.bearer_present = true;
  b.bearer_sha256 = kHashB;
  EXPECT_EQ(DecideAccess(b, p).tier, Tier::kSessions);  // the lan rule only
  EXPECT_FALSE(DecideAccess(b, p).token_ok);
  b.peer.address = "10.1.0.1";
  EXPECT_EQ(DecideAccess(b, p).tier, Tier::kHistory);
  EXPECT_TRUE(DecideAccess(b, p).token_ok);
  // A token no rule knows, or a credential that is no bearer token, is said to be wrong.
  ApiRequest wrong = From(kTcp, "127.0.0.1");
  wrong.bearer_present = true;
  wrong.bearer_sha256 = std::string(64, 'c');
  EXPECT_TRUE(DecideAccess(wrong, p).token);
  EXPECT_FALSE(DecideAccess(wrong, p).token_ok);
  wrong.bearer_sha256.clear();  // "Basic ...": nothing to hash
  EXPECT_FALSE(DecideAccess(wrong, p).token_ok);
}

TEST(AccessTest, ClientCertificatesAreMatchedByTheirWholeSubject) {
  AccessPolicy p;
  p.rules.push_back({.name = "fleet", .networks = {}, .token_sha256 = "",
                     .client_subject = "CN=utmpsd.example.org,O=Example", .tier = Tier::kFull});
  p.rules.push_back({.name = "lan-viewer", .networks = {*ParseNetwork("10.0.0.0/8")},
                     .token_sha256 = "", .client_subject = "CN=viewer", .tier = Tier::kSessions});
  ApiRequest fleet = From(kTcp, "192.0.2.7");
  fleet.peer.tls = true;
  fleet.peer.certificate_subject = "CN=utmpsd.example.org,O=Example";
  Access a = DecideAccess(fleet, p);
  EXPECT_EQ(a.tier, Tier::kFull);
  EXPECT_EQ(a.rule, "fleet");
  EXPECT_FALSE(a.token);
  // Another subject, a part of it, or none: the default.
  for (std::string subject : {"CN=utmpsd.example.org", "CN=utmpsd.example.org,O=Example,C=DE",
                              "cn=utmpsd.example.org,o=example", ""}) {
    fleet.peer.certificate_subject = subject;
    EXPECT_EQ(DecideAccess(fleet, p).tier, Tier::kSummary) << subject;
  }
  // A subject and networks: both.
  ApiRequest viewer = From(kTcp, "192.0.2.7");
  viewer.peer.certificate_subject = "CN=viewer";
  EXPECT_EQ(DecideAccess(viewer, p).tier, Tier::kSummary);
  viewer.peer.address = "10.9.9.9";
  EXPECT_EQ(DecideAccess(viewer, p).tier, Tier::kSessions);
}

TEST(AccessTest, LoopbackRequestsMustNameThisHost) {
  const std::vector<std::string> names = {"web1", "web1.example.org."};
  for (std::string_view host : {"localhost", "localhost:431", "LOCALHOST.:431", "app.localhost",
                                "127.0.0.1:431", "192.0.2.7", "[::1]:431", "[fe80::1%25eth0]",
                                "web1", "WEB1:431", "web1.example.org", "web1.example.org.:4310",
                                ""}) {
    EXPECT_TRUE(HostIsThisHost(host, names)) << host;
  }
  // What a rebinding page sends: its own name.
  for (std::string_view host : {"evil.example", "evil.example:431", "web1.evil.example",
                                "localhost.evil.example", "xlocalhost", ".localhost", "web1:x",
                                "web1:431:431", ":431", "."}) {
    EXPECT_FALSE(HostIsThisHost(host, names)) << host;
  }
}

// A rebinding page that presents a token which grants less than the viewer's address gets (a
// token many hold) keeps the address's tier: the Host check still applies. A token that grants
// the tier on its own is no rebinding page's.
TEST(AccessTest, TheHostCheckIsSkippedOnlyWhenTheCredentialGaveTheTier) {
  AccessPolicy p = Policy();  // "ops": token A, full; "ops-from-lan": token B from 10.1/16, history
  p.rules.push_back({.name = "monitor", .networks = {}, .token_sha256 = std::string(64, 'c'),
                     .client_subject = "", .tier = Tier::kSummary});
  auto with = [&](std::string address, const std::string& hash) {
    ApiRequest r = From(kTcp, std::move(address));
    r.headers.emplace_back("Host", "evil.example");
    r.bearer_present = !hash.empty();
    r.bearer_sha256 = hash;
    return r;
  };
  auto refused = [&](const ApiRequest& r) {
    return CheckHostField(r, DecideAccess(r, p), {"web1"}).has_value();
  };
  EXPECT_TRUE(refused(with("127.0.0.1", "")));                      // loopback: history
  EXPECT_TRUE(refused(with("127.0.0.1", std::string(64, 'c'))));    // + a summary token
  EXPECT_FALSE(refused(with("127.0.0.1", kHashA)));                 // full, by its token
  EXPECT_TRUE(refused(with("10.0.0.9", std::string(64, 'c'))));     // lan: sessions
  EXPECT_FALSE(refused(with("192.0.2.7", std::string(64, 'c'))));   // the summary: nothing to guard
  EXPECT_FALSE(refused(with("10.1.2.3", kHashB)));                  // history by token B
}

TEST(AccessTest, NetworksParseAndContain) {
  EXPECT_TRUE(NetworkContains(*ParseNetwork("10.0.0.0/8"), "10.255.0.1"));
  EXPECT_FALSE(NetworkContains(*ParseNetwork("10.0.0.0/8"), "11.0.0.1"));
  EXPECT_TRUE(NetworkContains(*ParseNetwork("192.0.2.7"), "192.0.2.7"));
  EXPECT_FALSE(NetworkContains(*ParseNetwork("192.0.2.7"), "192.0.2.8"));
  EXPECT_TRUE(NetworkContains(*ParseNetwork("192.0.2.0/25"), "::ffff:192.0.2.100"));
  EXPECT_FALSE(NetworkContains(*ParseNetwork("192.0.2.0/25"), "192.0.2.128"));
  EXPECT_TRUE(NetworkContains(*ParseNetwork("fd00::/8"), "fd12:3456::1"));
  EXPECT_FALSE(NetworkContains(*ParseNetwork("fd00::/8"), "fe80::1"));
  EXPECT_FALSE(NetworkContains(*ParseNetwork("0.0.0.0/0"), "::1"));  // families apart
  EXPECT_TRUE(NetworkContains(*ParseNetwork("0.0.0.0/0"), "203.0.113.9"));
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "host/8",
                          "10.0.0.0/8x", "", "::ffff:10.0.0.0/104"}) {
    EXPECT_FALSE(ParseNetwork(bad)) << bad;
  }
  EXPECT_EQ(ParseTier("history"), Tier::kHistory);
  EXPECT_FALSE(ParseTier("admin"));
}

// Every endpoint for every tier, on a real Api: the status, and no user name below `sessions`.
class AccessApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("access_test." + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::string db = (dir_ / "history.db").string();
    auto store = SqliteStore::Open(db);
    ASSERT_TRUE(store) << store.error().message;
    std::vector<Event> events;
    for (int i = 0; i < 6; ++i) {
      Event e;
      e.time_us = (INT64_C(1700000000) + i * 60) * 1000000;
      e.kind = i % 3 == 2 ? EventKind::kFailed : i % 3 == 0 ? EventKind::kLogin : EventKind::kLogout;
      e.source = e.kind == EventKind::kFailed ? EventSource::kBtmp : EventSource::kWtmp;
      e.user = "zelda";
      e.tty = "pts/3";
      e.pid = 100 + i;
      events.push_back(e);
    }
    ASSERT_TRUE((*store)->Append(events, {}));
    auto live = std::make_shared<LiveView>();
    LiveSession s;
    s.user = "zelda";
    s.line = "pts/3";
    s.pid = 100;
    live->Set({s});
    ApiOptions options;
    options.database = db;
    options.version = "test";
    options.access = Policy();
    registry_ = std::make_shared<MetricsRegistry>();
    options.metrics = std::make_shared<ServerMetrics>(
        registry_, "utmpcd", "test",
        std::vector<std::string>{"/v1/host", "/v1/sessions", "/v1/history", "/v1/failed",
                                 "/v1/lastlog", "/v1/events", "/healthz", "/metrics"});
    auto api = Api::Open(options, live);
    ASSERT_TRUE(api) << api.error().message;
    api_ = std::move(*api);
  }
  void TearDown() override {
    api_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::shared_ptr<MetricsRegistry> registry_;
  std::unique_ptr<Api> api_;
};

TEST_F(AccessApiTest, EachEndpointAnswersTheTierItNeeds) {
  struct Who {
    const char* name;
    ApiRequest request;
    Tier tier;
  };
  ApiRequest ops = From(kTcp, "192.0.2.7");
  ops.bearer_present = true;
  ops.bearer_sha256 = kHashA;
  const std::vector<Who> everyone = {{"stranger", From(kTcp, "192.0.2.7"), Tier::kSummary},
                                     {"lan", From(kTcp, "10.0.0.9"), Tier::kSessions},
                                     {"loopback", From(kTcp, "127.0.0.1"), Tier::kHistory},
                                     {"local user", From(kUnix, "", 1000, 1000), Tier::kHistory},
                                     {"root", From(kUnix, "", 0, 0), Tier::kFull},
                                     {"ops token", ops, Tier::kFull}};
  const std::vector<std::pair<std::string, Tier>> endpoints = {
      {"/v1/host", Tier::kSummary},      {"/healthz", Tier::kSummary},
      {"/v1/sessions", Tier::kSessions}, {"/v1/history", Tier::kHistory},
      {"/v1/lastlog", Tier::kHistory},   {"/v1/events", Tier::kHistory},
      {"/v1/failed", Tier::kFull},       {"/metrics", Tier::kSessions}};
  for (const Who& who : everyone) {
    for (const auto& [target, need] : endpoints) {
      ApiRequest r = who.request;
      r.target = target;
      ApiResponse response = api_->Handle(r);
      SCOPED_TRACE(std::string(who.name) + " " + target);
      if (who.tier >= need) {
        EXPECT_EQ(response.status, 200) << response.body;
        if (target == "/v1/events") {
          ASSERT_TRUE(response.stream);
          EXPECT_EQ(response.stream->tier, static_cast<int>(who.tier));
        }
      } else {
        // Without a credential 401 (present one), with one 403 (it grants too little).
        EXPECT_EQ(response.status, who.request.bearer_present ? 403 : 401) << response.body;
        EXPECT_NE(response.body.find(std::string(TierName(need)) + " tier"), std::string::npos)
            << response.body;
      }
      if (who.tier < Tier::kSessions) {
        EXPECT_EQ(response.body.find("zelda"), std::string::npos) << response.body;
      }
    }
  }
  // The path is routed decoded, and its tier checked decoded: "%66ailed" is "failed".
  for (const char* target : {"/v1/%66ailed", "/v1/%68istory", "/v1/%73essions", "/v1/fail%65d?limit=1",
                             "/v1/%65vents"}) {
    ApiRequest r = From(kTcp, "192.0.2.7");
    r.target = target;
    ApiResponse response = api_->Handle(r);
    EXPECT_EQ(response.status, 401) << target << ": " << response.body;
    EXPECT_EQ(response.body.find("zelda"), std::string::npos) << target;
  }
  // Every answer above was counted, with the tier its request got: the stranger's seven
  // refusals (all but /v1/host and /healthz), root's answers.
  std::string metrics = api_->Get("/metrics").body;
  EXPECT_NE(metrics.find("utmpcd_http_requests_total{endpoint=\"/v1/failed\",code=\"200\","
                         "tier=\"full\"} 2\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("utmpcd_http_requests_total{endpoint=\"/metrics\",code=\"401\","
                         "tier=\"summary\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("utmpcd_http_requests_total{endpoint=\"other\",code=\"401\","
                         "tier=\"summary\"} 5\n"),
            std::string::npos)
      << metrics;  // the five escaped paths
  EXPECT_EQ(metrics.find("zelda"), std::string::npos);
  // A link-local peer (with its zone) matches its network rule.
  AccessPolicy link;
  link.rules.push_back({.name = "link", .networks = {*ParseNetwork("fe80::/10")},
                        .token_sha256 = "", .client_subject = "", .tier = Tier::kHistory});
  EXPECT_EQ(DecideAccess(From(kTcp, "fe80::1%eth0"), link).tier, Tier::kHistory);
  // Group utmp counts as a supplementary group too.
  ApiRequest member = From(kUnix, "", 1000, 1000);
  member.peer.groups = {27, 43};
  EXPECT_EQ(DecideAccess(member, Policy()).tier, Tier::kFull);
  // A token nobody knows: 401, even for the summary.
  ApiRequest wrong = From(kTcp, "127.0.0.1");
  wrong.target = "/v1/host";
  wrong.bearer_present = true;
  wrong.bearer_sha256 = std::string(64, 'f');
  ApiResponse refused = api_->Handle(wrong);
  EXPECT_EQ(refused.status, 401);
  ASSERT_EQ(refused.headers.size(), 1u);
  EXPECT_EQ(refused.headers[0].first, "WWW-Authenticate");
}

// The dashboard's page is served to anyone (it holds no login data) with a policy that lets
// it run its own script only; /v1/access tells the page what the viewer may see.
TEST_F(AccessApiTest, ThePageIsServedToAnyoneWithAStrictPolicy) {
  ApiRequest r = From(kTcp, "192.0.2.7");
  r.target = "/";
  ApiResponse page = api_->Handle(r);
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("data-server=\"utmpcd\""), std::string::npos);
  EXPECT_NE(page.body.find("<script src=\"/app.js\" defer></script>"), std::string::npos);
  auto header = [&](const ApiResponse& response, std::string_view name) -> std::string {
    for (const auto& [n, v] : response.headers) {
      if (n == name) return v;
    }
    return "";
  };
  const std::string policy = header(page, "Content-Security-Policy");
  EXPECT_EQ(policy, kWebPagePolicy);
  EXPECT_NE(policy.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(policy.find("unsafe"), std::string::npos);
  EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(header(page, "Referrer-Policy"), "no-referrer");
  for (const char* file : {"/app.js", "/app.css", "/favicon.svg"}) {
    r.target = file;
    ApiResponse answer = api_->Handle(r);
    EXPECT_EQ(answer.status, 200) << file;
    EXPECT_GT(answer.body.size(), 100u) << file;
    EXPECT_EQ(header(answer, "Content-Security-Policy"), kWebPagePolicy) << file;
  }
  r.target = "/app.js";
  EXPECT_EQ(api_->Handle(r).content_type, "text/javascript; charset=utf-8");
  for (const char* other : {"/index.htm", "/../app.js", "/web/app.js", "/app.js/"}) {
    r.target = other;
    EXPECT_EQ(api_->Handle(r).status, 404) << other;
  }
  // The viewer's tier, and the rule that gave it.
  r.target = "/v1/access";
  EXPECT_EQ(api_->Handle(r).body, "{\"tier\":\"summary\",\"rule\":null,\"token\":false}\n");
  ApiRequest ops = From(kTcp, "10.1.2.3");
  ops.target = "/v1/access";
  ops.bearer_present = true;
  ops.bearer_sha256 = kHashA;
  EXPECT_EQ(api_->Handle(ops).body, "{\"tier\":\"full\",\"rule\":\"ops\",\"token\":true}\n");
  ops.target = "/v1/access?x=1";
  EXPECT_EQ(api_->Handle(ops).status, 400);
}

}  // namespace
}  // namespace utmpcd
