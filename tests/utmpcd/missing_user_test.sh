#!/usr/bin/env bash
# The daemon never runs as root unless told so: started as root on a machine where the user it
# runs as (_utmpcd by default) does not exist, it stops at once, naming the user and how to
# create it. The machine's /etc/passwd is hidden behind a copy without _utmpcd, in a mount
# namespace of the test's own (root only). With --user root it runs as root, as asked.
# Environment: UTMPCD. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
command -v unshare >/dev/null || { echo "needs unshare"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

grep -v '^_utmpcd:' /etc/passwd >"$tmp/passwd"
: >"$tmp/wtmp"; : >"$tmp/btmp"; : >"$tmp/lastlog"
run() {  # utmpcd --once ARGS... without _utmpcd in /etc/passwd; its stderr in $tmp/err
  unshare -m sh -c 'mount --bind "$1" /etc/passwd && shift && exec "$@"' sh "$tmp/passwd" \
    "$UTMPCD" --once --database "$tmp/db/history.db" --wtmp "$tmp/wtmp" --btmp "$tmp/btmp" \
    --lastlog "$tmp/lastlog" "$@" 2>"$tmp/err"
}
if run; then fail "ran without the user it runs as: $(cat "$tmp/err")"; fi
grep -q "user '_utmpcd' does not exist: create it" "$tmp/err" ||
  fail "the refusal does not name the user and the fix: $(cat "$tmp/err")"
grep -q 'running as root' "$tmp/err" && fail "it said it runs as root"
run --user root || fail "--user root did not run: $(cat "$tmp/err")"
grep -q 'running as root, as --user or \[daemon\] user says' "$tmp/err" ||
  fail "--user root: $(cat "$tmp/err")"
echo PASS
