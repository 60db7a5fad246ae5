/* One head's gradient-boosted model through XGBoost's C API (Debian libxgboost 1.7.4). The C API
 * has no early stopping, so the loop is written here: update one round, evaluate the validation
 * rows, keep the best round, stop after `early_stopping_rounds` rounds without improvement, then
 * cut the booster to rounds 0..best (XGBoosterSlice), as xgboost.train(early_stopping_rounds=...)
 * does in Python. Measured behaviour of the library: ../shared/docs/xgboost-c-api.md.
 *
 * Prediction: every model loaded or trained here is also flattened once (xgb_flat.c) and predicted
 * natively, bit for bit as XGBoost would (checked on probe rows when flattened, tested on real data):
 * XGBoost's fixed cost per prediction call dominated one-row predictions in the live loop. A model the
 * flat evaluator cannot reproduce keeps XGBoost's own prediction (logged once, when loaded). */
#include "trademl/xgb.h"
#include "util/common.h"

#include <jansson.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <xgboost/c_api.h>

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/hash.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "learn/xgb_flat.h"

#define MAX_CLASSES 255

struct tml_xgb_model {
  BoosterHandle bst;  /* NULL while a model loaded from `path` predicts through `flat`: see booster_of */
  pthread_mutex_t bst_lock; /* guards bst (loaded again on demand) and nthread */
  char *path;         /* the file the model was loaded from (owned); NULL for a trained model */
  uint64_t file_hash; /* FNV-1a 64 of that file's bytes when loaded */
  int nthread;        /* XGBoost's prediction threads (tml_xgb_set_nthread) */
  DMatrixHandle proxy; /* in-place prediction's proxy, created on first use and kept: see
                          tml_xgb_predict_inplace */
  pthread_mutex_t proxy_lock; /* guards proxy and the result buffer of in-place prediction: the daemon
                                 predicts one cached model from several request threads */
  int nclass;         /* 0 = regression */
  size_t ncols;
  int best_iteration; /* 0-based */
  double best_score;  /* validation metric at best_iteration; NaN when unknown */
  struct tml__xgb_flat *flat; /* the trees flattened for native prediction; NULL = predict with XGBoost */
};

/* Wraps XGBGetLastError() into err, naming the call; the C++ stack trace is cut off. */
static int xgb_fail_code(struct tml_error *err, int code, const char *call, const char *what) {
  const char *msg = XGBGetLastError();
  if (!msg)
    msg = "(no message)";
  if (msg[0] == '[' && strncmp(msg + 9, "] ", 2) == 0 && strlen(msg) > 11)
    msg += 11; /* drop XGBoost's "[hh:mm:ss] " prefix: messages should not depend on the clock */
  const char *st = strstr(msg, "\nStack trace");
  int len = st ? (int)(st - msg) : (int)strlen(msg);
  while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
    len--;
  return tml_error_set(err, code, "%s: %s failed: %.*s", what, call, len, msg);
}

static int xgb_fail(struct tml_error *err, const char *call, const char *what) {
  return xgb_fail_code(err, TML_EXGB, call, what);
}

#define XGB_TRY(call, what)                                                                      \
  do {                                                                                           \
    if ((call) != 0) {                                                                           \
      rc = xgb_fail(err, #call, what);                                                           \
      goto out;                                                                                  \
    }                                                                                            \
  } while (0)

void tml_xgb_params_default(struct tml_xgb_params *p) {
  p->num_boost_round = 500;
  p->early_stopping_rounds = 50;
  p->eta = 0.05;
  p->max_depth = 6;
  p->min_child_weight = 1.0;
  p->subsample = 1.0;
  p->colsample_bytree = 1.0;
  p->lambda = 1.0;
  p->max_bin = 64;
  p->nthread = 1;
  p->seed = 42;
  p->max_leaves = 0;
  p->grow_policy = TML_GROW_DEPTHWISE;
  p->native_histogram = TML_HIST_FLOAT;
}

int tml_xgb_native_histogram_parse(const char *name) {
  if (name && strcmp(name, "float") == 0)
    return TML_HIST_FLOAT;
  if (name && strcmp(name, "double") == 0)
    return TML_HIST_DOUBLE;
  return -1;
}

const char *tml_xgb_native_histogram_name(int precision) {
  return precision == TML_HIST_DOUBLE ? "double" : "float";
}

int tml_xgb_grow_policy_parse(const char *name) {
  if (name && strcmp(name, "depthwise") == 0)
    return TML_GROW_DEPTHWISE;
  if (name && strcmp(name, "lossguide") == 0)
    return TML_GROW_LOSSGUIDE;
  return -1;
}

const char *tml_xgb_grow_policy_name(int policy) {
  return policy == TML_GROW_LOSSGUIDE ? "lossguide" : "depthwise";
}

int tml_xgb_params_validate(const struct tml_xgb_params *p, struct tml_error *err) {
  const char *bad = NULL;
  if (p->num_boost_round < 1 || p->num_boost_round > 100000)
    bad = "num_boost_round must be 1..100000";
  else if (p->early_stopping_rounds < 0)
    bad = "early_stopping_rounds must be >= 0 (0 disables early stopping)";
  else if (!isfinite(p->eta) || p->eta <= 0.0 || p->eta > 1.0)
    bad = "eta must be in (0, 1]";
  else if (p->max_depth < 0 || p->max_depth > 64)
    bad = "max_depth must be 1..64 (or 0 = no depth limit together with max_leaves > 0); set training.max_depth / "
          "--max-depth";
  else if (p->max_leaves < 0 || p->max_leaves > 65536)
    bad = "max_leaves must be 0..65536 (0 = no limit); set training.max_leaves / --max-leaves";
  else if (p->max_depth == 0 && p->max_leaves == 0)
    bad = "max_depth 0 (no depth limit) needs max_leaves > 0, or trees grow without bound; set training.max_depth "
          "/ --max-depth to 1..64 or training.max_leaves / --max-leaves to 2 or more";
  else if (p->grow_policy != TML_GROW_DEPTHWISE && p->grow_policy != TML_GROW_LOSSGUIDE)
    bad = "grow_policy must be depthwise or lossguide; set training.grow_policy";
  else if (p->native_histogram != TML_HIST_FLOAT && p->native_histogram != TML_HIST_DOUBLE)
    bad = "native_histogram must be float or double; set training.native_histogram / --native-histogram";
  else if (!isfinite(p->min_child_weight) || p->min_child_weight < 0.0)
    bad = "min_child_weight must be >= 0";
  else if (!isfinite(p->subsample) || p->subsample <= 0.0 || p->subsample > 1.0)
    bad = "subsample must be in (0, 1]";
  else if (!isfinite(p->colsample_bytree) || p->colsample_bytree <= 0.0 ||
           p->colsample_bytree > 1.0)
    bad = "colsample_bytree must be in (0, 1]";
  else if (!isfinite(p->lambda) || p->lambda < 0.0)
    bad = "lambda must be >= 0";
  else if (p->max_bin < 2 || p->max_bin > 65536)
    bad = "max_bin must be 2..65536";
  else if (p->nthread < 1 || p->nthread > 1024)
    bad = "nthread must be 1..1024";
  else if (p->seed > (uint64_t)INT64_MAX)
    bad = "seed must fit in a signed 64-bit integer";
  if (bad)
    return tml_error_set(err, TML_EINVAL, "XGBoost parameters: %s", bad);
  return 0;
}

/* Shortest of %.15g / %.17g that reads back exactly. */
static void fmt_num(char *tmp, size_t n, double v) {
  snprintf(tmp, n, "%.15g", v);
  if (strtod(tmp, NULL) != v)
    snprintf(tmp, n, "%.17g", v);
}

int tml_xgb_params_to_json(const struct tml_xgb_params *p, bool native, struct tml_buf *out) {
  char eta[40], mcw[40], sub[40], col[40], lam[40];
  fmt_num(eta, sizeof eta, p->eta);
  fmt_num(mcw, sizeof mcw, p->min_child_weight);
  fmt_num(sub, sizeof sub, p->subsample);
  fmt_num(col, sizeof col, p->colsample_bytree);
  fmt_num(lam, sizeof lam, p->lambda);
  int rc = tml_buf_printf(out,
                          "{\"num_boost_round\":%d,\"early_stopping_rounds\":%d,\"eta\":%s,"
                          "\"max_depth\":%d,\"min_child_weight\":%s,\"subsample\":%s,"
                          "\"colsample_bytree\":%s,\"lambda\":%s,\"max_bin\":%d,\"nthread\":%d,"
                          "\"seed\":%" PRIu64 ",\"max_leaves\":%d,\"grow_policy\":\"%s\","
                          "\"tree_method\":\"hist\"",
                          p->num_boost_round, p->early_stopping_rounds, eta, p->max_depth, mcw, sub, col, lam,
                          p->max_bin, p->nthread, p->seed, p->max_leaves, tml_xgb_grow_policy_name(p->grow_policy));
  if (!rc && native)
    rc = tml_buf_printf(out, ",\"native_histogram\":\"%s\"", tml_xgb_native_histogram_name(p->native_histogram));
  return rc ? rc : tml_buf_puts(out, "}");
}

/* Reads the last "name:value" metric of an XGBoosterEvalOneIter string such as
 * "[19]\tvalid-merror:0.615\tvalid-mlogloss:1.0854". NaN when absent. */
static double parse_last_metric(const char *s) {
  const char *colon = strrchr(s, ':');
  if (!colon)
    return NAN;
  const char *v = colon + 1;
  size_t len = strcspn(v, " \t\r\n");
  char tmp[64];
  if (len == 0 || len >= sizeof tmp)
    return NAN;
  memcpy(tmp, v, len);
  tmp[len] = '\0';
  char *end = NULL;
  double d = strtod(tmp, &end);
  return (end && *end == '\0') ? d : (double)NAN;
}

static int check_labels(const float *y, struct tml_range r, int nclass, const char *which,
                        struct tml_error *err) {
  for (size_t i = r.begin; i < r.end; i++) {
    float v = y[i];
    if (!isfinite(v))
      return tml_error_set(err, TML_EINVAL,
                           "XGBoost training: %s label of row %zu is not a number; drop "
                           "unlabelled rows (the last horizon candles) from the ranges",
                           which, i);
    if (nclass > 0 && (v < 0.0f || v >= (float)nclass || v != floorf(v)))
      return tml_error_set(err, TML_EINVAL,
                           "XGBoost training: %s label of row %zu is %g, not a class 0..%d", which,
                           i, (double)v, nclass - 1);
  }
  return 0;
}

static int make_dmatrix(const float *X, size_t ncols, const float *y, struct tml_range r,
                        const char *const *names, int nthread, DMatrixHandle *d,
                        struct tml_error *err) {
  int rc = 0;
  size_t n = r.end - r.begin;
  *d = NULL;
  XGB_TRY(XGDMatrixCreateFromMat_omp(X + r.begin * ncols, (bst_ulong)n, (bst_ulong)ncols, NAN, d,
                                     nthread),
          "building the training matrix");
  if (y)
    XGB_TRY(XGDMatrixSetFloatInfo(*d, "label", y + r.begin, (bst_ulong)n), "setting labels");
  if (names)
    XGB_TRY(XGDMatrixSetStrFeatureInfo(*d, "feature_name", (const char **)(uintptr_t)names,
                                       (bst_ulong)ncols),
            "setting feature names");
out:
  if (rc && *d) {
    XGDMatrixFree(*d);
    *d = NULL;
  }
  return rc;
}

static void attach_flat(struct tml_xgb_model *m, const char *what, const char *path, uint64_t *file_hash);
static int booster_of(const struct tml_xgb_model *cm, BoosterHandle *out, struct tml_error *err);

static int set_params(BoosterHandle bst, int nclass, const struct tml_xgb_params *p,
                      struct tml_error *err) {
  char num[6][40];
  fmt_num(num[0], sizeof num[0], p->eta);
  fmt_num(num[1], sizeof num[1], p->min_child_weight);
  fmt_num(num[2], sizeof num[2], p->subsample);
  fmt_num(num[3], sizeof num[3], p->colsample_bytree);
  fmt_num(num[4], sizeof num[4], p->lambda);
  char depth[16], bins[16], threads[16], seed[32], ncl[16], leaves[16];
  snprintf(depth, sizeof depth, "%d", p->max_depth);
  snprintf(leaves, sizeof leaves, "%d", p->max_leaves);
  snprintf(bins, sizeof bins, "%d", p->max_bin);
  snprintf(threads, sizeof threads, "%d", p->nthread);
  snprintf(seed, sizeof seed, "%" PRIu64, p->seed);
  snprintf(ncl, sizeof ncl, "%d", nclass);
  const char *kv[][2] = {
      {"booster", "gbtree"},
      {"tree_method", "hist"},
      {"objective", nclass > 0 ? "multi:softprob" : "reg:squarederror"},
      {"num_class", ncl}, /* skipped for regression below */
      {"verbosity", "0"},
      {"eval_metric", nclass > 0 ? "mlogloss" : "rmse"},
      {"eta", num[0]},
      {"max_depth", depth},
      {"min_child_weight", num[1]},
      {"subsample", num[2]},
      {"colsample_bytree", num[3]},
      {"lambda", num[4]},
      {"max_bin", bins},
      {"nthread", threads},
      {"seed", seed},
      {"max_leaves", leaves},
      {"grow_policy", tml_xgb_grow_policy_name(p->grow_policy)},
  };
  int rc = 0;
  for (size_t i = 0; i < TML_ARRAY_LEN(kv); i++) {
    if (nclass == 0 && strcmp(kv[i][0], "num_class") == 0)
      continue;
    if (XGBoosterSetParam(bst, kv[i][0], kv[i][1]) != 0) {
      char what[96];
      snprintf(what, sizeof what, "setting XGBoost parameter %s=%s", kv[i][0], kv[i][1]);
      rc = xgb_fail(err, "XGBoosterSetParam", what);
      break;
    }
  }
  return rc;
}

int tml_xgb_train(const float *X, size_t ncols, const float *y, struct tml_range train,
                  struct tml_range valid, int nclass, const struct tml_xgb_params *p,
                  const char *const *feature_names, tml_xgb_progress_fn progress, void *ud,
                  struct tml_xgb_model **out, struct tml_error *err) {
  *out = NULL;
  int rc = tml_xgb_params_validate(p, err);
  if (rc)
    return rc;
  if (!X || !y || ncols == 0 || ncols > INT32_MAX)
    return tml_error_set(err, TML_EINVAL, "XGBoost training: no feature matrix or labels given");
  if (train.end <= train.begin || valid.end <= valid.begin)
    return tml_error_set(err, TML_EINVAL,
                         "XGBoost training: empty row range (train [%zu, %zu), valid [%zu, %zu))",
                         train.begin, train.end, valid.begin, valid.end);
  if (nclass != 0 && (nclass < 2 || nclass > MAX_CLASSES))
    return tml_error_set(err, TML_EINVAL,
                         "XGBoost training: nclass %d must be 0 (regression) or 2..%d", nclass,
                         MAX_CLASSES);
  if ((rc = check_labels(y, train, nclass, "training", err)) ||
      (rc = check_labels(y, valid, nclass, "validation", err)))
    return rc;

  DMatrixHandle dtrain = NULL, dvalid = NULL;
  BoosterHandle bst = NULL, sliced = NULL;
  struct tml_xgb_model *m = NULL;
  if ((rc = make_dmatrix(X, ncols, y, train, feature_names, p->nthread, &dtrain, err)) ||
      (rc = make_dmatrix(X, ncols, y, valid, feature_names, p->nthread, &dvalid, err)))
    goto out;
  /* Both matrices go to the booster so both get prediction caches (eval costs 2-5 % then). */
  DMatrixHandle cache[2] = {dtrain, dvalid};
  XGB_TRY(XGBoosterCreate(cache, 2, &bst), "creating the booster");
  if ((rc = set_params(bst, nclass, p, err)))
    goto out;

  const char *eval_names[1] = {"valid"};
  int best = 0;
  double best_score = INFINITY;
  for (int round = 0; round < p->num_boost_round; round++) {
    XGB_TRY(XGBoosterUpdateOneIter(bst, round, dtrain), "boosting one round");
    const char *eval = NULL;
    XGB_TRY(XGBoosterEvalOneIter(bst, round, &dvalid, eval_names, 1, &eval),
            "evaluating the validation rows");
    double metric = parse_last_metric(eval); /* parse now: the string buffer is reused */
    if (isfinite(metric) && metric < best_score) {
      best_score = metric;
      best = round;
    }
    if (progress && progress(ud, round, metric, best)) {
      rc = tml_error_set(err, TML_EINTR, "training interrupted at round %d", round);
      goto out;
    }
    if (p->early_stopping_rounds > 0 && round - best >= p->early_stopping_rounds)
      break;
  }
  if (p->early_stopping_rounds == 0) { /* no early stopping: keep every round */
    XGB_TRY(XGBoosterBoostedRounds(bst, &best), "counting rounds");
    best -= 1;
  }
  /* Keep rounds 0..best only; the saved model carries best_iteration like Python's. */
  XGB_TRY(XGBoosterSlice(bst, 0, best + 1, 1, &sliced), "cutting the model at the best round");
  /* XGBoosterSlice (1.7.4) drops the feature names: put them back. */
  if (feature_names)
    XGB_TRY(XGBoosterSetStrFeatureInfo(sliced, "feature_name", (const char **)(uintptr_t)feature_names,
                                       (bst_ulong)ncols),
            "storing feature names");
  char attr[40];
  snprintf(attr, sizeof attr, "%d", best);
  XGB_TRY(XGBoosterSetAttr(sliced, "best_iteration", attr), "storing best_iteration");
  fmt_num(attr, sizeof attr, best_score);
  XGB_TRY(XGBoosterSetAttr(sliced, "best_score", attr), "storing best_score");

  m = calloc(1, sizeof *m);
  if (!m) {
    rc = tml_error_set(err, TML_ENOMEM, "XGBoost training: out of memory");
    goto out;
  }
  pthread_mutex_init(&m->proxy_lock, NULL);
  pthread_mutex_init(&m->bst_lock, NULL);
  m->nthread = p->nthread;
  m->bst = sliced;
  sliced = NULL;
  m->nclass = nclass;
  m->ncols = ncols;
  m->best_iteration = best;
  m->best_score = best_score;
  attach_flat(m, "trained model", NULL, NULL);
  *out = m;
out:
  if (sliced)
    XGBoosterFree(sliced);
  if (bst)
    XGBoosterFree(bst);
  if (dtrain)
    XGDMatrixFree(dtrain);
  if (dvalid)
    XGDMatrixFree(dvalid);
  return rc;
}

int tml_xgb_predict(const struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                    struct tml_error *err) {
  if (m->flat) {
    tml__xgb_flat_predict(m->flat, X, nrows, out);
    return 0;
  }
  return tml__xgb_predict_dmatrix(m, X, nrows, out, err);
}

int tml__xgb_predict_dmatrix(const struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                             struct tml_error *err) {
  int rc = 0;
  if (nrows == 0)
    return 0;
  BoosterHandle bst = NULL;
  if ((rc = booster_of(m, &bst, err)))
    return rc;
  DMatrixHandle d = NULL;
  struct tml_range all = {0, nrows};
  if ((rc = make_dmatrix(X, m->ncols, NULL, all, NULL, 1, &d, err)))
    return rc;
  static const char cfg[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
                            "\"iteration_end\":0,\"strict_shape\":false}";
  const bst_ulong *shape = NULL;
  bst_ulong dim = 0;
  const float *res = NULL;
  XGB_TRY(XGBoosterPredictFromDMatrix(bst, d, cfg, &shape, &dim, &res), "predicting");
  size_t want = nrows * (size_t)(m->nclass > 0 ? m->nclass : 1), got = 1;
  for (bst_ulong i = 0; i < dim; i++)
    got *= (size_t)shape[i];
  if (got != want) {
    rc = tml_error_set(err, TML_EMODEL, "predicting: XGBoost returned %zu values, expected %zu",
                       got, want);
    goto out;
  }
  memcpy(out, res, want * sizeof *out); /* the result buffer belongs to the booster */
out:
  XGDMatrixFree(d);
  return rc;
}

int tml__xgb_predict_booster(struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                            struct tml_error *err) {
  int rc = 0;
  if (nrows == 0)
    return 0;
  /* Predicting from a DMatrix builds one per call, and every DMatrix (like the proxy that in-place
   * prediction would create per call) constructs an XGBoost context that reads the cgroup CPU quota
   * files: two file opens per call, most of the cost of one row. One proxy per model, kept, avoids
   * that; the trees, the summation and the transform are the same, so are the floats (tested).
   * The proxy and XGBoost's per-thread result buffer are used under the model's own lock, so several
   * threads may predict the same model; different models never wait for each other. */
  BoosterHandle bst = NULL;
  if ((rc = booster_of(m, &bst, err)))
    return rc;
  pthread_mutex_lock(&m->proxy_lock);
  if (!m->proxy)
    XGB_TRY(XGProxyDMatrixCreate(&m->proxy), "creating the prediction proxy");
  char iface[192];
  snprintf(iface, sizeof iface,
           "{\"data\":[%" PRIuPTR ",true],\"shape\":[%zu,%zu],\"typestr\":\"<f4\",\"version\":3}",
           (uintptr_t)X, nrows, m->ncols);
  static const char cfg[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
                            "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}";
  const bst_ulong *shape = NULL;
  bst_ulong dim = 0;
  const float *res = NULL;
  XGB_TRY(XGBoosterPredictFromDense(bst, iface, cfg, m->proxy, &shape, &dim, &res), "predicting");
  size_t want = nrows * (size_t)(m->nclass > 0 ? m->nclass : 1), got = 1;
  for (bst_ulong i = 0; i < dim; i++)
    got *= (size_t)shape[i];
  if (got != want) {
    rc = tml_error_set(err, TML_EMODEL, "predicting: XGBoost returned %zu values, expected %zu", got, want);
    goto out;
  }
  memcpy(out, res, want * sizeof *out); /* the result buffer belongs to the booster */
out:
  pthread_mutex_unlock(&m->proxy_lock);
  return rc;
}

int tml_xgb_predict_inplace(struct tml_xgb_model *m, const float *X, size_t nrows, float *out,
                            struct tml_error *err) {
  if (m->flat) { /* immutable: no lock */
    tml__xgb_flat_predict(m->flat, X, nrows, out);
    return 0;
  }
  return tml__xgb_predict_booster(m, X, nrows, out, err);
}

bool tml__xgb_is_flat(const struct tml_xgb_model *m) { return m->flat != NULL; }
bool tml__xgb_has_booster(const struct tml_xgb_model *m) { return m->bst != NULL; }

/* Flattens m's trees (xgb_flat.c) and checks the flat form against XGBoost's own in-place prediction
 * on probe rows (thresholds, just below them, missing values). Only an exact match is kept; otherwise,
 * or when the model's form is not supported, m keeps predicting through XGBoost and a warning says
 * why. `what` names the model in that warning. The JSON is read from `path` when the model was loaded
 * from there (NULL: serialised from the booster, which then keeps that text for its life; a model the
 * daemon or the live loop loads should not carry a copy of its file). */
#define PROBE_ROWS 16
static void attach_flat(struct tml_xgb_model *m, const char *what, const char *path, uint64_t *file_hash) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_buf json;
  tml_buf_init(&json, 0);
  struct tml__xgb_flat *f = NULL;
  size_t K = (size_t)(m->nclass > 0 ? m->nclass : 1);
  float *X = malloc(PROBE_ROWS * m->ncols * sizeof *X), *a = malloc(PROBE_ROWS * K * sizeof *a),
        *b = malloc(PROBE_ROWS * K * sizeof *b);
  if (!X || !a || !b) {
    tml_error_set(&err, TML_ENOMEM, "out of memory");
    goto out;
  }
  char *text = NULL;
  size_t len = 0;
  if (path) {
    if (tml_read_file(path, &text, &len, &err))
      goto out;
    *file_hash = tml_fnv1a64(TML_FNV64_INIT, text, len);
  } else if (tml_xgb_to_json(m, &json, &err)) {
    goto out;
  }
  int frc = tml__xgb_flat_from_json(path ? text : json.ptr, path ? len : json.len, &f, &err);
  free(text);
  if (frc)
    goto out;
  if (tml__xgb_flat_nclass(f) != m->nclass || tml__xgb_flat_ncols(f) != m->ncols) {
    tml_error_set(&err, TML_EMODEL, "its shape (%d classes, %zu columns) differs from the booster's",
                  tml__xgb_flat_nclass(f), tml__xgb_flat_ncols(f));
    goto out;
  }
  tml__xgb_flat_probe_rows(f, PROBE_ROWS, X);
  if (tml__xgb_predict_booster(m, X, PROBE_ROWS, a, &err))
    goto out;
  tml__xgb_flat_predict(f, X, PROBE_ROWS, b);
  if (memcmp(a, b, PROBE_ROWS * K * sizeof *a) != 0) {
    tml_error_set(&err, TML_EMODEL, "its predictions differ from XGBoost's on probe rows");
    goto out;
  }
  m->flat = f;
  f = NULL;
  /* The check's proxy (and XGBoost's prediction buffers in it) is not needed while the flat form
   * predicts: tens of KiB per head, for every model the daemon and the live loop keep loaded. */
  XGDMatrixFree(m->proxy);
  m->proxy = NULL;
out:
  if (err.code)
    tml_log(TML_LOG_WARN, "model %s: predicting with XGBoost's own (slower) path: not flattened: %s", what,
            err.msg);
  tml__xgb_flat_free(f);
  tml_buf_release(&json);
  free(X);
  free(a);
  free(b);
}

int tml_xgb_to_json(const struct tml_xgb_model *m, struct tml_buf *out, struct tml_error *err) {
  bst_ulong len = 0;
  const char *raw = NULL;
  BoosterHandle bst = NULL;
  int rc = booster_of(m, &bst, err);
  if (rc)
    return rc;
  XGB_TRY(XGBoosterSaveModelToBuffer(bst, "{\"format\":\"json\"}", &len, &raw),
          "serialising the model");
  if (tml_buf_append(out, raw, (size_t)len) != 0)
    rc = tml_error_set(err, TML_ENOMEM, "serialising the model: %zu bytes do not fit",
                       (size_t)len);
out:
  return rc;
}

int tml_xgb_save_json(const struct tml_xgb_model *m, const char *path, struct tml_error *err) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  int rc = tml_xgb_to_json(m, &b, err);
  if (!rc)
    rc = tml_write_file_atomic(path, b.ptr, b.len, err);
  tml_buf_release(&b);
  return rc;
}

/* Reads num_class, num_feature and the objective from the booster's JSON configuration. */
static int read_model_shape(BoosterHandle bst, const char *path, int *nclass, size_t *ncols,
                            struct tml_error *err) {
  bst_ulong len = 0;
  const char *cfg = NULL;
  if (XGBoosterSaveJsonConfig(bst, &len, &cfg) != 0)
    return xgb_fail(err, "XGBoosterSaveJsonConfig", path);
  json_error_t jerr;
  json_t *root = json_loadb(cfg, (size_t)len, 0, &jerr);
  int rc = 0;
  const char *obj = NULL, *ncl = NULL, *nfeat = NULL;
  if (root &&
      json_unpack(root, "{s:{s:{s:s, s:s}, s:{s:s}}}", "learner", "learner_model_param",
                  "num_class", &ncl, "num_feature", &nfeat, "objective", "name", &obj) == 0) {
    int64_t k = 0, f = 0;
    if (tml_parse_int64_str(ncl, &k) || tml_parse_int64_str(nfeat, &f) || f < 1 ||
        k < 0 || k > MAX_CLASSES)
      rc = TML_EMODEL;
    else if (strcmp(obj, "multi:softprob") == 0 && k >= 2)
      *nclass = (int)k;
    else if (strcmp(obj, "reg:squarederror") == 0)
      *nclass = 0;
    else
      rc = TML_EMODEL;
    *ncols = (size_t)f;
    if (rc)
      rc = tml_error_set(err, TML_EMODEL,
                         "model '%s': objective %s with %s classes and %s features is not a "
                         "trademl head (multi:softprob or reg:squarederror)",
                         path, obj, ncl, nfeat);
  } else {
    rc = tml_error_set(err, TML_EMODEL, "model '%s': XGBoost configuration is unreadable", path);
  }
  json_decref(root);
  return rc;
}

int tml_xgb_load_json(const char *path, struct tml_xgb_model **out, struct tml_error *err) {
  *out = NULL;
  if (!tml_path_exists(path))
    return tml_error_set(err, TML_EMODEL, "model file '%s' does not exist; train the model first",
                         path);
  int rc = 0;
  BoosterHandle bst = NULL;
  struct tml_xgb_model *m = NULL;
  if (XGBoosterCreate(NULL, 0, &bst) != 0) {
    rc = xgb_fail(err, "XGBoosterCreate", path);
    goto out;
  }
  if (XGBoosterLoadModel(bst, path) != 0) {
    char what[TML_PATH_MAX + 64];
    snprintf(what, sizeof what, "model file '%s' is corrupt or not an XGBoost JSON model", path);
    rc = xgb_fail_code(err, TML_EMODEL, "XGBoosterLoadModel", what);
    goto out;
  }
  int rounds = 0;
  if (XGBoosterBoostedRounds(bst, &rounds) != 0 || rounds < 1) {
    rc = tml_error_set(err, TML_EMODEL, "model file '%s' holds no trees; it is corrupt", path);
    goto out;
  }
  m = calloc(1, sizeof *m);
  if (!m) {
    rc = tml_error_set(err, TML_ENOMEM, "loading '%s': out of memory", path);
    goto out;
  }
  pthread_mutex_init(&m->proxy_lock, NULL);
  pthread_mutex_init(&m->bst_lock, NULL);
  m->nthread = 1;
  if ((rc = read_model_shape(bst, path, &m->nclass, &m->ncols, err)))
    goto out;
  /* Hyperparameters are not in the model file: predict single-threaded unless told otherwise. */
  if (XGBoosterSetParam(bst, "nthread", "1") != 0) {
    rc = xgb_fail(err, "XGBoosterSetParam(nthread)", path);
    goto out;
  }
  m->best_iteration = rounds - 1;
  m->best_score = NAN;
  const char *attr = NULL;
  int found = 0;
  int64_t it = 0;
  if (XGBoosterGetAttr(bst, "best_iteration", &attr, &found) == 0 && found &&
      tml_parse_int64_str(attr, &it) == 0 && it >= 0 && it < rounds)
    m->best_iteration = (int)it;
  double score = NAN;
  if (XGBoosterGetAttr(bst, "best_score", &attr, &found) == 0 && found &&
      tml_parse_double_str(attr, &score) == 0)
    m->best_score = score;
  m->bst = bst;
  bst = NULL;
  attach_flat(m, path, path, &m->file_hash);
  /* Predicting needs only the flat form now: XGBoost's trees (several times the flat nodes, megabytes
   * for a default head) are dropped, and loaded again from the file on demand (booster_of). */
  size_t plen = strlen(path);
  if (m->flat && (m->path = malloc(plen + 1)) != NULL) {
    memcpy(m->path, path, plen + 1);
    XGBoosterFree(m->bst);
    m->bst = NULL;
#ifdef __GLIBC__
    /* XGBoost's JSON parse tree (several times the file) was freed, but glibc keeps such freed heap in
     * the process: a daemon that loads hundreds of models would hold it as RSS. Give it back. */
    malloc_trim(0);
#endif
  }
  *out = m;
  m = NULL;
out:
  if (m) {
    pthread_mutex_destroy(&m->proxy_lock);
    pthread_mutex_destroy(&m->bst_lock);
  }
  free(m);
  if (bst)
    XGBoosterFree(bst);
  return rc;
}

/* XGBoost's booster of m, loaded again from m->path when it was dropped (tml_xgb_load_json): for the
 * few callers that need XGBoost itself (serialising, importance, its own predictions). The file must
 * be the one loaded (same bytes): model versions are immutable folders, so a difference means it was
 * replaced or damaged, and the flat trees would no longer be its trees. The booster is a cache of the
 * file, hence the cast of a const model. Thread-safe. */
static int booster_of(const struct tml_xgb_model *cm, BoosterHandle *out, struct tml_error *err) {
  struct tml_xgb_model *m = (struct tml_xgb_model *)(uintptr_t)cm;
  int rc = 0;
  char *text = NULL;
  size_t len = 0;
  BoosterHandle bst = NULL;
  pthread_mutex_lock(&m->bst_lock);
  if (m->bst || !m->path)
    goto out;
  if ((rc = tml_read_file(m->path, &text, &len, err)))
    goto out;
  if (tml_fnv1a64(TML_FNV64_INIT, text, len) != m->file_hash) {
    rc = tml_error_set(err, TML_EMODEL,
                       "model file '%s' changed since it was loaded; load the model again", m->path);
    goto out;
  }
  char nt[16];
  snprintf(nt, sizeof nt, "%d", m->nthread);
  if (XGBoosterCreate(NULL, 0, &bst) != 0 || XGBoosterLoadModelFromBuffer(bst, text, (bst_ulong)len) != 0 ||
      XGBoosterSetParam(bst, "nthread", nt) != 0) {
    rc = xgb_fail_code(err, TML_EMODEL, "XGBoosterLoadModelFromBuffer", m->path);
    goto out;
  }
  m->bst = bst;
  bst = NULL;
out:
  *out = m->bst;
  pthread_mutex_unlock(&m->bst_lock);
  if (bst)
    XGBoosterFree(bst);
  free(text);
  return rc;
}

int tml_xgb_set_nthread(struct tml_xgb_model *m, int nthread, struct tml_error *err) {
  int rc = 0;
  pthread_mutex_lock(&m->bst_lock);
  m->nthread = nthread < 1 ? 1 : nthread;
  char v[16];
  snprintf(v, sizeof v, "%d", m->nthread);
  if (m->bst && XGBoosterSetParam(m->bst, "nthread", v) != 0)
    rc = xgb_fail(err, "XGBoosterSetParam(nthread)", "setting prediction threads");
  pthread_mutex_unlock(&m->bst_lock);
  return rc;
}

/* Column index of an importance name: one of the model's feature names, else "f<i>". */
static long column_of(const char *name, const char *const *names, size_t nnames, size_t ncols) {
  for (size_t i = 0; i < nnames; i++)
    if (strcmp(names[i], name) == 0)
      return (long)i;
  int64_t i = 0;
  if (name[0] == 'f' && tml_parse_int64_str(name + 1, &i) == 0 && i >= 0 && (uint64_t)i < ncols)
    return (long)i;
  return -1;
}

int tml_xgb_importance(const struct tml_xgb_model *m, double *gain, double *weight, double *cover,
                       struct tml_error *err) {
  int rc = 0;
  size_t n = m->ncols;
  double *dst[3] = {gain, weight, cover};
  static const char *const cfg[3] = {"{\"importance_type\":\"gain\"}",
                                     "{\"importance_type\":\"weight\"}",
                                     "{\"importance_type\":\"cover\"}"};
  for (int k = 0; k < 3; k++)
    if (dst[k])
      for (size_t i = 0; i < n; i++)
        dst[k][i] = 0.0;
  /* Copy the model's feature names: the booster's thread-local string buffer is reused by
   * XGBoosterFeatureScore. */
  char **names = NULL;
  bst_ulong nn = 0;
  const char **fn = NULL;
  BoosterHandle bst = NULL;
  if ((rc = booster_of(m, &bst, err)))
    return rc;
  if (XGBoosterGetStrFeatureInfo(bst, "feature_name", &nn, &fn) != 0)
    return xgb_fail(err, "XGBoosterGetStrFeatureInfo", "reading feature names");
  if (nn != 0 && nn != n)
    return tml_error_set(err, TML_EMODEL, "model has %zu feature names for %zu columns",
                         (size_t)nn, n);
  if (nn) {
    names = calloc((size_t)nn, sizeof *names);
    if (!names)
      return tml_error_set(err, TML_ENOMEM, "importance: out of memory");
    for (size_t i = 0; i < nn; i++) {
      size_t len = strlen(fn[i]);
      names[i] = malloc(len + 1);
      if (!names[i]) {
        rc = tml_error_set(err, TML_ENOMEM, "importance: out of memory");
        goto out;
      }
      memcpy(names[i], fn[i], len + 1);
    }
  }
  for (int k = 0; k < 3; k++) {
    if (!dst[k])
      continue;
    bst_ulong nf = 0, dim = 0;
    const char **fnames = NULL;
    const bst_ulong *shape = NULL;
    const float *scores = NULL;
    XGB_TRY(XGBoosterFeatureScore(bst, cfg[k], &nf, &fnames, &dim, &shape, &scores),
            "computing feature importance");
    for (bst_ulong i = 0; i < nf; i++) {
      long col = column_of(fnames[i], (const char *const *)names, (size_t)nn, n);
      if (col < 0) {
        rc = tml_error_set(err, TML_EMODEL, "importance names unknown feature '%s'", fnames[i]);
        goto out;
      }
      dst[k][col] = (double)scores[i];
    }
  }
out:
  if (names)
    for (size_t i = 0; i < nn; i++)
      free(names[i]);
  free(names);
  return rc;
}

int tml_xgb_best_iteration(const struct tml_xgb_model *m) { return m->best_iteration; }
double tml_xgb_best_score(const struct tml_xgb_model *m) { return m->best_score; }
int tml_xgb_nclass(const struct tml_xgb_model *m) { return m->nclass; }
size_t tml_xgb_ncols(const struct tml_xgb_model *m) { return m->ncols; }

void tml_xgb_free(struct tml_xgb_model *m) {
  if (!m)
    return;
  tml__xgb_flat_free(m->flat);
  if (m->proxy)
    XGDMatrixFree(m->proxy);
  if (m->bst)
    XGBoosterFree(m->bst);
  free(m->path);
  pthread_mutex_destroy(&m->proxy_lock);
  pthread_mutex_destroy(&m->bst_lock);
  free(m);
}
