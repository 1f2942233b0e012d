#!/usr/bin/env bash
# utmpsd's rwho bridge with Debian's own rwhod, rwho and ruptime, across network namespaces.
# A host "oldbox" in a namespace of its own (its own host name, utmp and spool) runs rwhod,
# which broadcasts its users to a fleet namespace where utmpsd listens on UDP 513 ([rwho]);
# utmpsd also follows a utmpcd host (web1) the usual way. Checked:
#  - oldbox's users become fleet sessions (/v1/fleet/sessions), with its boot;
#  - rwho -a and ruptime -a, reading utmpsd's spool, list oldbox and web1 with their users;
#  - a user gone from oldbox's utmp (rwhod restarted, as it sends at start) ends as a logout
#    in the fleet's history and leaves rwho's list, and nothing is stored twice;
#  - utmpsd restarted: oldbox is down until heard again, then up, and nothing stored twice;
#  - packets utmpsd must not take are counted and change nothing: one from a network not in
#    [rwho] networks, one not from port 513, one malformed, one in a followed host's name;
#    utmpsd goes on answering.
# Needs root (namespaces, port 513). Environment: UTMPCD, UTMPSD. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPSD:?}"
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
for tool in rwhod rwho ruptime utmpdump unshare perl curl jq; do
  command -v "$tool" >/dev/null || { echo "needs $tool (scripts/deps.sh)"; exit 77; }
done

tmp=$(mktemp -d)
chmod 0755 "$tmp"
fleet=utmpsd-rw-$$
old=utmpsd-ro-$$
pids=()
stop_rwhod() {
  local p
  for p in $(ip netns pids "$old" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 100); do
    [[ -z $(ip netns pids "$old" 2>/dev/null) ]] && return 0
    sleep 0.05
  done
}
cleanup() {
  stop_rwhod
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$fleet" 2>/dev/null || true
  ip netns del "$old" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  tail -n 15 "$tmp/sd.log" "$tmp/web1.log" >&2 || true
  [[ -f $tmp/got.json ]] && echo "last answer: $(head -c 2000 "$tmp/got.json")" >&2
  exit 1
}
export TZ=UTC LC_ALL=C
cd "$tmp"

# ---- Namespaces: fleet (10.82.1.1) and oldbox (10.82.1.2) on a veth, broadcast on ----
ip netns add "$fleet" || { echo "cannot make network namespaces"; exit 77; }
ip netns add "$old"
for ns in "$fleet" "$old"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" route add unreachable 10.82.0.0/16
done
ip link add "rwf-$$" netns "$fleet" type veth peer name "rwo-$$" netns "$old"
ip -n "$fleet" addr add 10.82.1.1/24 brd + dev "rwf-$$"
ip -n "$old" addr add 10.82.1.2/24 brd + dev "rwo-$$"
# A second network on the same link, not in [rwho] networks.
ip -n "$fleet" addr add 10.82.2.1/24 dev "rwf-$$"
ip -n "$old" addr add 10.82.2.2/24 dev "rwo-$$"
ip -n "$fleet" link set "rwf-$$" up
ip -n "$old" link set "rwo-$$" up
in_fleet() { ip netns exec "$fleet" "$@"; }

# utmp TEXT FILE: a utmp file of utmpdump's text lines (type 7: a user's session).
session() {  # PID LINE USER TIME
  printf '[7] [%05d] [%-4s] [%-8s] [%-12s] [%-16s] [%-15s] [%s,000000+00:00]\n' \
    "$1" "${2: -2}" "$3" "$2" "" "0.0.0.0" "$4"
}
now=$(date -u +%s)
at() { date -u -d "@$(($now - $1))" +%Y-%m-%dT%H:%M:%S; }

# ---- web1: a utmpcd host the fleet follows, carol on it (her session's leader runs) ----
mkdir web1
sleep 600 &
pids+=($!)
session "$!" pts/3 carol "$(at 300)" >web1/carol.txt
# In utmp (who is on) and wtmp (the login event the fleet stores).
utmpdump -r -o web1/utmp <web1/carol.txt >/dev/null 2>&1
utmpdump -r -o web1/wtmp <web1/carol.txt >/dev/null 2>&1
ip netns exec "$fleet" "$UTMPCD" --database "$tmp/web1/history.db" --wtmp web1/wtmp --btmp /nonexistent \
  --utmp web1/utmp --lastlog /nonexistent --ingest-socket none --http-listen 127.0.0.1:0 \
  --user root 2>web1.log &
pids+=($!)
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' web1.log)
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || fail "utmpcd did not start: $(cat web1.log)"

# ---- utmpsd: following web1, taking in rwhod's packets from 10.82.1.0/24 ----
mkdir spool
echo "http://127.0.0.1:$port name=web1" >hosts
cat >utmpsd.toml <<EOF2
[server]
user = "root"
[store]
url = "$tmp/fleet.db"
[follow]
hosts_file = "$tmp/hosts"
max_backoff_s = 1
[rwho]
listen = ["0.0.0.0:513"]
networks = ["10.82.1.0/24"]
spool = "$tmp/spool"
min_interval_s = 1
EOF2
in_fleet "$UTMPSD" -c utmpsd.toml --check >check.out 2>&1 || fail "utmpsd --check: $(cat check.out)"
ip netns exec "$fleet" "$UTMPSD" -c utmpsd.toml --listen 127.0.0.1:0 2>sd.log &
sd_pid=$!
pids+=($sd_pid)
sd=
for _ in $(seq 200); do
  sd=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' sd.log)
  [[ -n $sd ]] && break
  sleep 0.05
done
[[ -n $sd ]] || fail "utmpsd did not start: $(cat sd.log)"
grep -q "rwho: taking in rwhod's packets on udp 0.0.0.0:513" sd.log || fail "no rwho intake in the log"
fleet_get() { in_fleet curl -sS --fail "http://127.0.0.1:$sd$1"; }
# wait_for WHAT COMMAND...: until COMMAND succeeds (15 s).
wait_for() {
  local what=$1
  shift
  for _ in $(seq 150); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "$what"
}
# on HOST USER: USER has a session open on HOST, as the fleet says.
on() { fleet_get "/v1/fleet/sessions" >got.json && jq -e --arg h "$1" --arg u "$2" \
  'any(.sessions[]; .hostname == $h and .user == $u)' got.json >/dev/null; }
wait_for "web1's carol in the fleet" on web1 carol

# ---- oldbox: rwhod in namespaces of its own (network, host name, mounts) ----
mkdir -p old/spool
{
  session 3101 pts/7 alice "$(at 600)"
  session 3102 tty2 bob "$(at 7200)"
} | utmpdump -r -o old/utmp >/dev/null 2>&1
start_rwhod() {
  # Its own /run (utmp) and spool; rwhod sends its first packet as it starts.
  ip netns exec "$old" unshare --mount --uts bash -c "
    hostname oldbox
    mount -t tmpfs tmpfs /run
    cp '$tmp/old/utmp' /run/utmp
    mount --bind '$tmp/old/spool' /var/spool/rwho
    exec rwhod -b" || fail "rwhod did not start"
}
start_rwhod
wait_for "oldbox's users in the fleet" on oldbox bob
grep -q "rwho: taking in host oldbox (from 10.82.1.2), 2 session(s)" sd.log ||
  fail "the log does not say oldbox was taken in"
fleet_get /v1/fleet/sessions >sessions.json
jq -e 'any(.sessions[]; .hostname == "oldbox" and .user == "alice" and .tty == "pts/7")' \
  sessions.json >/dev/null || fail "alice on oldbox: $(cat sessions.json)"
# The fleet's host list has it (no URL: it is heard, not followed), up; its summary is its
# latest packet's (load, boot, users), as a followed host's is the host's /v1/host.
fleet_get /v1/hosts >hosts.json
jq -e 'any(.hosts[]; .name == "oldbox" and .via == "rwhod" and .url == null and .state == "up")
       and any(.hosts[]; .name == "web1" and .via == "utmpcd")' hosts.json >/dev/null ||
  fail "/v1/hosts: $(cat hosts.json)"
fleet_get '/v1/fleet/host?host=oldbox' >oldbox.json
jq -e '.hostname == "oldbox" and .sessions == 2 and .users == 2 and .uptime_s > 0
       and (.load | length) == 3' oldbox.json >/dev/null || fail "/v1/fleet/host: $(cat oldbox.json)"
fleet_get '/v1/fleet/history?host=oldbox' >history.json
jq -e 'any(.sessions[]; .type == "boot" and .end == "running")' history.json >/dev/null ||
  fail "oldbox's boot is not in its history: $(cat history.json)"

# ---- rwho and ruptime on the fleet server, reading utmpsd's spool ----
fleet_rwho() {  # rwho or ruptime with the spool where they read it
  in_fleet unshare --mount bash -c "mount --bind '$tmp/spool' /var/spool/rwho && exec $*"
}
# The spool follows the store within seconds: until rwho lists all three.
rwho_lists_all() {
  fleet_rwho rwho -a >rwho.out && grep -q '^alice ' rwho.out && grep -q '^bob ' rwho.out &&
    grep -q '^carol ' rwho.out
}
wait_for "rwho lists the fleet's users: $(cat rwho.out 2>/dev/null)" rwho_lists_all
grep -Eq '^alice +oldbox:pts/7 ' rwho.out || fail "rwho: alice on oldbox: $(cat rwho.out)"
grep -Eq '^bob +oldbox:tty2 ' rwho.out || fail "rwho: bob on oldbox: $(cat rwho.out)"
grep -Eq '^carol +web1:pts/3 ' rwho.out || fail "rwho: carol on web1: $(cat rwho.out)"
fleet_rwho ruptime -a >ruptime.out || fail "ruptime: $(cat ruptime.out)"
grep -Eq '^oldbox +up .*2 users' ruptime.out || fail "ruptime: oldbox: $(cat ruptime.out)"
grep -Eq '^web1 +up .*1 user' ruptime.out || fail "ruptime: web1: $(cat ruptime.out)"
# web1's uptime is its boot as the fleet has it: none stored here, so ruptime says ??:??.
grep -Eq '^web1 +up +\?\?:\?\?' ruptime.out || fail "ruptime: web1's unknown uptime: $(cat ruptime.out)"

# ---- Packets utmpsd must not take ----
stop_rwhod
scrape() { fleet_get /metrics >"$1"; }
value() { awk -v s="$2" '$1 == s { v = $2 } END { print v == "" ? "absent" : v }' "$1"; }
scrape m0
[[ $(value m0 'utmpsd_rwho_packets_total{result="taken"}') == 1 ]] ||
  fail "taken: $(grep rwho_packets m0)"
# send NS FROM-PORT TO HOST [ENTRY-USER] [SIZE]: a whod packet from HOST.
send() {
  ip netns exec "$1" perl -MIO::Socket::INET -e '
    my ($from, $to, $host, $user, $size) = @ARGV;
    my $s = IO::Socket::INET->new(Proto => "udp", LocalPort => $from, PeerAddr => $to)
      or die "socket: $!";
    my $t = time;
    my $p = pack("CCx2NNa32NNNN", 1, 1, $t, 0, $host, 10, 10, 10, $t - 99) .
            pack("a8a8NN", "pts/1", $user, $t - 5, 0);
    $p = substr($p . ("\0" x 100), 0, $size) if $size;
    $s->send($p) or die "send: $!";' "$2" "$3" "$4" "${5:-mallory}" "${6:-}"
}
send "$old" 513 10.82.2.1:513 spoofed            # from outside [rwho] networks
send "$old" 514 10.82.1.1:513 notrwhod            # not from rwhod's port
send "$old" 513 10.82.1.1:513 cut mallory 70      # not the header and whole entries
send "$old" 513 10.82.1.1:513 web1                # a followed host's name
sleep 0.5
scrape m1
[[ $(value m1 'utmpsd_rwho_packets_total{result="source"}') == 2 ]] ||
  fail "source refusals: $(grep rwho_packets m1)"
[[ $(value m1 'utmpsd_rwho_packets_total{result="malformed"}') == 1 ]] ||
  fail "malformed: $(grep rwho_packets m1)"
[[ $(value m1 'utmpsd_rwho_packets_total{result="name"}') == 1 ]] || fail "name: $(grep rwho_packets m1)"
[[ $(value m1 'utmpsd_rwho_hosts{state="up"}') == 1 ]] || fail "rwho hosts: $(grep rwho_hosts m1)"
fleet_get /v1/fleet/sessions >after-bad.json
grep -q 'mallory' after-bad.json && fail "a refused packet's user reached the fleet"
jq -e '[.sessions[] | select(.hostname == "web1")] | length == 1 and .[0].user == "carol"' \
  after-bad.json >/dev/null || fail "web1's sessions changed: $(cat after-bad.json)"
grep -q "a packet from 10.82.1.2:513 left out (1 so far)" sd.log || fail "the malformed packet is not in the log"

# ---- bob logs out of oldbox: the next packet ends his session ----
session 3101 pts/7 alice "$(at 600)" | utmpdump -r -o old/utmp >/dev/null 2>&1
sleep 1.5  # more than min_interval_s between two packets of a host
start_rwhod
bob_ended() {
  fleet_get '/v1/fleet/history?host=oldbox' >history2.json &&
    jq -e 'any(.sessions[]; .user == "bob" and .end == "logout")' history2.json >/dev/null
}
wait_for "bob's session on oldbox ended" bob_ended
on oldbox bob && fail "bob is still on: $(cat got.json)"
on oldbox alice || fail "alice left too: $(cat got.json)"
# Nothing stored twice: one boot, alice's session once, bob's once; bob's end is the second
# packet's send time, after his login.
for who in reboot alice bob; do
  n=$(jq --arg u "$who" '[.sessions[] | select(.user == $u)] | length' history2.json)
  [[ $n == 1 ]] || fail "$who is in oldbox's history $n times: $(cat history2.json)"
done
jq -e '.sessions[] | select(.user == "bob") | .logout_time_us > .login_time_us' history2.json \
  >/dev/null || fail "bob's logout time: $(cat history2.json)"
bob_not_in_rwho() { fleet_rwho rwho -a >rwho2.out && ! grep -q '^bob ' rwho2.out; }
wait_for "rwho drops bob" bob_not_in_rwho
grep -Eq '^alice +oldbox:pts/7 ' rwho2.out || fail "rwho after the logout: $(cat rwho2.out)"
fleet_get /healthz >/dev/null || fail "utmpsd stopped answering"

# ---- utmpsd restarted: oldbox is down until heard again, then goes on where it was ----
kill "$sd_pid"
wait "$sd_pid" 2>/dev/null || true
ip netns exec "$fleet" "$UTMPSD" -c utmpsd.toml --listen 127.0.0.1:0 2>sd2.log &
sd_pid=$!
pids+=($sd_pid)
sd=
for _ in $(seq 200); do
  sd=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' sd2.log)
  [[ -n $sd ]] && break
  sleep 0.05
done
[[ -n $sd ]] || fail "utmpsd did not start again: $(cat sd2.log)"
fleet_get /v1/hosts >hosts2.json
jq -e 'any(.hosts[]; .name == "oldbox" and .state == "down"
           and .problem == "not heard since utmpsd started")' hosts2.json >/dev/null ||
  fail "oldbox after a restart: $(cat hosts2.json)"
[[ -s spool/whod.oldbox ]] || fail "oldbox's spool file went at the restart"
stop_rwhod
start_rwhod
up_again() { fleet_get /v1/hosts >got.json && jq -e 'any(.hosts[]; .name == "oldbox" and .state == "up")' got.json; }
wait_for "oldbox up again" up_again
fleet_get '/v1/fleet/history?host=oldbox' >history3.json
for who in reboot alice bob; do
  n=$(jq --arg u "$who" '[.sessions[] | select(.user == $u)] | length' history3.json)
  [[ $n == 1 ]] || fail "after the restart, $who is in oldbox's history $n times: $(cat history3.json)"
done
echo "rwho -a, then ruptime -a, on the fleet server:"
cat rwho.out ruptime.out
echo PASS
