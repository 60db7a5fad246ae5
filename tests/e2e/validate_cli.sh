#!/usr/bin/env bash
# ctest-labels: heavy
# trademl validate / report end to end on real BTCUSDT 1h candles: fold table, gate verdicts and exit
# codes, contradictory options, too little data, identical reports for 1 and 2 threads, sequential
# mode attaching the report to the final model set, and Ctrl-C leaving nothing half-written.
source "$(dirname "$0")/lib/common.sh"
need_data binance-spot/BTCUSDT_1h_2021-2026.csv

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
FAST=(--num-boost-round 30 --early-stopping-rounds 5 --max-bin 32 --learning-rate 0.1 --min-train-rows 500)
QUICK=(--symbol BTCUSDT --interval 1h --mode quick --quick-folds 3 --test-period-days 30 --train-window-days 90)

# Usage and contradictions: exit 2 with the reason.
expect_exit 2 "$BIN" validate --interval 4h   # no --symbol and nothing stored at 4h
expect_out 'no symbol given and the store holds no 4h candles \(stored: BTCUSDT 1h\)'
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --mode full --train-window-days 100
expect_out 'train_window_days .*expanding window'
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --mode full --window fixed
expect_out 'needs validation.train_window_days'
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --mode quick --min-train-days 50 --train-window-days 90
expect_out "min_train_days .* and validation.train_window_days .* both set the quick stage's fixed window"
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --mode full --train-window-days 90
expect_out 'train_window_days .* applies to a fixed window, but the full stage uses an expanding window'
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --test-period-days 1 --horizon 30
expect_out 'not longer than the label horizon'
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --gate 'direction.acuracy>0.5'
expect_out "unknown metric 'direction.acuracy'"
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --mode weekly
expect_exit 1 "$BIN" validate --symbol BTCUSDT --interval 1h --mode full --min-train-days 3000
expect_out 'too little data for one fold.*3021 days'
expect_exit 1 "$BIN" validate --symbol ETHUSDT --interval 1h
expect_out 'no 1h candles for ETHUSDT'
[[ ! -e $TRADEML_HOME/reports ]] || [[ -z $(ls -A "$TRADEML_HOME/reports") ]] || fail "a failed run left a report"
ok "usage errors, contradictions and too little data"

# Default gates (accuracy > 0.60 ...) fail on honest BTC data: exit 3, a clear verdict, reports written.
expect_exit 3 "$BIN" validate "${QUICK[@]}" "${FAST[@]}" --threads 1
expect_out '^quick: 3 folds \(UTC days\)'
expect_out '^  1 +[0-9]{4}-[0-9]{2}-[0-9]{2} '
expect_out 'direction.accuracy > 0.6 +mean +0\.[0-9]+  FAILED'
expect_out 'verdict: gate not passed in the quick stage'
r1=$(ls -d "$TRADEML_HOME"/reports/*/)
[[ $(wc -l <<<"$r1") -eq 1 && -s $r1/report.json && -s $r1/report.html ]] || fail "expected one report, got: $r1"
ok "failing gate: exit 3 with the verdict and the report"

sleep 1
expect_exit 3 "$BIN" validate "${QUICK[@]}" "${FAST[@]}" --threads 2
r2=$(ls -d "$TRADEML_HOME"/reports/*/ | grep -v "^$r1$")
python3 - "$r1/report.json" "$r2/report.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for r in (a, b):
    for k in ("run", "created_at", "report_id"):
        r.pop(k)
assert a == b, "reports differ between --threads 1 and 2"
assert len(a["folds"]) == 3 and a["stage"] == "quick" and a["passed"] is False
xp = a["parameters"]["xgboost"]  # the XGBoost flags validate shares with train reach the folds' heads
assert (xp["max_bin"], xp["eta"], xp["num_boost_round"]) == (32, 0.1, 30), xp
for f in a["folds"]:
    fit, stop, test = (f["row_ranges"][k] for k in ("fit", "stop", "test"))
    assert fit[1] <= stop[0] and stop[1] <= test[0], f["row_ranges"]
    assert f["metrics"]["rows.purged"] >= 24, f["metrics"]
for h in ("direction", "volatility", "timing"):
    assert 0 < a["summary"][h + ".accuracy"]["mean"] < 1
    assert a["summary"][h + ".accuracy"]["baseline"] is not None
assert "stop_loss.rmse" in a["summary"] and "position_size.r2" in a["summary"]
assert len(a["equity"]["time"]) == len(a["equity"]["signals"]) == len(a["equity"]["buy_and_hold"]) > 10
assert len(a["importance"]["top"]) == 20
assert [g["rule"] for g in a["gates"]] == ["direction.recall.up > 0.35", "direction.accuracy > 0.6",
                                          "direction.roc_auc.up > 0.61", "direction.f1.up > 0.45"]
PY
ok "identical report.json for --threads 1 and 2 (timings aside)"

expect_exit 0 "$BIN" report list
expect_out 'quick +3 +gate not passed'
id=$(basename "$r1")
expect_exit 0 "$BIN" report show "$id"
expect_out 'verdict +gate not passed'
expect_out "html +.*$id/report.html"
expect_exit 0 "$BIN" report show "$r1/report.json" --json
python3 -c 'import json,sys; json.loads(sys.argv[1])' "$OUT"
expect_exit 1 "$BIN" report show 20990101T000000Z-nope
expect_out 'trademl report list'
expect_exit 2 "$BIN" report frobnicate
ok "report list / show"

# Loose gates pass: exit 0; sequential trains the final set with the report attached.
expect_exit 0 "$BIN" validate "${QUICK[@]}" "${FAST[@]}" --gate 'direction.accuracy>0.2' --json
python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["verdict"]=="passed" and j["stages"][0]["passed"], j' "$OUT"
expect_exit 0 "$BIN" validate --symbol BTCUSDT --interval 1h --mode sequential --days 420 --quick-folds 2 \
  --test-period-days 30 --gate 'direction.accuracy>0.2' "${FAST[@]}"
expect_out '^full: [0-9]+ folds'
expect_out '^model set .*/models/xgb5/BTCUSDT/1h/'
set1=$(ls -d "$TRADEML_HOME"/models/xgb5/BTCUSDT/1h/*/)
for f in report.json report.html metadata.json direction_model.json; do
  [[ -s $set1/$f ]] || fail "final model set lacks $f"
done
grep -q '"stage":"full"' "$set1/report.json" || fail "the attached report is not the full stage's"
# The final set is registered, with the report's gate verdict, and becomes the active model.
expect_out '^registered as model [0-9]+ \(active: '
expect_exit 0 "$BIN" models list --json
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r=r if isinstance(r,list) else r["models"]; m=[x for x in r if x["active"]][0]; assert m["has_report"] and m["gates_passed"], m' "$OUT"
ok "sequential: quick -> full -> final model set with report attached, registered and active"

# Sequential with the default gates stops after quick: exit 3, no new model set.
expect_exit 3 "$BIN" validate --symbol BTCUSDT --interval 1h --mode sequential --days 420 --quick-folds 2 \
  --test-period-days 30 "${FAST[@]}"
expect_out 'sequential stopped'
[[ $(ls -d "$TRADEML_HOME"/models/xgb5/BTCUSDT/1h/*/ | wc -l) -eq 1 ]] || fail "a failed gate wrote a model set"
ok "sequential stops at a failed gate"

# Ctrl-C: exit 130, no half-written report or model.
before=$(ls "$TRADEML_HOME/reports" | wc -l)
set +e
"$BIN" validate --symbol BTCUSDT --interval 1h --mode full --num-boost-round 500 --early-stopping-rounds 50 \
  >"$WORK/int.out" 2>&1 &
pid=$!
sleep 4
kill -INT $pid
wait $pid
got=$?
set -e
[[ $got -eq 130 ]] || fail "interrupted validate exited $got: $(cat "$WORK/int.out")"
grep -q 'interrupted' "$WORK/int.out" || fail "no interruption message: $(cat "$WORK/int.out")"
[[ $(ls "$TRADEML_HOME/reports" | wc -l) -eq $before ]] || fail "interrupted run left a report"
[[ -z $(ls -A "$TRADEML_HOME/reports" | grep '^\.tmp') ]] || fail "temporary report folder left behind"
ok "Ctrl-C leaves nothing half-written"

# As a job: a validation whose gates fail is a verdict, not a crash — the job succeeds once (no retries)
# and its result carries the verdict and every gate's value.
export TRADEML_TRAINING_NUM_BOOST_ROUND=30 TRADEML_TRAINING_EARLY_STOPPING_ROUNDS=5
expect_exit 0 "$BIN" jobs submit validate --symbol BTCUSDT --interval 1h --mode quick --json
job=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["job"]["id"])' "$OUT")
expect_exit 0 "$BIN" worker --exit-when-idle
expect_exit 0 "$BIN" jobs show "$job" --json --log-lines 0
python3 - "$OUT" <<'PY' || fail "validation job: $OUT"
import json, sys
j = json.loads(sys.argv[1]); j = j.get("job", j)
assert j["status"] == "succeeded" and j["attempts"] == 1, (j["status"], j["attempts"])
assert j["result"]["verdict"] == "gate_not_passed", j["result"].get("verdict")
assert len(j["result"]["stages"][0]["gates"]) == 4
PY
# Each fold's metrics reach the job log as it finishes (the API shows them while the job runs).
log=$(ls "$TRADEML_HOME"/logs/jobs/"$job".log)
[[ $(grep -c '^fold-metrics {"stage":"quick","fold":[0-9]*,"of":[0-9]*,"metrics":{"direction.accuracy":{"value":' "$log") -ge 2 ]] ||
  fail "no per-fold metric lines in $log"
ok "a validation job with failing gates succeeds once with the verdict in its result"
finish
