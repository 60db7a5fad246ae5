#!/usr/bin/env bash
# Shared body of scripts/train_quick.sh, train_full.sh and train_sequential.sh (the two-stage walk-forward
# scripts' command style): walkforward.sh MODE SYMBOL [TIMEFRAME] [trademl validate options...]
#   = trademl validate --symbol SYMBOL --interval TIMEFRAME --mode MODE [options]
# TIMEFRAME is any interval trademl accepts (M15, H1, D1 or 15m, 1h, 1d); without it data.interval is used.
# The trademl binary: $TRADEML_BIN, else `trademl` on the PATH, else build/trademl of this checkout.
set -euo pipefail
mode=$1
shift
name=train_$mode.sh
if [[ $# -lt 1 || $1 == -* ]]; then
  [[ ${1:-} == -h || ${1:-} == --help ]] && out=1 || out=2
  msg="usage: scripts/$name SYMBOL [TIMEFRAME] [trademl validate options...]
  e.g. scripts/$name BTC/USDT M15
runs: trademl validate --symbol SYMBOL --interval TIMEFRAME --mode $mode [options] (docs/validation.md)"
  if [[ $out == 1 ]]; then echo "$msg"; exit 0; fi
  echo "$name: error: no symbol given" >&2
  echo "$msg" >&2
  exit 2
fi
args=(--symbol "$1")
shift
if [[ $# -ge 1 && $1 != -* ]]; then
  args+=(--interval "$1")
  shift
fi
bin=${TRADEML_BIN:-}
if [[ -z $bin ]]; then
  if command -v trademl >/dev/null 2>&1; then
    bin=trademl
  elif [[ -x $(dirname "$0")/../build/trademl ]]; then
    bin=$(dirname "$0")/../build/trademl
  else
    echo "$name: error: no trademl binary: put it on the PATH, set TRADEML_BIN, or build it (scripts/build.sh)" >&2
    exit 2
  fi
fi
exec "$bin" validate "${args[@]}" --mode "$mode" "$@"
