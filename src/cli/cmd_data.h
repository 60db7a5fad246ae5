/* `trademl data <verb>`: the verb table (data_verbs.def) and helpers shared by the verb files. */
#ifndef TML_CLI_CMD_DATA_H
#define TML_CLI_CMD_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "trademl/store.h"

#define DATA_VERB(name, fn, summary) int fn(int argc, char **argv);
#include "data_verbs.def"
#undef DATA_VERB

/* Opens the candle store under the state home (--home / $TRADEML_HOME / ./var), creating it. */
int cmd_data_open_store(struct tml_store **s, struct tml_error *err);
/* Normalizes and validates a --symbol value into out (TML_SYMBOL_MAX bytes). */
int cmd_data_symbol(const char *in, char *out, struct tml_error *err);

struct tml_config;
struct tml_exchange_config;
struct cli_args;
/* Exchange plumbing shared by data fetch/sync, universe and train (cmd_data_fetch.c): the market flag
 * (--category, --product-type or --market), and the client settings from the configuration with an
 * optional --base-url set on exchanges.<name>.base_url (NULL: none). *out borrows from cfg. */
const char *cmd_exchange_market(const struct cli_args *a);
int cmd_exchange_config(struct tml_config *cfg, const char *name, const char *market,
                        const char *base_url_flag, struct tml_exchange_config *out,
                        struct tml_error *err);
/* Fetches what a symbol lacks before training (see cmd_data_fetch.c). */
int cmd_fetch_for_training(struct tml_store *s, const struct tml_config *cfg, const char *symbol,
                           int64_t interval_ms, double days, bool quiet, struct tml_error *err);

#endif
