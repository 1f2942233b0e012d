#!/usr/bin/env bash
# The quick start's first command as a new user meets it: scripts/run.sh creates _utmpcd, and
# utmpcd then runs as that user. An import (--once) of files in a directory only root can
# enter must fail: exit status 1, the path and "Permission denied" named, what to change said,
# nothing stored. Done as it says, the same command imports every record.
# Environment: UTMPCD_SOURCE_DIR, UTMPCD_BINARY_DIR, WTMPGEN. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD_SOURCE_DIR:?}" "${UTMPCD_BINARY_DIR:?}" "${WTMPGEN:?}"
fail() { echo "FAIL: $*" >&2; cat "$tmp/err" >&2 2>/dev/null; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "skip: run.sh creates a user, which needs root"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
mkdir -m 0700 "$tmp/secret"
mkdir -m 0755 "$tmp/store"
"$WTMPGEN" --seed 3 --records 500 -o "$tmp/secret/wtmp"
: >"$tmp/secret/btmp"

run_once() {
  # The build directory ctest runs from: run.sh's build step is then a no-op.
  UTMPCD_BUILD_DIR=$UTMPCD_BINARY_DIR "$UTMPCD_SOURCE_DIR/scripts/run.sh" --once -c /dev/null \
    --wtmp "$tmp/secret/wtmp" --btmp "$tmp/secret/btmp" --lastlog "$tmp/secret/lastlog" \
    --database "$tmp/store/history.db" >"$tmp/out" 2>"$tmp/err"
}
events() { sqlite3 "$tmp/store/history.db" 'select count(*) from events'; }

status=0
run_once || status=$?
getent passwd _utmpcd >/dev/null || fail "run.sh did not create the user _utmpcd"
[[ $status == 1 ]] || fail "the import of unreadable files exited $status, not 1"
grep -q "running as _utmpcd" "$tmp/err" || fail "the import did not run as _utmpcd"
grep -qF "$tmp/secret/wtmp: not imported: open $tmp/secret/wtmp: Permission denied" "$tmp/err" ||
  fail "the unreadable wtmp is not named with its reason"
grep -qF "cannot search directory $tmp/secret (drwx------ root:root)" "$tmp/err" ||
  fail "the directory in the way is not named"
grep -qF "chgrp utmp $tmp/secret && chmod g+rx $tmp/secret" "$tmp/err" ||
  fail "what to change is not said"
grep -q "import is incomplete" "$tmp/err" || fail "the import does not say it is incomplete"
[[ $(events) == 0 ]] || fail "an import that failed stored $(events) events"
echo "ok: an import of a root-only directory as _utmpcd fails, names the path and the fix"

# Do what it said, for the directory and then for the files.
chgrp utmp "$tmp/secret" && chmod g+rx "$tmp/secret"
chmod 0600 "$tmp/secret/wtmp"
status=0
run_once || status=$?
[[ $status == 1 ]] || fail "the import of an unreadable wtmp exited $status, not 1"
grep -qF "cannot read $tmp/secret/wtmp (-rw------- root:root); to let it: chgrp utmp $tmp/secret/wtmp && chmod g+r $tmp/secret/wtmp" "$tmp/err" ||
  fail "the unreadable file is not named with its fix"
chgrp utmp "$tmp/secret/wtmp" && chmod g+r "$tmp/secret/wtmp"
status=0
run_once || status=$?
[[ $status == 0 ]] || fail "the import exited $status once the user could read the files"
size=$(stat -c %s "$tmp/secret/wtmp")
read_to=$(sqlite3 "$tmp/store/history.db" \
  "select file_offset from cursors where source_key = 'wtmp:$tmp/secret/wtmp'")
[[ $read_to == "$size" ]] || fail "the import read wtmp to byte $read_to of $size"
n=$(events)
((n > 0)) || fail "nothing was imported"
grep -qF "imported $n events ($n from $tmp/secret/wtmp, 0 from $tmp/secret/btmp)" "$tmp/err" ||
  fail "the import does not say what it imported"
echo "ok: once the user can read them, the same command imports all $n events"
