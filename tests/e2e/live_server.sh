#!/usr/bin/env bash
# ctest-labels: heavy
# The live loop inside the daemon, end to end with real processes: `trademl serve --live --workers 1`
# against the mock exchange (real Bybit BTCUSDT/ETHUSDT 15m candles + WIFUSDT listed two days before
# the start), the mock clock advanced so hours pass in seconds:
# - two real SSE clients (curl -N and python) receive one `prediction` event per symbol per candle;
# - /api/live shows the listing blocked with its reason, then training, then active;
# - /api/predictions/latest and /api/predictions (with bad input answered 400);
# - /health reports the loop and the age of its last tick; /metrics the live gauges and counters;
# - a loop in another process (`trademl live`): a daemon without --live still streams its predictions;
# - SIGTERM with streams open: the daemon stops promptly and the streams end.
# (tests/e2e/live_cli.sh covers the loop itself: backfill, faults, coverage timer, predict equality.)
source "$(dirname "$0")/lib/common.sh"
need_data bybit-linear/BTC_USDT_USDT-15m-futures.csv bybit-linear/ETH_USDT_USDT-15m-futures.csv \
  bybit-linear/WIF_USDT_USDT-15m-futures.csv
command -v curl >/dev/null || { echo "SKIP: curl is needed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
home=$WORK
source "$SRC/tests/e2e/lib/mock.sh"
source "$SRC/tests/e2e/lib/server.sh"
PIDS=()
LOOP=
stop_all() {
  for p in "${PIDS[@]}" $LOOP; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PIDS=(); LOOP=
  mock_stop
}
trap 'stop_all; server_cleanup' EXIT

Q=900000; D=$((96 * Q))
T0=1717200000000               # 2024-06-01T00:00:00Z
clock=$((T0 + 5000))
mock_start --now "$clock" \
  --series "bybit:linear:BTCUSDT:15m:$DATA/bybit-linear/BTC_USDT_USDT-15m-futures.csv" \
  --series "bybit:linear:ETHUSDT:15m:$DATA/bybit-linear/ETH_USDT_USDT-15m-futures.csv" \
  --series "$(mock_listing "bybit:linear:WIFUSDT:15m:$DATA/bybit-linear/WIF_USDT_USDT-15m-futures.csv" $((T0 - 2 * D)))"
export TRADEML_DATA_DAYS=20 TRADEML_DATA_MIN_HISTORY_DAYS=4 TRADEML_DATA_MIN_COVERAGE_PCT=90
export TRADEML_TRAINING_NUM_BOOST_ROUND=10 TRADEML_TRAINING_MIN_TRAIN_ROWS=100 TRADEML_TRAINING_THREADS=1
export TRADEML_HTTP_RATE=500 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=2 TRADEML_HTTP_TIMEOUT_MS=3000
export TRADEML_LIVE_EXCHANGE=bybit TRADEML_LIVE_CATEGORY=linear TRADEML_LIVE_INTERVAL=15m TRADEML_LIVE_UNIVERSE=all
export TRADEML_LIVE_POLL_MS=50 TRADEML_LIVE_SSE_KEEPALIVE_SECONDS=1 TRADEML_LOGGING_LEVEL=info

# ---- helpers ---------------------------------------------------------------------------------------
# live_py EXPR: evaluates EXPR with the /api/live status as `s`
live_py() { api GET /api/live; expect_code 200; python3 -c "import json,sys; s=json.load(sys.stdin)['status']; print($1)" <<<"$BODY"; }
state_of() { live_py "[y['state'] for y in s['symbols'] if y['symbol']=='$1'][0]" 2>/dev/null || echo none; }
# wait_state SYMBOL REGEX SECONDS
wait_state() {
  local st="" end=$((SECONDS + $3))
  while [[ $SECONDS -le $end ]]; do
    st=$(state_of "$1")
    [[ $st =~ ^($2)$ ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the daemon died: $(tail -20 "$SERVER_LOG")"
    sleep 0.1
  done
  api GET /api/live
  fail "$1 is '$st' after $3 s, expected /$2/: $BODY
$(tail -20 "$SERVER_LOG")"
}
# wait_tick T: until the daemon's loop ticked at loop time >= T
wait_tick() {
  local end=$((SECONDS + 30))
  while [[ $SECONDS -le $end ]]; do
    [[ $(live_py 's["counters"]["last_tick_ms"]' 2>/dev/null || echo 0) -ge $1 ]] && return 0
    sleep 0.1
  done
  fail "the loop did not reach loop time $1: $BODY"
}
# sse_count FILE SYMBOL CANDLE_OPEN_ISO: prediction events in FILE for that symbol and candle
sse_count() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
n = 0
ev = None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("event: "):
        ev = line[7:]
    elif line.startswith("data: ") and ev == "prediction":
        d = json.loads(line[6:])
        if d["symbol"] == sys.argv[2] and d["candle_open_time"] == sys.argv[3]:
            n += 1
    elif line == "":
        ev = None
print(n)
PY
}
iso() { python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1])/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$1"; }
# wait_sse FILE SYMBOL OPEN_MS: exactly one event for that candle arrives within 20 s
wait_sse() {
  local t n=0
  t=$(iso "$3")
  for _ in $(seq 1 200); do
    n=$(sse_count "$1" "$2" "$t")
    [[ $n -ge 1 ]] && break
    sleep 0.1
  done
  [[ $n -eq 1 ]] || fail "$1: $n prediction events for $2 $t (expected 1): $(tail -c 2000 "$1")"
}
newest_closed() { echo $(( (clock - 2000) / Q * Q - Q )); } # open time of the newest closed candle
advance() { clock=$(mock_clock_advance "$1"); }

# ---- 1. start: streams connected, the listing blocked with its reason ------------------------------
start_server --live --workers 1
curl -sN "$BASE/api/predictions/stream" >"$WORK/sse1.txt" 2>/dev/null &
PIDS+=($!)
python3 - "$BASE/api/predictions/stream" "$WORK/sse2.txt" <<'PY' &
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "w", encoding="utf-8") as out:
    assert r.headers.get("Content-Type", "").startswith("text/event-stream"), r.headers
    for raw in r:
        out.write(raw.decode("utf-8"))
        out.flush()
PY
PIDS+=($!)
wait_state WIFUSDT blocked 30
reason=$(live_py "[y['reason'] for y in s['symbols'] if y['symbol']=='WIFUSDT'][0]")
grep -Eq "only 2\.0 days of history \(< 4 minimum\); blocked until enough history accumulates; re-checked every 300s; will not trigger training" <<<"$reason" ||
  fail "WIFUSDT reason: $reason"
[[ $(live_py 's["running"]') == True ]] || fail "the loop is not running: $BODY"
ok "serve --live: the loop runs in the daemon; WIFUSDT blocked: $reason"

# ---- 2. the daemon's workers train BTCUSDT/ETHUSDT; predictions flow on both streams ----------------
wait_state BTCUSDT training 20
for sym in BTCUSDT ETHUSDT; do
  job=$(live_py "[y['job_id'] for y in s['symbols'] if y['symbol']=='$sym'][0]")
  wait_job "$job" succeeded 90
done
advance $Q # the loop looks for activations on each candle
wait_state BTCUSDT active 30
wait_state ETHUSDT active 30
for i in 1 2 3; do
  advance $Q
  t=$(newest_closed)
  for sym in BTCUSDT ETHUSDT; do
    wait_sse "$WORK/sse1.txt" $sym "$t"
    wait_sse "$WORK/sse2.txt" $sym "$t"
  done
done
grep -q '^: keep-alive ' "$WORK/sse1.txt" || fail "no keep-alive comment on the stream"
ok "two SSE clients (curl -N, python) each got exactly one event per symbol for each of 3 advances"

# ---- 3. the listing qualifies on the loop clock: training, then active, then predicted ---------------
for i in 1 2 3; do advance $D; wait_tick "$clock"; done
wait_state WIFUSDT 'training|active' 30
# the loop's log lines (the daemon's log) give the order: blocked, then training with its one job
line=$(grep -E "WIFUSDT: training: enough history \([0-9.]+ days\); job [0-9]+ submitted" "$SERVER_LOG" || true)
[[ $(grep -c . <<<"$line") -eq 1 ]] || fail "expected one WIFUSDT training line: $line $(tail -20 "$SERVER_LOG")"
job=$(sed -E 's/.* job ([0-9]+) submitted.*/\1/' <<<"$line")
wait_job "$job" succeeded 90
advance $Q
wait_state WIFUSDT active 30
wait_sse "$WORK/sse1.txt" WIFUSDT "$(newest_closed)"
ok "WIFUSDT: blocked -> training -> active (loaded by the daemon's loop) -> on the stream"

# ---- 4. stored predictions over HTTP ---------------------------------------------------------------
api GET "/api/predictions/latest?interval=15m"
expect_code 200
printf %s "$BODY" >"$WORK/body.json"; python3 - "$WORK/body.json" "$(iso "$(newest_closed)")" <<'PY' || fail "latest: $BODY"
import json, sys
d = json.load(open(sys.argv[1]))
syms = [p["symbol"] for p in d["predictions"]]
assert syms == ["BTCUSDT", "ETHUSDT", "WIFUSDT"], syms
assert all(p["candle_open_time"] == sys.argv[2] for p in d["predictions"]), d
assert all(set(p["predictions"]) == {"direction", "volatility", "timing", "stop_loss", "position_size"} for p in d["predictions"])
PY
api GET "/api/predictions?symbol=BTCUSDT&interval=15m"
expect_code 200
printf %s "$BODY" >"$WORK/body.json"; python3 - "$WORK/body.json" <<'PY' || fail "predictions: $BODY"
import json, sys
d = json.load(open(sys.argv[1]))
t = [p["candle_open_time"] for p in d["predictions"]]
assert len(t) >= 4 and t == sorted(set(t)), t
assert d["count"] == len(t)
PY
n_all=$(jget '["count"]')
api GET "/api/predictions?symbol=BTCUSDT&interval=15m&since=$(iso "$(newest_closed)")"
expect_code 200
[[ $(jget '["count"]') -eq 1 ]] || fail "since=newest should give 1 of $n_all: $BODY"
api GET "/api/predictions?interval=15m"; expect_code 400; expect_body "'symbol' is required"
api GET "/api/predictions?symbol=BTC%25USDT"; expect_code 400; expect_body "invalid symbol"
api GET "/api/predictions?symbol=BTCUSDT&since=yesterday"; expect_code 400; expect_body "'since'"
api GET "/api/predictions/latest?interval=7m"; expect_code 400; expect_body "interval"
api GET "/api/live?interval=1d"; expect_code 404; expect_body "ENOENT"
api POST /api/predictions/stream ""; expect_code 405
ok "/api/predictions/latest (3 symbols, newest candle), /api/predictions (since/until), bad input 4xx"

# ---- 5. /health and /metrics -----------------------------------------------------------------------
api GET /health
expect_code 200
printf %s "$BODY" >"$WORK/body.json"; python3 - "$WORK/body.json" <<'PY' || fail "health: $BODY"
import json, sys
h = json.load(open(sys.argv[1]))["live"]
assert h["enabled"] is True and h["state"] == "running", h
assert 0 <= h["last_tick_age_seconds"] < 10, h
assert h["symbols"]["active"] == 3 and h["predictions"] >= 10, h
PY
api GET /metrics
expect_code 200
for m in 'trademl_live_symbols\{state="active"\} 3' 'trademl_live_symbols\{state="blocked"\} 0' \
  'trademl_live_predictions_total [0-9]+' 'trademl_live_model_reloads_total 3' 'trademl_live_exchange_errors_total [0-9]+' \
  'trademl_live_tick_lag_seconds [0-9.]+' 'trademl_live_last_tick_age_seconds [0-9.]+' 'trademl_sse_subscribers 2' \
  'trademl_sse_dropped_total 0' 'trademl_live_loop_running\{process="daemon"\} 1'; do
  expect_body "$m"
done
events=$(grep -Eo 'trademl_sse_events_total [0-9]+' <<<"$BODY" | cut -d' ' -f2)
preds=$(grep -Eo 'trademl_live_predictions_total [0-9]+' <<<"$BODY" | cut -d' ' -f2)
[[ $events -eq $preds ]] || fail "stream published $events events for $preds stored predictions"
ok "/health: loop running, tick age, 3 active; /metrics: live gauges and counters, reloads = 3, $events events = $preds predictions"

# ---- 6. SIGTERM with two streams open: prompt stop, streams end ------------------------------------
t0=$(date +%s)
stop_server TERM
[[ $SERVER_RC -eq 0 ]] || fail "serve exited $SERVER_RC: $(tail -20 "$SERVER_LOG")"
for p in "${PIDS[@]}"; do
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "a stream client is still connected after the daemon stopped"
done
PIDS=()
[[ $(( $(date +%s) - t0 )) -le 15 ]] || fail "the daemon took more than 15 s to stop"
ok "SIGTERM: daemon stopped with streams open, both streams ended"

# ---- 7. the loop in another process: the daemon (no --live) streams what it stores --------------------
"$BIN" live --poll-ms 50 >"$WORK/live.out" 2>"$WORK/live.log" &
LOOP=$!
start_server --no-workers
curl -sN "$BASE/api/predictions/stream" >"$WORK/sse3.txt" 2>/dev/null &
PIDS+=($!)
sleep 1
api GET /health
python3 -c "import json,sys; h=json.load(sys.stdin)['live']; assert h['enabled'] is False and h['state']=='external', h" <<<"$BODY" ||
  fail "health with an external loop: $BODY"
advance $Q
for sym in BTCUSDT ETHUSDT WIFUSDT; do wait_sse "$WORK/sse3.txt" $sym "$(newest_closed)"; done
api GET /api/live
expect_code 200
[[ $(jget '["in_process"]') == False ]] || fail "in_process should be false: $BODY"
ok "a loop in another process: the daemon's stream delivered its predictions (tailing the store), /api/live and /health read its state"
stop_server TERM
finish
