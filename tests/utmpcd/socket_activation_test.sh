#!/usr/bin/env bash
# utmpcd started as systemd starts it from utmpcd.socket (by systemd-socket-activate, which
# hands sockets over the same way): it serves the sockets handed over -- HTTP on TCP and on a
# Unix socket, UDP on a datagram socket -- and binds none of the addresses configured.
# Environment: UTMPCD, UTMPC, WTMPGEN. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPC:?}" "${WTMPGEN:?}"
command -v systemd-socket-activate >/dev/null || { echo "needs systemd-socket-activate"; exit 77; }
command -v curl >/dev/null && command -v jq >/dev/null || { echo "needs curl and jq"; exit 77; }

tmp=$(mktemp -d)
daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$WTMPGEN" --seed 7 --records 300 -o "$tmp/wtmp"

# Runs systemd-socket-activate with its options ("PORT" in them: a free port, tried again
# when taken) and the daemon, which it starts at the first connection (or datagram), as
# systemd does; the daemon's own configuration names other addresses (its own socket file,
# ephemeral ports). Sets $port.
listen() {
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    systemd-socket-activate "${@//PORT/$port}" -- "$UTMPCD" -c /dev/null \
      --database "$tmp/history.db" --wtmp "$tmp/wtmp" --btmp /nonexistent --utmp /nonexistent \
      --lastlog /nonexistent --ingest-socket none --http-listen 127.0.0.1:0 \
      --api-socket "$tmp/own.sock" --udp-listen 127.0.0.1:0 --user root 2>"$tmp/daemon.log" &
    daemon_pid=$!
    for _ in $(seq 200); do
      grep -q "^Listening on .*127.0.0.1:$port" "$tmp/daemon.log" && return 0
      kill -0 "$daemon_pid" 2>/dev/null || break  # the port was taken: another one
      sleep 0.05
    done
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=
  done
  cat "$tmp/daemon.log" >&2
  fail "systemd-socket-activate did not listen"
}
started() {
  for _ in $(seq 200); do
    grep -q "following" "$tmp/daemon.log" && return 0
    sleep 0.05
  done
  cat "$tmp/daemon.log" >&2
  fail "the daemon did not start"
}
stop() {
  kill "$daemon_pid"
  wait "$daemon_pid" || true
  daemon_pid=
}

# HTTP: a TCP socket and a Unix socket handed over.
listen -l 127.0.0.1:PORT -l "$tmp/handed.sock"
# The first request starts the daemon, and is answered by it.
last_seq=$(curl -sS --max-time 20 "http://127.0.0.1:$port/v1/host" | jq .last_seq)
started
stored=$(sqlite3 "file:$tmp/history.db?mode=ro" 'SELECT max(seq) FROM events')
((last_seq > 0 && last_seq == stored)) ||
  fail "/v1/host on the socket handed over: last_seq $last_seq, $stored stored"
grep -q "serving the 2 sockets systemd handed over" "$tmp/daemon.log" ||
  fail "the daemon did not take the sockets: $(cat "$tmp/daemon.log")"
where=$(sed -n 's/.*HTTP API on \(.*\)$/\1/p' "$tmp/daemon.log")
[[ $where == "127.0.0.1:$port, unix:$tmp/handed.sock" ]] ||
  fail "the HTTP API is on '$where', not the sockets handed over"
[[ ! -e $tmp/own.sock ]] || fail "the daemon bound its configured API socket too"
grep -q "UDP on" "$tmp/daemon.log" && fail "the daemon bound its configured UDP address"
curl -sS --max-time 10 --unix-socket "$tmp/handed.sock" http://localhost/healthz |
  jq -e '.status == "ok"' >/dev/null || fail "the Unix socket handed over does not answer"
stop

# UDP: a datagram socket handed over.
listen --datagram -l 127.0.0.1:PORT
# The first datagram starts the daemon. It came before the daemon asked the socket for each
# datagram's destination (systemd's PassPacketInfo= does that at once; systemd-socket-activate
# cannot), so it is dropped as one perhaps sent to a broadcast address; the next is answered.
"$UTMPC" ping -c 1 -W 1 -p "$port" 127.0.0.1 >/dev/null || true
started
"$UTMPC" ping -c 1 -W 10 -p "$port" 127.0.0.1 >"$tmp/ping.txt" ||
  fail "utmpc ping got no answer: $(cat "$tmp/ping.txt")"
grep -q "UDP on 127.0.0.1:$port$" "$tmp/daemon.log" ||
  fail "UDP is not served on the socket handed over: $(cat "$tmp/daemon.log")"
grep -q "HTTP API on" "$tmp/daemon.log" && fail "the daemon bound its configured HTTP addresses"
stop
echo "socket activation: HTTP on TCP and Unix, and UDP, served on the sockets handed over"
