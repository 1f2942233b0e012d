#!/usr/bin/env bash
# A PostgreSQL server of the test run's own (Debian's postgresql package), in a directory of its
# own, on loopback, as an unprivileged user (nobody when run as root), stopped after.
#   postgres.sh start DIR [PORT]   makes DIR/data, starts the server, prints its URL
#   postgres.sh stop DIR           stops it (fast), leaves DIR for the caller to delete
#   postgres.sh restart DIR        stops it and starts it again on the same port
# The server listens on 127.0.0.1 only and on a Unix socket in DIR; fsync is off (a test
# server: a killed test leaves nothing worth keeping). Exit status 77 when PostgreSQL is not
# installed.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $bindir/postgres ]] || { echo "postgres.sh: PostgreSQL is not installed" >&2; exit 77; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi
}

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

start_server() {
  local dir=$1 port=$2
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
}

case ${1:-} in
  start)
    dir=${2:?directory}
    port=${3:-$(free_port)}
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown nobody "$dir"
    chmod 0700 "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U utmpsd -A trust -E UTF8 --no-sync \
      --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    start_server "$dir" "$port"
    echo "postgresql://utmpsd@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:?directory}
    [[ -f $dir/data/postmaster.pid ]] || exit 0
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
  restart)
    dir=${2:?directory}
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    start_server "$dir" "$(cat "$dir/port")"
    ;;
  *)
    echo "usage: postgres.sh start DIR [PORT] | stop DIR | restart DIR" >&2
    exit 2
    ;;
esac
