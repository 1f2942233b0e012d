#!/usr/bin/env bash
# GET /metrics of utmpcd and utmpsd as Prometheus reads them: each scrape passes Prometheus's
# own `promtool check metrics`, and the counters move as the test makes logins, failed logins,
# requests and refusals on a real daemon (its wtmp, btmp and utmp are temporary files), and as
# a real utmpsd follows it over loopback into a SQLite fleet store.
# The Grafana dashboard (dist/grafana/utmpcd.json) is checked against both: each of its
# queries parses (promtool check rules) and names only metrics the servers serve.
# Environment: UTMPCD, UTMPSD, UTMPC, WTMPGEN, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPSD:?}" "${UTMPC:?}" "${WTMPGEN:?}" "${UTMPCD_SOURCE_DIR:?}"
for tool in curl promtool utmpdump jq; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 77; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  exec 3>&- 4>&- 5>&-
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && { wait "$p" 2>/dev/null || true; }; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export TZ=UTC LC_ALL=C
cd "$tmp"

"$WTMPGEN" --seed 7 --records 300 -o wtmp
"$WTMPGEN" --seed 8 --records 20 --kind btmp -o btmp
: >utmp
cat >utmpcd.toml <<EOF2
[http]
max_connections_per_source = 3
[udp]
rate_per_prefix = 1
burst = 1
EOF2
"$UTMPCD" -c utmpcd.toml --database "$tmp/db/history.db" --wtmp wtmp --btmp btmp --utmp utmp \
  --lastlog /nonexistent --ingest-socket none --http-listen 127.0.0.1:0 \
  --udp-listen 127.0.0.1:0 --user root 2>daemon.log &
pids+=($!)
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' daemon.log)
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || fail "utmpcd did not start: $(cat daemon.log)"
udp_port=$(sed -n 's/.*UDP on 127\.0\.0\.1:\([0-9]*\).*/\1/p' daemon.log)
[[ -n $udp_port ]] || fail "no UDP port in the log: $(cat daemon.log)"

# scrape URL FILE: the metrics, checked by promtool (which says nothing when they are clean).
scrape() {
  curl -sS --fail -o "$2" -D "$2.head" "$1/metrics" || fail "GET $1/metrics"
  grep -qi '^content-type: text/plain; version=0.0.4' "$2.head" || fail "content type: $(cat "$2.head")"
  promtool check metrics <"$2" >"$2.lint" 2>&1 || fail "promtool check metrics $1: $(cat "$2.lint")"
}
# value FILE SERIES: the sample of SERIES ('name{labels}' as written); "absent" when it is not
# there, so that a series never exported does not pass for a 0.
value() { awk -v s="$2" '$1 == s { v = $2 } END { print v == "" ? "absent" : v }' "$1"; }
# count FILE SERIES: a request counter's sample, 0 before its first request.
count() { awk -v s="$2" '$1 == s { v = $2 } END { print v == "" ? 0 : v }' "$1"; }
# wait_for URL SERIES WANT: scrapes until SERIES is WANT (10 s).
wait_for() {
  for _ in $(seq 200); do
    scrape "$1" now
    [[ $(value now "$2") == "$3" ]] && return 0
    sleep 0.05
  done
  fail "$2 is $(value now "$2"), not $3"
}
h=http://127.0.0.1:$port

# ---- utmpcd ----
# What the files held at start is stored: every kind counted, the batches timed.
seq0=$(curl -sS "$h/v1/host" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
[[ $seq0 -gt 0 ]] || fail "nothing stored"
wait_for "$h" 'utmpcd_last_seq' "$seq0"
cp now m0
total=$(awk '/^utmpcd_events_stored_total\{/ { n += $2 } END { print n }' m0)
[[ $total == "$seq0" ]] || fail "events stored by kind sum to $total, the history holds $seq0"
[[ $(value m0 'utmpcd_failed_logins_total{source="btmp"}') == 20 ]] || fail "btmp failures: $(grep failed_logins m0)"
[[ $(value m0 'utmpcd_events_stored_total{kind="failed"}') == 20 ]] || fail "failed events"
[[ $(value m0 'utmpcd_store_append_seconds_count') -ge 1 ]] || fail "no append timed"
[[ $(value m0 'utmpcd_ingest_running') == 1 ]] || fail "ingest not running"
grep -q '^utmpcd_build_info{version="' m0 || fail "no build_info"

# A login (and its session live in utmp, its leader a real process) and a failed login.
logins0=$(value m0 'utmpcd_events_stored_total{kind="login"}')
sleep 600 &
leader=$!
pids+=($leader)
record() {  # TYPE PID LINE USER HOST
  printf '[%d] [%05d] [ts/9] [%-8s] [%-12s] [%-20s] [%-15s] [2026-12-07T10:00:00,000000+00:00]\n' \
    "$1" "$2" "$4" "$3" "$5" "192.0.2.9"
}
record 7 "$leader" pts/9 metrics remote.example | utmpdump -r 2>/dev/null >>wtmp
record 7 "$leader" pts/9 metrics remote.example | utmpdump -r 2>/dev/null >utmp
record 6 0 ssh:notty intruder remote.example | utmpdump -r 2>/dev/null >>btmp
wait_for "$h" 'utmpcd_events_stored_total{kind="login"}' "$((logins0 + 1))"
wait_for "$h" 'utmpcd_failed_logins_total{source="btmp"}' 21
wait_for "$h" 'utmpcd_sessions{kind="remote"}' 1
[[ $(value now 'utmpcd_users') == 1 ]] || fail "users: $(value now utmpcd_users)"
[[ $(value now 'utmpcd_sessions{kind="local"}') == 0 ]] || fail "local sessions"

# Requests by endpoint, status and tier (loopback gets the history tier by default); a path
# that is no endpoint is "other", not a series of its own.
before=$(count now 'utmpcd_http_requests_total{endpoint="/v1/history",code="200",tier="history"}')
for _ in 1 2 3; do curl -sS -o /dev/null "$h/v1/history?limit=2"; done
curl -sS -o /dev/null "$h/no/such/path/$RANDOM"
curl -sS -o /dev/null "$h/v1/failed?limit=1"
scrape "$h" m1
[[ $(value m1 'utmpcd_http_requests_total{endpoint="/v1/history",code="200",tier="history"}') == $((before + 3)) ]] ||
  fail "history requests: $(grep 'endpoint="/v1/history"' m1)"
[[ $(value m1 'utmpcd_http_requests_total{endpoint="other",code="404",tier="history"}') -ge 1 ]] ||
  fail "404: $(grep http_requests m1)"
grep -q 'no/such' m1 && fail "a random path became a series"
[[ $(value m1 'utmpcd_http_requests_total{endpoint="/v1/failed",code="401",tier="history"}') == 1 ]] ||
  fail "/v1/failed refused at the history tier: $(grep 'v1/failed' m1)"

# An event stream is a watcher while it is open.
curl -sS -N "$h/v1/events" >/dev/null 2>&1 &
stream=$!
pids+=($stream)
wait_for "$h" 'utmpcd_event_streams' 1
kill "$stream"; wait "$stream" 2>/dev/null || true
wait_for "$h" 'utmpcd_event_streams' 0

# Refusals: a fourth connection from one source (max_connections_per_source = 3), and
# datagrams beyond the UDP rate.
exec 3<>"/dev/tcp/127.0.0.1/$port" 4<>"/dev/tcp/127.0.0.1/$port" 5<>"/dev/tcp/127.0.0.1/$port"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$h/v1/host" || true)
exec 3>&- 4>&- 5>&-
[[ $code == 503 ]] || fail "the fourth connection got $code"
"$UTMPC" ping -c 5 -i 0.01 -W 0.2 "127.0.0.1:$udp_port" >/dev/null 2>&1 || true
sleep 0.2
scrape "$h" m2
[[ $(value m2 'utmpcd_refused_total{limit="too_many_connections"}') -ge 1 ]] ||
  fail "connection refusal: $(grep refused m2)"
[[ $(value m2 'utmpcd_refused_total{limit="udp_rate"}') -ge 3 ]] || fail "UDP refusals: $(grep refused m2)"

# ---- utmpsd, following this host ----
echo "http://127.0.0.1:$port name=h1" >hosts
cat >utmpsd.toml <<EOF2
[server]
user = "root"
[store]
url = "$tmp/fleet.db"
[follow]
hosts_file = "$tmp/hosts"
max_backoff_s = 1
silence_s = 2
EOF2
"$UTMPSD" -c utmpsd.toml --listen 127.0.0.1:0 2>sd.log &
pids+=($!)
sd=
for _ in $(seq 200); do
  sd=$(sed -n 's/.*serving on 127\.0\.0\.1:\([0-9]*\).*/\1/p' sd.log)
  [[ -n $sd ]] && break
  sleep 0.05
done
[[ -n $sd ]] || fail "utmpsd did not start: $(cat sd.log)"
f=http://127.0.0.1:$sd
wait_for "$f" 'utmpsd_host_up{host="h1"}' 1
# Everything the host stored but its failed logins, which its default tier for loopback
# (history) does not send.
scrape "$h" m3
want=$(($(value m3 utmpcd_last_seq) - $(value m3 'utmpcd_events_stored_total{kind="failed"}')))
fleet_total() { awk '/^utmpsd_events_stored_total\{/ { n += $2 } END { print n }' "$1"; }
for _ in $(seq 200); do
  scrape "$f" s1
  [[ $(fleet_total s1) == "$want" ]] && break
  sleep 0.05
done
[[ $(fleet_total s1) == "$want" ]] || fail "the fleet stored $(fleet_total s1) of $want"
[[ $(value s1 'utmpsd_events_stored_total{kind="failed"}') == 0 ]] || fail "failed logins at the history tier"
[[ $(value s1 'utmpsd_hosts{state="up"}') == 1 ]] || fail "hosts up: $(grep utmpsd_hosts s1)"
[[ $(awk '/^utmpsd_hosts\{/ { n += $2 } END { print n }' s1) == 1 ]] ||
  fail "the states do not sum to the one host: $(grep '^utmpsd_hosts{' s1)"
# The fleet's queries are counted as they are answered (by its query thread).
for _ in 1 2; do curl -sS -o /dev/null "$f/v1/hosts"; done
curl -sS -o /dev/null "$f/v1/fleet/sessions"
scrape "$f" s2
[[ $(value s2 'utmpsd_http_requests_total{endpoint="/v1/hosts",code="200",tier="history"}') == 2 ]] ||
  fail "/v1/hosts requests: $(grep 'utmpsd_http_requests_total' s2)"
[[ $(value s2 'utmpsd_http_requests_total{endpoint="/v1/fleet/sessions",code="200",tier="history"}') == 1 ]] ||
  fail "/v1/fleet/sessions requests: $(grep 'utmpsd_http_requests_total' s2)"
[[ $(value s1 'utmpsd_store_up') == 1 ]] || fail "store not up"
grep -q '^utmpsd_host_lag_seconds{host="h1"} ' s1 || fail "no lag for h1: $(grep lag s1)"
[[ $(value s1 'utmpsd_store_seconds_count') -ge 1 ]] || fail "no store timed"

# A new login on the host reaches the fleet's counters.
logins1=$(value s1 'utmpsd_events_stored_total{kind="login"}')
record 7 "$leader" pts/8 metrics2 remote.example | utmpdump -r 2>/dev/null >>wtmp
wait_for "$f" 'utmpsd_events_stored_total{kind="login"}' "$((logins1 + 1))"

# ---- The Grafana dashboard ----
dashboard=$UTMPCD_SOURCE_DIR/dist/grafana/utmpcd.json
jq -e '.panels | length > 10' "$dashboard" >/dev/null || fail "the dashboard has no panels"
# Each query as a recording rule: promtool parses its PromQL ($instance as Grafana fills it).
{
  echo 'groups:'
  echo '  - name: dashboard'
  echo '    rules:'
  n=0
  while IFS= read -r expr; do
    n=$((n + 1))
    printf '      - record: dashboard_query_%d\n        expr: %s\n' "$n" "$(jq -Rn --arg e "${expr//\$instance/.*}" '$e')"
  done < <(jq -r '.. | .expr? // empty' "$dashboard")
} >rules.yml
promtool check rules rules.yml >rules.out 2>&1 || fail "the dashboard's queries: $(cat rules.out)"
cat m2 s1 >served
for name in $(jq -r '.. | .expr? // empty' "$dashboard" | grep -o 'utmp[cs]d_[a-z_]*' |
  sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -q "^# TYPE $name " served || fail "the dashboard asks for $name, which nobody serves"
done

# The host goes away: down, and no longer up.
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
wait_for "$f" 'utmpsd_host_up{host="h1"}' 0
[[ $(value now 'utmpsd_hosts{state="down"}') == 1 ]] || fail "hosts down: $(grep utmpsd_hosts now)"
echo "PASS"
