# Shared by tests/e2e/exchange_*.sh: start/stop tests/mock/mock_exchange on 127.0.0.1 and talk to
# its control endpoints without curl (bash /dev/tcp). Source after setting $home.
mock_bin=${TML_MOCK_EXCHANGE:-}
if [[ -z $mock_bin || ! -x $mock_bin ]]; then
  echo "SKIP: TML_MOCK_EXCHANGE is not set (run through ctest)"
  exit 77
fi
mock_pid=
mock_port=
# mock_start ARGS...  -> $mock_port, $mock_url; base URLs of all exchanges point at it
mock_start() {
  mock_stop
  rm -f "$home/mock.port"
  "$mock_bin" --port-file "$home/mock.port" --max-seconds 300 "$@" >"$home/mock.log" 2>&1 &
  mock_pid=$!
  for _ in $(seq 1 250); do
    [[ -s $home/mock.port ]] && break
    sleep 0.02
  done
  [[ -s $home/mock.port ]] || { cat "$home/mock.log" >&2; echo "FAIL: mock did not start" >&2; exit 1; }
  mock_port=$(cat "$home/mock.port")
  mock_url=http://127.0.0.1:$mock_port
  export TRADEML_BYBIT_BASE_URL=$mock_url TRADEML_BITGET_BASE_URL=$mock_url
  export TRADEML_BINANCE_BASE_URL=$mock_url TRADEML_BINANCE_FUTURES_BASE_URL=$mock_url
}
mock_stop() {
  if [[ -n $mock_pid ]]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
    mock_pid=
  fi
}
# mock_get PATH -> body on stdout
mock_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$mock_port"
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}
# The simulated server clock (tests/mock/mock_exchange.c header): every exchange's time endpoint,
# which candles have closed and which listings exist follow it, and only these calls move it.
# mock_clock                -> the clock in ms
# mock_clock_set MS         -> jump to MS; prints the new clock
# mock_clock_advance MS     -> move forward MS (900000 = one 15m candle); prints the new clock
mock_clock() { mock_get /mock/clock | sed -n 's/.*"now":\([0-9]*\).*/\1/p'; }
mock_clock_set() { mock_get "/mock/clock?set=$1" | sed -n 's/.*"now":\([0-9]*\).*/\1/p'; }
mock_clock_advance() { mock_get "/mock/clock?advance=$1" | sed -n 's/.*"now":\([0-9]*\).*/\1/p'; }
# mock_listing EX:MARKET:SYMBOL:INTERVAL:CSV LISTED_MS -> the --series argument of a symbol that is
# listed at LISTED_MS: invisible (instruments, tickers, klines) until the clock reaches it, then
# listed with that launch time and candles from it on. Pass it to mock_start:
#   mock_start --series "$(mock_listing "bybit:linear:NEWUSDT:15m:$csv" "$listed_ms")"
mock_listing() { printf '%s:%s\n' "$1" "$2"; }
# mock_fault KIND [COUNT [AFTER [MS]]]: inject a fault on kline requests at run time
# (http429, garbage, truncated, ...; COUNT -1 = until mock_get /mock/reset).
mock_fault() { mock_get "/mock/fault?kind=$1&count=${2:-1}&after=${3:-0}&ms=${4:-3000}" >/dev/null; }
# mock_stat NAME -> a counter of /mock/stats (requests, kline_requests, faults_fired, now)
mock_stat() { mock_get /mock/stats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
