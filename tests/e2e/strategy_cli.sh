#!/usr/bin/env bash
# ctest-labels: heavy
# Strategies end to end on real candles (issue 14): the global ensemble through train (--universe
# all) -> validate -> registry -> predict -> job -> API, xgb5 and ensemble side by side with
# validate --compare (xgb5 fitted once per fold), a folder of one strategy refused as another, a
# changed feature checksum and a truncated ensemble.json refused naming the file, and unknown
# strategy names refused listing the known ones (exit 2, HTTP 400).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/server.sh"
need_data bybit-linear/SOLUSDT_5m.csv bybit-linear/DOGEUSDT_5m.csv binance-spot/BTCUSDT_1h_2021-2026.csv

expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
expect_exit 0 "$BIN" data import "$DATA/bybit-linear/DOGEUSDT_5m.csv" --symbol DOGEUSDT --interval 5m
FAST=(--num-boost-round 30 --early-stopping-rounds 8 --max-depth 3)
# The ensemble's default members are xgb5 and lstm: a small network keeps this test fast (every
# command, the worker and the daemon read these from the environment layer of the configuration).
export TRADEML_LSTM_EPOCHS=3 TRADEML_LSTM_HIDDEN_SIZE=12 TRADEML_LSTM_SEQUENCE_LENGTH=16

# Unknown names: usage errors naming the known strategies, before any work.
for cmd in "train --symbol SOLUSDT --interval 5m" "validate --symbol SOLUSDT --interval 5m" \
           "predict --symbol SOLUSDT --interval 5m" "jobs submit train --symbol SOLUSDT --interval 5m" \
           "models list"; do
  # shellcheck disable=SC2086
  expect_exit 2 "$BIN" $cmd --strategy lstmm
  expect_out "unknown strategy 'lstmm'"
  expect_out "xgb5, ensemble"
done
ok "unknown strategy names are usage errors listing the known ones (train, validate, predict, jobs, models)"

# The global model: every stored 5m symbol, one shared set.
expect_exit 0 "$BIN" train --strategy ensemble --interval 5m --universe all --days 20 "${FAST[@]}"
set=$(ls -d "$TRADEML_HOME"/models/ensemble/MULTI-*/5m/*/)
[[ $(wc -l <<<"$set") -eq 1 ]] || fail "expected one ensemble set, got: $set"
[[ -s $set/ensemble.json && -s $set/members/1-xgb5/direction_model.json && -s $set/members/2-lstm/lstm_model.bin ]] ||
  fail "ensemble folder lacks its files: $(ls -R "$set")"
python3 - "$set/metadata.json" "$set/ensemble.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))
assert m["strategy"] == "ensemble" and m["training_mode"] == "multi_symbol", (m["strategy"], m["training_mode"])
assert sorted(m["symbols"]) == ["DOGEUSDT", "SOLUSDT"], m["symbols"]
assert [x["strategy"] for x in m["strategy_details"]["members"]] == ["xgb5", "lstm"], m["strategy_details"]
assert m["strategy_details"]["oof_rows"] >= 100, m["strategy_details"]
assert e["meta"]["direction"]["model"] == "log_linear_pool" and len(e["meta"]["direction"]["weights"]) == 2 + 3
for h in ("direction", "volatility", "timing"):
    met = m["heads"][h]["metrics"]
    assert 0 <= met["accuracy"] <= 1 and met["logloss"] > 0, met
PY
ok "train --strategy ensemble --universe all: one global set over every stored symbol, members and meta-model saved"

expect_exit 0 "$BIN" models list --strategy ensemble --json
python3 - <<PY
import json
rows = json.loads('''$OUT''')
rows = rows["models"] if isinstance(rows, dict) else rows
assert len(rows) == 1 and rows[0]["strategy"] == "ensemble", rows
PY
expect_exit 0 "$BIN" models list --strategy xgb5
expect_out "no active models registered matching"
ok "the registry keeps the ensemble apart: models list --strategy ensemble / xgb5"

expect_exit 0 "$BIN" predict --strategy ensemble --symbol DOGEUSDT --interval 5m --now 2024-12-20T00:02:00Z
python3 - <<PY
import json
p = json.loads('''$OUT''')
assert p["model"]["strategy"] == "ensemble", p["model"]
for h in ("direction", "volatility", "timing"):
    pr = p["predictions"][h]["probabilities"]
    assert abs(sum(pr.values()) - 1) < 1e-4, pr
PY
ens_pred=$OUT
expect_exit 2 "$BIN" predict --strategy xgb5 --model "$set" --symbol SOLUSDT --interval 5m
expect_out "was written by strategy 'ensemble', not 'xgb5'"
ok "predict --strategy ensemble serves the global set; the set loaded as xgb5 is refused"

# A job trains through the same code path; its set is registered under the job's strategy.
expect_exit 0 "$BIN" jobs submit train --strategy ensemble --symbol SOLUSDT --interval 5m --days 20 \
  --param num-boost-round=30 --param early-stopping-rounds=8
expect_exit 0 "$BIN" worker --concurrency 1 --exit-when-idle
expect_exit 0 "$BIN" jobs list --json
python3 - <<PY
import json
jobs = json.loads('''$OUT''')
jobs = jobs["jobs"] if isinstance(jobs, dict) else jobs
assert jobs[0]["strategy"] == "ensemble" and jobs[0]["status"] == "succeeded", jobs[0]
PY
[[ -n $(ls -d "$TRADEML_HOME"/models/ensemble/SOLUSDT/5m/*/ 2>/dev/null) ]] || fail "the job wrote no ensemble set"
ok "jobs submit train --strategy ensemble: the worker trains and registers an ensemble set"

# The API: strategy_type as the bots send it; unknown ones are 400; predict by strategy.
start_server --no-workers
api POST /api/training/start '{"symbol":"SOL/USDT","timeframe":"M5","strategy_type":"ensemble"}'
expect_code 201
job=$(jget '["job_id"]')
api GET "/api/training/jobs/$job"
[[ $(jget '["strategy"]') == ensemble ]] || fail "job $job strategy is not ensemble: $BODY"
api POST /api/training/start '{"symbol":"SOL/USDT","timeframe":"M5","strategy_type":"lstmm"}'
expect_code 400
expect_body "field 'strategy_type': unknown strategy 'lstmm': known strategies are xgb5, ensemble"
api GET "/api/predict/DOGEUSDT?interval=5m&strategy=ensemble"
expect_code 200
[[ $(jget '["model"]["strategy"]') == ensemble ]] || fail "API predicted with another strategy: $BODY"
api GET "/api/predict/DOGEUSDT?interval=5m&strategy=nope"
expect_code 400
expect_body "unknown strategy 'nope'"
stop_server
ok "API: strategy_type selects the strategy of a job, ?strategy= the model that predicts; unknown names are 400"

# Damaged sets: a changed feature checksum, a truncated ensemble.json.
cp "$set/metadata.json" "$WORK/meta.bak"
python3 - "$set/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["feature_set"]["checksum"] = "0000000000000000"; json.dump(m, open(sys.argv[1], "w"))
PY
expect_exit 2 "$BIN" predict --strategy ensemble --model "$set" --symbol SOLUSDT --interval 5m
expect_out "feature set checksum 0000000000000000"
cp "$WORK/meta.bak" "$set/metadata.json"
head -c 200 "$set/ensemble.json" >"$WORK/e.json" && cp "$WORK/e.json" "$set/ensemble.json"
expect_exit 2 "$BIN" predict --strategy ensemble --model "$set" --symbol SOLUSDT --interval 5m
expect_out "ensemble.json' line"
ok "a changed feature checksum and a truncated ensemble.json are refused, naming the set and the file"

# Walk-forward: one strategy, then the comparison on the same folds.
expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
WF=(--symbol BTCUSDT --interval 1h --days 330 --mode quick --quick-folds 2 --train-window-days 120
    --test-period-days 30 "${FAST[@]}")
expect_exit_any() { set +e; OUT=$("$@" 2>&1); RC=$?; set -e; }
expect_exit_any "$BIN" validate --strategy ensemble "${WF[@]}"
[[ $RC == 0 || $RC == 3 ]] || fail "validate --strategy ensemble exited $RC: $OUT"
rep=$(ls -d "$TRADEML_HOME"/reports/*-quick-*/ | tail -1)
python3 - "$rep/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["parameters"]["strategy"] == "ensemble", r["parameters"].get("strategy")
assert len(r["folds"]) == 2
PY
expect_exit_any "$BIN" validate --compare xgb5,lstm,ensemble "${WF[@]}"
[[ $RC == 0 ]] || fail "validate --compare exited $RC: $OUT"
expect_out '^  direction\.logloss +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+  (xgb5|lstm|ensemble)$'
expect_out '^fits on whole folds: xgb5 2, lstm 2, ensemble 2 \(2 folds'
expect_out '^verdict   ensemble is (worse than|at least as good as) its better member (xgb5|lstm) on direction: [0-9.]+ vs [0-9.]+ \(mean out-of-sample log loss'
expect_out '^          ensemble is (worse than|at least as good as) its better member (xgb5|lstm) on stop_loss: [0-9.]+ vs [0-9.]+ \(mean out-of-sample RMSE'
cmpdir=$(ls -d "$TRADEML_HOME"/reports/*-compare-*/)
python3 - "$cmpdir/compare.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert [s["name"] for s in c["strategies"]] == ["xgb5", "lstm", "ensemble"], c["strategies"]
row = [r for r in c["heads"]["direction"] if r["metric"] == "direction.logloss"][0]
assert set(row["strategies"]) == {"xgb5", "lstm", "ensemble"} and row["best"] in ("xgb5", "lstm", "ensemble"), row
# the ensemble against the better of its members, head by head, consistent with the means above
vs = c["ensemble_vs_members"]
assert [v["head"] for v in vs] == ["direction", "volatility", "timing", "stop_loss", "position_size"], vs
for v in vs:
    rows = [r for r in c["heads"][v["head"]] if r["metric"] == v["metric"]][0]["strategies"]
    best = min(("xgb5", "lstm"), key=lambda s: rows[s]["mean"])
    assert v["better_member"] == best and v["ensemble_value"] == rows["ensemble"]["mean"], (v, rows)
    assert v["at_least_as_good"] == (rows["ensemble"]["mean"] <= rows[best]["mean"]), (v, rows)
    assert v["statement"].startswith("ensemble is " + ("at least as good as" if v["at_least_as_good"] else "worse than")), v
PY
grep -q "Ensemble against the better of its members" "$cmpdir/compare.html" || fail "compare.html lacks the ensemble verdicts"
grep -q "Strategies on the same walk-forward folds" "$cmpdir/compare.html" || fail "compare.html lacks its title"
expect_exit 2 "$BIN" validate --compare xgb5,nope "${WF[@]}"
expect_out "unknown strategy 'nope'"
expect_exit 2 "$BIN" validate --compare xgb5 "${WF[@]}"
expect_out "takes 2 to"
ok "validate --compare xgb5,lstm,ensemble: the same folds side by side, xgb5 and lstm fitted once per fold, the ensemble judged against its better member"
finish
