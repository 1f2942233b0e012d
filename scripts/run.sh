#!/usr/bin/env bash
# Quick start, part one: builds utmpcd and runs it against this host.
# Until the daemon lands (issue 3) this is the client on the host's own files: `utmpc last`
# over /var/log/wtmp, a drop-in for util-linux last. Extra arguments go to `utmpc last`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/build.sh" >&2
exec "${UTMPCD_BUILD_DIR:-$top/build}/src/utmpc/utmpc" last "$@"
