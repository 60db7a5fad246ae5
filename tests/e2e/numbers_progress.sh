#!/usr/bin/env bash
# ctest-labels: heavy
# Progress on long work (issue 11): train and worker show live progress on a terminal and one periodic
# line in logs and --json runs (three short trainings; release build only).
source "$(dirname "$0")/lib/common.sh"
D=binance-usdm-2025h2
need_data $D/BTCUSDT_15m.csv
expect_exit 0 "$BIN" data import "$DATA/$D/BTCUSDT_15m.csv" --symbol BTCUSDT --interval 15m
expect_exit 0 "$BIN" data resample --symbol BTCUSDT --from 15m --to 1h

# progress_in_logs_is_a_periodic_line: without a terminal (a log, --json) train prints nothing but
# one progress line per logging.progress_seconds on stderr (head, round, best round, elapsed, time
# left); stdout stays one JSON document.
export TRADEML_LOGGING_PROGRESS_SECONDS=1
slow=(TRADEML_TRAINING_NUM_BOOST_ROUND=60 TRADEML_TRAINING_EARLY_STOPPING_ROUNDS=60)
env "${slow[@]}" "$BIN" train --symbol BTCUSDT --interval 1h --no-fetch --threads 2 --json \
  >"$WORK/train.json" 2>"$WORK/train.err" || fail "train failed: $(cat "$WORK/train.err")"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$WORK/train.json" || fail "stdout is not JSON"
grep -Eq '^progress: training BTCUSDT 1h: heads [0-5]/5 done; [a-z_]+ [0-9]+/60 best [0-9]+.* \| [0-9]+% \| [0-9]+s elapsed \| ~[0-9ms]+ left$' \
  "$WORK/train.err" || fail "no periodic progress line: $(cat "$WORK/train.err")"
grep -vq '^progress: ' "$WORK/train.err" && fail "more than progress lines on stderr: $(cat "$WORK/train.err")"
ok "progress_in_logs_is_a_periodic_line"

# progress_on_a_terminal_is_a_live_line: on a pseudo-terminal the line is redrawn in place (\r) with
# the running heads, their round and best round, elapsed time and time left, and erased at the end.
python3 - "$BIN" <<'PY' || fail "no live progress on a terminal"
import os, pty, subprocess, sys
master, slave = pty.openpty()
env = dict(os.environ, TRADEML_TRAINING_NUM_BOOST_ROUND="60", TRADEML_TRAINING_EARLY_STOPPING_ROUNDS="60")
p = subprocess.Popen([sys.argv[1], "train", "--symbol", "BTCUSDT", "--interval", "1h", "--no-fetch", "--threads", "2"],
                     stdout=subprocess.DEVNULL, stderr=slave, env=env)
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
text = buf.decode(errors="replace")
assert p.returncode == 0, text
draws = [d for d in text.split("\r") if "training BTCUSDT 1h: heads" in d]
assert len(draws) >= 3, text[:2000]
assert any(" best " in d and " elapsed" in d and " left" in d for d in draws), draws[:5]
assert "progress: " not in text, "periodic log lines on a terminal"
PY
ok "progress_on_a_terminal_is_a_live_line"

# worker_shows_running_jobs_progress: a worker without a terminal prints which job runs, how far, and
# the time left, once per logging.progress_seconds.
expect_exit 0 "$BIN" jobs submit train --symbol BTCUSDT --interval 1h --json
env "${slow[@]}" "$BIN" worker --exit-when-idle 2>"$WORK/worker.err" || fail "worker: $(cat "$WORK/worker.err")"
# The stage shown depends on where the job is at the tick (data, or a head with its round and best
# round), so only the shape of the line is fixed here.
grep -Eq '^progress: worker: 1 running: job [0-9]+ train BTCUSDT [0-9]+% .* \([0-9ms]+(, ~[0-9ms]+ left)?\) \| 0 succeeded, 0 failed \| [0-9]+s elapsed$' \
  "$WORK/worker.err" || fail "no worker progress line: $(cat "$WORK/worker.err")"
export TRADEML_LOGGING_PROGRESS_SECONDS=3600
ok "worker_shows_running_jobs_progress"

finish
