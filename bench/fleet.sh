#!/usr/bin/env bash
# utmpsd on PostgreSQL against simulated utmpcd hosts (bench/fleet_sim.cc), in a network
# namespace of its own (loopback only; nothing leaves it):
#   1. events stored a second from 1,000 hosts recording 25 events a second each, for SECONDS,
#      with login → /v1/fleet/sessions latency probes under that load;
#   2. the same latency with 1,000 hosts at rest (an event a second each);
#   3. 10,000 hosts with 100,000 sessions open: utmpsd's memory per host followed, its CPU at
#      rest over 20 s, and /v1/fleet/sessions for one user and for the whole fleet.
# The goals of issue 15 are printed beside each. The classic peer, rwhod, has no counterpart
# to measure: its fleet view is rebuilt from broadcasts every 180 s by design (rwhod(8)).
# Usage: bench/fleet.sh [SECONDS (60)]   as root; builds what it needs.
# Environment: UTMPCD_BUILD_DIR (build/); PHASES (default "1 2 3"): which of the three to run; RATE (25): events a second each host records in 1.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${UTMPCD_BUILD_DIR:-$top/build}
seconds=${1:-60}
[[ $(id -u) -eq 0 ]] || { echo "bench/fleet.sh: run as root (network namespaces)" >&2; exit 1; }
"$top/scripts/deps.sh"
cmake -S "$top" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target utmpsd fleet_sim >/dev/null
utmpsd=$build/src/utmpsd/utmpsd
sim=$build/bench/fleet_sim

ns=utmpsd-bench-$$
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
sql() { in_ns psql -X -At "$1" -c "$2"; }

hosts_file() {  # N: 127.A.B.C:4310 name=hK, as fleet_sim numbers them
  local n=$1 k
  for ((k = 0; k < n; k++)); do
    echo "127.$((1 + k / 62500)).$(((k / 250) % 250)).$((k % 250 + 1)):4310 name=h$k"
  done >"$tmp/hosts"
}
start_utmpsd() {  # DATABASE-URL
  cat >"$tmp/utmpsd.toml" <<CONF
[http]
requests_per_second = 0
CONF
  ip netns exec "$ns" "$utmpsd" -c "$tmp/utmpsd.toml" --store "$1" --hosts-file "$tmp/hosts" \
    --listen 127.0.0.1:430 --user root 2>>"$tmp/utmpsd.log" &
  sd=$!
  pids+=("$sd")
  for _ in $(seq 200); do in_ns curl -sf http://127.0.0.1:430/healthz >/dev/null 2>&1 && return; sleep 0.05; done
  echo "utmpsd did not start: $(tail -3 "$tmp/utmpsd.log")" >&2
  exit 1
}
new_db() {  # NAME: its URL
  sql "$url" "CREATE DATABASE $1" >/dev/null
  echo "${url%/*}/$1"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

phases=" ${PHASES:-1 2 3} "
if [[ $phases == *" 1 "* ]]; then
rate=${RATE:-25}
echo "== 1. 1,000 hosts, $rate events/s each ($((rate * 1000))/s offered), ${seconds}s, PostgreSQL on this machine"
db=$(new_db load)
hosts_file 1000
start_utmpsd "$db"
in_ns "$sim" --hosts 1000 --rate "$rate" --seconds "$seconds" --probe http://127.0.0.1:430 \
  --probe-every-ms 250 >"$tmp/sim1.out" 2>"$tmp/sim1.err" &
simpid=$!
sleep 10
c10=$(sql "$db" "SELECT count(*) FROM fleet_events")
t10=$(date +%s.%N)
wait "$simpid"
cend=$(sql "$db" "SELECT count(*) FROM fleet_events")
tend=$(date +%s.%N)
rate=$(awk -v a="$c10" -v b="$cend" -v t0="$t10" -v t1="$tend" 'BEGIN { printf "%.0f", (b - a) / (t1 - t0) }')
echo "stored $cend of $(awk '/recorded/ {print $2}' "$tmp/sim1.out") events; sustained after the first 10 s: $rate events/s (goal: at least 20,000/s)"
echo "under that load: $(grep probes "$tmp/sim1.out" || echo 'no probe result')"
kill "$sd"; wait "$sd" 2>/dev/null || true
fi

hosts_file 1000
if [[ $phases == *" 2 "* ]]; then
echo "== 2. 1,000 hosts at rest (1 event/s each): login to /v1/fleet/sessions"
db=$(new_db rest)
start_utmpsd "$db"
in_ns "$sim" --hosts 1000 --rate 1 --seconds 30 --probe http://127.0.0.1:430 \
  --probe-every-ms 100 >"$tmp/sim2.out" 2>"$tmp/sim2.err"
echo "$(grep probes "$tmp/sim2.out" || echo 'no probe result') (goal: p99 at most 100 ms)"
kill "$sd"; wait "$sd" 2>/dev/null || true
fi

[[ $phases == *" 3 "* ]] || exit 0
echo "== 3. 10,000 hosts, 100,000 sessions open"
db=$(new_db big)
hosts_file 10000
# (ip netns exec execs the simulator: $! is the process the cleanup kills)
ip netns exec "$ns" "$sim" --hosts 10000 --rate 0 --open 10 --seconds 0 >"$tmp/sim3.out" 2>"$tmp/sim3.err" &
pids+=($!)

start_utmpsd "$db"
for _ in $(seq 600); do
  [[ $(sql "$db" "SELECT count(*) FROM fleet_sessions WHERE end_kind = ''") -ge 100000 ]] && break
  sleep 0.5
done
open=$(sql "$db" "SELECT count(*) FROM fleet_sessions WHERE end_kind = ''")
up=$(in_ns curl -s http://127.0.0.1:430/healthz | sed 's/.*"hosts_up":\([0-9]*\).*/\1/')
sleep 5
rss=$(ps -o rss= -p "$sd" | tr -d ' ')
ticks0=$(cpu_ticks "$sd")
sleep 20
ticks1=$(cpu_ticks "$sd")
hz=$(getconf CLK_TCK)
echo "open sessions $open, hosts up $up; utmpsd RSS $((rss / 1024)) MiB: $((rss * 1024 / 10000)) bytes a host followed"
echo "CPU at rest over 20 s: $(awk -v d=$((ticks1 - ticks0)) -v hz="$hz" 'BEGIN { printf "%.2f%%", 100 * d / hz / 20 }') of a core (heartbeats only: no polling)"
time_of() {  # TARGET: the median of 10 requests, in ms
  for _ in $(seq 10); do
    in_ns curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:430$1"
  done | sort -n | awk '{ t[NR] = $1 } END { printf "%.1f ms", t[int((NR + 1) / 2)] * 1000 }'
}
echo "/v1/fleet/sessions?user=open7: $(time_of '/v1/fleet/sessions?user=open7') (goal: at most 50 ms)"
echo "/v1/fleet/sessions (all $open): $(time_of '/v1/fleet/sessions') (goal: at most 50 ms)"
