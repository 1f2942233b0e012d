#!/usr/bin/env bash
# `last -n 20 USER` from the host daemon's history (issue 3: under 5 ms with 1,000,000 events),
# beside util-linux `last -n 20 USER` on the wtmp the history was imported from:
#   - a wtmpgen wtmp of RECORDS records is imported with `utmpcd --once`;
#   - `utmpc last --database DB` and `last -f wtmp` are checked to print the same bytes for the
#     cases timed;
#   - hyperfine times, without a shell in between, `utmpc last -n 20 USER --database DB` (the
#     indexed path), `last -n 20 USER -f wtmp` and `utmpc last -n 20 USER -f wtmp`; then the
#     whole listing from the database (the full scan) beside `last -f wtmp`.
# Usage: bench/store_last.sh [RECORDS] [USER]   (default 1000000 alice; files go to $BENCH_DIR
# or a temp dir)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
records=${1:-1000000}
user=${2:-alice}
"$top/scripts/deps.sh" hyperfine sqlite3 >&2
"$top/scripts/build.sh" >&2
build=${UTMPCD_BUILD_DIR:-$top/build}
utmpcd=$build/src/utmpcd/utmpcd
utmpc=$build/src/utmpc/utmpc
wtmpgen=$build/tests/wtmpgen
dir=${BENCH_DIR:-$(mktemp -d)}
trap '[[ -z "${BENCH_DIR:-}" ]] && rm -rf "$dir"; true' EXIT
export TZ=UTC LC_ALL=C

"$wtmpgen" --seed 11 --records "$records" -o "$dir/wtmp"
: > "$dir/btmp"
rm -f "$dir"/h.db*
start=$(date +%s.%N)
# As root (--user root): the daemon's user could not enter this mktemp directory, and an
# import that cannot read its file fails (exit 1), which stops this script.
"$utmpcd" -c /dev/null --once --user root --wtmp "$dir/wtmp" --btmp "$dir/btmp" \
  --database "$dir/h.db" 2>/dev/null
end=$(date +%s.%N)
events=$(sqlite3 "$dir/h.db" 'select count(*) from events')

# Timing a listing that differs from last's would prove nothing.
for args in "-n 20 $user" "-n 20 pts/3" "-n 20 reboot" ""; do
  # shellcheck disable=SC2086  # $args is a list of words
  if ! cmp -s <(last -f "$dir/wtmp" $args) <("$utmpc" last --database "$dir/h.db" $args); then
    echo "utmpc last --database differs from last -f for: $args" >&2
    exit 1
  fi
done
echo "utmpc last --database prints what last -f prints (-n 20 $user, -n 20 pts/3, -n 20 reboot, all)"
# Only now, with the history checked against last, is the import's time worth printing.
awk -v n="$records" -v e="$events" -v a="$start" -v b="$end" 'BEGIN {
  printf "imported %d records as %d events in %.1f s\n", n, e, b - a }'


hyperfine --shell=none --warmup 10 --min-runs 100 \
  -n "utmpc last -n 20 $user --database (1M events)" "$utmpc last -n 20 $user --database $dir/h.db" \
  -n "last -n 20 $user -f wtmp" "last -n 20 $user -f $dir/wtmp" \
  -n "utmpc last -n 20 $user -f wtmp" "$utmpc last -n 20 $user -f $dir/wtmp"
hyperfine --shell=none --warmup 1 --runs 5 \
  -n "utmpc last --database (all rows)" "$utmpc last --database $dir/h.db" \
  -n "last -f wtmp (all rows)" "last -f $dir/wtmp"
