#!/usr/bin/env bash
# The dashboard (web/) with a large fleet, in Debian's chromium driven by playwright-core:
# utmpsd on PostgreSQL following 10,000 simulated hosts (bench/fleet_sim.cc) with 100,000
# sessions open, in a network namespace of its own (loopback only; nothing leaves it). Measured
# in the browser (bench/dashboard_bench.mjs):
#   1. how long after the navigation began "Who is on" and "Hosts" are drawn, whole fleet in;
#   2. with the hosts recording 1,000 events a second between them, for SECONDS: the frames
#      (requestAnimationFrame intervals) and long tasks while a viewer scrolls and types a
#      filter, and the events the page took in.
# The goals of issue 16 are printed beside each. There is no classic peer: rwho and ruptime
# print a table and exit; no tool of theirs draws a fleet live.
# Usage: bench/dashboard.sh [SECONDS (20)]   as root; builds what it needs.
# Environment: UTMPCD_BUILD_DIR (build/); HOLD (set: keep the fleet up after); HOSTS (10000),
# OPEN (10 sessions a host), RATE
# (events a second the fleet records between its hosts: 1000).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${UTMPCD_BUILD_DIR:-$top/build}
seconds=${1:-20}
hosts=${HOSTS:-10000}
open=${OPEN:-10}
rate=${RATE:-1000}
[[ $(id -u) -eq 0 ]] || { echo "bench/dashboard.sh: run as root (network namespaces)" >&2; exit 1; }
"$top/scripts/deps.sh"
"$top/scripts/web_deps.sh"
cmake -S "$top" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target utmpsd fleet_sim >/dev/null
utmpsd=$build/src/utmpsd/utmpsd
sim=$build/bench/fleet_sim

ns=dash-bench-$$
tmp=$(mktemp -d)
chmod 0711 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns exec "$ns" "$top/tests/support/postgres.sh" stop "$tmp/pg" || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" route add unreachable 10.0.0.0/8
in_ns() { ip netns exec "$ns" "$@"; }
ulimit -n "$(ulimit -Hn)"
url=$(in_ns "$top/tests/support/postgres.sh" start "$tmp/pg")
sql() { in_ns psql -X -At "$url" -c "$1"; }

for ((k = 0; k < hosts; k++)); do
  echo "127.$((1 + k / 62500)).$(((k / 250) % 250)).$((k % 250 + 1)):4310 name=h$k"
done >"$tmp/hosts"
cat >"$tmp/utmpsd.toml" <<CONF
[http]
requests_per_second = 0
CONF
want=$((hosts * open))
echo "== $hosts hosts, $want sessions open, PostgreSQL on this machine"
# Each simulated host's first events are its open sessions (on ttyN); then it records logins
# and logouts (on pts/0-7): $rate a second between them all.
ip netns exec "$ns" "$sim" --hosts "$hosts" --rate "$(awk -v r="$rate" -v h="$hosts" 'BEGIN { print r / h }')" \
  --open "$open" --seconds 0 >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
ip netns exec "$ns" "$utmpsd" -c "$tmp/utmpsd.toml" --store "$url" --hosts-file "$tmp/hosts" \
  --listen 127.0.0.1:430 --user root 2>>"$tmp/utmpsd.log" &
pids+=($!)
for _ in $(seq 1200); do
  [[ $(sql "SELECT count(*) FROM fleet_sessions WHERE end_kind = ''" 2>/dev/null || echo 0) -ge $want ]] && break
  sleep 0.5
done
echo "open sessions stored: $(sql "SELECT count(*) FROM fleet_sessions WHERE end_kind = ''")"
sleep 3
in_ns node "$top/bench/dashboard_bench.mjs" http://127.0.0.1:430 "$want" "$hosts" "$seconds"
# HOLD=1: the fleet stays up for a browser of your own (ip netns exec NS chromium ...), until
# Ctrl-C.
if [[ -n ${HOLD:-} ]]; then
  echo "holding: namespace $ns, http://127.0.0.1:430/ (Ctrl-C ends)"
  while :; do sleep 3600; done
fi
