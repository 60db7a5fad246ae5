/* Model quality metrics: classification (accuracy, per-class precision/recall/F1, macro F1,
 * one-vs-rest ROC AUC, log loss, confusion matrix) and regression (RMSE, MAE, R^2). Definitions
 * follow scikit-learn; each formula is written where it is computed (src/lib/learn/metrics.c). */
#ifndef TML_METRICS_H
#define TML_METRICS_H

#include <stddef.h>

struct tml_buf;
struct tml_error;

#define TML_MAX_CLASSES 8

struct tml_class_metrics {
  int nclass;
  size_t n;
  double accuracy;
  double precision[TML_MAX_CLASSES]; /* 0 when the class is never predicted (sklearn zero_division=0) */
  double recall[TML_MAX_CLASSES];    /* 0 when the class is absent from y_true */
  double f1[TML_MAX_CLASSES];
  size_t support[TML_MAX_CLASSES];   /* rows of y_true in the class */
  double macro_f1;                   /* mean F1 over classes present in y_true or predicted */
  double auc[TML_MAX_CLASSES];       /* one-vs-rest ROC AUC; NaN when skipped */
  double roc_auc_macro;              /* mean of the non-skipped auc[]; NaN when all skipped */
  int auc_skipped;                   /* classes skipped: absent from y_true (or present in all rows) */
  double logloss;                    /* mean -ln(clip(p[true], 1e-15, 1 - 1e-15)) */
  size_t confusion[TML_MAX_CLASSES][TML_MAX_CLASSES]; /* [true][pred] */
};

/* y_true holds class ids 0..k-1 as floats; proba is n x k row-major (rows should sum to 1); the
 * predicted class is the argmax (first on ties). 2 <= k <= TML_MAX_CLASSES, n >= 1. Returns 0,
 * TML_EINVAL (bad k/n, a label that is not a class id, or a NaN probability; the message names the
 * row) or TML_ENOMEM. */
int tml_metrics_classification(const float *y_true, const float *proba, size_t n, int k,
                               struct tml_class_metrics *m, struct tml_error *err);

struct tml_reg_metrics {
  size_t n;
  double rmse, mae, r2;
};

/* RMSE, MAE and R^2 (1 - SS_res/SS_tot; when SS_tot = 0: 1 if SS_res = 0 else 0, as scikit-learn).
 * 0, or TML_EINVAL for n = 0 or a non-finite value (named by row). */
int tml_metrics_regression(const float *y_true, const float *pred, size_t n,
                           struct tml_reg_metrics *m, struct tml_error *err);

/* Binary ROC AUC by ranks (Mann-Whitney U / (n_pos n_neg), average ranks for ties); NaN if either
 * class is absent or memory runs out. */
double tml_metrics_auc_binary(const float *score, const unsigned char *positive, size_t n);

/* Appends the metrics as JSON; class_names (nclass strings) may be NULL (then "0", "1", ...).
 * NaN is written as null. 0 or TML_ENOMEM/TML_ETOOBIG. */
int tml_class_metrics_to_json(const struct tml_class_metrics *m, const char *const *class_names,
                              struct tml_buf *out);
int tml_reg_metrics_to_json(const struct tml_reg_metrics *m, struct tml_buf *out);

#endif
