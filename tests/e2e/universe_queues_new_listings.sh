#!/usr/bin/env bash
# `trademl universe refresh` puts the symbols the store does not hold into the new-symbol training queue
# when model.auto_train_new_symbols is true (the default): once, with a message per symbol queued;
# reported only when it is false or with --no-queue. Against the loopback mock exchange.
source "$(dirname "$0")/lib/common.sh"
need_data binance-usdm-2025h2/BTCUSDT_15m.csv binance-usdm-2025h2/ETHUSDT_15m.csv binance-usdm-2025h2/DOGEUSDT_15m.csv
home=$WORK
source "$SRC/tests/e2e/lib/mock.sh"
trap 'mock_stop; cleanup' EXIT
usdm=$DATA/binance-usdm-2025h2
mock_start --series "bybit:linear:BTCUSDT:15m:$usdm/BTCUSDT_15m.csv" --series "bybit:linear:ETHUSDT:15m:$usdm/ETHUSDT_15m.csv" \
  --series "bybit:linear:DOGEUSDT:15m:$usdm/DOGEUSDT_15m.csv"
head -200 "$usdm/BTCUSDT_15m.csv" >btc.csv
expect_exit 0 "$BIN" data import btc.csv --symbol BTCUSDT --interval 15m

# Off: reported only, the queue stays empty.
TRADEML_MODEL_AUTO_TRAIN_NEW_SYMBOLS=false expect_exit 0 "$BIN" universe refresh --exchange bybit
expect_out '2 symbols are not in the store yet: ETHUSDT DOGEUSDT|2 symbols are not in the store yet: DOGEUSDT ETHUSDT'
expect_out 'reported only: model.auto_train_new_symbols is false'
expect_exit 0 "$BIN" universe refresh --exchange bybit --no-queue
expect_out 'reported only: --no-queue'
expect_exit 0 "$BIN" queue list
expect_out '^0 queued'
ok "auto_train_new_symbols false (or --no-queue): new listings reported, nothing queued"

# On (the default): each new listing queued once, one message each.
expect_exit 0 "$BIN" universe refresh --exchange bybit
expect_out '^queued ETHUSDT for training \(new listing\)'
expect_out '^queued DOGEUSDT for training \(new listing\)'
expect_out '^2 new symbols queued for training, 0 already queued'
grep -q 'queued BTCUSDT' <<<"$OUT" && fail "BTCUSDT is stored and must not be queued: $OUT"
expect_exit 0 "$BIN" queue list --json
python3 - <<PY
import json
q = json.loads('''$OUT''')["queue"]
assert sorted(e["symbol"] for e in q) == ["DOGEUSDT", "ETHUSDT"], q
PY
ok "universe refresh queues every new listing for training with a message per symbol"

expect_exit 0 "$BIN" universe refresh --exchange bybit --json
python3 - <<PY
import json
r = json.loads('''$OUT''')
assert r["auto_train_new_symbols"] is True and r["new_symbols"] == 2, r
assert r["new_symbols_queued"] == 0 and r["queued"] == [], r
PY
expect_exit 0 "$BIN" universe refresh --exchange bybit
expect_out '^0 new symbols queued for training, 2 already queued'
grep -q '^queued ' <<<"$OUT" && fail "a symbol was queued twice: $OUT"
expect_exit 0 "$BIN" queue list
expect_out '^2 queued'
ok "a second refresh queues nothing again"
finish
