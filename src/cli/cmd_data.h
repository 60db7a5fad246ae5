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
/* Fetches what a symbol lacks before training (see cmd_data_fetch.c). */
int cmd_fetch_for_training(struct tml_store *s, const struct tml_config *cfg, const char *symbol,
                           int64_t interval_ms, double days, bool quiet, struct tml_error *err);

#endif
