#!/usr/bin/env bash
# ctest-labels: heavy
# Progress of a long validation (issue 11): without a terminal, `validate --json` prints one progress
# line per logging.progress_seconds on stderr (stage, fold, head, round, best round, elapsed, time
# left) and a clean JSON document on stdout; on a pseudo-terminal the same status is a live line.
source "$(dirname "$0")/lib/common.sh"
need_data binance-spot/BTCUSDT_1h_2021-2026.csv
export TRADEML_TRAINING_NUM_BOOST_ROUND=30 TRADEML_TRAINING_EARLY_STOPPING_ROUNDS=10
expect_exit 0 "$BIN" data import "$DATA/binance-spot/BTCUSDT_1h_2021-2026.csv" --symbol BTCUSDT --interval 1h
set +e
TRADEML_LOGGING_PROGRESS_SECONDS=1 "$BIN" validate --symbol BTCUSDT --interval 1h --mode quick --threads 2 --json \
  >"$WORK/v.json" 2>"$WORK/v.err"
rc=$?
set -e
[[ $rc -eq 0 || $rc -eq 3 ]] || fail "validate exit $rc: $(cat "$WORK/v.err")"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$WORK/v.json" || fail "stdout is not JSON: $(cat "$WORK/v.json")"
grep -Eq '^progress: validating BTCUSDT 1h quick: fold [1-5] of 5 \([0-4] done\), [a-z_]+ round [0-9]+/30 best [0-9]+ \| [0-9]+% \| [0-9]+s elapsed' \
  "$WORK/v.err" || fail "no periodic validate progress line: $(cat "$WORK/v.err")"
grep -Ev '^(progress: |trademl: verdict: )' "$WORK/v.err" && fail "more than progress lines and the verdict on stderr"
ok "validate_progress_in_logs_is_a_periodic_line"

python3 - "$BIN" <<'PY' || fail "no live validate progress on a terminal"
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], "validate", "--symbol", "BTCUSDT", "--interval", "1h", "--mode", "quick",
                      "--threads", "2"], stdout=slave, stderr=slave)
os.close(slave)
buf = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
p.wait()
draws = [d for d in buf.decode(errors="replace").split("\r") if "validating BTCUSDT 1h quick: fold" in d]
assert len(draws) >= 3, draws
assert any(" left" in d and " best " in d for d in draws), draws[-5:]
PY
ok "validate_progress_on_a_terminal_is_a_live_line"
finish
