/* The native histogram gradient-boosting engine (docs/training.md, "The native engine"): the same
 * heads as include/trademl/xgb.h (multi-class softmax, squared error, early stopping on validation
 * rows) built for trademl's narrow work: <= ~110k rows x ~70 float columns, <= 255 bins, five
 * heads trained on one fold's rows. A fold's binned matrix (struct tml_gbdt_bins) is built once from
 * the training rows' quantiles and shared by every head of the fold. Parameters are the XGBoost ones
 * (struct tml_xgb_params) so both engines train from the same settings. */
#ifndef TML_GBDT_H
#define TML_GBDT_H

#include <stddef.h>
#include <stdint.h>

#include "trademl/labels.h" /* struct tml_range */
#include "trademl/xgb.h"    /* struct tml_xgb_params, tml_xgb_progress_fn */

struct tml_buf;
struct tml_error;
struct tml_helpers;

#define TML_GBDT_FORMAT "trademl-gbdt" /* the "format" field of a native model file */
#define TML_GBDT_FORMAT_VERSION 1
#define TML_GBDT_MAX_BIN 255  /* bins are uint8; the code max_bin marks a missing value */
#define TML_GBDT_MAX_DEPTH 16
#define TML_GBDT_MAX_LEAVES 4096
#define TML_GBDT_MAX_COLS 4096 /* columns of a native model (the prediction layout has 12 bits for a column) */

/* Engine levers, for the benchmark and tests only (0 = the engine as shipped). */
enum {
  TML_GBDT_NO_SUBTRACTION = 1u << 0,  /* build both children's histograms instead of one + subtract */
  TML_GBDT_NO_AVX2 = 1u << 1,         /* no AVX2 even where it runs (split mask, root pass, softmax) */
  TML_GBDT_MASK_PLAIN = 1u << 2,      /* split search: the scalar candidate mask */
  TML_GBDT_NO_SHARED_ROOT = 1u << 3,  /* class trees: each root histogram from its own pass */
  TML_GBDT_SEARCH_ALL = 1u << 4,      /* search every child below max_depth, even one that cannot split */
};

/* 0, or TML_EINVAL naming the first bad field, its range and the fix. Same ranges as XGBoost's
 * except max_bin 2..255, max_depth 0..16 and max_leaves 0..4096 (the native engine's limits). */
int tml_gbdt_params_validate(const struct tml_xgb_params *p, struct tml_error *err);

/* ---- The binned matrix of a fold ----
 * Cut points per column come from the training rows only (`fit`, never validation or test rows),
 * placed as libxgboost 1.7's quantile sketch places them (re-implemented with its float arithmetic):
 * a column with at most max_bin distinct values gets one bin per value, otherwise at most max_bin
 * bins at the sketch's approximate quantiles. A value x falls in bin b = number of cuts <= x, so "bin <= s" is exactly
 * "x < cut[s]" and a tree trained on bins predicts raw floats with the same result. NaN and +-Inf
 * are missing (code max_bin). Every row of X is binned (nrows x ncols uint8, row-major). */
struct tml_gbdt_bins;

/* X: nrows x ncols row-major floats (borrowed for the call). Caller owns *out
 * (tml_gbdt_bins_free). 0, TML_EINVAL (empty fit range, bad max_bin) or TML_ENOMEM. */
int tml_gbdt_bins_build(const float *X, size_t nrows, size_t ncols, struct tml_range fit, int max_bin,
                        struct tml_gbdt_bins **out, struct tml_error *err);
/* The same matrix, byte for byte, built on up to nthread threads (the cuts split by blocks of
 * columns, the codes by rows): at most 16, one below 4,096 rows, and nthread < 1 means one. */
int tml_gbdt_bins_build_threads(const float *X, size_t nrows, size_t ncols, struct tml_range fit, int max_bin,
                                int nthread, struct tml_gbdt_bins **out, struct tml_error *err);
void tml_gbdt_bins_free(struct tml_gbdt_bins *b);
size_t tml_gbdt_bins_nrows(const struct tml_gbdt_bins *b);
/* Cut points of column j (*ncuts of them, ascending); the pointer lives as long as b. */
const float *tml_gbdt_bins_cuts(const struct tml_gbdt_bins *b, size_t j, size_t *ncuts);
/* Bin code of row r, column j (max_bin = missing). */
unsigned tml_gbdt_bins_at(const struct tml_gbdt_bins *b, size_t r, size_t j);

/* One histogram pass over rows r of the matrix with per-row gradients g and hessians h (indexed
 * by row): hist receives ncols x (max_bin + 1) (g, h) double pairs. The floor of a boosting round,
 * exposed for bench/bench_gbdt.c; training uses the same loop. */
void tml_gbdt_hist_pass(const struct tml_gbdt_bins *b, const float *g, const float *h, struct tml_range r,
                        double *hist);

/* Opaque model: nclass (0 = regression), ncols, trees in a flattened layout, best round. */
struct tml_gbdt_model;

/* Trains one head on a binned matrix. y has one value per row of the matrix; train and valid are
 * half-open row ranges (both non-empty). nclass >= 2: softmax (y integers 0..nclass-1), one tree
 * per class per round, gradients p - [y = k], hessians max(2p(1-p), 1e-16) as XGBoost's
 * multi:softprob; nclass 0: squared error, g = pred - y, h = 1. Margins start at base_score 0.5
 * for both objectives, as XGBoost 1.7's default. Early stopping, progress and return codes as tml_xgb_train; flags
 * are TML_GBDT_* levers (0 normally). p->nthread threads (at most 64) grow the model: the histogram
 * of a node with >= 2048 rows is split between them by column, each column summed by one thread in
 * row order, so the model bytes never depend on the thread count. helpers (NULL: none): idle
 * threads that may grow the class trees of a round beside the calling thread (helpers.h; each tree
 * is grown whole by one runner: the calling thread with its histogram threads, or one helper; the
 * model bytes do not depend on which, or on helpers). */
int tml_gbdt_train_binned(const struct tml_gbdt_bins *bins, const float *y, struct tml_range train,
                          struct tml_range valid, int nclass, const struct tml_xgb_params *p, unsigned flags,
                          struct tml_helpers *helpers, const char *const *feature_names, tml_xgb_progress_fn progress,
                          void *ud, struct tml_gbdt_model **out, struct tml_error *err);

/* Trains nheads (1..TML_MAX_TRAIN_HEADS) heads on one binned matrix together, on the calling thread
 * (p->nthread threads inside, as tml_gbdt_train_binned): every head still training runs its round,
 * round after round, each stopping at its own early stopping. The root histograms of the heads whose
 * trees take every row and column (subsample and colsample_bytree 1; float histograms; classes 2..4
 * or regression) come from one pass over the rows instead of one pass per head. Each head's model
 * is the bytes tml_gbdt_train_binned gives it alone (tested). out receives nheads models (all or
 * none). seconds (NULL: not wanted) receives each head's own time: its set-up, its steps of every
 * round and its share of the shared root pass (in proportion to its (g, h) pairs there); they add
 * up to about the call's wall time. Errors name the head they concern. */
int tml_gbdt_train_binned_heads(const struct tml_gbdt_bins *bins, const struct tml_train_head *heads, size_t nheads,
                                struct tml_range train, struct tml_range valid, const struct tml_xgb_params *p,
                                unsigned flags, const char *const *feature_names, struct tml_gbdt_model **out,
                                double *seconds, struct tml_error *err);

/* tml_xgb_train's contract: bins fitted on the `train` rows of X, then tml_gbdt_train_binned. */
int tml_gbdt_train(const float *X, size_t ncols, const float *y, struct tml_range train, struct tml_range valid,
                   int nclass, const struct tml_xgb_params *p, const char *const *feature_names,
                   tml_xgb_progress_fn progress, void *ud, struct tml_gbdt_model **out, struct tml_error *err);

/* Predicts nrows rows of X (row-major, the model's ncols columns, every one of them read; NaN/Inf =
 * missing): class probabilities row by row (softmax of the summed margins), or the regression value.
 * Thread-safe. */
void tml_gbdt_predict(const struct tml_gbdt_model *m, const float *X, size_t nrows, float *out);
/* Raw margins (nclass or 1 per row) of one row x of the model's ncols values, without the softmax. */
void tml_gbdt_predict_margin(const struct tml_gbdt_model *m, const float *x, float *margin);

/* Own JSON format: {"format":"trademl-gbdt","format_version":1,"engine":"native",...}; the same
 * model gives the same bytes. Appends to out: 0 or TML_ENOMEM. */
int tml_gbdt_to_json(const struct tml_gbdt_model *m, struct tml_buf *out, struct tml_error *err);
/* Writes tml_gbdt_to_json atomically (temporary file + rename). 0, TML_ENOMEM or TML_EIO. */
int tml_gbdt_save_json(const struct tml_gbdt_model *m, const char *path, struct tml_error *err);
/* Loads a file written by tml_gbdt_save_json. TML_EMODEL naming the file when it is missing,
 * another engine's model (XGBoost JSON), a newer format version, or corrupt (every index, count and
 * child link is checked). Caller owns *out. */
int tml_gbdt_load_json(const char *path, struct tml_gbdt_model **out, struct tml_error *err);
/* Same as tml_gbdt_load_json from memory; `name` is used in messages. */
int tml_gbdt_from_json(const char *text, size_t len, const char *name, struct tml_gbdt_model **out,
                       struct tml_error *err);

/* The model as XGBoost 1.7 JSON (gbtree, one tree per class per round, base_score carried in
 * learner_model_param), loadable by XGBoosterLoadModel / XGBoosterLoadModelFromBuffer. Appends. */
int tml_gbdt_export_xgboost_json(const struct tml_gbdt_model *m, struct tml_buf *out, struct tml_error *err);

/* Per-column importance as tml_xgb_importance: gain = mean loss reduction of the splits on the
 * column, weight = number of splits, cover = mean hessian of those splits, over all trees. */
void tml_gbdt_importance(const struct tml_gbdt_model *m, double *gain, double *weight, double *cover);

int tml_gbdt_best_iteration(const struct tml_gbdt_model *m); /* 0-based round kept last */
double tml_gbdt_best_score(const struct tml_gbdt_model *m);  /* validation metric at that round */
int tml_gbdt_nclass(const struct tml_gbdt_model *m);
size_t tml_gbdt_ncols(const struct tml_gbdt_model *m);
size_t tml_gbdt_ntrees(const struct tml_gbdt_model *m);
void tml_gbdt_free(struct tml_gbdt_model *m);

/* The softmax gradient pass of one row (exposed for tests): margins -> p, g = p - [y = k],
 * h = max(2p(1-p), 1e-16), all in float as XGBoost's multi:softprob. */
void tml_gbdt_softmax_grad(const float *margin, int nclass, int label, float *g, float *h);

#endif
