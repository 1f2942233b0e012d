#!/usr/bin/env bash
# The synopses a user reads name the options the programs take (issue 12 item 15): every long
# option utmpcd --help lists is in the README's utmpcd synopsis and in utmpcd(8)'s SYNOPSIS, and
# neither names an option utmpcd does not take; every long option of each utmpc command's --help
# is described in utmpc(1).
# Environment: UTMPCD, UTMPC, UTMPCD_SOURCE_DIR, UTMPCD_VERSION. Exit status: 0 pass, 1 fail.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPC:?}" "${UTMPCD_SOURCE_DIR:?}"
fail() { echo "FAIL: $*" >&2; status=1; }
status=0
src=$UTMPCD_SOURCE_DIR

long_options() { grep -o -- '--[a-z][a-z-]*' | sort -u; }

# utmpcd: --help against the README block under "## utmpcd" and the man page's SYNOPSIS.
"$UTMPCD" --help | long_options >/tmp/synopsis.$$.help
awk '/^## utmpcd/ {on = 1} on && /^```sh/ {n++; next} on && n == 1 && /^```/ {exit} on && n == 1' \
  "$src/README.md" | long_options >/tmp/synopsis.$$.readme
sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$src/docs/utmpcd.8" | sed 's/\\-/-/g' |
  long_options >/tmp/synopsis.$$.man
trap 'rm -f /tmp/synopsis.$$.*' EXIT
[[ $(wc -l </tmp/synopsis.$$.help) -ge 10 ]] || fail "utmpcd --help lists too few options"
for where in readme man; do
  missing=$(comm -23 /tmp/synopsis.$$.help /tmp/synopsis.$$.$where | tr '\n' ' ')
  extra=$(comm -13 /tmp/synopsis.$$.help /tmp/synopsis.$$.$where | tr '\n' ' ')
  [[ -z $missing ]] || fail "the $where synopsis of utmpcd lacks $missing"
  [[ -z $extra ]] || fail "the $where synopsis of utmpcd names $extra, which utmpcd does not take"
done

# utmpsd: the same, against "## utmpsd" and utmpsd(8).
if [[ -n ${UTMPSD:-} ]]; then
  "$UTMPSD" --help | long_options >/tmp/synopsis.$$.help
  awk '/^## utmpsd/ {on = 1} on && /^```sh/ {n++; next} on && n == 1 && /^```/ {exit} on && n == 1' \
    "$src/README.md" | long_options >/tmp/synopsis.$$.readme
  sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$src/docs/utmpsd.8" | sed 's/\\-/-/g' |
    long_options >/tmp/synopsis.$$.man
  [[ $(wc -l </tmp/synopsis.$$.help) -ge 8 ]] || fail "utmpsd --help lists too few options"
  for where in readme man; do
    missing=$(comm -23 /tmp/synopsis.$$.help /tmp/synopsis.$$.$where | tr '\n' ' ')
    extra=$(comm -13 /tmp/synopsis.$$.help /tmp/synopsis.$$.$where | tr '\n' ' ')
    [[ -z $missing ]] || fail "the $where synopsis of utmpsd lacks $missing"
    [[ -z $extra ]] || fail "the $where synopsis of utmpsd names $extra, which utmpsd does not take"
  done
fi

# utmpc: each command's long options are in its manual.
man_text=$(sed 's/\\-/-/g' "$src/docs/utmpc.1")
for command in last lastb who lastlog dump wtmpdb lastlog2 ping summary discover w uptime watch; do
  while read -r option; do
    [[ $option == --help ]] && continue
    grep -q -- "$option" <<<"$man_text" || fail "utmpc.1 does not describe utmpc $command $option"
  done < <("$UTMPC" "$command" --help 2>&1 | long_options)
done
# One version everywhere: CMake's project(VERSION), which the programs and manuals name.
if [[ -n ${UTMPCD_VERSION:-} ]]; then
  [[ $("$UTMPCD" --version) == "utmpcd $UTMPCD_VERSION" ]] || fail "utmpcd --version: $("$UTMPCD" --version)"
  [[ $("$UTMPC" --version) == "utmpc $UTMPCD_VERSION" ]] || fail "utmpc --version: $("$UTMPC" --version)"
  [[ -z ${UTMPSD:-} || $("$UTMPSD" --version) == "utmpsd $UTMPCD_VERSION" ]] ||
    fail "utmpsd --version: $("$UTMPSD" --version)"
  for page in "$src"/docs/*.[18]; do
    grep -q "^\.TH .*\"utmpcd $UTMPCD_VERSION\"" "$page" || fail "$page is not of version $UTMPCD_VERSION"
  done
fi
exit $status
