#!/usr/bin/env bash
# utmpc last --color: rows of sessions that ended in a crash or are gone are red (still on:
# green; a wtmp file cannot hold one here, as last asks the kernel whether its leader is the
# user's login: tests/utmpc/last_color_test.cc), and with the escapes taken out every byte is
# what `utmpc last` prints without colour. --color=auto (the default) colours only a terminal (script(1) gives it one), never
# with NO_COLOR set or TERM=dumb; --color=always colours a pipe too, --color=never nothing;
# another value is a usage error.
# Environment: UTMPC, WTMPGEN. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPC:?}" "${WTMPGEN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export TZ=UTC LC_ALL=C TERM=xterm
unset NO_COLOR
cd "$tmp"
"$WTMPGEN" --seed 5 --records 2000 -o wtmp

esc=$'\033'
strip() { sed "s/$esc\\[[0-9;]*m//g"; }
"$UTMPC" last -f wtmp >plain
"$UTMPC" last -f wtmp --color=always >colored
grep -q "crash" plain || fail "the fixture has no crash"
strip <colored | cmp - plain || fail "--color=always changed the text"
# Each coloured row: its colour, the row, the reset just before the newline.
red=$(grep -c "^$esc\\[31m.*\\(crash\\|gone\\).*$esc\\[0m\$" colored || true)
[[ $red == $(grep -c "crash\\|gone" plain) ]] || fail "$red of $(grep -c 'crash\|gone' plain) crashed or gone rows are red"
[[ $(grep -c "$esc" colored) == "$red" ]] || fail "other rows are coloured"

# The same for the wide and ISO formats (the general row path, not the fast one).
for opts in "-w" "--time-format iso" "-a -i"; do
  "$UTMPC" last -f wtmp $opts >p2
  "$UTMPC" last -f wtmp $opts --color >c2  # --color alone: always
  strip <c2 | cmp - p2 || fail "--color $opts changed the text"
  grep -q "$esc\\[31m" c2 || fail "--color $opts: nothing red"
done

# auto: a pipe gets none, whatever NO_COLOR says; always wins over NO_COLOR. (auto on a
# terminal, with NO_COLOR and TERM=dumb: tests/utmpc/last_color_test.cc, on a pseudo-terminal.)
# (Each listing to a file first: grep -q on a pipe would stop utmpc with SIGPIPE, a failure
# under pipefail.)
"$UTMPC" last -f wtmp --color=auto >auto
grep -q "$esc" auto && fail "--color=auto coloured a pipe"
"$UTMPC" last -f wtmp >default
grep -q "$esc" default && fail "the default coloured a pipe"
NO_COLOR=1 "$UTMPC" last -f wtmp --color=always >always
grep -q "$esc" always || fail "--color=always lost to NO_COLOR"
"$UTMPC" last -f wtmp --color=never >never
grep -q "$esc" never && fail "--color=never coloured"

# The two-process listing of a big file (its older half written by another process) is
# coloured as the one-process one.
UTMPC_SPLIT_RECORDS=100 "$UTMPC" last -f wtmp --color=always >split
cmp -s split colored || fail "the split listing is coloured otherwise"

# A wrong value: usage error, exit 1, as util-linux's options are.
if "$UTMPC" last -f wtmp --color=sometimes >out 2>err; then fail "--color=sometimes accepted"; fi
grep -q "auto, always or never" err || fail "--color=sometimes: $(cat err)"
echo PASS
