#!/usr/bin/env bash
# ctest-labels: heavy
# `trademl train` fetches what is missing (issue 4), through the loopback mock exchange:
# a symbol with no candles is fetched from data.exchange (here from trademl.yaml's
# exchanges.bybit.base_url), a fetched series is topped up, an imported one is left alone, and an
# unreachable exchange is a warning when candles are stored, an error naming the host when not.
set -euo pipefail
src=${TML_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data=${TRADEML_DATA_DIR:-$src/../shared/data}
bin=${TRADEML_BIN:?set TRADEML_BIN to the trademl binary}
eth1h=$data/bybit-linear/ETH_USDT_USDT-1h-futures.csv
[[ -f $eth1h && -f $data/binance-spot/BTCUSDT_1h_2021-2026.csv ]] || { echo "SKIP: real data missing under $data"; exit 77; }
work=$(mktemp -d)
home=$work
trap 'mock_stop; rm -rf "$work"' EXIT
source "$src/tests/e2e/lib/mock.sh"
cd "$work"
export TRADEML_HTTP_RATE=200 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=2
tml() { "$bin" --home "$work/var" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
  local want=$1; shift
  set +e; out=$("$@" 2>&1); local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want: $out"
}
contains() { [[ $out == *"$1"* ]] || fail "expected output to contain '$1', got: $out"; }
FAST=(--num-boost-round 20 --early-stopping-rounds 5)

mock_start --series "bybit:linear:ETHUSDT:1h:$eth1h"
unset TRADEML_BYBIT_BASE_URL   # the config file must be what points trademl at the mock
# The base URL comes from the config file, not the environment.
printf 'data:\n  exchange: bybit\nexchanges:\n  bybit:\n    base_url: %s\n' "$mock_url" > trademl.yaml
expect_rc 0 tml train --symbol ETHUSDT --interval 1h --days 200 "${FAST[@]}"
contains "fetch     ETHUSDT 1h from bybit linear:"
contains "registered as model"
rows1=$(tml data list --json | python3 -c 'import json,sys; print([s["rows"] for s in json.load(sys.stdin) if s["symbol"]=="ETHUSDT"][0])' 2>/dev/null || true)
[[ -n $rows1 && $rows1 -gt 4800 ]] || fail "expected >4800 fetched ETHUSDT rows, got '$rows1'"
# A second run only tops up: no candle is requested again.
mock_get /mock/reset >/dev/null
expect_rc 0 tml train --symbol ETHUSDT --interval 1h --days 200 "${FAST[@]}" --dry-run
contains "0 new candles"
# An imported series is never fetched, even with the exchange down.
mock_stop
expect_rc 0 tml data import "$data/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
expect_rc 0 tml train --symbol BTCUSDT --interval 1h --days 200 --dry-run
[[ $out != *"fetch "* && $out != *warning* ]] || fail "an imported series was fetched: $out"
# Exchange unreachable: stored candles -> warning and training goes on; nothing stored -> error.
expect_rc 0 tml train --symbol ETHUSDT --interval 1h --days 200 --dry-run
contains "warning: could not fetch missing ETHUSDT 1h candles"
expect_rc 1 tml train --symbol XRPUSDT --interval 1h --days 200 --dry-run
contains "127.0.0.1"
contains "trademl data import"
echo "ok - train fetches what is missing"
echo "6 passed, 0 failed"
