/* Tests of the neural-network core (include/trademl/nn.h): every layer's and loss's gradients
 * against central finite differences, Adam by hand, clipping, dropout, PRNG, determinism and the
 * synthetic sequence task that only a sequence model can solve.
 *
 * Finite differences in float: the loss is summed in double from float outputs, so its rounding
 * noise is ~1e-7 relative; with a step of 1e-2 that adds ~1e-5 to a difference quotient, and the
 * truncation error (eps^2 f'''/6) of these smooth functions is of the same order. A gradient passes
 * when |analytic - numeric| <= 2e-3 + 2e-2 max(|analytic|, |numeric|); a wrong gradient (sign or
 * factor, or a missing term) misses that by orders of magnitude, which the `gradcheck_detects_error`
 * test proves on a deliberately broken gradient. */
#include <cblas.h>
#include <dirent.h>
#include <time.h>

#include "test.h"

#include "trademl/error.h"
#include "trademl/nn.h"
#include "nn/nn_math.h"

#define FD_EPS 1e-2
#define FD_ATOL 2e-3
#define FD_RTOL 2e-2

static void fill_uniform(struct tml_nn_rng *r, float *x, size_t n, double a) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((2.0 * tml_nn_rng_uniform(r) - 1.0) * a);
}

static bool grad_close(double a, double n) {
  double m = fabs(a) > fabs(n) ? fabs(a) : fabs(n);
  return fabs(a - n) <= FD_ATOL + FD_RTOL * m;
}

/* A scalar loss of a network and its analytic gradient, for the checker. */
struct gc_case {
  double (*loss)(void *ud);          /* forward only, from params and inputs */
  void (*grad)(void *ud);            /* zero grads, forward, backward: fills p->g and *dx */
  struct tml_nn_params *p;
  float *x;                          /* inputs checked too (may be NULL) */
  float *dx;                         /* analytic input gradient (filled by grad) */
  size_t nx;
  void *ud;
};

/* Returns the number of mismatching entries; prints the first few. */
static size_t gradcheck(const struct gc_case *c, const char *what) {
  c->grad(c->ud);
  size_t bad = 0;
  float *g = malloc(c->p->n * sizeof *g);
  CHECK(g != NULL);
  memcpy(g, c->p->g, c->p->n * sizeof *g);
  for (size_t i = 0; i < c->p->n + c->nx; i++) {
    float *v = i < c->p->n ? &c->p->w[i] : &c->x[i - c->p->n];
    double an = i < c->p->n ? (double)g[i] : (double)c->dx[i - c->p->n];
    float keep = *v;
    *v = (float)((double)keep + FD_EPS);
    double lp = c->loss(c->ud);
    *v = (float)((double)keep - FD_EPS);
    double lm = c->loss(c->ud);
    *v = keep;
    double num = (lp - lm) / (2 * FD_EPS);
    if (!grad_close(an, num)) {
      if (bad < 5)
        fprintf(stderr, "%s: %s %zu: analytic %.6g numeric %.6g\n", what, i < c->p->n ? "param" : "input",
                i < c->p->n ? i : i - c->p->n, an, num);
      bad++;
    }
  }
  free(g);
  return bad;
}

/* ---- dense ---- */
struct dense_case {
  struct tml_nn_dense d;
  struct tml_nn_params p;
  size_t n;
  float X[4 * 5], Y[4 * 3], R[4 * 3], dY[4 * 3], dX[4 * 5];
};

static double dense_loss(void *ud) {
  struct dense_case *c = ud;
  tml_nn_dense_forward(&c->d, &c->p, c->X, c->n, c->Y);
  double s = 0;
  for (size_t i = 0; i < c->n * c->d.out; i++)
    s += (double)c->Y[i] * (double)c->R[i];
  return s;
}

static void dense_grad(void *ud) {
  struct dense_case *c = ud;
  tml_nn_params_zero_grad(&c->p);
  tml_nn_dense_forward(&c->d, &c->p, c->X, c->n, c->Y);
  memcpy(c->dY, c->R, sizeof c->R);
  tml_nn_dense_backward(&c->d, &c->p, c->X, c->Y, c->dY, c->n, c->dX);
}

static void dense_check(enum tml_nn_act act, const char *name) {
  struct dense_case c;
  memset(&c, 0, sizeof c);
  struct tml_error err;
  tml_error_init(&err);
  tml_nn_params_init(&c.p);
  tml_nn_dense_declare(&c.d, &c.p, 5, 3, act);
  CHECK_OK(tml_nn_params_alloc(&c.p, &err), &err);
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 7);
  tml_nn_dense_init_weights(&c.d, &c.p, &r);
  fill_uniform(&r, c.p.w + c.d.b_off, 3, 0.5); /* non-zero biases, so db is exercised */
  c.n = 4;
  fill_uniform(&r, c.X, sizeof c.X / sizeof c.X[0], 1.0);
  fill_uniform(&r, c.R, sizeof c.R / sizeof c.R[0], 1.0);
  if (act == TML_NN_RELU) { /* keep every pre-activation at least 0.1 away from the kink at 0 */
    tml_nn_dense_forward(&(struct tml_nn_dense){5, 3, c.d.w_off, c.d.b_off, TML_NN_LINEAR}, &c.p, c.X, c.n, c.Y);
    for (size_t i = 0; i < c.n * 3; i++)
      CHECK_MSG(fabs((double)c.Y[i]) > 0.1, "fixture: pre-activation %zu is %g, too near 0", i, (double)c.Y[i]);
  }
  struct gc_case gc = {dense_loss, dense_grad, &c.p, c.X, c.dX, sizeof c.X / sizeof c.X[0], &c};
  size_t bad = gradcheck(&gc, name);
  CHECK_MSG(bad == 0, "%s: %zu gradients differ from finite differences", name, bad);
  tml_nn_params_release(&c.p);
}

TEST(dense_gradcheck_linear) { dense_check(TML_NN_LINEAR, "dense linear"); }
TEST(dense_gradcheck_tanh) { dense_check(TML_NN_TANH, "dense tanh"); }
TEST(dense_gradcheck_relu) { dense_check(TML_NN_RELU, "dense relu"); }

/* A deliberately wrong gradient must be caught: the check is not vacuous. */
static void dense_grad_broken(void *ud) {
  struct dense_case *c = ud;
  dense_grad(ud);
  c->p.g[c->d.w_off + 2] *= 1.5f; /* one weight's gradient off by half */
}

TEST(gradcheck_detects_error) {
  struct dense_case c;
  memset(&c, 0, sizeof c);
  struct tml_error err;
  tml_error_init(&err);
  tml_nn_params_init(&c.p);
  tml_nn_dense_declare(&c.d, &c.p, 5, 3, TML_NN_TANH);
  CHECK_OK(tml_nn_params_alloc(&c.p, &err), &err);
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 7);
  tml_nn_dense_init_weights(&c.d, &c.p, &r);
  c.n = 4;
  fill_uniform(&r, c.X, 20, 1.0);
  fill_uniform(&r, c.R, 12, 1.0);
  struct gc_case gc = {dense_loss, dense_grad_broken, &c.p, NULL, NULL, 0, &c};
  size_t bad = gradcheck(&gc, "broken (expected to differ)");
  CHECK_INT(bad, 1);
  tml_nn_params_release(&c.p);
}

/* ---- MLP (two hidden tanh layers, linear out) ---- */
struct mlp_case {
  struct tml_nn_mlp m;
  struct tml_nn_params p;
  size_t n;
  float X[3 * 4], R[3 * 2], dX[3 * 4];
};

static double mlp_loss(void *ud) {
  struct mlp_case *c = ud;
  const float *Y = tml_nn_mlp_forward(&c->m, &c->p, c->X, c->n);
  double s = 0;
  for (size_t i = 0; i < c->n * 2; i++)
    s += (double)Y[i] * (double)c->R[i];
  return s;
}

static void mlp_grad(void *ud) {
  struct mlp_case *c = ud;
  tml_nn_params_zero_grad(&c->p);
  tml_nn_mlp_forward(&c->m, &c->p, c->X, c->n);
  tml_nn_mlp_backward(&c->m, &c->p, c->X, c->R, c->n, c->dX);
}

TEST(mlp_gradcheck) {
  struct mlp_case c;
  memset(&c, 0, sizeof c);
  struct tml_error err;
  tml_error_init(&err);
  tml_nn_params_init(&c.p);
  size_t sizes[] = {4, 6, 5, 2};
  CHECK_OK(tml_nn_mlp_init(&c.m, &c.p, sizes, 4, TML_NN_TANH, TML_NN_LINEAR, 8, &err), &err);
  CHECK_OK(tml_nn_params_alloc(&c.p, &err), &err);
  CHECK_INT(c.p.n, 4 * 6 + 6 + 6 * 5 + 5 + 5 * 2 + 2);
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 11);
  tml_nn_mlp_init_weights(&c.m, &c.p, &r);
  fill_uniform(&r, c.p.w, c.p.n, 0.6);
  c.n = 3;
  fill_uniform(&r, c.X, 12, 1.0);
  fill_uniform(&r, c.R, 6, 1.0);
  struct gc_case gc = {mlp_loss, mlp_grad, &c.p, c.X, c.dX, 12, &c};
  CHECK_INT(gradcheck(&gc, "mlp"), 0);
  /* a bad shape is refused */
  struct tml_nn_mlp bad;
  struct tml_nn_params q;
  tml_nn_params_init(&q);
  CHECK_INT(tml_nn_mlp_init(&bad, &q, sizes, 1, TML_NN_TANH, TML_NN_LINEAR, 8, &err), TML_EINVAL);
  tml_nn_mlp_release(&c.m);
  tml_nn_params_release(&c.p);
}

/* ---- LSTM: loss = sum_t sum R_t . h_t over every step (so BPTT carries gradient from each) ---- */
enum { LT = 5, LB = 2, LI = 3, LH = 4 };
struct lstm_case {
  struct tml_nn_lstm l;
  struct tml_nn_params p;
  struct tml_nn_lstm_cache cache;
  float X[LT * LB * LI], R[LT * LB * LH], dX[LT * LB * LI];
};

static double lstm_loss(void *ud) {
  struct lstm_case *c = ud;
  tml_nn_lstm_forward(&c->l, &c->p, c->X, LT, LB, &c->cache);
  const float *H = tml_nn_lstm_output(&c->cache, LB);
  double s = 0;
  for (size_t i = 0; i < LT * LB * LH; i++)
    s += (double)H[i] * (double)c->R[i];
  return s;
}

static void lstm_grad(void *ud) {
  struct lstm_case *c = ud;
  tml_nn_params_zero_grad(&c->p);
  tml_nn_lstm_forward(&c->l, &c->p, c->X, LT, LB, &c->cache);
  tml_nn_lstm_backward(&c->l, &c->p, c->X, c->R, LT, LB, &c->cache, c->dX);
}

TEST(lstm_gradcheck) {
  struct lstm_case c;
  memset(&c, 0, sizeof c);
  struct tml_error err;
  tml_error_init(&err);
  tml_nn_params_init(&c.p);
  tml_nn_lstm_declare(&c.l, &c.p, LI, LH);
  CHECK_OK(tml_nn_params_alloc(&c.p, &err), &err);
  CHECK_INT(c.p.n, LI * 4 * LH + LH * 4 * LH + 4 * LH);
  CHECK_OK(tml_nn_lstm_cache_init(&c.cache, &c.l, LT, LB, &err), &err);
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 3);
  tml_nn_lstm_init_weights(&c.l, &c.p, &r, 1.0f);
  fill_uniform(&r, c.p.w + c.l.b_off, 4 * LH, 0.5);
  fill_uniform(&r, c.X, LT * LB * LI, 1.0);
  fill_uniform(&r, c.R, LT * LB * LH, 1.0);
  struct gc_case gc = {lstm_loss, lstm_grad, &c.p, c.X, c.dX, LT * LB * LI, &c};
  CHECK_INT(gradcheck(&gc, "lstm"), 0);
  tml_nn_lstm_cache_release(&c.cache);
  tml_nn_params_release(&c.p);
}

/* The streaming step reproduces the batch forward pass. */
TEST(lstm_step_matches_forward) {
  struct lstm_case c;
  memset(&c, 0, sizeof c);
  struct tml_error err;
  tml_error_init(&err);
  tml_nn_params_init(&c.p);
  tml_nn_lstm_declare(&c.l, &c.p, LI, LH);
  CHECK_OK(tml_nn_params_alloc(&c.p, &err), &err);
  CHECK_OK(tml_nn_lstm_cache_init(&c.cache, &c.l, LT, LB, &err), &err);
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 5);
  tml_nn_lstm_init_weights(&c.l, &c.p, &r, 1.0f);
  fill_uniform(&r, c.X, LT * LB * LI, 1.0);
  tml_nn_lstm_forward(&c.l, &c.p, c.X, LT, LB, &c.cache);
  const float *H = tml_nn_lstm_output(&c.cache, LB);
  for (size_t b = 0; b < LB; b++) {
    float h[LH] = {0}, cc[LH] = {0}, z[4 * LH];
    for (size_t t = 0; t < LT; t++) {
      tml_nn_lstm_project(&c.l, &c.p, c.X + (t * LB + b) * LI, 1, z);
      tml_nn_lstm_step(&c.l, &c.p, z, h, cc);
      for (size_t j = 0; j < LH; j++)
        CHECK_NEAR(h[j], H[(t * LB + b) * LH + j], 1e-6);
    }
  }
  tml_nn_lstm_cache_release(&c.cache);
  tml_nn_params_release(&c.p);
}

/* ---- losses ---- */
TEST(softmax_xent_gradcheck) {
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 9);
  enum { N = 4, K = 3, S = 5 };
  float z[N * S], dz[N * S];
  fill_uniform(&r, z, N * S, 2.0);
  int32_t y[N] = {0, 2, -1, 1}; /* row 2 unlabelled: skipped */
  size_t counted = 0;
  double loss = tml_nn_softmax_xent(z, N, K, S, y, dz, 0.5, &counted);
  CHECK_INT(counted, 3);
  /* by hand for row 0 */
  double s0 = exp((double)z[0]) + exp((double)z[1]) + exp((double)z[2]);
  double l0 = log(s0) - (double)z[0];
  double l1 = log(exp((double)z[5]) + exp((double)z[6]) + exp((double)z[7])) - (double)z[7];
  double l3 = log(exp((double)z[15]) + exp((double)z[16]) + exp((double)z[17])) - (double)z[16];
  CHECK_NEAR(loss, l0 + l1 + l3, 1e-9);
  CHECK_NEAR(dz[0], 0.5 * (exp((double)z[0]) / s0 - 1.0), 1e-6);
  for (size_t j = 0; j < K; j++)
    CHECK(dz[10 + j] == 0.0f);
  for (size_t i = 0; i < N * S; i++) {
    if (i % S >= K)
      continue;
    float keep = z[i];
    z[i] = (float)((double)keep + 1e-3);
    double lp = tml_nn_softmax_xent(z, N, K, S, y, NULL, 1, NULL);
    z[i] = (float)((double)keep - 1e-3);
    double lm = tml_nn_softmax_xent(z, N, K, S, y, NULL, 1, NULL);
    z[i] = keep;
    CHECK_MSG(grad_close((double)dz[i], 0.5 * (lp - lm) / 2e-3), "xent logit %zu: analytic %g numeric %g", i,
              (double)dz[i], 0.5 * (lp - lm) / 2e-3);
  }
  float p[3];
  tml_nn_softmax((const float[]){1000.0f, 1000.0f, 0.0f}, 3, p); /* no overflow */
  CHECK_NEAR(p[0], 0.5, 1e-6);
  CHECK_NEAR(p[2], 0.0, 1e-6);
}

TEST(squared_error_gradcheck) {
  float pred[6] = {0.5f, 9, -1.0f, 9, 2.0f, 9}; /* stride 2 */
  float y[3] = {1.0f, NAN, 0.5f};
  float d[6] = {7, 7, 7, 7, 7, 7};
  size_t counted = 0;
  double loss = tml_nn_squared_error(pred, 3, 2, y, d, 0.25, &counted);
  CHECK_INT(counted, 2);
  CHECK_NEAR(loss, 0.25 + 2.25, 1e-12);
  CHECK_NEAR(d[0], 0.25 * 2 * -0.5, 1e-7);
  CHECK(d[2] == 0.0f);
  CHECK_NEAR(d[4], 0.25 * 2 * 1.5, 1e-7);
  CHECK(d[1] == 7.0f); /* other columns untouched */
  for (size_t i = 0; i < 6; i += 2) {
    float keep = pred[i];
    pred[i] = keep + 1e-2f;
    double lp = tml_nn_squared_error(pred, 3, 2, y, NULL, 1, NULL);
    pred[i] = keep - 1e-2f;
    double lm = tml_nn_squared_error(pred, 3, 2, y, NULL, 1, NULL);
    pred[i] = keep;
    CHECK_MSG(grad_close((double)d[i], 0.25 * (lp - lm) / 2e-2), "se %zu", i);
  }
}

/* ---- Adam by hand: two parameters, two steps ---- */
TEST(adam_by_hand) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_nn_params p;
  tml_nn_params_init(&p);
  tml_nn_params_reserve(&p, 2);
  CHECK_OK(tml_nn_params_alloc(&p, &err), &err);
  struct tml_nn_adam a;
  CHECK_OK(tml_nn_adam_init(&a, 2, 0.1, &err), &err);
  p.w[0] = 1.0f;
  p.w[1] = -2.0f;
  /* step 1: g = (0.5, -4). m = 0.1 g, v = 0.001 g^2; mhat = g, vhat = g^2 -> w -= lr * g/(|g| + eps) */
  p.g[0] = 0.5f;
  p.g[1] = -4.0f;
  tml_nn_adam_step(&a, &p);
  CHECK_NEAR(p.w[0], 1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-6);
  CHECK_NEAR(p.w[1], -2.0 + 0.1 * 4.0 / (4.0 + 1e-8), 1e-6);
  /* step 2: g = (0.25, 1). m = 0.9 m1 + 0.1 g; v = 0.999 v1 + 0.001 g^2; bias corrections 1-0.9^2, 1-0.999^2 */
  p.g[0] = 0.25f;
  p.g[1] = 1.0f;
  tml_nn_adam_step(&a, &p);
  double m0 = 0.9 * 0.05 + 0.1 * 0.25, v0 = 0.999 * 0.00025 + 0.001 * 0.0625;
  double m1 = 0.9 * -0.4 + 0.1 * 1.0, v1 = 0.999 * 0.016 + 0.001 * 1.0;
  double bc1 = 1 - 0.81, bc2 = 1 - 0.999 * 0.999;
  double w0 = 0.9 - 0.1 * (m0 / bc1) / (sqrt(v0 / bc2) + 1e-8);
  double w1 = -1.9 - 0.1 * (m1 / bc1) / (sqrt(v1 / bc2) + 1e-8);
  CHECK_NEAR(p.w[0], w0, 1e-5);
  CHECK_NEAR(p.w[1], w1, 1e-5);
  CHECK_INT(a.step, 2);
  tml_nn_adam_release(&a);
  tml_nn_params_release(&p);
}

TEST(clip_grad_norm) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_nn_params p;
  tml_nn_params_init(&p);
  tml_nn_params_reserve(&p, 2);
  CHECK_OK(tml_nn_params_alloc(&p, &err), &err);
  p.g[0] = 3.0f;
  p.g[1] = 4.0f;
  CHECK_NEAR(tml_nn_clip_grad_norm(&p, 10.0), 5.0, 1e-12); /* under the limit: untouched */
  CHECK(p.g[0] == 3.0f);
  CHECK_NEAR(tml_nn_clip_grad_norm(&p, 1.0), 5.0, 1e-12);
  CHECK_NEAR(tml_nn_params_grad_norm(&p), 1.0, 1e-5);
  CHECK_NEAR(p.g[0], 0.6, 1e-5);
  p.g[1] = NAN;
  CHECK(isnan(tml_nn_clip_grad_norm(&p, 1.0))); /* a diverged step is reported, not hidden */
  tml_nn_params_release(&p);
}

TEST(dropout_mask_rate) {
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 1);
  enum { N = 20000 };
  float *m = malloc(N * sizeof *m);
  CHECK(m != NULL);
  tml_nn_dropout_mask(&r, m, N, 0.25f);
  size_t zeros = 0;
  double sum = 0;
  for (size_t i = 0; i < N; i++) {
    CHECK(m[i] == 0.0f || fabs((double)m[i] - 1.0 / 0.75) < 1e-6);
    zeros += m[i] == 0.0f;
    sum += (double)m[i];
  }
  CHECK_MSG(zeros > 4700 && zeros < 5300, "%zu zeros of 20000 at rate 0.25", zeros);
  CHECK_NEAR(sum / N, 1.0, 0.02); /* inverted dropout keeps the expectation */
  tml_nn_dropout_mask(&r, m, 10, 0.0f);
  for (size_t i = 0; i < 10; i++)
    CHECK(m[i] == 1.0f);
  free(m);
}

TEST(rng_reproducible) {
  struct tml_nn_rng a, b;
  tml_nn_rng_seed(&a, 42);
  tml_nn_rng_seed(&b, 42);
  for (int i = 0; i < 100; i++)
    CHECK(tml_nn_rng_next(&a) == tml_nn_rng_next(&b));
  tml_nn_rng_seed(&b, 43);
  CHECK(tml_nn_rng_next(&a) != tml_nn_rng_next(&b));
  /* xoshiro256** reference: state {1,2,3,4} gives 11520 then 0 then 1509978240 */
  struct tml_nn_rng x = {{1, 2, 3, 4}};
  CHECK(tml_nn_rng_next(&x) == 11520u);
  CHECK(tml_nn_rng_next(&x) == 0u);
  CHECK(tml_nn_rng_next(&x) == 1509978240u);
  size_t v[10], counts[10] = {0};
  for (int rep = 0; rep < 1000; rep++) {
    for (size_t i = 0; i < 10; i++)
      v[i] = i;
    tml_nn_rng_shuffle(&a, v, 10);
    counts[v[0]]++;
  }
  for (size_t i = 0; i < 10; i++)
    CHECK_MSG(counts[i] > 50 && counts[i] < 150, "value %zu first %zu times of 1000", i, counts[i]);
  for (int i = 0; i < 1000; i++)
    CHECK(tml_nn_rng_below(&a, 7) < 7);
}

/* ---- The synthetic sequence task: x_t a random sign (-1 or +1), label_t = 1 when x_{t-20} > 0. A model
 * of the current row (or an LSTM with sequence length 1) sees nothing about x_{t-20} and stays at
 * chance; an LSTM over the last 21 rows must carry the first value of its window through 20 steps
 * of distractors. ---- */
struct seq_net {
  size_t T, B, H;
  struct tml_nn_params p;
  struct tml_nn_lstm lstm;
  struct tml_nn_dense head;
  struct tml_nn_lstm_cache cache;
  struct tml_nn_adam adam;
  float *X, *dH, *logits, *dlogits, *hlast, *dhlast;
  int32_t *y;
};

static void seq_net_init(struct seq_net *n, size_t T, size_t B, size_t H, uint64_t seed) {
  struct tml_error err;
  tml_error_init(&err);
  memset(n, 0, sizeof *n);
  n->T = T;
  n->B = B;
  n->H = H;
  tml_nn_params_init(&n->p);
  tml_nn_lstm_declare(&n->lstm, &n->p, 1, H);
  tml_nn_dense_declare(&n->head, &n->p, H, 2, TML_NN_LINEAR);
  CHECK_OK(tml_nn_params_alloc(&n->p, &err), &err);
  CHECK_OK(tml_nn_lstm_cache_init(&n->cache, &n->lstm, T, B, &err), &err);
  CHECK_OK(tml_nn_adam_init(&n->adam, n->p.n, 0.02, &err), &err);
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, seed);
  tml_nn_lstm_init_weights(&n->lstm, &n->p, &r, 1.0f);
  tml_nn_dense_init_weights(&n->head, &n->p, &r);
  n->X = calloc(T * B, sizeof(float));
  n->dH = calloc(T * B * H, sizeof(float));
  n->logits = calloc(B * 2, sizeof(float));
  n->dlogits = calloc(B * 2, sizeof(float));
  n->hlast = calloc(B * H, sizeof(float));
  n->dhlast = calloc(B * H, sizeof(float));
  n->y = calloc(B, sizeof(int32_t));
  CHECK(n->X && n->dH && n->logits && n->dlogits && n->hlast && n->dhlast && n->y);
}

static void seq_net_release(struct seq_net *n) {
  tml_nn_lstm_cache_release(&n->cache);
  tml_nn_adam_release(&n->adam);
  tml_nn_params_release(&n->p);
  free(n->X);
  free(n->dH);
  free(n->logits);
  free(n->dlogits);
  free(n->hlast);
  free(n->dhlast);
  free(n->y);
}

/* A batch of windows of the stream: the label is x 20 steps before the window's last row; the window
 * holds the last T rows (T <= 21 shows less than the label needs). */
static void seq_batch(struct seq_net *n, struct tml_nn_rng *r) {
  float hist[21];
  for (size_t b = 0; b < n->B; b++) {
    for (size_t k = 0; k < 21; k++)
      hist[k] = tml_nn_rng_uniform(r) < 0.5 ? -1.0f : 1.0f;
    n->y[b] = hist[0] > 0.0f;
    for (size_t t = 0; t < n->T; t++)
      n->X[t * n->B + b] = hist[21 - n->T + t];
  }
}

static double seq_forward(struct seq_net *n) {
  tml_nn_lstm_forward(&n->lstm, &n->p, n->X, n->T, n->B, &n->cache);
  memcpy(n->hlast, tml_nn_lstm_output(&n->cache, n->B) + (n->T - 1) * n->B * n->H, n->B * n->H * sizeof(float));
  tml_nn_dense_forward(&n->head, &n->p, n->hlast, n->B, n->logits);
  return tml_nn_softmax_xent(n->logits, n->B, 2, 2, n->y, n->dlogits, 1.0 / (double)n->B, NULL);
}

static void seq_train(struct seq_net *n, size_t steps, uint64_t data_seed) {
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, data_seed);
  for (size_t s = 0; s < steps; s++) {
    seq_batch(n, &r);
    tml_nn_params_zero_grad(&n->p);
    seq_forward(n);
    tml_nn_dense_backward(&n->head, &n->p, n->hlast, n->logits, n->dlogits, n->B, n->dhlast);
    memset(n->dH, 0, n->T * n->B * n->H * sizeof(float));
    memcpy(n->dH + (n->T - 1) * n->B * n->H, n->dhlast, n->B * n->H * sizeof(float));
    tml_nn_lstm_backward(&n->lstm, &n->p, n->X, n->dH, n->T, n->B, &n->cache, NULL);
    tml_nn_clip_grad_norm(&n->p, 5.0);
    tml_nn_adam_step(&n->adam, &n->p);
  }
}

static double seq_accuracy(struct seq_net *n, size_t batches) {
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 999); /* fresh rows, never trained on */
  size_t right = 0;
  for (size_t k = 0; k < batches; k++) {
    seq_batch(n, &r);
    seq_forward(n);
    for (size_t b = 0; b < n->B; b++)
      right += (n->logits[2 * b + 1] > n->logits[2 * b]) == (n->y[b] == 1);
  }
  return (double)right / (double)(batches * n->B);
}

TEST(sequence_task_lstm_solves) {
  struct seq_net n;
  seq_net_init(&n, 21, 32, 12, 1);
  seq_train(&n, 300, 2);
  double acc = seq_accuracy(&n, 32);
  fprintf(stderr, "LSTM over 21 rows: accuracy %.4f\n", acc);
  CHECK_MSG(acc > 0.95, "the LSTM reached only %.4f on the 20-steps-back task (needs > 0.95)", acc);
  seq_net_release(&n);
}

TEST(sequence_task_needs_sequence) {
  /* The same network and training with sequence length 1 (the current row only): chance level. */
  struct seq_net n;
  seq_net_init(&n, 1, 32, 12, 1);
  seq_train(&n, 300, 2);
  double acc = seq_accuracy(&n, 32);
  fprintf(stderr, "LSTM over 1 row: accuracy %.4f\n", acc);
  CHECK_MSG(acc < 0.6, "a model of the current row reached %.4f: the task leaks the label", acc);
  seq_net_release(&n);
}

/* Same seed and thread count: the same bytes after training. A different seed: different bytes. */
TEST(determinism_same_seed_same_bytes) {
  tml_nn_set_threads(2);
  struct seq_net a, b, c;
  seq_net_init(&a, 21, 32, 12, 7);
  seq_net_init(&b, 21, 32, 12, 7);
  seq_net_init(&c, 21, 32, 12, 8);
  seq_train(&a, 60, 3);
  seq_train(&b, 60, 3);
  seq_train(&c, 60, 3);
  CHECK(a.p.n == b.p.n);
  CHECK_MSG(memcmp(a.p.w, b.p.w, a.p.n * sizeof(float)) == 0, "same seed and threads gave different weights");
  CHECK_MSG(memcmp(a.p.w, c.p.w, a.p.n * sizeof(float)) != 0, "a different seed gave the same weights");
  seq_net_release(&a);
  seq_net_release(&b);
  seq_net_release(&c);
  tml_nn_set_threads(1);
}

/* The CLI parks OpenBLAS's loader-started threads at startup (tml_nn_blas_park): the threads must be
 * gone after it (this process is then alone in /proc/self/task), a product large enough for OpenBLAS
 * to split (384^3) must bring them back and give the same bytes as before the park, and a fit on 2
 * threads must too. */
static size_t tasks(void) {
  DIR *d = opendir("/proc/self/task");
  CHECK(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* The thread count once it is down to `want` (or after a second): a joined thread stays listed in
 * /proc/self/task for a moment after pthread_join returns, since it wakes its joiner before it has
 * finished exiting. */
static size_t tasks_down_to(size_t want) {
  size_t n = tasks();
  for (int i = 0; i < 1000 && n > want; i++) {
    nanosleep(&(struct timespec){0, 1000000}, NULL);
    n = tasks();
  }
  return n;
}

TEST(parked_blas_threads_give_the_same_products) {
  tml_nn_set_threads(2);
  enum { NM = 384 };
  float *A = malloc(NM * NM * sizeof *A), *B = malloc(NM * NM * sizeof *B), *C1 = malloc(NM * NM * sizeof *C1),
        *C2 = malloc(NM * NM * sizeof *C2);
  CHECK(A && B && C1 && C2);
  struct tml_nn_rng r;
  tml_nn_rng_seed(&r, 5);
  for (size_t i = 0; i < NM * NM; i++) {
    A[i] = (float)tml_nn_rng_uniform(&r) - 0.5f;
    B[i] = (float)tml_nn_rng_uniform(&r) - 0.5f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NM, NM, NM, 1.0f, A, NM, B, NM, 0.0f, C1, NM);
  struct seq_net a, b;
  seq_net_init(&a, 21, 32, 12, 7);
  seq_train(&a, 40, 3);
  size_t before = tasks();
  tml_nn_blas_park();
  tml_nn_blas_park(); /* twice: nothing left to stop */
  size_t parked = tasks_down_to(1);
  size_t after = 0;
  for (int k = 0; k < 3 && after < 2; k++) { /* the pool is back once a product has run */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NM, NM, NM, 1.0f, A, NM, B, NM, 0.0f, C2, NM);
    size_t n = tasks();
    after = n > after ? n : after;
  }
  printf("threads of this process: %zu before the park, %zu parked, %zu after a 384^3 product (OpenBLAS %d)\n",
         before, parked, after, tml_nn_threads());
  CHECK_MSG(parked == 1, "%zu threads after the park: OpenBLAS's workers are still there", parked);
  if (tml_nn_threads() >= 2)
    CHECK_MSG(after >= 2, "the product after the park ran without OpenBLAS's workers (%zu threads)", after);
  CHECK_MSG(memcmp(C1, C2, NM * NM * sizeof *C1) == 0, "the product after the park differs");
  seq_net_init(&b, 21, 32, 12, 7);
  seq_train(&b, 40, 3);
  CHECK(a.p.n == b.p.n);
  CHECK_MSG(memcmp(a.p.w, b.p.w, a.p.n * sizeof(float)) == 0, "training after parking the BLAS threads changed the weights");
  seq_net_release(&a);
  seq_net_release(&b);
  free(A);
  free(B);
  free(C1);
  free(C2);
  tml_nn_set_threads(1);
}

/* The fast activations against libm (double): exp relative error, sigmoid and tanh absolute error. */
TEST(fast_math_accuracy) {
  double worst_exp = 0, worst_sig = 0, worst_tanh = 0;
  for (int i = -800000; i <= 800000; i++) {
    float x = (float)i * 1e-4f; /* [-80, 80] */
    double e = exp((double)x);
    double re = fabs((double)tml__nn_expf(x) - e) / e;
    worst_exp = re > worst_exp ? re : worst_exp;
    double s = 1.0 / (1.0 + exp(-(double)x));
    double as = fabs((double)tml__nn_sigmoid(x) - s);
    worst_sig = as > worst_sig ? as : worst_sig;
    double at = fabs((double)tml__nn_tanh(x) - tanh((double)x));
    worst_tanh = at > worst_tanh ? at : worst_tanh;
  }
  fprintf(stderr, "worst: exp %.3g relative, sigmoid %.3g, tanh %.3g absolute\n", worst_exp, worst_sig, worst_tanh);
  CHECK_MSG(worst_exp < 3e-7, "exp relative error %g", worst_exp);
  CHECK_MSG(worst_sig < 2e-7, "sigmoid error %g", worst_sig);
  CHECK_MSG(worst_tanh < 3e-7, "tanh error %g", worst_tanh);
  CHECK(tml__nn_tanh(0.0f) == 0.0f);
  CHECK(tml__nn_sigmoid(-1000.0f) >= 0.0f && tml__nn_sigmoid(1000.0f) == 1.0f);
  CHECK(tml__nn_tanh(1000.0f) == 1.0f && tml__nn_tanh(-1000.0f) == -1.0f);
}
