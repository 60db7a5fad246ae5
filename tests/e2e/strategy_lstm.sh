#!/usr/bin/env bash
# ctest-labels: heavy
# The lstm strategy end to end on real candles (issue 14): train -> registry -> predict -> job -> API
# -> validate and validate --compare; the same seed and threads give the same model bytes; a set of
# lstm refused as xgb5; corrupted, truncated and other-feature-set model files refused naming the file;
# out-of-range settings and a sequence longer than the data are usage errors (exit 2).
source "$(dirname "$0")/lib/common.sh"
source "$(dirname "$0")/lib/server.sh"
need_data bybit-linear/SOLUSDT_5m.csv binance-spot/BTCUSDT_1h_2021-2026.csv

# Small settings through the environment (as a service would set them), so every command below is fast.
export TRADEML_LSTM_EPOCHS=2 TRADEML_LSTM_HIDDEN_SIZE=16 TRADEML_LSTM_SEQUENCE_LENGTH=32
expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m

expect_exit 0 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --days 30 --threads 2 --lstm-patience 2
set1=$(ls -d "$TRADEML_HOME"/models/lstm/SOLUSDT/5m/*/)
[[ -s $set1/lstm_model.bin && -s $set1/metadata.json ]] || fail "lstm folder lacks its files: $(ls "$set1")"
python3 - "$set1/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["strategy"] == "lstm", m["strategy"]
d = m["strategy_details"]
assert d["network"] == "lstm" and d["sequence_length"] == 32 and d["hidden_size"] == 16 and d["epochs"] == 2, d
assert d["patience"] == 2 and d["threads"] == 2, d
for h in ("direction", "volatility", "timing"):
    met = m["heads"][h]["metrics"]
    assert 0 <= met["accuracy"] <= 1 and met["logloss"] > 0, met
PY
ok "train --strategy lstm: lstm_model.bin and metadata (settings from the environment and flags)"

# Same seed, same threads: the same bytes.
expect_exit 0 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --days 30 --threads 2 --lstm-patience 2
set2=$(ls -d "$TRADEML_HOME"/models/lstm/SOLUSDT/5m/*/ | grep -v "^$set1\$")
cmp "$set1/lstm_model.bin" "$set2/lstm_model.bin" || fail "two trainings with the same seed and threads differ"
expect_exit 0 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --days 30 --threads 2 --lstm-patience 2 \
  --lstm-seed 7 --models-dir "$WORK/other"
set3=$(ls -d "$WORK"/other/lstm/SOLUSDT/5m/*/)
if cmp -s "$set1/lstm_model.bin" "$set3/lstm_model.bin"; then fail "--lstm-seed 7 gave the same model"; fi
ok "the same seed and threads give the same model bytes; another seed another model"

expect_exit 0 "$BIN" models list --strategy lstm
expect_out "lstm +SOLUSDT +5m"
expect_exit 0 "$BIN" predict --strategy lstm --symbol SOLUSDT --interval 5m
python3 - <<PY
import json
p = json.loads('''$(grep '^{' <<<"$OUT")''')
assert p["model"]["strategy"] == "lstm", p["model"]
for h in ("direction", "volatility", "timing"):
    pr = p["predictions"][h]["probabilities"]
    assert abs(sum(pr.values()) - 1) < 1e-4, pr
assert p["predictions"]["stop_loss"]["value"] > 0, p["predictions"]
PY
expect_exit 2 "$BIN" predict --strategy xgb5 --model "$set2" --symbol SOLUSDT --interval 5m
expect_out "was written by strategy 'lstm', not 'xgb5'"
ok "models list and predict --strategy lstm; an lstm set loaded as xgb5 is refused"

# Damaged model files: refused naming the file and what is wrong, never a crash.
cp "$set2/lstm_model.bin" "$WORK/good.bin"
python3 - "$set2/lstm_model.bin" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x55; open(sys.argv[1], "wb").write(b)
PY
expect_exit 2 "$BIN" predict --strategy lstm --model "$set2" --symbol SOLUSDT --interval 5m
expect_out "lstm_model.bin' is corrupt: weights checksum mismatch"
head -c 1000 "$WORK/good.bin" >"$set2/lstm_model.bin"
expect_exit 2 "$BIN" predict --strategy lstm --model "$set2" --symbol SOLUSDT --interval 5m
expect_out "lstm_model.bin' is truncated"
python3 - "$WORK/good.bin" "$set2/lstm_model.bin" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[28:44] = b"0000000000000000"                  # the feature checksum in the header
h = 0xcbf29ce484222325                          # and the header's FNV-1a 64 over bytes 0..247
for x in b[:248]:
    h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
b[248:256] = struct.pack("<Q", h)
open(sys.argv[2], "wb").write(b)
PY
expect_exit 2 "$BIN" predict --strategy lstm --model "$set2" --symbol SOLUSDT --interval 5m
expect_out "was trained on feature set 0000000000000000"
cp "$WORK/good.bin" "$set2/lstm_model.bin"
ok "a corrupted, a truncated and an other-feature-set lstm_model.bin are refused naming the file"

# Bad settings: usage errors before any work, naming the key.
expect_exit 2 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --lstm-sequence-length 5000
expect_out "lstm.sequence_length"
expect_exit 2 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --lstm-dropout 0.95
expect_out "lstm.dropout"
expect_exit 2 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --lstm-layers 0
expect_out "lstm.layers"
expect_exit 2 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --days 5 --lstm-sequence-length 4000
expect_out "lstm.sequence_length 4000 is longer than the data"
ok "out-of-range lstm settings and a sequence longer than the data exit 2 naming the key"

# A diverging fit (gradients overflow through a 2048-step window): stopped, said, nothing registered.
before=$(ls "$TRADEML_HOME"/models/lstm/SOLUSDT/5m/ | wc -l)
expect_exit 0 "$BIN" models list --strategy lstm --json
registered=$OUT
expect_exit 1 "$BIN" train --strategy lstm --symbol SOLUSDT --interval 5m --days 30 --lstm-sequence-length 2048
expect_out "lstm training diverged at epoch 1, batch 1"
[[ $(ls "$TRADEML_HOME"/models/lstm/SOLUSDT/5m/ | wc -l) == "$before" ]] || fail "a diverged fit left a model folder"
expect_exit 0 "$BIN" models list --strategy lstm --json
ids() { python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); r=r["models"] if isinstance(r, dict) else r; print([(m["id"], m["version"], m["active"]) for m in r])'; }
[[ "$(ids <<<"$OUT")" == "$(ids <<<"$registered")" ]] || fail "a diverged fit changed the registry: $OUT"
ok "a diverging fit stops, says so, and registers nothing"

# A job trains through the same code path.
expect_exit 0 "$BIN" jobs submit train --strategy lstm --symbol SOLUSDT --interval 5m --days 20 --param lstm-epochs=1
expect_exit 0 "$BIN" worker --concurrency 1 --exit-when-idle
expect_exit 0 "$BIN" jobs list --json
python3 - <<PY
import json
jobs = json.loads('''$OUT''')
jobs = jobs["jobs"] if isinstance(jobs, dict) else jobs
assert jobs[0]["strategy"] == "lstm" and jobs[0]["status"] == "succeeded", jobs[0]
PY
ok "jobs submit train --strategy lstm: the worker trains and registers an lstm set"

start_server --no-workers
api POST /api/training/start '{"symbol":"SOL/USDT","timeframe":"M5","strategy_type":"lstm"}'
expect_code 201
job=$(jget '["job_id"]')
api GET "/api/training/jobs/$job"
[[ $(jget '["strategy"]') == lstm ]] || fail "job $job strategy is not lstm: $BODY"
api GET "/api/predict/SOLUSDT?interval=5m&strategy=lstm"
expect_code 200
[[ $(jget '["model"]["strategy"]') == lstm ]] || fail "API predicted with another strategy: $BODY"
stop_server
ok "API: strategy_type lstm queues an lstm job; ?strategy=lstm predicts with the lstm set"

expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
WF=(--symbol BTCUSDT --interval 1h --days 330 --mode quick --quick-folds 2 --train-window-days 120
    --test-period-days 30 --num-boost-round 30 --early-stopping-rounds 8 --max-depth 3)
expect_exit_any() { set +e; OUT=$("$@" 2>&1); RC=$?; set -e; }
expect_exit_any "$BIN" validate --strategy lstm "${WF[@]}"
[[ $RC == 0 || $RC == 3 ]] || fail "validate --strategy lstm exited $RC: $OUT"
rep=$(ls -d "$TRADEML_HOME"/reports/*-quick-*/ | tail -1)
python3 - "$rep/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["parameters"]["strategy"] == "lstm", r["parameters"].get("strategy")
assert len(r["folds"]) == 2
PY
expect_exit_any "$BIN" validate --compare xgb5,lstm "${WF[@]}"
[[ $RC == 0 ]] || fail "validate --compare exited $RC: $OUT"
cmpdir=$(ls -d "$TRADEML_HOME"/reports/*-compare-*/)
python3 - "$cmpdir/compare.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
assert [s["name"] for s in c["strategies"]] == ["xgb5", "lstm"], c["strategies"]
PY
ok "validate --strategy lstm and validate --compare xgb5,lstm on the same folds"
finish
