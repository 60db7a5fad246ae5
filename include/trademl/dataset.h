/* The learning matrix: feature rows of one or several symbols with their continuous targets,
 * computed once per series and merged in time order; splits and folds are row ranges over it.
 * Only labelled rows are kept (warm-up rows and the last `horizon` candles are counted, not kept). */
#ifndef TML_DATASET_H
#define TML_DATASET_H

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
  char input_hash[17];   /* FNV-1a over every candle read, in series order */
};

struct tml_dataset_opts {
  struct tml_featureset_opts features;
  struct tml_label_spec labels;
  enum tml_symbol_encoding encoding; /* NONE for single-symbol sets */
  int64_t from_ms;                   /* keep rows with time >= from_ms (INT64_MIN: all) */
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

/* Fills y[begin..end) for a head with fitted thresholds; rows whose target is NaN get NaN. */
void tml_dataset_head_values(const struct tml_dataset *d, enum tml_head h, const struct tml_label_thresholds *th,
                             struct tml_range r, float *y);

#endif
