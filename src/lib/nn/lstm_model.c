/* The LSTM model of the `lstm` strategy (include/trademl/lstm.h, docs/lstm.md): windows of
 * standardised feature rows -> stacked LSTM layers -> one dense layer with the five heads' outputs.
 * Training uses the batched layers of the nn core (BLAS products); prediction and streaming use the
 * fixed-order loops below so that both give identical bits and need no BLAS state. */
#include "trademl/lstm.h"

#include "util/common.h"

#include <time.h>

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/hash.h"
#include "trademl/nn.h"
#include "nn/nn_math.h"

#define MAGIC "TMLNNMDL"
#define HEADER_SIZE 256u
#define MAX_FILE_BYTES ((size_t)1 << 31)
/* Initial forget-gate bias: sigma(3) = 0.95 keeps the cell state (and its gradient) across a window
 * from the first step; with 1 the synthetic 20-steps-back task stayed at chance for thousands of steps
 * (docs/lstm.md). */
#define FORGET_BIAS 3.0f

/* ---- parameters ---- */

void tml_lstm_params_default(struct tml_lstm_params *p) {
  p->hidden = 16;
  p->layers = 1;
  p->learning_rate = 0.002;
  p->batch_size = 64;
  p->epochs = 12;
  p->patience = 3;
  p->dropout = 0.1;
  p->clip = 1.0;
  p->sequence_length = 64;
  p->seed = 42;
  p->threads = 1;
}

int tml_lstm_params_validate(const struct tml_lstm_params *p, struct tml_error *err) {
#define RANGE_I(field, key, lo, hi)                                                                               \
  if (p->field < (lo) || p->field > (hi))                                                                        \
    return tml_error_set(err, TML_EINVAL, "%s is %d: it must be between %d and %d", key, p->field, lo, hi);
#define RANGE_D(field, key, lo, hi, open_lo)                                                                      \
  if (!isfinite(p->field) || ((open_lo) ? p->field <= (lo) : p->field < (lo)) || p->field > (hi))               \
    return tml_error_set(err, TML_EINVAL, "%s is %g: it must be %s %g and at most %g", key, p->field,             \
                         (open_lo) ? "above" : "at least", (double)(lo), (double)(hi));
  RANGE_I(hidden, "lstm.hidden_size", 1, 1024)
  RANGE_I(layers, "lstm.layers", 1, TML_LSTM_MAX_LAYERS)
  RANGE_D(learning_rate, "lstm.learning_rate", 0.0, 1.0, 1)
  RANGE_I(batch_size, "lstm.batch_size", 1, 4096)
  RANGE_I(epochs, "lstm.epochs", 1, 10000)
  RANGE_I(patience, "lstm.patience", 1, 1000)
  RANGE_D(dropout, "lstm.dropout", 0.0, 0.9, 0)
  RANGE_D(clip, "lstm.clip", 0.0, 1e6, 0)
  RANGE_I(sequence_length, "lstm.sequence_length", 1, 4096)
  RANGE_I(threads, "the LSTM thread count", 1, 1024)
#undef RANGE_I
#undef RANGE_D
  return 0;
}

int tml_lstm_params_from_config(const struct tml_config *cfg, int threads, struct tml_lstm_params *p,
                                struct tml_error *err) {
  tml_lstm_params_default(p);
  p->threads = threads < 1 ? 1 : threads;
  if (!cfg)
    return tml_lstm_params_validate(p, err);
  /* The key table bounds every value; the int casts below cannot truncate (ranges are small). */
  p->hidden = (int)tml_config_int(cfg, "lstm.hidden_size");
  p->layers = (int)tml_config_int(cfg, "lstm.layers");
  p->learning_rate = tml_config_double(cfg, "lstm.learning_rate");
  p->batch_size = (int)tml_config_int(cfg, "lstm.batch_size");
  p->epochs = (int)tml_config_int(cfg, "lstm.epochs");
  p->patience = (int)tml_config_int(cfg, "lstm.patience");
  p->dropout = tml_config_double(cfg, "lstm.dropout");
  p->clip = tml_config_double(cfg, "lstm.clip");
  p->sequence_length = (int)tml_config_int(cfg, "lstm.sequence_length");
  p->seed = (uint64_t)tml_config_int(cfg, "lstm.seed");
  return tml_lstm_params_validate(p, err);
}

static const size_t head_off[TML_HEAD_COUNT] = {0, 3, 7, 10, 11};
static const size_t head_w[TML_HEAD_COUNT] = {3, 4, 3, 1, 1};
#define NREG 2 /* stop_loss, position_size */
static bool head_is_class(int h) { return h < TML_HEAD_STOP_LOSS; }

size_t tml_lstm_head_offset(enum tml_head h) { return (unsigned)h < TML_HEAD_COUNT ? head_off[h] : 0; }
size_t tml_lstm_head_width(enum tml_head h) { return (unsigned)h < TML_HEAD_COUNT ? head_w[h] : 0; }

/* ---- the model ---- */

struct tml_lstm_model {
  size_t ncols, H, L, T;
  struct tml_lstm_params hp;
  struct tml_nn_params p;
  struct tml_nn_lstm layer[TML_LSTM_MAX_LAYERS];
  struct tml_nn_dense head;
  float *mean, *inv_std;         /* ncols: x' = (x - mean) * inv_std, non-finite -> 0 */
  float reg_mean[NREG], reg_std[NREG];
  float *zero_proj;              /* 4H: first-layer projection of a padding (all-zero) row */
  int best_epoch, epochs_run;
  bool stopped_early;
  double best_valid_loss, head_valid[TML_HEAD_COUNT], fit_seconds;
};

/* Lays out the layers' weights in m->p (m->p.n of them) without allocating: a file's header is
 * checked against this count before anything its dimensions ask for is allocated. */
static void model_declare(struct tml_lstm_model *m) {
  tml_nn_params_init(&m->p);
  for (size_t l = 0; l < m->L; l++)
    tml_nn_lstm_declare(&m->layer[l], &m->p, l ? m->H : m->ncols, m->H);
  tml_nn_dense_declare(&m->head, &m->p, m->H, TML_LSTM_NOUT, TML_NN_LINEAR);
}

/* Allocates a declared model's weights and scalers. */
static int model_alloc(struct tml_lstm_model *m, struct tml_error *err) {
  int rc = tml_nn_params_alloc(&m->p, err);
  if (rc)
    return rc;
  m->mean = calloc(m->ncols, sizeof(float));
  m->inv_std = calloc(m->ncols, sizeof(float));
  m->zero_proj = calloc(4 * m->H, sizeof(float));
  if (!m->mean || !m->inv_std || !m->zero_proj)
    return tml_error_set(err, TML_ENOMEM, "cannot allocate an LSTM model of %zu columns", m->ncols);
  return 0;
}

/* Declares the network of m (dims set) and allocates it. */
static int model_build(struct tml_lstm_model *m, struct tml_error *err) {
  model_declare(m);
  return model_alloc(m, err);
}

void tml_lstm_free(struct tml_lstm_model *m) {
  if (!m)
    return;
  tml_nn_params_release(&m->p);
  free(m->mean);
  free(m->inv_std);
  free(m->zero_proj);
  free(m);
}

static void standardize_row(const struct tml_lstm_model *m, const float *x, float *out) {
  for (size_t j = 0; j < m->ncols; j++) {
    float v = (x[j] - m->mean[j]) * m->inv_std[j];
    out[j] = isfinite(v) ? v : 0.0f;
  }
}

/* ---- fixed-order inference kernels (prediction and streaming share them) ---- */

/* z[j] += sum_k x[k] W[k*mcols + j], k ascending. */
static void matvec_acc(const float *x, size_t n, const float *W, size_t mcols, float *z) {
  for (size_t k = 0; k < n; k++) {
    float xk = x[k];
    const float *w = W + k * mcols;
    for (size_t j = 0; j < mcols; j++)
      z[j] += xk * w[j];
  }
}

/* First-layer projection of one standardised row: b + x Wx. */
static void project_first(const struct tml_lstm_model *m, const float *xs, float *z) {
  size_t G = 4 * m->H;
  memcpy(z, m->p.w + m->layer[0].b_off, G * sizeof *z);
  matvec_acc(xs, m->ncols, m->p.w + m->layer[0].wx_off, G, z);
}

/* Scratch for one window: z (4H), h, c (H), seq (T x H) for stacked layers. */
struct infer_ws {
  float *z, *h, *c, *seq, *xs;
};

static int infer_ws_init(const struct tml_lstm_model *m, struct infer_ws *w, struct tml_error *err) {
  w->z = malloc(4 * m->H * sizeof(float));
  w->h = malloc(m->H * sizeof(float));
  w->c = malloc(m->H * sizeof(float));
  w->seq = malloc(m->T * m->H * sizeof(float));
  w->xs = malloc(m->ncols * sizeof(float));
  if (!w->z || !w->h || !w->c || !w->seq || !w->xs)
    return tml_error_set(err, TML_ENOMEM, "cannot allocate LSTM prediction scratch");
  return 0;
}

static void infer_ws_release(struct infer_ws *w) {
  free(w->z);
  free(w->h);
  free(w->c);
  free(w->seq);
  free(w->xs);
}

/* One recurrent step: z holds the input projection; adds h Wh, updates h, c. */
static void cell_step(const struct tml_lstm_model *m, size_t l, float *z, float *h, float *c) {
  size_t H = m->H;
  matvec_acc(h, H, m->p.w + m->layer[l].wh_off, 4 * H, z);
  tml__nn_sigmoid_n(z, 2 * H);
  tml__nn_tanh_n(z + 2 * H, H);
  tml__nn_sigmoid_n(z + 3 * H, H);
  for (size_t j = 0; j < H; j++) {
    float cn = z[H + j] * c[j] + z[j] * z[2 * H + j];
    c[j] = cn;
    h[j] = z[3 * H + j] * tml__nn_tanh(cn);
  }
}

/* Runs a window whose first-layer projections are z1[0..T) (oldest first) and writes the heads'
 * outputs (probabilities / values in target units) into out[h]. */
static void infer_window(const struct tml_lstm_model *m, const float *const *z1, struct infer_ws *w,
                         float (*out)[TML_MAX_CLASSES]) {
  size_t H = m->H, G = 4 * H, T = m->T;
  for (size_t l = 0; l < m->L; l++) {
    memset(w->h, 0, H * sizeof(float));
    memset(w->c, 0, H * sizeof(float));
    for (size_t t = 0; t < T; t++) {
      if (l == 0) {
        memcpy(w->z, z1[t], G * sizeof(float));
      } else {
        memcpy(w->z, m->p.w + m->layer[l].b_off, G * sizeof(float));
        matvec_acc(w->seq + t * H, H, m->p.w + m->layer[l].wx_off, G, w->z);
      }
      cell_step(m, l, w->z, w->h, w->c);
      if (l + 1 < m->L)
        memcpy(w->seq + t * H, w->h, H * sizeof(float)); /* row t is read before being overwritten */
    }
  }
  float y[TML_LSTM_NOUT];
  memcpy(y, m->p.w + m->head.b_off, sizeof y);
  matvec_acc(w->h, H, m->p.w + m->head.w_off, TML_LSTM_NOUT, y);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (head_is_class(h)) {
      tml_nn_softmax(y + head_off[h], head_w[h], out[h]);
    } else {
      int k = h - TML_HEAD_STOP_LOSS;
      out[h][0] = y[head_off[h]] * m->reg_std[k] + m->reg_mean[k];
    }
  }
}

/* Derived state after the weights are final (fit or load): the projection of a padding row. */
static int model_finish(struct tml_lstm_model *m, struct tml_error *err) {
  float *zero = calloc(m->ncols, sizeof(float));
  if (!zero)
    return tml_error_set(err, TML_ENOMEM, "cannot allocate a row of %zu columns", m->ncols);
  project_first(m, zero, m->zero_proj);
  free(zero);
  return 0;
}

/* ---- symbol windows over a matrix ---- */

struct windows {
  size_t *by_sym;   /* rows grouped by symbol, ascending within a symbol */
  size_t *start;    /* nsym + 1 offsets into by_sym */
  size_t *pos;      /* pos[r]: index of row r within its symbol's group */
  size_t nsym;
};

static int windows_build(const uint16_t *sym, size_t nrows, struct windows *w, struct tml_error *err) {
  memset(w, 0, sizeof *w);
  size_t nsym = 1;
  if (sym)
    for (size_t r = 0; r < nrows; r++)
      nsym = TML_MAX(nsym, (size_t)sym[r] + 1);
  w->nsym = nsym;
  w->by_sym = malloc((nrows ? nrows : 1) * sizeof(size_t));
  w->pos = malloc((nrows ? nrows : 1) * sizeof(size_t));
  w->start = calloc(nsym + 1, sizeof(size_t));
  if (!w->by_sym || !w->pos || !w->start)
    return tml_error_set(err, TML_ENOMEM, "cannot index %zu rows by symbol", nrows);
  for (size_t r = 0; r < nrows; r++)
    w->start[(sym ? sym[r] : 0) + 1]++;
  for (size_t s = 0; s < nsym; s++)
    w->start[s + 1] += w->start[s];
  size_t *fill = calloc(nsym, sizeof(size_t));
  if (!fill)
    return tml_error_set(err, TML_ENOMEM, "cannot index %zu rows by symbol", nrows);
  for (size_t r = 0; r < nrows; r++) {
    size_t s = sym ? sym[r] : 0;
    w->pos[r] = fill[s];
    w->by_sym[w->start[s] + fill[s]++] = r;
  }
  free(fill);
  return 0;
}

static void windows_release(struct windows *w) {
  free(w->by_sym);
  free(w->start);
  free(w->pos);
}

/* Row at window step t (0 = oldest) of row r, or SIZE_MAX for padding. */
static size_t window_row(const struct windows *w, const uint16_t *sym, size_t T, size_t r, size_t t) {
  size_t k = w->pos[r], back = T - 1 - t;
  if (back > k)
    return SIZE_MAX;
  return w->by_sym[w->start[sym ? sym[r] : 0] + k - back];
}

/* ---- training ---- */

struct trainer {
  struct tml_lstm_model *m;
  size_t B, T, H, L, ncols;
  struct tml_nn_lstm_cache cache[TML_LSTM_MAX_LAYERS];
  float *Xb;                          /* T x B x ncols */
  float *lin[TML_LSTM_MAX_LAYERS];    /* input of layer l >= 1 after dropout (T x B x H) */
  float *mask[TML_LSTM_MAX_LAYERS];   /* dropout mask on layer l's output feeding l+1; [L-1]: last step B x H */
  float *hlast, *out, *dout, *dhlast, *dH, *dX;
  int32_t *ycls[3];
  float *yreg[NREG];
  struct tml_nn_rng rng;
  struct tml_nn_adam adam;
};

static void trainer_release(struct trainer *t) {
  for (size_t l = 0; l < TML_LSTM_MAX_LAYERS; l++) {
    tml_nn_lstm_cache_release(&t->cache[l]);
    free(t->lin[l]);
    free(t->mask[l]);
  }
  free(t->Xb);
  free(t->hlast);
  free(t->out);
  free(t->dout);
  free(t->dhlast);
  free(t->dH);
  free(t->dX);
  for (int k = 0; k < 3; k++)
    free(t->ycls[k]);
  for (int k = 0; k < NREG; k++)
    free(t->yreg[k]);
  tml_nn_adam_release(&t->adam);
}

static int trainer_init(struct trainer *t, struct tml_lstm_model *m, struct tml_error *err) {
  size_t B = t->B = (size_t)m->hp.batch_size, T = t->T = m->T, H = t->H = m->H;
  t->L = m->L;
  t->ncols = m->ncols;
  t->m = m;
  int rc = 0;
  for (size_t l = 0; l < m->L; l++) {
    if ((rc = tml_nn_lstm_cache_init(&t->cache[l], &m->layer[l], T, B, err)))
      return rc;
    t->mask[l] = malloc(T * B * H * sizeof(float));
    if (l > 0)
      t->lin[l] = malloc(T * B * H * sizeof(float));
    if (!t->mask[l] || (l > 0 && !t->lin[l]))
      goto nomem;
  }
  t->Xb = malloc(T * B * m->ncols * sizeof(float));
  t->hlast = malloc(B * H * sizeof(float));
  t->out = malloc(B * TML_LSTM_NOUT * sizeof(float));
  t->dout = malloc(B * TML_LSTM_NOUT * sizeof(float));
  t->dhlast = malloc(B * H * sizeof(float));
  t->dH = malloc(T * B * H * sizeof(float));
  t->dX = malloc(T * B * H * sizeof(float));
  if (!t->Xb || !t->hlast || !t->out || !t->dout || !t->dhlast || !t->dH || !t->dX)
    goto nomem;
  for (int k = 0; k < 3; k++)
    if (!(t->ycls[k] = malloc(B * sizeof(int32_t))))
      goto nomem;
  for (int k = 0; k < NREG; k++)
    if (!(t->yreg[k] = malloc(B * sizeof(float))))
      goto nomem;
  tml_nn_rng_seed(&t->rng, m->hp.seed ^ 0x5851f42d4c957f2dULL);
  return tml_nn_adam_init(&t->adam, m->p.n, m->hp.learning_rate, err);
nomem:
  return tml_error_set(err, TML_ENOMEM, "cannot allocate the LSTM training workspace (batch %zu, %zu steps)", B, T);
}

/* Fills Xb with the windows of the batch's rows (time-major) from the standardised matrix Xs. */
static void gather(struct trainer *t, const float *Xs, const struct windows *w, const uint16_t *sym,
                   const size_t *rows, size_t B) {
  size_t nc = t->ncols;
  for (size_t s = 0; s < t->T; s++) {
    for (size_t b = 0; b < B; b++) {
      size_t r = window_row(w, sym, t->T, rows[b], s);
      float *dst = t->Xb + (s * B + b) * nc;
      if (r == SIZE_MAX)
        memset(dst, 0, nc * sizeof *dst);
      else
        memcpy(dst, Xs + r * nc, nc * sizeof *dst);
    }
  }
}

/* Forward over a gathered batch; train = dropout on. Leaves outputs in t->out. */
static void net_forward(struct trainer *t, size_t B, bool train) {
  struct tml_lstm_model *m = t->m;
  size_t T = t->T, H = t->H;
  float rate = train ? (float)m->hp.dropout : 0.0f;
  const float *in = t->Xb;
  for (size_t l = 0; l < t->L; l++) {
    tml_nn_lstm_forward(&m->layer[l], &m->p, in, T, B, &t->cache[l]);
    const float *hs = tml_nn_lstm_output(&t->cache[l], B);
    if (l + 1 < t->L) {
      memcpy(t->lin[l + 1], hs, T * B * H * sizeof(float));
      if (rate > 0.0f) {
        tml_nn_dropout_mask(&t->rng, t->mask[l], T * B * H, rate);
        tml_nn_mul(t->lin[l + 1], t->mask[l], T * B * H);
      }
      in = t->lin[l + 1];
    } else {
      memcpy(t->hlast, hs + (T - 1) * B * H, B * H * sizeof(float));
      if (rate > 0.0f) {
        tml_nn_dropout_mask(&t->rng, t->mask[l], B * H, rate);
        tml_nn_mul(t->hlast, t->mask[l], B * H);
      }
    }
  }
  tml_nn_dense_forward(&m->head, &m->p, t->hlast, B, t->out);
}

/* Losses of the batch in t->out against the batch labels: sums[h] += per-head loss sum, counts[h] +=
 * rows counted. With grad: fills t->dout with the gradient of sum_h mean_h. */
static void net_loss(struct trainer *t, size_t B, double *sums, size_t *counts, bool grad) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    size_t n = 0;
    if (head_is_class(h)) {
      for (size_t b = 0; b < B; b++)
        n += t->ycls[h][b] >= 0;
    } else {
      for (size_t b = 0; b < B; b++)
        n += isfinite(t->yreg[h - TML_HEAD_STOP_LOSS][b]) ? 1u : 0u;
    }
    double scale = n ? 1.0 / (double)n : 0.0;
    float *d = grad ? t->dout + head_off[h] : NULL;
    size_t used = 0;
    double s = head_is_class(h)
                   ? tml_nn_softmax_xent(t->out + head_off[h], B, head_w[h], TML_LSTM_NOUT, t->ycls[h], d, scale, &used)
                   : tml_nn_squared_error(t->out + head_off[h], B, TML_LSTM_NOUT, t->yreg[h - TML_HEAD_STOP_LOSS], d,
                                          scale, &used);
    sums[h] += s;
    counts[h] += used;
  }
}

static void net_backward(struct trainer *t, size_t B) {
  struct tml_lstm_model *m = t->m;
  size_t T = t->T, H = t->H;
  bool drop = m->hp.dropout > 0.0;
  tml_nn_dense_backward(&m->head, &m->p, t->hlast, t->out, t->dout, B, t->dhlast);
  size_t l = t->L - 1;
  if (drop)
    tml_nn_mul(t->dhlast, t->mask[l], B * H);
  memset(t->dH, 0, (T - 1) * B * H * sizeof(float));
  memcpy(t->dH + (T - 1) * B * H, t->dhlast, B * H * sizeof(float));
  for (;;) {
    const float *in = l ? t->lin[l] : t->Xb;
    tml_nn_lstm_backward(&m->layer[l], &m->p, in, t->dH, T, B, &t->cache[l], l ? t->dX : NULL);
    if (l == 0)
      break;
    l--;
    if (drop)
      tml_nn_mul(t->dX, t->mask[l], T * B * H);
    memcpy(t->dH, t->dX, T * B * H * sizeof(float));
  }
}

/* Batch labels of fit-data entries idx[0..B) (indices into fd->rows). Regression targets standardised. */
static void batch_labels(struct trainer *t, const struct tml_lstm_fit_data *fd, const size_t *idx, size_t B) {
  for (size_t b = 0; b < B; b++) {
    for (int h = 0; h < 3; h++) {
      float v = fd->y[h][idx[b]];
      t->ycls[h][b] = isfinite(v) && v >= 0.0f && v < (float)head_w[h] ? (int32_t)v : -1;
    }
    for (int k = 0; k < NREG; k++) {
      float v = fd->y[TML_HEAD_STOP_LOSS + k][idx[b]];
      t->yreg[k][b] = isfinite(v) ? (v - t->m->reg_mean[k]) / t->m->reg_std[k] : NAN;
    }
  }
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Mean/std of column j over the fit rows (double accumulation); std 0 -> 1. */
static void fit_scaler(const struct tml_lstm_fit_data *fd, struct tml_lstm_model *m) {
  for (size_t j = 0; j < m->ncols; j++) {
    double s = 0, ss = 0;
    size_t n = 0;
    for (size_t i = 0; i < fd->nfit; i++) {
      double v = (double)fd->X[fd->rows[i] * fd->ncols + j];
      if (!isfinite(v))
        continue;
      s += v;
      n++;
    }
    double mean = n ? s / (double)n : 0.0;
    for (size_t i = 0; i < fd->nfit; i++) {
      double v = (double)fd->X[fd->rows[i] * fd->ncols + j];
      if (isfinite(v))
        ss += (v - mean) * (v - mean);
    }
    double sd = n > 1 ? sqrt(ss / (double)n) : 0.0;
    m->mean[j] = (float)mean;
    m->inv_std[j] = sd > 1e-12 ? (float)(1.0 / sd) : 1.0f;
  }
  for (int k = 0; k < NREG; k++) {
    const float *y = fd->y[TML_HEAD_STOP_LOSS + k];
    double s = 0, ss = 0;
    size_t n = 0;
    for (size_t i = 0; i < fd->nfit; i++)
      if (isfinite(y[i])) {
        s += (double)y[i];
        n++;
      }
    double mean = n ? s / (double)n : 0.0;
    for (size_t i = 0; i < fd->nfit; i++)
      if (isfinite(y[i]))
        ss += ((double)y[i] - mean) * ((double)y[i] - mean);
    double sd = n > 1 ? sqrt(ss / (double)n) : 0.0;
    m->reg_mean[k] = (float)mean;
    m->reg_std[k] = sd > 1e-12 ? (float)sd : 1.0f;
  }
}

/* Evaluates the stop rows (no dropout): summed heads' mean losses; head_loss[h] per head (class: mean
 * cross-entropy; regression: RMSE in target units). */
static double evaluate(struct trainer *t, const struct tml_lstm_fit_data *fd, const float *Xs,
                       const struct windows *w, size_t *idx, double *head_loss) {
  double sums[TML_HEAD_COUNT] = {0};
  size_t counts[TML_HEAD_COUNT] = {0};
  size_t rows[4096];
  for (size_t i = 0; i < fd->nstop; i += t->B) {
    size_t B = TML_MIN(t->B, fd->nstop - i);
    for (size_t b = 0; b < B; b++) {
      idx[b] = fd->nfit + i + b;
      rows[b] = fd->rows[idx[b]];
    }
    gather(t, Xs, w, fd->sym, rows, B);
    batch_labels(t, fd, idx, B);
    net_forward(t, B, false);
    net_loss(t, B, sums, counts, false);
  }
  double total = 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    double mean = counts[h] ? sums[h] / (double)counts[h] : 0.0;
    total += mean;
    if (!counts[h])
      head_loss[h] = (double)NAN;
    else
      head_loss[h] = head_is_class(h) ? mean : sqrt(mean) * (double)t->m->reg_std[h - TML_HEAD_STOP_LOSS];
  }
  return total;
}

int tml_lstm_fit(const struct tml_lstm_fit_data *fd, const struct tml_lstm_params *p, tml_lstm_progress_fn progress,
                 void *ud, struct tml_lstm_model **out, struct tml_error *err) {
  int rc = tml_lstm_params_validate(p, err);
  if (rc)
    return rc;
  *out = NULL;
  if (fd->nfit == 0 || fd->ncols == 0)
    return tml_error_set(err, TML_EDATA, "lstm: no rows to fit (%zu fit rows, %zu columns)", fd->nfit, fd->ncols);
  double t0 = now_seconds();
  struct tml_lstm_model *m = calloc(1, sizeof *m);
  struct windows w;
  struct trainer tr;
  memset(&w, 0, sizeof w);
  memset(&tr, 0, sizeof tr);
  float *Xs = NULL, *best_w = NULL;
  size_t *order = NULL;
  if (!m) {
    rc = tml_error_set(err, TML_ENOMEM, "cannot allocate an LSTM model");
    goto out;
  }
  m->hp = *p;
  m->ncols = fd->ncols;
  m->H = (size_t)p->hidden;
  m->L = (size_t)p->layers;
  m->T = (size_t)p->sequence_length;
  if ((rc = model_build(m, err)) || (rc = windows_build(fd->sym, fd->nrows, &w, err)))
    goto out;
  /* A window longer than any symbol's rows would be mostly padding: refuse it. */
  size_t longest = 0;
  for (size_t s = 0; s < w.nsym; s++)
    longest = TML_MAX(longest, w.start[s + 1] - w.start[s]);
  if (m->T > longest) {
    rc = tml_error_set(err, TML_EINVAL,
                       "lstm.sequence_length %zu is longer than the data: the longest symbol has %zu rows; lower "
                       "lstm.sequence_length or train on more days",
                       m->T, longest);
    goto out;
  }
  for (int h = 0; h < 3; h++) {
    size_t n = 0;
    for (size_t i = 0; i < fd->nfit; i++)
      n += isfinite(fd->y[h][i]) ? 1u : 0u;
    if (n == 0) {
      rc = tml_error_set(err, TML_EDATA, "lstm: head %s has no labelled fit row", tml_head_name((enum tml_head)h));
      goto out;
    }
  }
  fit_scaler(fd, m);
  Xs = malloc(fd->nrows * fd->ncols * sizeof(float));
  order = malloc(fd->nfit * sizeof(size_t));
  best_w = malloc(m->p.n * sizeof(float));
  if (!Xs || !order || !best_w) {
    rc = tml_error_set(err, TML_ENOMEM, "cannot allocate the standardised matrix (%zu x %zu)", fd->nrows, fd->ncols);
    goto out;
  }
  for (size_t r = 0; r < fd->nrows; r++)
    standardize_row(m, fd->X + r * fd->ncols, Xs + r * fd->ncols);
  tml_nn_set_threads(p->threads);
  struct tml_nn_rng init_rng;
  tml_nn_rng_seed(&init_rng, p->seed);
  for (size_t l = 0; l < m->L; l++)
    tml_nn_lstm_init_weights(&m->layer[l], &m->p, &init_rng, FORGET_BIAS);
  tml_nn_dense_init_weights(&m->head, &m->p, &init_rng);
  if ((rc = trainer_init(&tr, m, err)))
    goto out;
  size_t *idx = malloc(tr.B * sizeof(size_t)), *rows = malloc(tr.B * sizeof(size_t));
  if (!idx || !rows) {
    free(idx);
    free(rows);
    rc = tml_error_set(err, TML_ENOMEM, "cannot allocate a batch of %zu rows", tr.B);
    goto out;
  }
  double best = INFINITY;
  int bad_epochs = 0;
  m->best_epoch = -1;
  m->best_valid_loss = NAN;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    m->head_valid[h] = NAN;
  for (int epoch = 0; epoch < p->epochs; epoch++) {
    for (size_t i = 0; i < fd->nfit; i++)
      order[i] = i;
    tml_nn_rng_shuffle(&tr.rng, order, fd->nfit);
    double train_sum = 0;
    size_t nbatches = 0;
    for (size_t i = 0; i < fd->nfit; i += tr.B) {
      size_t B = TML_MIN(tr.B, fd->nfit - i);
      for (size_t b = 0; b < B; b++) {
        idx[b] = order[i + b];
        rows[b] = fd->rows[idx[b]];
      }
      gather(&tr, Xs, &w, fd->sym, rows, B);
      batch_labels(&tr, fd, idx, B);
      tml_nn_params_zero_grad(&m->p);
      net_forward(&tr, B, true);
      double sums[TML_HEAD_COUNT] = {0};
      size_t counts[TML_HEAD_COUNT] = {0};
      net_loss(&tr, B, sums, counts, true);
      double loss = 0;
      for (int h = 0; h < TML_HEAD_COUNT; h++)
        loss += counts[h] ? sums[h] / (double)counts[h] : 0.0;
      net_backward(&tr, B);
      double gnorm = tml_nn_clip_grad_norm(&m->p, p->clip);
      if (!isfinite(loss) || !isfinite(gnorm)) {
        if (!isfinite(loss))
          rc = tml_error_set(err, TML_EDATA,
                             "lstm training diverged at epoch %d, batch %zu: the loss is %g; nothing was kept: lower "
                             "lstm.learning_rate (%g) or set lstm.clip (%g)",
                             epoch + 1, nbatches + 1, loss, p->learning_rate, p->clip);
        else
          rc = tml_error_set(err, TML_EDATA,
                             "lstm training diverged at epoch %d, batch %zu: the gradient is not finite (it grew "
                             "without bound backwards through the %d steps of a window); nothing was kept: shorten "
                             "lstm.sequence_length or lower lstm.learning_rate (%g)",
                             epoch + 1, nbatches + 1, p->sequence_length, p->learning_rate);
        free(idx);
        free(rows);
        goto out;
      }
      tml_nn_adam_step(&tr.adam, &m->p);
      train_sum += loss;
      nbatches++;
    }
    m->epochs_run = epoch + 1;
    double train_loss = train_sum / (double)nbatches, vloss = NAN;
    if (fd->nstop) {
      double hl[TML_HEAD_COUNT];
      vloss = evaluate(&tr, fd, Xs, &w, idx, hl);
      if (!isfinite(vloss)) {
        rc = tml_error_set(err, TML_EDATA,
                           "lstm training diverged at epoch %d: the validation loss is NaN/Inf; nothing was kept: "
                           "lower lstm.learning_rate (%g) or set lstm.clip",
                           epoch + 1, p->learning_rate);
        free(idx);
        free(rows);
        goto out;
      }
      if (vloss < best) {
        best = vloss;
        m->best_epoch = epoch;
        m->best_valid_loss = vloss;
        memcpy(m->head_valid, hl, sizeof hl);
        memcpy(best_w, m->p.w, m->p.n * sizeof(float));
        bad_epochs = 0;
      } else {
        bad_epochs++;
      }
    } else {
      m->best_epoch = epoch;
    }
    if (progress && progress(ud, epoch, p->epochs, train_loss, vloss, m->best_epoch)) {
      rc = tml_error_set(err, TML_EINTR, "lstm training cancelled at epoch %d", epoch + 1);
      free(idx);
      free(rows);
      goto out;
    }
    if (fd->nstop && bad_epochs >= p->patience) {
      m->stopped_early = epoch + 1 < p->epochs;
      break;
    }
  }
  free(idx);
  free(rows);
  if (fd->nstop)
    memcpy(m->p.w, best_w, m->p.n * sizeof(float));
  if (!tml_nn_params_finite(&m->p)) {
    rc = tml_error_set(err, TML_EDATA, "lstm training produced non-finite weights; nothing was kept: lower "
                                       "lstm.learning_rate");
    goto out;
  }
  if ((rc = model_finish(m, err)))
    goto out;
  m->fit_seconds = now_seconds() - t0;
out:
  trainer_release(&tr);
  windows_release(&w);
  free(Xs);
  free(order);
  free(best_w);
  if (rc) {
    tml_lstm_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* ---- prediction ---- */

int tml_lstm_predict(const struct tml_lstm_model *m, const float *X, size_t nrows, size_t ncols, const uint16_t *sym,
                     struct tml_range rows, float *const *out, struct tml_error *err) {
  if (ncols != m->ncols)
    return tml_error_set(err, TML_EMODEL, "the LSTM model has %zu columns, the rows have %zu", m->ncols, ncols);
  if (rows.begin > rows.end || rows.end > nrows)
    return tml_error_set(err, TML_EINVAL, "rows [%zu, %zu) are outside the %zu rows of the matrix", rows.begin,
                         rows.end, nrows);
  if (rows.begin == rows.end)
    return 0;
  size_t G = 4 * m->H, T = m->T;
  struct windows w;
  struct infer_ws ws;
  memset(&ws, 0, sizeof ws);
  float *Z = NULL;
  const float **zp = NULL;
  uint8_t *done = NULL;
  /* Rows before rows.end only: windows never read later rows. */
  int rc = windows_build(sym, rows.end, &w, err);
  if (rc)
    goto out;
  /* The oldest row any window reads. */
  size_t lo = rows.begin;
  for (size_t r = rows.begin; r < rows.end; r++) {
    size_t first = window_row(&w, sym, T, r, 0);
    if (first == SIZE_MAX)
      first = w.by_sym[w.start[sym ? sym[r] : 0]];
    lo = TML_MIN(lo, first);
  }
  size_t span = rows.end - lo;
  Z = malloc(span * G * sizeof(float));
  done = calloc(span, 1);
  zp = malloc(T * sizeof *zp);
  if (!Z || !done || !zp || (rc = infer_ws_init(m, &ws, err))) {
    rc = rc ? rc : tml_error_set(err, TML_ENOMEM, "cannot allocate LSTM prediction buffers for %zu rows", span);
    goto out;
  }
  float res[TML_HEAD_COUNT][TML_MAX_CLASSES];
  for (size_t r = rows.begin; r < rows.end; r++) {
    for (size_t t = 0; t < T; t++) {
      size_t q = window_row(&w, sym, T, r, t);
      if (q == SIZE_MAX) {
        zp[t] = m->zero_proj;
        continue;
      }
      float *z = Z + (q - lo) * G;
      if (!done[q - lo]) {
        standardize_row(m, X + q * ncols, ws.xs);
        project_first(m, ws.xs, z);
        done[q - lo] = 1;
      }
      zp[t] = z;
    }
    infer_window(m, zp, &ws, res);
    for (int h = 0; h < TML_HEAD_COUNT; h++)
      if (out[h])
        memcpy(out[h] + (r - rows.begin) * head_w[h], res[h], head_w[h] * sizeof(float));
  }
out:
  windows_release(&w);
  infer_ws_release(&ws);
  free(Z);
  free(done);
  free(zp);
  return rc;
}

struct tml_lstm_stream {
  const struct tml_lstm_model *m;
  float *ring;        /* T x 4H projections, slot (seen % T) is the newest */
  const float **zp;   /* T window pointers */
  size_t seen;
  struct infer_ws ws;
};

int tml_lstm_stream_open(const struct tml_lstm_model *m, struct tml_lstm_stream **out, struct tml_error *err) {
  struct tml_lstm_stream *s = calloc(1, sizeof *s);
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "cannot allocate an LSTM stream");
  s->m = m;
  s->ring = malloc(m->T * 4 * m->H * sizeof(float));
  s->zp = malloc(m->T * sizeof *s->zp);
  int rc = infer_ws_init(m, &s->ws, err);
  if (rc || !s->ring || !s->zp) {
    tml_lstm_stream_close(s);
    return rc ? rc : tml_error_set(err, TML_ENOMEM, "cannot allocate an LSTM stream");
  }
  *out = s;
  return 0;
}

void tml_lstm_stream_step(struct tml_lstm_stream *s, const float *row, float (*out)[TML_MAX_CLASSES]) {
  const struct tml_lstm_model *m = s->m;
  size_t T = m->T, G = 4 * m->H;
  standardize_row(m, row, s->ws.xs);
  project_first(m, s->ws.xs, s->ring + (s->seen % T) * G);
  s->seen++;
  if (!out)
    return;
  for (size_t t = 0; t < T; t++) {
    size_t back = T - 1 - t; /* rows before the newest */
    s->zp[t] = back >= s->seen ? m->zero_proj : s->ring + ((s->seen - 1 - back) % T) * G;
  }
  infer_window(m, s->zp, &s->ws, out);
}

void tml_lstm_stream_close(struct tml_lstm_stream *s) {
  if (!s)
    return;
  free(s->ring);
  free(s->zp);
  infer_ws_release(&s->ws);
  free(s);
}

/* ---- the model file ----
 * Header (HEADER_SIZE bytes, little-endian):
 *   0  magic "TMLNNMDL"            8  u32 format version      12 char[16] strategy name (NUL padded)
 *   28 char[24] feature checksum   52 u32 ncols, hidden, layers, sequence_length, nout
 *   72 u32 batch_size, epochs, patience, threads, best_epoch, epochs_run, stopped_early
 *   100 f64 learning_rate, dropout, clip, best_valid_loss, head_valid[5], 0 (wall time is not stored: the
 *       same fit must give the same bytes)
 *   180 u64 seed, nparams, payload bytes, payload FNV-1a 64      212 zero padding
 *   248 u64 FNV-1a 64 of bytes 0..247
 * Payload: f32 mean[ncols], inv_std[ncols], reg_mean[2], reg_std[2], weights[nparams]. */

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static void put_f64(uint8_t *p, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  put_u64(p, v);
}
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)p[i] << (8 * i);
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}
static double get_f64(const uint8_t *p) {
  uint64_t v = get_u64(p);
  double d;
  memcpy(&d, &v, 8);
  return d;
}
static void put_floats(uint8_t *p, const float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t v;
    memcpy(&v, &x[i], 4);
    put_u32(p + 4 * i, v);
  }
}
static void get_floats(const uint8_t *p, float *x, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint32_t v = get_u32(p + 4 * i);
    memcpy(&x[i], &v, 4);
  }
}

static size_t payload_floats(size_t ncols, size_t nparams) { return 2 * ncols + 2 * NREG + nparams; }

int tml_lstm_save(const struct tml_lstm_model *m, const char *path, const char *strategy,
                  const char *feature_checksum, struct tml_error *err) {
  if (!strategy || strlen(strategy) >= 16 || (feature_checksum && strlen(feature_checksum) >= 24))
    return tml_error_set(err, TML_EINVAL, "cannot save '%s': strategy name or feature checksum too long", path);
  size_t nfl = payload_floats(m->ncols, m->p.n), total = HEADER_SIZE + 4 * nfl;
  uint8_t *buf = calloc(total, 1);
  if (!buf)
    return tml_error_set(err, TML_ENOMEM, "cannot allocate %zu bytes for '%s'", total, path);
  uint8_t *pl = buf + HEADER_SIZE;
  put_floats(pl, m->mean, m->ncols);
  put_floats(pl + 4 * m->ncols, m->inv_std, m->ncols);
  put_floats(pl + 8 * m->ncols, m->reg_mean, NREG);
  put_floats(pl + 8 * m->ncols + 4 * NREG, m->reg_std, NREG);
  put_floats(pl + 8 * m->ncols + 8 * NREG, m->p.w, m->p.n);
  memcpy(buf, MAGIC, 8);
  put_u32(buf + 8, TML_LSTM_FORMAT_VERSION);
  memcpy(buf + 12, strategy, strlen(strategy));
  if (feature_checksum)
    memcpy(buf + 28, feature_checksum, strlen(feature_checksum));
  uint32_t dims[] = {(uint32_t)m->ncols, (uint32_t)m->H, (uint32_t)m->L, (uint32_t)m->T, TML_LSTM_NOUT,
                     (uint32_t)m->hp.batch_size, (uint32_t)m->hp.epochs, (uint32_t)m->hp.patience,
                     (uint32_t)m->hp.threads, (uint32_t)(m->best_epoch + 1), (uint32_t)m->epochs_run,
                     m->stopped_early ? 1u : 0u};
  for (size_t i = 0; i < TML_ARRAY_LEN(dims); i++)
    put_u32(buf + 52 + 4 * i, dims[i]);
  double reals[] = {m->hp.learning_rate, m->hp.dropout, m->hp.clip, m->best_valid_loss, m->head_valid[0],
                    m->head_valid[1], m->head_valid[2], m->head_valid[3], m->head_valid[4], 0.0};
  for (size_t i = 0; i < TML_ARRAY_LEN(reals); i++)
    put_f64(buf + 100 + 8 * i, reals[i]);
  put_u64(buf + 180, m->hp.seed);
  put_u64(buf + 188, (uint64_t)m->p.n);
  put_u64(buf + 196, (uint64_t)(4 * nfl));
  put_u64(buf + 204, tml_fnv1a64(TML_FNV64_INIT, pl, 4 * nfl));
  put_u64(buf + 248, tml_fnv1a64(TML_FNV64_INIT, buf, 248));
  int rc = tml_write_file_atomic(path, buf, total, err);
  free(buf);
  return rc;
}

int tml_lstm_load(const char *path, const char *expect_strategy, const char *expect_checksum,
                  struct tml_lstm_model **out, struct tml_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f)
    return tml_error_set(err, errno == ENOENT ? TML_ENOENT : TML_EMODEL, "cannot open LSTM model file '%s': %s", path,
                         strerror(errno));
  uint8_t *buf = NULL;
  struct tml_lstm_model *m = NULL;
  int rc = 0;
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0)
    size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
    rc = tml_error_set(err, TML_EMODEL, "cannot read LSTM model file '%s': %s", path, strerror(errno));
    goto out;
  }
  if ((size_t)size < HEADER_SIZE) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' is truncated: %ld bytes, shorter than its %u-byte header",
                       path, size, HEADER_SIZE);
    goto out;
  }
  if ((size_t)size > MAX_FILE_BYTES) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' is too large (%ld bytes)", path, size);
    goto out;
  }
  buf = malloc((size_t)size);
  if (!buf) {
    rc = tml_error_set(err, TML_ENOMEM, "cannot allocate %ld bytes to read '%s'", size, path);
    goto out;
  }
  if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
    rc = tml_error_set(err, TML_EMODEL, "cannot read LSTM model file '%s'", path);
    goto out;
  }
  if (memcmp(buf, MAGIC, 8) != 0) {
    rc = tml_error_set(err, TML_EMODEL, "'%s' is not a trademl neural-network model file (bad magic)", path);
    goto out;
  }
  if (get_u64(buf + 248) != tml_fnv1a64(TML_FNV64_INIT, buf, 248)) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' is corrupt: header checksum mismatch", path);
    goto out;
  }
  uint32_t version = get_u32(buf + 8);
  if (version != TML_LSTM_FORMAT_VERSION) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' has format version %u; this trademl reads version %d",
                       path, version, TML_LSTM_FORMAT_VERSION);
    goto out;
  }
  char strategy[17] = {0}, checksum[25] = {0};
  memcpy(strategy, buf + 12, 16);
  memcpy(checksum, buf + 28, 24);
  if (expect_strategy && strcmp(strategy, expect_strategy) != 0) {
    rc = tml_error_set(err, TML_EMODEL, "'%s' is a model of strategy '%s', not '%s'", path, strategy, expect_strategy);
    goto out;
  }
  if (expect_checksum && strcmp(checksum, expect_checksum) != 0) {
    rc = tml_error_set(err, TML_EMODEL,
                       "'%s' was trained on feature set %s, but the features now have checksum %s: retrain the model",
                       path, checksum, expect_checksum);
    goto out;
  }
  uint32_t ncols = get_u32(buf + 52), H = get_u32(buf + 56), L = get_u32(buf + 60), T = get_u32(buf + 64),
           nout = get_u32(buf + 68);
  if (ncols < 1 || ncols > 100000 || H < 1 || H > 1024 || L < 1 || L > TML_LSTM_MAX_LAYERS || T < 1 || T > 4096 ||
      nout != TML_LSTM_NOUT) {
    rc = tml_error_set(err, TML_EMODEL,
                       "LSTM model file '%s' has impossible dimensions (columns %u, hidden %u, layers %u, "
                       "sequence %u, outputs %u)",
                       path, ncols, H, L, T, nout);
    goto out;
  }
  m = calloc(1, sizeof *m);
  if (!m) {
    rc = tml_error_set(err, TML_ENOMEM, "cannot allocate an LSTM model");
    goto out;
  }
  m->ncols = ncols;
  m->H = H;
  m->L = L;
  m->T = T;
  /* The weight count, the payload length and the file size agree with the dimensions before the
   * dimensions' allocations are made (a header that passes its checksum can still ask for
   * gigabytes: 100000 columns x 1024 hidden units). */
  model_declare(m);
  uint64_t nparams = get_u64(buf + 188), plen = get_u64(buf + 196);
  size_t nfl = payload_floats(m->ncols, m->p.n);
  if (nparams != (uint64_t)m->p.n || plen != 4 * (uint64_t)nfl) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' is corrupt: %" PRIu64 " weights where its dimensions "
                       "need %zu", path, nparams, m->p.n);
    goto out;
  }
  if ((uint64_t)size != HEADER_SIZE + plen) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' is %s: %ld bytes, the header says %" PRIu64, path,
                       (uint64_t)size < HEADER_SIZE + plen ? "truncated" : "longer than written", size,
                       HEADER_SIZE + plen);
    goto out;
  }
  if ((rc = model_alloc(m, err)))
    goto out;
  const uint8_t *pl = buf + HEADER_SIZE;
  if (get_u64(buf + 204) != tml_fnv1a64(TML_FNV64_INIT, pl, (size_t)plen)) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' is corrupt: weights checksum mismatch", path);
    goto out;
  }
  get_floats(pl, m->mean, m->ncols);
  get_floats(pl + 4 * m->ncols, m->inv_std, m->ncols);
  get_floats(pl + 8 * m->ncols, m->reg_mean, NREG);
  get_floats(pl + 8 * m->ncols + 4 * NREG, m->reg_std, NREG);
  get_floats(pl + 8 * m->ncols + 8 * NREG, m->p.w, m->p.n);
  m->hp.hidden = (int)H;
  m->hp.layers = (int)L;
  m->hp.sequence_length = (int)T;
  m->hp.batch_size = (int)get_u32(buf + 72);
  m->hp.epochs = (int)get_u32(buf + 76);
  m->hp.patience = (int)get_u32(buf + 80);
  m->hp.threads = (int)get_u32(buf + 84);
  m->best_epoch = (int)get_u32(buf + 88) - 1;
  m->epochs_run = (int)get_u32(buf + 92);
  m->stopped_early = get_u32(buf + 96) != 0;
  m->hp.learning_rate = get_f64(buf + 100);
  m->hp.dropout = get_f64(buf + 108);
  m->hp.clip = get_f64(buf + 116);
  m->best_valid_loss = get_f64(buf + 124);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    m->head_valid[h] = get_f64(buf + 132 + 8 * (size_t)h);
  m->fit_seconds = NAN; /* not stored */
  m->hp.seed = get_u64(buf + 180);
  if (!tml_nn_params_finite(&m->p)) {
    rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' holds non-finite weights", path);
    goto out;
  }
  for (size_t j = 0; j < m->ncols; j++)
    if (!isfinite(m->mean[j]) || !isfinite(m->inv_std[j])) {
      rc = tml_error_set(err, TML_EMODEL, "LSTM model file '%s' holds a non-finite scaler for column %zu", path, j);
      goto out;
    }
  rc = model_finish(m, err);
out:
  fclose(f);
  free(buf);
  if (rc) {
    tml_lstm_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

void tml_lstm_info(const struct tml_lstm_model *m, struct tml_lstm_info *out) {
  memset(out, 0, sizeof *out);
  out->ncols = m->ncols;
  out->nparams = m->p.n;
  out->params = m->hp;
  out->best_epoch = m->best_epoch;
  out->epochs_run = m->epochs_run;
  out->stopped_early = m->stopped_early;
  out->best_valid_loss = m->best_valid_loss;
  memcpy(out->head_valid_loss, m->head_valid, sizeof m->head_valid);
  out->fit_seconds = m->fit_seconds;
}

int tml_lstm_describe(const struct tml_lstm_model *m, struct tml_buf *out) {
  int rc = tml_buf_printf(out,
                          "{\"network\":\"lstm\",\"columns\":%zu,\"parameters\":%zu,\"hidden_size\":%d,\"layers\":%d,"
                          "\"sequence_length\":%d,\"batch_size\":%d,\"epochs\":%d,\"patience\":%d,\"learning_rate\":",
                          m->ncols, m->p.n, m->hp.hidden, m->hp.layers, m->hp.sequence_length, m->hp.batch_size,
                          m->hp.epochs, m->hp.patience);
  rc = rc ? rc : tml_buf_json_num(out, m->hp.learning_rate);
  rc = rc ? rc : tml_buf_puts(out, ",\"dropout\":");
  rc = rc ? rc : tml_buf_json_num(out, m->hp.dropout);
  rc = rc ? rc : tml_buf_puts(out, ",\"clip\":");
  rc = rc ? rc : tml_buf_json_num(out, m->hp.clip);
  rc = rc ? rc : tml_buf_printf(out, ",\"seed\":%" PRIu64 ",\"threads\":%d,\"epochs_run\":%d,\"best_epoch\":%d,"
                                     "\"stopped_early\":%s,\"best_valid_loss\":",
                                m->hp.seed, m->hp.threads, m->epochs_run, m->best_epoch,
                                m->stopped_early ? "true" : "false");
  rc = rc ? rc : tml_buf_json_num(out, m->best_valid_loss);
  rc = rc ? rc : tml_buf_puts(out, ",\"fit_seconds\":");
  rc = rc ? rc : tml_buf_json_num(out, m->fit_seconds);
  rc = rc ? rc : tml_buf_puts(out, "}");
  return rc;
}
