#!/usr/bin/env bash
# Strategy rl in the live loop and the daemon (issue 15: "jobs, registry, API, gates and the live loop
# take it like any other strategy"), on real Bybit BTCUSDT 15m candles served by the mock exchange with
# a small agent budget:
# - `trademl live --strategy rl` (model.strategy) queues an rl training job, a worker trains it (gates,
#   registry models/rl/BTCUSDT/15m/<version>), the loop loads it and stores a prediction for every
#   closed candle, with the agent's action block;
# - each of those stored predictions equals `trademl predict --strategy rl` for the same candle and
#   model (five heads and the action block, to the printed precision; the stored floats are exact);
# - POST /api/training/start {"strategy_type":"rl"} runs in the daemon's workers and registers another
#   rl version; GET /api/models?strategy=rl lists only rl sets, an unknown strategy is a 400.
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/server.sh"
need_data bybit-linear/BTC_USDT_USDT-15m-futures.csv
home=$WORK
source "$SRC/tests/e2e/lib/mock.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the JSON"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is needed to call the daemon"; exit 77; }
LOOP=
stop_loop() { [[ -n $LOOP ]] && { kill "$LOOP" 2>/dev/null || true; wait "$LOOP" 2>/dev/null || true; LOOP=; }; return 0; }
trap 'stop_loop; mock_stop; server_cleanup' EXIT

Q=900000                  # one 15m candle
T0=1717200000000          # 2024-06-01T00:00:00Z
clock=$((T0 + 5000))      # 5 s after the 23:45 candle closed
mock_start --now "$clock" --series "bybit:linear:BTCUSDT:15m:$DATA/bybit-linear/BTC_USDT_USDT-15m-futures.csv"
mock_get /mock/clock | grep -q '"now"' || { echo "SKIP: this mock exchange has no controllable clock"; exit 77; }

export TRADEML_DATA_DAYS=20 TRADEML_DATA_MIN_HISTORY_DAYS=4 TRADEML_DATA_MIN_COVERAGE_PCT=90
export TRADEML_TRAINING_THREADS=1 TRADEML_TRAINING_MIN_TRAIN_ROWS=100
export TRADEML_HTTP_RATE=500 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=2 TRADEML_HTTP_TIMEOUT_MS=3000
# a small budget, as in rl_cli.sh: this test checks the plumbing; tests/unit/rl checks that the agent learns
export TRADEML_RL_TOTAL_STEPS=4096 TRADEML_RL_HIDDEN=16 TRADEML_RL_N_ENVS=4 TRADEML_RL_ROLLOUT_STEPS=128
export TRADEML_RL_MINIBATCH=128 TRADEML_RL_EPISODE_CANDLES=256

wait_log() { # wait_log REGEX: until the loop's log has a matching line
  for _ in $(seq 1 600); do
    grep -Eq -- "$1" "$WORK/live.log" && return 0
    kill -0 "$LOOP" 2>/dev/null || fail "the loop died: $(tail -20 "$WORK/live.log")"
    sleep 0.1
  done
  fail "no log line /$1/ after 60 s: $(tail -30 "$WORK/live.log")"
}
last_tick() { "$BIN" live status --json --interval 15m --strategy rl | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["last_tick_ms"])'; }
wait_tick() { # wait_tick T: until the loop persisted a tick at loop time >= T
  for _ in $(seq 1 900); do
    [[ $(last_tick 2>/dev/null || echo 0) -ge $1 ]] && return 0
    kill -0 "$LOOP" 2>/dev/null || fail "the loop died: $(tail -20 "$WORK/live.log")"
    sleep 0.1
  done
  fail "the loop did not reach loop time $1: $(tail -20 "$WORK/live.log")"
}

# ---- 0. an unknown strategy is a usage error naming it, nothing written -------------------------------
expect_exit 2 "$BIN" live --strategy ppo --exchange bybit --category linear --symbols BTCUSDT --once
expect_out "model.strategy: .*'ppo'"
[[ ! -d $TRADEML_HOME/models ]] || fail "an unknown strategy wrote models"
ok "live --strategy ppo exits 2 naming the strategy"

# ---- 1. the loop with strategy rl: job -> worker -> registry -> loaded -> predictions -----------------
"$BIN" live --strategy rl --exchange bybit --category linear --interval 15m --symbols BTCUSDT --jsonl --poll-ms 50 \
  >>"$WORK/live.jsonl" 2>>"$WORK/live.log" &
LOOP=$!
wait_log "BTCUSDT: training: enough history \([0-9.]+ days\); job [0-9]+ submitted"
wait_tick "$clock"
"$BIN" worker --exit-when-idle --concurrency 1 >"$WORK/worker.log" 2>&1 || fail "worker: $(cat "$WORK/worker.log")"
grep -q '1 succeeded, 0 failed' "$WORK/worker.log" || fail "the rl job did not succeed: $(cat "$WORK/worker.log")"
[[ $(ls -d "$TRADEML_HOME"/models/rl/BTCUSDT/15m/*/ | wc -l) -eq 1 ]] || fail "no models/rl/BTCUSDT/15m/<version>"
for _ in 1 2 3; do clock=$(mock_clock_advance $Q); wait_tick "$clock"; done
wait_log "BTCUSDT: model [0-9]+ \(.*\) loaded"
stop_loop
grep -q '"strategy":"rl"' "$WORK/live.jsonl" || fail "the loop printed no rl prediction: $(tail -5 "$WORK/live.jsonl")"
expect_exit 0 "$BIN" predictions --symbol BTCUSDT --interval 15m --strategy rl --json
live=$OUT
n=$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])))' "$live")
[[ $n -ge 3 ]] || fail "expected >= 3 stored rl predictions (one per closed candle), got $n: $live"
ok "live --strategy rl: the loop's rl job trained and registered, the model loaded, $n predictions stored"

# ---- 2. every stored prediction equals `trademl predict --strategy rl` for its candle ------------------
for i in $(python3 -c 'import json,sys; print(" ".join(str(i) for i in range(len(json.loads(sys.argv[1])))))' "$live"); do
  close=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[$i]['candle_close_time'])" "$live")
  expect_exit 0 "$BIN" predict --strategy rl --symbol BTCUSDT --interval 15m --now "$close"
  python3 - "$live" "$i" "$(grep '^{' <<<"$OUT")" <<'PY' || fail "live vs predict differ for $close: $OUT"
import json, sys
live = json.loads(sys.argv[1])[int(sys.argv[2])]; pred = json.loads(sys.argv[3])
assert live["strategy"] == "rl", live
assert live["candle_open_time"] == pred["candle_open_time"], (live["candle_open_time"], pred["candle_open_time"])
assert live["model"]["version"] == pred["model"]["version"], (live["model"], pred["model"])
for head, v in pred["predictions"].items():
    l = live["predictions"][head]
    if "value" in v:
        assert float("%.6g" % l["value"]) == v["value"], (head, l, v)   # predict prints %.6g
    else:
        assert l["class"] == v["class"], (head, l, v)
        for k, p in v["probabilities"].items():
            assert "%.6f" % l["probabilities"][k] == "%.6f" % p, (head, k, l, v)
la, pa = live["action"], pred["action"]                               # the agent's action block
assert la["name"] == pa["name"] and set(la["probabilities"]) == set(pa["probabilities"]), (la, pa)
assert len(pa["probabilities"]) == 5, pa
for k, p in pa["probabilities"].items():
    assert "%.6f" % la["probabilities"][k] == "%.6f" % p, (k, la, pa)
assert float("%.9g" % la["value"]) == float("%.9g" % pa["value"]), (la, pa)
lp, pp = la["position"], pa["position"]                               # the carried paper position
assert lp["side"] == pp["side"] and lp["hold_candles"] == pp["hold_candles"] and lp["trades"] == pp["trades"], (lp, pp)
for k in ("entry_price", "unrealised", "equity"):
    assert float("%.9g" % lp[k]) == float("%.9g" % pp[k]), (k, lp, pp)
PY
done
ok "each of the $n live rl predictions equals trademl predict --strategy rl for that candle (heads, action block and carried position)"

# ---- 3. the daemon: strategy_type rl -> a job -> models/rl/BTCUSDT/...; the model list by strategy ------
start_server
api POST /api/training/start '{"symbol":"BTC/USDT","timeframe":"M15","strategy_type":"rl"}'
expect_code 201
job=$(jget '["job_id"]')
wait_job "$job" succeeded 240
api GET "/api/training/jobs/$job"
[[ $(jget '["strategy"]') == rl ]] || fail "job $job strategy is not rl: $BODY"
[[ $(ls -d "$TRADEML_HOME"/models/rl/BTCUSDT/15m/*/ | wc -l) -eq 2 ]] || fail "the API job did not add a second rl version"
api GET "/api/models?strategy=rl&symbol=BTCUSDT"
expect_code 200
python3 - "$BODY" <<'PY' || fail "GET /api/models?strategy=rl: $BODY"
import json, sys
r = json.loads(sys.argv[1])
assert r["total"] == 2 and all(m["strategy"] == "rl" for m in r["models"]), r
PY
api GET "/api/models?strategy=xgb5"
expect_code 200
[[ $(jget '["total"]') == 0 ]] || fail "GET /api/models?strategy=xgb5 lists rl sets: $BODY"
api GET "/api/models?strategy=ppo"
expect_code 400
expect_body "query parameter 'strategy'"
api GET "/api/predict/BTCUSDT?interval=15m&strategy=rl"
expect_code 200
[[ $(jget '["model"]["strategy"]') == rl ]] || fail "API predicted with another strategy: $BODY"
jget '["action"]["name"]' >/dev/null || fail "API rl prediction has no action block: $BODY"
stop_server
ok "API: strategy_type rl runs in the daemon and registers models/rl/BTCUSDT/15m/<version>; /api/models?strategy=rl lists them"
finish
