/* trademl retrain: one scheduled run now (new-symbol queue, rotation, retention), then run the
 * queued jobs to completion in this process: what cron or a systemd timer calls (docs/jobs.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_jobs.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/scheduler.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl retrain [--dry-run] [--skip-queue] [--symbols SYMBOL...] [--no-wait] [--json]\n"
    "\n"
    "Processes the new-symbol queue, rotates old models and applies retention once, then runs the jobs\n"
    "(unless --no-wait). --symbols restricts the run and retrains those symbols' models now.";

static const struct cli_opt opts[] = {
    {"dry-run", CLI_FLAG, NULL, "print what would be done; change nothing", NULL},
    {"skip-queue", CLI_FLAG, NULL, "do not process the new-symbol queue", NULL},
    {"symbols", CLI_LIST, "SYMBOL", "only these symbols (and retrain their models now)", NULL},
    {"no-wait", CLI_FLAG, NULL, "submit jobs and exit (a worker or the daemon runs them)", NULL},
    {"concurrency", CLI_VALUE, "N", "jobs at once while waiting", "training.max_concurrent_jobs"},
    {"json", CLI_FLAG, NULL, "print the plan as JSON", NULL},
};

int cmd_retrain(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  const char *syms[CLI_MAX_VALUES];
  struct tml_sched_run_opts o;
  memset(&o, 0, sizeof(o));
  o.dry_run = cli_has(&a, "dry-run");
  o.skip_queue = cli_has(&a, "skip-queue");
  o.nsymbols = cli_get_list(&a, "symbols", syms, CLI_MAX_VALUES);
  o.symbols = o.nsymbols ? syms : NULL;
  o.force_rotation = o.nsymbols > 0;
  struct tml_sched_report rep;
  tml_sched_report_init(&rep);
  int rc = cli_jobs_open(&a, true, &c, &err);
  if (!rc)
    rc = tml_scheduler_run_once(c.store, c.jobs, c.cfg, &o, &rep, &err);
  if (!rc) {
    struct tml_buf out;
    tml_buf_init(&out, 0);
    if (!cli_has(&a, "json"))
      tml_buf_puts(&out, o.dry_run ? "dry run: nothing is changed\n" : "");
    tml_sched_report_format(&rep, cli_has(&a, "json"), &out);
    fputs(tml_buf_str(&out), stdout);
    fflush(stdout);
    tml_buf_release(&out);
  }
  if (!rc && !o.dry_run && !cli_has(&a, "no-wait") && rep.submitted > 0) {
    struct tml_runner_opts ro;
    struct tml_runner *r = NULL;
    rc = tml_runner_opts_from_config(c.cfg, &ro, &err);
    if (!rc) {
      ro.db_path = c.paths.db;
      ro.home = c.paths.home;
      ro.config_path = cli_globals.config_path;
      ro.logs_dir = c.paths.logs;
      ro.exit_when_idle = true;
      rc = tml_runner_start(&ro, &r, &err);
    }
    if (!rc) {
      tml_runner_join(r);
      struct tml_runner_stats s;
      tml_runner_get_stats(r, &s);
      fprintf(stderr, "retrain: %zu jobs run: %zu succeeded, %zu failed, %zu timed out\n", s.started, s.succeeded,
              s.failed, s.timed_out);
      if (s.failed || s.timed_out)
        rc = tml_error_set(&err, TML_EIO, "%zu job(s) failed; see 'trademl jobs list --status failed timed_out'",
                           s.failed + s.timed_out);
      tml_runner_destroy(r);
    }
  }
  tml_sched_report_release(&rep);
  cli_jobs_close(&c);
  return rc ? cli_fail(&err) : 0;
}
