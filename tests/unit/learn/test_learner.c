/* The engine table: both engines through the same calls (prepare a fold, train, predict, save,
 * load, importance, export), an unknown name refused, and each engine refusing the other's file. */
#include "test.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/learner.h"

#define N 700
#define C 5

static void make_data(float *X, float *y) {
  uint64_t s = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < N; i++) {
    for (size_t j = 0; j < C; j++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      X[i * C + j] = (float)((double)(s >> 11) / 9007199254740992.0);
    }
    y[i] = X[i * C + 2] < 0.3f ? 0.0f : X[i * C + 2] < 0.6f ? 1.0f : 2.0f;
  }
}

TEST(lookup_by_name) {
  const struct tml_learner *l = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_learner_lookup("native", &l, &err), &err);
  CHECK(l == &tml_learner_native);
  CHECK_OK(tml_learner_lookup("xgboost", &l, &err), &err);
  CHECK(l == &tml_learner_xgboost);
  CHECK_STR(TML_LEARNER_DEFAULT, "xgboost");
  CHECK_INT(tml_learner_lookup("lightgbm", &l, &err), TML_EINVAL);
  CHECK(l == NULL);
  CHECK_CONTAINS(err.msg, "unknown training engine 'lightgbm'");
  CHECK_CONTAINS(err.msg, "xgboost, native");
}

TEST(both_engines_through_one_table) {
  static float X[N * C], y[N], a[N * 3], b[N * 3];
  make_data(X, y);
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 30;
  p.early_stopping_rounds = 5;
  p.eta = 0.3;
  p.max_depth = 3;
  struct tml_error err;
  tml_error_init(&err);
  char *dir = tml_test_tmpdir("learner_table");
  const struct tml_learner *engines[2] = {&tml_learner_xgboost, &tml_learner_native};
  char path[2][4200];
  for (int e = 0; e < 2; e++) {
    const struct tml_learner *L = engines[e];
    struct tml_learner_fold f;
    CHECK_OK(tml_learner_fold_prepare(L, X, N, C, (struct tml_range){0, 500}, &p, &f, &err), &err);
    CHECK(e == 0 ? f.engine_data == NULL : f.engine_data != NULL);
    struct tml_model *m = NULL, *l = NULL;
    CHECK_OK(tml_model_train(L, &f, y, (struct tml_range){0, 500}, (struct tml_range){500, N}, 3, &p, NULL, NULL, NULL,
                             &m, &err),
             &err);
    tml_learner_fold_release(L, &f);
    CHECK_INT(tml_model_nclass(m), 3);
    CHECK_INT(tml_model_ncols(m), C);
    CHECK(tml_model_best_iteration(m) >= 0);
    CHECK(isfinite(tml_model_best_score(m)));
    CHECK_OK(tml_model_predict(m, X + 500 * C, N - 500, a, &err), &err);
    size_t correct = 0;
    for (size_t i = 0; i < N - 500; i++) {
      int arg = 0;
      for (int k = 1; k < 3; k++)
        arg = a[i * 3 + (size_t)k] > a[i * 3 + (size_t)arg] ? k : arg;
      correct += arg == (int)y[500 + i];
    }
    CHECK_MSG(correct > (N - 500) * 9 / 10, "%s: %zu of %d validation rows right", L->name, correct, N - 500);
    double gain[C];
    CHECK_OK(tml_model_importance(m, gain, NULL, NULL, &err), &err);
    for (size_t j = 0; j < C; j++)
      CHECK_MSG(j == 2 || gain[2] > gain[j], "%s: the informative column 2 must lead the gain", L->name);
    snprintf(path[e], sizeof path[e], "%s/%s.json", dir, L->name);
    CHECK_OK(tml_model_save(m, path[e], &err), &err);
    CHECK_OK(tml_model_load(L, path[e], &l, &err), &err);
    CHECK_OK(tml_model_predict(l, X + 500 * C, N - 500, b, &err), &err);
    for (size_t i = 0; i < (N - 500) * 3; i++)
      CHECK_NEAR(b[i], a[i], 1e-6);
    struct tml_buf x;
    tml_buf_init(&x, 0);
    CHECK_OK(L->export_xgboost_json(m->impl, &x, &err), &err);
    CHECK_CONTAINS(tml_buf_str(&x), "\"multi:softprob\"");
    tml_buf_release(&x);
    tml_model_free(m);
    tml_model_free(l);
  }
  /* Each engine refuses the other's file, naming it. */
  for (int e = 0; e < 2; e++) {
    struct tml_model *m = (struct tml_model *)(uintptr_t)1;
    tml_error_init(&err);
    CHECK_INT(tml_model_load(engines[e], path[1 - e], &m, &err), TML_EMODEL);
    CHECK(m == NULL);
    CHECK_CONTAINS(err.msg, path[1 - e]);
  }
  tml_model_free(NULL);
  free(dir);
}
