// Live sessions from systemd-logind through sd-login, for hosts with no utmp (DESIGN.md,
// "Sources"): the same LiveSession a utmp reading gives, and a descriptor that becomes readable
// when logind adds, changes or removes a session.
//
// Which sessions are listed and under which line follows who(1) of coreutils built to read
// logind (gnulib's readutmp), the tool that lists them on such hosts, so utmpcd and who agree:
//   line  the session's tty ("pts/0", "tty2"); without one its seat ("seat0", a graphical
//         login); without either, for a text or web session, its PAM service ("sshd": ssh
//         without a pty). A session with none of these (cron, a background job) is not a login
//         anyone sees in who(1) and is not listed.
//   host  the remote host; for an X11 session without one, its display (":0"), as in utmp.
// who(1) lists a session with both a seat and a tty twice; here it is one session, under its tty.
// Unlike who(1), a session in state "closing" is not listed: its user has logged out and only
// leftover processes keep it (KillUserProcesses=no), which utmp would show as a logout too.
// Sessions of class "manager" (systemd --user) are no logins and are not listed either.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "sources/logind_session_file.h"
#include "sources/utmp_snapshot.h"

struct sd_login_monitor;  // <systemd/sd-login.h>

namespace utmpcd {

// One logind session, as sd-login and its state file describe it.
struct LogindSession {
  std::string id;  // logind's id: "3", or "c1" for sessions started outside PAM
  uint32_t uid = 0;
  std::string state;          // "online", "active" or "closing"
  std::string type;           // "tty", "x11", "wayland", "mir", "web" or "unspecified"
  std::string session_class;  // "user", "greeter", "lock-screen", "background", ...
  std::string service;        // the PAM service that opened it: "sshd", "login", "gdm-password"
  std::string seat;           // "seat0" or empty
  std::string tty;            // as logind has it ("pts/0"), or empty
  std::string remote_host;    // as sd_session_get_remote_host gives it, or empty
  std::string display;        // the X11 display (":0"), or empty
  // The session as who(1) shows it: line and host as above; user from the uid (the passwd
  // database, else the name logind recorded, else the uid in decimal); pid the leader (0 when
  // logind has none); session the id when it is a number (0 for "c1"); id the logind id; addr
  // the remote host when it is an address literal; login time logind's realtime start.
  LiveSession live;
  bool listed = false;  // shown by who(1) and not closing: see the top of this file
};

// Whether logind runs here: the system was booted with systemd (sd_booted(3)) and logind keeps
// its seat directory (/run/systemd/seats), as systemd's own tools check. False in a container
// without systemd, on non-systemd hosts, and in builds without libsystemd.
bool LogindAvailable();

// Every session logind lists now, sorted by login time, then id. A session that ends while it
// is being read is left out (its file is gone). Fails with kUnsupported when logind is not
// available ("systemd-logind is not running here"), kIo when sd_get_sessions(3) fails.
Result<std::vector<LogindSession>> ReadLogindSessions();

// The `live` part of the listed sessions, in the same order: what the daemon follows.
std::vector<LiveSession> ListedSessions(const std::vector<LogindSession>& sessions);

// ReadLogindSessions then ListedSessions: the drop-in for ReadUtmpSnapshot on a logind host.
Result<std::vector<LiveSession>> ReadLogindLiveSessions();

// Fills session.live and session.listed from the other fields and from what the state file
// says (LogindSessionFile: leader, start time, recorded user name): the naming rules at the
// top, with no system call but the passwd lookup of the uid. Exposed for tests.
void DescribeLogindSession(LogindSession& session, const LogindSessionFile& file);

// sd_login_monitor_new("session"): an inotify descriptor on /run/systemd/sessions that becomes
// readable when a session appears, changes state or goes (logind writes each change by
// renaming a new state file into place). fd() is non-blocking and close-on-exec, for an event
// loop; once it is readable, call Flush() and then ReadLogindSessions(), in that order, so that
// a change landing after the read makes fd() readable again. Not thread-safe.
class LogindMonitor {
 public:
  // Fails with kUnsupported when logind is not available, kIo when sd_login_monitor_new does
  // (inotify limits reached; /run/systemd/sessions missing).
  static Result<LogindMonitor> Create();
  LogindMonitor(LogindMonitor&& other) noexcept;
  LogindMonitor& operator=(LogindMonitor&& other) noexcept;
  LogindMonitor(const LogindMonitor&) = delete;
  LogindMonitor& operator=(const LogindMonitor&) = delete;
  ~LogindMonitor();

  int fd() const;
  // Discards the pending notifications without blocking. Fails with kIo only when read(2) does.
  Result<void> Flush();

 private:
  LogindMonitor() = default;

  ::sd_login_monitor* monitor_ = nullptr;
};

}  // namespace utmpcd
