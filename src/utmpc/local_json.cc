#include "utmpc/local_json.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "sources/host_state.h"

namespace utmpcd {

std::optional<int64_t> TerminalIdleS(std::string_view tty, int64_t now_s) {
  if (tty.empty()) return std::nullopt;
  std::string path = tty.starts_with('/') ? std::string(tty) : "/dev/" + std::string(tty);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return now_s - st.st_atime;
}

std::array<uint8_t, 16> AddrBytes(const std::optional<std::string>& addr) {
  std::array<uint8_t, 16> bytes{};
  if (addr && ::inet_pton(AF_INET, addr->c_str(), bytes.data()) != 1 &&
      ::inet_pton(AF_INET6, addr->c_str(), bytes.data()) != 1) {
    bytes = {};
  }
  return bytes;
}

SessionJson SessionOfRecord(const LoginRecord& r, int64_t now_s) {
  return SessionJson{.user = r.user,
                     .tty = r.line,
                     .host = r.host,
                     .addr = r.addr,
                     .pid = r.pid,
                     .session = r.session,
                     .login_time_us = r.time_us(),
                     .idle_s = TerminalIdleS(r.line, now_s)};
}

void AppendJsonLines(std::string& o, const std::vector<std::string>& objects) {
  for (size_t i = 0; i < objects.size(); ++i) {
    o += i == 0 ? "\n" : ",\n";
    o += objects[i];
  }
}

void AppendUptimeJson(std::string& o, int64_t users, int64_t sessions) {
  HostSummary s;
  char name[256] = "";
  if (::gethostname(name, sizeof name - 1) == 0) s.hostname = name;
  timespec now{}, up{};
  clock_gettime(CLOCK_REALTIME, &now);
  clock_gettime(CLOCK_BOOTTIME, &up);
  s.now_us = int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
  s.boot_time_us = s.now_us - (int64_t{up.tv_sec} * 1000000 + up.tv_nsec / 1000);
  s.uptime_s = up.tv_sec;
  s.load = LoadAverage();
  s.users = users;
  s.sessions = sessions;
  o += '{';
  AppendHostFields(o, s, false);
  o += '}';
}

}  // namespace utmpcd
