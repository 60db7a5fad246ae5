/* Training one model set: candles from the store -> features -> labels -> time split with purge ->
 * five XGBoost heads with early stopping -> metrics -> a model-set folder written atomically.
 * The same function serves `trademl train`, jobs and the API (docs/training.md). */
#ifndef TML_TRAIN_H
#define TML_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/dataset.h"
#include "trademl/featureset.h"
#include "trademl/labels.h"
#include "trademl/metrics.h"
#include "trademl/xgb.h"

struct tml_error;
struct tml_store;

#define TML_TRAIN_MAX_SYMBOLS 256

enum tml_train_event { TML_EV_STAGE, TML_EV_ROUND, TML_EV_HEAD_DONE };
/* Progress from inside the pipeline. Called from worker threads for ROUND/HEAD_DONE (serialise in the
 * callback). best_round is the head's best round so far by the validation metric (early stopping);
 * for HEAD_DONE round is the best iteration. Return non-zero to cancel: training stops and returns
 * TML_EINTR, nothing is written. */
typedef int (*tml_train_progress_fn)(void *ud, enum tml_train_event ev, const char *stage, int head, int round,
                                     int total_rounds, double metric, int best_round);

struct tml_train_extra_file {
  const char *name; /* "report.json"; no '/' */
  const void *data;
  size_t len;
};

struct tml_train_opts {
  const char *symbols[TML_TRAIN_MAX_SYMBOLS]; /* normalized symbols, borrowed */
  size_t nsymbols;
  int64_t interval_ms;
  double days;                 /* train on the last `days` of history; 0 = all */
  bool multi_symbol;           /* one shared model across symbols */
  enum tml_symbol_encoding encoding; /* multi-symbol only */
  double test_size;            /* share of rows (by time) used for validation/early stopping */
  int purge_gap;               /* candles removed before validation; 0 = label horizon; never less */
  size_t min_train_rows;
  struct tml_label_spec labels;
  struct tml_xgb_params xgb;
  struct tml_featureset_opts features;
  int threads;                 /* total thread budget; 0 = online cores */
  const char *models_dir;      /* root of model sets */
  const char *strategy;        /* strategy by name (strategy.h): "xgb5" (default) | "ensemble" | ...;
                                  also the first folder level under models_dir */
  bool dry_run;                /* load, features, labels, split; no training, nothing written */
  tml_train_progress_fn progress;
  void *progress_ud;
  /* Extra files written into the model-set folder before its atomic rename (e.g. report.json and
   * report.html of the validation that approved it); borrowed. Names are plain file names. */
  const struct tml_train_extra_file *extra_files;
  size_t nextra_files;
  /* The active model set this one competes with (borrowed; NULL = none). It is scored on this run's
   * validation rows, against this run's labels, so activation compares both on the same rows; the
   * figures go into metadata.json "comparison" (docs/registry.md). */
  const char *incumbent_dir;
  /* Higher-timeframe context (train --days-1h): each symbol's stored candles at the feature set's higher
   * interval from the last htf_context_days days (0 = all; counted back from the newest base candle) that
   * closed before its first base candle warm up the higher-timeframe columns (tml_features_compute_ctx).
   * A symbol without such a stored series gets its higher candles from the base series only. */
  bool htf_context;
  double htf_context_days;
  const char *engine;          /* boosting engine by name (learner.h): "xgboost" (default) | "native" */
  const struct tml_config *config; /* borrowed: the effective configuration, read by strategies for their own
                                  keys (ensemble.*, lstm.*); NULL = the keys' defaults */
};


void tml_train_opts_default(struct tml_train_opts *o);

struct tml_config;
/* Fills everything but the symbols from the effective configuration (training.*, labels.*,
 * features.*, model.*, data.interval/days) and validates it. Symbols stay as they are. The strings
 * borrowed from cfg must outlive o. 0 or TML_EINVAL naming the key. */
int tml_train_opts_from_config(const struct tml_config *cfg, struct tml_train_opts *o, struct tml_error *err);

struct tml_head_result {
  int best_iteration;
  double best_score;             /* validation mlogloss or rmse at the best iteration */
  struct tml_class_metrics cls;  /* classification heads */
  struct tml_reg_metrics reg;    /* regression heads */
  size_t train_counts[TML_MAX_CLASSES], valid_counts[TML_MAX_CLASSES]; /* label distribution */
  double train_mean, valid_mean; /* regression target means */
  size_t top[10];                /* columns of the top-10 features by gain */
  double top_gain[10];
  size_t ntop;
  double seconds;                /* wall time of this head's boosting */
};

/* The incumbent's scores on the challenger's validation rows (tml_train_opts.incumbent_dir). */
struct tml_train_comparison {
  bool attempted;                /* an incumbent was given */
  bool scored;                   /* heads[] hold its metrics on the rows below; else why_not says why */
  char why_not[512];
  char incumbent_dir[4200];
  char incumbent_version[64];
  size_t rows;                   /* the validation rows both were scored on */
  int64_t from_ms, to_ms;        /* first and last of those rows (candle open times) */
  struct tml_head_result heads[TML_HEAD_COUNT]; /* cls/reg metrics only */
};

struct tml_train_result {
  char model_dir[4200];          /* final folder; empty on dry run */
  char version[64];
  size_t candles, rows, train_rows, valid_rows, purged, warmup_dropped, unlabelled, before_window;
  size_t context_candles;        /* stored higher-interval candles used as context (htf_context) */
  int64_t first_ms, last_ms, valid_from_ms;
  size_t ncols;
  char input_hash[17];
  struct tml_label_thresholds thresholds;
  struct tml_head_result heads[TML_HEAD_COUNT];
  double t_load, t_features, t_train, t_xgb, t_save, t_total; /* seconds; t_xgb sums heads' boosting */
  char **col_names;              /* ncols names, owned; released by tml_train_result_release */
  struct tml_train_comparison cmp;
};

void tml_train_result_release(struct tml_train_result *r);

/* Runs the pipeline. Candles come from `store` (full history of each symbol is read so features equal
 * live features). Returns 0, TML_EDATA (too little data, one-class labels), TML_ENOENT (unknown
 * symbol/interval), TML_EPERM (models folder not writable), TML_EINTR (cancelled) or another code. */
int tml_train_run(struct tml_store *store, const struct tml_train_opts *o, struct tml_train_result *r,
                  struct tml_error *err);

/* Loads every symbol's full history from the store (TML_ENOENT naming the intervals stored for a symbol
 * without candles at o->interval_ms) and builds the dataset: features and targets computed once, rows of the
 * last o->days days (0 = all). Shared by training and walk-forward validation. *t_load and *t_features
 * (seconds; may be NULL) say where the time went. d is released by the caller (tml_dataset_release). */
int tml_train_build_dataset(struct tml_store *store, const struct tml_train_opts *o, struct tml_dataset *d,
                            double *t_load, double *t_features, struct tml_error *err);

/* The result as JSON (the `metrics`/`data` parts of metadata.json and `trademl train --json`). */
int tml_train_result_to_json(const struct tml_train_result *r, const struct tml_train_opts *o, struct tml_buf *out);

#endif
