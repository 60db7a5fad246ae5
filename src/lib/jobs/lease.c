/* The worker side of the job table: claim with a lease and a fencing token, heartbeat, progress,
 * finish with the retry policy, and reaping jobs whose worker died. The policy lives here, once, for
 * every backend: what an expired lease becomes, the backoff, when a result is refused because its
 * fencing token is stale. The new-symbol queue is updated in the same transaction as a queue job's
 * final outcome. */
#include "trademl/jobs.h"
#include "util/common.h"

#include "trademl/error.h"
#include "trademl/log.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"
#include "jobs/queue_backend.h"

#define BE(q) tml__jobs_backend(q)
#define DB(q) tml__jobs_conn(q)

/* Gives back expired leases. Runs inside the caller's transaction. */
static int reap_locked(struct tml_jobs *q, int64_t now, size_t *reaped, struct tml_error *err) {
  struct tml__expired rows[32];
  size_t n = 0;
  int rc = BE(q)->expired(DB(q), now, rows, TML_ARRAY_LEN(rows), &n, err);
  for (size_t i = 0; i < n && !rc; i++) {
    char msg[256];
    snprintf(msg, sizeof(msg), "worker %s stopped heartbeating (lease expired) during attempt %d", rows[i].worker,
             rows[i].attempts);
    const char *status = rows[i].cancel                             ? "cancelled"
                         : rows[i].attempts < rows[i].max_attempts ? "queued"
                                                                    : "failed";
    bool queued = strcmp(status, "queued") == 0;
    struct tml__attempt_end e = {.id = rows[i].id,
                                 .attempt = rows[i].attempts,
                                 .status = status,
                                 .error = msg,
                                 .result = "{}",
                                 .finished_ms = queued ? 0 : now,
                                 .not_before_ms = 0,
                                 .now_ms = now,
                                 .uncount = false,
                                 .elapsed_s = 0,
                                 .attempt_outcome = "failed",
                                 .exit_code = 0,
                                 .fence = rows[i].fence};
    bool applied = false;
    rc = BE(q)->end_attempt(DB(q), &e, &applied, err);
    if (!rc && !applied)
      continue; /* its worker finished (or it was reaped) meanwhile */
    if (!rc && strcmp(status, "failed") == 0 && strcmp(rows[i].source, "queue") == 0)
      rc = BE(q)->symq_outcome(DB(q), rows[i].symbols, false, msg, err);
    if (!rc)
      tml_warn("job %" PRId64 ": %s; fencing token %" PRId64 " revoked, job %s", rows[i].id, msg, rows[i].fence,
               status);
  }
  if (reaped)
    *reaped = rc ? 0 : n;
  return rc;
}

int tml_jobs_reap(struct tml_jobs *q, int64_t now_ms, size_t *reaped, struct tml_error *err) {
  if (reaped)
    *reaped = 0;
  int rc = BE(q)->begin(DB(q), "reaping jobs", err);
  if (rc)
    return rc;
  rc = reap_locked(q, now_ms, reaped, err);
  if (rc) {
    BE(q)->rollback(DB(q));
    return rc;
  }
  return BE(q)->commit(DB(q), "reaping jobs", err);
}

int tml_jobs_claim(struct tml_jobs *q, const char *worker_id, int lease_s, struct tml_job *out, bool *got,
                   struct tml_error *err) {
  *got = false;
  int64_t now = tml_now_ms();
  /* Expired leases first, in their own transaction and only when there are any (a read), so claims do
   * not all serialise on reaping. */
  int rc = 0;
  int64_t *last_probe = tml__jobs_reap_clock(q);
  if (now - *last_probe >= 1000) { /* leases are seconds long: looking once a second is enough */
    *last_probe = now;
    struct tml__expired probe[1];
    size_t nexp = 0;
    rc = BE(q)->expired(DB(q), now, probe, 1, &nexp, err);
    if (!rc && nexp)
      rc = tml_jobs_reap(q, now, NULL, err);
    if (rc)
      return rc;
  }
  return BE(q)->claim(DB(q), worker_id, lease_s, now, tml_jobs_options(q)->max_running, out, got, err);
}

int tml_jobs_heartbeat(struct tml_jobs *q, int64_t id, int64_t fence, int lease_s, bool *cancel_requested,
                       struct tml_error *err) {
  if (cancel_requested)
    *cancel_requested = false;
  return BE(q)->heartbeat(DB(q), id, fence, tml_now_ms() + (int64_t)lease_s * 1000, cancel_requested, err);
}

int tml_jobs_set_progress(struct tml_jobs *q, int64_t id, int64_t fence, double pct, const char *stage,
                          struct tml_error *err) {
  if (!(pct >= 0))
    pct = 0;
  if (pct > 100)
    pct = 100;
  int rc = BE(q)->progress(DB(q), id, fence, pct, stage, err);
  if (rc == TML_ECONFLICT)
    tml_warn("job %" PRId64 ": progress under stale fencing token %" PRId64 " refused", id, fence);
  return rc;
}

int tml_jobs_fence_check(struct tml_jobs *q, int64_t id, int64_t fence, struct tml_error *err) {
  return BE(q)->fence_check(DB(q), id, fence, err);
}

void tml_jobs_wait(struct tml_jobs *q, int timeout_ms) { BE(q)->wait(DB(q), timeout_ms); }

/* A result whose token is no longer current: refused, logged, nothing changed. */
static int refuse_stale(int64_t id, int64_t fence, const struct tml_job *j, struct tml_error *err) {
  int rc = tml_error_set(err, TML_ECONFLICT,
                         "job %" PRId64 ": result under stale fencing token %" PRId64 " refused (the job is %s under "
                         "token %" PRId64 ", worker %s)",
                         id, fence, tml_job_status_name(j->status), j->fence, j->worker_id[0] ? j->worker_id : "none");
  tml_warn("job %" PRId64 ": result under stale fencing token %" PRId64 " refused (the job is %s under token %" PRId64
           ", worker %s)",
           id, fence, tml_job_status_name(j->status), j->fence, j->worker_id[0] ? j->worker_id : "none");
  return rc;
}

int tml_jobs_finish(struct tml_jobs *q, int64_t id, int64_t fence, enum tml_job_outcome outcome, int exit_code,
                    double elapsed_s, const char *error, const char *result_json, enum tml_job_status *status_after,
                    struct tml_error *err) {
  int64_t now = tml_now_ms();
  struct tml_job j;
  /* A backend whose end_attempt is one atomic compare-and-set on the token needs no transaction, unless
   * the new-symbol queue changes with the job (a queue job's final outcome). */
  int rc = BE(q)->get(DB(q), id, &j, err);
  if (rc)
    return rc;
  if (j.status != TML_JOB_RUNNING || j.fence != fence)
    return refuse_stale(id, fence, &j, err);
  bool queue_job = strcmp(j.source, "queue") == 0 && (j.kind == TML_JOB_TRAIN || j.kind == TML_JOB_RETRAIN);
  bool txn = !BE(q)->atomic_end_attempt || queue_job;
  if (txn) {
    if ((rc = BE(q)->begin(DB(q), "finishing a job", err)))
      return rc;
    if ((rc = BE(q)->get_locked(DB(q), id, &j, err)))
      goto rollback;
    if (j.status != TML_JOB_RUNNING || j.fence != fence) {
      rc = refuse_stale(id, fence, &j, err);
      goto rollback;
    }
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
  enum tml_job_status st_after = requeue ? TML_JOB_QUEUED : final;
  struct tml__attempt_end e = {
      .id = id,
      .attempt = j.attempts,
      .status = tml_job_status_name(st_after),
      .error = msg,
      .result = result_json && *result_json ? result_json : (final == TML_JOB_SUCCEEDED ? "{}" : j.result),
      .finished_ms = requeue ? 0 : now,
      .not_before_ms = not_before,
      .now_ms = now,
      .uncount = uncount,
      .elapsed_s = elapsed_s,
      .attempt_outcome = tml_job_status_name(attempt_outcome),
      .exit_code = exit_code,
      .fence = fence};
  bool applied = false;
  rc = BE(q)->end_attempt(DB(q), &e, &applied, err);
  if (!rc && !applied) { /* the lease was lost between our read and our write */
    struct tml_job cur;
    if (BE(q)->get(DB(q), id, &cur, NULL) != 0)
      cur = j;
    rc = refuse_stale(id, fence, &cur, err);
  }
  if (rc)
    goto rollback;
  if (!requeue && queue_job && final != TML_JOB_CANCELLED) {
    rc = BE(q)->symq_outcome(DB(q), j.symbols, final == TML_JOB_SUCCEEDED, msg, err);
    if (rc)
      goto rollback;
  }
  if (txn)
    rc = BE(q)->commit(DB(q), "finishing a job", err);
  if (!rc && status_after)
    *status_after = st_after;
  return rc;
rollback:
  if (txn)
    BE(q)->rollback(DB(q));
  return rc;
}
