#!/usr/bin/env bash
# A Debian 13 (trixie) root for the tests of hosts without utmp: wtmpdb and pam_wtmpdb,
# util-linux with lastlog2, liblastlog2 and pam_lastlog2, openssh-server, libpam-modules,
# sqlite3 and pamtester.
# Made once with debootstrap from Debian's mirror and cached: a test uses it in a mount
# namespace of its own, mounted read-only, with its own files bound in (see
# tests/differential/wtmpdb_diff_test.sh), so the cache stays as made.
# Usage: debian13_root.sh   (as root) prints the root's path; made when missing (minutes).
# Environment: UTMPCD_CACHE (default /var/cache/utmpcd-tests), DEBIAN_MIRROR
# (default http://deb.debian.org/debian).
set -euo pipefail
packages=wtmpdb,libpam-wtmpdb,util-linux,lastlog2,liblastlog2-2,libpam-lastlog2,openssh-server,libpam-modules,sqlite3,procps,iproute2,pamtester
cache=${UTMPCD_CACHE:-/var/cache/utmpcd-tests}
# The package list names the cache: a new list makes a new root.
root=$cache/debian13-$(printf '%s' "$packages" | sha256sum | cut -c1-12)
if [[ -f $root/.made ]]; then
  echo "$root"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debian13_root.sh: needs debootstrap (scripts/deps.sh)" >&2; exit 1; }
mkdir -p "$cache"
# Tests run in parallel: one makes the root, the others wait for it (and then find it made).
exec 9>"$root.lock"
flock 9
if [[ -f $root/.made ]]; then
  echo "$root"
  exit 0
fi
rm -rf "$root.new"
echo "debian13_root.sh: debootstrap trixie into $root (once; cached)" >&2
debootstrap --variant=minbase --include="$packages" trixie "$root.new" \
  "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1 ||
  { echo "debian13_root.sh: debootstrap failed: $(tail -5 "$cache/debootstrap.log")" >&2; exit 1; }
rm -rf "$root"
mv "$root.new" "$root"
touch "$root/.made"
echo "$root"
