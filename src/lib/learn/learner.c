/* The two engine tables (include/trademl/learner.h): thin adapters over xgb.c and the gbdt*.c
 * files, and the engine-neutral head (struct tml_model) the pipeline holds. Adding an engine is one
 * more table here and one more entry in `learners`. */
#include "trademl/learner.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/gbdt.h"

/* ---- XGBoost: nothing shared per fold (each head builds its DMatrix) ---- */

static int xgb_fold_prepare(struct tml_learner_fold *f, struct tml_range fit, const struct tml_xgb_params *p,
                            struct tml_error *err) {
  (void)fit;
  (void)p;
  (void)err;
  f->engine_data = NULL;
  return 0;
}
static void xgb_fold_release(struct tml_learner_fold *f) { f->engine_data = NULL; }
static int xgb_train(const struct tml_learner_fold *f, const float *y, struct tml_range train, struct tml_range valid,
                     int nclass, const struct tml_xgb_params *p, const char *const *names, tml_xgb_progress_fn progress,
                     void *ud, void **out, struct tml_error *err) {
  struct tml_xgb_model *m = NULL;
  int rc = tml_xgb_train(f->X, f->ncols, y, train, valid, nclass, p, names, progress, ud, &m, err);
  *out = m;
  return rc;
}
/* Through the model's flattened trees (xgb_flat.c): bit for bit XGBoost's predictions (tested in
 * test_xgb_flat.c), no per-call overhead, safe from several threads. A model XGBoost predicts itself
 * (a form the flat evaluator refuses) goes in place under the model's own lock and proxy, its mutable
 * state, hence the cast. */
static int xgb_predict(const void *m, const float *X, size_t n, float *out, struct tml_error *err) {
  return tml_xgb_predict_inplace((struct tml_xgb_model *)(uintptr_t)m, X, n, out, err);
}
static int xgb_save(const void *m, const char *path, struct tml_error *err) { return tml_xgb_save_json(m, path, err); }
static int xgb_load(const char *path, void **out, struct tml_error *err) {
  struct tml_xgb_model *m = NULL;
  int rc = tml_xgb_load_json(path, &m, err);
  *out = m;
  return rc;
}
static int xgb_importance(const void *m, double *g, double *w, double *c, struct tml_error *err) {
  return tml_xgb_importance(m, g, w, c, err);
}
static int xgb_export(const void *m, struct tml_buf *out, struct tml_error *err) { return tml_xgb_to_json(m, out, err); }
static int xgb_best_iteration(const void *m) { return tml_xgb_best_iteration(m); }
static double xgb_best_score(const void *m) { return tml_xgb_best_score(m); }
static int xgb_nclass(const void *m) { return tml_xgb_nclass(m); }
static size_t xgb_ncols(const void *m) { return tml_xgb_ncols(m); }
static void xgb_free(void *m) { tml_xgb_free(m); }

const struct tml_learner tml_learner_xgboost = {
    .name = "xgboost",
    .fold_prepare = xgb_fold_prepare,
    .fold_release = xgb_fold_release,
    .train = xgb_train,
    .predict = xgb_predict,
    .save = xgb_save,
    .load = xgb_load,
    .importance = xgb_importance,
    .export_xgboost_json = xgb_export,
    .best_iteration = xgb_best_iteration,
    .best_score = xgb_best_score,
    .nclass = xgb_nclass,
    .ncols = xgb_ncols,
    .free = xgb_free,
};

/* ---- native: the fold's binned matrix, shared by its heads ---- */

static int native_fold_prepare(struct tml_learner_fold *f, struct tml_range fit, const struct tml_xgb_params *p,
                               struct tml_error *err) {
  int rc = tml_gbdt_params_validate(p, err);
  if (rc)
    return rc;
  struct tml_gbdt_bins *b = NULL;
  rc = tml_gbdt_bins_build_threads(f->X, f->nrows, f->ncols, fit, p->max_bin, p->nthread, &b, err);
  f->engine_data = b;
  return rc;
}
static void native_fold_release(struct tml_learner_fold *f) {
  tml_gbdt_bins_free(f->engine_data);
  f->engine_data = NULL;
}
static int native_train(const struct tml_learner_fold *f, const float *y, struct tml_range train,
                        struct tml_range valid, int nclass, const struct tml_xgb_params *p, const char *const *names,
                        tml_xgb_progress_fn progress, void *ud, void **out, struct tml_error *err) {
  struct tml_gbdt_model *m = NULL;
  int rc;
  if (f->engine_data)
    rc = tml_gbdt_train_binned(f->engine_data, y, train, valid, nclass, p, 0, f->helpers, names, progress, ud, &m,
                               err);
  else /* not prepared: bins fitted on the train rows */
    rc = tml_gbdt_train(f->X, f->ncols, y, train, valid, nclass, p, names, progress, ud, &m, err);
  *out = m;
  return rc;
}
static int native_train_heads(const struct tml_learner_fold *f, const struct tml_train_head *heads, size_t n,
                              struct tml_range train, struct tml_range valid, const struct tml_xgb_params *p,
                              const char *const *names, void **out, double *seconds, struct tml_error *err) {
  struct tml_gbdt_model *m[TML_MAX_TRAIN_HEADS] = {0};
  for (size_t h = 0; h < n; h++)
    out[h] = NULL;
  if (n < 1 || n > TML_MAX_TRAIN_HEADS)
    return tml_error_set(err, TML_EINVAL, "native engine: %zu heads in one call, 1..%d", n, TML_MAX_TRAIN_HEADS);
  struct tml_gbdt_bins *own = NULL;
  const struct tml_gbdt_bins *b = f->engine_data;
  int rc = 0;
  if (!b) { /* not prepared: bins fitted on the train rows */
    rc = tml_gbdt_bins_build_threads(f->X, TML_MAX(train.end, valid.end), f->ncols, train, p->max_bin, p->nthread,
                                     &own, err);
    b = own;
  }
  if (!rc)
    rc = tml_gbdt_train_binned_heads(b, heads, n, train, valid, p, 0, names, m, seconds, err);
  tml_gbdt_bins_free(own);
  for (size_t h = 0; h < n && !rc; h++)
    out[h] = m[h];
  return rc;
}
static int native_predict(const void *m, const float *X, size_t n, float *out, struct tml_error *err) {
  (void)err;
  tml_gbdt_predict(m, X, n, out);
  return 0;
}
static int native_save(const void *m, const char *path, struct tml_error *err) {
  return tml_gbdt_save_json(m, path, err);
}
static int native_load(const char *path, void **out, struct tml_error *err) {
  struct tml_gbdt_model *m = NULL;
  int rc = tml_gbdt_load_json(path, &m, err);
  *out = m;
  return rc;
}
static int native_importance(const void *m, double *g, double *w, double *c, struct tml_error *err) {
  (void)err;
  tml_gbdt_importance(m, g, w, c);
  return 0;
}
static int native_export(const void *m, struct tml_buf *out, struct tml_error *err) {
  return tml_gbdt_export_xgboost_json(m, out, err);
}
static int native_best_iteration(const void *m) { return tml_gbdt_best_iteration(m); }
static double native_best_score(const void *m) { return tml_gbdt_best_score(m); }
static int native_nclass(const void *m) { return tml_gbdt_nclass(m); }
static size_t native_ncols(const void *m) { return tml_gbdt_ncols(m); }
static void native_free(void *m) { tml_gbdt_free(m); }

const struct tml_learner tml_learner_native = {
    .name = "native",
    .fold_prepare = native_fold_prepare,
    .fold_release = native_fold_release,
    .train = native_train,
    .train_heads = native_train_heads,
    .predict = native_predict,
    .save = native_save,
    .load = native_load,
    .importance = native_importance,
    .export_xgboost_json = native_export,
    .best_iteration = native_best_iteration,
    .best_score = native_best_score,
    .nclass = native_nclass,
    .ncols = native_ncols,
    .free = native_free,
};

static const struct tml_learner *const learners[] = {&tml_learner_xgboost, &tml_learner_native};

const char *tml_learner_names(void) { return "xgboost, native"; }

int tml_learner_lookup(const char *name, const struct tml_learner **out, struct tml_error *err) {
  *out = NULL;
  for (size_t i = 0; name && i < TML_ARRAY_LEN(learners); i++)
    if (strcmp(learners[i]->name, name) == 0) {
      *out = learners[i];
      return 0;
    }
  return tml_error_set(err, TML_EINVAL, "unknown training engine '%s': use one of %s (training.engine / --engine)",
                       name ? name : "(none)", tml_learner_names());
}

/* ---- heads ---- */

int tml_learner_fold_prepare(const struct tml_learner *learner, const float *X, size_t nrows, size_t ncols,
                             struct tml_range fit, const struct tml_xgb_params *p, struct tml_learner_fold *f,
                             struct tml_error *err) {
  f->X = X;
  f->nrows = nrows;
  f->ncols = ncols;
  f->engine_data = NULL;
  f->helpers = NULL;
  return learner->fold_prepare(f, fit, p, err);
}

void tml_learner_fold_release(const struct tml_learner *learner, struct tml_learner_fold *f) {
  if (learner && f)
    learner->fold_release(f);
}

static int wrap(const struct tml_learner *learner, void *impl, struct tml_model **out, struct tml_error *err) {
  struct tml_model *m = malloc(sizeof *m);
  if (!m) {
    learner->free(impl);
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  }
  m->learner = learner;
  m->impl = impl;
  *out = m;
  return 0;
}

int tml_model_train(const struct tml_learner *learner, const struct tml_learner_fold *f, const float *y,
                    struct tml_range train, struct tml_range valid, int nclass, const struct tml_xgb_params *p,
                    const char *const *feature_names, tml_xgb_progress_fn progress, void *ud, struct tml_model **out,
                    struct tml_error *err) {
  *out = NULL;
  void *impl = NULL;
  int rc = learner->train(f, y, train, valid, nclass, p, feature_names, progress, ud, &impl, err);
  if (rc) {
    if (impl)
      learner->free(impl);
    return rc;
  }
  return wrap(learner, impl, out, err);
}

int tml_model_train_heads(const struct tml_learner *learner, const struct tml_learner_fold *f,
                          const struct tml_train_head *heads, size_t n, struct tml_range train, struct tml_range valid,
                          const struct tml_xgb_params *p, const char *const *feature_names, struct tml_model **out,
                          double *seconds, struct tml_error *err) {
  for (size_t h = 0; h < n; h++)
    out[h] = NULL;
  if (!learner->train_heads)
    return tml_error_set(err, TML_EINVAL, "the %s engine trains one head at a time", learner->name);
  if (n < 1 || n > TML_MAX_TRAIN_HEADS)
    return tml_error_set(err, TML_EINVAL, "%zu heads in one call: 1..%d", n, TML_MAX_TRAIN_HEADS);
  void *impl[TML_MAX_TRAIN_HEADS] = {0};
  int rc = learner->train_heads(f, heads, n, train, valid, p, feature_names, impl, seconds, err);
  for (size_t h = 0; h < n; h++) /* each model wrapped, or freed once one step failed */
    if (!rc)
      rc = wrap(learner, impl[h], &out[h], err); /* frees impl[h] when it fails */
    else if (impl[h])
      learner->free(impl[h]);
  for (size_t h = 0; rc && h < n; h++) { /* all or none */
    tml_model_free(out[h]);
    out[h] = NULL;
  }
  return rc;
}

int tml_model_load(const struct tml_learner *learner, const char *path, struct tml_model **out, struct tml_error *err) {
  *out = NULL;
  void *impl = NULL;
  int rc = learner->load(path, &impl, err);
  if (rc) {
    if (impl)
      learner->free(impl);
    return rc;
  }
  return wrap(learner, impl, out, err);
}

int tml_model_predict(const struct tml_model *m, const float *X, size_t nrows, float *out, struct tml_error *err) {
  return m->learner->predict(m->impl, X, nrows, out, err);
}
int tml_model_save(const struct tml_model *m, const char *path, struct tml_error *err) {
  return m->learner->save(m->impl, path, err);
}
int tml_model_importance(const struct tml_model *m, double *gain, double *weight, double *cover, struct tml_error *err) {
  return m->learner->importance(m->impl, gain, weight, cover, err);
}
int tml_model_best_iteration(const struct tml_model *m) { return m->learner->best_iteration(m->impl); }
double tml_model_best_score(const struct tml_model *m) { return m->learner->best_score(m->impl); }
int tml_model_nclass(const struct tml_model *m) { return m->learner->nclass(m->impl); }
size_t tml_model_ncols(const struct tml_model *m) { return m->learner->ncols(m->impl); }

void tml_model_free(struct tml_model *m) {
  if (!m)
    return;
  m->learner->free(m->impl);
  free(m);
}
