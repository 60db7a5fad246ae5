/* Live quality: the realised outcome of a prediction once its label horizon has passed (the label code
 * of training: tml_targets_compute + tml_labels_head_value with the model's own thresholds), rolling
 * metrics per head over the newest resolved predictions, the model's walk-forward out-of-sample means
 * from report.json, and the drift verdict. */
#include "trademl/live.h"
#include "util/common.h"

#include <jansson.h>

#include "live/live_internal.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/series.h"

int tml_live_outcome(const struct tml_candles *c, size_t t, const struct tml_label_spec *spec,
                     const struct tml_label_thresholds *th, float outcome[TML_HEAD_COUNT], struct tml_error *err) {
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    outcome[h] = NAN;
  if (spec->horizon < 1)
    return tml_error_set(err, TML_EINVAL, "label horizon %d is not positive", spec->horizon);
  size_t hz = (size_t)spec->horizon;
  if (t >= c->len || c->len - t < hz + 1)
    return tml_error_set(err, TML_EDATA, "%s: the label horizon of %zu candles after candle %zu has not passed",
                         c->symbol, hz, t);
  /* The targets of row t depend on candles t..t+h only (docs/labels.md), so the window alone gives
   * exactly the values training computes on the whole series. */
  struct tml_candles win;
  struct tml_targets tg;
  memset(&tg, 0, sizeof(tg));
  int rc = tml_candles_slice(c, t, t + hz + 1, &win);
  if (rc)
    return tml_error_set(err, rc, "out of memory computing an outcome");
  if ((rc = tml_targets_compute(&win, spec, &tg, err)))
    goto out;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    float y = NAN;
    int hr = tml_labels_head_value((enum tml_head)h, th, tg.fwd_return[0], tg.fwd_vol[0], tg.timing[0],
                                   tg.stop_loss_pct[0], tg.position_size[0], &y);
    if (hr == TML_EDATA) {
      rc = tml_error_set(err, TML_EDATA, "%s: no outcome for candle %zu (unusable prices in its horizon)",
                         c->symbol, t);
      break;
    }
    if (hr) {
      rc = tml_error_set(err, hr, "computing the %s outcome", tml_head_name((enum tml_head)h));
      break;
    }
    outcome[h] = y;
  }
  if (rc)
    for (int h = 0; h < TML_HEAD_COUNT; h++)
      outcome[h] = NAN;
out:
  tml_targets_release(&tg);
  tml_candles_release(&win);
  return rc;
}

void tml_live_quality_compute(const struct tml_live_prediction *preds, size_t n, enum tml_head h,
                              struct tml_live_head_quality *q) {
  int k = tml_head_nclass(h);
  size_t cnt = 0, hits = 0;
  double ll = 0, se = 0;
  for (size_t i = 0; i < n; i++) {
    const struct tml_live_prediction *p = &preds[i];
    if (!p->resolved || isnan(p->outcome[h]))
      continue;
    cnt++;
    if (k > 0) {
      int y = (int)p->outcome[h];
      if (y < 0 || y >= k) {
        cnt--;
        continue;
      }
      hits += p->p.cls[h] == y;
      /* log loss as metrics.h: -ln(clip(p[true], 1e-15, 1 - 1e-15)) */
      double pr = (double)p->p.proba[h][y];
      pr = pr < 1e-15 ? 1e-15 : (pr > 1 - 1e-15 ? 1 - 1e-15 : pr);
      ll -= log(pr);
    } else {
      double d = (double)p->p.value[h] - (double)p->outcome[h];
      se += d * d;
    }
  }
  q->n = cnt;
  q->accuracy = q->logloss = q->rmse = NAN;
  if (cnt == 0)
    return;
  if (k > 0) {
    q->accuracy = (double)hits / (double)cnt;
    q->logloss = ll / (double)cnt;
  } else {
    q->rmse = sqrt(se / (double)cnt);
  }
}

bool tml_live_quality_drift(const struct tml_live_head_quality q[TML_HEAD_COUNT], size_t min_resolved,
                            double margin) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (tml_head_nclass((enum tml_head)h) == 0)
      continue;
    if (q[h].n >= min_resolved && !isnan(q[h].logloss) && !isnan(q[h].oos_logloss) &&
        q[h].logloss - q[h].oos_logloss > margin)
      return true;
  }
  return false;
}

static double summary_mean(json_t *summary, const char *head, const char *metric) {
  char key[96];
  snprintf(key, sizeof(key), "%s.%s", head, metric);
  json_t *m = json_object_get(summary, key);
  json_t *v = m ? json_object_get(m, "mean") : NULL;
  if (!json_is_number(v))
    return (double)NAN;
  return json_number_value(v);
}

int tml_live_quality_load_oos(const char *model_dir, struct tml_live_head_quality q[TML_HEAD_COUNT],
                              struct tml_error *err) {
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    q[h].oos_accuracy = q[h].oos_logloss = q[h].oos_rmse = NAN;
  char path[TML_PATH_MAX];
  int rc = tml_path_fmt(path, sizeof(path), err, "%s/report.json", model_dir);
  if (rc)
    return rc;
  if (!tml_path_exists(path))
    return 0;
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    return tml_error_set(err, TML_EPARSE, "cannot read '%s' line %d: %s", path, je.line, je.text);
  json_t *summary = json_object_get(root, "summary");
  for (int h = 0; json_is_object(summary) && h < TML_HEAD_COUNT; h++) {
    const char *name = tml_head_name((enum tml_head)h);
    q[h].oos_accuracy = summary_mean(summary, name, "accuracy");
    q[h].oos_logloss = summary_mean(summary, name, "logloss");
    q[h].oos_rmse = summary_mean(summary, name, "rmse");
  }
  json_decref(root);
  return 0;
}

static void num_field(json_t *o, const char *k, double *dst) {
  json_t *v = json_object_get(o, k);
  if (json_is_number(v))
    *dst = json_number_value(v);
}

static int num_array(json_t *o, const char *k, double *dst, size_t n) {
  json_t *a = json_object_get(o, k);
  if (!a)
    return 0;
  if (!json_is_array(a) || json_array_size(a) != n)
    return -1;
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(a, i);
    if (!json_is_number(v))
      return -1;
    dst[i] = json_number_value(v);
  }
  return 0;
}

int tml__live_model_labels(const char *metadata, struct tml_label_spec *spec, struct tml_label_thresholds *th,
                           struct tml_error *err) {
  tml_label_spec_default(spec);
  memset(th, 0, sizeof(*th));
  json_error_t je;
  json_t *root = metadata ? json_loads(metadata, 0, &je) : NULL;
  if (!root)
    return tml_error_set(err, TML_EMODEL, "metadata.json does not parse: %s", metadata ? je.text : "missing");
  int rc = 0;
  json_t *labels = json_object_get(root, "labels");
  json_t *s = labels ? json_object_get(labels, "spec") : NULL;
  json_t *t = labels ? json_object_get(labels, "thresholds") : NULL;
  if (!json_is_object(s) || !json_is_object(t)) {
    rc = tml_error_set(err, TML_EMODEL, "metadata.json has no labels.spec and labels.thresholds");
    goto out;
  }
  json_t *hz = json_object_get(s, "horizon");
  if (json_is_integer(hz))
    spec->horizon = (int)json_integer_value(hz);
  const char *mode = json_string_value(json_object_get(s, "direction_mode"));
  if (mode)
    spec->direction_mode = strcmp(mode, "band") == 0 ? TML_DIRECTION_BAND : TML_DIRECTION_QUANTILE;
  num_field(s, "direction_band", &spec->direction_band);
  num_field(s, "tp1_pct", &spec->tp1_pct);
  num_field(s, "tp1_stop_pct", &spec->tp1_stop_pct);
  num_field(s, "stop_loss_mult", &spec->stop_loss_mult);
  num_field(s, "stop_loss_min_pct", &spec->stop_loss_min_pct);
  num_field(s, "stop_loss_max_pct", &spec->stop_loss_max_pct);
  num_field(s, "target_risk_pct", &spec->target_risk_pct);
  num_field(s, "position_min", &spec->position_min);
  num_field(s, "position_max", &spec->position_max);
  if (num_array(s, "direction_quantiles", spec->direction_quantiles, 2) ||
      num_array(s, "volatility_quantiles", spec->volatility_quantiles, 3) ||
      num_array(s, "timing_quantiles", spec->timing_quantiles, 2) || !json_object_get(t, "direction") ||
      num_array(t, "direction", th->direction, 2) || !json_object_get(t, "volatility") ||
      num_array(t, "volatility", th->volatility, 3) || !json_object_get(t, "timing") ||
      num_array(t, "timing", th->timing, 2)) {
    rc = tml_error_set(err, TML_EMODEL, "metadata.json labels: a quantile or threshold list is malformed");
    goto out;
  }
  rc = tml_label_spec_validate(spec, err);
out:
  json_decref(root);
  return rc;
}
