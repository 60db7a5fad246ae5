/* The flat evaluator of XGBoost models (src/lib/learn/xgb_flat.c): bit for bit XGBoost's own
 * predictions on real data, unsupported model forms refused with a reason, and models it refuses still
 * predicted (through XGBoost). */
#include "test.h"
#include "learn/xgb_flat.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/series.h"
#include "trademl/xgb.h"

/* Real features (the 70 columns of the feature set) of BTC 1h; targets from the next row (this test
 * needs trees over real value ranges, not a causal model); every 53rd value missing (NaN), so
 * default directions are learned and taken. */
struct real_set {
  float *X, *cls, *reg;
  size_t n, ncols;
};

static void real_set_load(struct real_set *s, size_t rows) {
  char *path = tml_test_data_file("binance-spot/BTCUSDT_1h_2021-2026.csv");
  struct tml_candles c;
  tml_test_load_candles(path, "BTCUSDT", rows, &c);
  free(path);
  struct tml_features f;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_features_compute(&c, NULL, &f, &err), &err);
  s->ncols = f.ncols;
  s->n = f.nrows - 1;
  s->X = malloc(s->n * s->ncols * sizeof *s->X);
  s->cls = malloc(s->n * sizeof *s->cls);
  s->reg = malloc(s->n * sizeof *s->reg);
  CHECK(s->X && s->cls && s->reg);
  memcpy(s->X, f.X, s->n * s->ncols * sizeof *s->X);
  for (size_t i = 0; i < s->n; i++) {
    float next = f.X[(i + 1) * f.ncols]; /* ret_log_1 of the next candle */
    s->reg[i] = next * 100.0f;
    s->cls[i] = next < -0.002f ? 0.0f : next > 0.002f ? 2.0f : 1.0f;
  }
  /* missing values in every other row (two columns), so that both the walk of rows with missing
   * values and the one of rows without (forest.c checks each row once) are compared */
  for (size_t i = 0; i < s->n; i += 2) {
    s->X[i * s->ncols + (i * 7) % s->ncols] = NAN;
    s->X[i * s->ncols + (i * 13 + 5) % s->ncols] = NAN;
  }
  tml_features_release(&f);
  tml_candles_release(&c);
}

static void real_set_release(struct real_set *s) {
  free(s->X);
  free(s->cls);
  free(s->reg);
}

static size_t count_diff(const float *a, const float *b, size_t n, double *max_abs) {
  size_t d = 0;
  *max_abs = 0;
  for (size_t i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      d++;
      double e = fabs((double)a[i] - (double)b[i]);
      *max_abs = e > *max_abs ? e : *max_abs;
    }
  return d;
}

/* Flat predictions equal XGBoost's, bit for bit, through its DMatrix path and its in-place path, for
 * a 3-class head and a regression head of the default depth, in one call and row by row, before and
 * after a save and load. */
TEST(real_data_bitwise_equal_to_xgboost) {
  struct real_set s;
  real_set_load(&s, 3000);
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 60;
  p.early_stopping_rounds = 0;
  p.eta = 0.1;
  struct tml_range train = {0, s.n * 3 / 4}, valid = {s.n * 3 / 4, s.n};
  struct tml_error err;
  tml_error_init(&err);
  char *dir = tml_test_tmpdir("xgb_flat_real");
  for (int nclass = 3; nclass >= 0; nclass -= 3) {
    struct tml_xgb_model *m = NULL, *l = NULL;
    CHECK_OK(tml_xgb_train(s.X, s.ncols, nclass ? s.cls : s.reg, train, valid, nclass, &p, NULL, NULL, NULL, &m,
                           &err),
             &err);
    CHECK_MSG(tml__xgb_is_flat(m), "nclass %d: the trained model was not flattened", nclass);
    size_t K = nclass ? 3 : 1, n = s.n * K;
    float *flat = malloc(n * sizeof *flat), *rows = malloc(n * sizeof *rows), *dm = malloc(n * sizeof *dm),
          *inp = malloc(n * sizeof *inp), *loaded = malloc(n * sizeof *loaded);
    CHECK(flat && rows && dm && inp && loaded);
    CHECK_OK(tml_xgb_predict(m, s.X, s.n, flat, &err), &err);
    for (size_t i = 0; i < s.n; i++)
      CHECK_OK(tml_xgb_predict_inplace(m, s.X + i * s.ncols, 1, rows + i * K, &err), &err);
    CHECK_OK(tml__xgb_predict_dmatrix(m, s.X, s.n, dm, &err), &err);
    CHECK_OK(tml__xgb_predict_booster(m, s.X, s.n, inp, &err), &err);
    double e1 = 0, e2 = 0, e3 = 0;
    size_t d1 = count_diff(flat, dm, n, &e1), d2 = count_diff(flat, inp, n, &e2), d3 = count_diff(flat, rows, n, &e3);
    printf("nclass %d: %zu rows x %zu values; differing from XGBoost DMatrix %zu (max %g), in-place %zu (max %g), "
           "row by row %zu\n",
           nclass, s.n, K, d1, e1, d2, e2, d3);
    CHECK_MSG(d1 == 0 && d2 == 0 && d3 == 0, "nclass %d: flat predictions differ from XGBoost's", nclass);
    size_t distinct = 0;
    for (size_t i = 1; i < s.n; i++)
      distinct += flat[i * K] != flat[(i - 1) * K];
    CHECK(distinct > s.n / 4); /* the comparison is not between constants */
    char path[1024];
    snprintf(path, sizeof path, "%s/head%d_model.json", dir, nclass);
    CHECK_OK(tml_xgb_save_json(m, path, &err), &err);
    CHECK_OK(tml_xgb_load_json(path, &l, &err), &err);
    CHECK(tml__xgb_is_flat(l));
    CHECK_OK(tml_xgb_predict_inplace(l, s.X, s.n, loaded, &err), &err);
    CHECK(memcmp(loaded, flat, n * sizeof *flat) == 0);
    free(flat);
    free(rows);
    free(dm);
    free(inp);
    free(loaded);
    tml_xgb_free(l);
    tml_xgb_free(m);
  }
  free(dir);
  real_set_release(&s);
}

/* A small trained model's JSON, for the edits below. */
static char *small_model_json(int nclass, size_t *len) {
  enum { N = 600, C = 4 };
  static float X[N * C], y[N];
  for (size_t i = 0; i < N; i++) {
    for (size_t j = 0; j < C; j++)
      X[i * C + j] = (float)((i * 7919 + j * 104729) % 1000) / 1000.0f;
    y[i] = nclass ? (float)(i % 3) : X[i * C] * 3.0f;
  }
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 4;
  p.early_stopping_rounds = 0;
  p.max_depth = 3;
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 500}, valid = {500, 600};
  CHECK_OK(tml_xgb_train(X, C, y, train, valid, nclass, &p, NULL, NULL, NULL, &m, &err), &err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_OK(tml_xgb_to_json(m, &b, &err), &err);
  tml_xgb_free(m);
  *len = b.len;
  return b.ptr; /* the buffer's storage, NUL-terminated; caller frees */
}

static char *replace(const char *s, const char *from, const char *to) {
  const char *at = strstr(s, from);
  CHECK_MSG(at != NULL, "'%s' not in the model", from);
  size_t a = (size_t)(at - s), fl = strlen(from), tl = strlen(to), sl = strlen(s);
  char *o = malloc(sl - fl + tl + 1);
  CHECK(o != NULL);
  memcpy(o, s, a);
  memcpy(o + a, to, tl);
  memcpy(o + a + tl, at + fl, sl - a - fl + 1);
  return o;
}

static void expect_refused(const char *json, const char *why) {
  struct tml__xgb_flat *f = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml__xgb_flat_from_json(json, strlen(json), &f, &err), TML_EMODEL);
  CHECK(f == NULL);
  CHECK_CONTAINS(err.msg, why);
}

/* Model forms the evaluator does not reproduce are refused with the reason, and so is anything cut
 * short (every prefix of a model: no read past the end, no crash, under ASan too). */
TEST(unsupported_or_truncated_models_refused) {
  size_t len = 0;
  char *json = small_model_json(3, &len);
  struct tml__xgb_flat *f = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml__xgb_flat_from_json(json, len, &f, &err), &err);
  CHECK_INT(tml__xgb_flat_nclass(f), 3);
  CHECK_INT(tml__xgb_flat_ncols(f), 4);
  CHECK_INT(tml__xgb_flat_ntrees(f), 12);
  tml__xgb_flat_free(f);
  char *e;
  expect_refused(e = replace(json, "\"name\":\"gbtree\"", "\"name\":\"dart\""), "booster 'dart'");
  free(e);
  expect_refused(e = replace(json, "multi:softprob", "multi:softmax"), "objective multi:softmax");
  free(e);
  expect_refused(e = replace(json, "\"split_type\":[0", "\"split_type\":[1"), "categorical");
  free(e);
  expect_refused(e = replace(json, "\"num_target\":\"1\"", "\"num_target\":\"2\""), "num_target 2");
  free(e);
  expect_refused(e = replace(json, "\"split_indices\":[", "\"split_indices\":[9,"), "different lengths");
  free(e);
  expect_refused(e = replace(json, "\"split_indices\":[0", "\"split_indices\":[7"), "split column 7");
  free(e);
  expect_refused(e = replace(json, "\"left_children\":[1", "\"left_children\":[0"), "are not valid");
  free(e);
  expect_refused(e = replace(json, "\"tree_info\":[0", "\"tree_info\":[5"), "class group 5");
  free(e);
  size_t refused = 0;
  for (size_t cut = 0; cut < len; cut += 7) {
    char *p = malloc(cut ? cut : 1); /* exactly cut bytes: ASan catches any read past them */
    CHECK(p != NULL);
    memcpy(p, json, cut);
    tml_error_init(&err);
    f = NULL;
    int rc = tml__xgb_flat_from_json(p, cut, &f, &err);
    /* A prefix that ends after the last tree and tree_info may still hold a whole model. */
    CHECK(rc == TML_EMODEL || (rc == 0 && f != NULL));
    refused += rc != 0;
    tml__xgb_flat_free(f);
    free(p);
  }
  CHECK(refused > len / 7 / 2);
  free(json);
}

/* A model the flat evaluator refuses (here a dart booster with every tree weighted 1) is loaded anyway
 * and predicts through XGBoost, as the gbtree model with the same trees does through the flat form. */
TEST(refused_model_predicts_through_xgboost) {
  size_t len = 0;
  char *json = small_model_json(0, &len);
  char *dir = tml_test_tmpdir("xgb_flat_dart");
  char gb_path[1024], dart_path[1024];
  snprintf(gb_path, sizeof gb_path, "%s/gbtree.json", dir);
  snprintf(dart_path, sizeof dart_path, "%s/dart.json", dir);
  FILE *fp = fopen(gb_path, "w");
  CHECK(fp != NULL);
  fputs(json, fp);
  fclose(fp);
  /* {"model":{...},"name":"gbtree"} -> {"gbtree":{"model":{...},"name":"gbtree"},"name":"dart","weight_drop":[1E0,1E0,1E0,1E0]} */
  char *a = replace(json, "\"gradient_booster\":{\"model\"", "\"gradient_booster\":{\"gbtree\":{\"model\"");
  char *b = replace(a, "\"name\":\"gbtree\"}", "\"name\":\"gbtree\"},\"name\":\"dart\",\"weight_drop\":[1E0,1E0,1E0,1E0]}");
  fp = fopen(dart_path, "w");
  CHECK(fp != NULL);
  fputs(b, fp);
  fclose(fp);
  struct tml_xgb_model *gb = NULL, *dart = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_xgb_load_json(gb_path, &gb, &err), &err);
  CHECK_OK(tml_xgb_load_json(dart_path, &dart, &err), &err);
  CHECK(tml__xgb_is_flat(gb));
  CHECK(!tml__xgb_is_flat(dart));
  enum { N = 64 };
  float X[N * 4], pg[N], pd[N];
  for (size_t i = 0; i < N * 4; i++)
    X[i] = (float)(i % 17) / 17.0f;
  CHECK_OK(tml_xgb_predict_inplace(gb, X, N, pg, &err), &err);
  CHECK_OK(tml_xgb_predict_inplace(dart, X, N, pd, &err), &err);
  for (size_t i = 0; i < N; i++)
    CHECK_NEAR(pd[i], pg[i], 1e-6);
  tml_xgb_free(gb);
  tml_xgb_free(dart);
  free(a);
  free(b);
  free(json);
  free(dir);
}

/* An XGBoost model of nclass classes trained for `rounds` rounds without early stopping on rows
 * [0, ntrain) of X (validation rows [ntrain, n)), the other parameters the defaults but max_depth and
 * min_child_weight. */
static struct tml_xgb_model *train_rounds(const float *X, size_t ncols, const float *y, size_t ntrain, size_t n,
                                          int nclass, int rounds, int max_depth, double min_child_weight) {
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = rounds;
  p.early_stopping_rounds = 0;
  p.max_depth = max_depth;
  p.min_child_weight = min_child_weight;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_xgb_model *m = NULL;
  CHECK_OK(tml_xgb_train(X, ncols, y, (struct tml_range){0, ntrain}, (struct tml_range){ntrain, n}, nclass, &p, NULL,
                         NULL, NULL, &m, &err),
           &err);
  return m;
}

/* A model of more columns than the prediction layout holds (4096, learn/forest.h) is not flattened:
 * it predicts through XGBoost, the same as XGBoost's own DMatrix path. */
TEST(wide_model_predicts_through_xgboost) {
  enum { R = 64, NC = 4097 };
  float *X = calloc((size_t)R * NC, sizeof *X), y[R], a[R], b[R];
  CHECK(X != NULL);
  for (size_t i = 0; i < R; i++) {
    X[i * NC + NC - 1] = (float)i; /* the signal in the last column, beyond the layout's 4096 */
    y[i] = (float)i / (float)R;
  }
  struct tml_xgb_model *m = train_rounds(X, NC, y, 48, R, 0, 5, 6, 0.0);
  struct tml_error err;
  tml_error_init(&err);
  CHECK(!tml__xgb_is_flat(m));
  CHECK_OK(tml_xgb_predict(m, X, R, a, &err), &err);
  CHECK_OK(tml__xgb_predict_dmatrix(m, X, R, b, &err), &err);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(a[0] < a[R - 1]); /* it learned from the last column */
  tml_xgb_free(m);
  free(X);
}

/* json with its "tree_info" rewritten for ntrees trees of K classes: order 0 as XGBoost writes a
 * softmax model (t % K), 1 in blocks of two (as num_parallel_tree 2 writes it), 2 rotated. The rest
 * of the text, its floats included, is kept as it is. */
static char *with_tree_info(const char *json, size_t ntrees, size_t K, int order) {
  const char *at = strstr(json, "\"tree_info\":[");
  CHECK(at != NULL);
  const char *end = strchr(at, ']');
  CHECK(end != NULL);
  size_t pre = (size_t)(at - json) + strlen("\"tree_info\":[");
  char *o = malloc(strlen(json) + ntrees * 8 + 16);
  CHECK(o != NULL);
  memcpy(o, json, pre);
  size_t n = pre;
  for (size_t t = 0; t < ntrees; t++) {
    size_t g = order == 0 ? t % K : order == 1 ? (t / 2) % K : (t + t / K) % K;
    n += (size_t)sprintf(o + n, "%s%zu", t ? "," : "", g);
  }
  strcpy(o + n, end);
  return o;
}

/* The flat form beside XGBoost's own prediction, bit for bit, where the two engines' rules and the
 * walk's paths part: 1 to 5 classes (sums in registers for 1, 2 and 4 classes, through memory
 * otherwise), 13 rounds (groups of eight trees and a tail), trees of a class in XGBoost's order and
 * in two other orders of "tree_info", and rows with NaN (missing), with +-Inf (compared as numbers,
 * unlike the native engine), with both, and without either. */
TEST(class_orders_and_infinities_bitwise_equal_to_xgboost) {
  enum { N = 700, C = 6 };
  static float X[N * C], y[N], R[N * C], a[N * 5], b[N * 5];
  int classes[] = {0, 2, 3, 4, 5};
  char *dir = tml_test_tmpdir("xgb_flat_orders");
  for (size_t v = 0; v < sizeof classes / sizeof *classes; v++) {
    int nclass = classes[v];
    size_t K = nclass ? (size_t)nclass : 1;
    for (size_t i = 0; i < N; i++) {
      for (size_t j = 0; j < C; j++)
        X[i * C + j] = (float)((i * 7919 + j * 104729) % 1000) / 1000.0f;
      y[i] = nclass ? (float)((size_t)(X[i * C] * 10 + X[i * C + 1] * 7) % K) : X[i * C] * 3.0f - X[i * C + 3];
      if (i % 11 == 0)
        X[i * C + 2] = NAN;
    }
    struct tml_xgb_model *m = train_rounds(X, C, y, 600, N, nclass, 13, 4, 1.0);
    struct tml_error err;
    tml_error_init(&err);
    struct tml_buf json;
    tml_buf_init(&json, 0);
    CHECK_OK(tml_xgb_to_json(m, &json, &err), &err);
    tml_xgb_free(m);
    memcpy(R, X, sizeof R);
    size_t clean = 0;
    for (size_t i = 0; i < N; i++) {
      float *r = R + i * C;
      switch (i % 5) {
      case 1: r[i % C] = INFINITY; break;
      case 2: r[i % C] = -INFINITY; break;
      case 3: r[0] = INFINITY, r[1] = NAN; break;
      case 4:
        for (size_t j = 0; j < C; j++)
          r[j] = j % 2 ? -INFINITY : INFINITY;
        break;
      default: break;
      }
      bool nan = false;
      for (size_t j = 0; j < C; j++)
        nan |= isnan(r[j]) != 0;
      clean += !nan;
    }
    CHECK(clean > N / 2 && clean < N - N / 10); /* both walks */
    for (int order = 0; order < (nclass ? 3 : 1); order++) {
      char *text = with_tree_info(json.ptr, 13 * K, K, order);
      char path[1024];
      snprintf(path, sizeof path, "%s/model_%d_%d.json", dir, nclass, order);
      FILE *fp = fopen(path, "w");
      CHECK(fp != NULL);
      fputs(text, fp);
      fclose(fp);
      struct tml_xgb_model *l = NULL;
      CHECK_OK(tml_xgb_load_json(path, &l, &err), &err);
      CHECK_MSG(tml__xgb_is_flat(l), "nclass %d, tree order %d: not flattened", nclass, order);
      CHECK_OK(tml_xgb_predict(l, R, N, a, &err), &err);
      CHECK_OK(tml__xgb_predict_booster(l, R, N, b, &err), &err);
      double max_abs = 0;
      size_t d = count_diff(a, b, N * K, &max_abs);
      CHECK_MSG(d == 0, "nclass %d, tree order %d: %zu of %zu values differ from XGBoost's (max %g)", nclass, order, d,
                N * K, max_abs);
      tml_xgb_free(l);
      free(text);
    }
    tml_buf_release(&json);
  }
  free(dir);
}

/* A model loaded from a file predicts through its flat form without XGBoost's booster; what needs
 * XGBoost (serialising, importance, its own predictions) loads the booster again from the same file,
 * and refuses a file that changed since. */
TEST(loaded_model_drops_and_reloads_its_booster) {
  size_t len = 0;
  char *json = small_model_json(3, &len);
  char *dir = tml_test_tmpdir("xgb_flat_reload");
  char path[1024];
  snprintf(path, sizeof path, "%s/direction_model.json", dir);
  FILE *fp = fopen(path, "w");
  CHECK(fp != NULL);
  fputs(json, fp);
  fclose(fp);
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_xgb_load_json(path, &m, &err), &err);
  CHECK(tml__xgb_is_flat(m));
  CHECK(!tml__xgb_has_booster(m));
  enum { N = 32 };
  float X[N * 4], a[N * 3], b[N * 3];
  for (size_t i = 0; i < N * 4; i++)
    X[i] = (float)((i * 37) % 101) / 101.0f;
  CHECK_OK(tml_xgb_predict_inplace(m, X, N, a, &err), &err);
  CHECK(!tml__xgb_has_booster(m)); /* predicting does not need it */
  struct tml_buf out;
  tml_buf_init(&out, 0);
  CHECK_OK(tml_xgb_to_json(m, &out, &err), &err);
  CHECK(tml__xgb_has_booster(m));
  CHECK_INT(out.len, len);
  CHECK(memcmp(out.ptr, json, len) == 0);
  CHECK_OK(tml__xgb_predict_dmatrix(m, X, N, b, &err), &err);
  CHECK(memcmp(a, b, sizeof a) == 0);
  double gain[4];
  CHECK_OK(tml_xgb_importance(m, gain, NULL, NULL, &err), &err);
  tml_xgb_free(m);
  /* loaded, then the file replaced: the booster is not loaded from the other file */
  CHECK_OK(tml_xgb_load_json(path, &m, &err), &err);
  fp = fopen(path, "w");
  CHECK(fp != NULL);
  fputs(json, fp);
  fputs(" ", fp);
  fclose(fp);
  tml_buf_release(&out);
  tml_buf_init(&out, 0);
  CHECK_INT(tml_xgb_to_json(m, &out, &err), TML_EMODEL);
  CHECK_CONTAINS(err.msg, "changed since it was loaded");
  CHECK_OK(tml_xgb_predict_inplace(m, X, N, b, &err), &err); /* the flat form still predicts */
  CHECK(memcmp(a, b, sizeof a) == 0);
  tml_buf_release(&out);
  tml_xgb_free(m);
  free(json);
  free(dir);
}
