#!/usr/bin/env bash
# Benchmarks the host daemon (issue 3), on this machine, in one run:
#   - import rate: `utmpcd --once` storing a RECORDS-record wtmp (records/s), beside util-linux
#     `last` reading the same file;
#   - idle: the syscalls a following daemon makes in 30 s with nothing happening (strace -c);
#   - resident memory: idle with an empty history, and idle following a history of RECORDS
#     events.
# Usage: bench/daemon.sh [RECORDS]   (default 1000000; files go to $BENCH_DIR or a temp dir)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
records=${1:-1000000}
"$top/scripts/deps.sh" hyperfine strace sqlite3 util-linux >&2
"$top/scripts/build.sh" >&2
build=${UTMPCD_BUILD_DIR:-$top/build}
utmpcd=$build/src/utmpcd/utmpcd
wtmpgen=$build/tests/wtmpgen
dir=${BENCH_DIR:-$(mktemp -d)}
trap '[[ -z "${BENCH_DIR:-}" ]] && rm -rf "$dir"; [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null; true' EXIT
export TZ=UTC LC_ALL=C
# Every number printed is of work checked first; a failed check is an error, never a speed.
fail() { echo "bench/daemon.sh: $*" >&2; exit 1; }

"$wtmpgen" --seed 11 --records "$records" -o "$dir/wtmp"
: > "$dir/btmp"
cat "$dir/wtmp" > /dev/null

# What an import must store, counted from util-linux utmpdump's reading of the same file (not
# from utmpcd's): the events last works from. Boots, runlevel changes (shutdowns among them),
# clock changes and logins always; the ends of sessions (DEAD_PROCESS, and INIT_PROCESS, which
# last also takes for one) when they name a line. getty's LOGIN_PROCESS and EMPTY slots never.
expected=$(utmpdump "$dir/wtmp" 2>/dev/null | awk -F'\\] \\[' '{
  type = substr($1, 2); line = $5; gsub(/ /, "", line)
  if (type ~ /^[12347]$/ || (type ~ /^[58]$/ && line != "")) n++ } END { print n + 0 }')
((expected > 0)) || fail "utmpdump found no events in the generated file"

rm -f "$dir"/h.db*
# As root: the benchmark measures the import, not the privilege drop (the daemon's user could
# not enter a mktemp directory).
start=$(date +%s.%N)
"$utmpcd" -c /dev/null --once --user root --wtmp "$dir/wtmp" --btmp "$dir/btmp" \
  --database "$dir/h.db" 2>"$dir/import.log" || { cat "$dir/import.log" >&2; fail "the import failed"; }
end=$(date +%s.%N)
events=$(sqlite3 "$dir/h.db" 'select count(*) from events')
[[ $events == "$expected" ]] ||
  fail "the import stored $events events where utmpdump counts $expected: no rate printed"
read_to=$(sqlite3 "$dir/h.db" "select file_offset from cursors where source_key = 'wtmp:$dir/wtmp'")
[[ $read_to == $(stat -c %s "$dir/wtmp") ]] || fail "the import stopped at byte $read_to"
db_bytes=$(find "$dir" -maxdepth 1 \( -name h.db -o -name h.db-wal \) -printf '%s\n' |
           awk '{ s += $1 } END { print s }')
last_s=$(hyperfine --style none --runs 3 --export-csv "$dir/h.csv" "last -f $dir/wtmp" >/dev/null 2>&1 &&
         awk -F, 'NR == 2 { print $2 }' "$dir/h.csv")
[[ -n $last_s ]] || fail "last -f could not be timed"
awk -v n="$records" -v e="$events" -v a="$start" -v b="$end" -v l="$last_s" -v d="$db_bytes" 'BEGIN {
  printf "import of %d records (%d events, as utmpdump counts them): %.2f s, %.0f records/s; ", n, e, b - a, n / (b - a)
  printf "last -f reads it in %.2f s (import/last: %.1fx)\n", l, (b - a) / l
  printf "database: %.1f MB, %.0f bytes per event\n", d / 1e6, d / e }'

# Idle: follow the imported history, then count what the daemon does in 30 s of nothing.
rss() { awk '/VmRSS/ { print $2 " KB" }' "/proc/$1/status"; }
"$utmpcd" -c /dev/null --user root --wtmp "$dir/wtmp" --btmp "$dir/btmp" --database "$dir/h.db" \
  2>"$dir/follow.log" &
pid=$!
sleep 2
grep -q "following" "$dir/follow.log" && ! grep -q "cannot be read" "$dir/follow.log" ||
  { cat "$dir/follow.log" >&2; fail "the following daemon did not start following its files"; }
echo "RSS idle, following a history of $events events: $(rss "$pid")"
# strace writes outside $dir: a file created beside wtmp is an event the daemon watches for.
trace=$(mktemp)
timeout 30 strace -f -c -p "$pid" -o "$trace" 2>/dev/null || true
calls=$(awk '/total/ { print $4 }' "$trace")
rm -f "$trace"
echo "syscalls in 30 s idle: ${calls:-0} (strace -c)"
kill "$pid"; wait "$pid" 2>/dev/null || true

rm -f "$dir"/e.db*; : > "$dir/empty"
"$utmpcd" -c /dev/null --user root --wtmp "$dir/empty" --btmp "$dir/btmp" --database "$dir/e.db" \
  2>"$dir/empty.log" &
pid=$!
sleep 1
grep -q "following" "$dir/empty.log" ||
  { cat "$dir/empty.log" >&2; fail "the daemon on an empty history did not start"; }
echo "RSS idle, empty history: $(rss "$pid")"
kill "$pid"; wait "$pid" 2>/dev/null || true
pid=
