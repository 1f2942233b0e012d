#!/usr/bin/env bash
# utmpsd following three utmpcd hosts over mutual TLS, each in a network namespace of its own,
# joined to the fleet's namespace by a veth pair (10.80.N.1 the fleet's side, 10.80.N.2 the
# host's; 10.80.0.0/16 is unreachable in every namespace, so nothing leaves them). Records are
# appended to each host's wtmp and btmp while
#   - host 2's link is cut for a while and restored,
#   - PostgreSQL is restarted (postgresql store),
#   - utmpsd is killed with SIGKILL and started again,
# and each time the fleet's stored events are exactly the union of the hosts' histories: every
# event of every host once, nothing else. Then (postgresql store) two more instances join: each
# host is followed by exactly one of the three; one is killed with SIGKILL and its host is taken
# over within 15 s, again with nothing lost or stored twice. Last, `utmpc --server` prints what
# `utmpc` asking the hosts prints, with the hosts named the same.
# Usage: fleet_test.sh postgresql|sqlite
# Environment: UTMPCD, UTMPSD, UTMPC, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPSD:?}" "${UTMPC:?}" "${UTMPCD_SOURCE_DIR:?}"
store=${1:?postgresql or sqlite}
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
for tool in ip curl jq openssl utmpdump sqlite3; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 77; }
done
[[ $store == sqlite ]] || command -v psql >/dev/null || { echo "needs psql"; exit 77; }

tmp=$(mktemp -d)
chmod 0711 "$tmp"
fleet=utmpsd-fleet-$$
hosts=(1 2 3)
pids=()
declare -A sd_pid=()
gen_pid=
cleanup() {
  [[ -n $gen_pid ]] && kill "$gen_pid" 2>/dev/null
  for p in "${sd_pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ $store == postgresql ]] && ip netns exec "$fleet" "$UTMPCD_SOURCE_DIR/tests/support/postgres.sh" stop "$tmp/pg" || true
  ip netns del "$fleet" 2>/dev/null || true
  for n in "${hosts[@]}"; do ip netns del "utmpsd-h$n-$$" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/sd-*.log "$tmp"/h*/cd.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -8 "$f" >&2; }; done
  exit 1
}
export TZ=UTC LC_ALL=C
cd "$tmp"

# ---- Namespaces ----
ip netns add "$fleet" || { echo "cannot make network namespaces"; exit 77; }
ip -n "$fleet" link set lo up
ip -n "$fleet" route add unreachable 10.80.0.0/16
for n in "${hosts[@]}"; do
  ns=utmpsd-h$n-$$
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "f$n-$$" netns "$fleet" type veth peer name "h$n-$$" netns "$ns"
  ip -n "$fleet" addr add "10.80.$n.1/24" dev "f$n-$$"
  ip -n "$ns" addr add "10.80.$n.2/24" dev "h$n-$$"
  ip -n "$ns" route add unreachable 10.80.0.0/16
  ip -n "$fleet" link set "f$n-$$" up
  ip -n "$ns" link set "h$n-$$" up
done
in_fleet() { ip netns exec "$fleet" "$@"; }

# ---- Certificates: one CA; each host's for its address; utmpsd's client certificate ----
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
sign() {  # NAME SUBJECT [SAN]
  key "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  if [[ -n ${3:-} ]]; then printf 'subjectAltName=%s\n' "$3" >"$1.ext"; else : >"$1.ext"; fi
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
key ca.key
openssl req -x509 -new -key ca.key -subj "/CN=utmpsd test ca" -days 2 -out ca.pem 2>/dev/null
sign client "/O=Example/CN=utmpsd.test"
for n in "${hosts[@]}"; do sign "host$n" "/CN=h$n" "IP:10.80.$n.2"; done

# ---- Records ----
line() {  # TYPE PID TTY USER HOST TIME
  printf '[%s] [%05d] [ts/0] [%-8s] [%-12s] [%-20s] [%-15s] [%s]\n' "$1" "$2" "$4" "$3" "$5" "$5" "$6"
}
# append N K: K more sessions on host N (a login and its logout, every third a failed login),
# at times after the ones before.
declare -A count=()
append() {
  local n=$1 k=$2 i t
  for ((i = 0; i < k; i++)); do
    t=$((${count[$n]:-0} + 1))
    count[$n]=$t
    local ts
    ts=$(date -u -d "@$((1764320000 + t * 60))" +%Y-%m-%dT%H:%M:%S,000000+00:00)
    { line 7 $((1000 + t)) "pts/$((t % 5))" "u$n-$((t % 7))" "10.0.$n.$((t % 250))" "$ts"
      line 8 $((1000 + t)) "pts/$((t % 5))" '' '' "$ts"; } |
      utmpdump -r >>"h$n/wtmp" 2>/dev/null
    if ((t % 3 == 0)); then
      line 6 0 ssh:notty "bad$((t % 4))" "198.51.100.$n" "$ts" | utmpdump -r >>"h$n/btmp" 2>/dev/null
    fi
  done
}

# ---- The hosts: utmpcd with TLS; utmpsd's certificate gets the full tier ----
# On each host one user is logged in now: a session whose leader runs, in utmp and wtmp.
for n in "${hosts[@]}"; do
  mkdir "h$n"
  sleep 600 &
  leader=$!
  pids+=("$leader")
  # (after the leader started: a process younger than its login is not its leader)
  now=$(date -u -d "@$(($(date +%s) + 1))" +%Y-%m-%dT%H:%M:%S,000000+00:00)
  { line 2 0 '~' reboot 6.1.0 2025-11-28T08:00:00,000000+00:00
    line 7 "$leader" "tty$n" "admin$n" "192.0.2.$n" "$now"; } |
    utmpdump -r -o "h$n/wtmp" >/dev/null 2>&1
  line 7 "$leader" "tty$n" "admin$n" "192.0.2.$n" "$now" | utmpdump -r -o "h$n/utmp" >/dev/null 2>&1
  : >"h$n/btmp"
  append "$n" 5
  cat >"h$n/utmpcd.toml" <<CONF
[tls]
certificate = "$tmp/host$n.pem"
key = "$tmp/host$n.key"
client_ca = "$tmp/ca.pem"
[http]
heartbeat_s = 1
[[access]]
client_subject = "CN=utmpsd.test,O=Example"
tier = "full"
CONF
  ip netns exec "utmpsd-h$n-$$" "$UTMPCD" -c "h$n/utmpcd.toml" --database "$tmp/h$n/history.db" \
    --wtmp "h$n/wtmp" --btmp "h$n/btmp" --utmp "h$n/utmp" --lastlog /nonexistent \
    --ingest-socket none --http-listen "10.80.$n.2:431" --user root 2>"h$n/cd.log" &
  pids+=($!)
done

# ---- The store ----
if [[ $store == postgresql ]]; then
  url=$(in_fleet "$UTMPCD_SOURCE_DIR/tests/support/postgres.sh" start "$tmp/pg") || { echo "$url"; exit 1; }
  store_url=$url
else
  store_url=$tmp/fleet.db
fi

{ for n in "${hosts[@]}"; do
    echo "https://10.80.$n.2:431 name=h$n groups=$([[ $n == 2 ]] && echo even || echo odd)"
  done; } >hosts
cat >utmpsd.toml <<CONF
[server]
user = "root"
[store]
url = "$store_url"
[follow]
hosts_file = "$tmp/hosts"
ca = "$tmp/ca.pem"
certificate = "$tmp/client.pem"
key = "$tmp/client.key"
lease_s = 6
max_backoff_s = 2
silence_s = 3
[[access]]
networks = ["127.0.0.0/8"]
tier = "full"
CONF
in_fleet "$UTMPSD" -c utmpsd.toml --check >check.out || fail "utmpsd --check: $(cat check.out)"
grep -q "3 host(s)" check.out || fail "--check: $(cat check.out)"

start_sd() {  # NAME PORT
  # (ip netns exec execs utmpsd: $! is utmpsd itself, for kill -9.)
  ip netns exec "$fleet" "$UTMPSD" -c utmpsd.toml --instance "$1" --listen "127.0.0.1:$2" 2>>"sd-$1.log" &
  sd_pid[$1]=$!
  for _ in $(seq 100); do
    in_fleet curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "utmpsd $1 did not start"
}
api() { in_fleet curl -sS --max-time 10 "http://127.0.0.1:${2:-430}$1"; }

# What a host stored, and what the fleet stored of it: seq, kind, time, user, tty, address.
host_events() {
  sqlite3 -separator '|' "h$1/history.db" \
    "SELECT seq, kind, time_us, hex(user), hex(tty), hex(remote_host) FROM events ORDER BY seq"
}
fleet_events() {
  if [[ $store == postgresql ]]; then
    in_fleet psql -X -At -F '|' "$store_url" -c "SELECT host_seq, kind, time_us,
      upper(encode(user_name, 'hex')), upper(encode(tty, 'hex')), upper(encode(remote_host, 'hex'))
      FROM fleet_events WHERE host = 'h$1' ORDER BY host_seq"
  else
    sqlite3 -separator '|' "$store_url" "SELECT host_seq, kind, time_us, hex(user_name), hex(tty),
      hex(remote_host) FROM fleet_events WHERE host = 'h$1' ORDER BY host_seq"
  fi
}
fleet_sql() {
  if [[ $store == postgresql ]]; then in_fleet psql -X -At "$store_url" -c "$1"; else sqlite3 "$store_url" "$1"; fi
}
# Waits until the fleet holds every host's events, then checks they are exactly the hosts'.
converged() {  # WHAT
  local n ok
  for _ in $(seq 300); do
    ok=1
    for n in "${hosts[@]}"; do
      [[ "$(host_events "$n" | wc -l)" == "$(fleet_events "$n" | wc -l)" ]] || { ok=0; break; }
    done
    ((ok)) && break
    sleep 0.1
  done
  for n in "${hosts[@]}"; do
    host_events "$n" >"want$n"
    fleet_events "$n" >"got$n"
    [[ -s want$n ]] || fail "$1: host h$n stored nothing"
    diff "want$n" "got$n" >"diff$n" || fail "$1: host h$n: the fleet's events differ from the host's: $(head -5 "diff$n")"
  done
  local dups
  dups=$(fleet_sql "SELECT count(*) FROM (SELECT host, host_seq FROM fleet_events GROUP BY host, host_seq HAVING count(*) > 1) AS d")
  [[ $dups == 0 ]] || fail "$1: $dups events stored twice"
  echo "ok: $1 ($(cat want1 want2 want3 | wc -l) events)"
}

start_sd a 430
# Records keep coming while things break.
( for i in $(seq 60); do
    for n in "${hosts[@]}"; do append "$n" 1; done
    sleep 0.1
  done ) &
gen_pid=$!
sleep 2
ip -n "$fleet" link set "f2-$$" down  # host 2 cut off
for _ in $(seq 100); do
  api /v1/hosts | jq -e '.hosts[] | select(.name == "h2") | .state == "down"' >/dev/null && break
  sleep 0.1
done
api /v1/hosts | jq -e '.hosts[] | select(.name == "h2") | .state == "down" and (.problem | length > 0)' >/dev/null ||
  fail "host 2 cut off is not down: $(api /v1/hosts)"
sleep 2
ip -n "$fleet" link set "f2-$$" up
if [[ $store == postgresql ]]; then
  in_fleet "$UTMPCD_SOURCE_DIR/tests/support/postgres.sh" restart "$tmp/pg" || fail "PostgreSQL did not restart"
fi
sleep 1
kill -9 "${sd_pid[a]}"
wait "${sd_pid[a]}" 2>/dev/null || true
sleep 1
# Its lease is still held: a restart under the same name takes its hosts again at once.
start_sd a 430
wait "$gen_pid"
gen_pid=
converged "link cut, store restarted, utmpsd killed"
api /v1/hosts | jq -e '[.hosts[].state] == ["up","up","up"] and all(.hosts[]; .lag_ms >= 0 and .lag_ms < 10000)' >/dev/null ||
  fail "hosts: $(api /v1/hosts)"

# ---- The API against the hosts themselves: utmpc --server prints what utmpc @hosts prints ----
# The hosts by the same names as the fleet's, in utmpc's configuration file.
{ echo 'cacert = "'"$tmp"'/ca.pem"'
  echo 'cert = "'"$tmp"'/client.pem"'
  echo 'key = "'"$tmp"'/client.key"'
  for n in "${hosts[@]}"; do printf '[hosts.h%s]\nurl = "https://10.80.%s.2:431"\n' "$n" "$n"; done
} >utmpc.toml
export UTMPC_CONFIG=$tmp/utmpc.toml
compare() {  # COMMAND...: utmpc COMMAND @each host against utmpc --server COMMAND
  in_fleet "$UTMPC" "$@" @h1 @h2 @h3 >direct.out 2>direct.err || true
  in_fleet "$UTMPC" --server http://127.0.0.1:430 "$@" >server.out 2>server.err || true
  # A host lists an open session as "gone" when its user is unknown to the host's passwd or
  # its leader is not that user's (util-linux last's check, made on the host at query time);
  # the fleet cannot look at a host's processes and says "still logged in" until the host
  # records the end (a logout, or a gone event).
  sed -i 's/    gone - no logout/   still logged in/' direct.out
  diff direct.out server.out >cmp.diff || fail "utmpc --server $*: differs from asking the hosts: $(head -20 cmp.diff) $(cat server.err)"
  [[ -s server.out ]] || fail "utmpc --server $*: printed nothing: $(cat server.err)"
}
if "$UTMPC" --help 2>&1 | grep -q -- --server; then
compare who
compare last
compare lastb
compare last -n 3 u1-1
# w and uptime: the sessions from the server, each host's load and uptime asked of the host by
# the server; lastlog: each user's newest login on each host, as the fleet recorded it.
in_fleet "$UTMPC" --server http://127.0.0.1:430 uptime >server.out 2>server.err ||
  fail "utmpc --server uptime: $(cat server.out server.err)"
[[ $(grep -c '^h[123] .* up .*load average' server.out) == 3 ]] || fail "utmpc --server uptime: $(cat server.out)"
in_fleet "$UTMPC" --server http://127.0.0.1:430 w >server.out 2>server.err || fail "utmpc --server w: $(cat server.err)"
for n in "${hosts[@]}"; do
  grep -q "^h$n .*admin$n  *tty$n" server.out || fail "utmpc --server w: no admin$n on h$n: $(cat server.out)"
done
in_fleet "$UTMPC" --server http://127.0.0.1:430 lastlog -u admin2 >server.out 2>server.err ||
  fail "utmpc --server lastlog: $(cat server.err)"
grep -q '^h2 .*admin2 *tty2 *192.0.2.2' server.out || fail "utmpc --server lastlog -u admin2: $(cat server.out)"
# utmpc watch --server: one stream, every host's events as they are stored, named by host.
ip netns exec "$fleet" "$UTMPC" watch --server http://127.0.0.1:430 --json >watch.out 2>watch.err &
watch_pid=$!
pids+=("$watch_pid")
sleep 0.5
line 7 4242 pts/9 watcher 203.0.113.9 2026-11-28T12:00:00,000000+00:00 | utmpdump -r >>h2/wtmp 2>/dev/null
for _ in $(seq 100); do grep -q '"watcher"' watch.out && break; sleep 0.05; done
kill "$watch_pid"
jq -e 'select(.event.user == "watcher") | .host == "h2" and .event.tty == "pts/9"' watch.out >/dev/null ||
  fail "utmpc watch --server: $(cat watch.out watch.err)"
echo "ok: utmpc --server"
fi

if [[ $store == postgresql ]]; then
  # ---- Scale-out: three instances share the hosts, one each ----
  start_sd b 4301
  start_sd c 4302
  for _ in $(seq 200); do
    owners=$(fleet_sql "SELECT count(DISTINCT owner) FROM fleet_hosts WHERE owner <> ''")
    [[ $owners == 3 ]] && break
    sleep 0.1
  done
  [[ $owners == 3 ]] || fail "three instances do not share three hosts: $(fleet_sql 'SELECT host, owner FROM fleet_hosts')"
  # Each host followed by exactly one: each instance says it follows one.
  for pair in a:430 b:4301 c:4302; do
    api /healthz "${pair#*:}" | jq -e '.hosts_followed == 1' >/dev/null ||
      fail "instance ${pair%:*}: $(api /healthz "${pair#*:}")"
  done
  victim=$(fleet_sql "SELECT owner FROM fleet_hosts WHERE host = 'h1'")
  kill -9 "${sd_pid[$victim]}"
  wait "${sd_pid[$victim]}" 2>/dev/null || true
  unset "sd_pid[$victim]"
  killed_at=$(date +%s%N)
  for n in "${hosts[@]}"; do append "$n" 5; done
  for _ in $(seq 200); do
    owner=$(fleet_sql "SELECT owner FROM fleet_hosts WHERE host = 'h1'")
    [[ $owner != "$victim" && -n $owner ]] && break
    sleep 0.1
  done
  took=$((($(date +%s%N) - killed_at) / 1000000))
  [[ $owner != "$victim" && -n $owner ]] || fail "h1 was not taken over from $victim"
  ((took <= 15000)) || fail "h1 taken over after $took ms"
  converged "instance $victim killed, h1 taken over by $owner in $took ms"
fi
echo PASS
