/* Compute alone of the live loop for one new candle of one symbol: features + the five heads through
 * tml_model_stream_push (the loop's and the C ABI's path), against the baseline `trademl predict` runs
 * for the same candle (tml_predict_latest: the whole stored history streamed per call).
 *
 *   bench_live_push DB MODEL_DIR SYMBOL [PUSHES] [REPEATS]
 *
 * The stream is opened on the store as of PUSHES candles before the newest one, then those PUSHES
 * candles are pushed one by one (timed each); this repeats REPEATS times. The baseline predicts the
 * newest candle REPEATS times. Prints min/median per push and per baseline call, and the ratio. The
 * last pushed prediction must equal the baseline's bit for bit (checked: exit 1 otherwise). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trademl/error.h"
#include "trademl/modelset.h"
#include "trademl/modelstream.h"
#include "trademl/predict.h"
#include "trademl/series.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench_live_push DB MODEL_DIR SYMBOL [PUSHES] [REPEATS]\n");
    return 2;
  }
  size_t pushes = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : 500;
  size_t repeats = argc > 5 ? (size_t)strtoul(argv[5], NULL, 10) : 5;
  if (pushes < 1 || repeats < 1)
    return 2;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_store *store = NULL;
  struct tml_modelset *m = NULL;
  struct tml_candles c;
  memset(&c, 0, sizeof(c));
  int rc = 1;
  if (tml_store_open(argv[1], &store, &err) || tml_modelset_load(argv[2], &m, &err) ||
      tml_store_load(store, argv[3], m->interval_ms, INT64_MIN, INT64_MAX, &c, &err)) {
    fprintf(stderr, "bench_live_push: %s\n", err.msg);
    goto out;
  }
  if (c.len < pushes + 500) {
    fprintf(stderr, "bench_live_push: %zu candles stored, need %zu\n", c.len, pushes + 500);
    goto out;
  }
  size_t first = c.len - pushes; /* first pushed candle */
  double *push_us = malloc(pushes * repeats * sizeof(double));
  double *base_us = malloc(repeats * sizeof(double));
  double *open_ms_t = malloc(repeats * sizeof(double));
  if (!push_us || !base_us || !open_ms_t)
    goto out;
  struct tml_prediction last, want;
  for (size_t r = 0; r < repeats; r++) {
    struct tml_model_stream *s = NULL;
    double t0 = tml_monotonic_s();
    if (tml_model_stream_open(store, m, argv[3], c.open_time[first], &s, &err)) {
      fprintf(stderr, "bench_live_push: open: %s\n", err.msg);
      goto out;
    }
    open_ms_t[r] = (tml_monotonic_s() - t0) * 1e3;
    for (size_t i = 0; i < pushes; i++) {
      size_t k = first + i;
      bool ready = false;
      double t1 = tml_monotonic_s();
      int prc = tml_model_stream_push(s, c.open_time[k], c.open[k], c.high[k], c.low[k], c.close[k], c.volume[k],
                                      &last, &ready, &err);
      push_us[r * pushes + i] = (tml_monotonic_s() - t1) * 1e6;
      if (prc || !ready) {
        fprintf(stderr, "bench_live_push: push %zu: %s\n", i, prc ? err.msg : "not ready");
        tml_model_stream_close(s);
        goto out;
      }
    }
    tml_model_stream_close(s);
    int64_t now = c.open_time[c.len - 1] + m->interval_ms;
    double t2 = tml_monotonic_s();
    if (tml_predict_latest(store, m, argv[3], now, &want, &err)) {
      fprintf(stderr, "bench_live_push: predict: %s\n", err.msg);
      goto out;
    }
    base_us[r] = (tml_monotonic_s() - t2) * 1e6;
  }
  if (memcmp(last.proba, want.proba, sizeof(want.proba)) != 0 || memcmp(last.value, want.value, sizeof(want.value)) ||
      last.candle_ms != want.candle_ms) {
    fprintf(stderr, "bench_live_push: the pushed prediction differs from tml_predict_latest\n");
    goto out;
  }
  qsort(push_us, pushes * repeats, sizeof(double), cmp_double);
  qsort(base_us, repeats, sizeof(double), cmp_double);
  qsort(open_ms_t, repeats, sizeof(double), cmp_double);
  double p_min = push_us[0], p_med = push_us[pushes * repeats / 2], p_99 = push_us[pushes * repeats * 99 / 100];
  double b_min = base_us[0], b_med = base_us[repeats / 2];
  printf("stored candles %zu, pushes %zu x %zu repeats (%s %s)\n", c.len, pushes, repeats, argv[3],
         tml_interval_name(m->interval_ms));
  printf("stream push (features + 5 heads, one candle): min %.1f us, median %.1f us, p99 %.1f us\n", p_min, p_med,
         p_99);
  printf("baseline trademl predict path (tml_predict_latest, whole history): min %.0f us, median %.0f us\n", b_min,
         b_med);
  printf("stream open (warm-up over %zu stored candles): min %.1f ms, median %.1f ms\n", first, open_ms_t[0],
         open_ms_t[repeats / 2]);
  printf("ratio baseline/push: %.0fx (min/min), %.0fx (median/median); push == predict bit for bit\n", b_min / p_min,
         b_med / p_med);
  rc = 0;
out:
  tml_candles_release(&c);
  tml_modelset_free(m);
  tml_store_close(store);
  return rc;
}
