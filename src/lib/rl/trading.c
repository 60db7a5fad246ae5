/* Trading metrics of one evaluation episode, and the baselines an agent is compared with on the same
 * rows and costs: buy-and-hold, flat (always neutral) and a policy following a direction forecast.
 * Formulas are in trademl/rl.h next to each field. */
#include "trademl/rl.h"

#include "util/common.h"

#include "trademl/dataset.h"
#include "trademl/error.h"

#define MS_PER_YEAR (365.0 * 86400.0 * 1000.0)

int tml_rl_evaluate(struct tml_rl_env *e, tml_rl_policy_fn policy, void *ctx, struct tml_rl_trading_metrics *out,
                    double *equity_out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  size_t dim = tml_rl_env_obs_dim(e), begin, end;
  tml_rl_env_range(e, &begin, &end);
  float *obs = malloc(dim * sizeof(float));
  if (!obs)
    return tml_error_set(err, TML_ENOMEM, "out of memory for an observation");
  tml_rl_env_reset(e, begin, 0, obs);
  tml_rl_env_set_close_at_end(e, true);
  int rc = policy(ctx, NULL, begin, 0, NULL); /* the episode starts */
  bool done = false;
  double prev = 1.0, sum = 0, sumsq = 0, peak = 1.0, mdd = 0;
  size_t k = 0;
  if (equity_out)
    equity_out[0] = 1.0;
  while (!rc && !done) {
    int action = 0;
    rc = policy(ctx, obs, tml_rl_env_row(e), tml_rl_env_position(e), &action);
    if (rc)
      break;
    tml_rl_env_step(e, action, obs, &done);
    double eq = tml_rl_env_equity(e);
    double r = prev > 0 ? eq / prev - 1.0 : 0.0;
    sum += r;
    sumsq += r * r;
    if (eq > peak)
      peak = eq;
    double dd = peak > 0 ? 1.0 - eq / peak : 1.0;
    if (dd > mdd)
      mdd = dd;
    prev = eq;
    k++;
    if (equity_out)
      equity_out[k] = eq;
  }
  tml_rl_env_set_close_at_end(e, false);
  free(obs);
  if (rc)
    return tml_error_set(err, rc, "rl evaluation: the policy failed at row %zu", tml_rl_env_row(e));
  const struct tml_rl_stats *st = tml_rl_env_stats(e);
  out->steps = k;
  out->net_return = prev - 1.0;
  if (k > 1) {
    /* Per-candle returns, population variance, annualised with the candles in 365 days. */
    double mean = sum / (double)k, var = sumsq / (double)k - mean * mean;
    int64_t iv = tml_rl_env_market(e)->interval_ms;
    if (var > 1e-30 && iv > 0)
      out->sharpe = mean / sqrt(var) * sqrt(MS_PER_YEAR / (double)iv);
  }
  out->max_drawdown = mdd;
  if (st->gross_loss > 0)
    out->profit_factor = st->gross_profit / st->gross_loss;
  else
    out->profit_factor = st->wins > 0 ? 1e9 : 0.0;
  out->trades = st->trades;
  out->exposure = k ? (double)st->in_position / (double)k : 0.0;
  out->fees_paid = st->fees + st->slippage + st->funding;
  out->win_rate = st->closed ? (double)st->wins / (double)st->closed : 0.0;
  return 0;
}

struct targets_ctx {
  const struct tml_rl_env *e;
  const int8_t *target; /* per row of the range, or NULL for `constant` */
  size_t begin;
  int constant;
};

static int follow_targets(void *ctx, const float *obs, size_t row, int position, int *action) {
  if (!obs)
    return 0; /* no memory */
  struct targets_ctx *c = ctx;
  int tgt = c->target ? c->target[row - c->begin] : c->constant;
  *action = tml_rl_env_action_for_target(c->e, position, tgt);
  return 0;
}

int tml_rl_evaluate_targets(struct tml_rl_env *e, const int8_t *target, struct tml_rl_trading_metrics *out,
                            struct tml_error *err) {
  size_t begin, end;
  tml_rl_env_range(e, &begin, &end);
  struct targets_ctx c = {.e = e, .target = target, .begin = begin};
  return tml_rl_evaluate(e, follow_targets, &c, out, NULL, err);
}

const char *tml_rl_baseline_name(enum tml_rl_baseline b) {
  switch (b) {
  case TML_RL_BASE_BUY_HOLD:
    return "buy_and_hold";
  case TML_RL_BASE_FLAT:
    return "flat";
  case TML_RL_BASE_DIRECTION:
    return "direction";
  }
  return NULL;
}

int tml_rl_evaluate_baseline(struct tml_rl_env *e, enum tml_rl_baseline b, struct tml_rl_trading_metrics *out,
                             struct tml_error *err) {
  if (b != TML_RL_BASE_BUY_HOLD && b != TML_RL_BASE_FLAT)
    return tml_error_set(err, TML_EINVAL, "baseline %s needs per-row targets: use tml_rl_evaluate_targets",
                         tml_rl_baseline_name(b) ? tml_rl_baseline_name(b) : "(invalid)");
  size_t begin, end;
  tml_rl_env_range(e, &begin, &end);
  struct targets_ctx c = {.e = e, .begin = begin, .constant = b == TML_RL_BASE_BUY_HOLD ? 1 : 0};
  return tml_rl_evaluate(e, follow_targets, &c, out, NULL, err);
}

int tml_rl_fold_trading(const struct tml_dataset *d, size_t begin, size_t end, const struct tml_rl_env_opts *eo,
                        const float *direction, struct tml_rl_fold_trading *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  if (d->nsymbols > 1)
    return tml_error_set(err, TML_EINVAL, "rl trading metrics are per symbol: the dataset holds %zu symbols",
                         d->nsymbols);
  struct tml_rl_market m;
  int rc = tml_rl_market_from_range(d, begin, end, &m, err);
  if (rc)
    return rc;
  /* Identity scaling: the baselines never look at the observation. */
  struct tml_rl_scaler sc;
  memset(&sc, 0, sizeof(sc));
  sc.ncols = m.nfeat;
  sc.clip = 1e30f;
  for (size_t j = 0; j < m.nfeat && j < TML_RL_SCALER_MAXCOLS; j++)
    sc.inv_std[j] = 1.0f;
  struct tml_rl_env *e = NULL;
  int8_t *target = NULL;
  rc = tml_rl_env_create(&m, 0, m.n, &sc, eo, &e, err);
  if (!rc)
    rc = tml_rl_evaluate_baseline(e, TML_RL_BASE_BUY_HOLD, &out->buy_hold, err);
  if (!rc)
    rc = tml_rl_evaluate_baseline(e, TML_RL_BASE_FLAT, &out->flat, err);
  if (!rc && direction) {
    target = malloc(m.n);
    if (!target) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory for %zu targets", m.n);
    } else {
      for (size_t k = 0; k < m.n; k++) {
        const float *p = direction + 3 * k;
        /* argmax of (down, neutral, up); ties and NaN stay out of the market */
        int t = 0;
        if (p[2] > p[1] && p[2] > p[0])
          t = 1;
        else if (p[0] > p[1] && p[0] > p[2])
          t = -1;
        target[k] = (int8_t)t;
      }
      rc = tml_rl_evaluate_targets(e, target, &out->direction, err);
      out->has_direction = rc == 0;
    }
  }
  free(target);
  tml_rl_env_destroy(e);
  tml_rl_market_release(&m);
  return rc;
}
