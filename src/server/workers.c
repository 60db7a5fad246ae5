/* The daemon's worker pool and housekeeping: the jobs runner (whose threads supervise one training
 * child process each), the periodic tasks the tick drives (lease reaping, scheduler, coverage snapshot,
 * retention), the graceful drain, and the job facts /health and /metrics report. The tick and the
 * runner have their own connections, so training never waits on an HTTP request or the reverse. */
#include "srv.h"

#include <time.h>

#include "trademl/config.h"
#include "trademl/coverage.h"
#include "trademl/log.h"
#include "trademl/registry.h"
#include "trademl/scheduler.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

int srv_jobs_open(struct tml_server *s, struct tml_error *err) {
  struct srv_jobs_state *js = calloc(1, sizeof(*js));
  if (!js)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the job table");
  s->jobs = js;
  pthread_mutex_init(&js->cov_lock, NULL);
  const struct tml_config *cfg = s->opts.cfg;
  const char *db = s->opts.paths->db;
  struct tml_runner_opts ro;
  tml_runner_opts_default(&ro);
  int rc = tml_runner_opts_from_config(cfg, &ro, err);
  if (rc)
    return rc;
  if ((rc = tml_jobs_open(db, &ro.jobs, &js->q, err)) || (rc = tml_jobs_open(db, &ro.jobs, &js->tick_q, err)) ||
      (rc = tml_registry_open(db, &js->reg, err)) ||
      /* Model sets kept in the database (PostgreSQL) come to this host's model.models_dir, checksums
       * verified, the first time this daemon serves them (docs/postgresql.md) */
      (rc = tml_registry_set_cache_dir(js->reg, s->opts.paths->models, err)) ||
      (rc = tml_scheduler_create(db, cfg, &js->sched, err)) ||
      (rc = tml_store_open_resident(db, cfg, &js->tick_store, err)))
    return rc;
  js->concurrency = s->opts.workers > 0 ? s->opts.workers : ro.concurrency;
  if (s->opts.workers <= 0)
    return 0; /* API only: workers elsewhere claim the jobs */
  ro.db_path = db;
  ro.exe = s->opts.self_exe;
  ro.home = s->opts.paths->home;
  ro.config_path = s->opts.config_path;
  ro.logs_dir = s->opts.paths->logs;
  ro.concurrency = js->concurrency;
  ro.role = "serve";
  return tml_runner_start(&ro, &js->runner, err);
}

void srv_jobs_close(struct tml_server *s) {
  struct srv_jobs_state *js = s ? s->jobs : NULL;
  if (!js)
    return;
  tml_runner_destroy(js->runner);
  tml_scheduler_destroy(js->sched);
  tml_registry_close(js->reg);
  tml_jobs_close(js->tick_q);
  tml_jobs_close(js->q);
  tml_store_close(js->tick_store);
  free(js->cov);
  pthread_mutex_destroy(&js->cov_lock);
  free(js);
  s->jobs = NULL;
}

int srv_jobs_drain(struct tml_server *s, int64_t grace_ms) {
  struct srv_jobs_state *js = s->jobs;
  if (!js || !js->runner)
    return 0;
  struct tml_runner_stats st;
  if (grace_ms > 0) {
    tml_runner_request_stop(js->runner, TML_RUNNER_DRAIN);
    int64_t until = tml_now_ms() + grace_ms;
    for (;;) {
      tml_runner_get_stats(js->runner, &st);
      if (st.running == 0 || tml_now_ms() >= until)
        break;
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  tml_runner_request_stop(js->runner, TML_RUNNER_REQUEUE);
  tml_runner_join(js->runner);
  tml_runner_get_stats(js->runner, &st);
  return (int)st.requeued;
}

/* ---- housekeeping tasks ---- */

/* Jobs whose worker died (lease expired) go back to the queue; the runner also enforces each job's
 * wall-time limit. */
void srv_task_runner(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = s->jobs;
  struct tml_error err;
  tml_error_init(&err);
  size_t reaped = 0;
  if (tml_jobs_reap(js->tick_q, now_ms, &reaped, &err))
    tml_warn("housekeeping: reaping expired job leases: %s", err.msg);
  else if (reaped)
    tml_info("housekeeping: %zu job(s) of a lost worker were given back", reaped);
}


void srv_task_scheduler(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = s->jobs;
  struct tml_error err;
  tml_error_init(&err);
  bool ran = false;
  struct tml_sched_report rep;
  tml_sched_report_init(&rep);
  if (tml_scheduler_tick(js->sched, now_ms, &ran, &rep, &err))
    tml_warn("scheduler: %s", err.msg);
  if (ran) {
    js->last_sched_run_ms = now_ms;
    int64_t slot = 0;
    char st[32] = "?";
    if (tml_scheduler_last_slot(js->tick_q, SRV_SCHEDULE_NAME, &slot, NULL) == 0 && slot)
      tml_time_format(slot, st, sizeof(st));
    tml_info("scheduler: scheduled run for slot %s: %zu job(s) submitted, %zu skipped, %zu pruned", st, rep.submitted,
             rep.skipped, rep.pruned);
  }
  tml_sched_report_release(&rep);
}

/* Coverage reads every stored series, which is too slow to do per request under load; the tick
 * recomputes a snapshot of the default interval with its own connections and the routes serve it. */
void srv_task_coverage(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = s->jobs;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_cov_opts co;
  struct tml_cov_row *rows = NULL;
  size_t n = 0;
  if (tml_cov_opts_from_config(s->opts.cfg, &co, &err) ||
      tml_coverage_compute(js->tick_store, js->tick_q, &co, &rows, &n, &err)) {
    tml_warn("housekeeping: coverage: %s", err.msg);
    return;
  }
  pthread_mutex_lock(&js->cov_lock);
  free(js->cov);
  js->cov = rows;
  js->ncov = n;
  js->cov_ms = now_ms;
  pthread_mutex_unlock(&js->cov_lock);
}

bool srv_cov_snapshot(struct srv_jobs_state *js, struct tml_cov_row **rows, size_t *n, int64_t *at_ms) {
  pthread_mutex_lock(&js->cov_lock);
  bool have = js->cov_ms != 0;
  *rows = NULL;
  *n = 0;
  *at_ms = js->cov_ms;
  if (have && js->ncov) {
    *rows = malloc(js->ncov * sizeof(**rows));
    if (*rows) {
      memcpy(*rows, js->cov, js->ncov * sizeof(**rows));
      *n = js->ncov;
    } else {
      have = false;
    }
  }
  pthread_mutex_unlock(&js->cov_lock);
  return have;
}

#define JOB_RETENTION_DAYS 30

void srv_task_retention(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = s->jobs;
  struct tml_error err;
  tml_error_init(&err);
  size_t deleted = 0;
  if (tml_jobs_purge(js->tick_q, now_ms - JOB_RETENTION_DAYS * TML_MS_PER_DAY, &deleted, &err))
    tml_warn("housekeeping: purging old jobs: %s", err.msg);
  else if (deleted)
    tml_info("housekeeping: purged %zu job(s) finished more than %d days ago", deleted, JOB_RETENTION_DAYS);
}

/* ---- facts for /health and /metrics ---- */

const double srv_duration_bounds[10] = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600};

void srv_job_facts(struct tml_server *s, struct srv_job_facts *f) {
  memset(f, 0, sizeof(*f));
  struct srv_jobs_state *js = s->jobs;
  f->workers_total = js->runner ? js->concurrency : 0;
  if (js->runner) {
    struct tml_runner_stats st;
    tml_runner_get_stats(js->runner, &st);
    f->workers_busy = (int)st.running;
  }
  struct tml_error err;
  tml_error_init(&err);
  size_t counts[TML_JOB_STATUS_COUNT] = {0};
  struct tml_job *jobs = NULL;
  size_t n = 0;
  struct tml_job_filter flt;
  tml_job_filter_init(&flt);
  flt.status_mask = (1u << TML_JOB_SUCCEEDED) | (1u << TML_JOB_FAILED) | (1u << TML_JOB_TIMED_OUT);
  flt.limit = 500;
  pthread_mutex_lock(&s->db_lock);
  /* A lost database: answer at once (ping never waits for the reconnect budget) instead of holding the
   * lock while a statement waits for the server to come back. */
  f->db_ok = tml_jobs_ping(js->q) && tml_jobs_counts(js->q, counts, &err) == 0;
  if (f->db_ok && tml_jobs_list(js->q, &flt, &jobs, &n, NULL, &err) != 0)
    n = 0;
  pthread_mutex_unlock(&s->db_lock);
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    f->by_status[i] = (int64_t)counts[i];
  f->queue_depth = (int64_t)counts[TML_JOB_QUEUED];
  for (size_t i = 0; i < n; i++) {
    const struct tml_job *j = &jobs[i];
    if (j->kind == TML_JOB_NOOP || j->kind == TML_JOB_FETCH)
      continue;
    f->runs_total++;
    if (j->status != TML_JOB_SUCCEEDED)
      f->runs_failed++;
    else if (j->finished_ms > f->last_success_ms)
      f->last_success_ms = j->finished_ms;
    f->duration_sum += j->elapsed_s;
    f->duration_count++;
    for (size_t b = 0; b < 10; b++)
      if (j->elapsed_s <= srv_duration_bounds[b])
        f->duration_buckets[b]++;
  }
  free(jobs);
}

