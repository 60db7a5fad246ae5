/* Times one XGBoost head (tml_xgb_train + predict) on synthetic data:
 *   build/bench/bench_xgb [rows] [cols] [nclass] [rounds] [nthread] [max_bin]
 * Defaults 50000 x 70, 3 classes, 100 rounds (early stopping off), 1 thread, the library's max_bin. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/xgb.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t arg(int argc, char **argv, int i, int64_t def) {
  int64_t v = def;
  if (argc > i && tml_parse_int64_str(argv[i], &v) != 0) {
    fprintf(stderr, "argument %d ('%s') is not an integer\n", i, argv[i]);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  size_t rows = (size_t)arg(argc, argv, 1, 50000), cols = (size_t)arg(argc, argv, 2, 70);
  int nclass = (int)arg(argc, argv, 3, 3), rounds = (int)arg(argc, argv, 4, 100);
  int nthread = (int)arg(argc, argv, 5, 1);
  float *X = malloc(rows * cols * sizeof *X), *y = malloc(rows * sizeof *y);
  float *out = malloc(rows * (size_t)(nclass > 0 ? nclass : 1) * sizeof *out);
  if (!X || !y || !out)
    return 1;
  uint64_t s = 88172645463325252ULL;
  for (size_t i = 0; i < rows * cols; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    X[i] = (float)((double)(s >> 11) / 9007199254740992.0);
  }
  for (size_t i = 0; i < rows; i++) {
    double v = (double)X[i * cols + 3] + 0.3 * (double)X[i * cols + 7];
    y[i] = nclass ? (float)((int)(v / 1.3 * nclass) % nclass) : (float)v;
  }
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = rounds;
  p.early_stopping_rounds = 0;
  p.nthread = nthread;
  p.max_bin = (int)arg(argc, argv, 6, p.max_bin);
  struct tml_range train = {0, rows * 8 / 10}, valid = {rows * 8 / 10, rows};
  struct tml_error err;
  tml_error_init(&err);
  struct tml_xgb_model *m = NULL;
  double t0 = now();
  if (tml_xgb_train(X, cols, y, train, valid, nclass, &p, NULL, NULL, NULL, &m, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  double t1 = now();
  if (tml_xgb_predict(m, X, rows, out, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  double t2 = now();
  printf("rows %zu cols %zu nclass %d rounds %d nthread %d max_bin %d: train %.2f s (%.1f ms/round), "
         "predict %.3f s\n",
         rows, cols, nclass, rounds, nthread, p.max_bin, t1 - t0, (t1 - t0) * 1000.0 / rounds, t2 - t1);
  tml_xgb_free(m);
  free(X);
  free(y);
  free(out);
  return 0;
}
