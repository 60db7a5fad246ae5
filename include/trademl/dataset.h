/* The learning matrix: feature rows of one or several symbols with their continuous targets,
 * computed once per series and merged in time order; splits and folds are row ranges over it.
 * Only labelled rows are kept (warm-up rows and the last `horizon` candles are counted, not kept). */
#ifndef TML_DATASET_H
#define TML_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/featureset.h"
#include "trademl/labels.h"
#include "trademl/series.h"

struct tml_error;

enum tml_symbol_encoding { TML_ENC_NONE, TML_ENC_ONE_HOT, TML_ENC_INDEX };
const char *tml_symbol_encoding_name(enum tml_symbol_encoding e); /* "none", "one_hot", "index" */
int tml_symbol_encoding_parse(const char *s, enum tml_symbol_encoding *out, struct tml_error *err);

struct tml_dataset {
  size_t nrows;          /* labelled rows, ascending (time, symbol) */
  size_t nfeat;          /* feature-set columns (tml_featureset_ncols()) */
  size_t ncols;          /* nfeat + symbol-encoding columns */
  float *X;              /* nrows * ncols, row-major */
  int64_t *time;         /* candle open time of each row */
  uint16_t *sym;         /* index into symbols */
  double *close;         /* close of the row's candle: the entry price of a signal */
  double *open, *high, *low; /* the rest of the row's candle (the rl environment fills inside it) */
  double *fwd_return, *fwd_vol, *timing, *stop_loss_pct, *position_size; /* continuous targets */
  int8_t *tp1_hit;       /* 1 = take-profit 1 before stop, 0 = stop or neither, -1 unknown */
  char **col_names;      /* ncols names; encoding columns are "sym_<SYMBOL>" or "sym_index" */
  size_t nsymbols;
  char (*symbols)[TML_SYMBOL_MAX];
  enum tml_symbol_encoding encoding;
  int64_t interval_ms;
  size_t candles;        /* candles read, all series */
  size_t warmup_dropped; /* rows without complete features */
  size_t unlabelled;     /* rows without a complete label window */
  size_t before_window;  /* complete rows older than the requested window (--days) */
  int64_t first_ms, last_ms; /* first and last row time */
  char input_hash[17];   /* FNV-1a over every candle read, in series order (context candles included) */
  size_t context_candles; /* stored higher-interval candles fed as context (tml_features_compute_ctx) */
};

struct tml_dataset_opts {
  struct tml_featureset_opts features;
  struct tml_label_spec labels;
  enum tml_symbol_encoding encoding; /* NONE for single-symbol sets */
  int64_t from_ms;                   /* keep rows with time >= from_ms (INT64_MIN: all) */
  const struct tml_candles *htf_context; /* per series: stored higher-interval candles before it, or NULL */
  int threads; /* the build may use: >= 2 computes a series' targets on a second thread and lets a helper
                * fault its feature matrix in (series of 4096 candles and more); 0 or 1: one thread */
};

/* Builds the dataset from `nseries` full histories (borrowed). Features run over each whole series
 * so that a row equals what live prediction computes for that candle. */
int tml_dataset_build(const struct tml_candles *series, size_t nseries, const struct tml_dataset_opts *o,
                      struct tml_dataset *out, struct tml_error *err);
void tml_dataset_release(struct tml_dataset *d);

/* Row ranges of a time-ordered split with purge: valid = the last `test_size` share of rows, starting at
 * a time boundary (all symbols' rows of one candle time fall on the same side); train = every row whose
 * label window (horizon candles) ends before the validation period, minus `purge_rows` extra candles. */
struct tml_split {
  struct tml_range train, valid;
  size_t purged;          /* rows removed between train and valid */
  int64_t valid_from_ms;  /* first validation candle time */
};
int tml_dataset_split(const struct tml_dataset *d, double test_size, int purge_candles,
                      struct tml_split *s, struct tml_error *err);
/* First row with time >= t (nrows if none). */
size_t tml_dataset_lower_bound(const struct tml_dataset *d, int64_t t);

/* ---- Walk-forward folds (docs/validation.md). The split, purge and embargo rules of every fold live
 * here, next to tml_dataset_split, so training and validation cannot disagree about them. ----
 *
 * A fold's timeline (UTC, calendar days):
 *
 *   train_from            stop_from                     test_from           test_to
 *   | fit rows ... | purge | early-stop rows ... | purge | test rows ...     |
 *
 * A row at time t "labels" with candles t+1 .. t+h (h = horizon): its label window ends with the
 * close of candle t+h. A training row is kept only when t + h*interval < boundary (the next block's
 * first candle), i.e. its whole label window closes before the block it precedes starts: the purge.
 * Embargo (Lopez de Prado, Advances in Financial ML, 7.4.2): rows in [test_to_j, test_to_j + embargo)
 * after the test period of an earlier fold j are never used to train a later fold. */
enum tml_fold_window { TML_WINDOW_EXPANDING, TML_WINDOW_FIXED };

struct tml_fold_spec {
  enum tml_fold_window window;
  int test_period_days;   /* length of each test period (>= 1) */
  int min_train_days;     /* expanding: days of rows before the first test period (>= 1) */
  int train_window_days;  /* fixed: the training window length (>= 1) */
  int embargo_days;       /* >= 0 */
  int max_folds;          /* keep only the newest max_folds folds; 0 = every fold */
  int horizon;            /* label horizon in candles */
  int purge_candles;      /* purge gap; values below the horizon are raised to it */
  double stop_share;      /* share of the training window (rows) used for early stopping, (0, 0.5] */
};

struct tml_fold {
  int64_t train_from_ms, stop_from_ms, test_from_ms, test_to_ms; /* calendar bounds, half-open */
  struct tml_range fit;   /* outer bounds of the fit rows (embargoed rows inside are skipped) */
  struct tml_range stop;  /* outer bounds of the early-stopping rows (idem) */
  struct tml_range test;  /* test rows: time in [test_from, test_to) */
  size_t nfit, nstop;     /* rows actually used (embargo removed) */
  size_t purged;          /* rows dropped by the two purge gaps */
  size_t embargoed;       /* rows dropped by the embargo */
};

struct tml_fold_plan {
  struct tml_fold *folds; /* ascending in time; owned, release with tml_fold_plan_release */
  size_t nfolds;
  int64_t embargo_ms;
  int purge_candles;      /* effective purge (>= horizon) */
};

/* Lays out calendar folds over the rows of d: test periods of test_period_days UTC days tile
 * backwards from the end of the last row's day, so the newest data is always tested; a period is
 * kept when its training window has the required days of history (min_train_days expanding,
 * train_window_days fixed). Returns 0, TML_EINVAL for a bad spec (test period shorter than the
 * horizon, ...) or TML_EDATA when not even one fold fits (the message says how many days are needed).
 * On success the caller releases p. */
int tml_dataset_plan_folds(const struct tml_dataset *d, const struct tml_fold_spec *s, struct tml_fold_plan *p,
                           struct tml_error *err);
void tml_fold_plan_release(struct tml_fold_plan *p);
/* True when row r may train fold k (inside fit or stop bounds and not embargoed). */
bool tml_fold_row_trains(const struct tml_dataset *d, const struct tml_fold_plan *p, size_t k, size_t r);
/* Writes the indices of fold k's fit rows then its stop rows into rows (room for fit.end - fit.begin
 * + stop.end - stop.begin); *nfit / *nstop receive the counts. */
void tml_fold_train_rows(const struct tml_dataset *d, const struct tml_fold_plan *p, size_t k, size_t *rows,
                         size_t *nfit, size_t *nstop);
/* First row whose label window (horizon candles) does not close before t: rows before it may train
 * a model evaluated on rows from time t on. */
size_t tml_dataset_purge_bound(const struct tml_dataset *d, int64_t t, int horizon);

/* Fills y[begin..end) for a head with fitted thresholds; rows whose target is NaN get NaN. */
void tml_dataset_head_values(const struct tml_dataset *d, enum tml_head h, const struct tml_label_thresholds *th,
                             struct tml_range r, float *y);

#endif
