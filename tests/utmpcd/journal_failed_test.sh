#!/usr/bin/env bash
# Failed logins from the systemd journal (hosts without btmp): a real systemd-journald runs in
# a mount namespace of this test (its sockets and a volatile journal on tmpfs), takes sshd's
# and PAM's messages as they log them, and utmpcd follows its files. Checked through /v1/failed
# and utmpc lastb:
#   - each failure once, with user, host and tty; publickey attempts, sshd's own pam_unix lines
#     and successful logins are no failure;
#   - an entry logged by a user other than root ("sshd: Failed password for root ...") is not
#     believed;
#   - a user name with control bytes is escaped (JSON, and the terminal listing);
#   - after SIGKILL, utmpcd resumes at its stored journal cursor: nothing twice, nothing lost.
# Environment: UTMPCD, UTMPC. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPC:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root (mount namespace)"; exit 77; }
# shellcheck source=../support/journald.sh
source "$(dirname "$0")/../support/journald.sh"
[[ -x $JOURNALD ]] || { echo "no systemd-journald"; exit 77; }

if [[ ${1:-} != inside ]]; then
  exec unshare --mount --propagation private --fork -- "$0" inside
fi

tmp=$(mktemp -d)
journald_pid= daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill -9 "$daemon_pid" 2>/dev/null
  [[ -n $journald_pid ]] && kill "$journald_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [[ -f $tmp/daemon.log ]] && tail -20 "$tmp/daemon.log" >&2
  exit 1
}
export LC_ALL=C TZ=UTC

# This namespace's journald.
start_journald "$tmp/journald.log"

# A message as a program logs it to syslog, the facility journald records with it.
say() {  # IDENTIFIER FACILITY MESSAGE [as USER]
  local run=()
  [[ ${4:-} ]] && run=(setpriv --reuid "$4" --regid "$(id -g "$4")" --clear-groups)
  printf 'MESSAGE=%s\nSYSLOG_IDENTIFIER=%s\nSYSLOG_FACILITY=%s\nPRIORITY=5\n' "$3" "$1" "$2" |
    "${run[@]}" logger --journald
}
say sshd 4 "Failed password for root from 192.0.2.1 port 22 ssh2"
say sshd-session 4 "Failed password for invalid user admin from 2001:db8::7 port 50122 ssh2"
say sshd 10 "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root"
say sshd 4 "Failed publickey for bob from 192.0.2.4 port 22 ssh2: ED25519 SHA256:abc"
say sshd 4 "Accepted password for bob from 192.0.2.4 port 22 ssh2"
say login 10 "pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=alice"
say sshd 4 "Invalid user $(printf 'mal\033[2Jlory') from 203.0.113.9 port 4444"
say sshd 4 "Failed password for root from 6.6.6.6 port 22 ssh2" nobody  # forged by a user
say cron 10 "pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)"

# Failed logins are the full tier's: loopback gets it here.
printf '[[access]]\nnetworks = ["127.0.0.1"]\ntier = "full"\n' >"$tmp/utmpcd.toml"
: >"$tmp/wtmp"
port=
start_daemon() {  # [USER [DATABASE]]
  : >"$tmp/daemon.log"
  "$UTMPCD" -c "$tmp/utmpcd.toml" --database "${2:-$tmp/history.db}" --wtmp "$tmp/wtmp" \
    --btmp "$tmp/btmp" --utmp "$tmp/utmp" --lastlog /nonexistent --ingest-socket none \
    --history-source wtmp --failed-source journal --journal-directory /run/log/journal \
    --http-listen 127.0.0.1:0 --user "${1:-root}" 2>"$tmp/daemon.log" &
  daemon_pid=$!
  port=
  for _ in $(seq 200); do
    port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/daemon.log")
    [[ -n $port ]] && return 0
    sleep 0.05
  done
  fail "the daemon did not start"
}
failed() { curl -sS --max-time 10 "http://127.0.0.1:$port/v1/failed?limit=100"; }
wait_failed() {  # COUNT
  local n=
  for _ in $(seq 100); do
    n=$(failed | jq '.failed | length')
    [[ $n == "$1" ]] && return 0
    sleep 0.05
  done
  fail "/v1/failed lists $n failures, not $1: $(failed)"
}

start_daemon
wait_failed 4
failed | jq -r '.failed | reverse[] | [.user, .tty, .host, .addr // "-"] | @tsv' >"$tmp/got"
printf '%s\n' $'root\tssh:notty\t192.0.2.1\t192.0.2.1' \
  $'admin\tssh:notty\t2001:db8::7\t2001:db8::7' \
  $'alice\ttty1\t\t-' \
  $'mal\e[2Jlory\tssh:notty\t203.0.113.9\t203.0.113.9' >"$tmp/want"
diff "$tmp/want" "$tmp/got" >&2 || fail "/v1/failed is not the four failures, in order"
failed | grep -q 'mal\\u001b\[2Jlory' || fail "the control byte is not escaped in the JSON"
# The terminal listing, as lastb prints it, from the daemon: the escape shown, not sent.
"$UTMPC" lastb "@127.0.0.1:$port" >"$tmp/lastb" 2>&1 || fail "utmpc lastb: $(cat "$tmp/lastb")"
grep -q $'\e' "$tmp/lastb" && fail "utmpc lastb sent an escape to the terminal"
grep -q 'mal\*\[\[2Jl' "$tmp/lastb" || fail "utmpc lastb: $(cat "$tmp/lastb")"
[[ $(grep -c 'ssh:notty' "$tmp/lastb") == 3 ]] || fail "utmpc lastb: $(cat "$tmp/lastb")"
echo "1: 4 failures of 9 messages, the forged one and the non-failures left out"

# Live, then SIGKILL and more failures while the daemon is down: each once.
say sshd 4 "Failed password for carol from 192.0.2.5 port 22 ssh2"
wait_failed 5
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
daemon_pid=
say sshd 4 "Failed password for dave from 192.0.2.6 port 22 ssh2"
say su 10 "pam_unix(su:auth): authentication failure; logname=eve uid=1000 euid=0 tty=/dev/pts/0 ruser=eve rhost=  user=root"
start_daemon
wait_failed 7
sleep 0.3
wait_failed 7
dups=$(sqlite3 "file:$tmp/history.db?mode=ro" "SELECT user, time_us, count(*) FROM events WHERE source = 'journal' GROUP BY user, time_us HAVING count(*) > 1")
[[ -z $dups ]] || fail "stored twice: $dups"
[[ $(failed | jq -r '.failed[0].user') == root && $(failed | jq -r '.failed[1].user') == dave ]] ||
  fail "the failures while the daemon was down: $(failed | jq -c '.failed[:2]')"
if grep -i "error" "$tmp/daemon.log" >&2; then fail "errors in the daemon's log"; fi
echo "2: after SIGKILL, the 2 failures logged meanwhile stored once each"

# As the daemon runs on a host: its own user, the journal's files readable through the group
# systemd-journal (journald makes them root:systemd-journal 0640), and its seccomp filter.
if id _utmpcd >/dev/null 2>&1 && getent group systemd-journal >/dev/null; then
  kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=
  install -d -o _utmpcd -m 0700 "$tmp/userdb"
  chmod 0755 "$tmp"
  start_daemon _utmpcd "$tmp/userdb/history.db"
  grep -q "groups .*systemd-journal" "$tmp/daemon.log" || fail "not running with systemd-journal: $(cat "$tmp/daemon.log")"
  if grep -q "cannot" "$tmp/daemon.log"; then fail "$(cat "$tmp/daemon.log")"; fi
  wait_failed 7
  echo "3: as _utmpcd (group systemd-journal): the 7 failures read"
fi
echo PASS
