#!/usr/bin/env bash
# bash completion (dist/bash-completion/utmpc) as bash runs it: COMP_WORDS and COMP_CWORD set as
# for a Tab after the words, the completion function called, COMPREPLY checked. utmpc's
# commands; a command's options as its --help lists them; @NAME from the hosts and groups of
# utmpc's configuration ($UTMPC_CONFIG); files after -f; utmpcd's and utmpsd's options.
# Environment: UTMPC, UTMPCD, UTMPSD, UTMPCD_SOURCE_DIR. Exit status: 0 pass, 1 fail.
set -uo pipefail
: "${UTMPC:?}" "${UTMPCD:?}" "${UTMPSD:?}" "${UTMPCD_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*" >&2; status=1; }

# The programs under their own names, as installed.
mkdir "$tmp/bin"
ln -s "$UTMPC" "$tmp/bin/utmpc"
ln -s "$UTMPCD" "$tmp/bin/utmpcd"
ln -s "$UTMPSD" "$tmp/bin/utmpsd"
PATH=$tmp/bin:$PATH
cat >"$tmp/config.toml" <<'TOML'
[hosts]
web1 = "192.0.2.1"
web2 = "192.0.2.2"
db1 = "192.0.2.3:4310"
[groups]
prod = ["web1", "db1"]
TOML
chmod 600 "$tmp/config.toml"
export UTMPC_CONFIG=$tmp/config.toml
mkdir "$tmp/files" && touch "$tmp/files/wtmp.1" "$tmp/files/wtmp.2"
# shellcheck source=../../dist/bash-completion/utmpc
source "$UTMPCD_SOURCE_DIR/dist/bash-completion/utmpc"

# Completes the last word of "$@" with the function `complete` registered for "$1".
completes() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  local spec function
  spec=$(complete -p "$1") || { echo "no completion for $1"; return; }
  function=$(sed -n 's/.*-F \([^ ]*\) .*/\1/p' <<<"$spec")
  "$function" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {  # WANT WORDS...
  local want=$1 got
  shift
  got=$(completes "$@")
  [[ $got == "$want" ]] || fail "utmpc completion of '$*': '$got', not '$want'"
}

expect "last lastb lastlog lastlog2" utmpc la
expect "w watch who wtmpdb" utmpc w
expect "last" utmpc wtmpdb l
expect "@web1 @web2" utmpc who @we
expect "@db1 @prod @web1 @web2" utmpc last @
expect "@prod" utmpc last alice @p
expect "--fullnames --fulltimes" utmpc last --fu
expect "--database --dns" utmpc last --d
expect "--active" utmpc lastlog2 --ac
expect "--hostlast" utmpc wtmpdb last --host
expect "$tmp/files/wtmp.1 $tmp/files/wtmp.2" utmpc last -f "$tmp/files/wtmp."
expect "--history-source" utmpcd --history
expect "--journal-directory" utmpcd --journal-d
expect "$tmp/files/wtmp.1 $tmp/files/wtmp.2" utmpcd --wtmpdb "$tmp/files/wt"
# Every option the completion offers for a command is one the command takes (its --help).
for command in last lastb who lastlog lastlog2 dump ping summary discover w uptime watch; do
  offered=$(completes utmpc "$command" --)
  [[ $(wc -w <<<"$offered") -ge 1 ]] || fail "no options offered for utmpc $command"
  for option in $offered; do
    utmpc "$command" --help 2>&1 | grep -q -- "$option" || fail "utmpc $command: $option offered"
  done
done
# A configuration with a mistake: nothing offered, nothing printed.
echo 'hosts = [' >"$tmp/config.toml"
[[ -z $(completes utmpc who @) ]] || fail "a broken configuration offered hosts"
[[ $status == 0 ]] && echo PASS
exit $status
