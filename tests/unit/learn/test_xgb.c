/* XGBoost heads on synthetic data where the label is a known function of the features: the model
 * must learn it, early stopping must stop on noise, files must round-trip, training must be
 * deterministic, and importance must point at the informative column. Kept small for ASan. */
#include "test.h"
#include "learn/xgb_flat.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/labels.h"
#include "trademl/metrics.h"
#include "trademl/parse.h"
#include "trademl/series.h"
#include "trademl/xgb.h"

#define NROWS 1200
#define NCOLS 6

static uint64_t rng_state;
static double uniform(void) { /* xorshift64*, deterministic; value in [-1, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* X uniform in [-1,1); the class is decided by column 3 only: < -1/3 -> 0, < 1/3 -> 1, else 2.
 * noise = true draws labels at random instead (nothing to learn). */
static void make_data(float *X, float *y, bool noise) {
  rng_state = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < NROWS; i++) {
    for (size_t j = 0; j < NCOLS; j++)
      X[i * NCOLS + j] = (float)uniform();
    double v = X[i * NCOLS + 3];
    y[i] = noise ? (float)(int)((uniform() + 1.0) * 1.5) : (float)(v < -1.0 / 3 ? 0 : v < 1.0 / 3 ? 1 : 2);
  }
}

static void small_params(struct tml_xgb_params *p) {
  tml_xgb_params_default(p);
  p->num_boost_round = 300; /* early stopping (patience 10) ends it well before */
  p->early_stopping_rounds = 10;
  p->eta = 0.3;
  p->max_depth = 3;
}

static const struct tml_range TRAIN = {0, 800}, VALID = {800, 1000};

struct progress {
  int calls, last_round, best;
};
static int on_progress(void *ud, int round, double metric, int best) {
  struct progress *pr = ud;
  CHECK(isfinite(metric));
  CHECK_INT(round, pr->calls);
  pr->calls++;
  pr->last_round = round;
  pr->best = best;
  return 0;
}

TEST(params_default_and_json) {
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  struct tml_buf b;
  tml_buf_init(&b, 0);
#define DEFAULT_PARAMS_JSON                                                                                     \
  "{\"num_boost_round\":500,\"early_stopping_rounds\":50,\"eta\":0.05,\"max_depth\":6,"                           \
  "\"min_child_weight\":1,\"subsample\":1,\"colsample_bytree\":1,\"lambda\":1,"                                  \
  "\"max_bin\":64,\"nthread\":1,\"seed\":42,\"max_leaves\":0,\"grow_policy\":\"depthwise\",\"tree_method\":\"hist\""
  CHECK_INT(tml_xgb_params_to_json(&p, false, &b), 0);
  /* XGBoost's parameters: no native_histogram, which XGBoost does not have */
  CHECK_STR(tml_buf_str(&b), DEFAULT_PARAMS_JSON "}");
  tml_buf_release(&b);
  tml_buf_init(&b, 0);
  CHECK_INT(tml_xgb_params_to_json(&p, true, &b), 0);
  CHECK_STR(tml_buf_str(&b), DEFAULT_PARAMS_JSON ",\"native_histogram\":\"float\"}");
  tml_buf_release(&b);
#undef DEFAULT_PARAMS_JSON
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_xgb_params_validate(&p, &err), &err);
  p.subsample = 0;
  CHECK_INT(tml_xgb_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "subsample");
  tml_xgb_params_default(&p);
  p.native_histogram = 7;
  tml_error_init(&err);
  CHECK_INT(tml_xgb_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "training.native_histogram");
  CHECK_INT(tml_xgb_native_histogram_parse("double"), TML_HIST_DOUBLE);
  CHECK_INT(tml_xgb_native_histogram_parse("float"), TML_HIST_FLOAT);
  CHECK_INT(tml_xgb_native_histogram_parse("half"), -1);
}

TEST(classifier_learns_known_function) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  struct tml_xgb_params p;
  small_params(&p);
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct progress pr = {0, -1, -1};
  CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, on_progress, &pr, &m, &err),
           &err);
  CHECK_INT(tml_xgb_nclass(m), 3);
  CHECK_INT(tml_xgb_ncols(m), NCOLS);
  CHECK(pr.calls >= 1 && pr.best == tml_xgb_best_iteration(m));
  CHECK_INT(pr.calls, tml_xgb_best_iteration(m) + 10 + 1); /* stopped by patience 10 */
  CHECK(tml_xgb_best_score(m) > 0 && tml_xgb_best_score(m) < 0.3);
  static float proba[200 * 3];
  CHECK_OK(tml_xgb_predict(m, X + 1000 * NCOLS, 200, proba, &err), &err);
  struct tml_class_metrics cm;
  CHECK_OK(tml_metrics_classification(y + 1000, proba, 200, 3, &cm, &err), &err);
  printf("test accuracy %.3f, macro F1 %.3f, AUC %.3f, best_iteration %d\n", cm.accuracy,
         cm.macro_f1, cm.roc_auc_macro, tml_xgb_best_iteration(m));
  CHECK_MSG(cm.accuracy > 0.9, "accuracy %g", cm.accuracy);
  /* only column 3 is informative: it has the largest gain, weight and cover */
  double gain[NCOLS], weight[NCOLS], cover[NCOLS];
  CHECK_OK(tml_xgb_importance(m, gain, weight, cover, &err), &err);
  for (int j = 0; j < NCOLS; j++)
    if (j != 3) {
      CHECK_MSG(gain[3] > 10 * gain[j], "gain[3] %g vs gain[%d] %g", gain[3], j, gain[j]);
      CHECK(weight[3] > weight[j]);
    }
  CHECK(cover[3] > 0);
  tml_xgb_free(m);
}

TEST(regressor_learns_known_function) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  for (size_t i = 0; i < NROWS; i++) /* y = 2 x1 - x4 */
    y[i] = 2.0f * X[i * NCOLS + 1] - X[i * NCOLS + 4];
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 100;
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 0, &p, NULL, NULL, NULL, &m, &err), &err);
  CHECK_INT(tml_xgb_nclass(m), 0);
  static float pred[200];
  CHECK_OK(tml_xgb_predict(m, X + 1000 * NCOLS, 200, pred, &err), &err);
  struct tml_reg_metrics rm;
  CHECK_OK(tml_metrics_regression(y + 1000, pred, 200, &rm, &err), &err);
  printf("regression R2 %.4f RMSE %.4f\n", rm.r2, rm.rmse);
  CHECK_MSG(rm.r2 > 0.9, "R2 %g", rm.r2);
  double gain[NCOLS];
  CHECK_OK(tml_xgb_importance(m, gain, NULL, NULL, &err), &err);
  CHECK(gain[1] > gain[0] && gain[1] > gain[2] && gain[1] > gain[3] && gain[1] > gain[5]);
  tml_xgb_free(m);
}

TEST(early_stopping_stops_on_noise) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, true);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 200;
  p.early_stopping_rounds = 5;
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct progress pr = {0, -1, -1};
  CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, on_progress, &pr, &m, &err),
           &err);
  int best = tml_xgb_best_iteration(m);
  printf("noise: stopped after %d rounds, best_iteration %d\n", pr.calls, best);
  CHECK(best < 200);
  /* it stopped exactly patience rounds after the best one */
  CHECK_INT(pr.calls, best + 5 + 1);
  /* the saved model is cut at the best round and carries best_iteration */
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_OK(tml_xgb_to_json(m, &b, &err), &err);
  char want[64];
  snprintf(want, sizeof want, "\"best_iteration\":\"%d\"", best);
  CHECK_CONTAINS(tml_buf_str(&b), want);
  snprintf(want, sizeof want, "\"num_trees\":\"%d\"", (best + 1) * 3);
  CHECK_CONTAINS(tml_buf_str(&b), want);
  tml_buf_release(&b);
  tml_xgb_free(m);
}

TEST(save_load_identical_predictions) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 20;
  const char *names[NCOLS] = {"rsi_14", "atr_14", "ema_ratio", "ret_1", "vol_z", "hour"};
  struct tml_xgb_model *m = NULL, *l = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, names, NULL, NULL, &m, &err), &err);
  char *dir = tml_test_tmpdir("xgb_save_load");
  char path[1024];
  snprintf(path, sizeof path, "%s/direction_model.json", dir);
  CHECK_OK(tml_xgb_save_json(m, path, &err), &err);
  CHECK_OK(tml_xgb_load_json(path, &l, &err), &err);
  CHECK_INT(tml_xgb_nclass(l), 3);
  CHECK_INT(tml_xgb_ncols(l), NCOLS);
  CHECK_INT(tml_xgb_best_iteration(l), tml_xgb_best_iteration(m));
  CHECK_NEAR(tml_xgb_best_score(l), tml_xgb_best_score(m), 0);
  static float a[NROWS * 3], b[NROWS * 3];
  CHECK_OK(tml_xgb_predict(m, X, NROWS, a, &err), &err);
  CHECK_OK(tml_xgb_predict(l, X, NROWS, b, &err), &err);
  CHECK(memcmp(a, b, sizeof a) == 0);
  /* feature names travel with the model and importance still maps to the right column */
  char *json = tml_test_read_file(path, NULL);
  CHECK_CONTAINS(json, "\"feature_names\":[\"rsi_14\",\"atr_14\",\"ema_ratio\",\"ret_1\"");
  free(json);
  double gain[NCOLS];
  CHECK_OK(tml_xgb_importance(l, gain, NULL, NULL, &err), &err);
  for (int j = 0; j < NCOLS; j++)
    CHECK(j == 3 || gain[3] > gain[j]);
  tml_xgb_free(l);
  tml_xgb_free(m);
  free(dir);
}

TEST(corrupt_or_missing_file_is_emodel) {
  char *dir = tml_test_tmpdir("xgb_corrupt");
  char path[1024];
  struct tml_xgb_model *l = NULL;
  struct tml_error err;
  tml_error_init(&err);
  snprintf(path, sizeof path, "%s/missing.json", dir);
  CHECK_INT(tml_xgb_load_json(path, &l, &err), TML_EMODEL);
  CHECK_CONTAINS(err.msg, "missing.json' does not exist");
  CHECK(l == NULL);
  const char *bodies[] = {"{\"learner\": {\"gradient_booster\": ", "not json at all", "{}",
                          "{\"learner\":{}, \"version\":[1,7,4]}"};
  for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
    snprintf(path, sizeof path, "%s/bad%zu.json", dir, i);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(bodies[i], f);
    fclose(f);
    tml_error_init(&err);
    CHECK_INT(tml_xgb_load_json(path, &l, &err), TML_EMODEL);
    char want[64];
    snprintf(want, sizeof want, "bad%zu.json", i);
    CHECK_CONTAINS(err.msg, want);
    printf("%s\n", err.msg);
    CHECK(l == NULL);
  }
  free(dir);
}

TEST(deterministic_json_across_threads) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 15;
  struct tml_buf js[3];
  struct tml_error err;
  tml_error_init(&err);
  for (int r = 0; r < 3; r++) {
    p.nthread = r == 2 ? 2 : 1;
    struct tml_xgb_model *m = NULL;
    CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, NULL, NULL, &m, &err), &err);
    tml_buf_init(&js[r], 0);
    CHECK_OK(tml_xgb_to_json(m, &js[r], &err), &err);
    tml_xgb_free(m);
  }
  CHECK(js[0].len > 1000);
  CHECK_MSG(js[0].len == js[1].len && memcmp(js[0].ptr, js[1].ptr, js[0].len) == 0,
            "two runs with nthread 1 differ");
  CHECK_MSG(js[0].len == js[2].len && memcmp(js[0].ptr, js[2].ptr, js[0].len) == 0,
            "nthread 1 and nthread 2 differ");
  for (int r = 0; r < 3; r++)
    tml_buf_release(&js[r]);
}

TEST(deterministic_with_subsampling) {
  /* row and column subsampling draw from XGBoost's seeded generator: still byte-identical */
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 15;
  p.subsample = 0.7;
  p.colsample_bytree = 0.6;
  struct tml_buf js[3];
  struct tml_error err;
  tml_error_init(&err);
  for (int r = 0; r < 3; r++) {
    p.nthread = r == 2 ? 2 : 1;
    p.seed = r == 1 ? 7 : 42;
    struct tml_xgb_model *m = NULL;
    CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, NULL, NULL, &m, &err), &err);
    tml_buf_init(&js[r], 0);
    CHECK_OK(tml_xgb_to_json(m, &js[r], &err), &err);
    tml_xgb_free(m);
  }
  CHECK_MSG(js[0].len == js[2].len && memcmp(js[0].ptr, js[2].ptr, js[0].len) == 0,
            "nthread 1 and nthread 2 differ with subsampling");
  /* a different seed gives a different model (so the seed is really used) */
  CHECK(js[0].len != js[1].len || memcmp(js[0].ptr, js[1].ptr, js[0].len) != 0);
  for (int r = 0; r < 3; r++)
    tml_buf_release(&js[r]);
}

TEST(no_early_stopping_keeps_all_rounds) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, true);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 7;
  p.early_stopping_rounds = 0;
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, NULL, NULL, &m, &err), &err);
  CHECK_INT(tml_xgb_best_iteration(m), 6);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_OK(tml_xgb_to_json(m, &b, &err), &err);
  CHECK_CONTAINS(tml_buf_str(&b), "\"num_trees\":\"21\"");
  tml_buf_release(&b);
  tml_xgb_free(m);
}

TEST(importance_maps_names_before_fnum) {
  /* names that look like XGBoost's default "f<i>" but are permuted: the informative column 3 is
   * called "f2", so a positional or f<i>-only mapping would credit the wrong column */
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 10;
  const char *names[NCOLS] = {"f5", "f4", "f3", "f2", "f1", "f0"};
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, names, NULL, NULL, &m, &err), &err);
  double gain[NCOLS], weight[NCOLS];
  CHECK_OK(tml_xgb_importance(m, gain, weight, NULL, &err), &err);
  for (int j = 0; j < NCOLS; j++)
    CHECK_MSG(j == 3 || gain[3] > gain[j], "gain[3] %g, gain[%d] %g", gain[3], j, gain[j]);
  CHECK(weight[3] >= 10);
  tml_xgb_free(m);
}

TEST(bad_labels_rejected) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  struct tml_xgb_params p;
  small_params(&p);
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  y[810] = NAN;
  CHECK_INT(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, NULL, NULL, &m, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "validation label of row 810 is not a number");
  y[810] = 1;
  y[5] = 3;
  tml_error_init(&err);
  CHECK_INT(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, NULL, NULL, &m, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "training label of row 5 is 3, not a class 0..2");
  y[5] = 1;
  struct tml_range empty = {10, 10};
  tml_error_init(&err);
  CHECK_INT(tml_xgb_train(X, NCOLS, y, empty, VALID, 3, &p, NULL, NULL, NULL, &m, &err), TML_EINVAL);
  CHECK(m == NULL);
}


TEST(real_data_volatility_head) {
  /* BTC 1h, 8000 candles. Features (causal): realised volatility of the last 4, 12, 24 candles
   * and the last candle's range. Volatility clusters, so the volatility head must beat chance. */
  char *path = tml_test_data_file("binance-spot/BTCUSDT_1h_2021-2026.csv");
  struct tml_candles c;
  tml_test_load_candles(path, "BTCUSDT", 8000, &c);
  free(path);
  CHECK_INT(c.len, 8000);
  struct tml_label_spec s;
  tml_label_spec_default(&s);
  struct tml_targets t;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_targets_compute(&c, &s, &t, &err), &err);
  enum { F = 4 };
  size_t n = c.len;
  float *X = malloc(n * F * sizeof *X), *y = malloc(n * sizeof *y);
  const int win[3] = {4, 12, 24};
  for (size_t i = 0; i < n; i++) {
    for (int k = 0; k < 3; k++) {
      double ss = 0;
      int m = 0;
      for (size_t j = i >= (size_t)win[k] ? i - (size_t)win[k] + 1 : 1; j <= i && j > 0; j++, m++) {
        double r = log(c.close[j] / c.close[j - 1]);
        ss += r * r;
      }
      X[i * F + (size_t)k] = m ? (float)sqrt(ss / m) : NAN;
    }
    X[i * F + 3] = (float)log(c.high[i] / c.low[i]);
  }
  /* train [24, 5600), purge h = 12, valid [5612, 6800), purge, test [6812, 7988) */
  struct tml_range train = {24, 5600}, valid = {5612, 6800}, test = {6812, 7988};
  struct tml_label_thresholds th;
  CHECK_OK(tml_labels_fit(t.fwd_return, t.fwd_vol, t.timing, &train, 1, &s, &th, &err), &err);
  size_t nan_rows = 0;
  CHECK_INT(tml_labels_head_fill(TML_HEAD_VOLATILITY, &th, &t, y, &nan_rows), 0);
  CHECK_INT(nan_rows, 12);
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 200;
  p.early_stopping_rounds = 20;
  p.max_depth = 3;
  struct tml_xgb_model *m = NULL;
  CHECK_OK(tml_xgb_train(X, F, y, train, valid, 4, &p, NULL, NULL, NULL, &m, &err), &err);
  size_t nt = test.end - test.begin;
  float *proba = malloc(nt * 4 * sizeof *proba);
  CHECK_OK(tml_xgb_predict(m, X + test.begin * F, nt, proba, &err), &err);
  struct tml_class_metrics cm;
  CHECK_OK(tml_metrics_classification(y + test.begin, proba, nt, 4, &cm, &err), &err);
  printf("BTC 1h volatility head: best_iteration %d, test accuracy %.3f, macro AUC %.3f, "
         "logloss %.3f\n",
         tml_xgb_best_iteration(m), cm.accuracy, cm.roc_auc_macro, cm.logloss);
  for (int k = 0; k < 4; k++)
    printf("  class %d support %zu auc %.3f recall %.3f\n", k, cm.support[k], cm.auc[k], cm.recall[k]);
  /* The outer classes (calm, extreme) are ranked well above chance; the middle classes are not
   * monotone in any feature, so their one-vs-rest AUC stays near 0.5 and is not asserted.
   * Measured here: low 0.722, extreme 0.614. */
  CHECK_MSG(cm.auc[0] > 0.65, "AUC of 'low' %g: volatility should be predictable", cm.auc[0]);
  CHECK_MSG(cm.auc[3] > 0.6, "AUC of 'extreme' %g: volatility should be predictable", cm.auc[3]);
  CHECK(tml_xgb_best_iteration(m) < p.num_boost_round - 1);
  free(proba);
  tml_xgb_free(m);
  free(X);
  free(y);
  tml_targets_release(&t);
  tml_candles_release(&c);
}

static int stop_at_round_3(void *ud, int round, double metric, int best) {
  (void)metric;
  (void)best;
  *(int *)ud = round;
  return round == 3;
}

TEST(progress_callback_cancels) {
  static float X[NROWS * NCOLS], y[NROWS];
  make_data(X, y, false);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 100;
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  int last = -1;
  CHECK_INT(tml_xgb_train(X, NCOLS, y, TRAIN, VALID, 3, &p, NULL, stop_at_round_3, &last, &m, &err), TML_EINTR);
  CHECK_INT(last, 3);
  CHECK(m == NULL);
  CHECK_CONTAINS(err.msg, "interrupted at round 3");
}

/* XGBoost's in-place prediction gives its DMatrix path's floats bit for bit, and the model's own
 * prediction (the flat evaluator, the live loop's path) gives both: row by row and in one call, for a
 * classifier and a regressor, with a missing value (NaN) in some rows. */
TEST(inplace_predictions_equal_dmatrix_bitwise) {
  static float X[NROWS * NCOLS], y[NROWS], yr[NROWS];
  make_data(X, y, false);
  for (size_t i = 0; i < NROWS; i++) {
    yr[i] = X[i * NCOLS + 1] * 2.0f + X[i * NCOLS + 3];
    if (i % 97 == 0)
      X[i * NCOLS + 3] = NAN;
  }
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 30;
  struct tml_error err;
  tml_error_init(&err);
  for (int nclass = 0; nclass <= 3; nclass += 3) {
    struct tml_xgb_model *m = NULL;
    CHECK_OK(tml_xgb_train(X, NCOLS, nclass ? y : yr, TRAIN, VALID, nclass, &p, NULL, NULL, NULL, &m, &err), &err);
    CHECK(tml__xgb_is_flat(m));
    size_t k = nclass ? 3 : 1;
    static float a[NROWS * 3], b[NROWS * 3], c[NROWS * 3], d[NROWS * 3], e[NROWS * 3];
    CHECK_OK(tml__xgb_predict_dmatrix(m, X, NROWS, a, &err), &err);
    CHECK_OK(tml__xgb_predict_booster(m, X, NROWS, b, &err), &err);
    for (size_t i = 0; i < NROWS; i++) {
      CHECK_OK(tml__xgb_predict_booster(m, X + i * NCOLS, 1, c + i * k, &err), &err);
      CHECK_OK(tml_xgb_predict_inplace(m, X + i * NCOLS, 1, d + i * k, &err), &err);
    }
    CHECK_OK(tml_xgb_predict(m, X, NROWS, e, &err), &err);
    CHECK_MSG(memcmp(a, b, NROWS * k * sizeof(float)) == 0, "nclass %d: in-place batch differs", nclass);
    CHECK_MSG(memcmp(a, c, NROWS * k * sizeof(float)) == 0, "nclass %d: in-place row by row differs", nclass);
    CHECK_MSG(memcmp(a, d, NROWS * k * sizeof(float)) == 0, "nclass %d: flat row by row differs", nclass);
    CHECK_MSG(memcmp(a, e, NROWS * k * sizeof(float)) == 0, "nclass %d: flat batch differs", nclass);
    size_t distinct = 0;
    for (size_t i = 1; i < NROWS; i++)
      distinct += a[i * k] != a[(i - 1) * k];
    CHECK(distinct > NROWS / 4); /* the comparison is not between constants */
    tml_xgb_free(m);
  }
}
