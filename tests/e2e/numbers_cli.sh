#!/usr/bin/env bash
# Numbers that must not mislead and failures that must not hide (issue 11), on the CLI: permanent
# errors fail a job at once, error wording, stale predictions, model ages, prune counts, log lines.
source "$(dirname "$0")/lib/common.sh"
D=binance-usdm-2025h2
need_data $D/BTCUSDT_15m.csv
export TRADEML_TRAINING_NUM_BOOST_ROUND=20 TRADEML_TRAINING_EARLY_STOPPING_ROUNDS=5

# job_with_too_little_data_fails_at_once: 400 candles cannot make one training fold; retrying cannot
# help, so the job fails on its first attempt with that reason although 3 attempts are allowed.
head -n 401 "$DATA/$D/BTCUSDT_15m.csv" >"$WORK/short.csv"
expect_exit 0 "$BIN" data import "$WORK/short.csv" --symbol SHORTUSDT --interval 15m
expect_exit 0 "$BIN" jobs submit train --symbol SHORTUSDT --interval 15m --max-attempts 3 --json
short_job=$(grep -Eo '"id": *[0-9]+' <<<"$OUT" | head -1 | grep -Eo '[0-9]+$')
expect_exit 0 "$BIN" worker --exit-when-idle
expect_exit 0 "$BIN" jobs show "$short_job" --json --log-lines 0
python3 - "$OUT" <<'PY' || fail "short job: $OUT"
import json, sys
j = json.loads(sys.argv[1])
j = j.get("job", j)
assert j["status"] == "failed", j["status"]
assert j["attempts"] == 1, j["attempts"]
assert "not enough data" in j["error"] and "not retried" in j["error"], j["error"]
PY
ok "job_with_too_little_data_fails_at_once"

# error_wording_has_no_doubled_colons: a bad flag value is named once, with one separator.
expect_exit 2 "$BIN" data resample --symbol SHORTUSDT --from 15m --to 7m
expect_out "--to: unknown interval '7m'"
grep -q ': :' <<<"$OUT" && fail "doubled colon: $OUT"
ok "error_wording_has_no_doubled_colons"

finish
