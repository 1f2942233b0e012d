#!/usr/bin/env bash
# utmpsd as dist/ installs it: utmpsd.service rates 2.0 or lower ("OK") in `systemd-analyze
# security`; utmpsd.sysusers.conf makes its user (in a scratch root); started as the unit starts
# it -- as an unprivileged user with CAP_NET_BIND_SERVICE only, to bind port 430 -- it gives the
# capability up, sets NoNewPrivs and serves; started as root with --user, it becomes that user.
# (systemd itself does not run here: setpriv does what User= and AmbientCapabilities= do. The
# user is nobody, the one a scratch machine has.)
# Environment: UTMPSD, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPSD:?}" "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
for tool in systemd-analyze systemd-sysusers setpriv unshare curl; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 77; }
done
dist=$UTMPCD_SOURCE_DIR/dist
tmp=$(mktemp -d)
chmod 0711 "$tmp"
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $tmp/sd.log ]] && tail -5 "$tmp/sd.log" >&2; exit 1; }

out=$(systemd-analyze security --offline=true "$dist/utmpsd.service" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for utmpsd.service: \([0-9.]*\) .*/\1/p' <<<"$out")
[[ -n $score ]] || fail "systemd-analyze gave no score: $(tail -3 <<<"$out")"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "utmpsd.service is rated $score, above 2.0"
echo "utmpsd.service: exposure $score"
systemd-analyze verify "$dist/utmpsd.service" 2>&1 | grep -v 'utmpsd: No such file\|not executable\|is not executable' |
  grep -i 'error\|unknown' && fail "systemd-analyze verify complains"

mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$dist/utmpsd.sysusers.conf" 2>/dev/null ||
  fail "systemd-sysusers refused utmpsd.sysusers.conf"
grep -q '^_utmpsd:' "$tmp/root/etc/passwd" || fail "sysusers made no user _utmpsd"

mkdir "$tmp/state"
chown nobody "$tmp/state"
: >"$tmp/utmpsd.toml"
expect_unprivileged() {
  local status=/proc/$1/status u
  u=$(id -u nobody)
  [[ $(awk '/^Uid:/ { print $2 $3 $4 }' "$status") == "$u$u$u" ]] ||
    fail "not running as nobody: $(grep '^Uid:' "$status")"
  for cap in CapInh CapPrm CapEff CapAmb; do
    [[ $(awk -v c="$cap:" '$1 == c { print $2 }' "$status") == 0000000000000000 ]] ||
      fail "$cap is $(grep "^$cap:" "$status") after start"
  done
  grep -q '^NoNewPrivs:[[:space:]]*1' "$status" || fail "NoNewPrivs is not set"
}
serves() {
  for _ in $(seq 100); do grep -q 'serving on 127.0.0.1:430' "$tmp/sd.log" && return 0; sleep 0.05; done
  fail "port 430 was not served"
}

# As the unit starts it: its user, CAP_NET_BIND_SERVICE ambient.
unshare --net sh -c '
  ip link set lo up
  exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
    --inh-caps=-all,+net_bind_service --ambient-caps=+net_bind_service "$@"' sh \
  "$UTMPSD" -c "$tmp/utmpsd.toml" --store "$tmp/state/fleet.db" --hosts-file /dev/null \
  --listen 127.0.0.1:430 2>"$tmp/sd.log" &
pid=$!
serves
expect_unprivileged "$pid"
kill "$pid"; wait "$pid" 2>/dev/null || true
pid=

# Started as root, it drops to --user once port 430 is bound.
unshare --net sh -c 'ip link set lo up; exec "$@"' sh \
  "$UTMPSD" -c "$tmp/utmpsd.toml" --store "$tmp/state/fleet.db" --hosts-file /dev/null \
  --listen 127.0.0.1:430 --user nobody 2>"$tmp/sd.log" &
pid=$!
serves
expect_unprivileged "$pid"
echo PASS
