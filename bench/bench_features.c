/* Times the full feature matrix (feature set v1) for 200,000 candles on one core.
 * Usage: bench_features [CSV] [RUNS]   (default ../shared/data/binance-spot/BTCUSDT_15m_2023-2026.csv,
 * 5 runs). The series is repeated, with open times shifted past the previous copy, to 200k rows.
 * Prints the milliseconds per run (best and mean). */
#include <stdio.h>
#include <stdlib.h>

#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"

#include "trademl/import.h"
#include "trademl/mem.h"

#define TARGET_ROWS 200000

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "../shared/data/binance-spot/BTCUSDT_15m_2023-2026.csv";
  int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
  if (runs < 1)
    runs = 1;
  struct tml_candles src, c;
  struct tml_import_opts io = {.symbol = "BENCH", .interval_ms = 0, .skip_bad_rows = false, .format = TML_IMPORT_AUTO};
  struct tml_import_report rep;
  struct tml_error ierr;
  tml_error_init(&ierr);
  if (tml_import_file(path, &io, &src, &rep, &ierr) != 0 || src.len < 1000) {
    fprintf(stderr, "bench_features: %s\n", ierr.msg);
    fprintf(stderr, "bench_features: cannot load %s\n", path);
    return 1;
  }
  tml_candles_init(&c, "BENCH", src.interval_ms);
  if (tml_candles_reserve(&c, TARGET_ROWS) != 0)
    return 1;
  int64_t shift = 0;
  int64_t span = src.open_time[src.len - 1] - src.open_time[0] + src.interval_ms;
  while (c.len < TARGET_ROWS) {
    for (size_t i = 0; i < src.len && c.len < TARGET_ROWS; i++)
      tml_candles_push(&c, src.open_time[i] + shift, src.open[i], src.high[i], src.low[i],
                       src.close[i], src.volume[i]);
    shift += span;
  }
  double best = 1e300, total = 0;
  size_t rows = 0;
  for (int r = 0; r < runs; r++) {
    struct tml_features f;
    struct tml_error err;
    tml_error_init(&err);
    double t0 = tml_monotonic_s();
    if (tml_features_compute(&c, NULL, &f, &err) != 0) {
      fprintf(stderr, "bench_features: %s\n", err.msg);
      return 1;
    }
    double ms = (tml_monotonic_s() - t0) * 1000.0;
    rows = f.nrows;
    tml_features_release(&f);
    total += ms;
    if (ms < best)
      best = ms;
  }
  /* Baseline in the same run: filling a matrix of the same shape from the candles with no indicator
   * math (allocation + first touch + one store per cell) — the floor any feature code pays. */
  size_t ncols = tml_featureset_ncols();
  double base_best = 1e300;
  volatile float sink = 0;
  for (int r = 0; r < runs; r++) {
    double t0 = tml_monotonic_s();
    float *X = tml_alloc_large(c.len * ncols * sizeof(float));
    if (!X)
      return 1;
    for (size_t i = 0; i < c.len; i++)
      for (size_t j = 0; j < ncols; j++)
        X[i * ncols + j] = (float)(c.close[i] * (double)j);
    sink += X[c.len * ncols / 2];
    free(X);
    double ms = (tml_monotonic_s() - t0) * 1000.0;
    if (ms < base_best)
      base_best = ms;
  }
  printf("features v%d: %zu candles -> %zu rows x %zu columns: best %.1f ms, mean %.1f ms per run "
         "(%d runs); baseline fill of the same matrix %.1f ms; ratio %.2fx\n",
         TML_FEATURESET_VERSION, c.len, rows, ncols, best, total / runs, runs, base_best, best / base_best);
  tml_candles_release(&c);
  tml_candles_release(&src);
  return 0;
}
