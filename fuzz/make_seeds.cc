// Writes the seed corpus of every fuzz target into <dir>/<target>/: real-looking records as
// sshd, login, systemd and shutdown write them, a few damaged ones, and hostile text. Seeds are
// small (a few KB a target) so ctest replays them in milliseconds.
// Usage: fuzz_make_seeds <corpus dir>
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "api/udp_wire.h"
#include "api/whod.h"
#include "core/login_record.h"
#include "formats/lastlog.h"
#include "formats/utmp.h"

namespace utmpcd {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000;  // 2023-11-14T22:13:20Z

void Write(const fs::path& dir, const std::string& name, std::string_view bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(),
                                                    static_cast<std::streamsize>(bytes.size()));
}

LoginRecord Rec(int16_t type, int32_t pid, std::string_view line, std::string_view id,
                std::string_view user, std::string_view host, int64_t t) {
  LoginRecord r;
  r.type = type;
  r.pid = pid;
  r.line = line;
  r.id = id;
  r.user = user;
  r.host = host;
  r.time_s = t;
  r.time_usec = static_cast<int32_t>(t % 1000000);
  return r;
}

LoginRecord WithAddr(LoginRecord r, const char* addr) {
  if (inet_pton(AF_INET, addr, r.addr.data()) != 1) inet_pton(AF_INET6, addr, r.addr.data());
  return r;
}

// How a host's wtmp looks: boots, ssh and console sessions, a crash, a clean shutdown.
std::vector<LoginRecord> History() {
  return {
      Rec(kBootTime, 0, "~", "~~", "reboot", "6.1.0-13-amd64", kT0),
      Rec(kRunLevel, 53, "~", "~~", "runlevel", "6.1.0-13-amd64", kT0 + 5),
      Rec(kLoginProcess, 601, "tty1", "tty1", "LOGIN", "", kT0 + 6),
      WithAddr(Rec(kUserProcess, 1201, "pts/0", "ts/0", "alice", "10.0.0.7", kT0 + 60),
               "10.0.0.7"),
      Rec(kUserProcess, 602, "tty1", "tty1", "root", "", kT0 + 90),
      WithAddr(Rec(kUserProcess, 1302, "pts/1", "ts/1", "bob", "2001:db8::42", kT0 + 120),
               "2001:db8::42"),
      Rec(kDeadProcess, 1201, "pts/0", "ts/0", "", "", kT0 + 3720),
      Rec(kBootTime, 0, "~", "~~", "reboot", "6.1.0-13-amd64", kT0 + 90000),
      WithAddr(Rec(kUserProcess, 2203, "pts/0", "ts/0", "alice", "laptop.example.org",
                   kT0 + 90100),
               "192.168.1.20"),
      Rec(kDeadProcess, 2203, "pts/0", "ts/0", "", "", kT0 + 93000),
      Rec(kNewTime, 0, "{", "", "", "", kT0 + 93100),
      Rec(kOldTime, 0, "|", "", "", "", kT0 + 93000),
      Rec(kUserProcess, 2305, "pts/2", "ts/2", "carol", "", kT0 + 94000),
      Rec(kRunLevel, 0, "~", "~~", "shutdown", "6.1.0-13-amd64", kT0 + 95000),
      Rec(kBootTime, 0, "~", "~~", "reboot", "6.1.0-13-amd64", kT0 + 96000),
      Rec(kUserProcess, 2400, "pts/0", "ts/0", "root", "", kT0 + 96100),
  };
}

std::string Encode(const std::vector<LoginRecord>& records, UtmpLayout layout) {
  std::string out;
  for (const LoginRecord& r : records) EncodeUtmp(r, layout, &out);
  return out;
}

void UtmpDecodeSeeds(const fs::path& dir) {
  const std::string full_host(kHostSize, 'h');
  const std::string full_user(kUserSize, 'u');
  std::vector<std::pair<std::string, LoginRecord>> seeds = {
      {"boot", History()[0]},
      {"login_v4", History()[3]},
      {"login_v6", History()[5]},
      {"logout", History()[6]},
      {"shutdown", History()[13]},
      {"full_fields", Rec(kUserProcess, 7, "0123456789abcdef0123456789abcdef", "abcd", full_user,
                          full_host, 4294967295)},
      {"escapes", Rec(kUserProcess, 8, "pts/\x1b[2J", "x", "ev\x1b]0;il\a", "\xc3\x28\xe2\x80\xae",
                      kT0)},
  };
  for (const auto& [name, r] : seeds) {
    Write(dir, name + "_384", Encode({r}, UtmpLayout::kGlibc384));
    Write(dir, name + "_400", Encode({r}, UtmpLayout::kWide400));
  }
  std::string garbled = Encode({History()[3]}, UtmpLayout::kGlibc384);
  garbled[0] = 42;  // no such ut_type
  Write(dir, "bad_type_384", garbled);
  Write(dir, "truncated_383", garbled.substr(0, 383));
}

void UtmpListingSeeds(const fs::path& dir) {
  std::vector<LoginRecord> history = History();
  Write(dir, "wtmp_384", Encode(history, UtmpLayout::kGlibc384));
  Write(dir, "wtmp_400", Encode({history.begin(), history.begin() + 8}, UtmpLayout::kWide400));
  std::vector<LoginRecord> failed = {
      WithAddr(Rec(kLoginProcess, 3001, "ssh:notty", "", "admin", "203.0.113.9", kT0), "203.0.113.9"),
      WithAddr(Rec(kLoginProcess, 3002, "ssh:notty", "", "root", "203.0.113.9", kT0 + 2),
               "203.0.113.9"),
      Rec(kLoginProcess, 3003, "tty2", "tty2", "UNKNOWN", "", kT0 + 50),
  };
  Write(dir, "btmp_384", Encode(failed, UtmpLayout::kGlibc384));
  // Damage as a reader meets it: a garbled record in the middle, hostile text, a torn tail.
  std::vector<LoginRecord> hostile = {
      history[0],
      Rec(kUserProcess, 77, "pts/\x1b[31m", "ts/3", "\x1b]0;pwned\a\r", "evil\xe2\x80\xae.com\n",
          kT0 + 10),
      history[6],
  };
  std::string damaged = Encode(hostile, UtmpLayout::kGlibc384);
  damaged[384] = 99;
  damaged += Encode({history[3]}, UtmpLayout::kGlibc384);
  damaged += damaged.substr(0, 100);
  Write(dir, "wtmp_damaged", damaged);
  Write(dir, "empty", "");
}

void LastlogSeeds(const fs::path& dir) {
  std::string out;
  EncodeLastlog({0, kT0, "pts/0", "10.0.0.7"}, &out);
  Write(dir, "root", out);
  out.clear();
  EncodeLastlog({}, &out);
  Write(dir, "never", out);
  out.clear();
  EncodeLastlog({1000, 4294967295, std::string(40, 'l'), std::string(300, 'h')}, &out);
  Write(dir, "full_fields", out);
  Write(dir, "short", out.substr(0, 100));
}

void TextSeeds(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"ascii", "alice pts/0 10.0.0.7"},
      {"utf8", "j\xc3\xbcrgen \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"},
      {"escapes", "\x1b[2J\x1b]0;title\a\r\n\t\x7f\b"},
      {"c1_bidi", "\xc2\x9b" "31m \xe2\x80\xae" "evil \xe2\x81\xa6 \xd8\x9c"},
      {"invalid", "\xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c\xbc \xff\xfe"},
      {"overlong_surrogate", "\xc0\xaf \xe0\x80\xaf \xed\xa0\x80 \xf4\x90\x80\x80"},
      {"json", "\"quoted\" back\\slash \x01\x1f"},
  };
  for (const auto& [name, text] : seeds) Write(dir, name, text);
}

void TimestampSeeds(const fs::path& dir) {
  const std::vector<std::string> seeds = {
      "now", "today", "yesterday", "tomorrow", "2024-01-02", "2024-01-02 03:04",
      "2024-01-02 03:04:05", "03:04", "03:04:05", "@1700000000", "-2d", "+5min", "-1h 30min",
      "1 week ago", "-3months", "+1y 2w 3d 4h 5m 6s", "20240102030405", "2024-13-45 25:61"};
  int i = 0;
  for (const std::string& text : seeds) Write(dir, "seed" + std::to_string(i++), text);
}

// Port 431's datagrams: each request at its smallest and padded, the replies a daemon sends
// (a summary, a page of sessions that is cut, too small, ping), and near misses.
void UdpWireSeeds(const fs::path& dir) {
  Write(dir, "ping_16", EncodeUdpRequest({UdpOp::kPing, 1, 0}, 16));
  Write(dir, "summary_256", EncodeUdpRequest({UdpOp::kSummary, 2, 0}, 256));
  Write(dir, "sessions_offset_1200", EncodeUdpRequest({UdpOp::kSessions, 3, 7}, 1200));
  std::string padding_set = EncodeUdpRequest({UdpOp::kPing, 4, 0}, 40);
  padding_set[39] = 1;
  Write(dir, "bad_padding", padding_set);
  Write(dir, "truncated_header", EncodeUdpRequest({UdpOp::kPing, 5, 0}, 16).substr(0, 11));
  UdpReply summary;
  summary.op = UdpOp::kSummary;
  summary.request_id = 2;
  summary.summary.hostname = "web1";
  summary.summary.boot_id = "0f5b8a2e-9c1d-4e7f-a3b6-2d4c8e1f0a9b";
  summary.summary.now_us = kT0 * 1000000;
  summary.summary.boot_time_us = (kT0 - 731045) * 1000000;
  summary.summary.uptime_s = 731045;
  summary.summary.load = {0.12, 0.08, 0.02};
  summary.summary.users = 3;
  summary.summary.sessions = 5;
  summary.summary.last_seq = 120394;
  Write(dir, "reply_summary", EncodeUdpReply(summary));
  UdpReply sessions;
  sessions.op = UdpOp::kSessions;
  sessions.request_id = 3;
  sessions.total = 5;
  sessions.offset = 1;
  sessions.truncated = true;
  sessions.sessions = {{kT0 * 1000000, "alice", "pts/0", "192.0.2.7"},
                       {kT0 * 1000000 + 1, "bob\x1b[31m", "tty1", ""}};
  Write(dir, "reply_sessions_truncated", EncodeUdpReply(sessions));
  UdpReply too_small;
  too_small.op = UdpOp::kSummary;
  too_small.request_id = 9;
  too_small.status = UdpStatus::kTooSmall;
  too_small.needed_bytes = 180;
  Write(dir, "reply_too_small", EncodeUdpReply(too_small));
  UdpReply pong;
  pong.request_id = 1;
  Write(dir, "reply_ping", EncodeUdpReply(pong));
}

// rwhod's packets: a host with users (one idle, one logged in before 2038 and read after it),
// an empty host, and damaged ones (cut, a bad name, an unterminated name, 43 entries' worth).
void WhodSeeds(const fs::path& dir) {
  auto bytes = [](const std::vector<uint8_t>& v) {
    return std::string_view(reinterpret_cast<const char*>(v.data()), v.size());
  };
  WhodStatus s;
  s.send_s = kT0;
  s.hostname = "oldbox";
  s.load100 = {12, 8, 2};
  s.boot_s = kT0 - 731045;
  s.entries = {{"pts/0", "alice", kT0 - 600, 0}, {"tty1", "bob", kT0 - 90000, 7200}};
  std::vector<uint8_t> users = EncodeWhod(s);
  Write(dir, "users", bytes(users));
  WhodStatus after2038 = s;
  after2038.send_s = 2147483647LL + 3600;
  after2038.entries = {{"pts/1", "carol", 2147483647LL - 60, 5}};
  Write(dir, "after_2038", bytes(EncodeWhod(after2038)));
  WhodStatus empty = s;
  empty.entries.clear();
  Write(dir, "no_users", bytes(EncodeWhod(empty)));
  Write(dir, "cut_entry", bytes(users).substr(0, users.size() - 5));
  std::vector<uint8_t> slash = users;
  slash[12] = '/';
  Write(dir, "slash_in_name", bytes(slash));
  std::vector<uint8_t> unterminated = users;
  for (size_t i = 12; i < 44; ++i) unterminated[i] = 'a';
  Write(dir, "unterminated_name", bytes(unterminated));
  std::vector<uint8_t> escape = users;
  escape[kWhodHeaderSize + 8] = 0x1b;
  Write(dir, "escape_in_user", bytes(escape));
  std::vector<uint8_t> big = EncodeWhod(empty);
  big.resize(kWhodHeaderSize + 43 * kWhodEntrySize, 'x');
  Write(dir, "43_entries", bytes(big));
}

}  // namespace
}  // namespace utmpcd

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = argv[1];
  utmpcd::UtmpDecodeSeeds(dir / "fuzz_utmp_decode");
  utmpcd::UtmpListingSeeds(dir / "fuzz_utmp_listing");
  utmpcd::LastlogSeeds(dir / "fuzz_lastlog_decode");
  utmpcd::TextSeeds(dir / "fuzz_text");
  utmpcd::TimestampSeeds(dir / "fuzz_timestamp");
  utmpcd::UdpWireSeeds(dir / "fuzz_udp_wire");
  utmpcd::WhodSeeds(dir / "fuzz_whod");
  return 0;
}
