#!/usr/bin/env bash
# Port 431's HTTP API as a user meets it: a real utmpcd on temporary files, queried with curl,
# answers checked with jq. The history pages must hold exactly the sessions `utmpc last --json`
# lists for the same wtmp (utmpc last is byte-identical to util-linux last: see
# tests/differential), failed logins exactly what `utmpc lastb --json` lists.
# Environment: UTMPCD, UTMPC, WTMPGEN. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPC:?}" "${WTMPGEN:?}"
command -v curl >/dev/null && command -v jq >/dev/null || { echo "needs curl and jq"; exit 77; }

tmp=$(mktemp -d)
daemon_pid=
daemon2_pid=
leader_pid=
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [[ -n $daemon2_pid ]] && kill "$daemon2_pid" 2>/dev/null && wait "$daemon2_pid" 2>/dev/null
  [[ -n $leader_pid ]] && kill "$leader_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export TZ=UTC LC_ALL=C

"$WTMPGEN" --seed 41 --records 3000 -o "$tmp/wtmp"
"$WTMPGEN" --seed 42 --records 400 --kind btmp -o "$tmp/btmp"
# One live session whose leader really runs (a sleep), so it is "logged in", not gone.
sleep 600 &
leader_pid=$!
printf '[7] [%05d] [ts/0] [alice   ] [pts/0       ] [192.0.2.7           ] [192.0.2.7      ] [2026-11-28T10:00:00,000000+00:00]\n' \
  "$leader_pid" | utmpdump -r -o "$tmp/utmp" >/dev/null 2>&1

# Access: 127.0.0.1 gets everything (the checks below ask from there); a token for "ops" gets
# the full tier and one for "monitor" the sessions tier. The tier checks ask from 127.0.0.3,
# which gets what loopback gets by default: history.
cat >"$tmp/utmpcd.toml" <<EOF
[[access]]
networks = ["127.0.0.1"]
tier = "full"
[[access]]
name = "ops"
token_sha256 = "$(printf 'ops-token' | "$UTMPCD" --hash-token)"
tier = "full"
[[access]]
name = "monitor"
token_sha256 = "$(printf 'monitor-token\n' | "$UTMPCD" --hash-token)"
tier = "sessions"
[log]
access = true
EOF
"$UTMPCD" -c "$tmp/utmpcd.toml" --database "$tmp/db/history.db" --wtmp "$tmp/wtmp" --btmp "$tmp/btmp" \
  --utmp "$tmp/utmp" --lastlog /nonexistent --ingest-socket none \
  --http-listen 127.0.0.1:0 --api-socket "$tmp/api.sock" --user root 2>"$tmp/daemon.log" &
daemon_pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/daemon.log")
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || { cat "$tmp/daemon.log"; fail "the daemon did not say where it listens"; }
base="http://127.0.0.1:$port"
get() { curl -sS --max-time 10 "$base$1"; }
status_of() { curl -sS --max-time 10 -o "$tmp/body" -w '%{http_code}' "$@"; }

# /healthz and /v1/host.
[[ $(get /healthz | jq -r .status) == ok ]] || fail "/healthz is not ok"
get /v1/host >"$tmp/host.json"
last_seq=$(sqlite3 "file:$tmp/db/history.db?mode=ro" 'SELECT max(seq) FROM events')
((last_seq > 3000)) || fail "only $last_seq events stored"
jq -e --arg h "$(hostname)" --argjson seq "$last_seq" '.api == 1 and .hostname == $h
    and .sessions == 1 and .users == 1 and .last_seq == $seq and .uptime_s > 0 and (.load | length) == 3
    and (.boot_time_us | type) == "number"' "$tmp/host.json" >/dev/null ||
  fail "/v1/host: $(cat "$tmp/host.json")"

# The same API on the Unix socket, for local clients; anyone local may connect.
[[ $(stat -c %a "$tmp/api.sock") == 666 ]] || fail "api.sock has mode $(stat -c %a "$tmp/api.sock")"
curl -sS --max-time 10 --unix-socket "$tmp/api.sock" http://localhost/v1/sessions |
  jq -e '.sessions[0].user == "alice"' >/dev/null || fail "the Unix socket does not answer"

# /v1/sessions: the one live session, with its filters.
get /v1/sessions >"$tmp/sessions.json"
jq -e --argjson pid "$leader_pid" '.sessions | length == 1 and .[0].user == "alice"
    and .[0].tty == "pts/0" and .[0].pid == $pid and .[0].addr == "192.0.2.7"
    and .[0].login == "2026-11-28T10:00:00+00:00"' "$tmp/sessions.json" >/dev/null ||
  fail "/v1/sessions: $(cat "$tmp/sessions.json")"
[[ $(get '/v1/sessions?user=bob' | jq '.sessions | length') == 0 ]] || fail "user=bob listed a session"
[[ $(get '/v1/sessions?user=bob&user=alice' | jq '.sessions | length') == 1 ]] || fail "user=bob&user=alice"

# Pages through an endpoint with a small limit; prints every entry, one JSON object a line.
all_pages() {  # PATH KEY [QUERY]
  local cursor= page=0
  while :; do
    get "$1?limit=37${3:+&$3}${cursor:+&cursor=$cursor}" >"$tmp/page.json"
    jq -c ".$2[]" "$tmp/page.json"
    cursor=$(jq -r '.next_cursor // empty' "$tmp/page.json")
    [[ -n $cursor ]] || break
    ((++page < 1000)) || fail "$1 pages without end"
  done
}
# The fields the API shares with `utmpc last --json` (which adds "file"; the API adds "seq").
fields='{type, user, tty, host, addr, pid, login, login_time_us, "end": .end, logout, logout_time_us, duration_s}'

all_pages /v1/history sessions | jq -c "$fields" >"$tmp/api_history"
"$UTMPC" last --json -f "$tmp/wtmp" | jq -c ".[] | $fields" >"$tmp/last_history"
[[ $(wc -l <"$tmp/last_history") -gt 500 ]] || fail "the fixture lists too few sessions"
diff "$tmp/last_history" "$tmp/api_history" >"$tmp/diff" ||
  { head -20 "$tmp/diff"; fail "/v1/history differs from utmpc last"; }

# Logout times are exact (issue 12 item 7): each is the time of a record of the file (a logout,
# boot or shutdown), to the microsecond as utmpdump reads it; the duration is in whole seconds
# of the two times, as last counts it (negative across a clock set back, as in the fixture).
utmpdump "$tmp/wtmp" 2>/dev/null |
  jq -R 'capture("\\[(?<d>[0-9-]+T[0-9:]+),(?<u>[0-9]+)\\+00:00\\]$") |
         (.d + "Z" | fromdateiso8601) * 1000000 + (.u | tonumber)' | sort -u >"$tmp/record_times"
jq -r 'select(.logout_time_us != null) | .logout_time_us' "$tmp/api_history" | sort -u >"$tmp/logout_times"
[[ $(wc -l <"$tmp/logout_times") -gt 100 ]] || fail "too few logout times"
comm -23 "$tmp/logout_times" "$tmp/record_times" >"$tmp/not_records"
[[ ! -s $tmp/not_records ]] ||
  fail "logout times that are no record's time: $(head -3 "$tmp/not_records" | tr '\n' ' ')"
jq -e -s 'map(select(.logout_time_us != null)) |
    all((.logout_time_us / 1000000 | floor) - (.login_time_us / 1000000 | floor) == .duration_s)' \
  "$tmp/api_history" >/dev/null || fail "a duration is not the seconds between login and logout"

# A user's sessions: what last lists for that user.
user=$(jq -r 'select(.type == "login") | .user' "$tmp/last_history" | sort | uniq -c | sort -rn |
  awk 'NR == 1 {print $2}')
all_pages /v1/history sessions "user=$user" | jq -c "$fields" >"$tmp/api_user"
jq -c --arg u "$user" 'select(.user == $u)' "$tmp/last_history" >"$tmp/last_user"
[[ -s $tmp/last_user ]] || fail "no sessions of $user"
diff "$tmp/last_user" "$tmp/api_user" >/dev/null || fail "/v1/history?user=$user differs"

# A tty's sessions. (A pts: last shows "ftp" or "uucp" for the lines "ftp123" or "uucp1", and
# the filter takes the line as stored.)
tty=$(jq -r 'select(.type == "login") | .tty | select(startswith("pts/"))' "$tmp/last_history" |
  sed -n 1p)
all_pages /v1/history sessions "tty=$(jq -rn --arg t "$tty" '$t | @uri')" | jq -c "$fields" >"$tmp/api_tty"
jq -c --arg t "$tty" 'select(.tty == $t and .type == "login")' "$tmp/last_history" >"$tmp/last_tty"
diff "$tmp/last_tty" "$tmp/api_tty" >/dev/null || fail "/v1/history?tty=$tty differs"

# since/until: exactly the sessions logged in within [since, until).
since=$(jq -s '.[length / 2 | floor].login_time_us / 1000000 | floor' "$tmp/last_history")
until=$((since + 86400 * 3))
all_pages /v1/history sessions "since=$since&until=$until" | jq -c "$fields" >"$tmp/api_range"
jq -c --argjson s "$since" --argjson u "$until" \
  'select(.login_time_us >= $s * 1000000 and .login_time_us < $u * 1000000)' \
  "$tmp/last_history" >"$tmp/last_range"
[[ -s $tmp/last_range ]] || fail "no sessions in the range"
diff "$tmp/last_range" "$tmp/api_range" >/dev/null || fail "since/until select other sessions"
since_iso=$(date -u -d "@$since" +%Y-%m-%dT%H:%M:%SZ)
[[ $(get "/v1/history?since=$since_iso&limit=1000" | jq '.sessions | length') -ge 1 ]] ||
  fail "since as RFC 3339 is refused"

# Failed logins: what lastb lists.
all_pages /v1/failed failed | jq -c '{user, tty, host, time_us}' >"$tmp/api_failed"
"$UTMPC" lastb --json -f "$tmp/btmp" |
  jq -c '.[] | {user, tty, host, time_us: .login_time_us}' >"$tmp/lastb"
[[ $(wc -l <"$tmp/lastb") -gt 100 ]] || fail "the btmp fixture lists too few failures"
diff "$tmp/lastb" "$tmp/api_failed" >"$tmp/diff" ||
  { head "$tmp/diff"; fail "/v1/failed differs from utmpc lastb"; }

# lastlog: every user of the user database, root among them.
get '/v1/lastlog?user=root' | jq -e '.lastlog | length == 1 and .[0].uid == 0' >/dev/null ||
  fail "/v1/lastlog?user=root"

# Invalid requests: a status, a code and a message that names the problem.
expect_error() {  # STATUS CODE WORD CURL-ARGS...
  local want=$1 code=$2 word=$3
  shift 3
  local got
  got=$(status_of "$@")
  [[ $got == "$want" ]] || fail "$*: status $got, want $want: $(cat "$tmp/body")"
  jq -e --arg c "$code" --arg w "$word" '.error.code == $c and (.error.message | contains($w))' \
    "$tmp/body" >/dev/null || fail "$*: body $(cat "$tmp/body")"
}
expect_error 400 bad_parameter limit "$base/v1/history?limit=0"
expect_error 400 bad_parameter limit "$base/v1/history?limit=abc"
expect_error 400 bad_parameter limit "$base/v1/history?limit=1001"
expect_error 400 bad_parameter limit "$base/v1/history?limit=5&limit=6"
expect_error 400 bad_parameter cursor "$base/v1/history?cursor=xyz"
expect_error 400 bad_parameter since "$base/v1/history?since=yesterday"
expect_error 400 bad_parameter until "$base/v1/failed?until=2026-13-01T00:00:00Z"
expect_error 400 bad_parameter usr "$base/v1/history?usr=alice"
expect_error 400 bad_parameter verbose "$base/v1/host?verbose=1"
expect_error 400 bad_parameter from "$base/v1/events?from=-3"
expect_error 400 bad_parameter Last-Event-ID -H 'Last-Event-ID: x' "$base/v1/events"
expect_error 404 not_found endpoint "$base/v1/nothing"
expect_error 405 method_not_allowed GET -X DELETE "$base/v1/sessions"
curl -sS -i -X POST "$base/v1/host" | grep -qi '^Allow: GET, HEAD' || fail "405 without Allow"
expect_error 413 body_not_allowed body --data-binary hello -X GET "$base/v1/host"
# DNS rebinding: a page of another name, resolved to 127.0.0.1, read from a browser here. Its
# requests carry its own name as Host; this host's names and addresses are answered.
expect_error 421 misdirected_request localhost -H 'Host: evil.example:431' "$base/v1/sessions"
expect_error 421 misdirected_request localhost -H "Host: $(hostname).evil.example" "$base/v1/host"
# A request whose tier a token gave on its own is no rebinding page's (a page knows no such
# token): it is answered. One that presents a lesser token keeps its address's tier, and the
# check.
[[ $(status_of -H 'Host: evil.example' -H 'Authorization: Bearer ops-token' "$base/v1/sessions") == 200 ]] ||
  fail "a token's request was refused for its Host"
expect_error 421 misdirected_request localhost -H 'Host: evil.example' -H 'Authorization: Bearer monitor-token' "$base/v1/sessions"
for host in "localhost:$port" "$(hostname)" "$(hostname | tr a-z A-Z):431" "127.0.0.1:$port" "[::1]"; do
  [[ $(status_of -H "Host: $host" "$base/v1/sessions") == 200 ]] || fail "Host: $host was refused"
done

# HEAD: the headers of GET, no body.
curl -sS -I "$base/v1/host" >"$tmp/head"
grep -q '^HTTP/1.1 200' "$tmp/head" && grep -qi '^Content-Length: [1-9]' "$tmp/head" ||
  fail "HEAD: $(cat "$tmp/head")"

# Keep-alive: several requests over one connection.
curl -sS -v "$base/healthz" "$base/v1/host" "$base/v1/sessions" -o /dev/null -o /dev/null \
  -o /dev/null 2>"$tmp/verbose"
grep -q 'Re-using existing connection' "$tmp/verbose" || fail "the connection was not kept alive"

# The event stream: from a seq, then the events written while it runs.
curl -sS -N --max-time 4 "$base/v1/events?from=$((last_seq - 2))" >"$tmp/events" 2>/dev/null &
curl_pid=$!
sleep 1
"$WTMPGEN" --seed 43 --records 5 --start 1800000000 -o "$tmp/more"
cat "$tmp/more" >>"$tmp/wtmp"
wait "$curl_pid" || true
new_seq=$(sqlite3 "file:$tmp/db/history.db?mode=ro" 'SELECT max(seq) FROM events')
((new_seq > last_seq)) || fail "the appended records were not stored"
# Event ids are SEQ@HISTORY: the history's id is the database's.
history=$(sqlite3 "file:$tmp/db/history.db?mode=ro" "SELECT value FROM meta WHERE key = 'history_id'")
[[ $history =~ ^[0-9a-f]{16}$ ]] || fail "the history has no id: $history"
ids=$(sed -n '3,$s/^id: //p' "$tmp/events" | tr '\n' ' ')
want=$(seq $((last_seq - 2)) "$new_seq" | sed "s/\$/@$history/" | tr '\n' ' ')
[[ $ids == "$want" ]] || fail "event ids: $ids, want $want"
grep -q '^retry: ' "$tmp/events" || fail "the stream does not say how to retry"
# It opens with its resume point: an id with no data, the seq before the first event.
[[ $(sed -n 2p "$tmp/events") == "id: $((last_seq - 3))@$history" ]] ||
  fail "the stream does not open with its resume point: $(head -4 "$tmp/events")"
sed -n 's/^data: //p' "$tmp/events" | jq -e -s --argjson n $((new_seq - last_seq + 3)) 'length == $n and all(.[]; .seq > 0 and (.kind | type) == "string")' >/dev/null ||
  fail "event data is not valid JSON"
# Resuming after the last id seen: only what came after it.
curl -sS -N --max-time 2 -H "Last-Event-ID: $((new_seq - 2))@$history" "$base/v1/events" >"$tmp/resumed" 2>/dev/null || true
ids=$(sed -n '3,$s/^id: //p' "$tmp/resumed" | tr '\n' ' ')
[[ $ids == "$((new_seq - 1))@$history $new_seq@$history " ]] || fail "resumed ids: $ids"
# An id of another history is answered with "event: reset", not a silent resume.
curl -sS -N --max-time 2 -H "Last-Event-ID: 3@0123456789abcdef" "$base/v1/events" >"$tmp/foreign" 2>/dev/null || true
grep -q '^event: reset$' "$tmp/foreign" || fail "a foreign id is not answered with a reset: $(head -5 "$tmp/foreign")"
sed -n 's/^data: //p' "$tmp/foreign" | jq -e --arg h "$history" --argjson n "$new_seq" \
  '.reason == "foreign" and .history == $h and .last_seq == $n' >/dev/null ||
  fail "the reset does not say why and where the stream goes on"

# --- Access tiers ---------------------------------------------------------------------------
# From 127.0.0.3: loopback's default tier, history. The answer says which tier is needed.
from3() { curl -sS --max-time 10 --interface 127.0.0.3 -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@"; }
[[ $(from3 "$base/v1/host") == 200 ]] || fail "/v1/host refused to loopback"
[[ $(from3 "$base/v1/history?limit=1") == 200 ]] || fail "/v1/history refused to loopback"
[[ $(from3 "$base/v1/failed") == 401 ]] || fail "/v1/failed without a credential: $(cat "$tmp/body")"
jq -e '.error.code == "unauthorized" and (.error.message | test("full tier"))' "$tmp/body" >/dev/null ||
  fail "the 401 does not say which tier: $(cat "$tmp/body")"
grep -qi '^WWW-Authenticate: Bearer' "$tmp/head" || fail "the 401 does not ask for a bearer token"
# The full tier's token opens /v1/failed. The sessions tier's token is good (loopback keeps its
# history tier with it), but too little for /v1/failed: 403, not 401.
[[ $(from3 -H 'Authorization: Bearer ops-token' "$base/v1/failed?limit=1") == 200 ]] ||
  fail "the ops token is refused /v1/failed: $(cat "$tmp/body")"
[[ $(from3 -H 'Authorization: Bearer monitor-token' "$base/v1/history?limit=1") == 200 ]] ||
  fail "the monitor token from loopback is refused /v1/history: $(cat "$tmp/body")"
[[ $(from3 -H 'Authorization: Bearer monitor-token' "$base/v1/failed") == 403 ]] ||
  fail "the monitor token (sessions tier) got /v1/failed: $(cat "$tmp/body")"
jq -e '.error.code == "forbidden" and (.error.message | test("full tier"))' "$tmp/body" >/dev/null ||
  fail "the 403 does not say which tier: $(cat "$tmp/body")"
# A token this host does not know is refused everywhere, even where no token is needed.
[[ $(from3 -H 'Authorization: Bearer guess' "$base/v1/host") == 401 ]] || fail "a wrong token was accepted"
[[ $(from3 -H 'Authorization: Basic b3BzOnRva2Vu' "$base/v1/host") == 401 ]] || fail "a Basic credential was accepted"
# The event stream at the history tier carries no failed logins; at full it does.
curl -sS -N --max-time 2 --interface 127.0.0.3 "$base/v1/events?from=1" >"$tmp/ev_history" 2>/dev/null || true
curl -sS -N --max-time 2 --interface 127.0.0.3 -H 'Authorization: Bearer ops-token' \
  "$base/v1/events?from=1" >"$tmp/ev_full" 2>/dev/null || true
grep -q '^event: login$' "$tmp/ev_history" || fail "the history tier's stream has no logins"
grep -q '^event: failed$' "$tmp/ev_history" && fail "the history tier's stream carries failed logins"
grep -q '^event: failed$' "$tmp/ev_full" || fail "the full tier's stream has no failed logins"
# The Unix socket: root gets full, any other user history (as utmp and btmp's modes say).
# utmpc's credential: --token, or $UTMPC_TOKEN, against a second daemon on the same files whose
# rules are the tokens only: loopback (utmpc) has the history tier there, and lastb needs full.
# All but the first rule (127.0.0.1's), and no access log.
sed -e '1,3d' -e '/^\[log\]/,$d' "$tmp/utmpcd.toml" >"$tmp/tokens.toml"
"$UTMPCD" -c "$tmp/tokens.toml" --database "$tmp/db2/history.db" --wtmp "$tmp/wtmp" \
  --btmp "$tmp/btmp" --utmp "$tmp/utmp" --lastlog /nonexistent --ingest-socket none \
  --http-listen 127.0.0.1:0 --user root 2>"$tmp/daemon2.log" &
daemon2_pid=$!
port2=
for _ in $(seq 200); do
  port2=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/daemon2.log")
  [[ -n $port2 ]] && break
  sleep 0.05
done
[[ -n $port2 ]] || { cat "$tmp/daemon2.log" "$tmp/tokens.toml"; fail "the second daemon did not start"; }
if "$UTMPC" lastb "@127.0.0.1:$port2" >/dev/null 2>"$tmp/err"; then fail "lastb without a token was served"; fi
grep -q "HTTP 401.*full tier" "$tmp/err" || fail "lastb without a token: $(cat "$tmp/err")"
"$UTMPC" lastb --token ops-token "@127.0.0.1:$port2" >"$tmp/lastb_token" ||
  fail "lastb --token: $(cat "$tmp/lastb_token")"
UTMPC_TOKEN=ops-token "$UTMPC" lastb "@127.0.0.1:$port2" | cmp -s - "$tmp/lastb_token" ||
  fail "lastb with \$UTMPC_TOKEN differs from lastb --token"
(($(wc -l <"$tmp/lastb_token") > 10)) || fail "lastb --token listed too little"
if "$UTMPC" lastb --token monitor-token "@127.0.0.1:$port2" >/dev/null 2>"$tmp/err"; then
  fail "lastb with the sessions tier's token was served"
fi
grep -q "HTTP 403" "$tmp/err" || fail "lastb with a token that grants too little: $(cat "$tmp/err")"
kill "$daemon2_pid"
wait "$daemon2_pid" 2>/dev/null || true
daemon2_pid=
grep -q 'access:' "$tmp/daemon2.log" && fail "an access log without [log] access = true"

# The access log ([log] access = true): one line per request, with the peer, the rule that gave
# the tier, the tier, the request and the status.
grep -Eq 'access: 127\.0\.0\.3:[0-9]+ rule=- tier=history GET /v1/failed 401$' "$tmp/daemon.log" ||
  fail "no access log line for the refused /v1/failed: $(grep access: "$tmp/daemon.log" | tail -3)"
grep -Eq 'access: 127\.0\.0\.3:[0-9]+ rule=ops tier=full GET /v1/failed\?limit=1 200$' "$tmp/daemon.log" ||
  fail "no access log line naming the ops rule"
grep -Eq 'access: 127\.0\.0\.3:[0-9]+ rule=- tier=refused GET /v1/host 401$' "$tmp/daemon.log" ||
  fail "no access log line for the unknown token"

chmod 755 "$tmp"  # nobody must reach the socket in it
unix_status() { curl -sS --max-time 10 --unix-socket "$tmp/api.sock" -o /dev/null -w '%{http_code}' "http://localhost$1"; }
[[ $(unix_status /v1/failed) == 200 ]] || fail "root on the Unix socket is refused /v1/failed"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups curl -sS --max-time 10 \
  --unix-socket "$tmp/api.sock" -o /dev/null -w '%{http_code}' "http://localhost$1"; }
[[ $(nobody /v1/history) == 200 ]] || fail "nobody on the Unix socket is refused /v1/history"
[[ $(nobody /v1/failed) == 401 ]] || fail "nobody on the Unix socket got /v1/failed"

# SIGHUP applies changed [[access]] rules at once: the ops token, withdrawn, is refused from the
# next request on; the others still work. And the host's names: one added to [http] host_names
# is answered from then on.
[[ $(status_of -H 'Host: alias.example' "$base/v1/sessions") == 421 ]] ||
  fail "a name of no host was answered"
cat >"$tmp/utmpcd.toml" <<EOF
[http]
host_names = ["alias.example"]
[[access]]
networks = ["127.0.0.1"]
tier = "full"
[[access]]
name = "monitor"
token_sha256 = "$(printf 'monitor-token' | "$UTMPCD" --hash-token)"
tier = "sessions"
[log]
access = true
EOF
kill -HUP "$daemon_pid"
for _ in $(seq 100); do
  grep -q 'SIGHUP: configuration reloaded' "$tmp/daemon.log" && break
  sleep 0.05
done
grep -q 'SIGHUP: configuration reloaded' "$tmp/daemon.log" || fail "SIGHUP did not reload"
sleep 0.2  # the API thread takes the rules between two requests
[[ $(from3 -H 'Authorization: Bearer ops-token' "$base/v1/failed") == 401 ]] ||
  fail "the withdrawn ops token still opens /v1/failed: $(cat "$tmp/body")"
[[ $(from3 -H 'Authorization: Bearer monitor-token' "$base/v1/sessions") == 200 ]] ||
  fail "the monitor token stopped working after SIGHUP: $(cat "$tmp/body")"
[[ $(status_of -H 'Host: alias.example' "$base/v1/sessions") == 200 ]] ||
  fail "a name added to [http] host_names was refused after SIGHUP"

echo "PASS: the HTTP API on port $port"
