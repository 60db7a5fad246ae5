#!/usr/bin/env bash
# scripts/train_sequential.sh SYMBOL [TIMEFRAME] [trademl validate options...], e.g. scripts/train_sequential.sh BTC/USDT M15
# The two-stage walk-forward: quick, then (on a terminal after showing the quick results and asking;
# --yes skips the question; without a terminal when the quick gates pass) full, then the final model set.
# A thin wrapper: trademl validate --symbol SYMBOL --interval TIMEFRAME --mode sequential [options] (docs/validation.md).
exec "$(dirname "$0")/walkforward.sh" sequential "$@"
