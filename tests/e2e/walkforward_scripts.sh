#!/usr/bin/env bash
# The two-stage walk-forward scripts as their users type them (scripts/train_quick.sh BTC/USDT M15,
# train_full.sh, train_sequential.sh) are thin wrappers over `trademl validate`; M15/H1-style timeframes
# work wherever an interval does; `--mode sequential` on a terminal shows the quick results and asks
# before the full stage (answered yes and no through a pseudo-terminal; --yes skips the question;
# without a terminal the gates decide, as before).
source "$(dirname "$0")/lib/common.sh"
need_data binance-spot/BTCUSDT_1h_2021-2026.csv
export TRADEML_BIN=$BIN
S=$SRC/scripts
PTY=(python3 "$SRC/tests/e2e/lib/pty_answer.py")
head -9001 "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" >btc.csv   # 375 days
expect_exit 0 "$BIN" data import btc.csv --symbol BTCUSDT --interval H1
expect_out '1h'
F=(--quick-folds 2 --test-period-days 60 --num-boost-round 5 --early-stopping-rounds 2 --gate 'direction.accuracy>0.01')
models() { find "$TRADEML_HOME/models" -name metadata.json 2>/dev/null | wc -l; }

expect_exit 2 "$S/train_quick.sh"
expect_out 'usage: scripts/train_quick.sh SYMBOL \[TIMEFRAME\]'
expect_exit 0 "$S/train_full.sh" --help
expect_out 'trademl validate --symbol SYMBOL --interval TIMEFRAME --mode full'
ok "the scripts print their usage (exit 2 without a symbol)"

expect_exit 0 "$S/train_quick.sh" BTC/USDT H1 "${F[@]}"
expect_out '^validating BTCUSDT 1h, mode quick'
expect_out '^quick: 2 folds'
expect_out 'verdict   all gates passed'
expect_exit 0 "$S/train_full.sh" BTCUSDT 1h "${F[@]}"
expect_out '^validating BTCUSDT 1h, mode full'
[[ $(models) -eq 0 ]] || fail "quick/full must not write a model set"
ok "train_quick.sh BTC/USDT H1 and train_full.sh run trademl validate --mode quick / full"

# Without a terminal: no question, the gates decide (as before).
expect_exit 0 "$S/train_sequential.sh" BTC/USDT H1 "${F[@]}" </dev/null
grep -q '\[y/N\]' <<<"$OUT" && fail "asked without a terminal: $OUT"
expect_out '^model set .*/models/xgb5/BTCUSDT/1h/'
[[ $(models) -eq 1 ]] || fail "expected one model set, got $(models)"
ok "sequential without a terminal goes on when the gates pass, without asking"

# On a terminal, answered no: the quick results are shown, nothing more runs, exit 1 saying why.
expect_exit 1 "${PTY[@]}" n "$S/train_sequential.sh" BTC/USDT M60 "${F[@]}"
expect_out '^ASKED=True'
expect_out 'verdict   all gates passed'
expect_out 'quick stage: every gate passed'
expect_out 'Run the full stage now .* for BTCUSDT\? \[y/N\]'
expect_out 'stopped after the quick stage: the full stage was declined'
grep -q '^full: ' <<<"$OUT" && fail "the full stage ran after 'n': $OUT"
[[ $(models) -eq 1 ]] || fail "a model set was written after 'n'"
ok "sequential on a terminal shows the quick results, asks, and stops on 'n'"

# Answered yes: full stage and the final model set.
expect_exit 0 "${PTY[@]}" y "$S/train_sequential.sh" BTC/USDT H1 "${F[@]}"
expect_out '^ASKED=True'
expect_out '^model set .*/models/xgb5/BTCUSDT/1h/'
[[ $(models) -eq 2 ]] || fail "expected a second model set after 'y', got $(models)"
ok "sequential on a terminal goes on to full and the final model set on 'y'"

# --yes skips the question; a failed quick gate stops without asking (exit 3).
expect_exit 0 "${PTY[@]}" n "$S/train_sequential.sh" BTC/USDT H1 "${F[@]}" --yes
expect_out '^ASKED=False'
[[ $(models) -eq 3 ]] || fail "--yes did not go on to the final model set"
expect_exit 3 "${PTY[@]}" y "$S/train_sequential.sh" BTC/USDT H1 "${F[@]}" --gate 'direction.accuracy>0.99'
expect_out '^ASKED=False'
expect_out 'gate not passed in the quick stage'
ok "--yes skips the question; a failed quick gate stops without asking"

# Timeframe names wherever an interval is taken; an unknown one lists both forms.
expect_exit 0 "$BIN" train --symbol BTCUSDT --interval H1 --no-fetch --dry-run
expect_out '^dry run: BTCUSDT 1h'
expect_exit 0 "$BIN" data list --json
expect_out '"interval":"1h"'
TRADEML_DATA_INTERVAL=H1 expect_exit 0 "$BIN" config get data.interval
expect_out '^1h$'
expect_exit 2 "$S/train_quick.sh" BTC/USDT M7
expect_out "data.interval from --interval: expected an interval \(1m, .*, 1w, or the same as M1, M3, M5, M15, M30, H1, H2, H4, H6, H8, H12, D1, W1\), got 'M7'"
expect_exit 2 "$BIN" jobs submit train --symbol BTCUSDT --interval M7
expect_out "unknown interval 'M7': use one of 1m, .*, 1w, or the same as M1, M3, M5, M15, M30, H1, H2, H4, H6, H8, H12, D1, W1"
ok "M15/H1-style timeframes are accepted by train, config and the scripts; unknown ones list both forms"
finish
