/* Boosting engines behind one table of functions (architecture.md, principle 8): training,
 * validation, prediction and the registry pick an engine by name ("xgboost", "native") and never
 * branch on it. Both engines take the same parameters (struct tml_xgb_params) and give the same
 * kind of head: class probabilities (softmax) or a regression value, early stopping on validation
 * rows, cut at the best round, per-column importance (gain, weight, cover).
 *
 * Contract of a table (struct tml_learner):
 *  - fold_prepare builds what an engine can share between the heads of one fold from the rows of X
 *    (the native engine: the binned matrix, bins fitted on the `fit` rows only); NULL when there is
 *    nothing to share. The fold data is read-only afterwards: heads may train on it in parallel.
 *    It may use up to p->nthread threads, and what it builds does not depend on their number.
 *  - train reads rows of the fold's X by index ranges (train, valid), never other rows; train_heads
 *    (optional) trains several heads of the fold at once, each the model train gives it.
 *  - predict is thread-safe (XGBoost: in-place prediction serialised by the model's lock; native:
 *    no shared state).
 *  - save writes atomically; load returns TML_EMODEL naming the file for a missing, corrupt or
 *    other-engine file, never crashes.
 *  - every pointer a function returns is the caller's, freed with the table's free. */
#ifndef TML_LEARNER_H
#define TML_LEARNER_H

#include <stddef.h>

#include "trademl/labels.h" /* struct tml_range */
#include "trademl/xgb.h"    /* struct tml_xgb_params, tml_xgb_progress_fn */

struct tml_buf;
struct tml_error;
struct tml_helpers;

struct tml_learner_fold {
  const float *X;     /* borrowed: nrows x ncols row-major */
  size_t nrows, ncols;
  void *engine_data;  /* fold_prepare's result, or NULL */
  /* Idle threads of the fit that may join a head's work (helpers.h), or NULL (set by the caller
   * after fold_prepare; the native engine offers them the class trees of each round). */
  struct tml_helpers *helpers;
};

struct tml_learner {
  const char *name;   /* "xgboost" | "native": training.engine, --engine, metadata.json "engine" */
  int (*fold_prepare)(struct tml_learner_fold *f, struct tml_range fit, const struct tml_xgb_params *p,
                      struct tml_error *err);
  void (*fold_release)(struct tml_learner_fold *f);
  int (*train)(const struct tml_learner_fold *f, const float *y, struct tml_range train, struct tml_range valid,
               int nclass, const struct tml_xgb_params *p, const char *const *feature_names,
               tml_xgb_progress_fn progress, void *ud, void **out, struct tml_error *err);
  /* Optional (NULL: the engine trains one head per call): trains n (1..TML_MAX_TRAIN_HEADS, xgb.h)
   * heads of a prepared fold together on the calling thread (p->nthread inside; no helpers), each
   * head's model the one `train` gives it alone; out receives n models, all or none, and seconds
   * (NULL: not wanted) each head's own share of the call's time. The native engine runs the heads'
   * rounds in lockstep with one root-histogram pass for all of them. */
  int (*train_heads)(const struct tml_learner_fold *f, const struct tml_train_head *heads, size_t n,
                     struct tml_range train, struct tml_range valid, const struct tml_xgb_params *p,
                     const char *const *feature_names, void **out, double *seconds, struct tml_error *err);
  int (*predict)(const void *m, const float *X, size_t nrows, float *out, struct tml_error *err);
  int (*save)(const void *m, const char *path, struct tml_error *err);
  int (*load)(const char *path, void **out, struct tml_error *err);
  int (*importance)(const void *m, double *gain, double *weight, double *cover, struct tml_error *err);
  /* The model as XGBoost JSON (for `trademl models export --format xgboost-json`). Appends. */
  int (*export_xgboost_json)(const void *m, struct tml_buf *out, struct tml_error *err);
  int (*best_iteration)(const void *m);
  double (*best_score)(const void *m);
  int (*nclass)(const void *m);
  size_t (*ncols)(const void *m);
  void (*free)(void *m);
};

extern const struct tml_learner tml_learner_xgboost; /* src/lib/learn/learner.c over xgb.c */
extern const struct tml_learner tml_learner_native;  /* over learn/gbdt*.c */

#define TML_LEARNER_DEFAULT "xgboost"

/* The engine named `name`; TML_EINVAL listing the known names when there is none. */
int tml_learner_lookup(const char *name, const struct tml_learner **out, struct tml_error *err);
/* "xgboost, native": the names, for messages and usage text. */
const char *tml_learner_names(void);

/* A trained or loaded head: its engine and the engine's model. */
struct tml_model {
  const struct tml_learner *learner;
  void *impl;
};

/* Prepares a fold for `learner` (bins fitted on fit rows of X); release with tml_learner_fold_release. */
int tml_learner_fold_prepare(const struct tml_learner *learner, const float *X, size_t nrows, size_t ncols,
                             struct tml_range fit, const struct tml_xgb_params *p, struct tml_learner_fold *f,
                             struct tml_error *err);
void tml_learner_fold_release(const struct tml_learner *learner, struct tml_learner_fold *f);

/* Trains one head (contract of tml_xgb_train) on a prepared fold. Caller owns *out (tml_model_free). */
int tml_model_train(const struct tml_learner *learner, const struct tml_learner_fold *f, const float *y,
                    struct tml_range train, struct tml_range valid, int nclass, const struct tml_xgb_params *p,
                    const char *const *feature_names, tml_xgb_progress_fn progress, void *ud, struct tml_model **out,
                    struct tml_error *err);
/* Trains n heads together through learner->train_heads (TML_EINVAL when the engine has none).
 * Caller owns out[0..n) (tml_model_free each), all set or none. */
int tml_model_train_heads(const struct tml_learner *learner, const struct tml_learner_fold *f,
                          const struct tml_train_head *heads, size_t n, struct tml_range train, struct tml_range valid,
                          const struct tml_xgb_params *p, const char *const *feature_names, struct tml_model **out,
                          double *seconds, struct tml_error *err);
/* Loads a head file of `learner`'s format. Caller owns *out. */
int tml_model_load(const struct tml_learner *learner, const char *path, struct tml_model **out, struct tml_error *err);
int tml_model_predict(const struct tml_model *m, const float *X, size_t nrows, float *out, struct tml_error *err);
int tml_model_save(const struct tml_model *m, const char *path, struct tml_error *err);
int tml_model_importance(const struct tml_model *m, double *gain, double *weight, double *cover, struct tml_error *err);
int tml_model_best_iteration(const struct tml_model *m);
double tml_model_best_score(const struct tml_model *m);
int tml_model_nclass(const struct tml_model *m);
size_t tml_model_ncols(const struct tml_model *m);
void tml_model_free(struct tml_model *m); /* accepts NULL */

#endif
