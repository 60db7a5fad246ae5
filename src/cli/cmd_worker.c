/* trademl worker: runs jobs from the job table until stopped (SIGINT/SIGTERM give running jobs back
 * to the queue), or with --exit-when-idle until nothing is queued or running. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_jobs.h"
#include "cli_progress.h"
#include "commands.h"
#include "trademl/db.h"
#include "trademl/fsutil.h"
#include "trademl/config.h"
#include "trademl/db.h"
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

/* "2 running: job 7 train BTCUSDT 45% heads 2/5 done; direction 120/500 best 98 (1m05s, ~1m20s left);
 * job 8 ... | 3 done, 1 failed" as the worker's progress status. */
static void show_running(struct tml_jobs *q, const struct tml_runner_stats *s, struct cli_progress *live) {
  struct tml_job_filter f;
  tml_job_filter_init(&f);
  f.status_mask = 1u << TML_JOB_RUNNING;
  f.oldest_first = true;
  f.limit = 8;
  struct tml_job *jobs = NULL;
  size_t n = 0;
  if (tml_jobs_list(q, &f, &jobs, &n, NULL, NULL) != 0)
    n = 0;
  char text[256];
  size_t used = (size_t)snprintf(text, sizeof(text), "%zu running", n);
  int64_t now = tml_now_ms();
  for (size_t i = 0; i < n && used < sizeof(text); i++) {
    const struct tml_job *j = &jobs[i];
    double el = j->started_ms ? (double)(now - j->started_ms) / 1000.0 : 0;
    char e[16], l[32] = "";
    cli_progress_fmt_seconds(el, e, sizeof(e));
    if (j->progress >= 2 && j->progress < 100) {
      char t[16];
      cli_progress_fmt_seconds(el * (100.0 - j->progress) / j->progress, t, sizeof(t));
      snprintf(l, sizeof(l), ", ~%s left", t);
    }
    used += (size_t)snprintf(text + used, sizeof(text) - used, "%s job %" PRId64 " %s %s %.0f%% %s (%s%s)",
                             i ? ";" : ":", j->id, tml_job_kind_name(j->kind), j->symbols, j->progress, j->stage, e, l);
  }
  free(jobs);
  cli_progress_set(live, -1, "worker: %s | %zu succeeded, %zu failed", text, s->succeeded, s->failed);
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
    char shown[TML_PATH_MAX];
    fprintf(stderr, "worker: running up to %d jobs at once from %s\n", ro.concurrency,
            tml_db_redact(c.paths.db, shown, sizeof(shown)));
    /* Until a signal (or, with --exit-when-idle, until the runner threads find nothing more to do):
     * the running jobs' progress, live on a terminal, else one line every logging.progress_seconds. */
    struct cli_progress live;
    cli_progress_start(&live, isatty(STDERR_FILENO), (double)tml_config_int(c.cfg, "logging.progress_seconds"));
    double last_poll = 0;
    while (!cli_stop_signal) {
      struct timespec ts = {0, 100 * 1000000L};
      nanosleep(&ts, NULL);
      struct tml_runner_stats s;
      tml_runner_get_stats(r, &s);
      if (ro.exit_when_idle && s.threads_alive == 0)
        break;
      if (tml_monotonic_s() - last_poll >= 1.0) {
        last_poll = tml_monotonic_s();
        show_running(c.jobs, &s, &live);
      }
    }
    cli_progress_stop(&live);
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
