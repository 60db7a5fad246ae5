/* XGBoost (C API, tree_method hist) for one head: training with early stopping on validation rows,
 * prediction, JSON model files and per-column feature importance. */
#ifndef TML_XGB_H
#define TML_XGB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/labels.h" /* struct tml_range */

struct tml_buf;
struct tml_error;

struct tml_xgb_params {
  int num_boost_round;       /* maximum rounds (default 500) */
  int early_stopping_rounds; /* patience on the validation metric (default 50; 0 = off) */
  double eta;                /* learning rate (0.05) */
  int max_depth;             /* 6 */
  double min_child_weight;   /* 1 */
  double subsample;          /* 1.0 */
  double colsample_bytree;   /* 1.0 */
  double lambda;             /* L2 regularisation (1) */
  int max_bin;               /* 64 (docs/training.md: same out-of-sample metrics as 256, 1.8x less CPU) */
  int nthread;               /* 1 (see docs: coarse parallelism across heads is more robust) */
  uint64_t seed;             /* 42 */
  int max_leaves;            /* 0 = no limit; else at most this many leaves per tree (XGBoost's max_leaves) */
  int grow_policy;           /* TML_GROW_DEPTHWISE (0) or TML_GROW_LOSSGUIDE (XGBoost's grow_policy) */
  int native_histogram;      /* TML_HIST_FLOAT or TML_HIST_DOUBLE: the native engine's histogram slots */
};

/* The native engine's histogram slots (training.native_histogram; XGBoost 1.7's CPU histograms are
 * always double, so this setting is the native engine's alone). float, the default: half the bytes
 * per (row, column) update, ~1.2x less CPU on a walk-forward, near-tie splits may go otherwise than
 * XGBoost's; double: XGBoost's own accumulators, the same trees as libxgboost bit for bit
 * (docs/training.md "The native engine"). */
enum { TML_HIST_FLOAT = 0, TML_HIST_DOUBLE = 1 };
/* "float" / "double" -> TML_HIST_*; -1 for anything else. */
int tml_xgb_native_histogram_parse(const char *name);
const char *tml_xgb_native_histogram_name(int precision);

/* Tree growth order, as XGBoost 1.7's hist updater: depth-wise expands a whole level at a time (nodes
 * in id order, stopping when max_leaves is reached); loss-guided expands the node with the largest
 * loss change first. max_depth 0 (no depth limit) is allowed only with max_leaves > 0. */
enum { TML_GROW_DEPTHWISE = 0, TML_GROW_LOSSGUIDE = 1 };
/* "depthwise" / "lossguide" -> TML_GROW_*; -1 for anything else. */
int tml_xgb_grow_policy_parse(const char *name);
const char *tml_xgb_grow_policy_name(int policy);

/* Fills the defaults: 500, 50, 0.05, 6, 1, 1.0, 1.0, 1, 64, 1, 42, max_leaves 0, depthwise, float
 * native histograms. */
void tml_xgb_params_default(struct tml_xgb_params *p);
/* 0, or TML_EINVAL naming the first bad field and its allowed range. */
int tml_xgb_params_validate(const struct tml_xgb_params *p, struct tml_error *err);
/* Appends the parameters as one JSON object; native_histogram only for the native engine (native:
 * the parameters train native models), where it applies. 0 or TML_ENOMEM/TML_ETOOBIG. */
int tml_xgb_params_to_json(const struct tml_xgb_params *p, bool native, struct tml_buf *out);

/* Called after every boosting round: round (0-based), that round's validation metric (mlogloss
 * for classification, rmse for regression) and the best round so far. */
/* Called after every round; a non-zero return stops training and tml_xgb_train returns TML_EINTR. */
typedef int (*tml_xgb_progress_fn)(void *ud, int round, double valid_metric, int best_round);

/* One head of a call that trains several heads of a fold together (the learners' train_heads,
 * tml_gbdt_train_binned_heads): labels (one per row of the matrix), classes (0 = regression), its
 * progress callback (called after each of its rounds, as for a head trained alone) and a name for
 * messages (NULL: its 1-based number). */
struct tml_train_head {
  const float *y;
  int nclass;
  tml_xgb_progress_fn progress;
  void *ud;
  const char *name;
};
#define TML_MAX_TRAIN_HEADS 8 /* heads of one such call */

/* Opaque: booster, nclass (0 = regression), ncols, best_iteration, best_score. */
struct tml_xgb_model;

/* Trains one head. X is row-major float (NaN = missing) holding all rows with ncols columns; y has
 * one value per row of X; train and valid are half-open row ranges of X/y (both non-empty). nclass
 * >= 2 trains multi:softprob (y must be integers 0..nclass-1), nclass 0 trains reg:squarederror.
 * Early stopping: after each round the validation metric (mlogloss / rmse, lower is better) is
 * read; training stops after early_stopping_rounds rounds without a strict improvement, and the
 * model is cut to rounds 0..best (XGBoosterSlice), carrying the attributes best_iteration and
 * best_score. feature_names (ncols strings, may be NULL) are stored in the model. progress may be
 * NULL; when it returns non-zero training stops with TML_EINTR and no model. On success *out is the
 * caller's (free with tml_xgb_free). Returns 0, TML_EINTR, TML_EINVAL (bad
 * arguments or labels, message names the row), TML_EXGB (library error, message names the call)
 * or TML_ENOMEM. */
int tml_xgb_train(const float *X, size_t ncols, const float *y, struct tml_range train,
                  struct tml_range valid, int nclass, const struct tml_xgb_params *p,
                  const char *const *feature_names, tml_xgb_progress_fn progress, void *ud,
                  struct tml_xgb_model **out, struct tml_error *err);

/* Predicts nrows rows of X (row-major, the model's ncols columns). out holds nrows * max(nclass, 1)
 * floats: class probabilities row by row, or the regression value, bit for bit XGBoost's own. The
 * model's trees were flattened when it was trained or loaded (src/lib/learn/xgb_flat.c) and are walked
 * natively; a model of a form the flat evaluator does not reproduce (logged when loaded) goes through
 * an XGBoost DMatrix. 0 or TML_EXGB/TML_ENOMEM. Thread-safe for flattened models; otherwise not on the
 * same model (the booster reuses its output buffer). */
int tml_xgb_predict(const struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                    struct tml_error *err);

/* The same predictions as tml_xgb_predict, bit for bit. A model that is not flattened is predicted by
 * XGBoost in place over X with a proxy the model keeps (no DMatrix per call). Same contract.
 * Thread-safe: flattened models need no lock; otherwise calls on the same model are serialised by the
 * model's lock (the proxy and the result buffer are the model's). */
int tml_xgb_predict_inplace(struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                            struct tml_error *err);

/* Writes the model as XGBoost JSON, atomically (temporary file + rename). 0, TML_EXGB or TML_EIO. */
int tml_xgb_save_json(const struct tml_xgb_model *m, const char *path, struct tml_error *err);
/* Serialises the model as XGBoost JSON into out (appended). 0, TML_EXGB or TML_ENOMEM. */
int tml_xgb_to_json(const struct tml_xgb_model *m, struct tml_buf *out, struct tml_error *err);
/* Loads a model written by tml_xgb_save_json. TML_EMODEL with a message naming the file when it is
 * missing, unreadable or not a valid XGBoost model. On success *out is the caller's. Once flattened,
 * the model holds no XGBoost booster: serialising, importance and set_nthread's predictions load it
 * again from the same file (TML_EMODEL if the file's bytes changed since). */
int tml_xgb_load_json(const char *path, struct tml_xgb_model **out, struct tml_error *err);

/* Sets the threads used by later predictions (loaded models start with 1). 0 or TML_EXGB. */
int tml_xgb_set_nthread(struct tml_xgb_model *m, int nthread, struct tml_error *err);

/* Per-column importance (arrays of ncols, any may be NULL), XGBoost's definitions summed over the
 * trees of all classes: gain = mean loss reduction of the splits on the column, weight = number of
 * splits, cover = mean hessian cover of those splits. Columns never split on get 0. */
int tml_xgb_importance(const struct tml_xgb_model *m, double *gain, double *weight, double *cover,
                       struct tml_error *err);

int tml_xgb_best_iteration(const struct tml_xgb_model *m); /* 0-based round kept last */
double tml_xgb_best_score(const struct tml_xgb_model *m);  /* validation metric at that round */
int tml_xgb_nclass(const struct tml_xgb_model *m);         /* 0 = regression */
size_t tml_xgb_ncols(const struct tml_xgb_model *m);
/* Frees the booster and the struct; accepts NULL. */
void tml_xgb_free(struct tml_xgb_model *m);

#endif
