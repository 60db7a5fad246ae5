/* The five targets and the take-profit-1 hit outcome (docs/labels.md). Continuous targets are
 * computed once for the whole series, O(n * h); class boundaries are quantiles fitted on training
 * rows only, so the same targets serve every fold without leakage. */
#include "trademl/labels.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/series.h"

static const char *const head_names[TML_HEAD_COUNT] = {"direction", "volatility", "timing",
                                                       "stop_loss", "position_size"};
static const int head_nclass[TML_HEAD_COUNT] = {3, 4, 3, 0, 0};
static const char *const direction_classes[] = {"down", "neutral", "up"};
static const char *const volatility_classes[] = {"low", "normal", "high", "extreme"};
static const char *const timing_classes[] = {"bad", "ok", "good"};

const char *tml_head_name(enum tml_head h) {
  if ((int)h < 0 || h >= TML_HEAD_COUNT)
    return NULL;
  return head_names[h];
}

int tml_head_nclass(enum tml_head h) {
  if ((int)h < 0 || h >= TML_HEAD_COUNT)
    return -1;
  return head_nclass[h];
}

const char *tml_head_class_name(enum tml_head h, int k) {
  if ((int)h < 0 || h >= TML_HEAD_COUNT || k < 0 || k >= head_nclass[h])
    return NULL;
  switch (h) {
  case TML_HEAD_DIRECTION:
    return direction_classes[k];
  case TML_HEAD_VOLATILITY:
    return volatility_classes[k];
  case TML_HEAD_TIMING:
    return timing_classes[k];
  default:
    return NULL;
  }
}

void tml_label_spec_default(struct tml_label_spec *s) {
  memset(s, 0, sizeof *s);
  s->horizon = 12;
  s->direction_mode = TML_DIRECTION_QUANTILE;
  s->direction_quantiles[0] = 1.0 / 3.0;
  s->direction_quantiles[1] = 2.0 / 3.0;
  s->direction_band = 0.002;
  s->volatility_quantiles[0] = 0.50;
  s->volatility_quantiles[1] = 0.80;
  s->volatility_quantiles[2] = 0.95;
  s->timing_quantiles[0] = 1.0 / 3.0;
  s->timing_quantiles[1] = 2.0 / 3.0;
  s->tp1_pct = 1.0;
  s->tp1_stop_pct = 1.0;
  s->stop_loss_mult = 1.0;
  s->stop_loss_min_pct = 0.5;
  s->stop_loss_max_pct = 5.0;
  s->target_risk_pct = 0.5;
  s->position_min = 0.1;
  s->position_max = 1.0;
  s->min_fit_rows = 50;
}

static bool in_open01(double q) { return isfinite(q) && q > 0.0 && q < 1.0; }

static int check_quantiles(const double *q, size_t n, const char *name, struct tml_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (!in_open01(q[i]))
      return tml_error_set(err, TML_EINVAL,
                           "label spec: %s[%zu] = %g must lie strictly between 0 and 1", name, i,
                           q[i]);
    if (i > 0 && !(q[i] > q[i - 1]))
      return tml_error_set(err, TML_EINVAL,
                           "label spec: %s must be strictly increasing (%g then %g)", name, q[i - 1],
                           q[i]);
  }
  return 0;
}

static int check_pos(double v, double max, const char *name, struct tml_error *err) {
  if (!isfinite(v) || v <= 0.0 || v > max)
    return tml_error_set(err, TML_EINVAL, "label spec: %s = %g must be > 0 and <= %g", name, v,
                         max);
  return 0;
}

int tml_label_spec_validate(const struct tml_label_spec *s, struct tml_error *err) {
  int rc;
  if (s->horizon < 1 || s->horizon > 100000)
    return tml_error_set(err, TML_EINVAL, "label spec: horizon = %d must be 1..100000 candles",
                         s->horizon);
  if (s->direction_mode != TML_DIRECTION_QUANTILE && s->direction_mode != TML_DIRECTION_BAND)
    return tml_error_set(err, TML_EINVAL,
                         "label spec: direction_mode = %d must be 0 (quantile) or 1 (band)",
                         s->direction_mode);
  if ((rc = check_quantiles(s->direction_quantiles, 2, "direction_quantiles", err)) ||
      (rc = check_quantiles(s->volatility_quantiles, 3, "volatility_quantiles", err)) ||
      (rc = check_quantiles(s->timing_quantiles, 2, "timing_quantiles", err)) ||
      (rc = check_pos(s->direction_band, 1.0, "direction_band", err)) ||
      (rc = check_pos(s->tp1_pct, 1000.0, "tp1_pct", err)) ||
      (rc = check_pos(s->tp1_stop_pct, 99.0, "tp1_stop_pct", err)) ||
      (rc = check_pos(s->stop_loss_mult, 100.0, "stop_loss_mult", err)) ||
      (rc = check_pos(s->stop_loss_min_pct, 99.0, "stop_loss_min_pct", err)) ||
      (rc = check_pos(s->stop_loss_max_pct, 99.0, "stop_loss_max_pct", err)) ||
      (rc = check_pos(s->target_risk_pct, 100.0, "target_risk_pct", err)) ||
      (rc = check_pos(s->position_min, 1000.0, "position_min", err)) ||
      (rc = check_pos(s->position_max, 1000.0, "position_max", err)))
    return rc;
  if (s->stop_loss_min_pct > s->stop_loss_max_pct)
    return tml_error_set(err, TML_EINVAL,
                         "label spec: stop_loss_min_pct %g is above stop_loss_max_pct %g",
                         s->stop_loss_min_pct, s->stop_loss_max_pct);
  if (s->position_min > s->position_max)
    return tml_error_set(err, TML_EINVAL, "label spec: position_min %g is above position_max %g",
                         s->position_min, s->position_max);
  if (s->min_fit_rows < 1)
    return tml_error_set(err, TML_EINVAL, "label spec: min_fit_rows must be at least 1");
  return 0;
}

int tml_label_spec_to_json(const struct tml_label_spec *s, struct tml_buf *out) {
  int rc = tml_buf_printf(out, "{\"horizon\":%d,\"direction_mode\":\"%s\",\"direction_quantiles\":[",
                          s->horizon, s->direction_mode == TML_DIRECTION_BAND ? "band" : "quantile");
  rc = rc ? rc : tml_buf_json_num(out, s->direction_quantiles[0]);
  rc = rc ? rc : tml_buf_putc(out, ',');
  rc = rc ? rc : tml_buf_json_num(out, s->direction_quantiles[1]);
  rc = rc ? rc : tml_buf_puts(out, "],\"direction_band\":");
  rc = rc ? rc : tml_buf_json_num(out, s->direction_band);
  rc = rc ? rc : tml_buf_puts(out, ",\"volatility_quantiles\":[");
  for (int i = 0; i < 3 && !rc; i++) {
    rc = i ? tml_buf_putc(out, ',') : 0;
    rc = rc ? rc : tml_buf_json_num(out, s->volatility_quantiles[i]);
  }
  rc = rc ? rc : tml_buf_puts(out, "],\"timing_quantiles\":[");
  rc = rc ? rc : tml_buf_json_num(out, s->timing_quantiles[0]);
  rc = rc ? rc : tml_buf_putc(out, ',');
  rc = rc ? rc : tml_buf_json_num(out, s->timing_quantiles[1]);
  struct {
    const char *name;
    double v;
  } f[] = {{"tp1_pct", s->tp1_pct},
           {"tp1_stop_pct", s->tp1_stop_pct},
           {"stop_loss_mult", s->stop_loss_mult},
           {"stop_loss_min_pct", s->stop_loss_min_pct},
           {"stop_loss_max_pct", s->stop_loss_max_pct},
           {"target_risk_pct", s->target_risk_pct},
           {"position_min", s->position_min},
           {"position_max", s->position_max}};
  rc = rc ? rc : tml_buf_putc(out, ']');
  for (size_t i = 0; i < TML_ARRAY_LEN(f) && !rc; i++) {
    rc = tml_buf_printf(out, ",\"%s\":", f[i].name);
    rc = rc ? rc : tml_buf_json_num(out, f[i].v);
  }
  rc = rc ? rc : tml_buf_printf(out, ",\"min_fit_rows\":%zu}", s->min_fit_rows);
  return rc;
}

void tml_targets_release(struct tml_targets *t) {
  if (!t)
    return;
  free(t->fwd_return);
  free(t->fwd_vol);
  free(t->timing);
  free(t->stop_loss_pct);
  free(t->position_size);
  free(t->tp1_hit);
  memset(t, 0, sizeof *t);
}

static double clip(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

static bool price_ok(double p) { return isfinite(p) && p > 0.0; }

/* Computes the targets of row t (window t+1..t+h fully inside the series). Returns false when a
 * price in the window is unusable. Formulas: docs/labels.md. */
static bool targets_row(const struct tml_candles *c, const struct tml_label_spec *s, size_t t,
                        double out[5], int8_t *hit) {
  size_t h = (size_t)s->horizon;
  double c0 = c->close[t];
  if (!price_ok(c0))
    return false;
  for (size_t j = t + 1; j <= t + h; j++)
    if (!price_ok(c->close[j]) || !price_ok(c->high[j]) || !price_ok(c->low[j]))
      return false;

  /* fwd_return = ln(close[t+h] / close[t]) */
  double fwd = log(c->close[t + h] / c0);

  /* fwd_vol = sqrt(1/h * sum_j (r_j - mean)^2), r_j = ln(close[j] / close[j-1]), j = t+1..t+h
   * (population std, numpy's np.std default ddof=0); two passes for accuracy. */
  double mean = 0.0;
  for (size_t j = t + 1; j <= t + h; j++)
    mean += log(c->close[j] / c->close[j - 1]);
  mean /= (double)h;
  double ss = 0.0;
  for (size_t j = t + 1; j <= t + h; j++) {
    double d = log(c->close[j] / c->close[j - 1]) - mean;
    ss += d * d;
  }
  double vol = sqrt(ss / (double)h);

  /* Excursions in the trade direction (long when fwd >= 0, else short), as fractions of close[t]:
   * long:  fav_j = high[j]/c0 - 1, adv_j = 1 - low[j]/c0
   * short: fav_j = 1 - low[j]/c0,  adv_j = high[j]/c0 - 1
   * MFE = max(0, max_j fav_j), MAE = max(0, max_j adv_j) over the whole horizon;
   * timing = MFE / (MFE + MAE) (a monotone map of MFE/MAE onto [0, 1]; 0.5 when both are 0).
   * MAE-before-target: max(0, adv_j) over j up to and including the first candle whose fav_j
   * reaches tp1_pct/100 (that candle's adverse move counts: intra-candle order is unknown), or
   * over the whole horizon when the target is never reached. */
  bool is_long = fwd >= 0.0;
  double tp = s->tp1_pct / 100.0;
  double mfe = 0.0, mae = 0.0, mae_before = 0.0;
  bool target_reached = false;
  for (size_t j = t + 1; j <= t + h; j++) {
    double fav = is_long ? c->high[j] / c0 - 1.0 : 1.0 - c->low[j] / c0;
    double adv = is_long ? 1.0 - c->low[j] / c0 : c->high[j] / c0 - 1.0;
    mfe = TML_MAX(mfe, fav);
    mae = TML_MAX(mae, adv);
    if (!target_reached) {
      mae_before = TML_MAX(mae_before, adv);
      if (fav >= tp)
        target_reached = true;
    }
  }
  double timing = (mfe + mae) > 0.0 ? mfe / (mfe + mae) : 0.5;

  /* stop_loss_pct = clip(100 * MAE_before_target * stop_loss_mult, min, max);
   * position_size = clip(target_risk_pct / stop_loss_pct, position_min, position_max). */
  double sl = clip(100.0 * mae_before * s->stop_loss_mult, s->stop_loss_min_pct,
                   s->stop_loss_max_pct);
  double pos = clip(s->target_risk_pct / sl, s->position_min, s->position_max);

  /* tp1 hit, long entry at close[t]: 1 if some high[j] >= c0*(1+tp1) before any low[j] <=
   * c0*(1-sl), j = t+1..t+h; a candle touching both counts as stop first (conservative). */
  double tp_px = c0 * (1.0 + tp), sl_px = c0 * (1.0 - s->tp1_stop_pct / 100.0);
  *hit = 0;
  for (size_t j = t + 1; j <= t + h; j++) {
    if (c->low[j] <= sl_px)
      break;
    if (c->high[j] >= tp_px) {
      *hit = 1;
      break;
    }
  }
  out[0] = fwd;
  out[1] = vol;
  out[2] = timing;
  out[3] = sl;
  out[4] = pos;
  return true;
}

int tml_targets_compute(const struct tml_candles *c, const struct tml_label_spec *s,
                        struct tml_targets *out, struct tml_error *err) {
  memset(out, 0, sizeof *out);
  int rc = tml_label_spec_validate(s, err);
  if (rc)
    return rc;
  size_t n = c->len, n1 = n ? n : 1;
  out->len = n;
  out->fwd_return = malloc(n1 * sizeof(double));
  out->fwd_vol = malloc(n1 * sizeof(double));
  out->timing = malloc(n1 * sizeof(double));
  out->stop_loss_pct = malloc(n1 * sizeof(double));
  out->position_size = malloc(n1 * sizeof(double));
  out->tp1_hit = malloc(n1);
  if (!out->fwd_return || !out->fwd_vol || !out->timing || !out->stop_loss_pct ||
      !out->position_size || !out->tp1_hit) {
    tml_targets_release(out);
    return tml_error_set(err, TML_ENOMEM, "targets for %s: cannot allocate %zu rows", c->symbol,
                         n);
  }
  size_t h = (size_t)s->horizon;
  for (size_t t = 0; t < n; t++) {
    double v[5];
    int8_t hit = -1;
    if (t + h < n && targets_row(c, s, t, v, &hit)) {
      out->fwd_return[t] = v[0];
      out->fwd_vol[t] = v[1];
      out->timing[t] = v[2];
      out->stop_loss_pct[t] = v[3];
      out->position_size[t] = v[4];
      out->tp1_hit[t] = hit;
    } else {
      out->fwd_return[t] = out->fwd_vol[t] = out->timing[t] = NAN;
      out->stop_loss_pct[t] = out->position_size[t] = NAN;
      out->tp1_hit[t] = -1;
      out->unlabelled++;
    }
  }
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Quantile of sorted x[0..n) with linear interpolation (numpy's default, Hyndman-Fan type 7):
 * pos = q (n - 1), x[floor(pos)] + frac(pos) (x[floor(pos)+1] - x[floor(pos)]). */
static double quantile_sorted(const double *x, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  if (i + 1 >= n)
    return x[n - 1];
  double frac = pos - (double)i;
  return x[i] + frac * (x[i + 1] - x[i]);
}

/* Collects the finite values of v over the ranges into buf, sorts them; returns the count. */
static size_t gather_sorted(const double *v, const struct tml_range *r, size_t nr, double *buf) {
  size_t m = 0;
  for (size_t k = 0; k < nr; k++)
    for (size_t i = r[k].begin; i < r[k].end; i++)
      if (isfinite(v[i]))
        buf[m++] = v[i];
  qsort(buf, m, sizeof *buf, cmp_double);
  return m;
}

int tml_labels_fit(const double *fwd_return, const double *fwd_vol, const double *timing,
                   const struct tml_range *train, size_t nranges, const struct tml_label_spec *s,
                   struct tml_label_thresholds *th, struct tml_error *err) {
  int rc = tml_label_spec_validate(s, err);
  if (rc)
    return rc;
  size_t rows = 0;
  for (size_t k = 0; k < nranges; k++) {
    if (train[k].end < train[k].begin)
      return tml_error_set(err, TML_EINVAL, "label fit: range %zu is reversed ([%zu, %zu))", k,
                           train[k].begin, train[k].end);
    rows += train[k].end - train[k].begin;
  }
  double *buf = malloc((rows ? rows : 1) * sizeof *buf);
  if (!buf)
    return tml_error_set(err, TML_ENOMEM, "label fit: cannot allocate %zu rows", rows);
  struct {
    const double *v;
    const double *q;
    double *out;
    int nq;
    const char *name;
  } heads[3] = {{fwd_return, s->direction_quantiles, th->direction, 2, "forward return"},
                {fwd_vol, s->volatility_quantiles, th->volatility, 3, "forward volatility"},
                {timing, s->timing_quantiles, th->timing, 2, "timing"}};
  struct tml_label_thresholds fitted;
  double *dst[3] = {fitted.direction, fitted.volatility, fitted.timing};
  for (int k = 0; k < 3; k++) {
    size_t m = gather_sorted(heads[k].v, train, nranges, buf);
    if (m < s->min_fit_rows) {
      rc = tml_error_set(err, TML_EDATA,
                         "label fit: only %zu labelled training rows of %s (of %zu rows); need at "
                         "least %zu (min_fit_rows): use a longer history or a shorter horizon",
                         m, heads[k].name, rows, s->min_fit_rows);
      goto out_free;
    }
    for (int i = 0; i < heads[k].nq; i++)
      dst[k][i] = quantile_sorted(buf, m, heads[k].q[i]);
  }
  if (s->direction_mode == TML_DIRECTION_BAND) {
    fitted.direction[0] = -s->direction_band;
    fitted.direction[1] = s->direction_band;
  }
  *th = fitted;
out_free:
  free(buf);
  return rc;
}

/* Class = number of boundaries b[i] with v > b[i] (boundaries ascending). */
static float class_of(double v, const double *b, int nb) {
  int k = 0;
  for (int i = 0; i < nb; i++)
    k += v > b[i];
  return (float)k;
}

int tml_labels_head_value(enum tml_head h, const struct tml_label_thresholds *th, double fwd_return,
                          double fwd_vol, double timing, double stop_loss_pct, double position_size,
                          float *y) {
  double v;
  switch (h) {
  case TML_HEAD_DIRECTION:
    v = fwd_return;
    break;
  case TML_HEAD_VOLATILITY:
    v = fwd_vol;
    break;
  case TML_HEAD_TIMING:
    v = timing;
    break;
  case TML_HEAD_STOP_LOSS:
    v = stop_loss_pct;
    break;
  case TML_HEAD_POSITION_SIZE:
    v = position_size;
    break;
  default:
    *y = NAN;
    return TML_EINVAL;
  }
  if (!isfinite(v)) {
    *y = NAN;
    return TML_EDATA;
  }
  switch (h) {
  case TML_HEAD_DIRECTION:
    *y = class_of(v, th->direction, 2);
    break;
  case TML_HEAD_VOLATILITY:
    *y = class_of(v, th->volatility, 3);
    break;
  case TML_HEAD_TIMING:
    *y = class_of(v, th->timing, 2);
    break;
  default:
    *y = (float)v;
    break;
  }
  return 0;
}

int tml_labels_head_fill(enum tml_head h, const struct tml_label_thresholds *th,
                         const struct tml_targets *t, float *y, size_t *nan_rows) {
  if ((int)h < 0 || h >= TML_HEAD_COUNT)
    return TML_EINVAL;
  size_t nan = 0;
  for (size_t i = 0; i < t->len; i++) {
    int rc = tml_labels_head_value(h, th, t->fwd_return[i], t->fwd_vol[i], t->timing[i],
                                   t->stop_loss_pct[i], t->position_size[i], &y[i]);
    nan += rc != 0;
  }
  if (nan_rows)
    *nan_rows = nan;
  return 0;
}
