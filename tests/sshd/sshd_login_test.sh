#!/usr/bin/env bash
# A real login through OpenSSH's sshd on loopback, then utmpc read what sshd wrote:
#   - a pty login as root (public key) must leave its login and its logout in wtmp;
#   - `utmpc last` must print what util-linux `last` prints for that wtmp, byte for byte;
#   - `utmpc dump` must print what util-linux `utmpdump` prints;
#   - a login as a user that does not exist must land in btmp, and `utmpc lastb` must print what
#     `lastb` prints.
# sshd writes the compiled-in /var/log/wtmp, /var/log/btmp, /var/log/lastlog and /run/utmp. To
# leave the host's files alone the test re-runs itself in a private mount namespace with
# temporary files mounted over those paths. Where unshare is refused it falls back to the real
# files, and looks only at the bytes this test appended to them.
# Needs root (sshd privilege separation, mounts). Environment: UTMPC, the utmpc binary.
# Exit status: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE).
set -euo pipefail

: "${UTMPC:?set UTMPC to the utmpc binary}"

# shellcheck source=tests/sshd/sshd_env.sh
source "$(dirname "$0")/sshd_env.sh"

# Stage 4: one real pty login, then one failed login of a user that does not exist.
timeout 30 ssh -tt "${ssh_opts[@]}" root@127.0.0.1 'sleep 1; exit' </dev/null >"$tmp/ssh.out" 2>&1 ||
  { cat "$tmp/ssh.out"; fail "ssh login as root failed"; }
bad_user=utmpcd-nosuchuser
if timeout 30 ssh "${ssh_opts[@]}" "$bad_user@127.0.0.1" true </dev/null >/dev/null 2>&1; then
  fail "a login as $bad_user succeeded"
fi

# sshd's session process records the logout after the client has gone: wait for it.
dump_of() {  # the records of a file as util-linux utmpdump prints them
  if [[ $UTMPCD_SSHD_STAGE == appended ]]; then
    tail -c +$((start_size[$1] + 1)) "$1" >"$2"
  fi
  utmpdump "$2" 2>/dev/null
}
for _ in $(seq 100); do
  dump_of /var/log/wtmp "$wtmp" | grep -q '^\[8\] .*\[pts/' && break
  sleep 0.1
done
kill "$sshd_pid" 2>/dev/null || true
wait "$sshd_pid" 2>/dev/null || true
sshd_pid=
wtmp_dump=$(dump_of /var/log/wtmp "$wtmp")
btmp_dump=$(dump_of /var/log/btmp "$btmp")

# Stage 5: what sshd wrote.
login_line=$(grep -E '^\[7\] \[[ 0-9]+\] \[[^]]*\] \[root +\] \[pts/[0-9]+ *\] \[127\.0\.0\.1' \
  <<<"$wtmp_dump") || { echo "$wtmp_dump"; fail "no USER_PROCESS record of root from 127.0.0.1 in wtmp"; }
tty=$(sed -E 's/^([^]]*\]){4} \[(pts\/[0-9]+).*/\2/' <<<"$login_line" | head -n1)
grep -qE "^\[8\] .*\[$tty +\]" <<<"$wtmp_dump" ||
  { echo "$wtmp_dump"; fail "no DEAD_PROCESS (logout) record for $tty in wtmp"; }
echo "ok: wtmp has the login of root on $tty and its logout"

# Stage 6: utmpc against the util-linux oracles, in a fixed zone and locale.
export TZ=Europe/Berlin LC_ALL=C
compare() {  # compare <description> <oracle command...> -- <utmpc command...>
  local what=$1
  shift
  local oracle=() ours=()
  while [[ $1 != -- ]]; do oracle+=("$1"); shift; done
  shift
  ours=("$@")
  # stdout only: utmpdump writes its "Utmp dump of" header to stderr. Run again when they
  # differ: both count from the second they run in (last prints a session that ended in the
  # current second as "still running"), and a second can turn between the two runs.
  local try
  for try in 1 2 3; do
    "${oracle[@]}" >"$tmp/oracle.out" 2>"$tmp/oracle.err" || true
    "${ours[@]}" >"$tmp/ours.out" 2>"$tmp/ours.err" || true
    cmp -s "$tmp/oracle.out" "$tmp/ours.out" && break
    sleep 1
  done
  if ! cmp -s "$tmp/oracle.out" "$tmp/ours.out"; then
    echo "--- ${oracle[*]}"
    cat "$tmp/oracle.out"
    echo "--- ${ours[*]}"
    cat "$tmp/ours.out"
    diff "$tmp/oracle.out" "$tmp/ours.out" || true
    echo "--- stderr of both"
    cat "$tmp/oracle.err" "$tmp/ours.err"
    fail "$what differs from util-linux"
  fi
  echo "ok: $what equals util-linux byte for byte"
}
grep -q root < <(last -f "$wtmp") || fail "util-linux last does not list the login"
for opts in "" "-F" "-i" "-w" "-x" "-a" "--time-format iso" "-R root"; do
  # shellcheck disable=SC2086  # the options are words
  compare "utmpc last $opts" last -f "$wtmp" $opts -- "$UTMPC" last -f "$wtmp" $opts
done

compare "utmpc dump of wtmp" utmpdump "$wtmp" -- "$UTMPC" dump "$wtmp"

if [[ -z $btmp_dump ]]; then
  echo "NOTE: sshd wrote nothing to btmp here; lastb not compared"
else
  grep -qE "^\[6\] .*\[$bad_user *\] \[ssh:notty" <<<"$btmp_dump" ||
    { echo "$btmp_dump"; fail "the failed login of $bad_user is not in btmp"; }
  echo "ok: btmp has the failed login of $bad_user"
  for opts in "" "-F" "-i" "-w"; do
    # shellcheck disable=SC2086
    compare "utmpc lastb $opts" lastb -f "$btmp" $opts -- "$UTMPC" lastb -f "$btmp" $opts
  done
  compare "utmpc dump of btmp" utmpdump "$btmp" -- "$UTMPC" dump "$btmp"
fi
echo "PASS"
