// Daemon::Loop, the daemon's event loop: what it follows and stores (daemon.cc), and the live
// sessions and PAM events it tracks (daemon_live.cc). Private to src/utmpcd.
#pragma once

#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/api.h"
#include "core/event.h"
#include "core/metrics.h"
#include "net/event_loop.h"
#include "sources/current_boot.h"
#include "sources/ingest_socket.h"
#include "sources/inotify_watch.h"
#include "sources/logind_sessions.h"
#include "store/sqlite_store.h"
#include "utmpcd/api_server.h"
#include "utmpcd/config.h"
#include "utmpcd/daemon.h"
#include "utmpcd/history_lock.h"
#include "utmpcd/live_sessions.h"
#include "utmpcd/log_ingest.h"
#include "net/notify.h"

namespace utmpcd {

// One followed file: its ingest, its inotify watch, and the watch's descriptor in the loop.
struct Followed {
  std::unique_ptr<SourceIngest> ingest;
  std::optional<InotifyWatch> watch;
  std::unique_ptr<ReadableWait> readable;
  // Which of the source's descriptors `readable` waits on, when it has its own
  // (SourceIngest::own_fd): a source that opened anew (the journal after an error) has another,
  // waited on instead.
  uint64_t watched_generation = 0;
  // Why the file cannot be read now ("" when it can): said once when it starts, once when it
  // ends.
  std::string problem;
  bool missing = false;  // `problem` is that the path does not exist
  uint64_t stored = 0;   // events stored from it by this run
};

class Daemon::Loop {
 public:
  Loop(DaemonConfig& config, std::string& config_path)
      : config_(config), config_path_(config_path), signals_(loop_, {SIGINT, SIGTERM, SIGHUP}),
        retry_(loop_), recheck_(loop_) {
    // Listed from the start at 0 (rate() over a series that appears later misses its first).
    for (EventKind kind : {EventKind::kLogin, EventKind::kLogout, EventKind::kBoot,
                           EventKind::kShutdown, EventKind::kFailed}) {
      events_stored_.Add({EventKindName(kind)}, 0);
    }
    for (EventSource source : {EventSource::kBtmp, EventSource::kJournal, EventSource::kPam}) {
      failed_logins_.Add({EventSourceName(source)}, 0);
    }
  }

  Result<void> Open();
  int Run();
  // After Open of an import (--once): says what was stored, and whether everything asked for
  // was; the exit status (1 when a file could not be read or the store refused).
  int FinishImport();

 private:
  Result<void> Follow(const std::string& path, EventSource source);
  // The history files to follow, and as what ([sources] history).
  std::vector<std::pair<std::string, EventSource>> HistoryFiles() const;
  // Where failed logins come from ([sources] failed): btmp's path, or the journal's directory
  // ("" for the system journal).
  std::vector<std::pair<std::string, EventSource>> FailedSources() const;
  // wtmpdb's database: the configured one, or the first that exists of its usual places.
  std::string WtmpdbPath() const;
  // What the daemon reads once it runs as its user: said at start when it cannot.
  std::vector<std::string> ReadPaths() const;
  void Arm(Followed& f);
  // Ingests everything pending of `f`; on a store error, schedules a retry of all files.
  void Catch(Followed& f);
  // Says when `f` stops or starts being readable (once each), and schedules a recheck.
  void NoteReadable(Followed& f, const SourceIngest::Progress& progress);
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
  // The sockets systemd handed over (socket activation), taken once at Open.
  ListenFds handed_;
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
  EventLoop loop_;
  SignalWait signals_;
  Timer retry_;
  std::chrono::seconds retry_delay_{1};
  bool retry_pending_ = false;
  Timer recheck_;
  std::chrono::seconds recheck_delay_{2};
  bool recheck_pending_ = false;
  bool running_ = false;  // Run() has started: watches created later must be armed
  CurrentBoot boot_ = ReadCurrentBoot();
  std::optional<HistoryLock> lock_;
  std::string history_id_;  // the store's, in every event id the stream sends
  std::string store_problem_;  // why the store cannot be written now ("" when it can)
  std::unique_ptr<SqliteStore> store_;
  std::vector<std::unique_ptr<Followed>> followed_;
  // None yet: the first wake applies it (the steady clock counts from the machine's boot, so
  // a zero time would skip the first hour after a boot).
  std::optional<std::chrono::steady_clock::time_point> last_retention_;
  std::optional<InotifyWatch> utmp_watch_;
  std::optional<LogindMonitor> logind_;  // set when live sessions come from logind
  std::unique_ptr<ReadableWait> live_readable_;
  LiveSessions live_;
  // Per live session (by LiveSessions key): the wait on its leader's pidfd, then the grace timer.
  std::map<std::string, std::unique_ptr<ReadableWait>> leader_waits_;
  std::map<std::string, std::unique_ptr<Timer>> grace_timers_;
  std::optional<IngestSocket> ingest_;
  std::unique_ptr<ReadableWait> ingest_readable_;
  std::vector<Event> pending_pam_;  // received, not yet stored (a store error): retried
  std::unique_ptr<Timer> watchdog_;
  std::shared_ptr<LiveView> live_view_ = std::make_shared<LiveView>();
  // GET /metrics: the API's counts and the store's (StoreOptions::on_append, CountStored).
  std::shared_ptr<MetricsRegistry> metrics_ = std::make_shared<MetricsRegistry>();
  MetricFamily& events_stored_ = metrics_->Add(
      "utmpcd_events_stored_total", "Events stored in the history, by kind.", MetricType::kCounter,
      {"kind"});
  MetricFamily& failed_logins_ = metrics_->Add(
      "utmpcd_failed_logins_total",
      "Failed logins stored, by where they were read (btmp, journal, pam).", MetricType::kCounter,
      {"source"});
  MetricFamily& append_seconds_ = metrics_->Add(
      "utmpcd_store_append_seconds",
      "How long storing a batch of events took (one transaction, cursors included).",
      MetricType::kHistogram, {}, LatencyBuckets());
  void CountStored(std::span<const Event> stored, double seconds);
  std::unique_ptr<ApiServer> api_;
};

}  // namespace utmpcd
