#include "api/wire_json.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/local_time.h"
#include "core/text.h"
#include "core/timestamp.h"
#include "formats/utmp.h"

namespace utmpcd {

void AppendJsonTime(std::string& o, int64_t time_us) {
  o += '"';
  AppendIso8601(o, CivilFromUnix(SecondsOf(time_us), 0));
  o += '"';
}

void AppendJsonAddr(std::string& o, const std::array<uint8_t, 16>& addr) {
  if (std::all_of(addr.begin(), addr.end(), [](uint8_t b) { return b == 0; })) {
    o += "null";
  } else {
    AppendJsonString(o, AddressText(addr));
  }
}

void AppendJsonNullable(std::string& o, std::string_view text) {
  if (text.empty()) {
    o += "null";
  } else {
    AppendJsonString(o, text);
  }
}

void AppendJsonText(std::string& o, std::string_view name, std::string_view bytes) {
  o += '"';
  o += name;
  o += "\":";
  AppendJsonString(o, bytes);
  if (IsValidUtf8(bytes)) return;
  o += ',';
  AppendJsonHexField(o, name, bytes);
}

void AppendJsonHexField(std::string& o, std::string_view name, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  o += '"';
  o += name;
  o += "_hex\":\"";
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    o += kHex[b >> 4];
    o += kHex[b & 15];
  }
  o += '"';
}

void AppendUserTtyHost(std::string& o, std::string_view user, std::string_view tty,
                       std::string_view host) {
  AppendJsonText(o, "user", user);
  o += ',';
  AppendJsonText(o, "tty", tty);
  o += ',';
  AppendJsonText(o, "host", host);
}

void AppendSessionJson(std::string& o, const SessionJson& s) {
  o += '{';
  AppendUserTtyHost(o, s.user, s.tty, s.host);
  o += ",\"addr\":";
  AppendJsonAddr(o, s.addr);
  o += fmt::format(",\"pid\":{},\"session\":{},\"login\":", s.pid, s.session);
  AppendJsonTime(o, s.login_time_us);
  o += fmt::format(",\"login_time_us\":{},\"idle_s\":", s.login_time_us);
  o += s.idle_s ? std::to_string(*s.idle_s) : "null";
  o += '}';
}

void AppendHostFields(std::string& o, const HostSummary& s, bool with_boot_id) {
  o += "\"hostname\":";
  AppendJsonString(o, s.hostname);
  o += ",\"time\":";
  AppendJsonTime(o, s.now_us);
  o += fmt::format(",\"time_us\":{}", s.now_us);
  if (with_boot_id) {
    o += ",\"boot_id\":";
    AppendJsonNullable(o, s.boot_id);
  }
  o += ",\"boot_time\":";
  AppendJsonTime(o, s.boot_time_us);
  o += fmt::format(
      ",\"boot_time_us\":{},\"uptime_s\":{},\"load\":[{:.2f},{:.2f},{:.2f}],\"users\":{},"
      "\"sessions\":{}",
      s.boot_time_us, s.uptime_s, s.load[0], s.load[1], s.load[2], s.users, s.sessions);
}

void AppendEventJson(std::string& o, const Event& e) {
  o += fmt::format("{{\"seq\":{},\"kind\":\"{}\",\"time\":", e.seq, EventKindName(e.kind));
  AppendJsonTime(o, e.time_us);
  o += fmt::format(",\"time_us\":{},", e.time_us);
  AppendUserTtyHost(o, e.user, e.tty, e.remote_host);
  o += ",\"addr\":";
  AppendJsonAddr(o, e.remote_addr);
  o += fmt::format(",\"pid\":{},\"session\":{},\"source\":\"{}\",\"boot_id\":", e.pid, e.session,
                   EventSourceName(e.source));
  AppendJsonNullable(o, e.boot_id);
  o += '}';
}

void AppendFailedJson(std::string& o, int64_t seq, std::string_view user, std::string_view tty,
                      std::string_view host, const std::array<uint8_t, 16>& addr, int64_t pid,
                      int64_t time_us) {
  o += fmt::format("{{\"seq\":{},", seq);
  AppendUserTtyHost(o, user, tty, host);
  o += ",\"addr\":";
  AppendJsonAddr(o, addr);
  o += fmt::format(",\"pid\":{},\"time\":", pid);
  AppendJsonTime(o, time_us);
  o += fmt::format(",\"time_us\":{}}}", time_us);
}

void AppendLastlogJson(std::string& o, std::string_view user, int64_t uid, std::string_view tty,
                       std::string_view host, std::optional<int64_t> time_us) {
  o += '{';
  AppendJsonText(o, "user", user);
  o += fmt::format(",\"uid\":{},", uid);
  if (!time_us) {
    o += "\"tty\":null,\"host\":null,\"time\":null,\"time_us\":null}";
    return;
  }
  AppendJsonText(o, "tty", tty);
  o += ',';
  AppendJsonText(o, "host", host);
  o += ",\"time\":";
  AppendJsonTime(o, *time_us);
  o += fmt::format(",\"time_us\":{}}}", *time_us);
}

}  // namespace utmpcd
