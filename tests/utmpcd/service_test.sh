#!/usr/bin/env bash
# The daemon as dist/ installs it under systemd: utmpcd.service rates 2.0 or lower ("OK") in
# `systemd-analyze security`; the sysusers.d and tmpfiles.d snippets make the user and the
# directories (in a scratch root); and the daemon started the way the units start it -- port
# 431 bound by the socket unit, then the daemon as _utmpcd with group utmp and no capability --
# serves (in a network namespace of the test's own) as that user, with no capability,
# NoNewPrivs set and its own seccomp filter (Seccomp: 2; the rest of the suite runs every
# daemon under it too). Also started with CAP_NET_BIND_SERVICE to bind the port itself, it
# gives the capability up. (systemd itself does not run here: systemd-socket-activate and
# setpriv do what the units' ListenStream=, User=, SupplementaryGroups= and
# AmbientCapabilities= do.)
# Environment: UTMPCD, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
for tool in systemd-analyze systemd-sysusers systemd-tmpfiles systemd-socket-activate setpriv \
  unshare nsenter curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 77; }
done
getent passwd _utmpcd >/dev/null || { echo "needs the user _utmpcd (scripts/daemon_user.sh)"; exit 77; }
dist=$UTMPCD_SOURCE_DIR/dist
tmp=$(mktemp -d)
daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $tmp/daemon.log ]] && tail -5 "$tmp/daemon.log" >&2; exit 1; }

# ---- The unit's exposure ----
out=$(systemd-analyze security --offline=true "$dist/utmpcd.service" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for utmpcd.service: \([0-9.]*\) .*/\1/p' <<<"$out")
[[ -n $score ]] || fail "systemd-analyze gave no score: $(tail -3 <<<"$out")"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "utmpcd.service is rated $score, above 2.0"
echo "utmpcd.service: exposure $score"

# ---- sysusers.d and tmpfiles.d, in a scratch root ----
mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$dist/utmpcd.sysusers.conf" 2>/dev/null ||
  fail "systemd-sysusers refused utmpcd.sysusers.conf"
entry=$(grep '^_utmpcd:' "$tmp/root/etc/passwd") || fail "sysusers made no user _utmpcd"
[[ $entry == *:/nonexistent:/usr/sbin/nologin ]] || fail "_utmpcd can log in: $entry"
uid=$(cut -d: -f3 <<<"$entry")
((uid > 0 && uid < 1000)) || fail "_utmpcd is no system user: uid $uid"
systemd-tmpfiles --root="$tmp/root" --create "$dist/utmpcd.tmpfiles.conf" 2>/dev/null ||
  fail "systemd-tmpfiles refused utmpcd.tmpfiles.conf"
[[ $(stat -c '%a %u' "$tmp/root/var/lib/utmpcd") == "750 $uid" ]] ||
  fail "/var/lib/utmpcd: $(stat -c '%a %u' "$tmp/root/var/lib/utmpcd")"
[[ $(stat -c '%a %u' "$tmp/root/run/utmpcd") == "755 $uid" ]] ||
  fail "/run/utmpcd: $(stat -c '%a %u' "$tmp/root/run/utmpcd")"

# ---- The daemon as the unit starts it ----
chmod 755 "$tmp"
mkdir -m 750 "$tmp/state" "$tmp/state2" "$tmp/run"
chown _utmpcd:_utmpcd "$tmp/state" "$tmp/state2" "$tmp/run"
: >"$tmp/wtmp"
: >"$tmp/btmp"
chgrp utmp "$tmp/wtmp" "$tmp/btmp"
chmod 640 "$tmp/btmp"
printf '[udp]\nlisten = []\n' >"$tmp/utmpcd.toml"
files=(--wtmp "$tmp/wtmp" --btmp "$tmp/btmp" --utmp /nonexistent --lastlog /nonexistent
       --ingest-socket "$tmp/run/ingest.sock")
# expect_unprivileged PID: its user, group utmp, no capability, NoNewPrivs, its seccomp filter.
expect_unprivileged() {
  local status=/proc/$1/status u
  u=$(id -u _utmpcd)
  [[ $(awk '/^Uid:/ { print $2 $3 $4 }' "$status") == "$u$u$u" ]] ||
    fail "not running as _utmpcd: $(grep '^Uid:' "$status")"
  grep -Eq "^Groups:.*\b$(getent group utmp | cut -d: -f3)\b" "$status" || fail "not in group utmp"
  for cap in CapInh CapPrm CapEff CapAmb; do
    [[ $(awk -v c="$cap:" '$1 == c { print $2 }' "$status") == 0000000000000000 ]] ||
      fail "$cap is $(grep "^$cap:" "$status") after start"
  done
  grep -q '^NoNewPrivs:[[:space:]]*1' "$status" || fail "NoNewPrivs is not set"
  grep -q '^Seccomp:[[:space:]]*2' "$status" || fail "no seccomp filter: $(grep '^Seccomp' "$status")"
}

# As utmpcd.service with utmpcd.socket: systemd binds port 431 (systemd-socket-activate here)
# and starts the daemon at the first connection as _utmpcd, with no capability at all.
unshare --net sh -c '
  ip link set lo up
  exec systemd-socket-activate -l 127.0.0.1:431 -- setpriv --reuid=_utmpcd --regid=_utmpcd \
    --groups=utmp --inh-caps=-all --bounding-set=-all "$@"' sh \
  "$UTMPCD" -c "$tmp/utmpcd.toml" --database "$tmp/state/history.db" "${files[@]}" \
  2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do grep -q '^Listening on' "$tmp/daemon.log" && break; sleep 0.05; done
nsenter -t "$daemon_pid" -n curl -sS --max-time 5 http://127.0.0.1:431/v1/host >"$tmp/host.json" ||
  fail "the socket-activated daemon does not answer"
grep -q '"api":1' "$tmp/host.json" || fail "/v1/host: $(cat "$tmp/host.json")"
expect_unprivileged "$daemon_pid"
kill "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
daemon_pid=

# Without the socket unit, given CAP_NET_BIND_SERVICE (ambient) to bind port 431 itself: the
# daemon gives it up once bound.
unshare --net sh -c '
  ip link set lo up
  exec setpriv --reuid=_utmpcd --regid=_utmpcd --groups=utmp \
    --inh-caps=-all,+net_bind_service --ambient-caps=+net_bind_service "$@"' sh \
  "$UTMPCD" -c "$tmp/utmpcd.toml" --database "$tmp/state2/history.db" "${files[@]}" \
  --api-socket "$tmp/run/api.sock" --http-listen 127.0.0.1:431 \
  2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do grep -q 'HTTP API on 127.0.0.1:431' "$tmp/daemon.log" && break; sleep 0.05; done
grep -q 'HTTP API on 127.0.0.1:431' "$tmp/daemon.log" || fail "port 431 was not bound"
expect_unprivileged "$daemon_pid"
curl -sS --max-time 5 --unix-socket "$tmp/run/api.sock" http://localhost/v1/host |
  grep -q '"api":1' || fail "the API does not answer"
echo PASS
