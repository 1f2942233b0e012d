#!/usr/bin/env bash
# Installs the Debian 12 packages utmpcd builds and tests with, when any is missing.
# Usage: scripts/deps.sh [EXTRA-PACKAGE...]   (as root; a no-op when everything is there)
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  libfmt-dev libexpected-dev nlohmann-json3-dev libboost-dev libcli11-dev libtomlplusplus-dev
  libsystemd-dev libsqlite3-dev libpam0g-dev libssl-dev libseccomp-dev libpq-dev
  # tests, fuzzing, benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev libtirpc-dev
  # the classic tools we test against, and a real sshd making real logins
  util-linux coreutils login openssh-server openssh-client procps iproute2 tzdata sqlite3
  pamtester libpam-wrapper
  # the finger responder is asked by Debian's finger client; utmpsd's rwho bridge takes in
  # Debian's rwhod and is read by its rwho and ruptime
  finger rwhod rwho
  # a Debian 13 root (wtmpdb, lastlog2: hosts without utmp), made once and cached
  debootstrap perl
  # the fleet server's store: a real PostgreSQL 15 server, started by the tests themselves
  postgresql
  # systemd-socket-activate hands the daemon its sockets as systemd does
  systemd
  # the HTTP API is tested with what its users have: curl and jq; TLS with openssl's
  # s_client (and certificates it makes)
  curl jq openssl ca-certificates
  # the dashboard's browser tests: Debian's chromium (and a font for it), driven from Node.js
  # (scripts/web_deps.sh installs the npm packages)
  chromium fonts-dejavu-core
  # GET /metrics is checked with Prometheus's own promtool; the manual pages are rendered by
  # man with its warnings on
  prometheus man-db groff-base
  # the Debian packages (debian/): built by dpkg-buildpackage, checked by lintian
  debhelper dpkg-dev lintian
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
# Node.js and npm: Debian's, unless the machine has them already (NodeSource's nodejs brings
# npm and conflicts with Debian's npm package).
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# No service these packages bring (sshd, PostgreSQL, Prometheus) is started by the install: the
# tests start their own, on loopback, and stop them after (policy-rc.d, invoke-rc.d(8)).
policy=
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
