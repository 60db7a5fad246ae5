/* Metrics against hand-computed values on small arrays; the scikit-learn call that gives the same
 * number is written next to each expectation. */
#include "test.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/metrics.h"

/* y_true = [0,1,2,2,1,0]; argmax predictions [0,1,2,1,0,0] (row 5 ties 0.4/0.4 -> class 0). */
static const float y6[6] = {0, 1, 2, 2, 1, 0};
static const float p6[18] = {0.7f, 0.2f, 0.1f, 0.3f, 0.4f, 0.3f, 0.2f, 0.3f, 0.5f,
                             0.1f, 0.6f, 0.3f, 0.5f, 0.3f, 0.2f, 0.4f, 0.4f, 0.2f};

TEST(classification_hand_values) {
  struct tml_class_metrics m;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_metrics_classification(y6, p6, 6, 3, &m, &err), &err);
  CHECK_INT(m.n, 6);
  /* confusion_matrix(y, pred) = [[2,0,0],[1,1,0],[0,1,1]] */
  size_t want[3][3] = {{2, 0, 0}, {1, 1, 0}, {0, 1, 1}};
  for (int t = 0; t < 3; t++)
    for (int p = 0; p < 3; p++)
      CHECK_INT(m.confusion[t][p], want[t][p]);
  CHECK_NEAR(m.accuracy, 4.0 / 6.0, 1e-12); /* accuracy_score = 0.6666666666666666 */
  /* precision_recall_fscore_support: P = [2/3, 1/2, 1], R = [1, 1/2, 1/2],
   * F1 = [0.8, 0.5, 0.6666666666666666], support = [2, 2, 2] */
  CHECK_NEAR(m.precision[0], 2.0 / 3.0, 1e-12);
  CHECK_NEAR(m.precision[1], 0.5, 1e-12);
  CHECK_NEAR(m.precision[2], 1.0, 1e-12);
  CHECK_NEAR(m.recall[0], 1.0, 1e-12);
  CHECK_NEAR(m.recall[1], 0.5, 1e-12);
  CHECK_NEAR(m.recall[2], 0.5, 1e-12);
  CHECK_NEAR(m.f1[0], 0.8, 1e-12);
  CHECK_NEAR(m.f1[1], 0.5, 1e-12);
  CHECK_NEAR(m.f1[2], 2.0 / 3.0, 1e-12);
  for (int c = 0; c < 3; c++)
    CHECK_INT(m.support[c], 2);
  CHECK_NEAR(m.macro_f1, 0.6555555555555556, 1e-12); /* f1_score(average='macro') */
  /* Per class AUC by pair counting: class 0 = 7/8, class 1 = 4/8 (ties count 1/2),
   * class 2 = 7.5/8; roc_auc_score(y, P, multi_class='ovr') = 0.7708333333333334 */
  CHECK_NEAR(m.auc[0], 0.875, 1e-12);
  CHECK_NEAR(m.auc[1], 0.5, 1e-12);
  CHECK_NEAR(m.auc[2], 0.9375, 1e-12);
  CHECK_NEAR(m.roc_auc_macro, 0.7708333333333334, 1e-12);
  CHECK_INT(m.auc_skipped, 0);
  /* log_loss = -(ln .7 + ln .4 + ln .5 + ln .3 + ln .3 + ln .4) / 6 = 0.8817248661498099
   * (float32 inputs: tolerance 1e-7) */
  CHECK_NEAR(m.logloss, 0.8817248661498099, 1e-7);
}

TEST(absent_class_skipped_in_auc) {
  /* y_true has no class 2: its AUC is skipped and counted; macro averages classes 0 and 1. */
  const float y[4] = {0, 1, 1, 0};
  const float p[12] = {0.6f, 0.3f, 0.1f, 0.2f, 0.7f, 0.1f, 0.5f, 0.4f, 0.1f, 0.3f, 0.6f, 0.1f};
  struct tml_class_metrics m;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_metrics_classification(y, p, 4, 3, &m, &err), &err);
  CHECK_INT(m.auc_skipped, 1);
  CHECK(isnan(m.auc[2]));
  /* class 0 scores pos {0.6, 0.3} neg {0.2, 0.5}: pairs 2 + 1 = 3/4;
   * class 1 scores pos {0.7, 0.4} neg {0.3, 0.6}: pairs 2 + 1 = 3/4 */
  CHECK_NEAR(m.auc[0], 0.75, 1e-12);
  CHECK_NEAR(m.auc[1], 0.75, 1e-12);
  CHECK_NEAR(m.roc_auc_macro, 0.75, 1e-12);
  /* preds [0,1,0,1]: class 2 neither true nor predicted -> excluded from macro F1
   * (f1_score(average='macro') = 0.5 over labels {0,1}) */
  CHECK_NEAR(m.macro_f1, 0.5, 1e-12);
  CHECK_NEAR(m.precision[2], 0.0, 0);
  CHECK_INT(m.support[2], 0);
}

TEST(logloss_sklearn_doc_example) {
  /* log_loss(["spam","ham","ham","spam"], [[.1,.9],[.9,.1],[.8,.2],[.35,.65]])
   * = 0.21616187468057912 (scikit-learn documentation; ham = 0, spam = 1) */
  const float y[4] = {1, 0, 0, 1};
  const float p[8] = {0.1f, 0.9f, 0.9f, 0.1f, 0.8f, 0.2f, 0.35f, 0.65f};
  struct tml_class_metrics m;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_metrics_classification(y, p, 4, 2, &m, &err), &err);
  CHECK_NEAR(m.logloss, 0.21616187468057912, 1e-7);
  CHECK_NEAR(m.accuracy, 1.0, 0);
  CHECK_NEAR(m.roc_auc_macro, 1.0, 0);
  /* clipping: a zero probability on the true class costs -ln(1e-15) = 34.538776394910684 */
  const float y1[1] = {0};
  const float p1[2] = {0.0f, 1.0f};
  CHECK_OK(tml_metrics_classification(y1, p1, 1, 2, &m, &err), &err);
  CHECK_NEAR(m.logloss, 34.538776394910684, 1e-12);
  CHECK_INT(m.auc_skipped, 2);
  CHECK(isnan(m.roc_auc_macro));
}

TEST(auc_binary_sklearn_doc_example) {
  /* roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75 */
  const float s[4] = {0.1f, 0.4f, 0.35f, 0.8f};
  const unsigned char pos[4] = {0, 0, 1, 1};
  CHECK_NEAR(tml_metrics_auc_binary(s, pos, 4), 0.75, 1e-12);
  /* all tied: roc_auc_score([0,1,0,1], [0.5]*4) = 0.5 */
  const float t[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  const unsigned char pt[4] = {0, 1, 0, 1};
  CHECK_NEAR(tml_metrics_auc_binary(t, pt, 4), 0.5, 1e-12);
  const unsigned char none[4] = {0, 0, 0, 0};
  CHECK(isnan(tml_metrics_auc_binary(s, none, 4)));
}

TEST(regression_sklearn_doc_example) {
  /* y = [3,-0.5,2,7], p = [2.5,0,2,8]: mean_squared_error = 0.375 -> RMSE 0.6123724356957945,
   * mean_absolute_error = 0.5, r2_score = 0.9486081370449679 */
  const float y[4] = {3, -0.5f, 2, 7};
  const float p[4] = {2.5f, 0, 2, 8};
  struct tml_reg_metrics m;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_metrics_regression(y, p, 4, &m, &err), &err);
  CHECK_INT(m.n, 4);
  CHECK_NEAR(m.rmse, 0.6123724356957945, 1e-12);
  CHECK_NEAR(m.mae, 0.5, 1e-12);
  CHECK_NEAR(m.r2, 0.9486081370449679, 1e-12);
  /* constant y: r2 = 1 when perfect, 0 otherwise (sklearn force_finite) */
  const float c[2] = {1, 1}, q[2] = {1, 2};
  CHECK_OK(tml_metrics_regression(c, c, 2, &m, &err), &err);
  CHECK_NEAR(m.r2, 1.0, 0);
  CHECK_OK(tml_metrics_regression(c, q, 2, &m, &err), &err);
  CHECK_NEAR(m.r2, 0.0, 0);
  CHECK_NEAR(m.rmse, sqrt(0.5), 1e-12);
}

TEST(bad_input_rejected) {
  struct tml_class_metrics m;
  struct tml_reg_metrics r;
  struct tml_error err;
  tml_error_init(&err);
  const float y[2] = {0, 3};
  const float p[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  CHECK_INT(tml_metrics_classification(y, p, 2, 2, &m, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "row 1 is 3");
  tml_error_init(&err);
  CHECK_INT(tml_metrics_classification(y, p, 2, 9, &m, &err), TML_EINVAL);
  tml_error_init(&err);
  const float yn[1] = {NAN};
  CHECK_INT(tml_metrics_regression(yn, p, 1, &r, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "row 0");
  tml_error_init(&err);
  CHECK_INT(tml_metrics_regression(y, p, 0, &r, &err), TML_EINVAL);
}

TEST(json_output) {
  struct tml_class_metrics m;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_metrics_classification(y6, p6, 6, 3, &m, &err), &err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  const char *names[3] = {"down", "neutral", "up"};
  CHECK_INT(tml_class_metrics_to_json(&m, names, &b), 0);
  CHECK_CONTAINS(tml_buf_str(&b), "\"n\":6,\"nclass\":3,\"accuracy\":0.66666666666666663");
  CHECK_CONTAINS(tml_buf_str(&b), "{\"name\":\"down\",\"precision\":0.66666666666666663,\"recall\":1,"
                                  "\"f1\":0.8,\"support\":2,\"auc\":0.875}");
  CHECK_CONTAINS(tml_buf_str(&b), "\"confusion\":[[2,0,0],[1,1,0],[0,1,1]]}");
  tml_buf_reset(&b);
  struct tml_reg_metrics r = {4, 0.5, 0.25, NAN};
  CHECK_INT(tml_reg_metrics_to_json(&r, &b), 0);
  CHECK_STR(tml_buf_str(&b), "{\"n\":4,\"rmse\":0.5,\"mae\":0.25,\"r2\":null}");
  tml_buf_release(&b);
}
