/* Shared setup of the job-related commands: config, state folders, store and job table. */
#include <string.h>

#include "cli_config.h"
#include "cli_jobs.h"
#include "trademl/config.h"
#include "trademl/jobs.h"
#include "trademl/store.h"

int cli_jobs_open(const struct cli_args *a, bool want_store, struct cli_jobs_ctx *c, struct tml_error *err) {
  memset(c, 0, sizeof(*c));
  int rc = cli_load_config(a, &c->paths, &c->cfg, err);
  if (!rc)
    rc = tml_paths_ensure(&c->paths, err);
  /* The store first: it creates the candle table that submit checks symbols against. */
  if (!rc)
    rc = tml_store_open(c->paths.db, &c->store, err);
  struct tml_jobs_opts o;
  if (!rc)
    rc = tml_jobs_opts_from_config(c->cfg, &o, err);
  if (!rc)
    rc = tml_jobs_open(c->paths.db, &o, &c->jobs, err);
  if (!rc && !want_store) {
    tml_store_close(c->store);
    c->store = NULL;
  }
  return rc;
}

void cli_jobs_close(struct cli_jobs_ctx *c) {
  tml_jobs_close(c->jobs);
  tml_store_close(c->store);
  tml_config_free(c->cfg);
  memset(c, 0, sizeof(*c));
}
