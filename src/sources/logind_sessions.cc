#include "sources/logind_sessions.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#ifdef UTMPCD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>
#endif

namespace utmpcd {
namespace {

// getpwuid_r's buffer grows to this at most: a passwd entry larger than 1 MiB is not a user.
constexpr size_t kMaxPasswdBuffer = 1 << 20;

std::string UserName(uint32_t uid, const std::string& recorded) {
  std::string buffer(16384, '\0');
  passwd pw{};
  passwd* found = nullptr;
  int err;
  while ((err = ::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < kMaxPasswdBuffer) {
    buffer.resize(buffer.size() * 2);
  }
  if (err == 0 && found != nullptr && found->pw_name != nullptr && *found->pw_name != '\0') {
    return found->pw_name;
  }
  return recorded.empty() ? std::to_string(uid) : recorded;
}

// The 16 bytes of ut_addr_v6 for an address literal (IPv4 in the first word), else all zero.
std::array<uint8_t, 16> AddressOf(const std::string& host) {
  std::array<uint8_t, 16> addr{};
  if (::inet_pton(AF_INET, host.c_str(), addr.data()) == 1) return addr;
  if (::inet_pton(AF_INET6, host.c_str(), addr.data()) == 1) return addr;
  return {};
}

// logind numbers PAM sessions ("3"); sessions it starts itself are "c1", "c2": no number.
int64_t NumericId(std::string_view id) {
  if (id.empty() || id.size() > 18) return 0;  // 18 digits always fit int64_t
  int64_t value = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + (c - '0');
  }
  return value;
}

// gnulib's readutmp (coreutils who(1) on a logind host) names a session by its tty, else its seat,
// else for a text or web session its PAM service.
std::string LineOf(const LogindSession& s) {
  constexpr std::string_view kDev = "/dev/";
  if (!s.tty.empty()) {
    std::string_view tty = s.tty;
    if (tty.substr(0, kDev.size()) == kDev) tty.remove_prefix(kDev.size());
    return std::string(tty);
  }
  if (!s.seat.empty()) return s.seat;
  if (s.type == "tty" || s.type == "web") return s.service;
  return {};
}

}  // namespace

void DescribeLogindSession(LogindSession& s, const LogindSessionFile& file) {
  LiveSession& live = s.live;
  live.line = LineOf(s);
  live.id = s.id;
  live.user = UserName(s.uid, file.user);
  live.host = s.remote_host;
  if (live.host.empty() && s.type == "x11") live.host = s.display;
  live.addr = AddressOf(s.remote_host);
  live.pid = file.leader;
  live.session = NumericId(s.id);
  live.login_time_us = file.realtime_us;
  bool manager = s.session_class.rfind("manager", 0) == 0;  // "manager", "manager-early"
  s.listed = !live.line.empty() && s.state != "closing" && !manager;
}

std::vector<LiveSession> ListedSessions(const std::vector<LogindSession>& sessions) {
  std::vector<LiveSession> live;
  for (const LogindSession& s : sessions) {
    if (s.listed) live.push_back(s.live);
  }
  return live;
}

Result<std::vector<LiveSession>> ReadLogindLiveSessions() {
  auto sessions = ReadLogindSessions();
  if (!sessions) return tl::unexpected(sessions.error());
  return ListedSessions(*sessions);
}

#ifdef UTMPCD_HAVE_SYSTEMD

namespace {

// logind's own "is logind running" check (systemd's logind_running()).
constexpr const char* kSeatDir = "/run/systemd/seats/";
constexpr const char* kSessionDir = "/run/systemd/sessions/";

// A state file is a few hundred bytes; nothing logind writes comes near this.
constexpr size_t kMaxStateFileBytes = 64 << 10;

std::optional<std::string> WhyUnavailable() {
  if (::sd_booted() <= 0) {
    return "systemd-logind is not running here: the system was not booted with systemd";
  }
  if (::access(kSeatDir, F_OK) != 0) {
    return std::string("systemd-logind is not running here: no ") + kSeatDir;
  }
  return std::nullopt;
}

// One sd_session_get_* string, empty when logind has none (or the session just went).
std::string Get(int (*get)(const char*, char**), const std::string& id) {
  char* value = nullptr;
  if (get(id.c_str(), &value) < 0 || value == nullptr) return {};
  std::string text(value);
  std::free(value);
  return text;
}

// The session's state file, or nullopt when it is gone (the session ended meanwhile) or
// cannot be read. O_NONBLOCK: a FIFO there (logind keeps "<id>.ref" FIFOs beside the files)
// must not block open(2); it is refused by the regular-file check.
std::optional<std::string> ReadStateFile(const std::string& id) {
  std::string path = kSessionDir + id;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    text.emplace();
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
      if (n > 0) text->append(buffer, static_cast<size_t>(n));
      if (text->size() > kMaxStateFileBytes) break;
    }
    if (n < 0) text.reset();
  }
  ::close(fd);
  return text;
}

// Everything sd-login and the state file say about session `id`; nullopt when it is gone.
std::optional<LogindSession> ReadSession(const std::string& id) {
  LogindSession s;
  s.id = id;
  uid_t uid = 0;
  // -ENXIO: the session ended between sd_get_sessions and now.
  if (::sd_session_get_uid(id.c_str(), &uid) < 0) return std::nullopt;
  s.uid = uid;
  s.state = Get(::sd_session_get_state, id);
  s.type = Get(::sd_session_get_type, id);
  s.session_class = Get(::sd_session_get_class, id);
  s.service = Get(::sd_session_get_service, id);
  s.seat = Get(::sd_session_get_seat, id);
  s.tty = Get(::sd_session_get_tty, id);
  s.remote_host = Get(::sd_session_get_remote_host, id);
  s.display = Get(::sd_session_get_display, id);
  auto file = ReadStateFile(id);
  if (!file) return std::nullopt;
  DescribeLogindSession(s, ParseLogindSessionFile(*file));
  return s;
}

}  // namespace

bool LogindAvailable() { return !WhyUnavailable().has_value(); }

Result<std::vector<LogindSession>> ReadLogindSessions() {
  if (auto why = WhyUnavailable()) return MakeError(ErrorCode::kUnsupported, *why);
  char** ids = nullptr;
  int n = ::sd_get_sessions(&ids);
  if (n < 0) return tl::unexpected(ErrnoError("sd_get_sessions", -n));
  std::vector<LogindSession> sessions;
  for (int i = 0; ids != nullptr && ids[i] != nullptr; ++i) {
    std::string id = ids[i];
    std::free(ids[i]);
    if (!IsLogindSessionId(id)) continue;
    if (auto s = ReadSession(id)) sessions.push_back(std::move(*s));
  }
  std::free(ids);
  std::sort(sessions.begin(), sessions.end(), [](const LogindSession& a, const LogindSession& b) {
    return std::tie(a.live.login_time_us, a.id) < std::tie(b.live.login_time_us, b.id);
  });
  return sessions;
}

Result<LogindMonitor> LogindMonitor::Create() {
  if (auto why = WhyUnavailable()) return MakeError(ErrorCode::kUnsupported, *why);
  LogindMonitor monitor;
  int r = ::sd_login_monitor_new("session", &monitor.monitor_);
  if (r < 0) {
    return tl::unexpected(ErrnoError("sd_login_monitor_new " + std::string(kSessionDir), -r));
  }
  return monitor;
}

LogindMonitor::~LogindMonitor() {
  if (monitor_ != nullptr) ::sd_login_monitor_unref(monitor_);
}

int LogindMonitor::fd() const {
  return monitor_ != nullptr ? ::sd_login_monitor_get_fd(monitor_) : -1;
}

Result<void> LogindMonitor::Flush() {
  if (monitor_ == nullptr)
    return MakeError(ErrorCode::kInvalidArgument, "logind monitor: moved from");
  int r = ::sd_login_monitor_flush(monitor_);
  if (r < 0) return tl::unexpected(ErrnoError("logind monitor: flush", -r));
  return {};
}

#else  // built without libsystemd

namespace {
constexpr const char* kNoSystemd = "systemd-logind: this utmpcd was built without libsystemd";
}  // namespace

bool LogindAvailable() { return false; }

Result<std::vector<LogindSession>> ReadLogindSessions() {
  return MakeError(ErrorCode::kUnsupported, kNoSystemd);
}

Result<LogindMonitor> LogindMonitor::Create() {
  return MakeError(ErrorCode::kUnsupported, kNoSystemd);
}

LogindMonitor::~LogindMonitor() = default;

int LogindMonitor::fd() const { return -1; }

Result<void> LogindMonitor::Flush() { return MakeError(ErrorCode::kUnsupported, kNoSystemd); }

#endif

LogindMonitor::LogindMonitor(LogindMonitor&& other) noexcept
    : monitor_(std::exchange(other.monitor_, nullptr)) {}

LogindMonitor& LogindMonitor::operator=(LogindMonitor&& other) noexcept {
  if (this != &other) {
    LogindMonitor old(std::move(*this));
    monitor_ = std::exchange(other.monitor_, nullptr);
  }
  return *this;
}

}  // namespace utmpcd
