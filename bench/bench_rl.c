/* Speed of the rl strategy on one year of real 15m candles (issue 15):
 *   1. environment steps per second on one core (random actions), against a baseline in the same run
 *      that only copies each observation row (the least any environment must do per step);
 *   2. PPO training with the default rl.* settings: wall time, rollout (acting) and learning steps/s,
 *      for an MLP agent and an LSTM agent (rl.network) in the same run (ratio lstm / mlp);
 *   3. one-candle decision latency in the live path (the strategy's stream: features, fill of the previous
 *      decision, decision with the position), both agents, against the feature stream's push of one candle.
 * Usage: bench_rl [CSV] [THREADS] [rl.KEY=VALUE ...]
 *   default ../shared/data/binance-spot/BTCUSDT_15m_2023-2026.csv, 2 threads, the rl.* defaults.
 * The year is followed by a 30-day validation block (checkpoint choice) and a 30-day test block that
 * nothing was chosen on: the agent's net return there is out of sample (one block: an anecdote, not
 * a walk-forward).
 * Repeats: min and median of 5 runs for (1) and of 20000 calls for (3). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/import.h"
#include "trademl/nn.h"
#include "trademl/rl.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"

#define YEAR_CANDLES 35040 /* 365 days of 15m */
#define RUNS 5

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static uint64_t xs(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ULL;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "../shared/data/binance-spot/BTCUSDT_15m_2023-2026.csv";
  int threads = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 2;
  struct tml_candles all, c;
  struct tml_import_opts io = {.symbol = "BTCUSDT", .interval_ms = 0, .skip_bad_rows = false, .format = TML_IMPORT_AUTO};
  struct tml_import_report irep;
  struct tml_error err;
  tml_error_init(&err);
  if (tml_import_file(path, &io, &all, &irep, &err) != 0) {
    fprintf(stderr, "bench_rl: %s\n", err.msg);
    return 1;
  }
  /* the newest year plus validation and test blocks of 30 days and the features' warm-up */
  size_t want = YEAR_CANDLES + 60 * 96 + 1000;
  size_t from = all.len > want ? all.len - want : 0;
  if (tml_candles_slice(&all, from, all.len, &c) != 0)
    return 1;
  struct tml_rl_market m;
  if (tml_rl_market_build(&c, &m, &err) != 0) {
    fprintf(stderr, "bench_rl: %s\n", err.msg);
    return 1;
  }
  size_t fit_end = m.n > YEAR_CANDLES + 60 * 96 ? m.n - 60 * 96 : m.n * 4 / 5;
  size_t fit_begin = fit_end > YEAR_CANDLES ? fit_end - YEAR_CANDLES : 0;
  size_t valid_begin = fit_end + 12, test_begin = fit_end + 30 * 96 + 12; /* 12-candle purges */
  printf("== data: %s, %zu rows: fit %zu rows, validation %zu rows, test %zu rows\n", path, m.n, fit_end - fit_begin,
         test_begin - 12 - valid_begin, m.n - test_begin);

  /* 1. environment steps/s, one core */
  struct tml_rl_scaler sc;
  struct tml_rl_env_opts eo;
  tml_rl_env_opts_default(&eo);
  struct tml_rl_env *e;
  if (tml_rl_scaler_fit(&m, fit_begin, fit_end, &sc, &err) || tml_rl_env_create(&m, fit_begin, fit_end, &sc, &eo, &e, &err)) {
    fprintf(stderr, "bench_rl: %s\n", err.msg);
    return 1;
  }
  size_t dim = tml_rl_env_obs_dim(e), nsteps = 4000000;
  float *obs = malloc(dim * sizeof(float));
  float *Xs = malloc((fit_end - fit_begin) * m.nfeat * sizeof(float));
  for (size_t r = fit_begin; r < fit_end; r++)
    tml_rl_scaler_apply(&sc, m.X + r * m.nfeat, Xs + (r - fit_begin) * m.nfeat);
  double env_rate[RUNS], base_rate[RUNS];
  double sink = 0;
  for (int run = 0; run < RUNS; run++) {
    uint64_t s = 12345;
    bool done = false;
    tml_rl_env_reset(e, fit_begin, 0, obs);
    double t0 = tml_monotonic_s();
    for (size_t k = 0; k < nsteps; k++) {
      int a = (int)(xs(&s) % 5);
      sink += (double)tml_rl_env_step(e, a, obs, &done);
      if (done)
        tml_rl_env_reset(e, fit_begin, 0, obs);
    }
    env_rate[run] = (double)nsteps / (tml_monotonic_s() - t0);
    /* baseline: copy the observation row and draw the action, nothing else */
    size_t row = 0, nrows = fit_end - fit_begin;
    s = 12345;
    t0 = tml_monotonic_s();
    for (size_t k = 0; k < nsteps; k++) {
      int a = (int)(xs(&s) % 5);
      memcpy(obs, Xs + row * m.nfeat, m.nfeat * sizeof(float));
      sink += (double)obs[a];
      if (++row == nrows)
        row = 0;
    }
    base_rate[run] = (double)nsteps / (tml_monotonic_s() - t0);
  }
  qsort(env_rate, RUNS, sizeof(double), cmp_d);
  qsort(base_rate, RUNS, sizeof(double), cmp_d);
  printf("== environment, one core, %zu random steps x %d runs\n", nsteps, RUNS);
  printf("  env step:            min %.2f M/s, median %.2f M/s\n", env_rate[0] / 1e6, env_rate[RUNS / 2] / 1e6);
  printf("  baseline (row copy): min %.2f M/s, median %.2f M/s   env/baseline (median) = %.2f\n", base_rate[0] / 1e6,
         base_rate[RUNS / 2] / 1e6, env_rate[RUNS / 2] / base_rate[RUNS / 2]);

  /* 2. training with the default settings (plus the command line's), an MLP agent and an LSTM agent in
   * the same run: same data, seed, budget and threads; only rl.network differs */
  struct tml_rl_ppo_params pp;
  struct tml_config *cfg;
  if (tml_config_load(NULL, "/tmp", &cfg, &err) != 0) {
    fprintf(stderr, "bench_rl: %s\n", err.msg);
    return 1;
  }
  for (int i = 3; i < argc; i++) {
    char key[128];
    const char *eq = strchr(argv[i], '=');
    if (!eq || (size_t)(eq - argv[i]) >= sizeof(key)) {
      fprintf(stderr, "bench_rl: '%s' is not rl.KEY=VALUE\n", argv[i]);
      return 2;
    }
    memcpy(key, argv[i], (size_t)(eq - argv[i]));
    key[eq - argv[i]] = 0;
    if (tml_config_set(cfg, key, eq + 1, TML_CFG_FLAG, argv[i], &err) != 0) {
      fprintf(stderr, "bench_rl: %s\n", err.msg);
      return 2;
    }
  }
  if (tml_rl_opts_from_config(cfg, &eo, &pp, &err) != 0) {
    fprintf(stderr, "bench_rl: %s\n", err.msg);
    return 2;
  }
  tml_config_free(cfg);
  tml_nn_set_threads(threads);
  struct tml_rl_agent *agents[2] = {NULL, NULL};
  double walls[2];
  for (int k = 0; k < 2; k++) {
    pp.network = k == 0 ? TML_RL_NET_MLP : TML_RL_NET_LSTM;
    struct tml_rl_agent *agent;
    struct tml_rl_train_report rep;
    double t0 = tml_monotonic_s();
    if (tml_rl_agent_train(&m, fit_begin, fit_end, valid_begin, test_begin - 12, &eo, &pp, &agent, &rep, &err) != 0) {
      fprintf(stderr, "bench_rl: %s\n", err.msg);
      return 1;
    }
    double wall = tml_monotonic_s() - t0;
    walls[k] = wall;
    agents[k] = agent;
    double transitions_learned = (double)rep.env_steps * pp.epochs;
    if (k == 0)
      printf("== PPO training, network mlp (hidden %zu x %zu)", pp.hidden, pp.layers);
    else
      printf("== PPO training, network lstm (LSTM %zu units over a window of %zu, then hidden %zu x %zu)",
             pp.lstm_hidden, pp.window, pp.hidden, pp.layers);
    printf(", %" PRIu64 " steps = %.1f passes over the year, %d BLAS threads\n", rep.env_steps,
           (double)rep.env_steps / (double)(fit_end - fit_begin), threads);
    printf("  wall %.2f s (rollout %.2f s, learning %.2f s, validation %.2f s)\n", wall, rep.rollout_seconds,
           rep.learn_seconds, rep.eval_seconds);
    printf("  rollout %.0f steps/s, learning %.0f transition-updates/s (%d epochs), %zu updates\n",
           (double)rep.env_steps / rep.rollout_seconds, transitions_learned / rep.learn_seconds, pp.epochs, rep.updates);
    printf("  kept rollout %d of %zu (validation net return %.4f, optimistic: chosen there), last entropy %.3f\n",
           rep.best_rollout, rep.rollouts, rep.best_valid_return, rep.last_entropy);
    struct tml_rl_env *te;
    struct tml_rl_trading_metrics tm, bh;
    if (tml_rl_agent_env_create(agent, &m, test_begin, m.n, &te, &err) == 0) {
      tml_rl_evaluate(te, tml_rl_agent_policy, agent, &tm, NULL, &err);
      tml_rl_evaluate_baseline(te, TML_RL_BASE_BUY_HOLD, &bh, &err);
      printf("  test block (out of sample): agent net %.4f (trades %zu, exposure %.2f, fees %.4f, max drawdown %.3f), "
             "buy-and-hold %.4f, flat 0\n",
             tm.net_return, tm.trades, tm.exposure, tm.fees_paid, tm.max_drawdown, bh.net_return);
      tml_rl_env_destroy(te);
    }
  }
  printf("  training wall lstm / mlp = %.2f\n", walls[1] / walls[0]);

  /* 3. one candle in the live path (the strategy's stream: its features enter the window, the previous
   * decision fills, the agent decides with its position) against the feature stream's push of the same
   * candle, for both agents over the same candles */
  enum { CALLS = 20000 };
  static double act_us[2][CALLS], push_us[CALLS];
  struct tml_featureset_opts fo = {c.interval_ms, 0};
  struct tml_feature_stream *fs;
  struct tml_rl_stream *rs[2];
  if (tml_feature_stream_create(&fo, &fs, &err) != 0 || tml_rl_stream_create(agents[0], &rs[0], &err) != 0 ||
      tml_rl_stream_create(agents[1], &rs[1], &err) != 0)
    return 1;
  float row[256], probs[8], value;
  int action;
  size_t n = 0;
  for (size_t i = 0; i < c.len && n < CALLS; i++) {
    bool ready;
    double a0 = tml_monotonic_s();
    tml_feature_stream_push(fs, c.open_time[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i], row, &ready);
    double a1 = tml_monotonic_s();
    if (!ready)
      continue;
    struct tml_rl_candle cd = {c.open[i], c.high[i], c.low[i], c.close[i]};
    push_us[n] = (a1 - a0) * 1e6;
    for (int k = 0; k < 2; k++) {
      double b0 = tml_monotonic_s();
      tml_rl_stream_push_features(rs[k], row);
      tml_rl_stream_trade(rs[k], &cd, c.interval_ms, probs, &value, &action);
      act_us[k][n] = (tml_monotonic_s() - b0) * 1e6;
      sink += (double)value;
    }
    n++;
  }
  qsort(push_us, n, sizeof(double), cmp_d);
  printf("== one-candle decision in the live path (%zu candles)\n", n);
  for (int k = 0; k < 2; k++) {
    qsort(act_us[k], n, sizeof(double), cmp_d);
    printf("  %-4s stream step (probabilities + value + position): min %.2f us, median %.2f us, p99 %.2f us\n",
           k ? "lstm" : "mlp", act_us[k][0], act_us[k][n / 2], act_us[k][n * 99 / 100]);
  }
  printf("  baseline feature push:                min %.2f us, median %.2f us\n", push_us[0], push_us[n / 2]);
  printf("  mlp/push %.2f, lstm/push %.2f, lstm/mlp %.2f (medians)\n", act_us[0][n / 2] / push_us[n / 2],
         act_us[1][n / 2] / push_us[n / 2], act_us[1][n / 2] / act_us[0][n / 2]);
  for (int k = 0; k < 2; k++) {
    const struct tml_rl_account *ac = tml_rl_stream_account(rs[k]);
    printf("  %s paper account after the candles: position %d, equity %.4f, %zu trades\n", k ? "lstm" : "mlp", ac->pos,
           ac->equity, ac->st.trades);
    tml_rl_stream_destroy(rs[k]);
    tml_rl_agent_free(agents[k]);
  }
  if (sink == 1.2345)
    puts("");
  tml_feature_stream_destroy(fs);
  tml_rl_env_destroy(e);
  free(obs);
  free(Xs);
  tml_rl_market_release(&m);
  tml_candles_release(&c);
  tml_candles_release(&all);
  return 0;
}
