#!/usr/bin/env bash
# The prediction C ABI on real data (BTCUSDT 15m, the last ~40 days): a model is trained in a home
# whose store lacks the last N candles (PART); a copy of it gets those candles too (FULL).
#   abi_predictor.sh c       tests/abi/predictor_client (C, only the public header): error paths;
#                            pushing the N candles into PART gives bit for bit FULL's prediction
#   abi_predictor.sh python  examples/python/predict_ctypes.py (ctypes only) gives the same floats as
#                            the C client, and equals `trademl predict` (to its printed precision)
source "$(dirname "$0")/../e2e/lib/common.sh"
mode=${1:?usage: abi_predictor.sh c|python}
need_data bybit-linear/BTC_USDT_USDT-15m-futures.csv
LIB=${TML_PREDICTOR_LIB:?TML_PREDICTOR_LIB must point to libtrademl_predictor.so}
CLIENT=${TML_PREDICTOR_CLIENT:?TML_PREDICTOR_CLIENT must point to predictor_client}
if [[ $mode == python ]]; then
  command -v python3 >/dev/null || { echo "SKIP: python3 is missing"; exit 77; }
  if [[ -n ${TML_SANITIZE:-} ]]; then
    echo "SKIP: a sanitizer build's shared library cannot be loaded by an uninstrumented python3 (release build runs it)"
    exit 77
  fi
fi
N=5
csv=$DATA/bybit-linear/BTC_USDT_USDT-15m-futures.csv
{ head -1 "$csv"; tail -n 4000 "$csv"; } >"$WORK/full.csv"
head -n $((4001 - N)) "$WORK/full.csv" >"$WORK/part.csv"
PART=$WORK/part FULL=$WORK/full
expect_exit 0 "$BIN" --home "$PART" data import "$WORK/part.csv" --symbol BTCUSDT --interval 15m
expect_exit 0 "$BIN" --home "$PART" train --symbol BTCUSDT --interval 15m --num-boost-round 10 --threads 1
expect_exit 0 "$BIN" --home "$PART" models list --json
grep -q '"active":true' <<<"$OUT" || fail "the trained model is not active: $OUT"
cp -a "$PART" "$FULL"
expect_exit 0 "$BIN" --home "$FULL" data import "$WORK/full.csv" --symbol BTCUSDT --interval 15m

expect_exit 0 "$CLIENT" "$FULL" "$PART" BTCUSDT 15m "$WORK/full.csv" $N
c_json=$OUT
if [[ $mode == c ]]; then
  ok "C client (public header only): error paths; $N pushed candles give FULL's prediction bit for bit"
  finish
  exit 0
fi
expect_exit 0 python3 "$SRC/examples/python/predict_ctypes.py" --lib "$LIB" --home "$PART" --symbol BTCUSDT \
  --interval 15m --push "$WORK/full.csv" --last $N
py_json=$OUT
expect_exit 0 "$BIN" --home "$FULL" predict --symbol BTCUSDT --interval 15m
cli_json=$OUT
python3 - "$c_json" "$py_json" "$cli_json" <<'PY' || fail "predictions differ:
C:      $c_json
python: $py_json
CLI:    $cli_json"
import json, sys, datetime
c, py, cli = (json.loads(x) for x in sys.argv[1:4])
assert py["candle_open_ms"] == c["candle_open_ms"], (py["candle_open_ms"], c["candle_open_ms"])
opened = datetime.datetime.strptime(cli["candle_open_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
assert int(opened.timestamp() * 1000) == py["candle_open_ms"], (cli["candle_open_time"], py["candle_open_ms"])
assert py["model_version"] == c["model_version"] == cli["model"]["version"]
for head, want in cli["predictions"].items():
    got, cc = py["predictions"][head], c["predictions"][head]
    if "value" in want:
        assert float("%.9g" % got["value"]) == cc["value"], (head, got, cc)        # python == C (exact float)
        assert float("%.6g" % got["value"]) == want["value"], (head, got, want)   # == trademl predict (%.6g)
    else:
        assert got["class"] == cc["class"] == want["class"], (head, got, want)
        for k, p in want["probabilities"].items():
            assert float("%.9g" % got["probabilities"][k]) == cc["probabilities"][k], (head, k, got, cc)
            assert "%.6f" % got["probabilities"][k] == "%.6f" % p, (head, k, got, want)
PY
ok "python ctypes example: same floats as the C client, equal to trademl predict for the same candle"
finish
