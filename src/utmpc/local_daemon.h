// Asking this host's utmpcd over its API socket (/run/utmpcd/api.sock, docs/PROTOCOL.md) for
// what `utmpc who`, `w`, `uptime` and `lastlog` print without a file, falling back to the files
// when no daemon answers: the options that choose (--socket, --no-daemon, --timeout,
// --verbose) and the two questions (GET /v1/sessions, GET /v1/lastlog).
#pragma once

#include <getopt.h>

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/wire_decode.h"

namespace utmpcd {

// Where utmpcd serves its API to local clients unless configured otherwise ([http] socket).
inline constexpr char kApiSocketPath[] = "/run/utmpcd/api.sock";

struct DaemonOptions {
  std::string socket;  // --socket; empty: $UTMPC_SOCKET when set and not empty, else the default
  bool no_daemon = false;  // --no-daemon: the files only
  bool verbose = false;    // --verbose: say on stderr what is read
  // A daemon on this host answers in milliseconds; one that takes longer is stuck, and the
  // files answer in that time.
  int64_t timeout_ms = 1000;
};

// getopt_long codes of --socket, --no-daemon, --timeout and --verbose (clear of the commands'
// own codes, which start at CHAR_MAX + 1, and of the network options at CHAR_MAX + 100).
enum DaemonOptionCode {
  kDaemonSocket = CHAR_MAX + 50,
  kDaemonNoDaemon,
  kDaemonTimeout,
  kDaemonVerbose,
};

// `own` (a command's long options, without the terminating entry) followed by the four and
// the terminating entry: a table for getopt_long.
std::vector<struct option> WithDaemonOptions(std::vector<struct option> own);

// The lines of a command's --help that describe them.
extern const char kDaemonOptionsHelp[];

// Handles getopt's `c` if it is one of the four (with optarg `arg`): returns -1 to go on, 1
// after printing why the value is bad, or -2 when `c` is not one of them.
int TakeDaemonOption(int c, const char* arg, const char* command, DaemonOptions* o);

// The socket to ask: o.socket, else $UTMPC_SOCKET, else kApiSocketPath.
std::string ApiSocketPath(const DaemonOptions& o);

// What asking came to.
enum class Asked {
  kAnswered,   // the daemon answered: print its rows
  kReadFiles,  // no daemon answered (or --no-daemon): read the files, as without utmpcd
  kFailed,     // --socket named a socket that did not answer; the reason is printed: exit 1
};

// GET /v1/sessions: who is logged in now, oldest login first, without the sessions whose
// process died (the daemon names them gone). `files` names what is read instead, for
// --verbose ("/var/run/utmp").
Asked AskSessions(const DaemonOptions& o, const char* command, std::string_view files,
                  std::vector<ApiSession>* sessions);

// GET /v1/lastlog: every user of the user database with their newest login; with `user`, the
// users of that name only.
Asked AskLastlog(const DaemonOptions& o, const char* command, std::string_view files,
                 const std::optional<std::string>& user, std::vector<ApiLastlog>* users);

// For --verbose when the daemon is not asked: "utmpc COMMAND: reading FILES".
void NoteReading(const DaemonOptions& o, const char* command, std::string_view files);

}  // namespace utmpcd
