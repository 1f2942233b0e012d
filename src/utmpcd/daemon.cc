// Daemon::Loop (daemon_loop.h): opening the store, following wtmp and btmp into it, retries,
// signals and the run. The live sessions and PAM events are in daemon_live.cc.
#include "utmpcd/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/version.h"
#include "utmpcd/daemon_loop.h"
#include "formats/wtmpdb.h"
#include "utmpcd/lastlog_import.h"
#include "net/notify.h"
#include "net/privileges.h"
#include "utmpcd/sandbox.h"

namespace utmpcd {

// The names a request may call this host by (Host field): its hostname, the names /etc/hosts
// gives it along with that one (web1.example.org beside web1) or to loopback, and the
// configured ones. Nothing is looked up in DNS: the start waits for no name server.
std::vector<std::string> ThisHostNames(const std::vector<std::string>& configured) {
  std::vector<std::string> names = configured;
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return names;
  const std::string hostname = buffer;
  names.push_back(hostname);
  std::ifstream hosts("/etc/hosts");
  std::string line;
  while (std::getline(hosts, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream fields(line);
    std::string address, name;
    std::vector<std::string> aliases;
    fields >> address;
    while (fields >> name) aliases.push_back(name);
    // Its own lines, and loopback's (localhost.localdomain, ip6-localhost).
    bool loopback = address.rfind("127.", 0) == 0 || address == "::1";
    if (!loopback && std::find(aliases.begin(), aliases.end(), hostname) == aliases.end()) continue;
    names.insert(names.end(), aliases.begin(), aliases.end());
  }
  return names;
}

// A user to run as that does not exist: never a silent run as root. It is created with the
// package (sysusers.d), by scripts/daemon_user.sh, or root is asked for in so many words.
tl::unexpected<Error> UserMissing(const Error& error) {
  return tl::unexpected(Error{ErrorCode::kNotFound,
                              fmt::format("{}: create it (systemd-sysusers utmpcd.conf, or "
                                          "scripts/daemon_user.sh), or run as root with --user "
                                          "root or [daemon] user = \"root\"",
                                          error.message)});
}

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

void Daemon::Loop::OpenApi() {
  // Sockets systemd handed over (utmpcd.socket) are the ones served: the configured addresses
  // are then the socket unit's business, and binding them too would collide with it.
  const ListenFds& handed = handed_;
  // (The ingest socket alone does not count: port 431 is then the configuration's.)
  const bool activated = !handed.stream.empty() || !handed.datagram.empty();
  if (!activated && config_.http_listen.empty() && config_.api_socket.empty() &&
      config_.udp_listen.empty() && config_.finger_listen.empty()) {
    return;
  }
  ApiServerOptions options;
  if (activated) {
    options.inherited_fds = handed.stream;
    Log(LogLevel::kInfo, "serving the {} sockets systemd handed over",
        handed.stream.size() + handed.datagram.size());
  } else {
    options.listen = config_.http_listen;
    options.unix_socket = config_.api_socket;
  }
  options.max_connections = config_.http_max_connections;
  options.max_connections_per_source = config_.http_max_connections_per_source;
  options.requests_per_second = config_.http_requests_per_second;
  options.request_burst = config_.http_request_burst;
  options.query_budget_ms = config_.http_query_budget_ms;
  options.max_queued_queries = config_.http_max_queued_queries;
  options.idle_timeout_s = config_.http_idle_timeout_s;
  options.request_timeout_s = config_.http_request_timeout_s;
  options.heartbeat_s = config_.http_heartbeat_s;
  options.tls = config_.tls;
  if (activated ? !handed.datagram.empty() : !config_.udp_listen.empty()) {
    options.udp = UdpOptions{.listen = activated ? std::vector<std::string>() : config_.udp_listen,
                             .inherited_fds = handed.datagram,
                             .rate_per_prefix = config_.udp_rate_per_prefix,
                             .burst = config_.udp_burst,
                             .discovery = config_.udp_discovery,
                             .snapshot_max_age_ms = 1000,
                             .may_list_sessions = nullptr};
  }
  if (!config_.finger_listen.empty()) {
    if (activated) {
      // Under socket activation the daemon binds nothing of its configuration (and never has
      // the root that port 79 needs).
      Log(LogLevel::kWarning,
          "[finger] listen is not served under socket activation, which binds nothing of the "
          "configuration: run utmpcd.service without utmpcd.socket to answer finger "
          "(utmpcd(8), FINGER)");
    } else {
      options.finger = FingerOptions{.listen = config_.finger_listen};
    }
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
                 .history_id = history_id_,
                 .access = {.rules = config_.access, .utmp_gid = std::nullopt},
                 .host_names = ThisHostNames(config_.http_host_names),
                 .access_log = config_.access_log};
  if (const struct group* utmp = ::getgrnam("utmp")) options.api.access.utmp_gid = utmp->gr_gid;
  for (const AccessRule& rule : config_.access) {
    if (!rule.client_subject.empty() && (!config_.tls || config_.tls->files.client_ca.empty())) {
      Log(LogLevel::kWarning,
          "[[access]] client_subject \"{}\" matches no request: without [tls] client_ca no "
          "client certificate is asked for",
          rule.client_subject);
    }
  }
  options.metrics = metrics_;
  auto server = ApiServer::Open(options, live_view_);
  if (!server) {
    // The history matters more than the API: keep recording, say loudly what is not served.
    Log(LogLevel::kError, "the API is not served: {}", server.error().message);
    return;
  }
  api_ = std::move(*server);
}

void Daemon::Loop::KeepWatchdog(std::chrono::microseconds every) {
  if (!watchdog_) watchdog_ = std::make_unique<Timer>(loop_);
  NotifyWatchdog();
  watchdog_->After(every, [this, every] { KeepWatchdog(every); });
}

Result<void> Daemon::Loop::Open() {
  // The user to run as exists, before the store is created or migrated as root.
  if (::geteuid() == 0 && config_.user != "root") {
    if (auto user = LookUpRunAsUser(config_.user, {"utmp"}); !user) {
      if (user.error().code == ErrorCode::kNotFound) return UserMissing(user.error());
      return tl::unexpected(user.error());
    }
  }
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
  handed_ = TakeListenFds();
  OpenApi();
  OpenIngest();
  if (auto dropped = DropRoot(); !dropped) return dropped;
  if (store_) {
    if (auto ok = StartIngest(); !ok) return ok;
  }
  if (!config_.once) WatchLive();
  // From here on, the system calls of the daemon's work only (utmpcd/sandbox.h). A kernel or
  // an outer sandbox that allows no filter of its own is said loudly, not fatal: the daemon is
  // no less safe than without the filter.
  if (auto sandboxed = EnterSandbox(config_.seccomp); !sandboxed) {
    Log(LogLevel::kError, "running without the daemon's seccomp filter: {}",
        sandboxed.error().message);
  }
  return {};
}

// The history's directory and files are the daemon's alone, as sshd's StrictModes asks of a
// user's keys: a directory any user may write to would let one plant a symbolic link where
// SQLite then writes (history.db-wal -> /etc/shadow), or swap the history for another. A
// directory writable by every user is refused, as is one owned by neither root nor the user the
// daemon runs as, one below a directory others may write to (unless sticky) or that belongs to
// another user, and any of the history's files that is a symbolic link.
Result<void> CheckHistoryPaths(const std::string& database, const std::string& user) {
  std::filesystem::path db(database);
  std::string dir = db.has_parent_path() ? db.parent_path().string() : std::string(".");
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return tl::unexpected(ErrnoError(dir, errno));
  uid_t owner_ok = 0;
  if (const struct passwd* pw = ::getpwnam(user.c_str())) owner_ok = pw->pw_uid;
  if ((st.st_mode & S_IWOTH) != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: the history's directory is writable by every user (mode "
                                 "{:o}): give it its own (chmod o-w, or --database elsewhere)",
                                 dir, st.st_mode & 07777));
  }
  if (st.st_uid != 0 && st.st_uid != owner_ok && st.st_uid != ::geteuid()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: the history's directory belongs to uid {}, neither root "
                                 "nor the daemon's user",
                                 dir, st.st_uid));
  }
  // Every directory above it, up to /, as well: one another user may write to could have the
  // history's directory renamed away and another put in its place. A sticky directory (/tmp)
  // lets nobody rename what is not theirs.
  char* resolved = ::realpath(dir.c_str(), nullptr);
  if (resolved == nullptr) return tl::unexpected(ErrnoError(dir, errno));
  std::filesystem::path above = std::filesystem::path(resolved).parent_path();
  ::free(resolved);
  for (;; above = above.parent_path()) {
    if (::stat(above.c_str(), &st) != 0) return tl::unexpected(ErrnoError(above.string(), errno));
    const bool sticky = (st.st_mode & S_ISVTX) != 0;
    const bool others_write = (st.st_mode & S_IWOTH) != 0 || ((st.st_mode & S_IWGRP) != 0 && st.st_gid != 0);
    if ((others_write && !sticky) ||
        (st.st_uid != 0 && st.st_uid != owner_ok && st.st_uid != ::geteuid())) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: a directory above the history's may be changed by other "
                                   "users (uid {}, mode {:o}): keep the history where only root "
                                   "and the daemon's user can write",
                                   above.string(), st.st_uid, st.st_mode & 07777));
    }
    if (above == above.root_path() || above.empty()) break;
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal", ".lock"}) {
    std::string path = database + suffix;
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       path + ": a symbolic link where the history's file should be; refused");
    }
  }
  return {};
}

Result<void> Daemon::Loop::OpenStore() {
  // Before the store: a second daemon must not even migrate or import.
  if (!lock_) {
    if (auto safe = CheckHistoryPaths(config_.database, config_.user); !safe) {
      return tl::unexpected(safe.error());
    }
    auto lock = HistoryLock::Acquire(config_.database);
    if (!lock) return tl::unexpected(lock.error());
    lock_.emplace(std::move(*lock));
  }
  auto store = SqliteStore::Open(
      config_.database,
      {.on_append = [this](std::span<const Event> stored, double seconds) {
        CountStored(stored, seconds);
      }});
  if (!store) return tl::unexpected(store.error());
  auto id = HistoryId(**store);
  if (!id) return tl::unexpected(id.error());
  history_id_ = *id;
  store_ = std::move(*store);
  return {};
}

void Daemon::Loop::CountStored(std::span<const Event> stored, double seconds) {
  // Counted here, then added once per kind: an import of a million records takes the
  // families' locks a few times per batch, not once per event.
  std::map<EventKind, int64_t> by_kind;
  std::map<EventSource, int64_t> failed_by_source;
  for (const Event& e : stored) {
    ++by_kind[e.kind];
    if (e.kind == EventKind::kFailed) ++failed_by_source[e.source];
  }
  for (const auto& [kind, n] : by_kind) {
    events_stored_.Add({EventKindName(kind)}, static_cast<double>(n));
  }
  for (const auto& [source, n] : failed_by_source) {
    failed_logins_.Add({EventSourceName(source)}, static_cast<double>(n));
  }
  append_seconds_.Observe({}, seconds);
}

Result<void> Daemon::Loop::StartIngest() {
  if (auto imported = ImportLastlogOnce(config_.lastlog, store_.get()); !imported) {
    Log(LogLevel::kWarning, "lastlog not imported: {}", imported.error().message);
  } else if (*imported > 0) {
    Log(LogLevel::kInfo, "imported the last logins of {} users from {}", *imported,
        config_.lastlog);
  }
  if (auto imported = ImportLastlog2Once(config_.lastlog2, store_.get()); !imported) {
    Log(LogLevel::kWarning, "lastlog2 not imported: {}", imported.error().message);
  } else if (*imported > 0) {
    Log(LogLevel::kInfo, "imported the last logins of {} users from {}", *imported,
        config_.lastlog2);
  }
  for (const auto& [path, source] : HistoryFiles()) {
    if (auto ok = Follow(path, source); !ok) return ok;
  }
  for (const auto& [path, source] : FailedSources()) {
    if (auto ok = Follow(path, source); !ok) return ok;
  }
  ApplyRetention();
  return {};
}

std::vector<std::string> Daemon::Loop::ReadPaths() const {
  std::vector<std::string> paths = {config_.wtmp, config_.btmp, config_.utmp, config_.lastlog,
                                    config_.lastlog2, WtmpdbPath()};
  // The journal's files, where failed logins come from it: in a directory of the machine's id
  // (journald makes them root:systemd-journal 0640, the directory 2750).
  for (const auto& [path, source] : FailedSources()) {
    if (source != EventSource::kJournal) continue;
    std::ifstream id_file("/etc/machine-id");
    std::string id;
    id_file >> id;
    std::vector<std::string> dirs = {path};
    if (path.empty()) dirs = {"/var/log/journal", "/run/log/journal"};
    for (const std::string& dir : dirs) {
      if (!id.empty()) paths.push_back(dir + "/" + id + "/system.journal");
      paths.push_back(dir + "/system.journal");
    }
  }
  return paths;
}

std::string Daemon::Loop::WtmpdbPath() const {
  if (!config_.wtmpdb.empty()) return config_.wtmpdb;
  const char* existing = ExistingWtmpdbPath();
  return existing != nullptr ? existing : kWtmpdbPaths[0];
}

std::vector<std::pair<std::string, EventSource>> Daemon::Loop::HistoryFiles() const {
  const std::string& mode = config_.history_source;
  std::pair<std::string, EventSource> wtmp{config_.wtmp, EventSource::kWtmp};
  std::pair<std::string, EventSource> wtmpdb{WtmpdbPath(), EventSource::kWtmpdb};
  if (mode == "wtmp") return {wtmp};
  if (mode == "wtmpdb") return {wtmpdb};
  if (mode == "both") return {wtmp, wtmpdb};
  // auto: what the host has. A host upgraded from wtmp to wtmpdb has both, the old history in
  // one and the new in the other.
  struct stat st {};
  const bool has_wtmp = ::stat(wtmp.first.c_str(), &st) == 0;
  const bool has_wtmpdb = ::stat(wtmpdb.first.c_str(), &st) == 0;
  if (has_wtmp && !has_wtmpdb) return {wtmp};
  if (has_wtmpdb && !has_wtmp) return {wtmpdb};
  return {wtmp, wtmpdb};
}

std::vector<std::pair<std::string, EventSource>> Daemon::Loop::FailedSources() const {
  const std::string& mode = config_.failed_source;
  std::pair<std::string, EventSource> btmp{config_.btmp, EventSource::kBtmp};
  std::pair<std::string, EventSource> journal{config_.journal_directory, EventSource::kJournal};
  if (mode == "btmp") return {btmp};
  if (mode == "journal") return {journal};
  if (mode == "both") return {btmp, journal};
  if (mode == "none") return {};
  // auto: btmp where the history is wtmp's (sshd and login write it there), the journal where
  // it is wtmpdb's (Debian 13's sshd writes no btmp).
  std::vector<std::pair<std::string, EventSource>> sources;
  for (const auto& [path, source] : HistoryFiles()) {
    sources.push_back(source == EventSource::kWtmp ? btmp : journal);
  }
  return sources;
}

void Daemon::Loop::ScheduleStoreOpen() {
  retry_.After(retry_delay_, [this] {
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
  // Started as its user (systemd's User=): the capability to bind port 431, if it was given
  // one, is spent once the ports are bound.
  if (::geteuid() != 0) return DropCapabilities();
  if (config_.user == "root") {
    Log(LogLevel::kInfo, "running as root, as --user or [daemon] user says");
    return {};
  }
  // utmp to read btmp; systemd-journal (where there is one) to read the journal's failed logins.
  std::vector<std::string> kGroups = {"utmp"};
  if (::getgrnam("systemd-journal") != nullptr) kGroups.push_back("systemd-journal");
  auto user = LookUpRunAsUser(config_.user, kGroups);
  if (!user) {
    if (user.error().code == ErrorCode::kNotFound) return UserMissing(user.error());
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
      FindUnreadable(*user, ReadPaths());
  if (!unreadable) {
    Log(LogLevel::kWarning, "{}", unreadable.error().message);
  } else {
    for (const std::string& problem : *unreadable) Log(LogLevel::kError, "{}", problem);
  }
  // The TLS files are read now, as root; SIGHUP reads them again as the user. Said now, not
  // at the renewal, when a certificate about to expire could not be replaced.
  if (config_.tls) {
    std::vector<std::string> tls_files;
    for (const std::string* file : {&config_.tls->files.certificate, &config_.tls->files.key,
                                    &config_.tls->files.client_ca}) {
      if (!file->empty()) tls_files.push_back(*file);
    }
    if (auto tls_unreadable = FindUnreadable(*user, tls_files, false); tls_unreadable) {
      for (const std::string& problem : *tls_unreadable) {
        Log(LogLevel::kWarning, "{} (SIGHUP could not read it again: a renewed TLS certificate "
                                "would need a restart)",
            problem);
      }
    }
  }
  if (auto dropped = DropPrivileges(config_.user, kGroups); !dropped) {
    return tl::unexpected(dropped.error());
  }
  const struct group* primary = ::getgrgid(user->gid);
  std::string groups;
  for (const std::string& g : kGroups) groups += " and " + g;
  Log(LogLevel::kInfo, "running as {} (uid {}, groups {}{})", user->name, user->uid,
      primary != nullptr ? primary->gr_name : std::to_string(user->gid), groups);
  return {};
}

Result<void> Daemon::Loop::Follow(const std::string& path, EventSource source) {
  for (const auto& followed : followed_) {
    if (followed->ingest->path() == path) return {};  // a StartIngest tried again
  }
  auto f = std::make_unique<Followed>();
  if (source == EventSource::kJournal) {
    f->ingest = std::make_unique<JournalIngest>(path, store_.get(), &boot_);
  } else if (source == EventSource::kWtmpdb) {
    f->ingest = std::make_unique<WtmpdbIngest>(path, store_.get(), &boot_);
  } else {
    UtmpLayout layout = config_.layout.value_or(NativeLayout());
    f->ingest = std::make_unique<LogIngest>(path, source, layout, store_.get(), &boot_);
  }
  if (auto ok = f->ingest->Start(); !ok) return ok;
  // An import reads what is there, once. A file is watched before it is read, so that no write
  // falls between; a source that says itself when it changed has its descriptor once open.
  if (!config_.once && !f->ingest->own_fd()) Watch(*f);
  Catch(*f);
  if (!config_.once && f->ingest->own_fd()) Watch(*f);
  followed_.push_back(std::move(f));
  return {};
}

bool Daemon::Loop::Watch(Followed& f) {
  if (f.ingest->own_fd()) {
    const int fd = f.ingest->wait_fd();
    if (fd < 0) return false;  // not open yet: the recheck tries again
    f.readable = std::make_unique<ReadableWait>(loop_, fd);
    f.watched_generation = f.ingest->wait_generation();
    if (running_) Arm(f);
    return true;
  }
  auto watch = InotifyWatch::Create(f.ingest->path(), f.ingest->is_database());
  if (!watch) {
    // Without a watch the file is only read on the recheck timer: say so, and go on.
    Log(LogLevel::kWarning, "{}: not watched for changes: {}", f.ingest->path(),
        watch.error().message);
    return false;
  }
  f.watch.emplace(std::move(*watch));
  f.readable = std::make_unique<ReadableWait>(loop_, f.watch->fd());
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
      break;
    }
    NoteReadable(f, *progress);
    if (progress->events > 0) {
      f.stored += progress->events;
      Log(LogLevel::kDebug, "{}: stored {} events", f.ingest->path(), progress->events);
      Stored();
    }
    if (!progress->more) break;
  }
  // A source with a descriptor of its own that opened anew waits on the new one: the old one
  // (a duplicate the wait holds) would stay readable with nobody to drain it.
  // (Compared by the source's count of opens: a new descriptor may reuse the old number.)
  if (f.ingest->own_fd() && f.readable && f.ingest->wait_generation() != f.watched_generation) {
    f.readable.reset();
  }
}

void Daemon::Loop::NoteReadable(Followed& f, const SourceIngest::Progress& progress) {
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
  auto delay = recheck_delay_;
  recheck_delay_ = std::min(recheck_delay_ * 2, std::chrono::seconds(60));
  recheck_.After(delay, [this] {
    recheck_pending_ = false;
    bool again = false;
    for (auto& f : followed_) {
      if (!f->readable && !Watch(*f) && !f->ingest->own_fd()) again = true;
      if (f->problem.empty() || f->missing) continue;
      if (!retry_pending_) Catch(*f);
      if (!f->readable && f->ingest->own_fd() && !config_.once) Watch(*f);
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
  auto delay = retry_delay_;
  // Back off to at most 30 s: a full disk or a read-only database is fixed by a person.
  retry_delay_ = std::min(retry_delay_ * 2, std::chrono::seconds(30));
  retry_.After(delay, [this] {
    retry_pending_ = false;
    for (auto& f : followed_) {
      Catch(*f);
      if (!f->readable && f->ingest->own_fd() && !config_.once && !Watch(*f)) ScheduleRecheck();
    }
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
  f.readable->Wait([this, &f] {
    bool relevant = true;  // when in doubt, read
    auto events = f.watch ? f.watch->Drain() : Result<InotifyWatch::Events>(InotifyWatch::Events{});
    if (!f.watch) {
      // The source's own descriptor: reading it (Pump) is what takes its news.
    } else if (!events) {
      Log(LogLevel::kError, "{}: {}", f.ingest->path(), events.error().message);
    } else if (events->overflow) {
      Log(LogLevel::kWarning, "inotify queue overflowed; re-reading");
    } else {
      // Other files come and go in /var/log: only ours is read.
      relevant = events->modified || events->replaced || events->removed;
    }
    if (relevant && !retry_pending_) Catch(f);
    ApplyRetention();
    if (!f.readable) {  // its descriptor changed (Catch): wait on the new one
      if (!Watch(f)) ScheduleRecheck();
      return;
    }
    Arm(f);
  });
}

void Daemon::Loop::ApplyRetention() {
  if (config_.retention_days <= 0 || !store_) return;
  auto now = std::chrono::steady_clock::now();
  // At most hourly, and only when something woke the daemon anyway.
  if (last_retention_ && now - *last_retention_ < std::chrono::hours(1)) return;
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
    if (api_) api_->NotifyDeleted();
  }
}

void Daemon::Loop::OnSignal(int signal) {
  if (signal != SIGHUP) {
    Log(LogLevel::kInfo, "stopping ({})", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    NotifyStopping();
    loop_.Stop();
    return;
  }
  if (config_path_.empty()) {
    Log(LogLevel::kInfo, "SIGHUP: no configuration file to reload");
  } else if (auto reloaded = LoadConfig(config_path_, true); !reloaded) {
    Log(LogLevel::kError, "SIGHUP: keeping the running configuration: {}",
        reloaded.error().message);
  } else {
    bool paths_changed = reloaded->wtmp != config_.wtmp || reloaded->btmp != config_.btmp ||
                         reloaded->wtmpdb != config_.wtmpdb ||
                         reloaded->history_source != config_.history_source ||
                         reloaded->failed_source != config_.failed_source ||
                         reloaded->journal_directory != config_.journal_directory ||
                         reloaded->database != config_.database;
    // Access rules at once: a token withdrawn is refused from the next request on.
    config_.access = reloaded->access;
    config_.access_log = reloaded->access_log;
    config_.http_host_names = reloaded->http_host_names;
    if (api_) {
      AccessPolicy policy{.rules = config_.access, .utmp_gid = std::nullopt};
      if (const struct group* utmp = ::getgrnam("utmp")) policy.utmp_gid = utmp->gr_gid;
      // The host's names anew too: a renamed host, a new alias in /etc/hosts, host_names.
      api_->SetAccess(std::move(policy), config_.access_log,
                      ThisHostNames(config_.http_host_names));
    }
    // TLS files again: a renewed certificate is served from the next connection on.
    if (api_ && reloaded->tls && config_.tls) {
      if (auto tls = api_->ReloadTls(*reloaded->tls); !tls) {
        Log(LogLevel::kError, "SIGHUP: keeping the TLS certificate served: {}",
            tls.error().message);
      } else {
        config_.tls = reloaded->tls;
        Log(LogLevel::kInfo, "SIGHUP: TLS certificate and key reloaded from {}",
            config_.tls->files.certificate);
      }
    } else if (reloaded->tls.has_value() != config_.tls.has_value()) {
      Log(LogLevel::kWarning, "SIGHUP: turning [tls] {} takes a restart",
          reloaded->tls ? "on" : "off");
    }
    config_.debug = reloaded->debug || config_.debug_forced;
    config_.retention_days = reloaded->retention_days;
    config_.gone_grace_ms = reloaded->gone_grace_ms;
    SetLogDebug(config_.debug);
    Log(LogLevel::kInfo, "SIGHUP: configuration reloaded{}",
        paths_changed ? " (changed paths take effect at the next start)" : "");
  }
  signals_.Wait([this](int s) { OnSignal(s); });
}

int Daemon::Loop::Run() {
  signals_.Wait([this](int s) { OnSignal(s); });
  running_ = true;
  if (!store_) ScheduleStoreOpen();
  for (auto& f : followed_) {
    Arm(*f);
    if (!f->readable) ScheduleRecheck();
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
    where.clear();
    for (const std::string& e : api_->finger_endpoints()) {
      where += (where.empty() ? "" : ", ") + e;
    }
    if (!where.empty()) Log(LogLevel::kInfo, "finger on {}", where);
  }
  NotifyReady();
  // Pinged at half the interval systemd set, so one slow iteration does not cost a restart.
  if (uint64_t watchdog_us = WatchdogIntervalUs(); watchdog_us > 0) {
    KeepWatchdog(std::chrono::microseconds(watchdog_us / 2));
  }
  std::string files;
  for (const auto& f : followed_) files += (files.empty() ? "" : ", ") + f->ingest->path();
  Log(LogLevel::kInfo, "following {} into {}", files.empty() ? "nothing yet" : files,
      config_.database);
  loop_.Run();
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
