/* The native GBDT engine beside XGBoost in the same run (issue 13):
 *   build/bench/bench_gbdt [rows] [cols] [rounds] [repeats] [predict]
 * Defaults 200000 x 70, 3 classes, 64 bins, one thread, 20 rounds (early stopping off), 3 repeats.
 * Prints min / median over the repeats of: time per boosting round of XGBoost (hist), of the native
 * engine, of the native engine with each lever off (histogram subtraction, the shared root pass, the
 * AVX2 paths, float histogram slots, skipping children that cannot split), the floor (one histogram pass over
 * the training rows of the same matrix), binning the matrix (once per fold, shared by the five
 * heads), the wall time of one model on 1 and on 2 threads (threads inside the model), and the
 * prediction of five heads for one row with trees of the sizes a walk-forward keeps (native, and
 * the same heads trained by XGBoost and predicted through its flat form, the default engine's path).
 * With a fifth argument `predict`, only the five-head prediction is measured.
 * Times are CPU seconds of the (single) thread. Ratios are taken between figures of the same run. Synthetic data as bench_xgb.c. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trademl/error.h"
#include "trademl/gbdt.h"
#include "trademl/parse.h"
#include "trademl/xgb.h"

/* CPU time of this thread: on a shared machine it measures the work, not the wait for a core. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall time, for the threads inside one model (their CPU time is not the point). */
static double wall(void) {
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

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

struct series {
  const char *name;
  double v[32];
  int n;
};
static void add(struct series *s, double v) { s->v[s->n++] = v; }
static double smin(struct series *s) {
  qsort(s->v, (size_t)s->n, sizeof(double), cmp_double);
  return s->v[0];
}
static double smed(struct series *s) {
  qsort(s->v, (size_t)s->n, sizeof(double), cmp_double);
  return s->n % 2 ? s->v[s->n / 2] : 0.5 * (s->v[s->n / 2 - 1] + s->v[s->n / 2]);
}

/* The engine's levers, each switched off alone (TML_GBDT_NO_* flags, or double instead of float
 * histogram slots: training.native_histogram). */
static const struct {
  const char *name;
  unsigned flag;
  int precision;
} levers[] = {
    {"native round, no histogram subtraction", TML_GBDT_NO_SUBTRACTION, TML_HIST_FLOAT},
    {"native round, no shared root pass", TML_GBDT_NO_SHARED_ROOT, TML_HIST_FLOAT},
    {"native round, no AVX2 (SSE2 mask, plain root pass, row softmax)", TML_GBDT_NO_AVX2, TML_HIST_FLOAT},
    {"native round, double histograms", 0, TML_HIST_DOUBLE},
    {"native round, unsplittable children searched too", TML_GBDT_SEARCH_ALL, TML_HIST_FLOAT},
};
#define NLEVERS (sizeof levers / sizeof *levers)

static void die(const struct tml_error *e) {
  fprintf(stderr, "%s\n", e->msg);
  exit(1);
}

int main(int argc, char **argv) {
  size_t rows = (size_t)arg(argc, argv, 1, 200000), cols = (size_t)arg(argc, argv, 2, 70);
  int rounds = (int)arg(argc, argv, 3, 20), repeats = (int)arg(argc, argv, 4, 3);
  if (repeats < 1 || repeats > 32 || rounds < 1 || rows < 100 || cols < 1) {
    fprintf(stderr, "usage: bench_gbdt [rows >= 100] [cols >= 1] [rounds >= 1] [repeats 1..32]\n");
    return 2;
  }
  bool predict_only = argc > 5 && strcmp(argv[5], "predict") == 0;
  if (argc > 5 && !predict_only) {
    fprintf(stderr, "the fifth argument is 'predict' (only the five-head prediction) or nothing, not '%s'\n", argv[5]);
    return 2;
  }
  int nclass = 3;
  float *X = malloc(rows * cols * sizeof *X), *y = malloc(rows * sizeof *y);
  float *g = malloc(rows * sizeof *g), *h = malloc(rows * sizeof *h);
  double *hist = malloc(cols * 256 * 2 * sizeof *hist);
  if (!X || !y || !g || !h || !hist)
    return 1;
  uint64_t s = 88172645463325252ULL;
  for (size_t i = 0; i < rows * cols; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    X[i] = (float)((double)(s >> 11) / 9007199254740992.0);
  }
  for (size_t i = 0; i < rows; i++) {
    double v = (double)X[i * cols + 3] + 0.3 * (double)X[i * cols + 7];
    y[i] = (float)((int)(v / 1.3 * nclass) % nclass);
    g[i] = (float)X[i * cols + 5] - 0.5f;
    h[i] = 0.25f;
  }
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = rounds;
  p.early_stopping_rounds = 0;
  p.nthread = 1;
  struct tml_range train = {0, rows * 8 / 10}, valid = {rows * 8 / 10, rows};
  struct tml_error err;
  tml_error_init(&err);
  struct series xgb = {.name = "xgboost round"}, nat = {.name = "native round"}, off[NLEVERS], floor_ = {.name = "floor: one histogram pass"}, bins = {.name = "binning the fold (once for 5 heads)"},
              pred = {.name = "predict 5 heads, one row (us)"},
              xpred = {.name = "xgboost: 5 heads, one row (us)"};
  for (size_t i = 0; i < NLEVERS; i++)
    off[i] = (struct series){.name = levers[i].name};
  struct series wall1 = {.name = "native round, wall, 1 thread"}, wall2 = {.name = "native round, wall, 2 threads"};
  for (int rep = 0; rep < (predict_only ? 0 : repeats); rep++) {
    struct tml_xgb_model *xm = NULL;
    double t0 = now();
    if (tml_xgb_train(X, cols, y, train, valid, nclass, &p, NULL, NULL, NULL, &xm, &err))
      die(&err);
    add(&xgb, (now() - t0) / rounds);
    tml_xgb_free(xm);

    struct tml_gbdt_bins *b = NULL;
    t0 = now();
    if (tml_gbdt_bins_build(X, rows, cols, train, p.max_bin, &b, &err))
      die(&err);
    add(&bins, now() - t0);
    t0 = now();
    tml_gbdt_hist_pass(b, g, h, train, hist);
    add(&floor_, now() - t0);
    for (size_t lever = 0; lever <= NLEVERS; lever++) { /* 0: as shipped; then one lever off at a time */
      struct tml_gbdt_model *m = NULL;
      struct tml_xgb_params q = p;
      if (lever)
        q.native_histogram = levers[lever - 1].precision;
      t0 = now();
      if (tml_gbdt_train_binned(b, y, train, valid, nclass, &q, lever ? levers[lever - 1].flag : 0, NULL, NULL, NULL, NULL,
                                &m, &err))
        die(&err);
      add(lever ? &off[lever - 1] : &nat, (now() - t0) / rounds);
      tml_gbdt_free(m);
    }
    /* Threads inside the model: wall time of one model with 1 and with 2 threads (p.nthread). */
    for (int nt = 1; nt <= 2; nt++) {
      struct tml_xgb_params q = p;
      q.nthread = nt;
      struct tml_gbdt_model *m = NULL;
      double w0 = wall();
      if (tml_gbdt_train_binned(b, y, train, valid, nclass, &q, 0, NULL, NULL, NULL, NULL, &m, &err))
        die(&err);
      add(nt == 1 ? &wall1 : &wall2, (wall() - w0) / rounds);
      tml_gbdt_free(m);
    }
    tml_gbdt_bins_free(b);
  }
  /* Five heads with the tree counts a full walk-forward keeps on average (docs/validation.md: best
   * iterations 41, 126, 9, 39, 96 for direction, volatility, timing, stop_loss, position_size),
   * depth 6, trained on 20k rows. */
  {
    size_t n = rows < 20000 ? rows : 20000;
    int best[5] = {41, 126, 9, 39, 96}, ncl[5] = {3, 4, 3, 0, 0};
    struct tml_gbdt_model *heads[5];
    struct tml_xgb_model *xheads[5]; /* the same heads trained by XGBoost, predicted by its flat form */
    for (int k = 0; k < 5; k++) {
      float *yk = malloc(n * sizeof *yk);
      for (size_t i = 0; i < n; i++)
        yk[i] = ncl[k] ? (float)((int)((double)X[i * cols + (size_t)k] * ncl[k]) % ncl[k]) : X[i * cols + (size_t)k];
      struct tml_xgb_params q = p;
      q.num_boost_round = best[k] + 1;
      if (tml_gbdt_train(X, cols, yk, (struct tml_range){0, n * 8 / 10}, (struct tml_range){n * 8 / 10, n}, ncl[k], &q,
                         NULL, NULL, NULL, &heads[k], &err))
        die(&err);
      if (tml_xgb_train(X, cols, yk, (struct tml_range){0, n * 8 / 10}, (struct tml_range){n * 8 / 10, n}, ncl[k], &q,
                        NULL, NULL, NULL, &xheads[k], &err))
        die(&err);
      free(yk);
    }
    float out[4];
    for (int rep = 0; rep < repeats; rep++) {
      size_t nq = 20000;
      double t0 = now(), sink = 0;
      for (size_t i = 0; i < nq; i++) {
        const float *x = X + ((i * 7919) % rows) * cols;
        for (int k = 0; k < 5; k++) {
          tml_gbdt_predict(heads[k], x, 1, out);
          sink += (double)out[0];
        }
      }
      add(&pred, (now() - t0) / (double)nq * 1e6);
      t0 = now();
      for (size_t i = 0; i < nq; i++) {
        const float *x = X + ((i * 7919) % rows) * cols;
        for (int k = 0; k < 5; k++) {
          if (tml_xgb_predict(xheads[k], x, 1, out, &err))
            die(&err);
          sink += (double)out[0];
        }
      }
      add(&xpred, (now() - t0) / (double)nq * 1e6);
      if (sink == 12345.678)
        printf(" ");
    }
    for (int k = 0; k < 5; k++) {
      tml_gbdt_free(heads[k]);
      tml_xgb_free(xheads[k]);
    }
  }
  if (predict_only) {
    printf("bench_gbdt: five heads (depth 6, best iterations 41, 126, 9, 39, 96), %d repeats (min / median)\n",
           repeats);
    printf("  %-40s %8.2f / %8.2f us\n", pred.name, smin(&pred), smed(&pred));
    printf("  %-40s %8.2f / %8.2f us\n", xpred.name, smin(&xpred), smed(&xpred));
    goto done;
  }
  printf("bench_gbdt: %zu x %zu, %d classes, %d bins, %d rounds, 1 thread, %d repeats (min / median)\n", rows, cols,
         nclass, p.max_bin, rounds, repeats);
  struct series *all[] = {&xgb, &nat, &floor_, &bins};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    printf("  %-40s %8.1f / %8.1f ms\n", all[i]->name, smin(all[i]) * 1e3, smed(all[i]) * 1e3);
  for (size_t i = 0; i < NLEVERS; i++)
    printf("  %-40s %8.1f / %8.1f ms\n", off[i].name, smin(&off[i]) * 1e3, smed(&off[i]) * 1e3);
  printf("  %-40s %8.1f / %8.1f ms\n", wall1.name, smin(&wall1) * 1e3, smed(&wall1) * 1e3);
  printf("  %-40s %8.1f / %8.1f ms\n", wall2.name, smin(&wall2) * 1e3, smed(&wall2) * 1e3);
  printf("  %-40s %8.2f / %8.2f us\n", pred.name, smin(&pred), smed(&pred));
  printf("  %-40s %8.2f / %8.2f us\n", xpred.name, smin(&xpred), smed(&xpred));
  printf("ratios (medians):\n");
  printf("  xgboost round / native round            %6.2fx\n", smed(&xgb) / smed(&nat));
  for (size_t i = 0; i < NLEVERS; i++) /* min over repeats: the least disturbed run of each */
    printf("  lever gain: %-38s %6.2fx (min %6.2fx)\n", levers[i].name + strlen("native round, "),
           smed(&off[i]) / smed(&nat), smin(&off[i]) / smin(&nat));
  printf("  native round / floor (histogram passes) %6.2f\n", smed(&nat) / smed(&floor_));
  printf("  1 thread / 2 threads (wall, one model)    %6.2fx (min %6.2fx)\n", smed(&wall1) / smed(&wall2),
         smin(&wall1) / smin(&wall2));
  printf("  binning 5x / binning once (shared bins) %6.2fx of one round per head saved: %.2f rounds\n", 5.0,
         4.0 * smed(&bins) / smed(&nat));
done:
  free(X);
  free(y);
  free(g);
  free(h);
  free(hist);
  return 0;
}
