#!/usr/bin/env bash
# The daemon on a host without utmp, taking live sessions from systemd-logind (through sd-login,
# which reads logind's state files in /run/systemd): GET /v1/sessions lists logind's sessions as
# they come and go, and a session whose leader dies without logind closing it becomes gone
# (source logind) and is no longer listed. There is no logind here, so the test runs in a mount
# namespace of its own with a tmpfs on /run/systemd, where it writes the state files as
# systemd 252's logind writes them. Environment: UTMPCD. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}"
command -v curl >/dev/null && command -v jq >/dev/null || { echo "needs curl and jq"; exit 77; }
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (a mount namespace)"; exit 77; }
if [[ ${UTMPCD_LOGIND_NS:-} != 1 ]]; then
  UTMPCD_LOGIND_NS=1 exec unshare -m --propagation private "$0" "$@" ||
    { echo "SKIP: no mount namespace here"; exit 77; }
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  umount -l /run/systemd 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; cat "$tmp/daemon.log" >&2 || true; exit 1; }

mkdir -p /run/systemd
mount -t tmpfs utmpcd-logind-test /run/systemd
mkdir -p /run/systemd/system /run/systemd/seats /run/systemd/sessions /run/systemd/users

# A session state file as logind writes it: a temporary file renamed into place.
write_session() {  # ID TTY LEADER REALTIME_S
  local f=/run/systemd/sessions/.#$1tmp
  cat >"$f" <<STATE
# This is private data. Do not parse.
UID=0
USER=root
ACTIVE=1
IS_DISPLAY=0
STATE=active
REMOTE=1
TYPE=tty
ORIGINAL_TYPE=tty
CLASS=user
SCOPE=session-$1.scope
FIFO=/run/systemd/sessions/$1.ref
TTY=$2
TTY_VALIDITY=from-pam
REMOTE_HOST=192.0.2.7
SERVICE=sshd
LEADER=$3
AUDIT=$1
REALTIME=$(($4 * 1000000))
MONOTONIC=98765432
STATE
  mkfifo "/run/systemd/sessions/$1.ref"
  mv "$f" "/run/systemd/sessions/$1"
}

sleep 600 &
leader1=$!
pids+=("$leader1")
sleep 600 &
leader2=$!
pids+=("$leader2")
write_session 3 pts/3 "$leader1" 1764300000

printf '[sessions]\ngone_grace_ms = 200\n' >"$tmp/utmpcd.toml"
: >"$tmp/wtmp"
: >"$tmp/btmp"
"$UTMPCD" -c "$tmp/utmpcd.toml" --database "$tmp/history.db" --wtmp "$tmp/wtmp" \
  --btmp "$tmp/btmp" --utmp "$tmp/no-utmp" --lastlog /nonexistent --ingest-socket none \
  --http-listen 127.0.0.1:0 --user root 2>"$tmp/daemon.log" &
pids+=($!)
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/daemon.log")
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || fail "the daemon did not start"
grep -q "live sessions from systemd-logind" "$tmp/daemon.log" || fail "logind was not chosen"

sessions() { curl -sS --max-time 5 "http://127.0.0.1:$port/v1/sessions"; }
# wait_for JQ-EXPRESSION: until /v1/sessions satisfies it (10 s at most).
wait_for() {
  for _ in $(seq 200); do
    sessions | jq -e "$1" >/dev/null && return 0
    sleep 0.05
  done
  return 1
}

wait_for '.sessions | length == 1' || fail "the first session is not listed: $(sessions)"
sessions | jq -e --argjson pid "$leader1" '.sessions[0] | .user == "root" and .tty == "pts/3"
    and .host == "192.0.2.7" and .addr == "192.0.2.7" and .pid == $pid and .session == 3
    and .login_time_us == 1764300000000000' >/dev/null || fail "first session: $(sessions)"
echo "ok: a logind session is listed"

write_session 4 pts/4 "$leader2" 1764300100
wait_for '[.sessions[].tty] == ["pts/3", "pts/4"]' || fail "the second session: $(sessions)"
echo "ok: a new logind session is listed as soon as logind writes it"

# The first session's leader dies and logind never closes the session: gone.
kill "$leader1"
wait_for '[.sessions[].tty] == ["pts/4"]' || fail "the dead session is still listed: $(sessions)"
curl -sS --max-time 3 "http://127.0.0.1:$port/v1/events?from=1" 2>/dev/null |
  sed -n 's/^data: //p' >"$tmp/events" || true
jq -e -s --argjson pid "$leader1" 'map(select(.kind == "gone")) | length == 1
    and .[0].source == "logind" and .[0].tty == "pts/3" and .[0].pid == $pid' \
  "$tmp/events" >/dev/null || fail "no gone event from logind: $(cat "$tmp/events")"
echo "ok: a session whose leader died is gone (source logind) and no longer listed"

# logind removes a session that ended: it leaves the list, with no gone event.
rm -f /run/systemd/sessions/4 /run/systemd/sessions/4.ref
wait_for '.sessions | length == 0' || fail "a removed session is still listed: $(sessions)"
echo "PASS: live sessions from systemd-logind"
