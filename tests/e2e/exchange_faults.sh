#!/usr/bin/env bash
# End-to-end: `trademl data fetch` through the mock exchange while it injects faults. Survivable
# faults (rate limits with Retry-After / reset headers, 5xx, truncated JSON, resets, an empty page,
# the still-open candle) must leave exactly the source candles in the store; permanent ones
# (endless 403, a changed reply shape) must fail with a message that says what happened.
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
export TRADEML_HTTP_RATE=200 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=3 TRADEML_HTTP_TIMEOUT_MS=1000
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
  local want=$1; shift
  set +e; out=$("$@" 2>&1); local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want: $out"
}
contains() { [[ $out == *"$1"* ]] || fail "expected output to contain '$1', got: $out"; }
csv=$data/bybit-linear/BTC_USDT_USDT-4h-futures.csv   # 4611 rows 2023-11-29 .. 2026-01-05
eth=$data/bybit-linear/ETH_USDT_USDT-1h-futures.csv
n=$(($(wc -l <"$csv") - 1))

run() { # run NAME EXCHANGE MARKET SYMBOL INTERVAL FILE MOCKARGS...
  local name=$1 ex=$2 market=$3 sym=$4 iv=$5 file=$6; shift 6
  local h=$home/$name
  mkdir -p "$h"
  mock_start --series "$ex:$market:$sym:$iv:$file" "$@"
  expect_rc 0 "$bin" --home "$h" data fetch --exchange "$ex" --market "$market" --symbol "$sym" --interval "$iv" --since 2023-01-01
  expect_rc 0 "$bin" --home "$h" data import "$file" --symbol "$sym" --interval "$iv"
}

fired() { [[ $(mock_get /mock/stats) == *"\"faults_fired\":$1,"* ]] || fail "expected $1 faults fired: $(mock_get /mock/stats)"; }
run r429 bybit linear ETHUSDT 1h "$eth" --fault http429:2:1 --fault ratelimit10006:1:5
contains "inserted 0, unchanged 18805"
fired 3
run r5xx bybit linear ETHUSDT 1h "$eth" --fault http503:1:1 --fault http500:1:4 --fault truncated:1:7 --fault reset:2:10
contains "inserted 0, unchanged 18805"
fired 5
run rslow bybit linear ETHUSDT 1h "$eth" --fault slow:1:2:2500 --fault empty:1:6
contains "inserted 0, unchanged 18805"
fired 2
run r403 bybit linear ETHUSDT 1h "$eth" --fault http403:2:1
contains "inserted 0, unchanged 18805"
fired 2
run r418 binance spot ETHUSDT 1h "$eth" --fault http418:1:3 --fault http429:1:8
contains "inserted 0, unchanged 18805"
fired 2
run rbitget bitget USDT-FUTURES ETHUSDT 1h "$eth" --fault http429:2:5 --fault empty:1:20 --fault http502:1:30
contains "inserted 0, unchanged 18805"
fired 4

# The still-open last candle (server clock inside it) is not stored; the import adds just it.
last=$(tail -1 "$csv" | cut -d, -f1)
run ropen bybit linear BTCUSDT 4h "$csv" --now $((last + 3600000))
contains "inserted 1, unchanged $((n - 1))"

# Permanent failures are reported, not retried forever.
mkdir -p "$home/perm"
mock_start --series "bybit:linear:BTCUSDT:4h:$csv" --fault http403:-1
expect_rc 1 "$bin" --home "$home/perm" data fetch --exchange bybit --symbol BTCUSDT --interval 4h --days 30
contains "HTTP 403 from bybit (IP rate limit breached, or requests from this region are blocked)"
contains "gave up after 4 attempts"
mock_start --series "bybit:linear:BTCUSDT:4h:$csv" --fault shape:-1
expect_rc 1 "$bin" --home "$home/perm" data fetch --exchange bybit --symbol BTCUSDT --interval 4h --days 30
contains "bybit linear kline BTCUSDT 4h: field 'list' is missing from the reply (API changed?)"
mock_start --series "binance:spot:ETHUSDT:1h:$eth" --fault truncated:-1
expect_rc 1 "$bin" --home "$home/perm" data fetch --exchange binance --symbol ETHUSDT --interval 1h --days 30
contains "is not JSON"
echo "exchange_faults: ok"
