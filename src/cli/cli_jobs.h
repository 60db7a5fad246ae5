/* Shared setup of the job-related commands (jobs, worker, retrain, queue, coverage, schedule):
 * configuration, state folders, the candle store and the job table in one database file. */
#ifndef TML_CLI_JOBS_H
#define TML_CLI_JOBS_H

#include "cli.h"
#include "trademl/fsutil.h"

struct tml_config;
struct tml_jobs;
struct tml_store;

struct cli_jobs_ctx {
  struct tml_paths paths;
  struct tml_config *cfg;
  struct tml_store *store; /* NULL unless asked for */
  struct tml_jobs *jobs;
};

/* Loads config (flags from a), ensures the state folders, opens the store when want_store and the
 * job table. 0 or an error code with err set; release with cli_jobs_close either way. */
int cli_jobs_open(const struct cli_args *a, bool want_store, struct cli_jobs_ctx *c, struct tml_error *err);
void cli_jobs_close(struct cli_jobs_ctx *c);

#endif
