/* The rl.* configuration keys (src/lib/util/config.c, docs/config.md) turned into the environment
 * and PPO options: one vocabulary, the config keys, for flags, jobs and the API alike. */
#include "trademl/rl.h"

#include "util/common.h"

#include "trademl/config.h"
#include "trademl/error.h"

int tml_rl_opts_from_config(const struct tml_config *cfg, struct tml_rl_env_opts *eo, struct tml_rl_ppo_params *pp,
                            struct tml_error *err) {
  tml_rl_env_opts_default(eo);
  tml_rl_ppo_params_default(pp);
  if (!cfg)
    return 0;
  int rc = tml_rl_action_space_parse(tml_config_get(cfg, "rl.action_space"), "rl.action_space", &eo->actions, err);
  if (rc)
    return rc;
  bool dd, hold;
  rc = tml_rl_reward_terms_parse(tml_config_get(cfg, "rl.reward"), "rl.reward", &dd, &hold, err);
  if (rc)
    return rc;
  eo->fee_rate = tml_config_double(cfg, "rl.fee_rate");
  eo->slippage_range = tml_config_double(cfg, "rl.slippage_range");
  eo->funding_rate_8h = tml_config_double(cfg, "rl.funding_rate_8h");
  eo->drawdown_penalty = dd ? tml_config_double(cfg, "rl.drawdown_penalty") : 0;
  eo->holding_penalty = hold ? tml_config_double(cfg, "rl.holding_penalty") : 0;
  pp->hidden = (size_t)tml_config_int(cfg, "rl.hidden");
  pp->layers = (size_t)tml_config_int(cfg, "rl.layers");
  pp->n_envs = (size_t)tml_config_int(cfg, "rl.n_envs");
  pp->rollout_steps = (size_t)tml_config_int(cfg, "rl.rollout_steps");
  pp->episode_candles = (size_t)tml_config_int(cfg, "rl.episode_candles");
  pp->epochs = (int)tml_config_int(cfg, "rl.epochs");
  pp->minibatch = (size_t)tml_config_int(cfg, "rl.minibatch");
  pp->lr = tml_config_double(cfg, "rl.learning_rate");
  pp->gamma = tml_config_double(cfg, "rl.gamma");
  pp->gae_lambda = tml_config_double(cfg, "rl.gae_lambda");
  pp->clip = tml_config_double(cfg, "rl.clip");
  pp->entropy_coef = tml_config_double(cfg, "rl.entropy_coef");
  pp->value_coef = tml_config_double(cfg, "rl.value_coef");
  pp->max_grad_norm = tml_config_double(cfg, "rl.max_grad_norm");
  pp->reward_scale = tml_config_double(cfg, "rl.reward_scale");
  pp->total_steps = (uint64_t)tml_config_int(cfg, "rl.total_steps");
  pp->time_budget_s = (double)tml_config_int(cfg, "rl.time_budget");
  pp->eval_every = (int)tml_config_int(cfg, "rl.eval_every");
  pp->seed = (uint64_t)tml_config_int(cfg, "training.seed");
  rc = tml_rl_network_parse(tml_config_get(cfg, "rl.network"), "rl.network", &pp->network, err);
  if (rc)
    return rc;
  pp->lstm_hidden = (size_t)tml_config_int(cfg, "rl.lstm_hidden");
  pp->window = (size_t)tml_config_int(cfg, "rl.window");
  rc = tml_rl_env_opts_check(eo, err);
  if (!rc)
    rc = tml_rl_ppo_params_check(pp, err);
  return rc;
}
