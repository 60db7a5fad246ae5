/* The softmax of a boosting round (src/lib/learn/gbdt_grad.c), eight rows at a time against row by
 * row:
 *   bench_softmax [ROWS [REPEATS]]   time the gradient pass of 3 and 4 classes both ways (CPU time of
 *                                    the thread, min / median of REPEATS), and check the bits agree
 *   bench_softmax exhaustive         every float x of expf's fast range (-88, 0] through two-class
 *                                    rows (x, 0): the eight-row path's p must be the row code's bits
 *                                    (about 1.1e9 values, ~30 s) */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learn/gbdt_impl.h"

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int exhaustive(void) {
  enum { B = 1 << 20 };
  float *m = malloc(2 * (size_t)B * sizeof *m), *lab = calloc(B, sizeof *lab);
  float *a = malloc(B * sizeof *a), *b = malloc(B * sizeof *b);
  if (!m || !lab || !a || !b)
    return 1;
  unsigned long long bad = 0, total = 0;
  bool vec = tml__gbdt_softmax_vector(0);
  const uint32_t lo = 0x80000000u, hi = 0x80000000u | 0x42afffffu; /* -0 .. the float below -88 */
  for (uint64_t u0 = lo; u0 <= hi; u0 += B) {
    size_t n = (size_t)(hi - u0 + 1 < B ? hi - u0 + 1 : B);
    for (size_t i = 0; i < n; i++) {
      uint32_t u = (uint32_t)(u0 + i);
      memcpy(&m[i], &u, sizeof u);
      m[n + i] = 0.0f;
    }
    tml__gbdt_softmax_label_p(m, n, n, 2, lab, a, vec);
    tml__gbdt_softmax_label_p(m, n, n, 2, lab, b, false);
    for (size_t i = 0; i < n; i++)
      if (memcmp(&a[i], &b[i], sizeof *a) != 0 && bad++ < 5)
        printf("x %a: eight rows %a, row by row %a\n", (double)m[i], (double)a[i], (double)b[i]);
    total += n;
  }
  printf("%llu of %llu floats differ (eight-row path %s)\n", bad, total,
         vec ? "on" : "off here (no glibc, AVX2 or FMA, or its self-check failed): nothing was compared");
  free(m);
  free(lab);
  free(a);
  free(b);
  return bad != 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "exhaustive") == 0)
    return exhaustive();
  size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000;
  int repeats = argc > 2 ? atoi(argv[2]) : 9;
  if (n < 8 || repeats < 1 || repeats > 99) {
    fprintf(stderr, "usage: bench_softmax [ROWS >= 8 [REPEATS 1..99]] | bench_softmax exhaustive\n");
    return 2;
  }
  bool vec = tml__gbdt_softmax_vector(0);
  printf("softmax gradient pass, %zu rows, CPU time of one thread (min / median of %d); eight-row path %s\n", n,
         repeats, vec ? "on" : "off here (no glibc, AVX2 or FMA, or its self-check failed): both time one code");
  for (int K = 3; K <= 4; K++) {
    float *margin = malloc((size_t)K * n * sizeof *margin), *label = malloc(n * sizeof *label);
    float *gh = malloc(2 * (size_t)K * n * sizeof *gh), *gh2 = malloc(2 * (size_t)K * n * sizeof *gh2);
    float *ghr = calloc(8 * n, sizeof *ghr), *ghr2 = calloc(8 * n, sizeof *ghr2);
    if (!margin || !label || !gh || !gh2 || !ghr || !ghr2)
      return 1;
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < (size_t)K * n; i++) { /* margins of a trained model's spread */
      s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
      margin[i] = (float)((double)((s * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 6.0 - 3.0);
    }
    for (size_t i = 0; i < n; i++)
      label[i] = (float)(i % (size_t)K);
    double t[2][99];
    for (int r = 0; r < repeats; r++)
      for (int v = 0; v < 2; v++) {
        double t0 = cpu_seconds();
        tml__gbdt_softmax_grad_rows(margin, n, n, K, label, v ? gh2 : gh, n, v ? ghr2 : ghr, v == 1 && vec);
        t[v][r] = cpu_seconds() - t0;
      }
    for (int v = 0; v < 2; v++)
      qsort(t[v], (size_t)repeats, sizeof(double), cmp_double);
    bool same = memcmp(gh, gh2, 2 * (size_t)K * n * sizeof *gh) == 0 && memcmp(ghr, ghr2, 8 * n * sizeof *ghr) == 0;
    printf("K %d: row by row %.2f / %.2f ms, eight rows %.2f / %.2f ms: %.2fx (median); same bits: %s\n", K,
           t[0][0] * 1e3, t[0][repeats / 2] * 1e3, t[1][0] * 1e3, t[1][repeats / 2] * 1e3,
           t[0][repeats / 2] / t[1][repeats / 2], same ? "yes" : "NO");
    free(margin);
    free(label);
    free(gh);
    free(gh2);
    free(ghr);
    free(ghr2);
    if (!same)
      return 1;
  }
  return 0;
}
