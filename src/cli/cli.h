/* Shared pieces of the `trademl` command: the subcommand signature, a small GNU-style option parser
 * that also takes multi-value flags (`--symbol BTCUSDT ETHUSDT`), and error reporting. */
#ifndef TML_CLI_H
#define TML_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "trademl/error.h"

enum cli_kind { CLI_FLAG, CLI_VALUE, CLI_LIST };

struct cli_opt {
  const char *name;       /* long name without "--" */
  enum cli_kind kind;
  const char *metavar;    /* "SYMBOL"; NULL for flags */
  const char *help;
  const char *config_key; /* key in trademl.yaml this flag overrides, or NULL */
};

#define CLI_MAX_VALUES 256
struct cli_args {
  const struct cli_opt *opts;
  size_t nopts;
  const char *values[CLI_MAX_VALUES]; /* borrowed from argv */
  int value_opt[CLI_MAX_VALUES];      /* which option each value belongs to; -1 = positional */
  size_t nvalues;
  bool seen[64];
};

/* Parses argv[1..] (argv[0] is the subcommand name). `--help` prints usage and returns 1 with
 * *exit_code = 0; a bad flag prints the error and usage and returns 1 with *exit_code = 2. */
int cli_parse(struct cli_args *a, const struct cli_opt *opts, size_t nopts, int argc, char **argv,
              const char *usage, int *exit_code);
bool cli_has(const struct cli_args *a, const char *name);
const char *cli_get(const struct cli_args *a, const char *name); /* last value, or NULL */
size_t cli_get_list(const struct cli_args *a, const char *name, const char **out, size_t max);
size_t cli_positionals(const struct cli_args *a, const char **out, size_t max);
void cli_print_usage(const char *usage, const struct cli_opt *opts, size_t nopts);

/* Prints "trademl: error: <msg>" and returns the exit code for err->code. */
int cli_fail(const struct tml_error *err);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Global flags parsed by main before the subcommand: --home DIR, --config FILE, --set KEY=VALUE
 * (repeatable; how a job's parameters reach the command a worker runs). */
#define CLI_MAX_SETS 128
struct cli_globals {
  const char *home;
  const char *config_path;
  const char *sets[CLI_MAX_SETS]; /* "KEY=VALUE", borrowed from argv */
  size_t nsets;
};
extern struct cli_globals cli_globals;

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* The option tables of the commands jobs run, so `jobs submit --param FLAG=VALUE` can translate a
 * flag into the configuration key it overrides (a job stores keys, never flags). */
const struct cli_opt *cmd_train_opts(size_t *n);
const struct cli_opt *cmd_validate_opts(size_t *n);
const struct cli_opt *cmd_data_fetch_opts(size_t *n);

/* SIGINT/SIGTERM for long commands (train, validate, worker, serve): the handler only records the
 * signal here; the command polls it (progress callbacks, main loops) and stops cleanly. */
extern volatile sig_atomic_t cli_stop_signal;
void cli_catch_stop_signals(void);

#endif
