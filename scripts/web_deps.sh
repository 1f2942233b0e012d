#!/usr/bin/env bash
# Installs the npm packages of the dashboard's browser tests (tests/web: playwright-core and
# axe-core, pinned by package-lock.json) with `npm ci`, from the npm registry; a no-op while
# tests/web/node_modules matches the lockfile. The dashboard itself needs no npm package.
set -euo pipefail
web=$(cd "$(dirname "$0")/../tests/web" && pwd)
want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
stamp=$web/node_modules/.package-lock.sha256
[[ -f $stamp && $(cat "$stamp") == "$want" ]] && exit 0
echo "web_deps.sh: npm ci in $web" >&2
(cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" >"$stamp"
