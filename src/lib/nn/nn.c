/* The neural-network core: PRNG, parameter store, dense layers and MLPs, losses, dropout, Adam and
 * gradient clipping (include/trademl/nn.h). The LSTM layer is in nn_lstm.c. Products go through
 * CBLAS (OpenBLAS); the rest are plain loops over flat arrays, nothing allocates per batch. */
#include "trademl/nn.h"

#include "util/common.h"

#include <cblas.h>

#include "trademl/error.h"
#include "nn/nn_math.h"

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void tml_nn_rng_seed(struct tml_nn_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t tml_nn_rng_next(struct tml_nn_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double tml_nn_rng_uniform(struct tml_nn_rng *r) { return (double)(tml_nn_rng_next(r) >> 11) * 0x1.0p-53; }

double tml_nn_rng_normal(struct tml_nn_rng *r) {
  double u1 = tml_nn_rng_uniform(r), u2 = tml_nn_rng_uniform(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

size_t tml_nn_rng_below(struct tml_nn_rng *r, size_t n) {
  /* Rejection from the largest multiple of n below 2^64, so every value is equally likely. */
  uint64_t range = (uint64_t)n, limit = (UINT64_MAX / range) * range, x;
  do
    x = tml_nn_rng_next(r);
  while (x >= limit);
  return (size_t)(x % range);
}

void tml_nn_rng_shuffle(struct tml_nn_rng *r, size_t *v, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = tml_nn_rng_below(r, i);
    size_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}

/* OpenBLAS's own thread-pool shutdown (driver/others/blas_server.c, exported for its fork handler);
 * exec_blas and goto_set_num_threads re-create the pool (blas_thread_init). Weak: absent from some
 * builds of OpenBLAS, where there is nothing to stop. */
extern int blas_thread_shutdown_(void) __attribute__((weak));
void tml_nn_blas_park(void) {
  if (blas_thread_shutdown_)
    blas_thread_shutdown_();
}

/* openblas_set_num_threads / openblas_get_num_threads: declared by OpenBLAS's cblas.h. */
void tml_nn_set_threads(int nthreads) {
  openblas_set_num_threads(nthreads < 1 ? 1 : nthreads);
  if (nthreads <= 1) /* OpenBLAS (0.3.21) restarts its pool here too; one thread never uses it */
    tml_nn_blas_park();
}
int tml_nn_threads(void) { return openblas_get_num_threads(); }

/* ---- Parameters ---- */

void tml_nn_params_init(struct tml_nn_params *p) { memset(p, 0, sizeof *p); }

size_t tml_nn_params_reserve(struct tml_nn_params *p, size_t count) {
  size_t off = p->n;
  p->n += count;
  return off;
}

int tml_nn_params_alloc(struct tml_nn_params *p, struct tml_error *err) {
  size_t n = p->n ? p->n : 1;
  p->w = calloc(n, sizeof *p->w);
  p->g = calloc(n, sizeof *p->g);
  if (!p->w || !p->g) {
    free(p->w);
    free(p->g);
    p->w = p->g = NULL;
    return tml_error_set(err, TML_ENOMEM, "cannot allocate %zu network parameters", p->n);
  }
  return 0;
}

void tml_nn_params_release(struct tml_nn_params *p) {
  if (!p)
    return;
  free(p->w);
  free(p->g);
  memset(p, 0, sizeof *p);
}

void tml_nn_params_zero_grad(struct tml_nn_params *p) { memset(p->g, 0, p->n * sizeof *p->g); }

double tml_nn_params_grad_norm(const struct tml_nn_params *p) {
  double s = 0;
  for (size_t i = 0; i < p->n; i++)
    s += (double)p->g[i] * (double)p->g[i];
  return sqrt(s);
}

double tml_nn_clip_grad_norm(struct tml_nn_params *p, double max_norm) {
  double norm = tml_nn_params_grad_norm(p);
  if (max_norm > 0 && isfinite(norm) && norm > max_norm) {
    /* PyTorch's clip_grad_norm_: coefficient max_norm / (norm + 1e-6). */
    float k = (float)(max_norm / (norm + 1e-6));
    for (size_t i = 0; i < p->n; i++)
      p->g[i] *= k;
  }
  return norm;
}

bool tml_nn_params_finite(const struct tml_nn_params *p) {
  for (size_t i = 0; i < p->n; i++)
    if (!isfinite(p->w[i]))
      return false;
  return true;
}

/* ---- Dense ---- */

void tml_nn_dense_declare(struct tml_nn_dense *d, struct tml_nn_params *p, size_t in, size_t out,
                          enum tml_nn_act act) {
  d->in = in;
  d->out = out;
  d->act = act;
  d->w_off = tml_nn_params_reserve(p, in * out);
  d->b_off = tml_nn_params_reserve(p, out);
}

void tml_nn_dense_init_weights(const struct tml_nn_dense *d, struct tml_nn_params *p, struct tml_nn_rng *rng) {
  double a = d->act == TML_NN_RELU ? sqrt(6.0 / (double)d->in) : sqrt(6.0 / (double)(d->in + d->out));
  float *W = p->w + d->w_off;
  for (size_t i = 0; i < d->in * d->out; i++)
    W[i] = (float)((2.0 * tml_nn_rng_uniform(rng) - 1.0) * a);
  memset(p->w + d->b_off, 0, d->out * sizeof(float));
}

void tml_nn_dense_forward(const struct tml_nn_dense *d, const struct tml_nn_params *p, const float *X, size_t n,
                          float *Y) {
  const float *W = p->w + d->w_off, *b = p->w + d->b_off;
  size_t out = d->out;
  for (size_t i = 0; i < n; i++)
    memcpy(Y + i * out, b, out * sizeof *Y);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)out, (int)d->in, 1.0f, X, (int)d->in, W,
              (int)out, 1.0f, Y, (int)out);
  size_t total = n * out;
  if (d->act == TML_NN_RELU) {
    for (size_t i = 0; i < total; i++)
      Y[i] = Y[i] > 0.0f ? Y[i] : 0.0f;
  } else if (d->act == TML_NN_TANH) {
    tml__nn_tanh_n(Y, total);
  }
}

void tml_nn_dense_backward(const struct tml_nn_dense *d, struct tml_nn_params *p, const float *X, const float *Y,
                           float *dY, size_t n, float *dX) {
  size_t out = d->out, total = n * out;
  if (d->act == TML_NN_RELU) {
    for (size_t i = 0; i < total; i++)
      if (!(Y[i] > 0.0f))
        dY[i] = 0.0f;
  } else if (d->act == TML_NN_TANH) {
    for (size_t i = 0; i < total; i++)
      dY[i] *= 1.0f - Y[i] * Y[i];
  }
  float *dW = p->g + d->w_off, *db = p->g + d->b_off;
  /* dW += X^T dZ  (in x out) */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d->in, (int)out, (int)n, 1.0f, X, (int)d->in, dY,
              (int)out, 1.0f, dW, (int)out);
  for (size_t i = 0; i < n; i++) {
    const float *row = dY + i * out;
    for (size_t j = 0; j < out; j++)
      db[j] += row[j];
  }
  if (dX) /* dX = dZ W^T  (n x in) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d->in, (int)out, 1.0f, dY, (int)out,
                p->w + d->w_off, (int)out, 0.0f, dX, (int)d->in);
}

/* ---- MLP ---- */

int tml_nn_mlp_init(struct tml_nn_mlp *m, struct tml_nn_params *p, const size_t *sizes, size_t nsizes,
                    enum tml_nn_act hidden_act, enum tml_nn_act out_act, size_t max_batch, struct tml_error *err) {
  memset(m, 0, sizeof *m);
  if (nsizes < 2 || nsizes > TML_NN_MLP_MAX_LAYERS + 1 || max_batch == 0)
    return tml_error_set(err, TML_EINVAL, "an MLP needs 2..%d layer sizes and a batch of at least 1 (got %zu sizes)",
                         TML_NN_MLP_MAX_LAYERS + 1, nsizes);
  size_t total_out = 0, widest = sizes[0];
  for (size_t i = 0; i + 1 < nsizes; i++) {
    if (sizes[i] == 0 || sizes[i + 1] == 0)
      return tml_error_set(err, TML_EINVAL, "MLP layer %zu has size 0", sizes[i] ? i + 1 : i);
    tml_nn_dense_declare(&m->layer[i], p, sizes[i], sizes[i + 1], i + 2 == nsizes ? out_act : hidden_act);
    total_out += sizes[i + 1];
    widest = TML_MAX(widest, sizes[i + 1]);
  }
  m->nlayers = nsizes - 1;
  m->max_batch = max_batch;
  m->act = malloc(total_out * max_batch * sizeof(float));
  m->grad[0] = malloc(widest * max_batch * sizeof(float));
  m->grad[1] = malloc(widest * max_batch * sizeof(float));
  if (!m->act || !m->grad[0] || !m->grad[1]) {
    tml_nn_mlp_release(m);
    return tml_error_set(err, TML_ENOMEM, "cannot allocate the MLP workspace for %zu rows", max_batch);
  }
  return 0;
}

void tml_nn_mlp_release(struct tml_nn_mlp *m) {
  if (!m)
    return;
  free(m->act);
  free(m->grad[0]);
  free(m->grad[1]);
  memset(m, 0, sizeof *m);
}

void tml_nn_mlp_init_weights(const struct tml_nn_mlp *m, struct tml_nn_params *p, struct tml_nn_rng *rng) {
  for (size_t i = 0; i < m->nlayers; i++)
    tml_nn_dense_init_weights(&m->layer[i], p, rng);
}

/* Output of layer i in the workspace. */
static float *mlp_out(const struct tml_nn_mlp *m, size_t i) {
  size_t off = 0;
  for (size_t k = 0; k < i; k++)
    off += m->layer[k].out * m->max_batch;
  return m->act + off;
}

const float *tml_nn_mlp_forward(struct tml_nn_mlp *m, const struct tml_nn_params *p, const float *X, size_t n) {
  const float *in = X;
  for (size_t i = 0; i < m->nlayers; i++) {
    float *out = mlp_out(m, i);
    tml_nn_dense_forward(&m->layer[i], p, in, n, out);
    in = out;
  }
  return in;
}

void tml_nn_mlp_backward(struct tml_nn_mlp *m, struct tml_nn_params *p, const float *X, const float *dOut,
                         size_t n, float *dX) {
  size_t L = m->nlayers;
  float *cur = m->grad[0];
  memcpy(cur, dOut, n * m->layer[L - 1].out * sizeof(float));
  for (size_t k = L; k-- > 0;) {
    const float *in = k ? mlp_out(m, k - 1) : X;
    float *next = k ? m->grad[(L - k) & 1] : dX;
    tml_nn_dense_backward(&m->layer[k], p, in, mlp_out(m, k), cur, n, next);
    cur = next;
  }
}

/* ---- Losses ---- */

void tml_nn_softmax(const float *logits, size_t k, float *out) {
  float mx = logits[0];
  for (size_t j = 1; j < k; j++)
    mx = logits[j] > mx ? logits[j] : mx;
  double s = 0;
  for (size_t j = 0; j < k; j++) {
    out[j] = expf(logits[j] - mx);
    s += (double)out[j];
  }
  float inv = (float)(1.0 / s);
  for (size_t j = 0; j < k; j++)
    out[j] *= inv;
}

double tml_nn_softmax_xent(const float *logits, size_t n, size_t k, size_t stride, const int32_t *y, float *dlogits,
                           double scale, size_t *counted) {
  double total = 0;
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    const float *z = logits + i * stride;
    float *dz = dlogits ? dlogits + i * stride : NULL;
    if (y[i] < 0 || (size_t)y[i] >= k) {
      if (dz)
        memset(dz, 0, k * sizeof *dz);
      continue;
    }
    /* log-sum-exp in double: loss = lse(z) - z_y */
    double mx = (double)z[0];
    for (size_t j = 1; j < k; j++)
      mx = (double)z[j] > mx ? (double)z[j] : mx;
    double s = 0;
    for (size_t j = 0; j < k; j++)
      s += exp((double)z[j] - mx);
    double lse = mx + log(s);
    total += lse - (double)z[y[i]];
    used++;
    if (dz)
      for (size_t j = 0; j < k; j++)
        dz[j] = (float)(scale * (exp((double)z[j] - lse) - (j == (size_t)y[i] ? 1.0 : 0.0)));
  }
  if (counted)
    *counted = used;
  return total;
}

double tml_nn_squared_error(const float *pred, size_t n, size_t stride, const float *y, float *dpred, double scale,
                            size_t *counted) {
  double total = 0;
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    double p = (double)pred[i * stride];
    if (!isfinite(y[i])) {
      if (dpred)
        dpred[i * stride] = 0.0f;
      continue;
    }
    double e = p - (double)y[i];
    total += e * e;
    used++;
    if (dpred)
      dpred[i * stride] = (float)(scale * 2.0 * e);
  }
  if (counted)
    *counted = used;
  return total;
}

/* ---- Dropout ---- */

void tml_nn_dropout_mask(struct tml_nn_rng *r, float *mask, size_t n, float rate) {
  if (rate <= 0.0f) {
    for (size_t i = 0; i < n; i++)
      mask[i] = 1.0f;
    return;
  }
  float keep = 1.0f / (1.0f - rate);
  for (size_t i = 0; i < n; i++)
    mask[i] = tml_nn_rng_uniform(r) < (double)rate ? 0.0f : keep;
}

void tml_nn_mul(float *x, const float *mask, size_t n) {
  for (size_t i = 0; i < n; i++)
    x[i] *= mask[i];
}

/* ---- Adam ---- */

int tml_nn_adam_init(struct tml_nn_adam *a, size_t n, double lr, struct tml_error *err) {
  memset(a, 0, sizeof *a);
  a->lr = lr;
  a->beta1 = 0.9;
  a->beta2 = 0.999;
  a->eps = 1e-8;
  a->n = n;
  a->m = calloc(n ? n : 1, sizeof *a->m);
  a->v = calloc(n ? n : 1, sizeof *a->v);
  if (!a->m || !a->v) {
    tml_nn_adam_release(a);
    return tml_error_set(err, TML_ENOMEM, "cannot allocate Adam state for %zu parameters", n);
  }
  return 0;
}

void tml_nn_adam_release(struct tml_nn_adam *a) {
  if (!a)
    return;
  free(a->m);
  free(a->v);
  memset(a, 0, sizeof *a);
}

void tml_nn_adam_step(struct tml_nn_adam *a, struct tml_nn_params *p) {
  a->step++;
  /* torch.optim.Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   * w -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps) */
  double bc1 = 1.0 - pow(a->beta1, (double)a->step), bc2 = 1.0 - pow(a->beta2, (double)a->step);
  float b1 = (float)a->beta1, b2 = (float)a->beta2, wd = (float)a->weight_decay;
  float step_size = (float)(a->lr / bc1), inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2)), eps = (float)a->eps;
  size_t n = TML_MIN(a->n, p->n);
  for (size_t i = 0; i < n; i++) {
    float g = p->g[i] + wd * p->w[i];
    float m = a->m[i] = b1 * a->m[i] + (1.0f - b1) * g;
    float v = a->v[i] = b2 * a->v[i] + (1.0f - b2) * g * g;
    p->w[i] -= step_size * m / (sqrtf(v) * inv_sqrt_bc2 + eps);
  }
}
