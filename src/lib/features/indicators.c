/* Streaming technical indicators, one state machine per indicator, reproducing TA-Lib 0.4's C
 * functions (ta_func/ta_<NAME>.c) operation by operation: same seeding, same order of additions,
 * same zero tests (TA_IS_ZERO: |x| < 1e-14). The featureset module builds the model features on
 * these; tml_indicators_compute() exports the raw values under TA-Lib's names. */
#include "trademl/indicators.h"
#include "util/common.h"
#include "trademl/error.h"
#include "trademl/series.h"

#define DNAN ((double)NAN) /* NAN is a float; keep double expressions double */

/* ta_utility.h: TA_EPSILON, TA_IS_ZERO, TA_IS_ZERO_OR_NEG */
#define TA_EPSILON 0.00000000000001
#define TA_IS_ZERO(v) ((-TA_EPSILON) < (v) && (v) < TA_EPSILON)
#define TA_IS_ZERO_OR_NEG(v) ((v) < TA_EPSILON)

static bool period_ok(int period) { return period >= 1 && period <= TML_IND_MAX_PERIOD; }

/* ---- SMA (ta_SMA.c, INT_SMA): total += x; out = total/period; total -= oldest ---- */
int tml_sma_init(struct tml_sma *s, int period) {
  memset(s, 0, offsetof(struct tml_sma, buf));
  if (!period_ok(period))
    return TML_EINVAL;
  s->period = period;
  return 0;
}

double tml_sma_update(struct tml_sma *s, double x) {
  s->buf[s->pos] = x;
  s->sum += x;
  int oldest = s->pos + 1 == s->period ? 0 : s->pos + 1;
  s->pos = oldest;
  if (s->n < s->period - 1) {
    s->n++;
    return DNAN;
  }
  double out = s->sum / s->period;
  s->sum -= s->buf[oldest];
  return out;
}

/* ---- EMA (ta_EMA.c, INT_EMA, TA_COMPATIBILITY_DEFAULT) ---- */
int tml_ema_init(struct tml_ema *e, int period) {
  memset(e, 0, sizeof(*e));
  if (period < 1 || period > INT_MAX / 2)
    return TML_EINVAL;
  e->period = period;
  e->k = 2.0 / (double)(period + 1); /* PER_TO_K */
  return 0;
}

double tml_ema_update(struct tml_ema *e, double x) {
  if (e->n < e->period) {
    e->sum += x;
    if (++e->n < e->period)
      return DNAN;
    e->value = e->sum / e->period;
    return e->value;
  }
  e->value = ((x - e->value) * e->k) + e->value;
  return e->value;
}

/* ---- lag ring: value `period` updates ago ---- */
int tml_lag_init(struct tml_lag *l, int period) {
  memset(l, 0, offsetof(struct tml_lag, buf));
  if (!period_ok(period))
    return TML_EINVAL;
  l->period = period;
  return 0;
}

double tml_lag_update(struct tml_lag *l, double x) {
  /* ring of period+1 slots: after writing x at pos, slot pos+1 holds the value period ago */
  int size = l->period + 1;
  l->buf[l->pos] = x;
  int old = l->pos + 1 == size ? 0 : l->pos + 1;
  l->pos = old;
  if (l->n < l->period) {
    l->n++;
    return DNAN;
  }
  return l->buf[old];
}

/* ---- MOM (ta_MOM.c), ROC (ta_ROC.c) ---- */
int tml_mom_init(struct tml_mom *m, int period) { return tml_lag_init(&m->lag, period); }

double tml_mom_update(struct tml_mom *m, double x) {
  double prev = tml_lag_update(&m->lag, x);
  return isnan(prev) ? DNAN : x - prev;
}

int tml_roc_init(struct tml_roc *r, int period) { return tml_lag_init(&r->lag, period); }

double tml_roc_update(struct tml_roc *r, double x) {
  double prev = tml_lag_update(&r->lag, x);
  if (isnan(prev))
    return DNAN;
  return prev != 0.0 ? ((x / prev) - 1.0) * 100.0 : 0.0;
}

/* ---- RSI (ta_RSI.c): Wilder smoothing seeded with the mean of the first `period` changes ---- */
int tml_rsi_init(struct tml_rsi *r, int period) {
  memset(r, 0, sizeof(*r));
  if (period < 2 || period > INT_MAX / 2)
    return TML_EINVAL;
  r->period = period;
  return 0;
}

static double rsi_value(double gain, double loss) {
  double sum = gain + loss;
  return !TA_IS_ZERO(sum) ? 100.0 * (gain / sum) : 0.0;
}

double tml_rsi_update(struct tml_rsi *r, double x) {
  if (r->n == 0) {
    r->prev = x;
    r->n = 1;
    return DNAN;
  }
  double change = x - r->prev;
  r->prev = x;
  if (r->n <= r->period) { /* changes 1..period: plain sums */
    if (change < 0)
      r->loss -= change;
    else
      r->gain += change;
    if (++r->n <= r->period)
      return DNAN;
    r->loss /= r->period;
    r->gain /= r->period;
    return rsi_value(r->gain, r->loss);
  }
  r->loss *= (r->period - 1);
  r->gain *= (r->period - 1);
  if (change < 0)
    r->loss -= change;
  else
    r->gain += change;
  r->loss /= r->period;
  r->gain /= r->period;
  return rsi_value(r->gain, r->loss);
}

/* ---- TRANGE (ta_TRANGE.c) ---- */
void tml_trange_init(struct tml_trange *t) { memset(t, 0, sizeof(*t)); }

static double true_range(double high, double low, double prev_close) {
  double greatest = high - low;
  double v2 = fabs(prev_close - high);
  if (v2 > greatest)
    greatest = v2;
  double v3 = fabs(prev_close - low);
  if (v3 > greatest)
    greatest = v3;
  return greatest;
}

double tml_trange_update(struct tml_trange *t, double high, double low, double close) {
  double out = t->n ? true_range(high, low, t->prev_close) : DNAN;
  t->n = 1;
  t->prev_close = close;
  return out;
}

/* ---- ATR (ta_ATR.c): SMA of TRANGE[1..period], then atr = (atr*(period-1) + tr)/period ---- */
int tml_atr_init(struct tml_atr *a, int period) {
  memset(a, 0, sizeof(*a));
  if (period < 1 || period > INT_MAX / 2)
    return TML_EINVAL;
  a->period = period;
  tml_trange_init(&a->tr);
  return 0;
}

double tml_atr_update(struct tml_atr *a, double high, double low, double close) {
  double tr = tml_trange_update(&a->tr, high, low, close);
  if (a->n == 0) {
    a->n = 1;
    return DNAN;
  }
  if (a->period == 1) /* TA-Lib returns TRANGE itself */
    return tr;
  if (a->n <= a->period) {
    a->sum += tr;
    if (++a->n <= a->period)
      return DNAN;
    a->value = a->sum / a->period;
    return a->value;
  }
  a->value *= a->period - 1;
  a->value += tr;
  a->value /= a->period;
  return a->value;
}

/* ---- NATR (ta_NATR.c) ---- */
int tml_natr_init(struct tml_natr *a, int period) { return tml_atr_init(&a->atr, period); }

double tml_natr_update(struct tml_natr *a, double high, double low, double close) {
  double atr = tml_atr_update(&a->atr, high, low, close);
  if (isnan(atr))
    return DNAN;
  if (a->atr.period == 1)
    return atr; /* TA-Lib's NATR(1) is TRANGE, not normalised */
  return !TA_IS_ZERO(close) ? (atr / close) * 100.0 : 0.0;
}

/* ---- ADX / PLUS_DI / MINUS_DI (ta_ADX.c, ta_PLUS_DI.c, ta_MINUS_DI.c) ---- */
int tml_adx_init(struct tml_adx *a, int period) {
  memset(a, 0, sizeof(*a));
  if (period < 2 || period > INT_MAX / 4)
    return TML_EINVAL;
  a->period = period;
  return 0;
}

double tml_adx_update(struct tml_adx *a, double high, double low, double close, double *plus_di,
                      double *minus_di) {
  double pdi = DNAN, mdi = DNAN, out = DNAN;
  if (a->n == 0) {
    a->prev_high = high;
    a->prev_low = low;
    a->prev_close = close;
    a->n = 1;
    goto done;
  }
  double p = a->period;
  double diff_p = high - a->prev_high; /* plus delta */
  double diff_m = a->prev_low - low;   /* minus delta */
  a->prev_high = high;
  a->prev_low = low;
  double tr = true_range(high, low, a->prev_close);
  a->prev_close = close;
  if (a->n < a->period) { /* candles 1..period-1: plain sums */
    if (diff_m > 0 && diff_p < diff_m)
      a->minus_dm += diff_m;
    else if (diff_p > 0 && diff_p > diff_m)
      a->plus_dm += diff_p;
    a->tr += tr;
    a->n++;
    goto done;
  }
  a->minus_dm -= a->minus_dm / p;
  a->plus_dm -= a->plus_dm / p;
  if (diff_m > 0 && diff_p < diff_m)
    a->minus_dm += diff_m;
  else if (diff_p > 0 && diff_p > diff_m)
    a->plus_dm += diff_p;
  a->tr = a->tr - (a->tr / p) + tr;
  bool tr_zero = TA_IS_ZERO(a->tr);
  mdi = tr_zero ? 0.0 : 100.0 * (a->minus_dm / a->tr);
  pdi = tr_zero ? 0.0 : 100.0 * (a->plus_dm / a->tr);
  double dx = DNAN;
  if (!tr_zero) {
    double sum = mdi + pdi;
    if (!TA_IS_ZERO(sum))
      dx = 100.0 * (fabs(mdi - pdi) / sum);
  }
  if (a->n < 2 * a->period - 1) { /* first `period` DX values: summed */
    if (!isnan(dx))
      a->sum_dx += dx;
    a->n++;
    goto done;
  }
  if (a->n == 2 * a->period - 1) {
    if (!isnan(dx))
      a->sum_dx += dx;
    a->adx = a->sum_dx / p;
    a->n++;
  } else if (!isnan(dx)) {
    a->adx = ((a->adx * (p - 1)) + dx) / p;
  }
  out = a->adx;
done:
  if (plus_di)
    *plus_di = pdi;
  if (minus_di)
    *minus_di = mdi;
  return out;
}

/* ---- MACD (ta_MACD.c, INT_MACD) ---- */
int tml_macd_init(struct tml_macd *m, int fast, int slow, int signal) {
  memset(m, 0, sizeof(*m));
  if (fast < 2 || slow < 2 || signal < 1 || fast > 100000 || slow > 100000 || signal > 100000)
    return TML_EINVAL;
  if (slow < fast) { /* TA-Lib swaps them */
    int t = slow;
    slow = fast;
    fast = t;
  }
  m->fast = fast;
  m->slow = slow;
  m->signal = signal;
  tml_ema_init(&m->ema_fast, fast);
  tml_ema_init(&m->ema_slow, slow);
  tml_ema_init(&m->ema_signal, signal);
  return 0;
}

double tml_macd_update(struct tml_macd *m, double x, double *signal, double *hist) {
  double line = DNAN, sig = DNAN, h = DNAN;
  double slow = tml_ema_update(&m->ema_slow, x);
  /* The fast EMA is seeded on the `fast` values ending where the slow one is first defined. */
  double fast = m->n >= m->slow - m->fast ? tml_ema_update(&m->ema_fast, x) : DNAN;
  if (m->n < INT_MAX)
    m->n++;
  if (!isnan(slow)) {
    double macd = fast - slow;
    sig = tml_ema_update(&m->ema_signal, macd);
    if (!isnan(sig)) {
      line = macd;
      h = macd - sig;
    }
  }
  if (signal)
    *signal = sig;
  if (hist)
    *hist = h;
  return line;
}

/* ---- BBANDS (ta_BBANDS.c with INT_stddev_using_precalc_ma from ta_STDDEV.c) ---- */
int tml_bbands_init(struct tml_bbands *b, int period, double nbdev) {
  memset(b, 0, offsetof(struct tml_bbands, buf));
  if (period < 2 || period > TML_IND_MAX_PERIOD || !isfinite(nbdev))
    return TML_EINVAL;
  b->period = period;
  b->nbdev = nbdev;
  return 0;
}

double tml_bbands_update(struct tml_bbands *b, double x, double *upper, double *lower) {
  double mid = DNAN, up = DNAN, lo = DNAN;
  b->buf[b->pos] = x;
  b->sum += x;
  double sq = x * x;
  b->sum2 += sq;
  int oldest = b->pos + 1 == b->period ? 0 : b->pos + 1;
  b->pos = oldest;
  if (b->n < b->period - 1) {
    b->n++;
  } else {
    mid = b->sum / b->period;
    b->sum -= b->buf[oldest];
    double mean2 = b->sum2 / b->period;
    double old = b->buf[oldest];
    old *= old;
    b->sum2 -= old;
    double mid2 = mid * mid;
    mean2 -= mid2;
    double sd = !TA_IS_ZERO_OR_NEG(mean2) ? sqrt(mean2) : 0.0;
    double t = sd * b->nbdev;
    up = mid + t;
    lo = mid - t;
  }
  if (upper)
    *upper = up;
  if (lower)
    *lower = lo;
  return mid;
}

/* ---- rolling max/min: monotonic deque over (index, value) ---- */
int tml_rolling_extreme_init(struct tml_rolling_extreme *r, int period, bool is_max) {
  memset(r, 0, offsetof(struct tml_rolling_extreme, idx));
  if (!period_ok(period))
    return TML_EINVAL;
  r->period = period;
  r->is_max = is_max;
  return 0;
}

double tml_rolling_extreme_update(struct tml_rolling_extreme *r, double x) {
  int cap = r->period;
  /* drop values the new one dominates, from the back */
  while (r->count > 0) {
    int back = r->head + r->count - 1;
    if (back >= cap)
      back -= cap;
    double v = r->val[back];
    if (r->is_max ? v <= x : v >= x)
      r->count--;
    else
      break;
  }
  /* drop the front if it left the window */
  if (r->count > 0 && r->idx[r->head] <= r->n - cap) {
    r->head = r->head + 1 == cap ? 0 : r->head + 1;
    r->count--;
  }
  int slot = r->head + r->count;
  if (slot >= cap)
    slot -= cap;
  r->idx[slot] = r->n;
  r->val[slot] = x;
  r->count++;
  r->n++;
  return r->n >= cap ? r->val[r->head] : DNAN;
}

/* ---- STOCH (ta_STOCH.c) with SMA slow-k and slow-d ---- */
int tml_stoch_init(struct tml_stoch *s, int fastk_period, int slowk_period, int slowd_period) {
  if (tml_rolling_extreme_init(&s->hh, fastk_period, true) ||
      tml_rolling_extreme_init(&s->ll, fastk_period, false) ||
      tml_sma_init(&s->slowk, slowk_period) || tml_sma_init(&s->slowd, slowd_period))
    return TML_EINVAL;
  return 0;
}

double tml_stoch_update(struct tml_stoch *s, double high, double low, double close, double *slowd) {
  double hh = tml_rolling_extreme_update(&s->hh, high);
  double ll = tml_rolling_extreme_update(&s->ll, low);
  double k = DNAN, d = DNAN;
  if (!isnan(hh)) {
    double diff = (hh - ll) / 100.0;
    double fastk = diff != 0.0 ? (close - ll) / diff : 0.0;
    k = tml_sma_update(&s->slowk, fastk);
    if (!isnan(k)) {
      d = tml_sma_update(&s->slowd, k);
      if (isnan(d))
        k = DNAN; /* TA-Lib aligns slow-k with slow-d */
    }
  }
  if (slowd)
    *slowd = d;
  return k;
}

/* ---- WILLR (ta_WILLR.c) ---- */
int tml_willr_init(struct tml_willr *w, int period) {
  if (period < 2 || tml_rolling_extreme_init(&w->hh, period, true) ||
      tml_rolling_extreme_init(&w->ll, period, false))
    return TML_EINVAL;
  return 0;
}

double tml_willr_update(struct tml_willr *w, double high, double low, double close) {
  double hh = tml_rolling_extreme_update(&w->hh, high);
  double ll = tml_rolling_extreme_update(&w->ll, low);
  if (isnan(hh))
    return DNAN;
  double diff = (hh - ll) / (-100.0);
  return diff != 0.0 ? (hh - close) / diff : 0.0;
}

/* ---- CCI (ta_CCI.c): sums over the circular buffer in slot order, as TA-Lib ---- */
int tml_cci_init(struct tml_cci *c, int period) {
  memset(c, 0, offsetof(struct tml_cci, buf));
  if (period < 2 || period > TML_IND_MAX_PERIOD)
    return TML_EINVAL;
  c->period = period;
  return 0;
}

double tml_cci_update(struct tml_cci *c, double high, double low, double close) {
  double last = (high + low + close) / 3;
  c->buf[c->pos] = last;
  c->pos = c->pos + 1 == c->period ? 0 : c->pos + 1;
  if (c->n < c->period - 1) {
    c->n++;
    return DNAN;
  }
  double avg = 0;
  for (int j = 0; j < c->period; j++)
    avg += c->buf[j];
  avg /= c->period;
  double dev = 0;
  for (int j = 0; j < c->period; j++)
    dev += fabs(c->buf[j] - avg);
  double num = last - avg;
  if (num != 0.0 && dev != 0.0)
    return num / (0.015 * (dev / c->period));
  return 0.0;
}

/* ---- MFI (ta_MFI.c) ---- */
int tml_mfi_init(struct tml_mfi *m, int period) {
  memset(m, 0, offsetof(struct tml_mfi, pos_flow));
  if (period < 2 || period > TML_IND_MAX_PERIOD)
    return TML_EINVAL;
  m->period = period;
  return 0;
}

double tml_mfi_update(struct tml_mfi *m, double high, double low, double close, double volume) {
  double tp = (high + low + close) / 3.0;
  if (m->n == 0) {
    m->prev_tp = tp;
    m->n = 1;
    return DNAN;
  }
  if (m->n > m->period) { /* the slot about to be reused holds the flow leaving the window */
    m->pos_sum -= m->pos_flow[m->pos];
    m->neg_sum -= m->neg_flow[m->pos];
  }
  double change = tp - m->prev_tp;
  m->prev_tp = tp;
  double flow = tp * volume;
  if (change < 0) {
    m->neg_flow[m->pos] = flow;
    m->neg_sum += flow;
    m->pos_flow[m->pos] = 0.0;
  } else if (change > 0) {
    m->pos_flow[m->pos] = flow;
    m->pos_sum += flow;
    m->neg_flow[m->pos] = 0.0;
  } else {
    m->pos_flow[m->pos] = 0.0;
    m->neg_flow[m->pos] = 0.0;
  }
  m->pos = m->pos + 1 == m->period ? 0 : m->pos + 1;
  if (m->n <= m->period) {
    if (++m->n <= m->period)
      return DNAN;
  }
  double total = m->pos_sum + m->neg_sum;
  return total < 1.0 ? 0.0 : 100.0 * (m->pos_sum / total);
}

/* ---- OBV (ta_OBV.c) ---- */
void tml_obv_init(struct tml_obv *o) { memset(o, 0, sizeof(*o)); }

double tml_obv_update(struct tml_obv *o, double close, double volume) {
  if (o->n == 0) {
    o->n = 1;
    o->value = volume;
  } else if (close > o->prev_close) {
    o->value += volume;
  } else if (close < o->prev_close) {
    o->value -= volume;
  }
  o->prev_close = close;
  return o->value;
}

/* ---- the raw TA-Lib table ---- */
enum {
  COL_RSI,
  COL_EMA,
  COL_MACD,
  COL_MACDSIGNAL,
  COL_MACDHIST,
  COL_ATR,
  COL_NATR,
  COL_ADX,
  COL_PLUS_DI,
  COL_MINUS_DI,
  COL_BB_UPPER,
  COL_BB_MIDDLE,
  COL_BB_LOWER,
  COL_STOCH_K,
  COL_STOCH_D,
  COL_WILLR,
  COL_CCI,
  COL_MFI,
  COL_OBV,
  COL_ROC,
  COL_MOM,
  COL_SMA,
  COL_TRANGE,
  COL_COUNT
};

static const char *const table_names[COL_COUNT] = {
    "RSI_14",           "EMA_20",           "MACD_12_26_9",       "MACDSIGNAL_12_26_9",
    "MACDHIST_12_26_9", "ATR_14",           "NATR_14",            "ADX_14",
    "PLUS_DI_14",       "MINUS_DI_14",      "BBANDS_UPPER_20_2",  "BBANDS_MIDDLE_20_2",
    "BBANDS_LOWER_20_2", "STOCH_SLOWK_14_3_3", "STOCH_SLOWD_14_3_3", "WILLR_14",
    "CCI_20",           "MFI_14",           "OBV",                "ROC_10",
    "MOM_10",           "SMA_50",           "TRANGE"};

struct table_state {
  struct tml_rsi rsi;
  struct tml_ema ema;
  struct tml_macd macd;
  struct tml_atr atr;
  struct tml_natr natr;
  struct tml_adx adx;
  struct tml_bbands bb;
  struct tml_stoch stoch;
  struct tml_willr willr;
  struct tml_cci cci;
  struct tml_mfi mfi;
  struct tml_obv obv;
  struct tml_roc roc;
  struct tml_mom mom;
  struct tml_sma sma;
  struct tml_trange tr;
};

int tml_indicators_compute(const struct tml_candles *c, struct tml_indicator_table *out,
                           struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  size_t n = c->len;
  struct table_state *st = malloc(sizeof(*st));
  out->names = malloc(sizeof(*out->names) * COL_COUNT);
  out->values = malloc(sizeof(double) * COL_COUNT * (n ? n : 1));
  if (!st || !out->names || !out->values) {
    free(st);
    tml_indicator_table_release(out);
    return tml_error_set(err, TML_ENOMEM, "cannot compute indicators for %zu candles: out of memory",
                         n);
  }
  out->nrows = n;
  out->ncols = COL_COUNT;
  for (size_t i = 0; i < COL_COUNT; i++)
    out->names[i] = table_names[i];
  /* Parameters are constants in range; the inits cannot fail. */
  tml_rsi_init(&st->rsi, 14);
  tml_ema_init(&st->ema, 20);
  tml_macd_init(&st->macd, 12, 26, 9);
  tml_atr_init(&st->atr, 14);
  tml_natr_init(&st->natr, 14);
  tml_adx_init(&st->adx, 14);
  tml_bbands_init(&st->bb, 20, 2.0);
  tml_stoch_init(&st->stoch, 14, 3, 3);
  tml_willr_init(&st->willr, 14);
  tml_cci_init(&st->cci, 20);
  tml_mfi_init(&st->mfi, 14);
  tml_obv_init(&st->obv);
  tml_roc_init(&st->roc, 10);
  tml_mom_init(&st->mom, 10);
  tml_sma_init(&st->sma, 50);
  tml_trange_init(&st->tr);
  double *v = out->values;
#define AT(col) v[(size_t)(col) * n + i]
  for (size_t i = 0; i < n; i++) {
    double h = c->high[i], l = c->low[i], cl = c->close[i], vol = c->volume[i];
    AT(COL_RSI) = tml_rsi_update(&st->rsi, cl);
    AT(COL_EMA) = tml_ema_update(&st->ema, cl);
    AT(COL_MACD) = tml_macd_update(&st->macd, cl, &AT(COL_MACDSIGNAL), &AT(COL_MACDHIST));
    AT(COL_ATR) = tml_atr_update(&st->atr, h, l, cl);
    AT(COL_NATR) = tml_natr_update(&st->natr, h, l, cl);
    AT(COL_ADX) = tml_adx_update(&st->adx, h, l, cl, &AT(COL_PLUS_DI), &AT(COL_MINUS_DI));
    AT(COL_BB_MIDDLE) = tml_bbands_update(&st->bb, cl, &AT(COL_BB_UPPER), &AT(COL_BB_LOWER));
    AT(COL_STOCH_K) = tml_stoch_update(&st->stoch, h, l, cl, &AT(COL_STOCH_D));
    AT(COL_WILLR) = tml_willr_update(&st->willr, h, l, cl);
    AT(COL_CCI) = tml_cci_update(&st->cci, h, l, cl);
    AT(COL_MFI) = tml_mfi_update(&st->mfi, h, l, cl, vol);
    AT(COL_OBV) = tml_obv_update(&st->obv, cl, vol);
    AT(COL_ROC) = tml_roc_update(&st->roc, cl);
    AT(COL_MOM) = tml_mom_update(&st->mom, cl);
    AT(COL_SMA) = tml_sma_update(&st->sma, cl);
    AT(COL_TRANGE) = tml_trange_update(&st->tr, h, l, cl);
  }
#undef AT
  free(st);
  return 0;
}

void tml_indicator_table_release(struct tml_indicator_table *t) {
  if (!t)
    return;
  free(t->names);
  free(t->values);
  t->names = NULL;
  t->values = NULL;
  t->nrows = t->ncols = 0;
}
