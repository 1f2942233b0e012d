# A systemd-journald of the test's own, for tests that run in a mount namespace of their own
# (unshare --mount --propagation private): its sockets (/run/systemd/journal) and a volatile
# journal (/run/log/journal) on tmpfs, nothing of the host's; the machine's directory made as
# systemd-tmpfiles makes it (tmpfiles.d/systemd.conf: group systemd-journal, setgid, so that
# journald's files are that group's too). Sourced; defines start_journald, which sets
# journald_pid (kill it when done) and fails through the test's `fail`.
readonly JOURNALD=/lib/systemd/systemd-journald

start_journald() {  # LOG-FILE
  mkdir -p /run/systemd /run/log
  mount -t tmpfs tmpfs /run/systemd
  mount -t tmpfs tmpfs /run/log
  if [[ -d /var/log/journal ]]; then mount -t tmpfs tmpfs /var/log/journal; fi
  mkdir -p /run/systemd/journal /run/log/journal
  if getent group systemd-journal >/dev/null; then
    install -d -g systemd-journal -m 2750 "/run/log/journal/$(cat /etc/machine-id)"
  fi
  "$JOURNALD" 2>"$1" &
  journald_pid=$!
  for _ in $(seq 100); do
    [[ -S /run/systemd/journal/socket && -S /run/systemd/journal/dev-log ]] && return 0
    sleep 0.05
  done
  fail "journald did not start: $(cat "$1")"
}
