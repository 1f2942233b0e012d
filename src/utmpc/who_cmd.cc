// Placeholder until the who command lands in this session (see issue 2).
#include <cstdio>

#include "utmpc/commands.h"

namespace utmpcd {

int RunWho(int, char**) {
  std::fputs("utmpc who: not built yet\n", stderr);
  return 1;
}

}  // namespace utmpcd
