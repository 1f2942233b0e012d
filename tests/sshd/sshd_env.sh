# Shared by the sshd tests: a private mount namespace with temporary login files mounted over
# the paths sshd writes, keys, and sshd itself on a free port of 127.0.0.1. Sourced (after
# `set -euo pipefail`); defines tmp, wtmp, btmp, port, sshd_pid, ssh_opts, fail and cleanup, and
# UTMPCD_SSHD_STAGE: "namespace", or "appended" where unshare is refused and the real files are
# used (only the bytes a test appends to them are its own).
readonly SSHD=/usr/sbin/sshd  # sshd re-executes itself, so it wants an absolute path
test_name=$(basename "$0" .sh)
extra_cleanup=()  # commands a test adds, run first by cleanup

if [[ $EUID -ne 0 ]]; then
  echo "SKIP: $test_name needs root"
  exit 77
fi
if [[ ! -x $SSHD ]] || ! command -v ssh >/dev/null || ! command -v last >/dev/null; then
  echo "SKIP: needs openssh-server, openssh-client and util-linux last"
  exit 77
fi

# Stage 1: enter a private mount namespace, or note that we cannot.
if [[ -z ${UTMPCD_SSHD_STAGE:-} ]]; then
  if unshare --mount --propagation private true 2>/dev/null; then
    UTMPCD_SSHD_STAGE=namespace exec unshare --mount --propagation private "$0" "$@"
  fi
  echo "NOTE: unshare --mount is refused here; using the real files and only the bytes" \
    "this test appends to them"
  UTMPCD_SSHD_STAGE=appended exec "$0" "$@"
fi

tmp=$(mktemp -d /tmp/utmpcd-sshd.XXXXXX)
sshd_pid=
created=()  # host paths this test made (only without a mount namespace)
cleanup() {
  for command in "${extra_cleanup[@]}"; do eval "$command" || true; done
  if [[ -n $sshd_pid ]]; then
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  for path in "${created[@]}"; do rm -rf "$path"; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  if [[ -f $tmp/sshd.log ]]; then
    echo "--- sshd log (tail)"
    tail -n 30 "$tmp/sshd.log"
  fi
  exit 1
}

# Stage 2: the files sshd will write.
declare -A start_size=()
if [[ $UTMPCD_SSHD_STAGE == namespace ]]; then
  # /run gets a tmpfs: /run/utmp may not exist on the host (nothing to mount over), and sshd
  # needs /run/sshd for privilege separation. Nothing else in /run is needed by this test.
  mount -t tmpfs -o mode=0755 utmpcd-test-run /run
  # bash sources ~/.bashrc for commands sshd runs: whatever the machine put there (a pyenv init
  # that takes a lock, say) must neither slow the logins down nor be left half-done by a test
  # that kills a session.
  for rc in "$HOME/.bashrc" /root/.bashrc; do
    [[ -f $rc ]] && mount --bind /dev/null "$rc"
  done
  mkdir -m 0755 /run/sshd
  install -m 0664 /dev/null /run/utmp
  # As Debian creates them; sshd refuses to write a btmp that others can read.
  install -m 0664 /dev/null "$tmp/wtmp"
  install -m 0660 /dev/null "$tmp/btmp"
  install -m 0664 /dev/null "$tmp/lastlog"
  if [[ -f /var/log/wtmp && -f /var/log/btmp && -f /var/log/lastlog ]]; then
    for name in wtmp btmp lastlog; do mount --bind "$tmp/$name" "/var/log/$name"; done
  else
    # A file is missing, so there is nothing to mount over: the whole directory gets a tmpfs.
    mount -t tmpfs -o mode=0755 utmpcd-test-log /var/log
    for name in wtmp btmp lastlog; do cp -p "$tmp/$name" "/var/log/$name"; done
  fi
  wtmp=/var/log/wtmp btmp=/var/log/btmp
else
  # What systemd-tmpfiles and the sshd unit would create, removed again by cleanup: without a
  # utmp file glibc's logout(3) fails and sshd then writes no logout to wtmp either.
  [[ -d /run/sshd ]] || { mkdir -m 0755 /run/sshd && created+=(/run/sshd); }
  [[ -e /run/utmp ]] || { install -m 0664 /dev/null /run/utmp && created+=(/run/utmp); }
  for path in /var/log/wtmp /var/log/btmp; do
    [[ -e $path ]] || fail "$path does not exist"
    start_size[$path]=$(stat -c %s "$path")
  done
  wtmp=$tmp/wtmp btmp=$tmp/btmp
fi

# Stage 3: keys, config, sshd on a free loopback port.
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/user_key"
cp "$tmp/user_key.pub" "$tmp/authorized_keys"
chmod 0700 "$tmp"

free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 40000))
    if [[ -z $(ss -Htln "sport = :$port" 2>/dev/null) ]]; then
      echo "$port"
      return
    fi
  done
  return 1
}
port=$(free_port) || fail "no free port"

cat >"$tmp/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $tmp/host_key
PidFile none
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# Without PAM sshd writes utmp, wtmp, btmp and lastlog itself (loginrec.c), and a login needs no
# PAM stack that might wait for systemd-logind.
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 10:30:100
LogLevel VERBOSE
CONF

timeout 60 "$SSHD" -D -e -f "$tmp/sshd_config" -E "$tmp/sshd.log" &
sshd_pid=$!
for _ in $(seq 100); do
  grep -q "Server listening on 127.0.0.1 port $port" "$tmp/sshd.log" 2>/dev/null && break
  kill -0 "$sshd_pid" 2>/dev/null || fail "sshd did not start"
  sleep 0.1
done
grep -q "Server listening" "$tmp/sshd.log" || fail "sshd is not listening"

ssh_opts=(-F /dev/null -p "$port" -i "$tmp/user_key" -o IdentitiesOnly=yes -o BatchMode=yes
          -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10
          -o LogLevel=ERROR)

