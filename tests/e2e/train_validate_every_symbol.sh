#!/usr/bin/env bash
# `trademl train` and `validate` without --symbol work on every symbol of data.symbols, or every symbol
# stored at the interval when that is empty (docs/config.md); one failing symbol does not stop the others,
# and the exit code is non-zero naming it.
source "$(dirname "$0")/lib/common.sh"
need_data binance-spot/BTCUSDT_1h_2021-2026.csv binance-spot/ETHUSDT_1h_2021-2026.csv binance-spot/SOLUSDT_1h_2021-2026.csv

head -4001 "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" >btc.csv
head -4001 "$DATA/binance-spot/ETHUSDT_1h_2021-2026.csv" >eth.csv
head -301 "$DATA/binance-spot/SOLUSDT_1h_2021-2026.csv" >sol.csv   # too short to train: must fail, named
for s in btc:BTCUSDT eth:ETHUSDT sol:SOLUSDT; do
  expect_exit 0 "$BIN" data import "${s%%:*}.csv" --symbol "${s##*:}" --interval 1h
done

# Nothing stored at 15m: the error says what is stored and how to fix it.
expect_exit 2 "$BIN" train --no-fetch --dry-run
expect_out 'no symbol given and the store holds no 15m candles \(stored: BTCUSDT 1h, ETHUSDT 1h, SOLUSDT 1h\)'
expect_out 'pass --symbol SYMBOL'
ok "no symbol and nothing stored at the interval: usage error naming what is stored"

# Every stored symbol at 1h; SOLUSDT fails, the other two still run; exit 1 naming SOLUSDT.
expect_exit 1 "$BIN" train --interval 1h --no-fetch --days 0 --num-boost-round 10
expect_out '^no symbol given: training each of the 3 symbols stored at 1h'
expect_out '^training BTCUSDT 1h'
expect_out '^training ETHUSDT 1h'
expect_out '^training SOLUSDT 1h'
expect_out 'trademl: error: SOLUSDT: not enough data'
expect_out 'trademl: error: 1 of 3 symbols failed: SOLUSDT'
n=$(ls -d "$TRADEML_HOME"/models/xgb5/*/1h/*/ | wc -l)
[[ $n -eq 2 ]] || fail "expected model sets for BTCUSDT and ETHUSDT, got $n"
[[ -d $(echo "$TRADEML_HOME"/models/xgb5/ETHUSDT/1h/*/) ]] || fail "ETHUSDT was not trained"
ok "train without --symbol trains every stored symbol, goes on past a failure and names it"

# data.symbols wins over the store; JSON lists one entry per symbol.
TRADEML_DATA_SYMBOLS=ETHUSDT,BTC/USDT expect_exit 0 "$BIN" train --interval 1h --no-fetch --dry-run --json
python3 - <<PY
import json
r = json.loads('''$OUT''')
assert [e["symbols"] for e in r] == [["ETHUSDT"], ["BTCUSDT"]], r
PY
ok "train without --symbol uses data.symbols when set"

TRADEML_DATA_SYMBOLS=ETHUSDT,SOLUSDT expect_exit 1 "$BIN" train --interval 1h --no-fetch --dry-run --json
python3 - <<PY
import json
r = json.loads('''$(grep -v '^trademl:' <<<"$OUT")''')
assert r[0]["symbols"] == ["ETHUSDT"] and "result" in r[0], r[0]
assert r[1]["symbols"] == ["SOLUSDT"] and "not enough data" in r[1]["error"], r[1]
PY
ok "train --json records the failed symbol with its error"

# validate: each stored symbol in turn; gates that fail give 3 only when nothing errored.
V=(--interval 1h --mode full --min-train-days 60 --test-period-days 30 --num-boost-round 10)
expect_exit 1 "$BIN" validate "${V[@]}"
expect_out '^no symbol given: validating each of the 3 symbols stored at 1h'
expect_out '^validating BTCUSDT 1h, mode full'
expect_out '^validating ETHUSDT 1h, mode full'
expect_out 'trademl: error: SOLUSDT: too little data for one fold'
expect_out 'trademl: error: 1 of 3 symbols failed: SOLUSDT'
ok "validate without --symbol validates every stored symbol and names the one that failed"

TRADEML_DATA_SYMBOLS=BTCUSDT,ETHUSDT expect_exit 3 "$BIN" validate "${V[@]}" --gate 'direction.accuracy>0.99'
expect_out 'verdict: gate not passed for 2 of 2 symbols: BTCUSDT, ETHUSDT'
TRADEML_DATA_SYMBOLS=BTCUSDT,ETHUSDT expect_exit 0 "$BIN" validate "${V[@]}" --gate 'direction.accuracy>0.01'
expect_out 'validated 2 of 2 symbols: every gate passed'
ok "validate over several symbols: exit 3 naming the symbols whose gate failed, 0 when all pass"
finish
