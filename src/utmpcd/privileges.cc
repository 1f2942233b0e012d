#include "utmpcd/privileges.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
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

}  // namespace

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
  // Groups first: once the uid is no longer 0, they can no longer be changed.
  if (::setgroups(u->groups.size(), u->groups.data()) != 0) {
    return tl::unexpected(ErrnoError("setgroups for user '" + user + "'", errno));
  }
  if (::setresgid(u->gid, u->gid, u->gid) != 0) {
    return tl::unexpected(ErrnoError("setresgid for user '" + user + "'", errno));
  }
  if (::setresuid(u->uid, u->uid, u->uid) != 0) {
    return tl::unexpected(ErrnoError("setresuid for user '" + user + "'", errno));
  }
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

}  // namespace utmpcd
