#!/usr/bin/env bash
# Creates the user utmpcd runs as, _utmpcd, when it does not exist (as root; a no-op otherwise).
# run.sh calls it before starting the daemon, and test.sh before the suite, so that the tests
# run in the state a machine is in once utmpcd has been started there.
set -euo pipefail
if [[ $(id -u) -eq 0 ]] && ! getent passwd _utmpcd >/dev/null; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin _utmpcd
fi
