#!/usr/bin/env bash
# utmpcd following wtmpdb's database as Debian 13 writes it, with the real writers of a cached
# Debian 13 root (tests/support/debian13_root.sh): `wtmpdb import` of a generated wtmp,
# pam_wtmpdb through pamtester (sessions opened and closed), `wtmpdb boot`, `shutdown` and
# `rotate`. utmpcd runs on this host against the root's database file. Checked:
#   - /v1/history lists what `wtmpdb last` lists (user, tty, host, login, how it ended);
#   - the store holds each row's start once and each filled-in Logout's end once, after utmpcd
#     was killed with SIGKILL again and again during a burst of pam_wtmpdb writes;
#   - after `wtmpdb rotate` moved old rows away, new logins and logouts are still followed,
#     and nothing is stored twice.
# Environment: UTMPCD, WTMPGEN, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${WTMPGEN:?}" "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root (chroot)"; exit 77; }
root=$("$UTMPCD_SOURCE_DIR/tests/support/debian13_root.sh") || { echo "FAIL: no Debian 13 root"; exit 1; }
tmp=$(mktemp -d)
daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill -9 "$daemon_pid" 2>/dev/null
  [[ -n ${KEEP:-} ]] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [[ -f $tmp/daemon.log ]] && tail -20 "$tmp/daemon.log" >&2
  exit 1
}
export LC_ALL=C TZ=UTC

# A PAM service of the root's that records sessions with pam_wtmpdb into /mnt/wtmp.db.
mkdir -p "$tmp/pam.d" "$tmp/db"
cp -a "$root/etc/pam.d/." "$tmp/pam.d/"
echo 'session required pam_wtmpdb.so database=/mnt/wtmp.db' >"$tmp/pam.d/utmpcd-test"
echo 'session required pam_lastlog2.so database=/mnt/lastlog2.db' >"$tmp/pam.d/utmpcd-ll2"
# A command in the root (read-only), with $tmp as its /mnt and the service above.
in_root() {
  unshare --mount --propagation private -- bash -c '
    mount --bind "$2" "$2" && mount -o remount,bind,ro "$2" && mount --bind "$1" "$2/mnt" &&
      mount --bind "$1/pam.d" "$2/etc/pam.d" || exit 1
    r=$2; shift 2; exec chroot "$r" "$@"' _ "$tmp" "$root" "$@"
}
# A session as sshd would open it: open (and close) through PAM, as root.
session() {  # TTY RHOST open|both
  local what=open_session
  [[ $3 == both ]] && what="open_session close_session"
  # shellcheck disable=SC2086
  in_root pamtester -I "tty=$1" -I "rhost=$2" utmpcd-test root $what >/dev/null 2>&1 ||
    fail "pamtester $1 $2 $3"
}
sql() { sqlite3 "file:$tmp/db/history.db?mode=ro" "$@"; }

# An old history imported, as an upgraded host's admin does.
"$WTMPGEN" --seed 7 --records 300 --kind wtmp -o "$tmp/wtmp.gen"
in_root wtmpdb import -f /mnt/wtmp.db /mnt/wtmp.gen >/dev/null 2>&1 || fail "wtmpdb import"
# wtmpdb last -j writes a record's bytes raw, which is no JSON for control bytes: texts a
# terminal could not take as they are become "odd" (the hostile ones are utmpc's tests' and
# fuzz targets' business, not this one's).
for column in User TTY RemoteHost; do
  sqlite3 -cmd ".timeout 5000" "$tmp/wtmp.db" "UPDATE wtmp SET $column = 'odd' WHERE $column GLOB '*[^ -~]*'"
done
rows=$(sqlite3 "$tmp/wtmp.db" 'SELECT count(*) FROM wtmp')
((rows > 50)) || fail "wtmpdb import wrote only $rows rows"

# A last login lastlog2 knows from before the daemon ran (daemon's, whom no wtmpdb row names).
in_root pamtester -I tty=tty5 -I rhost=203.0.113.5 utmpcd-ll2 daemon open_session close_session \
  >/dev/null 2>&1 || fail "pamtester (pam_lastlog2)"

port=
start_daemon() {
  # (The log of every start is kept: the check for errors at the end reads them all.)
  touch "$tmp/daemon.log"
  local from=$(($(wc -l <"$tmp/daemon.log") + 1))
  "$UTMPCD" --database "$tmp/db/history.db" --wtmpdb "$tmp/wtmp.db" --wtmp "$tmp/no-wtmp" \
    --btmp "$tmp/btmp" --utmp "$tmp/utmp" --lastlog /nonexistent --lastlog2 "$tmp/lastlog2.db" \
    --ingest-socket none \
    --http-listen 127.0.0.1:0 --user root --debug 2>>"$tmp/daemon.log" &
  daemon_pid=$!
  port=
  for _ in $(seq 200); do
    port=$(tail -n "+$from" "$tmp/daemon.log" | sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p')
    [[ -n $port ]] && return 0
    sleep 0.05
  done
  fail "the daemon did not start"
}
# What the store should hold once caught up: a start for each row of the two types, an end for
# each filled-in Logout (whatever was rotated away since stays stored).
wait_caught_up() {  # the number of start and end events wanted
  local want=$1 got=
  for _ in $(seq 200); do
    got=$(sql "SELECT count(*) FROM events WHERE source = 'wtmpdb'" 2>/dev/null || echo 0)
    [[ $got == "$want" ]] && return 0
    sleep 0.05
  done
  fail "the store holds $got wtmpdb events, not $want"
}
events_wanted() {  # rows starts + ends in the database now, plus $1 moved away before
  echo $(($(sqlite3 "$tmp/wtmp.db" "SELECT count(*) + count(Logout) FROM wtmp WHERE Type IN (1, 3)") + ${1:-0}))
}
no_duplicates() {
  local dup
  dup=$(sql "SELECT session, kind, count(*) FROM events WHERE source = 'wtmpdb' GROUP BY session, kind HAVING count(*) > 1 LIMIT 3")
  [[ -z $dup ]] || fail "stored twice (row|kind|count): $dup"
  # Each start and end as the row says, to the microsecond.
  local differ
  differ=$(sqlite3 "$tmp/db/history.db" "ATTACH 'file:$tmp/wtmp.db?mode=ro' AS w;
    SELECT e.session, e.kind FROM events e JOIN w.wtmp r ON r.ID = e.session
    WHERE e.source = 'wtmpdb' AND ((e.kind IN ('login', 'boot') AND e.time_us != r.Login)
       OR (e.kind IN ('logout', 'shutdown') AND e.time_us != max(r.Logout, r.Login))) LIMIT 3")
  [[ -z $differ ]] || fail "events that are not their row's times: $differ"
}

# 1. The import, then live sessions, a boot and a shutdown.
start_daemon
wait_caught_up "$(events_wanted)"
session pts/1 192.0.2.1 both
session pts/2 2001:db8::2 open
session tty3 '' both
wait_caught_up "$(events_wanted)"
in_root wtmpdb boot -f /mnt/wtmp.db >/dev/null 2>&1 || fail "wtmpdb boot"
session pts/4 192.0.2.4 open
session pts/6 192.0.2.6 open
wait_caught_up "$(events_wanted)"
no_duplicates

# /v1/history against wtmpdb last: user, tty, host, login time, and the end (a time, or how it
# ended), for every row either lists.
history_rows() {
  local cursor="" page
  while :; do
    page=$(curl -sS --max-time 10 "http://127.0.0.1:$port/v1/history?limit=1000${cursor:+&cursor=$cursor}")
    jq -r '.sessions[] | [.user, .tty, .host, (.login_time_us / 1000000 | floor | todate),
      (if .end == "logout" or .end == "boot" then (.logout_time_us / 1000000 | floor | todate)
       elif .end == "still" or .end == "gone" then "still logged in"
       elif .end == "running" then "still running" else .end end)] | @tsv' <<<"$page"
    cursor=$(jq -r '.next_cursor // empty' <<<"$page")
    [[ -n $cursor ]] || break
  done
}
# /v1/history shows a tty as last does (ftp123 as ftp), and a user and tty at most as long as
# utmp's fields (`wtmpdb import` reads a full 32-byte ut_line or ut_user on into the next
# field, which no login writes).
wtmpdb_rows() {
  in_root wtmpdb last -f /mnt/wtmp.db -w --time-format iso -j |
    jq -r '.entries[] | [.user[:32],
      (.tty | if test("^ftp[0-9]") then "ftp" elif test("^uucp[0-9]") then "uucp" else .[:32] end),
      .hostname, (.login | sub("\\+0000$"; "Z")),
      (.logout | sub("\\+0000$"; "Z") | sub(" +$"; ""))] | @tsv'
}
same_as_wtmpdb_last() {
  history_rows >"$tmp/ours"
  wtmpdb_rows >"$tmp/theirs"
  [[ $(wc -l <"$tmp/theirs") -gt 50 ]] || fail "wtmpdb last listed $(wc -l <"$tmp/theirs") rows"
  if ! diff "$tmp/theirs" "$tmp/ours" >"$tmp/diff"; then
    head -20 "$tmp/diff" >&2
    fail "/v1/history does not list what wtmpdb last lists ($(grep -c '^[<>]' "$tmp/diff") lines differ)"
  fi
}
same_as_wtmpdb_last
echo "1: /v1/history = wtmpdb last, $(wc -l <"$tmp/ours") rows"
# lastlog2's row, imported on the first start: /v1/lastlog says what lastlog2 -u says.
want=$(sqlite3 "$tmp/lastlog2.db" "SELECT Time || ' ' || TTY || ' ' || RemoteHost FROM Lastlog2 WHERE Name = 'daemon'")
got=$(curl -sS "http://127.0.0.1:$port/v1/lastlog?user=daemon" |
  jq -r '.lastlog[0] | "\(.time_us / 1000000 | floor) \(.tty) \(.host)"')
[[ -n $want && $got == "$want" ]] || fail "/v1/lastlog for daemon: '$got', lastlog2 has '$want'"

# 2. SIGKILL during a burst of writes: sessions opened and closed by pam_wtmpdb, and open ones
# closed by hand as pam_wtmpdb's close does (UPDATE ... SET Logout; one of this boot: a session
# from before the newest boot row can no longer end), while utmpcd is killed and started again
# five times.
rows_before=$(sqlite3 "$tmp/wtmp.db" 'SELECT count(*) FROM wtmp')
(
  for i in $(seq 1 60); do
    in_root pamtester -I "tty=pts/$((i % 7 + 10))" -I "rhost=198.51.100.$i" utmpcd-test root \
      open_session close_session >/dev/null 2>&1
  done
) &
writer=$!
for round in 1 2 3 4 5; do
  sleep "0.$((RANDOM % 6 + 2))"
  kill -9 "$daemon_pid"
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=
  sqlite3 -cmd ".timeout 5000" "$tmp/wtmp.db" "UPDATE wtmp SET Logout = Login + $round WHERE ID = (SELECT min(ID) FROM wtmp WHERE Type = 3 AND Logout IS NULL AND TTY = 'pts/4' AND ID > (SELECT max(ID) FROM wtmp WHERE Type = 1))"
  start_daemon
done
wait "$writer"
written=$(( $(sqlite3 "$tmp/wtmp.db" 'SELECT count(*) FROM wtmp') - rows_before ))
[[ $written == 60 ]] || fail "pam_wtmpdb recorded $written of the 60 sessions (its writes refused while utmpcd read?)"
wait_caught_up "$(events_wanted)"
no_duplicates
same_as_wtmpdb_last
echo "2: after 5 kills during 60 sessions: $(sql "SELECT count(*) FROM events WHERE source = 'wtmpdb'") events, none twice"

# 3. wtmpdb rotate moves the imported rows (older than a day) to a dated database; the daemon
# goes on with new rows and keeps what it stored.
before=$(sql "SELECT count(*) FROM events WHERE source = 'wtmpdb'")
moved=$(sqlite3 "$tmp/wtmp.db" "SELECT count(*) + count(Logout) FROM wtmp WHERE Type IN (1, 3) AND Login <= (strftime('%s', 'now') - 86400) * 1000000")
in_root wtmpdb rotate -f /mnt/wtmp.db -d 1 >"$tmp/rotate.out" 2>&1 || fail "wtmpdb rotate: $(cat "$tmp/rotate.out")"
ls "$tmp"/wtmp_*.db >/dev/null 2>&1 || fail "wtmpdb rotate wrote no dated database: $(cat "$tmp/rotate.out")"
((moved > 0)) || fail "nothing was old enough to rotate"
session pts/5 192.0.2.5 both
sqlite3 -cmd ".timeout 5000" "$tmp/wtmp.db" "UPDATE wtmp SET Logout = Login + 7 WHERE Type = 3 AND TTY = 'pts/6' AND Logout IS NULL"
wait_caught_up "$(events_wanted "$moved")"
no_duplicates
after=$(sql "SELECT count(*) FROM events WHERE source = 'wtmpdb'")
((after == before + 3)) || fail "after the rotation $after events, not $before + 3"
if grep -i "error" "$tmp/daemon.log" >&2; then fail "errors in the daemon's log"; fi
echo "3: wtmpdb rotate moved $moved events' rows away; the next 3 events were stored"
# 4. A host upgraded from Debian 12: its wtmp (which this history followed) imported into wtmpdb
# by the upgrade, then new logins in wtmpdb only. [sources] history = auto follows both; the
# imported rows are not stored a second time.
kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
mkdir -p "$tmp/up/db"
cp "$tmp/wtmp.gen" "$tmp/up/wtmp"
in_root wtmpdb import -f /mnt/up/wtmp.db /mnt/up/wtmp >/dev/null 2>&1 || fail "wtmpdb import (upgrade)"
imported=$(sqlite3 "$tmp/up/wtmp.db" 'SELECT count(*) FROM wtmp')
echo 'session required pam_wtmpdb.so database=/mnt/up/wtmp.db' >"$tmp/pam.d/utmpcd-up"
in_root pamtester -I tty=pts/9 -I rhost=192.0.2.99 utmpcd-up root open_session close_session \
  >/dev/null 2>&1 || fail "pamtester (upgraded host)"
"$UTMPCD" --database "$tmp/up/db/history.db" --wtmp "$tmp/up/wtmp" --wtmpdb "$tmp/up/wtmp.db" \
  --btmp "$tmp/up/btmp" --utmp "$tmp/utmp" --lastlog /nonexistent --lastlog2 /nonexistent \
  --failed-source none --ingest-socket none --http-listen none --once --user root \
  2>"$tmp/up/import.log" ||
  fail "utmpcd --once (upgraded host): $(cat "$tmp/up/import.log")"
from_wtmpdb=$(sqlite3 "$tmp/up/db/history.db" "SELECT group_concat(kind || ' ' || tty, ', ') FROM events WHERE source = 'wtmpdb'")
from_wtmp=$(sqlite3 "$tmp/up/db/history.db" "SELECT count(*) FROM events WHERE source = 'wtmp'")
[[ $from_wtmpdb == "login pts/9, logout pts/9" ]] ||
  fail "from the upgraded host's wtmpdb ($imported rows imported from wtmp): $from_wtmpdb"
((from_wtmp > 100)) || fail "only $from_wtmp events from wtmp"
echo "4: upgraded host: $from_wtmp events from wtmp, of wtmpdb only the login made since"
echo "PASS"
