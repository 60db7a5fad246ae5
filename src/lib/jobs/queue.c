/* The job table (jobs + job_attempts) and the tables the scheduler shares with it (symbol_queue,
 * scheduler_state), in the candle store's SQLite file. Every state change is one BEGIN IMMEDIATE
 * transaction, so two processes never both claim a job or both insert the same job: deduplication
 * is a UNIQUE partial index over the job identity while queued or running. */
#include "trademl/jobs.h"
#include "util/common.h"
#include "util/db.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"

#include <ctype.h>
#include <jansson.h>
#include <sqlite3.h>

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
    "CREATE TABLE IF NOT EXISTS jobs_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

#define JOB_COLUMNS                                                                                              \
  "id, kind, status, symbols, interval, strategy, mode, days, params, source, priority, progress, stage,"     \
  " attempts, max_attempts, timeout_s, cancel_requested, error, worker_id, lease_expires_ms, not_before_ms,"   \
  " created_ms, started_ms, finished_ms, elapsed_s, result"

struct tml_jobs {
  sqlite3 *db;
  char path[1024];
  struct tml_jobs_opts opts;
};

static const char *const kind_names[TML_JOB_KIND_COUNT] = {"train", "validate", "retrain", "fetch", "noop"};
static const char *const status_names[TML_JOB_STATUS_COUNT] = {"queued",    "running",   "succeeded",
                                                                "failed",    "cancelled", "timed_out"};

const char *tml_job_kind_name(enum tml_job_kind k) {
  return (unsigned)k < TML_JOB_KIND_COUNT ? kind_names[k] : "?";
}
const char *tml_job_status_name(enum tml_job_status s) {
  return (unsigned)s < TML_JOB_STATUS_COUNT ? status_names[s] : "?";
}

static bool ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
      return false;
  return *a == *b;
}

int tml_job_kind_parse(const char *s, enum tml_job_kind *out, struct tml_error *err) {
  for (int i = 0; i < TML_JOB_KIND_COUNT; i++)
    if (s && ieq(s, kind_names[i])) {
      *out = (enum tml_job_kind)i;
      return 0;
    }
  return tml_error_set(err, TML_EINVAL, "unknown job kind '%s' (expected train, validate, retrain or fetch)",
                       s ? s : "");
}

int tml_job_status_parse(const char *s, enum tml_job_status *out, struct tml_error *err) {
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    if (s && ieq(s, status_names[i])) {
      *out = (enum tml_job_status)i;
      return 0;
    }
  return tml_error_set(err, TML_EINVAL,
                       "unknown job status '%s' (expected queued, running, succeeded, failed, cancelled or timed_out)",
                       s ? s : "");
}

static int status_from_text(const char *s) {
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    if (strcmp(s, status_names[i]) == 0)
      return i;
  return TML_JOB_FAILED;
}

bool tml_job_status_final(enum tml_job_status s) { return s != TML_JOB_QUEUED && s != TML_JOB_RUNNING; }

void tml_job_spec_init(struct tml_job_spec *s) { memset(s, 0, sizeof(*s)); }

void tml_job_filter_init(struct tml_job_filter *f) {
  memset(f, 0, sizeof(*f));
  f->kind = -1;
  f->limit = 100;
}

void tml_jobs_opts_default(struct tml_jobs_opts *o) {
  memset(o, 0, sizeof(*o));
  o->busy_timeout_ms = 5000;
  o->default_max_attempts = 4;
  o->default_timeout_s = 3600;
  o->backoff_base_s = 30;
  snprintf(o->default_interval, sizeof(o->default_interval), "15m");
  snprintf(o->default_strategy, sizeof(o->default_strategy), "xgb5");
  o->check_symbols = true;
}

int tml_jobs_opts_from_config(const struct tml_config *cfg, struct tml_jobs_opts *o, struct tml_error *err) {
  (void)err;
  tml_jobs_opts_default(o);
  o->busy_timeout_ms = (int)(tml_config_int(cfg, "data.busy_timeout") * 1000);
  o->default_max_attempts = 1 + (int)tml_config_int(cfg, "training.retry_attempts");
  o->default_timeout_s = (int)tml_config_int(cfg, "training.job_timeout");
  o->backoff_base_s = (double)tml_config_int(cfg, "training.retry_backoff_seconds");
  snprintf(o->default_interval, sizeof(o->default_interval), "%s", tml_config_get(cfg, "data.interval"));
  snprintf(o->default_strategy, sizeof(o->default_strategy), "%s", tml_config_get(cfg, "model.strategy"));
  o->max_running = (int)tml_config_int(cfg, "training.max_concurrent_jobs");
  return 0;
}

int tml__jobs_db_error(struct tml_jobs *q, int rc, const char *what, struct tml_error *err) {
  return tml__db_error(q->db, q->path, "job table", q->opts.busy_timeout_ms, rc, what, err);
}

int tml__jobs_exec(struct tml_jobs *q, const char *sql, const char *what, struct tml_error *err) {
  int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : tml__jobs_db_error(q, rc, what, err);
}

int tml__jobs_begin(struct tml_jobs *q, const char *what, struct tml_error *err) {
  return tml__jobs_exec(q, "BEGIN IMMEDIATE", what, err);
}

int tml__jobs_commit(struct tml_jobs *q, const char *what, struct tml_error *err) {
  int rc = tml__jobs_exec(q, "COMMIT", what, err);
  if (rc)
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

void tml__jobs_rollback(struct tml_jobs *q) { sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL); }

int tml__jobs_prepare(struct tml_jobs *q, const char *sql, sqlite3_stmt **st, struct tml_error *err) {
  int rc = sqlite3_prepare_v2(q->db, sql, -1, st, NULL);
  return rc == SQLITE_OK ? 0 : tml__jobs_db_error(q, rc, "preparing a statement", err);
}

static void read_job(sqlite3_stmt *st, struct tml_job *j);
static void dedup_key(enum tml_job_kind kind, const char *syms, const char *interval, const char *strategy,
                      const char *mode, double days, const char *params, struct tml_buf *key);

/* Params version 2 = configuration keys (params.c). Rows written by older versions hold flag names:
 * translate them once, in one transaction, and recompute the identity of waiting jobs (it includes the
 * params). A queued job whose flag no key replaces fails with a message saying to resubmit it, rather
 * than failing later on a worker. */
static int upgrade_params(struct tml_jobs *q, struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q, "SELECT value FROM jobs_meta WHERE name = 'params_version'", &st, err);
  if (rc)
    return rc;
  int64_t version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (version >= 2)
    return 0;
  if ((rc = tml__jobs_begin(q, "upgrading job params", err)))
    return rc;
  struct tml_buf key;
  tml_buf_init(&key, 4096);
  sqlite3_stmt *upd = NULL, *fail = NULL;
  rc = tml__jobs_prepare(q, "SELECT " JOB_COLUMNS " FROM jobs WHERE params NOT IN ('', '{}')", &st, err);
  if (!rc)
    rc = tml__jobs_prepare(q, "UPDATE jobs SET params = ?2, dedup_key = ?3 WHERE id = ?1", &upd, err);
  if (!rc)
    rc = tml__jobs_prepare(q,
                           "UPDATE jobs SET status = 'failed', error = ?2, finished_ms = ?3 WHERE id = ?1"
                           " AND status = 'queued'",
                           &fail, err);
  int s = SQLITE_DONE;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
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
        rc = tml__jobs_db_error(q, sqlite3_errcode(q->db), "upgrading job params", err);
      continue;
    }
    if (!changed)
      continue;
    tml_buf_reset(&key);
    dedup_key(j.kind, j.symbols, j.interval, j.strategy, j.mode, j.days, params, &key);
    sqlite3_reset(upd);
    sqlite3_bind_int64(upd, 1, j.id);
    sqlite3_bind_text(upd, 2, params, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(upd, 3, tml_buf_str(&key), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(upd) != SQLITE_DONE)
      rc = tml__jobs_db_error(q, sqlite3_errcode(q->db), "upgrading job params", err);
  }
  if (!rc && s != SQLITE_DONE)
    rc = tml__jobs_db_error(q, s, "upgrading job params", err);
  sqlite3_finalize(st);
  sqlite3_finalize(upd);
  sqlite3_finalize(fail);
  tml_buf_release(&key);
  if (!rc)
    rc = tml__jobs_exec(q, "INSERT OR REPLACE INTO jobs_meta(name, value) VALUES ('params_version', 2)",
                        "upgrading job params", err);
  if (rc) {
    tml__jobs_rollback(q);
    return rc;
  }
  return tml__jobs_commit(q, "upgrading job params", err);
}

int tml_jobs_open(const char *db_path, const struct tml_jobs_opts *opts, struct tml_jobs **out,
                  struct tml_error *err) {
  *out = NULL;
  struct tml_jobs *q = calloc(1, sizeof(*q));
  if (!q)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the job table in '%s'", db_path);
  snprintf(q->path, sizeof(q->path), "%s", db_path);
  if (opts)
    q->opts = *opts;
  else
    tml_jobs_opts_default(&q->opts);
  if (tml__db_open(db_path, "job table", q->opts.busy_timeout_ms, &q->db, err) ||
      tml__jobs_exec(q, SCHEMA, "creating the job tables", err) || upgrade_params(q, err))
    goto fail;
  *out = q;
  return 0;
fail:
  tml_jobs_close(q);
  return err && err->code ? err->code : TML_EDB;
}

void tml_jobs_close(struct tml_jobs *q) {
  if (!q)
    return;
  sqlite3_close(q->db);
  free(q);
}

struct sqlite3 *tml_jobs_db(struct tml_jobs *q) { return q ? q->db : NULL; }
const struct tml_jobs_opts *tml_jobs_options(const struct tml_jobs *q) { return &q->opts; }
const char *tml__jobs_path(const struct tml_jobs *q) { return q->path; }

/* ---- reading rows ---- */

static void col_text(sqlite3_stmt *st, int i, char *out, size_t outsz) {
  const unsigned char *t = sqlite3_column_text(st, i);
  snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

static void read_job(sqlite3_stmt *st, struct tml_job *j) {
  memset(j, 0, sizeof(*j));
  char tmp[32];
  j->id = sqlite3_column_int64(st, 0);
  col_text(st, 1, tmp, sizeof(tmp));
  j->kind = TML_JOB_TRAIN;
  for (int i = 0; i < TML_JOB_KIND_COUNT; i++)
    if (strcmp(tmp, kind_names[i]) == 0)
      j->kind = (enum tml_job_kind)i;
  col_text(st, 2, tmp, sizeof(tmp));
  j->status = (enum tml_job_status)status_from_text(tmp);
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
}

static int get_locked(struct tml_jobs *q, int64_t id, struct tml_job *out, struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW)
    read_job(st, out);
  else if (s == SQLITE_DONE)
    rc = tml_error_set(err, TML_ENOENT, "no job %" PRId64 " (see 'trademl jobs list')", id);
  else
    rc = tml__jobs_db_error(q, s, "reading a job", err);
  sqlite3_finalize(st);
  return rc;
}

int tml_jobs_get(struct tml_jobs *q, int64_t id, struct tml_job *out, struct tml_error *err) {
  return get_locked(q, id, out, err);
}

/* ---- submit ---- */

/* Identity of a job for deduplication: train and retrain share one per symbol set (a symbol training
 * is never queued twice); other kinds are identical when every field matches. */
static void dedup_key(enum tml_job_kind kind, const char *syms, const char *interval, const char *strategy,
                      const char *mode, double days, const char *params, struct tml_buf *key) {
  if (kind == TML_JOB_TRAIN || kind == TML_JOB_RETRAIN)
    tml_buf_printf(key, "train|%s|%s|%s", syms, interval, strategy);
  else
    tml_buf_printf(key, "%s|%s|%s|%s|%s|%.6g|%s", tml_job_kind_name(kind), syms, interval, strategy, mode, days,
                   params);
}

static bool symbol_stored(struct tml_jobs *q, const char *symbol, int64_t interval_ms) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(q->db, "SELECT 1 FROM candles WHERE symbol = ?1 AND interval_ms = ?2 LIMIT 1", -1, &st,
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

int tml_jobs_submit(struct tml_jobs *q, const struct tml_job_spec *spec, int64_t *id, bool *existed,
                    struct tml_error *err) {
  *id = 0;
  if (existed)
    *existed = false;
  if ((unsigned)spec->kind >= TML_JOB_KIND_COUNT)
    return tml_error_set(err, TML_EINVAL, "unknown job kind %d", (int)spec->kind);
  const char *kind = kind_names[spec->kind];
  if (spec->nsymbols == 0 && spec->kind != TML_JOB_NOOP)
    return tml_error_set(err, TML_EINVAL, "%s job needs at least one symbol (--symbol BTCUSDT)", kind);
  if (spec->nsymbols > TML_JOB_MAX_SYMBOLS)
    return tml_error_set(err, TML_EINVAL, "too many symbols (%zu, max %d)", spec->nsymbols, TML_JOB_MAX_SYMBOLS);
  const char *interval_in = spec->interval && *spec->interval ? spec->interval : q->opts.default_interval;
  int64_t interval_ms = 0;
  int rc = tml_interval_parse(interval_in, &interval_ms, err);
  if (rc)
    return rc;
  const char *interval = tml_interval_name(interval_ms);
  const char *strategy = spec->strategy && *spec->strategy ? spec->strategy : q->opts.default_strategy;
  for (const char *p = strategy; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
      return tml_error_set(err, TML_EINVAL, "strategy '%s': use letters, digits, '_', '-' or '.'", strategy);
  const char *mode = "";
  if (spec->kind == TML_JOB_VALIDATE) {
    mode = spec->mode && *spec->mode ? spec->mode : "quick";
    if (strcmp(mode, "quick") != 0 && strcmp(mode, "full") != 0 && strcmp(mode, "sequential") != 0)
      return tml_error_set(err, TML_EINVAL, "validate mode '%s': expected quick, full or sequential", mode);
  } else if (spec->mode && *spec->mode) {
    return tml_error_set(err, TML_EINVAL, "--mode applies to validate jobs only, not %s", kind);
  }
  if (!(spec->days >= 0 && spec->days <= 36500))
    return tml_error_set(err, TML_EINVAL, "days %g: expected 0 (all) to 36500", spec->days);
  if (spec->max_attempts < 0 || spec->max_attempts > 100)
    return tml_error_set(err, TML_EINVAL, "max attempts %d: expected 1 to 100 (0 = default)", spec->max_attempts);
  if (spec->timeout_s < 0 || spec->timeout_s > 604800)
    return tml_error_set(err, TML_EINVAL, "timeout %d s: expected 1 to 604800 (0 = default)", spec->timeout_s);
  char params[1024];
  rc = tml__job_params_canonical(spec->kind, spec->params, params, sizeof(params), err);
  if (rc)
    return rc;
  const char *source = spec->source && *spec->source ? spec->source : "cli";

  struct tml_buf syms;
  tml_buf_init(&syms, 4096);
  for (size_t i = 0; i < spec->nsymbols; i++) {
    char norm[64];
    if (!spec->symbols[i] || tml_symbol_normalize(spec->symbols[i], norm, sizeof(norm)) != 0 ||
        !tml_symbol_valid(norm)) {
      rc = tml_error_set(err, TML_EINVAL, "symbol '%s' is not a valid symbol (like BTCUSDT or BTC/USDT)",
                         spec->symbols[i] ? spec->symbols[i] : "");
      goto out;
    }
    bool check = q->opts.check_symbols && spec->kind != TML_JOB_FETCH && spec->kind != TML_JOB_NOOP;
    if (check && !symbol_stored(q, norm, interval_ms)) {
      rc = tml_error_set(err, TML_ENOENT,
                         "symbol %s has no %s candles in '%s' (import or fetch them first: trademl data import ...)",
                         norm, interval, q->path);
      goto out;
    }
    if (tml_buf_printf(&syms, "%s%s", i ? "," : "", norm)) {
      rc = tml_error_set(err, TML_ETOOBIG, "symbol list too long");
      goto out;
    }
  }
  struct tml_buf key;
  tml_buf_init(&key, 4096);
  dedup_key(spec->kind, tml_buf_str(&syms), interval, strategy, mode, spec->days, params, &key);
  int max_attempts = spec->max_attempts ? spec->max_attempts : q->opts.default_max_attempts;
  int timeout_s = spec->timeout_s ? spec->timeout_s : q->opts.default_timeout_s;

  rc = tml__jobs_begin(q, "submitting a job", err);
  if (rc)
    goto out_key;
  sqlite3_stmt *st = NULL;
  rc = tml__jobs_prepare(q, "SELECT id FROM jobs WHERE dedup_key = ?1 AND status IN ('queued', 'running')", &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_text(st, 1, tml_buf_str(&key), -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    *id = sqlite3_column_int64(st, 0);
    if (existed)
      *existed = true;
  } else if (s != SQLITE_DONE) {
    rc = tml__jobs_db_error(q, s, "looking for an identical job", err);
  }
  sqlite3_finalize(st);
  if (rc)
    goto rollback;
  if (*id == 0) {
    rc = tml__jobs_prepare(q,
                           "INSERT INTO jobs(kind, symbols, interval, strategy, mode, days, params, source, priority,"
                           " dedup_key, max_attempts, timeout_s, created_ms)"
                           " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                           &st, err);
    if (rc)
      goto rollback;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tml_buf_str(&syms), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, interval, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, strategy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, mode, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 6, spec->days);
    sqlite3_bind_text(st, 7, params, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, source, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, spec->priority);
    sqlite3_bind_text(st, 10, tml_buf_str(&key), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, max_attempts);
    sqlite3_bind_int(st, 12, timeout_s);
    sqlite3_bind_int64(st, 13, tml_now_ms());
    s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE) {
      rc = tml__jobs_db_error(q, s, "inserting a job", err);
      goto rollback;
    }
    *id = sqlite3_last_insert_rowid(q->db);
  }
  rc = tml__jobs_commit(q, "submitting a job", err);
  goto out_key;
rollback:
  tml__jobs_rollback(q);
out_key:
  tml_buf_release(&key);
out:
  tml_buf_release(&syms);
  if (rc)
    *id = 0;
  return rc;
}

/* ---- list, counts, attempts ---- */

int tml_jobs_list(struct tml_jobs *q, const struct tml_job_filter *f, struct tml_job **out, size_t *n,
                  size_t *total, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  if (total)
    *total = 0;
  struct tml_job_filter def;
  if (!f) {
    tml_job_filter_init(&def);
    f = &def;
  }
  size_t limit = f->limit ? TML_MIN(f->limit, (size_t)1000) : 100;
  struct tml_buf where;
  tml_buf_init(&where, 4096);
  tml_buf_puts(&where, " WHERE 1");
  if (f->status_mask) {
    tml_buf_puts(&where, " AND status IN (''");
    for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
      if (f->status_mask & (1u << i))
        tml_buf_printf(&where, ", '%s'", status_names[i]);
    tml_buf_puts(&where, ")");
  }
  if (f->kind >= 0 && f->kind < TML_JOB_KIND_COUNT)
    tml_buf_printf(&where, " AND kind = '%s'", kind_names[f->kind]);
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
    rc = tml__jobs_prepare(q, tml_buf_str(&sql), &st, err);
    if (rc)
      goto done;
    if (f->symbol)
      sqlite3_bind_text(st, 1, f->symbol, -1, SQLITE_STATIC);
    if (f->source)
      sqlite3_bind_text(st, 2, f->source, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
      *total = (size_t)sqlite3_column_int64(st, 0);
    else
      rc = tml__jobs_db_error(q, s, "counting jobs", err);
    sqlite3_finalize(st);
    st = NULL;
    if (rc)
      goto done;
  }
  tml_buf_reset(&sql);
  tml_buf_printf(&sql, "SELECT " JOB_COLUMNS " FROM jobs%s ORDER BY id %s LIMIT %zu OFFSET %zu", tml_buf_str(&where),
                 f->oldest_first ? "ASC" : "DESC", limit, f->offset);
  rc = tml__jobs_prepare(q, tml_buf_str(&sql), &st, err);
  if (rc)
    goto done;
  if (f->symbol)
    sqlite3_bind_text(st, 1, f->symbol, -1, SQLITE_STATIC);
  if (f->source)
    sqlite3_bind_text(st, 2, f->source, -1, SQLITE_STATIC);
  struct tml_job *rows = NULL;
  size_t cap = 0;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      struct tml_job *nr = realloc(rows, ncap * sizeof(*nr));
      if (!nr) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory listing jobs");
        break;
      }
      rows = nr;
      cap = ncap;
    }
    read_job(st, &rows[(*n)++]);
  }
  if (!rc && s != SQLITE_DONE)
    rc = tml__jobs_db_error(q, s, "listing jobs", err);
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

int tml_jobs_counts(struct tml_jobs *q, size_t counts[TML_JOB_STATUS_COUNT], struct tml_error *err) {
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    counts[i] = 0;
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q, "SELECT status, count(*) FROM jobs GROUP BY status", &st, err);
  if (rc)
    return rc;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    counts[status_from_text(t ? t : "")] += (size_t)sqlite3_column_int64(st, 1);
  }
  if (s != SQLITE_DONE)
    rc = tml__jobs_db_error(q, s, "counting jobs", err);
  sqlite3_finalize(st);
  return rc;
}

int tml_jobs_attempts(struct tml_jobs *q, int64_t id, struct tml_job_attempt **out, size_t *n,
                      struct tml_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = NULL;
  int rc = tml__jobs_prepare(q,
                             "SELECT attempt, worker_id, started_ms, finished_ms, outcome, exit_code, error"
                             " FROM job_attempts WHERE job_id = ?1 ORDER BY attempt",
                             &st, err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  struct tml_job_attempt *rows = NULL;
  size_t cap = 0;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      struct tml_job_attempt *nr = realloc(rows, ncap * sizeof(*nr));
      if (!nr) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory reading attempts");
        break;
      }
      rows = nr;
      cap = ncap;
    }
    struct tml_job_attempt *a = &rows[(*n)++];
    memset(a, 0, sizeof(*a));
    a->attempt = sqlite3_column_int(st, 0);
    col_text(st, 1, a->worker_id, sizeof(a->worker_id));
    a->started_ms = sqlite3_column_int64(st, 2);
    a->finished_ms = sqlite3_column_int64(st, 3);
    char tmp[32];
    col_text(st, 4, tmp, sizeof(tmp));
    a->outcome = (enum tml_job_status)status_from_text(tmp);
    a->exit_code = sqlite3_column_int(st, 5);
    col_text(st, 6, a->error, sizeof(a->error));
  }
  if (!rc && s != SQLITE_DONE)
    rc = tml__jobs_db_error(q, s, "reading attempts", err);
  sqlite3_finalize(st);
  if (rc) {
    free(rows);
    *n = 0;
  } else {
    *out = rows;
  }
  return rc;
}

/* ---- cancel, purge ---- */

int tml_jobs_cancel(struct tml_jobs *q, int64_t id, enum tml_job_status *status_after, struct tml_error *err) {
  int rc = tml__jobs_begin(q, "cancelling a job", err);
  if (rc)
    return rc;
  struct tml_job j;
  rc = get_locked(q, id, &j, err);
  if (rc)
    goto rollback;
  const char *sql = NULL;
  if (j.status == TML_JOB_QUEUED)
    sql = "UPDATE jobs SET status = 'cancelled', finished_ms = ?2, error = 'cancelled while queued',"
          " cancel_requested = 1 WHERE id = ?1";
  else if (j.status == TML_JOB_RUNNING)
    sql = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1 AND ?2 = ?2";
  else {
    rc = tml_error_set(err, TML_ECONFLICT, "job %" PRId64 " already %s; nothing to cancel", id,
                       status_names[j.status]);
    goto rollback;
  }
  sqlite3_stmt *st = NULL;
  rc = tml__jobs_prepare(q, sql, &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, tml_now_ms());
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  if (s != SQLITE_DONE) {
    rc = tml__jobs_db_error(q, s, "cancelling a job", err);
    goto rollback;
  }
  rc = tml__jobs_commit(q, "cancelling a job", err);
  if (!rc && status_after)
    *status_after = j.status == TML_JOB_QUEUED ? TML_JOB_CANCELLED : TML_JOB_RUNNING;
  return rc;
rollback:
  tml__jobs_rollback(q);
  return rc;
}

int tml_jobs_purge(struct tml_jobs *q, int64_t before_ms, size_t *deleted, struct tml_error *err) {
  if (deleted)
    *deleted = 0;
  int rc = tml__jobs_begin(q, "purging jobs", err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  const char *fin = "status NOT IN ('queued', 'running') AND finished_ms < ?1";
  char sql[256];
  snprintf(sql, sizeof(sql), "DELETE FROM job_attempts WHERE job_id IN (SELECT id FROM jobs WHERE %s)", fin);
  rc = tml__jobs_prepare(q, sql, &st, err);
  if (rc)
    goto rollback;
  sqlite3_bind_int64(st, 1, before_ms);
  int s = sqlite3_step(st);
  sqlite3_finalize(st);
  snprintf(sql, sizeof(sql), "DELETE FROM jobs WHERE %s", fin);
  if (s == SQLITE_DONE && !(rc = tml__jobs_prepare(q, sql, &st, err))) {
    sqlite3_bind_int64(st, 1, before_ms);
    s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (deleted && s == SQLITE_DONE)
      *deleted = (size_t)sqlite3_changes(q->db);
  }
  if (rc)
    goto rollback;
  if (s != SQLITE_DONE) {
    rc = tml__jobs_db_error(q, s, "purging jobs", err);
    goto rollback;
  }
  return tml__jobs_commit(q, "purging jobs", err);
rollback:
  tml__jobs_rollback(q);
  return rc;
}

/* ---- JSON ---- */

int tml_job_to_json(const struct tml_job *j, struct tml_buf *out) {
  char created[32] = "", started[32] = "", finished[32] = "";
  if (j->created_ms)
    tml_time_format(j->created_ms, created, sizeof(created));
  if (j->started_ms)
    tml_time_format(j->started_ms, started, sizeof(started));
  if (j->finished_ms)
    tml_time_format(j->finished_ms, finished, sizeof(finished));
  int rc = tml_buf_printf(out, "{\"id\":%" PRId64 ",\"kind\":\"%s\",\"status\":\"%s\",\"symbols\":[", j->id,
                          tml_job_kind_name(j->kind), tml_job_status_name(j->status));
  const char *p = j->symbols;
  bool first = true;
  while (*p) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    char sym[64];
    snprintf(sym, sizeof(sym), "%.*s", (int)TML_MIN(len, sizeof(sym) - 1), p);
    rc |= tml_buf_puts(out, first ? "" : ",");
    rc |= tml_buf_json_str(out, sym);
    first = false;
    p += len + (c ? 1 : 0);
  }
  rc |= tml_buf_puts(out, "],\"interval\":");
  rc |= tml_buf_json_str(out, j->interval);
  rc |= tml_buf_puts(out, ",\"strategy\":");
  rc |= tml_buf_json_str(out, j->strategy);
  rc |= tml_buf_puts(out, ",\"mode\":");
  if (j->mode[0])
    rc |= tml_buf_json_str(out, j->mode);
  else
    rc |= tml_buf_puts(out, "null");
  rc |= tml_buf_printf(out, ",\"days\":%.10g,\"params\":%s,\"source\":", j->days, j->params[0] ? j->params : "{}");
  rc |= tml_buf_json_str(out, j->source);
  rc |= tml_buf_printf(out, ",\"priority\":%d,\"progress\":%.1f,\"stage\":", j->priority, j->progress);
  rc |= tml_buf_json_str(out, j->stage);
  rc |= tml_buf_printf(out, ",\"attempts\":%d,\"max_attempts\":%d,\"timeout_s\":%d,\"cancel_requested\":%s,\"error\":",
                       j->attempts, j->max_attempts, j->timeout_s, j->cancel_requested ? "true" : "false");
  if (j->error[0])
    rc |= tml_buf_json_str(out, j->error);
  else
    rc |= tml_buf_puts(out, "null");
  rc |= tml_buf_puts(out, ",\"worker_id\":");
  if (j->worker_id[0])
    rc |= tml_buf_json_str(out, j->worker_id);
  else
    rc |= tml_buf_puts(out, "null");
  rc |= tml_buf_printf(out, ",\"lease_expires_ms\":%" PRId64 ",\"not_before_ms\":%" PRId64, j->lease_expires_ms,
                       j->not_before_ms);
  const char *names[3] = {"created_at", "started_at", "finished_at"};
  const char *vals[3] = {created, started, finished};
  for (int i = 0; i < 3; i++) {
    rc |= tml_buf_printf(out, ",\"%s\":", names[i]);
    if (vals[i][0])
      rc |= tml_buf_json_str(out, vals[i]);
    else
      rc |= tml_buf_puts(out, "null");
  }
  rc |= tml_buf_printf(out, ",\"elapsed_s\":%.3f,\"result\":%s}", j->elapsed_s, j->result[0] ? j->result : "{}");
  return rc ? TML_ETOOBIG : 0;
}

int tml_job_log_path(const char *logs_dir, int64_t id, char *out, size_t outsz, struct tml_error *err) {
  int n = snprintf(out, outsz, "%s/jobs/%" PRId64 ".log", logs_dir, id);
  if (n < 0 || (size_t)n >= outsz)
    return tml_error_set(err, TML_EINVAL, "log path for job %" PRId64 " under '%.200s' is too long", id, logs_dir);
  return 0;
}
