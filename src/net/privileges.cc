#include "net/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

namespace utmpcd {
namespace {

// The lookup buffers grow to this at most: an entry larger than 1 MiB is no user or group.
constexpr size_t kMaxEntryBuffer = 1 << 20;

// getpwnam_r / getgrnam_r report "no such entry" as 0 with no result, or (by NSS module) as
// ENOENT, ESRCH, EBADF or EPERM (getpwnam_r(3)).
bool IsNotFound(int err) {
  return err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
}

struct UserEntry {
  uid_t uid;
  gid_t gid;
};

Result<UserEntry> LookUpUser(const std::string& user) {
  std::string buffer(16384, '\0');
  passwd pw{};
  passwd* found = nullptr;
  int err;
  while ((err = ::getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < kMaxEntryBuffer) {
    buffer.resize(buffer.size() * 2);
  }
  if (found != nullptr) return UserEntry{pw.pw_uid, pw.pw_gid};
  if (IsNotFound(err)) {
    return MakeError(ErrorCode::kNotFound, "user '" + user + "' does not exist");
  }
  return tl::unexpected(ErrnoError("looking up user '" + user + "'", err));
}

Result<gid_t> LookUpGroup(const std::string& name, const std::string& user) {
  std::string buffer(16384, '\0');
  struct group gr {};
  struct group* found = nullptr;
  int err;
  while ((err = ::getgrnam_r(name.c_str(), &gr, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < kMaxEntryBuffer) {
    buffer.resize(buffer.size() * 2);
  }
  if (found != nullptr) return gr.gr_gid;
  if (IsNotFound(err)) {
    return MakeError(ErrorCode::kNotFound,
                     "group '" + name + "' (for user '" + user + "') does not exist");
  }
  return tl::unexpected(ErrnoError("looking up group '" + name + "'", err));
}

// Whether the calling thread holds any capability, effective or permitted (capget(2); no
// libcap for one system call).
Result<bool> HoldsCapabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) {
    return tl::unexpected(ErrnoError("capget", errno));
  }
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0) return true;
  }
  return false;
}

// After the change: every id is the user's, root cannot be had back, no capability is left.
Result<void> Verify(const RunAsUser& u) {
  uid_t ruid, euid, suid;
  gid_t rgid, egid, sgid;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0) {
    return tl::unexpected(ErrnoError("getresuid", errno));
  }
  if (ruid != u.uid || euid != u.uid || suid != u.uid || rgid != u.gid || egid != u.gid ||
      sgid != u.gid) {
    return MakeError(ErrorCode::kIo, "dropping to user '" + u.name + "': ids did not change");
  }
  if (::setuid(0) == 0 || ::setgid(0) == 0) {
    return MakeError(ErrorCode::kIo,
                     "dropping to user '" + u.name + "': root could be regained afterwards");
  }
  auto caps = HoldsCapabilities();
  if (!caps) return tl::unexpected(caps.error());
  if (*caps) {
    return MakeError(ErrorCode::kIo,
                     "dropping to user '" + u.name + "': capabilities remain (securebits?)");
  }
  return {};
}

// setgroups, then setresgid, then setresuid: once the uid is no longer 0, the groups can no
// longer be changed. Only system calls: safe in a child between fork and exit.
Result<void> SwitchIds(const RunAsUser& u) {
  if (::setgroups(u.groups.size(), u.groups.data()) != 0) {
    return tl::unexpected(ErrnoError("setgroups for user '" + u.name + "'", errno));
  }
  if (::setresgid(u.gid, u.gid, u.gid) != 0) {
    return tl::unexpected(ErrnoError("setresgid for user '" + u.name + "'", errno));
  }
  if (::setresuid(u.uid, u.uid, u.uid) != 0) {
    return tl::unexpected(ErrnoError("setresuid for user '" + u.name + "'", errno));
  }
  return {};
}

// One access(2) the user must pass for a file to be followed.
struct AccessCheck {
  std::string path;
  int mode;          // R_OK or X_OK
  std::string file;  // the followed file it is for
};

// What the user needs of each file: search on every directory from / down to the file's (to
// open it by name, again after a rotation), read on that directory (the watch, and finding a
// file rotated while the daemon was stopped), read on the file when it exists.
std::vector<AccessCheck> ChecksFor(const std::vector<std::string>& files, bool list_directory) {
  namespace fs = std::filesystem;
  std::vector<AccessCheck> checks;
  for (const std::string& file : files) {
    fs::path dir = fs::absolute(fs::path(file)).lexically_normal().parent_path();
    fs::path prefix;
    bool exists = true;
    struct stat st {};
    for (const fs::path& part : dir) {
      prefix /= part;
      // A directory that does not exist (yet) is nothing to read: the file is waited for.
      if (::stat(prefix.c_str(), &st) != 0) {
        exists = false;
        break;
      }
      checks.push_back({prefix.string(), X_OK, file});
    }
    if (!exists) continue;
    if (list_directory) checks.push_back({dir.string(), R_OK, file});
    if (::stat(file.c_str(), &st) == 0) checks.push_back({file, R_OK, file});
  }
  return checks;
}

std::string ModeString(mode_t mode) {
  std::string s = S_ISDIR(mode) ? "d" : S_ISREG(mode) ? "-" : "?";
  const char* bits = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (mode & (0400 >> i)) ? bits[i] : '-';
  return s;
}

std::string OwnerOf(const struct stat& st) {
  const passwd* pw = ::getpwuid(st.st_uid);
  std::string owner = pw != nullptr ? pw->pw_name : std::to_string(st.st_uid);
  const struct group* gr = ::getgrgid(st.st_gid);
  return owner + ":" + (gr != nullptr ? gr->gr_name : std::to_string(st.st_gid));
}

// "user '_utmpcd' (groups _utmpcd, utmp) cannot read /x/wtmp (-rw------- root:root); to let
// it: chgrp utmp /x/wtmp && chmod g+r /x/wtmp".
std::string Explain(const AccessCheck& check, const RunAsUser& u) {
  namespace fs = std::filesystem;
  struct stat st {};
  bool dir = check.path != check.file;
  std::string what = !dir ? "read" : check.mode == X_OK ? "search directory" : "list directory";
  std::string found = ::stat(check.path.c_str(), &st) == 0
                          ? " (" + ModeString(st.st_mode) + " " + OwnerOf(st) + ")"
                          : "";
  const struct group* primary = ::getgrgid(u.gid);
  std::string groups = primary != nullptr ? primary->gr_name : std::to_string(u.gid);
  for (const std::string& g : u.group_names) groups += ", " + g;
  // The fix goes through a group the user has: utmp, the group of the login files.
  std::string group = u.group_names.empty() ? std::to_string(u.gid) : u.group_names.front();
  // The file's own directory needs both (the watch lists it), so both are asked for at once.
  bool own_dir = dir && check.path == fs::absolute(fs::path(check.file))
                                          .lexically_normal()
                                          .parent_path()
                                          .string();
  std::string bit = own_dir ? "g+rx" : check.mode == X_OK ? "g+x" : "g+r";
  std::string message = "user '" + u.name + "' (groups " + groups +
                        ") cannot " + what + " " + check.path + found;
  if (dir) message += ", so it cannot follow " + check.file;
  return message + "; to let it: chgrp " + group + " " + check.path + " && chmod " + bit + " " +
         check.path + " (or run utmpcd as root: --user root)";
}

}  // namespace

Result<std::vector<std::string>> FindUnreadable(const RunAsUser& user,
                                                const std::vector<std::string>& files,
                                                bool list_directory) {
  std::vector<AccessCheck> checks = ChecksFor(files, list_directory);
  std::vector<const char*> paths;  // the child allocates nothing
  for (const AccessCheck& c : checks) paths.push_back(c.path.c_str());
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return tl::unexpected(ErrnoError("pipe", errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    Error error = ErrnoError("fork", errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return tl::unexpected(error);
  }
  if (pid == 0) {
    // One byte per check, 1 when access(2) allows it; nothing when the ids cannot change.
    ::close(pipe_fds[0]);
    if (SwitchIds(user)) {
      for (size_t i = 0; i < paths.size(); ++i) {
        char ok = ::access(paths[i], checks[i].mode) == 0 ? 1 : 0;
        if (::write(pipe_fds[1], &ok, 1) != 1) break;
      }
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string answers;
  char buffer[256];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) answers.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (answers.size() != checks.size()) {
    return MakeError(ErrorCode::kIo, "checking what user '" + user.name +
                                         "' can read: the checking process failed");
  }
  // The first refusal of each file is what to fix first.
  std::vector<std::string> problems;
  std::string last_file;
  for (size_t i = 0; i < checks.size(); ++i) {
    if (answers[i] != 0 || checks[i].file == last_file) continue;
    last_file = checks[i].file;
    problems.push_back(Explain(checks[i], user));
  }
  return problems;
}

Result<RunAsUser> LookUpRunAsUser(const std::string& user,
                                  const std::vector<std::string>& extra_groups) {
  if (user.empty()) return MakeError(ErrorCode::kInvalidArgument, "no user name given");
  auto entry = LookUpUser(user);
  if (!entry) return tl::unexpected(entry.error());
  RunAsUser u;
  u.name = user;
  u.uid = entry->uid;
  u.gid = entry->gid;
  for (const std::string& name : extra_groups) {
    auto gid = LookUpGroup(name, user);
    if (!gid) return tl::unexpected(gid.error());
    u.groups.push_back(*gid);
    u.group_names.push_back(name);
  }
  return u;
}

Result<void> ChownToUser(const std::string& dir, const std::string& user) {
  auto u = LookUpRunAsUser(user, {});
  if (!u) return tl::unexpected(u.error());
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    Error error = ErrnoError("open " + dir, err);
    if (err == ENOENT) error.code = ErrorCode::kNotFound;
    return tl::unexpected(error);
  }
  if (::fchown(fd, u->uid, u->gid) != 0) {
    Error error = ErrnoError("chown " + dir + " to " + user, errno);
    ::close(fd);
    return tl::unexpected(error);
  }
  // fdopendir takes its descriptor over: give it a copy, and keep `fd` for fchownat.
  DIR* entries = ::fdopendir(::dup(fd));
  if (entries == nullptr) {
    Error error = ErrnoError("read directory " + dir, errno);
    ::close(fd);
    return tl::unexpected(error);
  }
  Result<void> result;
  while (const dirent* e = ::readdir(entries)) {
    struct stat st {};
    if (::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::fchownat(fd, e->d_name, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) != 0) {
      result = tl::unexpected(ErrnoError("chown " + dir + "/" + e->d_name + " to " + user, errno));
      break;
    }
  }
  ::closedir(entries);
  ::close(fd);
  return result;
}

Result<void> DropPrivileges(const std::string& user, const std::vector<std::string>& extra_groups) {
  auto u = LookUpRunAsUser(user, extra_groups);
  if (!u) return tl::unexpected(u.error());
  if (u->uid == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "user '" + user + "' is root (uid 0): nothing would be dropped");
  }
  if (::geteuid() != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot become user '" + user + "': not running as root");
  }
  if (auto switched = SwitchIds(*u); !switched) return switched;
  if (auto ok = Verify(*u); !ok) return ok;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return tl::unexpected(ErrnoError("prctl(PR_SET_NO_NEW_PRIVS)", errno));
  }
  // The kernel already made the process non-dumpable unless fs.suid_dumpable is 1 (debugging);
  // login data in memory stays closed to the user's other processes whatever the sysctl says.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return tl::unexpected(ErrnoError("prctl(PR_SET_DUMPABLE)", errno));
  }
  return {};
}

Result<void> DropCapabilities() {
  auto holds = HoldsCapabilities();
  if (!holds) return tl::unexpected(holds.error());
  if (*holds) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
      return tl::unexpected(ErrnoError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno));
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &header, none) != 0) {
      return tl::unexpected(ErrnoError("capset", errno));
    }
    auto still = HoldsCapabilities();
    if (!still) return tl::unexpected(still.error());
    if (*still) return MakeError(ErrorCode::kIo, "capabilities are still held after capset");
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return tl::unexpected(ErrnoError("prctl(PR_SET_NO_NEW_PRIVS)", errno));
  }
  return {};
}

}  // namespace utmpcd
