/* The trading environment of strategy `rl` (docs/rl.md): steps an agent through stored candles with
 * the costs a real account pays. The feature rows of the range are scaled once at creation, so a step
 * is a copy of one row plus a few arithmetic operations on the position: no allocation, O(nfeat).
 * Timing and the equity model are documented in trademl/rl.h; the formulas are here, next to the code. */
#include "trademl/rl.h"

#include "util/common.h"

#include "trademl/dataset.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/series.h"

/* ---- action spaces ---- */

static const char *const five_names[] = {"neutral", "enter_long", "exit_long", "enter_short", "exit_short"};
static const char *const target3_names[] = {"flat", "long", "short"};

const char *tml_rl_action_space_name(enum tml_rl_action_space a) {
  switch (a) {
  case TML_RL_ACTIONS_FIVE:
    return "five";
  case TML_RL_ACTIONS_TARGET3:
    return "target3";
  }
  return NULL;
}

int tml_rl_action_space_parse(const char *s, const char *what, enum tml_rl_action_space *out,
                              struct tml_error *err) {
  if (s && strcmp(s, "five") == 0) {
    *out = TML_RL_ACTIONS_FIVE;
    return 0;
  }
  if (s && strcmp(s, "target3") == 0) {
    *out = TML_RL_ACTIONS_TARGET3;
    return 0;
  }
  return tml_error_set(err, TML_EINVAL,
                       "%s: unknown action space '%s'; use five (neutral, enter/exit long, enter/exit short) "
                       "or target3 (target position flat/long/short)",
                       what ? what : "rl.action_space", s ? s : "(null)");
}

int tml_rl_action_count(enum tml_rl_action_space a) { return a == TML_RL_ACTIONS_TARGET3 ? 3 : 5; }

const char *tml_rl_action_name(enum tml_rl_action_space a, int k) {
  if (k < 0 || k >= tml_rl_action_count(a))
    return NULL;
  return a == TML_RL_ACTIONS_TARGET3 ? target3_names[k] : five_names[k];
}

/* ---- market ---- */

int tml_rl_market_build(const struct tml_candles *c, struct tml_rl_market *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  struct tml_features f;
  int rc = tml_features_compute(c, NULL, &f, err);
  if (rc != 0)
    return rc;
  if (f.nrows == 0) {
    tml_features_release(&f);
    return tml_error_set(err, TML_EDATA, "%s: no candle has complete features (%zu candles, warm-up %zu)",
                         c->symbol, c->len, f.warmup_dropped);
  }
  size_t n = f.nrows;
  out->n = n;
  out->nfeat = f.ncols;
  out->interval_ms = c->interval_ms;
  out->time = malloc(n * sizeof(int64_t));
  out->open = malloc(n * sizeof(double));
  out->high = malloc(n * sizeof(double));
  out->low = malloc(n * sizeof(double));
  out->close = malloc(n * sizeof(double));
  if (!out->time || !out->open || !out->high || !out->low || !out->close) {
    tml_features_release(&f);
    tml_rl_market_release(out);
    return tml_error_set(err, TML_ENOMEM, "out of memory for the market of %zu rows", n);
  }
  size_t first = f.first_index;
  memcpy(out->time, c->open_time + first, n * sizeof(int64_t));
  memcpy(out->open, c->open + first, n * sizeof(double));
  memcpy(out->high, c->high + first, n * sizeof(double));
  memcpy(out->low, c->low + first, n * sizeof(double));
  memcpy(out->close, c->close + first, n * sizeof(double));
  out->X = f.X; /* takes the feature matrix */
  f.X = NULL;
  tml_features_release(&f);
  return 0;
}

int tml_rl_market_from_rows(const struct tml_dataset *d, const size_t *rows, size_t n, struct tml_rl_market *out,
                            struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  if (n < 2)
    return tml_error_set(err, TML_EDATA, "rl: %zu candle(s) to step through, an episode needs at least 2", n);
  out->n = n;
  out->nfeat = d->nfeat;
  out->interval_ms = d->interval_ms;
  out->time = malloc(n * sizeof(int64_t));
  out->open = malloc(n * sizeof(double));
  out->high = malloc(n * sizeof(double));
  out->low = malloc(n * sizeof(double));
  out->close = malloc(n * sizeof(double));
  out->X = malloc(n * d->nfeat * sizeof(float));
  if (!out->time || !out->open || !out->high || !out->low || !out->close || !out->X) {
    tml_rl_market_release(out);
    return tml_error_set(err, TML_ENOMEM, "out of memory for the market of %zu rows", n);
  }
  for (size_t k = 0; k < n; k++) {
    size_t r = rows[k];
    out->time[k] = d->time[r];
    out->open[k] = d->open[r];
    out->high[k] = d->high[r];
    out->low[k] = d->low[r];
    out->close[k] = d->close[r];
    memcpy(out->X + k * d->nfeat, d->X + r * d->ncols, d->nfeat * sizeof(float));
  }
  return 0;
}

int tml_rl_market_from_range(const struct tml_dataset *d, size_t begin, size_t end, struct tml_rl_market *m,
                             struct tml_error *err) {
  if (end > d->nrows || begin >= end)
    return tml_error_set(err, TML_EINVAL, "rl: rows [%zu, %zu) outside the dataset of %zu rows", begin, end, d->nrows);
  size_t n = end - begin;
  size_t *rows = malloc(n * sizeof(size_t));
  if (!rows)
    return tml_error_set(err, TML_ENOMEM, "out of memory for %zu rows", n);
  for (size_t k = 0; k < n; k++)
    rows[k] = begin + k;
  int rc = tml_rl_market_from_rows(d, rows, n, m, err);
  free(rows);
  return rc;
}

void tml_rl_market_release(struct tml_rl_market *m) {
  if (!m)
    return;
  free(m->time);
  free(m->open);
  free(m->high);
  free(m->low);
  free(m->close);
  free(m->X);
  memset(m, 0, sizeof(*m));
}

/* ---- scaler ---- */

int tml_rl_scaler_fit(const struct tml_rl_market *m, size_t begin, size_t end, struct tml_rl_scaler *s,
                      struct tml_error *err) {
  if (begin >= end || end > m->n)
    return tml_error_set(err, TML_EINVAL, "scaler: empty or out-of-range training rows [%zu, %zu) of %zu", begin,
                         end, m->n);
  if (m->nfeat > TML_RL_SCALER_MAXCOLS)
    return tml_error_set(err, TML_EINVAL, "scaler: %zu feature columns, at most %d", m->nfeat,
                         TML_RL_SCALER_MAXCOLS);
  memset(s, 0, sizeof(*s));
  s->ncols = m->nfeat;
  s->clip = 5.0f;
  double n = (double)(end - begin);
  for (size_t j = 0; j < m->nfeat; j++) {
    double sum = 0;
    for (size_t r = begin; r < end; r++)
      sum += (double)m->X[r * m->nfeat + j];
    double mean = sum / n, ss = 0;
    for (size_t r = begin; r < end; r++) {
      double d = (double)m->X[r * m->nfeat + j] - mean;
      ss += d * d;
    }
    double sd = sqrt(ss / n);
    s->mean[j] = (float)mean;
    s->inv_std[j] = (float)(sd > 1e-12 ? 1.0 / sd : 1.0);
  }
  return 0;
}

void tml_rl_scaler_apply(const struct tml_rl_scaler *s, const float *x, float *out) {
  for (size_t j = 0; j < s->ncols; j++) {
    float v = (x[j] - s->mean[j]) * s->inv_std[j];
    /* a missing feature (NaN) is the mean, as the LSTM's scaler does; +-Inf clips */
    out[j] = v != v ? 0.0f : v > s->clip ? s->clip : (v < -s->clip ? -s->clip : v);
  }
}

/* ---- options ---- */

void tml_rl_env_opts_default(struct tml_rl_env_opts *o) {
  memset(o, 0, sizeof(*o));
  o->actions = TML_RL_ACTIONS_FIVE;
  o->fee_rate = 0.00055;
  o->slippage_range = 0.05;
}

static int check_range(double v, double lo, double hi, const char *key, const char *fix, struct tml_error *err) {
  if (isfinite(v) && v >= lo && v <= hi)
    return 0;
  return tml_error_set(err, TML_EINVAL, "%s = %g is out of range: use a value between %g and %g (%s)", key, v, lo,
                       hi, fix);
}

int tml_rl_env_opts_check(const struct tml_rl_env_opts *o, struct tml_error *err) {
  if (o->actions != TML_RL_ACTIONS_FIVE && o->actions != TML_RL_ACTIONS_TARGET3)
    return tml_error_set(err, TML_EINVAL, "rl.action_space: unknown action space %d; use five or target3",
                         (int)o->actions);
  int rc = check_range(o->fee_rate, 0, 0.01, "rl.fee_rate", "taker fee per side as a fraction: 0.00055 = 0.055 %", err);
  if (!rc)
    rc = check_range(o->slippage_range, 0, 1, "rl.slippage_range", "share of the fill candle's high - low", err);
  if (!rc)
    rc = check_range(o->funding_rate_8h, -0.01, 0.01, "rl.funding_rate_8h",
                     "funding per 8 h as a fraction: 0.0001 = 0.01 %", err);
  if (!rc)
    rc = check_range(o->drawdown_penalty, 0, 100, "rl.drawdown_penalty", "0 turns the term off", err);
  if (!rc)
    rc = check_range(o->holding_penalty, 0, 0.01, "rl.holding_penalty", "reward taken per candle held; 0 = off", err);
  return rc;
}

int tml_rl_reward_terms_parse(const char *s, const char *what, bool *drawdown, bool *holding, struct tml_error *err) {
  *drawdown = *holding = false;
  const char *p = s ? s : "";
  while (*p) {
    const char *q = strchr(p, ',');
    size_t len = q ? (size_t)(q - p) : strlen(p);
    while (len && *p == ' ') {
      p++;
      len--;
    }
    while (len && p[len - 1] == ' ')
      len--;
    if (len == 4 && memcmp(p, "none", 4) == 0) {
      /* nothing */
    } else if (len == 8 && memcmp(p, "drawdown", 8) == 0) {
      *drawdown = true;
    } else if (len == 7 && memcmp(p, "holding", 7) == 0) {
      *holding = true;
    } else if (len == 6 && memcmp(p, "equity", 6) == 0) {
      /* the base term, always on */
    } else {
      return tml_error_set(err, TML_EINVAL,
                           "%s: unknown reward term '%.*s'; use a comma list of equity (always on), drawdown, "
                           "holding, or none",
                           what ? what : "rl.reward", (int)len, p);
    }
    if (!q)
      break;
    p = q + 1;
  }
  return 0;
}

/* ---- environment ---- */

struct tml_rl_env {
  const struct tml_rl_market *m; /* borrowed */
  struct tml_rl_env_opts o;
  size_t begin, end;             /* row range */
  size_t nfeat;
  float *Xs;                     /* (end - begin) * nfeat scaled rows; owned unless shared */
  bool shares_xs;                /* a clone: Xs belongs to the prototype */
  double funding_per_candle;     /* funding_rate_8h * interval / 8 h */
  bool close_at_end;
  /* episode */
  size_t t;                      /* current row */
  size_t steps_left;             /* steps before the episode is cut */
  struct tml_rl_account a;       /* the paper account (position, equity, stats) */
};

int tml_rl_env_create(const struct tml_rl_market *m, size_t begin, size_t end, const struct tml_rl_scaler *s,
                      const struct tml_rl_env_opts *o, struct tml_rl_env **out, struct tml_error *err) {
  *out = NULL;
  int rc = tml_rl_env_opts_check(o, err);
  if (rc)
    return rc;
  if (begin > end || end > m->n)
    return tml_error_set(err, TML_EINVAL, "rl environment: rows [%zu, %zu) outside the market of %zu rows", begin,
                         end, m->n);
  if (end - begin < 2)
    return tml_error_set(err, TML_EDATA,
                         "rl environment: %zu candle(s) in the range, an episode needs at least 2 (one decision and "
                         "the candle it fills on); use more days of history",
                         end - begin);
  if (s->ncols != m->nfeat)
    return tml_error_set(err, TML_EINVAL, "rl environment: scaler has %zu columns, the market %zu", s->ncols,
                         m->nfeat);
  struct tml_rl_env *e = calloc(1, sizeof(*e));
  if (!e)
    return tml_error_set(err, TML_ENOMEM, "out of memory for the rl environment");
  e->m = m;
  e->o = *o;
  e->begin = begin;
  e->end = end;
  e->nfeat = m->nfeat;
  e->Xs = malloc((end - begin) * m->nfeat * sizeof(float));
  if (!e->Xs) {
    free(e);
    return tml_error_set(err, TML_ENOMEM, "out of memory for %zu scaled rows", end - begin);
  }
  for (size_t r = begin; r < end; r++)
    tml_rl_scaler_apply(s, m->X + r * m->nfeat, e->Xs + (r - begin) * m->nfeat);
  e->funding_per_candle = tml_rl_funding_per_candle(o, m->interval_ms);
  e->t = begin;
  tml_rl_account_reset(&e->a);
  *out = e;
  return 0;
}

int tml_rl_env_clone(const struct tml_rl_env *proto, struct tml_rl_env **out, struct tml_error *err) {
  *out = NULL;
  struct tml_rl_env *e = malloc(sizeof(*e));
  if (!e)
    return tml_error_set(err, TML_ENOMEM, "out of memory for an rl environment");
  *e = *proto;
  e->shares_xs = true;
  tml_rl_env_reset(e, e->begin, 0, NULL);
  *out = e;
  return 0;
}

void tml_rl_env_destroy(struct tml_rl_env *e) {
  if (!e)
    return;
  if (!e->shares_xs)
    free(e->Xs);
  free(e);
}

size_t tml_rl_env_obs_dim(const struct tml_rl_env *e) { return e->nfeat + TML_RL_STATE_DIM; }
int tml_rl_env_action_count(const struct tml_rl_env *e) { return tml_rl_action_count(e->o.actions); }
void tml_rl_env_set_close_at_end(struct tml_rl_env *e, bool on) { e->close_at_end = on; }
size_t tml_rl_env_row(const struct tml_rl_env *e) { return e->t; }
void tml_rl_env_range(const struct tml_rl_env *e, size_t *begin, size_t *end) {
  *begin = e->begin;
  *end = e->end;
}
const struct tml_rl_market *tml_rl_env_market(const struct tml_rl_env *e) { return e->m; }
double tml_rl_env_equity(const struct tml_rl_env *e) { return e->a.equity; }
int tml_rl_env_position(const struct tml_rl_env *e) { return e->a.pos; }
const struct tml_rl_stats *tml_rl_env_stats(const struct tml_rl_env *e) { return &e->a.st; }

void tml_rl_account_reset(struct tml_rl_account *a) {
  memset(a, 0, sizeof(*a));
  a->base = a->equity = a->peak = a->entry_equity = 1.0;
}

void tml_rl_account_state(const struct tml_rl_account *a, double close, float *st) {
  st[0] = a->pos > 0 ? 1.0f : 0.0f;
  st[1] = a->pos < 0 ? 1.0f : 0.0f;
  double upnl = 0;
  if (a->pos != 0 && a->entry_equity > 0)
    upnl = 10.0 * (double)a->pos * a->qty * (close - a->entry) / a->entry_equity;
  st[2] = (float)(upnl > 5 ? 5 : (upnl < -5 ? -5 : upnl));
  st[3] = (float)(log1p((double)a->hold) / 5.0);
}

static void write_obs(const struct tml_rl_env *e, float *obs) {
  memcpy(obs, e->Xs + (e->t - e->begin) * e->nfeat, e->nfeat * sizeof(float));
  tml_rl_account_state(&e->a, e->m->close[e->t], obs + e->nfeat);
}

int tml_rl_env_reset(struct tml_rl_env *e, size_t start, size_t max_steps, float *obs) {
  if (start < e->begin || start + 1 >= e->end)
    return TML_EINVAL;
  e->t = start;
  e->steps_left = max_steps ? max_steps : SIZE_MAX;
  tml_rl_account_reset(&e->a);
  if (obs)
    write_obs(e, obs);
  return 0;
}

/* Target position (-1/0/1) an action asks for from position pos; *invalid when a five-action move does
 * not apply (entering while in a position, exiting a side that is not held). */
static int action_target(enum tml_rl_action_space sp, int pos, int action, bool *invalid) {
  *invalid = false;
  if (sp == TML_RL_ACTIONS_TARGET3) {
    static const int tgt[3] = {0, 1, -1};
    return action >= 0 && action < 3 ? tgt[action] : pos;
  }
  switch (action) {
  case TML_RL_ENTER_LONG:
    *invalid = pos != 0;
    return pos == 0 ? 1 : pos;
  case TML_RL_EXIT_LONG:
    *invalid = pos != 1;
    return pos == 1 ? 0 : pos;
  case TML_RL_ENTER_SHORT:
    *invalid = pos != 0;
    return pos == 0 ? -1 : pos;
  case TML_RL_EXIT_SHORT:
    *invalid = pos != -1;
    return pos == -1 ? 0 : pos;
  default:
    return pos;
  }
}

int tml_rl_env_action_for_target(const struct tml_rl_env *e, int pos, int target) {
  if (e->o.actions == TML_RL_ACTIONS_TARGET3)
    return target > 0 ? TML_RL_LONG : (target < 0 ? TML_RL_SHORT : TML_RL_FLAT);
  if (pos == target)
    return TML_RL_NEUTRAL;
  if (pos == 1)
    return TML_RL_EXIT_LONG;
  if (pos == -1)
    return TML_RL_EXIT_SHORT;
  return target > 0 ? TML_RL_ENTER_LONG : TML_RL_ENTER_SHORT;
}

/* Fill price of a buy (side +1) or sell (-1) at a candle's open: open +/- slippage, clamped into the
 * candle's [low, high] (an order never fills at a price the candle did not trade). */
static double fill_price(const struct tml_rl_env_opts *o, const struct tml_rl_candle *c, int side) {
  double p = c->open + (double)side * o->slippage_range * (c->high - c->low);
  if (p > c->high)
    p = c->high;
  if (p < c->low)
    p = c->low;
  return p;
}

/* Closes the open position at price p (fee = fee_rate x qty x p) and books the trade. */
static void close_position(struct tml_rl_account *a, const struct tml_rl_env_opts *o, double p, double ref) {
  double fee = o->fee_rate * a->qty * p;
  a->base += (double)a->pos * a->qty * (p - a->entry) - fee;
  a->st.fees += fee;
  a->st.slippage += a->qty * fabs(p - ref);
  double net = a->base - a->entry_equity;
  if (net > 0) {
    a->st.wins++;
    a->st.gross_profit += net;
  } else {
    a->st.gross_loss += -net;
  }
  a->st.closed++;
  a->pos = 0;
  a->qty = a->entry = 0;
  a->hold = 0;
}

void tml_rl_account_fill(struct tml_rl_account *a, const struct tml_rl_env_opts *o, int action,
                         const struct tml_rl_candle *c) {
  bool invalid;
  int target = action_target(o->actions, a->pos, action, &invalid);
  if (invalid)
    a->st.invalid++;
  if (target != 0 && a->base <= 0)
    target = 0; /* a ruined account cannot open a position */
  if (target != a->pos) {
    if (a->pos != 0)
      close_position(a, o, fill_price(o, c, -a->pos), c->open);
    if (target != 0) {
      /* Entry: notional = equity, qty = notional / fill, fee = fee_rate x notional. */
      double p = fill_price(o, c, target);
      a->entry_equity = a->base;
      a->qty = a->base / p;
      double fee = o->fee_rate * a->base;
      a->base -= fee;
      a->st.fees += fee;
      a->st.slippage += a->qty * fabs(p - c->open);
      a->entry = p;
      a->pos = target;
      a->hold = 0;
      a->st.trades++;
    }
  }
}

void tml_rl_account_hold(struct tml_rl_account *a, double funding_per_candle, double close) {
  if (a->pos != 0) {
    /* Funding on the notional at this candle's close, pro rata of 8 h; longs pay a positive rate. */
    double f = funding_per_candle * (double)a->pos * a->qty * close;
    a->base -= f;
    a->st.funding += f;
    a->hold++;
    a->st.in_position++; /* held through this candle */
  }
  a->st.steps++;
}

void tml_rl_account_close(struct tml_rl_account *a, const struct tml_rl_env_opts *o, double close) {
  if (a->pos != 0)
    close_position(a, o, close, close);
}

double tml_rl_account_mark(struct tml_rl_account *a, const struct tml_rl_env_opts *o, double close) {
  double eq = a->base + (double)a->pos * a->qty * (close - a->entry);
  double reward = eq - a->equity;
  if (eq > a->peak)
    a->peak = eq;
  double dd = a->peak > 0 ? 1.0 - eq / a->peak : 1.0;
  reward -= o->drawdown_penalty * (dd - a->drawdown);
  if (a->pos != 0)
    reward -= o->holding_penalty;
  a->drawdown = dd;
  a->equity = eq;
  return reward;
}

double tml_rl_funding_per_candle(const struct tml_rl_env_opts *o, int64_t interval_ms) {
  return o->funding_rate_8h * (double)interval_ms / (8.0 * 3600.0 * 1000.0);
}

float tml_rl_env_step(struct tml_rl_env *e, int action, float *obs, bool *done) {
  const struct tml_rl_market *m = e->m;
  size_t t1 = e->t + 1;
  struct tml_rl_candle c = {m->open[t1], m->high[t1], m->low[t1], m->close[t1]};
  tml_rl_account_fill(&e->a, &e->o, action, &c);
  e->t = t1;
  tml_rl_account_hold(&e->a, e->funding_per_candle, c.close);
  if (e->steps_left != SIZE_MAX)
    e->steps_left--;
  bool end = e->steps_left == 0 || t1 + 1 >= e->end;
  if (end && e->close_at_end)
    tml_rl_account_close(&e->a, &e->o, c.close);
  double reward = tml_rl_account_mark(&e->a, &e->o, c.close);
  if (e->a.equity <= 0)
    end = true; /* ruined */
  *done = end;
  if (obs)
    write_obs(e, obs);
  return (float)reward;
}
