/* Strategies behind one table of functions (architecture.md, principle 8; the shape of
 * src/lib/registry/registry_backend.h): `xgb5` (five boosted heads), `ensemble` (a global stacked
 * model over member strategies), and later `lstm` and `rl`. train, validate, predict, jobs, the
 * registry, the API and the live loop pick a strategy by name (tml_strategy_lookup) and never branch
 * on it. Every strategy yields the same five heads (labels.h), so metrics, baselines, gates and
 * reports compare strategies head by head.
 *
 * Contract of a table (struct tml_strategy):
 *  - needs() says what the strategy reads from the dataset: context rows (the rows of the same symbol
 *    before a row that predicting it reads, e.g. a sequence length - 1), whether it is a global model
 *    over every stored symbol by default, and whether it wants the symbol-encoding columns.
 *  - fit() learns from the training rows of one fold only (fd->rows: nfit fit rows then nstop
 *    early-stopping rows, ascending dataset indices). Everything the strategy fits (scalers, bins,
 *    thresholds beyond the caller's class thresholds, meta-models) is fitted on fit rows, with the stop
 *    rows used only to choose when to stop. It may read the features of rows BEFORE a training row of
 *    the same symbol as context, never a row after the last training row, and never a target other
 *    than those of fd->rows. Labels come from fd->thresholds (tml_strategy_fit_labels). Deterministic:
 *    the same rows, parameters and seed give the same model whatever p->threads is, where the engine
 *    allows (documented per strategy otherwise). Returns 0, TML_EDATA (too little data, one class),
 *    TML_EINVAL (a parameter out of range, named), TML_EINTR (progress asked to stop: nothing kept),
 *    TML_EDATA naming the head for a diverging fit (NaN loss), or another code.
 *  - predict() fills out[h] for rows [rows.begin, rows.end) of d: class heads get nclass
 *    probabilities per row (row-major, summing to 1), regression heads one value per row; out[h] may
 *    be NULL for a head the caller does not want; a head the model does not hold gets NaN. It may read
 *    rows of the same symbol before rows.begin as context (never later rows). d must have the model's
 *    columns (the caller checks the feature checksum and the column count). Thread-safe for concurrent
 *    calls on one model.
 *  - stream_open/stream_step/stream_close carry per-symbol state for the live loop: stream_step gets
 *    every complete feature row of one symbol in time order (features then symbol encoding, as in the
 *    dataset); with out == NULL it only advances the state (history warm-up), otherwise it also
 *    predicts the five heads for that row (out[h][0..nclass) probabilities or out[h][0] a value).
 *    Predicting row t by streaming equals predict() on row t of the batch matrix to the last bit.
 *    One thread at a time per stream (a model may have many streams).
 *  - save() writes the strategy's own files into dir (a temporary folder that the caller renames
 *    into place after writing metadata.json: a reader never sees half a set); files are written
 *    atomically. load() reads them back; a folder written by another strategy, a missing, truncated or
 *    corrupt file is TML_EMODEL naming the file and what is wrong, never a crash. A loaded model
 *    predicts exactly as the saved one did.
 *  - describe() appends a JSON object to out (metadata.json "strategy_details": members, engine,
 *    sizes); head_info() the stopping point of a head; importance() per-column importance of a head
 *    (NULL when the strategy has none); head_model() the head as a learner model (for `models export`,
 *    NULL when the strategy has none).
 *  - every pointer a function returns is the caller's, freed with the table's free (which accepts NULL). */
#ifndef TML_STRATEGY_H
#define TML_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>

#include "trademl/dataset.h" /* struct tml_dataset */
#include "trademl/labels.h"  /* enum tml_head, struct tml_range, struct tml_label_thresholds */
#include "trademl/learner.h" /* struct tml_model (head_model) */
#include "trademl/metrics.h" /* TML_MAX_CLASSES */
#include "trademl/xgb.h"     /* struct tml_xgb_params */

struct tml_buf;
struct tml_config;
struct tml_error;
struct tml_strategy_cache;
struct tml_rl_trading_metrics;
struct tml_decision;
struct tml_helpers;

#define TML_STRATEGY_DEFAULT "xgb5"
#define TML_STRATEGY_NAME_MAX 32

/* Progress of a fit: head is the head being fitted (-1 for a multi-task fit of all heads), round the
 * boosting round or epoch (0-based), metric the validation loss of that round, best_round the best
 * so far; round -1 once a head is finished (metric its best score, best_round its best iteration);
 * round TML_STRATEGY_HEAD_START (metric NaN) when a head starts, sent by strategies that fit heads
 * one by one or side by side so that the caller can time each head (optional: without it a head's
 * time counts from the start of the fit). Called from the fitting threads. Return non-zero to
 * cancel (the fit returns TML_EINTR). */
#define TML_STRATEGY_HEAD_START (-2)
typedef int (*tml_strategy_progress_fn)(void *ud, int head, int round, int total_rounds, double metric,
                                        int best_round);

/* What a strategy needs from the dataset. */
struct tml_strategy_needs {
  size_t context_rows;  /* rows of the same symbol before a row that predicting it reads (0: the row alone) */
  bool all_symbols;     /* a global model: by default trained over every stored symbol of the interval */
  bool symbol_encoding; /* wants the symbol-encoding columns when several symbols share the model */
};

/* Everything a fit may be told. Strings and pointers are borrowed for the call. */
struct tml_strategy_params {
  const struct tml_config *cfg;     /* effective configuration: a strategy reads its own keys (lstm.*,
                                       ensemble.*); NULL = the keys' defaults */
  struct tml_xgb_params xgb;        /* boosting parameters (training.*); nthread is set by the strategy */
  const char *engine;               /* boosting engine by name (learner.h); NULL = TML_LEARNER_DEFAULT */
  int threads;                      /* thread budget of this fit (>= 1) */
  unsigned heads;                   /* heads to fit, bit (1u << TML_HEAD_*); 0 = all five */
  tml_strategy_progress_fn progress;
  void *progress_ud;
  struct tml_strategy_cache *cache; /* fitted models shared between strategies of one run (validate
                                       --compare: xgb5 fitted once per fold); NULL = no sharing */
  struct tml_helpers *helpers;      /* idle threads of the caller that may join this fit beyond the
                                       budget (helpers.h; validate's workers with no fold left), only
                                       where the model cannot depend on it (xgb5: whole heads, each on
                                       one engine thread); NULL = none. progress is then called from
                                       those threads too */
  bool heads_together;              /* xgb5 on one thread (threads 1): its heads may train together
                                       (engines with train_heads: the native engine's rounds in lockstep,
                                       one root pass for all heads; the same models) although helpers
                                       is set, which then cannot take a head. Without helpers they train
                                       together whenever the engine can */
};

/* The training rows of one fold (or of a train/validation split). */
struct tml_strategy_fit_data {
  const struct tml_dataset *d;     /* borrowed: the whole dataset */
  const size_t *rows;              /* nfit fit rows then nstop stop rows: ascending dataset indices */
  size_t nfit, nstop;
  const struct tml_label_thresholds *thresholds; /* class thresholds, fitted by the caller on fit rows */
  int horizon;                     /* label horizon in candles: a strategy that splits the fit rows again
                                      (inner folds) purges this many candles between its blocks */
  const char *cache_key;           /* names these rows within a run ("quick fold 3") for p->cache; NULL = none */
};

struct tml_strategy_head_info {
  int best_iteration;              /* boosting round or epoch kept (-1 when the notion does not apply) */
  double best_score;               /* validation loss at that point (NaN when unknown) */
  double seconds;                  /* the fit's own measure of the time spent on this head, when its heads
                                      were trained together (xgb5 on one thread); < 0 otherwise (the
                                      caller times the head from its progress events) */
};

/* What load() is told about the folder besides its files. */
struct tml_strategy_load_info {
  const char *metadata;            /* metadata.json text (the strategy may read its own keys) */
  const char *engine;              /* metadata.json "engine" (NULL = TML_LEARNER_DEFAULT) */
  size_t ncols;                    /* columns of a row: features + symbol encoding */
};

struct tml_strategy {
  const char *name;                /* "xgb5" | "ensemble" | ...: --strategy, model.strategy, strategy_type,
                                      the first folder level under model.models_dir, metadata.json "strategy" */
  const char *summary;             /* one line for usage text and docs/strategies.md */
  int (*needs)(const struct tml_strategy_params *p, struct tml_strategy_needs *out, struct tml_error *err);
  int (*fit)(const struct tml_strategy_fit_data *fd, const struct tml_strategy_params *p, void **out,
             struct tml_error *err);
  int (*predict)(const void *m, const struct tml_dataset *d, struct tml_range rows, float *const *out,
                 struct tml_error *err);
  int (*stream_open)(const void *m, void **state, struct tml_error *err);
  int (*stream_step)(void *state, const float *row, float (*out)[TML_MAX_CLASSES], struct tml_error *err);
  void (*stream_close)(void *state);
  int (*save)(const void *m, const char *dir, const struct tml_dataset *d, struct tml_error *err);
  int (*load)(const char *dir, const struct tml_strategy_load_info *info, void **out, struct tml_error *err);
  int (*describe)(const void *m, struct tml_buf *out);
  void (*head_info)(const void *m, int head, struct tml_strategy_head_info *out);
  int (*importance)(const void *m, int head, double *gain, double *weight, double *cover, struct tml_error *err);
  const struct tml_model *(*head_model)(const void *m, int head);
  void (*free)(void *m);
  /* Optional (NULL = none): the strategy's own trading over rows [rows.begin, rows.end) of one symbol,
   * for strategies that decide actions rather than forecast (rl: the agent's episode, its position
   * carried from step to step, with the costs it was trained with: the rl.* keys). validate reports it
   * next to buy-and-hold, flat and the policy following the direction head (tml_rl_fold_trading). */
  int (*trade)(const void *m, const struct tml_dataset *d, struct tml_range rows, struct tml_rl_trading_metrics *out,
               struct tml_error *err);
  /* Optional (NULL = none): the action the strategy takes on a feature row (as stream_step gets it),
   * with its probabilities and value, for `predict` and the API (rl: from the flat state). Thread-safe
   * like predict. */
  int (*decide)(const void *m, const float *row, struct tml_decision *out, struct tml_error *err);
  /* Optional (NULL = none): for strategies whose decisions carry a position from candle to candle (rl).
   * The model stream calls it right after stream_step for every complete row (warm-up rows too), with
   * that row's candle prices (ohlc: open, high, low, close) and the interval: it advances the stream's
   * paper position exactly as the strategy's trading environment would (its previous decision fills on
   * this candle) and, when out is not NULL, writes the decision taken at this candle with the position
   * carried. A stream's decisions then come from here, not from decide(). */
  int (*stream_trade)(void *state, int64_t interval_ms, const double ohlc[4], struct tml_decision *out,
                      struct tml_error *err);
};

extern const struct tml_strategy tml_strategy_xgb5;     /* src/lib/strategy/strategy_xgb5.c */
extern const struct tml_strategy tml_strategy_ensemble; /* src/lib/strategy/strategy_ensemble.c */
extern const struct tml_strategy tml_strategy_lstm;     /* src/lib/strategy/strategy_lstm.c */
extern const struct tml_strategy tml_strategy_rl;       /* src/lib/strategy/strategy_rl.c */

/* The ensemble's member list ("xgb5,lstm": ensemble.members of cfg, or the default when cfg is NULL);
 * the string is cfg's (or static). */
const char *tml_strategy_ensemble_members(const struct tml_config *cfg);

/* Whether a set of strategy `strategy` (NULL: the default) on engine `engine` (NULL: the default)
 * trains models of the engine named `name`: the set's engine, or for the ensemble a member's own
 * NAME:ENGINE (ensemble.members of cfg). For what a set records of an engine's own parameters. */
bool tml_strategy_trains_engine(const char *strategy, const char *engine, const struct tml_config *cfg,
                                const char *name);

/* The strategy named `name`; TML_EINVAL listing the known names when there is none. */
int tml_strategy_lookup(const char *name, const struct tml_strategy **out, struct tml_error *err);
/* "xgb5, ensemble": the names, for messages and usage text. */
const char *tml_strategy_names(void);
/* The registered strategies, for loops over every strategy (tests, docs): i < tml_strategy_count(). */
size_t tml_strategy_count(void);
const struct tml_strategy *tml_strategy_at(size_t i);

/* A fitted or loaded strategy model: its table and the table's model. Reference counted so that a
 * cache and several users can share one fit; free with tml_strategy_model_free. */
struct tml_strategy_model {
  const struct tml_strategy *strategy;
  void *impl;
  int refs;                        /* owned by strategy.c: do not touch */
};

/* Fits s on fd (contract above). With p->cache and fd->cache_key, a model already fitted for the same
 * (strategy, engine, key, heads) is returned instead of fitting again, also while another thread is fitting
 * it (the caller waits). Caller owns *out (tml_strategy_model_free). */
int tml_strategy_fit(const struct tml_strategy *s, const struct tml_strategy_fit_data *fd,
                     const struct tml_strategy_params *p, struct tml_strategy_model **out, struct tml_error *err);
/* Loads a model folder of strategy s. Caller owns *out. */
int tml_strategy_model_load(const struct tml_strategy *s, const char *dir, const struct tml_strategy_load_info *info,
                            struct tml_strategy_model **out, struct tml_error *err);
/* Another reference to m (for sharing); returns m. */
struct tml_strategy_model *tml_strategy_model_ref(struct tml_strategy_model *m);
void tml_strategy_model_free(struct tml_strategy_model *m); /* drops a reference; accepts NULL */

/* Labels of head h for the training rows of fd (nfit + nstop values, NaN where the target is unknown). */
void tml_strategy_fit_labels(const struct tml_strategy_fit_data *fd, enum tml_head h, float *y);
/* Values per row of head h's output: nclass, or 1 for a regression head. */
size_t tml_strategy_head_width(enum tml_head h);

/* ---- cache of fits shared within one run (validate --compare) ---- */
int tml_strategy_cache_create(struct tml_strategy_cache **out, struct tml_error *err);
void tml_strategy_cache_destroy(struct tml_strategy_cache *c); /* accepts NULL */
/* Fits actually run through the cache for strategy `name` (cache misses): the test of "xgb5 fitted at
 * most once per fold". */
size_t tml_strategy_cache_fits(struct tml_strategy_cache *c, const char *name);

#endif
