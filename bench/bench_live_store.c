/* The live loop's database work per candle, alone (no exchange, no model): for each of N symbols the
 * prediction of the candle that just closed is stored (tml_live_predictions_put), the predictions whose
 * 12-candle horizon has passed are read and resolved (tml__live_unresolved + _resolve), the rolling live
 * metrics read the newest resolved ones (tml__live_recent_resolved, window 200), and then the status of
 * all N symbols is saved in one transaction (tml__live_status_save): what the loop writes and reads on
 * every candle. Each symbol starts with HISTORY resolved predictions (written before timing).
 *
 *   bench_live_store LOCATION [SYMBOLS [CANDLES [HISTORY]]]     (defaults 300 20 100)
 *
 * LOCATION is a new SQLite file or an empty PostgreSQL database URL (bench_live_store.sh runs both in one
 * run). Prints min/median of the per-candle time and of its parts (per call, µs). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/live_internal.h"
#include "trademl/error.h"
#include "trademl/live.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

#define IV (15 * TML_MS_PER_MINUTE)
#define HORIZON 12
#define WINDOW 200

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void stats(const char *what, double *v, size_t n, double scale, const char *unit) {
  qsort(v, n, sizeof(*v), cmp_double);
  printf("  %-34s min %10.1f  median %10.1f %s\n", what, v[0] * scale, v[n / 2] * scale, unit);
}

static void make_pred(struct tml_live_prediction *p, const char *symbol, int64_t candle_ms, int64_t now_ms) {
  memset(p, 0, sizeof(*p));
  snprintf(p->strategy, sizeof(p->strategy), "xgb5");
  snprintf(p->symbol, sizeof(p->symbol), "%s", symbol);
  p->interval_ms = IV;
  p->candle_ms = candle_ms;
  p->model_id = 3;
  snprintf(p->model_version, sizeof(p->model_version), "20240601T000000Z");
  float u = (float)((candle_ms / IV) % 97) / 97.0f;
  p->p.proba[TML_HEAD_DIRECTION][0] = 0.2f;
  p->p.proba[TML_HEAD_DIRECTION][1] = 0.8f - u * 0.5f;
  p->p.proba[TML_HEAD_DIRECTION][2] = u * 0.5f;
  for (int j = 0; j < 4; j++)
    p->p.proba[TML_HEAD_VOLATILITY][j] = 0.25f;
  for (int j = 0; j < 3; j++)
    p->p.proba[TML_HEAD_TIMING][j] = 1.0f / 3.0f;
  p->p.value[TML_HEAD_STOP_LOSS] = 1.5f + u;
  p->p.value[TML_HEAD_POSITION_SIZE] = 0.1f;
  p->created_ms = now_ms;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    p->outcome[h] = NAN;
}

/* One candle of the loop for every symbol; adds the time of each part to the arrays (per call). */
static int one_candle(struct tml_store *s, char (*sym)[32], size_t nsym, int64_t candle_ms,
                      struct tml_live_status *st, double *put_s, double *res_s, double *recent_s, double *save_s,
                      struct tml_error *err) {
  static const float outcome[TML_HEAD_COUNT] = {2, 1, 0, 1.25f, 0.1f};
  int64_t now = candle_ms + IV + 2000;
  double tput = 0, tres = 0, trecent = 0;
  size_t nres = 0;
  for (size_t i = 0; i < nsym; i++) {
    struct tml_live_prediction p;
    make_pred(&p, sym[i], candle_ms, now);
    bool inserted = false;
    double t0 = tml_monotonic_s();
    int rc = tml_live_predictions_put(s, &p, &inserted, err);
    double t1 = tml_monotonic_s();
    tput += t1 - t0;
    if (rc || !inserted)
      return rc ? rc : tml_error_set(err, TML_EDB, "%s %" PRId64 " was not inserted", sym[i], candle_ms);
    struct tml_live_prediction *rows = NULL;
    size_t n = 0;
    if ((rc = tml__live_unresolved(s, "xgb5", sym[i], IV, candle_ms - HORIZON * IV, 2000, &rows, &n, err)))
      return rc;
    for (size_t k = 0; k < n && !rc; k++)
      rc = tml_live_predictions_resolve(s, rows[k].id, outcome, now, err);
    free(rows);
    double t2 = tml_monotonic_s();
    tres += t2 - t1;
    nres += n;
    if (rc || (rc = tml__live_recent_resolved(s, "xgb5", sym[i], IV, 3, WINDOW, &rows, &n, err)))
      return rc;
    free(rows);
    trecent += tml_monotonic_s() - t2;
    st->symbols[i].last_predicted_ms = candle_ms;
    st->symbols[i].last_candle_ms = candle_ms;
    st->symbols[i].predictions++;
  }
  st->updated_ms = now;
  st->counters.ticks++;
  double t3 = tml_monotonic_s();
  int rc = tml__live_status_save(s, st, err);
  *save_s = tml_monotonic_s() - t3;
  *put_s = tput / (double)nsym;
  *res_s = nres ? tres / (double)nres : 0;
  *recent_s = trecent / (double)nsym;
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_live_store LOCATION [SYMBOLS [CANDLES [HISTORY]]]\n");
    return 2;
  }
  size_t nsym = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 300;
  size_t ncandles = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 20;
  size_t history = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : 100;
  if (nsym < 1 || ncandles < 1)
    return 2;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_store *s = NULL;
  char(*sym)[32] = calloc(nsym, sizeof(*sym));
  double *total = calloc(ncandles, sizeof(double)), *put = calloc(ncandles, sizeof(double));
  double *res = calloc(ncandles, sizeof(double)), *recent = calloc(ncandles, sizeof(double));
  double *save = calloc(ncandles, sizeof(double));
  struct tml_live_status st;
  memset(&st, 0, sizeof(st));
  st.symbols = calloc(nsym, sizeof(*st.symbols));
  int rc = 1;
  if (!sym || !total || !put || !res || !recent || !save || !st.symbols)
    goto out;
  if (tml_store_open(argv[1], &s, &err)) {
    fprintf(stderr, "bench_live_store: %s\n", err.msg);
    goto out;
  }
  snprintf(st.strategy, sizeof(st.strategy), "xgb5");
  snprintf(st.exchange, sizeof(st.exchange), "bybit");
  snprintf(st.category, sizeof(st.category), "linear");
  snprintf(st.universe, sizeof(st.universe), "all");
  st.interval_ms = IV;
  st.running = true;
  st.pid = 1;
  st.nsymbols = nsym;
  for (size_t i = 0; i < nsym; i++) {
    snprintf(sym[i], sizeof(sym[i]), "S%03zuUSDT", i);
    struct tml_live_symbol *y = &st.symbols[i];
    snprintf(y->symbol, sizeof(y->symbol), "%s", sym[i]);
    y->state = TML_LIVE_ACTIVE;
    y->model_id = 3;
    snprintf(y->model_version, sizeof(y->model_version), "20240601T000000Z");
    for (int h = 0; h < TML_HEAD_COUNT; h++) {
      y->quality[h].accuracy = 0.5;
      y->quality[h].logloss = 1.05;
      y->quality[h].rmse = NAN;
      y->quality[h].oos_accuracy = 0.48;
      y->quality[h].oos_logloss = 1.07;
      y->quality[h].oos_rmse = NAN;
      y->quality[h].n = WINDOW;
    }
  }
  const int64_t t0 = INT64_C(1717200000000);
  /* History (not timed): the same calls, so the tables hold what a running loop's hold. */
  double dummy[4];
  for (size_t k = 0; k < history; k++)
    if (one_candle(s, sym, nsym, t0 + (int64_t)k * IV, &st, &dummy[0], &dummy[1], &dummy[2], &dummy[3], &err)) {
      fprintf(stderr, "bench_live_store: %s\n", err.msg);
      goto out;
    }
  for (size_t k = 0; k < ncandles; k++) {
    double a = tml_monotonic_s();
    if (one_candle(s, sym, nsym, t0 + (int64_t)(history + k) * IV, &st, &put[k], &res[k], &recent[k], &save[k],
                   &err)) {
      fprintf(stderr, "bench_live_store: %s\n", err.msg);
      goto out;
    }
    total[k] = tml_monotonic_s() - a;
  }
  printf("%s: %zu symbols, %zu candles after %zu of history (%s)\n", tml_store_backend(s), nsym, ncandles, history,
         "min / median over the candles");
  stats("per candle, all symbols", total, ncandles, 1e3, "ms");
  stats("put one prediction", put, ncandles, 1e6, "us");
  stats("read + resolve one outcome", res, ncandles, 1e6, "us");
  stats("read the 200 newest resolved", recent, ncandles, 1e6, "us");
  stats("status save, all symbols (1 txn)", save, ncandles, 1e3, "ms");
  rc = 0;
out:
  tml_store_close(s);
  free(st.symbols);
  free(sym);
  free(total);
  free(put);
  free(res);
  free(recent);
  free(save);
  return rc;
}
