/* Feature set v1: the model's input columns, computed by one streaming code path.
 * The column table below (name + definition string) is the single source of the names, the order
 * and the checksum; docs/features.md explains each column. Indicators come from indicators.c
 * (TA-Lib definitions); the rolling statistics here are exact window sums, re-summed from their
 * ring once per window so that running-sum drift cannot accumulate. */
#include "trademl/featureset.h"
#include "trademl/mem.h"
#include "util/common.h"

#include <pthread.h>
#include "trademl/error.h"
#include "trademl/indicators.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"

#define DNAN ((double)NAN) /* NAN is a float; keep double expressions double */

/* X(id, name, definition). Changing a definition string changes the checksum: do it whenever
 * the computation of that column changes, and bump TML_FEATURESET_VERSION for new sets. */
#define TML_FEATURES(X)                                                                           \
  X(RET_LOG_1, "ret_log_1", "ln(close/close[t-1])")                                               \
  X(RET_LOG_3, "ret_log_3", "ln(close/close[t-3])")                                               \
  X(RET_LOG_6, "ret_log_6", "ln(close/close[t-6])")                                               \
  X(RET_LOG_12, "ret_log_12", "ln(close/close[t-12])")                                            \
  X(RET_LOG_24, "ret_log_24", "ln(close/close[t-24])")                                            \
  X(RET_LOG_48, "ret_log_48", "ln(close/close[t-48])")                                            \
  X(RET_LOG_96, "ret_log_96", "ln(close/close[t-96])")                                            \
  X(RSI_7, "rsi_7", "RSI(close,7)/100 talib")                                                     \
  X(RSI_14, "rsi_14", "RSI(close,14)/100 talib")                                                  \
  X(RSI_28, "rsi_28", "RSI(close,28)/100 talib")                                                  \
  X(EMA_DIST_9, "ema_dist_9", "close/EMA(close,9)-1")                                             \
  X(EMA_DIST_20, "ema_dist_20", "close/EMA(close,20)-1")                                          \
  X(EMA_DIST_50, "ema_dist_50", "close/EMA(close,50)-1")                                          \
  X(EMA_DIST_200, "ema_dist_200", "close/EMA(close,200)-1")                                       \
  X(SMA_DIST_20, "sma_dist_20", "close/SMA(close,20)-1")                                          \
  X(SMA_DIST_50, "sma_dist_50", "close/SMA(close,50)-1")                                          \
  X(SMA_DIST_200, "sma_dist_200", "close/SMA(close,200)-1")                                       \
  X(EMA_SPREAD_9_20, "ema_spread_9_20", "EMA(close,9)/EMA(close,20)-1")                           \
  X(EMA_SPREAD_20_50, "ema_spread_20_50", "EMA(close,20)/EMA(close,50)-1")                        \
  X(MACD_NORM, "macd_norm", "MACD(12,26,9) line/close")                                           \
  X(MACDSIGNAL_NORM, "macdsignal_norm", "MACD(12,26,9) signal/close")                             \
  X(MACDHIST_NORM, "macdhist_norm", "MACD(12,26,9) hist/close")                                   \
  X(BB_PCTB, "bb_pctb_20_2", "(close-lower)/(upper-lower) BBANDS(20,2,SMA); 0.5 if upper==lower") \
  X(BB_WIDTH, "bb_width_20_2", "(upper-lower)/middle BBANDS(20,2,SMA)")                           \
  X(NATR_14, "natr_14", "ATR(14)/close")                                                          \
  X(TR_ATR_14, "tr_atr_14", "TRANGE/ATR(14); 1 if ATR==0")                                        \
  X(ADX_14, "adx_14", "ADX(14)/100")                                                              \
  X(PLUS_DI_14, "plus_di_14", "PLUS_DI(14)/100")                                                  \
  X(MINUS_DI_14, "minus_di_14", "MINUS_DI(14)/100")                                               \
  X(STOCH_K, "stoch_k_14_3_3", "STOCH(14,3,SMA,3,SMA) slowk/100")                                 \
  X(STOCH_D, "stoch_d_14_3_3", "STOCH(14,3,SMA,3,SMA) slowd/100")                                 \
  X(STOCH_KD, "stoch_kd_14_3_3", "(slowk-slowd)/100")                                             \
  X(WILLR_14, "willr_14", "WILLR(14)/100")                                                        \
  X(CCI_20, "cci_20", "CCI(20)/100")                                                              \
  X(MFI_14, "mfi_14", "MFI(14)/100")                                                              \
  X(OBV_SLOPE_20, "obv_slope_20", "(OBV-OBV[t-20])/sum(volume,20); 0 if sum==0")                  \
  X(ROC_10, "roc_10", "ROC(close,10)/100")                                                        \
  X(VOL_CC_20, "vol_cc_20", "sample stddev of ret_log_1 over 20")                                 \
  X(VOL_CC_60, "vol_cc_60", "sample stddev of ret_log_1 over 60")                                 \
  X(VOL_PARK_20, "vol_parkinson_20", "sqrt(mean(ln(h/l)^2,20)/(4ln2))")                          \
  X(VOL_GK_20, "vol_gk_20", "sqrt(max(0,mean(0.5ln(h/l)^2-(2ln2-1)ln(c/o)^2,20)))")               \
  X(VOL_RS_20, "vol_rs_20", "sqrt(max(0,mean(ln(h/c)ln(h/o)+ln(l/c)ln(l/o),20)))")                \
  X(VOL_RATIO_20_60, "vol_ratio_20_60", "vol_cc_20/vol_cc_60; 1 if vol_cc_60==0")                 \
  X(VOLUME_Z_20, "volume_z_20", "(volume-mean(volume,20))/pstd(volume,20); 0 if pstd~0")          \
  X(VOLUME_Z_100, "volume_z_100", "(volume-mean(volume,100))/pstd(volume,100); 0 if pstd~0")      \
  X(VOLUME_RATIO_20, "volume_ratio_20", "volume/mean(volume,20); 1 if mean==0")                   \
  X(VWAP_DIST_20, "vwap_dist_20", "close/(sum(tp*v,20)/sum(v,20))-1, tp=(h+l+c)/3; 0 if sum(v)==0") \
  X(VWAP_DIST_100, "vwap_dist_100", "close/(sum(tp*v,100)/sum(v,100))-1; 0 if sum(v)==0")         \
  X(EMA_SLOPE_20_5, "ema_slope_20_5", "EMA(close,20)/EMA(close,20)[t-5]-1")                       \
  X(RET_Z_20, "ret_z_20", "ret_log_1/vol_cc_20; 0 if vol_cc_20==0")                               \
  X(BODY, "body", "(close-open)/(high-low); 0 if high==low")                                      \
  X(UPPER_WICK, "upper_wick", "(high-max(open,close))/(high-low); 0 if high==low")                \
  X(LOWER_WICK, "lower_wick", "(min(open,close)-low)/(high-low); 0 if high==low")                 \
  X(RANGE_ATR, "range_atr_14", "(high-low)/ATR(14); 1 if ATR==0")                                 \
  X(CLOSE_LOC, "close_loc", "(close-low)/(high-low); 0.5 if high==low")                           \
  X(GAP, "gap", "ln(open/close[t-1])")                                                            \
  X(RUN_UP, "run_up", "consecutive candles with close>open ending at t")                          \
  X(RUN_DOWN, "run_down", "consecutive candles with close<open ending at t")                      \
  X(DIST_HIGH_50, "dist_high_50", "close/max(high,50)-1")                                         \
  X(DIST_LOW_50, "dist_low_50", "close/min(low,50)-1")                                            \
  X(HTF_RET_LOG_1, "htf_ret_log_1", "ln(C/C[k-1]) of closed higher candles")                      \
  X(HTF_RET_LOG_6, "htf_ret_log_6", "ln(C/C[k-6]) of closed higher candles")                      \
  X(HTF_RSI_14, "htf_rsi_14", "RSI(C,14)/100 on closed higher candles")                           \
  X(HTF_EMA_DIST_20, "htf_ema_dist_20", "close/EMA(C,20)-1, EMA on closed higher candles")        \
  X(HTF_EMA_DIST_50, "htf_ema_dist_50", "close/EMA(C,50)-1, EMA on closed higher candles")        \
  X(HTF_NATR_14, "htf_natr_14", "ATR(14)/C on closed higher candles")                             \
  X(HTF_ADX_14, "htf_adx_14", "ADX(14)/100 on closed higher candles")                             \
  X(HTF_MACDHIST_NORM, "htf_macdhist_norm", "MACD(12,26,9) hist/C on closed higher candles")      \
  X(HTF_BB_PCTB, "htf_bb_pctb_20_2", "(close-lower)/(upper-lower) of higher BBANDS(20,2); 0.5 if equal") \
  X(HTF_VOL_CC_20, "htf_vol_cc_20", "sample stddev of higher ln(C/C[k-1]) over 20")

enum {
#define X(id, name, def) F_##id,
  TML_FEATURES(X)
#undef X
      F_COUNT
};

static const char *const feature_names[F_COUNT] = {
#define X(id, name, def) name,
    TML_FEATURES(X)
#undef X
};

static const char *const feature_defs[F_COUNT] = {
#define X(id, name, def) def,
    TML_FEATURES(X)
#undef X
};

/* Lookbacks that bound the warm-up (see tml_featureset_warmup and docs/features.md). */
#define BASE_WARMUP 200 /* EMA/SMA(200): first value at candle 199 */
#define HTF_CANDLES 50  /* EMA(50) on higher candles: first value at the 50th closed one */
#define LC_RING 128     /* log closes kept for ret_log_* (>= 97) */
#define LN2 0.693147180559945309417232121458176568

size_t tml_featureset_ncols(void) { return F_COUNT; }

const char *tml_featureset_name(size_t col) { return col < F_COUNT ? feature_names[col] : NULL; }

long tml_featureset_index(const char *name) {
  for (long i = 0; name && i < F_COUNT; i++)
    if (strcmp(feature_names[i], name) == 0)
      return i;
  return -1;
}

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

static char checksum_hex[17];
static pthread_once_t checksum_once = PTHREAD_ONCE_INIT;

static void checksum_compute(void) {
  char version[64];
  snprintf(version, sizeof(version), "trademl-featureset v%d htf-bars-closed\n",
           TML_FEATURESET_VERSION);
  uint64_t h = fnv1a(UINT64_C(0xcbf29ce484222325), version);
  for (size_t i = 0; i < F_COUNT; i++) {
    h = fnv1a(h, feature_names[i]);
    h = fnv1a(h, "=");
    h = fnv1a(h, feature_defs[i]);
    h = fnv1a(h, "\n");
  }
  snprintf(checksum_hex, sizeof(checksum_hex), "%016" PRIx64, h);
}

const char *tml_featureset_checksum(void) {
  pthread_once(&checksum_once, checksum_compute);
  return checksum_hex;
}

int64_t tml_featureset_default_htf(int64_t base) {
  if (base <= 0)
    return 0;
  if (base < TML_MS_PER_HOUR)
    return TML_MS_PER_HOUR;
  if (base < 4 * TML_MS_PER_HOUR)
    return 4 * TML_MS_PER_HOUR;
  if (base < TML_MS_PER_DAY)
    return TML_MS_PER_DAY;
  if (base < 7 * TML_MS_PER_DAY)
    return 7 * TML_MS_PER_DAY;
  return 0;
}

static int resolve_opts(const struct tml_featureset_opts *o, int64_t series_interval, int64_t *base,
                        int64_t *htf, struct tml_error *err) {
  *base = o && o->base_interval_ms ? o->base_interval_ms : series_interval;
  if (*base <= 0)
    return tml_error_set(err, TML_EINVAL,
                         "feature set: base interval is %" PRId64 " ms; set the candle interval "
                         "(e.g. 15m) of the series",
                         *base);
  *htf = o && o->htf_interval_ms ? o->htf_interval_ms : tml_featureset_default_htf(*base);
  if (*htf <= *base || *htf % *base != 0)
    return tml_error_set(err, TML_EINVAL,
                         "feature set: higher interval %" PRId64 " ms is not a multiple above the "
                         "base interval %" PRId64 " ms; choose e.g. 1h for 15m candles",
                         *htf, *base);
  return 0;
}

size_t tml_featureset_warmup(const struct tml_featureset_opts *o) {
  int64_t base, htf;
  if (!o || resolve_opts(o, 0, &base, &htf, NULL))
    return 0;
  int64_t ratio = htf / base;
  /* a partial first bucket (< ratio candles, skipped) + HTF_CANDLES closed buckets */
  int64_t htf_need = (HTF_CANDLES + 1) * ratio;
  return (size_t)TML_MAX(htf_need, (int64_t)BASE_WARMUP);
}

/* ---- exact rolling sums of x and x^2 over `period` values ---- */
struct rsum {
  int period, n, pos;
  double s, s2;
  double buf[TML_IND_MAX_PERIOD];
};

static void rsum_init(struct rsum *r, int period) {
  memset(r, 0, offsetof(struct rsum, buf));
  r->period = period;
}

/* Adds x; returns true once the window is full. */
static bool rsum_update(struct rsum *r, double x) {
  if (r->n == r->period) {
    double old = r->buf[r->pos];
    r->s -= old;
    r->s2 -= old * old;
  } else {
    r->n++;
  }
  r->buf[r->pos] = x;
  r->s += x;
  r->s2 += x * x;
  if (++r->pos == r->period) {
    r->pos = 0;
    /* re-sum the window once per wrap: drift never exceeds one window's rounding */
    double s = 0, s2 = 0;
    for (int i = 0; i < r->n; i++) {
      s += r->buf[i];
      s2 += r->buf[i] * r->buf[i];
    }
    r->s = s;
    r->s2 = s2;
  }
  return r->n == r->period;
}

static double rsum_mean(const struct rsum *r) { return r->n == r->period ? r->s / r->n : DNAN; }

/* Sample variance (n-1), clamped at 0. */
static double rsum_svar(const struct rsum *r) {
  if (r->n != r->period || r->n < 2)
    return DNAN;
  double v = (r->s2 - r->s * r->s / r->n) / (r->n - 1);
  return v > 0 ? v : 0.0;
}

/* Population variance, 0 when it is negligible against the mean square (rounding residue). */
static double rsum_pvar(const struct rsum *r) {
  if (r->n != r->period)
    return DNAN;
  double ms = r->s2 / r->n;
  double m = r->s / r->n;
  double v = ms - m * m;
  return v > 1e-12 * ms ? v : 0.0;
}

/* a/b - 1 with NaN propagation; `dflt` when b == 0. */
static double rel(double a, double b, double dflt) {
  if (isnan(a) || isnan(b))
    return DNAN;
  return b != 0.0 ? a / b - 1.0 : dflt;
}

static double ratio(double a, double b, double dflt) {
  if (isnan(a) || isnan(b))
    return DNAN;
  return b != 0.0 ? a / b : dflt;
}

/* ---- higher-timeframe candles and their indicators ---- */
struct htf_state {
  int64_t interval, base;
  bool open_bucket;  /* a bucket is being built */
  bool skip_bucket;  /* the current bucket started mid-way (first candles of the stream) */
  int64_t bucket;    /* its UTC start */
  double o, h, l, c, v;
  int64_t closed;    /* closed buckets fed to the indicators */
  double prev_lc;
  struct tml_lag lc_lag6;
  struct rsum ret20;
  struct tml_rsi rsi14;
  struct tml_ema ema20, ema50;
  struct tml_natr natr14;
  struct tml_adx adx14;
  struct tml_macd macd;
  struct tml_bbands bb;
  /* values of the last closed bucket (NaN until defined) */
  double ret1, ret6, rsi, ema20v, ema50v, natr, adx, macdhist_norm, bb_up, bb_lo, vol20;
};

static void htf_init(struct htf_state *h, int64_t base, int64_t interval) {
  memset(h, 0, sizeof(*h));
  h->interval = interval;
  h->base = base;
  tml_lag_init(&h->lc_lag6, 6);
  rsum_init(&h->ret20, 20);
  tml_rsi_init(&h->rsi14, 14);
  tml_ema_init(&h->ema20, 20);
  tml_ema_init(&h->ema50, 50);
  tml_natr_init(&h->natr14, 14);
  tml_adx_init(&h->adx14, 14);
  tml_macd_init(&h->macd, 12, 26, 9);
  tml_bbands_init(&h->bb, 20, 2.0);
  h->ret1 = h->ret6 = h->rsi = h->ema20v = h->ema50v = h->natr = h->adx = DNAN;
  h->macdhist_norm = h->bb_up = h->bb_lo = h->vol20 = DNAN;
}

static void htf_close_bucket(struct htf_state *h) {
  h->open_bucket = false;
  if (h->skip_bucket) {
    h->skip_bucket = false;
    return;
  }
  double lc = log(h->c);
  double lag6 = tml_lag_update(&h->lc_lag6, lc);
  h->ret6 = isnan(lag6) ? DNAN : lc - lag6;
  if (h->closed > 0) {
    h->ret1 = lc - h->prev_lc;
    h->vol20 = rsum_update(&h->ret20, h->ret1) ? sqrt(rsum_svar(&h->ret20)) : DNAN;
  }
  h->prev_lc = lc;
  h->closed++;
  h->rsi = tml_rsi_update(&h->rsi14, h->c) * 0.01;
  h->ema20v = tml_ema_update(&h->ema20, h->c);
  h->ema50v = tml_ema_update(&h->ema50, h->c);
  h->natr = tml_natr_update(&h->natr14, h->h, h->l, h->c) * 0.01;
  h->adx = tml_adx_update(&h->adx14, h->h, h->l, h->c, NULL, NULL) * 0.01;
  double hist;
  tml_macd_update(&h->macd, h->c, NULL, &hist);
  h->macdhist_norm = hist / h->c;
  tml_bbands_update(&h->bb, h->c, &h->bb_up, &h->bb_lo);
}

static void htf_push(struct htf_state *h, bool first, int64_t t, double o, double hi, double lo,
                     double c, double v) {
  /* most candles fall in the open bucket: skip the division then */
  int64_t b = h->open_bucket && t >= h->bucket && t - h->bucket < h->interval
                  ? h->bucket
                  : tml_time_floor(t, h->interval);
  if (h->open_bucket && b != h->bucket)
    htf_close_bucket(h); /* a candle of a later bucket arrived */
  if (!h->open_bucket || b != h->bucket) {
    h->open_bucket = true;
    h->bucket = b;
    h->skip_bucket = first && t != b;
    h->o = o;
    h->h = hi;
    h->l = lo;
    h->c = c;
    h->v = v;
  } else {
    if (hi > h->h)
      h->h = hi;
    if (lo < h->l)
      h->l = lo;
    h->c = c;
    h->v += v;
  }
  if (t + h->base >= b + h->interval)
    htf_close_bucket(h); /* its last sub-candle arrived */
}

/* ---- the stream ---- */
struct tml_feature_stream;
static int push_context(struct tml_feature_stream *s, int64_t t, double o, double hi, double lo, double c);

struct tml_feature_stream {
  int64_t base, htf;
  int64_t n, last_time;
  double lc_ring[LC_RING]; /* log closes, slot n % LC_RING */
  double prev_close;
  struct tml_rsi rsi7, rsi14, rsi28;
  struct tml_ema ema9, ema20, ema50, ema200;
  struct tml_sma sma20, sma50, sma200;
  struct tml_macd macd;
  struct tml_bbands bb;
  struct tml_atr atr14;
  struct tml_trange tr;
  struct tml_adx adx;
  struct tml_stoch stoch;
  struct tml_willr willr;
  struct tml_cci cci;
  struct tml_mfi mfi;
  struct tml_obv obv;
  struct tml_lag obv_lag20, ema20_lag5;
  struct tml_roc roc10;
  struct rsum ret20, ret60, park20, gk20, rs20, vol20, vol100, pv20, pv100;
  struct tml_rolling_extreme hh50, ll50;
  int64_t run_up, run_down;
  struct htf_state h;
};

int tml_feature_stream_create(const struct tml_featureset_opts *o, struct tml_feature_stream **out,
                              struct tml_error *err) {
  *out = NULL;
  int64_t base, htf;
  int rc = resolve_opts(o, 0, &base, &htf, err);
  if (rc)
    return rc;
  struct tml_feature_stream *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "cannot create a feature stream: out of memory");
  s->base = base;
  s->htf = htf;
  tml_rsi_init(&s->rsi7, 7);
  tml_rsi_init(&s->rsi14, 14);
  tml_rsi_init(&s->rsi28, 28);
  tml_ema_init(&s->ema9, 9);
  tml_ema_init(&s->ema20, 20);
  tml_ema_init(&s->ema50, 50);
  tml_ema_init(&s->ema200, 200);
  tml_sma_init(&s->sma20, 20);
  tml_sma_init(&s->sma50, 50);
  tml_sma_init(&s->sma200, 200);
  tml_macd_init(&s->macd, 12, 26, 9);
  tml_bbands_init(&s->bb, 20, 2.0);
  tml_atr_init(&s->atr14, 14);
  tml_trange_init(&s->tr);
  tml_adx_init(&s->adx, 14);
  tml_stoch_init(&s->stoch, 14, 3, 3);
  tml_willr_init(&s->willr, 14);
  tml_cci_init(&s->cci, 20);
  tml_mfi_init(&s->mfi, 14);
  tml_obv_init(&s->obv);
  tml_lag_init(&s->obv_lag20, 20);
  tml_lag_init(&s->ema20_lag5, 5);
  tml_roc_init(&s->roc10, 10);
  rsum_init(&s->ret20, 20);
  rsum_init(&s->ret60, 60);
  rsum_init(&s->park20, 20);
  rsum_init(&s->gk20, 20);
  rsum_init(&s->rs20, 20);
  rsum_init(&s->vol20, 20);
  rsum_init(&s->vol100, 100);
  rsum_init(&s->pv20, 20);
  rsum_init(&s->pv100, 100);
  tml_rolling_extreme_init(&s->hh50, 50, true);
  tml_rolling_extreme_init(&s->ll50, 50, false);
  htf_init(&s->h, base, htf);
  *out = s;
  return 0;
}

void tml_feature_stream_destroy(struct tml_feature_stream *s) { free(s); }

static bool candle_ok(double o, double h, double l, double c, double v) {
  return isfinite(o) && isfinite(h) && isfinite(l) && isfinite(c) && isfinite(v) && o > 0 &&
         h > 0 && l > 0 && c > 0 && v >= 0;
}

static double lc_at(const struct tml_feature_stream *s, int64_t lag) {
  if (s->n - 1 < lag)
    return DNAN;
  return s->lc_ring[(s->n - 1 - lag) % LC_RING];
}

int tml_feature_stream_push(struct tml_feature_stream *s, int64_t t, double o, double hi, double lo,
                            double c, double v, float *row, bool *ready) {
  *ready = false;
  if (!candle_ok(o, hi, lo, c, v) || (s->n > 0 && t <= s->last_time))
    return TML_EINVAL;
  double f[F_COUNT];
  double lc = log(c), lo_ = log(o), lh = log(hi), ll = log(lo);
  s->lc_ring[s->n % LC_RING] = lc;
  s->n++;
  s->last_time = t;

  /* returns */
  static const int horizons[7] = {1, 3, 6, 12, 24, 48, 96};
  for (int i = 0; i < 7; i++)
    f[F_RET_LOG_1 + i] = lc - lc_at(s, horizons[i]);
  double r1 = f[F_RET_LOG_1];

  f[F_RSI_7] = tml_rsi_update(&s->rsi7, c) * 0.01;
  f[F_RSI_14] = tml_rsi_update(&s->rsi14, c) * 0.01;
  f[F_RSI_28] = tml_rsi_update(&s->rsi28, c) * 0.01;

  double e9 = tml_ema_update(&s->ema9, c), e20 = tml_ema_update(&s->ema20, c);
  double e50 = tml_ema_update(&s->ema50, c), e200 = tml_ema_update(&s->ema200, c);
  f[F_EMA_DIST_9] = rel(c, e9, 0);
  f[F_EMA_DIST_20] = rel(c, e20, 0);
  f[F_EMA_DIST_50] = rel(c, e50, 0);
  f[F_EMA_DIST_200] = rel(c, e200, 0);
  f[F_SMA_DIST_20] = rel(c, tml_sma_update(&s->sma20, c), 0);
  f[F_SMA_DIST_50] = rel(c, tml_sma_update(&s->sma50, c), 0);
  f[F_SMA_DIST_200] = rel(c, tml_sma_update(&s->sma200, c), 0);
  f[F_EMA_SPREAD_9_20] = rel(e9, e20, 0);
  f[F_EMA_SPREAD_20_50] = rel(e20, e50, 0);
  f[F_EMA_SLOPE_20_5] = isnan(e20) ? DNAN : rel(e20, tml_lag_update(&s->ema20_lag5, e20), 0);

  double sig, hist;
  double macd = tml_macd_update(&s->macd, c, &sig, &hist);
  f[F_MACD_NORM] = macd / c;
  f[F_MACDSIGNAL_NORM] = sig / c;
  f[F_MACDHIST_NORM] = hist / c;

  double up, lw;
  double mid = tml_bbands_update(&s->bb, c, &up, &lw);
  f[F_BB_PCTB] = isnan(mid) ? DNAN : (up > lw ? (c - lw) / (up - lw) : 0.5);
  f[F_BB_WIDTH] = ratio(up - lw, mid, 0);

  double atr = tml_atr_update(&s->atr14, hi, lo, c);
  double tr = tml_trange_update(&s->tr, hi, lo, c);
  f[F_NATR_14] = atr / c;
  f[F_TR_ATR_14] = ratio(tr, atr, 1.0);

  double pdi, mdi;
  f[F_ADX_14] = tml_adx_update(&s->adx, hi, lo, c, &pdi, &mdi) * 0.01;
  f[F_PLUS_DI_14] = pdi * 0.01;
  f[F_MINUS_DI_14] = mdi * 0.01;

  double sd;
  double sk = tml_stoch_update(&s->stoch, hi, lo, c, &sd);
  f[F_STOCH_K] = sk * 0.01;
  f[F_STOCH_D] = sd * 0.01;
  f[F_STOCH_KD] = (sk - sd) * 0.01;
  f[F_WILLR_14] = tml_willr_update(&s->willr, hi, lo, c) * 0.01;
  f[F_CCI_20] = tml_cci_update(&s->cci, hi, lo, c) * 0.01;
  f[F_MFI_14] = tml_mfi_update(&s->mfi, hi, lo, c, v) * 0.01;

  double obv = tml_obv_update(&s->obv, c, v);
  double obv_old = tml_lag_update(&s->obv_lag20, obv);
  bool v20_full = rsum_update(&s->vol20, v);
  f[F_OBV_SLOPE_20] = v20_full ? ratio(obv - obv_old, s->vol20.s, 0) : DNAN;
  f[F_ROC_10] = tml_roc_update(&s->roc10, c) * 0.01;

  /* volatility estimators (log prices computed once) */
  double vc20 = DNAN, vc60 = DNAN;
  if (!isnan(r1)) {
    if (rsum_update(&s->ret20, r1))
      vc20 = sqrt(rsum_svar(&s->ret20));
    if (rsum_update(&s->ret60, r1))
      vc60 = sqrt(rsum_svar(&s->ret60));
  }
  f[F_VOL_CC_20] = vc20;
  f[F_VOL_CC_60] = vc60;
  double hl = lh - ll, co = lc - lo_;
  double park = rsum_update(&s->park20, hl * hl) ? rsum_mean(&s->park20) : DNAN;
  f[F_VOL_PARK_20] = sqrt(park / (4.0 * LN2));
  double gk_term = 0.5 * hl * hl - (2.0 * LN2 - 1.0) * co * co;
  double gk = rsum_update(&s->gk20, gk_term) ? rsum_mean(&s->gk20) : DNAN;
  f[F_VOL_GK_20] = isnan(gk) ? DNAN : sqrt(gk > 0 ? gk : 0.0);
  double rs_term = (lh - lc) * (lh - lo_) + (ll - lc) * (ll - lo_);
  double rs = rsum_update(&s->rs20, rs_term) ? rsum_mean(&s->rs20) : DNAN;
  f[F_VOL_RS_20] = isnan(rs) ? DNAN : sqrt(rs > 0 ? rs : 0.0);
  f[F_VOL_RATIO_20_60] = ratio(vc20, vc60, 1.0);
  f[F_RET_Z_20] = ratio(r1, vc20, 0.0);

  /* volume */
  bool v100_full = rsum_update(&s->vol100, v);
  double m20 = rsum_mean(&s->vol20), var20 = rsum_pvar(&s->vol20);
  double m100 = rsum_mean(&s->vol100), var100 = rsum_pvar(&s->vol100);
  f[F_VOLUME_Z_20] = isnan(var20) ? DNAN : (var20 > 0 ? (v - m20) / sqrt(var20) : 0.0);
  f[F_VOLUME_Z_100] = isnan(var100) ? DNAN : (var100 > 0 ? (v - m100) / sqrt(var100) : 0.0);
  f[F_VOLUME_RATIO_20] = ratio(v, m20, 1.0);
  double tp = (hi + lo + c) / 3.0;
  bool pv20_full = rsum_update(&s->pv20, tp * v);
  bool pv100_full = rsum_update(&s->pv100, tp * v);
  f[F_VWAP_DIST_20] = pv20_full && v20_full
                          ? (s->vol20.s > 0 ? rel(c, s->pv20.s / s->vol20.s, 0) : 0.0)
                          : DNAN;
  f[F_VWAP_DIST_100] = pv100_full && v100_full
                           ? (s->vol100.s > 0 ? rel(c, s->pv100.s / s->vol100.s, 0) : 0.0)
                           : DNAN;

  /* candle structure */
  double range = hi - lo;
  bool flat = !(range > 0);
  f[F_BODY] = flat ? 0.0 : (c - o) / range;
  f[F_UPPER_WICK] = flat ? 0.0 : (hi - (o > c ? o : c)) / range;
  f[F_LOWER_WICK] = flat ? 0.0 : ((o < c ? o : c) - lo) / range;
  f[F_RANGE_ATR] = ratio(range, atr, 1.0);
  f[F_CLOSE_LOC] = flat ? 0.5 : (c - lo) / range;
  f[F_GAP] = s->n > 1 ? lo_ - lc_at(s, 1) : DNAN;
  s->run_up = c > o ? s->run_up + 1 : 0;
  s->run_down = c < o ? s->run_down + 1 : 0;
  f[F_RUN_UP] = (double)s->run_up;
  f[F_RUN_DOWN] = (double)s->run_down;
  f[F_DIST_HIGH_50] = rel(c, tml_rolling_extreme_update(&s->hh50, hi), 0);
  f[F_DIST_LOW_50] = rel(c, tml_rolling_extreme_update(&s->ll50, lo), 0);

  /* higher timeframe: last closed bucket */
  struct htf_state *h = &s->h;
  htf_push(h, s->n == 1, t, o, hi, lo, c, v);
  f[F_HTF_RET_LOG_1] = h->ret1;
  f[F_HTF_RET_LOG_6] = h->ret6;
  f[F_HTF_RSI_14] = h->rsi;
  f[F_HTF_EMA_DIST_20] = rel(c, h->ema20v, 0);
  f[F_HTF_EMA_DIST_50] = rel(c, h->ema50v, 0);
  f[F_HTF_NATR_14] = h->natr;
  f[F_HTF_ADX_14] = h->adx;
  f[F_HTF_MACDHIST_NORM] = h->macdhist_norm;
  f[F_HTF_BB_PCTB] = isnan(h->bb_up) ? DNAN
                     : h->bb_up > h->bb_lo ? (c - h->bb_lo) / (h->bb_up - h->bb_lo)
                                           : 0.5;
  f[F_HTF_VOL_CC_20] = h->vol20;

  bool complete = true;
  for (int i = 0; i < F_COUNT; i++) {
    if (isnan(f[i]))
      complete = false;
    row[i] = (float)f[i];
  }
  *ready = complete;
  return 0;
}

static int push_context(struct tml_feature_stream *s, int64_t t, double o, double hi, double lo, double c) {
  struct htf_state *h = &s->h;
  if (s->n > 0 || t % h->interval != 0 || (h->closed > 0 && t <= h->bucket) || !(o > 0) || !(hi > 0) ||
      !(lo > 0) || !(c > 0) || !isfinite(o + hi + lo + c))
    return TML_EINVAL;
  /* A closed higher-interval candle, as if its sub-candles had been pushed. */
  h->bucket = t;
  h->skip_bucket = false;
  h->o = o;
  h->h = hi;
  h->l = lo;
  h->c = c;
  h->v = 0;
  htf_close_bucket(h);
  return 0;
}

int tml_feature_stream_push_context(struct tml_feature_stream *s, int64_t open_time, double open, double high,
                                    double low, double close) {
  return s ? push_context(s, open_time, open, high, low, close) : TML_EINVAL;
}

void tml_features_release(struct tml_features *f) {
  if (!f)
    return;
  free(f->X);
  free(f->open_time);
  memset(f, 0, sizeof(*f));
}

int tml_features_compute(const struct tml_candles *c, const struct tml_featureset_opts *o,
                         struct tml_features *out, struct tml_error *err) {
  return tml_features_compute_ctx(c, NULL, o, 1, out, NULL, err);
}

int tml_features_compute_ctx(const struct tml_candles *c, const struct tml_candles *ctx,
                             const struct tml_featureset_opts *o, int threads, struct tml_features *out,
                             size_t *nctx_used, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  if (nctx_used)
    *nctx_used = 0;
  struct tml_prefault pf = {0};
  struct tml_featureset_opts opts = {0, 0};
  if (o)
    opts = *o;
  if (!opts.base_interval_ms)
    opts.base_interval_ms = c->interval_ms;
  struct tml_feature_stream *s = NULL;
  int rc = tml_feature_stream_create(&opts, &s, err);
  if (rc)
    return rc;
  /* Stored higher-interval candles that closed before the first base candle warm up the HTF columns;
   * from the first base candle on, the stream builds the higher candles itself (no look-ahead). */
  if (ctx && c->len > 0) {
    if (ctx->interval_ms != s->htf) {
      rc = tml_error_set(err, TML_EINVAL, "context candles are %s, but the feature set's higher interval is %s",
                         tml_interval_name(ctx->interval_ms) ? tml_interval_name(ctx->interval_ms) : "?",
                         tml_interval_name(s->htf) ? tml_interval_name(s->htf) : "?");
      tml_feature_stream_destroy(s);
      return rc;
    }
    for (size_t i = 0; i < ctx->len && ctx->open_time[i] + s->htf <= c->open_time[0]; i++) {
      if (push_context(s, ctx->open_time[i], ctx->open[i], ctx->high[i], ctx->low[i], ctx->close[i]) != 0) {
        char when[32];
        tml_time_format(ctx->open_time[i], when, sizeof(when));
        rc = tml_error_set(err, TML_EDATA,
                           "cannot use the %s %s candle at %s as context: times must ascend on %s boundaries and "
                           "prices be finite and positive; fix or delete it in the candle store",
                           ctx->symbol[0] ? ctx->symbol : "series", tml_interval_name(ctx->interval_ms), when,
                           tml_interval_name(ctx->interval_ms));
        tml_feature_stream_destroy(s);
        return rc;
      }
      if (nctx_used)
        (*nctx_used)++;
    }
  }
  size_t n = c->len;
  float *X = tml_alloc_large(sizeof(float) * F_COUNT * (n ? n : 1));
  int64_t *times = malloc(sizeof(int64_t) * (n ? n : 1));
  if (threads > 1) /* the rows are written from the front */
    tml_prefault_start(X, sizeof(float) * F_COUNT * n, &pf);
  if (!X || !times) {
    rc = tml_error_set(err, TML_ENOMEM, "cannot compute features for %zu candles: out of memory", n);
    goto fail;
  }
  size_t rows = 0, first = 0;
  for (size_t i = 0; i < n; i++) {
    bool ready;
    float *row = X + rows * F_COUNT;
    if (tml_feature_stream_push(s, c->open_time[i], c->open[i], c->high[i], c->low[i], c->close[i],
                                c->volume[i], row, &ready) != 0) {
      char when[32];
      tml_time_format(c->open_time[i], when, sizeof(when));
      rc = tml_error_set(err, TML_EDATA,
                         "cannot compute features for %s candle %zu at %s: %s (open %g high %g low "
                         "%g close %g volume %g); fix or remove it in the candle store",
                         c->symbol[0] ? c->symbol : "series", i, when,
                         i > 0 && c->open_time[i] <= c->open_time[i - 1]
                             ? "open time not after the previous candle"
                             : "prices must be finite and positive, volume finite and >= 0",
                         c->open[i], c->high[i], c->low[i], c->close[i], c->volume[i]);
      goto fail;
    }
    if (!ready) {
      if (rows > 0) { /* cannot happen with validated input; never hand out a hole */
        char when[32];
        tml_time_format(c->open_time[i], when, sizeof(when));
        rc = tml_error_set(err, TML_EDATA, "feature row at %s is incomplete after the warm-up", when);
        goto fail;
      }
      continue;
    }
    if (rows == 0)
      first = i;
    times[rows++] = c->open_time[i];
  }
  tml_prefault_finish(&pf);
  if (rows == 0) {
    rc = tml_error_set(err, TML_EDATA,
                       "%s: %zu candles do not cover the feature warm-up (up to %zu candles); "
                       "import more history",
                       c->symbol[0] ? c->symbol : "series", n, tml_featureset_warmup(&opts));
    goto fail;
  }
  tml_feature_stream_destroy(s);
  float *shrunk = realloc(X, sizeof(float) * F_COUNT * rows);
  out->X = shrunk ? shrunk : X;
  out->open_time = times;
  out->nrows = rows;
  out->ncols = F_COUNT;
  out->first_index = first;
  out->warmup_dropped = first;
  return 0;
fail:
  tml_prefault_finish(&pf);
  free(X);
  free(times);
  tml_feature_stream_destroy(s);
  return rc;
}
