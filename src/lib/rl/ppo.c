/* The PPO agent of strategy `rl` (docs/rl.md): actor and critic MLPs on the shared nn core, rollouts
 * from parallel environments over the fit rows, GAE, the clipped surrogate with an entropy bonus and a
 * value loss, minibatch epochs, gradient clipping and Adam; the checkpoint is chosen by the greedy
 * policy's net return on the validation rows. Formulas are written next to the code that computes them. */
#include "trademl/rl.h"

#include "util/common.h"

#include <time.h>

#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/fsutil.h"
#include "trademl/hash.h"
#include "trademl/nn.h"

#include "rl/rl_internal.h"

struct tml_rl_agent {
  struct tml_rl_env_opts eo;
  struct tml_rl_scaler sc;
  size_t nfeat, obs_dim, nact, hidden, layers, max_batch;
  enum tml_rl_network network;
  size_t lstm_hidden;      /* LSTM units (lstm network) */
  size_t window;           /* observations a decision reads: 1 (mlp) or rl.window (lstm) */
  struct tml_nn_params p;  /* [LSTM,] actor, critic */
  struct tml_nn_mlp actor, critic;
  struct tml_nn_lstm lstm; /* lstm network: shared by the actor and the critic */
  struct tml_nn_lstm_cache cache;
  float *xt;               /* window x max_batch x obs_dim: a batch of windows, time-major */
  float *dH;               /* window x max_batch x lstm_hidden: gradient w.r.t. the LSTM outputs */
  float *dA, *dC;          /* max_batch x lstm_hidden: the actor's and the critic's input gradients */
  float *win;              /* window x obs_dim: the greedy policy's episode window, oldest first */
};

void tml_rl_ppo_params_default(struct tml_rl_ppo_params *p) {
  memset(p, 0, sizeof(*p));
  p->hidden = 64;
  p->layers = 2;
  p->n_envs = 8;
  p->rollout_steps = 256;
  p->episode_candles = 512;
  p->epochs = 4;
  p->minibatch = 256;
  p->lr = 3e-4;
  p->gamma = 0.99;
  p->gae_lambda = 0.95;
  p->clip = 0.2;
  p->entropy_coef = 0.01;
  p->value_coef = 0.5;
  p->max_grad_norm = 0.5;
  p->reward_scale = 100;
  p->total_steps = 300000;
  p->time_budget_s = 0;
  p->eval_every = 2;
  p->seed = 42;
  p->network = TML_RL_NET_MLP;
  p->lstm_hidden = 32;
  p->window = 8;
}

const char *tml_rl_network_name(enum tml_rl_network n) {
  return n == TML_RL_NET_LSTM ? "lstm" : n == TML_RL_NET_MLP ? "mlp" : NULL;
}

int tml_rl_network_parse(const char *s, const char *what, enum tml_rl_network *out, struct tml_error *err) {
  if (s && strcmp(s, "mlp") == 0) {
    *out = TML_RL_NET_MLP;
    return 0;
  }
  if (s && strcmp(s, "lstm") == 0) {
    *out = TML_RL_NET_LSTM;
    return 0;
  }
  return tml_error_set(err, TML_EINVAL,
                       "%s: unknown network '%s'; use mlp (the observation of the candle) or lstm (an LSTM layer "
                       "over the last rl.window observations)",
                       what ? what : "rl.network", s ? s : "(null)");
}

static int range_d(double v, double lo, double hi, const char *key, struct tml_error *err) {
  if (isfinite(v) && v >= lo && v <= hi)
    return 0;
  return tml_error_set(err, TML_EINVAL, "%s = %g is out of range: use a value between %g and %g (docs/rl.md)", key,
                       v, lo, hi);
}

static int range_z(uint64_t v, uint64_t lo, uint64_t hi, const char *key, struct tml_error *err) {
  if (v >= lo && v <= hi)
    return 0;
  return tml_error_set(err, TML_EINVAL,
                       "%s = %" PRIu64 " is out of range: use a value between %" PRIu64 " and %" PRIu64 " (docs/rl.md)",
                       key, v, lo, hi);
}

int tml_rl_ppo_params_check(const struct tml_rl_ppo_params *p, struct tml_error *err) {
  int rc = range_z(p->hidden, 4, 1024, "rl.hidden", err);
  if (!rc)
    rc = range_z(p->layers, 1, TML_NN_MLP_MAX_LAYERS - 1, "rl.layers", err);
  if (!rc)
    rc = range_z(p->n_envs, 1, 256, "rl.n_envs", err);
  if (!rc)
    rc = range_z(p->rollout_steps, 8, 100000, "rl.rollout_steps", err);
  if (!rc)
    rc = range_z(p->episode_candles, 8, 10000000, "rl.episode_candles", err);
  if (!rc)
    rc = range_z((uint64_t)(p->epochs > 0 ? p->epochs : 0), 1, 100, "rl.epochs", err);
  if (!rc)
    rc = range_z(p->minibatch, 8, 65536, "rl.minibatch", err);
  if (!rc)
    rc = range_d(p->lr, 1e-7, 1, "rl.learning_rate", err);
  if (!rc)
    rc = range_d(p->gamma, 0, 1, "rl.gamma", err);
  if (!rc)
    rc = range_d(p->gae_lambda, 0, 1, "rl.gae_lambda", err);
  if (!rc)
    rc = range_d(p->clip, 0.01, 1, "rl.clip", err);
  if (!rc)
    rc = range_d(p->entropy_coef, 0, 1, "rl.entropy_coef", err);
  if (!rc)
    rc = range_d(p->value_coef, 0, 10, "rl.value_coef", err);
  if (!rc)
    rc = range_d(p->max_grad_norm, 0, 100, "rl.max_grad_norm", err);
  if (!rc)
    rc = range_d(p->reward_scale, 1e-3, 1e6, "rl.reward_scale", err);
  if (!rc)
    rc = range_z(p->total_steps, 1, UINT64_C(10000000000), "rl.total_steps", err);
  if (!rc)
    rc = range_d(p->time_budget_s, 0, 1e7, "rl.time_budget", err);
  if (!rc)
    rc = range_z((uint64_t)(p->eval_every > 0 ? p->eval_every : 0), 1, 100000, "rl.eval_every", err);
  if (!rc && p->network != TML_RL_NET_MLP && p->network != TML_RL_NET_LSTM)
    rc = tml_error_set(err, TML_EINVAL, "rl.network = %d is not mlp or lstm", (int)p->network);
  if (!rc)
    rc = range_z(p->lstm_hidden, 2, 256, "rl.lstm_hidden", err);
  if (!rc)
    rc = range_z(p->window, 1, 256, "rl.window", err);
  if (!rc && p->minibatch > p->n_envs * p->rollout_steps)
    rc = tml_error_set(err, TML_EINVAL,
                       "rl.minibatch = %zu is larger than a rollout (rl.n_envs x rl.rollout_steps = %zu): lower it",
                       p->minibatch, p->n_envs * p->rollout_steps);
  return rc;
}

/* ---- the agent's networks ---- */

/* The agent's shape: its costs and action space (eo) and architecture (pp) over nfeat features. */
static void agent_setup(struct tml_rl_agent *a, size_t nfeat, const struct tml_rl_env_opts *eo,
                        const struct tml_rl_ppo_params *pp) {
  a->eo = *eo;
  a->nfeat = nfeat;
  a->obs_dim = nfeat + TML_RL_STATE_DIM;
  a->nact = (size_t)tml_rl_action_count(eo->actions);
  a->hidden = pp->hidden;
  a->layers = pp->layers;
  a->network = pp->network;
  a->lstm_hidden = pp->lstm_hidden;
  a->window = pp->window;
}

/* expect_params: the weight count a file holds (0: none, training); a network of another count is
 * TML_EMODEL before anything of its size is allocated. */
static int agent_build(struct tml_rl_agent *a, size_t max_batch, uint64_t seed, size_t expect_params,
                       struct tml_error *err) {
  size_t sizes[TML_NN_MLP_MAX_LAYERS + 1];
  size_t ns = 0;
  bool lstm = a->network == TML_RL_NET_LSTM;
  if (!lstm) {
    a->window = 1;
    a->lstm_hidden = 0;
  }
  tml_nn_params_init(&a->p);
  if (lstm)
    tml_nn_lstm_declare(&a->lstm, &a->p, a->obs_dim, a->lstm_hidden);
  sizes[ns++] = lstm ? a->lstm_hidden : a->obs_dim;
  for (size_t l = 0; l < a->layers; l++)
    sizes[ns++] = a->hidden;
  sizes[ns++] = a->nact;
  a->max_batch = max_batch;
  int rc = tml_nn_mlp_init(&a->actor, &a->p, sizes, ns, TML_NN_TANH, TML_NN_LINEAR, max_batch, err);
  if (rc)
    return rc;
  sizes[ns - 1] = 1;
  rc = tml_nn_mlp_init(&a->critic, &a->p, sizes, ns, TML_NN_TANH, TML_NN_LINEAR, max_batch, err);
  if (rc)
    return rc;
  if (expect_params && a->p.n != expect_params)
    return tml_error_set(err, TML_EMODEL, "the architecture has %zu weights, the file %zu", a->p.n, expect_params);
  rc = tml_nn_params_alloc(&a->p, err);
  if (rc)
    return rc;
  a->win = calloc(a->window * a->obs_dim, sizeof(float));
  if (!a->win)
    return tml_error_set(err, TML_ENOMEM, "out of memory for the rl agent");
  if (lstm) {
    rc = tml_nn_lstm_cache_init(&a->cache, &a->lstm, a->window, max_batch, err);
    if (rc)
      return rc;
    a->xt = malloc(a->window * max_batch * a->obs_dim * sizeof(float));
    a->dH = malloc(a->window * max_batch * a->lstm_hidden * sizeof(float));
    a->dA = malloc(max_batch * a->lstm_hidden * sizeof(float));
    a->dC = malloc(max_batch * a->lstm_hidden * sizeof(float));
    if (!a->xt || !a->dH || !a->dA || !a->dC)
      return tml_error_set(err, TML_ENOMEM, "out of memory for the rl agent's LSTM");
  }
  struct tml_nn_rng rng;
  tml_nn_rng_seed(&rng, seed);
  if (lstm) /* forget bias 1 (Jozefowicz et al. 2015): the window is short, see docs/rl.md */
    tml_nn_lstm_init_weights(&a->lstm, &a->p, &rng, 1.0f);
  tml_nn_mlp_init_weights(&a->actor, &a->p, &rng);
  tml_nn_mlp_init_weights(&a->critic, &a->p, &rng);
  /* A near-uniform first policy (small output layer, as in the PPO implementations' 0.01 gain). */
  const struct tml_nn_dense *out = &a->actor.layer[a->actor.nlayers - 1];
  for (size_t i = 0; i < out->in * out->out; i++)
    a->p.w[out->w_off + i] *= 0.01f;
  return 0;
}

/* The input of the actor and critic heads for B windows W (window x obs_dim each, oldest first, one
 * after the other): the last observation itself (mlp), or the LSTM's last hidden state over the
 * window from a zero state (lstm; valid until the next LSTM forward). B <= max_batch. */
static const float *heads_input(struct tml_rl_agent *a, const float *W, size_t B) {
  if (a->network != TML_RL_NET_LSTM)
    return W;
  size_t L = a->window, D = a->obs_dim;
  for (size_t t = 0; t < L; t++)
    for (size_t b = 0; b < B; b++)
      memcpy(a->xt + (t * B + b) * D, W + (b * L + t) * D, D * sizeof(float));
  tml_nn_lstm_forward(&a->lstm, &a->p, a->xt, L, B, &a->cache);
  return tml_nn_lstm_output(&a->cache, B) + (L - 1) * B * a->lstm_hidden;
}

/* The newest observation of window b of W. */
static const float *last_obs(const struct tml_rl_agent *a, const float *W, size_t b) {
  return W + (b * a->window + a->window - 1) * a->obs_dim;
}

/* Slides a window one observation on: drops the oldest, returns where the newest goes. */
static float *window_push(const struct tml_rl_agent *a, float *w) {
  size_t D = a->obs_dim;
  if (a->window > 1)
    memmove(w, w + D, (a->window - 1) * D * sizeof(float));
  return w + (a->window - 1) * D;
}

void tml_rl_agent_free(struct tml_rl_agent *a) {
  if (!a)
    return;
  tml_nn_mlp_release(&a->actor);
  tml_nn_mlp_release(&a->critic);
  tml_nn_params_release(&a->p);
  tml_nn_lstm_cache_release(&a->cache);
  free(a->xt);
  free(a->dH);
  free(a->dA);
  free(a->dC);
  free(a->win);
  free(a);
}

int tml_rl_agent_action_count(const struct tml_rl_agent *a) { return (int)a->nact; }
enum tml_rl_action_space tml_rl_agent_action_space(const struct tml_rl_agent *a) { return a->eo.actions; }
const struct tml_rl_env_opts *tml_rl_agent_env_opts(const struct tml_rl_agent *a) { return &a->eo; }
size_t tml_rl_agent_nfeat(const struct tml_rl_agent *a) { return a->nfeat; }
void tml_rl_agent_arch(const struct tml_rl_agent *a, size_t *hidden, size_t *layers) {
  *hidden = a->hidden;
  *layers = a->layers;
}
enum tml_rl_network tml_rl_agent_network(const struct tml_rl_agent *a) { return a->network; }
size_t tml_rl_agent_window(const struct tml_rl_agent *a) { return a->window; }
size_t tml_rl_agent_lstm_hidden(const struct tml_rl_agent *a) { return a->network == TML_RL_NET_LSTM ? a->lstm_hidden : 0; }
size_t tml_rl_agent_obs_dim(const struct tml_rl_agent *a) { return a->obs_dim; }

int tml_rl_agent_env_create(const struct tml_rl_agent *a, const struct tml_rl_market *m, size_t begin, size_t end,
                            struct tml_rl_env **out, struct tml_error *err) {
  if (m->nfeat != a->nfeat)
    return tml_error_set(err, TML_EMODEL, "rl agent: trained on %zu feature columns, the market has %zu", a->nfeat,
                         m->nfeat);
  return tml_rl_env_create(m, begin, end, &a->sc, &a->eo, out, err);
}

static int argmax(const float *v, size_t n) {
  size_t best = 0;
  for (size_t k = 1; k < n; k++)
    if (v[k] > v[best])
      best = k;
  return (int)best;
}

/* Invalid-action masking (Huang & Ontanon 2020): with five actions, the moves that do not apply to the
 * position in the observation (its long/short flags) get probability 0, so the policy never spends
 * probability on no-ops and "exit_short while flat" cannot be its answer. The masked logits receive no
 * gradient (p = 0 and never chosen). Copies n logits into out, masked, then softmax in place. */
static void masked_softmax(const struct tml_rl_agent *a, const float *obs, const float *logits, float *out) {
  memcpy(out, logits, a->nact * sizeof(float));
  if (a->eo.actions == TML_RL_ACTIONS_FIVE) {
    bool is_long = obs[a->nfeat] > 0.5f, is_short = obs[a->nfeat + 1] > 0.5f;
    const float off = -1e30f;
    if (is_long || is_short) {
      out[TML_RL_ENTER_LONG] = off;
      out[TML_RL_ENTER_SHORT] = off;
    }
    if (!is_long)
      out[TML_RL_EXIT_LONG] = off;
    if (!is_short)
      out[TML_RL_EXIT_SHORT] = off;
  }
  tml_nn_softmax(out, a->nact, out);
}

void tml_rl_agent_decide(struct tml_rl_agent *a, const float *win, float *probs, float *value, int *action) {
  const float *in = heads_input(a, win, 1);
  const float *logits = tml_nn_mlp_forward(&a->actor, &a->p, in, 1);
  float p[8];
  masked_softmax(a, last_obs(a, win, 0), logits, p);
  if (probs)
    memcpy(probs, p, a->nact * sizeof(float));
  if (action)
    *action = argmax(p, a->nact);
  if (value)
    *value = tml_nn_mlp_forward(&a->critic, &a->p, in, 1)[0];
}

int tml_rl_agent_policy(void *agent, const float *obs, size_t row, int position, int *action) {
  (void)row;
  (void)position;
  struct tml_rl_agent *a = agent;
  if (!obs) { /* a new episode: nothing before it in the window */
    memset(a->win, 0, a->window * a->obs_dim * sizeof(float));
    return 0;
  }
  memcpy(window_push(a, a->win), obs, a->obs_dim * sizeof(float));
  tml_rl_agent_decide(a, a->win, NULL, NULL, action);
  return 0;
}

void tml_rl_agent_act(struct tml_rl_agent *a, const float *raw_row, int position, double upnl, size_t hold,
                      float *probs, float *value, int *action) {
  memset(a->win, 0, (a->window - 1) * a->obs_dim * sizeof(float));
  float *o = a->win + (a->window - 1) * a->obs_dim;
  tml_rl_scaler_apply(&a->sc, raw_row, o);
  float *st = o + a->nfeat;
  /* The same agent-state encoding as the environment's observation (tml_rl_account_state). */
  st[0] = position > 0 ? 1.0f : 0.0f;
  st[1] = position < 0 ? 1.0f : 0.0f;
  double u = 10.0 * upnl;
  st[2] = (float)(u != u ? 0 : u > 5 ? 5 : (u < -5 ? -5 : u)); /* an unknown profit (NaN) as none */
  st[3] = (float)(log1p((double)hold) / 5.0);
  tml_rl_agent_decide(a, a->win, probs, value, action);
}

/* ---- training ---- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct rollout {
  size_t T, E, dim, nact, N; /* dim: floats of one window (window x obs_dim) */
  float *obs;      /* N windows, index t*E + e */
  int32_t *act;
  float *logp, *val, *rew, *boot, *adv, *ret;
  uint8_t *done;
  float *last_val; /* E */
  float *cur_obs;  /* E windows: each environment's last observations, newest last */
  /* minibatch workspace */
  size_t *idx;
  float *mb_obs, *dlogits, *dval, *probs;
  int32_t *mb_act;
  float *mb_logp, *mb_adv, *mb_ret;
};

static void rollout_release(struct rollout *r) {
  free(r->obs);
  free(r->act);
  free(r->logp);
  free(r->val);
  free(r->rew);
  free(r->boot);
  free(r->adv);
  free(r->ret);
  free(r->done);
  free(r->last_val);
  free(r->cur_obs);
  free(r->idx);
  free(r->mb_obs);
  free(r->dlogits);
  free(r->dval);
  free(r->probs);
  free(r->mb_act);
  free(r->mb_logp);
  free(r->mb_adv);
  free(r->mb_ret);
}

static int rollout_init(struct rollout *r, size_t T, size_t E, size_t dim, size_t nact, size_t mb,
                        struct tml_error *err) {
  memset(r, 0, sizeof(*r));
  r->T = T;
  r->E = E;
  r->dim = dim;
  r->nact = nact;
  r->N = T * E;
  size_t N = r->N;
  r->obs = malloc(N * dim * sizeof(float));
  r->act = malloc(N * sizeof(int32_t));
  r->logp = malloc(N * sizeof(float));
  r->val = malloc(N * sizeof(float));
  r->rew = malloc(N * sizeof(float));
  r->boot = malloc(N * sizeof(float));
  r->adv = malloc(N * sizeof(float));
  r->ret = malloc(N * sizeof(float));
  r->done = malloc(N);
  r->last_val = malloc(E * sizeof(float));
  r->cur_obs = malloc(E * dim * sizeof(float));
  r->idx = malloc(N * sizeof(size_t));
  r->mb_obs = malloc(mb * dim * sizeof(float));
  r->dlogits = malloc(mb * nact * sizeof(float));
  r->dval = malloc(mb * sizeof(float));
  r->probs = malloc((mb > E ? mb : E) * nact * sizeof(float));
  r->mb_act = malloc(mb * sizeof(int32_t));
  r->mb_logp = malloc(mb * sizeof(float));
  r->mb_adv = malloc(mb * sizeof(float));
  r->mb_ret = malloc(mb * sizeof(float));
  if (!r->obs || !r->act || !r->logp || !r->val || !r->rew || !r->boot || !r->adv || !r->ret || !r->done ||
      !r->last_val || !r->cur_obs || !r->idx || !r->mb_obs || !r->dlogits || !r->dval || !r->probs || !r->mb_act ||
      !r->mb_logp || !r->mb_adv || !r->mb_ret) {
    rollout_release(r);
    return tml_error_set(err, TML_ENOMEM, "out of memory for a rollout of %zu transitions", N);
  }
  return 0;
}

/* Samples k from probabilities p (n) with one uniform draw (inverse CDF). */
static int sample(const float *p, size_t n, double u) {
  double c = 0;
  int last = 0;
  for (size_t k = 0; k < n; k++) {
    if (p[k] <= 0)
      continue; /* masked */
    last = (int)k;
    c += (double)p[k];
    if (u < c)
      return (int)k;
  }
  return last; /* rounding: the cumulative sum fell short of u */
}

static size_t random_start(struct tml_nn_rng *rng, size_t begin, size_t end) {
  return begin + tml_nn_rng_below(rng, end - 1 - begin);
}

/* Starts a new episode of environment e at a random start: an empty window (zeros) but for the first
 * observation. */
static void episode_start(struct tml_rl_agent *a, struct tml_rl_env *env, float *win, struct tml_nn_rng *rng,
                          size_t fit_begin, size_t fit_end, size_t episode_candles) {
  memset(win, 0, a->window * a->obs_dim * sizeof(float));
  tml_rl_env_reset(env, random_start(rng, fit_begin, fit_end), episode_candles, win + (a->window - 1) * a->obs_dim);
}

/* Collects T steps from E environments with the current policy (sampling). */
static void collect(struct tml_rl_agent *a, struct tml_rl_env **envs, struct rollout *r,
                    const struct tml_rl_ppo_params *pp, size_t fit_begin, size_t fit_end, struct tml_nn_rng *rng) {
  size_t E = r->E, dim = r->dim, nact = r->nact;
  for (size_t t = 0; t < r->T; t++) {
    size_t base = t * E;
    memcpy(r->obs + base * dim, r->cur_obs, E * dim * sizeof(float));
    const float *in = heads_input(a, r->cur_obs, E);
    const float *logits = tml_nn_mlp_forward(&a->actor, &a->p, in, E);
    for (size_t e = 0; e < E; e++)
      masked_softmax(a, last_obs(a, r->cur_obs, e), logits + e * nact, r->probs + e * nact);
    const float *v = tml_nn_mlp_forward(&a->critic, &a->p, in, E);
    for (size_t e = 0; e < E; e++)
      r->val[base + e] = v[e];
    for (size_t e = 0; e < E; e++) {
      const float *p = r->probs + e * nact;
      int k = sample(p, nact, tml_nn_rng_uniform(rng));
      r->act[base + e] = k;
      r->logp[base + e] = logf(p[k] > 1e-30f ? p[k] : 1e-30f);
      bool done;
      float *win = r->cur_obs + e * dim;
      float rw = tml_rl_env_step(envs[e], k, window_push(a, win), &done);
      r->rew[base + e] = (float)((double)rw * pp->reward_scale);
      r->done[base + e] = done;
      r->boot[base + e] = 0;
      if (done) {
        /* A cut episode is bootstrapped with the critic's value of its last observation; a ruined
         * account (equity <= 0) is terminal. */
        if (tml_rl_env_equity(envs[e]) > 0)
          r->boot[base + e] = tml_nn_mlp_forward(&a->critic, &a->p, heads_input(a, win, 1), 1)[0];
        episode_start(a, envs[e], win, rng, fit_begin, fit_end, pp->episode_candles);
      }
    }
  }
  const float *v = tml_nn_mlp_forward(&a->critic, &a->p, heads_input(a, r->cur_obs, E), E);
  memcpy(r->last_val, v, E * sizeof(float));
}

/* GAE: delta_t = r_t + gamma V(s_{t+1}) - V(s_t), A_t = delta_t + gamma lambda A_{t+1} (reset at an
 * episode end, where V(s_{t+1}) is the bootstrap value); returns = A + V; advantages normalised. */
static void gae(struct rollout *r, double gamma, double lambda) {
  size_t E = r->E;
  for (size_t e = 0; e < E; e++) {
    double next_adv = 0, next_val = (double)r->last_val[e];
    for (size_t t = r->T; t-- > 0;) {
      size_t i = t * E + e;
      double delta, a;
      if (r->done[i]) {
        delta = (double)r->rew[i] + gamma * (double)r->boot[i] - (double)r->val[i];
        a = delta;
      } else {
        delta = (double)r->rew[i] + gamma * next_val - (double)r->val[i];
        a = delta + gamma * lambda * next_adv;
      }
      r->adv[i] = (float)a;
      r->ret[i] = (float)(a + (double)r->val[i]);
      next_adv = a;
      next_val = (double)r->val[i];
    }
  }
  double s = 0, ss = 0;
  for (size_t i = 0; i < r->N; i++) {
    s += (double)r->adv[i];
    ss += (double)r->adv[i] * (double)r->adv[i];
  }
  double mean = s / (double)r->N, var = ss / (double)r->N - mean * mean;
  double inv = 1.0 / (sqrt(var > 0 ? var : 0) + 1e-8);
  for (size_t i = 0; i < r->N; i++)
    r->adv[i] = (float)(((double)r->adv[i] - mean) * inv);
}

/* The PPO loss of n transitions (windows W, n x dim floats; actions, old log-probabilities,
 * advantages and returns) and, when grad, its gradient accumulated into a->p.g:
 *   L = mean_j [ -min(ratio_j A_j, clip(ratio_j, 1 - eps, 1 + eps) A_j) ]
 *     + value_coef mean_j (V(s_j) - R_j)^2 - entropy_coef mean_j H(pi(.|s_j))
 * with ratio_j = pi(a_j|s_j) / pi_old(a_j|s_j). The gradient flows into the LSTM (lstm network)
 * through both heads, backwards through the window (truncated BPTT over rl.window steps). probs and
 * dlogits, dval: workspaces of n x nact, n x nact and n floats. */
static double ppo_loss(struct tml_rl_agent *a, const float *W, const int32_t *act, const float *old_logp,
                       const float *adv, const float *ret, size_t n, const struct tml_rl_ppo_params *pp, bool grad,
                       float *probs, float *dlogits, float *dval, double *entropy_out, double *vloss_out) {
  size_t nact = a->nact;
  bool lstm = a->network == TML_RL_NET_LSTM;
  const float *in = heads_input(a, W, n);
  const float *logits = tml_nn_mlp_forward(&a->actor, &a->p, in, n);
  double inv_n = 1.0 / (double)n, ent_sum = 0, pol = 0;
  for (size_t j = 0; j < n; j++) {
    float *p = probs + j * nact;
    masked_softmax(a, last_obs(a, W, j), logits + j * nact, p);
    int k = act[j];
    double logp = log((double)p[k] > 1e-30 ? (double)p[k] : 1e-30);
    double ratio = exp(logp - (double)old_logp[j]);
    double A = (double)adv[j];
    double clipped = ratio < 1 - pp->clip ? 1 - pp->clip : (ratio > 1 + pp->clip ? 1 + pp->clip : ratio);
    pol += -(ratio * A <= clipped * A ? ratio * A : clipped * A);
    /* L = -min(ratio A, clip(ratio) A): the gradient flows through ratio only where the unclipped term
     * is the minimum; dL/dlogp = -A ratio there, 0 elsewhere. */
    double g_logp = ratio * A <= clipped * A ? -A * ratio : 0.0;
    /* Entropy H = -sum p log p; dH/dz_m = -p_m (log p_m + H); the loss carries -entropy_coef H. */
    double H = 0;
    for (size_t m = 0; m < nact; m++)
      if (p[m] > 0)
        H -= (double)p[m] * log((double)p[m]);
    ent_sum += H;
    float *dz = dlogits + j * nact;
    for (size_t m = 0; m < nact; m++) {
      double pm = (double)p[m];
      double dlogp = (m == (size_t)k ? 1.0 : 0.0) - pm; /* d log p_k / d z_m */
      double lpm = pm > 0 ? log(pm) : 0.0;
      double dH = -pm * (lpm + H);
      dz[m] = (float)(inv_n * (g_logp * dlogp - pp->entropy_coef * dH));
    }
  }
  if (grad)
    tml_nn_mlp_backward(&a->actor, &a->p, in, dlogits, n, lstm ? a->dA : NULL);
  const float *v = tml_nn_mlp_forward(&a->critic, &a->p, in, n);
  double vl = 0;
  for (size_t j = 0; j < n; j++) {
    double d = (double)v[j] - (double)ret[j];
    vl += d * d;
    dval[j] = (float)(pp->value_coef * 2.0 * d * inv_n);
  }
  if (grad)
    tml_nn_mlp_backward(&a->critic, &a->p, in, dval, n, lstm ? a->dC : NULL);
  if (grad && lstm) {
    /* Only the window's last output feeds the heads: its gradient is the sum of both heads'. */
    size_t H = a->lstm_hidden, L = a->window;
    memset(a->dH, 0, (L - 1) * n * H * sizeof(float));
    float *last = a->dH + (L - 1) * n * H;
    for (size_t i = 0; i < n * H; i++)
      last[i] = a->dA[i] + a->dC[i];
    tml_nn_lstm_backward(&a->lstm, &a->p, a->xt, a->dH, L, n, &a->cache, NULL);
  }
  *entropy_out = ent_sum * inv_n;
  *vloss_out = vl * inv_n;
  return pol * inv_n + pp->value_coef * vl * inv_n - pp->entropy_coef * ent_sum * inv_n;
}

/* One PPO update over a minibatch of indices idx[0..n). Returns the gradient norm before clipping. */
static double update(struct tml_rl_agent *a, struct rollout *r, const size_t *idx, size_t n,
                     const struct tml_rl_ppo_params *pp, struct tml_nn_adam *adam, double *entropy_out,
                     double *vloss_out) {
  size_t dim = r->dim;
  for (size_t j = 0; j < n; j++) {
    size_t i = idx[j];
    memcpy(r->mb_obs + j * dim, r->obs + i * dim, dim * sizeof(float));
    r->mb_act[j] = r->act[i];
    r->mb_logp[j] = r->logp[i];
    r->mb_adv[j] = r->adv[i];
    r->mb_ret[j] = r->ret[i];
  }
  tml_nn_params_zero_grad(&a->p);
  ppo_loss(a, r->mb_obs, r->mb_act, r->mb_logp, r->mb_adv, r->mb_ret, n, pp, true, r->probs, r->dlogits, r->dval,
           entropy_out, vloss_out);
  double norm = tml_nn_clip_grad_norm(&a->p, pp->max_grad_norm);
  if (isfinite(norm))
    tml_nn_adam_step(adam, &a->p);
  return norm;
}

double tml__rl_ppo_loss(struct tml_rl_agent *a, const float *W, const int32_t *act, const float *old_logp,
                        const float *adv, const float *ret, size_t n, const struct tml_rl_ppo_params *pp, bool grad) {
  float *probs = malloc(n * a->nact * sizeof(float)), *dl = malloc(n * a->nact * sizeof(float));
  float *dv = malloc(n * sizeof(float));
  double ent, vl, loss = NAN;
  if (probs && dl && dv)
    loss = ppo_loss(a, W, act, old_logp, adv, ret, n, pp, grad, probs, dl, dv, &ent, &vl);
  free(probs);
  free(dl);
  free(dv);
  return loss;
}

struct tml_nn_params *tml__rl_agent_params(struct tml_rl_agent *a) { return &a->p; }

int tml__rl_agent_create(size_t nfeat, const struct tml_rl_env_opts *eo, const struct tml_rl_ppo_params *pp,
                         size_t max_batch, struct tml_rl_agent **out, struct tml_error *err) {
  *out = NULL;
  struct tml_rl_agent *a = calloc(1, sizeof(*a));
  if (!a)
    return tml_error_set(err, TML_ENOMEM, "out of memory for the rl agent");
  agent_setup(a, nfeat, eo, pp);
  a->sc.ncols = nfeat;
  a->sc.clip = 5;
  for (size_t j = 0; j < nfeat; j++)
    a->sc.inv_std[j] = 1;
  int rc = agent_build(a, max_batch, pp->seed, 0, err);
  if (rc) {
    tml_rl_agent_free(a);
    return rc;
  }
  *out = a;
  return 0;
}

int tml_rl_agent_train(const struct tml_rl_market *m, size_t fit_begin, size_t fit_end, size_t valid_begin,
                       size_t valid_end, const struct tml_rl_env_opts *eo, const struct tml_rl_ppo_params *pp,
                       struct tml_rl_agent **out, struct tml_rl_train_report *rep, struct tml_error *err) {
  *out = NULL;
  memset(rep, 0, sizeof(*rep));
  int rc = tml_rl_env_opts_check(eo, err);
  if (!rc)
    rc = tml_rl_ppo_params_check(pp, err);
  if (rc)
    return rc;
  if (fit_end > m->n || fit_begin >= fit_end || fit_end - fit_begin < pp->episode_candles + 1)
    return tml_error_set(err, TML_EINVAL,
                         "rl: %zu training candles, one episode needs rl.episode_candles + 1 = %zu; use more days of "
                         "history or a shorter rl.episode_candles",
                         fit_end > fit_begin ? fit_end - fit_begin : 0, pp->episode_candles + 1);
  bool validate = valid_end > valid_begin;
  if (validate && (valid_end > m->n || valid_end - valid_begin < 2 || valid_begin < fit_end))
    return tml_error_set(err, TML_EINVAL,
                         "rl: the validation block [%zu, %zu) must hold at least 2 candles after the training rows "
                         "(which end at %zu)",
                         valid_begin, valid_end, fit_end);
  struct tml_rl_agent *a = calloc(1, sizeof(*a));
  struct tml_rl_env *proto = NULL, *venv = NULL;
  struct tml_rl_env **envs = NULL;
  struct rollout r;
  memset(&r, 0, sizeof(r));
  struct tml_nn_adam adam;
  memset(&adam, 0, sizeof(adam));
  float *best_w = NULL;
  if (!a)
    return tml_error_set(err, TML_ENOMEM, "out of memory for the rl agent");
  agent_setup(a, m->nfeat, eo, pp);
  rc = tml_rl_scaler_fit(m, fit_begin, fit_end, &a->sc, err);
  if (rc)
    goto fail;
  size_t max_batch = pp->minibatch > pp->n_envs ? pp->minibatch : pp->n_envs;
  rc = agent_build(a, max_batch, pp->seed, 0, err);
  if (rc)
    goto fail;
  rc = tml_nn_adam_init(&adam, a->p.n, pp->lr, err);
  if (rc)
    goto fail;
  rc = tml_rl_env_create(m, fit_begin, fit_end, &a->sc, eo, &proto, err);
  if (!rc && validate)
    rc = tml_rl_env_create(m, valid_begin, valid_end, &a->sc, eo, &venv, err);
  if (rc)
    goto fail;
  envs = calloc(pp->n_envs, sizeof(*envs));
  best_w = malloc(a->p.n * sizeof(float));
  if (!envs || !best_w) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory for %zu environments", pp->n_envs);
    goto fail;
  }
  for (size_t e = 0; e < pp->n_envs && !rc; e++)
    rc = tml_rl_env_clone(proto, &envs[e], err);
  if (!rc)
    rc = rollout_init(&r, pp->rollout_steps, pp->n_envs, a->window * a->obs_dim, a->nact, pp->minibatch, err);
  if (rc)
    goto fail;
  struct tml_nn_rng rng;
  tml_nn_rng_seed(&rng, pp->seed ^ UINT64_C(0x5DEECE66D));
  for (size_t e = 0; e < pp->n_envs; e++)
    episode_start(a, envs[e], r.cur_obs + e * r.dim, &rng, fit_begin, fit_end, pp->episode_candles);
  memcpy(best_w, a->p.w, a->p.n * sizeof(float));
  double t0 = now_s(), best = -INFINITY, last_valid = NAN;
  while (rep->env_steps < pp->total_steps) {
    if (pp->time_budget_s > 0 && now_s() - t0 >= pp->time_budget_s) {
      rep->stopped_by_time = true;
      break;
    }
    double ta = now_s();
    collect(a, envs, &r, pp, fit_begin, fit_end, &rng);
    double tb = now_s();
    rep->rollout_seconds += tb - ta;
    rep->env_steps += r.N;
    rep->rollouts++;
    gae(&r, pp->gamma, pp->gae_lambda);
    for (size_t i = 0; i < r.N; i++)
      r.idx[i] = i;
    for (int ep = 0; ep < pp->epochs; ep++) {
      tml_nn_rng_shuffle(&rng, r.idx, r.N);
      for (size_t s = 0; s < r.N; s += pp->minibatch) {
        size_t n = r.N - s < pp->minibatch ? r.N - s : pp->minibatch;
        double norm = update(a, &r, r.idx + s, n, pp, &adam, &rep->last_entropy, &rep->last_value_loss);
        if (!isfinite(norm)) {
          rc = tml_error_set(err, TML_EDATA,
                             "rl: training diverged (non-finite gradient) in rollout %zu; lower rl.learning_rate or "
                             "rl.reward_scale",
                             rep->rollouts);
          goto fail;
        }
        rep->updates++;
      }
    }
    double tc = now_s();
    rep->learn_seconds += tc - tb;
    bool last = rep->env_steps >= pp->total_steps;
    if (validate && (rep->rollouts % (size_t)pp->eval_every == 0 || last)) {
      struct tml_rl_trading_metrics vm;
      rc = tml_rl_evaluate(venv, tml_rl_agent_policy, a, &vm, NULL, err);
      if (rc)
        goto fail;
      rep->valid_evals++;
      if (vm.net_return > best) {
        best = vm.net_return;
        rep->best_rollout = (int)rep->rollouts;
        rep->best_valid_return = vm.net_return;
        memcpy(best_w, a->p.w, a->p.n * sizeof(float));
      }
      rep->eval_seconds += now_s() - tc;
      last_valid = vm.net_return;
    }
    if (pp->progress &&
        pp->progress(pp->progress_ud, rep->rollouts, (size_t)((pp->total_steps + r.N - 1) / r.N), last_valid,
                     rep->best_rollout) != 0) {
      rc = tml_error_set(err, TML_EINTR, "rl: training stopped after rollout %zu", rep->rollouts);
      goto fail;
    }
  }
  if (validate && rep->valid_evals > 0)
    memcpy(a->p.w, best_w, a->p.n * sizeof(float));
  if (!tml_nn_params_finite(&a->p)) {
    rc = tml_error_set(err, TML_EDATA, "rl: training diverged (non-finite weights); lower rl.learning_rate");
    goto fail;
  }
  *out = a;
  a = NULL;
fail:
  free(best_w);
  rollout_release(&r);
  if (envs)
    for (size_t e = 0; e < pp->n_envs; e++)
      tml_rl_env_destroy(envs[e]);
  free(envs);
  tml_rl_env_destroy(venv);
  tml_rl_env_destroy(proto);
  tml_nn_adam_release(&adam);
  tml_rl_agent_free(a);
  return rc;
}

/* ---- agent file ----
 * little-endian host layout (x86-64/aarch64):
 *   "TMLRLAG1" | u32 version (2) | char[16] feature-set checksum | u32 action space | u32 nfeat |
 *   u32 hidden | u32 layers | [version 2: u32 network (0 mlp, 1 lstm) | u32 lstm_hidden | u32 window] |
 *   f32 mean[nfeat] | f32 inv_std[nfeat] | f32 clip |
 *   f64 fee_rate, slippage_range, funding_rate_8h, drawdown_penalty, holding_penalty |
 *   u64 nparams | f32 w[nparams] | u64 FNV-1a 64 of every byte before it */

#define AGENT_MAGIC "TMLRLAG1"
#define AGENT_VERSION 2u /* version 1 (no network fields: an MLP) is still read */

struct wbuf {
  unsigned char *p;
  size_t len, cap;
  bool oom;
};
static void put(struct wbuf *b, const void *v, size_t n) {
  if (b->oom)
    return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n)
      cap *= 2;
    unsigned char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->len, v, n);
  b->len += n;
}
static void put_u32(struct wbuf *b, uint32_t v) { put(b, &v, 4); }

int tml_rl_agent_save(const struct tml_rl_agent *a, const char *path, struct tml_error *err) {
  struct wbuf b = {0};
  put(&b, AGENT_MAGIC, 8);
  put_u32(&b, AGENT_VERSION);
  put(&b, tml_featureset_checksum(), 16);
  put_u32(&b, (uint32_t)a->eo.actions);
  put_u32(&b, (uint32_t)a->nfeat);
  put_u32(&b, (uint32_t)a->hidden);
  put_u32(&b, (uint32_t)a->layers);
  put_u32(&b, (uint32_t)a->network);
  put_u32(&b, (uint32_t)a->lstm_hidden);
  put_u32(&b, (uint32_t)a->window);
  put(&b, a->sc.mean, a->nfeat * sizeof(float));
  put(&b, a->sc.inv_std, a->nfeat * sizeof(float));
  put(&b, &a->sc.clip, sizeof(float));
  const double eo[5] = {a->eo.fee_rate, a->eo.slippage_range, a->eo.funding_rate_8h, a->eo.drawdown_penalty,
                        a->eo.holding_penalty};
  put(&b, eo, sizeof(eo));
  uint64_t n = a->p.n;
  put(&b, &n, 8);
  put(&b, a->p.w, a->p.n * sizeof(float));
  uint64_t h = tml_fnv1a64(UINT64_C(14695981039346656037), b.p, b.len);
  put(&b, &h, 8);
  int rc;
  if (b.oom)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory writing the rl agent '%s'", path);
  else
    rc = tml_write_file_atomic(path, b.p, b.len, err);
  free(b.p);
  return rc;
}

struct rbuf {
  const unsigned char *p;
  size_t len, off;
};
static bool get(struct rbuf *r, void *v, size_t n) {
  if (r->len - r->off < n)
    return false;
  memcpy(v, r->p + r->off, n);
  r->off += n;
  return true;
}

int tml_rl_agent_load(const char *path, struct tml_rl_agent **out, struct tml_error *err) {
  *out = NULL;
  char *data = NULL;
  size_t len = 0;
  struct tml_error rerr;
  tml_error_init(&rerr);
  if (tml_read_file(path, &data, &len, &rerr) != 0)
    return tml_error_set(err, TML_EMODEL, "rl agent file '%s' cannot be read (%s); train the model again", path,
                         rerr.msg);
  struct tml_rl_agent *a = NULL;
  const char *why = NULL;
  struct rbuf r = {(const unsigned char *)data, len, 0};
  char magic[8], fsum[16];
  uint32_t version = 0, act = 0, nfeat = 0, hidden = 0, layers = 0, network = 0, lstm_hidden = 0, window = 1;
  int rc = TML_EMODEL;
  if (len < 16 || !get(&r, magic, 8) || memcmp(magic, AGENT_MAGIC, 8) != 0) {
    why = "not an rl agent file (bad magic)";
    goto done;
  }
  uint64_t stored;
  memcpy(&stored, data + len - 8, 8);
  if (tml_fnv1a64(UINT64_C(14695981039346656037), data, len - 8) != stored) {
    why = "checksum mismatch: the file is truncated or corrupt";
    goto done;
  }
  r.len = len - 8;
  if (!get(&r, &version, 4) || version < 1 || version > AGENT_VERSION) {
    why = "unsupported version";
    goto done;
  }
  if (!get(&r, fsum, 16) || memcmp(fsum, tml_featureset_checksum(), 16) != 0) {
    why = "written for another feature set (checksum differs)";
    goto done;
  }
  if (!get(&r, &act, 4) || !get(&r, &nfeat, 4) || !get(&r, &hidden, 4) || !get(&r, &layers, 4) || act > 1 ||
      nfeat == 0 || nfeat > TML_RL_SCALER_MAXCOLS || hidden < 1 || hidden > 4096 || layers < 1 ||
      layers > TML_NN_MLP_MAX_LAYERS - 1) {
    why = "bad architecture header";
    goto done;
  }
  if (version >= 2 && (!get(&r, &network, 4) || !get(&r, &lstm_hidden, 4) || !get(&r, &window, 4) || network > 1 ||
                       (network == TML_RL_NET_LSTM && (lstm_hidden < 2 || lstm_hidden > 256 || window < 1 ||
                                                       window > 256)) ||
                       (network == TML_RL_NET_MLP && window != 1))) {
    why = "bad network header";
    goto done;
  }
  a = calloc(1, sizeof(*a));
  if (!a) {
    rc = TML_ENOMEM;
    why = "out of memory";
    goto done;
  }
  a->eo.actions = (enum tml_rl_action_space)act;
  a->nfeat = nfeat;
  a->obs_dim = nfeat + TML_RL_STATE_DIM;
  a->nact = (size_t)tml_rl_action_count(a->eo.actions);
  a->hidden = hidden;
  a->layers = layers;
  a->network = (enum tml_rl_network)network;
  a->lstm_hidden = lstm_hidden;
  a->window = window;
  a->sc.ncols = nfeat;
  double eo[5];
  uint64_t n = 0;
  if (!get(&r, a->sc.mean, nfeat * sizeof(float)) || !get(&r, a->sc.inv_std, nfeat * sizeof(float)) ||
      !get(&r, &a->sc.clip, sizeof(float)) || !get(&r, eo, sizeof(eo)) || !get(&r, &n, 8)) {
    why = "truncated header";
    goto done;
  }
  a->eo.fee_rate = eo[0];
  a->eo.slippage_range = eo[1];
  a->eo.funding_rate_8h = eo[2];
  a->eo.drawdown_penalty = eo[3];
  a->eo.holding_penalty = eo[4];
  struct tml_error berr;
  tml_error_init(&berr);
  if (tml_rl_env_opts_check(&a->eo, &berr) != 0) {
    why = "cost options out of range";
    goto done;
  }
  /* The weights the header announces are what the file holds, and what the architecture needs,
   * before the networks are allocated (a header that passes the FNV checksum can still ask for
   * 4096-wide layers: over a gigabyte). */
  if (n == 0 || n > (r.len - r.off) / sizeof(float) || n * sizeof(float) != r.len - r.off) {
    why = "weight count does not match the file size";
    goto done;
  }
  int brc = agent_build(a, 1, 0, (size_t)n, &berr);
  char whybuf[sizeof berr.msg + 64];
  if (brc == TML_EMODEL) {
    snprintf(whybuf, sizeof whybuf, "weight count does not match the architecture (%s)", berr.msg);
    why = whybuf;
    goto done;
  }
  if (brc != 0) {
    why = "cannot build the networks";
    goto done;
  }
  if (n != a->p.n || !get(&r, a->p.w, a->p.n * sizeof(float)) || r.off != r.len) {
    why = "weight count does not match the architecture";
    goto done;
  }
  if (!tml_nn_params_finite(&a->p)) {
    why = "non-finite weights";
    goto done;
  }
  bool scaler_ok = isfinite(a->sc.clip) && a->sc.clip > 0;
  for (size_t j = 0; j < nfeat && scaler_ok; j++)
    scaler_ok = isfinite(a->sc.mean[j]) && isfinite(a->sc.inv_std[j]);
  if (!scaler_ok) {
    why = "non-finite feature scaler";
    goto done;
  }
  *out = a;
  a = NULL;
  rc = 0;
done:
  free(data);
  tml_rl_agent_free(a);
  if (rc)
    return tml_error_set(err, rc, "rl agent file '%s': %s; train the model again", path, why);
  return 0;
}

bool tml_rl_agent_equal(const struct tml_rl_agent *a, const struct tml_rl_agent *b) {
  return a->nfeat == b->nfeat && a->nact == b->nact && a->hidden == b->hidden && a->layers == b->layers &&
         a->network == b->network && a->window == b->window && a->lstm_hidden == b->lstm_hidden &&
         a->eo.actions == b->eo.actions && a->p.n == b->p.n &&
         memcmp(a->p.w, b->p.w, a->p.n * sizeof(float)) == 0 &&
         memcmp(a->sc.mean, b->sc.mean, a->nfeat * sizeof(float)) == 0 &&
         memcmp(a->sc.inv_std, b->sc.inv_std, a->nfeat * sizeof(float)) == 0 && a->eo.fee_rate == b->eo.fee_rate &&
         a->eo.slippage_range == b->eo.slippage_range;
}

int tml_rl_agent_trade(struct tml_rl_agent *a, const struct tml_dataset *d, size_t begin, size_t end,
                       struct tml_rl_trading_metrics *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  struct tml_rl_market m;
  int rc = tml_rl_market_from_range(d, begin, end, &m, err);
  if (rc)
    return rc;
  struct tml_rl_env *e = NULL;
  rc = tml_rl_agent_env_create(a, &m, 0, m.n, &e, err);
  if (!rc)
    rc = tml_rl_evaluate(e, tml_rl_agent_policy, a, out, NULL, err);
  tml_rl_env_destroy(e);
  tml_rl_market_release(&m);
  return rc;
}

/* ---- the agent's paper trading over a live candle stream ---- */

struct tml_rl_stream {
  struct tml_rl_agent *a;        /* borrowed */
  struct tml_rl_account acct;
  size_t rows;                   /* candles stepped */
  int pending;                   /* action decided at the previous candle, filled on the next */
  float *feat;                   /* window x obs_dim: scaled features, agent state zero (flat) */
  float *obs;                    /* window x obs_dim: the observations as the environment wrote them */
};

int tml_rl_stream_create(struct tml_rl_agent *a, struct tml_rl_stream **out, struct tml_error *err) {
  *out = NULL;
  struct tml_rl_stream *s = calloc(1, sizeof(*s));
  size_t n = a->window * a->obs_dim;
  if (!s || !(s->feat = calloc(n, sizeof(float))) || !(s->obs = calloc(n, sizeof(float)))) {
    if (s)
      free(s->feat);
    free(s);
    return tml_error_set(err, TML_ENOMEM, "out of memory for an rl stream");
  }
  s->a = a;
  tml_rl_account_reset(&s->acct);
  *out = s;
  return 0;
}

void tml_rl_stream_reset(struct tml_rl_stream *s) {
  size_t n = s->a->window * s->a->obs_dim;
  memset(s->feat, 0, n * sizeof(float));
  memset(s->obs, 0, n * sizeof(float));
  tml_rl_account_reset(&s->acct);
  s->rows = 0;
  s->pending = 0;
}

void tml_rl_stream_destroy(struct tml_rl_stream *s) {
  if (!s)
    return;
  free(s->feat);
  free(s->obs);
  free(s);
}

void tml_rl_stream_push_features(struct tml_rl_stream *s, const float *raw_row) {
  struct tml_rl_agent *a = s->a;
  float *f = window_push(a, s->feat);
  tml_rl_scaler_apply(&a->sc, raw_row, f);
  memset(f + a->nfeat, 0, TML_RL_STATE_DIM * sizeof(float));
}

void tml_rl_stream_flat(struct tml_rl_stream *s, float *probs) {
  tml_rl_agent_decide(s->a, s->feat, probs, NULL, NULL);
}

void tml_rl_stream_trade(struct tml_rl_stream *s, const struct tml_rl_candle *c, int64_t interval_ms, float *probs,
                         float *value, int *action) {
  struct tml_rl_agent *a = s->a;
  const struct tml_rl_env_opts *o = &a->eo;
  if (s->rows > 0) { /* the environment's step: the previous decision fills on this candle */
    tml_rl_account_fill(&s->acct, o, s->pending, c);
    tml_rl_account_hold(&s->acct, tml_rl_funding_per_candle(o, interval_ms), c->close);
    tml_rl_account_mark(&s->acct, o, c->close);
  }
  s->rows++;
  float *ob = window_push(a, s->obs);
  memcpy(ob, s->feat + (a->window - 1) * a->obs_dim, a->nfeat * sizeof(float));
  tml_rl_account_state(&s->acct, c->close, ob + a->nfeat);
  int k = 0;
  tml_rl_agent_decide(a, s->obs, probs, value, &k);
  s->pending = k;
  if (action)
    *action = k;
}

const struct tml_rl_account *tml_rl_stream_account(const struct tml_rl_stream *s) { return &s->acct; }
