// Dropping root for good (DESIGN.md, "Access": the daemon opens what needs root, then runs as
// an unprivileged user). What needs root must be done before: binding port 431, opening the
// ingest socket (its directory is in /run), handing the store's and the socket's directories to
// the user (ChownToUser). The rest works after it, with group utmp: the store, wtmp, btmp (also
// reopened after a rotation), lastlog, utmp cleanup, logind, pidfds on any user's processes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace utmpcd {

// A user from the passwd database and the groups it will run with.
struct RunAsUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;              // its primary group
  std::vector<gid_t> groups;  // the supplementary groups: the extra groups asked for
  std::vector<std::string> group_names;
};

// Looks up `user` and its primary group, and each of `extra_groups` ("utmp": read btmp, write
// utmp and wtmp). Fails with kNotFound naming the user or group that does not exist, kIo when
// the user database cannot be read. Does not change anything.
Result<RunAsUser> LookUpRunAsUser(const std::string& user,
                                  const std::vector<std::string>& extra_groups);

// Whether `user` (with its groups) can follow each of `files`: search every directory down to
// the file's, list that directory (the inotify watch and a rotation need it) and read the file
// when it exists (a missing file is fine: it is read once it appears). Asked of the kernel by
// access(2) in a child process that becomes the user, so ACLs and every group count. Returns
// one message per file that cannot be followed: the first path refused, its mode and owner,
// and the chgrp/chmod that would let the user in. Call it as root, before DropPrivileges.
// Fails with kIo when the child process cannot be made.
// Without `list_directory`, a file is only read (a TLS key in /etc/ssl/private, mode 0710:
// read by name, never listed).
Result<std::vector<std::string>> FindUnreadable(const RunAsUser& user,
                                                const std::vector<std::string>& files,
                                                bool list_directory = true);

// Gives the directory `dir` and the regular files directly in it (history.db, its -wal and
// -shm) to `user` and its primary group, keeping their modes; a symbolic link is never
// followed (nor changed). Only for the daemon's own directories (/var/lib/utmpcd,
// /run/utmpcd), never a shared one such as /run itself. Call it as root, before DropPrivileges.
// Fails with kNotFound when the user or directory does not exist, kIo when chown(2) is refused.
Result<void> ChownToUser(const std::string& dir, const std::string& user);

// Becomes `user` for good: supplementary groups exactly `extra_groups`, real, effective and
// saved gid its primary group, then real, effective and saved uid; the kernel then clears every
// capability (all uids left 0). Checks that it worked: every id is the user's, setuid(0) and
// setgid(0) fail, no capability is left (a parent's locked securebits could keep them). Then
// sets PR_SET_NO_NEW_PRIVS (no setuid program run later raises privileges) and makes the
// process non-dumpable: the user's other processes cannot ptrace it nor read its memory or
// /proc/PID/environ, and it leaves no core file. glibc applies the ids to every thread of the
// process. Must be called as root (kInvalidArgument otherwise, and for a user with uid 0).
// Fails with kNotFound naming the user or group that does not exist, before anything changed;
// kIo when a system call or a check fails, after which the process may be half-changed and
// must exit.
Result<void> DropPrivileges(const std::string& user, const std::vector<std::string>& extra_groups);

// For a daemon started as its user (systemd's User= with AmbientCapabilities=CAP_NET_BIND_SERVICE
// for port 431): gives up every capability, ambient, inheritable, permitted and effective, of
// the calling thread (call it before starting threads), once the ports are bound; then sets
// PR_SET_NO_NEW_PRIVS. A no-op, bar the last, when it holds none. Fails with kIo naming the call.
Result<void> DropCapabilities();

}  // namespace utmpcd
