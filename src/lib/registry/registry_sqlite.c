/* The registry's SQLite backend. Tables live in the candle store's database file next to `candles`:
 * `models` (one row per model set) and `model_symbols` (which symbols a set covers, for lookups by
 * symbol of multi-symbol sets). A partial unique index allows one active row per (strategy, key,
 * interval). WAL mode, busy timeout TML_REGISTRY_BUSY_TIMEOUT_MS; every statement is prepared once
 * per connection and bound, never built from input. Writers use BEGIN IMMEDIATE so a registration's
 * read of the active row and its write cannot interleave with another process's. */
#include "registry/registry_backend.h"
#include "util/common.h"
#include "util/db.h"

#include <sqlite3.h>

#include "trademl/error.h"
#include "trademl/mem.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS models ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT," /* AUTOINCREMENT: ids are never reused */
    " strategy TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " symbols TEXT NOT NULL,"
    " nsymbols INTEGER NOT NULL,"
    " interval_ms INTEGER NOT NULL,"
    " version TEXT NOT NULL,"
    " path TEXT NOT NULL UNIQUE,"
    " active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),"
    " status_reason TEXT NOT NULL DEFAULT '',"
    " metric TEXT NOT NULL DEFAULT '',"
    " score REAL," /* NULL = no value */
    " has_report INTEGER NOT NULL DEFAULT 0,"
    " gates_passed INTEGER NOT NULL DEFAULT 0,"
    " data_from_ms INTEGER NOT NULL DEFAULT 0,"
    " data_to_ms INTEGER NOT NULL DEFAULT 0,"
    " feature_version INTEGER NOT NULL DEFAULT 0,"
    " feature_checksum TEXT NOT NULL DEFAULT '',"
    " input_hash TEXT NOT NULL DEFAULT '',"
    " job_id INTEGER NOT NULL DEFAULT 0,"
    " created_ms INTEGER NOT NULL,"
    " metrics_json TEXT NOT NULL DEFAULT '{}'"
    ");"
    "CREATE UNIQUE INDEX IF NOT EXISTS models_one_active ON models(strategy, key, interval_ms) WHERE active = 1;"
    "CREATE INDEX IF NOT EXISTS models_group ON models(strategy, key, interval_ms, created_ms);"
    "CREATE TABLE IF NOT EXISTS model_symbols ("
    " model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
    " symbol TEXT NOT NULL,"
    " PRIMARY KEY (model_id, symbol)"
    ") WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS model_symbols_symbol ON model_symbols(symbol, model_id);"
    /* The tables existing users query (docs/postgresql.md), as views. ml_training_jobs reads the job
     * table, which the job queue creates (a view may name a table that does not exist yet). */
    "CREATE VIEW IF NOT EXISTS ml_model_registry AS SELECT id AS model_id, strategy AS strategy_type,"
    " symbols AS symbol, strftime('%Y-%m-%dT%H:%M:%fZ', created_ms / 1000.0, 'unixepoch') AS created_at,"
    " active AS is_active, interval_ms, version, path, status_reason, metric, score, gates_passed, job_id"
    " FROM models;"
    "CREATE VIEW IF NOT EXISTS ml_training_metrics AS SELECT m.id AS model_id, m.job_id,"
    " m.strategy AS strategy_type, m.symbols AS symbol, m.interval_ms,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', m.created_ms / 1000.0, 'unixepoch') AS created_at, h.key AS head,"
    " x.key AS metric_name, x.value AS metric_value"
    " FROM models m, json_each(CASE WHEN json_valid(m.metrics_json) THEN m.metrics_json ELSE '{}' END) h,"
    " json_each(CASE WHEN h.type = 'object' THEN h.value ELSE '{}' END) x"
    " WHERE x.type IN ('integer', 'real');"
    "CREATE VIEW IF NOT EXISTS ml_training_jobs AS SELECT id AS job_id, strategy AS strategy_type,"
    " symbols AS symbol, status,"
    " strftime('%Y-%m-%dT%H:%M:%fZ', created_ms / 1000.0, 'unixepoch') AS created_at,"
    " CASE WHEN finished_ms > 0 THEN strftime('%Y-%m-%dT%H:%M:%fZ', finished_ms / 1000.0, 'unixepoch') END"
    " AS completed_at, error AS error_message, kind, interval, attempts"
    " FROM jobs;";

#define COLS                                                                                            \
  "id, strategy, key, symbols, nsymbols, interval_ms, version, path, active, status_reason, metric, score," \
  " has_report, gates_passed, data_from_ms, data_to_ms, feature_version, feature_checksum, input_hash,"   \
  " job_id, created_ms, metrics_json"

enum stmt_id {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_INSERT,
  ST_INSERT_SYMBOL,
  ST_GET,
  ST_FIND_PATH,
  ST_ACTIVE_GROUP,
  ST_ACTIVE_SYMBOL,
  ST_LIST,
  ST_SET_ACTIVE,
  ST_DELETE,
  ST_JOB_FENCE,
  ST_COUNT
};

static const char *const STMT_SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT] = "INSERT INTO models(strategy, key, symbols, nsymbols, interval_ms, version, path, active,"
                  " status_reason, metric, score, has_report, gates_passed, data_from_ms, data_to_ms,"
                  " feature_version, feature_checksum, input_hash, job_id, created_ms, metrics_json)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
                  " ?20, ?21)",
    [ST_INSERT_SYMBOL] = "INSERT OR IGNORE INTO model_symbols(model_id, symbol) VALUES (?1, ?2)",
    [ST_GET] = "SELECT " COLS " FROM models WHERE id = ?1",
    [ST_FIND_PATH] = "SELECT id FROM models WHERE path = ?1",
    [ST_ACTIVE_GROUP] = "SELECT " COLS " FROM models WHERE strategy = ?1 AND key = ?2 AND interval_ms = ?3"
                        " AND active = 1",
    [ST_ACTIVE_SYMBOL] = "SELECT " COLS " FROM models WHERE active = 1 AND interval_ms = ?3"
                         " AND (?1 IS NULL OR strategy = ?1)"
                         " AND id IN (SELECT model_id FROM model_symbols WHERE symbol = ?2)"
                         " ORDER BY (key = ?2) DESC, created_ms DESC, id DESC LIMIT 1",
    [ST_LIST] = "SELECT " COLS " FROM models WHERE (?1 IS NULL OR strategy = ?1)"
                " AND (?2 IS NULL OR id IN (SELECT model_id FROM model_symbols WHERE symbol = ?2))"
                " AND (?3 = 0 OR interval_ms = ?3) AND (?4 = 0 OR active = 1)"
                " ORDER BY created_ms DESC, id DESC",
    [ST_SET_ACTIVE] = "UPDATE models SET active = ?2, status_reason = ?3 WHERE id = ?1",
    [ST_DELETE] = "DELETE FROM models WHERE id = ?1 AND active = 0",
    [ST_JOB_FENCE] = NULL, /* prepared on first use: the jobs table belongs to the job queue */
};

struct sqlite_db {
  sqlite3 *db;
  char path[1024];
  sqlite3_stmt *st[ST_COUNT];
};

static int db_error(struct sqlite_db *s, int rc, const char *what, struct tml_error *err) {
  return tml__db_error(s->db, s->path, "model registry", TML_REGISTRY_BUSY_TIMEOUT_MS, rc, what, err);
}

static void sq_close(void *p) {
  struct sqlite_db *s = p;
  if (!s)
    return;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  sqlite3_close(s->db);
  free(s);
}

static int sq_open(const char *location, void **out, struct tml_error *err) {
  *out = NULL;
  struct sqlite_db *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening model registry '%s'", location);
  snprintf(s->path, sizeof(s->path), "%s", location);
  int ret = 0;
  if ((ret = tml__db_open(location, "model registry", TML_REGISTRY_BUSY_TIMEOUT_MS, &s->db, err)))
    goto fail;
  int rc = sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    ret = db_error(s, rc, "creating the registry tables", err);
    goto fail;
  }
  for (int i = 0; i < ST_COUNT; i++) {
    if (!STMT_SQL[i])
      continue;
    rc = sqlite3_prepare_v3(s->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
    if (rc != SQLITE_OK) {
      ret = db_error(s, rc, "preparing a statement", err);
      goto fail;
    }
  }
  *out = s;
  return 0;
fail:
  sq_close(s);
  return ret;
}

static int exec_one(struct sqlite_db *s, enum stmt_id id, const char *what, struct tml_error *err) {
  sqlite3_stmt *st = s->st[id];
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : db_error(s, rc, what, err);
}

static int sq_begin(void *p, struct tml_error *err) { return exec_one(p, ST_BEGIN, "starting a transaction", err); }
static int sq_commit(void *p, struct tml_error *err) { return exec_one(p, ST_COMMIT, "committing", err); }
static void sq_rollback(void *p) {
  struct sqlite_db *s = p;
  if (!sqlite3_get_autocommit(s->db))
    exec_one(s, ST_ROLLBACK, "rolling back", NULL);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v) {
  if (v)
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

static void copy_col(sqlite3_stmt *st, int col, char *out, size_t outsz) {
  const unsigned char *t = sqlite3_column_text(st, col);
  snprintf(out, outsz, "%s", t ? (const char *)t : "");
}

static char *dup_col(sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
  char *s = malloc(n + 1);
  if (!s)
    return NULL;
  if (n)
    memcpy(s, t, n);
  s[n] = '\0';
  return s;
}

/* Fills r from the current result row (column order of COLS). */
static int read_row(sqlite3_stmt *st, struct tml_model_row *r) {
  tml_model_row_release(r);
  tml_model_row_init(r);
  r->id = sqlite3_column_int64(st, 0);
  copy_col(st, 1, r->strategy, sizeof(r->strategy));
  copy_col(st, 2, r->key, sizeof(r->key));
  r->symbols = dup_col(st, 3);
  r->nsymbols = (size_t)sqlite3_column_int64(st, 4);
  r->interval_ms = sqlite3_column_int64(st, 5);
  copy_col(st, 6, r->version, sizeof(r->version));
  copy_col(st, 7, r->path, sizeof(r->path));
  r->active = sqlite3_column_int(st, 8) != 0;
  copy_col(st, 9, r->status_reason, sizeof(r->status_reason));
  copy_col(st, 10, r->metric, sizeof(r->metric));
  r->score = sqlite3_column_type(st, 11) == SQLITE_NULL ? (double)NAN : sqlite3_column_double(st, 11);
  r->has_report = sqlite3_column_int(st, 12) != 0;
  r->gates_passed = sqlite3_column_int(st, 13) != 0;
  r->data_from_ms = sqlite3_column_int64(st, 14);
  r->data_to_ms = sqlite3_column_int64(st, 15);
  r->feature_version = sqlite3_column_int(st, 16);
  copy_col(st, 17, r->feature_checksum, sizeof(r->feature_checksum));
  copy_col(st, 18, r->input_hash, sizeof(r->input_hash));
  r->job_id = sqlite3_column_int64(st, 19);
  r->created_ms = sqlite3_column_int64(st, 20);
  r->metrics_json = dup_col(st, 21);
  return r->symbols && r->metrics_json ? 0 : TML_ENOMEM;
}

/* Steps a bound single-row query into *row; TML_ENOENT when it yields nothing. Resets st. */
static int fetch_one(struct sqlite_db *s, sqlite3_stmt *st, struct tml_model_row *row, const char *what,
                     struct tml_error *err) {
  int rc = sqlite3_step(st);
  int out = 0;
  if (rc == SQLITE_ROW) {
    if (read_row(st, row))
      out = tml_error_set(err, TML_ENOMEM, "out of memory reading the model registry");
  } else if (rc == SQLITE_DONE) {
    out = TML_ENOENT; /* the caller words the message */
  } else {
    out = db_error(s, rc, what, err);
  }
  sqlite3_reset(st);
  return out;
}

static int sq_insert(void *p, const struct tml_model_row *r, int64_t *id, struct tml_error *err) {
  struct sqlite_db *s = p;
  sqlite3_stmt *st = s->st[ST_INSERT];
  sqlite3_bind_text(st, 1, r->strategy, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, r->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, r->symbols ? r->symbols : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)r->nsymbols);
  sqlite3_bind_int64(st, 5, r->interval_ms);
  sqlite3_bind_text(st, 6, r->version, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, r->path, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 8, r->active);
  sqlite3_bind_text(st, 9, r->status_reason, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 10, r->metric, -1, SQLITE_STATIC);
  if (isnan(r->score))
    sqlite3_bind_null(st, 11);
  else
    sqlite3_bind_double(st, 11, r->score);
  sqlite3_bind_int(st, 12, r->has_report);
  sqlite3_bind_int(st, 13, r->gates_passed);
  sqlite3_bind_int64(st, 14, r->data_from_ms);
  sqlite3_bind_int64(st, 15, r->data_to_ms);
  sqlite3_bind_int(st, 16, r->feature_version);
  sqlite3_bind_text(st, 17, r->feature_checksum, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 18, r->input_hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 19, r->job_id);
  sqlite3_bind_int64(st, 20, r->created_ms);
  sqlite3_bind_text(st, 21, r->metrics_json ? r->metrics_json : "{}", -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
      return tml_error_set(err, r->active ? TML_ECONFLICT : TML_EEXIST,
                           "model registry '%s': '%s' %s", s->path, r->path,
                           r->active ? "cannot be active: another row of its group is active"
                                     : "is already registered");
    return db_error(s, rc, "inserting a model row", err);
  }
  *id = sqlite3_last_insert_rowid(s->db);
  /* One model_symbols row per symbol of the comma-separated list. */
  const char *sym = r->symbols ? r->symbols : "";
  while (*sym) {
    const char *end = strchr(sym, ',');
    size_t n = end ? (size_t)(end - sym) : strlen(sym);
    sqlite3_stmt *ss = s->st[ST_INSERT_SYMBOL];
    sqlite3_bind_int64(ss, 1, *id);
    sqlite3_bind_text(ss, 2, sym, (int)n, SQLITE_STATIC);
    rc = sqlite3_step(ss);
    sqlite3_reset(ss);
    if (rc != SQLITE_DONE)
      return db_error(s, rc, "inserting a model's symbols", err);
    sym += n;
    if (*sym == ',')
      sym++;
  }
  return 0;
}

static int sq_get(void *p, int64_t id, struct tml_model_row *row, struct tml_error *err) {
  struct sqlite_db *s = p;
  sqlite3_stmt *st = s->st[ST_GET];
  sqlite3_bind_int64(st, 1, id);
  int rc = fetch_one(s, st, row, "reading a model row", err);
  if (rc == TML_ENOENT)
    return tml_error_set(err, TML_ENOENT, "no model with id %" PRId64 " in the registry ('trademl models list --all' "
                                          "shows the ids)", id);
  return rc;
}

static int sq_find_path(void *p, const char *path, int64_t *id, struct tml_error *err) {
  struct sqlite_db *s = p;
  sqlite3_stmt *st = s->st[ST_FIND_PATH];
  sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_error(s, rc, "looking up a model folder", err);
  return 0;
}

static int sq_active_in_group(void *p, const char *strategy, const char *key, int64_t interval_ms,
                              struct tml_model_row *row, struct tml_error *err) {
  struct sqlite_db *s = p;
  sqlite3_stmt *st = s->st[ST_ACTIVE_GROUP];
  sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, interval_ms);
  return fetch_one(s, st, row, "reading the active model", err);
}

static int sq_active_for_symbol(void *p, const char *strategy, const char *symbol, int64_t interval_ms,
                                struct tml_model_row *row, struct tml_error *err) {
  struct sqlite_db *s = p;
  sqlite3_stmt *st = s->st[ST_ACTIVE_SYMBOL];
  bind_text_or_null(st, 1, strategy);
  sqlite3_bind_text(st, 2, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, interval_ms);
  return fetch_one(s, st, row, "reading the active model", err);
}

static int sq_list(void *p, const struct tml_registry_filter *f, struct tml_model_row **rows, size_t *n,
                   struct tml_error *err) {
  struct sqlite_db *s = p;
  *rows = NULL;
  *n = 0;
  sqlite3_stmt *st = s->st[ST_LIST];
  bind_text_or_null(st, 1, f ? f->strategy : NULL);
  bind_text_or_null(st, 2, f ? f->symbol : NULL);
  sqlite3_bind_int64(st, 3, f ? f->interval_ms : 0);
  sqlite3_bind_int(st, 4, f && f->active_only);
  size_t cap = 0;
  struct tml_model_row *out = NULL;
  int rc, ret = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct tml_model_row *grown = tml_grow(out, &cap, *n, sizeof(*out), 16);
    if (!grown) {
      ret = tml_error_set(err, TML_ENOMEM, "out of memory listing models");
      break;
    }
    out = grown;
    tml_model_row_init(&out[*n]);
    if (read_row(st, &out[*n])) {
      (*n)++;
      ret = tml_error_set(err, TML_ENOMEM, "out of memory listing models");
      break;
    }
    (*n)++;
  }
  if (!ret && rc != SQLITE_DONE)
    ret = db_error(s, rc, "listing models", err);
  sqlite3_reset(st);
  if (ret) {
    tml_model_rows_free(out, *n);
    *n = 0;
    return ret;
  }
  *rows = out;
  return 0;
}

static int sq_set_active(void *p, int64_t id, bool active, const char *reason, struct tml_error *err) {
  struct sqlite_db *s = p;
  sqlite3_stmt *st = s->st[ST_SET_ACTIVE];
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int(st, 2, active);
  sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return tml_error_set(err, TML_ECONFLICT,
                         "model registry '%s': model %" PRId64 " cannot be active: another row of its group is active",
                         s->path, id);
  return rc == SQLITE_DONE ? 0 : db_error(s, rc, "updating the active flag", err);
}

static int sq_remove_inactive(void *p, int64_t id, bool *deleted, struct tml_error *err) {
  struct sqlite_db *s = p;
  sqlite3_stmt *st = s->st[ST_DELETE];
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return db_error(s, rc, "deleting a model row", err);
  *deleted = sqlite3_changes(s->db) > 0;
  return 0;
}

/* Inside BEGIN IMMEDIATE: the write lock keeps every other writer of the file (the job queue's claim,
 * heartbeat, reaper and end of attempt) out until this registration commits or rolls back. */
static int sq_job_fence(void *p, int64_t job_id, int64_t fence, struct tml_error *err) {
  struct sqlite_db *s = p;
  if (!s->st[ST_JOB_FENCE]) {
    int rc = sqlite3_prepare_v3(s->db, "SELECT status, fence, worker_id FROM jobs WHERE id = ?1",
                                -1, SQLITE_PREPARE_PERSISTENT, &s->st[ST_JOB_FENCE], NULL);
    if (rc != SQLITE_OK)
      return db_error(s, rc, "reading the job's fencing token (is this the job queue's database?)", err);
  }
  sqlite3_stmt *st = s->st[ST_JOB_FENCE];
  sqlite3_bind_int64(st, 1, job_id);
  int rc = sqlite3_step(st);
  int ret;
  if (rc == SQLITE_ROW) {
    char status[32], worker[160];
    copy_col(st, 0, status, sizeof(status));
    copy_col(st, 2, worker, sizeof(worker));
    ret = tml__registry_fence_verdict(job_id, fence, status, sqlite3_column_int64(st, 1), worker, err);
  } else if (rc == SQLITE_DONE) {
    ret = tml__registry_fence_verdict(job_id, fence, NULL, 0, NULL, err);
  } else {
    ret = db_error(s, rc, "reading the job's fencing token", err);
  }
  sqlite3_reset(st);
  return ret;
}

const struct tml__registry_backend tml__registry_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .insert = sq_insert,
    .get = sq_get,
    .find_path = sq_find_path,
    .active_in_group = sq_active_in_group,
    .active_for_symbol = sq_active_for_symbol,
    .list = sq_list,
    .set_active = sq_set_active,
    .remove_inactive = sq_remove_inactive,
    .job_fence = sq_job_fence,
};
