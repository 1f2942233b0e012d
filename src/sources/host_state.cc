#include "sources/host_state.h"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/timestamp.h"

namespace utmpcd {

int64_t BootTimeS() {
  struct timeval now {};
  gettimeofday(&now, nullptr);
  struct timespec up {};
  if (clock_gettime(CLOCK_BOOTTIME, &up) != 0) return 0;
  int64_t now_us = int64_t{now.tv_sec} * 1000000 + now.tv_usec;
  int64_t up_us = int64_t{up.tv_sec} * 1000000 + up.tv_nsec / 1000;
  return SecondsOf(now_us - up_us);
}

bool IsPhantomLogin(const LoginRecord& r, int64_t boot_s) {
  if (r.time_s < boot_s) return true;
  // last.c terminates ut_user at its last byte before the lookup.
  std::string user(r.user.substr(0, kUserSize - 1));
  struct passwd pw_storage {};
  struct passwd* pw = nullptr;
  char buf[4096];
  if (getpwnam_r(user.c_str(), &pw_storage, buf, sizeof buf, &pw) != 0 || pw == nullptr)
    return true;

  std::string path = "/proc/" + std::to_string(static_cast<uint32_t>(r.pid)) + "/loginuid";
  if (access(path.c_str(), R_OK) == 0) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (f == nullptr) return true;
    unsigned int loginuid = 0;
    bool ok = std::fscanf(f, "%u", &loginuid) == 1;
    std::fclose(f);
    return !ok || pw->pw_uid != loginuid;
  }
  std::string dev = "/dev/" + std::string(r.line);
  struct stat st {};
  if (stat(dev.c_str(), &st) != 0) return true;
  return pw->pw_uid != st.st_uid;
}

std::array<double, 3> LoadAverage() {
  double avg[3] = {};
  FILE* f = std::fopen("/proc/loadavg", "re");
  bool parsed = f != nullptr && std::fscanf(f, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) == 3;
  if (f != nullptr) std::fclose(f);
  if (!parsed && getloadavg(avg, 3) != 3) return {};
  return {avg[0], avg[1], avg[2]};
}

}  // namespace utmpcd
