/* Candle store benchmark: writes N synthetic 5m candles of one symbol (plus a second symbol so the
 * load is a range scan, not the whole table), then times tml_store_load of that symbol's history
 * into flat columns. Usage: bench_store [N=200000] [repeats=7]. Target: 200k candles well under 100 ms. */
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
      (argc > 2 && (tml_parse_int64_str(argv[2], &reps) || reps < 1 || reps > 100))) {
    fprintf(stderr, "usage: bench_store [candles] [repeats]\n");
    return 2;
  }
  char dir[] = "/tmp/bench_store.XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  char path[256];
  snprintf(path, sizeof(path), "%s/trademl.db", dir);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_store *s = NULL;
  int rc = tml_store_open(path, &s, &err);
  const int64_t iv = 5 * TML_MS_PER_MINUTE, t0 = INT64_C(1600000000000) / iv * iv;
  struct tml_candles c;
  const char *syms[] = {"AAAUSDT", "BTCUSDT"};
  double t_put = 0;
  for (int k = 0; !rc && k < 2; k++) {
    tml_candles_init(&c, syms[k], iv);
    double px = 100;
    for (int64_t i = 0; i < n; i++) {
      double next = px * (1.0 + 0.001 * (double)((i * 7919 + k) % 21 - 10) / 10.0);
      double hi = (px > next ? px : next) * 1.001, lo = (px < next ? px : next) * 0.999;
      tml_candles_push(&c, t0 + i * iv, px, hi, lo, next, 1000.0 + (double)(i % 97));
      px = next;
    }
    double a = tml_monotonic_s();
    rc = tml_store_put(s, &c, false, NULL, &err);
    t_put += tml_monotonic_s() - a;
    tml_candles_release(&c);
  }
  tml_store_close(s);
  s = NULL;
  if (!rc)
    rc = tml_store_open(path, &s, &err);
  double *times = calloc((size_t)reps, sizeof(double));
  size_t rows = 0;
  for (int64_t r = 0; !rc && r < reps; r++) {
    double a = tml_monotonic_s();
    rc = tml_store_load(s, "BTCUSDT", iv, INT64_MIN, INT64_MAX, &c, &err);
    times[r] = (tml_monotonic_s() - a) * 1000.0;
    rows = c.len;
    tml_candles_release(&c);
  }
  tml_store_close(s);
  if (rc) {
    fprintf(stderr, "bench_store: %s\n", err.msg);
  } else {
    double first = times[0];
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    printf("store put: %" PRId64 " candles x 2 symbols in %.1f ms (%.0f candles/s)\n", n, t_put * 1000.0,
           (double)(2 * n) / t_put);
    printf("store load: %zu candles: first %.1f ms, min %.1f ms, median %.1f ms, max %.1f ms (%" PRId64 " runs)\n",
           rows, first, times[0], times[reps / 2], times[reps - 1], reps);
  }
  free(times);
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_store: could not remove %s\n", dir);
  return rc ? 1 : 0;
}
