#!/usr/bin/env bash
# The mock exchange's controllable clock, listings and the garbage fault, end to end through the
# real `trademl` commands (tests/mock/mock_exchange.c header; helpers in tests/e2e/lib/mock.sh):
# - after the clock advances, `data sync` gets exactly the candles that closed, for Bybit, Bitget and
#   Binance alike; the still-forming candle (served with partial values, as exchanges do) is never
#   stored, which importing the source file afterwards proves (no conflict, nothing new);
# - a symbol listed mid-run is absent from `universe refresh` and unknown to `data fetch` until the
#   clock reaches its listing time, then listed with that launch time and candles from it on;
# - a 200 reply that is HTML (garbage) is retried with backoff and survived; when it persists, the
#   error says the reply is not JSON and quotes it, after exactly exchanges.http.retries retries.
set -euo pipefail
src=${TML_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data=${TRADEML_DATA_DIR:-$src/../shared/data}
bin=${TRADEML_BIN:?set TRADEML_BIN to the trademl binary}
eth=$data/bybit-linear/ETH_USDT_USDT-15m-futures.csv
wif=$data/bybit-linear/WIF_USDT_USDT-15m-futures.csv
[[ -f $eth && -f $wif ]] || { echo "SKIP: real data missing under $data"; exit 77; }
home=$(mktemp -d)
trap 'mock_stop; rm -rf "$home"' EXIT
source "$src/tests/e2e/lib/mock.sh"
cd "$home"
# exchange settings through the configuration (env names of exchanges.http.* keys)
export TRADEML_HTTP_RATE=500 TRADEML_HTTP_BACKOFF_MS=20 TRADEML_HTTP_RETRIES=3
tml() { "$bin" --home "$home/var" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
  local want=$1; shift
  set +e; out=$("$@" 2>&1); local rc=$?; set -e
  [[ $rc == "$want" ]] || fail "'$*' exited $rc, expected $want: $out"
}
contains() { [[ $out == *"$1"* ]] || fail "expected output to contain '$1', got: $out"; }
lacks() { [[ $out != *"$1"* ]] || fail "expected output not to contain '$1', got: $out"; }
iso() { date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%SZ; }
Q=900000   # one 15m candle

# The clock starts 5 minutes into the candle 100 rows before the file's end: that one is forming.
k_open=$(tail -n 100 "$eth" | sed -n '1s/,.*//p')   # sed reads all: no SIGPIPE under pipefail
t0=$((k_open + 5 * 60000))
listed=$((k_open + 12 * Q))   # WIFUSDT lists 3 hours later
mock_start --now "$t0" \
  --series "bybit:linear:ETHUSDT:15m:$eth" --series "bitget:USDT-FUTURES:ETHUSDT:15m:$eth" \
  --series "binance:futures:ETHUSDT:15m:$eth" \
  --series "$(mock_listing "bybit:linear:WIFUSDT:15m:$wif" "$listed")"
[[ $(mock_clock) == "$t0" ]] || fail "clock should start at $t0, is $(mock_clock)"

# 1. Fetch one day from each exchange: the last stored candle is the one before the forming one.
expect_rc 0 tml data fetch --exchange bybit --category linear --symbol ETHUSDT --interval 15m --days 1
contains "bybit linear ETHUSDT 15m: 95 candles fetched (95 new"
contains ".. $(iso $((k_open - Q)))"
home_b=$home/b; home_n=$home/n
expect_rc 0 "$bin" --home "$home_b" data fetch --exchange bitget --product-type USDT-FUTURES --symbol ETHUSDT --interval 15m --days 1
contains ".. $(iso $((k_open - Q)))"
expect_rc 0 "$bin" --home "$home_n" data fetch --exchange binance --market futures --symbol ETHUSDT --interval 15m --days 1
contains ".. $(iso $((k_open - Q)))"

# 2. Advance to the exact close of the forming candle: one new candle everywhere; then three more.
[[ $(mock_clock_advance $((10 * 60000))) == $((k_open + Q)) ]] || fail "advance did not move the clock"
for h in "$home/var" "$home_b" "$home_n"; do
  expect_rc 0 "$bin" --home "$h" data sync --json
  contains '"inserted":1,'
  contains "\"server_time_ms\":$((k_open + Q)),"   # each exchange's time endpoint follows the clock
  contains "\"stored_last_ms\":$k_open}"
done
mock_clock_advance $((3 * Q)) >/dev/null
for h in "$home/var" "$home_b" "$home_n"; do
  expect_rc 0 "$bin" --home "$h" data sync --json
  contains '"inserted":3,'
  contains "\"stored_last_ms\":$((k_open + 3 * Q))}"
done
# 7 minutes into the next candle: nothing closed, nothing new (the forming one is not stored).
mock_clock_advance $((7 * 60000)) >/dev/null
for h in "$home/var" "$home_b" "$home_n"; do
  expect_rc 0 "$bin" --home "$h" data sync --json
  contains '"inserted":0,'
  contains "\"stored_last_ms\":$((k_open + 3 * Q))}"
done
# Every stored candle equals the file (a partial forming candle would conflict): 95 + 1 + 3 rows stored.
for h in "$home/var" "$home_b" "$home_n"; do
  expect_rc 0 "$bin" --home "$h" data import "$eth" --symbol ETHUSDT --interval 15m
  contains "unchanged 99"
done

# 3. A listing mid-run: invisible before its time, then listed with its launch time.
expect_rc 0 tml universe refresh --exchange bybit --category linear --json
lacks WIFUSDT
contains '"symbol":"ETHUSDT"'
expect_rc 2 tml data fetch --exchange bybit --category linear --symbol WIFUSDT --interval 15m --days 1
contains "Not supported symbols"
mock_clock_set $((listed - 1)) >/dev/null
expect_rc 0 tml universe refresh --exchange bybit --category linear --json
lacks WIFUSDT
mock_clock_set "$listed" >/dev/null
expect_rc 0 tml universe refresh --exchange bybit --category linear --json
contains "\"symbol\":\"WIFUSDT\""
contains '"new_symbols":1,'
contains "\"listed_ms\":$listed,\"stored\":false"
# two candles later it has exactly two closed candles, the first at the listing
mock_clock_advance $((2 * Q)) >/dev/null
expect_rc 0 tml data fetch --exchange bybit --category linear --symbol WIFUSDT --interval 15m --days 1
contains "WIFUSDT 15m: 2 candles fetched (2 new"
contains "stored: 2 candles, $(iso "$listed") .. $(iso $((listed + Q)))"

# 4. Garbage: two HTML replies are retried with backoff, then the sync goes on.
mock_get /mock/reset >/dev/null
mock_fault garbage 2
mock_clock_advance "$Q" >/dev/null
expect_rc 0 tml data sync --json
contains '"synced":2,"failed":0'
[[ $(mock_stat faults_fired) == 2 ]] || fail "expected 2 garbage replies, stats: $(mock_get /mock/stats)"
contains "not JSON"        # the retry warnings say why
# Garbage that does not stop: a clear error after 1 + 3 retries, the exit code of a parse failure.
mock_get /mock/reset >/dev/null
mock_fault garbage -1
mock_clock_advance "$Q" >/dev/null   # WIFUSDT has a new closed candle to ask for
set +e; out=$(tml data fetch --exchange bybit --category linear --symbol WIFUSDT --interval 15m --days 1 2>&1); rc=$?; set -e
[[ $rc != 0 ]] || fail "fetch through garbage replies succeeded: $out"
contains "is not JSON"
contains "<!DOCTYPE html>"
[[ $(mock_stat kline_requests) == 4 ]] || fail "expected 4 kline requests (1 + 3 retries), stats: $(mock_get /mock/stats)"
mock_get /mock/reset >/dev/null

# 5. Bad clock requests are refused; the clock is unchanged.
now=$(mock_clock)
[[ $(mock_get "/mock/clock?advance=-5") == *'"error"'* ]] || fail "negative advance accepted"
[[ $(mock_get "/mock/clock?set=abc") == *'"error"'* ]] || fail "bad set accepted"
[[ $(mock_clock) == "$now" ]] || fail "a refused clock request moved the clock"
echo "mock_clock: all checks passed"
