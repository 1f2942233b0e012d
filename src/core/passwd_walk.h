// PasswdWalk: the user database read in its order (getpwent), one walk at a time in the
// process. getpwent's position is the process's, not the caller's: two threads walking at once
// (the lastlog import, a GET /v1/lastlog) would each see part of the database.
#pragma once

#include <pwd.h>

#include <mutex>

namespace utmpcd {

class PasswdWalk {
 public:
  PasswdWalk() : lock_(Mutex()) { ::setpwent(); }
  ~PasswdWalk() { ::endpwent(); }
  PasswdWalk(const PasswdWalk&) = delete;
  PasswdWalk& operator=(const PasswdWalk&) = delete;

  // The next user, valid until the next call; nullptr at the end.
  struct passwd* Next() { return ::getpwent(); }

 private:
  static std::mutex& Mutex() {
    static std::mutex mutex;
    return mutex;
  }
  std::lock_guard<std::mutex> lock_;
};

}  // namespace utmpcd
