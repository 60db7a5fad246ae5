/* Configuration for CLI commands: state paths + trademl.yaml + environment + the command's flags. */
#ifndef TML_CLI_CONFIG_H
#define TML_CLI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "trademl/store.h"

#include <stddef.h>
#include <stdint.h>

struct tml_config;
struct tml_paths;

/* Loads the config for a CLI command: resolves paths (cli_globals.home), loads config
 * (cli_globals.config_path), then applies every parsed flag that has a cli_opt.config_key
 * (tml_config_set with TML_CFG_FLAG, origin "--flag"; list flags are joined with ','; value-less
 * flags set "true"). Then paths->db/models/logs are set from data.db_path, model.models_dir and
 * logging.dir, and the log level from logging.level. `a` may be NULL (no flags).
 * On success the caller owns *cfg (tml_config_free). Returns 0 or a negative TML_E* with err set. */
int cli_load_config(const struct cli_args *a, struct tml_paths *paths, struct tml_config **cfg,
                    struct tml_error *err);

/* The XGBoost flags of `train` and `validate`, one list for both: what validate measures must be
 * what train builds, so every hyperparameter that one command takes the other takes too. Each
 * overrides its training.* key. */
#define CLI_XGB_OPTS                                                                                                      \
  {"num-boost-round", CLI_VALUE, "N", "maximum boosting rounds", "training.num_boost_round"},                             \
  {"early-stopping-rounds", CLI_VALUE, "N", "stop after N rounds without improvement", "training.early_stopping_rounds"}, \
  {"learning-rate", CLI_VALUE, "ETA", "shrinkage", "training.learning_rate"},                                             \
  {"max-depth", CLI_VALUE, "N", "tree depth", "training.max_depth"},                                                      \
  {"min-child-weight", CLI_VALUE, "W", "minimum hessian in a leaf", "training.min_child_weight"},                         \
  {"subsample", CLI_VALUE, "F", "row subsampling per tree", "training.subsample"},                                        \
  {"colsample-bytree", CLI_VALUE, "F", "column subsampling per tree", "training.colsample_bytree"},                       \
  {"max-bin", CLI_VALUE, "N", "XGBoost histogram bins", "training.max_bin"},                                              \
  {"seed", CLI_VALUE, "N", "random seed", "training.seed"},                                                               \
  {"engine", CLI_VALUE, "NAME", "boosting engine: xgboost | native", "training.engine"},                                 \
  {"max-leaves", CLI_VALUE, "N", "most leaves per tree (0 = no limit)", "training.max_leaves"},                          \
  {"grow-policy", CLI_VALUE, "NAME", "tree growth: depthwise | lossguide", "training.grow_policy"},                     \
  {"native-histogram", CLI_VALUE, "P", "native engine histogram sums: float | double", "training.native_histogram"}

/* The lstm strategy's settings (docs/lstm.md), one flag per lstm.* key. */
#define CLI_LSTM_OPTS                                                                                                     \
  {"lstm-hidden-size", CLI_VALUE, "N", "lstm: units per layer", "lstm.hidden_size"},                                      \
  {"lstm-layers", CLI_VALUE, "N", "lstm: stacked layers (1-4)", "lstm.layers"},                                           \
  {"lstm-learning-rate", CLI_VALUE, "LR", "lstm: Adam step size", "lstm.learning_rate"},                                  \
  {"lstm-batch-size", CLI_VALUE, "N", "lstm: windows per training step", "lstm.batch_size"},                              \
  {"lstm-epochs", CLI_VALUE, "N", "lstm: maximum epochs", "lstm.epochs"},                                                 \
  {"lstm-patience", CLI_VALUE, "N", "lstm: epochs without a better validation loss before stopping", "lstm.patience"},   \
  {"lstm-dropout", CLI_VALUE, "P", "lstm: dropout between layers and before the heads", "lstm.dropout"},                  \
  {"lstm-clip", CLI_VALUE, "NORM", "lstm: maximum gradient norm (0 = none)", "lstm.clip"},                                \
  {"lstm-sequence-length", CLI_VALUE, "ROWS", "lstm: rows of the symbol read per prediction", "lstm.sequence_length"},    \
  {"lstm-seed", CLI_VALUE, "N", "lstm: seed of weights, dropout and batch order", "lstm.seed"}

struct tml_model_row;
/* The folder of the active set that a new set of these symbols (strategy, interval) would replace,
 * into dir; "" when there is none (no database, nothing active, or its folder is gone). Training scores
 * it on its own validation rows so that activation compares both on the same rows. */
void cli_incumbent_dir(const char *db_path, const char *strategy, const char *const *symbols, size_t n,
                       int64_t interval_ms, char *dir, size_t dirsz);

/* Registers a model set just written (docs/registry.md) under the configured activation policy
 * (model.activation.*), with the job id of the running job (TRADEML_JOB_ID, set by the job runner) or 0.
 * On failure the message says the set exists on disk and how to register it by hand. */
int cli_register_model_set(const struct tml_config *cfg, const char *db_path, const char *model_dir,
                           struct tml_model_row *row, struct tml_error *err);

struct tml_store;
/* The symbols a train/validate run works on, normalized: data.symbols (--symbol overrides it) when set,
 * else every symbol the store holds at interval_ms (*from_store true). *out is malloc'ed (free()), *n
 * entries. TML_EUSAGE (naming the intervals that are stored) when both are empty, TML_EINVAL for a bad
 * symbol name. */
int cli_run_symbols(const struct tml_config *cfg, struct tml_store *store, int64_t interval_ms,
                    char (**out)[TML_SYMBOL_MAX], size_t *n, bool *from_store, struct tml_error *err);

#endif
