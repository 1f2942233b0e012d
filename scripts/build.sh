#!/usr/bin/env bash
# Builds utmpcd into build/ (installing Debian dependencies first when needed).
# Usage: scripts/build.sh [extra cmake -D options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
build=${UTMPCD_BUILD_DIR:-$top/build}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DUTMPCD_WERROR="$werror" "$@" >/dev/null
cmake --build "$build" --parallel "$(nproc)"
