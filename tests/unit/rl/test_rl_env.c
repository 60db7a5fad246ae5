/* The rl trading environment: costs and trades checked by hand, no look-ahead (prefix invariance on
 * real candles), baselines, bad options. */
#include "test.h"

#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/rl.h"
#include "trademl/series.h"

#define BTC15 "binance-spot/BTCUSDT_15m_2023-2026.csv"

/* A market of n hand-written candles with one constant feature column. */
static void hand_market(struct tml_rl_market *m, size_t n, const double (*ohlc)[4]) {
  memset(m, 0, sizeof(*m));
  m->n = n;
  m->nfeat = 1;
  m->interval_ms = 15 * 60 * 1000;
  m->time = calloc(n, sizeof(int64_t));
  m->open = calloc(n, sizeof(double));
  m->high = calloc(n, sizeof(double));
  m->low = calloc(n, sizeof(double));
  m->close = calloc(n, sizeof(double));
  m->X = calloc(n, sizeof(float));
  for (size_t i = 0; i < n; i++) {
    m->time[i] = (int64_t)i * m->interval_ms;
    m->open[i] = ohlc[i][0];
    m->high[i] = ohlc[i][1];
    m->low[i] = ohlc[i][2];
    m->close[i] = ohlc[i][3];
    m->X[i] = (float)i;
  }
}

static const double HAND[5][4] = {
    {100, 101, 99, 100},
    {100, 100.2, 98, 100.1}, /* open + slippage above the high: the fill is clamped to 100.2 */
    {101, 103, 100, 102},
    {102, 102, 96, 97},
    {97, 98, 95, 96},
};

struct script {
  const int *actions;
  size_t n, k;
};
static int scripted(void *ctx, const float *obs, size_t row, int position, int *action) {
  if (!obs)
    return 0; /* the episode starts */
  (void)row;
  (void)position;
  struct script *s = ctx;
  *action = s->k < s->n ? s->actions[s->k] : 0;
  s->k++;
  return 0;
}

static struct tml_rl_env *make_env(const struct tml_rl_market *m, size_t begin, size_t end,
                                   const struct tml_rl_env_opts *o) {
  struct tml_rl_scaler s;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_scaler_fit(m, begin, end, &s, &err), &err);
  struct tml_rl_env *e;
  CHECK_OK(tml_rl_env_create(m, begin, end, &s, o, &e, &err), &err);
  return e;
}

/* Long from row 1's open to row 3's open, then short from row 4's open to row 4's close (forced exit):
 * every price, fee and slippage written out by hand. */
TEST(hand_checked_episode) {
  struct tml_rl_market m;
  hand_market(&m, 5, HAND);
  struct tml_rl_env_opts o;
  tml_rl_env_opts_default(&o);
  o.fee_rate = 0.001;
  o.slippage_range = 0.1;
  struct tml_rl_env *e = make_env(&m, 0, 5, &o);
  const int acts[] = {TML_RL_ENTER_LONG, TML_RL_NEUTRAL, TML_RL_EXIT_LONG, TML_RL_ENTER_SHORT};
  struct script sc = {acts, 4, 0};
  struct tml_rl_trading_metrics tm;
  double eq[5];
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_evaluate(e, scripted, &sc, &tm, eq, &err), &err);
  CHECK_INT(tm.steps, 4);
  CHECK_INT(tm.trades, 2);
  /* Long: buy at min(100 + 0.1*2.2, 100.2) = 100.2, qty = 1/100.2, fee 0.001. */
  double q1 = 1.0 / 100.2;
  CHECK_NEAR(eq[1], 1 - 0.001 + q1 * (100.1 - 100.2), 1e-12);
  CHECK_NEAR(eq[2], 1 - 0.001 + q1 * (102 - 100.2), 1e-12);
  /* Exit: sell at 102 - 0.1*6 = 101.4, fee 0.001 * q1 * 101.4. */
  double b1 = 1 - 0.001 + q1 * (101.4 - 100.2) - 0.001 * q1 * 101.4;
  CHECK_NEAR(eq[3], b1, 1e-12);
  /* Short: sell at 97 - 0.1*3 = 96.7, qty = b1/96.7, fee 0.001*b1; forced exit at close 96 with fee. */
  double q2 = b1 / 96.7;
  double b2 = b1 - 0.001 * b1 + q2 * (96.7 - 96) - 0.001 * q2 * 96;
  CHECK_NEAR(eq[4], b2, 1e-12);
  CHECK_NEAR(tm.net_return, b2 - 1, 1e-12);
  const struct tml_rl_stats *st = tml_rl_env_stats(e);
  double fees = 0.001 + 0.001 * q1 * 101.4 + 0.001 * b1 + 0.001 * q2 * 96;
  CHECK_NEAR(st->fees, fees, 1e-12);
  double slip = q1 * (100.2 - 100) + q1 * (102 - 101.4) + q2 * (97 - 96.7);
  CHECK_NEAR(st->slippage, slip, 1e-12);
  CHECK_NEAR(tm.fees_paid, fees + slip, 1e-12);
  CHECK_INT(st->closed, 2);
  CHECK_INT(st->wins, 2); /* the long made 1.2 on 100.2, the short 0.7 on 96.7, both above fees */
  CHECK_NEAR(tm.profit_factor, 1e9, 0);
  CHECK_NEAR(tm.exposure, 3.0 / 4.0, 1e-12); /* in a position through rows 1, 2 and 4 */
  CHECK_NEAR(tm.win_rate, 1.0, 0);
  /* Drawdown by its definition over the hand-checked curve: the largest 1 - eq[k] / max(eq[0..k]). */
  double mdd = 0, pk = 1;
  for (int k = 0; k < 5; k++) {
    pk = eq[k] > pk ? eq[k] : pk;
    mdd = 1 - eq[k] / pk > mdd ? 1 - eq[k] / pk : mdd;
  }
  CHECK(mdd > 0.005); /* eq[2] -> eq[3]: the exit fills at 101.4, below row 2's close 102 */
  CHECK_NEAR(tm.max_drawdown, mdd, 1e-12);
  tml_rl_env_destroy(e);
  tml_rl_market_release(&m);
}

/* Invalid five-action moves are ignored and counted; rewards sum to the equity change. */
TEST(invalid_actions_ignored) {
  struct tml_rl_market m;
  hand_market(&m, 5, HAND);
  struct tml_rl_env_opts o;
  tml_rl_env_opts_default(&o);
  struct tml_rl_env *e = make_env(&m, 0, 5, &o);
  float obs[1 + TML_RL_STATE_DIM];
  CHECK_INT(tml_rl_env_reset(e, 0, 0, obs), 0);
  bool done;
  double sum = 0;
  sum += (double)tml_rl_env_step(e, TML_RL_EXIT_LONG, obs, &done); /* flat: invalid */
  CHECK_INT(tml_rl_env_position(e), 0);
  sum += (double)tml_rl_env_step(e, TML_RL_ENTER_SHORT, obs, &done);
  CHECK_INT(tml_rl_env_position(e), -1);
  CHECK(obs[2] == 1.0f); /* short flag */
  sum += (double)tml_rl_env_step(e, TML_RL_ENTER_LONG, obs, &done); /* in a position: invalid */
  CHECK_INT(tml_rl_env_position(e), -1);
  CHECK_INT(tml_rl_env_stats(e)->invalid, 2);
  CHECK_INT(tml_rl_env_stats(e)->trades, 1);
  CHECK(!done);
  sum += (double)tml_rl_env_step(e, TML_RL_NEUTRAL, obs, &done);
  CHECK(done);
  CHECK_NEAR(sum, tml_rl_env_equity(e) - 1.0, 1e-6);
  tml_rl_env_destroy(e);
  tml_rl_market_release(&m);
}

/* Target-position actions reverse in one step and pay two fees (exit and entry). */
TEST(target3_reversal_pays_two_fees) {
  struct tml_rl_market m;
  hand_market(&m, 5, HAND);
  struct tml_rl_env_opts o;
  tml_rl_env_opts_default(&o);
  o.actions = TML_RL_ACTIONS_TARGET3;
  o.fee_rate = 0.001;
  o.slippage_range = 0;
  struct tml_rl_env *e = make_env(&m, 0, 5, &o);
  float obs[1 + TML_RL_STATE_DIM];
  CHECK_INT(tml_rl_env_reset(e, 0, 0, obs), 0);
  bool done;
  tml_rl_env_step(e, TML_RL_LONG, obs, &done);  /* buy at 100 */
  tml_rl_env_step(e, TML_RL_SHORT, obs, &done); /* at 101: sell the long, sell short */
  CHECK_INT(tml_rl_env_position(e), -1);
  const struct tml_rl_stats *st = tml_rl_env_stats(e);
  CHECK_INT(st->trades, 2);
  CHECK_INT(st->closed, 1);
  double q1 = 1.0 / 100, b1 = 0.999 + q1 * (101 - 100) - 0.001 * q1 * 101;
  CHECK_NEAR(st->fees, 0.001 + 0.001 * q1 * 101 + 0.001 * b1, 1e-12);
  CHECK_NEAR(tml_rl_env_equity(e), b1 * 0.999 + (b1 / 101) * (101 - 102), 1e-12);
  tml_rl_env_destroy(e);
  tml_rl_market_release(&m);
}

/* Funding: a long pays a positive rate pro rata of 8 h on its notional at each close; a short receives. */
TEST(funding_sign_and_amount) {
  struct tml_rl_market m;
  hand_market(&m, 5, HAND);
  struct tml_rl_env_opts o;
  tml_rl_env_opts_default(&o);
  o.fee_rate = 0;
  o.slippage_range = 0;
  o.funding_rate_8h = 0.0008; /* 15m = 1/32 of 8 h: 0.000025 per candle */
  for (int side = 0; side < 2; side++) {
    struct tml_rl_env *e = make_env(&m, 0, 5, &o);
    float obs[1 + TML_RL_STATE_DIM];
    CHECK_INT(tml_rl_env_reset(e, 0, 0, obs), 0);
    bool done;
    tml_rl_env_step(e, side == 0 ? TML_RL_ENTER_LONG : TML_RL_ENTER_SHORT, obs, &done);
    double q = 1.0 / 100, f = 0.000025 * q * 100.1;
    CHECK_NEAR(tml_rl_env_stats(e)->funding, side == 0 ? f : -f, 1e-15);
    double pnl = (side == 0 ? 1 : -1) * q * (100.1 - 100);
    CHECK_NEAR(tml_rl_env_equity(e), 1 + pnl - (side == 0 ? f : -f), 1e-14);
    tml_rl_env_destroy(e);
  }
  tml_rl_market_release(&m);
}

/* Buy-and-hold and flat on the same rows and costs; a direction-following policy with perfect targets
 * beats both, and one with the targets reversed loses. */
TEST(baselines) {
  struct tml_rl_market m;
  hand_market(&m, 5, HAND);
  struct tml_rl_env_opts o;
  tml_rl_env_opts_default(&o);
  o.fee_rate = 0.001;
  o.slippage_range = 0;
  struct tml_rl_env *e = make_env(&m, 0, 5, &o);
  struct tml_rl_trading_metrics bh, flat, good, bad;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_evaluate_baseline(e, TML_RL_BASE_BUY_HOLD, &bh, &err), &err);
  /* buy at open[1] = 100, sell at the last close 96, a fee each side */
  double expect = 1 - 0.001 + (1.0 / 100) * (96 - 100) - 0.001 * (1.0 / 100) * 96;
  CHECK_NEAR(bh.net_return, expect - 1, 1e-12);
  CHECK_INT(bh.trades, 1);
  CHECK_NEAR(bh.exposure, 1.0, 0);
  CHECK_OK(tml_rl_evaluate_baseline(e, TML_RL_BASE_FLAT, &flat, &err), &err);
  CHECK_NEAR(flat.net_return, 0, 0);
  CHECK_INT(flat.trades, 0);
  CHECK_NEAR(flat.fees_paid, 0, 0);
  CHECK_NEAR(flat.sharpe, 0, 0);
  /* decisions at rows 0..3 fill at the next open: up 100->101->102, then down 102->97->96 */
  const int8_t up_then_down[5] = {1, 1, -1, -1, 0};
  const int8_t reversed[5] = {-1, -1, 1, 1, 0};
  CHECK_OK(tml_rl_evaluate_targets(e, up_then_down, &good, &err), &err);
  CHECK_OK(tml_rl_evaluate_targets(e, reversed, &bad, &err), &err);
  CHECK_MSG(good.net_return > 0.02 && good.net_return > bh.net_return, "good %g bh %g", good.net_return,
            bh.net_return);
  CHECK_MSG(bad.net_return < -0.02, "bad %g", bad.net_return);
  CHECK(tml_rl_evaluate_baseline(e, TML_RL_BASE_DIRECTION, &bad, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "needs per-row targets");
  tml_rl_env_destroy(e);
  tml_rl_market_release(&m);
}

/* xorshift64* */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}

/* No look-ahead: an episode over a prefix of the candles gives bit-identical observations and rewards
 * to the same episode over the full series, for every step the prefix holds (the feature test's
 * prefix-invariance method, applied to the reward). Random actions, both action spaces, with funding
 * and both shaping terms on. */
TEST(prefix_invariance_real_candles) {
  char *path = tml_test_data_file(BTC15);
  struct tml_candles c;
  CHECK(tml_test_load_candles(path, "BTCUSDT", 6000, &c) > 0);
  free(path);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_rl_market full;
  CHECK_OK(tml_rl_market_build(&c, &full, &err), &err);
  const size_t cuts[] = {3001, 4000, 5555};
  for (int sp = 0; sp < 2; sp++) {
    struct tml_rl_env_opts o;
    tml_rl_env_opts_default(&o);
    o.actions = sp ? TML_RL_ACTIONS_TARGET3 : TML_RL_ACTIONS_FIVE;
    o.funding_rate_8h = 0.0001;
    o.drawdown_penalty = 0.5;
    o.holding_penalty = 0.00001;
    struct tml_rl_scaler s;
    CHECK_OK(tml_rl_scaler_fit(&full, 0, 2000, &s, &err), &err);
    for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
      size_t len = c.len;
      c.len = cuts[k];
      struct tml_rl_market pre;
      CHECK_OK(tml_rl_market_build(&c, &pre, &err), &err);
      c.len = len;
      CHECK_INT(pre.n, cuts[k] - (c.len - full.n));
      struct tml_rl_env *ef, *ep;
      CHECK_OK(tml_rl_env_create(&full, 2000, full.n, &s, &o, &ef, &err), &err);
      CHECK_OK(tml_rl_env_create(&pre, 2000, pre.n, &s, &o, &ep, &err), &err);
      size_t dim = tml_rl_env_obs_dim(ef);
      float of[80], op[80];
      CHECK(dim <= 80);
      CHECK_INT(tml_rl_env_reset(ef, 2000, 0, of), 0);
      CHECK_INT(tml_rl_env_reset(ep, 2000, 0, op), 0);
      uint64_t seed = 0x9E3779B97F4A7C15ULL + k;
      bool dp = false, df = false;
      size_t steps = 0;
      while (!dp) {
        CHECK_MSG(memcmp(of, op, dim * sizeof(float)) == 0, "observation differs at step %zu (cut %zu)", steps,
                  cuts[k]);
        int a = (int)(rng_next(&seed) % (uint64_t)tml_rl_env_action_count(ef));
        float rf = tml_rl_env_step(ef, a, of, &df);
        float rp = tml_rl_env_step(ep, a, op, &dp);
        CHECK_MSG(memcmp(&rf, &rp, sizeof(float)) == 0, "reward differs at step %zu (cut %zu): %g vs %g", steps,
                  cuts[k], (double)rf, (double)rp);
        steps++;
      }
      CHECK(!df);
      CHECK_INT(steps, pre.n - 2000 - 1);
      CHECK(memcmp(of, op, dim * sizeof(float)) == 0);
      CHECK(tml_rl_env_stats(ef)->trades > 10);
      tml_rl_env_destroy(ef);
      tml_rl_env_destroy(ep);
      tml_rl_market_release(&pre);
    }
  }
  tml_rl_market_release(&full);
  tml_candles_release(&c);
}

/* Perturbing every candle after row t changes nothing the agent saw or was paid up to row t. */
TEST(future_candles_do_not_reach_reward) {
  struct tml_rl_market m;
  hand_market(&m, 5, HAND);
  struct tml_rl_env_opts o;
  tml_rl_env_opts_default(&o);
  o.drawdown_penalty = 1;
  struct tml_rl_env *e = make_env(&m, 0, 5, &o);
  float obs[1 + TML_RL_STATE_DIM];
  bool done;
  tml_rl_env_reset(e, 0, 0, obs);
  float r0 = tml_rl_env_step(e, TML_RL_ENTER_LONG, obs, &done);
  float r1 = tml_rl_env_step(e, TML_RL_NEUTRAL, obs, &done);
  /* row 3 and 4 change */
  m.open[3] = 50;
  m.low[3] = 40;
  m.close[4] = 300;
  m.high[4] = 310;
  tml_rl_env_reset(e, 0, 0, obs);
  CHECK(tml_rl_env_step(e, TML_RL_ENTER_LONG, obs, &done) == r0);
  CHECK(tml_rl_env_step(e, TML_RL_NEUTRAL, obs, &done) == r1);
  tml_rl_env_destroy(e);
  tml_rl_market_release(&m);
}

TEST(bad_options) {
  struct tml_rl_market m;
  hand_market(&m, 5, HAND);
  struct tml_rl_scaler s;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rl_scaler_fit(&m, 0, 5, &s, &err), &err);
  struct tml_rl_env_opts o;
  struct tml_rl_env *e = NULL;
  tml_rl_env_opts_default(&o);
  o.fee_rate = 0.05;
  CHECK(tml_rl_env_create(&m, 0, 5, &s, &o, &e, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.fee_rate = 0.05 is out of range");
  CHECK(e == NULL);
  tml_error_init(&err);
  tml_rl_env_opts_default(&o);
  o.slippage_range = -0.1;
  CHECK(tml_rl_env_create(&m, 0, 5, &s, &o, &e, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.slippage_range");
  tml_error_init(&err);
  o.slippage_range = NAN;
  CHECK(tml_rl_env_create(&m, 0, 5, &s, &o, &e, &err) == TML_EINVAL);
  tml_error_init(&err);
  tml_rl_env_opts_default(&o);
  CHECK(tml_rl_env_create(&m, 3, 4, &s, &o, &e, &err) == TML_EDATA);
  CHECK_CONTAINS(err.msg, "an episode needs at least 2");
  tml_error_init(&err);
  CHECK(tml_rl_env_create(&m, 3, 9, &s, &o, &e, &err) == TML_EINVAL);
  tml_error_init(&err);
  enum tml_rl_action_space sp;
  CHECK(tml_rl_action_space_parse("seven", "rl.action_space", &sp, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.action_space: unknown action space 'seven'");
  CHECK_OK(tml_rl_action_space_parse("target3", "rl.action_space", &sp, &err), &err);
  CHECK_INT(sp, TML_RL_ACTIONS_TARGET3);
  bool dd, hold;
  tml_error_init(&err);
  CHECK_OK(tml_rl_reward_terms_parse("equity, drawdown", "rl.reward", &dd, &hold, &err), &err);
  CHECK(dd && !hold);
  CHECK(tml_rl_reward_terms_parse("drawdown,sortino", "rl.reward", &dd, &hold, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "unknown reward term 'sortino'");
  tml_rl_market_release(&m);
}

/* The rl.* keys reach the options; a bad value names the key. */
TEST(config_keys) {
  struct tml_config *cfg;
  struct tml_error err;
  tml_error_init(&err);
  char *home = tml_test_tmpdir("rl_config");
  CHECK_OK(tml_config_load(NULL, home, &cfg, &err), &err);
  struct tml_rl_env_opts eo;
  struct tml_rl_ppo_params pp;
  CHECK_OK(tml_rl_opts_from_config(cfg, &eo, &pp, &err), &err);
  CHECK_INT(eo.actions, TML_RL_ACTIONS_FIVE);
  CHECK_NEAR(eo.fee_rate, 0.00055, 0);
  CHECK_NEAR(eo.drawdown_penalty, 0, 0); /* the term is off unless rl.reward lists it */
  CHECK_INT(pp.hidden, 64);
  CHECK_INT(pp.total_steps, 300000);
  CHECK_OK(tml_config_set(cfg, "rl.action_space", "target3", TML_CFG_FLAG, "--rl-action-space", &err), &err);
  CHECK_OK(tml_config_set(cfg, "rl.reward", "equity,drawdown", TML_CFG_FLAG, "--rl-reward", &err), &err);
  CHECK_OK(tml_config_set(cfg, "rl.hidden", "16", TML_CFG_FLAG, "--rl-hidden", &err), &err);
  CHECK_OK(tml_rl_opts_from_config(cfg, &eo, &pp, &err), &err);
  CHECK_INT(eo.actions, TML_RL_ACTIONS_TARGET3);
  CHECK_NEAR(eo.drawdown_penalty, 0.5, 0);
  CHECK_INT(pp.hidden, 16);
  CHECK(tml_config_set(cfg, "rl.action_space", "seven", TML_CFG_FLAG, "--rl-action-space", &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.action_space");
  tml_error_init(&err);
  CHECK(tml_config_set(cfg, "rl.fee_rate", "0.5", TML_CFG_FLAG, "--rl-fee-rate", &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.fee_rate");
  tml_error_init(&err);
  CHECK_OK(tml_config_set(cfg, "rl.reward", "equity,sharpe", TML_CFG_FLAG, "--rl-reward", &err), &err);
  CHECK(tml_rl_opts_from_config(cfg, &eo, &pp, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.reward: unknown reward term 'sharpe'");
  tml_config_free(cfg);
  free(home);
}
