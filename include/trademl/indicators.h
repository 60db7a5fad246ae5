/* Streaming technical indicators with TA-Lib's definitions (TA-Lib 0.4, default compatibility,
 * unstable period 0). Each indicator is a caller-allocated state machine: _init() sets the
 * parameters, _update() consumes one candle in O(1) (CCI: O(period), its mean deviation has no
 * running form) and returns the new value, or NAN while TA-Lib would have no value yet (before its
 * lookback). The arithmetic follows TA-Lib's C source operation by operation, so the values agree
 * with TA-Lib's to the last bit or nearly (tests/unit/features/test_indicators.c checks 1e-9).
 *
 * The states hold fixed-size rings (no allocation, nothing to release): periods are limited to
 * 1..TML_IND_MAX_PERIOD. _init() returns 0 or TML_EINVAL for a period out of range.
 * Not thread-safe per state; distinct states are independent. */
#ifndef TML_INDICATORS_H
#define TML_INDICATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_candles;
struct tml_error;

#define TML_IND_MAX_PERIOD 256

/* SMA: mean of the last `period` values (TA-Lib INT_SMA running total). Lookback period-1. */
struct tml_sma {
  int period, n, pos;
  double sum;
  double buf[TML_IND_MAX_PERIOD];
};
int tml_sma_init(struct tml_sma *s, int period);
double tml_sma_update(struct tml_sma *s, double x);

/* EMA: k = 2/(period+1), seeded with the SMA of the first `period` values (TA-Lib default
 * compatibility), then ema = (x - ema)*k + ema. Lookback period-1. */
struct tml_ema {
  int period, n;
  double k, sum, value;
};
int tml_ema_init(struct tml_ema *e, int period);
double tml_ema_update(struct tml_ema *e, double x);

/* Value `period` updates ago (NAN before); the basis of MOM and ROC. */
struct tml_lag {
  int period, n, pos;
  double buf[TML_IND_MAX_PERIOD + 1];
};
int tml_lag_init(struct tml_lag *l, int period);
double tml_lag_update(struct tml_lag *l, double x);

/* MOM: x - x[t-period]. Lookback period. */
struct tml_mom {
  struct tml_lag lag;
};
int tml_mom_init(struct tml_mom *m, int period);
double tml_mom_update(struct tml_mom *m, double x);

/* ROC: (x/x[t-period] - 1)*100, 0 when x[t-period] == 0 (TA-Lib). Lookback period. */
struct tml_roc {
  struct tml_lag lag;
};
int tml_roc_init(struct tml_roc *r, int period);
double tml_roc_update(struct tml_roc *r, double x);

/* RSI: Wilder's smoothing as in TA-Lib: average gain/loss seeded with the plain mean of the first
 * `period` changes, then avg = (avg*(period-1) + change)/period; 100*gain/(gain+loss), 0 when the
 * sum is ~0 (|x| < 1e-14). Lookback period. */
struct tml_rsi {
  int period, n;
  double prev, gain, loss;
};
int tml_rsi_init(struct tml_rsi *r, int period);
double tml_rsi_update(struct tml_rsi *r, double x);

/* TRANGE: max(high-low, |prev_close-high|, |prev_close-low|); NAN on the first candle (TA-Lib has
 * no value there). */
struct tml_trange {
  int n;
  double prev_close;
};
void tml_trange_init(struct tml_trange *t);
double tml_trange_update(struct tml_trange *t, double high, double low, double close);

/* ATR: Wilder's smoothing of TRANGE, seeded with the SMA of the first `period` true ranges
 * (candles 1..period). Lookback period. */
struct tml_atr {
  int period, n;
  struct tml_trange tr;
  double sum, value;
};
int tml_atr_init(struct tml_atr *a, int period);
double tml_atr_update(struct tml_atr *a, double high, double low, double close);

/* NATR: ATR/close*100 (0 when close is ~0). Lookback period. */
struct tml_natr {
  struct tml_atr atr;
};
int tml_natr_init(struct tml_natr *a, int period);
double tml_natr_update(struct tml_natr *a, double high, double low, double close);

/* ADX with +DI/-DI (TA-Lib ADX, PLUS_DI, MINUS_DI share this state): +DM/-DM and TR summed over
 * the first period-1 changes, then Wilder-smoothed (s = s - s/period + v); DI = 100*DM/TR;
 * DX = 100*|+DI - -DI|/(+DI + -DI); ADX = mean of the first `period` DX, then Wilder-smoothed.
 * Lookbacks: DI period, ADX 2*period-1. */
struct tml_adx {
  int period, n;
  double prev_high, prev_low, prev_close;
  double plus_dm, minus_dm, tr, sum_dx, adx;
};
int tml_adx_init(struct tml_adx *a, int period);
/* Returns ADX (NAN before 2*period-1); *plus_di and *minus_di (either may be NULL) receive +DI and
 * -DI (NAN before `period`). */
double tml_adx_update(struct tml_adx *a, double high, double low, double close, double *plus_di,
                      double *minus_di);

/* MACD (TA-Lib alignment): slow EMA from the first value; the fast EMA starts slow-fast values later
 * so both are first defined at slow-1; signal = EMA(signal) of the MACD line. All three outputs
 * start at (slow-1)+(signal-1) (33 for 12/26/9). */
struct tml_macd {
  int fast, slow, signal, n;
  struct tml_ema ema_fast, ema_slow, ema_signal;
};
int tml_macd_init(struct tml_macd *m, int fast, int slow, int signal);
/* Returns the MACD line; *signal and *hist (may be NULL) receive the signal and the histogram. */
double tml_macd_update(struct tml_macd *m, double x, double *signal, double *hist);

/* BBANDS with an SMA middle band and population standard deviation computed as TA-Lib does
 * (running sum of squares: sqrt(mean(x^2) - sma^2), 0 when that is < 1e-14). Lookback period-1. */
struct tml_bbands {
  int period, n, pos;
  double nbdev, sum, sum2;
  double buf[TML_IND_MAX_PERIOD];
};
int tml_bbands_init(struct tml_bbands *b, int period, double nbdev);
/* Returns the middle band; *upper and *lower (may be NULL) receive the bands. */
double tml_bbands_update(struct tml_bbands *b, double x, double *upper, double *lower);

/* Rolling maximum or minimum of the last `period` values (monotonic deque, O(1) amortised).
 * NAN until `period` values were seen. */
struct tml_rolling_extreme {
  int period, head, count;
  bool is_max;
  int64_t n;
  int64_t idx[TML_IND_MAX_PERIOD];
  double val[TML_IND_MAX_PERIOD];
};
int tml_rolling_extreme_init(struct tml_rolling_extreme *r, int period, bool is_max);
double tml_rolling_extreme_update(struct tml_rolling_extreme *r, double x);

/* STOCH with SMA slow %K and slow %D: fastK = (close - LL)/((HH - LL)/100) over fastk_period (0
 * when HH == LL), slowK = SMA(fastK, slowk_period), slowD = SMA(slowK, slowd_period). As in TA-Lib
 * both outputs start at (fastk-1)+(slowk-1)+(slowd-1). */
struct tml_stoch {
  struct tml_rolling_extreme hh, ll;
  struct tml_sma slowk, slowd;
};
int tml_stoch_init(struct tml_stoch *s, int fastk_period, int slowk_period, int slowd_period);
/* Returns slow %K; *slowd (may be NULL) receives slow %D. */
double tml_stoch_update(struct tml_stoch *s, double high, double low, double close, double *slowd);

/* WILLR: (HH - close)/((HH - LL)/-100), 0 when HH == LL. Lookback period-1. */
struct tml_willr {
  struct tml_rolling_extreme hh, ll;
};
int tml_willr_init(struct tml_willr *w, int period);
double tml_willr_update(struct tml_willr *w, double high, double low, double close);

/* CCI: typical price tp = (h+l+c)/3; (tp - mean)/(0.015 * mean deviation) over `period`, 0 when
 * either is 0. Sums run over TA-Lib's circular buffer in its order. Lookback period-1. */
struct tml_cci {
  int period, n, pos;
  double buf[TML_IND_MAX_PERIOD];
};
int tml_cci_init(struct tml_cci *c, int period);
double tml_cci_update(struct tml_cci *c, double high, double low, double close);

/* MFI: money flow tp*volume split by the sign of the tp change, summed over `period` changes;
 * 100*pos/(pos+neg), 0 when pos+neg < 1 (TA-Lib). Lookback period. */
struct tml_mfi {
  int period, n, pos;
  double prev_tp, pos_sum, neg_sum;
  double pos_flow[TML_IND_MAX_PERIOD], neg_flow[TML_IND_MAX_PERIOD];
};
int tml_mfi_init(struct tml_mfi *m, int period);
double tml_mfi_update(struct tml_mfi *m, double high, double low, double close, double volume);

/* OBV: starts at the first volume, then +volume on a higher close, -volume on a lower one.
 * Lookback 0. */
struct tml_obv {
  int n;
  double prev_close, value;
};
void tml_obv_init(struct tml_obv *o);
double tml_obv_update(struct tml_obv *o, double close, double volume);

/* The 23 raw TA-Lib indicators of a series, column-major, named as TA-Lib functions with their
 * parameters: RSI_14, EMA_20, MACD_12_26_9, MACDSIGNAL_12_26_9, MACDHIST_12_26_9, ATR_14, NATR_14,
 * ADX_14, PLUS_DI_14, MINUS_DI_14, BBANDS_UPPER_20_2, BBANDS_MIDDLE_20_2, BBANDS_LOWER_20_2,
 * STOCH_SLOWK_14_3_3, STOCH_SLOWD_14_3_3, WILLR_14, CCI_20, MFI_14, OBV, ROC_10, MOM_10, SMA_50,
 * TRANGE. NAN where TA-Lib has no value. These carry prices and volumes; they are for reference
 * and inspection, not model features (see featureset.h). */
struct tml_indicator_table {
  size_t nrows, ncols;
  const char **names; /* static strings; the array is owned by the table */
  double *values;     /* column-major: values[col*nrows+row] */
};
/* Fills `out` (overwritten, caller releases it with tml_indicator_table_release). Borrows `c`.
 * Returns 0, TML_ENOMEM. An empty series gives an empty table. */
int tml_indicators_compute(const struct tml_candles *c, struct tml_indicator_table *out,
                           struct tml_error *err);
/* Frees the table's arrays; accepts NULL. */
void tml_indicator_table_release(struct tml_indicator_table *t);

#endif
