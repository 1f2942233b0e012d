// Port 430's fleet API (api/fleet_api.h) over a real fleet store (a SQLite file): tiers and
// errors as on port 431, the answers' JSON, paging, groups, the event stream's start; and
// utmpsd's configuration and hosts file (utmpsd/config.h).
#include "api/fleet_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "utmpsd/config.h"

namespace utmpcd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;

class FleetApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fleet_api.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = FleetStore::Open((dir_ / "fleet.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->SetHosts(std::vector<std::string>{"web1", "web2", "db1"}));
    ASSERT_TRUE(store_->Claim("me", 60000, std::vector<std::string>{"web1", "web2", "db1"}));
    Put("web1", {Login(1, 1, "alice", "pts/0"), Login(2, 2, "bob", "pts/1"), Failed(3, 3, "root")});
    Put("web2", {Login(1, 4, "alice", "pts/0"), Login(2, 5, std::string("caf\xe9\x1b[2J", 8), "pts/1")});
    Put("db1", {Login(1, 6, "carol", "tty1"), Logout(2, 7, "tty1")});
    FleetApiOptions o;
    o.version = "test";
    o.access.rules.push_back({.name = "ops", .networks = {}, .token_sha256 = std::string(64, 'a'),
                              .client_subject = "", .tier = Tier::kFull});
    o.host_urls = {{"web1", "https://web1"}, {"web2", "https://web2"}, {"db1", "db1:431"}};
    o.groups = {{"web", {"web1", "web2"}}};
    api_ = std::make_unique<FleetApi>(o);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  static Event Login(int64_t seq, int64_t minute, std::string user, std::string tty) {
    Event e;
    e.seq = seq;
    e.kind = EventKind::kLogin;
    e.time_us = 1764349200000000 + minute * 60000000;
    e.user = std::move(user);
    e.tty = std::move(tty);
    e.remote_host = "192.0.2.7";
    e.remote_addr = {192, 0, 2, 7};
    e.pid = static_cast<int32_t>(100 + seq);
    return e;
  }
  static Event Failed(int64_t seq, int64_t minute, std::string user) {
    Event e = Login(seq, minute, std::move(user), "ssh:notty");
    e.kind = EventKind::kFailed;
    return e;
  }
  static Event Logout(int64_t seq, int64_t minute, std::string tty) {
    Event e = Login(seq, minute, "", std::move(tty));
    e.kind = EventKind::kLogout;
    return e;
  }
  void Put(const std::string& host, std::vector<Event> events) {
    std::vector<FleetBatch> b{{host, "h", std::move(events)}};
    auto r = store_->Store(b, "me");
    ASSERT_TRUE(r) << r.error().message;
  }

  // The answer to GET `target` from `address` (with `token`: a bearer token of hash aaaa...).
  ApiResponse Get(const std::string& target, const std::string& address = "127.0.0.1",
                  bool token = false) {
    ApiRequest r;
    r.target = target;
    r.peer.address = address;
    r.headers.emplace_back("Host", "localhost");
    if (token) {
      r.bearer_present = true;
      r.bearer_sha256 = std::string(64, 'a');
    }
    FleetHealth health;
    auto routed = api_->Route(r, 0, health);
    if (routed.response) return *routed.response;
    EXPECT_TRUE(routed.query);
    return api_->Handle(r, *store_);
  }
  static Json Body(const ApiResponse& r) { return Json::parse(r.body); }

  fs::path dir_;
  std::unique_ptr<FleetStore> store_;
  std::unique_ptr<FleetApi> api_;
};

TEST_F(FleetApiTest, EachEndpointNeedsItsTier) {
  // Another host: the summary (the hosts' states), nothing with a name.
  EXPECT_EQ(Get("/v1/hosts", "198.51.100.1").status, 200);
  for (const char* path : {"/v1/fleet/sessions", "/v1/fleet/history", "/v1/fleet/lastlog",
                           "/v1/fleet/failed", "/v1/fleet/events"}) {
    ApiResponse r = Get(path, "198.51.100.1");
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_THAT(r.body, HasSubstr("tier; this client has summary")) << path;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("alice")));
  }
  // Loopback: history, not the failed logins; a token of the full tier gets them.
  EXPECT_EQ(Get("/v1/fleet/history").status, 200);
  EXPECT_EQ(Get("/v1/fleet/failed").status, 401);
  ApiResponse failed = Get("/v1/fleet/failed", "198.51.100.1", true);
  ASSERT_EQ(failed.status, 200) << failed.body;
  Json j = Body(failed);
  ASSERT_EQ(j["failed"].size(), 1u);
  EXPECT_EQ(j["failed"][0]["hostname"], "web1");
  EXPECT_EQ(j["failed"][0]["user"], "root");
  // A token no rule knows: 401 whatever the endpoint.
  ApiRequest r;
  r.target = "/v1/hosts";
  r.peer.address = "127.0.0.1";
  r.bearer_present = true;
  r.bearer_sha256 = std::string(64, 'b');
  auto routed = api_->Route(r, 0, {});
  ASSERT_TRUE(routed.response);
  EXPECT_EQ(routed.response->status, 401);
}

TEST_F(FleetApiTest, ThePageAndTheViewersTierAreAnsweredToAnyone) {
  ApiResponse page = Get("/", "198.51.100.1");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(page.body, HasSubstr("data-server=\"utmpsd\""));
  EXPECT_EQ(Get("/app.js", "198.51.100.1").status, 200);
  EXPECT_EQ(Get("/nothing.js", "198.51.100.1").status, 404);
  EXPECT_EQ(Get("/v1/access", "198.51.100.1").body,
            "{\"tier\":\"summary\",\"rule\":null,\"token\":false}\n");
  EXPECT_THAT(Get("/v1/access").body, HasSubstr("\"tier\":\"history\""));
  EXPECT_THAT(Get("/v1/access", "198.51.100.1", true).body, HasSubstr("\"tier\":\"full\""));
}

TEST_F(FleetApiTest, SessionsAreWhoIsOnWhereWithFilters) {
  Json all = Body(Get("/v1/fleet/sessions"));
  std::set<std::string> seen;
  for (auto& s : all["sessions"]) seen.insert(s["hostname"].get<std::string>() + ":" + s["user"].get<std::string>());
  EXPECT_EQ(seen, (std::set<std::string>{"web1:alice", "web1:bob", "web2:alice", "web2:caf\xef\xbf\xbd\x1b[2J"}));
  EXPECT_EQ(all["truncated"], false);
  Json alice = Body(Get("/v1/fleet/sessions?user=alice"));
  ASSERT_EQ(alice["sessions"].size(), 2u);
  EXPECT_EQ(alice["sessions"][0]["addr"], "192.0.2.7");
  Json web = Body(Get("/v1/fleet/sessions?group=web&user=bob"));
  ASSERT_EQ(web["sessions"].size(), 1u);
  EXPECT_EQ(web["sessions"][0]["hostname"], "web1");
  Json db = Body(Get("/v1/fleet/sessions?host=db1"));
  EXPECT_EQ(db["sessions"].size(), 0u);  // carol logged out
  // Bytes that are no UTF-8, and a terminal escape: escaped, and given whole as user_hex.
  ApiResponse hostile = Get("/v1/fleet/sessions?host=web2&tty=pts%2F1");
  EXPECT_THAT(hostile.body, HasSubstr("\\u001b[2J"));
  EXPECT_THAT(hostile.body, HasSubstr("\"user_hex\":\"636166e91b5b324a\""));
  Json limited = Body(Get("/v1/fleet/sessions?limit=1"));
  EXPECT_EQ(limited["sessions"].size(), 1u);
  EXPECT_EQ(limited["truncated"], true);
}

// form=rows (the dashboard's: 100,000 sessions in half the bytes) says what the objects say,
// from the store and from the in-memory view, hostile bytes and all.
TEST_F(FleetApiTest, SessionsAsRowsSayWhatTheObjectsSay) {
  OpenSessionsView view;
  auto ask = [&](const std::string& target, OpenSessionsView* v) {
    ApiRequest r;
    r.target = target;
    r.peer.address = "127.0.0.1";
    ApiResponse answer = api_->Handle(r, *store_, v);
    EXPECT_EQ(answer.status, 200) << answer.body;
    return Json::parse(answer.body);
  };
  for (OpenSessionsView* v : {static_cast<OpenSessionsView*>(nullptr), &view}) {
    Json objects = ask("/v1/fleet/sessions", v);
    Json rows = ask("/v1/fleet/sessions?form=rows", v);
    ASSERT_EQ(rows["rows"].size(), objects["sessions"].size());
    ASSERT_GE(rows["rows"].size(), 4u);
    EXPECT_EQ(rows["truncated"], objects["truncated"]);
    const Json& columns = rows["columns"];
    bool hex_seen = false;
    for (size_t i = 0; i < rows["rows"].size(); ++i) {
      const Json& row = rows["rows"][i];
      Json expected = objects["sessions"][i];
      expected.erase("login");  // (the time as text: login_time_us says it)
      Json rebuilt = Json::object();
      for (size_t c = 0; c < columns.size(); ++c) {
        if (columns[c] == "hex") {
          if (!row[c].is_null()) {
            hex_seen = true;
            for (auto& [k, x] : row[c].items()) rebuilt[k] = x;
          }
        } else {
          rebuilt[columns[c].get<std::string>()] = row[c];
        }
      }
      EXPECT_EQ(rebuilt, expected) << i;
    }
    EXPECT_TRUE(hex_seen);
    Json some = ask("/v1/fleet/sessions?form=rows&user=alice&limit=1", v);
    EXPECT_EQ(some["rows"].size(), 1u);
    EXPECT_EQ(some["truncated"], true);
  }
  ApiRequest bad;
  bad.target = "/v1/fleet/sessions?form=xml";
  bad.peer.address = "127.0.0.1";
  EXPECT_EQ(api_->Handle(bad, *store_, nullptr).status, 400);
}

TEST_F(FleetApiTest, TheInMemoryViewAnswersAsTheStoreDoesAndFollowsItsChanges) {
  OpenSessionsView view;
  auto ask = [&](const std::string& target, OpenSessionsView* v) {
    ApiRequest r;
    r.target = target;
    r.peer.address = "127.0.0.1";
    return api_->Handle(r, *store_, v).body;
  };
  for (const char* target : {"/v1/fleet/sessions", "/v1/fleet/sessions?user=alice",
                             "/v1/fleet/sessions?group=web&tty=pts%2F1", "/v1/fleet/sessions?limit=2"}) {
    EXPECT_EQ(ask(target, &view), ask(target, nullptr)) << target;
  }
  EXPECT_EQ(view.size(), 4u);
  // alice logs out of web1; dave logs in on db1; web2 boots (a crash ends its sessions).
  Put("web1", {Logout(4, 10, "pts/0")});
  Put("db1", {Login(3, 11, "dave", "pts/5")});
  Event boot = Login(3, 12, "", "~");
  boot.kind = EventKind::kBoot;
  Put("web2", {boot});
  for (const char* target : {"/v1/fleet/sessions", "/v1/fleet/sessions?user=alice",
                             "/v1/fleet/sessions?host=db1"}) {
    EXPECT_EQ(ask(target, &view), ask(target, nullptr)) << target;
  }
  // One batch that opens more sessions than a page of changes (all carry its position): the
  // view reads them all.
  std::vector<Event> many;
  for (int i = 0; i < 10050; ++i) {
    many.push_back(Login(4 + i, 20, "u" + std::to_string(i), "pts/" + std::to_string(100 + i)));
  }
  Put("db1", std::move(many));
  EXPECT_EQ(ask("/v1/fleet/sessions?host=db1&limit=1000000", &view),
            ask("/v1/fleet/sessions?host=db1&limit=1000000", nullptr));
  EXPECT_EQ(view.size(), 2u + 10050u);
  Json j = Json::parse(ask("/v1/fleet/sessions?user=alice&user=bob&user=carol&user=dave", &view));
  std::set<std::string> seen;
  for (auto& x : j["sessions"]) seen.insert(x["hostname"].get<std::string>() + ":" + x["user"].get<std::string>());
  EXPECT_EQ(seen, (std::set<std::string>{"web1:bob", "db1:dave"}));
}

TEST_F(FleetApiTest, AHostsLiveSummaryIsAskedOfAKnownHostOnly) {
  ApiRequest r;
  r.peer.address = "198.51.100.1";  // the summary tier suffices
  r.target = "/v1/fleet/host?host=web1";
  auto routed = api_->Route(r, 0, {});
  EXPECT_FALSE(routed.response);
  EXPECT_TRUE(routed.query);  // utmpsd asks the host
  r.target = "/v1/fleet/host?host=nosuch";
  routed = api_->Route(r, 0, {});
  ASSERT_TRUE(routed.response);
  EXPECT_EQ(routed.response->status, 404);
  r.target = "/v1/fleet/host?host=web1&host=web2";
  routed = api_->Route(r, 0, {});
  ASSERT_TRUE(routed.response);
  EXPECT_EQ(routed.response->status, 400);
}

TEST_F(FleetApiTest, BadParametersAreNamed) {
  ApiResponse r = Get("/v1/fleet/history?usr=alice");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("bad_parameter"));
  EXPECT_THAT(r.body, HasSubstr("usr"));
  r = Get("/v1/fleet/sessions?group=nosuch");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("no group 'nosuch'"));
  r = Get("/v1/fleet/history?cursor=garbage");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("cursor"));
  EXPECT_EQ(Get("/v1/fleet/history?limit=0").status, 400);
  EXPECT_EQ(Get("/v1/fleet/nothing").status, 404);
}

TEST_F(FleetApiTest, HistoryPagesWithTheCursorGiveEveryRowOnce) {
  std::vector<std::string> rows;
  std::string target = "/v1/fleet/history?limit=2";
  for (int page = 0; page < 10; ++page) {
    Json j = Body(Get(target));
    for (auto& s : j["sessions"]) rows.push_back(s["hostname"].get<std::string>() + ":" + s["tty"].get<std::string>());
    if (j["next_cursor"].is_null()) break;
    target = "/v1/fleet/history?limit=2&cursor=" + j["next_cursor"].get<std::string>();
  }
  // Newest login first across the hosts: db1's carol (minute 6, ended), web2's two, web1's two.
  EXPECT_EQ(rows, (std::vector<std::string>{"db1:tty1", "web2:pts/1", "web2:pts/0", "web1:pts/1",
                                            "web1:pts/0"}));
  Json carol = Body(Get("/v1/fleet/history?host=db1"));
  EXPECT_EQ(carol["sessions"][0]["end"], "logout");
  EXPECT_EQ(carol["sessions"][0]["duration_s"], 60);
  Json bob = Body(Get("/v1/fleet/history?user=bob"));
  EXPECT_EQ(bob["sessions"][0]["end"], "still");
  EXPECT_TRUE(bob["sessions"][0]["logout"].is_null());
}

TEST_F(FleetApiTest, LastlogIsTheNewestLoginAnywhere) {
  Json j = Body(Get("/v1/fleet/lastlog?user=alice"));
  ASSERT_EQ(j["lastlog"].size(), 1u);
  EXPECT_EQ(j["lastlog"][0]["hostname"], "web2");  // minute 4, after web1's minute 1
  EXPECT_EQ(j["lastlog"][0]["tty"], "pts/0");
}

TEST_F(FleetApiTest, HostsSayTheirStateAndWhoFollowsThem) {
  ASSERT_TRUE(store_->SetHostState("web1", "down", "connection refused", 1764349200000000));
  Json j = Body(Get("/v1/hosts"));
  ASSERT_EQ(j["hosts"].size(), 3u);
  Json web1;
  for (auto& h : j["hosts"])
    if (h["name"] == "web1") web1 = h;
  EXPECT_EQ(web1["state"], "down");
  EXPECT_EQ(web1["problem"], "connection refused");
  EXPECT_EQ(web1["followed_by"], "me");
  EXPECT_EQ(web1["url"], "https://web1");
  EXPECT_EQ(web1["last_seq"], 3);
  EXPECT_EQ(web1["groups"], Json::array({"web"}));
  EXPECT_TRUE(web1["lag_ms"].is_number_integer());
}

TEST_F(FleetApiTest, TheEventStreamStartsWhereTheClientSays) {
  ApiRequest r;
  r.target = "/v1/fleet/events?from=5";
  r.peer.address = "127.0.0.1";
  auto routed = api_->Route(r, 9, {});
  ASSERT_TRUE(routed.response && routed.response->stream);
  EXPECT_EQ(routed.response->stream->after_seq, 4);
  r.target = "/v1/fleet/events";
  r.headers.emplace_back("Last-Event-ID", "7");
  routed = api_->Route(r, 9, {});
  EXPECT_EQ(routed.response->stream->after_seq, 7);
  // Beyond the newest position: the store was replaced; told, and from now on.
  r.headers.back().second = "20";
  routed = api_->Route(r, 9, {});
  EXPECT_EQ(routed.response->stream->after_seq, 9);
  EXPECT_THAT(routed.response->stream->preface, HasSubstr("event: reset"));
  r.headers.back().second = "x@y";
  routed = api_->Route(r, 9, {});
  EXPECT_EQ(routed.response->status, 400);
  // A frame names its host and the host's seq.
  auto events = store_->EventsAfter(0, 1);
  ASSERT_TRUE(events && !events->empty());
  std::string frame = FleetApi::Frame((*events)[0]);
  EXPECT_THAT(frame, HasSubstr("id: 1\nevent: login\ndata: {\"position\":1,\"hostname\":\"web1\",\"host_seq\":1,"));
}

// ---- utmpsd's configuration ----

TEST(FleetConfig, TheExampleParsesAndErrorsSayWhere) {
  std::ifstream example(std::string(std::getenv("UTMPCD_SOURCE_DIR")) + "/dist/utmpsd.toml");
  std::stringstream text;
  text << example.rdbuf();
  auto c = ParseFleetConfig(text.str(), "utmpsd.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->store_url, "/var/lib/utmpsd/fleet.db");
  EXPECT_EQ(c->lease_s, 10);
  auto bad = ParseFleetConfig("[follow]\nlease_s = 10\nbogus = 1\n", "x.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "x.toml:3:1: unknown key 'bogus' in [follow]");
  bad = ParseFleetConfig("[follow]\nlease_s = 1\n", "x.toml");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("x.toml:2:11: 'lease_s' must be a whole number"));
  bad = ParseFleetConfig("[[host]]\nname = \"a\"\n", "x.toml");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("needs a 'url'"));
  auto hosts = ParseFleetConfig("[[host]]\nurl = \"https://web1.example.org\"\ngroups = [\"web\"]\n", "x.toml");
  ASSERT_TRUE(hosts) << hosts.error().message;
  ASSERT_EQ(hosts->hosts.size(), 1u);
  EXPECT_EQ(hosts->hosts[0].name, "web1.example.org");
  EXPECT_TRUE(hosts->hosts[0].net.tls);
}

TEST(FleetConfig, HostLines) {
  auto h = ParseHostLine("https://10.0.0.1:4310 name=web1 groups=web,prod ca=/x/ca.pem", "hosts:3");
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->name, "web1");
  EXPECT_EQ(h->net.label, "web1");
  EXPECT_EQ(h->net.name, "10.0.0.1");
  EXPECT_EQ(h->net.port, 4310);
  EXPECT_TRUE(h->net.tls);
  ASSERT_TRUE(h->net.tls_files);
  EXPECT_EQ(h->net.tls_files->ca_file, "/x/ca.pem");
  EXPECT_EQ(h->groups, (std::vector<std::string>{"web", "prod"}));
  auto plain = ParseHostLine("@db1", "hosts:1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->name, "db1");
  EXPECT_EQ(plain->net.port, 431);
  EXPECT_FALSE(plain->net.tls);
  auto bad = ParseHostLine("web1 colour=blue", "hosts:7");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "hosts:7: unknown key 'colour' (name, groups, token_file, ca, certificate, key)");
  EXPECT_FALSE(ParseHostLine("web1 name=a/b", "hosts:1"));
}

TEST(FleetConfig, TheHostsFileAndTokensAreRead) {
  char tmpl[] = "/tmp/fleet_cfg.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  fs::path dir = tmpl;
  std::ofstream(dir / "token") << "s3cret\n";
  std::ofstream(dir / "own") << "other\n";
  std::ofstream(dir / "hosts") << "# the fleet\nweb1\n\nweb2 token_file=" << (dir / "own").string() << "  # own\n";
  std::ofstream(dir / "utmpsd.toml") << "[follow]\nhosts_file = \"" << (dir / "hosts").string()
                                     << "\"\ntoken_file = \"" << (dir / "token").string() << "\"\n";
  auto c = LoadFleetConfig((dir / "utmpsd.toml").string(), true);
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->hosts.size(), 2u);
  EXPECT_EQ(c->hosts[0].net.token, "s3cret");
  EXPECT_EQ(c->hosts[1].net.token, "other");
  EXPECT_FALSE(c->instance.empty());
  std::ofstream(dir / "hosts", std::ios::app) << "https://web1/\n";  // named web1 too
  auto twice = LoadFleetConfig((dir / "utmpsd.toml").string(), true);
  ASSERT_FALSE(twice);
  EXPECT_THAT(twice.error().message, HasSubstr("named twice"));
  std::ofstream(dir / "hosts") << "web1 bad\n";
  auto bad = LoadFleetConfig((dir / "utmpsd.toml").string(), true);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr((dir / "hosts").string() + ":1: 'bad'"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace utmpcd
