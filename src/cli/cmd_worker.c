/* trademl worker: runs jobs from the job table until stopped (SIGINT/SIGTERM give running jobs back
 * to the queue), or with --exit-when-idle until nothing is queued or running. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_jobs.h"
#include "commands.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/registry.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl worker [--concurrency N] [--exit-when-idle]\n"
    "\n"
    "Claims jobs and runs each as a child process (its own process group, wall-time limit, log under\n"
    "<home>/logs/jobs/<id>.log). Ctrl-C or SIGTERM stops the children and gives their jobs back.";

static const struct cli_opt opts[] = {
    {"concurrency", CLI_VALUE, "N", "jobs at once", "training.max_concurrent_jobs"},
    {"threads", CLI_VALUE, "N", "cores shared by running jobs (0 = all)", "training.threads"},
    {"lease-seconds", CLI_VALUE, "S", "job lease; a dead worker's job is taken again after it",
     "training.lease_seconds"},
    {"exit-when-idle", CLI_FLAG, NULL, "stop when no job is queued or running", NULL},
};


/* Temporary model folders of trainings killed earlier (kill -9, a crash, a reboot) are removed at start;
 * folders of trainings that still run, here or in another worker, are kept (tml_tmpdir_stale). */
static void sweep_tmp(const char *models_dir) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_registry_problem *gone = NULL;
  size_t n = 0;
  int rc = tml_registry_sweep_tmp(models_dir, tml_now_ms(), false, &gone, &n, &err);
  for (size_t i = 0; i < n; i++)
    fprintf(stderr, "worker: removed stale temporary folder %s (%s)\n", gone[i].path, gone[i].detail);
  if (rc)
    fprintf(stderr, "worker: warning: %s\n", err.msg);
  free(gone);
}

int cmd_worker(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct cli_jobs_ctx c;
  int rc = cli_jobs_open(&a, false, &c, &err);
  if (!rc)
    sweep_tmp(c.paths.models);
  struct tml_runner_opts ro;
  if (!rc)
    rc = tml_runner_opts_from_config(c.cfg, &ro, &err);
  struct tml_runner *r = NULL;
  if (!rc) {
    ro.db_path = c.paths.db;
    ro.home = c.paths.home;
    ro.config_path = cli_globals.config_path;
    ro.logs_dir = c.paths.logs;
    ro.exit_when_idle = cli_has(&a, "exit-when-idle");
    cli_catch_stop_signals();
    rc = tml_runner_start(&ro, &r, &err);
  }
  if (!rc) {
    fprintf(stderr, "worker: running up to %d jobs at once from %s\n", ro.concurrency, c.paths.db);
    /* The runner threads exit on their own with --exit-when-idle; otherwise wait for a signal. */
    while (!cli_stop_signal) {
      struct timespec ts = {0, 100 * 1000000L};
      nanosleep(&ts, NULL);
      if (ro.exit_when_idle) {
        struct tml_runner_stats s;
        tml_runner_get_stats(r, &s);
        (void)s;
        break;
      }
    }
    if (cli_stop_signal)
      tml_runner_request_stop(r, TML_RUNNER_REQUEUE);
    tml_runner_join(r);
    struct tml_runner_stats s;
    tml_runner_get_stats(r, &s);
    fprintf(stderr, "worker: %zu started, %zu succeeded, %zu failed, %zu timed out, %zu cancelled, %zu given back\n",
            s.started, s.succeeded, s.failed, s.timed_out, s.cancelled, s.requeued);
    tml_runner_destroy(r);
  }
  cli_jobs_close(&c);
  if (rc)
    return cli_fail(&err);
  return cli_stop_signal ? 130 : 0;
}
