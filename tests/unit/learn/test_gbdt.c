/* The native GBDT engine: cases small enough to check by hand (gradients, a split, leaf values,
 * the default direction of missing values), early stopping against a brute-force recomputation,
 * byte-identical models across runs and thread counts, files (round trip, another engine's file,
 * corrupt files), bad parameters, the XGBoost JSON export loaded by libxgboost, and agreement with
 * XGBoost on real candles. */
#include <float.h>
#include <jansson.h>
#include <pthread.h>

#include "fuzz/gbdt_reference.h"
#include "learn/gbdt_impl.h"
#include "test.h"
#include "trademl/buf.h"
#include "trademl/dataset.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/gbdt.h"
#include "trademl/hash.h"
#include "trademl/helpers.h"
#include "trademl/import.h"
#include "trademl/labels.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"
#include "trademl/xgb.h"

static uint64_t rng_state;
static double uniform(void) { /* xorshift64*, deterministic; value in [-1, 1) */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* n x ncols uniform features, ~5 % NaN in column 1; 3 classes from columns 0 and 2 with noise. */
static void make_data(float *X, float *y, size_t n, size_t ncols, int nclass) {
  rng_state = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < ncols; j++)
      X[i * ncols + j] = (float)uniform();
    if (uniform() < -0.9)
      X[i * ncols + 1] = NAN;
    double v = (double)X[i * ncols] + 0.5 * (double)X[i * ncols + 2] + 0.6 * uniform();
    if (nclass > 0)
      y[i] = (float)(v < -0.4 ? 0 : v < 0.4 ? 1 : 2);
    else
      y[i] = (float)v;
  }
}

/* A label of nclass classes for row i of make_data's output: its 3-class label shifted by one where
 * column 3 is positive (classes from the score and a second column). */
static float shifted_label(const float *X, const float *y, size_t ncols, size_t i, int nclass) {
  return (float)(((int)y[i] + (X[i * ncols + 3] > 0.0f ? 1 : 0)) % nclass);
}

static void small_params(struct tml_xgb_params *p) {
  tml_xgb_params_default(p);
  p->num_boost_round = 60;
  p->early_stopping_rounds = 10;
  p->eta = 0.3;
  p->max_depth = 3;
}

TEST(softmax_gradients_by_hand) {
  /* margins (0, ln 2, 0) -> p = (1/4, 1/2, 1/4); label 1: g = p - [k = 1], h = 2p(1-p). */
  float margin[3] = {0.0f, (float)log(2.0), 0.0f}, g[3], h[3];
  tml_gbdt_softmax_grad(margin, 3, 1, g, h);
  CHECK_NEAR(g[0], 0.25, 1e-6);
  CHECK_NEAR(g[1], -0.5, 1e-6);
  CHECK_NEAR(g[2], 0.25, 1e-6);
  CHECK_NEAR(h[0], 0.375, 1e-6);
  CHECK_NEAR(h[1], 0.5, 1e-6);
  CHECK_NEAR(h[2], 0.375, 1e-6);
  /* A certain class: the hessian is floored at 1e-16, never 0. */
  float sure[2] = {0.0f, 100.0f};
  tml_gbdt_softmax_grad(sure, 2, 1, g, h);
  CHECK(h[0] >= 1e-16f && h[0] < 1e-30f + 1e-15f);
  CHECK_NEAR(g[1], 0.0, 1e-6);
}

/* Row i of a K-class softmax, class-major margins: the one-row functions' (g, h) and p(label). */
static void softmax_row_reference(const float *margin, size_t n, size_t i, int K, float label, float *g, float *h,
                                  float *py) {
  float m[16], p[16];
  for (int k = 0; k < K; k++)
    p[k] = m[k] = margin[(size_t)k * n + i];
  tml_gbdt_softmax_grad(m, K, (int)label, g, h);
  tml__gbdt_softmax(p, K);
  *py = p[(int)label];
}

/* Checks both row functions of gbdt_grad.c (vector path and row by row) against the one-row
 * functions, bit for bit, on n rows of K classes. Returns the rows the eight-row code computed
 * (the same count from both functions). */
static size_t check_softmax_rows(const float *margin, size_t mstride, const float *label, size_t n, int K,
                                 bool vector) {
  float *gh = malloc(2 * (size_t)K * (n + 5) * sizeof *gh), *ghr = calloc(8 * n, sizeof *ghr);
  float *py = malloc(n * sizeof *py);
  CHECK(gh && ghr && py);
  size_t gstride = n + 5; /* a class stride other than the margins' */
  size_t fast = tml__gbdt_softmax_grad_rows(margin, mstride, n, K, label, gh, gstride, K <= 4 ? ghr : NULL, vector);
  size_t fast_p = tml__gbdt_softmax_label_p(margin, mstride, n, K, label, py, vector);
  CHECK_MSG(fast == fast_p, "K %d: the gradients took the eight-row path for %zu rows, the probabilities for %zu",
            K, fast, fast_p);
  CHECK_MSG(vector || fast == 0, "K %d: %zu rows went the eight-row way without vector", K, fast);
  for (size_t i = 0; i < n; i++) {
    float g[16], h[16], p;
    softmax_row_reference(margin, mstride, i, K, label[i], g, h, &p);
    for (int k = 0; k < K; k++) {
      const float *q = gh + 2 * ((size_t)k * gstride + i);
      CHECK_MSG(memcmp(&q[0], &g[k], sizeof(float)) == 0 && memcmp(&q[1], &h[k], sizeof(float)) == 0,
                "K %d row %zu class %d (margin %a, vector %d): (g, h) (%a, %a), the row's (%a, %a)", K, i, k,
                (double)margin[(size_t)k * mstride + i], vector, (double)q[0], (double)q[1], (double)g[k], (double)h[k]);
      if (K <= 4)
        CHECK_MSG(memcmp(&ghr[8 * i + 2 * (size_t)k], &g[k], sizeof(float)) == 0 &&
                      memcmp(&ghr[8 * i + 2 * (size_t)k + 1], &h[k], sizeof(float)) == 0,
                  "K %d row %zu class %d: the root pass's (g, h) differ", K, i, k);
    }
    CHECK_MSG(memcmp(&py[i], &p, sizeof p) == 0, "K %d row %zu (vector %d): p(label) %a, the row's %a", K, i, vector,
              (double)py[i], (double)p);
  }
  free(gh);
  free(ghr);
  free(py);
  return fast;
}

/* The eight-row softmax (gbdt_grad.c: glibc's expf redone on four doubles) gives the row-by-row
 * code's bits: random margins of 2..9 classes with row counts that leave tails, rows whose spread
 * leaves expf's fast path (|x| >= 88, NaN, infinities), and a sweep of expf's whole fast range
 * (-88, 0] in steps of 997 float ulps through two-class rows (m, 0), where p = e^m / (e^m + 1)
 * would show a one-ulp difference of e^m. */
TEST(softmax_rows_equal_the_row_by_row_code) {
  bool vector = tml__gbdt_softmax_vector(0);
  rng_state = 0x1234567ULL;
  static const int Ks[] = {2, 3, 4, 5, 8, 9};
  for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++) {
    int K = Ks[ki];
    size_t n = 1003;
    float *margin = malloc((size_t)K * n * sizeof *margin), *label = malloc(n * sizeof *label);
    CHECK(margin && label);
    for (size_t i = 0; i < n; i++) {
      double spread = i % 97 == 5 ? 120.0 : i % 13 == 0 ? 40.0 : 4.0; /* some rows leave the fast path */
      for (int k = 0; k < K; k++)
        margin[(size_t)k * n + i] = (float)(spread * uniform());
      label[i] = (float)((size_t)((uniform() + 1.0) * K) % (size_t)K);
    }
    margin[17] = NAN;
    margin[(size_t)(K - 1) * n + 40] = INFINITY;
    margin[333] = -INFINITY;
    /* rows whose x = m_k - max lie at the fast path's edge: the largest float below 88 in magnitude
     * (eight-row code) and -88 itself (row by row), each in a group of its own */
    static const size_t edge_rows[2] = {336, 344};
    const float edge[2] = {nextafterf(88.0f, 0.0f), 88.0f};
    for (int e = 0; e < 2; e++)
      for (int k = 0; k < K; k++)
        margin[(size_t)k * n + edge_rows[e]] = k == K - 1 ? edge[e] : 0.0f;
    for (size_t i = 336; i < 352; i++) /* the rest of both groups in the fast range */
      if (i != 336 && i != 344)
        for (int k = 0; k < K; k++)
          margin[(size_t)k * n + i] = 0.5f * (float)k;
    size_t fast = check_softmax_rows(margin, n, label, n, K, vector);
    /* groups with the spread-120 rows, NaN, infinities or -88 go row by row; most go eight at a time */
    if (vector && K <= 8)
      CHECK_MSG(fast > n / 2 && fast % 8 == 0 && fast < n - n % 8, "K %d: %zu of %zu rows took the eight-row path",
                K, fast, n);
    if (K > 8)
      CHECK_MSG(fast == 0, "K %d: more classes than the eight-row code keeps, yet %zu rows took it", K, fast);
    /* the two edge groups alone: the first (x just inside) eight at a time, the second (-88) not */
    size_t edge_fast = check_softmax_rows(margin + 336, n, label + 336, 16, K, vector);
    if (vector && K <= 8)
      CHECK_MSG(edge_fast == 8, "K %d: %zu rows of the two edge groups took the eight-row path, not 8", K, edge_fast);
    CHECK(check_softmax_rows(margin, n, label, n, K, false) == 0);
    free(margin);
    free(label);
  }
  /* the sweep: x from -0 down to the largest float below 88 in magnitude */
  uint32_t lo = 0x80000000u, hi = 0x80000000u | 0x42afffffu;
  size_t n = (size_t)((hi - lo) / 997u) + 1;
  float *margin = malloc(2 * n * sizeof *margin), *label = malloc(n * sizeof *label);
  CHECK(margin && label);
  for (size_t i = 0; i < n; i++) {
    uint32_t u = lo + (uint32_t)i * 997u;
    memcpy(&margin[i], &u, sizeof u);
    margin[n + i] = 0.0f;
    label[i] = (float)(i % 2);
  }
  size_t fast = check_softmax_rows(margin, n, label, n, 2, vector);
  if (vector) /* every row of the sweep is in the fast range */
    CHECK_MSG(fast == n - n % 8, "sweep: %zu of %zu rows took the eight-row path", fast, n);
  free(margin);
  free(label);
  if (!vector)
    SKIP("the eight-row path is off here (no glibc, AVX2 or FMA, or its self-check against expf failed): only the "
         "row-by-row path ran");
}

TEST(bins_fitted_on_training_rows_only) {
  /* Rows 0..9 hold 0..9 (training), rows 10..11 hold 100 and -5 (never seen by the cuts). */
  float X[14] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, -5, NAN, INFINITY};
  struct tml_gbdt_bins *b = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_gbdt_bins_build(X, 14, 1, (struct tml_range){0, 10}, 64, &b, &err), &err);
  size_t ncuts = 0;
  const float *cuts = tml_gbdt_bins_cuts(b, 0, &ncuts);
  CHECK_INT(ncuts, 9); /* 10 distinct values: one bin each, cuts at 1..9 */
  CHECK_NEAR(cuts[0], 1.0, 0);
  CHECK_NEAR(cuts[8], 9.0, 0);
  CHECK_INT(tml_gbdt_bins_at(b, 0, 0), 0);
  CHECK_INT(tml_gbdt_bins_at(b, 5, 0), 5);
  CHECK_INT(tml_gbdt_bins_at(b, 10, 0), 9); /* above every cut: the last bin */
  CHECK_INT(tml_gbdt_bins_at(b, 11, 0), 0);
  CHECK_INT(tml_gbdt_bins_at(b, 12, 0), 64); /* NaN: missing */
  CHECK_INT(tml_gbdt_bins_at(b, 13, 0), 64); /* Inf: missing */
  tml_gbdt_bins_free(b);
  /* More distinct values than bins: XGBoost's sketch picks max_bin - 1 cuts near the quantiles
   * (within its rank error, 1/(8 max_bin) of the rows per pruning). */
  static float Y[1000];
  for (int i = 0; i < 1000; i++)
    Y[i] = (float)((i * 337) % 1000); /* 0..999 in scrambled row order */
  CHECK_OK(tml_gbdt_bins_build(Y, 1000, 1, (struct tml_range){0, 1000}, 4, &b, &err), &err);
  cuts = tml_gbdt_bins_cuts(b, 0, &ncuts);
  CHECK_INT(ncuts, 3);
  for (int q = 1; q <= 3; q++)
    CHECK_MSG(fabs((double)cuts[q - 1] - 250.0 * q) <= 40.0, "cut %d is %g, not near the %d/4 quantile %g", q,
              (double)cuts[q - 1], q, 250.0 * q);
  tml_gbdt_bins_free(b);
  /* 65 distinct values, 64 bins: as XGBoost, cuts at the values 1..63 (data[1..max_bin-1] of the
   * summary), so the two largest values share the last bin (not one bin per value). */
  for (int i = 0; i < 65; i++)
    Y[i] = (float)(64 - i);
  CHECK_OK(tml_gbdt_bins_build(Y, 65, 1, (struct tml_range){0, 65}, 64, &b, &err), &err);
  cuts = tml_gbdt_bins_cuts(b, 0, &ncuts);
  CHECK_INT(ncuts, 63);
  CHECK_NEAR(cuts[0], 1.0, 0);
  CHECK_NEAR(cuts[62], 63.0, 0);
  CHECK_INT(tml_gbdt_bins_at(b, 0, 0), 63); /* 64 */
  CHECK_INT(tml_gbdt_bins_at(b, 1, 0), 63); /* 63 */
  CHECK_INT(tml_gbdt_bins_at(b, 2, 0), 62); /* 62 */
  tml_gbdt_bins_free(b);
}

/* The binned matrix does not depend on the thread count: cuts (split by column blocks taken in
 * turn) and codes (split by rows) equal one thread's byte for byte, on columns of every kind
 * (continuous, runs of equal values, few distinct values, NaN and Inf, no finite fit value at all),
 * an odd column count (a last block of fewer columns) and fit rows that are not all rows. */
TEST(bins_the_same_on_every_thread_count) {
  enum { N = 6001, C = 37 }; /* N: no thread count divides the rows evenly */
  float *X = malloc((size_t)N * C * sizeof *X);
  CHECK(X);
  rng_state = 0x2545F4914F6CDD1DULL;
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < C; j++) {
      float v;
      switch (j % 5) {
      case 0: v = (float)uniform(); break;                                   /* continuous */
      case 1: v = (float)(i / (20 + j)) * 0.25f; break;                      /* runs of equal values */
      case 2: v = (float)(int)(uniform() * 4.0); break;                      /* few distinct values */
      case 3: v = uniform() < -0.8 ? NAN : uniform() > 0.95 ? INFINITY : (float)uniform(); break;
      default: v = j == 4 && i >= 500 && i < 5500 ? NAN : (float)(uniform() * 1e6); break;
      }
      X[i * C + j] = v;
    }
  struct tml_range fit = {500, 5500};
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_bins *one = NULL;
  CHECK_OK(tml_gbdt_bins_build(X, N, C, fit, 64, &one, &err), &err);
  size_t n0 = 0;
  tml_gbdt_bins_cuts(one, 4, &n0);
  CHECK_INT(n0, 0); /* column 4: no finite value in the fit rows */
  const int threads[] = {0, -1, 2, 3, 5, 16, 64};
  for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
    struct tml_gbdt_bins *b = NULL;
    CHECK_OK(tml_gbdt_bins_build_threads(X, N, C, fit, 64, threads[t], &b, &err), &err);
    for (size_t j = 0; j < C; j++) {
      size_t na = 0, nb = 0;
      const float *ca = tml_gbdt_bins_cuts(one, j, &na), *cb = tml_gbdt_bins_cuts(b, j, &nb);
      CHECK_MSG(na == nb && memcmp(ca, cb, na * sizeof *ca) == 0, "%d threads: column %zu has other cuts (%zu vs %zu)",
                threads[t], j, nb, na);
    }
    CHECK_MSG(memcmp(one->code, b->code, (size_t)N * C) == 0, "%d threads: other row-major codes", threads[t]);
    CHECK_MSG(memcmp(one->code_col, b->code_col, (size_t)N * C) == 0, "%d threads: other column-major codes",
              threads[t]);
    tml_gbdt_bins_free(b);
  }
  tml_gbdt_bins_free(one);
  /* Fewer columns than threads (one block of cuts, 16 parts of codes): the first 3 columns as a
   * matrix of their own. */
  enum { C3 = 3 };
  float *X3 = malloc((size_t)N * C3 * sizeof *X3);
  CHECK(X3);
  for (size_t i = 0; i < N; i++)
    memcpy(X3 + i * C3, X + i * C, C3 * sizeof *X3);
  struct tml_gbdt_bins *a3 = NULL, *b3 = NULL;
  CHECK_OK(tml_gbdt_bins_build(X3, N, C3, fit, 64, &a3, &err), &err);
  CHECK_OK(tml_gbdt_bins_build_threads(X3, N, C3, fit, 64, 16, &b3, &err), &err);
  for (size_t j = 0; j < C3; j++) {
    size_t na = 0, nb = 0;
    const float *ca = tml_gbdt_bins_cuts(a3, j, &na), *cb = tml_gbdt_bins_cuts(b3, j, &nb);
    CHECK_MSG(na == nb && memcmp(ca, cb, na * sizeof *ca) == 0, "3 columns, 16 threads: column %zu has other cuts", j);
  }
  CHECK_MSG(memcmp(a3->code, b3->code, (size_t)N * C3) == 0 && memcmp(a3->code_col, b3->code_col, (size_t)N * C3) == 0,
            "3 columns, 16 threads: other codes");
  tml_gbdt_bins_free(a3);
  tml_gbdt_bins_free(b3);
  free(X3);
  free(X);
}

/* Regression, 8 rows, by hand: base_score 0.5, g = 0.5 - y, h = 1, lambda 1, eta 1.
 * Split x0 < 5: left (y = 0) G = 2, H = 4 -> leaf -2/5 = -0.4 (prediction 0.1); right (y = 10)
 * G = -38, H = 4 -> leaf 38/5 = 7.6 (prediction 8.1); gain = 2^2/5 + 38^2/5 - 36^2/9 = 145.6.
 * The next best cut, x0 < 4, gains 1.5^2/4 + 37.5^2/6 - 144 = 90.9. Column 1 (alternating 0/1)
 * separates nothing. */
TEST(split_and_leaf_values_by_hand) {
  float X[16], y[8];
  for (int i = 0; i < 8; i++) {
    X[2 * i] = (float)(i + 1);
    X[2 * i + 1] = (float)(i % 2);
    y[i] = i < 4 ? 0.0f : 10.0f;
  }
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 1;
  p.early_stopping_rounds = 0;
  p.eta = 1.0;
  p.max_depth = 1;
  p.min_child_weight = 0;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL;
  CHECK_OK(tml_gbdt_train(X, 2, y, (struct tml_range){0, 8}, (struct tml_range){0, 8}, 0, &p, NULL, NULL, NULL, &m, &err),
           &err);
  CHECK_INT(tml_gbdt_ntrees(m), 1);
  float x[2] = {2, 0}, out = 0;
  tml_gbdt_predict(m, x, 1, &out);
  CHECK_NEAR(out, 0.1, 1e-6);
  x[0] = 4.9f;
  tml_gbdt_predict(m, x, 1, &out);
  CHECK_NEAR(out, 0.1, 1e-6);
  x[0] = 5.0f; /* x < 5 goes left: 5 itself goes right */
  tml_gbdt_predict(m, x, 1, &out);
  CHECK_NEAR(out, 8.1, 1e-6);
  double gain[2], weight[2], cover[2];
  tml_gbdt_importance(m, gain, weight, cover);
  CHECK_NEAR(gain[0], (double)145.6f, 0); /* XGBoost's loss_chg is a float: 145.6 rounded to float */
  CHECK_NEAR(weight[0], 1.0, 0);
  CHECK_NEAR(cover[0], 8.0, 0);
  CHECK_NEAR(weight[1], 0.0, 0);
  tml_gbdt_free(m);
}

/* max_leaves and grow_policy by hand: x = 1..8, y = {0,0,1,1,10,10,20,20}, eta 1, lambda 0, squared
 * error from base 0.5 (g = 0.5 - y, h = 1). The root splits x < 5 (gain 420.5); its left child's
 * best split (x < 3) gains 1, its right child's (x < 7) gains 100. Depth-wise with 3 leaves expands
 * the level in node order, so the left child (node 1) splits and the right one stays a leaf;
 * loss-guided with 3 leaves expands the larger gain, the right child; without a leaf limit both. */
static void leaves_case(int max_depth, int max_leaves, int policy, const float *want, int nsplits) {
  float X[8], y[8] = {0, 0, 1, 1, 10, 10, 20, 20};
  for (int i = 0; i < 8; i++)
    X[i] = (float)(i + 1);
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 1;
  p.early_stopping_rounds = 0;
  p.eta = 1.0;
  p.lambda = 0.0;
  p.min_child_weight = 0;
  p.max_depth = max_depth;
  p.max_leaves = max_leaves;
  p.grow_policy = policy;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL;
  CHECK_OK(tml_gbdt_train(X, 1, y, (struct tml_range){0, 8}, (struct tml_range){0, 8}, 0, &p, NULL, NULL, NULL, &m, &err),
           &err);
  for (int i = 0; i < 8; i++) {
    float out = 0;
    tml_gbdt_predict(m, &X[i], 1, &out);
    CHECK_MSG(fabs((double)out - (double)want[i]) < 1e-5, "depth %d leaves %d %s: x = %d predicts %g, want %g",
              max_depth, max_leaves, tml_xgb_grow_policy_name(policy), i + 1, (double)out, (double)want[i]);
  }
  double gain, weight, cover;
  tml_gbdt_importance(m, &gain, &weight, &cover);
  CHECK_NEAR(weight, (double)nsplits, 0);
  tml_gbdt_free(m);
}

TEST(max_leaves_and_grow_policy_by_hand) {
  const float four[8] = {0, 0, 1, 1, 10, 10, 20, 20};     /* every split made */
  const float left[8] = {0, 0, 1, 1, 15, 15, 15, 15};     /* root + left child */
  const float right[8] = {0.5f, 0.5f, 0.5f, 0.5f, 10, 10, 20, 20}; /* root + right child */
  const float root[8] = {0.5f, 0.5f, 0.5f, 0.5f, 15, 15, 15, 15};
  leaves_case(2, 0, TML_GROW_DEPTHWISE, four, 3);
  leaves_case(2, 3, TML_GROW_DEPTHWISE, left, 2);
  leaves_case(2, 3, TML_GROW_LOSSGUIDE, right, 2);
  leaves_case(0, 3, TML_GROW_LOSSGUIDE, right, 2); /* no depth limit: the leaves bound the tree */
  leaves_case(2, 2, TML_GROW_DEPTHWISE, root, 1);
  leaves_case(2, 4, TML_GROW_LOSSGUIDE, four, 3);
  leaves_case(1, 0, TML_GROW_LOSSGUIDE, root, 1);
}

/* Missing values go to the side learned in training: here the NaN row's label is 0, so with the
 * split x0 < 5 the best default is left; a NaN or Inf at prediction follows it. When the training
 * rows have no missing value the default is right (XGBoost's forward scan). */
TEST(missing_values_default_direction) {
  float X[8] = {1, 2, 3, NAN, 5, 6, 7, 8}, y[8] = {0, 0, 0, 0, 10, 10, 10, 10};
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 1;
  p.early_stopping_rounds = 0;
  p.eta = 1.0;
  p.max_depth = 1;
  p.min_child_weight = 0;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL;
  CHECK_OK(tml_gbdt_train(X, 1, y, (struct tml_range){0, 8}, (struct tml_range){0, 8}, 0, &p, NULL, NULL, NULL, &m, &err),
           &err);
  float q[3] = {NAN, INFINITY, -INFINITY}, out[3];
  tml_gbdt_predict(m, q, 3, out);
  for (int i = 0; i < 3; i++)
    CHECK_NEAR(out[i], 0.1, 1e-6);
  tml_gbdt_free(m);
  float X2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  CHECK_OK(tml_gbdt_train(X2, 1, y, (struct tml_range){0, 8}, (struct tml_range){0, 8}, 0, &p, NULL, NULL, NULL, &m, &err),
           &err);
  tml_gbdt_predict(m, q, 1, out);
  CHECK_NEAR(out[0], 8.1, 1e-6);
  tml_gbdt_free(m);
}

#define N 900
#define C 6

/* The validation metric as the engine documents it (XGBoost 1.7's): per row -logf(max(p_y, 1e-16f))
 * in float, summed in double in row order, divided by the row count. */
static double mlogloss(const float *prob, const float *y, size_t n, int k) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    float py = prob[i * (size_t)k + (size_t)y[i]];
    s += (double)(py > 1e-16f ? -logf(py) : -logf(1e-16f));
  }
  return s / (double)n;
}

TEST(early_stopping_matches_brute_force) {
  static float X[N * C], y[N], prob[N * 3];
  make_data(X, y, N, C, 3);
  struct tml_range train = {0, 600}, valid = {600, N};
  struct tml_xgb_params p;
  small_params(&p);
  p.eta = 0.5;
  p.max_depth = 4;
  p.min_child_weight = 0.1;
  p.num_boost_round = 40;
  p.early_stopping_rounds = 5;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL;
  CHECK_OK(tml_gbdt_train(X, C, y, train, valid, 3, &p, NULL, NULL, NULL, &m, &err), &err);
  int best = tml_gbdt_best_iteration(m);
  CHECK_INT(tml_gbdt_ntrees(m), (best + 1) * 3);
  double best_score = tml_gbdt_best_score(m);
  tml_gbdt_free(m);
  /* Brute force: a model of r + 1 rounds for every r, scored from its own predictions. */
  int bf_best = 0;
  double bf_score = INFINITY;
  for (int r = 0; r < p.num_boost_round; r++) {
    struct tml_xgb_params q = p;
    q.num_boost_round = r + 1;
    q.early_stopping_rounds = 0;
    CHECK_OK(tml_gbdt_train(X, C, y, train, valid, 3, &q, NULL, NULL, NULL, &m, &err), &err);
    tml_gbdt_predict(m, X + valid.begin * C, valid.end - valid.begin, prob);
    tml_gbdt_free(m);
    double s = mlogloss(prob, y + valid.begin, valid.end - valid.begin, 3);
    if (s < bf_score) {
      bf_score = s;
      bf_best = r;
    }
    if (r - bf_best >= p.early_stopping_rounds)
      break;
  }
  CHECK_MSG(bf_best < p.num_boost_round - p.early_stopping_rounds, "the case must stop early (best %d)", bf_best);
  CHECK_INT(best, bf_best);
  CHECK_NEAR(best_score, bf_score, 1e-12); /* the same float losses in the same order */
}

static char *model_json(const struct tml_gbdt_model *m) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_gbdt_to_json(m, &b, &err), &err);
  return tml_buf_detach(&b, NULL);
}

TEST(deterministic_across_runs_and_threads) {
  static float X[N * C], y[N];
  make_data(X, y, N, C, 3);
  struct tml_xgb_params p;
  small_params(&p);
  p.subsample = 0.8;
  p.colsample_bytree = 0.7;
  struct tml_error err;
  tml_error_init(&err);
  char *float_model = NULL;
  for (int prec = TML_HIST_FLOAT; prec <= TML_HIST_DOUBLE; prec++) {
    p.native_histogram = prec;
    char *json[4];
    for (int i = 0; i < 4; i++) {
      p.nthread = i == 1 ? 2 : 1;
      p.seed = i == 3 ? 7 : 42;
      struct tml_gbdt_model *m = NULL;
      CHECK_OK(tml_gbdt_train(X, C, y, (struct tml_range){0, 600}, (struct tml_range){600, N}, 3, &p, NULL, NULL, NULL,
                              &m, &err),
               &err);
      json[i] = model_json(m);
      tml_gbdt_free(m);
    }
    CHECK_STR(json[1], json[0]);
    CHECK_STR(json[2], json[0]);
    CHECK_MSG(strcmp(json[3], json[0]) != 0, "another seed must give another model (subsampling uses the seed)");
    if (prec == TML_HIST_FLOAT)
      float_model = json[0];
    else
      CHECK_MSG(strcmp(json[0], float_model) != 0, "float and double histograms gave the same model: the setting "
                                                    "does nothing");
    for (int i = prec == TML_HIST_FLOAT; i < 4; i++)
      free(json[i]);
  }
  free(float_model);
}

/* Threads inside one model split the histogram columns between them (nodes of >= 2048 rows): the
 * model bytes must not depend on the thread count, with all columns and with a column sample,
 * with and without histogram subtraction, with float and with double histograms. */
TEST(same_model_bytes_for_every_thread_count) {
  enum { NB = 12000, CB = 13 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y);
  CHECK(X && y);
  make_data(X, y, NB, CB, 3);
  struct tml_gbdt_bins *b = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 9000}, valid = {9000, NB};
  CHECK_OK(tml_gbdt_bins_build(X, NB, CB, train, 64, &b, &err), &err);
  for (int variant = 0; variant < 6; variant++) {
    struct tml_xgb_params p;
    small_params(&p);
    p.max_depth = 5;
    p.num_boost_round = 8;
    p.colsample_bytree = variant % 3 == 1 ? 0.6 : 1.0;
    p.native_histogram = variant < 3 ? TML_HIST_FLOAT : TML_HIST_DOUBLE;
    unsigned flags = variant % 3 == 2 ? TML_GBDT_NO_SUBTRACTION : 0;
    char *ref = NULL;
    static const int threads[] = {1, 2, 3, 7};
    for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
      p.nthread = threads[i];
      struct tml_gbdt_model *m = NULL;
      CHECK_OK(tml_gbdt_train_binned(b, y, train, valid, 3, &p, flags, NULL, NULL, NULL, NULL, &m, &err), &err);
      char *j = model_json(m);
      tml_gbdt_free(m);
      if (!ref) {
        ref = j;
        continue;
      }
      CHECK_MSG(strcmp(j, ref) == 0, "variant %d: the model with %d threads differs from the one with 1", variant,
                threads[i]);
      free(j);
    }
    free(ref);
  }
  tml_gbdt_bins_free(b);
  free(X);
  free(y);
}

/* The split search's candidate mask (AVX2 where the processor has it, SSE2, scalar) only
 * pre-selects cuts for the exact check: every variant must give the same model bytes, also with
 * lambda 0 and min_child_weight 0 (sides with zero hessian), missing values and regression, with
 * float and double histograms. */
TEST(split_mask_variants_give_the_same_model) {
  enum { NB = 6000, CB = 11 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y), *yr = malloc(NB * sizeof *yr);
  CHECK(X && y && yr);
  make_data(X, y, NB, CB, 3);
  make_data(X, yr, NB, CB, 0);
  for (size_t i = 0; i < NB; i += 7)
    X[i * CB + 4] = NAN; /* a second column with missing values: backward scans */
  struct tml_gbdt_bins *b = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 4500}, valid = {4500, NB};
  CHECK_OK(tml_gbdt_bins_build(X, NB, CB, train, 64, &b, &err), &err);
  for (int variant = 0; variant < 8; variant++) {
    struct tml_xgb_params p;
    small_params(&p);
    p.max_depth = 6;
    p.num_boost_round = 12;
    p.early_stopping_rounds = 0;
    p.native_histogram = variant & 4 ? TML_HIST_DOUBLE : TML_HIST_FLOAT;
    if (variant & 1) {
      p.lambda = 0.0;
      p.min_child_weight = 0.0;
    }
    int nclass = variant & 2 ? 0 : 3;
    const float *labels = nclass ? y : yr;
    static const unsigned masks[] = {0, TML_GBDT_NO_AVX2, TML_GBDT_MASK_PLAIN};
    char *ref = NULL;
    for (size_t i = 0; i < sizeof masks / sizeof *masks; i++) {
      struct tml_gbdt_model *m = NULL;
      CHECK_OK(tml_gbdt_train_binned(b, labels, train, valid, nclass, &p, masks[i], NULL, NULL, NULL, NULL, &m, &err),
               &err);
      double gain[CB], weight[CB], cover[CB], splits = 0;
      tml_gbdt_importance(m, gain, weight, cover);
      for (size_t c = 0; c < CB; c++)
        splits += weight[c];
      CHECK_MSG(splits > 100, "variant %d: only %g splits, the trees are too small to test the search", variant,
                splits);
      char *j = model_json(m);
      tml_gbdt_free(m);
      if (!ref) {
        ref = j;
        continue;
      }
      CHECK_MSG(strcmp(j, ref) == 0, "variant %d: the model with mask %zu differs from the widest mask's", variant, i);
      free(j);
    }
    free(ref);
  }
  tml_gbdt_bins_free(b);
  free(X);
  free(y);
  free(yr);
}

/* Leaves above max_depth whose hessian is below 2 min_child_weight: nodes that could not split, so
 * the engine neither searched them nor (with a sibling alike) built their histograms. */
static int unsplittable_leaves(const char *model, double mcw, int max_depth) {
  json_error_t je;
  json_t *root = json_loads(model, 0, &je);
  CHECK_MSG(root != NULL, "model JSON: %s", je.text);
  int count = 0;
  size_t ti;
  json_t *tree;
  json_array_foreach(json_object_get(root, "trees"), ti, tree) {
    json_t *feature = json_object_get(tree, "feature"), *left = json_object_get(tree, "left"),
           *cover = json_object_get(tree, "cover");
    size_t n = json_array_size(feature);
    int *depth = calloc(n ? n : 1, sizeof *depth);
    CHECK(depth);
    for (size_t i = 0; i < n; i++) { /* children come after their parent */
      if (json_integer_value(json_array_get(feature, i)) >= 0) {
        size_t l = (size_t)json_integer_value(json_array_get(left, i));
        CHECK(l + 1 < n);
        depth[l] = depth[l + 1] = depth[i] + 1;
      } else if (depth[i] < max_depth && json_number_value(json_array_get(cover, i)) < 2.0 * mcw) {
        count++;
      }
    }
    free(depth);
  }
  json_decref(root);
  return count;
}

/* A child whose hessian is below 2 min_child_weight cannot split: the engine skips its split search
 * (and its histograms when the sibling is the same). The trees must be the same bytes as when every
 * child is searched (TML_GBDT_SEARCH_ALL): classes and regression, float and double slots,
 * depth-wise and loss-guided growth, with and without max_leaves (float slots then search every
 * child), lambda and min_child_weight 0, row and column samples, deep trees. Where the skip applies,
 * such children must occur, or the comparison would prove nothing. */
TEST(unsplittable_children_skipped_same_trees) {
  enum { NB = 6000, CB = 9 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y), *yr = malloc(NB * sizeof *yr);
  CHECK(X && y && yr);
  make_data(X, y, NB, CB, 3);
  make_data(X, yr, NB, CB, 0);
  struct tml_gbdt_bins *b = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 4800}, valid = {4800, NB};
  CHECK_OK(tml_gbdt_bins_build(X, NB, CB, train, 64, &b, &err), &err);
  static const struct {
    int nclass, precision, policy, max_leaves, max_depth;
    double mcw, lambda, subsample, colsample;
  } v[] = {
      {3, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 0, 7, 1.0, 1.0, 1.0, 1.0},
      {3, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 0, 7, 6.0, 1.0, 1.0, 1.0},
      {3, TML_HIST_DOUBLE, TML_GROW_DEPTHWISE, 0, 7, 1.0, 1.0, 1.0, 1.0},
      {3, TML_HIST_DOUBLE, TML_GROW_LOSSGUIDE, 40, 0, 6.0, 1.0, 0.8, 1.0},
      {3, TML_HIST_FLOAT, TML_GROW_LOSSGUIDE, 40, 0, 6.0, 1.0, 0.8, 1.0},
      {3, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 12, 10, 0.0, 1.0, 1.0, 1.0},
      {3, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 12, 10, 1.0, 1.0, 1.0, 1.0},
      {3, TML_HIST_DOUBLE, TML_GROW_DEPTHWISE, 12, 10, 1.0, 1.0, 1.0, 1.0},
      {3, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 0, 9, 0.0, 0.0, 1.0, 1.0},
      {3, TML_HIST_DOUBLE, TML_GROW_DEPTHWISE, 0, 9, 0.0, 0.0, 1.0, 1.0},
      {3, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 0, 7, 0.3, 1.0, 1.0, 0.7}, /* 0.3: its float is larger */
      {3, TML_HIST_DOUBLE, TML_GROW_DEPTHWISE, 0, 7, 2.0, 1.0, 0.9, 0.7},
      {0, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 0, 7, 8.0, 1.0, 1.0, 1.0}, /* a regression row weighs 1 */
      {0, TML_HIST_DOUBLE, TML_GROW_DEPTHWISE, 0, 7, 30.0, 1.0, 1.0, 1.0},
      {0, TML_HIST_FLOAT, TML_GROW_LOSSGUIDE, 40, 0, 8.0, 1.0, 0.8, 1.0},
      {0, TML_HIST_DOUBLE, TML_GROW_DEPTHWISE, 16, 10, 8.0, 0.0, 1.0, 1.0},
      {0, TML_HIST_FLOAT, TML_GROW_DEPTHWISE, 0, 10, 0.0, 0.0, 1.0, 1.0},
  };
  for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
    struct tml_xgb_params p;
    small_params(&p);
    p.num_boost_round = 10;
    p.early_stopping_rounds = 0;
    p.native_histogram = v[i].precision;
    p.grow_policy = v[i].policy;
    p.max_leaves = v[i].max_leaves;
    p.max_depth = v[i].max_depth;
    p.min_child_weight = v[i].mcw;
    p.lambda = v[i].lambda;
    p.subsample = v[i].subsample;
    p.colsample_bytree = v[i].colsample;
    char *json[2];
    for (int all = 0; all < 2; all++) {
      struct tml_gbdt_model *m = NULL;
      CHECK_OK(tml_gbdt_train_binned(b, v[i].nclass ? y : yr, train, valid, v[i].nclass, &p,
                                     all ? TML_GBDT_SEARCH_ALL : 0, NULL, NULL, NULL, NULL, &m, &err),
               &err);
      json[all] = model_json(m);
      tml_gbdt_free(m);
    }
    CHECK_MSG(strcmp(json[0], json[1]) == 0, "variant %zu: skipping the unsplittable children changed the model", i);
    bool applies = v[i].mcw > 0 && !(v[i].precision == TML_HIST_FLOAT && v[i].max_leaves > 0);
    int depth = v[i].max_depth ? v[i].max_depth : 64;
    CHECK_MSG(!applies || unsplittable_leaves(json[0], v[i].mcw, depth) > 0,
              "variant %zu: no child below 2 min_child_weight: nothing was skipped", i);
    free(json[0]);
    free(json[1]);
  }
  tml_gbdt_bins_free(b);
  free(X);
  free(y);
  free(yr);
}

/* The class trees of a round build their root histograms in one shared pass (every row and column
 * in every tree): the trees must be the same bit for bit as with one pass per class, for 2, 3 and 4
 * classes, with missing values, on 1 and 2 threads, with float and double histograms, with and
 * without AVX2 (the pass's vector and plain loops). */
TEST(shared_root_pass_gives_the_same_trees) {
  enum { NB = 7000, CB = 9 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y), *yk = malloc(NB * sizeof *yk);
  CHECK(X && y && yk);
  make_data(X, y, NB, CB, 3);
  struct tml_gbdt_bins *b = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 5200}, valid = {5200, NB};
  CHECK_OK(tml_gbdt_bins_build(X, NB, CB, train, 64, &b, &err), &err);
  for (int nclass = 2; nclass <= 4; nclass++) {
    for (size_t i = 0; i < NB; i++) /* classes from the score and a second column */
      yk[i] = nclass == 3 ? y[i] : shifted_label(X, y, CB, i, nclass);
    for (int v = 0; v < 8; v++) { /* threads, slot type, and the root pass with or without AVX2 */
      int nt = 1 + (v & 1);
      struct tml_xgb_params p;
      small_params(&p);
      p.max_depth = 5;
      p.num_boost_round = 10;
      p.early_stopping_rounds = 0;
      p.nthread = nt;
      p.native_histogram = v & 2 ? TML_HIST_DOUBLE : TML_HIST_FLOAT;
      unsigned plain = v & 4 ? TML_GBDT_NO_AVX2 : 0;
      struct tml_gbdt_model *shared = NULL, *own = NULL;
      CHECK_OK(tml_gbdt_train_binned(b, yk, train, valid, nclass, &p, plain, NULL, NULL, NULL, NULL, &shared, &err),
               &err);
      CHECK_OK(tml_gbdt_train_binned(b, yk, train, valid, nclass, &p, TML_GBDT_NO_SHARED_ROOT, NULL, NULL, NULL, NULL, &own,
                                     &err),
               &err);
      CHECK(tml_gbdt_ntrees(shared) == (size_t)(10 * nclass));
      char *a = model_json(shared), *c = model_json(own);
      CHECK_MSG(strcmp(a, c) == 0, "%d classes, %d threads, %s histograms%s: the shared root pass changed the trees",
                nclass, nt, tml_xgb_native_histogram_name(p.native_histogram), plain ? ", no AVX2" : "");
      free(a);
      free(c);
      tml_gbdt_free(shared);
      tml_gbdt_free(own);
    }
  }
  tml_gbdt_bins_free(b);
  free(X);
  free(y);
  free(yk);
}

/* Heads trained together (tml_gbdt_train_binned_heads: rounds in lockstep, one root pass for the
 * heads that take every row and column) must each be the model tml_gbdt_train_binned gives that
 * head alone, byte for byte: heads of 3, 4, 2 (and 5: outside the pass) classes and two regression
 * heads (their pairs placed beside a class head's and in a vector of their own), heads stopping at
 * different rounds, one and two threads, without AVX2, double histograms and row/column samples
 * (no shared pass), the shared root turned off; each head's progress calls as when alone. */
struct heads_calls {
  int rounds, last_best;
  int stop_at; /* return 1 at this round (-1: never) */
};
static int heads_progress(void *ud, int round, double metric, int best) {
  struct heads_calls *c = ud;
  (void)metric;
  c->rounds++;
  c->last_best = best;
  return round == c->stop_at;
}

TEST(heads_together_give_each_head_its_own_model) {
  enum { NB = 7000, CB = 10, NH = 6 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y);
  float *lab[NH];
  for (int h = 0; h < NH; h++)
    lab[h] = malloc(NB * sizeof(float));
  CHECK(X && y && lab[NH - 1]);
  make_data(X, y, NB, CB, 3);
  static const int nclass[NH] = {3, 4, 2, 0, 0, 5};
  for (size_t i = 0; i < NB; i++) {
    lab[0][i] = y[i];
    lab[1][i] = shifted_label(X, y, CB, i, 4);
    lab[2][i] = shifted_label(X, y, CB, i, 2);
    lab[3][i] = X[i * CB] + 0.5f * X[i * CB + 2];
    lab[4][i] = X[i * CB + 3] - 0.25f * X[i * CB + 4] * X[i * CB];
    lab[5][i] = shifted_label(X, y, CB, i, 5);
  }
  struct tml_gbdt_bins *b = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 5200}, valid = {5200, NB};
  CHECK_OK(tml_gbdt_bins_build(X, NB, CB, train, 64, &b, &err), &err);
  /* variants: heads used (first n of the list, or the two regression heads), threads, flags, slots,
   * samples */
  struct {
    int first, n, nthread;
    unsigned flags;
    int hist;
    double subsample, colsample;
  } v[] = {
      {0, 5, 1, 0, TML_HIST_FLOAT, 1.0, 1.0},
      {0, 6, 2, 0, TML_HIST_FLOAT, 1.0, 1.0},
      {3, 2, 1, 0, TML_HIST_FLOAT, 1.0, 1.0},
      {0, 5, 1, TML_GBDT_NO_AVX2, TML_HIST_FLOAT, 1.0, 1.0},
      {0, 5, 1, TML_GBDT_NO_SHARED_ROOT, TML_HIST_FLOAT, 1.0, 1.0},
      {0, 5, 2, 0, TML_HIST_DOUBLE, 1.0, 1.0},
      {0, 5, 1, 0, TML_HIST_FLOAT, 0.7, 0.6},
  };
  int stops_apart = 0;
  for (size_t q = 0; q < sizeof v / sizeof *v; q++) {
    struct tml_xgb_params p;
    small_params(&p);
    p.max_depth = 4;
    p.num_boost_round = 40;
    p.early_stopping_rounds = 4;
    p.nthread = v[q].nthread;
    p.native_histogram = v[q].hist;
    p.subsample = v[q].subsample;
    p.colsample_bytree = v[q].colsample;
    struct tml_train_head heads[NH];
    struct heads_calls calls[NH], alone_calls[NH];
    struct tml_gbdt_model *out[NH] = {0};
    for (int h = 0; h < v[q].n; h++) {
      int k = v[q].first + h;
      calls[h] = alone_calls[h] = (struct heads_calls){0, -1, -1};
      heads[h] = (struct tml_train_head){lab[k], nclass[k], heads_progress, &calls[h], NULL};
    }
    double secs[NH] = {0};
    double t0 = tml_monotonic_s();
    CHECK_OK(tml_gbdt_train_binned_heads(b, heads, (size_t)v[q].n, train, valid, &p, v[q].flags, NULL, out, secs, &err),
             &err);
    double wall = tml_monotonic_s() - t0, sum = 0.0;
    for (int h = 0; h < v[q].n; h++) {
      CHECK_MSG(secs[h] > 0.0, "variant %zu, head %d: %g seconds", q, h, secs[h]);
      sum += secs[h];
    }
    /* the heads' times share the call's: they add up to (a little less than) its wall time */
    CHECK_MSG(sum <= wall && sum > 0.5 * wall, "variant %zu: heads' seconds add up to %g of %g", q, sum, wall);
    int rounds0 = calls[0].rounds;
    for (int h = 0; h < v[q].n; h++) {
      int k = v[q].first + h;
      struct tml_gbdt_model *m = NULL;
      CHECK_OK(tml_gbdt_train_binned(b, lab[k], train, valid, nclass[k], &p, v[q].flags, NULL, NULL, heads_progress,
                                     &alone_calls[h], &m, &err),
               &err);
      char *together = model_json(out[h]), *alone = model_json(m);
      CHECK_MSG(strcmp(together, alone) == 0, "variant %zu, head %d (%d classes): trained together it differs", q, h,
                nclass[k]);
      CHECK_MSG(calls[h].rounds == alone_calls[h].rounds && calls[h].last_best == alone_calls[h].last_best,
                "variant %zu, head %d: %d progress calls (best %d) together, %d (best %d) alone", q, h, calls[h].rounds,
                calls[h].last_best, alone_calls[h].rounds, alone_calls[h].last_best);
      stops_apart += calls[h].rounds != rounds0;
      free(together);
      free(alone);
      tml_gbdt_free(m);
      tml_gbdt_free(out[h]);
    }
  }
  CHECK_MSG(stops_apart > 0, "every head stopped at the same round: heads stopping apart are not covered");
  /* a head's progress asking to stop ends the call: TML_EINTR, no model handed out */
  {
    struct tml_xgb_params p;
    small_params(&p);
    struct tml_train_head heads[2];
    struct heads_calls calls[2] = {{0, -1, -1}, {0, -1, 3}};
    struct tml_gbdt_model *out[2] = {0};
    heads[0] = (struct tml_train_head){lab[0], 3, heads_progress, &calls[0], "direction"};
    heads[1] = (struct tml_train_head){lab[3], 0, heads_progress, &calls[1], "stop_loss"};
    CHECK(tml_gbdt_train_binned_heads(b, heads, 2, train, valid, &p, 0, NULL, out, NULL, &err) == TML_EINTR);
    CHECK_CONTAINS(err.msg, "stop_loss");
    CHECK(out[0] == NULL && out[1] == NULL);
    /* a head's bad labels are named */
    lab[3][10] = NAN;
    calls[1].stop_at = -1;
    tml_error_init(&err);
    CHECK(tml_gbdt_train_binned_heads(b, heads, 2, train, valid, &p, 0, NULL, out, NULL, &err) == TML_EINVAL);
    CHECK_CONTAINS(err.msg, "head 'stop_loss'");
    CHECK_CONTAINS(err.msg, "row 10");
    CHECK(out[0] == NULL && out[1] == NULL);
    tml_error_init(&err);
    CHECK(tml_gbdt_train_binned_heads(b, heads, 0, train, valid, &p, 0, NULL, out, NULL, &err) == TML_EINVAL);
    CHECK_CONTAINS(err.msg, "1..8");
  }
  tml_gbdt_bins_free(b);
  free(X);
  free(y);
  for (int h = 0; h < NH; h++)
    free(lab[h]);
}

static void *serve_helpers(void *arg) {
  tml_helpers_serve(arg);
  return NULL;
}

/* Idle threads lent through helpers.h grow whole class trees of a round beside the training thread:
 * the model bytes must be those of a training without helpers, for 3 and 4 classes (where the
 * helpers join) and regression (where nothing is offered), with every row and column and with row
 * and column samples (the generator's draws stay in class order), float and double histograms, 1
 * and 3 helpers, and histogram threads (nthread 2) beside them. */
TEST(helpers_give_the_same_model_bytes) {
  enum { NB = 6000, CB = 10 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y), *yk = malloc(NB * sizeof *yk);
  float *yr = malloc(NB * sizeof *yr);
  CHECK(X && y && yk && yr);
  make_data(X, y, NB, CB, 3);
  for (size_t i = 0; i < NB; i++) {
    yk[i] = shifted_label(X, y, CB, i, 4);
    yr[i] = X[i * CB] + 0.5f * X[i * CB + 2];
  }
  struct tml_gbdt_bins *b = NULL;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 4500}, valid = {4500, NB};
  CHECK_OK(tml_gbdt_bins_build(X, NB, CB, train, 64, &b, &err), &err);
  unsigned long class_joins = 0;
  static const int classes[] = {3, 4, 0};
  for (size_t c = 0; c < sizeof classes / sizeof *classes; c++) {
    int nclass = classes[c];
    const float *labels = nclass == 3 ? y : nclass == 4 ? yk : yr;
    for (int v = 0; v < 4; v++) {
      struct tml_xgb_params p;
      small_params(&p);
      p.max_depth = 5;
      p.num_boost_round = 12;
      p.early_stopping_rounds = 0;
      p.subsample = v == 1 ? 0.7 : 1.0;
      p.colsample_bytree = v == 1 ? 0.6 : 1.0;
      p.native_histogram = v == 2 ? TML_HIST_DOUBLE : TML_HIST_FLOAT;
      p.nthread = v == 3 ? 2 : 1;
      struct tml_gbdt_model *m = NULL;
      CHECK_OK(tml_gbdt_train_binned(b, labels, train, valid, nclass, &p, 0, NULL, NULL, NULL, NULL, &m, &err), &err);
      char *ref = model_json(m);
      tml_gbdt_free(m);
      for (int nh = 1; nh <= 3; nh += 2) {
        struct tml_helpers h;
        tml_helpers_init(&h);
        pthread_t tid[3];
        for (int i = 0; i < nh; i++)
          CHECK(pthread_create(&tid[i], NULL, serve_helpers, &h) == 0);
        int rc = tml_gbdt_train_binned(b, labels, train, valid, nclass, &p, 0, &h, NULL, NULL, NULL, &m, &err);
        tml_helpers_close(&h);
        for (int i = 0; i < nh; i++)
          pthread_join(tid[i], NULL);
        CHECK_OK(rc, &err);
        char *j = model_json(m);
        tml_gbdt_free(m);
        CHECK_MSG(strcmp(j, ref) == 0, "%d classes, variant %d, %d helpers: the model differs from the one without",
                  nclass, v, nh);
        free(j);
        if (nclass == 0)
          CHECK_MSG(h.joins == 0, "regression: helpers joined %lu times, but a round has one tree", h.joins);
        else
          class_joins += h.joins;
        tml_helpers_destroy(&h);
      }
      free(ref);
    }
  }
  /* 2 class counts x 4 variants x 2 helper counts x 12 rounds, each round offered: a helper waiting
   * in tml_helpers_serve joins some of them */
  CHECK_MSG(class_joins > 0, "no helper joined any round: the offers were not made");
  tml_gbdt_bins_free(b);
  free(X);
  free(y);
  free(yk);
  free(yr);
}

/* The row and column samples of a round's class trees are drawn in class order, before any tree of
 * the round grows (lanes, see gbdt.c): the same sequence as when each tree drew its own sample just
 * before growing. Pinned by the hash of two subsampled four-class models (float and double
 * histograms) as the engine trained them before the lanes (80bc8d2), since every other test compares
 * the engine with itself or with XGBoost without subsampling. A deliberate change of the model file
 * or of the sampling updates the pins. */
TEST(subsampled_class_models_keep_their_bytes) {
  enum { NB = 6000, CB = 10 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y), *yk = malloc(NB * sizeof *yk);
  CHECK(X && y && yk);
  make_data(X, y, NB, CB, 3);
  for (size_t i = 0; i < NB; i++)
    yk[i] = shifted_label(X, y, CB, i, 4);
  static const struct {
    int hist;
    uint64_t fnv;
    size_t len;
  } pins[] = {{TML_HIST_FLOAT, UINT64_C(0xcf347daa415b6100), 149138},
              {TML_HIST_DOUBLE, UINT64_C(0x6259343efeb8c65a), 149149}};
  for (size_t v = 0; v < sizeof pins / sizeof *pins; v++) {
    struct tml_xgb_params p;
    small_params(&p);
    p.num_boost_round = 12;
    p.early_stopping_rounds = 0;
    p.max_depth = 5;
    p.subsample = 0.7;
    p.colsample_bytree = 0.6;
    p.native_histogram = pins[v].hist;
    struct tml_gbdt_model *m = NULL;
    struct tml_error err;
    tml_error_init(&err);
    CHECK_OK(tml_gbdt_train(X, CB, yk, (struct tml_range){0, 4500}, (struct tml_range){4500, NB}, 4, &p, NULL, NULL,
                            NULL, &m, &err),
             &err);
    char *j = model_json(m);
    tml_gbdt_free(m);
    size_t len = strlen(j);
    uint64_t fnv = tml_fnv1a64(TML_FNV64_INIT, j, len);
    CHECK_MSG(fnv == pins[v].fnv && len == pins[v].len, "%s histograms: model JSON hash %016llx (%zu bytes), pinned %016llx (%zu)",
              tml_xgb_native_histogram_name(pins[v].hist), (unsigned long long)fnv, len,
              (unsigned long long)pins[v].fnv, pins[v].len);
    free(j);
  }
  free(X);
  free(y);
  free(yk);
}

TEST(subsampling_and_learning) {
  /* The model must learn the known function: far better than the prior on validation rows. */
  static float X[N * C], y[N], prob[N * 3];
  make_data(X, y, N, C, 3);
  struct tml_xgb_params p;
  small_params(&p);
  p.subsample = 0.7;
  p.colsample_bytree = 0.5;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL;
  CHECK_OK(tml_gbdt_train(X, C, y, (struct tml_range){0, 600}, (struct tml_range){600, N}, 3, &p, NULL, NULL, NULL, &m,
                          &err),
           &err);
  tml_gbdt_predict(m, X + 600 * C, N - 600, prob);
  size_t correct = 0;
  for (size_t i = 0; i < N - 600; i++) {
    int arg = 0;
    for (int k = 1; k < 3; k++)
      if (prob[i * 3 + (size_t)k] > prob[i * 3 + (size_t)arg])
        arg = k;
    correct += arg == (int)y[600 + i];
  }
  double acc = (double)correct / (double)(N - 600);
  CHECK_MSG(acc > 0.6, "validation accuracy %.3f should be > 0.6 (prior ~0.4)", acc);
  double gain[C];
  tml_gbdt_importance(m, gain, NULL, NULL);
  for (size_t j = 3; j < C; j++)
    CHECK_MSG(gain[0] > gain[j], "column 0 (gain %g) should beat noise column %zu (gain %g)", gain[0], j, gain[j]);
  tml_gbdt_free(m);
}

TEST(save_load_round_trip) {
  static float X[N * C], y[N], a[N], b2[N];
  make_data(X, y, N, C, 0);
  struct tml_xgb_params p;
  small_params(&p);
  const char *names[C] = {"f_a", "f_b", "f_c", "f\"d", "f_e", "f_f"};
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL, *l = NULL;
  CHECK_OK(tml_gbdt_train(X, C, y, (struct tml_range){0, 600}, (struct tml_range){600, N}, 0, &p, names, NULL, NULL, &m,
                          &err),
           &err);
  char *dir = tml_test_tmpdir("gbdt_roundtrip");
  char path[4200];
  snprintf(path, sizeof path, "%s/m.json", dir);
  CHECK_OK(tml_gbdt_save_json(m, path, &err), &err);
  CHECK_OK(tml_gbdt_load_json(path, &l, &err), &err);
  CHECK_INT(tml_gbdt_best_iteration(l), tml_gbdt_best_iteration(m));
  CHECK_INT(tml_gbdt_ntrees(l), tml_gbdt_ntrees(m));
  tml_gbdt_predict(m, X, N, a);
  tml_gbdt_predict(l, X, N, b2);
  CHECK(memcmp(a, b2, sizeof a) == 0);
  char *j1 = model_json(m), *j2 = model_json(l);
  CHECK_STR(j2, j1);
  free(j1);
  free(j2);
  tml_gbdt_free(m);
  tml_gbdt_free(l);
  free(dir);
}

static void expect_refused(const char *dir, const char *name, const char *text, const char *why) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_write_file_atomic(path, text, strlen(text), &err), &err);
  struct tml_gbdt_model *m = (struct tml_gbdt_model *)(uintptr_t)1;
  CHECK_INT(tml_gbdt_load_json(path, &m, &err), TML_EMODEL);
  CHECK(m == NULL);
  CHECK_CONTAINS(err.msg, name);
  CHECK_CONTAINS(err.msg, why);
}

/* A copy of text with the first array value after `key` replaced by `value`. Caller frees. */
static char *with_first_value(const char *text, const char *key, const char *value) {
  const char *at = strstr(text, key);
  CHECK(at);
  at += strlen(key);
  size_t head = (size_t)(at - text), old = strcspn(at, ",]");
  size_t len = strlen(text) - old + strlen(value) + 1;
  char *out = malloc(len);
  CHECK(out);
  snprintf(out, len, "%.*s%s%s", (int)head, text, value, at + old);
  return out;
}

TEST(refuses_other_engine_and_corrupt_files) {
  static float X[N * C], y[N];
  make_data(X, y, N, C, 3);
  struct tml_xgb_params p;
  small_params(&p);
  p.num_boost_round = 3;
  struct tml_error err;
  tml_error_init(&err);
  char *dir = tml_test_tmpdir("gbdt_refuse");
  /* An XGBoost model file. */
  struct tml_xgb_model *xm = NULL;
  CHECK_OK(tml_xgb_train(X, C, y, (struct tml_range){0, 600}, (struct tml_range){600, N}, 3, &p, NULL, NULL, NULL, &xm,
                         &err),
           &err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_OK(tml_xgb_to_json(xm, &b, &err), &err);
  tml_xgb_free(xm);
  expect_refused(dir, "xgb.json", tml_buf_str(&b), "XGBoost model");
  tml_buf_reset(&b);
  /* A good native model, then damaged copies of it. */
  struct tml_gbdt_model *m = NULL;
  CHECK_OK(tml_gbdt_train(X, C, y, (struct tml_range){0, 600}, (struct tml_range){600, N}, 3, &p, NULL, NULL, NULL, &m,
                          &err),
           &err);
  CHECK_OK(tml_gbdt_to_json(m, &b, &err), &err);
  tml_gbdt_free(m);
  char *good = tml_buf_detach(&b, NULL);
  size_t len = strlen(good);
  char *cut = strdup(good);
  cut[len / 2] = '\0';
  expect_refused(dir, "truncated.json", cut, "not JSON");
  free(cut);
  char *s = with_first_value(good, "\"left\":[", "0"); /* the root's left child is the root: a cycle */
  expect_refused(dir, "badchild.json", s, "tree 0 node 0");
  free(s);
  s = with_first_value(good, "\"feature\":[", "99"); /* column 99 of 6 */
  expect_refused(dir, "badfeature.json", s, "inconsistent");
  free(s);
  s = with_first_value(good, "\"value\":[", "\"x\""); /* a threshold that is not a number */
  expect_refused(dir, "badvalue.json", s, "array 'value'");
  free(s);
  s = with_first_value(good, "\"value\":[", "3.5e38"); /* beyond float: the threshold would be Inf */
  expect_refused(dir, "hugevalue.json", s, "inconsistent");
  free(s);
  s = with_first_value(good, "\"weight\":[", "-1e39");
  expect_refused(dir, "hugeweight.json", s, "inconsistent");
  free(s);
  s = with_first_value(good, "\"base_score\":", "1e39");
  expect_refused(dir, "hugebase.json", s, "base_score is beyond a float's range");
  free(s);
  s = strdup(good);
  char *ver = strstr(s, "\"format_version\":1");
  CHECK(ver);
  ver[17] = '9';
  expect_refused(dir, "newer.json", s, "format_version 9");
  free(s);
  s = strdup(good);
  char *ncl = strstr(s, "\"nclass\":3");
  CHECK(ncl);
  ncl[9] = '4';
  expect_refused(dir, "badclass.json", s, "tree count");
  free(s);
  s = with_first_value(good, "\"best_iteration\":", "9223372036854775807"); /* +1 overflowed (fuzz_gbdt_model) */
  expect_refused(dir, "hugebest.json", s, "tree count");
  free(s);
  s = with_first_value(good, "\"best_iteration\":", "-1");
  expect_refused(dir, "negbest.json", s, "tree count");
  free(s);
  expect_refused(dir, "empty.json", "", "not JSON");
  struct tml_gbdt_model *none = NULL;
  char missing[4200];
  snprintf(missing, sizeof missing, "%s/absent.json", dir);
  CHECK_INT(tml_gbdt_load_json(missing, &none, &err), TML_EMODEL);
  CHECK_CONTAINS(err.msg, "does not exist");
  free(good);
  free(dir);
}

/* A model loaded from text, written (the text must hold `expect`), loaded again and written to the
 * same bytes; returns the model loaded the second time. */
static struct tml_gbdt_model *reload_same_bytes(const char *text, const char *expect) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL, *l = NULL;
  CHECK_OK(tml_gbdt_from_json(text, strlen(text), "given", &m, &err), &err);
  char *j1 = model_json(m);
  CHECK_CONTAINS(j1, expect);
  CHECK_OK(tml_gbdt_from_json(j1, strlen(j1), "rewritten", &l, &err), &err);
  char *j2 = model_json(l);
  CHECK_STR(j2, j1);
  free(j1);
  free(j2);
  tml_gbdt_free(m);
  return l;
}

/* A leaf of G = 0 holds -0 (eta * -0 / (H + lambda)); its file must give -0 back, not the integer 0
 * JSON reads from "-0" (found by fuzz_gbdt_model: the rewritten text differed). */
TEST(negative_zero_leaves_round_trip) {
  const char *text = "{\"format\":\"trademl-gbdt\",\"format_version\":1,\"engine\":\"native\",\"nclass\":0,"
                     "\"ncols\":1,\"base_score\":-0.0,\"best_iteration\":0,\"best_score\":1,\"feature_names\":null,"
                     "\"trees\":[{\"feature\":[-1],\"value\":[-0.0],\"left\":[-1],\"default_left\":[0],"
                     "\"gain\":[0],\"cover\":[3],\"weight\":[-0.0]}]}";
  struct tml_gbdt_model *l = reload_same_bytes(text, "\"value\":[-0.0]");
  float x = 1.0f, margin = 1.0f;
  tml_gbdt_predict_margin(l, &x, &margin);
  CHECK(margin == 0.0f && signbit(margin)); /* -0 + -0: both zeros kept their sign */
  tml_gbdt_free(l);
}

/* The largest floats are a model's own numbers too (a column holding FLT_MAX splits at it): written as
 * 3.40282347e+38, a little above FLT_MAX as a double, they must load back, while a number that rounds
 * to a float Inf is refused. */
TEST(float_extremes_round_trip) {
  const char *text = "{\"format\":\"trademl-gbdt\",\"format_version\":1,\"engine\":\"native\",\"nclass\":0,"
                     "\"ncols\":1,\"base_score\":-3.4028234663852886e38,\"best_iteration\":0,\"best_score\":1,"
                     "\"feature_names\":null,\"trees\":[{\"feature\":[0,-1,-1],"
                     "\"value\":[3.40282347e+38,-3.40282347e+38,3.4028234663852886e38],\"left\":[1,-1,-1],"
                     "\"default_left\":[0,0,0],\"gain\":[1,0,0],\"cover\":[3,1,2],"
                     "\"weight\":[0,3.40282347e+38,-3.40282347e+38]}]}";
  struct tml_gbdt_model *l = reload_same_bytes(text, "\"value\":[3.40282347e+38,-3.40282347e+38,3.40282347e+38]");
  float x = FLT_MAX, margin = 0.0f;
  tml_gbdt_predict_margin(l, &x, &margin); /* FLT_MAX < FLT_MAX is false: right, +FLT_MAX */
  CHECK(margin == -FLT_MAX + FLT_MAX);
  /* 2^128 - 2^103, the first double that rounds to Inf, is refused */
  char *over = strdup(text);
  char *at = strstr(over, "3.4028234663852886e38]");
  CHECK(at);
  memcpy(at, "3.4028235677973366e38]", 22);
  struct tml_gbdt_model *bad = (struct tml_gbdt_model *)(uintptr_t)1;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_from_json(over, strlen(over), "over", &bad, &err), TML_EMODEL);
  CHECK(bad == NULL);
  CHECK_CONTAINS(err.msg, "value or weight out of range");
  free(over);
  tml_gbdt_free(l);
}

/* Prediction walks its own layout of the nodes (8 bytes a node, eight trees side by side, a faster
 * walk for rows without missing values, class sums in registers for 1, 2 and 4 classes): every path
 * gives the margins of the model file's trees bit for bit, for 1 to 5 classes, tree counts that are
 * not a multiple of eight, rows with and without NaN or +-Inf. */
TEST(prediction_layout_gives_the_file_trees_margins) {
  static float X[N * C], y[N], yk[N];
  make_data(X, y, N, C, 3);
  int classes[] = {0, 2, 3, 4, 5};
  for (size_t v = 0; v < sizeof classes / sizeof *classes; v++) {
    int nclass = classes[v], K = nclass > 0 ? nclass : 1;
    for (size_t i = 0; i < N; i++)
      yk[i] = nclass == 0 ? X[i * C] + X[i * C + 2] : shifted_label(X, y, C, i, nclass);
    struct tml_xgb_params p;
    small_params(&p);
    p.num_boost_round = 13; /* 13 K trees: groups of eight and a tail */
    p.early_stopping_rounds = 0;
    p.max_depth = 5;
    struct tml_error err;
    tml_error_init(&err);
    struct tml_gbdt_model *m = NULL;
    CHECK_OK(tml_gbdt_train(X, C, yk, (struct tml_range){0, 700}, (struct tml_range){700, N}, nclass, &p, NULL, NULL,
                            NULL, &m, &err),
             &err);
    char *text = model_json(m);
    json_error_t je;
    json_t *file = json_loads(text, 0, &je);
    CHECK(file != NULL);
    size_t missing = 0;
    for (size_t i = 0; i < N; i++) {
      float x[C], a[8], b[8];
      memcpy(x, X + i * C, sizeof x);
      if (i % 7 == 3) /* +-Inf is missing too */
        x[i % C] = i % 2 ? INFINITY : -INFINITY;
      bool any = false;
      for (size_t j = 0; j < C; j++)
        any |= !isfinite(x[j]);
      missing += any;
      tml_gbdt_predict_margin(m, x, a);
      gbdt_file_margins(file, x, b);
      for (int k = 0; k < K; k++)
        if (memcmp(&a[k], &b[k], sizeof a[k]) != 0) {
          fprintf(stderr, "nclass %d row %zu class %d: predicted %.9g, the file's trees %.9g\n", nclass, i, k,
                  (double)a[k], (double)b[k]);
          CHECK(0);
        }
    }
    CHECK(missing > N / 10 && missing < N - N / 10); /* both walks ran */
    json_decref(file);
    free(text);
    tml_gbdt_free(m);
  }
}

/* The layout's limits: a model of more than TML_GBDT_MAX_COLS columns is refused when trained and
 * when loaded (both naming the fix), as is a loaded tree whose child lies 2^18 or more nodes after
 * its parent (no trained tree comes near: TML_GBDT_MAX_DEPTH levels are < 2^17 nodes). At the
 * limits (column 4095, default left, child offset 2^18 - 1: every bit of the node word) it
 * predicts. */
TEST(prediction_layout_limits_refused) {
  size_t n = 20, nc = TML_GBDT_MAX_COLS + 1;
  float *X = calloc(n * nc, sizeof *X), y[20];
  for (size_t i = 0; i < n; i++) {
    X[i * nc] = (float)i;
    y[i] = (float)(i % 2);
  }
  struct tml_xgb_params p;
  small_params(&p);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL;
  CHECK_INT(tml_gbdt_train(X, nc, y, (struct tml_range){0, 15}, (struct tml_range){15, 20}, 0, &p, NULL, NULL, NULL, &m,
                           &err),
            TML_EINVAL);
  CHECK(m == NULL);
  CHECK_CONTAINS(err.msg, "4097 feature columns, the native engine takes at most 4096");
  CHECK_CONTAINS(err.msg, "--engine xgboost");
  free(X);

#define LAYOUT_HEAD                                                                                                    \
  "{\"format\":\"trademl-gbdt\",\"format_version\":1,\"engine\":\"native\",\"nclass\":0,\"ncols\":%d,"               \
  "\"base_score\":0.5,\"best_iteration\":0,\"best_score\":1,\"feature_names\":null,\"trees\":[{"
  char text[1024];
  snprintf(text, sizeof text, LAYOUT_HEAD, TML_GBDT_MAX_COLS + 1);
  strcat(text, "\"feature\":[-1],\"value\":[1],\"left\":[-1],\"default_left\":[0],\"gain\":[0],\"cover\":[1],"
               "\"weight\":[1]}]}");
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_from_json(text, strlen(text), "wide", &m, &err), TML_EMODEL);
  CHECK(m == NULL);
  CHECK_CONTAINS(err.msg, "'wide'");
  CHECK_CONTAINS(err.msg, "ncols 4097 is above the native engine's 4096 columns");
  CHECK_CONTAINS(err.msg, "--engine xgboost");

  /* a root on column 4095, missing values left, whose children are nodes far and far + 1 (the
   * nodes between them unreachable leaves): offset 2^18 - 1 is the largest the layout holds and
   * predicts, 2^18 is refused */
  static float row[TML_GBDT_MAX_COLS];
  for (size_t far = ((size_t)1 << 18) - 1; far <= (size_t)1 << 18; far++) {
    size_t nn = far + 2;
    struct tml_buf b;
    tml_buf_init(&b, 0);
    CHECK(tml_buf_printf(&b, LAYOUT_HEAD, TML_GBDT_MAX_COLS) == 0);
    const char *keys[7] = {"feature", "value", "left", "default_left", "gain", "cover", "weight"};
    for (int k = 0; k < 7; k++) {
      CHECK(tml_buf_printf(&b, "%s\"%s\":[", k ? "," : "", keys[k]) == 0);
      for (size_t i = 0; i < nn; i++) {
        /* root: column 4095 < 1 left, missing left; leaves: value 2 at far (left), 3 at far + 1
         * (right), 1 elsewhere */
        long long val = k == 0   ? (i == 0 ? TML_GBDT_MAX_COLS - 1 : -1)
                        : k == 1 ? (i == far ? 2 : i == far + 1 ? 3 : 1)
                        : k == 2 ? (i == 0 ? (long long)far : -1)
                        : k == 3 ? (i == 0)
                        : k == 5 ? 1
                                 : 0;
        CHECK(tml_buf_printf(&b, i ? ",%lld" : "%lld", val) == 0);
      }
      CHECK(tml_buf_puts(&b, "]") == 0);
    }
    CHECK(tml_buf_puts(&b, "}]}") == 0);
    tml_error_init(&err);
    int rc = tml_gbdt_from_json(tml_buf_str(&b), b.len, "far", &m, &err);
    if (far < (size_t)1 << 18) {
      CHECK_OK(rc, &err);
      float margin = 0.0f;
      tml_gbdt_predict_margin(m, row, &margin); /* 0 < 1: left */
      CHECK(margin == 2.5f);
      row[TML_GBDT_MAX_COLS - 1] = 5.0f;
      tml_gbdt_predict_margin(m, row, &margin);
      CHECK(margin == 3.5f);
      row[TML_GBDT_MAX_COLS - 1] = NAN; /* missing: left */
      tml_gbdt_predict_margin(m, row, &margin);
      CHECK(margin == 2.5f);
      row[TML_GBDT_MAX_COLS - 1] = 0.0f;
      row[0] = 5.0f; /* another column: no effect */
      tml_gbdt_predict_margin(m, row, &margin);
      CHECK(margin == 2.5f);
      row[0] = 0.0f;
      tml_gbdt_free(m);
      m = NULL;
    } else {
      CHECK_INT(rc, TML_EMODEL);
      CHECK(m == NULL);
      CHECK_CONTAINS(err.msg, "tree 0 node 0: its child 262144 nodes after it is beyond the native engine's 262143");
    }
    tml_buf_release(&b);
  }
#undef LAYOUT_HEAD
}

TEST(bad_parameters_refused) {
  float X[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {0, 1, 2, 0, 1, 2, 0, 1};
  struct tml_xgb_params p;
  struct tml_gbdt_model *m = NULL;
  struct tml_error err;
  tml_xgb_params_default(&p);
  p.max_bin = 300;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_train(X, 1, y, (struct tml_range){0, 6}, (struct tml_range){6, 8}, 3, &p, NULL, NULL, NULL, &m, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "max_bin 300");
  CHECK_CONTAINS(err.msg, "2..255");
  CHECK_CONTAINS(err.msg, "--max-bin");
  tml_xgb_params_default(&p);
  p.max_depth = 17;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "max_depth 17");
  CHECK_CONTAINS(err.msg, "1..16");
  tml_xgb_params_default(&p);
  p.max_leaves = 5000;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "max_leaves 5000");
  CHECK_CONTAINS(err.msg, "0..4096");
  CHECK_CONTAINS(err.msg, "--max-leaves");
  tml_xgb_params_default(&p);
  p.max_leaves = -1;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "max_leaves must be 0..65536");
  CHECK_CONTAINS(err.msg, "training.max_leaves");
  tml_xgb_params_default(&p);
  p.max_depth = 0; /* no depth limit needs a leaf limit */
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "max_depth 0");
  CHECK_CONTAINS(err.msg, "--max-leaves");
  p.max_leaves = 8;
  tml_error_init(&err);
  CHECK_OK(tml_gbdt_params_validate(&p, &err), &err);
  p.grow_policy = 7;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "grow_policy");
  tml_xgb_params_default(&p);
  p.eta = 0;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "eta must be in (0, 1]");
  tml_xgb_params_default(&p);
  p.subsample = 1.5;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_params_validate(&p, &err), TML_EINVAL);
  CHECK_CONTAINS(err.msg, "subsample");
  /* Labels: a class outside 0..nclass-1, a NaN label. */
  tml_xgb_params_default(&p);
  y[2] = 3;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_train(X, 1, y, (struct tml_range){0, 6}, (struct tml_range){6, 8}, 3, &p, NULL, NULL, NULL, &m, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "row 2 is 3, not a class 0..2");
  y[2] = NAN;
  tml_error_init(&err);
  CHECK_INT(tml_gbdt_train(X, 1, y, (struct tml_range){0, 6}, (struct tml_range){6, 8}, 3, &p, NULL, NULL, NULL, &m, &err),
            TML_EINVAL);
  CHECK_CONTAINS(err.msg, "row 2 is not a number");
  CHECK(m == NULL);
}

/* Writes the export to a file and loads it with libxgboost; predictions of both within 1e-6. */
static void check_export(const struct tml_gbdt_model *m, const float *X, size_t n, const char *dir, const char *name) {
  int k = tml_gbdt_nclass(m) > 0 ? tml_gbdt_nclass(m) : 1;
  struct tml_buf b;
  tml_buf_init(&b, 0);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_gbdt_export_xgboost_json(m, &b, &err), &err);
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  CHECK_OK(tml_write_file_atomic(path, b.ptr, b.len, &err), &err);
  tml_buf_release(&b);
  struct tml_xgb_model *xm = NULL;
  CHECK_OK(tml_xgb_load_json(path, &xm, &err), &err);
  CHECK_INT(tml_xgb_nclass(xm), tml_gbdt_nclass(m));
  CHECK_INT(tml_xgb_best_iteration(xm), tml_gbdt_best_iteration(m));
  float *a = malloc(n * (size_t)k * sizeof *a), *x = malloc(n * (size_t)k * sizeof *x);
  CHECK(a && x);
  tml_gbdt_predict(m, X, n, a);
  CHECK_OK(tml_xgb_predict(xm, X, n, x, &err), &err);
  double worst = 0;
  for (size_t i = 0; i < n * (size_t)k; i++)
    worst = fmax(worst, fabs((double)a[i] - (double)x[i]));
  CHECK_MSG(worst <= 1e-6, "%s: XGBoost's predictions of the export differ by %g (> 1e-6)", name, worst);
  free(a);
  free(x);
  tml_xgb_free(xm);
}

TEST(export_loaded_by_libxgboost) {
  static float X[N * C], y[N];
  struct tml_xgb_params p;
  small_params(&p);
  p.max_depth = 5;
  p.min_child_weight = 0.5;
  struct tml_error err;
  tml_error_init(&err);
  char *dir = tml_test_tmpdir("gbdt_export");
  for (int nclass = 0; nclass <= 4; nclass += 3) {
    make_data(X, y, N, C, nclass);
    struct tml_gbdt_model *m = NULL;
    CHECK_OK(tml_gbdt_train(X, C, y, (struct tml_range){0, 600}, (struct tml_range){600, N}, nclass, &p, NULL, NULL, NULL,
                            &m, &err),
             &err);
    CHECK(tml_gbdt_ntrees(m) > (size_t)(nclass ? nclass : 1)); /* more than one round */
    check_export(m, X, N, dir, nclass ? "softprob.json" : "squarederror.json");
    tml_gbdt_free(m);
  }
  /* loss-guided trees without a depth limit (node ids in expansion order) export the same way */
  p.grow_policy = TML_GROW_LOSSGUIDE;
  p.max_depth = 0;
  p.max_leaves = 11;
  make_data(X, y, N, C, 3);
  struct tml_gbdt_model *m = NULL;
  CHECK_OK(tml_gbdt_train(X, C, y, (struct tml_range){0, 600}, (struct tml_range){600, N}, 3, &p, NULL, NULL, NULL, &m,
                          &err),
           &err);
  check_export(m, X, N, dir, "lossguide.json");
  tml_gbdt_free(m);
  free(dir);
}

/* ---- real candles: both engines on the same rows with equal parameters ---- */

static double corr(const float *a, const float *b, size_t n, size_t stride, size_t off) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; i++) {
    ma += (double)a[i * stride + off];
    mb += (double)b[i * stride + off];
  }
  ma /= (double)n;
  mb /= (double)n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; i++) {
    double x = (double)a[i * stride + off] - ma, z = (double)b[i * stride + off] - mb;
    sab += x * z;
    saa += x * x;
    sbb += z * z;
  }
  return sab / sqrt(saa * sbb);
}

/* The features, purged split (20 % validation) and training-row label thresholds of the last `last`
 * candles of a real data file (tml_test_data_file skips the test when the data is missing). */
struct real_set {
  struct tml_dataset_opts o;
  struct tml_dataset d;
  struct tml_split s;
  struct tml_label_thresholds th;
};

static void real_set_load(const char *file, int64_t interval_ms, size_t last, struct real_set *r) {
  char *path = tml_test_data_file(file);
  struct tml_import_opts io = {.symbol = "BTCUSDT", .interval_ms = interval_ms};
  struct tml_candles all, c;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_import_file(path, &io, &all, NULL, &err), &err);
  free(path);
  CHECK_MSG(all.len >= last, "only %zu candles in %s (need %zu)", all.len, file, last);
  tml_candles_init(&c, "BTCUSDT", interval_ms);
  for (size_t i = all.len - last; i < all.len; i++)
    CHECK_OK(tml_candles_push(&c, all.open_time[i], all.open[i], all.high[i], all.low[i], all.close[i], all.volume[i]),
             &err);
  tml_candles_release(&all);
  memset(&r->o, 0, sizeof(r->o));
  r->o.features.base_interval_ms = interval_ms;
  tml_label_spec_default(&r->o.labels);
  r->o.from_ms = INT64_MIN;
  CHECK_OK(tml_dataset_build(&c, 1, &r->o, &r->d, &err), &err);
  tml_candles_release(&c);
  CHECK_OK(tml_dataset_split(&r->d, 0.2, r->o.labels.horizon, &r->s, &err), &err);
  CHECK_OK(tml_labels_fit(r->d.fwd_return, r->d.fwd_vol, r->d.timing, &r->s.train, 1, &r->o.labels, &r->th, &err),
           &err);
}

/* Early stopping with both engines on head h (150 rounds at most, patience 10, eta 0.05, the rest
 * of p): each engine's best round and best validation score. */
struct es_pair {
  int native_round, xgb_round;
  double native_score, xgb_score;
};
static struct es_pair early_stopping_pair(const struct real_set *rs, const struct tml_xgb_params *p, enum tml_head h,
                                          float *y) {
  struct tml_error err;
  tml_error_init(&err);
  int k = tml_head_nclass(h);
  tml_dataset_head_values(&rs->d, h, &rs->th, (struct tml_range){0, rs->d.nrows}, y);
  struct tml_xgb_params q = *p;
  q.num_boost_round = 150;
  q.early_stopping_rounds = 10;
  q.eta = 0.05;
  struct tml_gbdt_model *m = NULL;
  struct tml_xgb_model *xm = NULL;
  CHECK_OK(tml_gbdt_train(rs->d.X, rs->d.ncols, y, rs->s.train, rs->s.valid, k, &q, NULL, NULL, NULL, &m, &err), &err);
  CHECK_OK(tml_xgb_train(rs->d.X, rs->d.ncols, y, rs->s.train, rs->s.valid, k, &q, NULL, NULL, NULL, &xm, &err), &err);
  struct es_pair r = {tml_gbdt_best_iteration(m), tml_xgb_best_iteration(xm), tml_gbdt_best_score(m),
                      tml_xgb_best_score(xm)};
  tml_gbdt_free(m);
  tml_xgb_free(xm);
  return r;
}

/* With double histograms (XGBoost 1.7's own accumulators) the native engine must give libxgboost's
 * predictions bit for bit; float histograms (the default) are checked against XGBoost by
 * float_histograms_stay_close_to_xgboost below. */
TEST(agrees_with_xgboost_on_real_data) {
  struct real_set rs;
  real_set_load("binance-spot/BTCUSDT_1h_2021-2026.csv", TML_MS_PER_HOUR, 5000, &rs);
  struct tml_dataset d = rs.d;
  struct tml_split s = rs.s;
  struct tml_label_thresholds th = rs.th;
  struct tml_error err;
  tml_error_init(&err);
  float *y = malloc(d.nrows * sizeof *y), *a = malloc(d.nrows * 4 * sizeof *a), *b = malloc(d.nrows * 4 * sizeof *b);
  CHECK(y && a && b);
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 30;
  p.early_stopping_rounds = 0; /* equal round counts: compare the models, not the stopping points */
  p.eta = 0.1;
  p.native_histogram = TML_HIST_DOUBLE;
  size_t nv = s.valid.end - s.valid.begin;
  const float *Xv = d.X + s.valid.begin * d.ncols;
  /* The same rows with every column replaced by its rank among 48 quantiles of the training rows:
   * both engines then cut every column at the same values (XGBoost's approximate sketch is exact
   * for so few distinct values), so the boosting itself is compared. */
  float *Q = malloc(d.nrows * d.ncols * sizeof *Q);
  CHECK(Q);
  {
    struct tml_gbdt_bins *qb = NULL;
    CHECK_OK(tml_gbdt_bins_build(d.X, d.nrows, d.ncols, s.train, 48, &qb, &err), &err);
    for (size_t r = 0; r < d.nrows; r++)
      for (size_t j = 0; j < d.ncols; j++) {
        unsigned code = tml_gbdt_bins_at(qb, r, j);
        Q[r * d.ncols + j] = code == 48 ? NAN : (float)code;
      }
    tml_gbdt_bins_free(qb);
  }
  enum tml_head heads[3] = {TML_HEAD_DIRECTION, TML_HEAD_VOLATILITY, TML_HEAD_STOP_LOSS};
  for (int hi = 0; hi < 3; hi++) {
    enum tml_head h = heads[hi];
    int k = tml_head_nclass(h), w = k ? k : 1;
    tml_dataset_head_values(&d, h, &th, (struct tml_range){0, d.nrows}, y);
    for (int quantised = 1; quantised >= 0; quantised--) {
      const float *X = quantised ? Q : d.X;
      struct tml_gbdt_model *m = NULL;
      struct tml_xgb_model *xm = NULL, *xm2 = NULL;
      CHECK_OK(tml_gbdt_train(X, d.ncols, y, s.train, s.valid, k, &p, NULL, NULL, NULL, &m, &err), &err);
      CHECK_OK(tml_xgb_train(X, d.ncols, y, s.train, s.valid, k, &p, NULL, NULL, NULL, &xm, &err), &err);
      tml_gbdt_predict(m, X + s.valid.begin * d.ncols, nv, a);
      CHECK_OK(tml_xgb_predict(xm, X + s.valid.begin * d.ncols, nv, b, &err), &err);
      float *c2 = NULL;
      if (!quantised) { /* reference: XGBoost against itself with one bin less */
        struct tml_xgb_params p2 = p;
        p2.max_bin = p.max_bin - 1;
        c2 = malloc(nv * (size_t)w * sizeof *c2);
        CHECK(c2);
        CHECK_OK(tml_xgb_train(X, d.ncols, y, s.train, s.valid, k, &p2, NULL, NULL, NULL, &xm2, &err), &err);
        CHECK_OK(tml_xgb_predict(xm2, Xv, nv, c2, &err), &err);
      }
      for (int cl = 0; cl < w; cl++) {
        double r = corr(a, b, nv, (size_t)w, (size_t)cl);
        if (quantised) {
          printf("%s column %d, same cuts: correlation native vs XGBoost %.6f\n", tml_head_name(h), cl, r);
          CHECK_MSG(r > 0.99, "%s column %d: predictions correlate %.4f with XGBoost's (need > 0.99)",
                    tml_head_name(h), cl, r);
        } else {
          double ref = corr(b, c2, nv, (size_t)w, (size_t)cl), maxdiff = 0;
          for (size_t i = 0; i < nv; i++)
            maxdiff = fmax(maxdiff, fabs((double)a[i * (size_t)w + (size_t)cl] - (double)b[i * (size_t)w + (size_t)cl]));
          printf("%s column %d, raw features: largest |native - XGBoost| %.3g\n", tml_head_name(h), cl, maxdiff);
          /* Same cuts (XGBoost's sketch), same sums, same float leaf and softmax arithmetic: the
           * predictions are the same floats, bit for bit. */
          CHECK_MSG(maxdiff == 0.0, "%s column %d: native and XGBoost predictions differ by %g", tml_head_name(h), cl,
                    maxdiff);
          printf("%s column %d, raw features: native vs XGBoost %.6f; XGBoost %d vs %d bins %.4f\n",
                 tml_head_name(h), cl, r, p.max_bin, p.max_bin - 1, ref);
          /* The cuts are XGBoost's sketch, so raw features agree as closely as equal cuts. */
          CHECK_MSG(r > 0.99, "%s column %d: raw-feature predictions correlate %.4f with XGBoost's (need > 0.99; "
                    "XGBoost against itself with one bin less: %.4f)", tml_head_name(h), cl, r, ref);
        }
      }
      free(c2);
      tml_gbdt_free(m);
      tml_xgb_free(xm);
      tml_xgb_free(xm2);
    }
  }
  /* Early stopping on the same metric values: both engines keep the same round with the same
   * score, the timing head included (its validation log loss barely moves from ln 3, so rounds are
   * told apart by differences far below a float's precision). */
  enum tml_head es_heads[3] = {TML_HEAD_DIRECTION, TML_HEAD_TIMING, TML_HEAD_POSITION_SIZE};
  for (int hi = 0; hi < 3; hi++) {
    enum tml_head h = es_heads[hi];
    struct es_pair e = early_stopping_pair(&rs, &p, h, y);
    printf("%s early stopping: native best round %d (%.17g), XGBoost %d (%.17g)\n", tml_head_name(h), e.native_round,
           e.native_score, e.xgb_round, e.xgb_score);
    CHECK_INT(e.native_round, e.xgb_round);
    CHECK_MSG(e.native_score == e.xgb_score, "%s: best score %.17g, XGBoost's %.17g", tml_head_name(h), e.native_score,
              e.xgb_score);
  }
  free(Q);
  free(y);
  free(a);
  free(b);
  tml_dataset_release(&d);
}

/* Float histograms (the default): the sums carry float rounding (up to ~1e-4 of a sum where many
 * equal hessians fall in one bin), which decides some of the split comparisons XGBoost makes in
 * float (its loss_chg), so trees drift from
 * XGBoost's while fitting the same signal. On real BTCUSDT 1h features (the last 5,000 candles) the
 * float engine's predictions must correlate with XGBoost's more closely than XGBoost's own with one
 * bin less (a change of resolution a user would call the same model), and at least 0.9; early
 * stopping must reach XGBoost's best validation score within 0.5 %. And the setting is live: float
 * predictions differ from the double engine's. */
TEST(float_histograms_stay_close_to_xgboost) {
  struct real_set rs;
  real_set_load("binance-spot/BTCUSDT_1h_2021-2026.csv", TML_MS_PER_HOUR, 5000, &rs);
  struct tml_dataset d = rs.d;
  struct tml_split s = rs.s;
  struct tml_error err;
  tml_error_init(&err);
  size_t nv = s.valid.end - s.valid.begin;
  const float *Xv = d.X + s.valid.begin * d.ncols;
  float *y = malloc(d.nrows * sizeof *y), *a = malloc(nv * 4 * sizeof *a), *b = malloc(nv * 4 * sizeof *b),
        *c = malloc(nv * 4 * sizeof *c), *e = malloc(nv * 4 * sizeof *e);
  CHECK(y && a && b && c && e);
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  CHECK(p.native_histogram == TML_HIST_FLOAT);
  p.num_boost_round = 30;
  p.early_stopping_rounds = 0;
  p.eta = 0.1;
  struct tml_xgb_params pd = p, p63 = p;
  pd.native_histogram = TML_HIST_DOUBLE;
  p63.max_bin = p.max_bin - 1;
  enum tml_head heads[3] = {TML_HEAD_DIRECTION, TML_HEAD_VOLATILITY, TML_HEAD_STOP_LOSS};
  for (int hi = 0; hi < 3; hi++) {
    enum tml_head h = heads[hi];
    int k = tml_head_nclass(h), w = k ? k : 1;
    tml_dataset_head_values(&d, h, &rs.th, (struct tml_range){0, d.nrows}, y);
    struct tml_gbdt_model *mf = NULL, *md = NULL;
    struct tml_xgb_model *xm = NULL, *x63 = NULL;
    CHECK_OK(tml_gbdt_train(d.X, d.ncols, y, s.train, s.valid, k, &p, NULL, NULL, NULL, &mf, &err), &err);
    CHECK_OK(tml_gbdt_train(d.X, d.ncols, y, s.train, s.valid, k, &pd, NULL, NULL, NULL, &md, &err), &err);
    CHECK_OK(tml_xgb_train(d.X, d.ncols, y, s.train, s.valid, k, &p, NULL, NULL, NULL, &xm, &err), &err);
    CHECK_OK(tml_xgb_train(d.X, d.ncols, y, s.train, s.valid, k, &p63, NULL, NULL, NULL, &x63, &err), &err);
    tml_gbdt_predict(mf, Xv, nv, a);
    tml_gbdt_predict(md, Xv, nv, e);
    CHECK_OK(tml_xgb_predict(xm, Xv, nv, b, &err), &err);
    CHECK_OK(tml_xgb_predict(x63, Xv, nv, c, &err), &err);
    double live = 0;
    for (size_t i = 0; i < nv * (size_t)w; i++)
      live = fmax(live, fabs((double)a[i] - (double)e[i]));
    CHECK_MSG(live > 0.0, "%s: float and double histograms gave the same predictions: the setting does nothing",
              tml_head_name(h));
    for (int cl = 0; cl < w; cl++) {
      double r = corr(a, b, nv, (size_t)w, (size_t)cl), ref = corr(b, c, nv, (size_t)w, (size_t)cl);
      printf("%s column %d: float histograms vs XGBoost %.4f; XGBoost %d vs %d bins %.4f\n", tml_head_name(h), cl, r,
             p.max_bin, p63.max_bin, ref);
      CHECK_MSG(r > ref && r > 0.9,
                "%s column %d: float-histogram predictions correlate %.4f with XGBoost's (need > 0.9 and > %.4f, "
                "XGBoost against itself with one bin less)", tml_head_name(h), cl, r, ref);
    }
    tml_gbdt_free(mf);
    tml_gbdt_free(md);
    tml_xgb_free(xm);
    tml_xgb_free(x63);
  }
  enum tml_head es_heads[3] = {TML_HEAD_DIRECTION, TML_HEAD_TIMING, TML_HEAD_POSITION_SIZE};
  for (int hi = 0; hi < 3; hi++) {
    enum tml_head h = es_heads[hi];
    struct es_pair es = early_stopping_pair(&rs, &p, h, y);
    printf("%s early stopping: float histograms best round %d (%.6f), XGBoost %d (%.6f)\n", tml_head_name(h),
           es.native_round, es.native_score, es.xgb_round, es.xgb_score);
    CHECK_MSG(fabs(es.native_score - es.xgb_score) <= 0.005 * es.xgb_score,
              "%s: best validation score %.6f, XGBoost's %.6f (need within 0.5 %%)", tml_head_name(h), es.native_score,
              es.xgb_score);
  }
  free(y);
  free(a);
  free(b);
  free(c);
  free(e);
  tml_dataset_release(&d);
}

/* Training rows reaching each node of a model (its JSON walked over X: x < value goes left, NaN and
 * +-Inf the default side). Returns the number of split nodes with a child no training row reaches. */
static size_t empty_children(const char *json, const float *X, size_t ncols, struct tml_range rows, size_t *nsplits) {
  json_error_t je;
  json_t *root = json_loads(json, 0, &je), *trees = json_object_get(root, "trees");
  CHECK(root && json_is_array(trees));
  size_t empty = 0;
  *nsplits = 0;
  for (size_t t = 0; t < json_array_size(trees); t++) {
    json_t *tr = json_array_get(trees, t), *feat = json_object_get(tr, "feature"), *val = json_object_get(tr, "value"),
           *left = json_object_get(tr, "left"), *dl = json_object_get(tr, "default_left");
    size_t nn = json_array_size(feat);
    size_t *visits = calloc(nn, sizeof *visits);
    CHECK(visits);
    for (size_t r = rows.begin; r < rows.end; r++) {
      size_t i = 0;
      for (;;) {
        visits[i]++;
        json_int_t f = json_integer_value(json_array_get(feat, i));
        if (f < 0)
          break;
        float x = X[r * ncols + (size_t)f];
        size_t l = (size_t)json_integer_value(json_array_get(left, i));
        bool go_left = isfinite(x) ? x < (float)json_number_value(json_array_get(val, i))
                                   : json_integer_value(json_array_get(dl, i)) != 0;
        i = go_left ? l : l + 1;
      }
    }
    for (size_t i = 0; i < nn; i++)
      if (json_integer_value(json_array_get(feat, i)) >= 0) {
        size_t l = (size_t)json_integer_value(json_array_get(left, i));
        ++*nsplits;
        empty += visits[l] == 0 || visits[l + 1] == 0;
      }
    free(visits);
  }
  json_decref(root);
  return empty;
}

/* Float sums of many equal values drift (round 1: every row of a class head has the same hessian),
 * by ~1e-4 of a sum at 10^4 rows in one bin. A split scored with the node's exact sums against a
 * column's float prefix sums then sees a phantom right side at a cut past the node's data (GR, HR =
 * the drift, HR >= min_child_weight at tens of thousands of rows) and splits off an empty child
 * with a leaf value made of rounding residue. The float engine scores each column against its own
 * float total and takes children's sums exactly from their rows, so every child of every split
 * receives training rows: checked by walking the model over the training rows (50,000 rows, a
 * binary column with a strong signal, missing values, depth 8), for both precisions. */
TEST(float_histograms_make_no_empty_children) {
  enum { NB = 60000, CB = 13 };
  float *X = malloc((size_t)NB * CB * sizeof *X), *y = malloc(NB * sizeof *y);
  CHECK(X && y);
  uint64_t st = 88172645463325252ULL;
#define URAND() (st ^= st << 13, st ^= st >> 7, st ^= st << 17, (double)(st >> 11) / 9007199254740992.0)
  for (size_t i = 0; i < NB; i++) {
    for (size_t j = 0; j < CB; j++) {
      double v = URAND() * 2 - 1;
      if (j % 4 == 1 && URAND() < 0.15)
        v = NAN;
      if (j == 5)
        v = URAND() < 0.5 ? 0.0 : 1.0;
      if (j == 6)
        v = (double)(int)(URAND() * 3);
      X[i * CB + j] = (float)v;
    }
    double sc = 0.9 * (double)X[i * CB + 5] - 0.45 + 0.5 * (double)X[i * CB] + 0.5 * sin(3 * (double)X[i * CB + 2]) +
                0.3 * URAND();
    y[i] = sc < -0.3 ? 0.0f : sc < 0.3 ? 1.0f : 2.0f;
  }
#undef URAND
  struct tml_error err;
  tml_error_init(&err);
  struct tml_range train = {0, 50000}, valid = {50000, NB};
  for (int prec = TML_HIST_FLOAT; prec <= TML_HIST_DOUBLE; prec++) {
    struct tml_xgb_params p;
    tml_xgb_params_default(&p);
    p.native_histogram = prec;
    p.num_boost_round = 8;
    p.early_stopping_rounds = 0;
    p.eta = 0.3;
    p.max_depth = 8;
    struct tml_gbdt_model *m = NULL;
    CHECK_OK(tml_gbdt_train(X, CB, y, train, valid, 3, &p, NULL, NULL, NULL, &m, &err), &err);
    char *j = model_json(m);
    size_t nsplits = 0, empty = empty_children(j, X, CB, train, &nsplits);
    printf("%s histograms: %zu of %zu splits have a child no training row reaches\n",
           tml_xgb_native_histogram_name(prec), empty, nsplits);
    CHECK_MSG(nsplits > 1000, "only %zu splits: the trees are too small to test", nsplits);
    CHECK_MSG(empty == 0, "%s histograms: %zu splits with an empty child", tml_xgb_native_histogram_name(prec), empty);
    free(j);
    tml_gbdt_free(m);
  }
  free(X);
  free(y);
}

/* max_leaves with both growth orders on real BTCUSDT 1h features (the last 5,000 candles): the native
 * engine (double histograms) and libxgboost, equal parameters, give the same validation predictions
 * bit for bit (same cuts, same driver order of expansions, same leaf counting). */
TEST(max_leaves_agrees_with_xgboost) {
  struct real_set rs;
  real_set_load("binance-spot/BTCUSDT_1h_2021-2026.csv", TML_MS_PER_HOUR, 5000, &rs);
  struct tml_dataset d = rs.d;
  struct tml_split s = rs.s;
  struct tml_label_thresholds th = rs.th;
  struct tml_error err;
  tml_error_init(&err);
  size_t nv = s.valid.end - s.valid.begin;
  float *y = malloc(d.nrows * sizeof *y), *a = malloc(nv * 4 * sizeof *a), *b = malloc(nv * 4 * sizeof *b);
  CHECK(y && a && b);
  const float *Xv = d.X + s.valid.begin * d.ncols;
  struct {
    int depth, leaves, policy;
  } cases[] = {{6, 12, TML_GROW_DEPTHWISE}, {6, 20, TML_GROW_LOSSGUIDE}, {0, 24, TML_GROW_LOSSGUIDE},
               {0, 16, TML_GROW_DEPTHWISE}};
  enum tml_head heads[2] = {TML_HEAD_DIRECTION, TML_HEAD_STOP_LOSS};
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
    for (int hi = 0; hi < 2; hi++) {
      enum tml_head h = heads[hi];
      int k = tml_head_nclass(h), w = k ? k : 1;
      tml_dataset_head_values(&d, h, &th, (struct tml_range){0, d.nrows}, y);
      struct tml_xgb_params p;
      tml_xgb_params_default(&p);
      p.num_boost_round = 20;
      p.early_stopping_rounds = 0;
      p.eta = 0.1;
      p.max_depth = cases[ci].depth;
      p.max_leaves = cases[ci].leaves;
      p.grow_policy = cases[ci].policy;
      p.native_histogram = TML_HIST_DOUBLE;
      struct tml_gbdt_model *m = NULL;
      struct tml_xgb_model *xm = NULL;
      CHECK_OK(tml_gbdt_train(d.X, d.ncols, y, s.train, s.valid, k, &p, NULL, NULL, NULL, &m, &err), &err);
      CHECK_OK(tml_xgb_train(d.X, d.ncols, y, s.train, s.valid, k, &p, NULL, NULL, NULL, &xm, &err), &err);
      tml_gbdt_predict(m, Xv, nv, a);
      CHECK_OK(tml_xgb_predict(xm, Xv, nv, b, &err), &err);
      double maxdiff = 0;
      for (size_t i = 0; i < nv * (size_t)w; i++)
        maxdiff = fmax(maxdiff, fabs((double)a[i] - (double)b[i]));
      /* the leaf limit really binds: no tree has more than max_leaves leaves (nodes = 2 leaves - 1) */
      size_t ntrees = tml_gbdt_ntrees(m);
      double splits = 0, gain[128], weight[128], cover[128];
      CHECK(d.ncols <= 128);
      tml_gbdt_importance(m, gain, weight, cover);
      for (size_t j = 0; j < d.ncols; j++)
        splits += weight[j];
      printf("%s max_depth %d max_leaves %d %s: %zu trees, %.1f splits per tree, largest |native - XGBoost| %.3g\n",
             tml_head_name(h), p.max_depth, p.max_leaves, tml_xgb_grow_policy_name(p.grow_policy), ntrees,
             splits / (double)ntrees, maxdiff);
      CHECK_MSG(splits <= (double)ntrees * (p.max_leaves - 1), "%.0f splits in %zu trees exceed max_leaves %d",
                splits, ntrees, p.max_leaves);
      CHECK_MSG(splits > (double)ntrees * 0.5 * (p.max_leaves - 1), "trees far below max_leaves: the test binds nothing");
      CHECK_MSG(maxdiff == 0.0, "%s max_leaves %d %s: native and XGBoost predictions differ by %g", tml_head_name(h),
                p.max_leaves, tml_xgb_grow_policy_name(p.grow_policy), maxdiff);
      tml_gbdt_free(m);
      tml_xgb_free(xm);
    }
  free(y);
  free(a);
  free(b);
  tml_dataset_release(&d);
}

/* Large training sets (issue 13): the last 60,000 BTCUSDT 15m candles (~48k training rows, the size
 * of a mid-run full walk-forward fold). The higher-timeframe columns hold one value over runs of
 * consecutive rows, so the sketch's queue fills with long runs of equal values; libxgboost 1.7
 * keeps a run that meets a full queue in one entry, and so must the native sketch, or the cuts of
 * those columns move once a column has more than 2 * limit_size runs (~16k rows) and the trees
 * split at other thresholds. Equal cuts, equal parameters: the same predictions bit for bit. */
TEST(agrees_with_xgboost_on_large_real_data) {
  struct real_set rs;
  real_set_load("binance-spot/BTCUSDT_15m_2023-2026.csv", 15 * TML_MS_PER_MINUTE, 60000, &rs);
  struct tml_dataset d = rs.d;
  struct tml_split s = rs.s;
  struct tml_label_thresholds th = rs.th;
  CHECK_MSG(s.train.end - s.train.begin >= 40000, "%zu training rows (need >= 40,000)", s.train.end - s.train.begin);
  struct tml_error err;
  tml_error_init(&err);
  size_t nv = s.valid.end - s.valid.begin;
  float *y = malloc(d.nrows * sizeof *y), *a = malloc(nv * 3 * sizeof *a), *b = malloc(nv * 3 * sizeof *b);
  CHECK(y && a && b);
  const float *Xv = d.X + s.valid.begin * d.ncols;
  tml_dataset_head_values(&d, TML_HEAD_DIRECTION, &th, (struct tml_range){0, d.nrows}, y);
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 10;
  p.early_stopping_rounds = 0;
  p.eta = 0.1;
  p.native_histogram = TML_HIST_DOUBLE;
  struct tml_gbdt_model *m = NULL;
  struct tml_xgb_model *xm = NULL;
  CHECK_OK(tml_gbdt_train(d.X, d.ncols, y, s.train, s.valid, 3, &p, NULL, NULL, NULL, &m, &err), &err);
  CHECK_OK(tml_xgb_train(d.X, d.ncols, y, s.train, s.valid, 3, &p, NULL, NULL, NULL, &xm, &err), &err);
  tml_gbdt_predict(m, Xv, nv, a);
  CHECK_OK(tml_xgb_predict(xm, Xv, nv, b, &err), &err);
  double maxdiff = 0;
  size_t ndiff = 0;
  for (size_t i = 0; i < nv * 3; i++) {
    double dd = fabs((double)a[i] - (double)b[i]);
    ndiff += dd != 0.0;
    maxdiff = fmax(maxdiff, dd);
  }
  printf("%zu training rows, direction head, %d rounds: %zu of %zu probabilities differ, largest |native - XGBoost| "
         "%.3g\n", s.train.end - s.train.begin, p.num_boost_round, ndiff, nv * 3, maxdiff);
  CHECK_MSG(maxdiff == 0.0, "native and XGBoost predictions differ by up to %g (%zu of %zu values)", maxdiff, ndiff,
            nv * 3);
  tml_gbdt_free(m);
  tml_xgb_free(xm);
  free(y);
  free(a);
  free(b);
  tml_dataset_release(&d);
}
