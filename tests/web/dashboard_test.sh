#!/usr/bin/env bash
# The dashboard (web/) in a real browser: Debian's chromium, driven by playwright-core, against a
# real utmpsd following two utmpcd hosts in network namespaces (10.81.N.2 each host, 10.81.N.1
# the fleet's side; 10.81.0.0/16 unreachable in every namespace, so nothing leaves them). The
# browser runs in the fleet's namespace. What it checks is in dashboard.mjs; screenshots of each
# view are written to $UTMPCD_ARTIFACTS (default: web-artifacts in the working directory).
# Environment: UTMPCD, UTMPSD, UTMPCD_SOURCE_DIR [UTMPCD_ARTIFACTS]. Exit: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPSD:?}" "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
for tool in ip curl jq utmpdump node; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 77; }
done
web=$UTMPCD_SOURCE_DIR/tests/web
# The README's test command installs these (scripts/web_deps.sh): missing, the test fails.
[[ -x /usr/bin/chromium ]] || { echo "FAIL: no /usr/bin/chromium (scripts/deps.sh installs it)"; exit 1; }
[[ -d $web/node_modules/playwright-core && -d $web/node_modules/axe-core ]] ||
  { echo "FAIL: no $web/node_modules (scripts/web_deps.sh installs them)"; exit 1; }
artifacts=$(realpath -m "${UTMPCD_ARTIFACTS:-web-artifacts}")
mkdir -p "$artifacts"

tmp=$(mktemp -d)
chmod 0711 "$tmp"
fleet=dash-fleet-$$
hosts=(1 2)
pids=()
cleanup() {
  [[ -f $tmp/sd.pid ]] && kill -9 "$(cat "$tmp/sd.pid")" 2>/dev/null
  [[ -f $tmp/sd-empty.pid ]] && kill -9 "$(cat "$tmp/sd-empty.pid")" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$fleet" 2>/dev/null || true
  for n in "${hosts[@]}"; do ip netns del "dash-h$n-$$" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/sd*.log "$tmp"/h*/cd.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -8 "$f" >&2; }; done
  exit 1
}
export LC_ALL=C
cd "$tmp"

# ---- Namespaces ----
ip netns add "$fleet" || { echo "cannot make network namespaces"; exit 77; }
ip -n "$fleet" link set lo up
ip -n "$fleet" route add unreachable 10.81.0.0/16
for n in "${hosts[@]}"; do
  ns=dash-h$n-$$
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "f$n-$$" netns "$fleet" type veth peer name "h$n-$$" netns "$ns"
  ip -n "$fleet" addr add "10.81.$n.1/24" dev "f$n-$$"
  ip -n "$ns" addr add "10.81.$n.2/24" dev "h$n-$$"
  ip -n "$ns" route add unreachable 10.81.0.0/16
  ip -n "$fleet" link set "f$n-$$" up
  ip -n "$ns" link set "h$n-$$" up
done

# ---- Records: the last day of two hosts ----
line() {  # TYPE PID TTY USER HOST TIME(epoch s)
  local ts
  ts=$(date -u -d "@$6" +%Y-%m-%dT%H:%M:%S,000000+00:00)
  printf '[%s] [%05d] [%-4.4s] [%-8s] [%-12s] [%-20s] [%-15s] [%s]\n' "$1" "$2" "${3#pts/}" "$4" "$3" "$5" "$5" "$ts"
}
now=$(date +%s)
h=3600
for n in "${hosts[@]}"; do
  mkdir "h$n"
  # (ip netns exec and $(...) aside: the leaders are this shell's children, stopped at exit)
  sleep 900 >/dev/null 2>&1 &
  admin_pid=$!
  sleep 900 >/dev/null 2>&1 &
  other_pid=$!
  pids+=("$admin_pid" "$other_pid")
  {
    line 2 0 '~' reboot 6.1.0 $((now - 20 * h))
    # Sessions ended by a logout.
    for k in 1 2 3 4; do
      line 7 $((2000 + k)) "pts/$k" "ann" "192.0.2.$k" $((now - (19 - k) * h))
      line 8 $((2000 + k)) "pts/$k" "" "" $((now - (18 - k) * h - 600))
    done
    line 7 2100 pts/5 "bob" "198.51.100.$n" $((now - 12 * h))
    line 8 2100 pts/5 "" "" $((now - 11 * h))
    # A session the host's crash ended (a boot with no shutdown before it).
    line 7 2200 pts/6 "carol" "203.0.113.9" $((now - 10 * h))
    line 2 0 '~' reboot 6.1.0 $((now - 8 * h))
    # One a shutdown ended.
    line 7 2300 pts/6 "dave" "203.0.113.10" $((now - 7 * h))
    line 1 20000 '~~' shutdown 6.1.0 $((now - 6 * h - 1800))
    line 2 0 '~' reboot 6.1.0 $((now - 6 * h))
    # Open now: their leaders run.
    line 7 "$admin_pid" "tty$n" "admin$n" "192.0.2.$n" $((now - 2 * h))
    if ((n == 2)); then
      # (utmpdump stops a name at a space: the hostile name is written over a placeholder)
      line 7 "$other_pid" pts/7 "HOSTILE0" "192.0.2.99" $((now - h))
    else
      line 7 "$other_pid" pts/7 "erin" "192.0.2.77" $((now - h))
    fi
  } | utmpdump -r -o "h$n/wtmp" >/dev/null 2>&1
  { line 7 "$admin_pid" "tty$n" "admin$n" "192.0.2.$n" $((now - 2 * h))
    if ((n == 2)); then
      line 7 "$other_pid" pts/7 "HOSTILE0" "192.0.2.99" $((now - h))
    else
      line 7 "$other_pid" pts/7 "erin" "192.0.2.77" $((now - h))
    fi
  } | utmpdump -r -o "h$n/utmp" >/dev/null 2>&1
  if ((n == 2)); then
    for f in wtmp utmp; do
      at=$(grep -abo HOSTILE0 "h$n/$f" | cut -d: -f1)
      printf '%s' "<img src=x onerror=alert(1)>" | dd of="h$n/$f" bs=1 seek="$at" conv=notrunc status=none
    done
  fi
  # Failed logins: h1 5 three hours ago and 2 one hour ago, h2 3 two hours ago.
  {
    if ((n == 1)); then
      for k in 1 2 3 4 5; do line 6 0 ssh:notty root 198.51.100.66 $((now - 3 * h + k)); done
      for k in 1 2; do line 6 0 ssh:notty admin 198.51.100.67 $((now - h + k)); done
    else
      for k in 1 2 3; do line 6 0 ssh:notty oracle 198.51.100.68 $((now - 2 * h + k)); done
    fi
  } | utmpdump -r -o "h$n/btmp" >/dev/null 2>&1
  echo "host-token-$n" >"h$n/token"
  cat >"h$n/utmpcd.toml" <<CONF
[http]
heartbeat_s = 1
# utmpsd: full, by its token.
[[access]]
token_sha256 = "$(printf '%s' "host-token-$n" | sha256sum | cut -d' ' -f1)"
tier = "full"
# The browser in the fleet's namespace reads this host's own page.
[[access]]
networks = ["10.81.$n.1"]
tier = "history"
CONF
  ip netns exec "dash-h$n-$$" "$UTMPCD" -c "h$n/utmpcd.toml" --database "$tmp/h$n/history.db" \
    --wtmp "h$n/wtmp" --btmp "h$n/btmp" --utmp "h$n/utmp" --lastlog /nonexistent \
    --ingest-socket none --udp-listen none --api-socket none --http-listen "10.81.$n.2:431" \
    --user root 2>"h$n/cd.log" &
  pids+=($!)
done

# ---- utmpsd: loopback gets the history tier; the token "viewer-token" gets full ----
for n in "${hosts[@]}"; do
  echo "http://10.81.$n.2:431 name=h$n groups=$([[ $n == 2 ]] && echo even || echo odd) token_file=$tmp/h$n/token"
done >hosts
: >hosts-empty
write_conf() {  # FILE HOSTS STORE
  cat >"$1" <<CONF
[server]
user = "root"
[store]
url = "$3"
[follow]
hosts_file = "$2"
max_backoff_s = 1
silence_s = 3
[[access]]
networks = ["127.0.0.0/8"]
tier = "history"
[[access]]
token_sha256 = "$(printf '%s' viewer-token | sha256sum | cut -d' ' -f1)"
tier = "full"
CONF
}
write_conf utmpsd.toml "$tmp/hosts" "$tmp/fleet.db"
write_conf utmpsd-empty.toml "$tmp/hosts-empty" "$tmp/fleet-empty.db"
start_sd() {  # CONFIG PORT PIDFILE
  ip netns exec "$fleet" "$UTMPSD" -c "$1" --listen "127.0.0.1:$2" 2>>"$tmp/${3%.pid}.log" &
  echo $! >"$3"
  for _ in $(seq 100); do
    ip netns exec "$fleet" curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  fail "utmpsd ($1) did not start"
}
start_sd utmpsd.toml 430 sd.pid
start_sd utmpsd-empty.toml 4300 sd-empty.pid
# Both hosts up and their histories stored before the browser looks.
for _ in $(seq 200); do
  ip netns exec "$fleet" curl -s http://127.0.0.1:430/v1/fleet/sessions |
    jq -e '.sessions | length == 4' >/dev/null 2>&1 && break
  sleep 0.05
done
ip netns exec "$fleet" curl -s http://127.0.0.1:430/v1/fleet/sessions | jq -e '.sessions | length == 4' >/dev/null ||
  fail "the fleet does not show the 4 open sessions: $(ip netns exec "$fleet" curl -s http://127.0.0.1:430/v1/fleet/sessions)"

# ---- The browser ----
export DASH_TMP=$tmp DASH_FLEET_NS=$fleet DASH_LINK2="f2-$$" DASH_ARTIFACTS=$artifacts
export DASH_START_SD="$UTMPSD -c $tmp/utmpsd.toml --listen 127.0.0.1:430"
ip netns exec "$fleet" node "$web/dashboard.mjs" || fail "dashboard.mjs"
echo "ok: screenshots in $artifacts"
