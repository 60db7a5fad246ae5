#!/usr/bin/env bash
# End-to-end: `trademl data import|list|gaps|resample` against real files in ../shared/data, with a
# temporary --home. Checks exit codes, output and that failed imports write nothing.
set -euo pipefail
src=${TML_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data=${TRADEML_DATA_DIR:-$src/../shared/data}
bin=${TRADEML_BIN:?set TRADEML_BIN to the trademl binary}
if [[ ! -d $data/binance-spot ]]; then
  echo "SKIP: real data folder $data is missing"
  exit 77
fi
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
tml() { "$bin" --home "$home" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() { # expect_rc CODE cmd...  (stdout+stderr in $out)
  local want=$1; shift
  set +e; out=$("$@" 2>&1); local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want: $out"
}
contains() { [[ $out == *"$1"* ]] || fail "expected output to contain '$1', got: $out"; }

# The three documented commands.
expect_rc 0 tml data import "$data/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
contains "rows read 8000, inserted 8000, unchanged 0, replaced 0, skipped 0"
expect_rc 0 tml data import "$data/binance-spot/BTCUSDT_15m_2023-2026.csv" --symbol BTCUSDT --interval 15m
contains "rows read 109129, inserted 109129"
expect_rc 0 tml data import "$data/freqtrade-json/XRP_USDT_USDT-1h-futures.json.gz" --symbol XRPUSDT --interval 1h
contains "(freqtrade)"
contains "inserted 100"

# Re-import is idempotent; the interval is inferred when omitted.
expect_rc 0 tml data import "$data/bybit-linear/SOLUSDT_5m.csv" --symbol sol/usdt
contains "interval 5m inferred"
contains "inserted 0, unchanged 8000"

# list / gaps
expect_rc 0 tml data list
contains "BTCUSDT        15m      2023-01-01T00:00:00Z 2026-02-11T05:30:00Z    109129       46      2"
expect_rc 0 tml data list --json --symbol XRPUSDT
contains '"symbol":"XRPUSDT","interval":"1h"'
contains '"rows":100'
[[ $out != *SOLUSDT* ]] || fail "--symbol filter ignored: $out"
expect_rc 0 tml data gaps --symbol BTCUSDT --interval 15m
contains "2 gaps, 46 missing candles"
contains "2023-03-24T12:45:00Z 2023-03-24T13:45:00Z        5"
contains "2023-12-31T13:45:00Z 2023-12-31T23:45:00Z       41"
expect_rc 0 tml data gaps --symbol BTCUSDT --interval 15m --json
contains '"from":"2023-12-31T13:45:00Z","to":"2023-12-31T23:45:00Z"'

# resample 5m -> 1h: 8000 5m candles from 21:20 hold 666 complete hours
expect_rc 0 tml data resample --symbol SOLUSDT --from 5m --to 1h
contains "666 closed complete candles (inserted 666"
expect_rc 0 tml data resample --symbol SOLUSDT --from 5m --to 1h
contains "inserted 0, unchanged 666"

# A conflicting file fails and writes nothing; --replace overwrites.
tmp=$home/conflict.csv
printf 'open_time,open,high,low,close,volume\n1672531200000,16541.77,16544.76,16520,16520.70,1172.53835\n1700000100000,1,1,1,1,1\n' >"$tmp"
expect_rc 1 tml data import "$tmp" --symbol BTCUSDT --interval 15m
contains "BTCUSDT 15m candle at 2023-01-01T00:00:00Z is already stored with different values"
expect_rc 0 tml data list --json --symbol BTCUSDT
contains '"rows":109129'
# 1700000100000 is 2023-11-14T22:15 (present in the file): only the first row differs.
printf 'open_time,open,high,low,close,volume\n1672531200000,16541.77,16544.76,16520,16520.70,1172.53835\n' >"$tmp"
expect_rc 0 tml data import "$tmp" --symbol BTCUSDT --interval 15m --replace --json
contains '"replaced":1'

# Bad rows: rejected by default (nothing written), skipped with --skip-bad-rows.
bad=$home/bad.csv
printf 'timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,1,2,0.5,1.5,10\n2024-01-01 00:15:00,1,0.4,0.5,1.5,10\n2024-01-01 00:30:00,1,2,0.5,1.5,-1\n2024-01-01 00:45:00,1,2,0.5,1.5,3\n' >"$bad"
expect_rc 1 tml data import "$bad" --symbol ETHUSDT --interval 15m
contains "cannot import '$bad' line 3: high 0.4 is below low 0.5 (2 bad rows in all; nothing imported"
expect_rc 0 tml data list --symbol ETHUSDT
contains "no candles stored for ETHUSDT"
expect_rc 0 tml data import "$bad" --symbol ETHUSDT --interval 15m --skip-bad-rows
contains "bad row: '$bad' line 4: volume -1 is negative"
contains "rows read 4, inserted 2, unchanged 0, replaced 0, skipped 2"

# Usage errors and bad input exit 2; missing files exit 1.
expect_rc 2 tml data import "$bad" --interval 15m
contains "needs --symbol"
expect_rc 2 tml data import "$bad" --symbol 'BTC;DROP' --interval 15m
contains "invalid --symbol 'BTC;DROP'"
expect_rc 2 tml data import "$bad" --symbol BTCUSDT --interval 7m
expect_rc 2 tml data frobnicate
expect_rc 1 tml data import "$home/missing.csv" --symbol BTCUSDT --interval 15m
contains "cannot open"
expect_rc 0 tml data --help
contains "import"
expect_rc 0 tml data import --help
contains "--skip-bad-rows"
echo "data_cli: ok"
