#!/usr/bin/env bash
# ctest-labels: heavy
# Coverage gate, new-symbol queue and `trademl retrain` on real Binance USDT-M 15m data (2025 H2, with
# new listings): verdicts (untrained, insufficient history, low coverage, no data, training, failed,
# ok), the re-check timer for short histories, queue removal on success and error kept on failure,
# queue import errors, schedule show, malformed cron.
source "$(dirname "$0")/lib/common.sh"
D=binance-usdm-2025h2
need_data $D/BTCUSDT_15m.csv $D/ETHUSDT_15m.csv $D/BREVUSDT_15m.csv $D/PIEVERSEUSDT_15m.csv
# Fetch jobs for queued symbols without candles must fail fast and locally: no exchange is reachable.
export TRADEML_BYBIT_BASE_URL=http://127.0.0.1:1
export TRADEML_TRAINING_NUM_BOOST_ROUND=40 TRADEML_TRAINING_EARLY_STOPPING_ROUNDS=10 TRADEML_TRAINING_RETRY_ATTEMPTS=0
for s in BTCUSDT BREVUSDT PIEVERSEUSDT; do
  expect_exit 0 "$BIN" data import "$DATA/$D/${s}_15m.csv" --symbol $s --interval 15m
done
# ETHUSDT with every 10th candle removed: ~90 % coverage.
awk 'NR == 1 || NR % 10 != 0' "$DATA/$D/ETHUSDT_15m.csv" >"$WORK/eth_gaps.csv"
expect_exit 0 "$BIN" data import "$WORK/eth_gaps.csv" --symbol ETHUSDT --interval 15m
expect_exit 0 "$BIN" queue add NEWCOINUSDT
verdict() { python3 -c "import json,sys; r={x['symbol']:x for x in json.load(open(sys.argv[1]))}; print(r[sys.argv[2]]['verdict'], r[sys.argv[2]]['reason'])" "$WORK/cov.json" "$1"; }
"$BIN" coverage --interval 15m --json >"$WORK/cov.json" || fail "coverage failed"
[[ $(verdict BTCUSDT) == "untrained untrained: no active model" ]] || fail "BTC: $(verdict BTCUSDT)"
[[ $(verdict BREVUSDT) =~ ^insufficient_history\ insufficient\ history:\ 1\.[0-9]\ days\ \<\ 90 ]] || fail "BREV: $(verdict BREVUSDT)"
[[ $(verdict PIEVERSEUSDT) =~ ^insufficient_history\ .*\ 47\.[0-9]\ days ]] || fail "PIEVERSE: $(verdict PIEVERSEUSDT)"
[[ $(verdict ETHUSDT) =~ ^low_coverage\ low\ coverage:\ 90\.0[0-9]%\ \<\ 95% ]] || fail "ETH: $(verdict ETHUSDT)"
[[ $(verdict NEWCOINUSDT) == "no_data no 15m candles stored" ]] || fail "NEWCOIN: $(verdict NEWCOINUSDT)"
expect_exit 0 "$BIN" coverage --interval 15m; expect_out '5 symbols, 5 blocked'
ok "coverage verdicts: untrained, insufficient history (1.x and 47.x days), low coverage 90 %, no data"

# retrain --dry-run changes nothing; a real run queues BTC and puts BREV on the re-check timer.
expect_exit 0 "$BIN" queue add BTCUSDT BREVUSDT
TRADEML_DATA_INTERVAL=15m expect_exit 0 "$BIN" retrain --dry-run
expect_out 'train_new +BTCUSDT +would train'
expect_out 'skip +BREVUSDT +insufficient history'
expect_exit 0 "$BIN" jobs counts --json; expect_out '"queued":0'
export TRADEML_DATA_INTERVAL=15m
expect_exit 0 "$BIN" retrain --no-wait
expect_out 'train_new +BTCUSDT +job [0-9]+ +training submitted'
btc_job=$(grep -Eo 'train_new +BTCUSDT +job [0-9]+' <<<"$OUT" | grep -Eo '[0-9]+$')
# Symbols without enough candles get a fetch job (new listings must not wait for a human).
expect_out 'skip +NEWCOINUSDT +job [0-9]+ +no 15m candles stored; fetch submitted; re-checked in 300 s'
# BREVUSDT was imported from a file: the scheduler never queues a fetch for an imported series.
expect_out 'skip +BREVUSDT +insufficient history.*imported from files, so not fetched'
grep -Eq 'BREVUSDT +job' <<<"$OUT" && fail "a fetch job was queued for the imported BREVUSDT: $OUT"
expect_exit 0 "$BIN" jobs list --kind fetch --json
grep -q BREVUSDT <<<"$OUT" && fail "fetch job for imported BREVUSDT: $OUT"
ok "scheduler_never_fetches_imported_series"

expect_exit 0 "$BIN" retrain --no-wait
expect_out "skip +BTCUSDT +job $btc_job +training: job $btc_job is queued"
expect_out 'skip +BREVUSDT +waiting: coverage re-check at'
expect_out 'skip +NEWCOINUSDT +waiting'
expect_exit 0 "$BIN" jobs counts --json; expect_out '"queued":2'
ok "dry run changes nothing; queued symbol trained once; short histories fetched and wait for the re-check timer"

expect_exit 0 "$BIN" worker --exit-when-idle
expect_exit 0 "$BIN" jobs show "$btc_job" --json --log-lines 0; expect_out '"status":"succeeded"'
# PIEVERSE passes the gate with min_history 30 but cannot train (min_train_rows too high): failed, kept.
expect_exit 0 "$BIN" queue add PIEVERSEUSDT
TRADEML_DATA_MIN_HISTORY_DAYS=30 TRADEML_TRAINING_MIN_TRAIN_ROWS=100000000 expect_exit 1 "$BIN" retrain
expect_out 'train_new +PIEVERSEUSDT +job [0-9]+'
expect_exit 0 "$BIN" queue list --json
python3 - "$OUT" <<'PY' || fail "queue after retrain: $OUT"
import json, sys
q = {e["symbol"]: e for e in json.loads(sys.argv[1])["queue"]}
assert "BTCUSDT" not in q, "BTCUSDT trained: must leave the queue"
# Too little data cannot succeed on retry: the job fails at once, and the queue shows that reason.
assert q["PIEVERSEUSDT"]["attempts"] == 1 and "not enough data" in q["PIEVERSEUSDT"]["last_error"] \
    and "not retried" in q["PIEVERSEUSDT"]["last_error"], q["PIEVERSEUSDT"]
assert "BREVUSDT" in q and "NEWCOINUSDT" in q
# queue_last_error_shows_failed_fetch: NEWCOINUSDT's fetch job failed (no exchange reachable).
assert "cannot reach 127.0.0.1:1" in q["NEWCOINUSDT"]["last_error"], q["NEWCOINUSDT"]
PY
"$BIN" coverage --json >"$WORK/cov.json"
[[ $(verdict BTCUSDT) == "ok " ]] || fail "BTC after training: $(verdict BTCUSDT)"
TRADEML_DATA_MIN_HISTORY_DAYS=30 "$BIN" coverage --json >"$WORK/cov.json"
[[ $(verdict PIEVERSEUSDT) =~ ^failed\ failed:\ training\ job\ [0-9]+\ failed ]] || fail "PIEVERSE: $(verdict PIEVERSEUSDT)"
ok "success removes the symbol from the queue; failure keeps it with its error and attempt count; LAST ERROR of a failed fetch; coverage ok/failed"

# Queue import and its errors; schedule show; malformed cron.
printf '{"queue":[{"symbol":"LTCUSDT","added_at":"2025-06-01T00:00:00Z","attempts":0}]}' >"$WORK/q.json"
expect_exit 0 "$BIN" queue import "$WORK/q.json"; expect_out '1 symbol imported'
printf '{"symbols":["X"]}' >"$WORK/bad.json"
expect_exit 1 "$BIN" queue import "$WORK/bad.json"; expect_out "queue file '.*bad.json': the object has no \"queue\" array"
expect_exit 0 "$BIN" schedule show --count 3
expect_out 'retrain +0 2,14,22 \* \* \*'
[[ $(grep -cE '^    20[0-9]{2}-.*T(02|14|22):00:00Z$' <<<"$OUT") -eq 3 ]] || fail "next fire times: $OUT"
TRADEML_TRAINING_CRON_SCHEDULE='0 25 * * *' expect_exit 2 "$BIN" schedule show
expect_out "hour field '25': 25 is out of range"
ok "queue import (and a clear error naming the file), schedule show, malformed cron names the field"
finish
