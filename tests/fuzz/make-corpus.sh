#!/usr/bin/env bash
# Writes the seed corpora tests/fuzz/corpus/<target>/ (committed; rerun after changing a seed here).
# Seeds are small valid and near-valid inputs of each format, written by hand below: the fuzzer
# mutates them, so they only need to reach every branch of the parser once. See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")"
# nn_model's seeds come from models the unit tests save (below): without them, stop before anything
# of the committed corpus is removed
newest() { { ls -t $1 2>/dev/null || true; } | head -1; }
lstm=$(newest '../../build/testtmp/lstm_bad.*/good')
rl_mlp=$(newest '../../build/testtmp/rl_agent_file.*/agent.bin')
rl_lstm=$(newest '../../build/testtmp/rl_agent_lstm.*/agent.bin')
[[ -n $lstm && -n $rl_mlp && -n $rl_lstm ]] || {
  echo "make-corpus: nn_model needs the models the unit tests save under build/testtmp: run" \
       "ctest --test-dir build -R 'lstm.bad_files_refused|rl_ppo.save_load' first" >&2
  exit 1
}
rm -rf corpus
mkdir -p corpus

# seed TARGET NAME TEXT...: the file corpus/TARGET/NAME holds the printf-expanded TEXT.
seed() {
  local target=$1 name=$2
  shift 2
  mkdir -p "corpus/$target"
  printf "$@" >"corpus/$target/$name"
}

# ---- cron: the expression only
i=0
for e in '0 3 * * *' '*/15 * * * *' '0 0 1 JAN,jul MON-FRI' '5-55/10 1-23/2 */3 * 7' '0 0 30 2 *' \
         '0 12 * * SUN' '1,2,3 4 5 6 0' '59 23 31 12 6' '0 0 * * 1-5/2' '61 * * * *'; do
  i=$((i + 1)); seed cron "expr$i" '%s' "$e"
done

# ---- import: byte 0 = options (bits 0-1 format auto/csv/binance/freqtrade, 2-3 interval
# infer/1h/1m/1d, 4 skip bad rows), then the file. fuzz_import_gz: byte 1 = cut point (0 = whole).
csv_ms='open_time,open,high,low,close,volume,source\n1704067200000,100,110,95,105,1.5,a\n1704070800000,105,108,101,106,2.5,b\n1704074400000,106,109,104,107,3.5,c\n'
csv_s='timestamp,open,high,low,close,volume\r\n1704067200,100,110,95,105,1.5\r\n1704070800,105,108,101,106,2.5\r\n1704074400,106,109,104,107,3.5\r\n'
csv_dates='date,open,high,low,close,volume\n2024-01-01 00:00:00,100,110,95,105,1.5\n2024-01-01T01:00:00Z,105,108,101,106,2.5\n"2024-01-01 02:00:00",106,109,104,107,3.5\n\n'
csv_semi='Volume;Close;Low;High;Open;Timestamp\n1.5;105;95;110;100;1704067200000\n2.5;106;101;108;105;1704070800000\n3.5;107;104;109;106;1704074400000\n'
csv_noheader='1704067200000,100,110,95,105,1.5\n1704070800000,105,108,101,106,2.5\n1704074400000,106,109,104,107,3.5\n'
binance='1704067200000000,100,110,95,105,1.5,1704070799999999,150,10,0.7,70,0\n1704070800000000,105,108,101,106,2.5,1704074399999999,250,20,1.2,120,0\n1704074400000000,106,109,104,107,3.5,1704077999999999,350,30,1.7,170,0\n'
cdd='https://www.CryptoDataDownload.com\nUnix,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT,tradecount\n1704074400000,2024-01-01 02:00:00,BTCUSDT,106,109,104,107,3.5,371,30\n1704070800000,2024-01-01 01:00:00,BTCUSDT,105,108,101,106,2.5,265,20\n1704067200000,2024-01-01 00:00:00,BTCUSDT,100,110,95,105,1.5,157,10\n'
cdd12='https://www.CryptoDataDownload.com\nDate,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT\n2019-10-17 11-PM,BTCUSD,106,109,104,107,3.5,371\n2019-10-17 10-PM,BTCUSD,105,108,101,106,2.5,265\n'
bad='open_time,open,high,low,close,volume\n1704067200000,100,90,95,105,1.5\n1704070800000,105,108,101,106,-2.5\n1704070800000,105,108,101,106,2.5\nx,1,1,1,1,1\n-9223372036854775808,1,1,1,1,1\n1e308,1,1,1,1,1\n1704074400000,nan,inf,1,1,1\n'
freq='[[1704067200000,100,110,95,105,1.5],\n [1704070800000,105,108,101,106,2.5],[1704074400000,"106","109","104","107","3.5"]]'
bom='\xef\xbb\xbfopen_time,open,high,low,close,volume\n1704067200000,100,110,95,105,1.5\n1704070800000,105,108,101,106,2.5\n'
for t in import import_gz; do
  pre=''; [[ $t == import_gz ]] && pre='\x00'
  seed $t csv_ms "\x00$pre$csv_ms"
  seed $t csv_s "\x05$pre$csv_s"
  seed $t csv_dates "\x01$pre$csv_dates"
  seed $t csv_semi "\x04$pre$csv_semi"
  seed $t csv_noheader "\x00$pre$csv_noheader"
  seed $t binance "\x06$pre$binance"
  seed $t cdd "\x10$pre$cdd"
  seed $t cdd12 "\x14$pre$cdd12"
  seed $t bad_rows "\x14$pre$bad"
  seed $t bad_rows_strict "\x04$pre$bad"
  seed $t freqtrade "\x00$pre$freq"
  seed $t freqtrade_forced "\x07$pre$freq"
  seed $t bom "\x00$pre$bom"
done
seed import_gz truncated "\x00\x80$csv_ms"
# Raw gzip streams for fuzz_import (whole and cut short).
printf '\x00' >corpus/import/gzip_csv
printf "$csv_ms" | gzip -9n >>corpus/import/gzip_csv
printf '\x00' >corpus/import/gzip_truncated
printf "$csv_ms" | gzip -9n | head -c 40 >>corpus/import/gzip_truncated

# ---- config: the YAML file
seed config full 'data:\n  interval: 15m\n  symbols: [BTCUSDT, ETHUSDT]\n  exchange: binance\ntraining:\n  test_size: 0.2\n  job_timeout: 2h\n  cron_schedule: "0 2,14 * * *"\nlabels:\n  direction_quantiles: [0.33, 0.67]\n  volatility_quantiles:\n    - 0.5\n    - 0.9\nvalidation.gates.min_sharpe: 0.5\nvalidation:\n  gates:\n    rules: ["direction.accuracy>0.6"]\nserver:\n  listen: "[::1]:8080"\n  api_token: secret\nlogging:\n  level: info\nexchanges:\n  bybit:\n    base_url: http://127.0.0.1:9\n'
seed config empty ''
seed config comment '# nothing but a comment\n---\n'
seed config anchors 'base: &b\n  test_size: 0.3\ntraining: *b\n'
seed config flow '{data: {days: 30, min_coverage_pct: 99.5}, model: {strategy: xgb5, keep_newest: 2}}\n'
seed config bad_key 'traning:\n  test_size: 0.2\n'
seed config bad_value 'training:\n  test_size: 2\n  max_depth: six\n'
seed config twice 'training:\n  seed: 1\ntraining.seed: 2\n'
seed config tabs 'data:\n\tinterval: 15m\n'
seed config null_values 'server:\n  api_token: ~\ndata:\n  symbols: []\n'
seed config deep 'a:\n b:\n  c:\n   d:\n    e:\n     f:\n      g:\n       h: 1\n'
seed config durations 'training:\n  lease_seconds: 90s\n  retry_backoff_seconds: 1d\n  job_timeout: 15m\ndata:\n  busy_timeout: 5\n'

# ---- queue: the JSON queue file
seed queue object '{"queue":[{"symbol":"LTCUSDT","added_at":"2025-01-01T00:00:00Z","attempts":0},{"symbol":"ETH/USDT","attempts":2,"last_error":"insufficient history: 12.3 days < 90"},{"symbol":"SOLUSDT","added_at":null}]}'
seed queue list '["LTCUSDT","btc/usdt","DOGEUSDT"]'
seed queue empty '{"queue":[]}'
seed queue bad_symbol '["LTC USDT"]'
seed queue bad_time '{"queue":[{"symbol":"LTCUSDT","added_at":"yesterday"}]}'
seed queue bad_attempts '{"queue":[{"symbol":"LTCUSDT","attempts":-1}]}'
seed queue not_queue '{"symbols":["LTCUSDT"]}'
seed queue scalar '"LTCUSDT"'
seed queue bybit_shape '{"retCode":0,"result":{"list":[{"symbol":"NEWUSDT","launchTime":"1735689600000"}]}}'

# ---- exchange: byte 0 client (0 bybit linear, 1 bybit spot, 2 bitget USDT-FUTURES, 3 bitget SPOT,
# 4 binance spot, 5 binance futures), byte 1 call (0 klines, 1 fetch_range at a fixed clock, 5 the same
# asking the server time first, 2 server time, 3 instruments), byte 2 statuses (0 = all 200), then
# the reply bodies separated by NUL bytes.
by_k='{"retCode":0,"retMsg":"OK","result":{"category":"linear","symbol":"BTCUSDT","list":[["1704070800000","105","108","101","106","2.5","262"],["1704067200000","100","110","95","105","1.5","157"]]},"time":1704081600000}'
by_t='{"retCode":0,"retMsg":"OK","result":{"timeSecond":"1704816000","timeNano":"1704816000000000000"},"time":1704816000000}'
by_i='{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"ETHUSDT","baseCoin":"ETH","quoteCoin":"USDT","status":"Trading","launchTime":"1615766400000"},{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT","status":"Trading","launchTime":"1585526400000"}],"nextPageCursor":""}}'
by_tick='{"retCode":0,"result":{"list":[{"symbol":"BTCUSDT","turnover24h":"1234567.5","volume24h":"30.1"},{"symbol":"XYZUSDT","turnover24h":"1","volume24h":"1"}]}}'
by_err='{"retCode":10001,"retMsg":"params error: symbol invalid","result":{},"time":1704081600000}'
by_rate='{"retCode":10006,"retMsg":"Too many visits!","result":{}}'
bg_k='{"code":"00000","msg":"success","requestTime":1704816000000,"data":[["1704067200000","100","110","95","105","1.5","150","150"],["1704070800000","105","108","101","106","2.5","262","262"]]}'
bg_empty='{"code":"00000","msg":"success","requestTime":1704816000000,"data":""}'
bg_t='{"code":"00000","msg":"success","requestTime":1704816000000,"data":{"serverTime":"1704816000000"}}'
bg_i='{"code":"00000","msg":"success","data":[{"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT","symbolStatus":"normal","status":"online","launchTime":"1585526400000"},{"symbol":"ETHUSDT","baseCoin":"ETH","quoteCoin":"USDT","symbolStatus":"normal","launchTime":""}]}'
bg_tick='{"code":"00000","data":[{"symbol":"BTCUSDT","quoteVolume":"123.5","baseVolume":"2"}]}'
bg_err='{"code":"40034","msg":"Parameter does not exist","data":null}'
bn_k='[[1704067200000,"100","110","95","105","1.5",1704070799999,"150",10,"0.7","70","0"],[1704070800000,"105","108","101","106","2.5",1704074399999,"262",20,"1.2","120","0"]]'
bn_t='{"serverTime":1704816000000}'
bn_i='{"timezone":"UTC","symbols":[{"symbol":"BTCUSDT","baseAsset":"BTC","quoteAsset":"USDT","status":"TRADING","onboardDate":1569398400000},{"symbol":"ETHUSDT","baseAsset":"ETH","quoteAsset":"USDT","status":"BREAK"}]}'
bn_tick='[{"symbol":"BTCUSDT","quoteVolume":"123.5","volume":"2"},{"symbol":"ETHUSDT","quoteVolume":1,"volume":3}]'
bn_err='{"code":-1121,"msg":"Invalid symbol."}'
seed exchange bybit_klines "\x00\x00\x00$by_k"
seed exchange bybit_spot_klines "\x01\x00\x00$by_k"
seed exchange bybit_range "\x00\x01\x00$by_k\x00$by_k\x00$by_k"
seed exchange bybit_range_time "\x00\x05\x00$by_t\x00$by_k\x00$by_k\x00$by_k"
seed exchange bybit_time "\x00\x02\x00$by_t"
seed exchange bybit_instruments "\x00\x03\x00$by_i\x00$by_tick"
seed exchange bybit_error "\x00\x00\x00$by_err"
seed exchange bybit_ratelimit "\x00\x00\x00$by_rate"
seed exchange bybit_http429 "\x00\x00\x02{}"
seed exchange bybit_html "\x00\x00\x00<html>502 Bad Gateway</html>"
seed exchange bitget_klines "\x02\x00\x00$bg_k"
seed exchange bitget_spot_range "\x03\x01\x00$bg_empty\x00$bg_k\x00$bg_k"
seed exchange bitget_time "\x02\x02\x00$bg_t"
seed exchange bitget_range_time "\x02\x05\x00$bg_t\x00$bg_k\x00$bg_k\x00$bg_k"
seed exchange bitget_instruments "\x02\x03\x00$bg_i\x00$bg_tick"
seed exchange bitget_spot_instruments "\x03\x03\x00$bg_i\x00$bg_tick"
seed exchange bitget_error "\x02\x00\x01$bg_err"
seed exchange binance_klines "\x04\x00\x00$bn_k"
seed exchange binance_futures_range "\x05\x01\x00$bn_k\x00$bn_k\x00$bn_k"
seed exchange binance_time "\x04\x02\x00$bn_t"
seed exchange binance_range_time "\x04\x05\x00$bn_t\x00$bn_k\x00$bn_k"
seed exchange binance_instruments "\x05\x03\x00$bn_i\x00$bn_tick"
seed exchange binance_error "\x04\x00\x01$bn_err"
seed exchange binance_503 "\x04\x00\x03$bn_k"
# Regression inputs (docs/fuzzing.md, findings): server clocks far outside any real time.
seed exchange bybit_time_min "\x00\x02\x00"'{"retCode":0,"time":-9223372036854775808}'
seed exchange bybit_range_time_max "\x00\x05\x00"'{"retCode":0,"time":9223372036854775807}'

# ---- http: byte 0 route (0 POST /api/training/start, 1 POST /api/training/jobs/{id}/cancel,
# 2 POST /api/models/{id}/activate, 3 POST /api/queue, 4 DELETE /api/queue), then "{id}\n" for the
# routes with a path parameter, then the body.
seed http start_min '\x00{"symbol":"BTCUSDT"}'
seed http start_full '\x00{"symbol":"BTC/USDT","interval":"15m","training_mode":"quick","test_period_days":14,"min_train_days":30,"train_window_days":60,"use_expanding_window":false,"days":45.5,"priority":5,"num_boost_round":50,"early_stopping_rounds":10,"force":true}'
seed http start_symbols '\x00{"symbols":["ETHUSDT","BTCUSDT"],"timeframe":"M15","training_mode":"train"}'
seed http start_empty '\x00'
seed http start_unknown_field '\x00{"symbol":"BTCUSDT","epochs":3}'
seed http start_bad_types '\x00{"symbol":7,"priority":"high"}'
seed http start_dup '\x00{"symbol":"BTCUSDT","symbol":"ETHUSDT"}'
seed http start_deep '\x00{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}'
seed http start_array '\x00["BTCUSDT"]'
seed http start_path_symbol '\x00{"symbol":"../../etc/passwd"}'
seed http cancel '\x011\n'
seed http cancel_fields '\x011\n{"now":true}'
seed http cancel_bad_id '\x01-7\n'
seed http cancel_missing '\x0199999999999999999999\n{}'
seed http activate '\x021\n{}'
seed http activate_words '\x02latest\n'
seed http queue_post '\x03{"symbols":["LTCUSDT","ETH/USDT"]}'
seed http queue_post_all '\x03{"all":true}'
seed http queue_delete '\x04{"symbol":"LTCUSDT"}'
seed http queue_delete_all '\x04{"all":true}'
seed http queue_delete_both '\x04{"all":true,"symbols":["X"]}'

# ---- modelset: bytes 0-4 per head: low 3 bits the model file (0 the feature columns, 1 one more, 2 two
# more, 3 the other kind of head, 4 missing, 5 "{}", 6-7 the first cut at (high 5 bits)/32 of its
# length), then metadata.json with $CHECKSUM, $NFEAT and $COLUMNS[12] filled in by the target.
meta_one='{"format":1,"strategy":"xgb5","version":"v1","symbols":["BTCUSDT"],"interval":"1h","training_mode":"single_symbol","symbol_encoding":"none","feature_set":{"version":1,"checksum":"$CHECKSUM","nfeatures":$NFEAT,"columns":$COLUMNS},"data":{"last_row":"2024-01-20T00:00:00Z"}}'
meta_multi='{"format":1,"strategy":"xgb5","version":"v2","symbols":["BTCUSDT","ETHUSDT"],"interval":"1h","symbol_encoding":"index","feature_set":{"checksum":"$CHECKSUM","nfeatures":$NFEAT,"columns":$COLUMNS1},"data":{"first_row":"2024-01-01T00:00:00Z","last_row":"2024-01-20T00:00:00Z","input_hash":"0123456789abcdef"},"heads":{"direction":{"metrics":{"roc_auc_macro":0.61,"accuracy":0.5,"n":100}}}}'
meta_onehot='{"format":1,"strategy":"xgb5","version":"v3","symbols":["BTCUSDT","ETHUSDT"],"interval":"1h","symbol_encoding":"one_hot","feature_set":{"checksum":"$CHECKSUM","nfeatures":$NFEAT,"columns":$COLUMNS2},"data":{},"heads":{"volatility":{"metrics":{"roc_auc_macro":"high"}}}}'
meta_onehot_short='{"format":1,"strategy":"xgb5","version":"v3","symbols":["BTCUSDT","ETHUSDT","SOLUSDT"],"interval":"1h","symbol_encoding":"one_hot","feature_set":{"checksum":"$CHECKSUM","nfeatures":$NFEAT,"columns":$COLUMNS}}'
meta_old='{"strategy":"xgb5","version":"v0","symbols":["BTCUSDT"],"interval":"1h","symbol_encoding":"none","feature_set":{"checksum":"0123456789abcdef","nfeatures":12,"columns":["a","b"]}}'
seed modelset right "\x00\x00\x00\x00\x00$meta_one"
seed modelset multi_index "\x01\x01\x01\x01\x01$meta_multi"
seed modelset multi_onehot "\x02\x02\x02\x02\x02$meta_onehot"
seed modelset onehot_too_few_columns "\x00\x00\x00\x00\x00$meta_onehot_short"
seed modelset old_checksum "\x00\x00\x00\x00\x00$meta_old"
seed modelset fewer_columns "\x01\x00\x00\x00\x00$meta_one"
seed modelset other_classes "\x00\x03\x00\x00\x00$meta_one"
seed modelset missing_model "\x00\x00\x04\x00\x00$meta_one"
seed modelset empty_model "\x00\x00\x00\x05\x00$meta_one"
seed modelset cut_model "\x00\x00\x00\x00\x86$meta_one"
seed modelset not_json "\x00\x00\x00\x00\x00{\"version\":"
seed modelset lacks_fields "\x00\x00\x00\x00\x00{\"version\":\"v1\",\"symbols\":[]}"

# ---- gbdt_model: a native engine model file (<head>_model.json of --engine native)
gb_head='{"format":"trademl-gbdt","format_version":1,"engine":"native",'
gb_tree='{"feature":[1,0,-1,-1,-1],"value":[0.5,-2,0.01,-0.02,0.03],"left":[1,3,-1,-1,-1],"default_left":[1,0,0,0,0],"gain":[3.5,1.25,0,0,0],"cover":[40,25,15,10,15],"weight":[0,0,0.2,-0.4,0.6]}'
gb_leaf='{"feature":[-1],"value":[0.125],"left":[-1],"default_left":[0],"gain":[0],"cover":[12],"weight":[2.5]}'
seed gbdt_model regression "${gb_head}"'"nclass":0,"ncols":2,"base_score":0.5,"best_iteration":1,"best_score":0.25,"feature_names":["a","b"],"trees":[%s,\n%s]}' "$gb_tree" "$gb_leaf"
seed gbdt_model classes "${gb_head}"'"nclass":3,"ncols":3,"base_score":0.5,"best_iteration":0,"best_score":null,"feature_names":null,"trees":[%s,%s,%s]}' "$gb_tree" "$gb_leaf" "$gb_tree"
seed gbdt_model deep "${gb_head}"'"nclass":0,"ncols":1,"base_score":-1e-3,"best_iteration":0,"best_score":1,"feature_names":["x"],"trees":[{"feature":[0,-1,0,-1,0,-1,-1],"value":[1,2,3,4,5,6,7],"left":[1,-1,3,-1,5,-1,-1],"default_left":[0,0,1,0,0,0,0],"gain":[1,0,1,0,1,0,0],"cover":[1,1,1,1,1,1,1],"weight":[1,1,1,1,1,1,1]}]}'
seed gbdt_model xgboost '{"learner":{"gradient_booster":{"model":{"trees":[]}}},"version":[1,7,4]}'
seed gbdt_model bad_child "${gb_head}"'"nclass":0,"ncols":2,"base_score":0.5,"best_iteration":0,"best_score":0.25,"trees":[{"feature":[0,-1],"value":[0.5,1],"left":[0,-1],"default_left":[0,0],"gain":[1,0],"cover":[1,1],"weight":[1,1]}]}'
# eight trees or more, not a multiple of eight, with 1-4 classes: prediction's groups of eight trees,
# its class sums in registers (1, 2, 4 classes) and its tail (class t % K); trees and leaves mixed so
# that a tree added to the wrong class changes the margins
gb_mix() { # N trees: tree, leaf, leaf, tree, leaf, leaf, ...
  local out="" i
  for ((i = 0; i < $1; i++)); do
    if ((i % 3 == 0)); then out+="${out:+,}$gb_tree"; else out+="${out:+,}${gb_leaf/0.125/0.$((i + 1))}"; fi
  done
  printf '%s' "$out"
}
for spec in 0:11 2:10 3:15 4:12; do
  k=${spec%%:*} n=${spec##*:}
  seed gbdt_model "groups_$k" "${gb_head}"'"nclass":%s,"ncols":3,"base_score":0.5,"best_iteration":%s,"best_score":1,"feature_names":null,"trees":[%s]}' "$k" "$((n / (k > 0 ? k : 1) - 1))" "$(gb_mix "$n")"
done
# the findings, as regression seeds: a -0 leaf, a weight beyond float, a best_iteration that overflowed
seed gbdt_model negzero "${gb_head}"'"nclass":0,"ncols":1,"base_score":-0.0,"best_iteration":0,"best_score":1,"feature_names":null,"trees":[{"feature":[-1],"value":[-0.0],"left":[-1],"default_left":[0],"gain":[0],"cover":[3],"weight":[-0.0]}]}'
seed gbdt_model hugeweight "${gb_head}"'"nclass":0,"ncols":2,"base_score":0.5,"best_iteration":0,"best_score":0.25,"feature_names":null,"trees":[%s]}' "${gb_tree/0.6]/3.5e38]}"
seed gbdt_model hugebest "${gb_head}"'"nclass":0,"ncols":2,"base_score":0.5,"best_iteration":9223372036854775807,"best_score":0.25,"feature_names":null,"trees":[%s]}' "$gb_tree"
# the largest floats as the engine writes them (a little above FLT_MAX as doubles): they load back
seed gbdt_model fltmax "${gb_head}"'"nclass":0,"ncols":1,"base_score":-3.4028234663852886e38,"best_iteration":0,"best_score":1,"feature_names":null,"trees":[{"feature":[0,-1,-1],"value":[3.40282347e+38,-3.40282347e+38,3.4028234663852886e38],"left":[1,-1,-1],"default_left":[0,0,0],"gain":[1,0,0],"cover":[3,1,2],"weight":[0,3.40282347e+38,-3.40282347e+38]}]}'

# ---- nn_model: byte 0 = options (bit 0 an RL agent, else an LSTM model; bit 1 keep the checksums as
# fuzzed; bit 2 keep an agent's feature-set checksum), then the file. Binary files with checksums are
# not written by hand: the seeds are the real models the unit tests save (run
# `ctest --test-dir build -R 'lstm.bad_files_refused|rl_ppo.save_load'` first), plus the huge-header
# cases those tests build (dimensions that ask for gigabytes over a small file).
# (lstm, rl_mlp and rl_lstm: found before the corpus is removed, see the top)
mkdir -p corpus/nn_model
nn_seed() { { printf "$2"; cat "$3"; } >"corpus/nn_model/$1"; }
nn_seed lstm '\x00' "$lstm"
nn_seed lstm_raw '\x02' "$lstm"
nn_seed rl_mlp '\x01' "$rl_mlp"
nn_seed rl_lstm '\x01' "$rl_lstm"
nn_seed rl_raw '\x03' "$rl_mlp"
nn_seed rl_other_features '\x05' "$rl_mlp"
# LSTM header dimensions 100000 columns x 1024 hidden (bytes 52..59) over the small file; agent
# hidden 4096 x 7 layers (bytes 36..43): both refused before anything of their size is allocated
python3 - corpus/nn_model <<'PY'
import struct, sys
d = sys.argv[1]
b = bytearray(open(f"{d}/lstm", "rb").read())
b[1 + 52:1 + 60] = struct.pack("<II", 100000, 1024)
open(f"{d}/lstm_huge_dims", "wb").write(b)
b = bytearray(open(f"{d}/rl_mlp", "rb").read())
b[1 + 36:1 + 44] = struct.pack("<II", 4096, 7)
open(f"{d}/rl_huge_layers", "wb").write(b)
PY
