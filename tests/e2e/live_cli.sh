#!/usr/bin/env bash
# ctest-labels: heavy
# The live loop end to end: real processes (`trademl live`, `trademl worker`), the mock exchange with
# its controllable clock serving real Bybit candles (BTCUSDT, ETHUSDT) and a listing (WIFUSDT) that
# has two days of history when the loop starts:
# - bad input exits 2 naming the option, and writes nothing;
# - symbols with history get one training job each (from the loop, source "live"); the listing is
#   blocked with its reason, re-checked on the coverage timer, and gets its one job only once enough
#   history accumulated; workers train; the loop loads each activated model (reloads == activations)
#   and predictions flow; the coverage check ran exactly on its 300 s timer; no symbol queued twice;
# - a live prediction equals `trademl predict` for the same candle and model;
# - kill -9 mid-run, candles close while down, restart: backfilled, no gap, no duplicate;
# - the exchange failing (403/429/garbage) for a while: the loop survives, marks the stalled
#   symbols stale_data, and catches up without a gap once the exchange answers again.
source "$(dirname "$0")/lib/common.sh"
need_data bybit-linear/BTC_USDT_USDT-15m-futures.csv bybit-linear/ETH_USDT_USDT-15m-futures.csv \
  bybit-linear/WIF_USDT_USDT-15m-futures.csv
home=$WORK
source "$SRC/tests/e2e/lib/mock.sh"
# The clock, listing and fault helpers of tests/e2e/lib/mock.sh (defined here when this checkout's
# mock.sh predates them; same behaviour).
declare -F mock_listing >/dev/null || mock_listing() { printf '%s:%s\n' "$1" "$2"; }
declare -F mock_clock_advance >/dev/null ||
  mock_clock_advance() { mock_get "/mock/clock?advance=$1" | sed -n 's/.*"now":\([0-9]*\).*/\1/p'; }
declare -F mock_fault >/dev/null ||
  mock_fault() { mock_get "/mock/fault?kind=$1&count=${2:-1}&after=${3:-0}&ms=${4:-3000}" >/dev/null; }
LOOP=
stop_loop() { [[ -n $LOOP ]] && { kill -9 "$LOOP" 2>/dev/null || true; wait "$LOOP" 2>/dev/null || true; LOOP=; }; return 0; }
trap 'stop_loop; mock_stop; cleanup' EXIT
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the JSON"; exit 77; }

Q=900000                       # one 15m candle
D=$((96 * Q))                  # one day
T0=1717200000000               # 2024-06-01T00:00:00Z
listed=$((T0 - 2 * D))         # WIFUSDT listed two days before the loop starts
clock=$((T0 + 5000))           # 5 s after the 23:45 candle closed
btc=$DATA/bybit-linear/BTC_USDT_USDT-15m-futures.csv
eth=$DATA/bybit-linear/ETH_USDT_USDT-15m-futures.csv
wif=$DATA/bybit-linear/WIF_USDT_USDT-15m-futures.csv
mock_start --now "$clock" --series "bybit:linear:BTCUSDT:15m:$btc"
if ! mock_get /mock/clock | grep -q '"now"'; then
  echo "SKIP: this mock exchange has no controllable clock or listings (GET /mock/clock; the exconfig work)"
  exit 77
fi
mock_start --now "$clock" --series "bybit:linear:BTCUSDT:15m:$btc" --series "bybit:linear:ETHUSDT:15m:$eth" \
  --series "$(mock_listing "bybit:linear:WIFUSDT:15m:$wif" "$listed")"
export TRADEML_DATA_DAYS=20 TRADEML_DATA_MIN_HISTORY_DAYS=4 TRADEML_DATA_MIN_COVERAGE_PCT=90
export TRADEML_TRAINING_NUM_BOOST_ROUND=10 TRADEML_TRAINING_MIN_TRAIN_ROWS=100 TRADEML_TRAINING_THREADS=1
export TRADEML_TRAINING_MAX_CONCURRENT_JOBS=2
export TRADEML_HTTP_RATE=500 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=2 TRADEML_HTTP_TIMEOUT_MS=3000

# ---- bad input: exit 2, the option named, nothing written --------------------------------------------
expect_exit 2 "$BIN" live --exchange krakken --once
expect_out "live.exchange: unknown exchange 'krakken'"
expect_exit 2 "$BIN" live --symbols BTCUSDT --universe top:2 --once
expect_out "\-\-symbols and \-\-universe 'top:2' contradict each other"
expect_exit 2 "$BIN" live --universe top:zero --once
expect_out "live.universe: 'top:zero' does not parse"
expect_exit 2 "$BIN" live --exchange bybit --interval 7m --once
expect_out "live.interval: unknown interval '7m'"
expect_exit 2 "$BIN" live --exchange bybit --category options --once
expect_out "unknown bybit category 'options'"
expect_exit 2 "$BIN" live --exchange bybit --category linear --symbols NOPEUSDT --once
expect_out "unknown symbol NOPEUSDT on bybit linear"
expect_exit 2 "$BIN" live status --universe all
expect_exit 2 "$BIN" predictions --symbol BTCUSDT --json --csv
[[ ! -e $TRADEML_HOME ]] || fail "bad input wrote into $TRADEML_HOME: $(ls -R "$TRADEML_HOME")"
ok "bad input exits 2 with the option and the fix named, nothing written"

# ---- helpers ----------------------------------------------------------------------------------------
start_loop() {
  "$BIN" live --exchange bybit --category linear --interval 15m --universe all --jsonl --poll-ms 50 \
    >>"$WORK/live.jsonl" 2>>"$WORK/live.log" &
  LOOP=$!
}
# wait_log REGEX [N]: until the loop's log has N (default 1) lines matching
wait_log() {
  local n=${2:-1}
  for _ in $(seq 1 600); do
    [[ $(grep -Ec -- "$1" "$WORK/live.log" || true) -ge $n ]] && return 0
    kill -0 "$LOOP" 2>/dev/null || fail "the loop died: $(tail -20 "$WORK/live.log")"
    sleep 0.1
  done
  fail "no log line /$1/ after 60 s: $(tail -30 "$WORK/live.log")"
}
status() { "$BIN" live status --json --interval 15m; }
# jq-like: py EXPR reads the status JSON as `s`
py() { status | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
# wait_tick T: until the loop persisted a tick at loop time >= T (candle ticks persist)
wait_tick() {
  for _ in $(seq 1 900); do
    local t
    t=$(py 's["counters"]["last_tick_ms"]' 2>/dev/null || echo 0)
    [[ $t -ge $1 ]] && return 0
    kill -0 "$LOOP" 2>/dev/null || fail "the loop died: $(tail -20 "$WORK/live.log")"
    sleep 0.1
  done
  fail "the loop did not reach loop time $1: $(status) $(tail -20 "$WORK/live.log")"
}
# The coverage timer, simulated: checks at T0+5s, then every 300 s of loop time (once per tick).
COV=1
cov_next=$((clock + 300000))
advance() { # advance MS: move the mock clock and let the loop see it
  clock=$(mock_clock_advance "$1")
  if [[ $clock -ge $cov_next ]]; then
    COV=$((COV + 1))
    cov_next=$((cov_next + ((clock - cov_next) / 300000 + 1) * 300000))
  fi
}
state_of() { py "[y['state'] for y in s['symbols'] if y['symbol']=='$1'][0]"; }
# no_gap SYMBOL: stored predictions are consecutive candles, none twice; prints count and last open
no_gap() {
  "$BIN" predictions --symbol "$1" --interval 15m --json | python3 -c "
import json,sys,datetime
rows=json.load(sys.stdin)
t=[int(datetime.datetime.strptime(r['candle_open_time'],'%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc).timestamp()*1000) for r in rows]
assert len(t)==len(set(t)), 'duplicate candle in %s' % t
bad=[(a,b) for a,b in zip(t,t[1:]) if b-a!=$Q]
assert not bad, 'gap between %s' % bad[:3]
print(len(t), t[-1] if t else -1)"
}

# ---- 1. start: two symbols queued for training once, the listing blocked ----------------------------
start_loop
wait_log "info live loop started: coverage checks every 300s, universe refresh every 60m, heartbeat every 600s"
wait_log "BTCUSDT: training: enough history \([0-9.]+ days\); job [0-9]+ submitted"
wait_log "ETHUSDT: training: enough history \([0-9.]+ days\); job [0-9]+ submitted"
wait_log "WIFUSDT: only 2\.0 days of history \(< 4 minimum\); blocked until enough history accumulates; re-checked every 300s; will not trigger training"
wait_tick "$clock"
[[ $(state_of WIFUSDT) == blocked ]] || fail "WIFUSDT should be blocked: $(status)"
ok "symbols with history queued for training by the loop; the listing blocked with its reason"

# ---- 2. workers train; the loop loads the activated models; predictions flow -------------------------
"$BIN" worker --exit-when-idle >"$WORK/worker1.log" 2>&1 || fail "worker: $(cat "$WORK/worker1.log")"
for i in 1 2; do advance $Q; wait_tick "$clock"; done
wait_log "BTCUSDT: model [0-9]+ \(.*\) loaded"
wait_log "ETHUSDT: model [0-9]+ \(.*\) loaded"
[[ $(state_of BTCUSDT) == active && $(state_of ETHUSDT) == active ]] || fail "not active: $(status)"
[[ $(grep -c '"symbol":"BTCUSDT"' "$WORK/live.jsonl") -ge 2 ]] || fail "no BTCUSDT predictions: $(cat "$WORK/live.jsonl")"
ok "models activated by the workers were loaded and predict every closed candle"

# ---- 3. the listing accumulates history on the loop clock, qualifies, trains once -------------------
for i in 1 2 3; do advance $D; wait_tick "$clock"; done
wait_log "WIFUSDT: training: enough history \([0-9.]+ days\); job [0-9]+ submitted"
# the coverage timer is exact: 60 s steps, one check every 5th step
for i in $(seq 1 10); do advance 60000; sleep 0.3; done
advance $Q; wait_tick "$clock"
got=$(py 's["counters"]["coverage_checks"]')
[[ $got -eq $COV ]] || fail "coverage checks: expected $COV on the 300 s timer, got $got"
ticks=$(py 's["counters"]["ticks"]')
[[ $ticks -gt $((3 * COV)) ]] || fail "expected many more ticks ($ticks) than coverage checks ($got)"
"$BIN" worker --exit-when-idle >"$WORK/worker2.log" 2>&1 || fail "worker: $(cat "$WORK/worker2.log")"
advance $Q; wait_tick "$clock"
wait_log "WIFUSDT: model [0-9]+ \(.*\) loaded"
wait_log "WIFUSDT: unblocked: model [0-9]+ \(.*\) predicting"
advance $Q; wait_tick "$clock"
grep -q '"symbol":"WIFUSDT"' "$WORK/live.jsonl" || fail "no WIFUSDT prediction"
expect_exit 0 "$BIN" jobs list --json
python3 - "$OUT" <<'PY' || fail "jobs: $OUT"
import json, sys, collections
jobs = json.loads(sys.argv[1])
jobs = jobs["jobs"] if isinstance(jobs, dict) else jobs
c = collections.Counter(",".join(j["symbols"]) for j in jobs if j["kind"] in ("train", "retrain"))
assert c == {"BTCUSDT": 1, "ETHUSDT": 1, "WIFUSDT": 1}, c
assert all(j["source"] == "live" and j["status"] == "succeeded" for j in jobs), jobs
PY
reloads=$(py 's["counters"]["reloads"]')
expect_exit 0 "$BIN" models list --json
activations=$(grep -o '"active":true' <<<"$OUT" | wc -l)
[[ $reloads -eq 3 && $activations -eq 3 ]] || fail "reloads $reloads, activations $activations (expected 3 = 3)"
ok "listing blocked -> enough candles -> one job -> model activated -> predictions; coverage exactly every 300 s ($COV checks in $ticks ticks); one job per symbol; reloads = activations = 3"

# ---- 4. a live prediction equals `trademl predict` for the same candle and model ---------------------
expect_exit 0 "$BIN" predictions --symbol BTCUSDT --interval 15m --json --limit 1
live=$OUT
close=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[0]['candle_close_time'])" "$live")
expect_exit 0 "$BIN" predict --symbol BTCUSDT --interval 15m --now "$close"
python3 - "$live" "$OUT" <<'PY' || fail "live vs predict differ: $live // $OUT"
import json, sys
live = json.loads(sys.argv[1])[0]; pred = json.loads(sys.argv[2])
assert live["candle_open_time"] == pred["candle_open_time"], (live["candle_open_time"], pred["candle_open_time"])
assert live["model"]["version"] == pred["model"]["version"]
for head, v in pred["predictions"].items():
    l = live["predictions"][head]
    if "value" in v:
        assert float("%.6g" % l["value"]) == v["value"], (head, l, v)   # predict prints %.6g
    else:
        assert l["class"] == v["class"], (head, l, v)
        for k, p in v["probabilities"].items():
            assert "%.6f" % l["probabilities"][k] == "%.6f" % p, (head, k, l, v)
PY
ok "the live prediction of $close equals trademl predict for that candle (to the printed precision)"

# ---- 5. kill -9 mid-run, 8 candles close while down, restart: backfilled, no gap, no duplicate --------
read -r before _ < <(no_gap BTCUSDT)
kill -9 "$LOOP"; wait "$LOOP" 2>/dev/null || true; LOOP=
for i in $(seq 1 8); do advance $Q; done
start_loop
wait_tick "$clock"
read -r after last < <(no_gap BTCUSDT)
[[ $after -eq $((before + 8)) ]] || fail "expected 8 backfilled BTCUSDT predictions: $before -> $after"
[[ $last -eq $(( (clock - 2000) / Q * Q - Q )) ]] || fail "last prediction $last is not the newest closed candle"
back=$(py 's["counters"]["backfilled"]')
[[ $back -eq 24 ]] || fail "expected 24 backfilled predictions (8 x 3 symbols), got $back"
for s in ETHUSDT WIFUSDT; do no_gap $s >/dev/null || fail "$s has a gap or a duplicate"; done
ok "kill -9 + restart: 8 candles per symbol backfilled, no gap, no duplicate"

# ---- 6. the exchange fails for a while: the loop survives, stalls are marked, it catches up ----------
errs0=$(py 's["counters"]["exchange_errors"]')
mock_fault http403 -1
for i in 1 2 3; do advance $Q; wait_tick "$clock"; done
[[ $(state_of BTCUSDT) == stale_data ]] || fail "BTCUSDT should be stale_data after 3 missed candles: $(status)"
# The exchange answers again: failed syncs are retried within seconds (loop time), not at the next close.
mock_get /mock/reset >/dev/null
advance 10000
caught_up() {
  for s in BTCUSDT ETHUSDT WIFUSDT; do
    [[ $(state_of $s) == active ]] || return 1
    read -r _ last < <(no_gap $s) || fail "$s has a gap or a duplicate"
    [[ $last -eq $(( (clock - 2000) / Q * Q - Q )) ]] || return 1
  done
}
for _ in $(seq 1 100); do caught_up && break; sleep 0.2; done
caught_up || fail "not caught up 10 s after the exchange recovered: $(status)"
# Rate limits and garbage for a while: absorbed by the clients' retries, or counted; the loop goes on.
mock_fault http429 2
mock_fault garbage 2
for i in 1 2; do advance $Q; wait_tick "$clock"; done
mock_get /mock/reset >/dev/null
advance 10000
for _ in $(seq 1 100); do caught_up && break; sleep 0.2; done
caught_up || fail "not caught up after 429/garbage: $(status)"
kill -0 "$LOOP" || fail "the loop died"
errs=$(py 's["counters"]["exchange_errors"]')
[[ $errs -gt $errs0 ]] || fail "exchange errors not counted ($errs0 -> $errs)"
ok "exchange faults: loop survived ($((errs - errs0)) errors counted), stale_data while stalled, caught up within seconds without a gap"

# ---- 7. status, predictions output, clean stop ------------------------------------------------------
expect_exit 0 "$BIN" live status --interval 15m
expect_out "BTCUSDT +active"
expect_exit 0 "$BIN" predictions --symbol WIFUSDT --interval 15m --csv
expect_out "^symbol,interval,strategy,candle_open_time,model_id"
kill -TERM "$LOOP"
wait "$LOOP" || fail "the loop exited $? on SIGTERM"
LOOP=
grep -q "live loop stopped" "$WORK/live.log" || fail "no stop line"
[[ $(py 's["running"]') == False ]] || fail "status still says running after the stop"
ok "status table, CSV, clean stop on SIGTERM"
finish
