/* trademl's small neural-network core (layer "learn"): dense and LSTM layers with hand-written
 * backward passes, softmax/cross-entropy and squared-error losses, Adam, gradient-norm clipping,
 * dropout and a seeded PRNG. Matrix products go through CBLAS (Debian's OpenBLAS); everything else is
 * plain loops over flat float arrays. Used by the `lstm` strategy (include/trademl/lstm.h) and by the
 * reinforcement-learning agent (dense MLPs).
 *
 * Shape of the API
 *  - Parameters of a network live in one flat store (struct tml_nn_params): values `w` and gradients
 *    `g`, both `n` floats. Layers are declared first (each reserves a slice and remembers its offset),
 *    then the store is allocated once, then the layers initialise their slices from a seeded PRNG.
 *    Adam and clipping work on the whole store; saving a network is writing `w`.
 *  - Batches are row-major: X is n x in, Y is n x out. LSTM sequences are time-major: X is T x B x in
 *    (step t's batch is the contiguous block X + t*B*in).
 *  - Backward functions ACCUMULATE into p->g (call tml_nn_params_zero_grad before a batch) and write
 *    the input gradient (dX) when asked for it.
 *  - Nothing allocates in forward/backward: workspaces (struct tml_nn_lstm_cache, struct tml_nn_mlp)
 *    are sized once for a maximum batch.
 *
 * Determinism: the PRNG is our own (xoshiro256** seeded through splitmix64), so initial weights,
 * dropout masks and shuffles depend only on the seed. OpenBLAS's sgemm splits work between its
 * threads by a fixed rule, so with the same thread count (tml_nn_set_threads) the same inputs give
 * the same bytes; with a different thread count the summation order inside products can change and
 * results may differ in the last bits (and a trained model by more, as training amplifies them).
 *
 * Thread-safety: a network's params/workspaces belong to one thread at a time; the PRNG is per
 * instance. tml_nn_set_threads changes a process-wide OpenBLAS setting. */
#ifndef TML_NN_H
#define TML_NN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_error;

/* ---- PRNG: xoshiro256** (Blackman & Vigna 2018), seeded by splitmix64 (Steele et al. 2014) ---- */
struct tml_nn_rng {
  uint64_t s[4];
};
void tml_nn_rng_seed(struct tml_nn_rng *r, uint64_t seed);
uint64_t tml_nn_rng_next(struct tml_nn_rng *r);
double tml_nn_rng_uniform(struct tml_nn_rng *r);  /* [0, 1), 53 random bits */
double tml_nn_rng_normal(struct tml_nn_rng *r);   /* standard normal (Box-Muller, one value per call) */
size_t tml_nn_rng_below(struct tml_nn_rng *r, size_t n); /* uniform in [0, n), n >= 1 (Lemire's method) */
void tml_nn_rng_shuffle(struct tml_nn_rng *r, size_t *v, size_t n); /* Fisher-Yates */

/* Sets OpenBLAS's thread count (>= 1) for every following product in this process; with 1, parks
 * the pool (tml_nn_blas_park), which one thread never uses. */
void tml_nn_set_threads(int nthreads);
/* The thread count OpenBLAS reports. */
int tml_nn_threads(void);
/* Stops OpenBLAS's idle worker threads. The pthreads build of OpenBLAS starts them when the library
 * is loaded, and each spins (sched_yield) for ~2^28 cycles before it sleeps: ~0.08 CPU-s at every
 * process start, taken from the cores training runs on, also by commands that never call BLAS.
 * OpenBLAS starts them again at the next product it splits (or the next tml_nn_set_threads > 1), so
 * calling this early in a process costs nothing later. Nothing to stop with a serial build. */
void tml_nn_blas_park(void);

/* ---- The parameter store ---- */
struct tml_nn_params {
  size_t n;   /* floats reserved (declare phase) / allocated */
  float *w;   /* values, NULL until tml_nn_params_alloc */
  float *g;   /* gradients, same size */
};
/* Zeroes the struct (declare phase). */
void tml_nn_params_init(struct tml_nn_params *p);
/* Reserves `count` floats and returns their offset. Only before tml_nn_params_alloc. */
size_t tml_nn_params_reserve(struct tml_nn_params *p, size_t count);
/* Allocates w and g (zeroed) for everything reserved. 0 or TML_ENOMEM. */
int tml_nn_params_alloc(struct tml_nn_params *p, struct tml_error *err);
void tml_nn_params_release(struct tml_nn_params *p); /* accepts NULL */
void tml_nn_params_zero_grad(struct tml_nn_params *p);
/* L2 norm of the gradients (computed in double). */
double tml_nn_params_grad_norm(const struct tml_nn_params *p);
/* Scales the gradients so their L2 norm is at most max_norm (PyTorch clip_grad_norm_); returns the
 * norm before clipping (callers test it for NaN/Inf: a diverged step). max_norm <= 0: no clipping. */
double tml_nn_clip_grad_norm(struct tml_nn_params *p, double max_norm);
/* True when every value is finite. */
bool tml_nn_params_finite(const struct tml_nn_params *p);

/* ---- Dense layer: Y = act(X W + b), W is in x out row-major ---- */
enum tml_nn_act {
  TML_NN_LINEAR = 0,
  TML_NN_RELU = 1,
  TML_NN_TANH = 2,
};
struct tml_nn_dense {
  size_t in, out;
  size_t w_off, b_off;   /* offsets into the parameter store */
  enum tml_nn_act act;
};
void tml_nn_dense_declare(struct tml_nn_dense *d, struct tml_nn_params *p, size_t in, size_t out,
                          enum tml_nn_act act);
/* Weights uniform in +-sqrt(6 / (in + out)) (Glorot) for linear/tanh, +-sqrt(6 / in) (He) for ReLU;
 * biases zero. */
void tml_nn_dense_init_weights(const struct tml_nn_dense *d, struct tml_nn_params *p, struct tml_nn_rng *rng);
/* X: n x in, Y: n x out (written). */
void tml_nn_dense_forward(const struct tml_nn_dense *d, const struct tml_nn_params *p, const float *X, size_t n,
                          float *Y);
/* X and Y as in the forward pass; dY (n x out) is the loss gradient w.r.t. Y and is overwritten with
 * the gradient w.r.t. the pre-activation. Accumulates dW, db into p->g; writes dX (n x in) unless NULL. */
void tml_nn_dense_backward(const struct tml_nn_dense *d, struct tml_nn_params *p, const float *X, const float *Y,
                           float *dY, size_t n, float *dX);

/* ---- MLP: a stack of dense layers with its own activation workspace ---- */
#define TML_NN_MLP_MAX_LAYERS 8
struct tml_nn_mlp {
  size_t nlayers;
  struct tml_nn_dense layer[TML_NN_MLP_MAX_LAYERS];
  size_t max_batch;
  float *act;      /* outputs of every layer, max_batch x out per layer, back to back */
  float *grad[2];  /* two ping-pong gradient buffers, max_batch x widest layer */
};
/* Declares layers sizes[0] -> sizes[1] -> ... -> sizes[nsizes-1] (2 <= nsizes <= MAX_LAYERS + 1):
 * hidden layers use hidden_act, the last out_act. Then allocates workspaces for max_batch rows.
 * Call before tml_nn_params_alloc; release with tml_nn_mlp_release. 0, TML_EINVAL or TML_ENOMEM. */
int tml_nn_mlp_init(struct tml_nn_mlp *m, struct tml_nn_params *p, const size_t *sizes, size_t nsizes,
                    enum tml_nn_act hidden_act, enum tml_nn_act out_act, size_t max_batch, struct tml_error *err);
void tml_nn_mlp_release(struct tml_nn_mlp *m); /* accepts NULL */
void tml_nn_mlp_init_weights(const struct tml_nn_mlp *m, struct tml_nn_params *p, struct tml_nn_rng *rng);
/* X: n x sizes[0], n <= max_batch. Returns the output (n x sizes[last]), owned by m, valid until the
 * next forward. */
const float *tml_nn_mlp_forward(struct tml_nn_mlp *m, const struct tml_nn_params *p, const float *X, size_t n);
/* After tml_nn_mlp_forward on the same X: dOut is the loss gradient w.r.t. the output (n x out,
 * read only). Accumulates into p->g; writes dX (n x sizes[0]) unless NULL. */
void tml_nn_mlp_backward(struct tml_nn_mlp *m, struct tml_nn_params *p, const float *X, const float *dOut,
                         size_t n, float *dX);

/* ---- LSTM layer (Hochreiter & Schmidhuber 1997, with forget gate; PyTorch's gate order i, f, g, o):
 *   z_t = x_t Wx + h_{t-1} Wh + b          (Wx: in x 4H, Wh: H x 4H, b: 4H)
 *   i = sigm(z_i), f = sigm(z_f), g = tanh(z_g), o = sigm(z_o)
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t),   h_0 = c_0 = 0 ---- */
struct tml_nn_lstm {
  size_t in, hidden;
  size_t wx_off, wh_off, b_off;
};
void tml_nn_lstm_declare(struct tml_nn_lstm *l, struct tml_nn_params *p, size_t in, size_t hidden);
/* Weights uniform in +-1/sqrt(H) (PyTorch's default); biases zero except the forget gate's,
 * forget_bias (1 in Jozefowicz et al. 2015; larger values let early gradients reach further back in
 * time: the lstm strategy uses 3, see docs/lstm.md). */
void tml_nn_lstm_init_weights(const struct tml_nn_lstm *l, struct tml_nn_params *p, struct tml_nn_rng *rng,
                              float forget_bias);

/* What the forward pass keeps for the backward pass, sized for at most T steps of B rows. */
struct tml_nn_lstm_cache {
  size_t max_steps, max_batch, hidden;
  float *gates;   /* T x B x 4H: activated i, f, g, o */
  float *c;       /* (T+1) x B x H: c_0 .. c_T */
  float *h;       /* (T+1) x B x H: h_0 .. h_T; the layer's output is h + B*H (T x B x H) */
  float *tanh_c;  /* T x B x H */
  float *dgates;  /* T x B x 4H (backward) */
  float *dh, *dc; /* B x H each (backward) */
};
int tml_nn_lstm_cache_init(struct tml_nn_lstm_cache *c, const struct tml_nn_lstm *l, size_t max_steps,
                           size_t max_batch, struct tml_error *err);
void tml_nn_lstm_cache_release(struct tml_nn_lstm_cache *c); /* accepts NULL */
/* Output h_1..h_T of the last forward pass: T x B x H (B = the forward's batch). */
const float *tml_nn_lstm_output(const struct tml_nn_lstm_cache *c, size_t B);
/* X: T x B x in (time-major), T <= max_steps, B <= max_batch. Starts from zero state. */
void tml_nn_lstm_forward(const struct tml_nn_lstm *l, const struct tml_nn_params *p, const float *X, size_t T,
                         size_t B, struct tml_nn_lstm_cache *c);
/* Backward through time after tml_nn_lstm_forward on the same X. dH (T x B x H) is the loss
 * gradient w.r.t. every output h_t (zeros where a step's output is unused), read only. Accumulates
 * dWx, dWh, db into p->g; writes dX (T x B x in) unless NULL. */
void tml_nn_lstm_backward(const struct tml_nn_lstm *l, struct tml_nn_params *p, const float *X, const float *dH,
                          size_t T, size_t B, struct tml_nn_lstm_cache *c, float *dX);
/* One step for one row, for streaming prediction: z (4H floats of scratch) must hold x Wx + b (see
 * tml_nn_lstm_project); updates h and c (H floats each) in place. */
void tml_nn_lstm_step(const struct tml_nn_lstm *l, const struct tml_nn_params *p, float *z, float *h, float *c);
/* z = x Wx + b for n rows (X: n x in, Z: n x 4H). */
void tml_nn_lstm_project(const struct tml_nn_lstm *l, const struct tml_nn_params *p, const float *X, size_t n,
                         float *Z);

/* ---- Losses. Each returns the SUM of the per-row losses (in double) over the rows it counts and
 * writes scale x d(sum)/d(input) into the gradient array when it is not NULL (rows it skips get
 * zero gradient). Callers pass scale = 1/rows for a mean. ---- */
/* Softmax of k logits into out (may alias logits); numerically stable (max subtracted). */
void tml_nn_softmax(const float *logits, size_t k, float *out);
/* Cross-entropy of softmax(logits) against class y[i] for n rows: row i's k logits start at
 * logits + i*stride. Rows with y[i] < 0 (or >= k) are skipped. *counted (may be NULL) gets the
 * number of rows used. Gradient: scale x (softmax - onehot). */
double tml_nn_softmax_xent(const float *logits, size_t n, size_t k, size_t stride, const int32_t *y, float *dlogits,
                           double scale, size_t *counted);
/* Squared error (pred - y)^2 of n predictions at pred + i*stride; rows with non-finite y are
 * skipped. Gradient: scale x 2 (pred - y). */
double tml_nn_squared_error(const float *pred, size_t n, size_t stride, const float *y, float *dpred, double scale,
                            size_t *counted);

/* ---- Dropout (inverted): mask[i] = 0 with probability rate, else 1/(1-rate); apply x *= mask
 * forward and dx *= mask backward. rate in [0, 1). ---- */
void tml_nn_dropout_mask(struct tml_nn_rng *r, float *mask, size_t n, float rate);
void tml_nn_mul(float *x, const float *mask, size_t n);

/* ---- Adam (Kingma & Ba 2015, with bias correction, as torch.optim.Adam) ---- */
struct tml_nn_adam {
  double lr, beta1, beta2, eps;
  double weight_decay; /* L2 added to the gradient (torch.optim.Adam's weight_decay), 0 = none */
  long step;           /* steps taken */
  size_t n;
  float *m, *v;        /* first and second moments */
};
/* Defaults beta1 0.9, beta2 0.999, eps 1e-8, weight_decay 0. 0 or TML_ENOMEM. */
int tml_nn_adam_init(struct tml_nn_adam *a, size_t n, double lr, struct tml_error *err);
void tml_nn_adam_release(struct tml_nn_adam *a); /* accepts NULL */
/* One update of p->w from p->g. */
void tml_nn_adam_step(struct tml_nn_adam *a, struct tml_nn_params *p);

#endif
