#!/usr/bin/env bash
# Quick start, part one: builds utmpcd and runs the host daemon in the foreground (Ctrl-C or
# SIGTERM stops it). It follows /var/log/wtmp and /var/log/btmp into
# /var/lib/utmpcd/history.db, or what /etc/utmpcd/utmpcd.toml says; arguments go to utmpcd
# (`./scripts/run.sh --debug`, `./scripts/run.sh --once` to import and exit).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# Only what it runs: the daemon and the client (the tests and benchmarks are test.sh's).
UTMPCD_TARGETS="utmpcd utmpc" "$top/scripts/build.sh" >&2
# The daemon opens what needs root (port 431, its sockets, the store), then runs as _utmpcd.
"$top/scripts/daemon_user.sh"
exec "${UTMPCD_BUILD_DIR:-$top/build}/src/utmpcd/utmpcd" "$@"
