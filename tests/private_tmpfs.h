// A tmpfs for a test that needs a file system of its own (full, read-only, or over /var/log):
// mounted in a mount namespace of the test process alone, so what it spawns sees it and the
// host's mounts are untouched.
#pragma once

#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace utmpcd::testing {

class PrivateTmpfs {
 public:
  // Enters a new mount namespace (once per process is enough; again is harmless) and mounts a
  // tmpfs of `size` ("2m") at `path`, which must exist.
  PrivateTmpfs(std::string path, const std::string& size) : path_(std::move(path)) {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      no_namespace_ = std::string("no mount namespace here (needs root): ") + std::strerror(errno);
      return;
    }
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size + ",mode=0755").c_str()) != 0) {
      error_ = "mount tmpfs on " + path_ + ": " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  // Unmounted also when an assertion ended the test early: later tests of the same process
  // must find the real directory.
  ~PrivateTmpfs() {
    if (mounted_) ::umount(path_.c_str());
  }
  PrivateTmpfs(const PrivateTmpfs&) = delete;
  PrivateTmpfs& operator=(const PrivateTmpfs&) = delete;

  // Why there is no namespace (not root): the test cannot run here. "" when there is one.
  const std::string& no_namespace() const { return no_namespace_; }
  // Why the mount failed in the namespace (a failure); "" when mounted.
  const std::string& error() const { return error_; }
  bool mounted() const { return mounted_; }

 private:
  std::string path_;
  std::string no_namespace_, error_;
  bool mounted_ = false;
};

}  // namespace utmpcd::testing
