// Boost.Asio stays in this file: one translation unit pays its compile time.
#include <utility>  // before Asio: Boost 1.74 needs it with g++ 12

#include "utmpcd/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "core/version.h"
#include "sources/current_boot.h"
#include "sources/ingest_socket.h"
#include "sources/inotify_watch.h"
#include "sources/logind_sessions.h"
#include "sources/utmp_snapshot.h"
#include "store/sqlite_store.h"
#include "utmpcd/api_server.h"
#include "utmpcd/history_lock.h"
#include "utmpcd/log.h"
#include "utmpcd/lastlog_import.h"
#include "utmpcd/live_sessions.h"
#include "utmpcd/log_ingest.h"
#include "utmpcd/notify.h"
#include "utmpcd/privileges.h"
#include "utmpcd/utmp_cleanup.h"

namespace utmpcd {
namespace asio = boost::asio;

// One followed file: its ingest, its inotify watch, and the watch's descriptor in the loop.
struct Followed {
  std::unique_ptr<LogIngest> ingest;
  std::optional<InotifyWatch> watch;
  std::unique_ptr<asio::posix::stream_descriptor> readable;
  // Why the file cannot be read now ("" when it can): said once when it starts, once when it
  // ends.
  std::string problem;
  bool missing = false;  // `problem` is that the path does not exist
  uint64_t stored = 0;   // events stored from it by this run
};

// The id of the history in `store` (meta "history_id"), made when it has none: 16 random hex
// digits, so that an event id of one history is never taken for one of another (a database
// deleted and started anew, a backup restored).
Result<std::string> HistoryId(SqliteStore& store) {
  auto stored = store.GetMeta("history_id");
  if (!stored) return tl::unexpected(stored.error());
  if (*stored && !(*stored)->empty()) return **stored;
  uint64_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != sizeof random) {
    return tl::unexpected(ErrnoError("getrandom", errno));
  }
  std::string id = fmt::format("{:016x}", random);
  if (auto set = store.SetMeta("history_id", id); !set) return tl::unexpected(set.error());
  return id;
}

class Daemon::Loop {
 public:
  Loop(DaemonConfig& config, std::string& config_path)
      : config_(config), config_path_(config_path), signals_(io_, SIGINT, SIGTERM, SIGHUP),
        retry_(io_), recheck_(io_) {}

  Result<void> Open();
  int Run();
  // After Open of an import (--once): says what was stored, and whether everything asked for
  // was; the exit status (1 when a file could not be read or the store refused).
  int FinishImport();

 private:
  Result<void> Follow(const std::string& path, EventSource source);
  void Arm(Followed& f);
  // Ingests everything pending of `f`; on a store error, schedules a retry of all files.
  void Catch(Followed& f);
  // Says when `f` stops or starts being readable (once each), and schedules a recheck.
  void NoteReadable(Followed& f, const LogIngest::Progress& progress);
  void ScheduleRetry();
  // Files that cannot be read, or are not watched, are looked at again on a timer (a chmod
  // makes no inotify event on a directory the daemon cannot watch).
  void ScheduleRecheck();
  void OnSignal(int signal);
  void ApplyRetention();
  // Takes the history's lock and opens the store for writing (store_, history_id_).
  Result<void> OpenStore();
  // With the store open: lastlog once, then wtmp and btmp, caught up.
  Result<void> StartIngest();
  // The store could not be opened for writing: try again with backoff, then StartIngest.
  void ScheduleStoreOpen();
  // Tells /healthz whether events are being stored (LiveView::SetIngestProblem).
  void PublishIngest();
  // Becomes the configured user, once what needs root is open.
  Result<void> DropRoot();
  // The live sessions (from utmp, or from logind) and the pidfds of their leaders.
  void WatchLive();
  void WatchUtmp();
  void WatchLogind();
  // Creates the inotify watch of `f` (armed once the loop runs); false when it cannot.
  bool Watch(Followed& f);
  void ArmLive();
  void RefreshLive();
  void ApplyLive(const std::vector<LiveSession>& sessions);
  void WaitForLeader(const std::string& key, int pidfd);
  void CheckGone(const std::string& key);
  bool AlreadyReported(const LiveSession& session);
  // Whether a kGone event of `user` on `tty` for `pid`, at or after since_us, is stored.
  bool GoneStored(const std::string& user, const std::string& tty, int32_t pid,
                  int64_t since_us);
  // PAM: session open/close from pam_utmpcd.so.
  void OpenIngest();
  void ArmIngest();
  void StorePam();
  // Port 431: bound in Open, served from Run on the server's own thread.
  void OpenApi();
  // Tells the API that events were stored (its event streams send them).
  void Stored() {
    if (api_) api_->NotifyStored();
  }
  void PublishLive() {
    live_view_->Set(live_.Open());
    if (api_) api_->NotifyLiveChanged();
  }
  // systemd's watchdog, only when it asked for one: the daemon's one periodic wakeup.
  void KeepWatchdog(std::chrono::microseconds every);

  DaemonConfig& config_;
  std::string& config_path_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer retry_;
  std::chrono::seconds retry_delay_{1};
  bool retry_pending_ = false;
  asio::steady_timer recheck_;
  std::chrono::seconds recheck_delay_{2};
  bool recheck_pending_ = false;
  bool running_ = false;  // Run() has started: watches created later must be armed
  CurrentBoot boot_ = ReadCurrentBoot();
  std::optional<HistoryLock> lock_;
  std::string history_id_;  // the store's, in every event id the stream sends
  std::string store_problem_;  // why the store cannot be written now ("" when it can)
  std::unique_ptr<SqliteStore> store_;
  std::vector<std::unique_ptr<Followed>> followed_;
  std::chrono::steady_clock::time_point last_retention_{};
  std::optional<InotifyWatch> utmp_watch_;
  std::optional<LogindMonitor> logind_;  // set when live sessions come from logind
  std::unique_ptr<asio::posix::stream_descriptor> live_readable_;
  LiveSessions live_;
  // Per live session (by LiveSessions key): the wait on its leader's pidfd, then the grace timer.
  std::map<std::string, std::unique_ptr<asio::posix::stream_descriptor>> leader_waits_;
  std::map<std::string, std::unique_ptr<asio::steady_timer>> grace_timers_;
  std::optional<IngestSocket> ingest_;
  std::unique_ptr<asio::posix::stream_descriptor> ingest_readable_;
  std::vector<Event> pending_pam_;  // received, not yet stored (a store error): retried
  std::unique_ptr<asio::steady_timer> watchdog_;
  std::shared_ptr<LiveView> live_view_ = std::make_shared<LiveView>();
  std::unique_ptr<ApiServer> api_;
};

void Daemon::Loop::OpenApi() {
  if (config_.http_listen.empty() && config_.api_socket.empty() && config_.udp_listen.empty()) {
    return;
  }
  ApiServerOptions options;
  options.listen = config_.http_listen;
  options.unix_socket = config_.api_socket;
  options.max_connections = config_.http_max_connections;
  options.idle_timeout_s = config_.http_idle_timeout_s;
  options.request_timeout_s = config_.http_request_timeout_s;
  options.heartbeat_s = config_.http_heartbeat_s;
  if (!config_.udp_listen.empty()) {
    options.udp = UdpOptions{.listen = config_.udp_listen,
                             .rate_per_prefix = config_.udp_rate_per_prefix,
                             .burst = config_.udp_burst,
                             .discovery = config_.udp_discovery};
  }
  if (history_id_.empty()) {  // the store could not be opened for writing: read its id
    if (auto read_only = SqliteStore::Open(config_.database, {.read_only = true})) {
      if (auto id = (*read_only)->GetMeta("history_id"); id && *id) history_id_ = **id;
    }
  }
  options.api = {.database = config_.database,
                 .boot_id = boot_.id,
                 .boot_time_us = boot_.time_us,
                 .version = kVersion,
                 .history_id = history_id_};
  auto server = ApiServer::Open(options, live_view_);
  if (!server) {
    // The history matters more than the API: keep recording, say loudly what is not served.
    Log(LogLevel::kError, "the API is not served: {}", server.error().message);
    return;
  }
  api_ = std::move(*server);
}

void Daemon::Loop::KeepWatchdog(std::chrono::microseconds every) {
  if (!watchdog_) watchdog_ = std::make_unique<asio::steady_timer>(io_);
  NotifyWatchdog();
  watchdog_->expires_after(every);
  watchdog_->async_wait([this, every](const boost::system::error_code& ec) {
    if (!ec) KeepWatchdog(every);
  });
}

Result<void> Daemon::Loop::Open() {
  std::filesystem::path db(config_.database);
  if (db.has_parent_path() && !std::filesystem::exists(db.parent_path())) {
    std::error_code ec;
    std::filesystem::create_directories(db.parent_path(), ec);
    if (ec) return MakeError(ErrorCode::kIo, "cannot create " + db.parent_path().string() +
                                                 ": " + ec.message());
  }
  if (auto opened = OpenStore(); !opened) {
    // Anything but a store that cannot be written now (a read-only file system) is for a
    // person to fix first: another daemon's history, a file that is not a history. An import
    // has nothing to wait for.
    if (config_.once || opened.error().code != ErrorCode::kIo) return opened;
    store_problem_ = opened.error().message;
    Log(LogLevel::kError, "{}; serving what the history holds, and retrying", store_problem_);
    PublishIngest();
  }
  // What needs root: port 431 and the sockets, then the store is open: drop it.
  OpenApi();
  OpenIngest();
  if (auto dropped = DropRoot(); !dropped) return dropped;
  if (store_) {
    if (auto ok = StartIngest(); !ok) return ok;
  }
  if (!config_.once) WatchLive();
  return {};
}

Result<void> Daemon::Loop::OpenStore() {
  // Before the store: a second daemon must not even migrate or import.
  if (!lock_) {
    auto lock = HistoryLock::Acquire(config_.database);
    if (!lock) return tl::unexpected(lock.error());
    lock_.emplace(std::move(*lock));
  }
  auto store = SqliteStore::Open(config_.database);
  if (!store) return tl::unexpected(store.error());
  auto id = HistoryId(**store);
  if (!id) return tl::unexpected(id.error());
  history_id_ = *id;
  store_ = std::move(*store);
  return {};
}

Result<void> Daemon::Loop::StartIngest() {
  if (auto imported = ImportLastlogOnce(config_.lastlog, store_.get()); !imported) {
    Log(LogLevel::kWarning, "lastlog not imported: {}", imported.error().message);
  } else if (*imported > 0) {
    Log(LogLevel::kInfo, "imported the last logins of {} users from {}", *imported,
        config_.lastlog);
  }
  if (auto ok = Follow(config_.wtmp, EventSource::kWtmp); !ok) return ok;
  if (auto ok = Follow(config_.btmp, EventSource::kBtmp); !ok) return ok;
  ApplyRetention();
  return {};
}

void Daemon::Loop::ScheduleStoreOpen() {
  retry_.expires_after(retry_delay_);
  retry_delay_ = std::min(retry_delay_ * 2, std::chrono::seconds(30));
  retry_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    auto fail = [this](const Error& error) {
      if (error.message != store_problem_) {
        store_problem_ = error.message;
        Log(LogLevel::kError, "{}; retrying", store_problem_);
        PublishIngest();
      }
      ScheduleStoreOpen();
    };
    // The API's connections were opened while the file system was read-only, and SQLite
    // shares one WAL index per file among a process's connections, read-only since they
    // opened it: they let go and open anew before the writer opens, so that the writer gets a
    // writable one. (Cheap, and needed at most until the writer opens.)
    if (!store_) {
      if (api_) {
        if (auto reopened = api_->ReopenStore(); !reopened) {
          Log(LogLevel::kWarning, "the API's history: {}", reopened.error().message);
        }
      }
      if (auto opened = OpenStore(); !opened) return fail(opened.error());
    }
    // The files already followed are kept (their ingests hold the store): a StartIngest that
    // failed half-way takes up the rest next time.
    if (auto ok = StartIngest(); !ok) return fail(ok.error());
    retry_delay_ = std::chrono::seconds(1);
    Log(LogLevel::kInfo, "{} can be written now: storing again", config_.database);
    store_problem_.clear();
    StorePam();
    PublishIngest();
  });
}

void Daemon::Loop::PublishIngest() {
  std::string problem = store_problem_;
  if (problem.empty() && retry_pending_) problem = "the store refused a batch; retrying";
  live_view_->SetIngestProblem(std::move(problem));
}

Result<void> Daemon::Loop::DropRoot() {
  if (::geteuid() != 0) return {};
  if (config_.user == "root") {
    Log(LogLevel::kInfo, "running as root, as --user or [daemon] user says");
    return {};
  }
  static const std::vector<std::string> kGroups = {"utmp"};
  auto user = LookUpRunAsUser(config_.user, kGroups);
  if (!user) {
    if (!config_.user_configured && user.error().code == ErrorCode::kNotFound) {
      Log(LogLevel::kWarning, "running as root: {} (create it to run unprivileged, see utmpcd(8))",
          user.error().message);
      return {};
    }
    return tl::unexpected(user.error());
  }
  // The store stays open across the drop; its files become the user's, so that what SQLite
  // does with them later (and a restart's checkpoint) is the user's to do. The directory is
  // left as it is: it may be anybody's (--database /tmp/x.db).
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
    std::string path = config_.database + suffix;
    if (::fchownat(AT_FDCWD, path.c_str(), user->uid, user->gid, AT_SYMLINK_NOFOLLOW) != 0 &&
        errno != ENOENT) {
      // A read-only file system: the history is served, and written once it can be (by a user
      // that may write it: its directory's owner, as systemd's StateDirectory= makes it).
      if (errno != EROFS) return tl::unexpected(ErrnoError("chown " + path, errno));
      Log(LogLevel::kWarning, "{}", ErrnoError("chown " + path, errno).message);
    }
  }
  // Said now, while it can be said precisely: after the drop, an open that fails only says
  // "Permission denied".
  auto unreadable =
      FindUnreadable(*user, {config_.wtmp, config_.btmp, config_.utmp, config_.lastlog});
  if (!unreadable) {
    Log(LogLevel::kWarning, "{}", unreadable.error().message);
  } else {
    for (const std::string& problem : *unreadable) Log(LogLevel::kError, "{}", problem);
  }
  if (auto dropped = DropPrivileges(config_.user, kGroups); !dropped) {
    return tl::unexpected(dropped.error());
  }
  const struct group* primary = ::getgrgid(user->gid);
  Log(LogLevel::kInfo, "running as {} (uid {}, groups {} and utmp)", user->name, user->uid,
      primary != nullptr ? primary->gr_name : std::to_string(user->gid));
  return {};
}

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
  live_readable_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(logind_->fd()));
  Log(LogLevel::kInfo, "live sessions from systemd-logind");
  RefreshLive();
}

void Daemon::Loop::OpenIngest() {
  if (config_.ingest_socket.empty()) return;
  IngestSocket::Options options;
  options.path = config_.ingest_socket;
  auto socket = IngestSocket::Open(options);
  if (!socket) {
    Log(LogLevel::kWarning, "no PAM ingest: {}", socket.error().message);
    return;
  }
  ingest_.emplace(std::move(*socket));
  ingest_readable_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(ingest_->fd()));
}

void Daemon::Loop::ArmIngest() {
  if (!ingest_readable_) return;
  ingest_readable_->async_wait(asio::posix::descriptor_base::wait_read,
                               [this](const boost::system::error_code& ec) {
                                 if (ec) return;
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
  live_readable_ = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(utmp_watch_->fd()));
  RefreshLive();
}

void Daemon::Loop::ArmLive() {
  if (!live_readable_) return;
  live_readable_->async_wait(asio::posix::descriptor_base::wait_read,
                             [this](const boost::system::error_code& ec) {
                               if (ec) return;
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
  auto wait = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(pidfd));
  wait->async_wait(asio::posix::descriptor_base::wait_read,
                   [this, key](const boost::system::error_code& ec) {
                     if (ec) return;
                     live_.MarkDead(key);  // no longer logged in, whatever utmp says
                     PublishLive();
                     CheckGone(key);
                   });
  leader_waits_[key] = std::move(wait);
}

// The leader is dead: give its logout the grace period to reach utmp, then look again.
void Daemon::Loop::CheckGone(const std::string& key) {
  auto timer = std::make_unique<asio::steady_timer>(io_);
  timer->expires_after(std::chrono::milliseconds(config_.gone_grace_ms));
  timer->async_wait([this, key](const boost::system::error_code& ec) {
    if (ec) return;
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

Result<void> Daemon::Loop::Follow(const std::string& path, EventSource source) {
  for (const auto& followed : followed_) {
    if (followed->ingest->path() == path) return {};  // a StartIngest tried again
  }
  auto f = std::make_unique<Followed>();
  UtmpLayout layout = config_.layout.value_or(NativeLayout());
  f->ingest = std::make_unique<LogIngest>(path, source, layout, store_.get(), &boot_);
  if (auto ok = f->ingest->Start(); !ok) return ok;
  if (!config_.once) Watch(*f);  // an import reads what is there, once
  Catch(*f);
  followed_.push_back(std::move(f));
  return {};
}

bool Daemon::Loop::Watch(Followed& f) {
  auto watch = InotifyWatch::Create(f.ingest->path());
  if (!watch) {
    // Without a watch the file is only read on the recheck timer: say so, and go on.
    Log(LogLevel::kWarning, "{}: not watched for changes: {}", f.ingest->path(),
        watch.error().message);
    return false;
  }
  f.watch.emplace(std::move(*watch));
  f.readable = std::make_unique<asio::posix::stream_descriptor>(io_, ::dup(f.watch->fd()));
  if (running_) Arm(f);
  return true;
}

void Daemon::Loop::Catch(Followed& f) {
  auto warn = [](const std::string& w) { Log(LogLevel::kWarning, "{}", w); };
  while (true) {
    auto progress = f.ingest->Pump(warn);
    if (!progress) {
      Log(LogLevel::kError, "{}: {}", f.ingest->path(), progress.error().message);
      ScheduleRetry();
      return;
    }
    NoteReadable(f, *progress);
    if (progress->events > 0) {
      f.stored += progress->events;
      Log(LogLevel::kDebug, "{}: stored {} events", f.ingest->path(), progress->events);
      Stored();
    }
    if (!progress->more) return;
  }
}

void Daemon::Loop::NoteReadable(Followed& f, const LogIngest::Progress& progress) {
  const std::string& path = f.ingest->path();
  std::string problem = progress.unreadable;
  if (problem.empty() && progress.missing) problem = "does not exist";
  if (problem == f.problem) return;
  if (problem.empty()) {
    Log(LogLevel::kInfo, "{}: {}; following it", path,
        f.missing ? "it exists now" : "it can be read again");
  } else if (progress.missing) {
    Log(LogLevel::kWarning, "{}: does not exist; nothing to store from it until it does", path);
  } else {
    Log(LogLevel::kError, "{}: cannot be read: {}; nothing of it is stored until it can be",
        path, problem);
  }
  f.problem = std::move(problem);
  f.missing = progress.missing && progress.unreadable.empty();
  if (!f.problem.empty() && !f.missing) ScheduleRecheck();
}

void Daemon::Loop::ScheduleRecheck() {
  if (recheck_pending_) return;
  recheck_pending_ = true;
  recheck_.expires_after(recheck_delay_);
  recheck_delay_ = std::min(recheck_delay_ * 2, std::chrono::seconds(60));
  recheck_.async_wait([this](const boost::system::error_code& ec) {
    recheck_pending_ = false;
    if (ec) return;
    bool again = false;
    for (auto& f : followed_) {
      if (!f->watch && !Watch(*f)) again = true;
      if (f->problem.empty() || f->missing) continue;
      if (!retry_pending_) Catch(*f);
      again = again || !f->problem.empty();
    }
    if (again) {
      ScheduleRecheck();
    } else {
      recheck_delay_ = std::chrono::seconds(2);
    }
  });
}

int Daemon::Loop::FinishImport() {
  bool complete = !retry_pending_ && pending_pam_.empty();  // else the store refused a batch
  uint64_t total = 0;
  std::string from;
  for (const auto& f : followed_) {
    total += f->stored;
    from += fmt::format("{}{} from {}", from.empty() ? "" : ", ", f->stored, f->ingest->path());
    if (!f->problem.empty()) {
      complete = false;
      Log(LogLevel::kError, "{}: not imported: {}", f->ingest->path(), f->problem);
    }
  }
  Log(complete ? LogLevel::kInfo : LogLevel::kError, "imported {} events ({}){}", total, from,
      complete ? "" : "; the import is incomplete");
  return complete ? 0 : 1;
}

void Daemon::Loop::ScheduleRetry() {
  if (retry_pending_) return;
  retry_pending_ = true;
  PublishIngest();
  retry_.expires_after(retry_delay_);
  // Back off to at most 30 s: a full disk or a read-only database is fixed by a person.
  retry_delay_ = std::min(retry_delay_ * 2, std::chrono::seconds(30));
  retry_.async_wait([this](const boost::system::error_code& ec) {
    retry_pending_ = false;
    if (ec) return;
    for (auto& f : followed_) Catch(*f);
    StorePam();
    if (!retry_pending_) {
      retry_delay_ = std::chrono::seconds(1);
      Log(LogLevel::kInfo, "caught up after the store error");
    }
    PublishIngest();
  });
}

void Daemon::Loop::Arm(Followed& f) {
  if (!f.readable) return;
  f.readable->async_wait(asio::posix::descriptor_base::wait_read,
                         [this, &f](const boost::system::error_code& ec) {
                           if (ec) return;
                           auto events = f.watch->Drain();
                           bool relevant = true;  // when in doubt, read
                           if (!events) {
                             Log(LogLevel::kError, "{}: {}", f.ingest->path(),
                                 events.error().message);
                           } else if (events->overflow) {
                             Log(LogLevel::kWarning, "inotify queue overflowed; re-reading");
                           } else {
                             // Other files come and go in /var/log: only ours is read.
                             relevant = events->modified || events->replaced || events->removed;
                           }
                           if (relevant && !retry_pending_) Catch(f);
                           ApplyRetention();
                           Arm(f);
                         });
}

void Daemon::Loop::ApplyRetention() {
  if (config_.retention_days <= 0 || !store_) return;
  auto now = std::chrono::steady_clock::now();
  // At most hourly, and only when something woke the daemon anyway.
  if (now - last_retention_ < std::chrono::hours(1)) return;
  last_retention_ = now;
  int64_t cutoff_us = (std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch()) -
                       std::chrono::hours(24) * config_.retention_days)
                          .count();
  auto deleted = store_->DeleteOlderThan(cutoff_us);
  if (!deleted) {
    Log(LogLevel::kError, "retention: {}", deleted.error().message);
  } else if (*deleted > 0) {
    Log(LogLevel::kInfo, "retention: deleted {} events older than {} days", *deleted,
        config_.retention_days);
  }
}

void Daemon::Loop::OnSignal(int signal) {
  if (signal != SIGHUP) {
    Log(LogLevel::kInfo, "stopping ({})", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    NotifyStopping();
    io_.stop();
    return;
  }
  if (config_path_.empty()) {
    Log(LogLevel::kInfo, "SIGHUP: no configuration file to reload");
  } else if (auto reloaded = LoadConfig(config_path_, true); !reloaded) {
    Log(LogLevel::kError, "SIGHUP: keeping the running configuration: {}",
        reloaded.error().message);
  } else {
    bool paths_changed = reloaded->wtmp != config_.wtmp || reloaded->btmp != config_.btmp ||
                         reloaded->database != config_.database;
    config_.debug = reloaded->debug;
    config_.retention_days = reloaded->retention_days;
    config_.gone_grace_ms = reloaded->gone_grace_ms;
    SetLogDebug(config_.debug);
    Log(LogLevel::kInfo, "SIGHUP: configuration reloaded{}",
        paths_changed ? " (changed paths take effect at the next start)" : "");
  }
  signals_.async_wait([this](const boost::system::error_code& ec, int s) {
    if (!ec) OnSignal(s);
  });
}

int Daemon::Loop::Run() {
  signals_.async_wait([this](const boost::system::error_code& ec, int s) {
    if (!ec) OnSignal(s);
  });
  running_ = true;
  if (!store_) ScheduleStoreOpen();
  for (auto& f : followed_) {
    Arm(*f);
    if (!f->watch) ScheduleRecheck();
  }
  ArmLive();
  ArmIngest();
  if (api_) {
    api_->Start();
    std::string where;
    for (const std::string& e : api_->endpoints()) where += (where.empty() ? "" : ", ") + e;
    if (!where.empty()) Log(LogLevel::kInfo, "HTTP API on {}", where);
    where.clear();
    for (const std::string& e : api_->udp_endpoints()) where += (where.empty() ? "" : ", ") + e;
    if (!where.empty()) Log(LogLevel::kInfo, "UDP on {}", where);
  }
  NotifyReady();
  // Pinged at half the interval systemd set, so one slow iteration does not cost a restart.
  if (uint64_t watchdog_us = WatchdogIntervalUs(); watchdog_us > 0) {
    KeepWatchdog(std::chrono::microseconds(watchdog_us / 2));
  }
  Log(LogLevel::kInfo, "following {} and {} into {}", config_.wtmp, config_.btmp,
      config_.database);
  io_.run();
  return 0;
}

Daemon::Daemon(DaemonConfig config, std::string config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {}

Daemon::~Daemon() = default;

Result<void> Daemon::Start() {
  loop_ = std::make_unique<Loop>(config_, config_path_);
  return loop_->Open();
}

int Daemon::Run() { return loop_->Run(); }

int Daemon::FinishImport() { return loop_->FinishImport(); }

}  // namespace utmpcd
