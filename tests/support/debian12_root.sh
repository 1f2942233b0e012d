#!/usr/bin/env bash
# A clean Debian 12 (bookworm) root for the package test (tests/package/package_test.sh): the
# base system (minbase), systemd (systemd-sysusers, systemd-tmpfiles, systemd-socket-activate),
# PAM's pam-auth-update, curl, and the libraries the packages link (named on the command line:
# the Depends of the built packages), so that installing them needs nothing from the network.
# Made once with debootstrap from Debian's mirror and cached; a test copies it and changes the
# copy, never the cache.
# Usage: debian12_root.sh [PACKAGE...]   (as root) prints the root's path; made when missing.
# Environment: UTMPCD_CACHE (default /var/cache/utmpcd-tests), DEBIAN_MIRROR
# (default http://deb.debian.org/debian).
set -euo pipefail
packages=$(printf '%s\n' systemd adduser libpam-runtime curl ca-certificates "$@" | sort -u |
  paste -sd, -)
cache=${UTMPCD_CACHE:-/var/cache/utmpcd-tests}
# The package list names the cache: a new list makes a new root.
root=$cache/debian12-$(printf '%s' "$packages" | sha256sum | cut -c1-12)
if [[ -f $root/.made ]]; then
  echo "$root"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debian12_root.sh: needs debootstrap (scripts/deps.sh)" >&2; exit 1; }
mkdir -p "$cache"
# Tests run in parallel: one makes the root, the others wait for it (and then find it made).
exec 9>"$root.lock"
flock 9
if [[ -f $root/.made ]]; then
  echo "$root"
  exit 0
fi
rm -rf "$root.new"
echo "debian12_root.sh: debootstrap bookworm into $root (once; cached)" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$root.new" \
  "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$cache/debootstrap12.log" 2>&1 ||
  { echo "debian12_root.sh: debootstrap failed: $(tail -5 "$cache/debootstrap12.log")" >&2; exit 1; }
# apt's lists, so that `apt-get install ./x.deb` can resolve what the root has (it downloads
# nothing: the test runs it in a network namespace of only a loopback).
chroot "$root.new" apt-get update -q >>"$cache/debootstrap12.log" 2>&1 ||
  { echo "debian12_root.sh: apt-get update failed: $(tail -5 "$cache/debootstrap12.log")" >&2; exit 1; }
rm -rf "$root"
mv "$root.new" "$root"
touch "$root/.made"
echo "$root"
