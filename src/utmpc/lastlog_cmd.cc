// Placeholder until the lastlog command lands in this session (see issue 2).
#include <cstdio>

#include "utmpc/commands.h"

namespace utmpcd {

int RunLastlog(int, char**) {
  std::fputs("utmpc lastlog: not built yet\n", stderr);
  return 1;
}

}  // namespace utmpcd
