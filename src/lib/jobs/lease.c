/* The worker side of the job table: claim with a lease (BEGIN IMMEDIATE, so exactly one worker gets a
 * job), heartbeat, progress, finish with the retry policy, and reaping jobs whose worker died. The
 * new-symbol queue is updated in the same transaction as a queue job's final outcome. */
#include "trademl/jobs.h"
#include "util/common.h"

#include "trademl/error.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"

static int step_done(struct tml_jobs *q, sqlite3_stmt *st, const char *what, struct tml_error *err) {
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  return s == SQLITE_DONE ? 0 : tml__jobs_db_error(q, s, what, err);
}

/* Updates symbol_queue after the final outcome of a job from source "queue". */
static int update_symqueue(struct tml_jobs *q, const char *symbols, bool success, const char *error,
                           struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q,
                             success ? "DELETE FROM symbol_queue WHERE symbol = ?1"
                                     : "UPDATE symbol_queue SET attempts = attempts + 1, last_error = ?2 WHERE symbol = ?1",
                             &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, symbols, -1, SQLITE_STATIC);
  if (!success)
    sqlite3_bind_text(st, 2, error ? error : "", -1, SQLITE_STATIC);
  return step_done(q, st, "updating the new-symbol queue", err);
}

/* Gives back expired leases. Runs inside the caller's transaction. */
static int reap_locked(struct tml_jobs *q, int64_t now, size_t *reaped, struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q,
                             "SELECT id, attempts, max_attempts, cancel_requested, worker_id, source, symbols, kind"
                             " FROM jobs WHERE status = 'running' AND lease_expires_ms < ?1",
                             &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, now);
  struct {
    int64_t id;
    int attempts, max_attempts, cancel;
    char worker[96], source[16], symbols[256], kind[16];
  } rows[32];
  size_t n = 0;
  while (n < TML_ARRAY_LEN(rows) && sqlite3_step(st) == SQLITE_ROW) {
    rows[n].id = sqlite3_column_int64(st, 0);
    rows[n].attempts = sqlite3_column_int(st, 1);
    rows[n].max_attempts = sqlite3_column_int(st, 2);
    rows[n].cancel = sqlite3_column_int(st, 3);
    snprintf(rows[n].worker, sizeof(rows[n].worker), "%s", (const char *)sqlite3_column_text(st, 4));
    snprintf(rows[n].source, sizeof(rows[n].source), "%s", (const char *)sqlite3_column_text(st, 5));
    snprintf(rows[n].symbols, sizeof(rows[n].symbols), "%s", (const char *)sqlite3_column_text(st, 6));
    snprintf(rows[n].kind, sizeof(rows[n].kind), "%s", (const char *)sqlite3_column_text(st, 7));
    n++;
  }
  sqlite3_finalize(st);
  for (size_t i = 0; i < n && !rc; i++) {
    char msg[256];
    snprintf(msg, sizeof(msg), "worker %s stopped heartbeating (lease expired) during attempt %d", rows[i].worker,
             rows[i].attempts);
    const char *status = rows[i].cancel                             ? "cancelled"
                         : rows[i].attempts < rows[i].max_attempts ? "queued"
                                                                    : "failed";
    rc = tml__jobs_prepare(q,
                           "UPDATE jobs SET status = ?2, error = ?3, lease_expires_ms = 0, not_before_ms = 0,"
                           " finished_ms = CASE WHEN ?2 = 'queued' THEN 0 ELSE ?4 END WHERE id = ?1",
                           &st, err);
    if (rc)
      break;
    sqlite3_bind_int64(st, 1, rows[i].id);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, msg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    rc = step_done(q, st, "reaping a job", err);
    if (rc)
      break;
    rc = tml__jobs_prepare(q,
                           "UPDATE job_attempts SET finished_ms = ?3, outcome = 'failed', error = ?4"
                           " WHERE job_id = ?1 AND attempt = ?2",
                           &st, err);
    if (rc)
      break;
    sqlite3_bind_int64(st, 1, rows[i].id);
    sqlite3_bind_int(st, 2, rows[i].attempts);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, msg, -1, SQLITE_TRANSIENT);
    rc = step_done(q, st, "reaping a job", err);
    if (!rc && strcmp(status, "failed") == 0 && strcmp(rows[i].source, "queue") == 0)
      rc = update_symqueue(q, rows[i].symbols, false, msg, err);
  }
  if (reaped)
    *reaped = rc ? 0 : n;
  return rc;
}

int tml_jobs_reap(struct tml_jobs *q, int64_t now_ms, size_t *reaped, struct tml_error *err) {
  int rc = tml__jobs_begin(q, "reaping jobs", err);
  if (rc)
    return rc;
  rc = reap_locked(q, now_ms, reaped, err);
  if (rc) {
    tml__jobs_rollback(q);
    return rc;
  }
  return tml__jobs_commit(q, "reaping jobs", err);
}

int tml_jobs_claim(struct tml_jobs *q, const char *worker_id, int lease_s, struct tml_job *out, bool *got,
                   struct tml_error *err) {
  *got = false;
  int64_t now = tml_now_ms();
  int rc = tml__jobs_begin(q, "claiming a job", err);
  if (rc)
    return rc;
  rc = reap_locked(q, now, NULL, err);
  if (rc)
    goto rollback;
  sqlite3_stmt *st = NULL;
  int max_running = tml_jobs_options(q)->max_running;
  if (max_running > 0) {
    rc = tml__jobs_prepare(q, "SELECT count(*) FROM jobs WHERE status = 'running'", &st, err);
    if (rc)
      goto rollback;
    int64_t running = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (running >= max_running)
      goto rollback; /* nothing claimed; not an error */
  }
  rc = tml__jobs_prepare(q,
                         "SELECT id FROM jobs WHERE status = 'queued' AND not_before_ms <= ?1"
                         " ORDER BY priority DESC, id LIMIT 1",
                         &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_int64(st, 1, now);
  int s = sqlite3_step(st);
  int64_t id = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (s != SQLITE_ROW && s != SQLITE_DONE) {
    rc = tml__jobs_db_error(q, s, "claiming a job", err);
    goto rollback;
  }
  if (!id)
    goto rollback;
  rc = tml__jobs_prepare(q,
                         "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = ?2,"
                         " lease_expires_ms = ?3, started_ms = ?4, progress = 0, stage = '' WHERE id = ?1",
                         &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, worker_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, now + (int64_t)lease_s * 1000);
  sqlite3_bind_int64(st, 4, now);
  rc = step_done(q, st, "claiming a job", err);
  if (rc)
    goto rollback;
  rc = tml__jobs_prepare(q,
                         "INSERT OR REPLACE INTO job_attempts(job_id, attempt, worker_id, started_ms)"
                         " SELECT id, attempts, worker_id, started_ms FROM jobs WHERE id = ?1",
                         &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_int64(st, 1, id);
  rc = step_done(q, st, "recording an attempt", err);
  if (rc)
    goto rollback;
  rc = tml_jobs_get(q, id, out, err);
  if (rc)
    goto rollback;
  rc = tml__jobs_commit(q, "claiming a job", err);
  if (!rc)
    *got = true;
  return rc;
rollback:
  tml__jobs_rollback(q);
  return rc;
}

int tml_jobs_heartbeat(struct tml_jobs *q, int64_t id, const char *worker_id, int lease_s, bool *cancel_requested,
                       struct tml_error *err) {
  if (cancel_requested)
    *cancel_requested = false;
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q,
                             "UPDATE jobs SET lease_expires_ms = ?3 WHERE id = ?1 AND worker_id = ?2"
                             " AND status = 'running' RETURNING cancel_requested",
                             &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, worker_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, tml_now_ms() + (int64_t)lease_s * 1000);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    if (cancel_requested)
      *cancel_requested = sqlite3_column_int(st, 0) != 0;
    s = sqlite3_step(st);
  } else if (s == SQLITE_DONE) {
    rc = tml_error_set(err, TML_ECONFLICT, "job %" PRId64 " is no longer held by worker %s (lease lost)", id,
                       worker_id);
  }
  if (!rc && s != SQLITE_DONE)
    rc = tml__jobs_db_error(q, s, "heartbeat", err);
  sqlite3_finalize(st);
  return rc;
}

int tml_jobs_set_progress(struct tml_jobs *q, int64_t id, double pct, const char *stage, struct tml_error *err) {
  if (!(pct >= 0))
    pct = 0;
  if (pct > 100)
    pct = 100;
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q,
                             "UPDATE jobs SET progress = ?2, stage = coalesce(?3, stage)"
                             " WHERE id = ?1 AND status = 'running'",
                             &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_double(st, 2, pct);
  if (stage)
    sqlite3_bind_text(st, 3, stage, -1, SQLITE_STATIC);
  return step_done(q, st, "storing progress", err);
}

int tml_jobs_finish(struct tml_jobs *q, int64_t id, const char *worker_id, enum tml_job_outcome outcome,
                    int exit_code, double elapsed_s, const char *error, const char *result_json,
                    enum tml_job_status *status_after, struct tml_error *err) {
  int64_t now = tml_now_ms();
  int rc = tml__jobs_begin(q, "finishing a job", err);
  if (rc)
    return rc;
  struct tml_job j;
  rc = tml_jobs_get(q, id, &j, err);
  if (rc)
    goto rollback;
  if (j.status != TML_JOB_RUNNING || strcmp(j.worker_id, worker_id) != 0) {
    rc = tml_error_set(err, TML_ECONFLICT, "job %" PRId64 " is no longer held by worker %s (now %s, worker %s)", id,
                       worker_id, tml_job_status_name(j.status), j.worker_id);
    goto rollback;
  }
  enum tml_job_status final = TML_JOB_FAILED, attempt_outcome = TML_JOB_FAILED;
  int64_t not_before = 0;
  bool requeue = false, uncount = false;
  switch (outcome) {
  case TML_OUTCOME_SUCCEEDED:
    final = attempt_outcome = TML_JOB_SUCCEEDED;
    break;
  case TML_OUTCOME_CANCELLED:
    final = attempt_outcome = TML_JOB_CANCELLED;
    break;
  case TML_OUTCOME_REQUEUE:
    requeue = uncount = true;
    attempt_outcome = TML_JOB_CANCELLED;
    break;
  case TML_OUTCOME_FATAL:
    final = attempt_outcome = TML_JOB_FAILED;
    break;
  case TML_OUTCOME_FAILED:
  case TML_OUTCOME_TIMED_OUT:
    attempt_outcome = final = outcome == TML_OUTCOME_TIMED_OUT ? TML_JOB_TIMED_OUT : TML_JOB_FAILED;
    if (j.cancel_requested) {
      final = TML_JOB_CANCELLED;
    } else if (j.attempts < j.max_attempts) {
      requeue = true;
      double backoff = tml_jobs_options(q)->backoff_base_s * pow(2.0, (double)(j.attempts - 1));
      not_before = now + (int64_t)(backoff * 1000.0);
    }
    break;
  }
  if (j.cancel_requested && outcome != TML_OUTCOME_SUCCEEDED)
    requeue = false, final = TML_JOB_CANCELLED;
  char msg[1024];
  snprintf(msg, sizeof(msg), "%s", error ? error : "");
  sqlite3_stmt *st = NULL;
  rc = tml__jobs_prepare(q,
                         "UPDATE jobs SET status = ?2, error = ?3, result = ?4, finished_ms = ?5, not_before_ms = ?6,"
                         " lease_expires_ms = 0, attempts = attempts - ?7, elapsed_s = elapsed_s + ?8,"
                         " progress = CASE WHEN ?2 = 'succeeded' THEN 100 WHEN ?2 = 'queued' THEN 0 ELSE progress END"
                         " WHERE id = ?1",
                         &st, err);
  if (rc)
    goto rollback;
  enum tml_job_status st_after = requeue ? TML_JOB_QUEUED : final;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, tml_job_status_name(st_after), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, msg, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, result_json && *result_json ? result_json : (final == TML_JOB_SUCCEEDED ? "{}" : j.result),
                    -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, requeue ? 0 : now);
  sqlite3_bind_int64(st, 6, not_before);
  sqlite3_bind_int(st, 7, uncount ? 1 : 0);
  sqlite3_bind_double(st, 8, elapsed_s);
  rc = step_done(q, st, "finishing a job", err);
  if (rc)
    goto rollback;
  rc = tml__jobs_prepare(q,
                         uncount ? "DELETE FROM job_attempts WHERE job_id = ?1 AND attempt = ?2"
                                 : "UPDATE job_attempts SET finished_ms = ?3, outcome = ?4, exit_code = ?5, error = ?6"
                                   " WHERE job_id = ?1 AND attempt = ?2",
                         &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int(st, 2, j.attempts);
  if (!uncount) {
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, tml_job_status_name(attempt_outcome), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, exit_code);
    sqlite3_bind_text(st, 6, msg, -1, SQLITE_STATIC);
  }
  rc = step_done(q, st, "recording an attempt", err);
  if (rc)
    goto rollback;
  if (!requeue && strcmp(j.source, "queue") == 0 && (j.kind == TML_JOB_TRAIN || j.kind == TML_JOB_RETRAIN) &&
      final != TML_JOB_CANCELLED) {
    rc = update_symqueue(q, j.symbols, final == TML_JOB_SUCCEEDED, msg, err);
    if (rc)
      goto rollback;
  }
  rc = tml__jobs_commit(q, "finishing a job", err);
  if (!rc && status_after)
    *status_after = st_after;
  return rc;
rollback:
  tml__jobs_rollback(q);
  return rc;
}
