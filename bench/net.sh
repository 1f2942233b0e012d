#!/usr/bin/env bash
# Benchmarks port 431 (issue 4) on this machine, in one run, beside the classic services that
# answer the same question -- in.fingerd under inetd, rpc.rusersd -- and prints each goal with
# utmpcd's number, the peer's, the ratio and whether it is met:
#   GET /v1/sessions, keep-alive          >= 50,000 requests/s and >= 50x fingerd
#   one new TCP connection per query      >= 20x fingerd
#   UDP summary queries                   >= 2x rusersd (RUSERSPROC_NUM, standalone rusersd)
#   login written -> shown by utmpc watch p99 <= 10 ms
#   10,000 idle event-stream watchers     held; the daemon's RSS with them (and over TLS)
#   GET /v1/sessions keep-alive over TLS  >= 70% of the plain rate (the same daemon)
#   new TLS connections per second        full handshakes, and resumed (TLS 1.3, 1.2)
#   50 [[access]] rules                   the keep-alive rate with them and without
#
# Everything runs in private namespaces (unshare): a network namespace whose only interface is
# loopback, so every daemon and every packet stays on this machine; a mount namespace where
# /run is a fresh tmpfs holding the utmp all of them read, and /dev/pts holds the seeded
# sessions' terminals, so the host's utmp, /run and inetd.conf are never touched; and a PID
# namespace, so every process the benchmark started ends with it, however it ends.
#
# Usage: bench/net.sh            (as root; installs the peers with apt when missing)
# Environment: NET_SECONDS (measured seconds per case, default 10), NET_SESSIONS (live sessions
# seeded, default 5), NET_WATCHERS (default 10000), NET_LOGINS (default 1000), BENCH_DIR (keep
# the files and each case's JSON there), UTMPCD_BUILD_DIR (default build/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${UTMPCD_BUILD_DIR:-$top/build}

if [[ "${NET_SH_INSIDE:-}" != 1 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "net.sh: run as root (namespaces, port 79, rpcbind)" >&2
    exit 1
  fi
  # The peers as Debian ships them (in.fingerd runs the finger program), and rusers for the
  # check that every server lists the same sessions; deps.sh's own list has jq and curl. With no init system
  # running (containers, CI) these packages start nothing; on a host with one, apt starts
  # rpcbind and inetd there as usual -- this script uses its own, in its namespaces.
  "$top/scripts/deps.sh" fingerd finger openbsd-inetd rusersd rusers rpcbind >&2
  "$top/scripts/build.sh" >&2
  dir=${BENCH_DIR:-$(mktemp -d)}
  mkdir -p "$dir"
  # unshare ignores SIGINT and SIGTERM while it waits; killed, it kills the namespace's first
  # process (--kill-child), and with it every process of the PID namespace and its mounts.
  trap 'kill -KILL "$ns" 2>/dev/null' INT TERM
  trap '[[ -z "${BENCH_DIR:-}" ]] && rm -rf "$dir"; true' EXIT
  unshare --mount --net --pid --fork --kill-child --mount-proc \
    env NET_SH_INSIDE=1 NET_DIR="$dir" UTMPCD_BUILD_DIR="$build" "$0" "$@" &
  ns=$!
  status=0
  wait "$ns" || status=$?
  wait "$ns" 2>/dev/null || true  # a signal ends the first wait early
  exit "$status"
fi

# --- inside the namespaces -----------------------------------------------------------------
seconds=${NET_SECONDS:-10}
nsessions=${NET_SESSIONS:-5}
nwatchers=${NET_WATCHERS:-10000}
nlogins=${NET_LOGINS:-1000}
netload=$build/bench/netload
utmpcd=$build/src/utmpcd/utmpcd
utmpc=$build/src/utmpc/utmpc
dir=$NET_DIR
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export TZ=UTC LC_ALL=C

ip link set lo up
# Ten thousand watchers need more descriptors than the default 1024, in the daemon and in
# netload: as many as the hard limit allows (raising it needs CAP_SYS_RESOURCE).
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < nwatchers + 1000)); then
  echo "net.sh: open files limited to $(ulimit -n); fewer than $nwatchers watchers will open" >&2
fi
mount -t tmpfs -o mode=755 netbench-run /run
mkdir -p /run/rpcbind /run/lock
mount -t tmpfs -o mode=755 netbench-pts /dev/pts

# --- the live sessions: one leader process each, a terminal, a utmp entry --------------------
users=(root daemon bin sys sync games man lp mail news)
: > "$dir/utmp.txt"
for ((i = 0; i < nsessions; i++)); do
  sleep 100000 &
  pids+=($!)
  user=${users[i % ${#users[@]}]}
  : > "/dev/pts/$i"
  chgrp tty "/dev/pts/$i"
  chmod 620 "/dev/pts/$i"  # as a real pts: mesg y
  touch -d "-$((i * 7)) minutes" "/dev/pts/$i"
  printf '[7] [%05d] [ts/%d] [%-8s] [%-12s] [%-20s] [%-15s] [%s]\n' "$!" "$i" "$user" \
    "pts/$i" "198.51.100.$((i + 10))" "198.51.100.$((i + 10))" \
    "$(date -u -d "-$((i + 1)) hours" +%Y-%m-%dT%H:%M:%S,000000+00:00)" >> "$dir/utmp.txt"
done
utmpdump -r < "$dir/utmp.txt" > /run/utmp 2>/dev/null
chmod 644 /run/utmp
cp /run/utmp "$dir/wtmp"
: > "$dir/btmp"
: > "$dir/lastlog"

# --- the peers: rpcbind; rpc.rusersd; in.fingerd under openbsd-inetd ---------------------------
# (Not rpcbind -h 127.0.0.1: Debian 12's rpcbind 1.2.6 aborts with a double free given -h. The
# network namespace holds nothing but loopback anyway.)
rpcbind -f &
pids+=($!)
for ((i = 0; i < 50; i++)); do rpcinfo -p 127.0.0.1 >/dev/null 2>&1 && break; sleep 0.1; done
# Debian's inetd.conf line for fingerd, without tcpd (which would cost each query an exec
# more), and with inetd's limit of 256 starts a minute lifted: the benchmark measures fingerd.
cat > "$dir/inetd-finger.conf" <<'EOF'
127.0.0.1:finger	stream	tcp	nowait.10000000	nobody	/usr/sbin/in.fingerd	in.fingerd
EOF
inetd -i -R 10000000 "$dir/inetd-finger.conf" &
pids+=($!)
# rpc.rusersd standalone (not started by inetd, it registers with rpcbind itself and serves
# every call in one process, as nobody): its fastest setup. Debian's own, under inetd, starts
# one rpc.rusersd per call (it exits after answering when inetd started it); measured after.
rpc.rusersd < /dev/null  # it detaches itself: its pid is read from the (private) /proc
for ((i = 0; i < 50; i++)); do
  rpcinfo -p 127.0.0.1 2>/dev/null | grep -q rusersd && (: <>/dev/tcp/127.0.0.1/79) 2>/dev/null &&
    break
  sleep 0.1
done
rusersd=$(pgrep -x rpc.rusersd)
pids+=("$rusersd")

# --- utmpcd ---------------------------------------------------------------------------------
# As root (--user root): its files here are root's; which user it runs as costs nothing measured.
# Every query of the benchmark comes from 127.0.0.0/24, one prefix: no rate limit, so the daemon
# is measured, not its limiter.
# TLS on the same port (issue 14): an ECDSA P-256 certificate; plain HTTP stays open to
# loopback ([tls] plaintext_from), so the plain cases below ask the very same daemon.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$dir/tls.key" -out "$dir/tls.pem" 2>/dev/null
plain_config() {
  printf '[udp]\nrate_per_prefix = 0\n[tls]\ncertificate = "%s"\nkey = "%s"\n' \
    "$dir/tls.pem" "$dir/tls.key"
}
plain_config > "$dir/utmpcd.toml"
"$utmpcd" -c "$dir/utmpcd.toml" --database "$dir/history.db" --wtmp "$dir/wtmp" \
  --btmp "$dir/btmp" --utmp /run/utmp --lastlog "$dir/lastlog" --ingest-socket none \
  --api-socket none --http-listen 127.0.0.1:431 --udp-listen 127.0.0.1:431 --user root \
  2> "$dir/utmpcd.log" &
daemon=$!
pids+=("$daemon")
for ((i = 0; i < 100; i++)); do
  curl -sf http://127.0.0.1:431/healthz >/dev/null 2>&1 && break
  sleep 0.1
done

# --- the same question, four answers: every server must list the seeded sessions ------------
finger_out=$(exec 3<>/dev/tcp/127.0.0.1/79; printf '\r\n' >&3; cat <&3) || true
finger_n=$(grep -c 'pts/' <<<"$finger_out" || true)
rusers_n=$(rusers -l 127.0.0.1 2>/dev/null | grep -c ':pts/' || true)
http_n=$(curl -sf http://127.0.0.1:431/v1/sessions | jq '.sessions | length' || echo 0)
udp_n=$("$utmpc" summary --json 127.0.0.1:431 | jq '.hosts[0].sessions' || echo 0)
echo "live sessions seen: seeded $nsessions, fingerd $finger_n, rusersd $rusers_n," \
  "utmpcd $http_n (HTTP) and $udp_n (UDP summary)"
if [[ "$finger_n" != "$nsessions" || "$rusers_n" != "$nsessions" ||
      "$http_n" != "$nsessions" || "$udp_n" != "$nsessions" ]]; then
  echo "net.sh: the servers do not list the same sessions; fingerd said:" >&2
  echo "$finger_out" >&2
  exit 1
fi

# --- the measurements -------------------------------------------------------------------------
failed=0
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# The daemon's CPU time so far (user + system), in clock ticks.
daemon_ticks() { awk '{ print $14 + $15 }' "/proc/$daemon/stat"; }
run() {  # NAME NETLOAD-ARGS...: the case's report goes to $dir/NAME.json ({} when it failed)
  local name=$1 ticks
  shift
  ticks=$(daemon_ticks)
  if ! "$netload" "$@" > "$dir/$name.json" 2> "$dir/$name.err"; then
    echo "net.sh: $name failed: $(head -c 300 "$dir/$name.err")" >&2
    echo '{}' > "$dir/$name.json"
    failed=1
  fi
  echo "$(($(daemon_ticks) - ticks))" > "$dir/$name.ticks"
}
get() { jq -r "$2 // \"n/a\"" "$dir/$1.json"; }
rate() { get "$1" .rate; }

# 64 keep-alive connections keep a one-thread server busy without most of the time being spent
# queued in the client. 16 connections in flight for the connection-per-query cases, from 16
# source addresses. 8 requests in flight for the datagram cases, for both servers.
run keepalive http 127.0.0.1:431 --path /v1/sessions -c 64 -d "$seconds" --expect '"sessions"'
run connect_utmpcd connect 127.0.0.1:431 --http /v1/sessions -c 16 -d "$seconds" --sources 16 \
  --expect '"sessions"'
run connect_fingerd connect 127.0.0.1:79 --finger '' -c 16 -d "$seconds" --sources 16 \
  --expect "pts/0"
run udp_utmpcd udp 127.0.0.1:431 -c 8 -d "$seconds"
# TLS: keep-alive against the plain rate just measured; new connections with a full handshake,
# and resumed (TLS 1.3 and 1.2).
run keepalive_tls http 127.0.0.1:431 --tls --path /v1/sessions -c 64 -d "$seconds" \
  --expect '"sessions"'
run connect_tls connect 127.0.0.1:431 --tls --http /v1/sessions -c 16 -d "$seconds" \
  --sources 16 --expect '"sessions"'
run connect_tls_resume connect 127.0.0.1:431 --tls --resume --http /v1/sessions -c 16 \
  -d "$seconds" --sources 16 --expect '"sessions"'
run connect_tls12_resume connect 127.0.0.1:431 --tls --resume --tls-version 12 \
  --http /v1/sessions -c 16 -d "$seconds" --sources 16 --expect '"sessions"'
# The tier check with 50 [[access]] rules (networks and tokens none of these requests match,
# so every rule is looked at) against none: keep-alive again with them (SIGHUP), then without.
{
  plain_config
  for ((i = 0; i < 25; i++)); do
    printf '[[access]]\nnetworks = ["10.%d.0.0/16", "fd00:%x::/32"]\ntier = "full"\n' "$i" "$i"
    printf '[[access]]\ntoken_sha256 = "%064x"\ntier = "full"\n' "$i"
  done
} > "$dir/utmpcd.toml"
kill -HUP "$daemon"
sleep 0.5
run keepalive_rules http 127.0.0.1:431 --path /v1/sessions -c 64 -d "$seconds" \
  --expect '"sessions"'
plain_config > "$dir/utmpcd.toml"
kill -HUP "$daemon"
sleep 0.5
run keepalive_norules http 127.0.0.1:431 --path /v1/sessions -c 64 -d "$seconds" \
  --expect '"sessions"'
# rusersd asked two ways: through libtirpc (a CLIENT per thread, as the rusers command asks),
# and by netload's own sockets with the very code that asks utmpcd (libtirpc's XDR only encodes
# the call and decodes the reply). The peer's number is the better of the two.
for proc in num names; do
  run "rusers_$proc" rusers 127.0.0.1:111 --proc "$proc" -c 8 -t 8 -d "$seconds"
  run "rusers_${proc}_netload" rusers 127.0.0.1:111 --client netload --proc "$proc" -c 8 \
    -d "$seconds"
done

# Debian's rusersd: inetd starts one rpc.rusersd per call.
kill "$rusersd"
while kill -0 "$rusersd" 2>/dev/null; do sleep 0.1; done
rpcinfo -d 100002 2 2>/dev/null || true
rpcinfo -d 100002 3 2>/dev/null || true
cat > "$dir/inetd-rusers.conf" <<'EOF'
rusersd/2-3	dgram	rpc/udp	wait	nobody	/usr/sbin/rpc.rusersd	rpc.rusersd
EOF
inetd -i -R 10000000 "$dir/inetd-rusers.conf" &
pids+=($!)
for ((i = 0; i < 50; i++)); do
  rpcinfo -p 127.0.0.1 2>/dev/null | grep -q rusersd && break
  sleep 0.1
done
run rusers_inetd rusers 127.0.0.1:111 --proc num -c 8 -t 8 -d "$seconds"

# Logins one at a time, 5 ms apart, each timed from its write to wtmp to its line in utmpc
# watch's output (a pipe), and to its message on netload's own event stream.
run latency_watch latency --wtmp "$dir/wtmp" --count "$nlogins" --pace-ms 5 -- \
  "$utmpc" watch 127.0.0.1:431
run latency_sse latency --wtmp "$dir/wtmp" --count "$nlogins" --pace-ms 5 --sse 127.0.0.1:431
# Held 20 s: past the daemon's 15 s heartbeat, so every stream must also carry a ": ping".
run watchers watchers 127.0.0.1:431 --count "$nwatchers" --sources 32 --hold 20 --pid "$daemon" \
  --wtmp "$dir/wtmp"
# The same over TLS (each stream's session held by the daemon), once the plain ones are gone.
run watchers_tls watchers 127.0.0.1:431 --tls --count "$nwatchers" --sources 32 --hold 5 \
  --pid "$daemon" --wtmp "$dir/wtmp"

# --- the table --------------------------------------------------------------------------------
# calc EXPR A B: awk arithmetic on two numbers; "n/a" when either is missing.
calc() {
  awk -v a="$2" -v b="$3" "BEGIN { if (a == \"n/a\" || b == \"n/a\" || a == \"\" || b == \"\")
    print \"n/a\"; else print ($1) }"
}
yes_no() { awk -v v="$1" 'BEGIN { if (v == "n/a") print "n/a"; else print (v ? "yes" : "NO") }'; }
num() {  # 12345.6 -> 12,346
  awk -v a="$1" 'BEGIN { if (a == "n/a") { print a; exit }
    s = sprintf("%.0f", a); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
    print s }'
}
x() { awk -v a="$1" 'BEGIN { if (a == "n/a") print a; else printf (a < 10 ? "%.2fx\n" : "%.1fx\n"), a }'; }
ms() { awk -v a="$1" 'BEGIN { if (a == "n/a") print a; else printf "%.2f ms\n", a / 1000 }'; }
mb() { awk -v a="$1" 'BEGIN { if (a == "n/a") print a; else printf "%.1f MB\n", a / 1024 }'; }

ka=$(rate keepalive); cu=$(rate connect_utmpcd); cf=$(rate connect_fingerd)
udp=$(rate udp_utmpcd)
best() { calc '(a > b) ? a : b' "$(rate "$1")" "$(rate "$1_netload")"; }
rn=$(best rusers_num); rnames=$(best rusers_names)
ri=$(rate rusers_inetd)
lw99=$(get latency_watch .latency.p99_us); lw50=$(get latency_watch .latency.p50_us)
ls99=$(get latency_sse .latency.p99_us); ls50=$(get latency_sse .latency.p50_us)
held=$(get watchers .open_after_hold); asked=$(get watchers .asked)
rss0=$(get watchers .daemon_rss_kb_before); rss1=$(get watchers .daemon_rss_kb_with)

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
  "$(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "$nsessions live sessions; $seconds s per throughput case;" \
  "peers: in.fingerd under openbsd-inetd, rpc.rusersd (rpcbind)"
echo "load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
fmt='%-38s %14s %24s %9s  %-22s %s\n'
printf "$fmt" "case" "utmpcd" "peer" "ratio" "goal" "met"
r=$(calc 'a / b' "$ka" "$cf")
printf "$fmt" "GET /v1/sessions keep-alive, req/s" "$(num "$ka")" "fingerd $(num "$cf")" \
  "$(x "$r")" ">= 50,000/s and >= 50x" "$(yes_no "$(calc 'a >= 50000 && b >= 50' "$ka" "$r")")"
r=$(calc 'a / b' "$cu" "$cf")
printf "$fmt" "new connection per query, req/s" "$(num "$cu")" "fingerd $(num "$cf")" \
  "$(x "$r")" ">= 20x" "$(yes_no "$(calc 'a >= 20' "$r" 0)")"
r=$(calc 'a / b' "$udp" "$rn")
printf "$fmt" "UDP summary, queries/s" "$(num "$udp")" "rusersd NUM $(num "$rn")" \
  "$(x "$r")" ">= 2x" "$(yes_no "$(calc 'a >= 2' "$r" 0)")"
printf "$fmt" "  rusers' own query (NAMES)" "" "rusersd $(num "$rnames")" \
  "$(x "$(calc 'a / b' "$udp" "$rnames")")" "" ""
printf "$fmt" "  Debian's setup (inetd, NUM)" "" "rusersd $(num "$ri")" \
  "$(x "$(calc 'a / b' "$udp" "$ri")")" "" ""
kt=$(rate keepalive_tls); ct=$(rate connect_tls); ctr=$(rate connect_tls_resume)
ct12=$(rate connect_tls12_resume)
r=$(calc 'a / b' "$kt" "$ka")
printf "$fmt" "  the same over TLS, req/s" "$(num "$kt")" "plain $(num "$ka")" "$(x "$r")" \
  ">= 0.7x plain" "$(yes_no "$(calc 'a >= 0.7' "$r" 0)")"
printf "$fmt" "new TLS connection per query, req/s" "$(num "$ct")" "plain $(num "$cu")" \
  "$(x "$(calc 'a / b' "$ct" "$cu")")" "(ECDSA P-256)" ""
printf "$fmt" "  resumed: TLS 1.3, TLS 1.2" "$(num "$ctr")" "TLS 1.2 $(num "$ct12")" \
  "$(x "$(calc 'a / b' "$ctr" "$ct")")" "" ""
off=$(calc '(a + b) / 2' "$ka" "$(rate keepalive_norules)")
r=$(calc 'a / b' "$(rate keepalive_rules)" "$off")
printf "$fmt" "keep-alive with 50 access rules" "$(num "$(rate keepalive_rules)")" \
  "none $(num "$off")" "$(x "$r")" "cost < 1% (noise ~3%)" "$(yes_no "$(calc 'a >= 0.99' "$r" 0)")"
printf "$fmt" "login -> utmpc watch, p99" "$(ms "$lw99")" "" "" "<= 10 ms" \
  "$(yes_no "$(calc 'a <= 10000' "$lw99" 0)")"
printf "$fmt" "  p50; raw GET /v1/events p50, p99" "$(ms "$lw50")" "$(ms "$ls50"), $(ms "$ls99")" \
  "" "" ""
printf "$fmt" "idle event streams held" "$held of $asked" "" "" ">= 10,000 held" \
  "$(yes_no "$(calc 'a >= 10000' "$held" 0)")"
printf "$fmt" "  daemon RSS: idle, with them" "$(mb "$rss1")" "idle $(mb "$rss0")" "" "" ""
held_tls=$(get watchers_tls .open_after_hold)
printf "$fmt" "idle TLS event streams held" "$held_tls of $(get watchers_tls .asked)" "" "" "" ""
printf "$fmt" "  daemon RSS: before, with them" "$(mb "$(get watchers_tls .daemon_rss_kb_with)")" \
  "before $(mb "$(get watchers_tls .daemon_rss_kb_before)")" "" "" ""
echo
echo "each case: requests/s; latency p50 / p99; errors; utmpcd's CPU time a request:"
tck=$(getconf CLK_TCK)
for c in keepalive keepalive_tls keepalive_rules keepalive_norules connect_utmpcd connect_tls \
  connect_tls_resume connect_tls12_resume connect_fingerd udp_utmpcd rusers_num \
  rusers_num_netload rusers_names rusers_names_netload rusers_inetd latency_watch latency_sse; do
  [[ -f "$dir/$c.json" ]] || continue
  cpu=""
  if [[ $c == *utmpcd || $c == keepalive* || $c == connect_tls* ]]; then
    cpu=$(awk -v t="$(cat "$dir/$c.ticks")" -v hz="$tck" -v n="$(get "$c" .requests)" \
      -v s="$(get "$c" .seconds)" 'BEGIN { if (n + 0 > 0)
        printf "%.1f us", t / hz * 1e6 / (n * (s + 1) / s) }')
  fi
  r="$(num "$(rate "$c")")/s"
  [[ $c == latency_* ]] && r="$(get "$c" .requests) logins"
  printf '  %-20s %12s %9s / %-9s %-14s %s\n' "$c" "$r" \
    "$(ms "$(get "$c" .latency.p50_us)")" "$(ms "$(get "$c" .latency.p99_us)")" \
    "$(jq -c '.errors // {}' "$dir/$c.json")" "$cpu"
done
printf '  %-20s %s opened in %s s, %s held %s s, %s got a heartbeat meanwhile;\n' \
  "event streams" "$(get watchers .opened)" "$(get watchers .open_s)" "$held" \
  "$(get watchers .hold_s)" "$(get watchers .heartbeats_seen)"
printf '  %-20s a login then reached %s of them: p50 %s, p99 %s\n' "" \
  "$(get watchers .login_delivered)" "$(ms "$(get watchers .delivery.p50_us)")" \
  "$(ms "$(get watchers .delivery.p99_us)")"
exit "$failed"
