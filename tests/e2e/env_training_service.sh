#!/usr/bin/env bash
# The training service's environment variables: ML_TRAINING_DEBUG=true is debug logging, TRAINING_BATCH_SIZE
# is warned about once at start (no strategy trains in batches), unknown TRAINING_* / TRADEML_* variables get
# one warning naming the closest known one; nothing a user sets is ignored silently.
source "$(dirname "$0")/lib/common.sh"

ML_TRAINING_DEBUG=true expect_exit 0 "$BIN" config show
expect_out '^logging.level +debug +env ML_TRAINING_DEBUG'
ok "ML_TRAINING_DEBUG=true sets logging.level debug"

TRAINING_BATCH_SIZE=1000 TRAINING_JOB_TIMOUT=60 expect_exit 0 "$BIN" config show
[[ $(grep -c 'TRAINING_BATCH_SIZE=1000 has no effect' <<<"$OUT") -eq 1 ]] || fail "want one batch-size warning:
$OUT"
[[ $(grep -c 'TRAINING_JOB_TIMOUT is not a trademl setting and is ignored; the closest known one is TRAINING_JOB_TIMEOUT' <<<"$OUT") -eq 1 ]] ||
  fail "want one warning for the misspelt variable:
$OUT"
expect_out '^training.job_timeout +3600 +default'
ok "TRAINING_BATCH_SIZE and a misspelt TRAINING_ variable each get one warning at start"

# train prints it once too (and a job's child process leaves it to its worker).
TRADEML_TRAINING_SEEED=1 expect_exit 2 "$BIN" train --interval 4h --dry-run
[[ $(grep -c 'TRADEML_TRAINING_SEEED is not a trademl setting' <<<"$OUT") -eq 1 ]] || fail "want one warning:
$OUT"
ok "train prints the warning once"

ML_TRAINING_DEBUG=sometimes expect_exit 2 "$BIN" config show
expect_out "ML_TRAINING_DEBUG='sometimes' is not true or false"
ok "a bad ML_TRAINING_DEBUG is an error naming the variable and the fix"
finish
