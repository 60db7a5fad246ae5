/* Strategy `rl` behind the strategy table on real candles: fit on a fold's rows, the five heads
 * (direction from the agent, the others NaN), stream = batch, the agent's own trading next to the
 * baselines, save/load round trip, refused folders and datasets. */
#include "test.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/dataset.h"
#include "trademl/error.h"
#include "trademl/modelset.h"
#include "trademl/modelstream.h"
#include "trademl/predict.h"
#include "trademl/rl.h"
#include "trademl/series.h"
#include "trademl/store.h"
#include "trademl/strategy.h"
#include "trademl/train.h"

#define BTC15 "binance-spot/BTCUSDT_15m_2023-2026.csv"

/* Values per row of head h: nclass, or 1 for a regression head (as tml_strategy_head_width). */
static size_t head_width(enum tml_head h) {
  int k = tml_head_nclass(h);
  return k > 0 ? (size_t)k : 1;
}

static void load_dataset(size_t candles, struct tml_candles *c, struct tml_dataset *d) {
  char *path = tml_test_data_file(BTC15);
  CHECK(tml_test_load_candles(path, "BTCUSDT", candles, c) > 0);
  free(path);
  struct tml_dataset_opts o;
  memset(&o, 0, sizeof(o));
  tml_label_spec_default(&o.labels);
  o.encoding = TML_ENC_NONE;
  o.from_ms = INT64_MIN;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_dataset_build(c, 1, &o, d, &err), &err);
}

static struct tml_config *small_config(void) {
  struct tml_config *cfg;
  struct tml_error err;
  tml_error_init(&err);
  char *home = tml_test_tmpdir("strategy_rl_cfg");
  CHECK_OK(tml_config_load(NULL, home, &cfg, &err), &err);
  free(home);
  const char *kv[][2] = {{"rl.total_steps", "4096"}, {"rl.hidden", "16"},       {"rl.n_envs", "4"},
                         {"rl.rollout_steps", "128"}, {"rl.episode_candles", "256"}, {"rl.minibatch", "128"}};
  for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
    CHECK_OK(tml_config_set(cfg, kv[i][0], kv[i][1], TML_CFG_FLAG, "--test", &err), &err);
  return cfg;
}

/* The dataset carries each row's candle: the environment fills inside it. */
TEST(dataset_rows_carry_their_candle) {
  struct tml_candles c;
  struct tml_dataset d;
  load_dataset(3000, &c, &d);
  for (size_t r = 0; r < d.nrows; r += 97) {
    size_t i = tml_candles_lower_bound(&c, d.time[r]);
    CHECK(i < c.len && c.open_time[i] == d.time[r]);
    CHECK(d.open[r] == c.open[i] && d.high[r] == c.high[i] && d.low[r] == c.low[i] && d.close[r] == c.close[i]);
  }
  tml_dataset_release(&d);
  tml_candles_release(&c);
}

TEST(fit_predict_stream_trade_save_load) {
  struct tml_candles c;
  struct tml_dataset d;
  load_dataset(6000, &c, &d);
  CHECK(d.nrows > 5000);
  const struct tml_strategy *s = &tml_strategy_rl;
  struct tml_config *cfg = small_config();
  struct tml_strategy_params p;
  memset(&p, 0, sizeof(p));
  p.cfg = cfg;
  p.threads = 1;
  /* fit rows [0, 3000), purge 12, stop rows [3012, 4000), purge 12, test [4012, nrows) */
  size_t nfit = 3000, nstop = 988, test_begin = 4012;
  size_t *rows = malloc((nfit + nstop) * sizeof(size_t));
  for (size_t k = 0; k < nfit; k++)
    rows[k] = k;
  for (size_t k = 0; k < nstop; k++)
    rows[nfit + k] = 3012 + k;
  struct tml_label_thresholds th;
  memset(&th, 0, sizeof(th));
  struct tml_strategy_fit_data fd = {.d = &d, .rows = rows, .nfit = nfit, .nstop = nstop, .thresholds = &th};
  struct tml_error err;
  tml_error_init(&err);
  void *m = NULL;
  CHECK_OK(s->fit(&fd, &p, &m, &err), &err);
  struct tml_range test = {test_begin, d.nrows};
  size_t nt = test.end - test.begin;
  float *out[TML_HEAD_COUNT];
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    out[h] = malloc(nt * head_width((enum tml_head)h) * sizeof(float));
  CHECK_OK(s->predict(m, &d, test, out, &err), &err);
  double vsum = 0;
  for (int j = 0; j < 4; j++) {
    CHECK(out[TML_HEAD_VOLATILITY][j] > 0);
    vsum += (double)out[TML_HEAD_VOLATILITY][j];
  }
  CHECK_NEAR(vsum, 1.0, 1e-5);
  for (size_t k = 0; k < nt; k++) {
    double sum = (double)out[0][3 * k] + (double)out[0][3 * k + 1] + (double)out[0][3 * k + 2];
    CHECK_NEAR(sum, 1.0, 1e-5);
    /* the other heads: the no-skill forecast of the fit rows, the same for every row */
    CHECK(memcmp(out[TML_HEAD_VOLATILITY] + 4 * k, out[TML_HEAD_VOLATILITY], 4 * sizeof(float)) == 0);
    CHECK(out[TML_HEAD_STOP_LOSS][k] == out[TML_HEAD_STOP_LOSS][0] && isfinite(out[TML_HEAD_STOP_LOSS][k]));
  }
  /* streaming gives the batch's bits */
  void *st;
  CHECK_OK(s->stream_open(m, &st, &err), &err);
  float o1[TML_HEAD_COUNT][TML_MAX_CLASSES];
  for (size_t r = test.begin; r < test.end; r += 101) {
    CHECK_OK(s->stream_step(st, d.X + r * d.ncols, o1, &err), &err);
    CHECK(memcmp(o1[0], out[0] + 3 * (r - test.begin), 3 * sizeof(float)) == 0);
  }
  s->stream_close(st);
  /* the agent's own trading next to the baselines, same rows and costs */
  struct tml_rl_trading_metrics tm;
  CHECK_OK(s->trade(m, &d, test, &tm, &err), &err);
  CHECK_INT(tm.steps, nt - 1);
  struct tml_rl_fold_trading ft;
  struct tml_rl_env_opts eo;
  struct tml_rl_ppo_params pp;
  CHECK_OK(tml_rl_opts_from_config(cfg, &eo, &pp, &err), &err);
  CHECK_OK(tml_rl_fold_trading(&d, test.begin, test.end, &eo, out[0], &ft, &err), &err);
  CHECK(ft.has_direction);
  CHECK_NEAR(ft.flat.net_return, 0, 0);
  CHECK_INT(ft.buy_hold.trades, 1);
  /* buy at the first fill (open of the second test row, plus slippage), sell at the last close */
  double gross = d.close[test.end - 1] / d.open[test.begin + 1] - 1;
  CHECK_MSG(fabs(ft.buy_hold.net_return - gross) < 0.01, "buy and hold %g vs price change %g", ft.buy_hold.net_return,
            gross);
  printf("test rows %zu: agent net %.4f (trades %zu), buy-and-hold %.4f, flat %.4f, agent-direction policy %.4f\n", nt,
         tm.net_return, tm.trades, ft.buy_hold.net_return, ft.flat.net_return, ft.direction.net_return);
  /* describe */
  struct tml_buf b;
  tml_buf_init(&b, 1 << 16);
  CHECK_OK(s->describe(m, &b), &err);
  CHECK_CONTAINS(tml_buf_str(&b), "\"action_space\":\"five\"");
  CHECK_CONTAINS(tml_buf_str(&b), "\"training\":{\"rollouts\":");
  tml_buf_release(&b);
  /* save / load: the same predictions */
  char *dir = tml_test_tmpdir("strategy_rl_model");
  CHECK_OK(s->save(m, dir, &d, &err), &err);
  struct tml_strategy_load_info li = {.metadata = "{}", .engine = NULL, .ncols = d.ncols};
  void *m2 = NULL;
  CHECK_OK(s->load(dir, &li, &m2, &err), &err);
  float *out2[TML_HEAD_COUNT] = {malloc(nt * 3 * sizeof(float)), NULL, NULL, NULL, NULL};
  out2[TML_HEAD_TIMING] = malloc(nt * 3 * sizeof(float));
  CHECK_OK(s->predict(m2, &d, test, out2, &err), &err);
  CHECK(memcmp(out2[0], out[0], nt * 3 * sizeof(float)) == 0);
  CHECK(memcmp(out2[TML_HEAD_TIMING], out[TML_HEAD_TIMING], nt * 3 * sizeof(float)) == 0);
  free(out2[0]);
  free(out2[TML_HEAD_TIMING]);
  s->free(m2);
  /* a corrupt rl_heads.json is refused, naming it */
  char hp[600];
  snprintf(hp, sizeof(hp), "%s/rl_heads.json", dir);
  FILE *hf = fopen(hp, "w");
  CHECK(hf);
  fputs("{\"no_skill\": {\"volatility\": [0.5, 0.5]}}", hf);
  fclose(hf);
  tml_error_init(&err);
  m2 = NULL;
  CHECK(s->load(dir, &li, &m2, &err) == TML_EMODEL);
  CHECK(m2 == NULL);
  CHECK_CONTAINS(err.msg, "rl_heads.json': a class head's probabilities are missing or of the wrong length");
  /* a folder without an agent (another strategy's) is refused, naming the file */
  char *empty = tml_test_tmpdir("strategy_rl_empty");
  tml_error_init(&err);
  m2 = NULL;
  CHECK(s->load(empty, &li, &m2, &err) == TML_EMODEL);
  CHECK(m2 == NULL);
  CHECK_CONTAINS(err.msg, "rl_agent.bin' is missing");
  free(empty);
  free(dir);
  /* rl trades one symbol */
  tml_error_init(&err);
  d.nsymbols = 2;
  void *m3 = NULL;
  CHECK(s->fit(&fd, &p, &m3, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "strategy rl trades one symbol");
  d.nsymbols = 1;
  s->free(m);
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    free(out[h]);
  free(rows);
  tml_config_free(cfg);
  tml_dataset_release(&d);
  tml_candles_release(&c);
}

/* Bad rl.* settings and too few candles: the fit names the setting and keeps nothing. */
TEST(bad_settings_refused) {
  struct tml_candles c;
  struct tml_dataset d;
  load_dataset(1500, &c, &d);
  struct tml_config *cfg = small_config();
  struct tml_strategy_params p;
  memset(&p, 0, sizeof(p));
  p.cfg = cfg;
  p.threads = 1;
  size_t n = d.nrows;
  size_t *rows = malloc(n * sizeof(size_t));
  for (size_t k = 0; k < n; k++)
    rows[k] = k;
  struct tml_label_thresholds th;
  memset(&th, 0, sizeof(th));
  struct tml_strategy_fit_data fd = {.d = &d, .rows = rows, .nfit = 200, .nstop = 100, .thresholds = &th};
  struct tml_error err;
  tml_error_init(&err);
  void *m = NULL;
  CHECK(tml_strategy_rl.fit(&fd, &p, &m, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "one episode needs rl.episode_candles + 1 = 257");
  CHECK(m == NULL);
  tml_error_init(&err);
  CHECK_OK(tml_config_set(cfg, "rl.reward", "equity,profit", TML_CFG_FLAG, "--rl-reward", &err), &err);
  fd.nfit = 600;
  CHECK(tml_strategy_rl.fit(&fd, &p, &m, &err) == TML_EINVAL);
  CHECK_CONTAINS(err.msg, "rl.reward: unknown reward term 'profit'");
  CHECK(m == NULL);
  free(rows);
  tml_config_free(cfg);
  tml_dataset_release(&d);
  tml_candles_release(&c);
}

/* The live path: candles pushed one by one through the model stream (as `trademl live` does) give,
 * candle for candle, the action and the position of the environment's episode over the same candles
 * (tml_rl_evaluate from the first complete row, the agent's greedy policy); the direction head
 * equals batch prediction; a stream opened from the store (a restart replays the stored candles)
 * resumes the same position. For both networks. */
struct recorder {
  struct tml_rl_agent *a;
  int *action, *position; /* per market row */
};
static int record_policy(void *ctx, const float *obs, size_t row, int position, int *action) {
  struct recorder *r = ctx;
  int rc = tml_rl_agent_policy(r->a, obs, row, position, action);
  if (obs) {
    r->action[row] = *action;
    r->position[row] = position;
  }
  return rc;
}

static void live_equals_env(const char *network) {
  struct tml_error err;
  tml_error_init(&err);
  char *csv = tml_test_data_file(BTC15);
  char *dir = tml_test_tmpdir(network);
  struct tml_candles c;
  CHECK(tml_test_load_candles(csv, "BTCUSDT", 4000, &c) == 4000);
  free(csv);
  char db[4200], models[4200];
  snprintf(db, sizeof(db), "%s/t.db", dir);
  snprintf(models, sizeof(models), "%s/models", dir);
  struct tml_store *store;
  CHECK_OK(tml_store_open(db, &store, &err), &err);
  struct tml_candles head;
  size_t nstored = 3600;
  CHECK_OK(tml_candles_slice(&c, 0, nstored, &head), &err);
  CHECK_OK(tml_store_put(store, &head, false, NULL, &err), &err);
  tml_candles_release(&head);
  struct tml_config *cfg = small_config();
  CHECK_OK(tml_config_set(cfg, "rl.network", network, TML_CFG_FLAG, "--test", &err), &err);
  CHECK_OK(tml_config_set(cfg, "rl.window", "4", TML_CFG_FLAG, "--test", &err), &err);
  CHECK_OK(tml_config_set(cfg, "rl.lstm_hidden", "8", TML_CFG_FLAG, "--test", &err), &err);
  CHECK_OK(tml_config_set(cfg, "rl.action_space", "target3", TML_CFG_FLAG, "--test", &err), &err);
  struct tml_train_opts o;
  tml_train_opts_default(&o);
  o.symbols[0] = "BTCUSDT";
  o.nsymbols = 1;
  o.interval_ms = c.interval_ms;
  o.models_dir = models;
  o.strategy = "rl";
  o.threads = 1;
  o.config = cfg;
  struct tml_train_result tr;
  CHECK_OK(tml_train_run(store, &o, &tr, &err), &err);
  struct tml_modelset *m;
  CHECK_OK(tml_modelset_load(tr.model_dir, &m, &err), &err);
  char agent_path[4300];
  snprintf(agent_path, sizeof(agent_path), "%s/rl_agent.bin", tr.model_dir);
  tml_train_result_release(&tr);

  /* live: every candle pushed one by one */
  struct tml_model_stream *ms;
  CHECK_OK(tml_model_stream_create(m, "BTCUSDT", &ms, &err), &err);
  size_t n = 0, first = SIZE_MAX;
  int *act = malloc(c.len * sizeof(int)), *pos = malloc(c.len * sizeof(int));
  float *dir_live = malloc(c.len * 3 * sizeof(float));
  struct tml_prediction at_stored; /* the prediction of the last stored candle */
  memset(&at_stored, 0, sizeof(at_stored));
  for (size_t i = 0; i < c.len; i++) {
    struct tml_prediction p;
    bool ready = false;
    CHECK_OK(tml_model_stream_push(ms, c.open_time[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i], &p,
                                   &ready, &err),
             &err);
    if (!ready)
      continue;
    if (first == SIZE_MAX)
      first = i;
    CHECK(i - first == n); /* no gap: market row n is candle first + n */
    CHECK(p.decision.position_carried && p.decision.nactions == 3);
    act[n] = p.decision.action;
    pos[n] = p.decision.position;
    memcpy(dir_live + 3 * n, p.proba[TML_HEAD_DIRECTION], 3 * sizeof(float));
    if (i + 1 == nstored)
      at_stored = p;
    n++;
  }
  tml_model_stream_close(ms);
  CHECK(n > 3000);

  /* the environment's episode over the same candles */
  struct tml_rl_market mk;
  CHECK_OK(tml_rl_market_build(&c, &mk, &err), &err);
  CHECK_INT(mk.n, n);
  struct tml_rl_agent *a;
  CHECK_OK(tml_rl_agent_load(agent_path, &a, &err), &err);
  CHECK(strcmp(tml_rl_network_name(tml_rl_agent_network(a)), network) == 0);
  struct tml_rl_env *e;
  CHECK_OK(tml_rl_agent_env_create(a, &mk, 0, mk.n, &e, &err), &err);
  struct recorder rec = {a, calloc(n, sizeof(int)), calloc(n, sizeof(int))};
  struct tml_rl_trading_metrics tm;
  CHECK_OK(tml_rl_evaluate(e, record_policy, &rec, &tm, NULL, &err), &err);
  size_t same = 0, held = 0;
  for (size_t k = 0; k + 1 < n; k++) { /* the episode's last decision is at row n - 2 */
    same += act[k] == rec.action[k] && pos[k] == rec.position[k];
    held += pos[k] != 0;
  }
  CHECK_MSG(same == n - 1, "%s: live equals the environment on %zu of %zu candles", network, same, n - 1);
  CHECK_MSG(tm.trades > 0 && held > 0, "%s: the agent never held a position (trades %zu): nothing carried", network,
            tm.trades);
  printf("%s: %zu candles, live = environment on every one; %zu trades, in a position on %zu candles\n", network,
         n - 1, tm.trades, held);

  /* batch direction == stream direction (the window of rows before each row) */
  struct tml_dataset d;
  struct tml_dataset_opts dopt;
  memset(&dopt, 0, sizeof(dopt));
  tml_label_spec_default(&dopt.labels);
  dopt.encoding = TML_ENC_NONE;
  dopt.from_ms = INT64_MIN;
  CHECK_OK(tml_dataset_build(&c, 1, &dopt, &d, &err), &err);
  CHECK(d.nrows > 3000 && d.nrows <= n && d.time[0] == c.open_time[first]); /* labelled rows: all but the last */
  float *out[TML_HEAD_COUNT] = {malloc(d.nrows * 3 * sizeof(float)), NULL, NULL, NULL, NULL};
  CHECK_OK(m->model->strategy->predict(m->model->impl, &d, (struct tml_range){0, d.nrows}, out, &err), &err);
  CHECK(memcmp(out[0], dir_live, d.nrows * 3 * sizeof(float)) == 0);
  /* Two symbols interleaved by time, as a several-symbol dataset holds them: a row's window is the
   * rows of its own symbol, so symbol 0's rows get the single-symbol directions bit for bit. */
  struct tml_dataset d2;
  memset(&d2, 0, sizeof(d2));
  d2.nrows = 2 * d.nrows;
  d2.nfeat = d.nfeat;
  d2.ncols = d.ncols;
  d2.nsymbols = 2;
  d2.X = malloc(d2.nrows * d.ncols * sizeof(float));
  d2.sym = malloc(d2.nrows * sizeof(*d2.sym));
  for (size_t r = 0; r < d.nrows; r++) {
    memcpy(d2.X + 2 * r * d.ncols, d.X + r * d.ncols, d.ncols * sizeof(float));
    memcpy(d2.X + (2 * r + 1) * d.ncols, d.X + (d.nrows - 1 - r) * d.ncols, d.ncols * sizeof(float));
    d2.sym[2 * r] = 0;
    d2.sym[2 * r + 1] = 1;
  }
  float *out2[TML_HEAD_COUNT] = {malloc(d2.nrows * 3 * sizeof(float)), NULL, NULL, NULL, NULL};
  CHECK_OK(m->model->strategy->predict(m->model->impl, &d2, (struct tml_range){0, d2.nrows}, out2, &err), &err);
  size_t equal = 0;
  for (size_t r = 0; r < d.nrows; r++)
    equal += memcmp(out2[0] + 3 * (2 * r), out[0] + 3 * r, 3 * sizeof(float)) == 0;
  CHECK_MSG(equal == d.nrows, "%s: %zu of %zu interleaved rows equal the single-symbol prediction", network, equal,
            d.nrows);
  free(out2[0]);
  free(d2.X);
  free(d2.sym);
  free(out[0]);
  tml_dataset_release(&d);

  /* a restart: the stream opened from the store replays the stored candles to the same position */
  CHECK_OK(tml_model_stream_open(store, m, "BTCUSDT", INT64_MAX, &ms, &err), &err);
  struct tml_prediction latest;
  CHECK_OK(tml_model_stream_latest(ms, &latest, &err), &err);
  CHECK(latest.candle_ms == c.open_time[nstored - 1]);
  CHECK_INT(latest.decision.position, at_stored.decision.position);
  CHECK_INT(latest.decision.action, at_stored.decision.action);
  CHECK(latest.decision.equity == at_stored.decision.equity && latest.decision.trades == at_stored.decision.trades);
  tml_model_stream_close(ms);

  free(rec.action);
  free(rec.position);
  free(act);
  free(pos);
  free(dir_live);
  tml_rl_env_destroy(e);
  tml_rl_agent_free(a);
  tml_rl_market_release(&mk);
  tml_modelset_free(m);
  tml_config_free(cfg);
  tml_store_close(store);
  tml_candles_release(&c);
  free(dir);
}

TEST(live_stream_equals_env_mlp) { live_equals_env("mlp"); }
TEST(live_stream_equals_env_lstm) { live_equals_env("lstm"); }
