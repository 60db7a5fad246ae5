/* Internals of the rl agent that the unit tests reach (gradient checks); not part of the API. */
#ifndef TML_RL_INTERNAL_H
#define TML_RL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/rl.h"

struct tml_nn_params;

/* An untrained agent over nfeat features (identity scaler) with pp's architecture and seed, sized for
 * batches of max_batch. Caller frees with tml_rl_agent_free. */
int tml__rl_agent_create(size_t nfeat, const struct tml_rl_env_opts *eo, const struct tml_rl_ppo_params *pp,
                         size_t max_batch, struct tml_rl_agent **out, struct tml_error *err);
/* The agent's parameter store (values and gradients). */
struct tml_nn_params *tml__rl_agent_params(struct tml_rl_agent *a);
/* The PPO loss of n transitions (W: n windows of window x obs_dim floats) and, when grad, its gradient
 * accumulated into the params' g (zero them first). NaN when out of memory. */
double tml__rl_ppo_loss(struct tml_rl_agent *a, const float *W, const int32_t *act, const float *old_logp,
                        const float *adv, const float *ret, size_t n, const struct tml_rl_ppo_params *pp, bool grad);

#endif
