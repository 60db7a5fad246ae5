/* Reinforcement learning per symbol (docs/rl.md): a trading environment over stored candles and
 * the 70 causal features, trading metrics with the baselines every agent is compared with
 * (buy-and-hold, flat, a policy following a direction forecast), and the PPO agent of strategy `rl`.
 *
 * Timing (no fills at prices the candle did not trade, no look-ahead):
 *
 *   step k at row t:  observation = features of candle t (known at its close) + agent state
 *                     the agent decides; the order fills at open[t+1] +/- slippage, clamped into
 *                     [low[t+1], high[t+1]]; equity is marked at close[t+1]
 *                     reward = equity(close t+1) - equity(close t), net of fee, slippage, funding
 *
 * so the reward delivered with the observation of candle t+1 uses candles up to t+1 only, and an
 * episode over a prefix of the candles gives bit-identical observations and rewards up to its end
 * (tests/unit/rl/test_rl_env.c checks that). Equity starts at 1.0 (a fraction of the account);
 * one position at a time, full equity as notional, no leverage. */
#ifndef TML_RL_H
#define TML_RL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_candles;
struct tml_error;

/* ---- actions ---- */

enum tml_rl_action_space {
  TML_RL_ACTIONS_FIVE,   /* neutral, enter long, exit long, enter short, exit short (freqtrade's 5 actions) */
  TML_RL_ACTIONS_TARGET3 /* target position: flat, long, short */
};
enum tml_rl_action5 {
  TML_RL_NEUTRAL = 0,
  TML_RL_ENTER_LONG = 1,
  TML_RL_EXIT_LONG = 2,
  TML_RL_ENTER_SHORT = 3,
  TML_RL_EXIT_SHORT = 4
};
enum tml_rl_target { TML_RL_FLAT = 0, TML_RL_LONG = 1, TML_RL_SHORT = 2 };

/* "five" / "target3"; NULL for an invalid value. */
const char *tml_rl_action_space_name(enum tml_rl_action_space a);
/* Parses "five" | "target3"; TML_EINVAL naming `what` (the setting) and the choices. */
int tml_rl_action_space_parse(const char *s, const char *what, enum tml_rl_action_space *out,
                              struct tml_error *err);
/* Number of actions: 5 or 3. */
int tml_rl_action_count(enum tml_rl_action_space a);
/* Name of action k of the space ("neutral", "enter_long", ... / "flat", "long", "short"); NULL past the end. */
const char *tml_rl_action_name(enum tml_rl_action_space a, int k);

/* ---- market: the candles and scaled features an environment steps through ---- */

/* Row r is one candle: its OHLC and its feature row (known at its close). Flat arrays, owned. */
struct tml_rl_market {
  size_t n;          /* rows (candles with complete features) */
  size_t nfeat;      /* feature columns (70) */
  int64_t interval_ms;
  int64_t *time;     /* open time of each row */
  double *open, *high, *low, *close;
  float *X;          /* n * nfeat raw feature rows (tml_features_compute) */
};

/* Builds the market from a candle series (borrowed): the feature stream run over every candle,
 * rows from the first complete one. TML_EDATA when no row is complete; else as tml_features_compute.
 * Release with tml_rl_market_release. */
int tml_rl_market_build(const struct tml_candles *c, struct tml_rl_market *out, struct tml_error *err);
void tml_rl_market_release(struct tml_rl_market *m);
struct tml_dataset;
/* Builds a market from n rows of a dataset (borrowed; rows ascending indices into it, of one symbol):
 * market row k is dataset row rows[k] (its first nfeat feature columns and its candle). Rows that are
 * not consecutive candles (an embargo, a gap) are stepped over like a gap in the candles: the next
 * fill is at the next row's open. TML_EDATA for fewer than 2 rows, TML_ENOMEM. */
int tml_rl_market_from_rows(const struct tml_dataset *d, const size_t *rows, size_t n, struct tml_rl_market *out,
                            struct tml_error *err);
/* tml_rl_market_from_rows over the contiguous dataset rows [begin, end): TML_EINVAL when the range is
 * empty or outside the dataset, else as tml_rl_market_from_rows. */
int tml_rl_market_from_range(const struct tml_dataset *d, size_t begin, size_t end, struct tml_rl_market *m,
                             struct tml_error *err);

/* Standardisation of the feature columns: (x - mean) / std, clipped to +-clip; std below 1e-12
 * counts as 1. Fitted on training rows only. */
#define TML_RL_SCALER_MAXCOLS 256
struct tml_rl_scaler {
  size_t ncols;
  float mean[TML_RL_SCALER_MAXCOLS];
  float inv_std[TML_RL_SCALER_MAXCOLS];
  float clip; /* 5 */
};
/* Fits on rows [begin, end) of m (double accumulation, two passes). TML_EINVAL for an empty range
 * or more than TML_RL_SCALER_MAXCOLS columns. */
int tml_rl_scaler_fit(const struct tml_rl_market *m, size_t begin, size_t end, struct tml_rl_scaler *s,
                      struct tml_error *err);
/* out[j] = scaled x[j], j < s->ncols. */
void tml_rl_scaler_apply(const struct tml_rl_scaler *s, const float *x, float *out);

/* ---- environment ---- */

struct tml_rl_env_opts {
  enum tml_rl_action_space actions;
  double fee_rate;           /* taker fee per side, fraction of notional (0.00055 = 0.055 %), [0, 0.01] */
  double slippage_range;     /* slippage = this fraction of the fill candle's high - low, [0, 1] */
  double funding_rate_8h;    /* perpetual funding per 8 h, fraction of notional; longs pay when > 0,
                                shorts receive; charged pro rata each candle held; [-0.01, 0.01] */
  double drawdown_penalty;   /* shaping: reward -= coef * (drawdown_t - drawdown_{t-1}), [0, 100] */
  double holding_penalty;    /* shaping: reward -= coef per candle in a position, [0, 0.01] */
};
/* Defaults: five actions, fee 0.00055, slippage 0.05 of the range, no funding, no shaping. */
void tml_rl_env_opts_default(struct tml_rl_env_opts *o);
/* Checks every field; TML_EINVAL naming the rl.* setting, the value, the range and the fix. */
int tml_rl_env_opts_check(const struct tml_rl_env_opts *o, struct tml_error *err);
/* Parses a reward shaping term list ("none", "drawdown", "holding", "drawdown,holding"): sets
 * *drawdown / *holding true for the terms named. TML_EINVAL for an unknown term (naming it and `what`). */
int tml_rl_reward_terms_parse(const char *s, const char *what, bool *drawdown, bool *holding, struct tml_error *err);

/* Observation: the scaled features of the row, then the agent state (TML_RL_STATE_DIM):
 * long (0/1), short (0/1), unrealised profit of the open trade as a fraction of the equity at entry
 * (x 10, clipped to +-5), log1p(candles in the trade) / 5. */
#define TML_RL_STATE_DIM 4

/* What happened in an episode; every money figure is a fraction of the starting equity (1.0). */
struct tml_rl_stats {
  size_t steps;             /* actions taken */
  size_t trades;            /* positions opened */
  size_t closed;            /* positions closed (including the final forced exit) */
  size_t wins;              /* closed trades with positive net profit (fees included) */
  size_t invalid;           /* five-action moves that do not apply to the position (ignored) */
  size_t in_position;       /* steps ending with a position open */
  double fees;              /* fees paid */
  double slippage;          /* cost of slippage against the open price */
  double funding;           /* funding paid (negative = received) */
  double gross_profit;      /* sum of winning closed trades' net profit */
  double gross_loss;        /* sum of losing closed trades' net loss (positive) */
};

/* The paper account one episode trades: the environment's state, and the live stream's (strategy rl
 * carries it from candle to candle with the same functions, so a live decision equals the
 * environment's on the same candles). Equity starts at 1.0. */
struct tml_rl_account {
  int pos;                       /* -1 short, 0 flat, 1 long */
  double qty;                    /* base-asset units of the open position */
  double entry;                  /* fill price of the entry */
  double base;                   /* equity without the open position's unrealised profit */
  double entry_equity;           /* equity just before the entry (before its fee) */
  double equity, peak, drawdown;
  size_t hold;                   /* candles the open position has been held */
  struct tml_rl_stats st;
};
/* One candle's prices (the candle an order fills on and is marked at). */
struct tml_rl_candle {
  double open, high, low, close;
};
/* Flat, equity 1, stats zero. */
void tml_rl_account_reset(struct tml_rl_account *a);
/* The agent-state part of an observation (TML_RL_STATE_DIM floats) at a candle's close. */
void tml_rl_account_state(const struct tml_rl_account *a, double close, float *st);
/* One step on candle c, for an action decided at the previous candle's close, in this order:
 * fill (the order fills at c's open +/- slippage clamped into [low, high]; fees), hold (funding at c's
 * close, time in trade), optionally close (evaluation's forced exit at c's close), mark (equity at c's
 * close; returns the reward net of costs and shaping). tml_rl_env_step is exactly these calls. */
void tml_rl_account_fill(struct tml_rl_account *a, const struct tml_rl_env_opts *o, int action,
                         const struct tml_rl_candle *c);
void tml_rl_account_hold(struct tml_rl_account *a, double funding_per_candle, double close);
void tml_rl_account_close(struct tml_rl_account *a, const struct tml_rl_env_opts *o, double close);
double tml_rl_account_mark(struct tml_rl_account *a, const struct tml_rl_env_opts *o, double close);
/* funding_rate_8h pro rata of one candle of interval_ms. */
double tml_rl_funding_per_candle(const struct tml_rl_env_opts *o, int64_t interval_ms);

/* An environment over rows [begin, end) of a market (borrowed for its life). Opaque; no allocation
 * after creation. */
struct tml_rl_env;

/* Creates an environment. The scaler is copied. An episode needs at least 2 rows (one step).
 * TML_EINVAL for bad options (tml_rl_env_opts_check) or a range outside the market; TML_EDATA for a
 * range of fewer than 2 rows; TML_ENOMEM. Destroy with tml_rl_env_destroy. */
int tml_rl_env_create(const struct tml_rl_market *m, size_t begin, size_t end, const struct tml_rl_scaler *s,
                      const struct tml_rl_env_opts *o, struct tml_rl_env **out, struct tml_error *err);
void tml_rl_env_destroy(struct tml_rl_env *e);
/* Another environment over the same range and options that shares the prototype's scaled rows (the
 * prototype must outlive it): the parallel environments of a rollout. 0 or TML_ENOMEM. */
int tml_rl_env_clone(const struct tml_rl_env *proto, struct tml_rl_env **out, struct tml_error *err);
/* Observation width: nfeat + TML_RL_STATE_DIM. */
size_t tml_rl_env_obs_dim(const struct tml_rl_env *e);
int tml_rl_env_action_count(const struct tml_rl_env *e);
/* Starts an episode at row `start` (begin <= start < end - 1) that runs at most `max_steps` steps
 * (0 = to the end of the range), flat with equity 1. Writes the first observation. TML_EINVAL for a
 * start outside the range. */
int tml_rl_env_reset(struct tml_rl_env *e, size_t start, size_t max_steps, float *obs);
/* Applies `action`, moves to the next candle, writes its observation, returns the reward; *done is
 * true when the episode ended (its length or the range's last row). An out-of-range action counts as
 * neutral (callers pass valid ones). When the episode ends on the range's last row with a position
 * open, *done comes with the position closed at that row's close (fee charged, no slippage) only if
 * the environment was told so with tml_rl_env_set_close_at_end (evaluation); training episodes are
 * cut and bootstrapped instead. O(nfeat) per call, no allocation. */
float tml_rl_env_step(struct tml_rl_env *e, int action, float *obs, bool *done);
/* Evaluation episodes close the open position at the end (default false). */
void tml_rl_env_set_close_at_end(struct tml_rl_env *e, bool on);
/* Row range [begin, end) and the market (borrowed). */
void tml_rl_env_range(const struct tml_rl_env *e, size_t *begin, size_t *end);
const struct tml_rl_market *tml_rl_env_market(const struct tml_rl_env *e);
/* Current row, equity, position (-1, 0, 1) and the episode's stats so far. */
size_t tml_rl_env_row(const struct tml_rl_env *e);
double tml_rl_env_equity(const struct tml_rl_env *e);
int tml_rl_env_position(const struct tml_rl_env *e);
const struct tml_rl_stats *tml_rl_env_stats(const struct tml_rl_env *e);
/* Action of the space that moves position `pos` (-1/0/1) to target `target` (-1/0/1) in one step:
 * for five actions a reversal needs two steps, so it returns the exit first. */
int tml_rl_env_action_for_target(const struct tml_rl_env *e, int pos, int target);

/* ---- trading metrics and baselines ---- */

struct tml_rl_trading_metrics {
  double net_return;     /* final equity - 1 */
  double sharpe;         /* mean / std of per-candle equity returns x sqrt(candles per 365 days); 0 when std is 0 */
  double max_drawdown;   /* largest fall from a running equity peak, fraction of the peak (0..1) */
  double profit_factor;  /* gross profit / gross loss of closed trades; 0 with no trades;
                            INFINITY encoded as 1e9 when there were wins and no losses */
  size_t trades;         /* positions opened */
  double exposure;       /* share of steps in a position */
  double fees_paid;      /* fees + slippage + funding, fraction of the starting equity */
  double win_rate;       /* wins / closed trades; 0 with none */
  size_t steps;
};

/* A policy for tml_rl_evaluate: writes the action for the observation `obs` of row `row`.
 * Returns 0 or a negative TML_E* (stops the evaluation). */
typedef int (*tml_rl_policy_fn)(void *ctx, const float *obs, size_t row, int position, int *action);

/* A policy is called once with obs == NULL (and action NULL) at the start of every episode, before the
 * episode's first observation: a policy with memory (the lstm agent's window) forgets there. */

/* Runs one evaluation episode over the environment's whole range with `policy` (reset at the range's
 * first row; the open position is closed at the last row's close) and computes its metrics. Equity per step goes to equity_out (steps + 1 values,
 * may be NULL). Returns 0 or the policy's error. */
int tml_rl_evaluate(struct tml_rl_env *e, tml_rl_policy_fn policy, void *ctx, struct tml_rl_trading_metrics *out,
                    double *equity_out, struct tml_error *err);

/* Baselines on the same rows and costs (targets: -1 short, 0 flat, 1 long per row). */
enum tml_rl_baseline { TML_RL_BASE_BUY_HOLD, TML_RL_BASE_FLAT, TML_RL_BASE_DIRECTION };
const char *tml_rl_baseline_name(enum tml_rl_baseline b); /* "buy_and_hold", "flat", "direction" */
/* Follows target positions: target[row - begin] for each row of the env's range. Used for the
 * direction baseline (target = +1 when a model's direction head says up, -1 down, 0 neutral) and for
 * buy-and-hold (+1 everywhere) and flat (0 everywhere) through tml_rl_evaluate_baseline. */
int tml_rl_evaluate_targets(struct tml_rl_env *e, const int8_t *target, struct tml_rl_trading_metrics *out,
                            struct tml_error *err);
/* Buy-and-hold or flat over the env's range. TML_EINVAL for DIRECTION (needs targets). */
int tml_rl_evaluate_baseline(struct tml_rl_env *e, enum tml_rl_baseline b, struct tml_rl_trading_metrics *out,
                             struct tml_error *err);

/* ---- PPO agent (Schulman et al. 2017, "Proximal Policy Optimization Algorithms") ----
 *
 * Actor and critic are separate MLPs (tanh hidden layers) on the shared nn core (trademl/nn.h);
 * the actor's logits give a softmax policy over the action space, the critic one value. With
 * network = lstm, one LSTM layer (shared by both) reads the episode's last `window` observations
 * (zero rows before the episode's first) from a zero state and its last hidden state is the heads'
 * input; PPO's gradient flows back through the window (truncated BPTT over `window` steps). Training
 * collects rollouts from n_envs environments over the fit rows (episodes of episode_candles from
 * seeded random starts, cut episodes bootstrapped with the critic), computes generalised advantage
 * estimates (Schulman et al. 2016), and runs `epochs` passes of shuffled minibatches over the
 * clipped surrogate objective + value_coef x squared value error - entropy_coef x policy entropy,
 * with gradient-norm clipping and Adam. Every eval_every rollouts the greedy policy is run over the
 * validation rows (which follow the fit rows after a purge) and the weights with the best validation
 * net return are kept. Deterministic for a seed and a thread count when the budget is in steps
 * (a time budget stops wherever the clock says). */
enum tml_rl_network { TML_RL_NET_MLP = 0, TML_RL_NET_LSTM = 1 };
/* "mlp" / "lstm"; NULL for an invalid value. */
const char *tml_rl_network_name(enum tml_rl_network n);
/* Parses "mlp" | "lstm"; TML_EINVAL naming `what` (the setting) and the choices. */
int tml_rl_network_parse(const char *s, const char *what, enum tml_rl_network *out, struct tml_error *err);

struct tml_rl_ppo_params {
  size_t hidden;          /* units per hidden layer (64) */
  size_t layers;          /* hidden layers (2) */
  size_t n_envs;          /* parallel environments of a rollout (8) */
  size_t rollout_steps;   /* steps per environment per rollout (256) */
  size_t episode_candles; /* training episode length (512) */
  int epochs;             /* passes over a rollout (4) */
  size_t minibatch;       /* transitions per update (256) */
  double lr;              /* Adam learning rate (3e-4) */
  double gamma;           /* discount per candle (0.99) */
  double gae_lambda;      /* GAE lambda (0.95) */
  double clip;            /* surrogate clip epsilon (0.2) */
  double entropy_coef;    /* entropy bonus (0.01) */
  double value_coef;      /* value loss weight (0.5) */
  double max_grad_norm;   /* gradient clipping (0.5) */
  double reward_scale;    /* rewards are multiplied by this for learning (100: percent of equity) */
  uint64_t total_steps;   /* budget in environment steps (300000) */
  double time_budget_s;   /* wall-clock budget, 0 = none (not deterministic when it stops the run) */
  int eval_every;         /* rollouts between validation checks (2) */
  uint64_t seed;          /* 42 */
  enum tml_rl_network network; /* mlp (default) or lstm */
  size_t lstm_hidden;     /* LSTM units (32), lstm only */
  size_t window;          /* observations the LSTM reads (8), lstm only; an MLP reads 1 */
  /* Called after every rollout (and its validation check, when one ran): valid_return is the newest
   * validation net return (NaN before the first). Return non-zero to stop: the training returns
   * TML_EINTR and keeps nothing. May be NULL. */
  int (*progress)(void *ud, size_t rollout, size_t total_rollouts, double valid_return, int best_rollout);
  void *progress_ud;
};
void tml_rl_ppo_params_default(struct tml_rl_ppo_params *p);
/* TML_EINVAL naming the rl.* setting, the value, the range and the fix. */
int tml_rl_ppo_params_check(const struct tml_rl_ppo_params *p, struct tml_error *err);

struct tml_rl_train_report {
  size_t rollouts, updates;
  uint64_t env_steps;        /* transitions collected */
  double rollout_seconds;    /* acting: policy forward + environment steps */
  double learn_seconds;      /* PPO updates */
  double eval_seconds;       /* validation episodes */
  int best_rollout;          /* rollout whose weights were kept (1-based; 0 = none evaluated) */
  double best_valid_return;  /* validation net return of the kept weights */
  size_t valid_evals;
  double last_entropy;       /* mean policy entropy of the last update (nats) */
  double last_value_loss;
  bool stopped_by_time;
};

struct tml_rl_agent; /* opaque */

/* Trains an agent on rows [fit_begin, fit_end) of m (the scaler is fitted on these rows only) and
 * chooses the checkpoint on rows [valid_begin, valid_end) (which must not overlap the fit rows; give
 * an empty range to keep the last weights). m is borrowed for the call. TML_EINVAL for bad options
 * and for too few rows (fewer than episode_candles + 1 fit rows, or a validation block of fewer than
 * 2 rows: the fix is a setting), TML_EDATA for a diverged update (non-finite gradients), TML_ENOMEM.
 * Caller frees *out. */
int tml_rl_agent_train(const struct tml_rl_market *m, size_t fit_begin, size_t fit_end, size_t valid_begin,
                       size_t valid_end, const struct tml_rl_env_opts *eo, const struct tml_rl_ppo_params *pp,
                       struct tml_rl_agent **out, struct tml_rl_train_report *rep, struct tml_error *err);
void tml_rl_agent_free(struct tml_rl_agent *a); /* accepts NULL */
/* An environment over rows [begin, end) of m with the agent's scaler and cost options. */
int tml_rl_agent_env_create(const struct tml_rl_agent *a, const struct tml_rl_market *m, size_t begin, size_t end,
                            struct tml_rl_env **out, struct tml_error *err);
/* A tml_rl_policy_fn: the agent (ctx) acts greedily (the most probable action) on the observation and,
 * with the lstm network, the episode's observations before it (kept in the agent: the obs == NULL call
 * at an episode's start clears them). One episode at a time per agent. */
int tml_rl_agent_policy(void *agent, const float *obs, size_t row, int position, int *action);
/* One decision for a raw feature row (nfeat floats, as tml_feature_stream_push writes it) and an agent
 * state (position -1/0/1, unrealised profit as a fraction of the entry equity, candles in the trade),
 * as the first observation of an episode (an lstm agent's window holds nothing before it):
 * action probabilities (tml_rl_agent_action_count floats), the critic's value, the greedy action.
 * Not thread-safe for one agent (it uses the agent's workspace). */
void tml_rl_agent_act(struct tml_rl_agent *a, const float *raw_row, int position, double upnl, size_t hold,
                      float *probs, float *value, int *action);
int tml_rl_agent_action_count(const struct tml_rl_agent *a);
enum tml_rl_action_space tml_rl_agent_action_space(const struct tml_rl_agent *a);
const struct tml_rl_env_opts *tml_rl_agent_env_opts(const struct tml_rl_agent *a);
size_t tml_rl_agent_nfeat(const struct tml_rl_agent *a);
void tml_rl_agent_arch(const struct tml_rl_agent *a, size_t *hidden, size_t *layers);
enum tml_rl_network tml_rl_agent_network(const struct tml_rl_agent *a);
size_t tml_rl_agent_window(const struct tml_rl_agent *a);      /* 1 for an MLP */
size_t tml_rl_agent_lstm_hidden(const struct tml_rl_agent *a); /* 0 for an MLP */
size_t tml_rl_agent_obs_dim(const struct tml_rl_agent *a);     /* nfeat + TML_RL_STATE_DIM */
/* The decision for a window of observations (window x obs_dim floats, scaled features then the agent
 * state, oldest first, zero rows before an episode's first): probabilities, the critic's value, the
 * greedy action (each may be NULL). Not thread-safe for one agent (its workspace). */
void tml_rl_agent_decide(struct tml_rl_agent *a, const float *win, float *probs, float *value, int *action);
/* Agent file (docs/rl.md): magic, version, feature-set checksum, architecture, scaler, cost options,
 * weights and an FNV-1a checksum of everything before it; written atomically (temp + rename). */
int tml_rl_agent_save(const struct tml_rl_agent *a, const char *path, struct tml_error *err);
/* TML_EMODEL naming the file and what is wrong for a missing, truncated, corrupt or foreign file (or
 * one written for another feature set); never a crash. Caller frees *out. */
int tml_rl_agent_load(const char *path, struct tml_rl_agent **out, struct tml_error *err);
/* The comparison every strategy gets on a fold's test rows (validate): buy-and-hold, flat, and the
 * policy that follows a direction head (target +1 when its most probable class is up, -1 down,
 * 0 neutral), all on the same rows and costs. direction: (down, neutral, up) probabilities per test
 * row, or NULL (no direction policy). The baselines read no features (the environment's observation
 * is not used), so no scaler is fitted. TML_EDATA for fewer than 2 rows (one symbol's rows). */
struct tml_rl_fold_trading {
  struct tml_rl_trading_metrics buy_hold, flat, direction;
  bool has_direction;
};
int tml_rl_fold_trading(const struct tml_dataset *d, size_t begin, size_t end, const struct tml_rl_env_opts *eo,
                        const float *direction, struct tml_rl_fold_trading *out, struct tml_error *err);
/* The agent's own episode (its position carried from step to step) over dataset rows [begin, end)
 * with its cost options: the trading metrics of strategy rl on a fold (ppo.c, beside the agent). */
int tml_rl_agent_trade(struct tml_rl_agent *a, const struct tml_dataset *d, size_t begin, size_t end,
                       struct tml_rl_trading_metrics *out, struct tml_error *err);

/* ---- the agent trading a live candle stream (strategy rl's stream state) ----
 * The environment's episode, one closed candle at a time: candle k's order (decided at candle k-1's
 * close) fills at candle k's open with the environment's costs (tml_rl_account_*), then the agent sees
 * candle k's observation (its features and the account's state) and decides. So over the same candles
 * the stream takes the same actions as tml_rl_evaluate from the first of them (tested), and the
 * position it reports is the one its own previous decisions built. */
struct tml_rl_stream;
/* a is borrowed (outlives the stream; the stream uses its workspace: one thread at a time per agent). */
int tml_rl_stream_create(struct tml_rl_agent *a, struct tml_rl_stream **out, struct tml_error *err);
/* Back to its creation: no rows seen, flat, equity 1. */
void tml_rl_stream_reset(struct tml_rl_stream *s);
void tml_rl_stream_destroy(struct tml_rl_stream *s); /* accepts NULL */
/* Candle k's raw feature row (nfeat floats): first call of a candle. */
void tml_rl_stream_push_features(struct tml_rl_stream *s, const float *raw_row);
/* The decision probabilities from the flat state over the features pushed so far (the direction head:
 * a function of the rows alone, equal to batch prediction). */
void tml_rl_stream_flat(struct tml_rl_stream *s, float *probs);
/* Candle k's prices (candles of interval_ms: funding), after its features: fills the pending order,
 * marks the account, decides (probs, value, action may be NULL). */
void tml_rl_stream_trade(struct tml_rl_stream *s, const struct tml_rl_candle *c, int64_t interval_ms, float *probs,
                         float *value, int *action);
/* The account after the last candle (position, entry, equity, time in trade, stats). */
const struct tml_rl_account *tml_rl_stream_account(const struct tml_rl_stream *s);

struct tml_config;
/* Environment and PPO options from the rl.* keys (and training.seed) of cfg; cfg NULL = defaults.
 * TML_EINVAL naming the key for an unknown action space or reward term or a value out of range. */
int tml_rl_opts_from_config(const struct tml_config *cfg, struct tml_rl_env_opts *eo, struct tml_rl_ppo_params *pp,
                            struct tml_error *err);
/* Same weights and settings (tests: save/load round trip). */
bool tml_rl_agent_equal(const struct tml_rl_agent *a, const struct tml_rl_agent *b);

#endif
