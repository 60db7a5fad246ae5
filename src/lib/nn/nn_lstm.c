/* The LSTM layer of the neural-network core (include/trademl/nn.h): forward over a time-major batch
 * of sequences and backpropagation through time. The input projection x_t Wx of every step and the
 * weight gradients are each one large product over all T x B rows; only h_{t-1} Wh (forward) and
 * dz_t Wh^T (backward) run per step. */
#include "trademl/nn.h"

#include "util/common.h"

#include <cblas.h>

#include "trademl/error.h"
#include "nn/nn_math.h"

void tml_nn_lstm_declare(struct tml_nn_lstm *l, struct tml_nn_params *p, size_t in, size_t hidden) {
  l->in = in;
  l->hidden = hidden;
  l->wx_off = tml_nn_params_reserve(p, in * 4 * hidden);
  l->wh_off = tml_nn_params_reserve(p, hidden * 4 * hidden);
  l->b_off = tml_nn_params_reserve(p, 4 * hidden);
}

void tml_nn_lstm_init_weights(const struct tml_nn_lstm *l, struct tml_nn_params *p, struct tml_nn_rng *rng,
                              float forget_bias) {
  size_t H = l->hidden, G = 4 * H;
  double a = 1.0 / sqrt((double)H);
  float *w = p->w + l->wx_off;
  for (size_t i = 0; i < l->in * G; i++)
    w[i] = (float)((2.0 * tml_nn_rng_uniform(rng) - 1.0) * a);
  w = p->w + l->wh_off;
  for (size_t i = 0; i < H * G; i++)
    w[i] = (float)((2.0 * tml_nn_rng_uniform(rng) - 1.0) * a);
  float *b = p->w + l->b_off;
  for (size_t j = 0; j < G; j++)
    b[j] = (j >= H && j < 2 * H) ? forget_bias : 0.0f;
}

int tml_nn_lstm_cache_init(struct tml_nn_lstm_cache *c, const struct tml_nn_lstm *l, size_t max_steps,
                           size_t max_batch, struct tml_error *err) {
  memset(c, 0, sizeof *c);
  size_t H = l->hidden, T = max_steps, B = max_batch;
  c->max_steps = T;
  c->max_batch = B;
  c->hidden = H;
  c->gates = malloc(T * B * 4 * H * sizeof(float));
  c->dgates = malloc(T * B * 4 * H * sizeof(float));
  c->c = calloc((T + 1) * B * H, sizeof(float));
  c->h = calloc((T + 1) * B * H, sizeof(float));
  c->tanh_c = malloc(T * B * H * sizeof(float));
  c->dh = malloc(B * H * sizeof(float));
  c->dc = malloc(B * H * sizeof(float));
  if (!c->gates || !c->dgates || !c->c || !c->h || !c->tanh_c || !c->dh || !c->dc) {
    tml_nn_lstm_cache_release(c);
    return tml_error_set(err, TML_ENOMEM, "cannot allocate the LSTM workspace (%zu steps x %zu rows x %zu units)", T,
                         B, H);
  }
  return 0;
}

void tml_nn_lstm_cache_release(struct tml_nn_lstm_cache *c) {
  if (!c)
    return;
  free(c->gates);
  free(c->dgates);
  free(c->c);
  free(c->h);
  free(c->tanh_c);
  free(c->dh);
  free(c->dc);
  memset(c, 0, sizeof *c);
}

const float *tml_nn_lstm_output(const struct tml_nn_lstm_cache *c, size_t B) { return c->h + B * c->hidden; }

void tml_nn_lstm_project(const struct tml_nn_lstm *l, const struct tml_nn_params *p, const float *X, size_t n,
                         float *Z) {
  size_t G = 4 * l->hidden;
  const float *b = p->w + l->b_off;
  for (size_t r = 0; r < n; r++)
    memcpy(Z + r * G, b, G * sizeof *Z);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)G, (int)l->in, 1.0f, X, (int)l->in,
              p->w + l->wx_off, (int)G, 1.0f, Z, (int)G);
}

/* Gate activations of one row in place (z: 4H pre-activations -> i, f, g, o) and the cell update. */
static inline void cell_forward(size_t H, float *z, const float *c_prev, float *c_new, float *tanh_c, float *h_new) {
  tml__nn_sigmoid_n(z, 2 * H);     /* i, f */
  tml__nn_tanh_n(z + 2 * H, H);    /* g */
  tml__nn_sigmoid_n(z + 3 * H, H); /* o */
  const float *i = z, *f = z + H, *g = z + 2 * H, *o = z + 3 * H;
  for (size_t j = 0; j < H; j++)
    c_new[j] = f[j] * c_prev[j] + i[j] * g[j];
  for (size_t j = 0; j < H; j++)
    tanh_c[j] = tml__nn_tanh(c_new[j]);
  for (size_t j = 0; j < H; j++)
    h_new[j] = o[j] * tanh_c[j];
}

void tml_nn_lstm_forward(const struct tml_nn_lstm *l, const struct tml_nn_params *p, const float *X, size_t T,
                         size_t B, struct tml_nn_lstm_cache *c) {
  size_t H = l->hidden, G = 4 * H;
  const float *Wh = p->w + l->wh_off;
  tml_nn_lstm_project(l, p, X, T * B, c->gates);
  memset(c->h, 0, B * H * sizeof(float));
  memset(c->c, 0, B * H * sizeof(float));
  for (size_t t = 0; t < T; t++) {
    float *z = c->gates + t * B * G;
    const float *h_prev = c->h + t * B * H;
    if (t > 0) /* h_0 = 0 adds nothing */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)G, (int)H, 1.0f, h_prev, (int)H, Wh,
                  (int)G, 1.0f, z, (int)G);
    for (size_t b = 0; b < B; b++)
      cell_forward(H, z + b * G, c->c + (t * B + b) * H, c->c + ((t + 1) * B + b) * H, c->tanh_c + (t * B + b) * H,
                   c->h + ((t + 1) * B + b) * H);
  }
}

void tml_nn_lstm_backward(const struct tml_nn_lstm *l, struct tml_nn_params *p, const float *X, const float *dH,
                          size_t T, size_t B, struct tml_nn_lstm_cache *c, float *dX) {
  size_t H = l->hidden, G = 4 * H;
  const float *Wh = p->w + l->wh_off;
  memset(c->dh, 0, B * H * sizeof(float));
  memset(c->dc, 0, B * H * sizeof(float));
  for (size_t t = T; t-- > 0;) {
    const float *gates = c->gates + t * B * G;
    float *dz = c->dgates + t * B * G;
    for (size_t b = 0; b < B; b++) {
      const float *gt = gates + b * G;
      const float *tc = c->tanh_c + (t * B + b) * H;
      const float *c_prev = c->c + (t * B + b) * H;
      const float *dht_out = dH + (t * B + b) * H;
      float *dh = c->dh + b * H, *dc = c->dc + b * H, *dzb = dz + b * G;
      for (size_t j = 0; j < H; j++) {
        float i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
        float dht = dht_out[j] + dh[j];
        float d_o = dht * tc[j];
        float dct = dc[j] + dht * o * (1.0f - tc[j] * tc[j]);
        dzb[j] = dct * g * i * (1.0f - i);
        dzb[H + j] = dct * c_prev[j] * f * (1.0f - f);
        dzb[2 * H + j] = dct * i * (1.0f - g * g);
        dzb[3 * H + j] = d_o * o * (1.0f - o);
        dc[j] = dct * f;
      }
    }
    if (t > 0) /* dh_{t-1} = dz_t Wh^T */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)H, (int)G, 1.0f, dz, (int)G, Wh, (int)G, 0.0f,
                  c->dh, (int)H);
  }
  int rows = (int)(T * B);
  /* dWh += [h_0 .. h_{T-1}]^T dZ ; dWx += X^T dZ ; db += column sums of dZ */
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)H, (int)G, rows, 1.0f, c->h, (int)H, c->dgates, (int)G,
              1.0f, p->g + l->wh_off, (int)G);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l->in, (int)G, rows, 1.0f, X, (int)l->in, c->dgates,
              (int)G, 1.0f, p->g + l->wx_off, (int)G);
  float *db = p->g + l->b_off;
  for (size_t r = 0; r < T * B; r++) {
    const float *row = c->dgates + r * G;
    for (size_t j = 0; j < G; j++)
      db[j] += row[j];
  }
  if (dX)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)l->in, (int)G, 1.0f, c->dgates, (int)G,
                p->w + l->wx_off, (int)G, 0.0f, dX, (int)l->in);
}

void tml_nn_lstm_step(const struct tml_nn_lstm *l, const struct tml_nn_params *p, float *z, float *h, float *c) {
  size_t H = l->hidden, G = 4 * H;
  /* z += Wh^T h  (Wh is H x 4H row-major) */
  cblas_sgemv(CblasRowMajor, CblasTrans, (int)H, (int)G, 1.0f, p->w + l->wh_off, (int)G, h, 1, 1.0f, z, 1);
  tml__nn_sigmoid_n(z, 2 * H);
  tml__nn_tanh_n(z + 2 * H, H);
  tml__nn_sigmoid_n(z + 3 * H, H);
  for (size_t j = 0; j < H; j++) {
    float cn = z[H + j] * c[j] + z[j] * z[2 * H + j];
    c[j] = cn;
    h[j] = z[3 * H + j] * tml__nn_tanh(cn);
  }
}
