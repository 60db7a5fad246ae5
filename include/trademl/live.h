/* The live loop: for every symbol of a universe, after each candle closes (plus a small delay), sync the
 * new candles from the exchange, push them through the symbol's model stream (modelstream.h: the same
 * code `trademl predict` runs), store the five-head prediction and publish it. Around that, on their own
 * timers of the loop clock (the exchange's server time when an exchange is configured, else the wall
 * clock): universe refresh, coverage checks of symbols without a usable model (training jobs submitted
 * once, through the job table's deduplication), heartbeat; on every candle and coverage tick the
 * registry's active row id per symbol is read and a model is (re)loaded only when it changed. Once a
 * prediction's label horizon has passed, its realised outcome is computed with the label code and the
 * model's thresholds and stored beside it; rolling live metrics per head are compared with the model's
 * walk-forward out-of-sample means (report.json), and drift submits one retrain job.
 *
 * State lives in the candle store's database (tables live_predictions, live_symbols, live_loop), so a
 * restart loses nothing: candles that closed while the loop was down are predicted on restart
 * (backfill), never twice (UNIQUE(strategy, symbol, interval_ms, candle_ms)). docs/live.md describes
 * the states, timers, log lines and the backfill rule.
 *
 * Layer: live sits above registry/jobs/coverage/pipeline/data; the CLI, the daemon and the C ABI use it. */
#ifndef TML_LIVE_H
#define TML_LIVE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/http.h"
#include "trademl/labels.h"
#include "trademl/predict.h"
#include "trademl/series.h"

struct tml_buf;
struct tml_config;
struct tml_error;
struct tml_paths;
struct tml_store;

/* ---- symbol states ---------------------------------------------------------------------------- */

enum tml_live_state {
  TML_LIVE_ACTIVE,     /* model loaded, predicting every candle */
  TML_LIVE_BLOCKED,    /* not predicted: reason says why (history, coverage, checksum, no model...) */
  TML_LIVE_TRAINING,   /* no usable model yet; a train job is queued or running */
  TML_LIVE_STALE,      /* model older than live.model_max_age_hours: retrain submitted; predictions
                          marked stale (or not made, live.stale_action=block) */
  TML_LIVE_STALE_DATA, /* newest candle older than live.stall_intervals intervals: not predicted until
                          the data catches up (then the missed candles are predicted) */
  TML_LIVE_DRIFT,      /* live log loss worse than out-of-sample by more than the margin: still predicts,
                          one retrain job submitted */
  TML_LIVE_DROPPED,    /* left the universe: no longer synced or predicted; its queued live jobs cancelled */
  TML_LIVE_STATE_COUNT
};
/* "active", "blocked", "training", "stale", "stale_data", "drift", "dropped"; "?" when out of range. */
const char *tml_live_state_name(enum tml_live_state s);
/* Parses a state name; TML_EINVAL listing the valid names. */
int tml_live_state_parse(const char *s, enum tml_live_state *out, struct tml_error *err);

/* ---- predictions --------------------------------------------------------------------------------- */

#define TML_LIVE_ACTION_MAX 1024 /* the stored action block (JSON), with room for TML_DECISION_MAX_ACTIONS and a position (~435 bytes at most today) */

/* One stored live prediction. Value struct: copy freely. */
struct tml_live_prediction {
  int64_t id;                       /* row id (> 0 once stored) */
  char strategy[64];
  char symbol[TML_SYMBOL_MAX];
  int64_t interval_ms;
  int64_t candle_ms;                /* open time of the candle predicted from (== p.candle_ms) */
  int64_t model_id;                 /* registry row of the model used */
  char model_version[64];
  struct tml_prediction p;          /* the five heads, exactly as tml_model_stream_push computed them */
  bool stale;                       /* made by a model older than live.model_max_age_hours */
  int64_t created_ms;               /* loop-clock time it was computed */
  bool resolved;                    /* outcome known (the label horizon has passed) */
  int64_t resolved_ms;              /* loop-clock time it was resolved; 0 while unresolved */
  float outcome[TML_HEAD_COUNT];    /* realised class id (as float) or regression value; NaN while
                                       unresolved or when the label is undefined (bad prices) */
  /* The action block of strategies that decide (p.decision; rl) as a JSON object {"name",
   * "probabilities":{...},"value"} with lossless numbers; "" for strategies without one. Filled by
   * tml_live_predictions_put from p.decision and read back from the store (p.decision is not). */
  char action[TML_LIVE_ACTION_MAX];
};

/* Stores one prediction (INSERT OR IGNORE on UNIQUE(strategy, symbol, interval_ms, candle_ms)): a
 * prediction already stored for the same candle is kept as it is and *inserted is false. The tables
 * are created when missing. On insert, p->id is set. Returns 0, TML_EDB, TML_EBUSY. */
int tml_live_predictions_put(struct tml_store *store, struct tml_live_prediction *p, bool *inserted,
                             struct tml_error *err);
/* Stores the realised outcome of prediction `id` (resolved = true). TML_ENOENT for no such id. */
int tml_live_predictions_resolve(struct tml_store *store, int64_t id, const float outcome[TML_HEAD_COUNT],
                                 int64_t resolved_ms, struct tml_error *err);

struct tml_live_query {
  const char *strategy;  /* NULL = any */
  const char *symbol;    /* NULL = any */
  int64_t interval_ms;   /* 0 = any */
  int64_t since_ms;      /* candle_ms >= since_ms (INT64_MIN = no bound) */
  int64_t until_ms;      /* candle_ms <= until_ms (INT64_MAX = no bound) */
  size_t limit;          /* 0 = no limit; newest `limit` when limited */
  bool resolved_only;
};
void tml_live_query_init(struct tml_live_query *q); /* everything, no limit */

/* Stored predictions matching q in ascending candle time (then symbol). *out is malloc'ed (free();
 * NULL when *n == 0). The tables are created when missing (an empty store lists nothing). Returns 0,
 * TML_EDB, TML_EBUSY, TML_ENOMEM. */
int tml_live_predictions_list(struct tml_store *store, const struct tml_live_query *q,
                              struct tml_live_prediction **out, size_t *n, struct tml_error *err);
/* The newest stored prediction per symbol at interval_ms (strategy NULL = any), ordered by symbol. */
int tml_live_predictions_latest(struct tml_store *store, const char *strategy, int64_t interval_ms,
                                struct tml_live_prediction **out, size_t *n, struct tml_error *err);

/* Stored predictions with row id > after_id in id (insertion) order, at most limit (0 = all): lets
 * another process follow the predictions a loop stores (the daemon's SSE stream tails them). Same
 * ownership and returns as tml_live_predictions_list. */
int tml_live_predictions_after(struct tml_store *store, int64_t after_id, size_t limit,
                               struct tml_live_prediction **out, size_t *n, struct tml_error *err);
/* The newest stored row id (0 when there is none). Returns 0, TML_EDB, TML_EBUSY. */
int tml_live_predictions_max_id(struct tml_store *store, int64_t *id, struct tml_error *err);
/* Creates the live tables in the store's database when missing (SQLite), or brings their schema up to
 * this trademl's version (PostgreSQL: component "live" of `trademl db init`). Idempotent. Every other
 * function here does it on first use; `db init` calls it so a new database has every table at once.
 * Returns 0, TML_EDB, TML_EBUSY, connection errors as tml_store_open. */
int tml_live_tables_create(struct tml_store *store, struct tml_error *err);

/* One prediction as a JSON object: {"symbol","interval","strategy","candle_open_time",
 * "candle_close_time","model":{"id","version"},"stale","created","predictions":{<head>:{"class",
 * "probabilities":{...}} | {"value"}},["action":{"name","probabilities":{<action>:p},"value"},]
 * "outcome":null | {<head>: class name | value}} ("action" only for strategies that decide: rl). Numbers are
 * written losslessly (tml_buf_json_num), so a client reads back the exact floats. */
int tml_live_prediction_to_json(const struct tml_live_prediction *p, struct tml_buf *out);
/* CSV: the header line, then one line per prediction (same columns, heads flattened:
 * direction,p_down,p_neutral,p_up,volatility,p_low,...,stop_loss,position_size, then outcome_*). */
int tml_live_predictions_csv_header(struct tml_buf *out);
int tml_live_prediction_to_csv(const struct tml_live_prediction *p, struct tml_buf *out);

/* ---- live quality -------------------------------------------------------------------------------- */

/* Realised outcome of a prediction made at candle index `t` of c (c holds at least t + spec->horizon + 1
 * candles): the label code's targets (tml_targets_compute) classed with the model's thresholds
 * (tml_labels_head_value), one value per head (class id as float, or the regression target). Returns 0,
 * TML_EDATA when the horizon has not passed or a price is unusable (outcome NaN), TML_EINVAL. */
int tml_live_outcome(const struct tml_candles *c, size_t t, const struct tml_label_spec *spec,
                     const struct tml_label_thresholds *th, float outcome[TML_HEAD_COUNT], struct tml_error *err);

/* Rolling live metrics of one head over the last N resolved predictions, beside the model's walk-forward
 * out-of-sample means. Definitions as in metrics.h: accuracy = share of argmax == realised class; log loss
 * = mean -ln(clip(p[realised], 1e-15, 1 - 1e-15)); RMSE = sqrt(mean (pred - realised)^2). NaN when not
 * applicable (class vs regression head) or when no prediction is resolved. */
struct tml_live_head_quality {
  size_t n;                  /* resolved predictions in the window */
  double accuracy, logloss;  /* class heads */
  double rmse;               /* regression heads */
  double oos_accuracy, oos_logloss, oos_rmse; /* report.json summary "<head>.<metric>".mean; NaN if absent */
};

/* Computes q for head h from the n resolved predictions preds[0..n) (all of one symbol; unresolved or
 * NaN outcomes are skipped). oos fields are left as they are. */
void tml_live_quality_compute(const struct tml_live_prediction *preds, size_t n, enum tml_head h,
                              struct tml_live_head_quality *q);
/* Drift verdict: true when some class head has q.n >= min_resolved, a known oos_logloss, and
 * logloss - oos_logloss > margin (absolute, in nats). */
bool tml_live_quality_drift(const struct tml_live_head_quality q[TML_HEAD_COUNT], size_t min_resolved,
                            double margin);
/* Reads the out-of-sample means of report.json in model_dir into q[h].oos_* (NaN when the file or a
 * metric is absent; absence is not an error). TML_EPARSE for a report that does not parse. */
int tml_live_quality_load_oos(const char *model_dir, struct tml_live_head_quality q[TML_HEAD_COUNT],
                              struct tml_error *err);

/* ---- options ------------------------------------------------------------------------------------- */

enum tml_live_universe_kind {
  TML_LIVE_UNIVERSE_STORED, /* the symbols stored at the interval (live.universe "" and data.symbols "") */
  TML_LIVE_UNIVERSE_LIST,   /* an explicit list (live.symbols, live.universe "A,B", or data.symbols) */
  TML_LIVE_UNIVERSE_TOP,    /* the exchange's top N by 24 h turnover (live.universe "top:N") */
  TML_LIVE_UNIVERSE_ALL,    /* every trading symbol of the exchange market (live.universe "all") */
};

#define TML_LIVE_MAX_SYMBOLS 4096

/* Called on the loop thread for every new prediction (after it is stored). Borrowed for the call. */
typedef void (*tml_live_prediction_fn)(void *ctx, const struct tml_live_prediction *p);
/* Called on the loop thread for every log line (start, heartbeat, blocked/unblocked/reloaded...).
 * level: "info", "warning" or "error". The line has no trailing newline. */
typedef void (*tml_live_event_fn)(void *ctx, const char *level, const char *line);
/* Loop clock for tests: returns UTC ms. NULL = the exchange's server time (or the wall clock). */
typedef int64_t (*tml_live_clock_fn)(void *ctx);

struct tml_live_opts {
  char exchange[32];        /* "bybit" | "bitget" | "binance" | "binance_futures"; "" = none (no sync:
                               the store is kept up to date by someone else; wall clock) */
  char category[32];        /* market of the exchange; "" = its default */
  int64_t interval_ms;
  char strategy[64];        /* model.strategy */
  enum tml_live_universe_kind universe;
  size_t top;               /* TML_LIVE_UNIVERSE_TOP */
  char (*symbols)[TML_SYMBOL_MAX]; /* TML_LIVE_UNIVERSE_LIST: owned, nsymbols normalized names */
  size_t nsymbols;
  int64_t close_delay_ms;         /* live.close_delay_seconds */
  int64_t poll_ms;                /* live.poll_ms */
  int64_t universe_refresh_ms;    /* live.universe_refresh_minutes */
  int64_t coverage_check_ms;      /* live.coverage_check_seconds */
  int64_t heartbeat_ms;           /* live.heartbeat_seconds */
  int64_t model_max_age_ms;       /* live.model_max_age_hours; 0 = never stale */
  bool stale_block;               /* live.stale_action == block */
  size_t drift_window;            /* live.drift.window */
  size_t drift_min_resolved;      /* live.drift.min_resolved */
  double drift_logloss_margin;    /* live.drift.logloss_margin */
  int stall_intervals;            /* live.stall_intervals */
  double history_days;            /* days of history fetched for a symbol new to the store (data.days) */
  bool submit_jobs;               /* submit train/retrain jobs (true; false = report only) */
  const char *job_params;         /* JSON object of extra train flags for submitted jobs, or NULL
                                     (borrowed; e.g. {"num-boost-round":20} in tests) */
  struct tml_http_opts http;       /* HTTP settings of the exchange client; zero fields = the defaults */
  double rate_per_s;              /* request rate; 0 = the exchange's default */
  int64_t store_cache_mib;        /* data.resident_cache_mib: page cache of the loop's candle store */
  int64_t store_mmap_mib;         /* data.resident_mmap_mib: its memory map; 0 = none */
  tml_live_prediction_fn on_prediction;
  tml_live_event_fn on_event;
  void *cb_ctx;
  tml_live_clock_fn clock;        /* NULL = exchange server time / wall clock */
  void *clock_ctx;
};

/* Zeroes o and fills the documented defaults (no exchange, stored universe, 15m, 2 s delay, 1 s poll,
 * 60 min, 300 s, 600 s, never stale, predict, 200, 50, 0.10, 3; a 2 MiB page cache and no memory map on
 * the candle store, as data.resident_cache_mib / data.resident_mmap_mib). */
void tml_live_opts_init(struct tml_live_opts *o);
/* Fills o from the live.* keys (and data.exchange, data.interval, data.symbols, data.days, model.strategy,
 * operations.model_rotation.*). Validates them together: unknown exchange or category, an interval the
 * exchange lacks, a universe spec that does not parse ("top:N" with 1 <= N <= 4096, "all", or a comma
 * list of symbols), contradicting keys (live.symbols with live.universe; top/all without an exchange)
 * fail with TML_EINVAL naming the key and the fix. Callbacks and clock are left NULL. Release with
 * tml_live_opts_release. */
int tml_live_opts_from_config(const struct tml_config *cfg, struct tml_live_opts *o, struct tml_error *err);
void tml_live_opts_release(struct tml_live_opts *o);
/* Parses a universe spec into o (universe, top, symbols): "" = stored, "top:N", "all", "A,B,C". */
int tml_live_universe_parse(const char *spec, struct tml_live_opts *o, struct tml_error *err);

/* ---- status ------------------------------------------------------------------------------------- */

struct tml_live_symbol {
  char symbol[TML_SYMBOL_MAX];
  enum tml_live_state state;
  char reason[320];               /* why blocked/stale/..., "" when active */
  int64_t since_ms;               /* in this state since (loop clock) */
  int64_t next_check_ms;          /* next coverage re-check (blocked/training); 0 = none */
  int64_t model_id;               /* 0 = no model loaded */
  char model_version[64];
  int64_t model_created_ms;       /* registry registration time of the model; 0 = none */
  int64_t job_id;                 /* train/retrain job the loop submitted (0 = none) */
  int64_t last_candle_ms;         /* open time of the newest stored closed candle; -1 = none */
  int64_t last_predicted_ms;      /* open time of the newest predicted candle; -1 = none */
  int64_t last_prediction_at_ms;  /* loop-clock time of the newest prediction; 0 = none */
  size_t predictions;             /* made by this loop process */
  struct tml_live_head_quality quality[TML_HEAD_COUNT];
};

struct tml_live_counters {
  uint64_t ticks;
  uint64_t predictions;           /* stored by this process (backfill included) */
  uint64_t backfilled;            /* of which for candles that closed before the loop saw them live */
  uint64_t reloads;               /* model (re)loads after the first load of each symbol */
  uint64_t loads;                 /* every model load (first loads included) */
  uint64_t exchange_errors;       /* failed clock, candle or instrument requests */
  uint64_t coverage_checks;       /* coverage timer runs */
  uint64_t universe_refreshes;    /* universe timer runs */
  uint64_t jobs_submitted;        /* new train/retrain jobs (deduplicated submits not counted) */
  uint64_t resolved;              /* outcomes computed */
  int64_t started_ms;             /* loop clock at create */
  int64_t last_tick_ms;           /* loop clock at the last tick; 0 = none */
  int64_t last_tick_wall_ms;      /* wall clock at the last tick */
  int64_t last_candle_ms;         /* newest candle open time seen over all symbols; -1 = none */
  double tick_lag_s;              /* how late the last candle's predictions were, in seconds after its
                                     close became available (close + delay) */
};

struct tml_live_status {
  char exchange[32];
  char category[32];
  int64_t interval_ms;
  char strategy[64];
  char universe[64];              /* "stored", "list", "top:50", "all" */
  bool running;                   /* the loop runs (loaded from the store: its row says so and its
                                     process, on this host, still exists) */
  int64_t updated_ms;             /* wall clock of the last persisted status */
  int pid;                        /* process running the loop (0 unknown) */
  struct tml_live_counters counters;
  size_t by_state[TML_LIVE_STATE_COUNT];
  struct tml_live_symbol *symbols; /* owned, nsymbols, ordered by symbol */
  size_t nsymbols;
};
void tml_live_status_release(struct tml_live_status *s); /* frees symbols; accepts NULL */
/* JSON object: {"exchange","category","interval","strategy","universe","running","updated","pid",
 * "counters":{...},"states":{"active":N,...},"symbols":[{"symbol","state","reason","since",
 * "next_check","model":{"id","version"}|null,"last_candle","last_prediction","job_id",
 * "quality":{<head>:{"n","accuracy","logloss","rmse","oos_accuracy","oos_logloss","oos_rmse"}}}]}. */
int tml_live_status_to_json(const struct tml_live_status *s, struct tml_buf *out);
/* Human table: one line per symbol (state, since, reason, next re-check, model, last candle). */
int tml_live_status_format(const struct tml_live_status *s, int64_t now_ms, struct tml_buf *out);
/* The status persisted by the loop of strategy (NULL = model.strategy is not known here: any) at
 * interval_ms, read from the store (another process may run the loop). TML_ENOENT when no loop ever
 * ran for it (the message says how to start one). */
int tml_live_status_load(struct tml_store *store, const char *strategy, int64_t interval_ms,
                         struct tml_live_status *out, struct tml_error *err);

/* ---- the loop ----------------------------------------------------------------------------------- */

struct tml_live; /* opaque */

/* Creates a loop: opens the exchange client (base URL from exchanges.<name>.base_url in cfg) and checks
 * a symbol list against it (or, without an exchange, against the store), and only then creates the
 * state folders (tml_paths_ensure) and opens its own connections to the database at paths->db (store,
 * job table, registry): bad input writes nothing. Then it loads the persisted
 * symbol states and logs the start line ("live loop started: coverage checks every 300s, universe
 * refresh every 60m, heartbeat every 600s"). Nothing is fetched or predicted until the first tick.
 * cfg and paths are borrowed for the call (what the loop needs is copied); opts is copied (its
 * symbols too). Returns 0, TML_EINVAL (bad options), TML_EDB, TML_EBUSY, TML_ENOMEM. */
int tml_live_create(const struct tml_config *cfg, const struct tml_paths *paths, const struct tml_live_opts *opts,
                    struct tml_live **out, struct tml_error *err);
/* One iteration: reads the clock, does whatever is due (universe refresh, sync + predictions of newly
 * closed candles, registry check, coverage checks, outcomes, heartbeat) and returns. Exchange faults are
 * counted and logged, never returned; returns 0, or TML_EDB/TML_EBUSY/TML_ENOMEM for a failure of the
 * loop's own database (the caller may retry). Not thread-safe against itself (one loop thread). */
int tml_live_tick(struct tml_live *live, struct tml_error *err);
/* Ticks every poll_ms until *stop is true (checked at least every 100 ms). Database errors of a tick
 * are logged through on_event and retried on the next tick. Returns 0 when stopped. */
int tml_live_run(struct tml_live *live, const atomic_bool *stop, struct tml_error *err);
/* Copies the current status (thread-safe: any thread, while the loop runs). Release with
 * tml_live_status_release. 0 or TML_ENOMEM. */
int tml_live_snapshot(struct tml_live *live, struct tml_live_status *out);
/* Stops nothing by itself: persists the final status (running false) and frees everything. Accepts NULL. */
void tml_live_destroy(struct tml_live *live);

#endif
