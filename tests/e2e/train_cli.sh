#!/usr/bin/env bash
# ctest-labels: heavy
# trademl train / predict / features end to end on real SOLUSDT 5m candles: the seed job, determinism,
# multi-symbol mode, dry run, interruption, and every bad-input path of the issue.
source "$(dirname "$0")/lib/common.sh"
need_data bybit-linear/SOLUSDT_5m.csv binance-spot/BTCUSDT_1h_2021-2026.csv binance-spot/ETHUSDT_1h_2021-2026.csv

expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
FAST=(--num-boost-round 60 --early-stopping-rounds 10)

# The seed workflow: five heads on the last 30 days.
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 "${FAST[@]}"
expect_out '^save +.*/models/xgb5/SOLUSDT/5m/[0-9]{8}T[0-9]{6}Z'
expect_out 'direction +[0-9]+ +0\.[0-9]+'
set1=$(ls -d "$TRADEML_HOME"/models/xgb5/SOLUSDT/5m/*/)
[[ $(wc -l <<<"$set1") -eq 1 ]] || fail "expected one model set, got: $set1"
for h in direction volatility timing stop_loss position_size; do
  [[ -s $set1/${h}_model.json ]] || fail "missing ${h}_model.json"
  head -1 "$set1/${h}_feature_importance.csv" | grep -q '^feature,gain,weight,cover$' || fail "bad importance csv"
done
python3 - "$set1/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["symbols"] == ["SOLUSDT"] and m["interval"] == "5m", m["symbols"]
assert m["feature_set"]["nfeatures"] >= 60 and len(m["feature_set"]["checksum"]) >= 8
d = m["data"]
assert d["train_rows"] > 1000 and d["valid_rows"] > 0 and d["purged_rows"] >= 12, d
assert set(m["heads"]) == {"direction", "volatility", "timing", "stop_loss", "position_size"}
for h in ("direction", "volatility", "timing"):
    met = m["heads"][h]["metrics"]
    assert 0 <= met["accuracy"] <= 1 and met["logloss"] > 0, met
assert "rmse" in m["heads"]["stop_loss"]["metrics"]
assert len(m["heads"]["direction"]["top_features"]) == 10
assert m["parameters"]["xgboost"]["max_bin"] == 64, m["parameters"]  # the default
PY
ok "seed job writes five heads, importance and metadata"

# Determinism: the same data, config and seed give byte-identical model files.
sleep 1
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 "${FAST[@]}" --threads 1
set2=$(ls -d "$TRADEML_HOME"/models/xgb5/SOLUSDT/5m/*/ | tail -1)
[[ "$set1" != "$set2" ]] || fail "second run did not create a new version"
for h in direction volatility timing stop_loss position_size; do
  cmp -s "$set1/${h}_model.json" "$set2/${h}_model.json" || fail "$h model differs between runs (threads 2 vs 1)"
done
ok "byte-identical model files across runs and thread counts"

# predict: JSON for the latest closed candle; --now cuts the still-forming candle.
expect_exit 0 "$BIN" predict --symbol SOLUSDT --interval 5m --now 2024-12-20T00:02:00Z
python3 - <<PY
import json
p = json.loads('''$OUT''')
assert p["candle_open_time"] == "2024-12-19T23:55:00Z", p["candle_open_time"]
assert set(p["predictions"]) == {"direction", "volatility", "timing", "stop_loss", "position_size"}
pr = p["predictions"]["direction"]["probabilities"]
assert abs(sum(pr.values()) - 1) < 1e-4, pr
assert 0.5 <= p["predictions"]["stop_loss"]["value"] <= 5.5
PY
ok "predict prints five predictions for the latest closed candle"

# features export, model features and TA-Lib-named indicators.
expect_exit 0 "$BIN" features --symbol SOLUSDT --interval 5m --out feats.csv
head -1 feats.csv | grep -q '^open_time,' || fail "features header"
[[ $(wc -l <feats.csv) -gt 7000 ]] || fail "features rows"
expect_exit 0 "$BIN" features --symbol SOLUSDT --interval 5m --indicators --out ind.csv
head -1 ind.csv | grep -q 'RSI_14' || fail "indicator header lacks RSI_14"
ok "features and indicators export"

# Dry run: statistics, nothing written.
before=$(ls "$TRADEML_HOME/models/xgb5/SOLUSDT/5m" | wc -l)
expect_exit 0 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --dry-run
expect_out 'dry run: nothing trained'
[[ $(ls "$TRADEML_HOME/models/xgb5/SOLUSDT/5m" | wc -l) -eq $before ]] || fail "dry run wrote a model set"
ok "dry run writes nothing"

# Bad input: clear messages, non-zero exits, nothing written.
expect_exit 1 "$BIN" train --symbol DOGEUSDT --interval 5m
expect_out "no 5m candles for DOGEUSDT"
expect_exit 1 "$BIN" train --symbol SOLUSDT --interval 15m
expect_out "stored intervals: 5m"
expect_exit 2 "$BIN" train --symbol SOLUSDT --interval 7m
expect_out "--interval: expected an interval .*got '7m'"
expect_exit 1 "$BIN" train --symbol SOLUSDT --interval 5m --days 2
expect_out "not enough data for SOLUSDT 5m: [0-9]+ usable rows.*needs [0-9]+ rows"
touch notadir
expect_exit 1 "$BIN" train --symbol SOLUSDT --interval 5m --days 30 --models-dir notadir/models
expect_out "models folder 'notadir/models' is not usable"
expect_exit 2 "$BIN" train --symbol 'SOL;DROP' --interval 5m
expect_out "--symbol: expected a list of symbols.*got 'SOL;DROP'"
[[ $(ls "$TRADEML_HOME/models/xgb5/SOLUSDT/5m" | wc -l) -eq $before ]] || fail "a failed run wrote a model set"
ok "bad input rejected with clear messages"

# Interrupted training (SIGINT) leaves no model folder and no temporary folder.
"$BIN" train --symbol SOLUSDT --interval 5m --num-boost-round 5000 --early-stopping-rounds 5000 >int.log 2>&1 &
pid=$!
sleep 3
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[[ $rc -eq 130 ]] || fail "interrupted train exited $rc, expected 130: $(cat int.log)"
grep -q "interrupted" int.log || fail "no interruption message: $(cat int.log)"
[[ $(ls -A "$TRADEML_HOME/models/xgb5/SOLUSDT/5m" | wc -l) -eq $before ]] || fail "interrupt left files: $(ls -A "$TRADEML_HOME/models/xgb5/SOLUSDT/5m")"
ok "Ctrl-C leaves no partial model folder"

# Corrupt and incompatible model sets are refused on predict.
cp -r "${set2%/}" corrupt
head -c 100 "$set2/direction_model.json" >corrupt/direction_model.json
expect_exit 2 "$BIN" predict --symbol SOLUSDT --interval 5m --model corrupt
expect_out "corrupt/direction_model.json"
cp -r "${set2%/}" other
sed -i 's/"checksum": "[0-9a-f]*"/"checksum": "0000000000000000"/' other/metadata.json
expect_exit 2 "$BIN" predict --symbol SOLUSDT --interval 5m --model other
expect_out "feature set checksum 0000000000000000"
rm other/timing_model.json
expect_exit 1 "$BIN" predict --symbol SOLUSDT --interval 5m --model missing-dir
expect_out "does not exist"
ok "corrupt, missing and incompatible model sets refused"

# Multi-symbol mode: one shared set with one-hot symbol columns; predict finds it for either symbol.
expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
expect_exit 0 "$BIN" data import "$DATA/binance-spot/ETHUSDT_1h_2021-2026.csv" --symbol ETHUSDT --interval 1h
expect_exit 0 "$BIN" train --symbol BTCUSDT ETH/USDT --interval 1h --days 365 --training-mode multi_symbol \
  --symbol-encoding one_hot "${FAST[@]}" --max-bin 32 --json
python3 - <<PY
import json
r = json.loads('''$OUT''')
assert r["symbols"] == ["BTCUSDT", "ETHUSDT"], r["symbols"]
assert "/MULTI-" in r["model_dir"], r["model_dir"]
m = json.load(open(r["model_dir"] + "/metadata.json"))
assert m["symbol_encoding"] == "one_hot" and m["feature_set"]["columns"][-2:] == ["sym_BTCUSDT", "sym_ETHUSDT"]
assert m["parameters"]["xgboost"]["max_bin"] == 32, m["parameters"]  # train --max-bin, as validate takes it
d = m["data"]
assert 2 * 300 * 24 < d["rows"] <= 2 * 366 * 24, d["rows"]
PY
expect_exit 0 "$BIN" predict --symbol ETHUSDT --interval 1h --now 2026-01-01T00:00:00Z
expect_out '"symbol":"ETHUSDT"'
expect_out 'MULTI-'
ok "multi-symbol set with one-hot encoding"
finish
