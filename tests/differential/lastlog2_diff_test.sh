#!/usr/bin/env bash
# utmpc lastlog2 against Debian 13's own lastlog2 (util-linux 2.41), byte for byte, output and
# exit status: a database written by pam_lastlog2 through pamtester in the cached Debian 13 root
# (tests/support/debian13_root.sh), with rows added that no login writes (never logged in, a
# time that is no number, a login after 2038, empty and NULL columns, long names, bytes a
# terminal must not get), for each option that reads, in UTC and in a zone with daylight saving
# time. lastlog2 prints a record's bytes raw; utmpc escapes them (as utmpc last does), and the
# comparison escapes lastlog2's output the same way.
# Environment: UTMPC, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPC:?}" "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root (chroot)"; exit 77; }
root=$("$UTMPCD_SOURCE_DIR/tests/support/debian13_root.sh") || { echo "FAIL: no Debian 13 root"; exit 1; }
tmp=$(mktemp -d)
trap '[[ -n ${KEEP:-} ]] || rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export LC_ALL=C

mkdir -p "$tmp/pam.d"
cp -a "$root/etc/pam.d/." "$tmp/pam.d/"
echo 'session required pam_lastlog2.so database=/mnt/ll2.db' >"$tmp/pam.d/utmpcd-test"
in_root() {
  unshare --mount --propagation private -- bash -c '
    mount --bind "$2" "$2" && mount -o remount,bind,ro "$2" && mount --bind "$1" "$2/mnt" &&
      mount --bind "$1/pam.d" "$2/etc/pam.d" || exit 1
    r=$2; shift 2; exec chroot "$r" "$@"' _ "$tmp" "$root" "$@"
}
escaped() {
  perl -ne 'chomp; s/([\x00-\x08\x0a-\x1f\x7f])/"*".chr(ord($1)^0x40)/ge;
            s/([\x80-\xff])/sprintf("\\%03o",ord($1))/ge; print "$_\n"'
}

# Real logins: pam_lastlog2 writes root's, daemon's and nobody's rows.
for who in "root pts/3 192.0.2.9" "daemon tty1 -" "nobody pts/7 2001:db8::77"; do
  set -- $who
  rhost=()
  [[ $3 != - ]] && rhost=(-I "rhost=$3")
  in_root pamtester -I "tty=$2" "${rhost[@]}" utmpcd-test "$1" open_session close_session \
    >/dev/null 2>&1 || fail "pamtester $who"
done
# And rows no login writes (lastlog2 -i and -S, or damage).
sqlite3 "$tmp/ll2.db" "UPDATE Lastlog2 SET Time = Time - 3 * 86400 WHERE Name = 'daemon';
  INSERT INTO Lastlog2 VALUES ('bin', 0, NULL, NULL, NULL);
  INSERT INTO Lastlog2 VALUES ('old', 1700000000, 'pts/0', '198.51.100.1', 'sshd');
  INSERT INTO Lastlog2 VALUES ('future', 4102444800, 'tty2', '', 'login');
  INSERT INTO Lastlog2 VALUES ('averyveryverylongusername0123456789', 1750000000,
    'pts/averylongttyname', 'segment1.segment2.segment3.segment4.segment5.example.org', 'sshd');
  INSERT INTO Lastlog2 VALUES ('evil' || char(27) || '[2J', 1760000000, 'pts/' || char(7),
    'host' || char(9) || char(200), 'x' || char(27) || 'y');
  INSERT INTO Lastlog2 VALUES ('badtime', 'yesterday', 'pts/1', NULL, 'sshd');"
cp "$tmp/ll2.db" "$tmp/clean.db"
sqlite3 "$tmp/clean.db" "DELETE FROM Lastlog2 WHERE Name = 'badtime'"

checked=0
for tz in UTC EST5EDT,M3.2.0,M11.1.0; do
  while IFS= read -r opts; do
    # shellcheck disable=SC2086
    eval "set -- $opts"
    for db in ll2 clean; do
      TZ=$tz in_root lastlog2 -d "/mnt/$db.db" "$@" >"$tmp/want.raw" 2>&1 && want_rc=0 || want_rc=$?
      escaped <"$tmp/want.raw" | sed 's/^lastlog2: /PROG: /' >"$tmp/want"
      TZ=$tz "$UTMPC" lastlog2 -d "$tmp/$db.db" "$@" >"$tmp/got.raw" 2>&1 && got_rc=0 || got_rc=$?
      sed 's/^utmpc lastlog2: /PROG: /' "$tmp/got.raw" >"$tmp/got"
      [[ $want_rc == "$got_rc" ]] || fail "$db, lastlog2 $opts: exit status $got_rc, lastlog2's $want_rc"
      if ! cmp -s "$tmp/want" "$tmp/got"; then
        diff "$tmp/want" "$tmp/got" | head -10 >&2
        fail "$db.db, TZ=$tz, lastlog2 $opts: utmpc prints otherwise"
      fi
      checked=$((checked + 1))
    done
  done <<'OPTS'

-s
-a
-a -s
-b 1
-b 0
-t 1
-t 5
-t 100000
-b 100000
--before=2 --service
-u root
-u root -s
-u bin
-u daemon --service
-u no-such-user
-b x
-t -1
OPTS
done
# A database that is not there, and one that is not lastlog2's.
sqlite3 "$tmp/other.db" "CREATE TABLE wtmp (ID INTEGER PRIMARY KEY)"
for db in missing other; do
  in_root lastlog2 -d "/mnt/$db.db" >"$tmp/want.raw" 2>&1 && want_rc=0 || want_rc=$?
  "$UTMPC" lastlog2 -d "$tmp/$db.db" >"$tmp/got.raw" 2>&1 && got_rc=0 || got_rc=$?
  [[ $want_rc == "$got_rc" ]] || fail "$db database: exit status $got_rc, lastlog2's $want_rc"
  diff <(sed 's/^lastlog2: //; s|/mnt/|DIR/|' "$tmp/want.raw") \
    <(sed 's/^utmpc lastlog2: //; s|'"$tmp"'/|DIR/|' "$tmp/got.raw") >&2 ||
    fail "$db database: utmpc says otherwise"
done
# A newline in a field is shown, never sent: a row cannot pass for two (lastlog2 prints it raw).
sqlite3 "$tmp/nl.db" "CREATE TABLE Lastlog2(Name TEXT PRIMARY KEY, Time INTEGER, TTY TEXT,
    RemoteHost TEXT, Service TEXT);
  INSERT INTO Lastlog2 VALUES ('mallory', 1760000000, 'pts/1', 'x' || char(10) || 'root  pts/0',
    'sshd' || char(10) || 'y');
  INSERT INTO Lastlog2 VALUES ('bad' || char(10) || 'time', 'z' || char(10), 'pts/2', '', '');"
"$UTMPC" lastlog2 -d "$tmp/nl.db" -s >"$tmp/nl.out"
[[ $(wc -l <"$tmp/nl.out") == 6 ]] || fail "a newline in a field made a line: $(cat -A "$tmp/nl.out")"
grep -q 'x\*Jroot  pts/0' "$tmp/nl.out" || fail "the newline is not shown: $(cat -A "$tmp/nl.out")"
# What changes the database is lastlog2's own.
"$UTMPC" lastlog2 -d "$tmp/ll2.db" -S -u root >"$tmp/out" 2>&1 && fail "utmpc lastlog2 -S changed something?"
grep -q "only reads" "$tmp/out" || fail "utmpc lastlog2 -S: $(cat "$tmp/out")"
echo "PASS: $checked comparisons"
