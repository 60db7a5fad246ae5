#!/usr/bin/env bash
# The Bitget pipeline's train flags with their documented meaning: --days-5m N (5m candles, the last N days;
# overrides --days), --days-1h N (stored 1h candles of the last N days feed the 1h columns before the first
# 5m candle; without a stored 1h series the 1h candles come from the 5m ones), --data-dir DIR (the candle
# database lives in DIR), and --dry-run still works with them.
source "$(dirname "$0")/lib/common.sh"
need_data bybit-linear/SOLUSDT_5m.csv bybit-linear/SOL_USDT_USDT-1h-futures.csv
expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m   # 2024-12-03 .. 12-31

# --days-5m: 5m candles (data.interval 15m is the default), the last 20 days; it overrides --days.
expect_exit 0 "$BIN" train --symbol SOLUSDT --days-5m 20 --days 3 --no-fetch --dry-run
expect_out '^dry run: SOLUSDT 5m$'
expect_out 'rows 2024-12-11T16:00:00Z \.\. 2024-12-31T14:55:00Z'
expect_out 'dry run: nothing trained or written'
without=$(sed -n 's/.*dropped: \([0-9]*\) warm-up.*/\1/p' <<<"$OUT")
ok "--days-5m N trains on the last N days of 5m candles (over --days), --dry-run works"

# --days-1h without a stored 1h series: the 1h candles come from the 5m ones (nothing else changes).
expect_exit 0 "$BIN" train --symbol SOLUSDT --days-5m 20 --days-1h 60 --no-fetch --dry-run
expect_out '^context   0 stored 1h candles before the first 5m candle'
[[ $(sed -n 's/.*dropped: \([0-9]*\) warm-up.*/\1/p' <<<"$OUT") == "$without" ]] || fail "no 1h series must change nothing"
ok "--days-1h without a stored 1h series resamples the 5m candles as before"

# With a stored 1h series: the 1h candles of the last 60 days that closed before the first 5m candle warm up
# the 1h columns, so fewer 5m rows are lost to the warm-up; the rows of the window are the same.
expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOL_USDT_USDT-1h-futures.csv" --symbol SOLUSDT --interval 1h
expect_exit 0 "$BIN" train --symbol SOLUSDT --days-5m 20 --days-1h 60 --no-fetch --dry-run
n=$(sed -n 's/^context   \([0-9]*\) stored 1h candles before the first 5m candle.*/\1/p' <<<"$OUT")
# 60 days back from the last 5m candle (2024-12-31T15:55) to the first (2024-12-03T21:20): 2024-11-01T15:55 ..
[[ $n -eq 773 ]] || fail "expected the 773 1h candles 2024-11-01T16:00 .. 2024-12-03T20:00, got '$n': $OUT"
expect_out 'rows 2024-12-11T16:00:00Z \.\. 2024-12-31T14:55:00Z'
with=$(sed -n 's/.*dropped: \([0-9]*\) warm-up.*/\1/p' <<<"$OUT")
[[ $with -lt $without ]] || fail "the 1h context should shorten the warm-up ($with vs $without)"
expect_exit 0 "$BIN" train --symbol SOLUSDT --days-5m 20 --days-1h 0 --no-fetch --dry-run
expect_out 'context   [0-9]+ stored 1h candles .*--days-1h 0: all'
ok "--days-1h N feeds the stored 1h candles of the last N days before the first 5m candle"

# The metadata of a trained set records the context.
expect_exit 0 "$BIN" train --symbol SOLUSDT --days-5m 20 --days-1h 60 --no-fetch --num-boost-round 5 --json
python3 - <<PY
import json
r = json.loads('''$OUT''')
c = r["result"]["data"]["htf_context"]
assert c == {"interval": "1h", "days": 60, "candles": 773}, c
PY
ok "the model set's metadata records the 1h context used"

# Contradictions are usage errors saying what to do.
expect_exit 2 "$BIN" train --symbol SOLUSDT --days-5m 20 --interval 15m --no-fetch --dry-run
expect_out '--days-5m sets the days of 5m candles, but --interval is 15m: use --days with --interval 15m'
expect_exit 2 "$BIN" train --symbol SOLUSDT --days-1h 30 --interval 1h --no-fetch --dry-run
expect_out '--days-1h gives 1h context candles, but training on 1h uses 4h higher-timeframe candles'
expect_exit 2 "$BIN" train --symbol SOLUSDT --days-1h soon --no-fetch --dry-run
expect_out "--days-1h must be a number of days"
expect_exit 2 "$BIN" train --symbol SOLUSDT --days-5m 2.5 --no-fetch --dry-run
expect_out 'data.days from --days-5m'
ok "contradicting or malformed Bitget flags are usage errors naming the fix"

# --data-dir: where the cached candles live (DIR/trademl.db); an empty cache has no candles.
expect_exit 1 "$BIN" train --symbol SOLUSDT --days-5m 20 --data-dir "$WORK/cache" --no-fetch --dry-run
expect_out 'no 5m candles for SOLUSDT in the store'
[[ -f $WORK/cache/trademl.db ]] || fail "--data-dir did not create the database in the folder"
TRADEML_DATA_DB_PATH=$WORK/cache/trademl.db expect_exit 0 "$BIN" data import "$DATA/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
expect_exit 0 "$BIN" train --symbol SOLUSDT --days-5m 20 --data-dir "$WORK/cache" --no-fetch --dry-run
expect_out 'rows 2024-12-11T16:00:00Z'
ok "--data-dir DIR reads (and caches) candles in DIR/trademl.db"
finish
