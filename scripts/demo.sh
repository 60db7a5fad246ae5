#!/usr/bin/env bash
# The seed job end to end, in a fresh state folder (var/demo unless TRADEML_HOME is set):
# import 5-minute SOLUSDT candles, train the five heads on the last 30 days, predict the latest candle.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TRADEML_BIN:-build/trademl}
data=${TRADEML_DATA_DIR:-../shared/data}
export TRADEML_HOME=${TRADEML_HOME:-var/demo}
if [[ ! -f "$data/bybit-linear/SOLUSDT_5m.csv" ]]; then
  echo "demo: $data/bybit-linear/SOLUSDT_5m.csv not found; set TRADEML_DATA_DIR to the shared data folder" >&2
  exit 1
fi
set -x
"$bin" data import "$data/bybit-linear/SOLUSDT_5m.csv" --symbol SOLUSDT --interval 5m
"$bin" data list
"$bin" train --symbol SOLUSDT --interval 5m --days 30
# The file's last candle closed at 2024-12-31T16:00Z: predict as a bot would, a minute after that close
# (a later --now marks the prediction stale, as it should).
"$bin" predict --symbol SOLUSDT --interval 5m --now 2024-12-31T16:01:00Z
