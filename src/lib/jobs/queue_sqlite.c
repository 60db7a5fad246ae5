/* The SQLite job-queue backend (queue_backend.h): the job table (jobs + job_attempts), the new-symbol
 * queue, the schedule's slots and the process heartbeats, in the candle store's file (WAL). Every state
 * change is one BEGIN IMMEDIATE transaction, so two processes never both claim a job or both insert
 * the same job. Fencing tokens come from one counter row (jobs_meta 'fence') bumped in the claim's
 * transaction. */
#include "jobs/queue_backend.h"
#include "util/common.h"
#include "util/db.h"

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/mem.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"

#include <sqlite3.h>
#include <time.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS jobs ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " kind TEXT NOT NULL, symbols TEXT NOT NULL, interval TEXT NOT NULL, strategy TEXT NOT NULL,"
    " mode TEXT NOT NULL DEFAULT '', days REAL NOT NULL DEFAULT 0, params TEXT NOT NULL DEFAULT '{}',"
    " source TEXT NOT NULL DEFAULT 'cli', priority INTEGER NOT NULL DEFAULT 0,"
    " dedup_key TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'queued',"
    " progress REAL NOT NULL DEFAULT 0, stage TEXT NOT NULL DEFAULT '',"
    " attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, timeout_s INTEGER NOT NULL,"
    " cancel_requested INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '', worker_id TEXT NOT NULL DEFAULT '',"
    " lease_expires_ms INTEGER NOT NULL DEFAULT 0, not_before_ms INTEGER NOT NULL DEFAULT 0,"
    " created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL DEFAULT 0, finished_ms INTEGER NOT NULL DEFAULT 0,"
    " elapsed_s REAL NOT NULL DEFAULT 0, result TEXT NOT NULL DEFAULT '{}');"
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_identity ON jobs(dedup_key)"
    " WHERE status IN ('queued', 'running');"
    "CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, priority, id);"
    "CREATE TABLE IF NOT EXISTS job_attempts ("
    " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, worker_id TEXT NOT NULL,"
    " started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL DEFAULT 0,"
    " outcome TEXT NOT NULL DEFAULT 'running', exit_code INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '', PRIMARY KEY (job_id, attempt));"
    "CREATE TABLE IF NOT EXISTS symbol_queue ("
    " symbol TEXT PRIMARY KEY, added_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '', next_check_ms INTEGER NOT NULL DEFAULT 0,"
    " job_id INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS scheduler_state ("
    " name TEXT PRIMARY KEY, last_slot_ms INTEGER NOT NULL, last_run_ms INTEGER NOT NULL DEFAULT 0,"
    " owner TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS jobs_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cluster_processes ("
    " id TEXT PRIMARY KEY, host TEXT NOT NULL, role TEXT NOT NULL, pid INTEGER NOT NULL,"
    " started_ms INTEGER NOT NULL, heartbeat_ms INTEGER NOT NULL, running INTEGER NOT NULL DEFAULT 0,"
    " jobs TEXT NOT NULL DEFAULT '');";

struct sq {
  sqlite3 *db;
  char path[1024];
  int busy_timeout_ms;
};

#define JOB_COLUMNS                                                                                              \
  "id, kind, status, symbols, interval, strategy, mode, days, params, source, priority, progress, stage,"     \
  " attempts, max_attempts, timeout_s, cancel_requested, error, worker_id, lease_expires_ms, not_before_ms,"   \
  " created_ms, started_ms, finished_ms, elapsed_s, result, fence"

static int dberr(struct sq *s, int rc, const char *what, struct tml_error *err) {
  return tml__db_error(s->db, s->path, "job table", s->busy_timeout_ms, rc, what, err);
}

static int exec_sql(struct sq *s, const char *sql, const char *what, struct tml_error *err) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : dberr(s, rc, what, err);
}

static int prep(struct sq *s, const char *sql, sqlite3_stmt **st, struct tml_error *err) {
  int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
  return rc == SQLITE_OK ? 0 : dberr(s, rc, "preparing a statement", err);
}

static int step_done(struct sq *s, sqlite3_stmt *st, const char *what, struct tml_error *err) {
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r == SQLITE_DONE ? 0 : dberr(s, r, what, err);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t outsz) {
  const unsigned char *t = sqlite3_column_text(st, i);
  snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

static void read_job(sqlite3_stmt *st, struct tml_job *j) {
  memset(j, 0, sizeof(*j));
  char tmp[32];
  j->id = sqlite3_column_int64(st, 0);
  col_text(st, 1, tmp, sizeof(tmp));
  j->kind = tml__job_kind_from_text(tmp);
  col_text(st, 2, tmp, sizeof(tmp));
  j->status = tml__job_status_from_text(tmp);
  col_text(st, 3, j->symbols, sizeof(j->symbols));
  col_text(st, 4, j->interval, sizeof(j->interval));
  col_text(st, 5, j->strategy, sizeof(j->strategy));
  col_text(st, 6, j->mode, sizeof(j->mode));
  j->days = sqlite3_column_double(st, 7);
  col_text(st, 8, j->params, sizeof(j->params));
  col_text(st, 9, j->source, sizeof(j->source));
  j->priority = sqlite3_column_int(st, 10);
  j->progress = sqlite3_column_double(st, 11);
  col_text(st, 12, j->stage, sizeof(j->stage));
  j->attempts = sqlite3_column_int(st, 13);
  j->max_attempts = sqlite3_column_int(st, 14);
  j->timeout_s = sqlite3_column_int(st, 15);
  j->cancel_requested = sqlite3_column_int(st, 16) != 0;
  col_text(st, 17, j->error, sizeof(j->error));
  col_text(st, 18, j->worker_id, sizeof(j->worker_id));
  j->lease_expires_ms = sqlite3_column_int64(st, 19);
  j->not_before_ms = sqlite3_column_int64(st, 20);
  j->created_ms = sqlite3_column_int64(st, 21);
  j->started_ms = sqlite3_column_int64(st, 22);
  j->finished_ms = sqlite3_column_int64(st, 23);
  j->elapsed_s = sqlite3_column_double(st, 24);
  col_text(st, 25, j->result, sizeof(j->result));
  j->fence = sqlite3_column_int64(st, 26);
}

static int sq_begin(void *db, const char *what, struct tml_error *err) {
  return exec_sql(db, "BEGIN IMMEDIATE", what, err);
}

static int sq_commit(void *db, const char *what, struct tml_error *err) {
  struct sq *s = db;
  int rc = exec_sql(s, "COMMIT", what, err);
  if (rc)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static void sq_rollback(void *db) { sqlite3_exec(((struct sq *)db)->db, "ROLLBACK", NULL, NULL, NULL); }

static int sq_get(void *db, int64_t id, struct tml_job *out, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW)
    read_job(st, out);
  else if (r == SQLITE_DONE)
    rc = tml_error_set(err, TML_ENOENT, "no job %" PRId64 " (see 'trademl jobs list')", id);
  else
    rc = dberr(s, r, "reading a job", err);
  sqlite3_finalize(st);
  return rc;
}

/* Params version 2 = configuration keys (params.c). Rows written by older versions hold flag names:
 * translate them once, in one transaction, and recompute the identity of waiting jobs (it includes the
 * params). A queued job whose flag no key replaces fails with a message saying to resubmit it, rather
 * than failing later on a worker. */
static int upgrade_params(struct sq *s, struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = prep(s, "SELECT value FROM jobs_meta WHERE name = 'params_version'", &st, err);
  if (rc)
    return rc;
  int64_t version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (version >= 2)
    return 0;
  if ((rc = sq_begin(s, "upgrading job params", err)))
    return rc;
  struct tml_buf key;
  tml_buf_init(&key, 4096);
  sqlite3_stmt *upd = NULL, *fail = NULL;
  rc = prep(s, "SELECT " JOB_COLUMNS " FROM jobs WHERE params NOT IN ('', '{}')", &st, err);
  if (!rc)
    rc = prep(s, "UPDATE jobs SET params = ?2, dedup_key = ?3 WHERE id = ?1", &upd, err);
  if (!rc)
    rc = prep(s, "UPDATE jobs SET status = 'failed', error = ?2, finished_ms = ?3 WHERE id = ?1 AND status = 'queued'",
              &fail, err);
  int r = SQLITE_DONE;
  while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
    struct tml_job j;
    read_job(st, &j);
    char params[sizeof(j.params)];
    bool changed = false;
    struct tml_error uerr;
    tml_error_init(&uerr);
    if (tml__job_params_upgrade(j.kind, j.params, params, sizeof(params), &changed, &uerr)) {
      char msg[1024];
      snprintf(msg, sizeof(msg), "cannot run after the upgrade: %.900s", uerr.msg);
      sqlite3_reset(fail);
      sqlite3_bind_int64(fail, 1, j.id);
      sqlite3_bind_text(fail, 2, msg, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(fail, 3, tml_now_ms());
      if (sqlite3_step(fail) != SQLITE_DONE)
        rc = dberr(s, sqlite3_errcode(s->db), "upgrading job params", err);
      continue;
    }
    if (!changed)
      continue;
    tml_buf_reset(&key);
    tml__job_dedup_key(j.kind, j.symbols, j.interval, j.strategy, j.mode, j.days, params, &key);
    sqlite3_reset(upd);
    sqlite3_bind_int64(upd, 1, j.id);
    sqlite3_bind_text(upd, 2, params, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(upd, 3, tml_buf_str(&key), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(upd) != SQLITE_DONE)
      rc = dberr(s, sqlite3_errcode(s->db), "upgrading job params", err);
  }
  if (!rc && r != SQLITE_DONE)
    rc = dberr(s, r, "upgrading job params", err);
  sqlite3_finalize(st);
  sqlite3_finalize(upd);
  sqlite3_finalize(fail);
  tml_buf_release(&key);
  if (!rc)
    rc = exec_sql(s, "INSERT OR REPLACE INTO jobs_meta(name, value) VALUES ('params_version', 2)",
                  "upgrading job params", err);
  if (rc) {
    sq_rollback(s);
    return rc;
  }
  return sq_commit(s, "upgrading job params", err);
}

/* Fencing tokens (version 3): a fence column and a counter that only grows. */
static int add_fence(struct sq *s, struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = prep(s, "SELECT 1 FROM pragma_table_info('jobs') WHERE name = 'fence'", &st, err);
  if (rc)
    return rc;
  bool has = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  if (has)
    return 0;
  if ((rc = sq_begin(s, "adding fencing tokens", err)))
    return rc;
  rc = exec_sql(s,
                "ALTER TABLE jobs ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;"
                "INSERT OR IGNORE INTO jobs_meta(name, value) VALUES ('fence', 0);",
                "adding fencing tokens", err);
  if (rc) {
    sq_rollback(s);
    return rc;
  }
  return sq_commit(s, "adding fencing tokens", err);
}

static void sq_close(void *db) {
  struct sq *s = db;
  if (!s)
    return;
  sqlite3_close(s->db);
  free(s);
}

static int sq_open(const char *location, int busy_timeout_ms, void **out, struct tml_error *err) {
  *out = NULL;
  struct sq *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the job table in '%s'", location);
  snprintf(s->path, sizeof(s->path), "%s", location);
  s->busy_timeout_ms = busy_timeout_ms;
  int rc = tml__db_open(location, "job table", busy_timeout_ms, &s->db, err);
  if (!rc)
    rc = exec_sql(s, SCHEMA, "creating the job tables", err);
  if (!rc)
    rc = add_fence(s, err);
  if (!rc)
    rc = upgrade_params(s, err);
  if (rc) {
    sq_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

static int sq_insert(void *db, const struct tml__job_insert *row, int64_t *id, bool *existed, struct tml_error *err) {
  struct sq *s = db;
  *id = 0;
  *existed = false;
  int rc = sq_begin(s, "submitting a job", err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  rc = prep(s, "SELECT id FROM jobs WHERE dedup_key = ?1 AND status IN ('queued', 'running')", &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_text(st, 1, row->dedup_key, -1, SQLITE_STATIC);
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW) {
    *id = sqlite3_column_int64(st, 0);
    *existed = true;
  } else if (r != SQLITE_DONE) {
    rc = dberr(s, r, "looking for an identical job", err);
  }
  sqlite3_finalize(st);
  if (rc)
    goto rollback;
  if (*id == 0) {
    rc = prep(s,
              "INSERT INTO jobs(kind, symbols, interval, strategy, mode, days, params, source, priority,"
              " dedup_key, max_attempts, timeout_s, created_ms)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
              &st, err);
    if (rc)
      goto rollback;
    sqlite3_bind_text(st, 1, row->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->symbols, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, row->interval, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, row->strategy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, row->mode, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 6, row->days);
    sqlite3_bind_text(st, 7, row->params, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, row->source, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, row->priority);
    sqlite3_bind_text(st, 10, row->dedup_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, row->max_attempts);
    sqlite3_bind_int(st, 12, row->timeout_s);
    sqlite3_bind_int64(st, 13, row->created_ms);
    if ((rc = step_done(s, st, "inserting a job", err)))
      goto rollback;
    *id = sqlite3_last_insert_rowid(s->db);
  }
  rc = sq_commit(s, "submitting a job", err);
  if (rc)
    *id = 0;
  return rc;
rollback:
  sq_rollback(s);
  *id = 0;
  return rc;
}

static int sq_list(void *db, const struct tml_job_filter *f, struct tml_job **out, size_t *n, size_t *total,
                   struct tml_error *err) {
  struct sq *s = db;
  size_t limit = f->limit ? TML_MIN(f->limit, (size_t)1000) : 100;
  struct tml_buf where;
  tml_buf_init(&where, 4096);
  tml_buf_puts(&where, " WHERE 1");
  if (f->status_mask) {
    tml_buf_puts(&where, " AND status IN (''");
    for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
      if (f->status_mask & (1u << i))
        tml_buf_printf(&where, ", '%s'", tml_job_status_name((enum tml_job_status)i));
    tml_buf_puts(&where, ")");
  }
  if (f->kind >= 0 && f->kind < TML_JOB_KIND_COUNT)
    tml_buf_printf(&where, " AND kind = '%s'", tml_job_kind_name((enum tml_job_kind)f->kind));
  if (f->symbol)
    tml_buf_puts(&where, " AND (',' || symbols || ',') LIKE ('%,' || ?1 || ',%')");
  if (f->source)
    tml_buf_puts(&where, " AND source = ?2");
  struct tml_buf sql;
  tml_buf_init(&sql, 8192);
  int rc = 0;
  sqlite3_stmt *st = NULL;
  if (total) {
    tml_buf_printf(&sql, "SELECT count(*) FROM jobs%s", tml_buf_str(&where));
    rc = prep(s, tml_buf_str(&sql), &st, err);
    if (rc)
      goto done;
    if (f->symbol)
      sqlite3_bind_text(st, 1, f->symbol, -1, SQLITE_STATIC);
    if (f->source)
      sqlite3_bind_text(st, 2, f->source, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
      *total = (size_t)sqlite3_column_int64(st, 0);
    else
      rc = dberr(s, r, "counting jobs", err);
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
      goto done;
  }
  tml_buf_reset(&sql);
  tml_buf_printf(&sql, "SELECT " JOB_COLUMNS " FROM jobs%s ORDER BY id %s LIMIT %zu OFFSET %zu", tml_buf_str(&where),
                 f->oldest_first ? "ASC" : "DESC", limit, f->offset);
  rc = prep(s, tml_buf_str(&sql), &st, err);
  if (rc)
    goto done;
  if (f->symbol)
    sqlite3_bind_text(st, 1, f->symbol, -1, SQLITE_STATIC);
  if (f->source)
    sqlite3_bind_text(st, 2, f->source, -1, SQLITE_STATIC);
  struct tml_job *rows = NULL;
  size_t cap = 0;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    void *nr = tml_grow(rows, &cap, *n, sizeof(*rows), 16);
    if (!nr) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing jobs");
      break;
    }
    rows = nr;
    read_job(st, &rows[(*n)++]);
  }
  if (!rc && r != SQLITE_DONE)
    rc = dberr(s, r, "listing jobs", err);
  sqlite3_finalize(st);
  if (rc) {
    free(rows);
    *n = 0;
  } else {
    *out = rows;
  }
done:
  tml_buf_release(&sql);
  tml_buf_release(&where);
  return rc;
}

static int sq_counts(void *db, size_t counts[TML_JOB_STATUS_COUNT], struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s, "SELECT status, count(*) FROM jobs GROUP BY status", &st, err);
  if (rc)
    return rc;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    counts[tml__job_status_from_text(t ? t : "")] += (size_t)sqlite3_column_int64(st, 1);
  }
  if (r != SQLITE_DONE)
    rc = dberr(s, r, "counting jobs", err);
  sqlite3_finalize(st);
  return rc;
}

static int sq_attempts(void *db, int64_t id, struct tml_job_attempt **out, size_t *n, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "SELECT attempt, worker_id, started_ms, finished_ms, outcome, exit_code, error"
                " FROM job_attempts WHERE job_id = ?1 ORDER BY attempt",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  struct tml_job_attempt *rows = NULL;
  size_t cap = 0;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    void *nr = tml_grow(rows, &cap, *n, sizeof(*rows), 8);
    if (!nr) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory reading attempts");
      break;
    }
    rows = nr;
    struct tml_job_attempt *a = &rows[(*n)++];
    memset(a, 0, sizeof(*a));
    a->attempt = sqlite3_column_int(st, 0);
    col_text(st, 1, a->worker_id, sizeof(a->worker_id));
    a->started_ms = sqlite3_column_int64(st, 2);
    a->finished_ms = sqlite3_column_int64(st, 3);
    char tmp[32];
    col_text(st, 4, tmp, sizeof(tmp));
    a->outcome = tml__job_status_from_text(tmp);
    a->exit_code = sqlite3_column_int(st, 5);
    col_text(st, 6, a->error, sizeof(a->error));
  }
  if (!rc && r != SQLITE_DONE)
    rc = dberr(s, r, "reading attempts", err);
  sqlite3_finalize(st);
  if (rc) {
    free(rows);
    *n = 0;
  } else {
    *out = rows;
  }
  return rc;
}

static int sq_mark_cancel(void *db, int64_t id, bool queued, int64_t now_ms, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                queued ? "UPDATE jobs SET status = 'cancelled', finished_ms = ?2, error = 'cancelled while queued',"
                         " cancel_requested = 1 WHERE id = ?1"
                       : "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1 AND ?2 = ?2",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, now_ms);
  return step_done(s, st, "cancelling a job", err);
}

static int sq_purge(void *db, int64_t before_ms, size_t *deleted, struct tml_error *err) {
  struct sq *s = db;
  int rc = sq_begin(s, "purging jobs", err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  const char *fin = "status NOT IN ('queued', 'running') AND finished_ms < ?1";
  char sql[256];
  snprintf(sql, sizeof(sql), "DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE %s)", fin);
  if ((rc = prep(s, sql, &st, err)))
    goto rollback;
  sqlite3_bind_int64(st, 1, before_ms);
  if ((rc = step_done(s, st, "purging jobs", err)))
    goto rollback;
  snprintf(sql, sizeof(sql), "DELETE FROM jobs WHERE %s", fin);
  if ((rc = prep(s, sql, &st, err)))
    goto rollback;
  sqlite3_bind_int64(st, 1, before_ms);
  if ((rc = step_done(s, st, "purging jobs", err)))
    goto rollback;
  if (deleted)
    *deleted = (size_t)sqlite3_changes(s->db);
  return sq_commit(s, "purging jobs", err);
rollback:
  sq_rollback(s);
  return rc;
}

static bool sq_symbol_stored(void *db, const char *symbol, int64_t interval_ms) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM candles WHERE symbol = ?1 AND interval_ms = ?2 LIMIT 1", -1, &st,
                         NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return false; /* no candle table yet */
  }
  sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  bool found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return found;
}

/* ---- worker side ---- */

static int sq_expired(void *db, int64_t now_ms, struct tml__expired *rows, size_t max, size_t *n,
                      struct tml_error *err) {
  struct sq *s = db;
  *n = 0;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "SELECT id, attempts, max_attempts, cancel_requested, worker_id, source, symbols, kind, fence"
                " FROM jobs WHERE status = 'running' AND lease_expires_ms < ?1",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, now_ms);
  int r;
  while (*n < max && (r = sqlite3_step(st)) == SQLITE_ROW) {
    struct tml__expired *e = &rows[(*n)++];
    memset(e, 0, sizeof(*e));
    e->id = sqlite3_column_int64(st, 0);
    e->attempts = sqlite3_column_int(st, 1);
    e->max_attempts = sqlite3_column_int(st, 2);
    e->cancel = sqlite3_column_int(st, 3) != 0;
    col_text(st, 4, e->worker, sizeof(e->worker));
    col_text(st, 5, e->source, sizeof(e->source));
    col_text(st, 6, e->symbols, sizeof(e->symbols));
    col_text(st, 7, e->kind, sizeof(e->kind));
    e->fence = sqlite3_column_int64(st, 8);
  }
  sqlite3_finalize(st);
  return 0;
}

static int sq_claim(void *db, const char *worker_id, int lease_s, int64_t now, int max_running, struct tml_job *out,
                    bool *got, struct tml_error *err) {
  struct sq *s = db;
  *got = false;
  int rc = sq_begin(s, "claiming a job", err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  if (max_running > 0) {
    if ((rc = prep(s, "SELECT count(*) FROM jobs WHERE status = 'running'", &st, err)))
      goto rollback;
    int64_t running = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (running >= max_running)
      goto rollback; /* nothing claimed; not an error */
  }
  if ((rc = prep(s,
                 "SELECT id FROM jobs WHERE status = 'queued' AND not_before_ms <= ?1"
                 " ORDER BY priority DESC, id LIMIT 1",
                 &st, err)))
    goto rollback;
  sqlite3_bind_int64(st, 1, now);
  int r = sqlite3_step(st);
  int64_t id = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (r != SQLITE_ROW && r != SQLITE_DONE) {
    rc = dberr(s, r, "claiming a job", err);
    goto rollback;
  }
  if (!id)
    goto rollback;
  if ((rc = exec_sql(s, "UPDATE jobs_meta SET value = value + 1 WHERE name = 'fence'", "claiming a job", err)))
    goto rollback;
  if ((rc = prep(s,
                 "UPDATE jobs SET status = 'running', attempts = attempts + 1, worker_id = ?2,"
                 " lease_expires_ms = ?3, started_ms = ?4, progress = 0, stage = '',"
                 " fence = (SELECT value FROM jobs_meta WHERE name = 'fence') WHERE id = ?1",
                 &st, err)))
    goto rollback;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, worker_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, now + (int64_t)lease_s * 1000);
  sqlite3_bind_int64(st, 4, now);
  if ((rc = step_done(s, st, "claiming a job", err)))
    goto rollback;
  if ((rc = prep(s,
                 "INSERT OR REPLACE INTO job_attempts(job_id, attempt, worker_id, started_ms)"
                 " SELECT id, attempts, worker_id, started_ms FROM jobs WHERE id = ?1",
                 &st, err)))
    goto rollback;
  sqlite3_bind_int64(st, 1, id);
  if ((rc = step_done(s, st, "recording an attempt", err)))
    goto rollback;
  if ((rc = sq_get(s, id, out, err)))
    goto rollback;
  rc = sq_commit(s, "claiming a job", err);
  if (!rc)
    *got = true;
  return rc;
rollback:
  sq_rollback(s);
  return rc;
}

static int lost(int64_t id, int64_t fence, struct tml_error *err) {
  return tml_error_set(err, TML_ECONFLICT, "job %" PRId64 " is no longer held under fencing token %" PRId64
                       " (lease lost; another attempt owns it or it ended)", id, fence);
}

static int sq_heartbeat(void *db, int64_t id, int64_t fence, int64_t lease_expires_ms, bool *cancel_requested,
                        struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "UPDATE jobs SET lease_expires_ms = ?3 WHERE id = ?1 AND fence = ?2 AND status = 'running'"
                " RETURNING cancel_requested",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, fence);
  sqlite3_bind_int64(st, 3, lease_expires_ms);
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW) {
    if (cancel_requested)
      *cancel_requested = sqlite3_column_int(st, 0) != 0;
    r = sqlite3_step(st);
  } else if (r == SQLITE_DONE) {
    rc = lost(id, fence, err);
  }
  if (!rc && r != SQLITE_DONE)
    rc = dberr(s, r, "heartbeat", err);
  sqlite3_finalize(st);
  return rc;
}

static int sq_progress(void *db, int64_t id, int64_t fence, double pct, const char *stage, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "UPDATE jobs SET progress = ?2, stage = coalesce(?3, stage)"
                " WHERE id = ?1 AND status = 'running' AND fence = ?4",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_double(st, 2, pct);
  if (stage)
    sqlite3_bind_text(st, 3, stage, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, fence);
  if ((rc = step_done(s, st, "storing progress", err)))
    return rc;
  return sqlite3_changes(s->db) ? 0 : lost(id, fence, err);
}

static int sq_fence_check(void *db, int64_t id, int64_t fence, struct tml_error *err) {
  struct tml_job j;
  int rc = sq_get(db, id, &j, err);
  if (rc)
    return rc;
  if (j.status != TML_JOB_RUNNING || j.fence != fence)
    return tml_error_set(err, TML_ECONFLICT,
                         "job %" PRId64 ": fencing token %" PRId64 " is stale (the job is %s under token %" PRId64
                         ", worker %s)",
                         id, fence, tml_job_status_name(j.status), j.fence, j.worker_id[0] ? j.worker_id : "none");
  return 0;
}

static int sq_end_attempt(void *db, const struct tml__attempt_end *e, bool *applied, struct tml_error *err) {
  struct sq *s = db;
  *applied = false;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "UPDATE jobs SET status = ?2, error = ?3, result = ?4, finished_ms = ?5, not_before_ms = ?6,"
                " lease_expires_ms = 0, attempts = attempts - ?7, elapsed_s = elapsed_s + ?8,"
                " progress = CASE WHEN ?2 = 'succeeded' THEN 100 WHEN ?2 = 'queued' THEN 0 ELSE progress END"
                " WHERE id = ?1 AND (?9 = 0 OR (fence = ?9 AND status = 'running'))",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, e->id);
  sqlite3_bind_text(st, 2, e->status, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, e->error ? e->error : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, e->result ? e->result : "{}", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, e->finished_ms);
  sqlite3_bind_int64(st, 6, e->not_before_ms);
  sqlite3_bind_int(st, 7, e->uncount ? 1 : 0);
  sqlite3_bind_double(st, 8, e->elapsed_s);
  sqlite3_bind_int64(st, 9, e->fence);
  if ((rc = step_done(s, st, "finishing a job", err)))
    return rc;
  if (sqlite3_changes(s->db) == 0)
    return 0; /* the token is stale: nothing changed */
  if ((rc = prep(s,
                 e->uncount ? "DELETE FROM job_attempts WHERE job_id = ?1 AND attempt = ?2"
                            : "UPDATE job_attempts SET finished_ms = ?3, outcome = ?4, exit_code = ?5, error = ?6"
                              " WHERE job_id = ?1 AND attempt = ?2",
                 &st, err)))
    return rc;
  sqlite3_bind_int64(st, 1, e->id);
  sqlite3_bind_int(st, 2, e->attempt);
  if (!e->uncount) {
    sqlite3_bind_int64(st, 3, e->now_ms);
    sqlite3_bind_text(st, 4, e->attempt_outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, e->exit_code);
    sqlite3_bind_text(st, 6, e->error ? e->error : "", -1, SQLITE_STATIC);
  }
  rc = step_done(s, st, "recording an attempt", err);
  *applied = rc == 0;
  return rc;
}

static int sq_wait(void *db, int timeout_ms) {
  (void)db;
  struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  return 0;
}

static bool sq_ping(void *db) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  bool ok = sqlite3_prepare_v2(s->db, "SELECT 1", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return ok;
}

/* ---- new-symbol queue and slots ---- */

static int sq_symq_add(void *db, const char *symbol, int64_t added_ms, int attempts, const char *last_error,
                       bool *added, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s, "INSERT OR IGNORE INTO symbol_queue(symbol, added_ms, attempts, last_error) VALUES (?1, ?2, ?3, ?4)",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, added_ms);
  sqlite3_bind_int(st, 3, attempts);
  sqlite3_bind_text(st, 4, last_error ? last_error : "", -1, SQLITE_STATIC);
  rc = step_done(s, st, "adding to the new-symbol queue", err);
  *added = !rc && sqlite3_changes(s->db) > 0;
  return rc;
}

static int sq_symq_list(void *db, struct tml_symqueue_entry **out, size_t *n, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                /* LAST ERROR is the error of the newest job for the symbol that failed for good since it was
                 * queued, whatever its kind (a fetch or a training) or source; the stored error (from an
                 * imported queue file) when there is none. */
                "SELECT q.symbol, q.added_ms, q.attempts, COALESCE((SELECT j.error FROM jobs j"
                "   WHERE j.symbols = q.symbol AND j.status IN ('failed', 'timed_out')"
                "   AND j.kind IN ('train', 'retrain', 'fetch') AND j.finished_ms >= q.added_ms"
                "   ORDER BY j.finished_ms DESC, j.id DESC LIMIT 1), q.last_error),"
                " q.next_check_ms, q.job_id FROM symbol_queue q ORDER BY q.added_ms, q.symbol",
                &st, err);
  if (rc)
    return rc;
  size_t cap = 0;
  struct tml_symqueue_entry *rows = NULL;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    void *nr = tml_grow(rows, &cap, *n, sizeof(*rows), 16);
    if (!nr) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing the queue");
      break;
    }
    rows = nr;
    struct tml_symqueue_entry *e = &rows[(*n)++];
    memset(e, 0, sizeof(*e));
    col_text(st, 0, e->symbol, sizeof(e->symbol));
    e->added_ms = sqlite3_column_int64(st, 1);
    e->attempts = sqlite3_column_int(st, 2);
    col_text(st, 3, e->last_error, sizeof(e->last_error));
    e->next_check_ms = sqlite3_column_int64(st, 4);
    e->job_id = sqlite3_column_int64(st, 5);
  }
  if (!rc && r != SQLITE_DONE)
    rc = dberr(s, r, "listing the queue", err);
  sqlite3_finalize(st);
  if (rc) {
    free(rows);
    *n = 0;
  } else {
    *out = rows;
  }
  return rc;
}

static int sq_symq_remove(void *db, const char *symbol, size_t *removed, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s, symbol ? "DELETE FROM symbol_queue WHERE symbol = ?1" : "DELETE FROM symbol_queue", &st, err);
  if (rc)
    return rc;
  if (symbol)
    sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  rc = step_done(s, st, "removing from the queue", err);
  *removed = rc ? 0 : (size_t)sqlite3_changes(s->db);
  return rc;
}

static int sq_symq_set(void *db, const char *symbol, int64_t next_check_ms, int64_t job_id, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "UPDATE symbol_queue SET next_check_ms = ?2, job_id = CASE WHEN ?3 > 0 THEN ?3 ELSE job_id END"
                " WHERE symbol = ?1",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, next_check_ms);
  sqlite3_bind_int64(st, 3, job_id);
  return step_done(s, st, "updating the new-symbol queue", err);
}

static int sq_symq_outcome(void *db, const char *symbol, bool success, const char *error, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                success ? "DELETE FROM symbol_queue WHERE symbol = ?1"
                        : "UPDATE symbol_queue SET attempts = attempts + 1, last_error = ?2 WHERE symbol = ?1",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  if (!success)
    sqlite3_bind_text(st, 2, error ? error : "", -1, SQLITE_STATIC);
  return step_done(s, st, "updating the new-symbol queue", err);
}

static bool sq_symq_has(void *db, const char *symbol) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM symbol_queue WHERE symbol = ?1", -1, &st, NULL) != SQLITE_OK) {
    sqlite3_finalize(st);
    return false;
  }
  sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  bool yes = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return yes;
}

static int sq_slot_get(void *db, const char *name, bool *exists, int64_t *last_slot_ms, struct tml_error *err) {
  struct sq *s = db;
  *exists = false;
  *last_slot_ms = 0;
  sqlite3_stmt *st = NULL;
  int rc = prep(s, "SELECT last_slot_ms FROM scheduler_state WHERE name = ?1", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW) {
    *exists = true;
    *last_slot_ms = sqlite3_column_int64(st, 0);
  } else if (r != SQLITE_DONE) {
    rc = dberr(s, r, "reading the scheduler state", err);
  }
  sqlite3_finalize(st);
  return rc;
}

static int sq_slot_set(void *db, const char *name, int64_t slot_ms, int64_t run_ms, const char *owner,
                       struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "INSERT INTO scheduler_state(name, last_slot_ms, last_run_ms, owner) VALUES (?1, ?2, ?3, ?4)"
                " ON CONFLICT(name) DO UPDATE SET last_slot_ms = ?2, last_run_ms = ?3, owner = ?4",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, slot_ms);
  sqlite3_bind_int64(st, 3, run_ms);
  sqlite3_bind_text(st, 4, owner ? owner : "", -1, SQLITE_STATIC);
  return step_done(s, st, "claiming a schedule slot", err);
}

/* ---- processes ---- */

static int sq_proc_beat(void *db, const struct tml_cluster_process *p, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "INSERT INTO cluster_processes(id, host, role, pid, started_ms, heartbeat_ms, running, jobs)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET heartbeat_ms = ?6,"
                " running = ?7, jobs = ?8",
                &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, p->host, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, p->role, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, p->pid);
  sqlite3_bind_int64(st, 5, p->started_ms);
  sqlite3_bind_int64(st, 6, p->heartbeat_ms);
  sqlite3_bind_int(st, 7, p->running);
  sqlite3_bind_text(st, 8, p->jobs, -1, SQLITE_STATIC);
  return step_done(s, st, "storing a process heartbeat", err);
}

static int sq_proc_list(void *db, struct tml_cluster_process **out, size_t *n, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s,
                "SELECT id, host, role, pid, started_ms, heartbeat_ms, running, jobs FROM cluster_processes"
                " ORDER BY host, role, pid",
                &st, err);
  if (rc)
    return rc;
  size_t cap = 0;
  struct tml_cluster_process *rows = NULL;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    void *nr = tml_grow(rows, &cap, *n, sizeof(*rows), 16);
    if (!nr) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing processes");
      break;
    }
    rows = nr;
    struct tml_cluster_process *p = &rows[(*n)++];
    memset(p, 0, sizeof(*p));
    col_text(st, 0, p->id, sizeof(p->id));
    col_text(st, 1, p->host, sizeof(p->host));
    col_text(st, 2, p->role, sizeof(p->role));
    p->pid = sqlite3_column_int64(st, 3);
    p->started_ms = sqlite3_column_int64(st, 4);
    p->heartbeat_ms = sqlite3_column_int64(st, 5);
    p->running = sqlite3_column_int(st, 6);
    col_text(st, 7, p->jobs, sizeof(p->jobs));
  }
  if (!rc && r != SQLITE_DONE)
    rc = dberr(s, r, "listing processes", err);
  sqlite3_finalize(st);
  if (rc) {
    free(rows);
    *n = 0;
  } else {
    *out = rows;
  }
  return rc;
}

static int sq_proc_remove(void *db, const char *process_id, struct tml_error *err) {
  struct sq *s = db;
  sqlite3_stmt *st = NULL;
  int rc = prep(s, "DELETE FROM cluster_processes WHERE id = ?1", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, process_id, -1, SQLITE_STATIC);
  return step_done(s, st, "removing a process", err);
}

const struct tml__queue_backend tml__queue_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .insert = sq_insert,
    .get = sq_get,
    .get_locked = sq_get, /* BEGIN IMMEDIATE already excludes every other writer */
    .list = sq_list,
    .counts = sq_counts,
    .attempts = sq_attempts,
    .mark_cancel = sq_mark_cancel,
    .purge = sq_purge,
    .symbol_stored = sq_symbol_stored,
    .expired = sq_expired,
    .claim = sq_claim,
    .heartbeat = sq_heartbeat,
    .progress = sq_progress,
    .fence_check = sq_fence_check,
    .end_attempt = sq_end_attempt,
    .atomic_end_attempt = false, /* two statements: inside BEGIN IMMEDIATE */
    .wait = sq_wait,
    .ping = sq_ping,
    .symq_add = sq_symq_add,
    .symq_list = sq_symq_list,
    .symq_remove = sq_symq_remove,
    .symq_set = sq_symq_set,
    .symq_outcome = sq_symq_outcome,
    .symq_has = sq_symq_has,
    .slot_get = sq_slot_get,
    .slot_set = sq_slot_set,
    .proc_beat = sq_proc_beat,
    .proc_list = sq_proc_list,
    .proc_remove = sq_proc_remove,
};
