#!/usr/bin/env bash
# Real ssh logins on a Debian 13 host, which keeps no utmp, wtmp or btmp: the cached Debian 13
# root (tests/support/debian13_root.sh) runs its own sshd (OpenSSH 10, which records sessions in
# wtmpdb itself), its PAM stack (pam_unix, pam_lastlog2) and a real systemd-journald, in a mount
# namespace of this test with its own /run, /dev, /var/log and /var/lib/lastlog. utmpcd runs
# against what they write, as it would on such a host, and must list:
#   - the sessions as the root's `wtmpdb last` lists them (/v1/history);
#   - the failed logins (a wrong password, an unknown user) once each, with user and address,
#     from the journal (/v1/failed), also across a restart;
#   - root's last login as the root's `lastlog2` has it (/v1/lastlog).
#   - and utmpc wtmpdb last and utmpc lastlog2 print those databases byte for byte as the root's
#     wtmpdb last and lastlog2 do.
# Network traffic: 127.0.0.1 only. Environment: UTMPCD, UTMPC, UTMPCD_SOURCE_DIR.
# Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPC:?}" "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) -eq 0 ]] || { echo "needs root (mount namespace, chroot)"; exit 77; }
# shellcheck source=../support/journald.sh
source "$(dirname "$0")/../support/journald.sh"
[[ -x $JOURNALD ]] && command -v ssh >/dev/null && command -v openssl >/dev/null ||
  { echo "needs systemd-journald, openssh-client and openssl"; exit 77; }
if [[ ${1:-} != inside ]]; then
  root=$("$UTMPCD_SOURCE_DIR/tests/support/debian13_root.sh") || { echo "FAIL: no Debian 13 root"; exit 1; }
  exec env DEBIAN13_ROOT="$root" unshare --mount --propagation private --fork -- "$0" inside
fi
root=$DEBIAN13_ROOT
tmp=$(mktemp -d)
journald_pid= sshd_pid= daemon_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill -9 "$daemon_pid" 2>/dev/null
  [[ -n $sshd_pid ]] && kill "$sshd_pid" 2>/dev/null
  [[ -n $journald_pid ]] && kill "$journald_pid" 2>/dev/null
  [[ -n ${KEEP:-} ]] && { echo "kept $tmp" >&2; return; }
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  journalctl -D /run/log/journal --no-pager -n 20 2>/dev/null >&2 || true
  [[ -f $tmp/daemon.log ]] && tail -20 "$tmp/daemon.log" >&2
  exit 1
}
export LC_ALL=C TZ=UTC

# This namespace's journald.
start_journald "$tmp/journald.log"

# The Debian 13 host: its root read-only, with what its programs write on tmpfs or in $tmp.
mkdir -p "$tmp"/{varlog,lastlog,etc,pam.d}
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --bind "$tmp" "$root/mnt"
mount --bind "$tmp/varlog" "$root/var/log"
mount --bind "$tmp/lastlog" "$root/var/lib/lastlog"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -m 0755 "$root/run/sshd"
mkdir -p "$root/run/systemd/journal"
mount --bind /run/systemd/journal "$root/run/systemd/journal"
mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
for node in null zero full random urandom tty; do
  touch "$root/dev/$node"
  mount --bind "/dev/$node" "$root/dev/$node"
done
mkdir "$root/dev/pts"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /run/systemd/journal/dev-log "$root/dev/log"
# A user "tester" with a password (for the failed attempts), and root's key for the logins.
for f in passwd shadow group; do cp -p "$root/etc/$f" "$tmp/etc/$f"; done
echo 'tester:x:2000:2000:tester:/nonexistent:/bin/sh' >>"$tmp/etc/passwd"
echo 'tester:x:2000:' >>"$tmp/etc/group"
echo "tester:$(openssl passwd -6 right-password):20000:0:99999:7:::" >>"$tmp/etc/shadow"
for f in passwd shadow group; do mount --bind "$tmp/etc/$f" "$root/etc/$f"; done
# Debian 13's sshd stack without what a container cannot do (pam_loginuid, pam_selinux, motd).
cp -a "$root/etc/pam.d/." "$tmp/pam.d/"
printf '@include common-auth\naccount required pam_nologin.so\n@include common-account\n@include common-session\n' \
  >"$tmp/pam.d/sshd"
mount --bind "$tmp/pam.d" "$root/etc/pam.d"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key"
cp "$tmp/user_key.pub" "$tmp/authorized_keys"
port=
for _ in $(seq 50); do
  port=$((20000 + RANDOM % 40000))
  [[ -z $(ss -Htln "sport = :$port" 2>/dev/null) ]] && break
done
cat >"$tmp/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile /mnt/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
CONF
# Logging to syslog (no -e): into this namespace's journal, as on the host.
chroot "$root" /usr/sbin/sshd -D -f /mnt/sshd_config &
sshd_pid=$!
for _ in $(seq 100); do [[ -n $(ss -Htln "sport = :$port" 2>/dev/null) ]] && break; sleep 0.05; done
[[ -n $(ss -Htln "sport = :$port") ]] || fail "sshd does not listen"

printf '[[access]]\nnetworks = ["127.0.0.1"]\ntier = "full"\n' >"$tmp/utmpcd.toml"
start_daemon() {
  : >"$tmp/daemon.log"
  "$UTMPCD" -c "$tmp/utmpcd.toml" --database "$tmp/history.db" --wtmpdb "$tmp/varlog/wtmp.db" \
    --lastlog2 "$tmp/lastlog/lastlog2.db" --history-source wtmpdb --failed-source journal \
    --journal-directory /run/log/journal --utmp "$tmp/no-utmp" --lastlog /nonexistent \
    --ingest-socket none --http-listen 127.0.0.1:0 --user root 2>"$tmp/daemon.log" &
  daemon_pid=$!
  api=
  for _ in $(seq 200); do
    api=$(sed -n 's/.*HTTP API on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$tmp/daemon.log")
    [[ -n $api ]] && return 0
    sleep 0.05
  done
  fail "utmpcd did not start"
}
get() { curl -sS --max-time 10 "http://$api$1"; }

ssh_opts=(-F /dev/null -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o ConnectTimeout=10 -o LogLevel=ERROR)
login() {  # a session with a pty, as a person's
  ssh "${ssh_opts[@]}" -i "$tmp/user_key" -o IdentitiesOnly=yes -o BatchMode=yes -tt \
    root@127.0.0.1 'exit 0' >/dev/null 2>&1 || fail "ssh root@127.0.0.1 failed"
}
wrong_password() {  # USER: one password attempt, wrong
  printf '#!/bin/sh\necho wrong-password\n' >"$tmp/askpass"
  chmod +x "$tmp/askpass"
  SSH_ASKPASS="$tmp/askpass" SSH_ASKPASS_REQUIRE=force ssh "${ssh_opts[@]}" \
    -o PubkeyAuthentication=no -o PreferredAuthentications=password \
    -o NumberOfPasswordPrompts=1 "$1@127.0.0.1" true </dev/null >/dev/null 2>&1 &&
    fail "a wrong password let $1 in"
  return 0
}

start_daemon
login
login
wrong_password tester
wrong_password nosuchuser
# What the host wrote, by its own tools.
wait_for() {  # JQ-FILTER on /v1/... WANT
  local got=
  for _ in $(seq 100); do
    got=$(get "$1" | jq -r "$2")
    [[ $got == "$3" ]] && return 0
    sleep 0.05
  done
  fail "$1 | $2: '$got', not '$3'"
}
rows=$(sqlite3 "$tmp/varlog/wtmp.db" "SELECT count(*) FROM wtmp WHERE Type = 3 AND User = 'root' AND Logout IS NOT NULL")
[[ $rows == 2 ]] || fail "sshd wrote $rows ended sessions of root to wtmpdb, not 2"
wait_for /v1/history '[.sessions[] | select(.user == "root" and .end == "logout")] | length' 2
chroot "$root" wtmpdb last -f /var/log/wtmp.db --time-format iso -j |
  jq -r '.entries[] | [.user, .tty, .hostname, (.login | sub("\\+0000$"; "Z")), (.logout | sub("\\+0000$"; "Z"))] | @tsv' >"$tmp/theirs"
get '/v1/history?limit=100' |
  jq -r '.sessions[] | [.user, .tty, .host, (.login_time_us / 1000000 | floor | todate),
    (if .end == "logout" then (.logout_time_us / 1000000 | floor | todate) else .end end)] | @tsv' >"$tmp/ours"
diff "$tmp/theirs" "$tmp/ours" >&2 || fail "/v1/history does not list what wtmpdb last lists"
# The databases real logins wrote, as the root's own tools print them.
for opts in "" "-F" "-x -w" "-j" "--time-format iso -S"; do
  # shellcheck disable=SC2086
  chroot "$root" wtmpdb last -f /var/log/wtmp.db $opts >"$tmp/want" 2>&1
  # shellcheck disable=SC2086
  "$UTMPC" wtmpdb last -f "$tmp/varlog/wtmp.db" $opts 2>&1 | sed "s|$tmp/varlog/|/var/log/|" >"$tmp/got"
  cmp -s "$tmp/want" "$tmp/got" || { diff "$tmp/want" "$tmp/got" >&2; fail "utmpc wtmpdb last $opts"; }
done
for opts in "" "-s" "-u root"; do
  # shellcheck disable=SC2086
  chroot "$root" lastlog2 $opts >"$tmp/want" 2>&1
  # shellcheck disable=SC2086
  "$UTMPC" lastlog2 -d "$tmp/lastlog/lastlog2.db" $opts >"$tmp/got" 2>&1
  cmp -s "$tmp/want" "$tmp/got" || { diff "$tmp/want" "$tmp/got" >&2; fail "utmpc lastlog2 $opts"; }
done
echo "1: 2 real ssh sessions, /v1/history = wtmpdb last; utmpc wtmpdb last and lastlog2 print them as the root's tools"

# Failed logins: what sshd logged, once each, with the user and where from.
failed_rows() { get '/v1/failed?limit=100' | jq -r '.failed | reverse[] | [.user, .tty, .host] | @tsv'; }
wait_for /v1/failed '.failed | length' 3
failed_rows >"$tmp/failed"
printf '%s\n' $'tester\tssh:notty\t127.0.0.1' $'nosuchuser\tssh:notty\t127.0.0.1' \
  $'nosuchuser\tssh:notty\t127.0.0.1' >"$tmp/failed.want"
diff "$tmp/failed.want" "$tmp/failed" >&2 ||
  fail "/v1/failed is not the wrong password and the unknown user (Invalid user, then Failed password)"
journalctl -D /run/log/journal --no-pager -o cat | grep -E '^(Failed password|Invalid user)' >"$tmp/sshd.said" || true
[[ $(wc -l <"$tmp/sshd.said") == 3 ]] || fail "sshd said: $(cat "$tmp/sshd.said")"
echo "2: 3 failures sshd logged, in /v1/failed once each"

# A restart, and one more failure meanwhile: stored once, nothing twice.
kill -9 "$daemon_pid"
wait "$daemon_pid" 2>/dev/null || true
daemon_pid=
wrong_password tester
start_daemon
wait_for /v1/failed '.failed | length' 4
sleep 0.3
wait_for /v1/failed '.failed | length' 4
[[ $(get /v1/history | jq '[.sessions[] | select(.user == "root")] | length') == 2 ]] ||
  fail "the sessions were stored again after the restart"
echo "3: after SIGKILL, the failure logged meanwhile stored once"

# lastlog2 has root's last login: /v1/lastlog says the same, to the second pam_lastlog2 wrote it
# (and from where). Not the tty: pam_lastlog2 records PAM_TTY as sshd set it ("ssh") before the
# pty existed, wtmpdb the pty.
read -r want_time want_tty want_host < <(sqlite3 -separator ' ' "$tmp/lastlog/lastlog2.db" \
  "SELECT Time, TTY, RemoteHost FROM Lastlog2 WHERE Name = 'root'")
read -r got_time got_tty got_host < <(get '/v1/lastlog?user=root' |
  jq -r '.lastlog[0] | "\(.time_us / 1000000 | floor) \(.tty) \(.host)"')
[[ -n $want_time ]] || fail "pam_lastlog2 wrote no row for root"
((got_time - want_time <= 2 && want_time - got_time <= 2)) && [[ $got_host == "$want_host" ]] &&
  [[ $got_tty == pts/* ]] ||
  fail "/v1/lastlog for root: $got_time $got_tty $got_host; lastlog2: $want_time $want_tty $want_host"
echo "4: /v1/lastlog for root = lastlog2's row"
if grep -i "error" "$tmp/daemon.log" >&2; then fail "errors in the daemon's log"; fi
echo PASS
