#!/usr/bin/env bash
# Every utmpc command answers --help (usage on stdout, exit 0) and --version (its name and the
# release, exit 0), and ends a wrong option with exit status 1 and a message naming the command
# on stderr (utmpc(1), EXIT STATUS). The commands are the ones `utmpc --help` lists.
# Environment: UTMPC, UTMPCD_VERSION. Exit status: 0 pass, 1 fail.
set -euo pipefail
: "${UTMPC:?}" "${UTMPCD_VERSION:?}"
status=0
fail() { echo "FAIL: $*" >&2; status=1; }
err=$(mktemp)
trap 'rm -f "$err"' EXIT
commands=$("$UTMPC" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {exit}')
[[ $(wc -w <<<"$commands") -ge 13 ]] || fail "utmpc --help lists only: $commands"
[[ $("$UTMPC" --version) == "utmpc $UTMPCD_VERSION" ]] || fail "utmpc --version: $("$UTMPC" --version)"
for c in $commands; do
  out=$("$UTMPC" "$c" --help 2>&1) && rc=0 || rc=$?
  [[ $rc == 0 ]] || fail "utmpc $c --help exits $rc"
  grep -qi "usage" <<<"$out" || fail "utmpc $c --help: no usage: $(head -2 <<<"$out")"
  out=$("$UTMPC" "$c" --version 2>&1) && rc=0 || rc=$?
  [[ $rc == 0 && $out == "utmpc $c (utmpcd) $UTMPCD_VERSION" ]] || fail "utmpc $c --version: $rc $out"
  "$UTMPC" "$c" --no-such-option >/dev/null 2>"$err" && rc=0 || rc=$?
  [[ $rc == 1 ]] || fail "utmpc $c --no-such-option exits $rc"
  grep -q "^utmpc $c" "$err" || fail "utmpc $c --no-such-option says: $(head -1 "$err")"
done
exit $status
