/* The PPO agent: it learns a planted, learnable pattern and trades it profitably out of sample; on a
 * random walk and on a series whose returns were shuffled away from the features it is not
 * profitable; same seed -> same weights; save/load round trip; corrupted files refused. */
#include "test.h"

#include "trademl/error.h"
#include "trademl/hash.h"
#include "trademl/nn.h"
#include "trademl/rl.h"
#include "rl/rl_internal.h"

#include <math.h>
#include <unistd.h>

/* xorshift64* */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}
static double unif(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

enum series_kind { PLANTED, RANDOM_WALK, SHUFFLED };

#define NFEAT 4
#define STEP_VOL 0.002 /* per-candle return size */

/* A synthetic market of n candles. PLANTED: a regime r_t in {-1, +1} that persists (switch
 * probability 0.05 per candle) is feature 0 of candle t, and candle t+1 returns r_{t+1} x STEP_VOL
 * (+- a little noise): feature 0 at the close of t predicts the next candle 95 % of the time.
 * RANDOM_WALK: feature 0 is a coin that says nothing, returns +-STEP_VOL at random. SHUFFLED: the
 * planted series with its returns permuted in time, so the features no longer say anything about the
 * next candle. Features 1..3 are noise. open[t+1] = close[t]; high/low 0.05 % outside open/close. */
static void synth(struct tml_rl_market *m, size_t n, enum series_kind kind, uint64_t seed) {
  memset(m, 0, sizeof(*m));
  m->n = n;
  m->nfeat = NFEAT;
  m->interval_ms = 15 * 60 * 1000;
  m->time = calloc(n, sizeof(int64_t));
  m->open = calloc(n, sizeof(double));
  m->high = calloc(n, sizeof(double));
  m->low = calloc(n, sizeof(double));
  m->close = calloc(n, sizeof(double));
  m->X = calloc(n * NFEAT, sizeof(float));
  double *ret = calloc(n, sizeof(double));
  CHECK(m->time && m->open && m->high && m->low && m->close && m->X && ret);
  uint64_t s = seed;
  int regime = 1;
  for (size_t t = 0; t < n; t++) {
    if (kind == RANDOM_WALK) {
      ret[t] = (unif(&s) < 0.5 ? -1 : 1) * STEP_VOL;
      m->X[t * NFEAT] = unif(&s) < 0.5 ? -1.0f : 1.0f;
    } else {
      if (unif(&s) < 0.05)
        regime = -regime;
      ret[t] = regime * STEP_VOL + (unif(&s) - 0.5) * 0.0005;
      m->X[t * NFEAT] = (float)regime;
    }
    for (int j = 1; j < NFEAT; j++)
      m->X[t * NFEAT + (size_t)j] = (float)(unif(&s) * 2 - 1);
  }
  if (kind == SHUFFLED)
    for (size_t t = n - 1; t > 0; t--) {
      size_t k = (size_t)(rng_next(&s) % (t + 1));
      double tmp = ret[t];
      ret[t] = ret[k];
      ret[k] = tmp;
    }
  double price = 100;
  for (size_t t = 0; t < n; t++) {
    m->time[t] = (int64_t)t * m->interval_ms;
    m->open[t] = price;
    price *= exp(ret[t]); /* candle t's return: feature 0 of candle t-1 predicted it */
    m->close[t] = price;
    double hi = m->open[t] > price ? m->open[t] : price, lo = m->open[t] < price ? m->open[t] : price;
    m->high[t] = hi * 1.0005;
    m->low[t] = lo * 0.9995;
  }
  free(ret);
}

#define N_CANDLES 12000
#define FIT_END 8000
#define VALID_END 10000

/* The network of the agents the tests below train (the lstm tests set it). */
static enum tml_rl_network test_network = TML_RL_NET_MLP;

static void small_params(struct tml_rl_ppo_params *pp) {
  tml_rl_ppo_params_default(pp);
  pp->network = test_network;
  pp->window = 4;
  pp->lstm_hidden = 16;
  pp->hidden = 32;
  pp->n_envs = 8;
  pp->rollout_steps = 128;
  pp->episode_candles = 256;
  pp->minibatch = 256;
  pp->total_steps = 40960;
  pp->eval_every = 2;
  pp->lr = 1e-3;
}

/* Trains on [0, 8000), chooses the checkpoint on [8000, 10000) and tests on [10000, 12000). */
static void train_and_test(enum series_kind kind, enum tml_rl_action_space sp, struct tml_rl_trading_metrics *agent,
                           struct tml_rl_trading_metrics *bh, double *walk_sigma) {
  struct tml_rl_market m;
  synth(&m, N_CANDLES, kind, 0xC0FFEE);
  struct tml_rl_env_opts eo;
  tml_rl_env_opts_default(&eo);
  eo.actions = sp;
  struct tml_rl_ppo_params pp;
  small_params(&pp);
  struct tml_rl_agent *a;
  struct tml_rl_train_report rep;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_agent_train(&m, 0, FIT_END, FIT_END, VALID_END, &eo, &pp, &a, &rep, &err), &err);
  CHECK(rep.env_steps >= pp.total_steps);
  CHECK(rep.valid_evals > 0 && rep.best_rollout > 0);
  struct tml_rl_env *te;
  CHECK_OK(tml_rl_agent_env_create(a, &m, VALID_END, N_CANDLES, &te, &err), &err);
  CHECK_OK(tml_rl_evaluate(te, tml_rl_agent_policy, a, agent, NULL, &err), &err);
  CHECK_OK(tml_rl_evaluate_baseline(te, TML_RL_BASE_BUY_HOLD, bh, &err), &err);
  /* the standard deviation of a buy-and-hold over the test block if returns were random */
  *walk_sigma = STEP_VOL * sqrt((double)(N_CANDLES - VALID_END));
  printf("%s/%s/%s: agent net %.4f (trades %zu, exposure %.2f, fees %.4f, sharpe %.2f), buy&hold %.4f, "
         "best rollout %d of %zu (valid %.4f), rollout %.2fs learn %.2fs\n",
         tml_rl_network_name(test_network), kind == PLANTED ? "planted" : kind == RANDOM_WALK ? "random_walk" : "shuffled",
         tml_rl_action_space_name(sp),
         agent->net_return, agent->trades, agent->exposure, agent->fees_paid, agent->sharpe, bh->net_return,
         rep.best_rollout, rep.rollouts, rep.best_valid_return, rep.rollout_seconds, rep.learn_seconds);
  tml_rl_env_destroy(te);
  tml_rl_agent_free(a);
  tml_rl_market_release(&m);
}

/* The planted regime is worth ~0.2 % a candle to a trader who follows it; 2000 test candles with
 * ~100 regime switches: following it earns far more than costs. The agent must be clearly profitable
 * out of sample: over 10 random-walk sigmas of the test block. */
TEST(learns_planted_pattern_target3) {
  test_network = TML_RL_NET_MLP;
  struct tml_rl_trading_metrics ag, bh;
  double sigma;
  train_and_test(PLANTED, TML_RL_ACTIONS_TARGET3, &ag, &bh, &sigma);
  CHECK_MSG(ag.net_return > 10 * sigma, "net return %g, want > %g", ag.net_return, 10 * sigma);
  CHECK(ag.trades > 20);
}

TEST(learns_planted_pattern_five) {
  test_network = TML_RL_NET_MLP;
  struct tml_rl_trading_metrics ag, bh;
  double sigma;
  train_and_test(PLANTED, TML_RL_ACTIONS_FIVE, &ag, &bh, &sigma);
  CHECK_MSG(ag.net_return > 10 * sigma, "net return %g, want > %g", ag.net_return, 10 * sigma);
}

/* The same with an LSTM layer over the last 4 observations in front of the actor and the critic. */
TEST(learns_planted_pattern_target3_lstm) {
  test_network = TML_RL_NET_LSTM;
  struct tml_rl_trading_metrics ag, bh;
  double sigma;
  train_and_test(PLANTED, TML_RL_ACTIONS_TARGET3, &ag, &bh, &sigma);
  CHECK_MSG(ag.net_return > 10 * sigma, "net return %g, want > %g", ag.net_return, 10 * sigma);
  CHECK(ag.trades > 20);
}

TEST(random_walk_not_profitable_lstm) {
  test_network = TML_RL_NET_LSTM;
  struct tml_rl_trading_metrics ag, bh;
  double sigma;
  train_and_test(RANDOM_WALK, TML_RL_ACTIONS_TARGET3, &ag, &bh, &sigma);
  double passive = bh.net_return > 0 ? bh.net_return : 0;
  CHECK_MSG(ag.net_return < passive + sigma && ag.net_return < 2 * sigma, "random walk: net return %g, passive %g",
            ag.net_return, passive);
}

/* Nothing to learn: the agent has no edge over the passive policies (the better of buy-and-hold and
 * flat) beyond one random-walk sigma of the test block, where the planted pattern gave > 10 sigmas. */
static void check_no_edge(const struct tml_rl_trading_metrics *ag, const struct tml_rl_trading_metrics *bh,
                          double sigma, const char *what) {
  double passive = bh->net_return > 0 ? bh->net_return : 0;
  CHECK_MSG(ag->net_return < passive + sigma, "%s: net return %g, passive %g, sigma %g", what, ag->net_return,
            passive, sigma);
  CHECK_MSG(ag->net_return < 2 * sigma, "%s: net return %g above 2 sigma %g", what, ag->net_return, 2 * sigma);
}

TEST(random_walk_not_profitable) {
  test_network = TML_RL_NET_MLP;
  struct tml_rl_trading_metrics ag, bh;
  double sigma;
  train_and_test(RANDOM_WALK, TML_RL_ACTIONS_TARGET3, &ag, &bh, &sigma);
  check_no_edge(&ag, &bh, sigma, "random walk");
}

/* The planted series with its returns shuffled in time: same returns, same features, no relation. */
TEST(shuffled_returns_not_profitable) {
  test_network = TML_RL_NET_MLP;
  struct tml_rl_trading_metrics ag, bh;
  double sigma;
  train_and_test(SHUFFLED, TML_RL_ACTIONS_TARGET3, &ag, &bh, &sigma);
  check_no_edge(&ag, &bh, sigma, "shuffled");
}

static struct tml_rl_agent *quick_agent(uint64_t seed) {
  struct tml_rl_market m;
  synth(&m, 3000, PLANTED, 7);
  struct tml_rl_env_opts eo;
  tml_rl_env_opts_default(&eo);
  struct tml_rl_ppo_params pp;
  small_params(&pp);
  pp.total_steps = 2048;
  pp.seed = seed;
  struct tml_rl_agent *a;
  struct tml_rl_train_report rep;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_agent_train(&m, 0, 2000, 2000, 3000, &eo, &pp, &a, &rep, &err), &err);
  tml_rl_market_release(&m);
  return a;
}

TEST(deterministic_for_seed) {
  test_network = TML_RL_NET_MLP;
  struct tml_rl_agent *a = quick_agent(1), *b = quick_agent(1), *c = quick_agent(2);
  CHECK(tml_rl_agent_equal(a, b));
  CHECK(!tml_rl_agent_equal(a, c));
  tml_rl_agent_free(a);
  tml_rl_agent_free(b);
  tml_rl_agent_free(c);
}

/* In a child of tml_test_in_limited_child: 0 when the agent file at arg is refused for its weight
 * count, 2 when loading ran out of memory (the message says it could not build the networks), 1
 * otherwise. */
static int agent_refused_for_weights(void *arg) {
  struct tml_error e;
  tml_error_init(&e);
  struct tml_rl_agent *b = NULL;
  int code = tml_rl_agent_load(arg, &b, &e);
  if (code == TML_EMODEL && b == NULL && strstr(e.msg, "weight count does not match the architecture") &&
      strstr(e.msg, "the architecture has "))
    return 0;
  return strstr(e.msg, "cannot build the networks") ? 2 : 1;
}

/* Writes the agent file `bytes` to path with n bytes at offset `at` replaced by v and the trailing
 * checksum recomputed: a file that passes the checksum but says something else. */
static void write_patched(const char *path, const char *bytes, size_t len, size_t at, const void *v, size_t n) {
  char *h = malloc(len);
  CHECK(h && at + n <= len - 8);
  memcpy(h, bytes, len);
  memcpy(h + at, v, n);
  uint64_t sum = tml_fnv1a64(TML_FNV64_INIT, h, len - 8);
  memcpy(h + len - 8, &sum, 8);
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(h, 1, len, f) == len);
  fclose(f);
  free(h);
}

TEST(save_load_roundtrip_and_corruption) {
  test_network = TML_RL_NET_MLP;
  struct tml_rl_agent *a = quick_agent(3);
  char *dir = tml_test_tmpdir("rl_agent_file");
  char path[512], bad[512];
  snprintf(path, sizeof(path), "%s/agent.bin", dir);
  snprintf(bad, sizeof(bad), "%s/bad.bin", dir);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_agent_save(a, path, &err), &err);
  struct tml_rl_agent *b;
  CHECK_OK(tml_rl_agent_load(path, &b, &err), &err);
  CHECK(tml_rl_agent_equal(a, b));
  float row[NFEAT] = {1, 0.5f, -0.2f, 0.1f}, pa[5], pb[5], va, vb;
  int aa, ab;
  tml_rl_agent_act(a, row, 0, 0, 0, pa, &va, &aa);
  tml_rl_agent_act(b, row, 0, 0, 0, pb, &vb, &ab);
  CHECK(memcmp(pa, pb, sizeof(pa)) == 0 && va == vb && aa == ab);
  double s = 0;
  for (int k = 0; k < 5; k++)
    s += (double)pa[k];
  CHECK_NEAR(s, 1.0, 1e-6);
  /* invalid-action masking: flat cannot exit, a long cannot enter or exit a short */
  CHECK(pa[TML_RL_EXIT_LONG] == 0 && pa[TML_RL_EXIT_SHORT] == 0);
  CHECK(aa == TML_RL_NEUTRAL || aa == TML_RL_ENTER_LONG || aa == TML_RL_ENTER_SHORT);
  tml_rl_agent_act(a, row, 1, 0.01, 3, pa, &va, &aa);
  CHECK(pa[TML_RL_ENTER_LONG] == 0 && pa[TML_RL_ENTER_SHORT] == 0 && pa[TML_RL_EXIT_SHORT] == 0);
  CHECK_NEAR((double)pa[TML_RL_NEUTRAL] + (double)pa[TML_RL_EXIT_LONG], 1.0, 1e-6);
  tml_rl_agent_free(b);
  size_t len;
  char *bytes = tml_test_read_file(path, &len);
  CHECK(bytes && len > 100);
  /* a flipped byte in the weights, a truncated file, another kind of file, a missing file */
  const char *cases[4] = {"flip", "truncate", "foreign", "missing"};
  for (int k = 0; k < 4; k++) {
    FILE *f = fopen(bad, "wb");
    CHECK(f);
    if (k == 0) {
      bytes[len / 2] ^= 0x40;
      fwrite(bytes, 1, len, f);
      bytes[len / 2] ^= 0x40;
    } else if (k == 1) {
      fwrite(bytes, 1, len - 20, f);
    } else if (k == 2) {
      fputs("{\"not\": \"an agent\"}", f);
    }
    fclose(f);
    if (k == 3)
      unlink(bad);
    tml_error_init(&err);
    b = NULL;
    CHECK_MSG(tml_rl_agent_load(bad, &b, &err) == TML_EMODEL, "case %s", cases[k]);
    CHECK(b == NULL);
    CHECK_CONTAINS(err.msg, "bad.bin");
    CHECK_CONTAINS(err.msg, "train the model again");
  }
  /* A scaler that is not a number (mean of the first feature, right after the version 2 network
   * fields at byte 56), checksum recomputed: refused, not a model that answers NaN */
  {
    float nan = NAN;
    write_patched(bad, bytes, len, 56, &nan, 4);
    tml_error_init(&err);
    b = NULL;
    CHECK_INT(tml_rl_agent_load(bad, &b, &err), TML_EMODEL);
    CHECK(b == NULL);
    CHECK_CONTAINS(err.msg, "non-finite feature scaler");
  }
  /* A feature row with missing values and an unknown profit (NaN; found by fuzz_nn_model, where the
   * NaN reached the network's exp as an undefined float-to-int conversion): a missing feature reads
   * as its mean and the profit as none, so the decision is a valid distribution over the actions. */
  {
    float nrow[NFEAT] = {NAN, 0.5f, INFINITY, -INFINITY}, np[5], nv;
    int na = -1;
    tml_rl_agent_act(a, nrow, 1, NAN, 2, np, &nv, &na);
    double total = 0;
    for (int k = 0; k < tml_rl_agent_action_count(a); k++) {
      CHECK_MSG(np[k] >= 0.0f && np[k] <= 1.0f, "action %d: probability %g", k, (double)np[k]);
      total += (double)np[k];
    }
    CHECK_NEAR(total, 1.0, 1e-6);
    CHECK(isfinite(nv) && na >= 0 && na < tml_rl_agent_action_count(a));
  }
  /* A header that passes the checksum but asks for 4096-wide hidden layers, as many as allowed
   * (~201M weights: 0.8 GB, 1.6 GB with gradients), over this file's few weights: refused before
   * the networks are allocated, with the counts in the message (which only the check before the
   * allocation writes), and where the address space allows 512 MB more than the child uses. */
  {
    uint32_t arch[2] = {4096, TML_NN_MLP_MAX_LAYERS - 1}; /* hidden and layers, at bytes 36 and 40 */
    write_patched(bad, bytes, len, 36, arch, sizeof arch);
    int code = tml_test_in_limited_child(agent_refused_for_weights, bad, 512);
    CHECK_MSG(code == 0,
              "4096-wide layers: the child exited with %d (2: out of memory, the networks were allocated before the "
              "weight count was checked; 1: not refused for its weights before allocating; 126: no address-space "
              "limit could be set; -1: the child crashed)",
              code);
  }
  free(bytes);
  free(dir);
  tml_rl_agent_free(a);
}

TEST(bad_params_and_too_few_candles) {
  test_network = TML_RL_NET_MLP;
  struct tml_rl_market m;
  synth(&m, 600, PLANTED, 1);
  struct tml_rl_env_opts eo;
  tml_rl_env_opts_default(&eo);
  struct tml_rl_ppo_params pp;
  small_params(&pp);
  struct tml_rl_agent *a = NULL;
  struct tml_rl_train_report rep;
  struct tml_error err;
  tml_error_init(&err);
  CHECK(tml_rl_agent_train(&m, 0, 200, 200, 600, &eo, &pp, &a, &rep, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "one episode needs rl.episode_candles + 1 = 257");
  CHECK(a == NULL);
  tml_error_init(&err);
  pp.clip = 5;
  CHECK(tml_rl_agent_train(&m, 0, 400, 400, 600, &eo, &pp, &a, &rep, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.clip = 5 is out of range");
  tml_error_init(&err);
  small_params(&pp);
  pp.minibatch = 4096;
  CHECK(tml_rl_agent_train(&m, 0, 400, 400, 600, &eo, &pp, &a, &rep, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.minibatch = 4096 is larger than a rollout");
  tml_error_init(&err);
  small_params(&pp);
  eo.fee_rate = -1;
  CHECK(tml_rl_agent_train(&m, 0, 400, 400, 600, &eo, &pp, &a, &rep, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.fee_rate");
  tml_rl_market_release(&m);
}

TEST(deterministic_for_seed_lstm) {
  test_network = TML_RL_NET_LSTM;
  struct tml_rl_agent *a = quick_agent(1), *b = quick_agent(1), *c = quick_agent(2);
  CHECK(tml_rl_agent_network(a) == TML_RL_NET_LSTM && tml_rl_agent_window(a) == 4);
  CHECK(tml_rl_agent_equal(a, b));
  CHECK(!tml_rl_agent_equal(a, c));
  tml_rl_agent_free(a);
  tml_rl_agent_free(b);
  tml_rl_agent_free(c);
}

static void write_bytes(const char *path, const char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f);
  CHECK(fwrite(b, 1, n, f) == n);
  fclose(f);
}

/* The checksum the agent file ends with, recomputed after an edit (a file that is consistent but says
 * something wrong must be refused by its content checks, not only by the checksum). */
static void reseal(char *b, size_t n) {
  uint64_t h = tml_fnv1a64(UINT64_C(14695981039346656037), b, n - 8);
  memcpy(b + n - 8, &h, 8);
}

/* The lstm agent's file: round trip (same weights, same decisions on a window), a corrupt file and a
 * consistent file with a bad network header refused naming the file; a version-1 file (an MLP agent
 * written before the network fields) still loads. */
TEST(save_load_lstm_and_version1) {
  test_network = TML_RL_NET_LSTM;
  struct tml_rl_agent *a = quick_agent(5);
  char *dir = tml_test_tmpdir("rl_agent_lstm");
  char path[512], bad[512];
  snprintf(path, sizeof(path), "%s/agent.bin", dir);
  snprintf(bad, sizeof(bad), "%s/bad.bin", dir);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_agent_save(a, path, &err), &err);
  struct tml_rl_agent *b = NULL;
  CHECK_OK(tml_rl_agent_load(path, &b, &err), &err);
  CHECK(tml_rl_agent_equal(a, b));
  size_t D = tml_rl_agent_obs_dim(a), L = tml_rl_agent_window(a);
  float *win = calloc(L * D, sizeof(float));
  for (size_t i = 0; i < L * D; i++)
    win[i] = (float)sin((double)i);
  for (size_t t = 0; t < L; t++) /* flat: no position flags */
    win[t * D + NFEAT] = win[t * D + NFEAT + 1] = 0;
  float pa[5], pb[5], va, vb;
  int aa, ab;
  tml_rl_agent_decide(a, win, pa, &va, &aa);
  tml_rl_agent_decide(b, win, pb, &vb, &ab);
  CHECK(memcmp(pa, pb, sizeof(pa)) == 0 && va == vb && aa == ab);
  /* the window matters: the oldest row changed, the decision's probabilities change */
  win[0] += 3;
  tml_rl_agent_decide(a, win, pb, NULL, NULL);
  CHECK(memcmp(pa, pb, sizeof(pa)) != 0);
  tml_rl_agent_free(b);
  size_t len;
  char *bytes = tml_test_read_file(path, &len);
  CHECK(bytes && len > 100);
  bytes[len - 30] ^= 0x10;
  write_bytes(bad, bytes, len);
  bytes[len - 30] ^= 0x10;
  b = NULL;
  tml_error_init(&err);
  CHECK(tml_rl_agent_load(bad, &b, &err) == TML_EMODEL && b == NULL);
  CHECK_CONTAINS(err.msg, "bad.bin': checksum mismatch");
  uint32_t v;
  memcpy(&v, bytes + 44, 4); /* magic 8, version 4, feature checksum 16, 4 x u32: the network */
  CHECK_INT(v, TML_RL_NET_LSTM);
  v = 7;
  memcpy(bytes + 44, &v, 4);
  reseal(bytes, len);
  write_bytes(bad, bytes, len);
  tml_error_init(&err);
  CHECK(tml_rl_agent_load(bad, &b, &err) == TML_EMODEL && b == NULL);
  CHECK_CONTAINS(err.msg, "bad.bin': bad network header; train the model again");
  free(bytes);
  tml_rl_agent_free(a);
  free(win);

  /* version 1: an MLP agent without the 12 bytes of network fields */
  test_network = TML_RL_NET_MLP;
  a = quick_agent(6);
  CHECK_OK(tml_rl_agent_save(a, path, &err), &err);
  bytes = tml_test_read_file(path, &len);
  CHECK(bytes);
  memmove(bytes + 44, bytes + 56, len - 56);
  len -= 12;
  v = 1;
  memcpy(bytes + 8, &v, 4);
  reseal(bytes, len);
  write_bytes(bad, bytes, len);
  CHECK_OK(tml_rl_agent_load(bad, &b, &err), &err);
  CHECK(tml_rl_agent_equal(a, b) && tml_rl_agent_network(b) == TML_RL_NET_MLP);
  tml_rl_agent_free(b);
  tml_rl_agent_free(a);
  free(bytes);
  free(dir);
}

/* The recurrent policy's PPO loss (clipped surrogate + value loss - entropy bonus, through the LSTM
 * over the window) against central finite differences, every parameter: LSTM, actor and critic.
 * The old log-probabilities are the current ones, so the ratios stay inside the clip for the
 * finite-difference steps (the objective is smooth there). Tolerances as tests/unit/nn/test_nn.c. */
TEST(gradcheck_recurrent_policy_loss) {
  struct tml_rl_env_opts eo;
  tml_rl_env_opts_default(&eo);
  eo.actions = TML_RL_ACTIONS_FIVE;
  struct tml_rl_ppo_params pp;
  tml_rl_ppo_params_default(&pp);
  pp.network = TML_RL_NET_LSTM;
  pp.lstm_hidden = 4;
  pp.window = 3;
  pp.hidden = 6;
  pp.layers = 1;
  pp.entropy_coef = 0.05;
  pp.seed = 9;
  const size_t n = 6, nfeat = 3;
  struct tml_rl_agent *a;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml__rl_agent_create(nfeat, &eo, &pp, n, &a, &err), &err);
  size_t D = tml_rl_agent_obs_dim(a), L = tml_rl_agent_window(a);
  float *W = malloc(n * L * D * sizeof(float)), adv[6], ret[6], oldp[6], probs[5];
  int32_t act[6];
  uint64_t s = 77;
  for (size_t j = 0; j < n; j++) {
    for (size_t t = 0; t < L; t++) {
      float *o = W + (j * L + t) * D;
      for (size_t k = 0; k < nfeat; k++)
        o[k] = (float)(unif(&s) * 2 - 1);
      int pos = (int)(rng_next(&s) % 3) - 1; /* the state part as the environment writes it */
      o[nfeat] = pos > 0 ? 1.0f : 0.0f;
      o[nfeat + 1] = pos < 0 ? 1.0f : 0.0f;
      o[nfeat + 2] = pos ? (float)(unif(&s) - 0.5) : 0.0f;
      o[nfeat + 3] = pos ? (float)unif(&s) : 0.0f;
    }
    tml_rl_agent_decide(a, W + j * L * D, probs, NULL, NULL);
    int k;
    do /* an action the mask allows in window j's last state */
      k = (int)(rng_next(&s) % 5);
    while (probs[k] <= 0);
    act[j] = k;
    oldp[j] = logf(probs[k]);
    adv[j] = (float)(unif(&s) * 2 - 1);
    ret[j] = (float)(unif(&s) * 2 - 1);
  }
  struct tml_nn_params *p = tml__rl_agent_params(a);
  tml_nn_params_zero_grad(p);
  double l0 = tml__rl_ppo_loss(a, W, act, oldp, adv, ret, n, &pp, true);
  CHECK(isfinite(l0));
  float *g = malloc(p->n * sizeof(float));
  memcpy(g, p->g, p->n * sizeof(float));
  size_t bad = 0, nonzero = 0;
  for (size_t i = 0; i < p->n; i++) {
    float keep = p->w[i];
    p->w[i] = (float)((double)keep + 1e-2);
    double lp = tml__rl_ppo_loss(a, W, act, oldp, adv, ret, n, &pp, false);
    p->w[i] = (float)((double)keep - 1e-2);
    double lm = tml__rl_ppo_loss(a, W, act, oldp, adv, ret, n, &pp, false);
    p->w[i] = keep;
    double num = (lp - lm) / 2e-2, an = (double)g[i];
    double m = fabs(an) > fabs(num) ? fabs(an) : fabs(num);
    nonzero += fabs(an) > 1e-4;
    if (fabs(an - num) > 2e-3 + 2e-2 * m) {
      if (bad < 5)
        fprintf(stderr, "param %zu of %zu: analytic %.6g numeric %.6g\n", i, p->n, an, num);
      bad++;
    }
  }
  CHECK_MSG(bad == 0, "%zu of %zu gradients differ from finite differences", bad, p->n);
  CHECK_MSG(nonzero > p->n / 2, "only %zu of %zu gradients are non-zero", nonzero, p->n);
  /* the LSTM's own weights (first in the store) receive gradient through the window */
  size_t lstm_n = 4 * pp.lstm_hidden * (D + pp.lstm_hidden + 1), lstm_nz = 0;
  for (size_t i = 0; i < lstm_n; i++)
    lstm_nz += fabs((double)g[i]) > 1e-5;
  CHECK_MSG(lstm_nz > lstm_n / 2, "only %zu of %zu LSTM gradients are non-zero", lstm_nz, lstm_n);
  free(g);
  free(W);
  tml_rl_agent_free(a);
}
