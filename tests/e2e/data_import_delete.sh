#!/usr/bin/env bash
# End-to-end: `trademl data import` on files shaped like other tools' exports (made here, not
# copied), its refusals (exit 1, nothing written), and `trademl data delete` (ranges, --all,
# --dry-run, usage errors) against a temporary --home.
set -euo pipefail
bin=${TRADEML_BIN:?set TRADEML_BIN to the trademl binary}
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
rows_of() { # rows_of SYMBOL INTERVAL -> stored row count (0 when none)
  tml data list --json --symbol "$1" | python3 -c 'import json,sys; print(sum(s["rows"] for s in json.load(sys.stdin) if s["interval"]==sys.argv[1]))' "$2"
}

# 48 hourly candles from 2024-01-01, CryptoDataDownload style: banner, 12-hour dates, newest first,
# base (Volume BTC) and quote (Volume USDT) volumes, a UTF-8 byte-order mark.
cdd=$home/Binance_BTCUSDT_1h.csv
python3 - "$cdd" <<'PY'
import sys, datetime as dt
rows = []
for i in range(48):
    t = dt.datetime(2024, 1, 1) + dt.timedelta(hours=i)
    h = t.hour % 12 or 12
    d = t.strftime('%Y-%m-%d ') + '%02d-%s' % (h, 'AM' if t.hour < 12 else 'PM')
    o = 42000 + i
    rows.append('%s,BTCUSDT,%d,%d,%d,%d,%d.5,%d' % (d, o, o + 50, o - 50, o + 10, i + 1, (i + 1) * 42000))
with open(sys.argv[1], 'w', encoding='utf-8-sig') as f:
    f.write('https://www.CryptoDataDownload.com\n')
    f.write('Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT\n')
    f.write('\n'.join(reversed(rows)) + '\n')
PY
expect_rc 0 tml data import "$cdd" --symbol BTCUSDT --interval 1h
contains "rows read 48, inserted 48"
contains "volume from column 'Volume BTC'"
expect_rc 0 tml data gaps --symbol BTCUSDT --interval 1h --json
contains '"missing":0'
expect_rc 0 tml data list --json --symbol BTCUSDT
contains '"first":"2024-01-01T00:00:00Z","last":"2024-01-02T23:00:00Z"'

# Declared as 1d: refused with the spacing found, nothing stored.
expect_rc 2 tml data import "$cdd" --symbol BTCUSDT --interval 1d --skip-bad-rows
contains "as 1d candles: they are 1h apart (median of 47 steps between candles); pass --interval 1h"
[[ $(rows_of BTCUSDT 1d) == 0 ]] || fail "a refused import stored candles"

# A wide multi-asset file: refused naming the assets, imported with --asset.
wide=$home/wide.csv
printf 'time,BTC:open,BTC:high,BTC:low,BTC:close,BTC:volume,ETH:open,ETH:high,ETH:low,ETH:close,ETH:volume\n' >"$wide"
for i in 0 1 2 3; do
  printf '%d,42000,42100,41900,42050,10,%d,2210,2190,2205,%d\n' $((1704067200000 + i * 900000)) $((2200 + i)) $((100 + i)) >>"$wide"
done
expect_rc 1 tml data import "$wide" --symbol ETHUSDT --interval 15m
contains "a wide file with columns for 2 assets (BTC, ETH); pass --asset NAME"
expect_rc 0 tml data import "$wide" --symbol ETHUSDT --interval 15m --asset ETH --json
contains '"inserted":4'
contains '"asset":"ETH"'
contains '"volume_column":"ETH:volume"'
expect_rc 0 tml data list --json --symbol ETHUSDT
contains '"rows":4'

# --drop-last-candle leaves the newest row out; a candle still forming now is pointed out.
now_ms=$(( $(date +%s) / 900 * 900 * 1000 ))
live=$home/live.csv
{ echo "open_time,open,high,low,close,volume"
  for i in 3 2 1 0; do echo "$((now_ms - i * 900000)),1,2,0.5,1.5,3"; done; } >"$live"
expect_rc 0 tml data import "$live" --symbol SOLUSDT --interval 15m
contains "was still forming"
contains "--drop-last-candle"
expect_rc 0 tml data delete --symbol SOLUSDT --interval 15m --all
expect_rc 0 tml data import "$live" --symbol SOLUSDT --interval 15m --drop-last-candle
contains "inserted 3"
contains "left out the newest candle"
[[ $out != *"still forming"* ]] || fail "the dropped candle is still reported as forming: $out"

# --skip-bad-rows cannot rescue a file that ends early; it says how many rows it skipped.
cut=$home/cut.csv
{ echo "open_time,open,high,low,close,volume"
  for i in 0 1 2 3 4; do echo "$((1704067200000 + i * 900000)),1,2,0.5,1.5,3"; done
  echo "1704067200000,1,0.4,0.5,1.5,3"
  printf '%s' "$((1704067200000 + 5 * 900000)),1,2"; } >"$cut"
expect_rc 1 tml data import "$cut" --symbol XRPUSDT --interval 15m --skip-bad-rows
contains "the file ends early, its last line 8 is cut off"
contains "skipped 2 bad rows of 7 read before the import failed"
gzip -c "$cdd" | head -c 300 >"$home/t.csv.gz"
expect_rc 1 tml data import "$home/t.csv.gz" --symbol XRPUSDT --interval 1h --skip-bad-rows
contains "is a truncated gzip file"
expect_rc 1 tml data import "$home" --symbol XRPUSDT --interval 1h
contains "it is a directory"
[[ $(rows_of XRPUSDT 15m) == 0 && $(rows_of XRPUSDT 1h) == 0 ]] || fail "a refused import stored candles"

# data delete: usage errors (exit 2) before anything is touched.
expect_rc 2 tml data delete --symbol BTCUSDT --interval 1h
contains "pass --all to mean that"
expect_rc 2 tml data delete --symbol BTCUSDT --interval 1h --all --from 2024-01-01
expect_rc 2 tml data delete --symbol BTCUSDT --interval 1h --from 2024-01-02 --to 2024-01-01
contains "is after --to"
expect_rc 2 tml data delete --symbol BTCUSDT --interval 1h --from 1704067200
contains "looks like epoch seconds"
expect_rc 2 tml data delete --symbol BTCUSDT --interval 1h --from yesterday
expect_rc 2 tml data delete --symbol BTCUSDT --interval 7h --all
expect_rc 2 tml data delete --interval 1h --all
[[ $(rows_of BTCUSDT 1h) == 48 ]] || fail "a refused delete removed candles"

# --dry-run shows what would go and deletes nothing; then one stray row, then a range, then --all.
expect_rc 0 tml data delete --symbol BTCUSDT --interval 1h --from "2024-01-02 00:00" --dry-run
contains "would delete 24 BTCUSDT 1h candles, 2024-01-02T00:00:00Z .. 2024-01-02T23:00:00Z (dry run: nothing deleted)"
[[ $(rows_of BTCUSDT 1h) == 48 ]] || fail "--dry-run deleted candles"
expect_rc 0 tml data delete --symbol btc/usdt --interval 1h --from 2024-01-01T05:00:00Z --to 2024-01-01T05:00:00Z
contains "deleted 1 BTCUSDT 1h candle, 2024-01-01T05:00:00Z .. 2024-01-01T05:00:00Z"
expect_rc 0 tml data gaps --symbol BTCUSDT --interval 1h
contains "1 gap, 1 missing candle"
expect_rc 0 tml data delete --symbol BTCUSDT --interval 1h --to 1704088800000 --json
contains '"deleted":6,"first":"2024-01-01T00:00:00Z","last":"2024-01-01T06:00:00Z"'
expect_rc 0 tml data delete --symbol BTCUSDT --interval 1h --to 1704088800000
contains "no BTCUSDT 1h candles in that range (nothing deleted"
[[ $(rows_of BTCUSDT 1h) == 41 ]] || fail "expected 41 rows left"
expect_rc 0 tml data delete --symbol BTCUSDT --interval 1h --all
contains "deleted 41 BTCUSDT 1h candles"
[[ $(rows_of BTCUSDT 1h) == 0 ]] || fail "--all left candles"
[[ $(rows_of ETHUSDT 15m) == 4 ]] || fail "deleting BTCUSDT touched ETHUSDT"
expect_rc 0 tml data delete --help
contains "--dry-run"
echo "data_import_delete: ok"
