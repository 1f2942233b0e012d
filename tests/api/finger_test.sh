#!/usr/bin/env bash
# utmpcd's finger responder ([finger] listen; RFC 1288) asked by Debian's finger client from
# two other network namespaces: one whose network an [[access]] rule gives the sessions tier,
# one that gets the summary. The first sees who is on (everybody, one user, "not logged in"),
# the second only the counts, the same text whatever user it asks for (no enumeration). A
# forwarded query (user@a@b) is refused and tells no name; a record's escape sequence reaches
# no client raw (checked on the bytes the server sends, not through finger, which filters).
# A port 79 already taken costs a daemon finger, not its API.
# Needs root (network namespaces). Environment: UTMPCD. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}"
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
command -v finger >/dev/null || { echo "needs finger (scripts/deps.sh)"; exit 77; }
command -v utmpdump >/dev/null || { echo "needs utmpdump"; exit 77; }

tmp=$(mktemp -d)
chmod 0711 "$tmp"
server=utmpcd-fs-$$
clients=(a b)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$server" 2>/dev/null || true
  for c in "${clients[@]}"; do ip netns del "utmpcd-f$c-$$" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  tail -8 "$tmp/daemon.log" >&2 || true
  exit 1
}
export TZ=UTC LC_ALL=C
cd "$tmp"

# ---- Namespaces: the server, and a client a (10.81.1.2) and b (10.81.2.2) on veths ----
ip netns add "$server" || { echo "cannot make network namespaces"; exit 77; }
ip -n "$server" link set lo up
ip -n "$server" route add unreachable 10.81.0.0/16
n=0
for c in "${clients[@]}"; do
  n=$((n + 1))
  ns=utmpcd-f$c-$$
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "s$c-$$" netns "$server" type veth peer name "c$c-$$" netns "$ns"
  ip -n "$server" addr add "10.81.$n.1/24" dev "s$c-$$"
  ip -n "$ns" addr add "10.81.$n.2/24" dev "c$c-$$"
  ip -n "$ns" route add unreachable 10.81.0.0/16
  ip -n "$server" link set "s$c-$$" up
  ip -n "$ns" link set "c$c-$$" up
done
from() { local c=$1; shift; ip netns exec "utmpcd-f$c-$$" "$@"; }

# ---- Who is on: three sessions whose leaders run, one with an escape in its name ----
for i in 1 2 3; do
  sleep 600 &
  pids+=($!)
done
record() {  # PID LINE USER HOST
  printf '[7] [%05d] [ts/%s] [%-8s] [%-12s] [%-20s] [%-15s] [2026-12-07T10:0%s:00,000000+00:00]\n' \
    "$1" "${2: -1}" "$3" "$2" "$4" "192.0.2.7" "${2: -1}"
}
{
  record "${pids[0]}" pts/1 alice 192.0.2.7
  record "${pids[1]}" pts/2 bob ""
  record "${pids[2]}" pts/3 $'ev\e[2Jil' remote.example
} | utmpdump -r -o utmp >/dev/null 2>&1
: >wtmp
cat >utmpcd.toml <<EOF
[finger]
listen = ["0.0.0.0:79"]
[[access]]
networks = ["10.81.1.0/24"]
tier = "sessions"
EOF
ip netns exec "$server" "$UTMPCD" -c utmpcd.toml --database "$tmp/db/history.db" --wtmp wtmp \
  --btmp /nonexistent --utmp utmp --lastlog /nonexistent --ingest-socket none \
  --http-listen 127.0.0.1:0 --user root 2>daemon.log &
pids+=($!)
for _ in $(seq 200); do
  grep -q "finger on 0.0.0.0:79" daemon.log && break
  sleep 0.05
done
grep -q "finger on 0.0.0.0:79" daemon.log || fail "no finger listener"

# ---- Client a: the sessions tier ----
from a finger @10.81.1.1 >a.all || fail "finger @10.81.1.1: $(cat a.all)"
for who in alice bob; do grep -q "^$who " a.all || fail "a: $who is not listed: $(cat a.all)"; done
grep -q "pts/1 .*192.0.2.7" a.all || fail "a: alice's row: $(cat a.all)"
[[ $(grep -c "pts/" a.all) == 3 ]] || fail "a: not three sessions: $(cat a.all)"
from a finger alice@10.81.1.1 >a.alice
grep -q "^alice " a.alice || fail "a: alice@: $(cat a.alice)"
grep -q "^bob " a.alice && fail "a: alice@ lists bob"
from a finger nosuch@10.81.1.1 >a.nosuch
grep -q "nosuch: not logged in" a.nosuch || fail "a: nosuch@: $(cat a.nosuch)"
# The bytes the server sends: no ESC (finger would filter it itself).
from a bash -c 'exec 3<>/dev/tcp/10.81.1.1/79; printf "\r\n" >&3; cat <&3' >a.raw
grep -q "pts/3" a.raw || fail "a: raw answer: $(cat -v a.raw)"
LC_ALL=C grep -q $'\e' a.raw && fail "a: an escape reached the client: $(cat -v a.raw)"

# ---- Client b: the summary tier ----
from b finger @10.81.2.1 >b.all
grep -q "3 sessions" b.all || fail "b: no counts: $(cat b.all)"
for u in alice bob nosuch; do from b finger "$u@10.81.2.1" >"b.$u"; done
for name in alice bob pts/; do grep -q "$name" b.all b.alice b.bob b.nosuch && fail "b: $name told"; done
cmp -s b.alice b.nosuch || fail "b: a known and an unknown user get different answers"
cmp -s b.alice b.all || fail "b: asking for a user and for everybody differ"

# ---- Forwarding: refused, nothing told ----
from a finger alice@10.81.2.1@10.81.1.1 >a.forward || true
grep -q "forwarding is not served" a.forward || fail "forwarding: $(cat a.forward)"
grep -q "alice " a.forward && fail "forwarding told a name"

# ---- A malformed query: answered, and the daemon goes on ----
from a bash -c 'exec 3<>/dev/tcp/10.81.1.1/79; printf "al\001ce\r\n" >&3; cat <&3' >a.bad
grep -q "not a query" a.bad || fail "malformed: $(cat -v a.bad)"
from a finger @10.81.1.1 >a.again
grep -q "^alice " a.again || fail "the daemon stopped answering"

# ---- Port 79 taken (here by the first daemon): a second one serves all but finger ----
ip netns exec "$server" "$UTMPCD" -c utmpcd.toml --database "$tmp/db2/history.db" --wtmp wtmp \
  --btmp /nonexistent --utmp utmp --lastlog /nonexistent --ingest-socket none \
  --http-listen 127.0.0.1:0 --user root 2>daemon2.log &
pids+=($!)
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' daemon2.log)
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || fail "a taken port 79 stopped the API: $(cat daemon2.log)"
grep -q "finger is not served" daemon2.log || fail "the second daemon did not say finger is off: $(cat daemon2.log)"
ip netns exec "$server" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'GET /v1/host HTTP/1.0\r\n\r\n' >&3; cat <&3" >host2
grep -q '"hostname"' host2 || fail "the second daemon's API does not answer: $(cat host2)"
echo PASS
