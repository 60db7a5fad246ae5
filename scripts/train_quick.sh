#!/usr/bin/env bash
# scripts/train_quick.sh SYMBOL [TIMEFRAME] [trademl validate options...], e.g. scripts/train_quick.sh BTC/USDT M15
# Stage 1 of the two-stage walk-forward: the quick validation (the newest validation.quick_folds folds,
# fixed 180-day window, 60-day tests). Exit 0 = gates passed, 3 = a gate did not pass.
# A thin wrapper: trademl validate --symbol SYMBOL --interval TIMEFRAME --mode quick [options] (docs/validation.md).
exec "$(dirname "$0")/walkforward.sh" quick "$@"
