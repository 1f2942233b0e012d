#!/usr/bin/env bash
# TLS on port 431 as users meet it: a real utmpcd with [tls], asked with curl, openssl s_client
# and utmpc. Certificates are made here by a CA of the test's own. Checks: a good chain is
# accepted (by name and by IP address); an untrusted, expired or wrong-name certificate is
# refused by the clients, saying why; TLS below 1.2 is refused; sessions resume; plain HTTP is
# refused except from [tls] plaintext_from; mutual TLS maps a client certificate's subject to
# its [[access]] tier and refuses one from another CA; a renewed certificate is served after
# SIGHUP while an event stream opened before goes on, and a broken one keeps the old.
# Environment: UTMPCD, UTMPC. Exit status: 0 pass, 1 fail, 77 skip.
set -euo pipefail
: "${UTMPCD:?}" "${UTMPC:?}"
for tool in curl jq openssl utmpdump; do
  command -v "$tool" >/dev/null || { echo "needs $tool"; exit 77; }
done

tmp=$(mktemp -d)
daemon_pid=
stream_pid=
watch_pid=
cleanup() {
  [[ -n $stream_pid ]] && kill "$stream_pid" 2>/dev/null
  [[ -n $watch_pid ]] && kill "$watch_pid" 2>/dev/null
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $tmp/daemon.log ]] && tail -5 "$tmp/daemon.log" >&2; exit 1; }
export TZ=UTC LC_ALL=C
cd "$tmp"

# ---- Certificates (ECDSA P-256) ----
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# sign NAME SUBJECT CA DAYS [SAN]: NAME.pem and NAME.key, signed by CA.pem/CA.key.
sign() {
  local name=$1 subject=$2 ca=$3 days=$4 san=${5:-}
  key "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
  if [[ -n $san ]]; then printf 'subjectAltName=%s\n' "$san" >"$name.ext"; else : >"$name.ext"; fi
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial \
    -days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
}
for ca in ca rogue; do
  key "$ca.key"
  openssl req -x509 -new -key "$ca.key" -subj "/CN=utmpcd test $ca" -days 2 -out "$ca.pem" 2>/dev/null
done
names='DNS:localhost,IP:127.0.0.1'
sign server /CN=localhost ca 2 "$names"
sign renewed /CN=localhost ca 2 "$names"
sign wrongname /CN=other.example ca 2 'DNS:other.example'
sign expired /CN=localhost ca -1 "$names"
sign client "/O=Example/CN=utmpsd.test" ca 2
sign viewer /CN=viewer ca 2
sign intruder "/O=Example/CN=utmpsd.test" rogue 2
serial() { openssl x509 -noout -serial -in "$1"; }

# ---- Records: alice logged in and out, a failed login of mallory ----
line() {  # TYPE PID TTY USER HOST TIME
  printf '[%s] [%05d] [ts/0] [%-8s] [%-12s] [%-20s] [%-15s] [%s]\n' "$1" "$2" "$4" "$3" "$5" "$5" "$6"
}
{ line 7 101 pts/0 alice 192.0.2.7 2026-11-28T10:00:00,000000+00:00
  line 8 101 pts/0 '' '' 2026-11-28T11:00:00,000000+00:00; } | utmpdump -r -o wtmp >/dev/null 2>&1
line 6 0 ssh:notty mallory 198.51.100.9 2026-11-28T12:00:00,000000+00:00 |
  utmpdump -r -o btmp >/dev/null 2>&1

mkdir tls
cp server.pem tls/cert.pem
cp server.key tls/key.pem
cat >utmpcd.toml <<CONF
[tls]
certificate = "$tmp/tls/cert.pem"
key = "$tmp/tls/key.pem"
client_ca = "$tmp/ca.pem"
plaintext_from = ["127.0.0.2"]
[http]
max_connections = 8
[[access]]
client_subject = "CN=utmpsd.test,O=Example"
name = "fleet"
tier = "full"
CONF
"$UTMPCD" -c utmpcd.toml --database "$tmp/db/history.db" --wtmp wtmp --btmp btmp \
  --utmp /nonexistent --lastlog /nonexistent --ingest-socket none --udp-listen none \
  --http-listen 127.0.0.1:0 --api-socket none --user root 2>daemon.log &
daemon_pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/.*HTTP API on 127\.0\.0\.1:\([0-9]*\).*/\1/p' daemon.log)
  [[ -n $port ]] && break
  sleep 0.05
done
[[ -n $port ]] || fail "the daemon did not say where it listens"
https="https://localhost:$port"
tls_curl() { curl -sS --max-time 10 --cacert ca.pem "$@"; }
code() { curl -sS --max-time 10 -o body -w '%{http_code}' "$@" 2>/dev/null || true; }
# refused WHY CURL-ARGS...: curl fails, and its error says WHY (an extended regex).
refused() {
  local why=$1
  shift
  if curl -sS --max-time 10 -o /dev/null "$@" 2>curl.err; then fail "curl $* was answered"; fi
  grep -Eq "$why" curl.err || fail "curl $*: $(cat curl.err), not: $why"
}
for _ in $(seq 100); do  # until the records are stored
  tls_curl "$https/v1/history" 2>/dev/null | jq -e '.sessions | length == 1' >/dev/null && break
  sleep 0.1
done

# ---- A good chain, by name and by address ----
[[ $(tls_curl "$https/v1/host" | jq -r .hostname) == "$(hostname)" ]] || fail "https by name"
[[ $(tls_curl "https://127.0.0.1:$port/v1/host" | jq -r .api) == 1 ]] || fail "https by address"
out=$(openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile ca.pem \
  -verify_return_error </dev/null 2>&1) || fail "openssl s_client: $out"
grep -q 'Verify return code: 0 (ok)' <<<"$out" || fail "s_client did not verify the chain"
grep -q '^New, TLSv1.3' <<<"$out" || fail "not TLS 1.3 by default: $(grep '^New' <<<"$out")"

# ---- Refused: untrusted, below TLS 1.2 ----
refused 'self-signed certificate in certificate chain' "$https/v1/host"
out=$("$UTMPC" who "$https" 2>&1) && fail "utmpc trusted an unknown CA"
grep -q "utmpc who: $https: TLS: self-signed certificate in certificate chain" <<<"$out" ||
  fail "utmpc does not say why it refused the host: $out"
out=$(openssl s_client -connect "127.0.0.1:$port" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
  </dev/null 2>&1) && fail "TLS 1.1 was accepted"
grep -q 'alert protocol version' <<<"$out" || fail "TLS 1.1: $out"

# ---- Resumption (TLS 1.2: the session id or ticket of the first connection) ----
openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile ca.pem -tls1_2 \
  -sess_out session </dev/null 2>/dev/null | grep -q '^New, TLSv1.2' || fail "no TLS 1.2 session"
openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile ca.pem -tls1_2 \
  -sess_in session </dev/null 2>/dev/null | grep -q '^Reused, TLSv1.2' || fail "the session was not resumed"

# ---- Plain HTTP: only from plaintext_from ----
[[ $(code "http://127.0.0.1:$port/v1/host") == 400 ]] || fail "plain HTTP from 127.0.0.1 was served"
jq -e '.error.code == "tls_required" and (.error.message | test("https://"))' body >/dev/null ||
  fail "the plain refusal does not say to use https: $(cat body)"
[[ $(code --interface 127.0.0.2 "http://127.0.0.1:$port/v1/host") == 200 ]] ||
  fail "plain HTTP from plaintext_from (127.0.0.2) was refused"
out=$("$UTMPC" last "@127.0.0.1:$port" 2>&1) && fail "utmpc got an answer in plain HTTP"
grep -q 'HTTP 400: .*https://' <<<"$out" || fail "utmpc over plain HTTP: $out"

# ---- Mutual TLS: the client certificate's subject gives its tier ----
[[ $(code --cacert ca.pem "$https/v1/failed") == 401 ]] || fail "/v1/failed without a certificate"
jq -e '.error.message | test("client certificate")' body >/dev/null ||
  fail "the 401 does not name a client certificate: $(cat body)"
tls_curl --cert client.pem --key client.key "$https/v1/failed" |
  jq -e '[.failed[].user] == ["mallory"]' >/dev/null || fail "the fleet certificate is not full"
# A good certificate that no rule names: what loopback gets (history), and a 403 beyond it.
[[ $(code --cacert ca.pem --cert viewer.pem --key viewer.key "$https/v1/failed") == 403 ]] ||
  fail "the viewer certificate got /v1/failed"
jq -e '.error.message | test("the certificate of CN=viewer has history")' body >/dev/null ||
  fail "the 403 does not name the certificate and its tier: $(cat body)"
refused 'alert unknown ca' --cacert ca.pem --cert intruder.pem --key intruder.key "$https/v1/host"
"$UTMPC" lastb "$https" --cacert ca.pem --cert client.pem --key client.key >lastb.txt ||
  fail "utmpc lastb with a client certificate: $(cat lastb.txt)"
grep -q "^$https  *mallory  *ssh:notty " lastb.txt || fail "utmpc lastb over mutual TLS: $(cat lastb.txt)"
out=$("$UTMPC" lastb "$https" --cacert ca.pem 2>&1) && fail "utmpc lastb without a certificate"
grep -q "utmpc lastb: $https: HTTP 401: /v1/failed needs the full tier" <<<"$out" ||
  fail "utmpc does not say which tier it needs: $out"
"$UTMPC" last --tls "@localhost:$port" --cacert ca.pem >last.txt 2>&1 || fail "utmpc last --tls: $(cat last.txt)"
grep -q "^localhost:$port  *alice  *pts/0 " last.txt || fail "utmpc last --tls @HOST: $(cat last.txt)"
"$UTMPC" who "https://127.0.0.1:$port" --cacert ca.pem >who.txt 2>&1 || fail "utmpc by address: $(cat who.txt)"

# A configuration file: a CA, a host by a short name, a group of it and another.
cat >utmpc.toml <<CONF
cacert = "$tmp/ca.pem"
cert = "$tmp/client.pem"
key = "$tmp/client.key"
[hosts]
here = "https://localhost:$port"
[groups]
both = ["here", "https://127.0.0.1:$port"]
CONF
UTMPC_CONFIG=utmpc.toml "$UTMPC" lastb @both >lastb2.txt 2>&1 || fail "utmpc lastb @both: $(cat lastb2.txt)"
grep -q '^here  *mallory ' lastb2.txt && grep -q "^https://127.0.0.1:$port  *mallory " lastb2.txt ||
  fail "the group did not ask both hosts with the file's credentials: $(cat lastb2.txt)"
# Credentials of one host: only [hosts.mine] has the client certificate, so @mine gets the
# failed logins and the same address named plainly (no certificate of its own) is refused.
cat >utmpc3.toml <<CONF
cacert = "$tmp/ca.pem"
[hosts.mine]
url = "https://localhost:$port"
cert = "$tmp/client.pem"
key = "$tmp/client.key"
[groups]
two = ["mine", "https://localhost:$port"]
CONF
out=$(UTMPC_CONFIG=utmpc3.toml "$UTMPC" lastb @two 2>&1) && fail "a host without a certificate was answered: $out"
grep -q '^mine  *mallory ' <<<"$out" || fail "the host's own certificate was not used: $out"
grep -q "https://localhost:$port: HTTP 401" <<<"$out" || fail "the other host was not refused: $out"
# The command line's credentials are every host's: --cert for all.
UTMPC_CONFIG=utmpc3.toml "$UTMPC" lastb @two --cert client.pem --key client.key >lastb3.txt 2>&1 ||
  fail "--cert did not apply to every host: $(cat lastb3.txt)"
# A token in a file others may read is refused, as ssh refuses such a key.
{ printf 'token = "secret"\n'; cat utmpc.toml; } >utmpc2.toml
chmod 644 utmpc2.toml
out=$(UTMPC_CONFIG=utmpc2.toml "$UTMPC" who @here 2>&1) && fail "a world-readable token was used"
grep -q "holds a token and others may read it" <<<"$out" || fail "token file: $out"

# A resumed session keeps its client certificate's tier.
request='GET /v1/failed HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
printf "$request" | openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile ca.pem \
  -tls1_2 -cert client.pem -key client.key -sess_out mtls -ign_eof >first 2>&1 || true
grep -q '^HTTP/1.1 200' first || fail "mutual TLS over s_client: $(grep -E '^HTTP|error' first)"
printf "$request" | openssl s_client -connect "127.0.0.1:$port" -servername localhost -CAfile ca.pem \
  -tls1_2 -sess_in mtls -ign_eof >resumed 2>&1 || true
grep -q '^Reused, TLSv1.2' resumed || fail "the mutual TLS session was not resumed"
grep -q '^HTTP/1.1 200' resumed || fail "a resumed session lost its certificate's tier: $(grep '^HTTP' resumed)"

# Connections that never send a byte (nor finish a handshake) are the first to go when the
# server is full (max_connections = 8): they do not lock the others out.
silent=()
for _ in $(seq 12); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port"
  silent+=("$fd")
done
sleep 0.2
[[ $(tls_curl "$https/v1/host" | jq -r .api) == 1 ]] || fail "12 silent connections locked a client out"
for fd in "${silent[@]}"; do exec {fd}>&-; done

# ---- SIGHUP: a renewed certificate; an open stream goes on ----
curl -sS -N --max-time 20 --cacert ca.pem "$https/v1/events" >stream 2>/dev/null &
stream_pid=$!
"$UTMPC" watch "$https" --cacert ca.pem >watch.txt 2>&1 &
watch_pid=$!
for _ in $(seq 100); do grep -q '^retry:' stream && break; sleep 0.05; done
grep -q '^retry:' stream || fail "the event stream did not open"
served() {
  openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -serial
}
# serve NAME: NAME.pem and NAME.key replace the files, SIGHUP, until NAME is what is served.
serve() {
  cp "$1.pem" tls/cert.pem
  cp "$1.key" tls/key.pem
  kill -HUP "$daemon_pid"
  for _ in $(seq 100); do [[ $(served) == "$(serial "$1.pem")" ]] && return; sleep 0.05; done
  fail "$1.pem is not served after SIGHUP"
}
[[ $(served) == "$(serial server.pem)" ]] || fail "not serving the first certificate"
serve renewed
grep -q 'SIGHUP: TLS certificate and key reloaded' daemon.log || fail "the reload was not logged"
line 7 102 pts/1 carol 192.0.2.8 2026-11-28T13:00:00,000000+00:00 | utmpdump -r >>wtmp 2>/dev/null
for _ in $(seq 100); do grep -q '"user":"carol"' stream && break; sleep 0.05; done
grep -q '"user":"carol"' stream || fail "the stream opened before the reload stopped: $(cat stream)"
for _ in $(seq 100); do grep -q 'carol' watch.txt && break; sleep 0.05; done
grep -q 'carol' watch.txt || fail "utmpc watch over TLS did not show the login: $(cat watch.txt)"
kill "$watch_pid"
watch_pid=

# A broken certificate keeps the one served, and says why.
echo 'not a certificate' >tls/cert.pem
kill -HUP "$daemon_pid"
for _ in $(seq 100); do grep -q 'keeping the TLS certificate served' daemon.log && break; sleep 0.05; done
grep -q "keeping the TLS certificate served: certificate $tmp/tls/cert.pem" daemon.log ||
  fail "a broken certificate was not reported"
[[ $(served) == "$(serial renewed.pem)" ]] || fail "a broken certificate replaced the good one"

# ---- Refused by the clients: a wrong name, an expired certificate ----
serve wrongname
refused 'no alternative certificate subject name matches' --cacert ca.pem "$https/v1/host"
# Clients that drop the connection in the handshake, as those did, cost the daemon nothing (it
# once died of SIGPIPE writing its last records to them).
for _ in $(seq 10); do
  curl -sS --max-time 5 --cacert ca.pem -o /dev/null "$https/v1/host" 2>/dev/null || true
done
kill -0 "$daemon_pid" || fail "the daemon died of clients that left in the handshake"
out=$("$UTMPC" who "$https" --cacert ca.pem 2>&1) && fail "utmpc accepted a wrong-name certificate"
grep -q 'TLS: hostname mismatch' <<<"$out" || fail "wrong name: $out"
# Asked by address, the address must be the certificate's: this one names none.
out=$("$UTMPC" who "https://127.0.0.1:$port" --cacert ca.pem 2>&1) && fail "utmpc accepted a certificate without the address"
grep -q 'TLS: IP address mismatch' <<<"$out" || fail "wrong address: $out"
serve expired
refused 'certificate has expired' --cacert ca.pem "$https/v1/host"
out=$("$UTMPC" who "$https" --cacert ca.pem 2>&1) && fail "utmpc accepted an expired certificate"
grep -q 'TLS: certificate has expired' <<<"$out" || fail "expired: $out"

kill -0 "$daemon_pid" || fail "the daemon died"

# ---- A daemon whose user could not read its TLS files again says so at start ----
# (SIGHUP reads them as that user: a renewed certificate would otherwise fail only at renewal.)
"$UTMPCD" -c utmpcd.toml --database "$tmp/db2/history.db" --wtmp wtmp --btmp btmp \
  --utmp /nonexistent --lastlog /nonexistent --ingest-socket none --udp-listen none \
  --http-listen 127.0.0.1:0 --api-socket none --user nobody 2>daemon2.log &
second_pid=$!
for _ in $(seq 200); do grep -q 'HTTP API on' daemon2.log && break; sleep 0.05; done
kill "$second_pid"
wait "$second_pid" 2>/dev/null || true
grep -q "SIGHUP could not read it again" daemon2.log ||
  fail "unreadable TLS files were not reported: $(cat daemon2.log)"
echo "PASS"
