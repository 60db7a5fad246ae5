/* Classification and regression metrics for model reports and validation gates. Definitions match
 * scikit-learn (accuracy_score, precision_recall_fscore_support with zero_division=0, f1_score
 * average='macro', roc_auc_score one-vs-rest per class, log_loss, confusion_matrix,
 * mean_squared_error, mean_absolute_error, r2_score), so numbers can be checked against it. */
#include "trademl/metrics.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/error.h"

struct scored {
  float score;
  unsigned char pos;
};

static int cmp_scored(const void *a, const void *b) {
  float x = ((const struct scored *)a)->score, y = ((const struct scored *)b)->score;
  return (x > y) - (x < y);
}

/* ROC AUC = (R_pos - n_pos (n_pos + 1) / 2) / (n_pos n_neg), R_pos = sum of the 1-based ranks of
 * the positives among all scores, tied scores sharing their average rank (Mann-Whitney U). This
 * equals the trapezoidal area under the ROC curve that scikit-learn computes. Sorts p in place. */
static double auc_sorted(struct scored *p, size_t n) {
  size_t npos = 0;
  for (size_t i = 0; i < n; i++)
    npos += p[i].pos != 0;
  size_t nneg = n - npos;
  if (npos == 0 || nneg == 0)
    return NAN;
  qsort(p, n, sizeof *p, cmp_scored);
  double rank_sum = 0.0;
  for (size_t i = 0; i < n;) {
    size_t j = i, pos_in_tie = 0;
    while (j < n && p[j].score == p[i].score) {
      pos_in_tie += p[j].pos != 0;
      j++;
    }
    double avg_rank = ((double)(i + 1) + (double)j) / 2.0; /* ranks i+1..j */
    rank_sum += avg_rank * (double)pos_in_tie;
    i = j;
  }
  double np = (double)npos;
  return (rank_sum - np * (np + 1.0) / 2.0) / (np * (double)nneg);
}

double tml_metrics_auc_binary(const float *score, const unsigned char *positive, size_t n) {
  if (n == 0)
    return NAN;
  struct scored *p = malloc(n * sizeof *p);
  if (!p)
    return NAN;
  double auc = NAN;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(score[i]))
      goto out;
    p[i].score = score[i];
    p[i].pos = positive[i] != 0;
  }
  auc = auc_sorted(p, n);
out:
  free(p);
  return auc;
}

int tml_metrics_classification(const float *y_true, const float *proba, size_t n, int k,
                               struct tml_class_metrics *m, struct tml_error *err) {
  memset(m, 0, sizeof *m);
  if (k < 2 || k > TML_MAX_CLASSES)
    return tml_error_set(err, TML_EINVAL, "classification metrics: %d classes, need 2..%d", k,
                         TML_MAX_CLASSES);
  if (n == 0)
    return tml_error_set(err, TML_EINVAL, "classification metrics: no rows to evaluate");
  size_t uk = (size_t)k;
  for (size_t i = 0; i < n; i++) {
    float y = y_true[i];
    if (!(y >= 0.0f && y < (float)k && y == floorf(y)))
      return tml_error_set(err, TML_EINVAL,
                           "classification metrics: label of row %zu is %g, not a class 0..%d", i,
                           (double)y, k - 1);
    for (size_t c = 0; c < uk; c++)
      if (!isfinite(proba[i * uk + c]))
        return tml_error_set(err, TML_EINVAL,
                             "classification metrics: probability of class %zu in row %zu is not "
                             "a number",
                             c, i);
  }
  struct scored *buf = malloc(n * sizeof *buf);
  if (!buf)
    return tml_error_set(err, TML_ENOMEM, "classification metrics: cannot allocate %zu rows", n);

  m->nclass = k;
  m->n = n;
  /* Confusion matrix [true][pred], predicted = argmax (first maximum on ties, like numpy);
   * log loss = -1/n sum_i ln(clip(p_i[y_i], 1e-15, 1 - 1e-15)) (no renormalisation). */
  double ll = 0.0;
  size_t correct = 0;
  for (size_t i = 0; i < n; i++) {
    size_t y = (size_t)y_true[i], pred = 0;
    const float *p = proba + i * uk;
    for (size_t c = 1; c < uk; c++)
      if (p[c] > p[pred])
        pred = c;
    m->confusion[y][pred]++;
    correct += pred == y;
    double py = (double)p[y];
    py = py < 1e-15 ? 1e-15 : (py > 1.0 - 1e-15 ? 1.0 - 1e-15 : py);
    ll -= log(py);
  }
  m->accuracy = (double)correct / (double)n; /* accuracy = correct / n */
  m->logloss = ll / (double)n;

  /* Per class c: TP = C[c][c], precision = TP / sum_t C[t][c], recall = TP / sum_p C[c][p],
   * F1 = 2 P R / (P + R); a 0/0 is 0 (sklearn zero_division=0). Macro F1 averages the classes
   * that occur in y_true or in the predictions (sklearn's default label set). */
  double f1_sum = 0.0;
  int f1_classes = 0;
  for (size_t c = 0; c < uk; c++) {
    size_t tp = m->confusion[c][c], pred_c = 0, true_c = 0;
    for (size_t o = 0; o < uk; o++) {
      pred_c += m->confusion[o][c];
      true_c += m->confusion[c][o];
    }
    m->support[c] = true_c;
    m->precision[c] = pred_c ? (double)tp / (double)pred_c : 0.0;
    m->recall[c] = true_c ? (double)tp / (double)true_c : 0.0;
    double pr = m->precision[c] + m->recall[c];
    m->f1[c] = pr > 0.0 ? 2.0 * m->precision[c] * m->recall[c] / pr : 0.0;
    if (pred_c || true_c) {
      f1_sum += m->f1[c];
      f1_classes++;
    }
  }
  m->macro_f1 = f1_classes ? f1_sum / f1_classes : 0.0;

  /* One-vs-rest ROC AUC per class on p[c]; a class absent from y_true (or in every row) has no
   * AUC: it is skipped and counted in auc_skipped. Macro = mean over the others. */
  double auc_sum = 0.0;
  int auc_n = 0;
  for (size_t c = 0; c < uk; c++) {
    for (size_t i = 0; i < n; i++) {
      buf[i].score = proba[i * uk + c];
      buf[i].pos = (size_t)y_true[i] == c;
    }
    m->auc[c] = auc_sorted(buf, n);
    if (isnan(m->auc[c])) {
      m->auc_skipped++;
    } else {
      auc_sum += m->auc[c];
      auc_n++;
    }
  }
  for (size_t c = uk; c < TML_MAX_CLASSES; c++)
    m->auc[c] = NAN;
  m->roc_auc_macro = auc_n ? auc_sum / auc_n : (double)NAN;
  free(buf);
  return 0;
}

int tml_metrics_regression(const float *y_true, const float *pred, size_t n,
                           struct tml_reg_metrics *m, struct tml_error *err) {
  memset(m, 0, sizeof *m);
  if (n == 0)
    return tml_error_set(err, TML_EINVAL, "regression metrics: no rows to evaluate");
  double mean = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(y_true[i]) || !isfinite(pred[i]))
      return tml_error_set(err, TML_EINVAL,
                           "regression metrics: row %zu has a non-finite value (y %g, pred %g)",
                           i, (double)y_true[i], (double)pred[i]);
    mean += (double)y_true[i];
  }
  mean /= (double)n;
  /* RMSE = sqrt(1/n sum (y - p)^2); MAE = 1/n sum |y - p|; R^2 = 1 - SS_res / SS_tot with
   * SS_res = sum (y - p)^2, SS_tot = sum (y - mean y)^2 (sklearn r2_score, force_finite). */
  double ss_res = 0.0, ss_tot = 0.0, abs_sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double e = (double)y_true[i] - (double)pred[i], d = (double)y_true[i] - mean;
    ss_res += e * e;
    abs_sum += fabs(e);
    ss_tot += d * d;
  }
  m->n = n;
  m->rmse = sqrt(ss_res / (double)n);
  m->mae = abs_sum / (double)n;
  m->r2 = ss_tot > 0.0 ? 1.0 - ss_res / ss_tot : (ss_res == 0.0 ? 1.0 : 0.0);
  return 0;
}

static int put_key_num(struct tml_buf *b, const char *key, double v) {
  int rc = tml_buf_printf(b, "\"%s\":", key);
  return rc ? rc : tml_buf_json_num(b, v);
}

int tml_class_metrics_to_json(const struct tml_class_metrics *m, const char *const *class_names,
                              struct tml_buf *out) {
  int rc = tml_buf_printf(out, "{\"n\":%zu,\"nclass\":%d,", m->n, m->nclass);
  rc = rc ? rc : put_key_num(out, "accuracy", m->accuracy);
  rc = rc ? rc : tml_buf_putc(out, ',');
  rc = rc ? rc : put_key_num(out, "macro_f1", m->macro_f1);
  rc = rc ? rc : tml_buf_putc(out, ',');
  rc = rc ? rc : put_key_num(out, "roc_auc_macro", m->roc_auc_macro);
  rc = rc ? rc : tml_buf_printf(out, ",\"auc_skipped\":%d,", m->auc_skipped);
  rc = rc ? rc : put_key_num(out, "logloss", m->logloss);
  rc = rc ? rc : tml_buf_puts(out, ",\"classes\":[");
  for (int c = 0; c < m->nclass && c < TML_MAX_CLASSES && !rc; c++) {
    rc = tml_buf_puts(out, c ? ",{\"name\":" : "{\"name\":");
    char idx[16];
    snprintf(idx, sizeof idx, "%d", c);
    rc = rc ? rc : tml_buf_json_str(out, class_names ? class_names[c] : idx);
    rc = rc ? rc : tml_buf_putc(out, ',');
    rc = rc ? rc : put_key_num(out, "precision", m->precision[c]);
    rc = rc ? rc : tml_buf_putc(out, ',');
    rc = rc ? rc : put_key_num(out, "recall", m->recall[c]);
    rc = rc ? rc : tml_buf_putc(out, ',');
    rc = rc ? rc : put_key_num(out, "f1", m->f1[c]);
    rc = rc ? rc : tml_buf_printf(out, ",\"support\":%zu,", m->support[c]);
    rc = rc ? rc : put_key_num(out, "auc", m->auc[c]);
    rc = rc ? rc : tml_buf_putc(out, '}');
  }
  rc = rc ? rc : tml_buf_puts(out, "],\"confusion\":[");
  for (int t = 0; t < m->nclass && t < TML_MAX_CLASSES && !rc; t++) {
    rc = tml_buf_puts(out, t ? ",[" : "[");
    for (int p = 0; p < m->nclass && !rc; p++)
      rc = tml_buf_printf(out, p ? ",%zu" : "%zu", m->confusion[t][p]);
    rc = rc ? rc : tml_buf_putc(out, ']');
  }
  rc = rc ? rc : tml_buf_puts(out, "]}");
  return rc;
}

int tml_reg_metrics_to_json(const struct tml_reg_metrics *m, struct tml_buf *out) {
  int rc = tml_buf_printf(out, "{\"n\":%zu,", m->n);
  rc = rc ? rc : put_key_num(out, "rmse", m->rmse);
  rc = rc ? rc : tml_buf_putc(out, ',');
  rc = rc ? rc : put_key_num(out, "mae", m->mae);
  rc = rc ? rc : tml_buf_putc(out, ',');
  rc = rc ? rc : put_key_num(out, "r2", m->r2);
  rc = rc ? rc : tml_buf_putc(out, '}');
  return rc;
}
