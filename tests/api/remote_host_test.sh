#!/usr/bin/env bash
# What another host gets from a daemon with the default configuration: two network namespaces
# joined by a veth pair (10.79.0.1 and fd00:79::1 the daemon's, 10.79.0.2 and fd00:79::2 the
# client's; the rest of 10.79.0.0/16 and fd00:79::/32 unreachable in both, so nothing leaves).
# The daemon listens on every address by default; from the other namespace /v1/host answers
# (the summary: counts, no names), and /v1/sessions, /v1/history, /v1/failed and /v1/events are
# refused 401, naming no user; UDP gives the summary. On the daemon's own loopback the history
# is served.
# Environment: UTMPCD, UTMPC. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPC:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
for tool in ip curl jq utmpdump; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 77; }
done
tmp=$(mktemp -d)
a=utmpcd-host-$$
b=utmpcd-peer-$$
daemon_pid=
leader_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [[ -n $leader_pid ]] && kill "$leader_pid" 2>/dev/null
  ip netns del "$a" 2>/dev/null || true
  ip netns del "$b" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $tmp/daemon.log ]] && tail -5 "$tmp/daemon.log" >&2; exit 1; }
export TZ=UTC LC_ALL=C

ip netns add "$a" && ip netns add "$b" || { echo "cannot make network namespaces"; exit 77; }
ip link add "ua$$" netns "$a" type veth peer name "ub$$" netns "$b"
in_a() { ip netns exec "$a" "$@"; }
in_b() { ip netns exec "$b" "$@"; }
for ns in "$a" "$b"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" route add unreachable 10.79.0.0/16
  ip -n "$ns" -6 route add unreachable fd00:79::/32
done
ip -n "$a" addr add 10.79.0.1/24 dev "ua$$"
ip -n "$b" addr add 10.79.0.2/24 dev "ub$$"
ip -n "$a" -6 addr add fd00:79::1/64 dev "ua$$" nodad
ip -n "$b" -6 addr add fd00:79::2/64 dev "ub$$" nodad
ip -n "$a" link set "ua$$" up
ip -n "$b" link set "ub$$" up

# alice is logged in (her session leader runs), bob logged in and out, mallory failed.
sleep 600 &
leader_pid=$!
line() {  # TYPE PID TTY USER HOST TIME
  printf '[%s] [%05d] [ts/0] [%-8s] [%-12s] [%-20s] [%-15s] [%s]\n' "$1" "$2" "$4" "$3" "$5" "$5" "$6"
}
line 7 "$leader_pid" pts/0 alice 192.0.2.7 2026-11-28T10:00:00,000000+00:00 |
  utmpdump -r -o "$tmp/utmp" >/dev/null 2>&1
{ line 7 "$leader_pid" pts/0 alice 192.0.2.7 2026-11-28T10:00:00,000000+00:00
  line 7 102 pts/1 bob 192.0.2.8 2026-11-28T09:00:00,000000+00:00
  line 8 102 pts/1 '' '' 2026-11-28T09:30:00,000000+00:00; } | utmpdump -r -o "$tmp/wtmp" >/dev/null 2>&1
line 6 0 ssh:notty mallory 198.51.100.9 2026-11-28T12:00:00,000000+00:00 |
  utmpdump -r -o "$tmp/btmp" >/dev/null 2>&1

# The default configuration: no -c, no --http-listen, no --udp-listen; only the files are the
# test's own (and no Unix sockets, which would be the machine's).
ip netns exec "$a" "$UTMPCD" --database "$tmp/db/history.db" --wtmp "$tmp/wtmp" --btmp "$tmp/btmp" \
  --utmp "$tmp/utmp" --lastlog /nonexistent --ingest-socket none --api-socket none \
  --user root 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
  grep -q 'HTTP API on 0.0.0.0:431' "$tmp/daemon.log" && grep -q 'HTTP API on.*\[::\]:431' "$tmp/daemon.log" && break
  sleep 0.05
done
grep -q 'HTTP API on 0.0.0.0:431' "$tmp/daemon.log" || fail "not listening on every IPv4 address"
grep -q 'HTTP API on.*\[::\]:431' "$tmp/daemon.log" || fail "not listening on every IPv6 address"
for _ in $(seq 100); do  # until the records are stored
  in_a curl -sf "http://127.0.0.1:431/v1/history" 2>/dev/null | jq -e '.sessions | length == 2' >/dev/null && break
  sleep 0.1
done

status() { in_b curl -sS --max-time 5 -o "$tmp/body" -w '%{http_code}' "$@" || true; }
for base in http://10.79.0.1:431 'http://[fd00:79::1]:431'; do
  [[ $(status "$base/v1/host") == 200 ]] || fail "$base/v1/host: $(cat "$tmp/body")"
  jq -e --arg h "$(hostname)" '.hostname == $h and .users == 1 and .sessions == 1' "$tmp/body" >/dev/null ||
    fail "the summary from another host: $(cat "$tmp/body")"
  grep -Eq 'alice|bob|mallory|pts/|192\.0\.2' "$tmp/body" && fail "the summary names someone: $(cat "$tmp/body")"
  for path in /v1/sessions /v1/history /v1/lastlog /v1/failed /v1/events; do
    [[ $(status "$base$path") == 401 ]] || fail "$base$path from another host: $(cat "$tmp/body")"
    jq -e '.error.code == "unauthorized" and (.error.message | test("needs the [a-z]+ tier; this client has summary"))' \
      "$tmp/body" >/dev/null || fail "$path: $(cat "$tmp/body")"
    grep -Eq 'alice|bob|mallory' "$tmp/body" && fail "$path refused, but names someone"
  done
done
# UDP: the summary answers; it carries counts only.
in_b "$UTMPC" summary --json 10.79.0.1:431 >"$tmp/udp.json" || fail "UDP summary: $(cat "$tmp/udp.json")"
jq -e '.hosts[0].sessions == 1' "$tmp/udp.json" >/dev/null || fail "UDP summary: $(cat "$tmp/udp.json")"
# On the host itself, loopback gets the history.
in_a curl -sS --max-time 5 http://127.0.0.1:431/v1/sessions | jq -e '[.sessions[].user] == ["alice"]' >/dev/null ||
  fail "loopback on the host does not get the sessions"
echo PASS
