#include "utmpc/local_json.h"

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include <fmt/format.h>

#include "core/local_time.h"
#include "core/text.h"
#include "formats/utmp.h"
#include "sources/host_state.h"

namespace utmpcd {
namespace {

void AppendUtc(std::string& o, int64_t time_us) {
  int64_t s = time_us / 1000000 - (time_us % 1000000 < 0 ? 1 : 0);
  o += '"';
  AppendIso8601(o, CivilFromUnix(s, 0));
  o += '"';
}

}  // namespace

std::optional<int64_t> TerminalIdleS(std::string_view tty, int64_t now_s) {
  if (tty.empty()) return std::nullopt;
  std::string path = tty.starts_with('/') ? std::string(tty) : "/dev/" + std::string(tty);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return now_s - st.st_atime;
}

std::optional<std::string> AddrOf(const std::array<uint8_t, 16>& addr) {
  for (uint8_t b : addr) {
    if (b != 0) return AddressText(addr);
  }
  return std::nullopt;
}

SessionJson SessionOfRecord(const LoginRecord& r, int64_t now_s) {
  return SessionJson{.user = r.user,
                     .tty = r.line,
                     .host = r.host,
                     .addr = AddrOf(r.addr),
                     .pid = r.pid,
                     .session = r.session,
                     .login_time_us = r.time_us(),
                     .idle_s = TerminalIdleS(r.line, now_s)};
}

void AppendSessionJson(std::string& o, const SessionJson& s) {
  o += "{\"user\":";
  AppendJsonString(o, s.user);
  o += ",\"tty\":";
  AppendJsonString(o, s.tty);
  o += ",\"host\":";
  AppendJsonString(o, s.host);
  o += ",\"addr\":";
  if (s.addr) {
    AppendJsonString(o, *s.addr);
  } else {
    o += "null";
  }
  o += fmt::format(",\"pid\":{},\"session\":{},\"login\":", s.pid, s.session);
  AppendUtc(o, s.login_time_us);
  o += fmt::format(",\"login_time_us\":{},\"idle_s\":", s.login_time_us);
  o += s.idle_s ? std::to_string(*s.idle_s) : "null";
  o += '}';
}

void AppendJsonLines(std::string& o, const std::vector<std::string>& objects) {
  for (size_t i = 0; i < objects.size(); ++i) {
    o += i == 0 ? "\n" : ",\n";
    o += objects[i];
  }
}

void AppendUptimeJson(std::string& o, int64_t users, int64_t sessions) {
  char name[256] = "";
  if (::gethostname(name, sizeof name - 1) != 0) name[0] = '\0';
  timespec now{}, up{};
  clock_gettime(CLOCK_REALTIME, &now);
  clock_gettime(CLOCK_BOOTTIME, &up);
  int64_t now_us = int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
  int64_t boot_us = now_us - (int64_t{up.tv_sec} * 1000000 + up.tv_nsec / 1000);
  std::array<double, 3> load = LoadAverage();
  o += "{\"hostname\":";
  AppendJsonString(o, name);
  o += ",\"time\":";
  AppendUtc(o, now_us);
  o += fmt::format(",\"time_us\":{},\"boot_time\":", now_us);
  AppendUtc(o, boot_us);
  o += fmt::format(
      ",\"boot_time_us\":{},\"uptime_s\":{},\"load\":[{:.2f},{:.2f},{:.2f}],\"users\":{},"
      "\"sessions\":{}}}",
      boot_us, int64_t{up.tv_sec}, load[0], load[1], load[2], users, sessions);
}

}  // namespace utmpcd
