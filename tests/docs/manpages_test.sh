#!/usr/bin/env bash
# The manual pages as man shows them: each of docs/*.1 *.5 *.8 renders with `man --warnings -l`
# (groff's warnings on) without one warning, at 80 columns; every key the configuration
# parsers accept (each OnlyKeys list of src/utmpcd/config.cc, src/utmpsd/config.cc and the
# [tls] and [[access]] tables of src/net/config_toml.cc) is described in utmpcd.conf(5) or
# utmpsd.conf(5) under its table, and neither page describes a key that is not accepted; every
# argument pam_utmpcd.so takes is in pam_utmpcd(8). (Program options against the pages:
# tests/docs/synopsis_test.sh.)
# Environment: UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail, 77 skip (no man).
set -euo pipefail
: "${UTMPCD_SOURCE_DIR:?}"
command -v man >/dev/null || { echo "needs man (man-db)"; exit 77; }
src=$UTMPCD_SOURCE_DIR
status=0
fail() { echo "FAIL: $*" >&2; status=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pages=("$src"/docs/*.[158])
[[ ${#pages[@]} -ge 6 ]] || fail "only ${#pages[@]} manual pages in docs/"
for page in "${pages[@]}"; do
  name=$(basename "$page")
  MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" >"$tmp/out" 2>"$tmp/err" ||
    fail "$name: man exits $?"
  [[ -s $tmp/err ]] && fail "$name: $(head -5 "$tmp/err")"
  lines=$(wc -l <"$tmp/out")
  ((lines >= 30)) || fail "$name: renders as $lines lines"
  grep -q '^NAME' "$tmp/out" || fail "$name: no NAME section"
done

# keys FILE...: "table key" for each OnlyKeys(..., "table", {"k1", "k2", ...}) of the files
# ("[access]" and "[host]" are the array tables [[access]] and [[host]]).
keys() {
  perl -0777 -ne '
    while (/OnlyKeys\(\s*\w+\s*,\s*"([^"]+)"\s*,\s*\{([^}]*)\}/g) {
      my ($table, $list) = ($1, $2);
      $table = $table =~ /^\[(.*)\]$/ ? "[[$1]]" : "[$table]";
      print "$table $_\n" for $list =~ /"([^"]+)"/g;
    }' "$@" | sort -u
}
# described PAGE: "table key" for each key the page describes: a .BI/.B/.BR line at the start
# of a .TP or .TQ item, under the .SH of its table.
described() {
  awk '
    /^\.SH / { table = $2; gsub(/"/, "", table); next }
    /^\.(TP|TQ)$/ { item = 1; next }
    item && /^\.(BI|B|BR) / { if (table ~ /^\[/) print table, $2; item = 0; next }
    { item = 0 }' "$1" | sort -u
}
check_conf() {  # PAGE SOURCE...
  local page=$1
  shift
  keys "$@" >"$tmp/accepted"
  described "$src/docs/$page" >"$tmp/described"
  [[ $(wc -l <"$tmp/accepted") -ge 15 ]] || fail "$page: only $(wc -l <"$tmp/accepted") keys found in $*"
  missing=$(comm -23 "$tmp/accepted" "$tmp/described" | tr '\n' ';')
  extra=$(comm -13 "$tmp/accepted" "$tmp/described" | tr '\n' ';')
  [[ -z $missing ]] || fail "$page does not describe $missing"
  [[ -z $extra ]] || fail "$page describes $extra, which the parser does not accept"
}
check_conf utmpcd.conf.5 "$src/src/utmpcd/config.cc" "$src/src/net/config_toml.cc"
check_conf utmpsd.conf.5 "$src/src/utmpsd/config.cc" "$src/src/net/config_toml.cc"

# pam_utmpcd.so's arguments: the literals its argument parser compares with.
for arg in $(grep -o 'arg == "[a-z]*"\|"[a-z]*="' "$src/pam/pam_utmpcd.cc" | grep -o '"[a-z=]*"' | tr -d '"' | sort -u); do
  grep -q -- "${arg%=}" "$src/docs/pam_utmpcd.8" || fail "pam_utmpcd(8) does not describe $arg"
done
exit $status
