/* trademl coverage: the coverage gate's verdict for every universe symbol (stored + queued). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_jobs.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/coverage.h"
#include "trademl/error.h"

static const char usage[] =
    "usage: trademl coverage [--interval 15m] [--json]\n"
    "\n"
    "For every stored or queued symbol: model? age? history days? coverage %? blocked why?";

static const struct cli_opt opts[] = {
    {"interval", CLI_VALUE, "INTERVAL", "candle interval checked", "data.interval"},
    {"min-history-days", CLI_VALUE, "DAYS", "history a symbol needs", "data.min_history_days"},
    {"min-coverage-pct", CLI_VALUE, "PCT", "candles present a symbol needs", "data.min_coverage_pct"},
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

int cmd_coverage(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  struct tml_cov_opts o;
  struct tml_cov_row *rows = NULL;
  size_t n = 0;
  int rc = cli_jobs_open(&a, true, &c, &err);
  if (!rc)
    rc = tml_cov_opts_from_config(c.cfg, &o, &err);
  if (!rc)
    rc = tml_coverage_compute(c.store, c.jobs, &o, &rows, &n, &err);
  if (!rc) {
    struct tml_buf out;
    tml_buf_init(&out, 0);
    tml_coverage_format(rows, n, cli_has(&a, "json"), &out);
    fputs(tml_buf_str(&out), stdout);
    tml_buf_release(&out);
  }
  free(rows);
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}
