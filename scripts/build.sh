#!/usr/bin/env bash
# Builds utmpcd into build/ (installing Debian dependencies first when needed).
# Usage: scripts/build.sh [extra cmake -D options]
#        UTMPCD_TARGETS="utmpcd utmpc" scripts/build.sh   (only those targets; default: all)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
build=${UTMPCD_BUILD_DIR:-$top/build}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DUTMPCD_WERROR="$werror" "$@" >/dev/null
targets=()
[[ -n "${UTMPCD_TARGETS:-}" ]] && read -ra targets <<<"--target $UTMPCD_TARGETS"
cmake --build "$build" --parallel "$(nproc)" "${targets[@]}"
