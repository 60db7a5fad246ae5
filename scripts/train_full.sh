#!/usr/bin/env bash
# scripts/train_full.sh SYMBOL [TIMEFRAME] [trademl validate options...], e.g. scripts/train_full.sh BTC/USDT M15
# Stage 2 of the two-stage walk-forward: the full validation (every fold, expanding window from 120 days,
# 21-day tests). Exit 0 = gates passed, 3 = a gate did not pass.
# A thin wrapper: trademl validate --symbol SYMBOL --interval TIMEFRAME --mode full [options] (docs/validation.md).
exec "$(dirname "$0")/walkforward.sh" full "$@"
