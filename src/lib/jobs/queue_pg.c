/* The PostgreSQL job-queue backend (queue_backend.h), for workers and schedulers on many hosts sharing
 * one database. A claim is one statement: the best runnable row is picked with FOR UPDATE SKIP LOCKED
 * (concurrent claimers skip each other's rows instead of queueing behind them), updated to running
 * with a token from the job_fence_seq sequence (fencing tokens grow across the whole database) and
 * its attempt row written, atomically. Idle workers LISTEN on channel trademl_jobs; submitting a job
 * or giving one back NOTIFYs it. Schedule slots are serialised by a row lock (SELECT ... FOR UPDATE)
 * on the schedule's row. Connection loss is handled by db_pg (reconnect with backoff); a statement
 * inside a transaction is not replayed, the caller's transaction fails and is retried by its caller. */
#include "jobs/queue_backend.h"
#include "util/common.h"
#include "util/db_pg.h"

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"

#include <poll.h>
#include <time.h>

static const struct tml__pg_migration MIGRATIONS[] = {
    {1, "job queue: jobs, attempts, new-symbol queue, schedule slots, processes, fencing tokens",
     "CREATE TABLE IF NOT EXISTS jobs ("
     " id bigserial PRIMARY KEY,"
     " kind text NOT NULL, symbols text NOT NULL, \"interval\" text NOT NULL, strategy text NOT NULL,"
     " mode text NOT NULL DEFAULT '', days double precision NOT NULL DEFAULT 0, params text NOT NULL DEFAULT '{}',"
     " source text NOT NULL DEFAULT 'cli', priority integer NOT NULL DEFAULT 0, dedup_key text NOT NULL,"
     " status text NOT NULL DEFAULT 'queued',"
     " progress double precision NOT NULL DEFAULT 0, stage text NOT NULL DEFAULT '',"
     " attempts integer NOT NULL DEFAULT 0, max_attempts integer NOT NULL, timeout_s integer NOT NULL,"
     " cancel_requested integer NOT NULL DEFAULT 0,"
     " error text NOT NULL DEFAULT '', worker_id text NOT NULL DEFAULT '',"
     " lease_expires_ms bigint NOT NULL DEFAULT 0, not_before_ms bigint NOT NULL DEFAULT 0,"
     " created_ms bigint NOT NULL, started_ms bigint NOT NULL DEFAULT 0, finished_ms bigint NOT NULL DEFAULT 0,"
     " elapsed_s double precision NOT NULL DEFAULT 0, result text NOT NULL DEFAULT '{}',"
     " fence bigint NOT NULL DEFAULT 0);"
     "CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_identity ON jobs(dedup_key)"
     " WHERE status IN ('queued', 'running');"
     "CREATE INDEX IF NOT EXISTS jobs_runnable ON jobs(priority DESC, id) WHERE status = 'queued';"
     "CREATE INDEX IF NOT EXISTS jobs_leases ON jobs(lease_expires_ms) WHERE status = 'running';"
     "CREATE SEQUENCE IF NOT EXISTS job_fence_seq;"
     /* SQLite's bookkeeping (params version, its fence counter), kept so `db migrate-from` carries it
      * over; a migrated fence counter moves job_fence_seq past it (pq_open). */
     "CREATE TABLE IF NOT EXISTS jobs_meta (name text PRIMARY KEY, value bigint NOT NULL);"
     "CREATE TABLE IF NOT EXISTS job_attempts ("
     " job_id bigint NOT NULL, attempt integer NOT NULL, worker_id text NOT NULL,"
     " started_ms bigint NOT NULL, finished_ms bigint NOT NULL DEFAULT 0,"
     " outcome text NOT NULL DEFAULT 'running', exit_code integer NOT NULL DEFAULT 0,"
     " error text NOT NULL DEFAULT '', PRIMARY KEY (job_id, attempt));"
     "CREATE TABLE IF NOT EXISTS symbol_queue ("
     " symbol text PRIMARY KEY, added_ms bigint NOT NULL, attempts integer NOT NULL DEFAULT 0,"
     " last_error text NOT NULL DEFAULT '', next_check_ms bigint NOT NULL DEFAULT 0,"
     " job_id bigint NOT NULL DEFAULT 0);"
     "CREATE TABLE IF NOT EXISTS scheduler_state ("
     " name text PRIMARY KEY, last_slot_ms bigint NOT NULL, last_run_ms bigint NOT NULL DEFAULT 0,"
     " owner text NOT NULL DEFAULT '');"
     "CREATE TABLE IF NOT EXISTS cluster_processes ("
     " id text PRIMARY KEY, host text NOT NULL, role text NOT NULL, pid bigint NOT NULL,"
     " started_ms bigint NOT NULL, heartbeat_ms bigint NOT NULL, running integer NOT NULL DEFAULT 0,"
     " jobs text NOT NULL DEFAULT '');"
     /* The job table as existing users query it (docs/postgresql.md), as in the SQLite file. */
     "CREATE OR REPLACE VIEW ml_training_jobs AS SELECT id AS job_id, strategy AS strategy_type,"
     " symbols AS symbol, status, to_timestamp(created_ms / 1000.0) AS created_at,"
     " CASE WHEN finished_ms > 0 THEN to_timestamp(finished_ms / 1000.0) END AS completed_at,"
     " error AS error_message, kind, \"interval\", attempts FROM jobs;"},
};

#define CHANNEL "trademl_jobs"

#define JOB_COLUMNS                                                                                              \
  "id, kind, status, symbols, \"interval\", strategy, mode, days, params, source, priority, progress, stage," \
  " attempts, max_attempts, timeout_s, cancel_requested, error, worker_id, lease_expires_ms, not_before_ms,"   \
  " created_ms, started_ms, finished_ms, elapsed_s, result, fence"

struct pgq {
  struct tml__pg pg;
  uint64_t listen_generation; /* connection generation LISTEN was sent on (0 = never) */
  int64_t last_reset_ms;      /* ping's last reconnect attempt */
};

/* ---- text results ---- */

static const char *val(const PGresult *r, int row, int col) { return PQgetvalue(r, row, col); }
static int64_t i64(const PGresult *r, int row, int col) { return strtoll(val(r, row, col), NULL, 10); }
static int i32(const PGresult *r, int row, int col) { return (int)strtol(val(r, row, col), NULL, 10); }
static double f64(const PGresult *r, int row, int col) { return strtod(val(r, row, col), NULL); }
static void text(const PGresult *r, int row, int col, char *out, size_t outsz) {
  snprintf(out, outsz, "%s", val(r, row, col));
}

static void read_job(const PGresult *r, int row, struct tml_job *j) {
  memset(j, 0, sizeof(*j));
  j->id = i64(r, row, 0);
  j->kind = tml__job_kind_from_text(val(r, row, 1));
  j->status = tml__job_status_from_text(val(r, row, 2));
  text(r, row, 3, j->symbols, sizeof(j->symbols));
  text(r, row, 4, j->interval, sizeof(j->interval));
  text(r, row, 5, j->strategy, sizeof(j->strategy));
  text(r, row, 6, j->mode, sizeof(j->mode));
  j->days = f64(r, row, 7);
  text(r, row, 8, j->params, sizeof(j->params));
  text(r, row, 9, j->source, sizeof(j->source));
  j->priority = i32(r, row, 10);
  j->progress = f64(r, row, 11);
  text(r, row, 12, j->stage, sizeof(j->stage));
  j->attempts = i32(r, row, 13);
  j->max_attempts = i32(r, row, 14);
  j->timeout_s = i32(r, row, 15);
  j->cancel_requested = i32(r, row, 16) != 0;
  text(r, row, 17, j->error, sizeof(j->error));
  text(r, row, 18, j->worker_id, sizeof(j->worker_id));
  j->lease_expires_ms = i64(r, row, 19);
  j->not_before_ms = i64(r, row, 20);
  j->created_ms = i64(r, row, 21);
  j->started_ms = i64(r, row, 22);
  j->finished_ms = i64(r, row, 23);
  j->elapsed_s = f64(r, row, 24);
  text(r, row, 25, j->result, sizeof(j->result));
  j->fence = i64(r, row, 26);
}

static PGresult *query(struct pgq *s, const char *sql, int n, const char *const *params, const char *doing,
                       struct tml_error *err) {
  return tml__pg_query(&s->pg, sql, n, params, false, doing, err);
}

static int exec_sql(struct pgq *s, const char *sql, int n, const char *const *params, const char *doing,
                    struct tml_error *err) {
  return tml__pg_exec(&s->pg, sql, n, params, doing, err);
}

static size_t changed(PGresult *r) { return (size_t)strtoull(PQcmdTuples(r), NULL, 10); }

/* ---- lifecycle, transactions ---- */

static void pq_close(void *db) {
  struct pgq *s = db;
  if (!s)
    return;
  tml__pg_close(&s->pg);
  free(s);
}

static int pq_open(const char *location, int busy_timeout_ms, void **out, struct tml_error *err) {
  (void)busy_timeout_ms;
  *out = NULL;
  struct pgq *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the job queue");
  int rc = tml__pg_connect(&s->pg, location, "job queue", err);
  if (!rc)
    rc = tml__pg_migrate(&s->pg, "jobs", MIGRATIONS, (int)TML_ARRAY_LEN(MIGRATIONS), NULL, err);
  /* Tokens handed out by a SQLite install migrated here stay smaller than every new one. */
  if (!rc)
    rc = exec_sql(s,
                  "SELECT setval('job_fence_seq', m.value) FROM jobs_meta m WHERE m.name = 'fence'"
                  " AND m.value > (SELECT last_value FROM job_fence_seq)",
                  0, NULL, "aligning fencing tokens", err);
  if (rc) {
    pq_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

static int pq_begin(void *db, const char *what, struct tml_error *err) {
  (void)what;
  return tml__pg_begin(&((struct pgq *)db)->pg, err);
}

static int pq_commit(void *db, const char *what, struct tml_error *err) {
  (void)what;
  return tml__pg_commit(&((struct pgq *)db)->pg, err);
}

static void pq_rollback(void *db) { tml__pg_rollback(&((struct pgq *)db)->pg); }

/* ---- jobs ---- */

static int get_job(struct pgq *s, int64_t id, bool lock, struct tml_job *out, struct tml_error *err) {
  char b[24];
  const char *p[1] = {tml__pg_i64(id, b)};
  PGresult *r = query(s,
                      lock ? "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 FOR UPDATE"
                           : "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1",
                      1, p, "reading a job", err);
  if (!r)
    return tml__pg_code(err);
  int rc = 0;
  if (PQntuples(r) == 1)
    read_job(r, 0, out);
  else
    rc = tml_error_set(err, TML_ENOENT, "no job %" PRId64 " (see 'trademl jobs list')", id);
  PQclear(r);
  return rc;
}

static int pq_get(void *db, int64_t id, struct tml_job *out, struct tml_error *err) {
  return get_job(db, id, false, out, err);
}

static int pq_get_locked(void *db, int64_t id, struct tml_job *out, struct tml_error *err) {
  return get_job(db, id, true, out, err);
}

static int pq_insert(void *db, const struct tml__job_insert *row, int64_t *id, bool *existed, struct tml_error *err) {
  struct pgq *s = db;
  *id = 0;
  *existed = false;
  char days[32], prio[16], maxa[16], tmo[16], created[24];
  snprintf(days, sizeof(days), "%.17g", row->days);
  snprintf(prio, sizeof(prio), "%d", row->priority);
  snprintf(maxa, sizeof(maxa), "%d", row->max_attempts);
  snprintf(tmo, sizeof(tmo), "%d", row->timeout_s);
  const char *p[13] = {row->kind,   row->symbols, row->interval, row->strategy, row->mode,
                       days,        row->params,  row->source,   prio,          row->dedup_key,
                       maxa,        tmo,          tml__pg_i64(row->created_ms, created)};
  /* The insert and its deduplication are one statement (the partial unique index decides); a row that
   * ended between our conflict and our look-up is retried. */
  for (int attempt = 0; attempt < 5; attempt++) {
    PGresult *r = query(s,
                        "WITH ins AS (INSERT INTO jobs(kind, symbols, \"interval\", strategy, mode, days, params,"
                        " source, priority, dedup_key, max_attempts, timeout_s, created_ms)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                        " ON CONFLICT (dedup_key) WHERE status IN ('queued', 'running') DO NOTHING RETURNING id)"
                        " SELECT id, pg_notify('" CHANNEL "', id::text) FROM ins",
                        13, p, "submitting a job", err);
    if (!r)
      return tml__pg_code(err);
    if (PQntuples(r) == 1) {
      *id = i64(r, 0, 0);
      PQclear(r);
      return 0;
    }
    PQclear(r);
    const char *k[1] = {row->dedup_key};
    r = query(s, "SELECT id FROM jobs WHERE dedup_key = $1 AND status IN ('queued', 'running')", 1, k,
              "looking for an identical job", err);
    if (!r)
      return tml__pg_code(err);
    if (PQntuples(r) == 1) {
      *id = i64(r, 0, 0);
      *existed = true;
      PQclear(r);
      return 0;
    }
    PQclear(r);
  }
  return tml_error_set(err, TML_EBUSY, "submitting a job: an identical job kept changing state; try again");
}

static int pq_list(void *db, const struct tml_job_filter *f, struct tml_job **out, size_t *n, size_t *total,
                   struct tml_error *err) {
  struct pgq *s = db;
  size_t limit = f->limit ? TML_MIN(f->limit, (size_t)1000) : 100;
  struct tml_buf where, sql;
  tml_buf_init(&where, 4096);
  tml_buf_init(&sql, 8192);
  const char *p[2];
  int np = 0;
  tml_buf_puts(&where, " WHERE true");
  if (f->status_mask) {
    tml_buf_puts(&where, " AND status IN (''");
    for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
      if (f->status_mask & (1u << i))
        tml_buf_printf(&where, ", '%s'", tml_job_status_name((enum tml_job_status)i));
    tml_buf_puts(&where, ")");
  }
  if (f->kind >= 0 && f->kind < TML_JOB_KIND_COUNT)
    tml_buf_printf(&where, " AND kind = '%s'", tml_job_kind_name((enum tml_job_kind)f->kind));
  if (f->symbol) {
    p[np++] = f->symbol;
    tml_buf_printf(&where, " AND (',' || symbols || ',') LIKE ('%%,' || $%d || ',%%')", np);
  }
  if (f->source) {
    p[np++] = f->source;
    tml_buf_printf(&where, " AND source = $%d", np);
  }
  int rc = 0;
  PGresult *r = NULL;
  if (total) {
    tml_buf_printf(&sql, "SELECT count(*) FROM jobs%s", tml_buf_str(&where));
    r = query(s, tml_buf_str(&sql), np, p, "counting jobs", err);
    if (!r) {
      rc = tml__pg_code(err);
      goto done;
    }
    *total = (size_t)i64(r, 0, 0);
    PQclear(r);
  }
  tml_buf_reset(&sql);
  tml_buf_printf(&sql, "SELECT " JOB_COLUMNS " FROM jobs%s ORDER BY id %s LIMIT %zu OFFSET %zu", tml_buf_str(&where),
                 f->oldest_first ? "ASC" : "DESC", limit, f->offset);
  r = query(s, tml_buf_str(&sql), np, p, "listing jobs", err);
  if (!r) {
    rc = tml__pg_code(err);
    goto done;
  }
  int rows = PQntuples(r);
  if (rows > 0) {
    *out = calloc((size_t)rows, sizeof(**out));
    if (!*out)
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing jobs");
    for (int i = 0; !rc && i < rows; i++)
      read_job(r, i, &(*out)[i]);
    if (!rc)
      *n = (size_t)rows;
  }
  PQclear(r);
done:
  tml_buf_release(&sql);
  tml_buf_release(&where);
  return rc;
}

static int pq_counts(void *db, size_t counts[TML_JOB_STATUS_COUNT], struct tml_error *err) {
  PGresult *r = query(db, "SELECT status, count(*) FROM jobs GROUP BY status", 0, NULL, "counting jobs", err);
  if (!r)
    return tml__pg_code(err);
  for (int i = 0; i < PQntuples(r); i++)
    counts[tml__job_status_from_text(val(r, i, 0))] += (size_t)i64(r, i, 1);
  PQclear(r);
  return 0;
}

static int pq_attempts(void *db, int64_t id, struct tml_job_attempt **out, size_t *n, struct tml_error *err) {
  char b[24];
  const char *p[1] = {tml__pg_i64(id, b)};
  PGresult *r = query(db,
                      "SELECT attempt, worker_id, started_ms, finished_ms, outcome, exit_code, error"
                      " FROM job_attempts WHERE job_id = $1 ORDER BY attempt",
                      1, p, "reading attempts", err);
  if (!r)
    return tml__pg_code(err);
  int rc = 0, rows = PQntuples(r);
  if (rows > 0) {
    *out = calloc((size_t)rows, sizeof(**out));
    if (!*out)
      rc = tml_error_set(err, TML_ENOMEM, "out of memory reading attempts");
    for (int i = 0; !rc && i < rows; i++) {
      struct tml_job_attempt *a = &(*out)[i];
      a->attempt = i32(r, i, 0);
      text(r, i, 1, a->worker_id, sizeof(a->worker_id));
      a->started_ms = i64(r, i, 2);
      a->finished_ms = i64(r, i, 3);
      a->outcome = tml__job_status_from_text(val(r, i, 4));
      a->exit_code = i32(r, i, 5);
      text(r, i, 6, a->error, sizeof(a->error));
    }
    if (!rc)
      *n = (size_t)rows;
  }
  PQclear(r);
  return rc;
}

static int pq_mark_cancel(void *db, int64_t id, bool queued, int64_t now_ms, struct tml_error *err) {
  char b[24], t[24];
  const char *p[2] = {tml__pg_i64(id, b), tml__pg_i64(now_ms, t)};
  return exec_sql(db,
                  queued ? "UPDATE jobs SET status = 'cancelled', finished_ms = $2, error = 'cancelled while queued',"
                           " cancel_requested = 1 WHERE id = $1"
                         : "UPDATE jobs SET cancel_requested = 1 WHERE id = $1 AND $2::bigint = $2::bigint",
                  2, p, "cancelling a job", err);
}

static int pq_purge(void *db, int64_t before_ms, size_t *deleted, struct tml_error *err) {
  struct pgq *s = db;
  char b[24];
  const char *p[1] = {tml__pg_i64(before_ms, b)};
  int rc = tml__pg_begin(&s->pg, err);
  if (rc)
    return rc;
  rc = exec_sql(s,
                "DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE status NOT IN ('queued', 'running')"
                " AND finished_ms < $1)",
                1, p, "purging jobs", err);
  PGresult *r = rc ? NULL
                   : query(s, "DELETE FROM jobs WHERE status NOT IN ('queued', 'running') AND finished_ms < $1", 1, p,
                           "purging jobs", err);
  if (!r) {
    tml__pg_rollback(&s->pg);
    return tml__pg_code(err);
  }
  if (deleted)
    *deleted = changed(r);
  PQclear(r);
  return tml__pg_commit(&s->pg, err);
}

static bool pq_symbol_stored(void *db, const char *symbol, int64_t interval_ms) {
  struct pgq *s = db;
  char b[24];
  const char *p[2] = {symbol, tml__pg_i64(interval_ms, b)};
  /* A missing candle table (nothing stored yet) is "not stored"; the probe must not abort a caller's
   * transaction, so it runs with its own error handling and no transaction. */
  if (s->pg.in_txn || tml__pg_ensure(&s->pg, NULL))
    return false;
  PGresult *r = PQexecParams(s->pg.conn, "SELECT 1 FROM candles WHERE symbol = $1 AND interval_ms = $2 LIMIT 1", 2,
                             NULL, p, NULL, NULL, 0);
  bool found = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  PQclear(r);
  return found;
}

/* ---- worker side ---- */

static int pq_expired(void *db, int64_t now_ms, struct tml__expired *rows, size_t max, size_t *n,
                      struct tml_error *err) {
  struct pgq *s = db;
  *n = 0;
  char b[24], m[24];
  const char *p[2] = {tml__pg_i64(now_ms, b), tml__pg_i64((int64_t)max, m)};
  /* Inside a reaping transaction the rows are locked, and rows another reaper holds are skipped: each
   * expired lease is given back once. */
  PGresult *r = query(s,
                      s->pg.in_txn ? "SELECT id, attempts, max_attempts, cancel_requested, worker_id, source, symbols,"
                                     " kind, fence FROM jobs WHERE status = 'running' AND lease_expires_ms < $1"
                                     " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
                                   : "SELECT id, attempts, max_attempts, cancel_requested, worker_id, source, symbols,"
                                     " kind, fence FROM jobs WHERE status = 'running' AND lease_expires_ms < $1"
                                     " ORDER BY id LIMIT $2",
                      2, p, "looking for expired leases", err);
  if (!r)
    return tml__pg_code(err);
  for (int i = 0; i < PQntuples(r) && *n < max; i++) {
    struct tml__expired *e = &rows[(*n)++];
    memset(e, 0, sizeof(*e));
    e->id = i64(r, i, 0);
    e->attempts = i32(r, i, 1);
    e->max_attempts = i32(r, i, 2);
    e->cancel = i32(r, i, 3) != 0;
    text(r, i, 4, e->worker, sizeof(e->worker));
    text(r, i, 5, e->source, sizeof(e->source));
    text(r, i, 6, e->symbols, sizeof(e->symbols));
    text(r, i, 7, e->kind, sizeof(e->kind));
    e->fence = i64(r, i, 8);
  }
  PQclear(r);
  return 0;
}

static const char CLAIM_SQL[] =
    "WITH pick AS (SELECT id FROM jobs WHERE status = 'queued' AND not_before_ms <= $1"
    "   ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED),"
    " upd AS (UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, worker_id = $2,"
    "   lease_expires_ms = $3, started_ms = $1, progress = 0, stage = '', fence = nextval('job_fence_seq')"
    "   FROM pick WHERE j.id = pick.id RETURNING j.*),"
    " att AS (INSERT INTO job_attempts(job_id, attempt, worker_id, started_ms)"
    "   SELECT id, attempts, worker_id, started_ms FROM upd"
    "   ON CONFLICT (job_id, attempt) DO UPDATE SET worker_id = EXCLUDED.worker_id,"
    "   started_ms = EXCLUDED.started_ms, finished_ms = 0, outcome = 'running', exit_code = 0, error = '')"
    " SELECT " JOB_COLUMNS " FROM upd";

static int pq_claim(void *db, const char *worker_id, int lease_s, int64_t now, int max_running, struct tml_job *out,
                    bool *got, struct tml_error *err) {
  struct pgq *s = db;
  *got = false;
  char nb[24], lb[24];
  const char *p[3] = {tml__pg_i64(now, nb), worker_id, tml__pg_i64(now + (int64_t)lease_s * 1000, lb)};
  int rc = 0;
  if (max_running > 0) {
    /* A global limit needs the count and the claim to be one decision: claimers take a transaction-scoped
     * advisory lock, so they serialise only when a limit is configured. */
    if ((rc = tml__pg_begin(&s->pg, err)))
      return rc;
    PGresult *r = query(s, "SELECT pg_advisory_xact_lock(727001), (SELECT count(*) FROM jobs WHERE status = 'running')",
                        0, NULL, "claiming a job", err);
    if (!r) {
      tml__pg_rollback(&s->pg);
      return tml__pg_code(err);
    }
    int64_t running = i64(r, 0, 1);
    PQclear(r);
    if (running >= max_running) {
      tml__pg_rollback(&s->pg);
      return 0;
    }
  }
  PGresult *r = query(s, CLAIM_SQL, 3, p, "claiming a job", err);
  if (!r) {
    if (max_running > 0)
      tml__pg_rollback(&s->pg);
    return tml__pg_code(err);
  }
  if (PQntuples(r) == 1) {
    read_job(r, 0, out);
    *got = true;
  }
  PQclear(r);
  if (max_running > 0) {
    rc = tml__pg_commit(&s->pg, err);
    if (rc)
      *got = false;
  }
  return rc;
}

static int lost(int64_t id, int64_t fence, struct tml_error *err) {
  return tml_error_set(err, TML_ECONFLICT,
                       "job %" PRId64 " is no longer held under fencing token %" PRId64
                       " (lease lost; another attempt owns it or it ended)",
                       id, fence);
}

static int pq_heartbeat(void *db, int64_t id, int64_t fence, int64_t lease_expires_ms, bool *cancel_requested,
                        struct tml_error *err) {
  char a[24], b[24], c[24];
  const char *p[3] = {tml__pg_i64(id, a), tml__pg_i64(fence, b), tml__pg_i64(lease_expires_ms, c)};
  PGresult *r = query(db,
                      "UPDATE jobs SET lease_expires_ms = $3 WHERE id = $1 AND fence = $2 AND status = 'running'"
                      " RETURNING cancel_requested",
                      3, p, "heartbeat", err);
  if (!r)
    return tml__pg_code(err);
  int rc = 0;
  if (PQntuples(r) == 1) {
    if (cancel_requested)
      *cancel_requested = i32(r, 0, 0) != 0;
  } else {
    rc = lost(id, fence, err);
  }
  PQclear(r);
  return rc;
}

static int pq_progress(void *db, int64_t id, int64_t fence, double pct, const char *stage, struct tml_error *err) {
  char a[24], b[24], c[32];
  snprintf(c, sizeof(c), "%.3f", pct);
  const char *p[4] = {tml__pg_i64(id, a), c, stage, tml__pg_i64(fence, b)};
  PGresult *r = query(db,
                      "UPDATE jobs SET progress = $2, stage = coalesce($3, stage)"
                      " WHERE id = $1 AND status = 'running' AND fence = $4",
                      4, p, "storing progress", err);
  if (!r)
    return tml__pg_code(err);
  size_t n = changed(r);
  PQclear(r);
  return n ? 0 : lost(id, fence, err);
}

static int pq_fence_check(void *db, int64_t id, int64_t fence, struct tml_error *err) {
  struct tml_job j;
  int rc = get_job(db, id, false, &j, err);
  if (rc)
    return rc;
  if (j.status != TML_JOB_RUNNING || j.fence != fence)
    return tml_error_set(err, TML_ECONFLICT,
                         "job %" PRId64 ": fencing token %" PRId64 " is stale (the job is %s under token %" PRId64
                         ", worker %s)",
                         id, fence, tml_job_status_name(j.status), j.fence, j.worker_id[0] ? j.worker_id : "none");
  return 0;
}

/* One statement: the job row (compare-and-set on the fencing token when e->fence > 0), its attempt row,
 * and a notification when the job is runnable again; atomic without a surrounding transaction. */
static int pq_end_attempt(void *db, const struct tml__attempt_end *e, bool *applied, struct tml_error *err) {
  struct pgq *s = db;
  *applied = false;
  char id[24], fin[24], nb[24], unc[4], el[32], att[16], now[24], code[16], fence[24];
  snprintf(unc, sizeof(unc), "%d", e->uncount ? 1 : 0);
  snprintf(el, sizeof(el), "%.6f", e->elapsed_s);
  snprintf(att, sizeof(att), "%d", e->attempt);
  snprintf(code, sizeof(code), "%d", e->exit_code);
  const char *p[13] = {tml__pg_i64(e->id, id),
                       e->status,
                       e->error ? e->error : "",
                       e->result ? e->result : "{}",
                       tml__pg_i64(e->finished_ms, fin),
                       tml__pg_i64(e->not_before_ms, nb),
                       unc,
                       el,
                       tml__pg_i64(e->fence, fence),
                       att,
                       tml__pg_i64(e->now_ms, now),
                       e->attempt_outcome,
                       code};
  PGresult *r = query(s,
                      "WITH upd AS (UPDATE jobs SET status = $2, error = $3, result = $4, finished_ms = $5,"
                      "   not_before_ms = $6, lease_expires_ms = 0, attempts = attempts - $7::integer,"
                      "   elapsed_s = elapsed_s + $8::double precision,"
                      "   progress = CASE WHEN $2 = 'succeeded' THEN 100 WHEN $2 = 'queued' THEN 0 ELSE progress END"
                      "   WHERE id = $1 AND ($9::bigint = 0 OR (fence = $9::bigint AND status = 'running'))"
                      "   RETURNING id),"
                      " del AS (DELETE FROM job_attempts WHERE $7::integer = 1 AND job_id = (SELECT id FROM upd)"
                      "   AND attempt = $10::integer),"
                      " att AS (UPDATE job_attempts SET finished_ms = $11, outcome = $12, exit_code = $13::integer,"
                      "   error = $3 WHERE $7::integer = 0 AND job_id = (SELECT id FROM upd) AND attempt = $10::integer)"
                      " SELECT id, CASE WHEN $2 = 'queued' THEN pg_notify('" CHANNEL "', id::text) END FROM upd",
                      13, p, "finishing a job", err);
  if (!r)
    return tml__pg_code(err);
  *applied = PQntuples(r) == 1;
  PQclear(r);
  return 0;
}

/* Sleeps until a notification on the channel, the timeout, or a lost connection (then a short pause, so
 * a dead server is not polled hard; the next statement reconnects). */
static int pq_wait(void *db, int timeout_ms) {
  struct pgq *s = db;
  struct timespec pause = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
  if (tml__pg_ensure(&s->pg, NULL)) {
    nanosleep(&pause, NULL);
    return 0;
  }
  if (s->listen_generation != s->pg.generation || s->listen_generation == 0) {
    PGresult *r = PQexec(s->pg.conn, "LISTEN " CHANNEL);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
      nanosleep(&pause, NULL);
      return 0;
    }
    s->listen_generation = s->pg.generation;
  }
  int64_t until = tml_now_ms() + timeout_ms;
  for (;;) {
    PQconsumeInput(s->pg.conn);
    bool woke = false;
    PGnotify *n;
    while ((n = PQnotifies(s->pg.conn)) != NULL) {
      woke = true;
      PQfreemem(n);
    }
    if (woke || PQstatus(s->pg.conn) != CONNECTION_OK)
      return 0;
    int64_t left = until - tml_now_ms();
    if (left <= 0)
      return 0;
    struct pollfd pfd = {PQsocket(s->pg.conn), POLLIN, 0};
    if (pfd.fd < 0 || poll(&pfd, 1, (int)left) < 0)
      return 0;
    if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
      return 0;
  }
}

static bool pq_ping(void *db) {
  struct pgq *s = db;
  if (!s->pg.conn)
    return false;
  if (PQstatus(s->pg.conn) != CONNECTION_OK) {
    int64_t now = tml_now_ms();
    if (now - s->last_reset_ms < 2000)
      return false;
    s->last_reset_ms = now;
    PQreset(s->pg.conn); /* one attempt, bounded by the URL's connect_timeout */
    if (PQstatus(s->pg.conn) != CONNECTION_OK)
      return false;
    s->pg.generation++; /* session state (LISTEN) is gone */
    s->pg.in_txn = false;
  }
  PGresult *r = PQexec(s->pg.conn, "SELECT 1");
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  return ok;
}

/* ---- new-symbol queue and slots ---- */

static int pq_symq_add(void *db, const char *symbol, int64_t added_ms, int attempts, const char *last_error,
                       bool *added, struct tml_error *err) {
  char t[24], a[16];
  snprintf(a, sizeof(a), "%d", attempts);
  const char *p[4] = {symbol, tml__pg_i64(added_ms, t), a, last_error ? last_error : ""};
  PGresult *r = query(db,
                      "INSERT INTO symbol_queue(symbol, added_ms, attempts, last_error) VALUES ($1, $2, $3, $4)"
                      " ON CONFLICT (symbol) DO NOTHING",
                      4, p, "adding to the new-symbol queue", err);
  if (!r)
    return tml__pg_code(err);
  *added = changed(r) > 0;
  PQclear(r);
  return 0;
}

static int pq_symq_list(void *db, struct tml_symqueue_entry **out, size_t *n, struct tml_error *err) {
  PGresult *r = query(db,
                      "SELECT q.symbol, q.added_ms, q.attempts, COALESCE((SELECT j.error FROM jobs j"
                      "   WHERE j.symbols = q.symbol AND j.status IN ('failed', 'timed_out')"
                      "   AND j.kind IN ('train', 'retrain', 'fetch') AND j.finished_ms >= q.added_ms"
                      "   ORDER BY j.finished_ms DESC, j.id DESC LIMIT 1), q.last_error),"
                      " q.next_check_ms, q.job_id FROM symbol_queue q ORDER BY q.added_ms, q.symbol",
                      0, NULL, "listing the queue", err);
  if (!r)
    return tml__pg_code(err);
  int rc = 0, rows = PQntuples(r);
  if (rows > 0) {
    *out = calloc((size_t)rows, sizeof(**out));
    if (!*out)
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing the queue");
    for (int i = 0; !rc && i < rows; i++) {
      struct tml_symqueue_entry *e = &(*out)[i];
      text(r, i, 0, e->symbol, sizeof(e->symbol));
      e->added_ms = i64(r, i, 1);
      e->attempts = i32(r, i, 2);
      text(r, i, 3, e->last_error, sizeof(e->last_error));
      e->next_check_ms = i64(r, i, 4);
      e->job_id = i64(r, i, 5);
    }
    if (!rc)
      *n = (size_t)rows;
  }
  PQclear(r);
  return rc;
}

static int pq_symq_remove(void *db, const char *symbol, size_t *removed, struct tml_error *err) {
  const char *p[1] = {symbol};
  PGresult *r = symbol ? query(db, "DELETE FROM symbol_queue WHERE symbol = $1", 1, p, "removing from the queue", err)
                       : query(db, "DELETE FROM symbol_queue", 0, NULL, "removing from the queue", err);
  if (!r)
    return tml__pg_code(err);
  *removed = changed(r);
  PQclear(r);
  return 0;
}

static int pq_symq_set(void *db, const char *symbol, int64_t next_check_ms, int64_t job_id, struct tml_error *err) {
  char a[24], b[24];
  const char *p[3] = {symbol, tml__pg_i64(next_check_ms, a), tml__pg_i64(job_id, b)};
  return exec_sql(db,
                  "UPDATE symbol_queue SET next_check_ms = $2, job_id = CASE WHEN $3::bigint > 0 THEN $3::bigint"
                  " ELSE job_id END WHERE symbol = $1",
                  3, p, "updating the new-symbol queue", err);
}

static int pq_symq_outcome(void *db, const char *symbol, bool success, const char *error, struct tml_error *err) {
  const char *p[2] = {symbol, error ? error : ""};
  return success ? exec_sql(db, "DELETE FROM symbol_queue WHERE symbol = $1", 1, p, "updating the new-symbol queue",
                            err)
                 : exec_sql(db, "UPDATE symbol_queue SET attempts = attempts + 1, last_error = $2 WHERE symbol = $1", 2,
                            p, "updating the new-symbol queue", err);
}

static bool pq_symq_has(void *db, const char *symbol) {
  const char *p[1] = {symbol};
  PGresult *r = query(db, "SELECT 1 FROM symbol_queue WHERE symbol = $1", 1, p, "reading the queue", NULL);
  bool yes = r && PQntuples(r) == 1;
  PQclear(r);
  return yes;
}

static int pq_slot_get(void *db, const char *name, bool *exists, int64_t *last_slot_ms, struct tml_error *err) {
  struct pgq *s = db;
  *exists = false;
  *last_slot_ms = 0;
  const char *p[1] = {name};
  /* In a transaction (claiming a slot) the schedule's row is locked: a second scheduler, on any host,
   * waits here and then sees the slot already taken. */
  PGresult *r = query(s,
                      s->pg.in_txn ? "SELECT last_slot_ms FROM scheduler_state WHERE name = $1 FOR UPDATE"
                                   : "SELECT last_slot_ms FROM scheduler_state WHERE name = $1",
                      1, p, "reading the scheduler state", err);
  if (!r)
    return tml__pg_code(err);
  if (PQntuples(r) == 1) {
    *exists = true;
    *last_slot_ms = i64(r, 0, 0);
  }
  PQclear(r);
  return 0;
}

static int pq_slot_set(void *db, const char *name, int64_t slot_ms, int64_t run_ms, const char *owner,
                       struct tml_error *err) {
  char a[24], b[24];
  const char *p[4] = {name, tml__pg_i64(slot_ms, a), tml__pg_i64(run_ms, b), owner ? owner : ""};
  /* The first sighting of a schedule by two schedulers at once: both record the same slot (neither runs
   * it); later slots are decided under the row lock taken by pq_slot_get. */
  return exec_sql(db,
                  "INSERT INTO scheduler_state(name, last_slot_ms, last_run_ms, owner) VALUES ($1, $2, $3, $4)"
                  " ON CONFLICT (name) DO UPDATE SET last_slot_ms = GREATEST(scheduler_state.last_slot_ms, $2),"
                  " last_run_ms = $3, owner = $4",
                  4, p, "claiming a schedule slot", err);
}

/* ---- processes ---- */

static int pq_proc_beat(void *db, const struct tml_cluster_process *p, struct tml_error *err) {
  char pid[24], st[24], hb[24], run[16];
  snprintf(run, sizeof(run), "%d", p->running);
  const char *v[8] = {p->id,
                      p->host,
                      p->role,
                      tml__pg_i64(p->pid, pid),
                      tml__pg_i64(p->started_ms, st),
                      tml__pg_i64(p->heartbeat_ms, hb),
                      run,
                      p->jobs};
  return exec_sql(db,
                  "INSERT INTO cluster_processes(id, host, role, pid, started_ms, heartbeat_ms, running, jobs)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO UPDATE SET heartbeat_ms = $6,"
                  " running = $7, jobs = $8",
                  8, v, "storing a process heartbeat", err);
}

static int pq_proc_list(void *db, struct tml_cluster_process **out, size_t *n, struct tml_error *err) {
  PGresult *r = query(db,
                      "SELECT id, host, role, pid, started_ms, heartbeat_ms, running, jobs FROM cluster_processes"
                      " ORDER BY host, role, pid",
                      0, NULL, "listing processes", err);
  if (!r)
    return tml__pg_code(err);
  int rc = 0, rows = PQntuples(r);
  if (rows > 0) {
    *out = calloc((size_t)rows, sizeof(**out));
    if (!*out)
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing processes");
    for (int i = 0; !rc && i < rows; i++) {
      struct tml_cluster_process *p = &(*out)[i];
      text(r, i, 0, p->id, sizeof(p->id));
      text(r, i, 1, p->host, sizeof(p->host));
      text(r, i, 2, p->role, sizeof(p->role));
      p->pid = i64(r, i, 3);
      p->started_ms = i64(r, i, 4);
      p->heartbeat_ms = i64(r, i, 5);
      p->running = i32(r, i, 6);
      text(r, i, 7, p->jobs, sizeof(p->jobs));
    }
    if (!rc)
      *n = (size_t)rows;
  }
  PQclear(r);
  return rc;
}

static int pq_proc_remove(void *db, const char *process_id, struct tml_error *err) {
  const char *p[1] = {process_id};
  return exec_sql(db, "DELETE FROM cluster_processes WHERE id = $1", 1, p, "removing a process", err);
}

const struct tml__queue_backend tml__queue_pg = {
    .name = "postgresql",
    .open = pq_open,
    .close = pq_close,
    .begin = pq_begin,
    .commit = pq_commit,
    .rollback = pq_rollback,
    .insert = pq_insert,
    .get = pq_get,
    .get_locked = pq_get_locked,
    .list = pq_list,
    .counts = pq_counts,
    .attempts = pq_attempts,
    .mark_cancel = pq_mark_cancel,
    .purge = pq_purge,
    .symbol_stored = pq_symbol_stored,
    .expired = pq_expired,
    .claim = pq_claim,
    .heartbeat = pq_heartbeat,
    .progress = pq_progress,
    .fence_check = pq_fence_check,
    .end_attempt = pq_end_attempt,
    .atomic_end_attempt = true,
    .wait = pq_wait,
    .ping = pq_ping,
    .symq_add = pq_symq_add,
    .symq_list = pq_symq_list,
    .symq_remove = pq_symq_remove,
    .symq_set = pq_symq_set,
    .symq_outcome = pq_symq_outcome,
    .symq_has = pq_symq_has,
    .slot_get = pq_slot_get,
    .slot_set = pq_slot_set,
    .proc_beat = pq_proc_beat,
    .proc_list = pq_proc_list,
    .proc_remove = pq_proc_remove,
};
