#!/usr/bin/env bash
# The host daemon against real logins made by OpenSSH's sshd on loopback:
#   - a pty login and its logout become a login and a logout event in utmpcd's history;
#   - a live pty session is listed by GET /v1/sessions (the port-431 API) as soon as utmp has it;
#   - a session whose sshd processes are killed (no logout is ever recorded) becomes a gone
#     event once its leader has died and the grace period has passed, and /v1/sessions stops
#     listing it although utmp still does.
# Runs in a private mount namespace with temporary login files (see sshd_env.sh); skipped where
# that is refused, since it must own /run/utmp. Environment: UTMPCD, the utmpcd binary.
# Exit status: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE).
set -euo pipefail

: "${UTMPCD:?set UTMPCD to the utmpcd binary}"
command -v sqlite3 >/dev/null || { echo "SKIP: needs the sqlite3 shell"; exit 77; }

# shellcheck source=tests/sshd/sshd_env.sh
source "$(dirname "$0")/sshd_env.sh"

if [[ $UTMPCD_SSHD_STAGE != namespace ]]; then
  echo "SKIP: needs a private mount namespace to own /run/utmp"
  exit 77
fi

# The daemon, following what sshd writes.
db=$tmp/history.db
printf '[sessions]\ngone_grace_ms = 300\n' >"$tmp/utmpcd.toml"
"$UTMPCD" -c "$tmp/utmpcd.toml" --wtmp /var/log/wtmp --btmp /var/log/btmp --utmp /run/utmp \
  --database "$db" --ingest-socket "$tmp/ingest.sock" --http-listen 127.0.0.1:0 --user root \
  2>"$tmp/utmpcd.log" &
daemon_pid=$!
extra_cleanup+=("kill $daemon_pid; wait $daemon_pid")
for _ in $(seq 100); do
  grep -q following "$tmp/utmpcd.log" && break
  sleep 0.05
done
grep -q following "$tmp/utmpcd.log" || { cat "$tmp/utmpcd.log"; fail "utmpcd did not start"; }
port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/utmpcd.log")
[[ -n $port ]] || { cat "$tmp/utmpcd.log"; fail "utmpcd did not say where its API listens"; }
# The live sessions on `tty` the API lists (0 or 1).
api_sessions_on() {
  curl -sS --max-time 5 "http://127.0.0.1:$port/v1/sessions?tty=$1" | jq '.sessions | length'
}

query() { sqlite3 "file:$db?mode=ro" "$1"; }
# wait_for <seconds> <sql>: until the query prints something.
wait_for() {
  local deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    [[ -n $(query "$2" 2>/dev/null) ]] && return 0
    sleep 0.02
  done
  return 1
}
now_ms() { date +%s%3N; }

# 1. A login and a logout.
timeout 30 ssh -tt "${ssh_opts[@]}" root@127.0.0.1 'sleep 1; exit' </dev/null >"$tmp/ssh.out" 2>&1 ||
  { cat "$tmp/ssh.out"; fail "ssh login as root failed"; }
wait_for 10 "select 1 from events where kind = 'logout' and source = 'wtmp'" ||
  { cat "$tmp/utmpcd.log"; fail "the logout never reached the history"; }
query "select kind, user, tty from events where source = 'wtmp' order by seq" >"$tmp/events"
grep -qE '^login\|root\|pts/[0-9]+$' "$tmp/events" || { cat "$tmp/events"; fail "no login of root"; }
echo "ok: a pty login and its logout are in the history"

# 2. A session whose sshd dies without recording a logout: its leader dies too (the pty closes),
#    and after the grace period the daemon names it gone.
timeout 60 ssh -tt "${ssh_opts[@]}" root@127.0.0.1 'sleep 50' </dev/null >"$tmp/ssh2.out" 2>&1 &
ssh_pid=$!
extra_cleanup+=("kill $ssh_pid")
start=$(now_ms)
wait_for 10 "select 1 from events where kind = 'login' and seq > 2" ||
  fail "the second login never reached the history"
echo "ok: the second login was stored $(($(now_ms) - start)) ms after ssh started"
tty=$(query "select tty from events where kind = 'login' order by seq desc limit 1")
# utmp and the API side by side: how long after utmp has the session the API lists it.
utmp_seen= api_seen=
for _ in $(seq 500); do
  [[ -z $utmp_seen ]] && utmpdump /run/utmp 2>/dev/null | grep -q "^\[7\] .*\[$tty *\]" &&
    utmp_seen=$(now_ms)
  [[ -z $api_seen && $(api_sessions_on "$tty") == 1 ]] && api_seen=$(now_ms)
  [[ -n $utmp_seen && -n $api_seen ]] && break
  sleep 0.01
done
[[ -n $api_seen ]] || fail "GET /v1/sessions never listed the session on $tty"
echo "ok: /v1/sessions lists the live session on $tty (seen there $((api_seen - utmp_seen)) ms after utmp; polled every ~10 ms)"
# This test's own per-connection sshd processes (the monitor and the user child under the
# listener, which runs under `timeout`), neither the listener nor any other test's sshd: nothing
# is left to write the logout.
children() { pgrep -P "$1" || true; }
listener=$(children "$sshd_pid")
[[ -n $listener ]] || fail "the sshd listener is not running"
mapfile -t session_sshd < <(children "$listener")
((${#session_sshd[@]} > 0)) || fail "no per-connection sshd process found"
for pid in "${session_sshd[@]}"; do
  mapfile -t -O "${#session_sshd[@]}" session_sshd < <(pgrep -P "$pid" -f '^sshd' || true)
done
kill -9 "${session_sshd[@]}"
killed=$(now_ms)
wait_for 10 "select 1 from events where kind = 'gone' and tty = CAST('$tty' AS BLOB)" ||
  { cat "$tmp/utmpcd.log"; query "select seq, kind, user, tty, pid from events"; fail "no gone event for $tty"; }
echo "ok: the killed session on $tty is gone ($(($(now_ms) - killed)) ms after the kill, grace 300 ms)"
[[ -z $(query "select 1 from events where kind = 'logout' and tty = CAST('$tty' AS BLOB) and seq > 2") ]] ||
  fail "a logout was recorded after all: the test killed the wrong process"
[[ $(query "select count(*) from events where kind = 'gone'") == 1 ]] || fail "gone stored twice"
utmpdump /run/utmp 2>/dev/null | grep -q "^\[7\] .*\[$tty *\]" ||
  echo "note: utmp no longer lists $tty (something cleaned it up)"
[[ $(api_sessions_on "$tty") == 0 ]] || fail "/v1/sessions still lists the gone session on $tty"
echo "ok: /v1/sessions no longer lists the gone session"
echo "PASS"
