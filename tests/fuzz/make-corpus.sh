#!/usr/bin/env bash
# Writes the seed corpora tests/fuzz/corpus/<target>/ (committed; rerun after changing a seed here).
# Seeds are small valid and near-valid inputs of each format, written by hand below: the fuzzer
# mutates them, so they only need to reach every branch of the parser once. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf corpus
mkdir -p corpus

# seed TARGET NAME TEXT...: the file corpus/TARGET/NAME holds the printf-expanded TEXT.
seed() {
  local target=$1 name=$2
  shift 2
  mkdir -p "corpus/$target"
  printf "$@" >"corpus/$target/$name"
}

# ---- cron: the expression only
i=0
for e in '0 3 * * *' '*/15 * * * *' '0 0 1 JAN,jul MON-FRI' '5-55/10 1-23/2 */3 * 7' '0 0 30 2 *' \
         '0 12 * * SUN' '1,2,3 4 5 6 0' '59 23 31 12 6' '0 0 * * 1-5/2' '61 * * * *'; do
  i=$((i + 1)); seed cron "expr$i" '%s' "$e"
done

# ---- import: byte 0 = options (bits 0-1 format auto/csv/binance/freqtrade, 2-3 interval
# infer/1h/1m/1d, 4 skip bad rows), then the file. fuzz_import_gz: byte 1 = cut point (0 = whole).
csv_ms='open_time,open,high,low,close,volume,source\n1704067200000,100,110,95,105,1.5,a\n1704070800000,105,108,101,106,2.5,b\n1704074400000,106,109,104,107,3.5,c\n'
csv_s='timestamp,open,high,low,close,volume\r\n1704067200,100,110,95,105,1.5\r\n1704070800,105,108,101,106,2.5\r\n1704074400,106,109,104,107,3.5\r\n'
csv_dates='date,open,high,low,close,volume\n2024-01-01 00:00:00,100,110,95,105,1.5\n2024-01-01T01:00:00Z,105,108,101,106,2.5\n"2024-01-01 02:00:00",106,109,104,107,3.5\n\n'
csv_semi='Volume;Close;Low;High;Open;Timestamp\n1.5;105;95;110;100;1704067200000\n2.5;106;101;108;105;1704070800000\n3.5;107;104;109;106;1704074400000\n'
csv_noheader='1704067200000,100,110,95,105,1.5\n1704070800000,105,108,101,106,2.5\n1704074400000,106,109,104,107,3.5\n'
binance='1704067200000000,100,110,95,105,1.5,1704070799999999,150,10,0.7,70,0\n1704070800000000,105,108,101,106,2.5,1704074399999999,250,20,1.2,120,0\n1704074400000000,106,109,104,107,3.5,1704077999999999,350,30,1.7,170,0\n'
cdd='https://www.CryptoDataDownload.com\nUnix,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT,tradecount\n1704074400000,2024-01-01 02:00:00,BTCUSDT,106,109,104,107,3.5,371,30\n1704070800000,2024-01-01 01:00:00,BTCUSDT,105,108,101,106,2.5,265,20\n1704067200000,2024-01-01 00:00:00,BTCUSDT,100,110,95,105,1.5,157,10\n'
cdd12='https://www.CryptoDataDownload.com\nDate,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT\n2019-10-17 11-PM,BTCUSD,106,109,104,107,3.5,371\n2019-10-17 10-PM,BTCUSD,105,108,101,106,2.5,265\n'
bad='open_time,open,high,low,close,volume\n1704067200000,100,90,95,105,1.5\n1704070800000,105,108,101,106,-2.5\n1704070800000,105,108,101,106,2.5\nx,1,1,1,1,1\n-9223372036854775808,1,1,1,1,1\n1e308,1,1,1,1,1\n1704074400000,nan,inf,1,1,1\n'
freq='[[1704067200000,100,110,95,105,1.5],\n [1704070800000,105,108,101,106,2.5],[1704074400000,"106","109","104","107","3.5"]]'
bom='\xef\xbb\xbfopen_time,open,high,low,close,volume\n1704067200000,100,110,95,105,1.5\n1704070800000,105,108,101,106,2.5\n'
for t in import import_gz; do
  pre=''; [[ $t == import_gz ]] && pre='\x00'
  seed $t csv_ms "\x00$pre$csv_ms"
  seed $t csv_s "\x05$pre$csv_s"
  seed $t csv_dates "\x01$pre$csv_dates"
  seed $t csv_semi "\x04$pre$csv_semi"
  seed $t csv_noheader "\x00$pre$csv_noheader"
  seed $t binance "\x06$pre$binance"
  seed $t cdd "\x10$pre$cdd"
  seed $t cdd12 "\x14$pre$cdd12"
  seed $t bad_rows "\x14$pre$bad"
  seed $t bad_rows_strict "\x04$pre$bad"
  seed $t freqtrade "\x00$pre$freq"
  seed $t freqtrade_forced "\x07$pre$freq"
  seed $t bom "\x00$pre$bom"
done
seed import_gz truncated "\x00\x80$csv_ms"
# Raw gzip streams for fuzz_import (whole and cut short).
printf '\x00' >corpus/import/gzip_csv
printf "$csv_ms" | gzip -9n >>corpus/import/gzip_csv
printf '\x00' >corpus/import/gzip_truncated
printf "$csv_ms" | gzip -9n | head -c 40 >>corpus/import/gzip_truncated

# ---- config: the YAML file
seed config full 'data:\n  interval: 15m\n  symbols: [BTCUSDT, ETHUSDT]\n  exchange: binance\ntraining:\n  test_size: 0.2\n  job_timeout: 2h\n  cron_schedule: "0 2,14 * * *"\nlabels:\n  direction_quantiles: [0.33, 0.67]\n  volatility_quantiles:\n    - 0.5\n    - 0.9\nvalidation.gates.min_sharpe: 0.5\nvalidation:\n  gates:\n    rules: ["direction.accuracy>0.6"]\nserver:\n  listen: "[::1]:8080"\n  api_token: secret\nlogging:\n  level: info\nexchanges:\n  bybit:\n    base_url: http://127.0.0.1:9\n'
seed config empty ''
seed config comment '# nothing but a comment\n---\n'
seed config anchors 'base: &b\n  test_size: 0.3\ntraining: *b\n'
seed config flow '{data: {days: 30, min_coverage_pct: 99.5}, model: {strategy: xgb5, keep_newest: 2}}\n'
seed config bad_key 'traning:\n  test_size: 0.2\n'
seed config bad_value 'training:\n  test_size: 2\n  max_depth: six\n'
seed config twice 'training:\n  seed: 1\ntraining.seed: 2\n'
seed config tabs 'data:\n\tinterval: 15m\n'
seed config null_values 'server:\n  api_token: ~\ndata:\n  symbols: []\n'
seed config deep 'a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h: 1\n'
seed config durations 'training:\n  lease_seconds: 90s\n  retry_backoff_seconds: 1d\n  job_timeout: 15m\ndata:\n  busy_timeout: 5\n'

# ---- queue: the JSON queue file
seed queue object '{"queue":[{"symbol":"LTCUSDT","added_at":"2025-01-01T00:00:00Z","attempts":0},{"symbol":"ETH/USDT","attempts":2,"last_error":"insufficient history: 12.3 days < 90"},{"symbol":"SOLUSDT","added_at":null}]}'
seed queue list '["LTCUSDT","btc/usdt","DOGEUSDT"]'
seed queue empty '{"queue":[]}'
seed queue bad_symbol '["LTC USDT"]'
seed queue bad_time '{"queue":[{"symbol":"LTCUSDT","added_at":"yesterday"}]}'
seed queue bad_attempts '{"queue":[{"symbol":"LTCUSDT","attempts":-1}]}'
seed queue not_queue '{"symbols":["LTCUSDT"]}'
seed queue scalar '"LTCUSDT"'
seed queue bybit_shape '{"retCode":0,"result":{"list":[{"symbol":"NEWUSDT","launchTime":"1735689600000"}]}}'
