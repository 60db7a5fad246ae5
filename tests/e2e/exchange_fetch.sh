#!/usr/bin/env bash
# End-to-end: `trademl data fetch|sync` and `trademl universe refresh` against the loopback mock
# exchange serving real files from ../shared/data. Exactness is checked by importing the source
# file afterwards: "inserted 0, unchanged N" means every candle was fetched with identical values
# (a differing value would be a conflict), and `data list` shows no extra rows.
set -euo pipefail
src=${TML_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data=${TRADEML_DATA_DIR:-$src/../shared/data}
bin=${TRADEML_BIN:?set TRADEML_BIN to the trademl binary}
if [[ ! -d $data/bybit-linear ]]; then
  echo "SKIP: real data folder $data is missing"
  exit 77
fi
home=$(mktemp -d)
trap 'mock_stop; rm -rf "$home"' EXIT
source "$src/tests/e2e/lib/mock.sh"
export TRADEML_HTTP_RATE=200 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=4
tml() { "$bin" --home "$home/var" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
  local want=$1; shift
  set +e; out=$("$@" 2>&1); local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want: $out"
}
contains() { [[ $out == *"$1"* ]] || fail "expected output to contain '$1', got: $out"; }

btc15=$data/bybit-linear/BTC_USDT_USDT-15m-futures.csv   # 73777 rows 2023-11-29 .. 2026-01-05
eth1h=$data/bybit-linear/ETH_USDT_USDT-1h-futures.csv    # 18805 rows 2023-12-18 .. 2026-02-08
sol5=$data/bybit-linear/SOLUSDT_5m.csv                   # 8000 rows 2024-12-03 .. 2024-12-31

# 1. Bybit linear 15m, the last 730 days, then the rest from the file's start (a leading gap).
mock_start --series "bybit:linear:BTCUSDT:15m:$btc15"
expect_rc 0 tml data fetch --exchange bybit --category linear --symbol BTCUSDT --interval 15m --days 730
contains "bybit linear BTCUSDT 15m: 70079 candles fetched (70079 new, 0 already stored)"
expect_rc 0 tml data fetch --exchange bybit --category linear --symbol BTCUSDT --interval 15m --since 2023-11-29
contains "3698 candles fetched (3698 new"
contains "stored: 73777 candles, 2023-11-29T00:00:00Z .. 2026-01-05T12:00:00Z"
expect_rc 0 tml data import "$btc15" --symbol BTCUSDT --interval 15m
contains "inserted 0, unchanged 73777"
# nothing is missing any more: no candle request at all (only the server clock)
mock_get /mock/reset >/dev/null
expect_rc 0 tml data fetch --exchange bybit --symbol BTCUSDT --interval 15m --since 2023-11-29
contains "0 candles fetched (0 new, 0 already stored) in 0 requests"
[[ $(mock_get /mock/stats) == *'"kline_requests":0'* ]] || fail "re-fetch asked for candles"

# 2. Bitget USDT-FUTURES 1h, the last 365 days (recent + history endpoints), then everything.
mock_start --series "bitget:USDT-FUTURES:ETHUSDT:1h:$eth1h"
expect_rc 0 tml data fetch --exchange bitget --product-type USDT-FUTURES --symbol ETHUSDT --interval 1h --days 365
contains "bitget USDT-FUTURES ETHUSDT 1h: 8759 candles fetched (8759 new"
expect_rc 0 tml data fetch --exchange bitget --product-type USDT-FUTURES --symbol ETHUSDT --interval 1h --since 2023-01-01
contains "note: the exchange has no candles before 2023-12-18T00:00:00Z (listing)"
expect_rc 0 tml data import "$eth1h" --symbol ETHUSDT --interval 1h
contains "inserted 0, unchanged 18805"

# 3. Binance spot 5m since 2024-01-01: the symbol starts on 2024-12-03 (empty windows before it).
mock_start --series "binance:spot:SOLUSDT:5m:$sol5"
expect_rc 0 tml data fetch --exchange binance --market spot --symbol SOLUSDT --interval 5m --since 2024-01-01 --json
contains '"fetched":8000,"inserted":8000'
contains '"listed_ms":1733260800000'
expect_rc 0 tml data import "$sol5" --symbol SOLUSDT --interval 5m
contains "inserted 0, unchanged 8000"
# the listing is remembered: a second fetch from 2024-01-01 does not walk the empty months again
mock_get /mock/reset >/dev/null
expect_rc 0 tml data fetch --exchange binance --symbol SOLUSDT --interval 5m --since 2024-01-01
contains "0 candles fetched"
[[ $(mock_get /mock/stats) == *'"kline_requests":0'* ]] || fail "walked the range before the listing again"
# a range that ends before the listing is refused with the listing date
expect_rc 1 tml data fetch --exchange binance --symbol SOLUSDT --interval 5m --since 2023-01-01 --until 2023-06-01
contains "binance spot SOLUSDT 5m begins at 2024-12-03T21:20:00Z: there are no candles in the range asked for"

# 4. sync: the exchange moves on. Serve only up to 2024-12-20 first, then the whole file.
home2=$home/sync; mkdir -p "$home2"
mock_start --series "bybit:spot:SOLUSDT:5m:$sol5" --now 1734652800000
expect_rc 0 "$bin" --home "$home2" data fetch --exchange bybit --category spot --symbol SOLUSDT --interval 5m --since 2024-12-01
contains "stored: 4640 candles, 2024-12-03T21:20:00Z .. 2024-12-19T23:55:00Z"
mock_start --series "bybit:spot:SOLUSDT:5m:$sol5"
expect_rc 0 "$bin" --home "$home2" data sync
contains "bybit spot SOLUSDT 5m: 3360 candles fetched (3360 new"
contains "synced 1 series, 0 failed, 0 skipped"
expect_rc 0 "$bin" --home "$home2" data import "$sol5" --symbol SOLUSDT --interval 5m
contains "inserted 0, unchanged 8000"
expect_rc 0 "$bin" --home "$home2" data import "$eth1h" --symbol ETHUSDT --interval 1h
expect_rc 0 "$bin" --home "$home2" data sync --json
contains '"synced":1,"failed":0'
contains '"skipped":[{"symbol":"ETHUSDT","interval":"1h"}]'

# 5. Interrupted fetch resumes: pages after the 8th are slow; kill -9 mid-way, then run again.
home3=$home/resume; mkdir -p "$home3"
mock_start --series "bybit:linear:BTCUSDT:15m:$btc15" --fault slow:-1:8:3000
"$bin" --home "$home3" data fetch --exchange bybit --symbol BTCUSDT --interval 15m --since 2023-11-29 >/dev/null 2>&1 &
fetch_pid=$!
sleep 1.5
kill -9 "$fetch_pid"; wait "$fetch_pid" 2>/dev/null || true
expect_rc 0 "$bin" --home "$home3" data list --json
rows=$(sed -n 's/.*"rows":\([0-9]*\).*/\1/p' <<<"$out")
[[ -n $rows && $rows -gt 0 && $rows -lt 73777 ]] || fail "expected a partial series after the kill, got: $out"
mock_get /mock/reset >/dev/null
expect_rc 0 "$bin" --home "$home3" data fetch --exchange bybit --symbol BTCUSDT --interval 15m --since 2023-11-29
contains "$((73777 - rows)) candles fetched ($((73777 - rows)) new, 0 already stored)"
expect_rc 0 "$bin" --home "$home3" data import "$btc15" --symbol BTCUSDT --interval 15m
contains "inserted 0, unchanged 73777"

# 6. universe refresh: ranking, listing dates, symbols not stored reported (--no-queue: not queued;
#    queueing is tested in universe_queues_new_listings.sh).
usdm=$data/binance-usdm-2025h2
mock_start --series "bybit:linear:BTCUSDT:15m:$usdm/BTCUSDT_15m.csv" --series "bybit:linear:ETHUSDT:15m:$usdm/ETHUSDT_15m.csv" \
  --series "bybit:linear:DOGEUSDT:15m:$usdm/DOGEUSDT_15m.csv" --series "bybit:linear:ETHBTC:15m:$usdm/ETHUSDT_15m.csv" \
  --instruments-page 2
expect_rc 0 tml universe refresh --exchange bybit --quote USDT --top 50 --by turnover --no-queue
contains "bybit linear: 3 symbols quoted in USDT, ranked by 24 h turnover"
[[ $(grep -c NEW <<<"$out") == 1 ]] || fail "expected one NEW symbol: $out"
contains "1 symbol is not in the store yet: DOGEUSDT"
contains "reported only"
[[ $(sed -n '3p' <<<"$out") == *BTCUSDT* ]] || fail "BTCUSDT should rank first: $out"
expect_rc 0 tml universe refresh --exchange bybit --top 1 --json --no-queue
contains '"rank":1,"symbol":"BTCUSDT"'
contains '"listed_ms":1751629500000'
contains '"new_symbols_queued":0'

# 7. Bad input says what is valid; no network names the host and suggests import.
expect_rc 2 tml data fetch --exchange kraken --symbol BTCUSDT --interval 1h --days 1
contains "unknown exchange 'kraken': use one of bybit, bitget, binance"
expect_rc 2 tml data fetch --exchange bybit --category futures --symbol BTCUSDT --interval 1h --days 1
contains "unknown bybit category 'futures': use one of spot, linear, inverse"
expect_rc 2 tml data fetch --exchange bitget --product-type SPOT --symbol ETHUSDT --interval 2h --days 1
contains "bitget SPOT has no 2h candles: use one of 1m, 3m, 5m, 15m, 30m, 1h, 4h, 6h, 12h, 1d, 1w"
expect_rc 2 tml data fetch --exchange bybit --symbol BTCUSDT --interval 7m --days 1
contains "unknown interval '7m'"
expect_rc 2 tml data fetch --exchange bybit --symbol NOPEUSDT --interval 15m --days 1
contains "bybit retCode 10001: Not supported symbols"
expect_rc 2 tml data fetch --exchange bybit --symbol BTCUSDT --interval 15m --since 2030-01-01
contains "after the last closed candle"
# Without --days/--since the window is data.days (here 1 day: nothing new after the earlier fetches).
TRADEML_DATA_DAYS=1 expect_rc 0 tml data fetch --exchange bybit --symbol BTCUSDT --interval 15m
contains "0 candles fetched"
mock_stop
expect_rc 1 tml data fetch --exchange binance --base-url http://127.0.0.1:1 --symbol BTCUSDT --interval 1h --days 1
contains "cannot reach 127.0.0.1:1"
contains "trademl data import"
echo "exchange_fetch: ok"
