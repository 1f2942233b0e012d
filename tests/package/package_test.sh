#!/usr/bin/env bash
# The Debian packages as an administrator meets them: dpkg-buildpackage builds utmpcd, utmpc,
# utmpsd and libpam-utmpcd from a copy of this tree, lintian finds no error in them, and
# `apt-get install ./*.deb` puts them into a clean Debian 12 root (tests/support/debian12_root.sh,
# cached) in a network namespace of only a loopback, downloading nothing. There:
#   - the users come from the sysusers.d snippets, the directories from tmpfiles.d, the example
#     configurations are conffiles, the units are installed and enabled (socket activation);
#   - utmpcd is started as systemd would start it: the socket unit's sockets bound by
#     systemd-socket-activate, the service's ExecStart, as root dropping to _utmpcd; it answers
#     on port 431 and on its API socket (utmpc who), and counts in /metrics;
#   - the PAM profile is off until `pam-auth-update --enable utmpcd`, which puts the authfail
#     line after pam_unix (whose success then jumps over it) and the session line in
#     common-session (not common-session-noninteractive); --disable takes both out, and so
#     does removing the package while it is enabled;
#   - last, lastb and who stay util-linux's and coreutils'; the compat links are utmpc;
#   - purge leaves nothing behind but the system users Debian policy keeps, and the PAM stack
#     as it was.
# (The root has no running systemd: the units' own lines are run, without their sandbox; the
# daemon's drop to _utmpcd is its own.)
# Needs root (debootstrap, chroot, namespaces). Environment: UTMPCD_SOURCE_DIR;
# UTMPCD_PACKAGE_DIR, a directory holding packages built already (its *.deb and *.changes),
# to test those instead of building (while working on the packaging).
# Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD_SOURCE_DIR:?}"
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }
for tool in dpkg-buildpackage lintian debootstrap unshare chroot; do
  command -v "$tool" >/dev/null || { echo "needs $tool (scripts/deps.sh)"; exit 77; }
done
src=$UTMPCD_SOURCE_DIR
tmp=$(mktemp -d /var/tmp/utmpcd-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- Build, from a copy of the tree (the build writes into it) ----
if [[ -n ${UTMPCD_PACKAGE_DIR:-} ]]; then
  cp "$UTMPCD_PACKAGE_DIR"/*.deb "$UTMPCD_PACKAGE_DIR"/*.changes "$UTMPCD_PACKAGE_DIR"/*.buildinfo "$tmp/"
else
  mkdir "$tmp/src"
  tar -C "$src" --exclude=./.git --exclude='./build*' --exclude=./Testing --exclude=./web/node_modules \
    -cf - . | tar -C "$tmp/src" -xf -
  (cd "$tmp/src" && DEB_BUILD_OPTIONS="parallel=2 nocheck" dpkg-buildpackage -us -uc -b) \
    >"$tmp/build.log" 2>&1 || fail "dpkg-buildpackage: $(tail -20 "$tmp/build.log")"
fi
debs=("$tmp"/*.deb)
[[ ${#debs[@]} -ge 4 ]] || fail "built only: ${debs[*]}"
for p in utmpcd utmpc utmpsd libpam-utmpcd; do
  ls "$tmp/${p}_"*.deb >/dev/null 2>&1 || fail "no $p package"
done
# lintian: no error and no warning (informational tags are listed in the log).
lintian --fail-on error,warning --tag-display-limit 0 "$tmp"/*.changes >"$tmp/lintian.log" 2>&1 ||
  fail "lintian: $(grep -E '^[EW]:' "$tmp/lintian.log" | head -20; tail -3 "$tmp/lintian.log")"
grep -E '^[EW]:' "$tmp/lintian.log" && fail "lintian reports errors or warnings"
rm -f "$tmp"/*-dbgsym_*.deb  # the debug symbols: checked by lintian, not installed
debs=("$tmp"/*.deb)

# ---- A clean Debian 12 root with what the packages depend on ----
deps=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
  sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' |
  grep -vxE 'utmpcd|utmpc|utmpsd|libpam-utmpcd' | sort -u)
cached=$("$src/tests/support/debian12_root.sh" $deps)
root=$tmp/root
cp -a "$cached" "$root"
cp "${debs[@]}" "$root/tmp/"
# Everything in the root runs in namespaces of its own: mounts, PIDs, and a network of only a
# loopback (no route anywhere else: nothing is downloaded, nothing leaves).
in_root() {
  unshare --mount --pid --net --fork --kill-child -- bash -c '
    set -e
    root=$1; shift
    ip link set lo up 2>/dev/null || true
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/run"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
      DEBIAN_FRONTEND=noninteractive bash -c "$1"' _ "$root" "$1"
}
snapshot() {  # the root's files, but for apt's and dpkg's own bookkeeping and logs
  (cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./run -o -path ./tmp \
    -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o -path ./var/cache -o -path ./var/log \
    -o -path ./var/lib/systemd/deb-systemd-helper-enabled \
    -o -path ./var/lib/systemd/deb-systemd-helper-masked \) -prune -o -print | sort)
}
snapshot >"$tmp/before"
cp "$root/etc/passwd" "$tmp/passwd.before"
pam_stack() { (cd "$root/etc/pam.d" && sha256sum common-*); }
pam_stack >"$tmp/pam.before"

in_root 'apt-get install -y -q /tmp/utmpcd_*.deb /tmp/utmpc_*.deb /tmp/utmpsd_*.deb /tmp/libpam-utmpcd_*.deb' \
  >"$tmp/install.log" 2>&1 || fail "apt-get install: $(tail -20 "$tmp/install.log")"
grep -i "^Get:.*http" "$tmp/install.log" && fail "the install downloaded something"

# ---- What the install made ----
getent() { grep "^$2:" "$root/etc/$1"; }
getent passwd _utmpcd >/dev/null || fail "no user _utmpcd"
getent passwd _utmpsd >/dev/null || fail "no user _utmpsd"
# (By uid: the root's users are not this machine's.)
[[ $(stat -c %u "$root/var/lib/utmpcd") == $(getent passwd _utmpcd | cut -d: -f3) ]] ||
  fail "/var/lib/utmpcd is not _utmpcd's"
in_root 'dpkg-query -W -f="\${Conffiles}\n" utmpcd utmpsd' >"$tmp/conffiles"
grep -q "/etc/utmpcd/utmpcd.toml" "$tmp/conffiles" || fail "utmpcd.toml is no conffile: $(cat "$tmp/conffiles")"
grep -q "/etc/utmpsd/utmpsd.toml" "$tmp/conffiles" || fail "utmpsd.toml is no conffile"
for unit in utmpcd.service utmpcd.socket utmpcd-ingest.socket utmpsd.service; do
  [[ -f $root/lib/systemd/system/$unit ]] || fail "no $unit"
done
[[ -L $root/etc/systemd/system/sockets.target.wants/utmpcd.socket ]] || fail "utmpcd.socket is not enabled"
[[ -f $root/usr/lib/sysusers.d/utmpcd.conf && -f $root/usr/lib/tmpfiles.d/utmpcd.conf ]] ||
  fail "no sysusers.d or tmpfiles.d snippet"
for page in man8/utmpcd.8.gz man5/utmpcd.conf.5.gz man1/utmpc.1.gz man8/utmpsd.8.gz \
  man5/utmpsd.conf.5.gz man8/pam_utmpcd.8.gz; do
  [[ -f $root/usr/share/man/$page ]] || fail "no $page"
done
[[ -f $root/usr/share/bash-completion/completions/utmpc ]] || fail "no bash completion"
# The classic tools stay the system's; the compat links are utmpc.
[[ $(in_root 'dpkg -S /usr/bin/last' 2>/dev/null) == util-linux:* ]] || fail "/usr/bin/last is no longer util-linux's"
[[ $(readlink -f "$root/usr/lib/utmpcd/compat/last") == /usr/bin/utmpc || \
   $(readlink "$root/usr/lib/utmpcd/compat/last") == */utmpc ]] || fail "compat/last is not utmpc"

# ---- utmpcd from its units, answering ----
# The socket unit's stream sockets (systemd-socket-activate binds one kind at a time; the
# root's network has no IPv6), bound as systemd binds them, then the service's ExecStart.
listen=$(sed -n 's/^ListenStream=\(.*\)/-l \1/p' "$root/lib/systemd/system/utmpcd.socket" |
  grep -v '\[::\]' | tr '\n' ' ')
[[ $listen == *0.0.0.0:431* && $listen == */run/utmpcd/api.sock* ]] || fail "utmpcd.socket: $listen"
exec_start=$(sed -n 's/^ExecStart=//p' "$root/lib/systemd/system/utmpcd.service")
[[ $exec_start == /usr/sbin/utmpcd* ]] || fail "ExecStart: $exec_start"
in_root "
  systemd-tmpfiles --create >/dev/null 2>&1 || true
  : >/var/log/wtmp; : >/var/log/btmp; : >/run/utmp
  chgrp utmp /var/log/wtmp /var/log/btmp /run/utmp; chmod 664 /var/log/wtmp /run/utmp; chmod 660 /var/log/btmp
  systemd-socket-activate $listen -- $exec_start 2>/tmp/daemon.log &
  for i in \$(seq 100); do curl -sf http://127.0.0.1:431/v1/host >/tmp/host.json 2>/dev/null && break; sleep 0.1; done
  curl -sf http://127.0.0.1:431/v1/host >/tmp/host.json
  curl -sf http://127.0.0.1:431/metrics >/tmp/metrics.txt
  utmpc who --json >/tmp/who.json
  for p in /proc/[0-9]*; do [ \"\$(cat \$p/comm 2>/dev/null)\" = utmpcd ] && stat -c %U \$p; done >/tmp/daemon.user || true
" >"$tmp/run.log" 2>&1 || fail "utmpcd from its units: $(cat "$tmp/run.log"; cat "$root/tmp/daemon.log")"
grep -q '"hostname"' "$root/tmp/host.json" || fail "/v1/host: $(cat "$root/tmp/host.json" "$root/tmp/daemon.log")"
grep -q '^utmpcd_build_info{version="' "$root/tmp/metrics.txt" || fail "/metrics: $(head -5 "$root/tmp/metrics.txt")"
grep -q '"sessions"' "$root/tmp/who.json" || fail "utmpc who over the API socket: $(cat "$root/tmp/who.json")"
[[ $(tr -d ' \n' <"$root/tmp/daemon.user") == _utmpcd ]] || fail "the daemon runs as $(cat "$root/tmp/daemon.user")"

# ---- The PAM profile: off until enabled ----
grep -q pam_utmpcd "$root/etc/pam.d/common-auth" "$root/etc/pam.d/common-session" &&
  fail "the PAM profile is on before the administrator enables it"
in_root 'pam-auth-update --enable utmpcd' >"$tmp/pam.log" 2>&1 || fail "pam-auth-update --enable: $(cat "$tmp/pam.log")"
auth=$(grep -E '^auth' "$root/etc/pam.d/common-auth")
# pam_unix, then (its success jumping over it and pam_deny) pam_utmpcd authfail, then pam_deny.
awk '/pam_unix.so/ {u = NR; if (match($0, /success=[0-9]+/)) s = substr($0, RSTART + 8, RLENGTH - 8)}
     /pam_utmpcd.so authfail/ {m = NR} /pam_deny.so/ {d = NR}
     END { exit !(u && m == u + 1 && d == m + 1 && s == 2) }' <<<"$auth" ||
  fail "common-auth after --enable: $auth"
grep -qE '^session\s+optional\s+pam_utmpcd.so' "$root/etc/pam.d/common-session" ||
  fail "common-session after --enable: $(grep -E '^session' "$root/etc/pam.d/common-session")"
# Not the non-interactive sessions (cron, su -c, sudo): they are no logins.
grep -q pam_utmpcd "$root/etc/pam.d/common-session-noninteractive" &&
  fail "pam_utmpcd is in common-session-noninteractive"
in_root 'pam-auth-update --disable utmpcd' >>"$tmp/pam.log" 2>&1 || fail "pam-auth-update --disable"
grep -q pam_utmpcd "$root/etc/pam.d/common-auth" "$root/etc/pam.d/common-session" &&
  fail "pam_utmpcd is still in the stack after --disable"
# Enabled again, as an administrator leaves it: removing the package takes it out (prerm).
in_root 'pam-auth-update --enable utmpcd' >>"$tmp/pam.log" 2>&1 || fail "pam-auth-update --enable"
grep -q pam_utmpcd "$root/etc/pam.d/common-auth" || fail "not enabled again"

# ---- Purge: nothing left but the system users ----
in_root 'apt-get purge -y -q utmpcd utmpc utmpsd libpam-utmpcd' >"$tmp/purge.log" 2>&1 ||
  fail "apt-get purge: $(tail -20 "$tmp/purge.log")"
snapshot >"$tmp/after"
# Debian keeps system users (and their groups) on purge; the passwd files themselves change.
left=$(comm -13 "$tmp/before" "$tmp/after" | grep -vE '^\./etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$' || true)
gone=$(comm -23 "$tmp/before" "$tmp/after" || true)
[[ -z $left ]] || fail "purge left behind: $left"
[[ -z $gone ]] || fail "install and purge removed: $gone"
pam_stack | cmp -s - "$tmp/pam.before" || fail "the PAM stack is not as before: $(grep -l pam_utmpcd "$root"/etc/pam.d/common-*)"
echo PASS
