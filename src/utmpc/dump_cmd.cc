// Placeholder until the dump command lands in this session (see issue 2).
#include <cstdio>

#include "utmpc/commands.h"

namespace utmpcd {

int RunDump(int, char**) {
  std::fputs("utmpc dump: not built yet\n", stderr);
  return 1;
}

}  // namespace utmpcd
