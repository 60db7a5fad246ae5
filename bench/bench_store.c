/* Candle store benchmark: writes N synthetic 5m candles of two symbols (so a load is a range scan,
 * not the whole table) and times the bulk write (both series deleted and written again per repeat),
 * then times tml_store_load of one symbol's history into flat columns, and the live loop's short
 * load (the two newest candles, in microseconds).
 * Usage: bench_store [N=200000] [repeats=7] [LOCATION]. LOCATION is a database (SQLite file or a
 * postgresql:// URL, whose candles of AAAUSDT<r>/BTCUSDT<r> 5m are replaced); default a temporary
 * SQLite file. The loads read BTCUSDT0, written first.
 * bench/bench_pg_store.sh runs it on both backends in one run. Targets: 200k candles loaded well under
 * 100 ms (SQLite) / 150 ms (PostgreSQL); bulk write >= 200k candles/s on PostgreSQL. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int64_t n = 200000, reps = 7;
  if ((argc > 1 && (tml_parse_int64_str(argv[1], &n) || n < 1)) ||
      (argc > 2 && (tml_parse_int64_str(argv[2], &reps) || reps < 1 || reps > 100)) || argc > 4) {
    fprintf(stderr, "usage: bench_store [candles] [repeats] [database]\n");
    return 2;
  }
  char dir[] = "/tmp/bench_store.XXXXXX";
  char path[4200];
  bool temp = argc < 4;
  if (temp) {
    if (!mkdtemp(dir))
      return 1;
    snprintf(path, sizeof(path), "%s/trademl.db", dir);
  } else {
    snprintf(path, sizeof(path), "%s", argv[3]);
  }
  struct tml_error err;
  tml_error_init(&err);
  struct tml_store *s = NULL;
  int rc = tml_store_open(path, &s, &err);
  const char *backend = s ? tml_store_backend(s) : "?";
  const int64_t iv = 5 * TML_MS_PER_MINUTE, t0 = INT64_C(1600000000000) / iv * iv;
  struct tml_candles c[2];
  const char *syms[] = {"AAAUSDT", "BTCUSDT"};
  for (int k = 0; k < 2; k++) {
    tml_candles_init(&c[k], syms[k], iv);
    double px = 100;
    for (int64_t i = 0; i < n; i++) {
      double next = px * (1.0 + 0.001 * (double)((i * 7919 + k) % 21 - 10) / 10.0);
      double hi = (px > next ? px : next) * 1.001, lo = (px < next ? px : next) * 0.999;
      tml_candles_push(&c[k], t0 + i * iv, px, hi, lo, next, 1000.0 + (double)(i % 97));
      px = next;
    }
  }
  double *put_rate = calloc((size_t)reps, sizeof(double));
  double *times = calloc((size_t)reps, sizeof(double));
  /* Each repeat writes two series under fresh names (new keys, as a bulk import does); the names of
   * earlier runs in the same database are removed first, untimed. */
  for (int64_t r = 0; !rc && r < reps; r++) {
    for (int k = 0; !rc && k < 2; k++) {
      snprintf(c[k].symbol, sizeof(c[k].symbol), "%s%" PRId64, syms[k], r);
      rc = tml_store_delete(s, c[k].symbol, iv, &err);
    }
    double a = tml_monotonic_s();
    for (int k = 0; !rc && k < 2; k++)
      rc = tml_store_put(s, &c[k], false, NULL, &err);
    put_rate[r] = (double)(2 * n) / (tml_monotonic_s() - a);
  }
  tml_candles_release(&c[0]);
  tml_candles_release(&c[1]);
  tml_store_close(s);
  s = NULL;
  if (!rc)
    rc = tml_store_open(path, &s, &err);
  size_t rows = 0;
  struct tml_candles back;
  for (int64_t r = 0; !rc && r < reps; r++) {
    double a = tml_monotonic_s();
    rc = tml_store_load(s, "BTCUSDT0", iv, INT64_MIN, INT64_MAX, &back, &err);
    times[r] = (tml_monotonic_s() - a) * 1000.0;
    rows = back.len;
    tml_candles_release(&back);
  }
  /* The live loop's load: the two newest candles of a series, SHORT_LOADS times in a row (each
   * repeat's figure is the mean time of one load). */
  enum { SHORT_LOADS = 500 };
  double *short_us = calloc((size_t)reps, sizeof(double));
  int64_t last = t0 + (n - 1) * iv;
  for (int64_t r = 0; !rc && short_us && r < reps; r++) {
    double a = tml_monotonic_s();
    for (int q = 0; !rc && q < SHORT_LOADS; q++) {
      rc = tml_store_load(s, "BTCUSDT0", iv, last - iv, last + iv, &back, &err);
      if (!rc && back.len != 2)
        rc = tml_error_set(&err, TML_EDATA, "short load: %zu candles, expected 2", back.len);
      tml_candles_release(&back);
    }
    short_us[r] = (tml_monotonic_s() - a) * 1e6 / SHORT_LOADS;
  }
  tml_store_close(s);
  if (rc) {
    fprintf(stderr, "bench_store: %s\n", err.msg);
  } else {
    double first = times[0];
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    qsort(put_rate, (size_t)reps, sizeof(double), cmp_double);
    printf("%s store put: %" PRId64 " candles x 2 symbols: min %.0f, median %.0f, max %.0f candles/s (%" PRId64
           " runs)\n",
           backend, n, put_rate[0], put_rate[reps / 2], put_rate[reps - 1], reps);
    printf("%s store load: %zu candles: first %.1f ms, min %.1f ms, median %.1f ms, max %.1f ms (%" PRId64 " runs)\n",
           backend, rows, first, times[0], times[reps / 2], times[reps - 1], reps);
    qsort(short_us, (size_t)reps, sizeof(double), cmp_double);
    printf("%s store short load: the 2 newest candles: min %.1f us, median %.1f us, max %.1f us (%" PRId64
           " runs of %d loads)\n",
           backend, short_us[0], short_us[reps / 2], short_us[reps - 1], reps, (int)SHORT_LOADS);
  }
  free(short_us);
  free(times);
  free(put_rate);
  if (temp) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "bench_store: could not remove %s\n", dir);
  }
  return rc ? 1 : 0;
}
