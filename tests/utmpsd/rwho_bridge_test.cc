// utmpsd's rwho bridge without sockets: rwhod's packet decoded from bytes written out by hand
// (strict lengths, names, times across 2038 and 2106), the spool file rwho and ruptime read,
// the events packets become in a real fleet store (a SQLite file), and the [rwho] settings.
#include "utmpsd/rwho_bridge.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "api/whod.h"
#include "store/fleet_store.h"
#include "utmpsd/config.h"

namespace utmpcd {
namespace {

using ::testing::HasSubstr;
constexpr int64_t kNow = 1764349201;  // 2025-11-28T17:00:01Z

void Be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<uint8_t>(v >> shift));
}
void Field(std::vector<uint8_t>& out, const std::string& text, size_t size) {
  for (size_t i = 0; i < size; ++i) out.push_back(i < text.size() ? static_cast<uint8_t>(text[i]) : 0);
}

// A packet as rwhod writes it, field by field.
std::vector<uint8_t> Packet(const std::string& host, uint32_t send, uint32_t boot,
                            const std::vector<std::tuple<std::string, std::string, uint32_t, uint32_t>>& entries) {
  std::vector<uint8_t> p = {1, 1, 0, 0};
  Be32(p, send);
  Be32(p, 0);
  Field(p, host, 32);
  for (uint32_t l : {12u, 8u, 2u}) Be32(p, l);
  Be32(p, boot);
  for (const auto& [tty, user, login, idle] : entries) {
    Field(p, tty, 8);
    Field(p, user, 8);
    Be32(p, login);
    Be32(p, idle);
  }
  return p;
}

TEST(Whod, DecodesWhatRwhodSends) {
  auto p = Packet("oldbox", kNow, kNow - 3600, {{"pts/0", "alice", kNow - 600, 0}, {"tty1", "rootuser", kNow - 60, 4000}});
  ASSERT_EQ(p.size(), 60u + 2 * 24u);
  auto s = DecodeWhod(p, kNow + 2);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->hostname, "oldbox");
  EXPECT_EQ(s->send_s, kNow);
  EXPECT_EQ(s->recv_s, kNow + 2);
  EXPECT_EQ(s->boot_s, kNow - 3600);
  EXPECT_EQ(s->load100, (std::array<int32_t, 3>{12, 8, 2}));
  ASSERT_EQ(s->entries.size(), 2u);
  EXPECT_EQ(s->entries[0].tty, "pts/0");
  EXPECT_EQ(s->entries[0].user, "alice");
  EXPECT_EQ(s->entries[0].login_s, kNow - 600);
  EXPECT_EQ(s->entries[1].user, "rootuser");  // all 8 bytes, no NUL
  EXPECT_EQ(s->entries[1].idle_s, 4000);
  // What EncodeWhod makes is what rwhod sends.
  EXPECT_EQ(EncodeWhod(*s), p);
}

TEST(Whod, RefusesWhatRwhodWouldNotSend) {
  auto good = Packet("oldbox", kNow, kNow, {{"pts/0", "alice", kNow, 0}});
  auto refused = [&](std::vector<uint8_t> p, const std::string& why) {
    auto s = DecodeWhod(p, kNow);
    ASSERT_FALSE(s) << why;
    EXPECT_EQ(s.error().code, ErrorCode::kCorrupt);
    EXPECT_THAT(s.error().message, HasSubstr(why));
  };
  refused(std::vector<uint8_t>(good.begin(), good.begin() + 59), "shorter than the 60-byte header");
  refused(std::vector<uint8_t>(good.begin(), good.end() - 1), "83 bytes: not the header and whole");
  auto big = Packet("oldbox", kNow, kNow, {});
  big.resize(60 + 43 * 24, 'a');
  refused(big, "1092 bytes: not the header and whole entries (24 bytes, at most 42)");
  auto p = good;
  p[0] = 2;
  refused(p, "version 2");
  p = good;
  p[1] = 0;
  refused(p, "type 0");
  refused(Packet("../etc", kNow, kNow, {}), "a byte other than");
  refused(Packet("", kNow, kNow, {}), "empty host name");
  refused(Packet("..", kNow, kNow, {}), "dots");
  p = good;
  for (size_t i = 12; i < 44; ++i) p[i] = 'a';
  refused(p, "without its terminating NUL");
  refused(Packet("oldbox", kNow, kNow, {{"pts/0", "", kNow, 0}}), "entry 1: no user");
  // 42 entries is the most and is fine; a header alone is a host nobody is on.
  std::vector<std::tuple<std::string, std::string, uint32_t, uint32_t>> many(42, {"pts/1", "bob", kNow, 0});
  auto full = DecodeWhod(Packet("oldbox", kNow, kNow, many), kNow);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->entries.size(), 42u);
  EXPECT_TRUE(DecodeWhod(Packet("oldbox", kNow, kNow, {}), kNow));
  // A byte no terminal should get (an escape, a space, UTF-8) is read as '?': one odd name
  // does not cost the host its packet.
  auto odd = DecodeWhod(Packet("oldbox", kNow, kNow, {{"pts/0", "ev\x1bil", kNow, 0}, {"tty1", "j\xc3\xb6rg", kNow, 0}}), kNow);
  ASSERT_TRUE(odd) << odd.error().message;
  EXPECT_EQ(odd->entries[0].user, "ev?il");
  EXPECT_EQ(odd->entries[1].user, "j??rg");
}

TEST(Whod, TimesCrossing2038And2106) {
  // A signed 32-bit time is negative after 2038-01-19T03:14:07Z; rwhod sends it all the same.
  const int64_t after_2038 = 2147483647LL + 86400;
  EXPECT_EQ(UnwrapTime32(static_cast<uint32_t>(after_2038), after_2038 + 5), after_2038);
  auto p = Packet("oldbox", static_cast<uint32_t>(after_2038), static_cast<uint32_t>(2147483647LL - 100),
                  {{"pts/0", "alice", static_cast<uint32_t>(2147483647LL - 50), 0}});
  auto s = DecodeWhod(p, after_2038 + 1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->send_s, after_2038);
  EXPECT_EQ(s->boot_s, 2147483647LL - 100);  // before 2038: not pushed 136 years on
  EXPECT_EQ(s->entries[0].login_s, 2147483647LL - 50);
  // After 2106 an unsigned 32-bit time wraps too.
  const int64_t after_2106 = (int64_t{1} << 32) + 1000;
  EXPECT_EQ(UnwrapTime32(1000, after_2106), after_2106);
  EXPECT_EQ(UnwrapTime32(static_cast<uint32_t>(-500), after_2106), (int64_t{1} << 32) - 500);
  EXPECT_EQ(UnwrapTime32(static_cast<uint32_t>(kNow), kNow), kNow);
}

TEST(Whod, SpoolFileIsRwhodsInThisMachinesByteOrder) {
  WhodStatus s;
  s.hostname = "oldbox";
  s.send_s = kNow;
  s.recv_s = kNow + 1;
  s.boot_s = kNow - 100;
  s.load100 = {150, 100, 50};
  s.entries = {{"pts/0", "alice", kNow - 10, 61}};
  auto file = EncodeWhodSpool(s);
  ASSERT_EQ(file.size(), 84u);
  auto at = [&](size_t offset) {
    int32_t v;
    std::memcpy(&v, &file[offset], 4);
    return v;
  };
  EXPECT_EQ(file[0], 1);
  EXPECT_EQ(file[1], 1);
  EXPECT_EQ(at(4), kNow);
  EXPECT_EQ(at(8), kNow + 1);
  EXPECT_STREQ(reinterpret_cast<const char*>(&file[12]), "oldbox");
  EXPECT_EQ(at(44), 150);
  EXPECT_EQ(at(56), kNow - 100);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&file[60]), 5), "pts/0");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&file[68]), 5), "alice");
  EXPECT_EQ(at(76), kNow - 10);
  EXPECT_EQ(at(80), 61);
}

class RwhoStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rwho_bridge.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = FleetStore::Open(dir_ + "/fleet.db");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // What utmpsd does with a packet: the events against what is open, stored. The events
  // stored are read back (the newest first) to be returned.
  std::vector<Event> Take(const WhodStatus& s) {
    auto stored = StoreRwhoStatus(*store_, s, 0, row_);
    EXPECT_TRUE(stored) << stored.error().message;
    EXPECT_EQ(stored->skipped, 0);
    auto events = store_->EventsAfter(position_, 1000);
    EXPECT_TRUE(events);
    std::vector<Event> out;
    for (const auto& p : *events) {
      out.push_back(p.event.event);
      position_ = p.position;
    }
    EXPECT_EQ(static_cast<int64_t>(out.size()), stored->stored);
    return out;
  }
  std::vector<FleetSession> Sessions(std::string_view end = "") {
    FleetFilter all;
    auto h = store_->History(all);
    EXPECT_TRUE(h);
    std::vector<FleetSession> out;
    for (const FleetSession& s : *h)
      if (!s.boot && s.end == end) out.push_back(s);
    return out;
  }

  std::string dir_;
  std::unique_ptr<FleetStore> store_;
  std::optional<RwhoRow> row_;  // as utmpsd keeps it between packets
  int64_t position_ = 0;
};

WhodStatus Status(int64_t send, int64_t boot, std::vector<WhodEntry> entries) {
  WhodStatus s;
  s.hostname = "oldbox";
  s.send_s = send;
  s.recv_s = send;
  s.boot_s = boot;
  s.entries = std::move(entries);
  return s;
}

TEST_F(RwhoStoreTest, PacketsBecomeSessionsThatOpenAndEnd) {
  const int64_t boot = kNow - 86400;
  // The first packet: the boot, and a login each.
  auto first = Take(Status(kNow, boot, {{"pts/0", "alice", kNow - 600, 0}, {"tty1", "bob", kNow - 900, 30}}));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].kind, EventKind::kBoot);
  EXPECT_EQ(first[0].time_us, boot * 1000000);
  EXPECT_EQ(first[1].user, "bob");  // by login time
  EXPECT_EQ(first[1].seq, 2);
  EXPECT_EQ(first[2].source, EventSource::kRwhod);
  EXPECT_EQ(Sessions().size(), 2u);
  auto boots = store_->OpenBoots();
  ASSERT_TRUE(boots);
  ASSERT_EQ(boots->size(), 1u);
  EXPECT_EQ((*boots)[0].login_us, boot * 1000000);
  // The same packet three minutes on: nothing new, nothing stored twice.
  EXPECT_TRUE(Take(Status(kNow + 180, boot, {{"pts/0", "alice", kNow - 600, 0}, {"tty1", "bob", kNow - 900, 30}})).empty());
  // bob left, carol came: bob's session ends at the packet's send time.
  auto next = Take(Status(kNow + 360, boot, {{"pts/0", "alice", kNow - 600, 0}, {"pts/1", "carol", kNow + 300, 0}}));
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].kind, EventKind::kLogout);
  EXPECT_EQ(next[0].tty, "tty1");
  EXPECT_EQ(next[1].user, "carol");
  auto ended = Sessions("logout");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].user, "bob");
  EXPECT_EQ(ended[0].end_us, (kNow + 360) * 1000000);
  EXPECT_EQ(Sessions().size(), 2u);
  // A reboot: the sessions of before end as crashed; the new boot's sessions open.
  auto rebooted = Take(Status(kNow + 7200, kNow + 7000, {{"tty1", "alice", kNow + 7100, 0}}));
  ASSERT_EQ(rebooted.size(), 2u);
  EXPECT_EQ(rebooted[0].kind, EventKind::kBoot);
  EXPECT_EQ(Sessions("crash").size(), 2u);
  ASSERT_EQ(Sessions().size(), 1u);
  EXPECT_EQ(Sessions()[0].login_us, (kNow + 7100) * 1000000);
}

TEST_F(RwhoStoreTest, ARestartGoesOnFromWhatIsStored) {
  const int64_t boot = kNow - 86400;
  ASSERT_EQ(Take(Status(kNow, boot, {{"pts/0", "alice", kNow - 600, 0}, {"tty1", "bob", kNow - 900, 0}})).size(), 3u);
  // utmpsd restarted: what it kept of the host is gone, read again from the store's row (a
  // row no instance follows, yet listed).
  row_.reset();
  auto hosts = store_->Hosts();
  ASSERT_TRUE(hosts);
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].host, "oldbox");
  EXPECT_EQ((*hosts)[0].history, "rwhod");
  EXPECT_EQ((*hosts)[0].last_seq, 3);
  // The same packet: nothing again (no second boot); bob gone: his logout is stored, not
  // taken for one stored already.
  EXPECT_TRUE(Take(Status(kNow + 180, boot, {{"pts/0", "alice", kNow - 600, 0}, {"tty1", "bob", kNow - 900, 0}})).empty());
  row_.reset();
  auto next = Take(Status(kNow + 360, boot, {{"pts/0", "alice", kNow - 600, 0}}));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].kind, EventKind::kLogout);
  EXPECT_EQ(next[0].user, "bob");
  EXPECT_EQ(Sessions("logout").size(), 1u);
  // Its row is not among the hosts the instances share out.
  auto claimed = store_->Claim("i1", 10000, std::vector<std::string>{"oldbox"});
  ASSERT_TRUE(claimed);
  EXPECT_TRUE(claimed->empty());
}

TEST_F(RwhoStoreTest, AFullPacketEndsNothing) {
  std::vector<WhodEntry> many;
  for (int i = 0; i < 41; ++i) many.push_back({"pts/" + std::to_string(i), "u" + std::to_string(i), kNow - i, 0});
  ASSERT_EQ(Take(Status(kNow, kNow - 1000, many)).size(), 42u);
  // 41 other sessions: the first 41 may still be on (rwhod sends no more than 41).
  std::vector<WhodEntry> others;
  for (int i = 0; i < 41; ++i) others.push_back({"tty" + std::to_string(i), "v" + std::to_string(i), kNow + i, 0});
  auto events = Take(Status(kNow + 180, kNow - 1000, others));
  EXPECT_EQ(events.size(), 41u);
  for (const Event& e : events) EXPECT_EQ(e.kind, EventKind::kLogin);
  EXPECT_EQ(Sessions().size(), 82u);
  // One fewer than full: what it does not list has ended.
  others.pop_back();
  events = Take(Status(kNow + 360, kNow - 1000, others));
  EXPECT_EQ(events.size(), 42u);  // the 41 of the first packet and the one left out
  for (const Event& e : events) EXPECT_EQ(e.kind, EventKind::kLogout);
}

TEST_F(RwhoStoreTest, OneSessionATty) {
  // A stale utmp entry on bob's tty beside his: the newest login is the session, once.
  std::vector<WhodEntry> both = {{"pts/1", "ghost", kNow - 5000, 0}, {"pts/1", "bob", kNow - 60, 0}};
  auto first = Take(Status(kNow, kNow - 9000, both));
  ASSERT_EQ(first.size(), 2u);  // the boot, bob
  EXPECT_EQ(first[1].user, "bob");
  for (int i = 1; i <= 3; ++i) EXPECT_TRUE(Take(Status(kNow + 180 * i, kNow - 9000, both)).empty());
  ASSERT_EQ(Sessions().size(), 1u);
  // bob leaves; the stale entry stays: bob's session ends at this packet (never before his
  // login, though the entry left on his tty is older), and the entry is what is on there now.
  auto left = Take(Status(kNow + 900, kNow - 9000, {{"pts/1", "ghost", kNow - 5000, 0}}));
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].kind, EventKind::kLogout);
  EXPECT_EQ(left[0].user, "bob");
  EXPECT_EQ(left[0].time_us, (kNow + 900) * 1000000);
  EXPECT_EQ(left[1].user, "ghost");
  auto ended = Sessions("logout");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].user, "bob");
  EXPECT_GE(*ended[0].end_us, ended[0].login_us);
  EXPECT_TRUE(Take(Status(kNow + 1080, kNow - 9000, {{"pts/1", "ghost", kNow - 5000, 0}})).empty());
  // Another user on that tty: the one before ends as hers opens.
  auto next = Take(Status(kNow + 1260, kNow - 9000, {{"pts/1", "carol", kNow + 1200, 0}}));
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].user, "ghost");
  EXPECT_EQ(next[1].user, "carol");
  ASSERT_EQ(Sessions().size(), 1u);
  EXPECT_EQ(Sessions()[0].user, "carol");
}

TEST_F(RwhoStoreTest, RetiredWhenFollowedUnderALongerName) {
  ASSERT_EQ(Take(Status(kNow, kNow - 9000, {{"pts/0", "alice", kNow - 60, 0}})).size(), 2u);
  EXPECT_TRUE(RwhoNameFollowed("oldbox", RwhoReservedNames({"OldBox.example.org"})));
  EXPECT_TRUE(RwhoNameFollowed("OLDBOX", RwhoReservedNames({"oldbox"})));
  EXPECT_FALSE(RwhoNameFollowed("oldbox", RwhoReservedNames({"oldbox2.example.org", "example.org"})));
  auto retired = RetireRwhoHost(*store_, "oldbox", (kNow + 60) * 1000000, row_);
  ASSERT_TRUE(retired) << retired.error().message;
  EXPECT_EQ(retired->stored, 1);
  EXPECT_TRUE(Sessions().empty());
  ASSERT_EQ(Sessions("down").size(), 1u);
  // Nothing open: nothing stored again.
  auto again = RetireRwhoHost(*store_, "oldbox", (kNow + 120) * 1000000, row_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->stored, 0);
}

TEST_F(RwhoStoreTest, BootTimeJitterIsNoReboot) {
  const int64_t boot = kNow - 86400;
  ASSERT_EQ(Take(Status(kNow, boot, {{"pts/0", "alice", kNow - 60, 0}})).size(), 2u);
  // rwhod's boot time is now minus uptime: a second off, or a clock step of a minute.
  EXPECT_TRUE(Take(Status(kNow + 180, boot + 1, {{"pts/0", "alice", kNow - 60, 0}})).empty());
  EXPECT_TRUE(Take(Status(kNow + 360, boot - 70, {{"pts/0", "alice", kNow - 60, 0}})).empty());
  EXPECT_EQ(Sessions("crash").size(), 0u);
  // A boot after the last packet is a reboot, even after a restart of utmpsd.
  row_.reset();
  auto rebooted = Take(Status(kNow + 900, kNow + 700, {}));
  ASSERT_EQ(rebooted.size(), 1u);
  EXPECT_EQ(rebooted[0].kind, EventKind::kBoot);
  EXPECT_EQ(Sessions("crash").size(), 1u);
}

TEST_F(RwhoStoreTest, ALogoutIsNeverBeforeItsLogin) {
  // The host's clock went back: the session ends when it began, not before.
  ASSERT_EQ(Take(Status(kNow, kNow - 9000, {{"pts/0", "alice", kNow - 10, 0}})).size(), 2u);
  auto next = Take(Status(kNow - 3600, kNow - 9000, {}));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].time_us, (kNow - 10) * 1000000);
}

TEST(RwhoSpool, FollowedHostAsRuptimeReadsIt) {
  std::vector<FleetSession> open(3);
  open[0].hostname = open[1].hostname = open[2].hostname = "web1";
  open[0].boot = true;
  open[0].login_us = (kNow - 5000) * 1000000;
  open[1].user = "alice";
  open[1].tty = "pts/0";
  open[1].login_us = (kNow - 60) * 1000000;
  open[2].user = "bob\x1b[2Jverylongname";
  open[2].tty = "pts/1";
  open[2].login_us = (kNow - 120) * 1000000;
  WhodStatus s = SpoolStatus("web1", open, kNow, kNow - 30);
  EXPECT_EQ(s.hostname, "web1");
  EXPECT_EQ(s.boot_s, kNow - 5000);
  EXPECT_EQ(s.recv_s, kNow - 30);
  ASSERT_EQ(s.entries.size(), 2u);
  EXPECT_EQ(s.entries[0].user, "bob?[2Jv");  // oldest first; no escape reaches rwho
  EXPECT_EQ(s.entries[1].user, "alice");
  // No open boot: a boot after now, which ruptime prints as "up ??:??".
  WhodStatus unknown = SpoolStatus("web2", {}, kNow, kNow);
  EXPECT_GT(unknown.boot_s, unknown.send_s);
  EXPECT_TRUE(SpoolName("web1.example.org"));
  EXPECT_FALSE(SpoolName("../x"));
  EXPECT_FALSE(SpoolName(".."));
  EXPECT_FALSE(SpoolName(std::string(32, 'a')));
}

TEST(RwhoConfig, ListenNeedsNetworks) {
  auto c = ParseFleetConfig(
      "[rwho]\nlisten = [\"0.0.0.0\", \"[::]:513\"]\nnetworks = [\"192.0.2.0/24\"]\n"
      "spool = \"/var/spool/rwho\"\nmax_hosts = 50\n",
      "x.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->rwho_listen.size(), 2u);
  EXPECT_EQ(c->rwho_networks, std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_EQ(c->rwho_spool, "/var/spool/rwho");
  EXPECT_EQ(c->rwho_max_hosts, 50);
  auto bad = ParseFleetConfig("[rwho]\nlisten = [\"0.0.0.0:513\"]\n", "x.toml");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("[rwho] listen needs networks"));
  bad = ParseFleetConfig("[rwho]\nlisten = [\"lan0:513\"]\nnetworks = [\"10.0.0.0/8\"]\n", "x.toml");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("not a numeric IPv4"));
  bad = ParseFleetConfig("[rwho]\nnetworks = [\"10.0.0.0/33\"]\n", "x.toml");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("[rwho] networks '10.0.0.0/33'"));
  // Off by default.
  auto none = ParseFleetConfig("", "x.toml");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->rwho_listen.empty());
  EXPECT_TRUE(none->rwho_spool.empty());
}

}  // namespace
}  // namespace utmpcd
