// The live sessions (from utmp or systemd-logind, with a pidfd on each session's leader) and
// the PAM events of pam_utmpcd.so: Daemon::Loop's members that track them.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <span>

#include "core/log.h"
#include "sources/utmp_snapshot.h"
#include "utmpcd/daemon_loop.h"
#include "utmpcd/utmp_cleanup.h"

namespace utmpcd {

void Daemon::Loop::WatchLive() {
  namespace fs = std::filesystem;
  std::error_code ec;  // a utmp the daemon may not look at is no utmp to watch
  bool logind = config_.session_source == "logind" ||
                (config_.session_source == "auto" && !fs::exists(config_.utmp, ec) &&
                 LogindAvailable());
  if (logind) {
    WatchLogind();
  } else {
    WatchUtmp();
  }
}

void Daemon::Loop::WatchLogind() {
  auto monitor = LogindMonitor::Create();
  if (!monitor) {
    Log(LogLevel::kWarning, "systemd-logind: live sessions not tracked: {}",
        monitor.error().message);
    return;
  }
  logind_.emplace(std::move(*monitor));
  live_readable_ = std::make_unique<ReadableWait>(loop_, logind_->fd());
  Log(LogLevel::kInfo, "live sessions from systemd-logind");
  RefreshLive();
}

void Daemon::Loop::OpenIngest() {
  Result<IngestSocket> socket = MakeError(ErrorCode::kNotFound, "");
  if (!handed_.unix_datagram.empty()) {
    // Socket activation: systemd's ingest socket (utmpcd-ingest.socket) instead of our own.
    for (size_t i = 1; i < handed_.unix_datagram.size(); ++i) {
      Log(LogLevel::kWarning, "a second Unix datagram socket handed over is not served");
      ::close(handed_.unix_datagram[i]);
    }
    socket = IngestSocket::Adopt(handed_.unix_datagram.front());
  } else {
    if (config_.ingest_socket.empty()) return;
    IngestSocket::Options options;
    options.path = config_.ingest_socket;
    socket = IngestSocket::Open(options);
  }
  if (!socket) {
    Log(LogLevel::kWarning, "no PAM ingest: {}", socket.error().message);
    return;
  }
  ingest_.emplace(std::move(*socket));
  ingest_readable_ = std::make_unique<ReadableWait>(loop_, ingest_->fd());
}

void Daemon::Loop::ArmIngest() {
  if (!ingest_readable_) return;
  ingest_readable_->Wait([this] {
    auto received = ingest_->Drain();
    if (!received) {
      Log(LogLevel::kError, "{}", received.error().message);
    } else {
      for (const auto& r : *received) {
        pending_pam_.push_back(EventFromIngest(r.message));
        pending_pam_.back().boot_id = boot_.id;
      }
    }
    if (!retry_pending_) StorePam();
    ArmIngest();
  });
}

// A datagram once read is gone from the socket: what the store refuses waits in pending_pam_.
void Daemon::Loop::StorePam() {
  if (pending_pam_.empty() || !store_) return;
  // Gone sessions found while the store could not be read may have been reported by the run
  // before: once, as ever.
  std::erase_if(pending_pam_, [this](const Event& e) {
    return e.kind == EventKind::kGone &&
           GoneStored(e.user, e.tty, e.pid, std::numeric_limits<int64_t>::min());
  });
  if (pending_pam_.empty()) return;
  auto stored = store_->Append(pending_pam_, {});
  if (!stored) {
    Log(LogLevel::kError, "storing {} PAM events: {}", pending_pam_.size(),
        stored.error().message);
    ScheduleRetry();
    return;
  }
  Log(LogLevel::kDebug, "stored {} PAM events", pending_pam_.size());
  pending_pam_.clear();
  Stored();
}

void Daemon::Loop::WatchUtmp() {
  auto watch = InotifyWatch::Create(config_.utmp);
  if (!watch) {
    Log(LogLevel::kWarning, "{}: live sessions not tracked: {}", config_.utmp,
        watch.error().message);
    return;
  }
  utmp_watch_.emplace(std::move(*watch));
  live_readable_ = std::make_unique<ReadableWait>(loop_, utmp_watch_->fd());
  RefreshLive();
}

void Daemon::Loop::ArmLive() {
  if (!live_readable_) return;
  live_readable_->Wait([this] {
    // Flush before reading: a change after the read wakes us again.
    if (logind_) {
      (void)logind_->Flush();
    } else {
      (void)utmp_watch_->Drain();
    }
    RefreshLive();
    ArmLive();
  });
}

void Daemon::Loop::RefreshLive() {
  if (logind_) {
    auto sessions = ReadLogindLiveSessions();
    if (!sessions) {
      Log(LogLevel::kDebug, "systemd-logind: {}", sessions.error().message);
      return;  // keep what we know
    }
    ApplyLive(*sessions);
    return;
  }
  if (!utmp_watch_) return;
  auto snapshot = ReadUtmpSnapshot(config_.utmp, config_.layout.value_or(NativeLayout()));
  if (!snapshot) {
    // Missing (between a delete and a create, or no utmp on this host): keep what we know.
    Log(LogLevel::kDebug, "{}: {}", config_.utmp, snapshot.error().message);
    return;
  }
  ApplyLive(snapshot->sessions);
}

void Daemon::Loop::ApplyLive(const std::vector<LiveSession>& sessions) {
  LiveSessions::Changes changes = live_.Update(sessions);
  PublishLive();
  for (const std::string& key : changes.removed) {
    leader_waits_.erase(key);
    grace_timers_.erase(key);
  }
  for (const LiveSessions::Watch& w : changes.added) {
    if (w.pidfd >= 0) {
      WaitForLeader(w.key, w.pidfd);
    } else if (w.watchable) {
      CheckGone(w.key);  // its leader died before we looked: the grace period starts now
    }
  }
}

void Daemon::Loop::WaitForLeader(const std::string& key, int pidfd) {
  auto wait = std::make_unique<ReadableWait>(loop_, pidfd);
  wait->Wait([this, key] {
    live_.MarkDead(key);  // no longer logged in, whatever utmp says
    PublishLive();
    CheckGone(key);
  });
  leader_waits_[key] = std::move(wait);
}

// The leader is dead: give its logout the grace period to reach utmp, then look again.
void Daemon::Loop::CheckGone(const std::string& key) {
  auto timer = std::make_unique<Timer>(loop_);
  timer->After(std::chrono::milliseconds(config_.gone_grace_ms), [this, key] {
    RefreshLive();
    std::optional<LiveSession> session = live_.StillOpen(key);
    if (!session) return;  // logged out in time, or already reported
    if (AlreadyReported(*session)) {
      (void)live_.MarkGone(key, 0);
      return;
    }
    int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    Event gone =
        live_.MarkGone(key, now_us, logind_ ? EventSource::kLogind : EventSource::kUtmp);
    PublishLive();
    gone.boot_id = boot_.id;
    if (!store_) {  // stored with the PAM events once the store can be written
      pending_pam_.push_back(std::move(gone));
      grace_timers_.erase(key);
      return;
    }
    auto stored = store_->Append(std::span<Event>(&gone, 1), {});
    if (!stored) {
      Log(LogLevel::kError, "storing a gone session: {}", stored.error().message);
    } else {
      Stored();
      Log(LogLevel::kInfo, "{} on {} (pid {}) is gone: its process died without a logout",
          gone.user, gone.tty, gone.pid);
    }
    if (config_.cleanup_gone && !logind_) {  // logind keeps no utmp to clean
      if (auto cleaned = RecordLogoutOfGone(config_.utmp, config_.wtmp, *session, now_us);
          !cleaned) {
        Log(LogLevel::kError, "cleaning up {} on {}: {}", gone.user, gone.tty,
            cleaned.error().message);
      }
    }
    grace_timers_.erase(key);
  });
  grace_timers_[key] = std::move(timer);
}

// A ghost that outlived a daemon restart was reported by the run before. Without a store to
// ask, its gone event waits with the PAM events, and StorePam asks.
bool Daemon::Loop::AlreadyReported(const LiveSession& s) {
  return GoneStored(s.user, s.line, s.pid, s.login_time_us);
}

bool Daemon::Loop::GoneStored(const std::string& user, const std::string& tty, int32_t pid,
                              int64_t since_us) {
  if (!store_) return false;
  auto recent = store_->EventsByUser(user, SqliteStore::kNewest, 64);
  if (!recent) return false;
  for (const Event& e : *recent) {
    if (e.kind == EventKind::kGone && e.tty == tty && e.pid == pid && e.time_us >= since_us) {
      return true;
    }
  }
  return false;
}

}  // namespace utmpcd
