#!/usr/bin/env bash
# utmpc wtmpdb last, and utmpc last --database FILE, against Debian 13's own wtmpdb last, byte
# for byte: databases written by the real `wtmpdb import` (in a cached Debian 13 root,
# tests/support/debian13_root.sh) from generated wtmp files with boots, crashes, shutdowns,
# full-width fields and IPv6, for each option both have, in UTC and in a zone with daylight
# saving time. Where a record holds bytes a terminal must not get, wtmpdb prints them raw and
# utmpc escapes them (as utmpc last does): the comparison escapes wtmpdb's output the same way.
# Environment: UTMPC, WTMPGEN, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPC:?}" "${WTMPGEN:?}" "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root (chroot)"; exit 77; }
root=$("$UTMPCD_SOURCE_DIR/tests/support/debian13_root.sh") || { echo "FAIL: no Debian 13 root"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export LC_ALL=C

# A command in the Debian 13 root, with $tmp as its /mnt: in a mount namespace of its own, where
# the root is mounted read-only (the cache stays as debootstrap made it) and $tmp over its /mnt.
in_root() {
  unshare --mount --propagation private -- bash -c '
    mount --bind "$2" "$2" && mount -o remount,bind,ro "$2" && mount --bind "$1" "$2/mnt" || exit 1
    r=$2; shift 2; exec chroot "$r" "$@"' _ "$tmp" "$root" "$@"
}
# wtmpdb's output as utmpc shows it on a terminal in the C locale (core/text.h,
# AppendForTerminal): a control byte but the tab as '*' and its caret letter, a byte above 0x7f
# as a backslash and three octal digits.
escaped() {
  perl -ne 'chomp; s/([\x00-\x08\x0a-\x1f\x7f])/"*".chr(ord($1)^0x40)/ge;
            s/([\x80-\xff])/sprintf("\\%03o",ord($1))/ge; print "$_\n"'
}

checked=0
for seed in 1 2 3; do
  "$WTMPGEN" --seed "$seed" --records 400 --kind wtmp -o "$tmp/wtmp$seed"
  in_root wtmpdb import -f "/mnt/w$seed.db" "/mnt/wtmp$seed" >"$tmp/import.out" 2>&1 ||
    fail "wtmpdb import: $(cat "$tmp/import.out")"
  users=$(in_root sqlite3 "/mnt/w$seed.db" "SELECT User FROM wtmp WHERE Type = 3 GROUP BY User ORDER BY count(*) DESC LIMIT 2" | tr '\n' ' ')
  tty=$(in_root sqlite3 "/mnt/w$seed.db" "SELECT TTY FROM wtmp WHERE Type = 3 AND TTY LIKE 'pts/%' LIMIT 1")
  mid=$(in_root sqlite3 "/mnt/w$seed.db" "SELECT Login / 1000000 FROM wtmp ORDER BY Login LIMIT 1 OFFSET (SELECT count(*) / 2 FROM wtmp)")
  [[ -n $users && -n $mid ]] || fail "seed $seed: the database holds no sessions"
  # The same history with every text a terminal could take as it is (c$seed.db): there the JSON
  # too is compared byte for byte (wtmpdb writes a record's bytes into its JSON raw, which is
  # no JSON when they are control characters or not UTF-8; utmpc escapes them).
  cp "$tmp/w$seed.db" "$tmp/c$seed.db"
  for column in User TTY RemoteHost; do
    in_root sqlite3 "/mnt/c$seed.db" "UPDATE wtmp SET $column = 'odd' WHERE $column GLOB '*[^ -~]*'"
  done
  # And rows no import writes: services, an unknown type, no tty, a soft reboot, a logout of
  # 0, a login after 2038.
  in_root sqlite3 "/mnt/c$seed.db" "UPDATE wtmp SET Service = 'sshd' WHERE ID % 3 = 0;
    INSERT INTO wtmp (Type, User, Login, Logout, TTY, RemoteHost, Service) VALUES
      (5, 'weird', ($mid + 100) * 1000000, NULL, 'pts/77', '192.0.2.5', NULL),
      (3, 'notty', ($mid + 200) * 1000000, ($mid + 4000) * 1000000, NULL, NULL, 'cron'),
      (1, 'soft-reboot', ($mid + 300) * 1000000, NULL, '~', '6.12.0-1-amd64', NULL),
      (3, 'zero', ($mid + 400) * 1000000, 0, 'pts/78', '192.0.2.6', 'login'),
      (3, 'future', 2208988800 * 1000000, NULL, 'pts/79', '2001:db8::79', 'sshd');"
  for tz in UTC EST5EDT,M3.2.0,M11.1.0; do
    when=$(TZ=$tz date -d "@$mid" '+%Y-%m-%d %H:%M:%S')
    while IFS= read -r opts; do
      # shellcheck disable=SC2086
      eval "set -- $opts"
      for db in "w$seed" "c$seed"; do
        [[ $db == w* && " $opts " == *" -j "* ]] && continue
        TZ=$tz in_root wtmpdb last -f "/mnt/$db.db" "$@" >"$tmp/want.raw" 2>&1 && want_rc=0 || want_rc=$?
        escaped <"$tmp/want.raw" >"$tmp/want"
        TZ=$tz "$UTMPC" wtmpdb last -f "$tmp/$db.db" "$@" >"$tmp/got" 2>&1 && got_rc=0 || got_rc=$?
        [[ $want_rc == "$got_rc" ]] || fail "$db.db, wtmpdb last $opts: exit status $got_rc, wtmpdb's $want_rc"
        # (The trailer names the file: where each program found it.)
        sed -i "s|^$tmp/|/mnt/|" "$tmp/got"
        if ! cmp -s "$tmp/want" "$tmp/got"; then
          diff "$tmp/want" "$tmp/got" | head -10 >&2
          fail "$db.db, TZ=$tz, wtmpdb last $opts: utmpc prints otherwise"
        fi
        checked=$((checked + 1))
      done
    done <<OPTS

-a
-R
-w
-x
-F
-S
-j
-x -j -F
-n 7
-12
-a -w -x
--time-format notime
--time-format iso
--time-format full
--time-format short -x
-s '$when'
-t '$when'
-p '$when'
$users
$tty
-R -x $users
OPTS
  done
done
echo "ok: $checked comparisons byte for byte (output and exit status)"

# What wtmpdb's JSON cannot be, utmpc's is: JSON, whatever the records hold, and for a database
# with no rows.
for seed in 1 2 3; do
  "$UTMPC" wtmpdb last -j -x -S -f "$tmp/w$seed.db" | jq -e '.entries | length > 0' >/dev/null ||
    fail "utmpc wtmpdb last -j of w$seed.db is no JSON"
done
in_root sqlite3 /mnt/empty.db "CREATE TABLE wtmp(ID INTEGER PRIMARY KEY, Type INTEGER, User TEXT NOT NULL, Login INTEGER, Logout INTEGER, TTY TEXT, RemoteHost TEXT, Service TEXT) STRICT"
"$UTMPC" wtmpdb last -j -f "$tmp/empty.db" | jq -e '.entries == []' >/dev/null ||
  fail "utmpc wtmpdb last -j of an empty database: $("$UTMPC" wtmpdb last -j -f "$tmp/empty.db")"
in_root wtmpdb last -f /mnt/empty.db >"$tmp/want"
"$UTMPC" wtmpdb last -f "$tmp/empty.db" | sed "s|^$tmp/|/mnt/|" >"$tmp/got"
cmp -s "$tmp/want" "$tmp/got" || fail "an empty database: $(cat "$tmp/got"), wtmpdb: $(cat "$tmp/want")"
# Refusals: the same message and status; conflicting options the same first line and status.
for bad in "-s bogus" "--time-format long" "-t 2025-13-45"; do
  # shellcheck disable=SC2086
  in_root wtmpdb last -f /mnt/c1.db $bad >"$tmp/want" 2>&1 && want_rc=0 || want_rc=$?
  # shellcheck disable=SC2086
  "$UTMPC" wtmpdb last -f "$tmp/c1.db" $bad >"$tmp/got" 2>&1 && got_rc=0 || got_rc=$?
  [[ $want_rc == "$got_rc" ]] && cmp -s "$tmp/want" "$tmp/got" ||
    fail "wtmpdb last $bad: utmpc said $(cat "$tmp/got") ($got_rc), wtmpdb $(cat "$tmp/want") ($want_rc)"
done
for bad in "-a -R" "-d -i" "-R -d"; do
  # shellcheck disable=SC2086
  in_root wtmpdb last -f /mnt/c1.db $bad >"$tmp/want" 2>&1 && want_rc=0 || want_rc=$?
  # shellcheck disable=SC2086
  "$UTMPC" wtmpdb last -f "$tmp/c1.db" $bad >"$tmp/got" 2>&1 && got_rc=0 || got_rc=$?
  [[ $want_rc == "$got_rc" && $(head -1 "$tmp/want") == "$(head -1 "$tmp/got")" ]] ||
    fail "wtmpdb last $bad: utmpc said $(head -1 "$tmp/got") ($got_rc), wtmpdb $(head -1 "$tmp/want") ($want_rc)"
done
echo "ok: JSON always, an empty database, refusals"

# utmpc last --database FILE and utmpc last -f FILE read a wtmpdb database as wtmpdb last -f
# FILE does.
TZ=UTC in_root wtmpdb last -f /mnt/w1.db -x >"$tmp/want.raw"
escaped <"$tmp/want.raw" | sed "s|^/mnt/w1.db begins|$tmp/w1.db begins|" >"$tmp/want"
# (Long options also abbreviated, and with their value after '=', as getopt_long takes them.)
for option in "--database $tmp/w1.db" "-f $tmp/w1.db" "--datab $tmp/w1.db" "--fi=$tmp/w1.db" \
  "--database=$tmp/w1.db" "-f$tmp/w1.db"; do
  # shellcheck disable=SC2086
  TZ=UTC "$UTMPC" last $option -x >"$tmp/got"
  cmp -s "$tmp/want" "$tmp/got" || { diff "$tmp/want" "$tmp/got" | head >&2; fail "utmpc last $option"; }
done
echo "ok: utmpc last --database FILE, utmpc last -f FILE (also abbreviated)"

# utmpc last on a host that keeps no wtmp (no /var/log/wtmp, no utmpcd history, a wtmpdb
# database) reads it without being told, where Debian 13 keeps it (/var/log/wtmp.db), as wtmpdb
# last does there. (In a mount namespace of the test's own: /var/log holds only the database,
# /var/lib nothing.)
mkdir -p "$tmp/varlog" "$tmp/varlib"
cp "$tmp/c1.db" "$tmp/varlog/wtmp.db"
TZ=UTC unshare --mount --propagation private -- bash -c '
  mount --bind "$2" "$2" && mount -o remount,bind,ro "$2" && mount --bind "$1" "$2/var/log" &&
  exec chroot "$2" wtmpdb last -x' _ "$tmp/varlog" "$root" >"$tmp/want" 2>&1
TZ=UTC unshare --mount --propagation private -- bash -c 'mount --bind "$1" /var/log && mount --bind "$2" /var/lib && exec "$3" last -x' \
  _ "$tmp/varlog" "$tmp/varlib" "$UTMPC" >"$tmp/got" 2>&1
grep -q '^wtmpdb begins' "$tmp/want" || fail "wtmpdb last (no -f): $(tail -2 "$tmp/want")"
cmp -s "$tmp/want" "$tmp/got" || { diff "$tmp/want" "$tmp/got" | head >&2; fail "utmpc last on a host without wtmp"; }
echo "ok: utmpc last on a host without wtmp reads wtmpdb's database"
