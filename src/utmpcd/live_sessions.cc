#include "utmpcd/live_sessions.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <set>

namespace utmpcd {
namespace {

// pidfd_open(2) through syscall(2): glibc 2.36 has a wrapper, older ones do not.
int PidfdOpen(int32_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
#else
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

LiveSessions::~LiveSessions() {
  for (auto& [key, e] : sessions_) Close(e);
}

std::string LiveSessions::KeyOf(const LiveSession& s) {
  return s.line + '\0' + std::to_string(s.pid);
}

void LiveSessions::Close(Entry& e) {
  if (e.pidfd >= 0) ::close(e.pidfd);
  e.pidfd = -1;
}

LiveSessions::Changes LiveSessions::Update(const std::vector<LiveSession>& now) {
  std::set<std::string> present;
  Changes changes;
  for (const LiveSession& s : now) {
    std::string key = KeyOf(s);
    if (!present.insert(key).second) continue;  // a duplicate entry: one session
    if (sessions_.count(key) != 0) continue;
    Entry e{s, -1, false, false};
    Watch w{key, -1, true};
    if (s.pid > 0) {
      e.pidfd = PidfdOpen(s.pid);
      // ESRCH: the leader is already dead (a ghost from before this daemon started); the loop
      // checks it right away. ENOSYS/EPERM: no pidfd, only utmp changes are seen.
      if (e.pidfd < 0 && errno != ESRCH) w.watchable = false;
      // A ghost is never listed, not even for the grace period (nor after a restart of the
      // daemon, which finds it again in utmp).
      if (e.pidfd < 0 && errno == ESRCH) e.dead = true;
    } else {
      w.watchable = false;  // no leader recorded: nothing tells whether it lives
    }
    w.pidfd = e.pidfd;
    sessions_.emplace(key, std::move(e));
    changes.added.push_back(std::move(w));
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (present.count(it->first) == 0) {
      Close(it->second);
      changes.removed.push_back(it->first);
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  return changes;
}

std::optional<LiveSession> LiveSessions::StillOpen(const std::string& key) const {
  auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.reported) return std::nullopt;
  return it->second.session;
}

std::vector<LiveSession> LiveSessions::Open() const {
  std::vector<LiveSession> open;
  for (const auto& [key, entry] : sessions_) {
    if (!entry.reported && !entry.dead) open.push_back(entry.session);
  }
  return open;
}

void LiveSessions::MarkDead(const std::string& key) {
  auto it = sessions_.find(key);
  if (it != sessions_.end()) it->second.dead = true;
}

Event LiveSessions::MarkGone(const std::string& key, int64_t now_us, EventSource source) {
  Entry& e = sessions_.at(key);
  e.reported = true;
  Close(e);
  Event gone;
  gone.time_us = now_us;
  gone.kind = EventKind::kGone;
  gone.user = e.session.user;
  gone.tty = e.session.line;
  gone.remote_host = e.session.host;
  gone.remote_addr = e.session.addr;
  gone.pid = e.session.pid;
  gone.session = e.session.session;
  gone.source = source;
  return gone;
}

}  // namespace utmpcd
