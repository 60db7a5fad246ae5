#!/usr/bin/env bash
# ctest-labels: heavy
# trademl train / predict with the native engine (--engine native, training.engine): the seed job,
# byte-identical models across runs and thread counts, metadata naming the engine, predict through
# the engine recorded in metadata.json, and a native set whose head file is XGBoost's or corrupt
# refused by name. An unknown engine is a usage error.
source "$(dirname "$0")/lib/common.sh"
need_data bybit-linear/SOLUSDT_5m.csv binance-spot/BTCUSDT_1h_2021-2026.csv

expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
FAST=(--num-boost-round 60 --early-stopping-rounds 10)

expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 "${FAST[@]}" --engine native
set1=$(ls -d "$TRADEML_HOME"/models/xgb5/SOLUSDT/5m/*/)
for h in direction volatility timing stop_loss position_size; do
  grep -q '"format":"trademl-gbdt"' "$set1/${h}_model.json" || fail "$h is not a native model file"
  head -1 "$set1/${h}_feature_importance.csv" | grep -q '^feature,gain,weight,cover$' || fail "bad importance csv"
done
python3 - "$set1/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["engine"] == "native", m.get("engine")
for h in ("direction", "volatility", "timing"):
    met = m["heads"][h]["metrics"]
    assert 0 <= met["accuracy"] <= 1 and met["logloss"] > 0, met
assert len(m["heads"]["direction"]["top_features"]) == 10
PY
ok "train --engine native writes native heads and records the engine"

sleep 1
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 "${FAST[@]}" --engine native --threads 1
set2=$(ls -d "$TRADEML_HOME"/models/xgb5/SOLUSDT/5m/*/ | tail -1)
[[ "$set1" != "$set2" ]] || fail "second run did not create a new version"
for h in direction volatility timing stop_loss position_size; do
  cmp -s "$set1/${h}_model.json" "$set2/${h}_model.json" || fail "$h native model differs between runs"
done
ok "byte-identical native model files across runs and thread counts"
python3 - "$set2/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
t = m["timings"]
secs = [m["heads"][h]["seconds"] for h in m["heads"]]
# one thread: the heads train together (in lockstep) and each head's seconds are its own share of
# the fit, so they add up to the fit's wall time (times since the start of the fit would add up to
# about five times it)
assert all(s > 0 for s in secs), secs
assert sum(secs) <= t["train_s"] * 1.05 + 0.05, (secs, t)
assert abs(t["xgboost_s"] - sum(secs)) < 0.02, (t, secs)
PY
ok "each head's seconds are its own time (one thread: they add up to the training wall time)"

expect_exit 0 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
python3 - <<PY
import json
p = json.loads('''$OUT''')
assert p["candle_open_time"] == "2024-12-19T23:55:00Z", p["candle_open_time"]
pr = p["predictions"]["direction"]["probabilities"]
assert abs(sum(pr.values()) - 1) < 1e-4, pr
assert 0.5 <= p["predictions"]["stop_loss"]["value"] <= 5.5
PY
ok "predict uses the native heads of the newest set"

# models export: the native set's heads as XGBoost JSON. Put into a copy of the set that names the
# xgboost engine (a newer version), `predict` through libxgboost must give the native predictions.
native_pred=$OUT
id=$("$BIN" models list --all --json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
rows = rows["models"] if isinstance(rows, dict) else rows
print(max(r["id"] for r in rows))')
expect_exit 0 "$BIN" models export "$id" --format xgboost-json --out "$WORK/export"
for h in direction volatility timing stop_loss position_size; do
  grep -q '"gradient_booster"' "$WORK/export/${h}_model.xgboost.json" || fail "$h export is not XGBoost JSON"
done
copy=${set2%/}-xgb
cp -r "$set2" "$copy"
for h in direction volatility timing stop_loss position_size; do
  cp "$WORK/export/${h}_model.xgboost.json" "$copy/${h}_model.json"
done
python3 - "$copy/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["engine"] = "xgboost"; json.dump(m, open(sys.argv[1], "w"))
PY
expect_exit 0 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
python3 - "$native_pred" "$OUT" <<'PY'
import json, sys
a, b = (json.loads(x)["predictions"] for x in sys.argv[1:3])
for h in a:
    va, vb = a[h], b[h]
    if "probabilities" in va:
        for k in va["probabilities"]:
            assert abs(va["probabilities"][k] - vb["probabilities"][k]) < 1e-5, (h, k, va, vb)
    else:
        assert abs(va["value"] - vb["value"]) < 1e-5, (h, va, vb)
PY
rm -rf "$copy"
expect_exit 2 "$BIN" models export "$id" --format onnx --out "$WORK/x"
expect_out "use --format xgboost-json"
ok "models export writes XGBoost JSON that predicts like the native heads"

# The newest set's direction head replaced by an XGBoost file, then by a truncated one.
cp "$set2/direction_model.json" "$WORK/direction.bak"
echo '{"learner":{"attributes":{}},"version":[1,7,4]}' >"$set2/direction_model.json"
expect_exit 2 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
expect_out "direction_model.json' is corrupt or not a native trademl model: an XGBoost model"
head -c 300 "$WORK/direction.bak" >"$set2/direction_model.json"
expect_exit 2 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
expect_out "direction_model.json' is corrupt or not a native trademl model: not JSON"
ok "a native set with another engine's or a truncated head file is refused, naming the file"

expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --engine lightgbm
expect_out "engine"
expect_out "xgboost"
expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --engine native --max-bin 300
expect_out "max_bin 300 is out of range 2..255"
expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --engine native --max-leaves 5000
expect_out "max_leaves 5000 is out of range 0..4096"
expect_out "--max-leaves"
expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --max-leaves -1
expect_out "training.max_leaves"
expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --max-depth 0
expect_out "max_depth 0"
expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --grow-policy bestfirst
expect_out "depthwise"
ok "unknown engine and native-only parameter limits are usage errors"

# max_leaves / grow_policy reach both engines and are recorded with the set.
for engine in native xgboost; do
  sleep 1
  expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 "${FAST[@]}" --engine $engine \
    --max-depth 0 --max-leaves 9 --grow-policy lossguide
  set3=$(ls -d "$TRADEML_HOME"/models/xgb5/SOLUSDT/5m/*/ | tail -1)
  python3 - "$set3/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
s = json.dumps(m)
assert '"max_leaves": 9' in s and '"grow_policy": "lossguide"' in s and '"max_depth": 0' in s, s[:2000]
# native_histogram is a native engine parameter: an XGBoost set does not claim one
assert ('native_histogram' in s) == (m["engine"] == "native"), (m["engine"], s[:2000])
PY
done
ok "max_leaves and grow_policy train both engines and are recorded in metadata.json"

# --native-histogram: double slots (XGBoost's accumulators) instead of the float default reach the
# engine (other model bytes than the float set1 with the same parameters) and are recorded; a bad
# value is a usage error naming the choices.
sleep 1
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 "${FAST[@]}" --engine native --native-histogram double
set4=$(ls -d "$TRADEML_HOME"/models/xgb5/SOLUSDT/5m/*/ | tail -1)
grep -q '"native_histogram": *"double"' "$set4/metadata.json" || fail "metadata.json does not record native_histogram double"
grep -q '"native_histogram": *"float"' "$set1/metadata.json" || fail "metadata.json of the default set does not record float"
cmp -s "$set1/volatility_model.json" "$set4/volatility_model.json" && fail "double histograms gave the float model's bytes"
expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --engine native --native-histogram half
expect_out "float, double"
ok "--native-histogram double reaches the native engine and is recorded; a bad value is refused"

# validate --compare-engines: the same folds once per engine, side by side, both reports written.
expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
expect_exit 0 "$BIN" validate --symbol BTCUSDT --interval 1h --mode quick --quick-folds 2 --num-boost-round 20 \
  --early-stopping-rounds 5 --compare-engines
expect_out '^quick: 2 folds \(reports '
expect_out '^  direction\.accuracy +0\.[0-9]{4} +0\.[0-9]{4} +0\.[0-9]{4} +[0-9.]+ (ok|beyond 1/6)$'
expect_out '^  [0-9]+ of 11 within a sixth of XGBoost'
expect_out '^process CPU: xgboost [0-9.]+ s, native [0-9.]+ s'
engines=$(for r in "$TRADEML_HOME"/reports/*-quick-*/report.json; do
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["parameters"]["engine"])' "$r"; done | sort | tr '\n' ' ')
[[ $engines == "native xgboost " ]] || fail "expected one report per engine, got: $engines"
expect_exit 2 "$BIN" validate --symbol BTCUSDT --interval 1h --compare-engines --json
expect_out "drop --json"
ok "validate --compare-engines runs both engines on the same folds"
finish
