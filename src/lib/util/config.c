/* Configuration: the table of every key trademl knows, and the layered loader (defaults, YAML
 * file, environment, flags) that validates each value against that table and keeps where it came
 * from. Everything that reads settings goes through here, so a key has one type, one default and
 * one range everywhere (CLI, daemon, workers). */
#include "trademl/config.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/cron.h"
#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"

#include <ctype.h>
#include <yaml.h>

enum key_type {
  K_INT,
  K_DOUBLE,
  K_BOOL,
  K_STRING,
  K_ENUM,
  K_LIST,     /* strings */
  K_NUMLIST,  /* numbers in [min, max] */
  K_DURATION, /* seconds; "90", "90s", "15m", "2h", "1d" */
  K_INTERVAL, /* candle interval, canonical name */
  K_PATH,
  K_URL,
  K_CRON,
  K_LISTEN,
};

enum {
  F_SECRET = 1u << 0,    /* masked by tml_config_show */
  F_HOME = 1u << 1,      /* default is relative to the state home */
  F_AUTO = 1u << 2,      /* interval that also takes "auto" */
  F_NOMAX = 1u << 3,     /* numeric with no upper bound */
  F_ASCENDING = 1u << 4, /* number list must be strictly ascending */
  F_NAME = 1u << 5,      /* string used as a path component: [A-Za-z0-9_.-]+ */
  F_SYMBOLS = 1u << 6,   /* string list of trading symbols, normalized */
  F_EMPTY_OK = 1u << 7,  /* string may be empty */
  F_DBURL = 1u << 8,     /* database location: shown with its password masked (tml_db_redact) */
};

struct key_def {
  const char *name;
  enum key_type type;
  const char *def;     /* default, string form */
  double min, max;     /* numeric range (inclusive); number lists: per item */
  const char *choices; /* enum: "a|b|c"; first is not necessarily the default */
  const char *legacy;  /* legacy environment variable, or NULL */
  unsigned flags;
  const char *help;
};

/* The table. Keep grouped by section; docs/config.md is generated from `trademl config keys`. */
static const struct key_def keys[] = {
    /* data */
    {"data.db_path", K_PATH, "trademl.db", 0, 0, NULL, NULL, F_HOME,
     "SQLite database with candles, jobs and the model registry"},
    {"data.exchange", K_ENUM, "bybit", 0, 0, "bybit|bitget|binance|binance_futures", NULL, 0,
     "exchange that candles are downloaded from"},
    {"data.symbols", K_LIST, "", 0, 0, NULL, NULL, F_SYMBOLS,
     "symbols to work on (BTCUSDT, ...); empty = every symbol in the store"},
    {"data.interval", K_INTERVAL, "15m", 0, 0, NULL, NULL, 0, "candle interval models are trained on"},
    {"data.days", K_INT, "730", 0, 36500, NULL, NULL, 0,
     "days of history to download and train on (0 = all stored history; downloads then use 730)"},
    {"data.busy_timeout", K_DURATION, "5", 0, 600, NULL, NULL, 0,
     "how long a job/queue command waits for a database locked by another process"},
    {"data.min_history_days", K_INT, "90", 0, 36500, NULL, NULL, 0,
     "a symbol needs at least this many days of candles to be trained"},
    {"data.min_coverage_pct", K_DOUBLE, "95", 0, 100, NULL, NULL, 0,
     "a symbol needs at least this percentage of its candles present to be trained"},
    /* model */
    {"model.models_dir", K_PATH, "models", 0, 0, NULL, NULL, F_HOME, "folder that holds model versions"},
    {"model.training_mode", K_ENUM, "single_symbol", 0, 0, "single_symbol|multi_symbol", NULL, 0,
     "one model set per symbol, or one model set for all symbols together"},
    {"model.symbol_encoding", K_ENUM, "one_hot", 0, 0, "one_hot|index", NULL, 0,
     "how the symbol is given to a multi_symbol model"},
    {"model.strategy", K_STRING, "xgb5", 0, 0, NULL, NULL, F_NAME,
     "strategy that trains and predicts (xgb5, ensemble; docs/strategies.md); also the first folder level under "
     "model.models_dir"},
    {"model.auto_train_new_symbols", K_BOOL, "true", 0, 0, NULL, NULL, 0,
     "queue training for symbols that appear in the universe"},
    {"model.retention_days", K_INT, "30", 0, 36500, NULL, "MODEL_RETENTION_DAYS", 0,
     "inactive model versions older than this are deleted (0 = keep forever)"},
    {"model.keep_newest", K_INT, "3", 1, 1000, NULL, NULL, 0,
     "retention always keeps this many newest versions per symbol"},
    {"model.activation.require_gates", K_BOOL, "false", 0, 0, NULL, NULL, 0,
     "a new model set becomes active only with a walk-forward report whose gates passed"},
    {"model.activation.metric", K_STRING, "direction.roc_auc_macro", 0, 0, NULL, NULL, F_NAME,
     "out-of-sample metric a new set must not score worse on than the active one: HEAD.METRIC from "
     "metadata.json (stop_loss.rmse, ...) or report.PATH from report.json"},
    {"model.activation.min_improvement", K_DOUBLE, "0", -1e9, 1e9, NULL, NULL, 0,
     "a new set must beat the active one by at least this much on model.activation.metric"},
    /* training */
    {"training.test_size", K_DOUBLE, "0.2", 0, 0.9, NULL, NULL, 0,
     "fraction of the newest rows held out for early stopping and evaluation"},
    {"training.purge_gap", K_INT, "0", 0, 100000, NULL, NULL, 0,
     "rows dropped between training and test rows (0 = labels.horizon)"},
    {"training.num_boost_round", K_INT, "500", 1, 100000, NULL, NULL, 0, "maximum boosting rounds"},
    {"training.early_stopping_rounds", K_INT, "50", 0, 100000, NULL, NULL, 0,
     "stop after this many rounds without improvement (0 = off)"},
    {"training.learning_rate", K_DOUBLE, "0.05", 0.0001, 1, NULL, NULL, 0, "XGBoost eta"},
    {"training.max_depth", K_INT, "6", 0, 32, NULL, NULL, 0, "XGBoost max_depth (0 = no limit, only with training.max_leaves)"},
    {"training.min_child_weight", K_DOUBLE, "1", 0, 1e6, NULL, NULL, 0, "XGBoost min_child_weight"},
    {"training.subsample", K_DOUBLE, "1.0", 0.05, 1, NULL, NULL, 0, "XGBoost subsample (row fraction)"},
    {"training.colsample_bytree", K_DOUBLE, "1.0", 0.05, 1, NULL, NULL, 0,
     "XGBoost colsample_bytree (feature fraction per tree)"},
    {"training.lambda", K_DOUBLE, "1.0", 0, 1e6, NULL, NULL, 0, "XGBoost L2 regularization"},
    {"training.max_bin", K_INT, "64", 2, 65536, NULL, NULL, 0, "XGBoost histogram bins"},
    {"training.threads", K_INT, "0", 0, 1024, NULL, NULL, 0, "XGBoost threads (0 = all cores)"},
    {"training.seed", K_INT, "42", 0, 4294967295.0, NULL, NULL, 0, "random seed (same seed, same model)"},
    {"training.min_train_rows", K_INT, "1000", 1, 1e9, NULL, NULL, 0,
     "training fails when fewer labelled rows remain"},
    {"training.cron_schedule", K_CRON, "0 2,14,22 * * *", 0, 0, NULL, "TRAINING_CRON_SCHEDULE", 0,
     "when scheduled retraining runs (5-field cron, UTC)"},
    {"training.max_concurrent_jobs", K_INT, "3", 1, 256, NULL, "MAX_CONCURRENT_TRAINING_JOBS", 0,
     "training jobs that run at the same time"},
    {"training.job_timeout", K_DURATION, "3600", 10, 604800, NULL, "TRAINING_JOB_TIMEOUT", 0,
     "a training job is killed after this long"},
    {"training.retry_attempts", K_INT, "3", 0, 100, NULL, "TRAINING_RETRY_ATTEMPTS", 0,
     "times a failed job is retried"},
    {"training.min_data_points", K_INT, "1000", 1, 1e9, NULL, "MIN_TRAINING_DATA_POINTS", 0,
     "candles a symbol needs before it is queued for training"},
    {"training.lease_seconds", K_DURATION, "60", 2, 3600, NULL, NULL, 0,
     "a running job's lease; a job whose worker stopped heartbeating this long is taken again"},
    {"training.retry_backoff_seconds", K_DURATION, "30", 0, 86400, NULL, NULL, 0,
     "retry n of a failed job waits this times 2^(n-1)"},
    {"training.cancel_grace_seconds", K_DURATION, "10", 0, 600, NULL, NULL, 0,
     "a cancelled or timed-out job gets SIGTERM, then SIGKILL after this long"},
    {"training.coverage_recheck_seconds", K_DURATION, "300", 1, 86400, NULL, NULL, 0,
     "a queued symbol with too little history is checked again after this long"},
    /* labels */
    {"labels.horizon", K_INT, "12", 1, 10000, NULL, NULL, 0, "candles ahead that labels look at"},
    {"labels.direction_quantiles", K_NUMLIST, "0.3333333333333333,0.6666666666666666", 0, 1, NULL, NULL, F_ASCENDING,
     "future-return quantiles (fitted on training rows) splitting down / neutral / up"},
    {"labels.volatility_quantiles", K_NUMLIST, "0.5,0.8,0.95", 0, 1, NULL, NULL, F_ASCENDING,
     "future-volatility quantiles (fitted on training rows) splitting low / normal / high / extreme"},
    {"labels.timing_quantiles", K_NUMLIST, "0.3333333333333333,0.6666666666666666", 0, 1, NULL, NULL, F_ASCENDING,
     "entry-timing score quantiles (fitted on training rows) splitting bad / ok / good"},
    {"labels.tp1_pct", K_DOUBLE, "1.0", 0.01, 100, NULL, NULL, 0,
     "first take-profit distance in percent (take-profit hit label)"},
    {"labels.sl_pct", K_DOUBLE, "1.0", 0.01, 100, NULL, NULL, 0,
     "stop-loss distance in percent used with labels.tp1_pct for the hit label"},
    {"labels.stop_loss_min_pct", K_DOUBLE, "0.5", 0.01, 100, NULL, NULL, 0,
     "stop-loss label is clipped to at least this percent"},
    {"labels.stop_loss_max_pct", K_DOUBLE, "5", 0.01, 100, NULL, NULL, 0,
     "stop-loss label is clipped to at most this percent"},
    {"labels.risk_per_trade_pct", K_DOUBLE, "0.5", 0.01, 100, NULL, NULL, 0,
     "equity risked per trade, for the position-size label"},
    {"labels.position_size_min", K_DOUBLE, "0.1", 0, 100, NULL, NULL, 0,
     "position-size label lower clip (fraction of equity)"},
    {"labels.position_size_max", K_DOUBLE, "1.0", 0, 100, NULL, NULL, 0,
     "position-size label upper clip (fraction of equity)"},
    /* features */
    {"features.htf_interval", K_INTERVAL, "auto", 0, 0, NULL, NULL, F_AUTO,
     "higher timeframe for multi-timeframe features (auto = chosen from data.interval)"},
    /* validation */
    {"validation.mode", K_ENUM, "quick", 0, 0, "quick|full|sequential", NULL, 0,
     "quick: the newest validation.quick_folds folds, fixed window; full: every fold, expanding window; "
     "sequential: quick, then full when the gates pass, then the final model set"},
    {"validation.quick_folds", K_INT, "5", 1, 1000, NULL, NULL, 0, "folds in quick mode (the newest ones)"},
    {"validation.test_period_days", K_INT, "21", 1, 3650, NULL, NULL, 0,
     "days in each fold's test period (preset: quick 60, full 21)"},
    {"validation.min_train_days", K_INT, "120", 1, 36500, NULL, NULL, 0,
     "expanding window: days of history before the first test period (preset 120)"},
    {"validation.train_window_days", K_INT, "180", 1, 36500, NULL, NULL, 0,
     "fixed window: training window length in days (preset: quick 180)"},
    {"validation.window", K_ENUM, "expanding", 0, 0, "fixed|expanding", NULL, 0,
     "fixed: a rolling training window; expanding: all history before each fold (preset: quick fixed, full "
     "expanding)"},
    {"validation.embargo_days", K_INT, "0", 0, 365, NULL, NULL, 0,
     "days after each test period never used to train later folds (Lopez de Prado's embargo)"},
    {"validation.signal_threshold", K_DOUBLE, "0.6", 0, 1, NULL, NULL, 0,
     "a long signal when the direction head's P(up) is at least this"},
    {"validation.fee_pct", K_DOUBLE, "0.2", 0, 10, NULL, NULL, 0,
     "round-trip fee in percent subtracted from every signal's return"},
    {"validation.gates.rules", K_LIST, "direction.recall.up>0.35,direction.accuracy>0.60,direction.roc_auc.up>0.61,"
     "direction.f1.up>0.45", 0, 0, NULL, NULL, 0,
     "success criteria METRIC>VALUE (> >= < <=) on the mean over folds, e.g. direction.recall.up>0.35, "
     "trading.sharpe>0.5; see docs/validation.md"},
    {"validation.gates.trading", K_BOOL, "false", 0, 0, NULL, NULL, 0,
     "also require the trading gates below (min_trades, min_profit_factor, min_sharpe, max_drawdown_pct)"},
    {"validation.gates.min_trades", K_INT, "30", 0, 1e9, NULL, NULL, 0,
     "trading gate: minimum signals per fold (mean)"},
    {"validation.gates.min_profit_factor", K_DOUBLE, "1.1", 0, 1000, NULL, NULL, 0,
     "trading gate: minimum gross profit / gross loss (mean over folds)"},
    {"validation.gates.min_sharpe", K_DOUBLE, "0.5", -100, 100, NULL, NULL, 0,
     "trading gate: minimum annualised Sharpe ratio of the signals (mean over folds)"},
    {"validation.gates.max_drawdown_pct", K_DOUBLE, "30", 0, 100, NULL, NULL, 0,
     "trading gate: maximum drawdown of the compounded signal equity in percent of its peak (mean over folds)"},
    /* operations */
    {"operations.model_rotation.enabled", K_BOOL, "false", 0, 0, NULL, NULL, 0,
     "retrain active models on a schedule"},
    {"operations.model_rotation.retrain_frequency_days", K_INT, "7", 1, 365, NULL, NULL, 0,
     "a model is retrained when it is this old"},
    /* server */
    {"server.listen", K_LISTEN, "127.0.0.1:8000", 0, 0, NULL, NULL, 0, "HTTP API address (HOST:PORT)"},
    {"server.api_token", K_STRING, "", 0, 0, NULL, "TRADEML_API_TOKEN", F_SECRET | F_EMPTY_OK,
     "bearer token the API requires (empty = no authentication)"},
    {"server.workers", K_INT, "3", 1, 256, NULL, NULL, 0, "worker processes for jobs"},
    {"server.allowed_hosts", K_LIST, "", 0, 0, NULL, NULL, 0,
     "host names (NAME or NAME:PORT) the daemon answers to besides IP addresses, localhost and the listen "
     "host; pages served from them may also post to the API (DNS-rebinding and cross-site protection)"},
    {"server.auth_reads", K_BOOL, "false", 0, 0, NULL, NULL, 0,
     "reads need the bearer token too (all routes but /health and the dashboard files); needs server.api_token"},
    {"server.idle_timeout", K_DURATION, "10", 1, 3600, NULL, NULL, 0,
     "a connection that sends nothing for this long (headers, body, or between requests) is closed"},
    {"server.max_client_connections", K_INT, "64", 1, 100000, NULL, NULL, 0,
     "open connections one client address may hold; more are closed at once"},
    {"server.max_connections", K_INT, "2048", 16, 1000000, NULL, NULL, 0,
     "open connections the daemon accepts in total"},
    /* logging */
    {"logging.level", K_ENUM, "warning", 0, 0, "debug|info|warning|error|off", "LOG_LEVEL", 0,
     "log level (warn and critical are accepted as warning and error; ML_TRAINING_DEBUG=true means debug)"},
    {"logging.dir", K_PATH, "logs", 0, 0, NULL, NULL, F_HOME, "folder for log files"},
    /* exchanges */
    {"exchanges.bybit.base_url", K_URL, "https://api.bybit.com", 0, 0, NULL, "TRADEML_BYBIT_BASE_URL", 0,
     "Bybit REST endpoint"},
    {"exchanges.bitget.base_url", K_URL, "https://api.bitget.com", 0, 0, NULL, "TRADEML_BITGET_BASE_URL",
     0, "Bitget REST endpoint"},
    {"exchanges.binance.base_url", K_URL, "https://api.binance.com", 0, 0, NULL,
     "TRADEML_BINANCE_BASE_URL", 0, "Binance spot REST endpoint"},
    {"exchanges.binance_futures.base_url", K_URL, "https://fapi.binance.com", 0, 0, NULL,
     "TRADEML_BINANCE_FUTURES_BASE_URL", 0, "Binance USD-M futures REST endpoint"},
    {"exchanges.http.timeout_ms", K_INT, "30000", 100, 3600000, NULL, "TRADEML_HTTP_TIMEOUT_MS", 0,
     "an exchange request (connect, send, whole reply) fails after this many milliseconds"},
    {"exchanges.http.retries", K_INT, "6", 0, 100, NULL, "TRADEML_HTTP_RETRIES", 0,
     "retries of a failed exchange request (timeouts, 5xx, 429, replies that are not JSON); 0 = none"},
    {"exchanges.http.backoff_ms", K_INT, "500", 1, 3600000, NULL, "TRADEML_HTTP_BACKOFF_MS", 0,
     "first retry waits about this long, doubling per retry up to exchanges.http.backoff_cap_ms"},
    {"exchanges.http.backoff_cap_ms", K_INT, "30000", 1, 3600000, NULL, NULL, 0,
     "longest wait between two retries of an exchange request"},
    {"exchanges.http.rate", K_DOUBLE, "0", 0, 1e6, NULL, "TRADEML_HTTP_RATE", 0,
     "requests (Binance: weight units) per second for every exchange; 0 = each exchange's own pacing"},
    {"exchanges.http.proxy", K_STRING, "", 0, 0, NULL, NULL, F_EMPTY_OK,
     "proxy for exchange requests (http://host:3128, socks5h://host:1080); empty = connect directly "
     "(libcurl's http_proxy/https_proxy variables are not used)"},
    /* live loop (docs/live.md) */
    {"live.enabled", K_BOOL, "false", 0, 0, NULL, NULL, 0, "run the live loop inside `trademl serve`"},
    {"live.exchange", K_STRING, "", 0, 0, NULL, NULL, F_EMPTY_OK,
     "exchange the live loop syncs candles from: bybit|bitget|binance|binance_futures, none (the store is "
     "kept up to date by someone else), or empty = data.exchange"},
    {"live.category", K_STRING, "", 0, 0, NULL, NULL, F_EMPTY_OK,
     "market of the live exchange (bybit: spot|linear|inverse; bitget: USDT-FUTURES...; binance: spot|futures); "
     "empty = the exchange's default"},
    {"live.interval", K_STRING, "", 0, 0, NULL, NULL, F_EMPTY_OK, "candle interval of the live loop; empty = data.interval"},
    {"live.universe", K_STRING, "", 0, 0, NULL, NULL, F_EMPTY_OK,
     "symbols the live loop predicts: top:N (exchange top N by 24 h turnover), all, or a comma list; "
     "empty = live.symbols, else data.symbols, else the symbols stored at the interval"},
    {"live.symbols", K_LIST, "", 0, 0, NULL, NULL, F_SYMBOLS,
     "explicit symbol list of the live loop (not together with live.universe)"},
    {"live.close_delay_seconds", K_DURATION, "2", 0, 3600, NULL, NULL, 0,
     "wait this long after a candle closes before syncing it"},
    {"live.poll_ms", K_INT, "1000", 10, 600000, NULL, NULL, 0, "live loop tick period in milliseconds"},
    {"live.universe_refresh_minutes", K_INT, "60", 1, 100000, NULL, NULL, 0, "universe refresh period (loop clock)"},
    {"live.coverage_check_seconds", K_DURATION, "300", 1, 86400, NULL, NULL, 0,
     "coverage re-check period of blocked symbols (loop clock)"},
    {"live.heartbeat_seconds", K_DURATION, "600", 1, 86400, NULL, NULL, 0, "heartbeat log line period (loop clock)"},
    {"live.model_max_age_hours", K_INT, "-1", -1, 1000000, NULL, NULL, 0,
     "a model older than this is stale and retrained; 0 = never; -1 = 24 x "
     "operations.model_rotation.retrain_frequency_days when rotation is enabled, else never"},
    {"live.stale_action", K_ENUM, "predict", 0, 0, "predict|block", NULL, 0,
     "stale model: keep predicting (marked stale) or block the symbol until retrained"},
    {"live.drift.window", K_INT, "200", 1, 1000000, NULL, NULL, 0,
     "live metrics are computed over this many newest resolved predictions"},
    {"live.drift.min_resolved", K_INT, "50", 1, 1000000, NULL, NULL, 0,
     "resolved predictions needed before drift can be flagged"},
    {"live.drift.logloss_margin", K_DOUBLE, "0.1", 0, 100, NULL, NULL, 0,
     "drift when a class head's live log loss exceeds its out-of-sample mean by more than this (nats)"},
    {"live.stall_intervals", K_INT, "3", 1, 100000, NULL, NULL, 0,
     "a symbol whose newest candle is this many intervals behind is stale_data (not predicted)"},
    {"live.sse_keepalive_seconds", K_DURATION, "15", 1, 3600, NULL, NULL, 0,
     "the daemon's prediction stream (GET /api/predictions/stream) sends a keep-alive comment this often"},
    /* predict */
    {"predict.stale_intervals", K_INT, "3", 1, 100000, NULL, NULL, 0,
     "a prediction is marked stale (warning, \"stale\": true) when its candle closed more than this many "
     "intervals ago"},
    {"predict.max_age", K_DURATION, "0", 0, 31536000, NULL, NULL, 0,
     "refuse a prediction (exit 1, HTTP 409) when its candle closed longer ago than this; 0 = never refuse"},
    {"logging.progress_seconds", K_DURATION, "10", 1, 3600, NULL, NULL, 0,
     "train, validate and worker print one progress line this often when stderr is not a terminal (logs, "
     "--json); on a terminal the progress line is live"},
    {"training.engine", K_ENUM, "xgboost", 0, 0, "xgboost|native", NULL, 0,
     "boosting engine of the heads: xgboost (libxgboost) or native (trademl's histogram GBDT)"},
    {"ensemble.members", K_STRING, "xgb5,lstm", 0, 0, NULL, NULL, 0,
     "member strategies of the ensemble, comma-separated, each NAME or NAME:ENGINE (e.g. xgb5:native)"},
    {"ensemble.inner_folds", K_INT, "3", 2, 10, NULL, NULL, 0,
     "time-ordered inner folds over a fold's fit rows that give the members' out-of-fold predictions the "
     "meta-model is fitted on"},
    {"ensemble.meta_l2", K_DOUBLE, "1", 0, 100, NULL, NULL, 0,
     "L2 penalty of the ensemble's meta-model: pulls a class head's member weights towards the geometric "
     "mean of the members; ridge penalty of a regression head"},
    /* lstm strategy (docs/lstm.md); defaults equal tml_lstm_params_default() */
    {"lstm.hidden_size", K_INT, "16", 1, 1024, NULL, NULL, 0, "LSTM units per layer"},
    {"lstm.layers", K_INT, "1", 1, 4, NULL, NULL, 0, "stacked LSTM layers"},
    {"lstm.learning_rate", K_DOUBLE, "0.002", 1e-6, 1, NULL, NULL, 0, "Adam step size of the LSTM"},
    {"lstm.batch_size", K_INT, "64", 1, 4096, NULL, NULL, 0, "windows per training step"},
    {"lstm.epochs", K_INT, "12", 1, 10000, NULL, NULL, 0, "maximum passes over the training rows"},
    {"lstm.patience", K_INT, "3", 1, 1000, NULL, NULL, 0,
     "stop after this many epochs without a better validation loss (the best epoch is kept)"},
    {"lstm.dropout", K_DOUBLE, "0.1", 0, 0.9, NULL, NULL, 0, "dropout between LSTM layers and before the heads"},
    {"lstm.clip", K_DOUBLE, "1.0", 0, 1e6, NULL, NULL, 0, "maximum gradient L2 norm per step (0 = no clipping)"},
    {"lstm.sequence_length", K_INT, "64", 1, 4096, NULL, NULL, 0,
     "rows of one symbol's features the LSTM reads for one prediction (the row and those before it)"},
    {"lstm.seed", K_INT, "42", 0, 4294967295.0, NULL, NULL, 0,
     "seed of the LSTM's initial weights, dropout masks and batch order (same seed and threads, same model)"},
    /* rl: the reinforcement-learning strategy (docs/rl.md) */
    {"rl.action_space", K_ENUM, "five", 0, 0, "five|target3", NULL, 0,
     "actions of the rl agent: five (neutral, enter/exit long, enter/exit short) or target3 (target position "
     "flat/long/short)"},
    {"rl.reward", K_STRING, "equity", 0, 0, NULL, NULL, 0,
     "reward terms, comma-separated: equity (change in equity net of costs, always on), drawdown, holding"},
    {"rl.fee_rate", K_DOUBLE, "0.00055", 0, 0.01, NULL, NULL, 0,
     "taker fee per side as a fraction of the notional (0.00055 = 0.055 %)"},
    {"rl.slippage_range", K_DOUBLE, "0.05", 0, 1, NULL, NULL, 0,
     "slippage as a share of the fill candle's high - low (the fill is clamped into the candle)"},
    {"rl.funding_rate_8h", K_DOUBLE, "0", -0.01, 0.01, NULL, NULL, 0,
     "perpetual funding per 8 h as a fraction of the notional, charged pro rata while a position is open "
     "(longs pay when > 0); 0 = spot, no funding"},
    {"rl.drawdown_penalty", K_DOUBLE, "0.5", 0, 100, NULL, NULL, 0,
     "weight of the drawdown term when rl.reward lists drawdown: reward -= weight x (deepening of the drawdown)"},
    {"rl.holding_penalty", K_DOUBLE, "0.00001", 0, 0.01, NULL, NULL, 0,
     "reward taken per candle in a position when rl.reward lists holding"},
    {"rl.hidden", K_INT, "64", 4, 1024, NULL, NULL, 0, "units per hidden layer of the actor and the critic"},
    {"rl.layers", K_INT, "2", 1, 7, NULL, NULL, 0, "hidden layers of the actor and the critic"},
    {"rl.n_envs", K_INT, "8", 1, 256, NULL, NULL, 0, "parallel environments of a rollout"},
    {"rl.rollout_steps", K_INT, "256", 8, 100000, NULL, NULL, 0, "steps per environment per rollout"},
    {"rl.episode_candles", K_INT, "512", 8, 10000000, NULL, NULL, 0,
     "length of a training episode (random starts in the training rows)"},
    {"rl.epochs", K_INT, "4", 1, 100, NULL, NULL, 0, "PPO passes over each rollout"},
    {"rl.minibatch", K_INT, "256", 8, 65536, NULL, NULL, 0, "transitions per PPO update"},
    {"rl.learning_rate", K_DOUBLE, "0.0003", 1e-7, 1, NULL, NULL, 0, "Adam learning rate"},
    {"rl.gamma", K_DOUBLE, "0.99", 0, 1, NULL, NULL, 0, "discount per candle"},
    {"rl.gae_lambda", K_DOUBLE, "0.95", 0, 1, NULL, NULL, 0, "lambda of generalised advantage estimation"},
    {"rl.clip", K_DOUBLE, "0.2", 0.01, 1, NULL, NULL, 0, "PPO clip epsilon of the surrogate objective"},
    {"rl.entropy_coef", K_DOUBLE, "0.01", 0, 1, NULL, NULL, 0, "weight of the entropy bonus"},
    {"rl.value_coef", K_DOUBLE, "0.5", 0, 10, NULL, NULL, 0, "weight of the critic's squared error"},
    {"rl.max_grad_norm", K_DOUBLE, "0.5", 0, 100, NULL, NULL, 0, "gradient-norm clipping (0 = none)"},
    {"rl.reward_scale", K_DOUBLE, "100", 0.001, 1000000, NULL, NULL, 0,
     "rewards are multiplied by this for learning (100: percent of equity)"},
    {"rl.total_steps", K_INT, "300000", 1, 10000000000.0, NULL, NULL, 0,
     "training budget in environment steps (deterministic for training.seed and the thread count)"},
    {"rl.time_budget", K_DURATION, "0", 0, 10000000, NULL, NULL, 0,
     "training budget in wall time; 0 = none; when it stops a run the result depends on the machine"},
    {"rl.eval_every", K_INT, "2", 1, 100000, NULL, NULL, 0,
     "rollouts between validation checks (the weights with the best validation net return are kept)"},
    {"data.resident_cache_mib", K_INT, "2", 0, 65536, NULL, NULL, 0,
     "SQLite page cache (MiB) of each candle-store connection a long-running process (trademl serve, "
     "trademl live) keeps open; commands use 64 MiB for their one long read of a history"},
    {"data.resident_mmap_mib", K_INT, "0", 0, 1048576, NULL, NULL, 0,
     "SQLite memory map (MiB) of each candle-store connection a long-running process keeps open: pages of "
     "the growing database file it touched count in its RSS; 0 = read through the page cache (commands map "
     "1024 MiB)"},
    {"data.database", K_STRING, "", 0, 0, NULL, "TRADEML_DATABASE_URL", F_EMPTY_OK | F_DBURL,
     "database of candles, jobs, registry and models: a PostgreSQL URL (postgresql://user@host:5432/dbname"
     "?sslmode=require; libpq parameters pass through, the password is never shown) or a SQLite file; "
     "empty = the SQLite file data.db_path (docs/postgresql.md)"},
    {"data.connect_wait", K_DURATION, "10", 0, 3600, NULL, NULL, 0,
     "how long to keep retrying a PostgreSQL server that cannot be reached (at start and after a lost "
     "connection) before failing"},
    {"rl.network", K_ENUM, "mlp", 0, 0, "mlp|lstm", NULL, 0,
     "the rl agent's actor and critic: mlp (the candle's observation) or lstm (an LSTM layer over the last "
     "rl.window observations in front of both, trained by truncated BPTT over the window; docs/rl.md)"},
    {"rl.lstm_hidden", K_INT, "32", 2, 256, NULL, NULL, 0, "LSTM units of the rl agent (rl.network lstm)"},
    {"rl.window", K_INT, "8", 1, 256, NULL, NULL, 0,
     "observations (candles of the episode, newest last) the rl agent's LSTM reads per decision (rl.network "
     "lstm; an mlp reads one)"},
    {"training.max_leaves", K_INT, "0", 0, 65536, NULL, NULL, 0,
     "most leaves per tree (0 = no limit; XGBoost max_leaves); with max_depth 0 the leaves alone bound a tree"},
    {"training.grow_policy", K_ENUM, "depthwise", 0, 0, "depthwise|lossguide", NULL, 0,
     "tree growth order: depthwise (a level at a time) or lossguide (largest loss change first; XGBoost "
     "grow_policy)"},
    {"training.native_histogram", K_ENUM, "float", 0, 0, "float|double", NULL, 0,
     "the native engine's histogram sums: float (faster; near-tie splits may go otherwise than XGBoost's) or "
     "double (XGBoost's own precision: the same trees as libxgboost bit for bit)"},
};

#define NKEYS TML_ARRAY_LEN(keys)
#define MAX_VALUE_LEN 4096
#define MAX_LIST_ITEMS 1024
#define MAX_YAML_DEPTH 16
#define SECRET_MASK "********"

struct value {
  char *text;   /* normalized string form; owned */
  int64_t i;    /* int, duration (seconds) */
  double d;     /* double (also int as double) */
  bool b;
  char **items; /* lists: nitems pointers into itembuf; owned */
  char *itembuf;
  double *nums; /* number lists */
  size_t nitems;
  enum tml_config_source src;
  char *origin; /* "default", "trademl.yaml:12", "env X", "flag --x"; owned */
};

#define MAX_WARNINGS 32

struct tml_config {
  struct value v[NKEYS];
  char *file;                /* config file read, or NULL */
  char home[TML_PATH_MAX];   /* state home the path defaults are under */
  char *warnings[MAX_WARNINGS]; /* about the environment, for the caller to print once; owned */
  size_t nwarnings;
};

/* --- small helpers ------------------------------------------------------------------------- */

static char *dup_str(const char *s) {
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p)
    memcpy(p, s, n + 1);
  return p;
}

static const struct key_def *find_key(const char *key, size_t *index) {
  for (size_t i = 0; i < NKEYS; i++) {
    if (strcmp(keys[i].name, key) == 0) {
      if (index)
        *index = i;
      return &keys[i];
    }
  }
  return NULL;
}

bool tml_config_key_known(const char *key) { return key && find_key(key, NULL) != NULL; }

size_t tml_config_key_count(void) { return NKEYS; }

/* TRADEML_ + key with '.' -> '_', upper case. */
static void env_name(const char *key, char *out, size_t outsz) {
  int n = snprintf(out, outsz, "TRADEML_");
  size_t o = n > 0 ? (size_t)n : 0;
  for (const char *p = key; *p && o + 1 < outsz; p++)
    out[o++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
  out[o] = '\0';
}

/* Shortest "%.*g" that reads back as the same double. */
static void format_double(double d, char *out, size_t outsz) {
  if (d == floor(d) && fabs(d) < 1e15) { /* whole numbers without an exponent: 604800, not 6.048e+05 */
    snprintf(out, outsz, "%.0f", d);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, outsz, "%.*g", prec, d);
    double back;
    if (tml_parse_double_str(out, &back) == 0 && back == d)
      return;
  }
}

static void format_range(const struct key_def *k, const char *what, char *out, size_t outsz) {
  char lo[32], hi[32];
  format_double(k->min, lo, sizeof(lo));
  format_double(k->max, hi, sizeof(hi));
  if (k->flags & F_NOMAX)
    snprintf(out, outsz, "%s of at least %s", what, lo);
  else
    snprintf(out, outsz, "%s between %s and %s", what, lo, hi);
}

/* What a valid value looks like, for messages and `config keys`. */
static void describe(const struct key_def *k, char *out, size_t outsz) {
  char range[160];
  switch (k->type) {
  case K_INT:
    format_range(k, "an integer", out, outsz);
    break;
  case K_DOUBLE:
    format_range(k, "a number", out, outsz);
    break;
  case K_BOOL:
    snprintf(out, outsz, "true or false");
    break;
  case K_STRING:
    if (k->flags & F_NAME)
      snprintf(out, outsz, "a name of letters, digits, '_', '-' and '.'");
    else
      snprintf(out, outsz, "a string");
    break;
  case K_ENUM: {
    char list[160];
    size_t o = 0;
    for (const char *p = k->choices; *p && o + 3 < sizeof(list); p++) {
      if (*p == '|') {
        list[o++] = ',';
        list[o++] = ' ';
      } else {
        list[o++] = *p;
      }
    }
    list[o] = '\0';
    snprintf(out, outsz, "one of %s", list);
    break;
  }
  case K_LIST:
    snprintf(out, outsz, (k->flags & F_SYMBOLS) ? "a list of symbols (BTCUSDT, ETHUSDT, ...)"
                                                : "a list of strings");
    break;
  case K_NUMLIST:
    format_range(k, "numbers", range, sizeof(range));
    snprintf(out, outsz, "a list of %s%s", range, (k->flags & F_ASCENDING) ? ", ascending" : "");
    break;
  case K_DURATION:
    format_range(k, "seconds", range, sizeof(range));
    snprintf(out, outsz, "a duration (3600, 90s, 15m, 2h, 1d) of %s", range);
    break;
  case K_INTERVAL:
    snprintf(out, outsz, "%san interval (%s, or the same as M1, M3, M5, M15, M30, H1, H2, H4, H6, H8, H12, D1, W1)",
             (k->flags & F_AUTO) ? "auto or " : "", tml_interval_list());
    break;
  case K_PATH:
    snprintf(out, outsz, "a path");
    break;
  case K_URL:
    snprintf(out, outsz, "an http:// or https:// URL");
    break;
  case K_CRON:
    snprintf(out, outsz, "a 5-field cron expression (minute hour day month weekday)");
    break;
  case K_LISTEN:
    snprintf(out, outsz, "HOST:PORT with a port between 1 and 65535");
    break;
  }
}

static const char *type_name(const struct key_def *k) {
  static const char *names[] = {"int",      "number",   "bool", "string", "enum", "list",     "number list",
                                "duration", "interval", "path", "url",    "cron", "host:port"};
  return names[k->type];
}

static void value_release(struct value *v) {
  free(v->text);
  free(v->items);
  free(v->itembuf);
  free(v->nums);
  free(v->origin);
  memset(v, 0, sizeof(*v));
}

/* Copies s without surrounding blanks into out (NUL-terminated); false when too long. */
static bool trim_copy(const char *s, size_t len, char *out, size_t outsz) {
  tml_trim(&s, &len);
  if (len >= outsz)
    return false;
  memcpy(out, s, len);
  out[len] = '\0';
  return true;
}

/* Splits a comma-separated list (optionally in [brackets]) into v->items. Returns 0 or -1 when
 * an item is empty or there are too many. */
static int split_list(const char *text, struct value *v) {
  char buf[MAX_VALUE_LEN];
  if (!trim_copy(text, strlen(text), buf, sizeof(buf)))
    return -1;
  char *s = buf;
  size_t n = strlen(s);
  if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
    s[n - 1] = '\0';
    s++;
  }
  struct tml_buf joined;
  tml_buf_init(&joined, MAX_VALUE_LEN);
  size_t count = 0;
  char item[MAX_VALUE_LEN];
  bool blank = true;
  for (const char *p = s; *p; p++)
    if (!isspace((unsigned char)*p))
      blank = false;
  if (!blank) {
    const char *start = s;
    for (;;) {
      const char *comma = strchr(start, ',');
      size_t len = comma ? (size_t)(comma - start) : strlen(start);
      if (!trim_copy(start, len, item, sizeof(item)) || item[0] == '\0' || count >= MAX_LIST_ITEMS) {
        tml_buf_release(&joined);
        return -1;
      }
      if ((count && tml_buf_putc(&joined, ',')) || tml_buf_puts(&joined, item)) {
        tml_buf_release(&joined);
        return -1;
      }
      count++;
      if (!comma)
        break;
      start = comma + 1;
    }
  }
  v->text = dup_str(tml_buf_str(&joined));
  v->itembuf = dup_str(tml_buf_str(&joined));
  tml_buf_release(&joined);
  v->items = calloc(count + 1, sizeof(char *));
  if (!v->text || !v->itembuf || !v->items)
    return -2;
  v->nitems = count;
  char *p = v->itembuf;
  for (size_t i = 0; i < count; i++) {
    v->items[i] = p;
    char *comma = strchr(p, ',');
    if (comma) {
      *comma = '\0';
      p = comma + 1;
    }
  }
  return 0;
}

static bool valid_cron(const char *s) {
  int fields = 0;
  bool in = false;
  for (const char *p = s; *p; p++) {
    if (isspace((unsigned char)*p)) {
      in = false;
      continue;
    }
    if (!isalnum((unsigned char)*p) && !strchr("*,/-?", *p))
      return false;
    if (!in)
      fields++;
    in = true;
  }
  return fields == 5;
}

static bool valid_listen(const char *s) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s)
    return false;
  for (const char *p = s; p < colon; p++)
    if (isspace((unsigned char)*p))
      return false;
  int64_t port;
  return tml_parse_int64_str(colon + 1, &port) == 0 && port >= 1 && port <= 65535 &&
         isdigit((unsigned char)colon[1]);
}

static bool in_range(const struct key_def *k, double x) {
  return x >= k->min && ((k->flags & F_NOMAX) || x <= k->max);
}

/* Validates text for key k into *v (text normalized). Returns 0, -1 for a bad value, -2 for
 * out of memory. */
static int parse_value(const struct key_def *k, const char *raw, struct value *v) {
  char s[MAX_VALUE_LEN];
  char norm[MAX_VALUE_LEN];
  memset(v, 0, sizeof(*v));
  if (!trim_copy(raw, strlen(raw), s, sizeof(s)))
    return -1;
  norm[0] = '\0';
  switch (k->type) {
  case K_INT: {
    int64_t x;
    if (tml_parse_int64_str(s, &x) || !in_range(k, (double)x))
      return -1;
    v->i = x;
    v->d = (double)x;
    snprintf(norm, sizeof(norm), "%" PRId64, x);
    break;
  }
  case K_DURATION: {
    int64_t x;
    if (tml_parse_duration_str(s, &x) || !in_range(k, (double)x))
      return -1;
    v->i = x;
    v->d = (double)x;
    snprintf(norm, sizeof(norm), "%" PRId64, x);
    break;
  }
  case K_DOUBLE: {
    double x;
    if (tml_parse_double_str(s, &x) || !isfinite(x) || !in_range(k, x))
      return -1;
    v->d = x;
    format_double(x, norm, sizeof(norm));
    break;
  }
  case K_BOOL:
    if (tml_parse_bool_str(s, &v->b))
      return -1;
    snprintf(norm, sizeof(norm), "%s", v->b ? "true" : "false");
    break;
  case K_STRING:
    if (!(k->flags & F_EMPTY_OK) && s[0] == '\0')
      return -1;
    if (k->flags & F_NAME)
      for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
          return -1;
    if ((k->flags & F_NAME) && (strcmp(s, ".") == 0 || strcmp(s, "..") == 0))
      return -1;
    snprintf(norm, sizeof(norm), "%s", s);
    break;
  case K_ENUM: {
    char low[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(low))
      return -1;
    for (size_t i = 0; i <= n; i++)
      low[i] = (char)tolower((unsigned char)s[i]);
    /* Aliases that existing LOG_LEVEL settings use. */
    if (strcmp(k->name, "logging.level") == 0) {
      if (strcmp(low, "warn") == 0)
        snprintf(low, sizeof(low), "warning");
      else if (strcmp(low, "critical") == 0 || strcmp(low, "fatal") == 0)
        snprintf(low, sizeof(low), "error");
    }
    bool found = false;
    for (const char *p = k->choices; *p;) {
      const char *bar = strchr(p, '|');
      size_t len = bar ? (size_t)(bar - p) : strlen(p);
      if (len == strlen(low) && strncmp(p, low, len) == 0)
        found = true;
      p += len + (bar ? 1 : 0);
    }
    if (!found)
      return -1;
    snprintf(norm, sizeof(norm), "%s", low);
    break;
  }
  case K_INTERVAL: {
    int64_t ms;
    if ((k->flags & F_AUTO) && strcmp(s, "auto") == 0) {
      snprintf(norm, sizeof(norm), "auto");
      break;
    }
    if (tml_interval_parse(s, &ms, NULL))
      return -1;
    v->i = ms;
    snprintf(norm, sizeof(norm), "%s", tml_interval_name(ms));
    break;
  }
  case K_PATH:
    if (s[0] == '\0' || strlen(s) >= TML_PATH_MAX)
      return -1;
    snprintf(norm, sizeof(norm), "%s", s);
    break;
  case K_URL: {
    size_t n = strlen(s);
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
      return -1;
    if (n <= (s[4] == 's' ? 8u : 7u))
      return -1;
    for (const char *p = s; *p; p++)
      if (isspace((unsigned char)*p))
        return -1;
    while (n > 8 && s[n - 1] == '/')
      s[--n] = '\0';
    snprintf(norm, sizeof(norm), "%s", s);
    break;
  }
  case K_CRON: {
    if (!valid_cron(s))
      return -1;
    /* Collapse runs of blanks so the stored form is canonical. */
    size_t o = 0;
    bool space = false;
    for (const char *p = s; *p; p++) {
      if (isspace((unsigned char)*p)) {
        space = true;
        continue;
      }
      if (space && o)
        norm[o++] = ' ';
      space = false;
      norm[o++] = *p;
    }
    norm[o] = '\0';
    break;
  }
  case K_LISTEN:
    if (!valid_listen(s))
      return -1;
    snprintf(norm, sizeof(norm), "%s", s);
    break;
  case K_LIST:
  case K_NUMLIST: {
    int rc = split_list(s, v);
    if (rc)
      return rc;
    if (k->type == K_NUMLIST) {
      if (v->nitems == 0)
        return -1;
      v->nums = calloc(v->nitems, sizeof(double));
      if (!v->nums)
        return -2;
      struct tml_buf b;
      tml_buf_init(&b, MAX_VALUE_LEN);
      for (size_t i = 0; i < v->nitems; i++) {
        double x;
        char num[32];
        if (tml_parse_double_str(v->items[i], &x) || !isfinite(x) || !in_range(k, x) ||
            ((k->flags & F_ASCENDING) && i && x <= v->nums[i - 1])) {
          tml_buf_release(&b);
          return -1;
        }
        v->nums[i] = x;
        format_double(x, num, sizeof(num));
        if ((i && tml_buf_putc(&b, ',')) || tml_buf_puts(&b, num)) {
          tml_buf_release(&b);
          return -2;
        }
      }
      snprintf(norm, sizeof(norm), "%s", tml_buf_str(&b));
      tml_buf_release(&b);
    } else if (k->flags & F_SYMBOLS) {
      struct tml_buf b;
      tml_buf_init(&b, MAX_VALUE_LEN);
      for (size_t i = 0; i < v->nitems; i++) {
        char sym[64];
        if (tml_symbol_normalize(v->items[i], sym, sizeof(sym)) || !tml_symbol_valid(sym) ||
            (i && tml_buf_putc(&b, ',')) || tml_buf_puts(&b, sym)) {
          tml_buf_release(&b);
          return -1;
        }
      }
      snprintf(norm, sizeof(norm), "%s", tml_buf_str(&b));
      tml_buf_release(&b);
    } else {
      snprintf(norm, sizeof(norm), "%s", v->text);
    }
    /* Re-split the normalized text so items and text agree. */
    double *nums = v->nums;
    v->nums = NULL;
    value_release(v);
    int rc2 = split_list(norm, v);
    v->nums = nums;
    return rc2 ? -2 : 0;
  }
  }
  v->text = dup_str(norm);
  return v->text ? 0 : -2;
}

/* "<key> at trademl.yaml:7:14" / "<key> from environment variable X" / "<key> from --flag". */
static int bad_value(struct tml_error *err, const struct key_def *k, const char *where, const char *raw) {
  char expected[256];
  describe(k, expected, sizeof(expected));
  bool secret = (k->flags & F_SECRET) != 0;
  return tml_error_set(err, TML_EINVAL, "%s %s: expected %s, got '%.200s'", k->name, where, expected,
                       secret ? SECRET_MASK : raw);
}

/* Sets key k from raw text; `origin` is the stored provenance, `where` goes into messages. */
static int set_value(struct tml_config *c, size_t idx, const char *raw, enum tml_config_source src,
                     const char *origin, const char *where, struct tml_error *err) {
  const struct key_def *k = &keys[idx];
  char joined[TML_PATH_MAX + 64];
  const char *input = raw;
  if (src == TML_CFG_DEFAULT && (k->flags & F_HOME)) {
    snprintf(joined, sizeof(joined), "%s/%s", c->home, k->def);
    input = joined;
  }
  if (k->type == K_CRON) {
    /* The cron parser says which field is wrong; keep that in the message. */
    struct tml_cron cron;
    struct tml_error cerr;
    tml_error_init(&cerr);
    if (tml_cron_parse(input, &cron, &cerr) != 0)
      return tml_error_set(err, TML_EINVAL, "%s %s: %s", k->name, where, cerr.msg);
  }
  struct value nv;
  int rc = parse_value(k, input, &nv);
  if (rc) {
    value_release(&nv);
    if (rc == -2)
      return tml_error_set(err, TML_ENOMEM, "out of memory setting %s", k->name);
    return bad_value(err, k, where, raw);
  }
  nv.src = src;
  nv.origin = dup_str(origin);
  if (!nv.origin) {
    value_release(&nv);
    return tml_error_set(err, TML_ENOMEM, "out of memory setting %s", k->name);
  }
  value_release(&c->v[idx]);
  c->v[idx] = nv;
  return 0;
}

static int levenshtein(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 127 || lb > 127)
    return 1000;
  int row[128];
  for (size_t j = 0; j <= lb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int best = TML_MIN(row[j] + 1, row[j - 1] + 1);
      row[j] = TML_MIN(best, diag + cost);
      diag = up;
    }
  }
  return row[lb];
}

/* The known key closest to `key`, or NULL when nothing is close: edit distance within a third of
 * the length, or the same last segment in another section ("test_size" -> "training.test_size"). */
static const char *suggest(const char *key) {
  const char *best = NULL;
  int best_d = INT_MAX;
  for (size_t i = 0; i < NKEYS; i++) {
    int d = levenshtein(key, keys[i].name);
    if (d < best_d) {
      best_d = d;
      best = keys[i].name;
    }
  }
  int limit = TML_MAX(2, (int)strlen(key) / 3);
  if (best && best_d <= limit)
    return best;
  const char *last = strrchr(key, '.');
  last = last ? last + 1 : key;
  for (size_t i = 0; i < NKEYS; i++) {
    const char *kl = strrchr(keys[i].name, '.');
    if (kl && strcmp(kl + 1, last) == 0)
      return keys[i].name;
  }
  return NULL;
}

/* True when `key` is a section ("training", "validation.gates"). */
static bool is_section(const char *key) {
  size_t n = strlen(key);
  for (size_t i = 0; i < NKEYS; i++)
    if (strncmp(keys[i].name, key, n) == 0 && keys[i].name[n] == '.')
      return true;
  return false;
}

static int unknown_key(struct tml_error *err, const char *key, const char *where) {
  const char *s = suggest(key);
  if (s)
    return tml_error_set(err, TML_EINVAL, "unknown key '%s' %s; did you mean '%s'?", key, where, s);
  return tml_error_set(err, TML_EINVAL,
                       "unknown key '%s' %s; 'trademl config keys' lists the known keys", key, where);
}

int tml_config_set(struct tml_config *c, const char *key, const char *value, enum tml_config_source src,
                   const char *origin, struct tml_error *err) {
  size_t idx;
  char prov[TML_PATH_MAX + 64], where[TML_PATH_MAX + 128];
  switch (src) {
  case TML_CFG_DEFAULT:
    snprintf(prov, sizeof(prov), "default");
    snprintf(where, sizeof(where), "(default)");
    break;
  case TML_CFG_FILE:
    snprintf(prov, sizeof(prov), "%s", origin ? origin : "file");
    snprintf(where, sizeof(where), "at %s", prov);
    break;
  case TML_CFG_ENV:
    snprintf(prov, sizeof(prov), "env %s", origin ? origin : "?");
    snprintf(where, sizeof(where), "from environment variable %s", origin ? origin : "?");
    break;
  case TML_CFG_FLAG:
    snprintf(prov, sizeof(prov), "flag %s", origin ? origin : "?");
    snprintf(where, sizeof(where), "from %s", origin ? origin : "a flag");
    break;
  }
  if (!key || !find_key(key, &idx))
    return unknown_key(err, key ? key : "(null)", where);
  if (!value)
    return tml_error_set(err, TML_EINVAL, "%s %s: no value given", key, where);
  return set_value(c, idx, value, src, prov, where, err);
}

/* --- YAML ----------------------------------------------------------------------------------- */

struct yaml_ctx {
  struct tml_config *c;
  yaml_document_t *doc;
  const char *file;
  bool seen[NKEYS];
  size_t seen_line[NKEYS];
};

static int walk_mapping(struct yaml_ctx *y, yaml_node_t *map, const char *prefix, int depth,
                        struct tml_error *err);

/* Builds the scalar text of a node; plain "~"/"null"/"" are empty. */
static const char *scalar_text(yaml_node_t *n, char *out, size_t outsz, bool *ok) {
  size_t len = n->data.scalar.length;
  const char *s = (const char *)n->data.scalar.value;
  *ok = len < outsz;
  if (!*ok)
    return "";
  memcpy(out, s, len);
  out[len] = '\0';
  if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
      (strcmp(out, "~") == 0 || strcmp(out, "null") == 0 || strcmp(out, "Null") == 0 ||
       strcmp(out, "NULL") == 0))
    out[0] = '\0';
  return out;
}

static int set_from_node(struct yaml_ctx *y, const char *key, yaml_node_t *knode, yaml_node_t *vnode,
                         struct tml_error *err) {
  size_t idx;
  char where[TML_PATH_MAX + 64], prov[TML_PATH_MAX + 32];
  unsigned long kline = (unsigned long)knode->start_mark.line + 1;
  unsigned long vline = (unsigned long)vnode->start_mark.line + 1;
  unsigned long vcol = (unsigned long)vnode->start_mark.column + 1;
  if (!find_key(key, &idx)) {
    snprintf(where, sizeof(where), "at %s:%lu:%lu", y->file, kline,
             (unsigned long)knode->start_mark.column + 1);
    if (is_section(key))
      return tml_error_set(err, TML_EINVAL, "'%s' %s is a section, not a value; put its keys under it "
                           "(e.g. '%s:' then an indented 'key: value')", key, where, key);
    return unknown_key(err, key, where);
  }
  const struct key_def *k = &keys[idx];
  snprintf(where, sizeof(where), "at %s:%lu:%lu", y->file, vline, vcol);
  if (y->seen[idx])
    return tml_error_set(err, TML_EINVAL, "%s at %s:%lu: set twice in the file (first at line %zu); "
                         "keep one", key, y->file, kline, y->seen_line[idx]);
  y->seen[idx] = true;
  y->seen_line[idx] = kline;
  snprintf(prov, sizeof(prov), "%s:%lu", y->file, kline);
  char text[MAX_VALUE_LEN];
  bool ok = true;
  if (vnode->type == YAML_SCALAR_NODE) {
    scalar_text(vnode, text, sizeof(text), &ok);
    if (!ok)
      return tml_error_set(err, TML_EINVAL, "%s %s: value longer than %d bytes", key, where, MAX_VALUE_LEN);
  } else if (vnode->type == YAML_SEQUENCE_NODE) {
    if (k->type != K_LIST && k->type != K_NUMLIST) {
      char expected[256];
      describe(k, expected, sizeof(expected));
      return tml_error_set(err, TML_EINVAL, "%s %s: expected %s, got a list", key, where, expected);
    }
    struct tml_buf b;
    tml_buf_init(&b, MAX_VALUE_LEN);
    for (yaml_node_item_t *it = vnode->data.sequence.items.start; it < vnode->data.sequence.items.top; it++) {
      yaml_node_t *item = yaml_document_get_node(y->doc, *it);
      char one[MAX_VALUE_LEN];
      if (!item || item->type != YAML_SCALAR_NODE) {
        tml_buf_release(&b);
        return tml_error_set(err, TML_EINVAL, "%s at %s:%lu:%lu: list items must be plain values",
                             key, y->file, item ? (unsigned long)item->start_mark.line + 1 : vline,
                             item ? (unsigned long)item->start_mark.column + 1 : vcol);
      }
      scalar_text(item, one, sizeof(one), &ok);
      if (!ok || strchr(one, ',') || one[0] == '\0') {
        tml_buf_release(&b);
        return tml_error_set(err, TML_EINVAL, "%s at %s:%lu:%lu: list items must be non-empty and "
                             "without ','", key, y->file, (unsigned long)item->start_mark.line + 1,
                             (unsigned long)item->start_mark.column + 1);
      }
      if ((it != vnode->data.sequence.items.start && tml_buf_putc(&b, ',')) || tml_buf_puts(&b, one)) {
        tml_buf_release(&b);
        return tml_error_set(err, TML_EINVAL, "%s %s: list too long", key, where);
      }
    }
    snprintf(text, sizeof(text), "%s", tml_buf_str(&b));
    tml_buf_release(&b);
  } else {
    char expected[256];
    describe(k, expected, sizeof(expected));
    return tml_error_set(err, TML_EINVAL, "%s %s: expected %s, got a mapping", key, where, expected);
  }
  return set_value(y->c, idx, text, TML_CFG_FILE, prov, where, err);
}

static int walk_mapping(struct yaml_ctx *y, yaml_node_t *map, const char *prefix, int depth,
                        struct tml_error *err) {
  if (depth > MAX_YAML_DEPTH)
    return tml_error_set(err, TML_EPARSE, "%s:%lu: nesting deeper than %d levels", y->file,
                         (unsigned long)map->start_mark.line + 1, MAX_YAML_DEPTH);
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
    yaml_node_t *vn = yaml_document_get_node(y->doc, p->value);
    if (!kn || !vn)
      continue;
    if (kn->type != YAML_SCALAR_NODE)
      return tml_error_set(err, TML_EPARSE, "%s:%lu:%lu: keys must be plain names", y->file,
                           (unsigned long)kn->start_mark.line + 1, (unsigned long)kn->start_mark.column + 1);
    char key[256];
    int n = prefix[0] ? snprintf(key, sizeof(key), "%s.%.*s", prefix, (int)kn->data.scalar.length,
                                 (const char *)kn->data.scalar.value)
                      : snprintf(key, sizeof(key), "%.*s", (int)kn->data.scalar.length,
                                 (const char *)kn->data.scalar.value);
    if (n < 0 || (size_t)n >= sizeof(key))
      return tml_error_set(err, TML_EINVAL, "%s:%lu: key too long", y->file,
                           (unsigned long)kn->start_mark.line + 1);
    int rc;
    if (vn->type == YAML_MAPPING_NODE && !tml_config_key_known(key))
      rc = walk_mapping(y, vn, key, depth + 1, err);
    else
      rc = set_from_node(y, key, kn, vn, err);
    if (rc)
      return rc;
  }
  return 0;
}

static int load_file(struct tml_config *c, const char *path, struct tml_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    return tml_error_set(err, e == ENOENT ? TML_ENOENT : TML_EIO,
                         "cannot read config file '%s': %s%s", path, strerror(e),
                         e == ENOENT ? " (check --config or create it; 'trademl config keys' lists the keys)" : "");
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  int rc = 0;
  if (!yaml_parser_initialize(&parser)) {
    fclose(f);
    return tml_error_set(err, TML_ENOMEM, "cannot initialize the YAML parser");
  }
  yaml_parser_set_input_file(&parser, f);
  if (!yaml_parser_load(&parser, &doc)) {
    rc = tml_error_set(err, TML_EPARSE, "malformed YAML in %s:%lu:%lu: %s%s%s (fix the syntax there)",
                       path, (unsigned long)parser.problem_mark.line + 1,
                       (unsigned long)parser.problem_mark.column + 1,
                       parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                       parser.context ? parser.context : "");
    goto out_parser;
  }
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (root) {
    if (root->type == YAML_MAPPING_NODE) {
      struct yaml_ctx *y = calloc(1, sizeof(*y));
      if (!y) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory reading %s", path);
      } else {
        y->c = c;
        y->doc = &doc;
        y->file = path;
        rc = walk_mapping(y, root, "", 0, err);
        free(y);
      }
    } else if (!(root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
      rc = tml_error_set(err, TML_EINVAL, "%s:%lu:%lu: expected a mapping of keys (like 'training:' "
                         "with indented 'test_size: 0.2'), got a %s", path,
                         (unsigned long)root->start_mark.line + 1, (unsigned long)root->start_mark.column + 1,
                         root->type == YAML_SEQUENCE_NODE ? "list" : "plain value");
    }
  }
  yaml_document_delete(&doc);
  if (!rc && root) {
    /* A second document is almost certainly a mistake ("---" in the middle). */
    yaml_document_t doc2;
    if (!yaml_parser_load(&parser, &doc2)) {
      rc = tml_error_set(err, TML_EPARSE, "malformed YAML in %s:%lu:%lu: %s", path,
                         (unsigned long)parser.problem_mark.line + 1,
                         (unsigned long)parser.problem_mark.column + 1,
                         parser.problem ? parser.problem : "syntax error");
    } else {
      yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
      if (r2)
        rc = tml_error_set(err, TML_EINVAL, "%s:%lu: a second YAML document; put every key in one "
                           "document", path, (unsigned long)r2->start_mark.line + 1);
      yaml_document_delete(&doc2);
    }
  }
out_parser:
  /* Everything wrong inside a file is malformed input (exit 1), whatever layer found it. */
  if (rc == TML_EINVAL) {
    rc = TML_EPARSE;
    if (err && err->code == TML_EINVAL)
      err->code = TML_EPARSE;
  }
  yaml_parser_delete(&parser);
  fclose(f);
  return rc;
}

/* --- loading -------------------------------------------------------------------------------- */

static int config_create(const char *home, struct tml_config **out, struct tml_error *err) {
  struct tml_config *c = calloc(1, sizeof(*c));
  if (!c)
    return tml_error_set(err, TML_ENOMEM, "out of memory creating the configuration");
  int rc = 0;
  if (home && *home) {
    size_t n = strlen(home);
    if (n >= sizeof(c->home))
      rc = tml_error_set(err, TML_EINVAL, "home path too long (%zu bytes)", n);
    else
      memcpy(c->home, home, n + 1);
  } else {
    struct tml_paths p;
    rc = tml_paths_resolve(NULL, &p, err);
    if (!rc)
      memcpy(c->home, p.home, strlen(p.home) + 1);
  }
  for (size_t i = 0; !rc && i < NKEYS; i++)
    rc = set_value(c, i, keys[i].def, TML_CFG_DEFAULT, "default", "(built-in default)", err);
  if (rc) {
    tml_config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* Environment variables trademl reads that are not config keys (they are read where noted), so that
 * the unknown-variable check below does not warn about them. */
static const char *const other_env[] = {
    "TRADEML_HOME",                     /* state folder (tml_paths_resolve) */
    "TRADEML_HTTP_TIMEOUT_MS", "TRADEML_HTTP_RETRIES", "TRADEML_HTTP_BACKOFF_MS", "TRADEML_HTTP_RATE", /* exchange HTTP */
    "TRADEML_BINANCE_FUTURES_BASE_URL", /* exchanges.binance_futures.base_url for the client */
    "TRADEML_JOB_ID", "TRADEML_JOB_ATTEMPT", "TRADEML_JOB_FENCE", "TRADEML_PROGRESS_FD", /* set by the job runner for its child */
    "TRADEML_TEST_JOBS", "TRADEML_DATA_DIR", "TRADEML_BIN",           /* test harness */
    "ML_TRAINING_DEBUG", "TRAINING_BATCH_SIZE",                       /* training-service names, below */
};

static void add_warning(struct tml_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_warning(struct tml_config *c, const char *fmt, ...) {
  if (c->nwarnings >= MAX_WARNINGS)
    return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  char *m = dup_str(msg);
  if (m)
    c->warnings[c->nwarnings++] = m;
}

/* True when trademl reads the variable `name`: TRADEML_<KEY>, a legacy name, or one of other_env. */
static bool env_known(const char *name) {
  char canon[128];
  for (size_t i = 0; i < NKEYS; i++) {
    env_name(keys[i].name, canon, sizeof(canon));
    if (strcmp(canon, name) == 0 || (keys[i].legacy && strcmp(keys[i].legacy, name) == 0))
      return true;
  }
  for (size_t i = 0; i < TML_ARRAY_LEN(other_env); i++)
    if (strcmp(other_env[i], name) == 0)
      return true;
  return false;
}

/* The known variable closest to `name` by edit distance; a name that lacks only the TRADEML_ prefix
 * (TRAINING_TEST_SIZE) maps to its TRADEML_ form. */
static void closest_env(const char *name, char *out, size_t outsz) {
  char canon[128];
  int best = INT_MAX;
  out[0] = '\0';
  for (size_t i = 0; i < NKEYS + TML_ARRAY_LEN(other_env); i++) {
    const char *cands[2] = {NULL, NULL};
    if (i < NKEYS) {
      env_name(keys[i].name, canon, sizeof(canon));
      cands[0] = canon;
      cands[1] = keys[i].legacy;
    } else {
      cands[0] = other_env[i - NKEYS];
    }
    for (size_t j = 0; j < 2; j++) {
      if (!cands[j])
        continue;
      int d = strncmp(cands[j], "TRADEML_", 8) == 0 && strcmp(cands[j] + 8, name) == 0 ? 0 : levenshtein(name, cands[j]);
      if (d < best) {
        best = d;
        snprintf(out, outsz, "%s", cands[j]);
      }
    }
  }
}

extern char **environ;

static int apply_env(struct tml_config *c, struct tml_error *err) {
  /* The training service's debug switch: ML_TRAINING_DEBUG=true means logging.level debug. It is applied
   * first, so LOG_LEVEL and TRADEML_LOGGING_LEVEL (below) still win when set. */
  const char *dbg = getenv("ML_TRAINING_DEBUG");
  if (dbg && *dbg) {
    bool on;
    if (tml_parse_bool_str(dbg, &on) != 0)
      return tml_error_set(err, TML_EINVAL, "environment variable ML_TRAINING_DEBUG='%s' is not true or false "
                           "(it switches logging.level to debug); set ML_TRAINING_DEBUG=true or unset it", dbg);
    if (on) {
      int rc = tml_config_set(c, "logging.level", "debug", TML_CFG_ENV, "ML_TRAINING_DEBUG", err);
      if (rc)
        return rc;
    }
  }
  for (size_t i = 0; i < NKEYS; i++) {
    char canon[128];
    env_name(keys[i].name, canon, sizeof(canon));
    const char *names[2] = {keys[i].legacy, canon}; /* canonical last: it wins */
    for (size_t j = 0; j < 2; j++) {
      if (!names[j])
        continue;
      const char *v = getenv(names[j]);
      if (!v || !*v)
        continue;
      int rc = tml_config_set(c, keys[i].name, v, TML_CFG_ENV, names[j], err);
      if (rc)
        return rc;
    }
  }
  /* Nothing a user sets is ignored silently: the training service's TRAINING_BATCH_SIZE has no meaning
   * here, and unknown TRADEML_* / TRAINING_* / ML_TRAINING_* names are most likely typos. */
  const char *batch = getenv("TRAINING_BATCH_SIZE");
  if (batch && *batch)
    add_warning(c, "environment variable TRAINING_BATCH_SIZE=%s has no effect: trademl's XGBoost heads train on "
                "every row at once, not in batches; the rows used are set by data.days (--days) and "
                "training.min_train_rows; unset it to silence this warning", batch);
  for (char **e = environ; e && *e; e++) {
    const char *eq = strchr(*e, '=');
    if (!eq || eq == *e)
      continue;
    char name[128];
    size_t len = (size_t)(eq - *e);
    if (len >= sizeof(name))
      continue;
    memcpy(name, *e, len);
    name[len] = '\0';
    if (strncmp(name, "TRADEML_", 8) != 0 && strncmp(name, "TRAINING_", 9) != 0 && strncmp(name, "ML_TRAINING_", 12) != 0)
      continue;
    if (env_known(name))
      continue;
    char best[128];
    closest_env(name, best, sizeof(best));
    add_warning(c, "environment variable %s is not a trademl setting and is ignored; the closest known one is %s "
                "(`trademl config keys` lists every variable)", name, best);
  }
  return 0;
}

size_t tml_config_warning_count(const struct tml_config *c) { return c ? c->nwarnings : 0; }

const char *tml_config_warning(const struct tml_config *c, size_t i) {
  return c && i < c->nwarnings ? c->warnings[i] : NULL;
}

static int resolve_file(const char *path, const char **use) {
  *use = NULL;
  if (path && *path) {
    *use = path;
  } else if (tml_path_exists("trademl.yaml")) {
    *use = "trademl.yaml";
  }
  return 0;
}

int tml_config_load(const char *path, const char *home, struct tml_config **out, struct tml_error *err) {
  struct tml_config *c = NULL;
  const char *file;
  *out = NULL;
  int rc = config_create(home, &c, err);
  if (rc)
    return rc;
  resolve_file(path, &file);
  if (file) {
    c->file = dup_str(file);
    rc = c->file ? load_file(c, file, err) : tml_error_set(err, TML_ENOMEM, "out of memory");
  }
  if (!rc)
    rc = apply_env(c, err);
  if (!rc)
    rc = tml_config_validate(c, err);
  if (rc) {
    tml_config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int tml_config_check_file(const char *path, struct tml_error *err) {
  struct tml_config *c = NULL;
  int rc = config_create("var", &c, err);
  if (rc)
    return rc;
  rc = load_file(c, path, err);
  if (!rc)
    rc = tml_config_validate(c, err);
  tml_config_free(c);
  return rc;
}

void tml_config_free(struct tml_config *c) {
  if (!c)
    return;
  for (size_t i = 0; i < NKEYS; i++)
    value_release(&c->v[i]);
  for (size_t i = 0; i < c->nwarnings; i++)
    free(c->warnings[i]);
  free(c->file);
  free(c);
}

/* Cross-key rules: names both keys and where each value came from. */
static int check_order(const struct tml_config *c, const char *lo_key, const char *hi_key,
                       struct tml_error *err) {
  double lo = tml_config_double(c, lo_key), hi = tml_config_double(c, hi_key);
  if (lo <= hi)
    return 0;
  return tml_error_set(err, TML_EINVAL, "%s (%s, from %s) must not exceed %s (%s, from %s)", lo_key,
                       tml_config_get(c, lo_key), tml_config_origin(c, lo_key), hi_key,
                       tml_config_get(c, hi_key), tml_config_origin(c, hi_key));
}

int tml_config_validate(const struct tml_config *c, struct tml_error *err) {
  int rc = check_order(c, "labels.stop_loss_min_pct", "labels.stop_loss_max_pct", err);
  if (!rc)
    rc = check_order(c, "labels.position_size_min", "labels.position_size_max", err);
  if (!rc)
    rc = check_order(c, "exchanges.http.backoff_ms", "exchanges.http.backoff_cap_ms", err);
  if (!rc && tml_config_list(c, "labels.volatility_quantiles", NULL, 0) != 3)
    rc = tml_error_set(err, TML_EINVAL, "labels.volatility_quantiles (from %s) needs exactly 3 values, "
                       "like [0.5, 0.8, 0.95]", tml_config_origin(c, "labels.volatility_quantiles"));
  if (!rc && tml_config_list(c, "labels.timing_quantiles", NULL, 0) != 2)
    rc = tml_error_set(err, TML_EINVAL, "labels.timing_quantiles (from %s) needs exactly 2 values, "
                       "like [0.33, 0.67]", tml_config_origin(c, "labels.timing_quantiles"));
  if (!rc && tml_config_list(c, "labels.direction_quantiles", NULL, 0) != 2)
    rc = tml_error_set(err, TML_EINVAL, "labels.direction_quantiles (from %s) needs exactly 2 values, "
                       "like [0.33, 0.67]", tml_config_origin(c, "labels.direction_quantiles"));
  const char *database = tml_config_get(c, "data.database");
  if (!rc && database[0]) {
    char setting[128];
    snprintf(setting, sizeof(setting), "data.database (from %s)", tml_config_origin(c, "data.database"));
    rc = tml_db_check_location(database, setting, err);
  }
  return rc;
}

/* --- getters -------------------------------------------------------------------------------- */

static const struct value *lookup(const struct tml_config *c, const char *key, const struct key_def **k) {
  size_t idx;
  const struct key_def *d = find_key(key, &idx);
  if (!d)
    return NULL;
  if (k)
    *k = d;
  return &c->v[idx];
}

__attribute__((noreturn)) static void misuse(const char *fn, const char *key, const char *why) {
  fprintf(stderr, "trademl: internal error: %s(\"%s\"): %s\n", fn, key ? key : "(null)", why);
  abort();
}

static const struct value *typed(const struct tml_config *c, const char *fn, const char *key,
                                 const struct key_def **k) {
  const struct value *v = key ? lookup(c, key, k) : NULL;
  if (!v)
    misuse(fn, key, "unknown key");
  return v;
}

const char *tml_config_get(const struct tml_config *c, const char *key) {
  const struct value *v = key ? lookup(c, key, NULL) : NULL;
  return v ? v->text : NULL;
}

int64_t tml_config_int(const struct tml_config *c, const char *key) {
  const struct key_def *k;
  const struct value *v = typed(c, "tml_config_int", key, &k);
  if (k->type != K_INT && k->type != K_DURATION)
    misuse("tml_config_int", key, "not an integer key");
  return v->i;
}

double tml_config_double(const struct tml_config *c, const char *key) {
  const struct key_def *k;
  const struct value *v = typed(c, "tml_config_double", key, &k);
  if (k->type != K_DOUBLE && k->type != K_INT && k->type != K_DURATION)
    misuse("tml_config_double", key, "not a number key");
  return v->d;
}

bool tml_config_bool(const struct tml_config *c, const char *key) {
  const struct key_def *k;
  const struct value *v = typed(c, "tml_config_bool", key, &k);
  if (k->type != K_BOOL)
    misuse("tml_config_bool", key, "not a boolean key");
  return v->b;
}

size_t tml_config_list(const struct tml_config *c, const char *key, const char **out, size_t max) {
  const struct key_def *k;
  const struct value *v = typed(c, "tml_config_list", key, &k);
  if (k->type != K_LIST && k->type != K_NUMLIST)
    misuse("tml_config_list", key, "not a list key");
  for (size_t i = 0; out && i < v->nitems && i < max; i++)
    out[i] = v->items[i];
  return v->nitems;
}

size_t tml_config_doubles(const struct tml_config *c, const char *key, double *out, size_t max) {
  const struct key_def *k;
  const struct value *v = typed(c, "tml_config_doubles", key, &k);
  if (k->type != K_NUMLIST)
    misuse("tml_config_doubles", key, "not a number-list key");
  for (size_t i = 0; out && i < v->nitems && i < max; i++)
    out[i] = v->nums[i];
  return v->nitems;
}

const char *tml_config_origin(const struct tml_config *c, const char *key) {
  const struct value *v = key ? lookup(c, key, NULL) : NULL;
  return v ? v->origin : NULL;
}

enum tml_config_source tml_config_source_of(const struct tml_config *c, const char *key) {
  const struct value *v = key ? lookup(c, key, NULL) : NULL;
  return v ? v->src : TML_CFG_DEFAULT;
}

const char *tml_config_file(const struct tml_config *c) { return c->file; }

int tml_config_key_info(size_t index, struct tml_config_key_info *out) {
  if (index >= NKEYS)
    return TML_ENOENT;
  const struct key_def *k = &keys[index];
  static char home_defaults[NKEYS][64];
  memset(out, 0, sizeof(*out));
  out->name = k->name;
  out->type = type_name(k);
  out->help = k->help;
  out->secret = (k->flags & F_SECRET) != 0;
  if (k->flags & F_HOME) {
    snprintf(home_defaults[index], sizeof(home_defaults[index]), "<home>/%s", k->def);
    out->default_value = home_defaults[index];
  } else {
    out->default_value = k->def;
  }
  describe(k, out->expected, sizeof(out->expected));
  env_name(k->name, out->env[0], sizeof(out->env[0]));
  out->nenv = 1;
  if (k->legacy) {
    snprintf(out->env[1], sizeof(out->env[1]), "%s", k->legacy);
    out->nenv = 2;
  }
  return 0;
}

/* --- show ----------------------------------------------------------------------------------- */

static int json_value(struct tml_buf *b, const struct key_def *k, const struct value *v) {
  int rc = 0;
  if (k->flags & F_SECRET)
    return tml_buf_json_str(b, v->text[0] ? SECRET_MASK : "");
  if (k->flags & F_DBURL) {
    char shown[TML_PATH_MAX];
    return tml_buf_json_str(b, tml_db_redact(v->text, shown, sizeof(shown)));
  }
  switch (k->type) {
  case K_INT:
  case K_DURATION:
  case K_DOUBLE:
    return tml_buf_puts(b, v->text);
  case K_BOOL:
    return tml_buf_puts(b, v->b ? "true" : "false");
  case K_LIST:
  case K_NUMLIST:
    rc = tml_buf_putc(b, '[');
    for (size_t i = 0; !rc && i < v->nitems; i++) {
      if (i)
        rc = tml_buf_putc(b, ',');
      if (!rc)
        rc = k->type == K_NUMLIST ? tml_buf_puts(b, v->items[i]) : tml_buf_json_str(b, v->items[i]);
    }
    return rc ? rc : tml_buf_putc(b, ']');
  default:
    return tml_buf_json_str(b, v->text);
  }
}

static const char *source_name(enum tml_config_source s) {
  switch (s) {
  case TML_CFG_FILE: return "file";
  case TML_CFG_ENV: return "env";
  case TML_CFG_FLAG: return "flag";
  default: return "default";
  }
}

int tml_config_show(const struct tml_config *c, bool json, struct tml_buf *out) {
  int rc = 0;
  if (json) {
    rc = tml_buf_puts(out, "{\"file\":");
    if (!rc)
      rc = c->file ? tml_buf_json_str(out, c->file) : tml_buf_puts(out, "null");
    if (!rc)
      rc = tml_buf_puts(out, ",\"home\":");
    if (!rc)
      rc = tml_buf_json_str(out, c->home);
    if (!rc)
      rc = tml_buf_puts(out, ",\"keys\":{");
    for (size_t i = 0; !rc && i < NKEYS; i++) {
      if (i)
        rc = tml_buf_putc(out, ',');
      if (!rc)
        rc = tml_buf_json_str(out, keys[i].name);
      if (!rc)
        rc = tml_buf_puts(out, ":{\"value\":");
      if (!rc)
        rc = json_value(out, &keys[i], &c->v[i]);
      if (!rc)
        rc = tml_buf_printf(out, ",\"source\":\"%s\",\"origin\":", source_name(c->v[i].src));
      if (!rc)
        rc = tml_buf_json_str(out, c->v[i].origin);
      if (!rc)
        rc = tml_buf_putc(out, '}');
    }
    if (!rc)
      rc = tml_buf_puts(out, "}}\n");
    return rc;
  }
  rc = tml_buf_printf(out, "# config file: %s\n# home: %s\n", c->file ? c->file : "(none)", c->home);
  if (!rc)
    rc = tml_buf_printf(out, "%-50s %-30s %s\n", "KEY", "VALUE", "ORIGIN");
  for (size_t i = 0; !rc && i < NKEYS; i++) {
    const char *text = c->v[i].text;
    char shown[TML_PATH_MAX];
    if ((keys[i].flags & F_SECRET) && text[0])
      text = SECRET_MASK;
    else if (keys[i].flags & F_DBURL)
      text = tml_db_redact(text, shown, sizeof(shown));
    if (text[0] == '\0')
      text = "\"\"";
    rc = tml_buf_printf(out, "%-50s %-30s %s\n", keys[i].name, text, c->v[i].origin);
  }
  return rc;
}

int tml_config_check_value(const char *key, const char *value, const char *where, struct tml_error *err) {
  size_t idx;
  if (!key || !find_key(key, &idx))
    return unknown_key(err, key ? key : "(null)", where ? where : "");
  const struct key_def *k = &keys[idx];
  if (!value)
    return tml_error_set(err, TML_EINVAL, "%s %s: no value given", key, where ? where : "");
  if (k->type == K_CRON) {
    struct tml_cron cron;
    struct tml_error cerr;
    tml_error_init(&cerr);
    if (tml_cron_parse(value, &cron, &cerr) != 0)
      return tml_error_set(err, TML_EINVAL, "%s %s: %s", k->name, where ? where : "", cerr.msg);
  }
  struct value v;
  int rc = parse_value(k, value, &v);
  value_release(&v);
  if (rc == -2)
    return tml_error_set(err, TML_ENOMEM, "out of memory checking %s", k->name);
  return rc ? bad_value(err, k, where ? where : "", value) : 0;
}
