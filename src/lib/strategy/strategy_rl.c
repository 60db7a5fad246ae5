/* Strategy `rl` (docs/rl.md): a PPO agent per symbol behind the strategy table (trademl/strategy.h).
 *
 * fit: the fold's fit rows become the training market (scaler fitted on them), its early-stopping
 * rows the validation block that chooses the checkpoint (they follow the fit rows after the purge the
 * caller's fold plan applies, as for every strategy). Settings come from the rl.* keys of p->cfg and
 * training.seed; p->threads sets the BLAS threads.
 *
 * The five heads: an agent decides actions, not class probabilities. It answers the question the
 * direction head answers ("go long, short, or stay out from here?") from the flat state (no position,
 * no unrealised profit, no time in trade), so a row's output depends on that row alone (and, with the
 * lstm network, the rl.window - 1 rows before it) and streaming equals batch prediction:
 *     direction = (down, neutral, up) = (P(enter short), P(neutral) + P(exit long) + P(exit short),
 *                 P(enter long)) with five actions, (P(short), P(flat), P(long)) with target3;
 * volatility, timing, stop_loss and position_size are not the agent's business: they get the
 * no-skill forecast fitted on the fit rows (class frequencies, Laplace-smoothed, and the mean of the
 * regression targets), saved in rl_heads.json, so every metric, gate and report works head by head
 * and shows plainly that rl has no skill there. The agent's own trading (its position carried from
 * step to step) is judged by the trading metrics of the rl environment (the table's trade hook).
 *
 * The stream (live loop, predict) also trades: its state is a tml_rl_stream, the environment's paper
 * account carried from candle to candle (stream_trade: the previous decision fills at this candle's
 * open), so the action live and predict report is the one the agent takes in the position its own
 * earlier decisions built, the environment's action on the same candles. The stream is rebuilt by
 * replaying the stored candles whenever it opens (a restart, a reload), so the position needs no
 * storage of its own: it is a function of the candles and the agent. */
#include "trademl/strategy.h"

#include "util/common.h"

#include <jansson.h>
#include <pthread.h>

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/nn.h"
#include "trademl/predict.h"
#include "trademl/rl.h"

#define AGENT_FILE "rl_agent.bin"
#define HEADS_FILE "rl_heads.json"

struct rl_model {
  struct tml_rl_agent *agent;
  struct tml_rl_train_report rep; /* when fitted in this process */
  bool fitted;
  float prior[TML_HEAD_COUNT][TML_MAX_CLASSES]; /* no-skill outputs of the heads other than direction */
  pthread_mutex_t lock;           /* the agent's forward workspace is one per agent */
};

static void rl_free(void *mp) {
  struct rl_model *m = mp;
  if (!m)
    return;
  tml_rl_agent_free(m->agent);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static struct rl_model *wrap(struct tml_rl_agent *a) {
  struct rl_model *m = calloc(1, sizeof(*m));
  if (!m)
    return NULL;
  m->agent = a;
  pthread_mutex_init(&m->lock, NULL);
  return m;
}

static int rl_needs(const struct tml_strategy_params *p, struct tml_strategy_needs *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  struct tml_rl_env_opts eo;
  struct tml_rl_ppo_params pp;
  int rc = tml_rl_opts_from_config(p ? p->cfg : NULL, &eo, &pp, err);
  if (!rc && pp.network == TML_RL_NET_LSTM)
    out->context_rows = pp.window - 1; /* the direction head reads the window of rows before a row */
  return rc;
}

struct progress_ctx {
  const struct tml_strategy_params *p;
};

static int on_rollout(void *ud, size_t rollout, size_t total, double valid_return, int best) {
  struct progress_ctx *c = ud;
  if (!c->p->progress)
    return 0;
  return c->p->progress(c->p->progress_ud, -1, (int)rollout - 1, (int)total,
                        isfinite(valid_return) ? -valid_return : (double)NAN, best - 1);
}

static int rl_fit(const struct tml_strategy_fit_data *fd, const struct tml_strategy_params *p, void **out,
                  struct tml_error *err) {
  *out = NULL;
  const struct tml_dataset *d = fd->d;
  if (d->nsymbols > 1)
    return tml_error_set(err, TML_EINVAL,
                         "strategy rl trades one symbol: the dataset holds %zu symbols; train it with one --symbol "
                         "at a time",
                         d->nsymbols);
  struct tml_rl_env_opts eo;
  struct tml_rl_ppo_params pp;
  int rc = tml_rl_opts_from_config(p->cfg, &eo, &pp, err);
  if (rc)
    return rc;
  if (!p->cfg)
    pp.seed = (uint64_t)p->xgb.seed;
  struct progress_ctx pc = {p};
  pp.progress = on_rollout;
  pp.progress_ud = &pc;
  tml_nn_set_threads(p->threads > 0 ? p->threads : 1);
  size_t n = fd->nfit + fd->nstop;
  struct tml_rl_market m;
  rc = tml_rl_market_from_rows(d, fd->rows, n, &m, err);
  if (rc)
    return rc;
  size_t vb = fd->nstop >= 2 ? fd->nfit : 0, ve = fd->nstop >= 2 ? n : 0;
  struct tml_rl_agent *a = NULL;
  struct tml_rl_train_report rep;
  rc = tml_rl_agent_train(&m, 0, fd->nfit, vb, ve, &eo, &pp, &a, &rep, err);
  tml_rl_market_release(&m);
  if (rc)
    return rc;
  struct rl_model *model = wrap(a);
  float *y = malloc(fd->nfit * sizeof(float));
  if (!model) {
    free(y);
    tml_rl_agent_free(a);
    return tml_error_set(err, TML_ENOMEM, "out of memory for the rl model");
  }
  if (!y) {
    rl_free(model);
    return tml_error_set(err, TML_ENOMEM, "out of memory for the rl model");
  }
  model->rep = rep;
  model->fitted = true;
  /* No-skill forecasts from the fit rows' labels (tml_strategy_fit_labels fills fit then stop rows:
   * only the first nfit are read). */
  struct tml_strategy_fit_data fit_only = *fd;
  fit_only.nstop = 0;
  for (int h = 1; h < TML_HEAD_COUNT; h++) {
    tml_strategy_fit_labels(&fit_only, (enum tml_head)h, y);
    int k = tml_head_nclass((enum tml_head)h);
    double cnt[TML_MAX_CLASSES] = {0}, sum = 0, nl = 0;
    for (size_t i = 0; i < fd->nfit; i++) {
      if (isnan(y[i]))
        continue;
      nl++;
      if (k > 0 && y[i] >= 0 && (int)y[i] < k)
        cnt[(int)y[i]]++;
      else
        sum += (double)y[i];
    }
    if (k > 0)
      for (int c = 0; c < k; c++)
        model->prior[h][c] = (float)((cnt[c] + 1) / (nl + k)); /* Laplace: no class gets probability 0 */
    else
      model->prior[h][0] = (float)(nl > 0 ? sum / nl : 0);
  }
  free(y);
  *out = model;
  return 0;
}

/* Direction (down, neutral, up) from the agent's decision probabilities. */
static void direction_from(const struct rl_model *m, const float *probs, float *dir) {
  if (tml_rl_agent_action_space(m->agent) == TML_RL_ACTIONS_TARGET3) {
    dir[0] = probs[TML_RL_SHORT];
    dir[1] = probs[TML_RL_FLAT];
    dir[2] = probs[TML_RL_LONG];
  } else {
    dir[0] = probs[TML_RL_ENTER_SHORT];
    dir[1] = probs[TML_RL_NEUTRAL] + probs[TML_RL_EXIT_LONG] + probs[TML_RL_EXIT_SHORT];
    dir[2] = probs[TML_RL_ENTER_LONG];
  }
}

/* Whether rows q and r of d belong to the same symbol. */
static bool same_symbol(const struct tml_dataset *d, size_t q, size_t r) {
  return d->nsymbols <= 1 || !d->sym || d->sym[q] == d->sym[r];
}

static int rl_predict(const void *mp, const struct tml_dataset *d, struct tml_range rows, float *const *out,
                      struct tml_error *err) {
  struct rl_model *m = (struct rl_model *)(uintptr_t)mp; /* only the lock is written */
  if (d->nfeat != tml_rl_agent_nfeat(m->agent))
    return tml_error_set(err, TML_EMODEL, "rl agent: trained on %zu feature columns, the dataset has %zu",
                         tml_rl_agent_nfeat(m->agent), d->nfeat);
  struct tml_rl_stream *st = NULL;
  size_t L = tml_rl_agent_window(m->agent);
  int rc = 0;
  pthread_mutex_lock(&m->lock);
  if (out[TML_HEAD_DIRECTION])
    rc = tml_rl_stream_create(m->agent, &st, err);
  for (size_t r = rows.begin; r < rows.end && !rc; r++) {
    size_t k = r - rows.begin;
    if (out[TML_HEAD_DIRECTION]) {
      /* the row and the window's rows before it of the same symbol (rows are ordered by (time,
       * symbol), so a several-symbol dataset interleaves them), zero rows before the first: what the
       * symbol's stream has seen when it reaches row r */
      float probs[8];
      tml_rl_stream_reset(st);
      size_t q0 = r, have = 1;
      while (q0 > 0 && have < L) {
        q0--;
        have += same_symbol(d, q0, r);
      }
      for (size_t q = q0; q <= r; q++)
        if (same_symbol(d, q, r))
          tml_rl_stream_push_features(st, d->X + q * d->ncols);
      tml_rl_stream_flat(st, probs);
      direction_from(m, probs, out[TML_HEAD_DIRECTION] + 3 * k);
    }
    for (int h = 1; h < TML_HEAD_COUNT; h++) {
      if (!out[h])
        continue;
      size_t w = tml_strategy_head_width((enum tml_head)h);
      memcpy(out[h] + w * k, m->prior[h], w * sizeof(float));
    }
  }
  pthread_mutex_unlock(&m->lock);
  tml_rl_stream_destroy(st);
  return rc;
}

/* A symbol's stream: the agent trading it from the first streamed row, position carried. */
struct rl_stream {
  struct rl_model *m;
  struct tml_rl_stream *s;
};

static int rl_stream_open(const void *mp, void **state, struct tml_error *err) {
  struct rl_stream *st = calloc(1, sizeof(*st));
  if (!st)
    return tml_error_set(err, TML_ENOMEM, "out of memory for an rl stream");
  st->m = (struct rl_model *)(uintptr_t)mp; /* only the lock is written */
  int rc = tml_rl_stream_create(st->m->agent, &st->s, err);
  if (rc) {
    free(st);
    return rc;
  }
  *state = st;
  return 0;
}

static int rl_stream_step(void *state, const float *row, float (*out)[TML_MAX_CLASSES], struct tml_error *err) {
  (void)err;
  struct rl_stream *st = state;
  struct rl_model *m = st->m;
  pthread_mutex_lock(&m->lock);
  tml_rl_stream_push_features(st->s, row);
  if (out) {
    float probs[8];
    tml_rl_stream_flat(st->s, probs);
    direction_from(m, probs, out[TML_HEAD_DIRECTION]);
  }
  pthread_mutex_unlock(&m->lock);
  if (!out)
    return 0;
  for (int h = 1; h < TML_HEAD_COUNT; h++)
    memcpy(out[h], m->prior[h], tml_strategy_head_width((enum tml_head)h) * sizeof(float));
  return 0;
}

static int rl_stream_trade(void *state, int64_t interval_ms, const double ohlc[4], struct tml_decision *out,
                           struct tml_error *err) {
  struct rl_stream *st = state;
  struct rl_model *m = st->m;
  (void)err;
  pthread_mutex_lock(&m->lock);
  {
    struct tml_rl_candle c = {ohlc[0], ohlc[1], ohlc[2], ohlc[3]};
    float probs[8] = {0}, value = 0;
    int action = 0;
    tml_rl_stream_trade(st->s, &c, interval_ms, out ? probs : NULL, out ? &value : NULL, &action);
    if (out) {
      memset(out, 0, sizeof(*out));
      int n = tml_rl_agent_action_count(m->agent);
      if (n > TML_DECISION_MAX_ACTIONS)
        n = TML_DECISION_MAX_ACTIONS;
      out->nactions = n;
      for (int k = 0; k < n; k++) {
        out->names[k] = tml_rl_action_name(tml_rl_agent_action_space(m->agent), k);
        out->probs[k] = probs[k];
      }
      out->action = action;
      out->value = value;
      const struct tml_rl_account *a = tml_rl_stream_account(st->s);
      out->position_carried = true;
      out->position = a->pos;
      out->entry_price = a->pos ? a->entry : 0;
      out->unrealised = a->pos && a->entry_equity > 0 ? (double)a->pos * a->qty * (ohlc[3] - a->entry) / a->entry_equity : 0;
      out->hold_candles = (int64_t)a->hold;
      out->equity = a->equity;
      out->trades = (int64_t)a->st.trades;
    }
  }
  pthread_mutex_unlock(&m->lock);
  return 0;
}

static void rl_stream_close(void *state) {
  struct rl_stream *st = state;
  if (!st)
    return;
  tml_rl_stream_destroy(st->s);
  free(st);
}

static int rl_save(const void *mp, const char *dir, const struct tml_dataset *d, struct tml_error *err) {
  (void)d;
  const struct rl_model *m = mp;
  char path[4096];
  int rc = tml_path_fmt(path, sizeof(path), err, "%s/%s", dir, AGENT_FILE);
  if (!rc)
    rc = tml_rl_agent_save(m->agent, path, err);
  if (rc)
    return rc;
  json_t *root = json_object(), *ns = json_object();
  for (int h = 1; h < TML_HEAD_COUNT; h++) {
    int k = tml_head_nclass((enum tml_head)h);
    if (k > 0) {
      json_t *a = json_array();
      for (int c = 0; c < k; c++)
        json_array_append_new(a, json_real((double)m->prior[h][c]));
      json_object_set_new(ns, tml_head_name((enum tml_head)h), a);
    } else {
      json_object_set_new(ns, tml_head_name((enum tml_head)h), json_real((double)m->prior[h][0]));
    }
  }
  json_object_set_new(root, "no_skill", ns);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
  json_decref(root);
  if (!text)
    return tml_error_set(err, TML_ENOMEM, "out of memory writing %s", HEADS_FILE);
  rc = tml_path_fmt(path, sizeof(path), err, "%s/%s", dir, HEADS_FILE);
  if (!rc)
    rc = tml_write_file_atomic(path, text, strlen(text), err);
  free(text);
  return rc;
}

/* Reads rl_heads.json into m->prior: TML_EMODEL naming the file and what is wrong. */
static int load_heads(const char *path, struct rl_model *m, struct tml_error *err) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root)
    return tml_error_set(err, TML_EMODEL, "'%s': %s (line %d); train --strategy rl again", path, je.text, je.line);
  const char *why = NULL;
  json_t *ns = json_object_get(root, "no_skill");
  for (int h = 1; h < TML_HEAD_COUNT && !why; h++) {
    json_t *v = ns ? json_object_get(ns, tml_head_name((enum tml_head)h)) : NULL;
    int k = tml_head_nclass((enum tml_head)h);
    if (k > 0) {
      double sum = 0;
      if (!json_is_array(v) || json_array_size(v) != (size_t)k) {
        why = "a class head's probabilities are missing or of the wrong length";
        break;
      }
      for (int c = 0; c < k; c++) {
        json_t *x = json_array_get(v, (size_t)c);
        double p = json_is_number(x) ? json_number_value(x) : (double)NAN;
        if (!(p > 0 && p <= 1))
          why = "a class probability is not in (0, 1]";
        m->prior[h][c] = (float)p;
        sum += p;
      }
      if (!why && fabs(sum - 1) > 1e-4)
        why = "a class head's probabilities do not sum to 1";
    } else {
      double x = json_is_number(v) ? json_number_value(v) : (double)NAN;
      if (!isfinite(x))
        why = "a regression head's value is missing or not finite";
      m->prior[h][0] = (float)x;
    }
  }
  json_decref(root);
  if (why)
    return tml_error_set(err, TML_EMODEL, "'%s': %s; train --strategy rl again", path, why);
  return 0;
}

static int rl_load(const char *dir, const struct tml_strategy_load_info *info, void **out, struct tml_error *err) {
  *out = NULL;
  char path[4096];
  int rc = tml_path_fmt(path, sizeof(path), err, "%s/%s", dir, AGENT_FILE);
  if (rc)
    return rc;
  if (!tml_path_exists(path))
    return tml_error_set(err, TML_EMODEL, "'%s' is missing: the folder holds no rl agent (another strategy's "
                                          "model, or an unfinished copy); train --strategy rl again",
                         path);
  struct tml_rl_agent *a;
  rc = tml_rl_agent_load(path, &a, err);
  if (rc)
    return rc;
  if (info && info->ncols != tml_rl_agent_nfeat(a)) { /* one symbol: no encoding columns */
    size_t nf = tml_rl_agent_nfeat(a);
    tml_rl_agent_free(a);
    return tml_error_set(err, TML_EMODEL, "'%s': the agent reads %zu feature columns, the model has %zu", path, nf,
                         info->ncols);
  }
  struct rl_model *m = wrap(a);
  if (!m) {
    tml_rl_agent_free(a);
    return tml_error_set(err, TML_ENOMEM, "out of memory for the rl model");
  }
  rc = tml_path_fmt(path, sizeof(path), err, "%s/%s", dir, HEADS_FILE);
  if (!rc)
    rc = load_heads(path, m, err);
  if (rc) {
    rl_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static int rl_describe(const void *mp, struct tml_buf *out) {
  const struct rl_model *m = mp;
  const struct tml_rl_env_opts *eo = tml_rl_agent_env_opts(m->agent);
  size_t hidden, layers;
  tml_rl_agent_arch(m->agent, &hidden, &layers);
  int rc = tml_buf_printf(out,
                          "{\"agent\":\"ppo\",\"file\":\"" AGENT_FILE "\",\"action_space\":\"%s\",\"hidden\":%zu,"
                          "\"layers\":%zu,\"network\":\"%s\",\"window\":%zu,\"lstm_hidden\":%zu,\"fee_rate\":",
                          tml_rl_action_space_name(eo->actions), hidden, layers,
                          tml_rl_network_name(tml_rl_agent_network(m->agent)), tml_rl_agent_window(m->agent),
                          tml_rl_agent_lstm_hidden(m->agent));
  rc = rc ? rc : tml_buf_json_num(out, eo->fee_rate);
  rc = rc ? rc : tml_buf_puts(out, ",\"slippage_range\":");
  rc = rc ? rc : tml_buf_json_num(out, eo->slippage_range);
  rc = rc ? rc : tml_buf_puts(out, ",\"funding_rate_8h\":");
  rc = rc ? rc : tml_buf_json_num(out, eo->funding_rate_8h);
  rc = rc ? rc : tml_buf_puts(out, ",\"heads\":{\"direction\":\"the agent's decision from the flat state\","
                                   "\"others\":\"no-skill forecast of the fit rows (" HEADS_FILE ")\"}");
  if (!rc && m->fitted) {
    const struct tml_rl_train_report *r = &m->rep;
    rc = tml_buf_printf(out,
                        ",\"training\":{\"rollouts\":%zu,\"env_steps\":%" PRIu64 ",\"updates\":%zu,\"best_rollout\":%d,"
                        "\"validation_checks\":%zu,\"stopped_by_time\":%s,\"best_validation_net_return\":",
                        r->rollouts, r->env_steps, r->updates, r->best_rollout, r->valid_evals,
                        r->stopped_by_time ? "true" : "false");
    rc = rc ? rc : tml_buf_json_num(out, r->valid_evals ? r->best_valid_return : (double)NAN);
    rc = rc ? rc : tml_buf_puts(out, ",\"rollout_seconds\":");
    rc = rc ? rc : tml_buf_json_num(out, r->rollout_seconds);
    rc = rc ? rc : tml_buf_puts(out, ",\"learn_seconds\":");
    rc = rc ? rc : tml_buf_json_num(out, r->learn_seconds);
    rc = rc ? rc : tml_buf_putc(out, '}');
  }
  return rc ? rc : tml_buf_putc(out, '}');
}

static void rl_head_info(const void *mp, int head, struct tml_strategy_head_info *out) {
  const struct rl_model *m = mp;
  out->best_iteration = head == TML_HEAD_DIRECTION && m->fitted ? m->rep.best_rollout : -1;
  out->best_score = NAN; /* the checkpoint is chosen by validation net return, not a loss */
  out->seconds = -1.0;
}

static int rl_trade(const void *mp, const struct tml_dataset *d, struct tml_range rows,
                    struct tml_rl_trading_metrics *out, struct tml_error *err) {
  struct rl_model *m = (struct rl_model *)(uintptr_t)mp; /* only the lock is written */
  pthread_mutex_lock(&m->lock);
  int rc = tml_rl_agent_trade(m->agent, d, rows.begin, rows.end, out, err);
  pthread_mutex_unlock(&m->lock);
  return rc;
}

/* The agent's decision on a row from the flat state: action names, probabilities, value. */
static int rl_decide(const void *mp, const float *row, struct tml_decision *out, struct tml_error *err) {
  (void)err;
  struct rl_model *m = (struct rl_model *)(uintptr_t)mp; /* only the lock is written */
  memset(out, 0, sizeof(*out));
  int n = tml_rl_agent_action_count(m->agent);
  if (n > TML_DECISION_MAX_ACTIONS)
    n = TML_DECISION_MAX_ACTIONS;
  pthread_mutex_lock(&m->lock);
  tml_rl_agent_act(m->agent, row, 0, 0, 0, out->probs, &out->value, &out->action);
  pthread_mutex_unlock(&m->lock);
  out->nactions = n;
  for (int k = 0; k < n; k++)
    out->names[k] = tml_rl_action_name(tml_rl_agent_action_space(m->agent), k);
  return 0;
}

const struct tml_strategy tml_strategy_rl = {
    .name = "rl",
    .summary = "reinforcement learning per symbol: a PPO agent trading in a cost-aware environment (docs/rl.md)",
    .needs = rl_needs,
    .fit = rl_fit,
    .predict = rl_predict,
    .stream_open = rl_stream_open,
    .stream_step = rl_stream_step,
    .stream_close = rl_stream_close,
    .save = rl_save,
    .load = rl_load,
    .describe = rl_describe,
    .head_info = rl_head_info,
    .importance = NULL, /* no per-feature importance */
    .head_model = NULL, /* no head is a learner model */
    .free = rl_free,
    .trade = rl_trade,
    .decide = rl_decide,
    .stream_trade = rl_stream_trade,
};
