#!/usr/bin/env bash
# Quick start, part two: builds everything and runs every test (unit, differential against the
# real last/lastb/who/utmpdump/lastlog, a real sshd on loopback, fuzz smoke runs).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh" -DUTMPCD_FUZZ=ON
# The state of a machine where ./scripts/run.sh has run: the daemon's user exists, and every
# test that starts the daemon says which user it runs as.
"$top/scripts/daemon_user.sh"
# The npm packages the dashboard's browser test drives chromium with.
"$top/scripts/web_deps.sh"
cd "${UTMPCD_BUILD_DIR:-$top/build}"
ctest --output-on-failure --timeout 600 -j "$(nproc)" "$@"
# Then real fuzzing: every libFuzzer target for 20 s, in a clang build of its own (build-fuzz).
"$top/fuzz/run_fuzzers.sh" "${UTMPCD_FUZZ_SECONDS:-20}"
