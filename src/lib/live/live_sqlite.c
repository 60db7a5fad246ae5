/* The live tables' SQLite backend (contract in live_backend.h): live_predictions, live_symbols and
 * live_loop in the candle store's file, on the store's own connection (tml_store_db), created on first
 * use. The per-candle statements (put, resolve, the per-symbol readers) are prepared as they run and
 * create the tables only when SQLite says one is missing, so the loop runs one statement each, not the
 * schema script every time. */
#include "live/live_backend.h"
#include "util/common.h"

#include <sqlite3.h>

#include "live/live_internal.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/mem.h"
#include "trademl/store.h"

static int db_fail(sqlite3 *db, const char *doing, struct tml_error *err) {
  int ext = sqlite3_extended_errcode(db);
  if ((ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED)
    return tml_error_set(err, TML_EBUSY, "live tables: database is locked by another process while %s", doing);
  return tml_error_set(err, TML_EDB, "live tables: %s: %s", doing, sqlite3_errmsg(db));
}

/* Creates the live tables when missing (idempotent). */
static int schema(sqlite3 *db, struct tml_error *err) {
  static const char sql[] =
      "CREATE TABLE IF NOT EXISTS live_predictions("
      " id INTEGER PRIMARY KEY, strategy TEXT NOT NULL, symbol TEXT NOT NULL, interval_ms INTEGER NOT NULL,"
      " candle_ms INTEGER NOT NULL, model_id INTEGER NOT NULL, model_version TEXT NOT NULL,"
      " v0 REAL, v1 REAL, v2 REAL, v3 REAL, v4 REAL, v5 REAL, v6 REAL, v7 REAL, v8 REAL, v9 REAL, v10 REAL, v11 REAL,"
      " stale INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, resolved_ms INTEGER,"
      " o0 REAL, o1 REAL, o2 REAL, o3 REAL, o4 REAL, action TEXT,"
      " UNIQUE(strategy, symbol, interval_ms, candle_ms));"
      "CREATE INDEX IF NOT EXISTS live_predictions_unresolved ON live_predictions(symbol, interval_ms, candle_ms)"
      " WHERE resolved_ms IS NULL;"
      /* (both partial indexes are named with INDEXED BY in their queries: without statistics SQLite
       * prefers the UNIQUE index and walks every prediction of the symbol, on every candle) */
      /* the rolling live metrics: the newest resolved predictions of one model, without walking the
       * symbol's whole history when that model has few (just after a reload) */
      "CREATE INDEX IF NOT EXISTS live_predictions_resolved ON live_predictions(strategy, symbol, interval_ms,"
      " model_id, candle_ms) WHERE resolved_ms IS NOT NULL;"
      "CREATE TABLE IF NOT EXISTS live_symbols("
      " strategy TEXT NOT NULL, symbol TEXT NOT NULL, interval_ms INTEGER NOT NULL, state TEXT NOT NULL,"
      " reason TEXT NOT NULL DEFAULT '', since_ms INTEGER NOT NULL DEFAULT 0, next_check_ms INTEGER NOT NULL DEFAULT 0,"
      " model_id INTEGER NOT NULL DEFAULT 0, model_version TEXT NOT NULL DEFAULT '',"
      " model_created_ms INTEGER NOT NULL DEFAULT 0, job_id INTEGER NOT NULL DEFAULT 0,"
      " last_candle_ms INTEGER NOT NULL DEFAULT -1, last_predicted_ms INTEGER NOT NULL DEFAULT -1,"
      " last_prediction_at_ms INTEGER NOT NULL DEFAULT 0, predictions INTEGER NOT NULL DEFAULT 0,"
      " quality TEXT NOT NULL DEFAULT '{}', updated_ms INTEGER NOT NULL DEFAULT 0,"
      " PRIMARY KEY(strategy, symbol, interval_ms));"
      "CREATE TABLE IF NOT EXISTS live_loop("
      " strategy TEXT NOT NULL, interval_ms INTEGER NOT NULL, exchange TEXT NOT NULL, category TEXT NOT NULL,"
      " universe TEXT NOT NULL, running INTEGER NOT NULL, pid INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
      " counters TEXT NOT NULL, PRIMARY KEY(strategy, interval_ms));";
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    int rc = tml_error_set(err, (sqlite3_extended_errcode(db) & 0xff) == SQLITE_BUSY ? TML_EBUSY : TML_EDB,
                           "creating the live tables: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return rc;
  }
  /* A store made before the action block was kept: add its column (NULL = no action). */
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT action FROM live_predictions LIMIT 0", -1, &st, NULL) == SQLITE_OK) {
    sqlite3_finalize(st);
    return 0;
  }
  if (sqlite3_exec(db, "ALTER TABLE live_predictions ADD COLUMN action TEXT", NULL, NULL, &msg) != SQLITE_OK) {
    int rc = tml_error_set(err, (sqlite3_extended_errcode(db) & 0xff) == SQLITE_BUSY ? TML_EBUSY : TML_EDB,
                           "adding the action column to live_predictions: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return rc;
  }
  return 0;
}

/* The backend's state is the store's connection itself (borrowed). */
static int sq_open(struct tml_store *store, void **out, struct tml_error *err) {
  sqlite3 *db = tml_store_db(store);
  *out = NULL;
  if (!db)
    return tml_error_set(err, TML_EINVAL, "live tables: the store is not a SQLite file");
  int rc = schema(db, err);
  if (!rc)
    *out = db;
  return rc;
}

static void sq_close(void *db) { (void)db; /* the store closes its connection */ }

/* Prepares sql on the live tables; creates them (and their indexes) first only when the statement names
 * one that is missing, so the per-candle writes and reads of the loop run one statement each, not the
 * schema script every time. */
static int prepare_live(sqlite3 *db, const char *sql, sqlite3_stmt **st, const char *doing, struct tml_error *err) {
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
    return 0;
  const char *msg = sqlite3_errmsg(db);
  if (!strstr(msg, "no such table") && !strstr(msg, "no such index") && !strstr(msg, "no column named action") &&
      !strstr(msg, "no such column: action"))
    return db_fail(db, doing, err);
  int rc = schema(db, err);
  if (rc)
    return rc;
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
    return db_fail(db, doing, err);
  return 0;
}

/* ---- predictions ---------------------------------------------------------------------------------- */

static int sq_put(void *p_, struct tml_live_prediction *p, bool *inserted, struct tml_error *err) {
  sqlite3 *db = p_;
  int rc = 0;
  sqlite3_stmt *st = NULL;
  static const char sql[] =
      "INSERT OR IGNORE INTO live_predictions(strategy, symbol, interval_ms, candle_ms, model_id, model_version,"
      " v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, stale, created_ms, action)"
      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)";
  if ((rc = prepare_live(db, sql, &st, "storing a prediction", err)))
    return rc;
  sqlite3_bind_text(st, 1, p->strategy, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, p->symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, p->interval_ms);
  sqlite3_bind_int64(st, 4, p->candle_ms);
  sqlite3_bind_int64(st, 5, p->model_id);
  sqlite3_bind_text(st, 6, p->model_version, -1, SQLITE_STATIC);
  for (int k = 0; k < TML__LIVE_NVALUES; k++)
    sqlite3_bind_double(st, 7 + k, tml__live_value_get(&p->p, k));
  sqlite3_bind_int(st, 19, p->stale ? 1 : 0);
  sqlite3_bind_int64(st, 20, p->created_ms);
  if (p->action[0])
    sqlite3_bind_text(st, 21, p->action, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 21);
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = db_fail(db, "storing a prediction", err);
  else if (sqlite3_changes(db) > 0) {
    p->id = sqlite3_last_insert_rowid(db);
    *inserted = true;
  }
  sqlite3_finalize(st);
  return rc;
}

static int sq_resolve(void *p_, int64_t id, const float outcome[TML_HEAD_COUNT], int64_t resolved_ms,
                      struct tml_error *err) {
  sqlite3 *db = p_;
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db,
                        "UPDATE live_predictions SET resolved_ms = ?2, o0 = ?3, o1 = ?4, o2 = ?5, o3 = ?6, o4 = ?7"
                        " WHERE id = ?1",
                        &st, "storing an outcome", err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, resolved_ms);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    if (isnan(outcome[h]))
      sqlite3_bind_null(st, 3 + h);
    else
      sqlite3_bind_double(st, 3 + h, (double)outcome[h]);
  }
  if (sqlite3_step(st) != SQLITE_DONE)
    rc = db_fail(db, "storing an outcome", err);
  else if (sqlite3_changes(db) == 0)
    rc = tml_error_set(err, TML_ENOENT, "no live prediction with id %" PRId64, id);
  sqlite3_finalize(st);
  return rc;
}

#define PRED_COLUMNS                                                                                            \
  "id, strategy, symbol, interval_ms, candle_ms, model_id, model_version, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9," \
  " v10, v11, stale, created_ms, resolved_ms, o0, o1, o2, o3, o4, action"

static void copy_text(char *dst, size_t sz, const unsigned char *src) {
  snprintf(dst, sz, "%s", src ? (const char *)src : "");
}

static void read_row(sqlite3_stmt *st, struct tml_live_prediction *p) {
  memset(p, 0, sizeof(*p));
  p->id = sqlite3_column_int64(st, 0);
  copy_text(p->strategy, sizeof(p->strategy), sqlite3_column_text(st, 1));
  copy_text(p->symbol, sizeof(p->symbol), sqlite3_column_text(st, 2));
  p->interval_ms = sqlite3_column_int64(st, 3);
  p->candle_ms = sqlite3_column_int64(st, 4);
  p->model_id = sqlite3_column_int64(st, 5);
  copy_text(p->model_version, sizeof(p->model_version), sqlite3_column_text(st, 6));
  for (int k = 0; k < TML__LIVE_NVALUES; k++)
    tml__live_value_set(&p->p, k, (float)sqlite3_column_double(st, 7 + k)); /* stored from a float: exact */
  p->stale = sqlite3_column_int(st, 19) != 0;
  p->created_ms = sqlite3_column_int64(st, 20);
  p->resolved = sqlite3_column_type(st, 21) != SQLITE_NULL;
  p->resolved_ms = p->resolved ? sqlite3_column_int64(st, 21) : 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    p->outcome[h] = sqlite3_column_type(st, 22 + h) == SQLITE_NULL ? NAN : (float)sqlite3_column_double(st, 22 + h);
  copy_text(p->action, sizeof(p->action), sqlite3_column_text(st, 27));
  tml__live_row_finish(p);
}

/* Runs a prepared select of PRED_COLUMNS and collects its rows. Finalizes st. */
static int collect(sqlite3 *db, sqlite3_stmt *st, struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  size_t cap = 0, len = 0;
  struct tml_live_prediction *v = NULL;
  int rc = 0, s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    void *nv = tml_grow(v, &cap, len, sizeof(*v), 64);
    if (!nv) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing live predictions");
      break;
    }
    v = nv;
    read_row(st, &v[len++]);
  }
  if (!rc && s != SQLITE_DONE)
    rc = db_fail(db, "listing live predictions", err);
  sqlite3_finalize(st);
  if (rc) {
    free(v);
    return rc;
  }
  if (len == 0) {
    free(v);
    v = NULL;
  }
  *out = v;
  *n = len;
  return 0;
}

static int sq_list(void *p_, const struct tml_live_query *q, struct tml_live_prediction **out, size_t *n,
                   struct tml_error *err) {
  sqlite3 *db = p_;
  /* Newest `limit` rows, returned oldest first. */
  static const char sql[] =
      "SELECT * FROM (SELECT " PRED_COLUMNS " FROM live_predictions"
      " WHERE (?1 IS NULL OR strategy = ?1) AND (?2 IS NULL OR symbol = ?2) AND (?3 = 0 OR interval_ms = ?3)"
      " AND candle_ms >= ?4 AND candle_ms <= ?5 AND (?6 = 0 OR resolved_ms IS NOT NULL)"
      " ORDER BY candle_ms DESC, symbol DESC LIMIT ?7) ORDER BY candle_ms, symbol";
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db, sql, &st, "listing live predictions", err);
  if (rc)
    return rc;
  if (q->strategy)
    sqlite3_bind_text(st, 1, q->strategy, -1, SQLITE_STATIC);
  if (q->symbol)
    sqlite3_bind_text(st, 2, q->symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, q->interval_ms);
  sqlite3_bind_int64(st, 4, q->since_ms);
  sqlite3_bind_int64(st, 5, q->until_ms);
  sqlite3_bind_int(st, 6, q->resolved_only ? 1 : 0);
  sqlite3_bind_int64(st, 7, q->limit ? (int64_t)q->limit : -1);
  return collect(db, st, out, n, err);
}

static int sq_latest(void *p_, const char *strategy, int64_t interval_ms, struct tml_live_prediction **out, size_t *n,
                     struct tml_error *err) {
  sqlite3 *db = p_;
  static const char sql[] =
      "SELECT " PRED_COLUMNS " FROM live_predictions p WHERE (?1 IS NULL OR strategy = ?1) AND interval_ms = ?2"
      " AND candle_ms = (SELECT MAX(candle_ms) FROM live_predictions q WHERE q.symbol = p.symbol"
      " AND q.strategy = p.strategy AND q.interval_ms = p.interval_ms) ORDER BY symbol, strategy";
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db, sql, &st, "reading the latest live predictions", err);
  if (rc)
    return rc;
  if (strategy)
    sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  return collect(db, st, out, n, err);
}

static int sq_after(void *p_, int64_t after_id, size_t limit, struct tml_live_prediction **out, size_t *n,
                    struct tml_error *err) {
  sqlite3 *db = p_;
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db, "SELECT " PRED_COLUMNS " FROM live_predictions WHERE id > ?1 ORDER BY id LIMIT ?2", &st,
                        "reading new live predictions", err);
  if (rc)
    return rc;
  sqlite3_bind_int64(st, 1, after_id);
  sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
  return collect(db, st, out, n, err);
}

static int sq_max_id(void *p_, int64_t *id, struct tml_error *err) {
  sqlite3 *db = p_;
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db, "SELECT MAX(id) FROM live_predictions", &st, "reading the newest live prediction id", err);
  if (rc)
    return rc;
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    *id = sqlite3_column_int64(st, 0);
  else if (s != SQLITE_ROW && s != SQLITE_DONE)
    rc = db_fail(db, "reading the newest live prediction id", err);
  sqlite3_finalize(st);
  return rc;
}

static int sq_last_predicted(void *p_, const char *strategy, const char *symbol, int64_t interval_ms,
                             int64_t *candle_ms, struct tml_error *err) {
  sqlite3 *db = p_;
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db,
                        "SELECT MAX(candle_ms) FROM live_predictions WHERE strategy = ?1 AND symbol = ?2"
                        " AND interval_ms = ?3",
                        &st, "reading the last live prediction", err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, interval_ms);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    *candle_ms = sqlite3_column_int64(st, 0);
  else if (s != SQLITE_ROW && s != SQLITE_DONE)
    rc = db_fail(db, "reading the last live prediction", err);
  sqlite3_finalize(st);
  return rc;
}

/* Runs sql (parameters: ?1 strategy, ?2 symbol, ?3 interval_ms, ?4 `key`, ?5 limit or -1) and collects
 * its prediction rows: the shape of both per-symbol readers below. */
static int symbol_query(sqlite3 *db, const char *sql, const char *what, const char *strategy, const char *symbol,
                        int64_t interval_ms, int64_t key, size_t limit, struct tml_live_prediction **out, size_t *n,
                        struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db, sql, &st, what, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, interval_ms);
  sqlite3_bind_int64(st, 4, key);
  sqlite3_bind_int64(st, 5, limit ? (int64_t)limit : -1);
  return collect(db, st, out, n, err);
}

static int sq_unresolved(void *p_, const char *strategy, const char *symbol, int64_t interval_ms,
                         int64_t max_candle_ms, size_t limit, struct tml_live_prediction **out, size_t *n,
                         struct tml_error *err) {
  return symbol_query(p_,
                      "SELECT " PRED_COLUMNS " FROM live_predictions INDEXED BY live_predictions_unresolved"
                      " WHERE strategy = ?1 AND symbol = ?2 AND interval_ms = ?3 AND candle_ms <= ?4"
                      " AND resolved_ms IS NULL ORDER BY candle_ms LIMIT ?5",
                      "reading unresolved predictions", strategy, symbol, interval_ms, max_candle_ms, limit, out, n,
                      err);
}

static int sq_recent_resolved(void *p_, const char *strategy, const char *symbol, int64_t interval_ms,
                              int64_t model_id, size_t limit, struct tml_live_prediction **out, size_t *n,
                              struct tml_error *err) {
  return symbol_query(p_,
                      "SELECT * FROM (SELECT " PRED_COLUMNS " FROM live_predictions"
                      " INDEXED BY live_predictions_resolved WHERE strategy = ?1 AND symbol = ?2"
                      " AND interval_ms = ?3 AND model_id = ?4 AND resolved_ms IS NOT NULL"
                      " ORDER BY candle_ms DESC LIMIT ?5) ORDER BY candle_ms",
                      "reading resolved predictions", strategy, symbol, interval_ms, model_id, limit, out, n, err);
}

/* ---- status --------------------------------------------------------------------------------------- */

static int sq_status_save(void *p_, const struct tml_live_status *s, struct tml_error *err) {
  sqlite3 *db = p_;
  int rc = 0;
  struct tml_buf b;
  tml_buf_init(&b, 0);
  sqlite3_stmt *st = NULL;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, "saving the live status", err);
  if (tml__live_counters_json(&b, &s->counters)) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory writing the live loop's counters");
    goto out;
  }
  if ((rc = prepare_live(db,
                          "INSERT INTO live_loop(strategy, interval_ms, exchange, category, universe, running, pid,"
                          " updated_ms, counters) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                          " ON CONFLICT(strategy, interval_ms) DO UPDATE SET exchange = ?3, category = ?4, universe = ?5,"
                          " running = ?6, pid = ?7, updated_ms = ?8, counters = ?9",
                          &st, "saving the live status", err)))
    goto out;
  sqlite3_bind_text(st, 1, s->strategy, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, s->interval_ms);
  sqlite3_bind_text(st, 3, s->exchange, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, s->category, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, s->universe, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 6, s->running ? 1 : 0);
  sqlite3_bind_int(st, 7, s->pid);
  sqlite3_bind_int64(st, 8, s->updated_ms);
  sqlite3_bind_text(st, 9, tml_buf_str(&b), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) != SQLITE_DONE) {
    rc = db_fail(db, "saving the live status", err);
    goto out;
  }
  sqlite3_finalize(st);
  st = NULL;
  if ((rc = prepare_live(db,
                          "INSERT INTO live_symbols(strategy, symbol, interval_ms, state, reason, since_ms, next_check_ms,"
                          " model_id, model_version, model_created_ms, job_id, last_candle_ms, last_predicted_ms,"
                          " last_prediction_at_ms, predictions, quality, updated_ms)"
                          " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
                          " ON CONFLICT(strategy, symbol, interval_ms) DO UPDATE SET state = ?4, reason = ?5,"
                          " since_ms = ?6, next_check_ms = ?7, model_id = ?8, model_version = ?9, model_created_ms = ?10,"
                          " job_id = ?11, last_candle_ms = ?12, last_predicted_ms = ?13, last_prediction_at_ms = ?14,"
                          " predictions = ?15, quality = ?16, updated_ms = ?17",
                          &st, "saving the live symbol states", err)))
    goto out;
  for (size_t i = 0; i < s->nsymbols && !rc; i++) {
    const struct tml_live_symbol *y = &s->symbols[i];
    tml_buf_reset(&b);
    if (tml__live_quality_json(&b, y->quality)) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory writing the live quality of %s", y->symbol);
      break;
    }
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, s->strategy, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, y->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, s->interval_ms);
    sqlite3_bind_text(st, 4, tml_live_state_name(y->state), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, y->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, y->since_ms);
    sqlite3_bind_int64(st, 7, y->next_check_ms);
    sqlite3_bind_int64(st, 8, y->model_id);
    sqlite3_bind_text(st, 9, y->model_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, y->model_created_ms);
    sqlite3_bind_int64(st, 11, y->job_id);
    sqlite3_bind_int64(st, 12, y->last_candle_ms);
    sqlite3_bind_int64(st, 13, y->last_predicted_ms);
    sqlite3_bind_int64(st, 14, y->last_prediction_at_ms);
    sqlite3_bind_int64(st, 15, (int64_t)y->predictions);
    sqlite3_bind_text(st, 16, tml_buf_str(&b), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 17, s->updated_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = db_fail(db, "saving the live symbol states", err);
  }
out:
  sqlite3_finalize(st);
  /* A failed COMMIT (SQLITE_BUSY, I/O) leaves the transaction open: roll it back and say so. */
  if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    rc = db_fail(db, "committing the live status", err);
  if (rc && !sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  tml_buf_release(&b);
  return rc;
}

static int sq_symbols_load(void *p_, const char *strategy, int64_t interval_ms, struct tml_live_symbol **out,
                           size_t *n, struct tml_error *err) {
  sqlite3 *db = p_;
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db,
                        "SELECT symbol, state, reason, since_ms, next_check_ms, model_id, model_version,"
                        " model_created_ms, job_id, last_candle_ms, last_predicted_ms, last_prediction_at_ms,"
                        " predictions, quality FROM live_symbols WHERE strategy = ?1 AND interval_ms = ?2"
                        " ORDER BY symbol",
                        &st, "reading the live symbol states", err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  size_t cap = 0, len = 0;
  struct tml_live_symbol *v = NULL;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    void *nv = tml_grow(v, &cap, len, sizeof(*v), 32);
    if (!nv) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory reading the live symbol states");
      break;
    }
    v = nv;
    struct tml_live_symbol *y = &v[len++];
    memset(y, 0, sizeof(*y));
    copy_text(y->symbol, sizeof(y->symbol), sqlite3_column_text(st, 0));
    y->state = tml__live_state_or_blocked((const char *)sqlite3_column_text(st, 1));
    copy_text(y->reason, sizeof(y->reason), sqlite3_column_text(st, 2));
    y->since_ms = sqlite3_column_int64(st, 3);
    y->next_check_ms = sqlite3_column_int64(st, 4);
    y->model_id = sqlite3_column_int64(st, 5);
    copy_text(y->model_version, sizeof(y->model_version), sqlite3_column_text(st, 6));
    y->model_created_ms = sqlite3_column_int64(st, 7);
    y->job_id = sqlite3_column_int64(st, 8);
    y->last_candle_ms = sqlite3_column_int64(st, 9);
    y->last_predicted_ms = sqlite3_column_int64(st, 10);
    y->last_prediction_at_ms = sqlite3_column_int64(st, 11);
    y->predictions = (size_t)sqlite3_column_int64(st, 12);
    tml__live_quality_parse((const char *)sqlite3_column_text(st, 13), y->quality);
  }
  if (!rc && s != SQLITE_DONE)
    rc = db_fail(db, "reading the live symbol states", err);
  sqlite3_finalize(st);
  if (rc) {
    free(v);
    return rc;
  }
  *out = len ? v : NULL;
  if (!len)
    free(v);
  *n = len;
  return 0;
}

static int sq_loop_load(void *p_, const char *strategy, int64_t interval_ms, struct tml_live_status *out, char *host,
                        size_t hostsz, bool *found, struct tml_error *err) {
  sqlite3 *db = p_;
  if (hostsz)
    host[0] = '\0'; /* one file, one host */
  sqlite3_stmt *st = NULL;
  int rc = prepare_live(db,
                        "SELECT strategy, exchange, category, universe, running, pid, updated_ms, counters FROM live_loop"
                        " WHERE (?1 IS NULL OR strategy = ?1) AND interval_ms = ?2 ORDER BY updated_ms DESC LIMIT 1",
                        &st, "reading the live status", err);
  if (rc)
    return rc;
  if (strategy)
    sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    *found = true;
    copy_text(out->strategy, sizeof(out->strategy), sqlite3_column_text(st, 0));
    copy_text(out->exchange, sizeof(out->exchange), sqlite3_column_text(st, 1));
    copy_text(out->category, sizeof(out->category), sqlite3_column_text(st, 2));
    copy_text(out->universe, sizeof(out->universe), sqlite3_column_text(st, 3));
    out->running = sqlite3_column_int(st, 4) != 0;
    out->pid = sqlite3_column_int(st, 5);
    out->updated_ms = sqlite3_column_int64(st, 6);
    tml__live_counters_parse((const char *)sqlite3_column_text(st, 7), &out->counters);
  } else if (s != SQLITE_DONE) {
    rc = db_fail(db, "reading the live status", err);
  }
  sqlite3_finalize(st);
  return rc;
}

const struct tml__live_backend tml__live_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .put = sq_put,
    .resolve = sq_resolve,
    .list = sq_list,
    .latest = sq_latest,
    .after = sq_after,
    .max_id = sq_max_id,
    .last_predicted = sq_last_predicted,
    .unresolved = sq_unresolved,
    .recent_resolved = sq_recent_resolved,
    .status_save = sq_status_save,
    .symbols_load = sq_symbols_load,
    .loop_load = sq_loop_load,
};
