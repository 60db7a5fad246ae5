/* Internal: the table of functions a job-queue storage backend implements (SQLite's VFS style, like
 * registry_backend.h). The policy — validation, identity, the retry policy and backoff, what an
 * expired lease becomes, fencing decisions — lives in queue.c, lease.c and scheduler.c and reaches
 * storage only through this table, so SQLite (queue_sqlite.c) and PostgreSQL (queue_pg.c) are two
 * tables and the same tests run against both. Only the backends include sqlite3.h / libpq-fe.h.
 *
 * Contract for every backend:
 *  - `db` is the backend's connection state, created by open() (which creates or migrates the schema)
 *    and freed by close(). One handle is used by one thread at a time.
 *  - begin() starts a write transaction; between begin() and commit() the job rows read with
 *    get_locked() cannot change under the caller (SQLite: BEGIN IMMEDIATE serialises writers;
 *    PostgreSQL: SELECT ... FOR UPDATE on the row). Waits are bounded; then TML_EBUSY.
 *  - insert() is atomic with its deduplication: two concurrent inserts with the same dedup_key while
 *    an identical job is queued or running yield one row (a UNIQUE partial index enforces it).
 *  - claim() hands each queued, runnable job to exactly one caller, even with many processes on
 *    many hosts: highest priority, then oldest id; not_before_ms <= now; refuses (got = false) when
 *    max_running > 0 jobs already hold a lease. It sets status running, attempts + 1, worker_id,
 *    lease_expires_ms, started_ms, progress 0, stage '', records an attempt row, and gives the claim a
 *    **fencing token**: a number greater than every token handed out before by this database
 *    (job.fence). Tokens never repeat, so "token 41 of job 7" names one attempt forever.
 *  - heartbeat(), progress() and fence_check() act only when the job is running under exactly that
 *    token; otherwise TML_ECONFLICT (the caller lost the job). end_attempt() runs inside the caller's
 *    transaction after get_locked() checked the token.
 *  - Row ids are never reused. Times are UTC milliseconds.
 *  - wait() blocks up to timeout_ms or until a job may have become runnable (PostgreSQL: LISTEN/NOTIFY
 *    on channel trademl_jobs, notified by insert() and by end_attempt() requeues; SQLite: a sleep).
 *  - Connection errors come back as TML_ENET (PostgreSQL: after the reconnect budget), so callers can
 *    retry; nothing is half-written (every change is one transaction). */
#ifndef TML_QUEUE_BACKEND_H
#define TML_QUEUE_BACKEND_H

#include "trademl/jobs.h"
#include "trademl/scheduler.h"

#include <stdbool.h>
#include <stdint.h>

struct tml_error;

/* A new job row (submit has validated and normalized every field). */
struct tml__job_insert {
  const char *kind, *symbols, *interval, *strategy, *mode, *params, *source, *dedup_key;
  double days;
  int priority, max_attempts, timeout_s;
  int64_t created_ms;
};

/* A running job whose lease expired (reap). */
struct tml__expired {
  int64_t id, fence;
  int attempts, max_attempts;
  bool cancel;
  char worker[96], source[16], symbols[256], kind[16];
};

/* The end of an attempt: the job row's new state and the attempt row's outcome. */
struct tml__attempt_end {
  int64_t id;
  int attempt;              /* the attempt that ends */
  const char *status;       /* new job status ("queued" when retried) */
  const char *error;        /* job error and attempt error */
  const char *result;       /* job result JSON */
  int64_t finished_ms;      /* 0 when queued again */
  int64_t not_before_ms;
  int64_t now_ms;
  bool uncount;             /* give the attempt back: attempts - 1 and the attempt row deleted */
  double elapsed_s;         /* added to the job's elapsed_s */
  const char *attempt_outcome;
  int exit_code;
  int64_t fence;            /* > 0: apply only while the job runs under this token (compare-and-set) */
};

struct tml__queue_backend {
  const char *name;
  /* Opens location (a SQLite path or a postgresql:// URL) and creates/migrates the schema (SQLite also
   * upgrades params of older rows). */
  int (*open)(const char *location, int busy_timeout_ms, void **db, struct tml_error *err);
  void (*close)(void *db);
  int (*begin)(void *db, const char *what, struct tml_error *err);
  int (*commit)(void *db, const char *what, struct tml_error *err); /* rolls back on failure */
  void (*rollback)(void *db);

  /* ---- jobs ---- */
  int (*insert)(void *db, const struct tml__job_insert *row, int64_t *id, bool *existed, struct tml_error *err);
  int (*get)(void *db, int64_t id, struct tml_job *out, struct tml_error *err); /* TML_ENOENT */
  int (*get_locked)(void *db, int64_t id, struct tml_job *out, struct tml_error *err); /* inside begin() */
  int (*list)(void *db, const struct tml_job_filter *f, struct tml_job **out, size_t *n, size_t *total,
              struct tml_error *err);
  int (*counts)(void *db, size_t counts[TML_JOB_STATUS_COUNT], struct tml_error *err);
  int (*attempts)(void *db, int64_t id, struct tml_job_attempt **out, size_t *n, struct tml_error *err);
  /* Inside begin(): queued -> cancelled now; running -> cancel_requested. */
  int (*mark_cancel)(void *db, int64_t id, bool queued, int64_t now_ms, struct tml_error *err);
  int (*purge)(void *db, int64_t before_ms, size_t *deleted, struct tml_error *err);
  /* Whether candles of symbol at interval_ms are stored (false when there is no candle table). */
  bool (*symbol_stored)(void *db, const char *symbol, int64_t interval_ms);

  /* ---- worker side ---- */
  /* Running jobs whose lease expired before now_ms (at most max rows). Inside begin() or not. */
  int (*expired)(void *db, int64_t now_ms, struct tml__expired *rows, size_t max, size_t *n, struct tml_error *err);
  int (*claim)(void *db, const char *worker_id, int lease_s, int64_t now_ms, int max_running, struct tml_job *out,
               bool *got, struct tml_error *err);
  int (*heartbeat)(void *db, int64_t id, int64_t fence, int64_t lease_expires_ms, bool *cancel_requested,
                   struct tml_error *err);
  int (*progress)(void *db, int64_t id, int64_t fence, double pct, const char *stage, struct tml_error *err);
  /* 0 when job id is running under fence; TML_ECONFLICT (message: current status and token) else. */
  int (*fence_check)(void *db, int64_t id, int64_t fence, struct tml_error *err);
  /* Ends an attempt; *applied false (nothing changed) when e->fence > 0 and the job no longer runs under
   * it. Inside begin(), or alone when atomic_end_attempt (then it is one atomic statement). */
  int (*end_attempt)(void *db, const struct tml__attempt_end *e, bool *applied, struct tml_error *err);
  bool atomic_end_attempt;
  int (*wait)(void *db, int timeout_ms);
  /* A cheap liveness check of the connection that never blocks for the connect wait: true when a
   * trivial statement succeeds. PostgreSQL: a lost connection is re-tried at most every 2 s with a
   * single attempt. */
  bool (*ping)(void *db);

  /* ---- new-symbol queue and schedule slots (scheduler.c, coverage.c) ---- */
  /* Inside begin(): inserts unless present; *added true when inserted. */
  int (*symq_add)(void *db, const char *symbol, int64_t added_ms, int attempts, const char *last_error, bool *added,
                  struct tml_error *err);
  int (*symq_list)(void *db, struct tml_symqueue_entry **out, size_t *n, struct tml_error *err);
  /* symbol NULL = all. */
  int (*symq_remove)(void *db, const char *symbol, size_t *removed, struct tml_error *err);
  int (*symq_set)(void *db, const char *symbol, int64_t next_check_ms, int64_t job_id, struct tml_error *err);
  /* After the final outcome of a queue job (inside begin()): success removes, failure counts. */
  int (*symq_outcome)(void *db, const char *symbol, bool success, const char *error, struct tml_error *err);
  bool (*symq_has)(void *db, const char *symbol);
  /* Inside begin(): the last claimed slot of schedule name (*exists false when never seen), and storing
   * a new one. PostgreSQL locks the schedule's row, so two schedulers on two hosts serialise here. */
  int (*slot_get)(void *db, const char *name, bool *exists, int64_t *last_slot_ms, struct tml_error *err);
  int (*slot_set)(void *db, const char *name, int64_t slot_ms, int64_t run_ms, const char *owner,
                  struct tml_error *err);

  /* ---- processes (cluster status) ---- */
  int (*proc_beat)(void *db, const struct tml_cluster_process *p, struct tml_error *err);
  int (*proc_list)(void *db, struct tml_cluster_process **out, size_t *n, struct tml_error *err);
  int (*proc_remove)(void *db, const char *process_id, struct tml_error *err);
};

extern const struct tml__queue_backend tml__queue_sqlite;
extern const struct tml__queue_backend tml__queue_pg;

#endif
