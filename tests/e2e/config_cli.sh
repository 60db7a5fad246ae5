#!/usr/bin/env bash
# End-to-end: `trademl config show|get|keys|check` against the built binary — layers and provenance
# (default < trademl.yaml < env < flag), --home / TRADEML_HOME isolation, error messages, exit codes.
set -uo pipefail
bin=${TRADEML_BIN:?TRADEML_BIN must point to the trademl binary}
work=$(mktemp -d "${TMPDIR:-/tmp}/tml-config-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# Start from a clean environment for every variable trademl reads.
unset TRADEML_HOME LOG_LEVEL TRAINING_JOB_TIMEOUT TRADEML_TRAINING_TEST_SIZE TRADEML_API_TOKEN \
      TRADEML_TRAINING_JOB_TIMEOUT MODEL_RETENTION_DAYS TRADEML_BYBIT_BASE_URL TRADEML_BITGET_BASE_URL \
      TRADEML_BINANCE_BASE_URL TRADEML_BINANCE_FUTURES_BASE_URL TRADEML_EXCHANGES_BYBIT_BASE_URL \
      TRADEML_HTTP_TIMEOUT_MS TRADEML_HTTP_RETRIES TRADEML_HTTP_BACKOFF_MS TRADEML_HTTP_RATE \
      TRADEML_EXCHANGES_HTTP_PROXY

fails=0
check() { # check NAME EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    echo "FAIL $1: expected [$2], got [$3]" >&2
    fails=$((fails + 1))
  fi
}
contains() { # contains NAME NEEDLE HAYSTACK
  if [[ "$3" != *"$2"* ]]; then
    echo "FAIL $1: expected to contain [$2], got [$3]" >&2
    fails=$((fails + 1))
  fi
}

# Defaults, no file: paths under ./var.
out=$("$bin" config show)
contains no-file "# config file: (none)" "$out"
check default-db "var/trademl.db default" "$(echo "$out" | awk '$1=="data.db_path"{print $2" "$3}')"
check get-default "0.2" "$("$bin" config get training.test_size)"

# --home and TRADEML_HOME move every path default: two folders, two installations.
check home-flag "/srv/a/models" "$("$bin" --home /srv/a config get model.models_dir)"
check home-env "/srv/b/logs" "$(TRADEML_HOME=/srv/b "$bin" config get logging.dir)"

cat > trademl.yaml <<'YAML'
# settings
training:
  test_size: 0.3
  job_timeout: 2h
server:
  api_token: s3cret
data:
  symbols: [btcusdt, ETH/USDT]
YAML
check file-value "0.3" "$("$bin" config get training.test_size)"
check file-origin "trademl.yaml:3" "$("$bin" config get training.test_size --origin)"
check env-beats-file "env TRADEML_TRAINING_TEST_SIZE" \
  "$(TRADEML_TRAINING_TEST_SIZE=0.4 "$bin" config get training.test_size --origin)"
check legacy-env "900 env TRAINING_JOB_TIMEOUT" \
  "$(TRAINING_JOB_TIMEOUT=15m "$bin" config show | awk '$1=="training.job_timeout"{print $2" "$3" "$4}')"
check flag-beats-env "0.1 flag --set" \
  "$(TRADEML_TRAINING_TEST_SIZE=0.4 "$bin" config show --set training.test_size=0.1 | awk '$1=="training.test_size"{print $2" "$3" "$4}')"
# A flag with a config key (cli_opt.config_key) goes through cli_load_config.
check config-key-flag "debug flag --log-level" \
  "$(LOG_LEVEL=error "$bin" config show --log-level DEBUG | awk '$1=="logging.level"{print $2" "$3" "$4}')"
err=$("$bin" config show --log-level loud 2>&1); rc=$?
check flag-rc 2 "$rc"
contains flag-msg "logging.level from --log-level: expected one of" "$err"
check list "BTCUSDT,ETHUSDT" "$("$bin" config get data.symbols)"

# Secrets are masked in show (table and JSON), never printed by mistake.
out=$("$bin" config show; "$bin" config show --json)
[[ "$out" == *s3cret* ]] && { echo "FAIL secret leaked by config show" >&2; fails=$((fails + 1)); }
contains masked '"server.api_token":{"value":"********","source":"file","origin":"trademl.yaml:6"}' "$out"

# --config picks another file; a missing one is an error.
printf 'model:\n  keep_newest: 9\n' > other.yaml
check config-flag "other.yaml:2" "$("$bin" --config other.yaml config get model.keep_newest --origin)"
err=$("$bin" --config missing.yaml config show 2>&1 >/dev/null); rc=$?
check missing-rc 1 "$rc"
contains missing-msg "cannot read config file 'missing.yaml'" "$err"

# config check: valid file, unknown key with suggestion, wrong type, malformed YAML.
check check-ok "trademl.yaml: ok" "$("$bin" config check trademl.yaml)"
printf 'training:\n  tset_size: 0.3\n' > bad1.yaml
err=$("$bin" config check bad1.yaml 2>&1); rc=$?
check unknown-rc 1 "$rc"
check unknown-msg "trademl: error: unknown key 'training.tset_size' at bad1.yaml:2:3; did you mean 'training.test_size'?" "$err"
printf 'training:\n\n  test_size: abc\n' > bad2.yaml
check type-msg "trademl: error: training.test_size at bad2.yaml:3:14: expected a number between 0 and 0.9, got 'abc'" \
  "$("$bin" config check bad2.yaml 2>&1)"
printf 'training:\n  test_size: 0.3\n    x: 1\n' > bad3.yaml
contains yaml-msg "malformed YAML in bad3.yaml:3:6" "$("$bin" config check bad3.yaml 2>&1)"
# A bad file also stops every other command that loads config.
cp bad2.yaml trademl.yaml
"$bin" config show >/dev/null 2>&1; check bad-file-show-rc 1 "$?"
rm trademl.yaml

# Bad environment values name the variable; usage errors exit 2.
err=$(LOG_LEVEL=loud "$bin" config show 2>&1 >/dev/null); rc=$?
check env-rc 2 "$rc"
contains env-msg "logging.level from environment variable LOG_LEVEL: expected one of debug, info, warning, error, off, got 'loud'" "$err"
"$bin" config bogus >/dev/null 2>&1; check verb-rc 2 "$?"
"$bin" config show extra >/dev/null 2>&1; check extra-rc 2 "$?"
"$bin" config show --help >/dev/null; check help-rc 0 "$?"

# Exchange settings are config keys with their origin (issue 10: the clients never read the
# environment; the config loader maps the old variable names onto the keys).
mkdir -p exdir
printf 'exchanges:\n  bitget:\n    base_url: http://127.0.0.1:9002/\n  http:\n    proxy: http://127.0.0.1:3128\n' > exdir/trademl.yaml
exshow=$(cd exdir && TRADEML_BYBIT_BASE_URL=http://127.0.0.1:9001 TRADEML_BINANCE_FUTURES_BASE_URL=http://127.0.0.1:9004 \
  TRADEML_HTTP_TIMEOUT_MS=1500 "$bin" config show)
check ex-bybit "http://127.0.0.1:9001 env TRADEML_BYBIT_BASE_URL" \
  "$(echo "$exshow" | awk '$1=="exchanges.bybit.base_url"{print $2" "$3" "$4}')"
check ex-bitget "http://127.0.0.1:9002 trademl.yaml:3" \
  "$(echo "$exshow" | awk '$1=="exchanges.bitget.base_url"{print $2" "$3}')"
check ex-binance-futures "http://127.0.0.1:9004 env TRADEML_BINANCE_FUTURES_BASE_URL" \
  "$(echo "$exshow" | awk '$1=="exchanges.binance_futures.base_url"{print $2" "$3" "$4}')"
check ex-binance-default "https://api.binance.com default" \
  "$(echo "$exshow" | awk '$1=="exchanges.binance.base_url"{print $2" "$3}')"
check ex-timeout "1500 env TRADEML_HTTP_TIMEOUT_MS" \
  "$(echo "$exshow" | awk '$1=="exchanges.http.timeout_ms"{print $2" "$3" "$4}')"
check ex-proxy "http://127.0.0.1:3128 trademl.yaml:5" \
  "$(echo "$exshow" | awk '$1=="exchanges.http.proxy"{print $2" "$3}')"
check ex-canonical-wins "http://127.0.0.1:9009 env TRADEML_EXCHANGES_BYBIT_BASE_URL" \
  "$(TRADEML_BYBIT_BASE_URL=http://127.0.0.1:9001 TRADEML_EXCHANGES_BYBIT_BASE_URL=http://127.0.0.1:9009 \
     "$bin" config show | awk '$1=="exchanges.bybit.base_url"{print $2" "$3" "$4}')"
err=$(TRADEML_BYBIT_BASE_URL=api.bybit.com "$bin" config show 2>&1 >/dev/null); rc=$?
check ex-bad-url-rc 2 "$rc"
contains ex-bad-url-msg "exchanges.bybit.base_url from environment variable TRADEML_BYBIT_BASE_URL" "$err"
err=$(TRADEML_HTTP_BACKOFF_MS=60000 "$bin" config show 2>&1 >/dev/null); rc=$?
check ex-backoff-rc 2 "$rc"
contains ex-backoff-msg "exchanges.http.backoff_ms (60000, from env TRADEML_HTTP_BACKOFF_MS) must not exceed exchanges.http.backoff_cap_ms" "$err"

# keys: every key, in text, JSON and Markdown.
n=$("$bin" config keys --json | grep -c '"key":')
[[ $n -ge 60 ]] || { echo "FAIL keys: only $n keys" >&2; fails=$((fails + 1)); }
contains keys-legacy '"env":["TRADEML_TRAINING_MIN_DATA_POINTS","MIN_TRAINING_DATA_POINTS"]' "$("$bin" config keys --json)"
contains keys-md '| `training.test_size` | number | `0.2` |' "$("$bin" config keys --markdown)"

# docs/config.md ends with the generated key table; it must match the binary.
if [[ -n "${TML_SOURCE_DIR:-}" && -f "$TML_SOURCE_DIR/docs/config.md" ]]; then
  doc_table=$(sed -n '/^| key | type |/,$p' "$TML_SOURCE_DIR/docs/config.md")
  [[ "$doc_table" == "$("$bin" config keys --markdown)" ]] ||
    { echo "FAIL docs/config.md key table is stale: regenerate with 'trademl config keys --markdown'" >&2; fails=$((fails + 1)); }
fi

if [[ $fails -ne 0 ]]; then
  echo "$fails check(s) failed" >&2
  exit 1
fi
echo "config_cli: all checks passed"
