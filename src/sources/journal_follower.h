// JournalFollower: failed logins from the systemd journal, for hosts without btmp (Debian 13):
// sshd's and PAM's authentication failures, followed from a stored journal cursor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/result.h"

namespace utmpcd {

// What one journal message says of a failed login; nullopt when it says none.
struct AuthFailure {
  std::string user;  // as logged ("" when the message names none)
  std::string host;  // the remote address or host ("" for a local login)
  std::string tty;   // "ssh:notty" for sshd, as sshd writes btmp; PAM's tty= otherwise
};

// Reads a message of the auth or authpriv facility as the program `identifier` logged it
// (SYSLOG_IDENTIFIER). A failed login is, as btmp records them:
//   sshd, sshd-session:  "Failed password for [invalid user ]USER from HOST port N ssh2",
//                        the same with "keyboard-interactive/pam" or "challenge-response"
//                        (not publickey nor hostbased: btmp never had those), and
//                        "Invalid user USER from HOST port N" (sshd writes btmp for it too);
//   any other program:   "pam_unix(SERVICE:auth): authentication failure; logname=... uid=...
//                        euid=... tty=TTY ruser=... rhost=HOST  user=USER" (login, su, sudo,
//                        ...). sshd's own pam_unix lines are not counted (its "Failed" line is).
// The user is what follows "for"/"user" up to the last " from " (a name may hold spaces, and
// even " from ": the last one is sshd's); in pam_unix's line, all after the first " user="
// that follows rhost= (a name may hold " user="). Pure; every byte sequence is safe (fuzz target
// fuzz_journal_message).
std::optional<AuthFailure> ParseAuthFailure(std::string_view identifier, std::string_view message);

struct JournalBatch {
  std::vector<Event> events;  // kind kFailed, source kJournal, in journal order
  std::string cursor;         // after the last entry read ("" when none was read yet)
  uint64_t ignored = 0;       // entries read that are no failed login, or not root's
  bool more = false;          // the entry limit was reached: Poll again
};

// Follows the journal: the system's (local, system scope) or the files of one directory.
// Only entries of facilities auth (4) and authpriv (10) whose sender is root (_UID 0: a
// field journald sets, which no sender can forge) are read: any user may log "sshd: Failed
// password for root", and must not be able to invent failed logins that way.
class JournalFollower {
 public:
  static constexpr size_t kDefaultMaxBatch = 4096;

  // `directory` "" for the system journal. `cursor`: the one stored with the last batch ("":
  // from the journal's beginning). Entries at or before skip_through_us (0: none) are read
  // over: what the history holds from elsewhere (btmp, before an upgrade). kUnsupported when
  // built without libsystemd.
  static Result<std::unique_ptr<JournalFollower>> Open(const std::string& directory,
                                                       const std::string& cursor,
                                                       int64_t skip_through_us = 0,
                                                       size_t max_batch = kDefaultMaxBatch);
  virtual ~JournalFollower() = default;
  // Readable when the journal changed (an inotify descriptor of sd-journal's).
  virtual int fd() const = 0;
  // Reads the entries after the cursor. Fails only when the journal cannot be read.
  virtual Result<JournalBatch> Poll() = 0;
};

}  // namespace utmpcd
