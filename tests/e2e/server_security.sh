#!/usr/bin/env bash
# trademl serve against hostile web pages and slow clients, on loopback only: a form that another page
# posts (text/plain, no JSON type) cannot activate a model or cancel a job; a foreign Origin is refused;
# a Host that is not ours (DNS rebinding) gets 421 unless named in server.allowed_hosts; a declared
# body over the limit gets 413 at once; the bearer scheme is case-insensitive; server.auth_reads makes
# reads need the token while /health stays open and shows no absolute path; 512 half-open connections
# neither make /health unreachable or slow (median under 100 ms, none over 1 s, no failure) nor outlive
# server.idle_timeout.
source "$(dirname "$0")/lib/common.sh"
source "$SRC/tests/e2e/lib/server.sh"

# A small, plausible candle file made here: 400 15-minute candles from 2024-01-01.
python3 - >"$WORK/candles.csv" <<'PY'
t0 = 1704067200000
print("timestamp,open,high,low,close,volume")
p = 42000.0
for i in range(400):
    o = p; c = p * (1.001 if i % 3 else 0.998); p = c
    print(f"{t0 + i * 900000},{o:.2f},{max(o, c) + 5:.2f},{min(o, c) - 5:.2f},{c:.2f},{10 + i % 7}")
PY
expect_exit 0 "$BIN" data import "$WORK/candles.csv" --symbol BTCUSDT --interval 15m
export TRADEML_SERVER_IDLE_TIMEOUT=8
start_server --no-workers

# ---- cross-site requests ----
api POST /api/training/start '{"symbol":"BTCUSDT","timeframe":"15m"}'
expect_code 201
job=$(jget '["job_id"]')
job_status() { api GET "/api/training/jobs/$job"; jget '["status"]'; }
# What a page elsewhere can send without asking the daemon first (a "simple" request): a form post.
api POST "/api/training/jobs/$job/cancel" 'x=1' -H 'Content-Type: text/plain'
expect_code 415
expect_body "needs the header 'Content-Type: application/json'.*got 'text/plain'"
api POST "/api/training/jobs/$job/cancel" '' -H 'Content-Type: application/x-www-form-urlencoded' -H 'Origin: http://evil.example'
expect_code 403
expect_body "Origin 'http://evil.example'.*server.allowed_hosts"
api POST /api/models/1/activate '{}' -H 'Content-Type: text/plain'
expect_code 415
api POST /api/models/1/activate '' -H 'Content-Type: multipart/form-data; boundary=x'
expect_code 415
[[ $(job_status) == queued ]] || fail "a refused cancel changed job $job: $BODY"
# Body-less POSTs need the type too; with it they reach the handler (404: there is no model 1).
CODE=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST "$BASE/api/models/1/activate")
[[ "$CODE" == 415 ]] || fail "body-less POST without a type: $CODE $(cat "$WORK/resp")"
api POST /api/models/1/activate
expect_code 404
ok "a form post (text/plain, urlencoded, multipart, no type) cannot activate a model or cancel job $job: 415 naming the header"

for o in 'http://evil.example' 'null' "http://127.0.0.1:1" 'https://localhost.evil.example' "http://127.0.0.1:$PORT.evil.example"; do
  api POST "/api/training/jobs/$job/cancel" '' -H "Origin: $o"
  [[ "$CODE" == 403 ]] || fail "Origin '$o' was not refused: $CODE $BODY"
done
api DELETE /api/queue '{"symbol":"BTCUSDT"}' -H 'Origin: http://evil.example'
expect_code 403
[[ $(job_status) == queued ]] || fail "a foreign Origin cancelled job $job: $BODY"
for o in "http://127.0.0.1:$PORT" "http://localhost:$PORT" "http://[::1]:$PORT"; do
  api POST /api/models/1/activate '' -H "Origin: $o"
  [[ "$CODE" == 404 ]] || fail "same-daemon Origin '$o' was refused: $CODE $BODY"
done
api POST "/api/training/jobs/$job/cancel" '' -H "Origin: http://127.0.0.1:$PORT"
expect_code 200
[[ $(job_status) == cancelled ]] || fail "the dashboard's own cancel did not cancel job $job: $BODY"
ok "a foreign or null Origin is refused (403) on every mutating route; the daemon's own origins pass"

# ---- DNS rebinding ----
jobs_before=$(api GET /api/training/jobs && jget '["total"]')
for h in 'evil.example:8000' 'evil.example' 'localhost.evil.example' '127.0.0.1.nip.io:8000'; do
  api POST /api/training/start '{"symbol":"BTCUSDT"}' -H "Host: $h"
  [[ "$CODE" == 421 ]] || fail "Host '$h' was not refused: $CODE $BODY"
done
expect_body "add '127.0.0.1.nip.io' to server.allowed_hosts"
api GET /api/models '' -H 'Host: evil.example:8000'
expect_code 421
[[ $(api GET /api/training/jobs && jget '["total"]') == "$jobs_before" ]] || fail "a rebinding request created a job"
for h in "localhost:$PORT" 'localhost' "127.0.0.9:$PORT" "[::1]:$PORT" 'app.localhost:3000' 'LOCALHOST.'; do
  api GET /health '' -H "Host: $h"
  [[ "$CODE" == 200 ]] || fail "Host '$h' was refused: $CODE $BODY"
done
ok "Host evil.example:8000 gets 421 naming server.allowed_hosts (reads and writes); loopback names and addresses pass"

# ---- a declared body over the limit: 413 at once ----
python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t0 = time.perf_counter()
s.sendall(b"POST /api/training/start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          b"Content-Length: 100000000\r\n\r\n{")
head = s.recv(4096)
ms = (time.perf_counter() - t0) * 1000
assert head.startswith(b"HTTP/1.1 413"), head[:200]
assert ms < 500, "413 took %.0f ms" % ms
print("ok - 413 for a declared 100 MB body after %.1f ms (idle timeout 8 s)" % ms)
# Refused for another reason (a foreign Host) with such a body: that answer comes at once too.
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
t0 = time.perf_counter()
s.sendall(b"POST /api/training/start HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"
          b"Content-Length: 100000000\r\n\r\n")
head = s.recv(4096)
ms = (time.perf_counter() - t0) * 1000
assert head.startswith(b"HTTP/1.1 421") and ms < 500, (head[:200], ms)
PY
ok "a declared Content-Length over the limit gets 413 before any body is sent"

# ---- slow clients ----
python3 "$SRC/tests/e2e/lib/slowclients.py" --port "$PORT" --conns 512 --sources 8 --probes 50 --max-ms 100 \
  --worst-ms 1000 --idle-wait 8 --deadline 60 >"$WORK/slow.json" || fail "slow clients: $(cat "$WORK/slow.json")"
cat "$WORK/slow.json"
figures=$(python3 - "$WORK/slow.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["held_open"] == 512, r
# Every connection was still held when the probes ended (unless a loaded machine made the probes
# outlast the idle timeout), and the idle timeout closed all of them afterwards.
assert r["held_through_probes"] == 512 or r["probe_seconds"] >= 7, r
assert r["health_probes"] == 50 and not r["failures"], r
assert r["closed_after_idle_wait"] == 512, r
print("median %s ms, max %s ms" % (r["health_ms"]["median"], r["health_ms"]["max"]))
PY
)
ok "512 half-open connections from 8 clients held: /health answered 50 of 50 ($figures); all closed after the 8 s idle timeout"
python3 "$SRC/tests/e2e/lib/slowclients.py" --port "$PORT" --conns 300 --sources 1 --probes 20 --max-ms 100 \
  --deadline 30 >"$WORK/slow1.json" || fail "one slow client: $(cat "$WORK/slow1.json")"
cat "$WORK/slow1.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["held_open"] == 64 and r["closed_at_once"] == 236, r' \
  "$WORK/slow1.json"
ok "one client holds at most server.max_client_connections (64) connections; the rest are closed at once"
api GET /health
expect_code 200
stop_server TERM
[[ "$SERVER_RC" == 0 ]] || fail "SIGTERM exit code $SERVER_RC: $(tail -20 "$SERVER_LOG")"
unset TRADEML_SERVER_IDLE_TIMEOUT

# ---- server.allowed_hosts ----
export TRADEML_SERVER_ALLOWED_HOSTS='trademl.lan,evil.example:8000'
start_server --no-workers
api GET /health '' -H 'Host: trademl.lan:9999'
expect_code 200
api GET /health '' -H 'Host: evil.example:8000'
expect_code 200
api GET /health '' -H 'Host: evil.example:8001'
expect_code 421
api POST /api/models/1/activate '' -H 'Host: trademl.lan' -H 'Origin: http://trademl.lan'
expect_code 404
api POST /api/models/1/activate '' -H 'Origin: https://trademl.lan:8443'
expect_code 404
api POST /api/models/1/activate '' -H 'Origin: http://other.lan'
expect_code 403
stop_server TERM
unset TRADEML_SERVER_ALLOWED_HOSTS
TRADEML_SERVER_ALLOWED_HOSTS='bad host' expect_exit 2 "$BIN" serve --listen "127.0.0.1:$PORT"
expect_out "server.allowed_hosts .*'bad host' is not a host name"
ok "names in server.allowed_hosts (NAME any port, NAME:PORT exact) pass the Host and Origin checks; bad items are refused"

# ---- bearer scheme, auth_reads, /health without secrets ----
export TRADEML_API_TOKEN=s3cret-token TRADEML_SERVER_AUTH_READS=true
start_server --no-workers
for a in 'Bearer s3cret-token' 'bearer s3cret-token' 'BEARER  s3cret-token' 'bEaReR s3cret-token '; do
  api GET /api/models '' -H "Authorization: $a"
  [[ "$CODE" == 200 ]] || fail "Authorization '$a' refused: $CODE $BODY"
  api POST /api/models/1/activate '' -H "Authorization: $a"
  [[ "$CODE" == 404 ]] || fail "Authorization '$a' refused on a mutating route: $CODE $BODY"
done
for a in 'Bearer wrong' 'Basic czNjcmV0LXRva2Vu' 'Bearers3cret-token' 's3cret-token' 'Bearer'; do
  api GET /api/models '' -H "Authorization: $a"
  [[ "$CODE" == 401 ]] || fail "Authorization '$a' accepted: $CODE $BODY"
done
ok "the bearer scheme is accepted in any case; a wrong token or scheme is 401"
for p in /api/models /api/training/jobs /api/queue /api/coverage /api/schedule /api/symbols /metrics '/api/predict/BTCUSDT?interval=15m'; do
  api GET "$p"
  [[ "$CODE" == 401 ]] || fail "with server.auth_reads, GET $p answered $CODE without the token: $BODY"
done
expect_body 'server.auth_reads is on'
for p in / /assets/app.js; do
  api GET "$p"
  [[ "$CODE" == 200 ]] || fail "dashboard file $p needs the token: $CODE"
done
api GET /health
expect_code 200
expect_body '"status":"ok"'
grep -q "$WORK" <<<"$BODY" && fail "/health shows an absolute path: $BODY"
grep -q 's3cret' <<<"$BODY" && fail "/health shows the token: $BODY"
grep -Eq '"/' <<<"$BODY" && fail "/health shows a path: $BODY"
ok "server.auth_reads: reads need the token, /health and the dashboard files do not; /health names no path or secret"
stop_server TERM
unset TRADEML_API_TOKEN
expect_exit 2 "$BIN" serve --listen "127.0.0.1:$PORT"
expect_out 'server.auth_reads .* is on but no token is set'
unset TRADEML_SERVER_AUTH_READS
ok "server.auth_reads without a token is refused at start"
finish
