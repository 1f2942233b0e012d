#!/usr/bin/env bash
# Quick start, part one: builds utmpcd and runs the host daemon in the foreground (Ctrl-C or
# SIGTERM stops it). It follows /var/log/wtmp and /var/log/btmp into
# /var/lib/utmpcd/history.db, or what /etc/utmpcd/utmpcd.toml says; arguments go to utmpcd
# (`./scripts/run.sh --debug`, `./scripts/run.sh --once` to import and exit).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh" >&2
# The daemon opens what needs root (port 431, its sockets, the store), then runs as _utmpcd.
if [[ $(id -u) -eq 0 ]] && ! getent passwd _utmpcd >/dev/null; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin _utmpcd
fi
exec "${UTMPCD_BUILD_DIR:-$top/build}/src/utmpcd/utmpcd" "$@"
