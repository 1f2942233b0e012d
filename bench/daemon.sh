#!/usr/bin/env bash
# Benchmarks the host daemon (issue 3), on this machine, in one run:
#   - import rate: `utmpd --once` storing a RECORDS-record wtmp (records/s), beside util-linux
#     `last` reading the same file;
#   - idle: the syscalls a following daemon makes in 30 s with nothing happening (strace -c);
#   - resident memory: idle with an empty history, and idle following a history of RECORDS
#     events.
# Usage: bench/daemon.sh [RECORDS]   (default 1000000; files go to $BENCH_DIR or a temp dir)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
records=${1:-1000000}
"$top/scripts/deps.sh" hyperfine strace sqlite3 >&2
"$top/scripts/build.sh" >&2
build=${UTMPCD_BUILD_DIR:-$top/build}
utmpcd=$build/src/utmpcd/utmpcd
wtmpgen=$build/tests/wtmpgen
dir=${BENCH_DIR:-$(mktemp -d)}
trap '[[ -z "${BENCH_DIR:-}" ]] && rm -rf "$dir"; [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; true' EXIT
export TZ=UTC LC_ALL=C

"$wtmpgen" --seed 11 --records "$records" -o "$dir/wtmp"
: > "$dir/btmp"
cat "$dir/wtmp" > /dev/null

rm -f "$dir"/h.db*
start=$(date +%s.%N)
"$utmpcd" -c /dev/null --once --wtmp "$dir/wtmp" --btmp "$dir/btmp" --database "$dir/h.db"
end=$(date +%s.%N)
events=$(sqlite3 "$dir/h.db" 'select count(*) from events' 2>/dev/null || echo "?")
last_s=$(hyperfine --style none --runs 3 --export-csv "$dir/h.csv" "last -f $dir/wtmp" >/dev/null 2>&1 &&
         awk -F, 'NR == 2 { print $2 }' "$dir/h.csv")
awk -v n="$records" -v e="$events" -v a="$start" -v b="$end" -v l="$last_s" 'BEGIN {
  printf "import of %d records (%s events): %.2f s, %.0f records/s; last -f reads it in %.2f s\n",
         n, e, b - a, n / (b - a), l }'

# Idle: follow the imported history, then count what the daemon does in 30 s of nothing.
rss() { awk '/VmRSS/ { print $2 " KB" }' "/proc/$1/status"; }
"$utmpcd" -c /dev/null --wtmp "$dir/wtmp" --btmp "$dir/btmp" --database "$dir/h.db" 2>/dev/null &
pid=$!
sleep 2
echo "RSS idle, following a history of $events events: $(rss "$pid")"
# strace writes outside $dir: a file created beside wtmp is an event the daemon watches for.
trace=$(mktemp)
timeout 30 strace -f -c -p "$pid" -o "$trace" 2>/dev/null || true
calls=$(awk '/total/ { print $4 }' "$trace")
rm -f "$trace"
echo "syscalls in 30 s idle: ${calls:-0} (strace -c)"
kill "$pid"; wait "$pid" 2>/dev/null || true

rm -f "$dir"/e.db*; : > "$dir/empty"
"$utmpcd" -c /dev/null --wtmp "$dir/empty" --btmp "$dir/btmp" --database "$dir/e.db" 2>/dev/null &
pid=$!
sleep 1
echo "RSS idle, empty history: $(rss "$pid")"
kill "$pid"; wait "$pid" 2>/dev/null || true
pid=
