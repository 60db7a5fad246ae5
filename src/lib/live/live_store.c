/* The live tables in the candle store's database: live_predictions (one row per strategy, symbol,
 * interval and candle: UNIQUE, so a prediction is never stored twice, across restarts too),
 * live_symbols (the state of every symbol of a loop) and live_loop (the loop's counters), so
 * `trademl live status` and the daemon read what a loop in another process is doing. */
#include "trademl/live.h"
#include "util/common.h"

#include <jansson.h>
#include <signal.h>
#include <sys/types.h>

#include "live/live_internal.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const char *const state_names[TML_LIVE_STATE_COUNT] = {"active",     "blocked", "training", "stale",
                                                              "stale_data", "drift",   "dropped"};

const char *tml_live_state_name(enum tml_live_state s) {
  return (unsigned)s < TML_LIVE_STATE_COUNT ? state_names[s] : "?";
}

int tml_live_state_parse(const char *s, enum tml_live_state *out, struct tml_error *err) {
  for (int i = 0; i < TML_LIVE_STATE_COUNT; i++)
    if (strcmp(s, state_names[i]) == 0) {
      *out = (enum tml_live_state)i;
      return 0;
    }
  return tml_error_set(err, TML_EINVAL,
                       "unknown live state '%s': use active, blocked, training, stale, stale_data, drift or dropped", s);
}

static int db_fail(sqlite3 *db, const char *doing, struct tml_error *err) {
  int ext = sqlite3_extended_errcode(db);
  if ((ext & 0xff) == SQLITE_BUSY || (ext & 0xff) == SQLITE_LOCKED)
    return tml_error_set(err, TML_EBUSY, "live tables: database is locked by another process while %s", doing);
  return tml_error_set(err, TML_EDB, "live tables: %s: %s", doing, sqlite3_errmsg(db));
}

int tml__live_schema(sqlite3 *db, struct tml_error *err) {
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

/* ---- predictions ---------------------------------------------------------------------------------- */

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
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
    return db_fail(db, doing, err);
  return 0;
}

/* Column k of the 12 stored values <-> head/class. */
static void value_slot(int k, int *head, int *cls) {
  int base = 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    int w = tml_head_nclass((enum tml_head)h);
    if (w == 0)
      w = 1;
    if (k < base + w) {
      *head = h;
      *cls = k - base;
      return;
    }
    base += w;
  }
  *head = -1;
  *cls = 0;
}

static double value_get(const struct tml_prediction *p, int k) {
  int h, c;
  value_slot(k, &h, &c);
  return tml_head_nclass((enum tml_head)h) ? (double)p->proba[h][c] : (double)p->value[h];
}

static void value_set(struct tml_prediction *p, int k, float v) {
  int h, c;
  value_slot(k, &h, &c);
  if (tml_head_nclass((enum tml_head)h))
    p->proba[h][c] = v;
  else
    p->value[h] = v;
}

/* argmax, first on ties: the same rule as tml_model_stream_push. */
static void fill_classes(struct tml_prediction *p) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    int k = tml_head_nclass((enum tml_head)h), best = 0;
    for (int j = 1; j < k; j++)
      if (p->proba[h][j] > p->proba[h][best])
        best = j;
    p->cls[h] = best;
  }
}

void tml_live_query_init(struct tml_live_query *q) {
  memset(q, 0, sizeof(*q));
  q->since_ms = INT64_MIN;
  q->until_ms = INT64_MAX;
}

/* p->action from p->p.decision: the action block as `predict` prints it, numbers lossless. */
static int action_fill(struct tml_live_prediction *p, struct tml_error *err) {
  const struct tml_decision *d = &p->p.decision;
  p->action[0] = '\0';
  if (d->nactions <= 0 || d->action < 0 || d->action >= d->nactions)
    return 0;
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_buf_puts(&b, "{\"name\":");
  tml_buf_json_str(&b, d->names[d->action]);
  tml_buf_puts(&b, ",\"probabilities\":{");
  for (int j = 0; j < d->nactions; j++) {
    tml_buf_puts(&b, j ? "," : "");
    tml_buf_json_str(&b, d->names[j]);
    tml_buf_putc(&b, ':');
    tml_buf_json_num(&b, (double)d->probs[j]);
  }
  tml_buf_puts(&b, "},\"value\":");
  tml_buf_json_num(&b, (double)d->value);
  int rc = tml_buf_putc(&b, '}');
  if (!rc && b.len >= sizeof(p->action))
    rc = tml_error_set(err, TML_EINVAL, "the action block of %s is %zu bytes; at most %zu are stored", p->symbol,
                       b.len, sizeof(p->action) - 1);
  else if (rc)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory");
  else
    memcpy(p->action, b.ptr, b.len + 1);
  tml_buf_release(&b);
  return rc;
}

int tml_live_predictions_put(struct tml_store *store, struct tml_live_prediction *p, bool *inserted,
                             struct tml_error *err) {
  sqlite3 *db = tml_store_db(store);
  if (inserted)
    *inserted = false;
  int rc = 0;
  sqlite3_stmt *st = NULL;
  static const char sql[] =
      "INSERT OR IGNORE INTO live_predictions(strategy, symbol, interval_ms, candle_ms, model_id, model_version,"
      " v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, stale, created_ms, action)"
      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)";
  if (p->p.decision.nactions > 0 && (rc = action_fill(p, err)))
    return rc;
  if ((rc = prepare_live(db, sql, &st, "storing a prediction", err)))
    return rc;
  sqlite3_bind_text(st, 1, p->strategy, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, p->symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, p->interval_ms);
  sqlite3_bind_int64(st, 4, p->candle_ms);
  sqlite3_bind_int64(st, 5, p->model_id);
  sqlite3_bind_text(st, 6, p->model_version, -1, SQLITE_STATIC);
  for (int k = 0; k < TML__LIVE_NVALUES; k++)
    sqlite3_bind_double(st, 7 + k, value_get(&p->p, k));
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
    if (inserted)
      *inserted = true;
  }
  sqlite3_finalize(st);
  return rc;
}

int tml_live_predictions_resolve(struct tml_store *store, int64_t id, const float outcome[TML_HEAD_COUNT],
                                 int64_t resolved_ms, struct tml_error *err) {
  sqlite3 *db = tml_store_db(store);
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
  p->p.candle_ms = p->candle_ms;
  p->model_id = sqlite3_column_int64(st, 5);
  copy_text(p->model_version, sizeof(p->model_version), sqlite3_column_text(st, 6));
  for (int k = 0; k < TML__LIVE_NVALUES; k++)
    value_set(&p->p, k, (float)sqlite3_column_double(st, 7 + k)); /* stored from a float: exact */
  fill_classes(&p->p);
  p->stale = sqlite3_column_int(st, 19) != 0;
  p->created_ms = sqlite3_column_int64(st, 20);
  p->resolved = sqlite3_column_type(st, 21) != SQLITE_NULL;
  p->resolved_ms = p->resolved ? sqlite3_column_int64(st, 21) : 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    p->outcome[h] = sqlite3_column_type(st, 22 + h) == SQLITE_NULL ? NAN : (float)sqlite3_column_double(st, 22 + h);
  copy_text(p->action, sizeof(p->action), sqlite3_column_text(st, 27));
}

/* Runs a prepared select of PRED_COLUMNS and collects its rows. Finalizes st. */
static int collect(sqlite3 *db, sqlite3_stmt *st, struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  size_t cap = 0, len = 0;
  struct tml_live_prediction *v = NULL;
  int rc = 0, s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (len == cap) {
      size_t nc = cap ? cap * 2 : 64;
      void *nv = realloc(v, nc * sizeof(*v));
      if (!nv) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory listing live predictions");
        break;
      }
      v = nv;
      cap = nc;
    }
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

int tml_live_predictions_list(struct tml_store *store, const struct tml_live_query *q,
                              struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3 *db = tml_store_db(store);
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  /* Newest `limit` rows, returned oldest first. */
  static const char sql[] =
      "SELECT * FROM (SELECT " PRED_COLUMNS " FROM live_predictions"
      " WHERE (?1 IS NULL OR strategy = ?1) AND (?2 IS NULL OR symbol = ?2) AND (?3 = 0 OR interval_ms = ?3)"
      " AND candle_ms >= ?4 AND candle_ms <= ?5 AND (?6 = 0 OR resolved_ms IS NOT NULL)"
      " ORDER BY candle_ms DESC, symbol DESC LIMIT ?7) ORDER BY candle_ms, symbol";
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "listing live predictions", err);
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

int tml_live_predictions_latest(struct tml_store *store, const char *strategy, int64_t interval_ms,
                                struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3 *db = tml_store_db(store);
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  static const char sql[] =
      "SELECT " PRED_COLUMNS " FROM live_predictions p WHERE (?1 IS NULL OR strategy = ?1) AND interval_ms = ?2"
      " AND candle_ms = (SELECT MAX(candle_ms) FROM live_predictions q WHERE q.symbol = p.symbol"
      " AND q.strategy = p.strategy AND q.interval_ms = p.interval_ms) ORDER BY symbol, strategy";
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "reading the latest live predictions", err);
  if (strategy)
    sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  return collect(db, st, out, n, err);
}

int tml_live_predictions_after(struct tml_store *store, int64_t after_id, size_t limit,
                               struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3 *db = tml_store_db(store);
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT " PRED_COLUMNS " FROM live_predictions WHERE id > ?1 ORDER BY id LIMIT ?2", -1,
                         &st, NULL) != SQLITE_OK)
    return db_fail(db, "reading new live predictions", err);
  sqlite3_bind_int64(st, 1, after_id);
  sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
  return collect(db, st, out, n, err);
}

int tml_live_predictions_max_id(struct tml_store *store, int64_t *id, struct tml_error *err) {
  *id = 0;
  sqlite3 *db = tml_store_db(store);
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT MAX(id) FROM live_predictions", -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "reading the newest live prediction id", err);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    *id = sqlite3_column_int64(st, 0);
  else if (s != SQLITE_ROW && s != SQLITE_DONE)
    rc = db_fail(db, "reading the newest live prediction id", err);
  sqlite3_finalize(st);
  return rc;
}

int tml__live_last_predicted(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                             int64_t *candle_ms, struct tml_error *err) {
  *candle_ms = -1;
  sqlite3 *db = tml_store_db(store);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT MAX(candle_ms) FROM live_predictions WHERE strategy = ?1 AND symbol = ?2"
                         " AND interval_ms = ?3",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "reading the last live prediction", err);
  sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, interval_ms);
  int rc = 0, s = sqlite3_step(st);
  if (s == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    *candle_ms = sqlite3_column_int64(st, 0);
  else if (s != SQLITE_ROW && s != SQLITE_DONE)
    rc = db_fail(db, "reading the last live prediction", err);
  sqlite3_finalize(st);
  return rc;
}

/* Runs sql (parameters: ?1 strategy, ?2 symbol, ?3 interval_ms, ?4 `key`, ?5 limit or -1) and collects
 * its prediction rows: the shape of both per-symbol readers below. */
static int symbol_query(struct tml_store *store, const char *sql, const char *what, const char *strategy,
                        const char *symbol, int64_t interval_ms, int64_t key, size_t limit,
                        struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3 *db = tml_store_db(store);
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

int tml__live_unresolved(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                         int64_t max_candle_ms, size_t limit, struct tml_live_prediction **out, size_t *n,
                         struct tml_error *err) {
  return symbol_query(store,
                      "SELECT " PRED_COLUMNS " FROM live_predictions INDEXED BY live_predictions_unresolved"
                      " WHERE strategy = ?1 AND symbol = ?2 AND interval_ms = ?3 AND candle_ms <= ?4"
                      " AND resolved_ms IS NULL ORDER BY candle_ms LIMIT ?5",
                      "reading unresolved predictions", strategy, symbol, interval_ms, max_candle_ms, limit, out, n,
                      err);
}

int tml__live_recent_resolved(struct tml_store *store, const char *strategy, const char *symbol, int64_t interval_ms,
                              int64_t model_id, size_t limit, struct tml_live_prediction **out, size_t *n,
                              struct tml_error *err) {
  return symbol_query(store,
                      "SELECT * FROM (SELECT " PRED_COLUMNS " FROM live_predictions"
                      " INDEXED BY live_predictions_resolved WHERE strategy = ?1 AND symbol = ?2"
                      " AND interval_ms = ?3 AND model_id = ?4 AND resolved_ms IS NOT NULL"
                      " ORDER BY candle_ms DESC LIMIT ?5) ORDER BY candle_ms",
                      "reading resolved predictions", strategy, symbol, interval_ms, model_id, limit, out, n, err);
}

/* ---- formatting ------------------------------------------------------------------------------------ */

static void put_time(struct tml_buf *b, int64_t ms) {
  char t[32];
  tml_time_format(ms, t, sizeof(t));
  tml_buf_printf(b, "\"%s\"", t);
}

static void put_outcome(struct tml_buf *b, enum tml_head h, float v) {
  int k = tml_head_nclass(h);
  if (isnan(v))
    tml_buf_puts(b, "null");
  else if (k)
    tml_buf_json_str(b, tml_head_class_name(h, (int)v) ? tml_head_class_name(h, (int)v) : "?");
  else
    tml_buf_json_num(b, (double)v);
}

int tml_live_prediction_to_json(const struct tml_live_prediction *p, struct tml_buf *b) {
  const char *iv = tml_interval_name(p->interval_ms);
  tml_buf_puts(b, "{\"symbol\":");
  tml_buf_json_str(b, p->symbol);
  tml_buf_printf(b, ",\"interval\":\"%s\",\"strategy\":", iv ? iv : "?");
  tml_buf_json_str(b, p->strategy);
  tml_buf_puts(b, ",\"candle_open_time\":");
  put_time(b, p->candle_ms);
  tml_buf_puts(b, ",\"candle_close_time\":");
  put_time(b, p->candle_ms + p->interval_ms);
  tml_buf_printf(b, ",\"model\":{\"id\":%" PRId64 ",\"version\":", p->model_id);
  tml_buf_json_str(b, p->model_version);
  tml_buf_printf(b, "},\"stale\":%s,\"created\":", p->stale ? "true" : "false");
  put_time(b, p->created_ms);
  tml_buf_puts(b, ",\"predictions\":{");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    tml_buf_printf(b, "%s\"%s\":{", h ? "," : "", tml_head_name(head));
    if (k == 0) {
      tml_buf_puts(b, "\"value\":");
      tml_buf_json_num(b, (double)p->p.value[h]);
      tml_buf_putc(b, '}');
      continue;
    }
    tml_buf_printf(b, "\"class\":\"%s\",\"probabilities\":{", tml_head_class_name(head, p->p.cls[h]));
    for (int j = 0; j < k; j++) {
      tml_buf_printf(b, "%s\"%s\":", j ? "," : "", tml_head_class_name(head, j));
      tml_buf_json_num(b, (double)p->p.proba[h][j]);
    }
    tml_buf_puts(b, "}}");
  }
  tml_buf_puts(b, "}");
  if (p->action[0]) {
    tml_buf_puts(b, ",\"action\":");
    tml_buf_puts(b, p->action);
  }
  tml_buf_puts(b, ",\"outcome\":");
  if (!p->resolved)
    return tml_buf_puts(b, "null}");
  tml_buf_puts(b, "{");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    tml_buf_printf(b, "%s\"%s\":", h ? "," : "", tml_head_name((enum tml_head)h));
    put_outcome(b, (enum tml_head)h, p->outcome[h]);
  }
  tml_buf_puts(b, ",\"resolved\":");
  put_time(b, p->resolved_ms);
  return tml_buf_puts(b, "}}");
}

int tml_live_predictions_csv_header(struct tml_buf *b) {
  tml_buf_puts(b, "symbol,interval,strategy,candle_open_time,model_id,model_version,stale,created");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    tml_buf_printf(b, ",%s", tml_head_name(head));
    for (int j = 0; j < tml_head_nclass(head); j++)
      tml_buf_printf(b, ",p_%s_%s", tml_head_name(head), tml_head_class_name(head, j));
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    tml_buf_printf(b, ",outcome_%s", tml_head_name((enum tml_head)h));
  return tml_buf_puts(b, "\n");
}

int tml_live_prediction_to_csv(const struct tml_live_prediction *p, struct tml_buf *b) {
  char t[32], c[32];
  tml_time_format(p->candle_ms, t, sizeof(t));
  tml_time_format(p->created_ms, c, sizeof(c));
  const char *iv = tml_interval_name(p->interval_ms);
  tml_buf_printf(b, "%s,%s,%s,%s,%" PRId64 ",%s,%d,%s", p->symbol, iv ? iv : "?", p->strategy, t, p->model_id,
                 p->model_version, p->stale ? 1 : 0, c);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    tml_buf_putc(b, ',');
    if (k == 0) {
      tml_buf_json_num(b, (double)p->p.value[h]);
      continue;
    }
    tml_buf_puts(b, tml_head_class_name(head, p->p.cls[h]));
    for (int j = 0; j < k; j++) {
      tml_buf_putc(b, ',');
      tml_buf_json_num(b, (double)p->p.proba[h][j]);
    }
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    tml_buf_putc(b, ',');
    if (!p->resolved || isnan(p->outcome[h]))
      continue;
    if (tml_head_nclass(head))
      tml_buf_puts(b, tml_head_class_name(head, (int)p->outcome[h]) ? tml_head_class_name(head, (int)p->outcome[h]) : "?");
    else
      tml_buf_json_num(b, (double)p->outcome[h]);
  }
  return tml_buf_puts(b, "\n");
}

/* ---- status --------------------------------------------------------------------------------------- */

void tml_live_status_release(struct tml_live_status *s) {
  if (!s)
    return;
  free(s->symbols);
  s->symbols = NULL;
  s->nsymbols = 0;
}

static void put_num_or_null(struct tml_buf *b, double v) {
  if (isnan(v))
    tml_buf_puts(b, "null");
  else
    tml_buf_json_num(b, v);
}

static void quality_json(struct tml_buf *b, const struct tml_live_head_quality q[TML_HEAD_COUNT]) {
  tml_buf_putc(b, '{');
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    tml_buf_printf(b, "%s\"%s\":{\"n\":%zu,\"accuracy\":", h ? "," : "", tml_head_name((enum tml_head)h), q[h].n);
    put_num_or_null(b, q[h].accuracy);
    tml_buf_puts(b, ",\"logloss\":");
    put_num_or_null(b, q[h].logloss);
    tml_buf_puts(b, ",\"rmse\":");
    put_num_or_null(b, q[h].rmse);
    tml_buf_puts(b, ",\"oos_accuracy\":");
    put_num_or_null(b, q[h].oos_accuracy);
    tml_buf_puts(b, ",\"oos_logloss\":");
    put_num_or_null(b, q[h].oos_logloss);
    tml_buf_puts(b, ",\"oos_rmse\":");
    put_num_or_null(b, q[h].oos_rmse);
    tml_buf_putc(b, '}');
  }
  tml_buf_putc(b, '}');
}

static double jnum(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_number(v))
    return (double)NAN;
  return json_number_value(v);
}

static void quality_parse(const char *text, struct tml_live_head_quality q[TML_HEAD_COUNT]) {
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    memset(&q[h], 0, sizeof(q[h]));
    q[h].accuracy = q[h].logloss = q[h].rmse = NAN;
    q[h].oos_accuracy = q[h].oos_logloss = q[h].oos_rmse = NAN;
  }
  json_t *root = text ? json_loads(text, 0, NULL) : NULL;
  for (int h = 0; root && h < TML_HEAD_COUNT; h++) {
    json_t *o = json_object_get(root, tml_head_name((enum tml_head)h));
    if (!json_is_object(o))
      continue;
    json_t *n = json_object_get(o, "n");
    q[h].n = json_is_integer(n) && json_integer_value(n) > 0 ? (size_t)json_integer_value(n) : 0;
    q[h].accuracy = jnum(o, "accuracy");
    q[h].logloss = jnum(o, "logloss");
    q[h].rmse = jnum(o, "rmse");
    q[h].oos_accuracy = jnum(o, "oos_accuracy");
    q[h].oos_logloss = jnum(o, "oos_logloss");
    q[h].oos_rmse = jnum(o, "oos_rmse");
  }
  json_decref(root);
}

static void counters_json(struct tml_buf *b, const struct tml_live_counters *c) {
  tml_buf_printf(b,
                 "{\"ticks\":%" PRIu64 ",\"predictions\":%" PRIu64 ",\"backfilled\":%" PRIu64 ",\"reloads\":%" PRIu64
                 ",\"loads\":%" PRIu64 ",\"exchange_errors\":%" PRIu64 ",\"coverage_checks\":%" PRIu64
                 ",\"universe_refreshes\":%" PRIu64 ",\"jobs_submitted\":%" PRIu64 ",\"resolved\":%" PRIu64
                 ",\"started_ms\":%" PRId64 ",\"last_tick_ms\":%" PRId64 ",\"last_tick_wall_ms\":%" PRId64
                 ",\"last_candle_ms\":%" PRId64 ",\"tick_lag_s\":",
                 c->ticks, c->predictions, c->backfilled, c->reloads, c->loads, c->exchange_errors, c->coverage_checks,
                 c->universe_refreshes, c->jobs_submitted, c->resolved, c->started_ms, c->last_tick_ms,
                 c->last_tick_wall_ms, c->last_candle_ms);
  tml_buf_json_num(b, c->tick_lag_s);
  tml_buf_putc(b, '}');
}

static uint64_t ju(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static int64_t ji(json_t *o, const char *k, int64_t def) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

static void counters_parse(const char *text, struct tml_live_counters *c) {
  memset(c, 0, sizeof(*c));
  c->last_candle_ms = -1;
  json_t *o = text ? json_loads(text, 0, NULL) : NULL;
  if (!o)
    return;
  c->ticks = ju(o, "ticks");
  c->predictions = ju(o, "predictions");
  c->backfilled = ju(o, "backfilled");
  c->reloads = ju(o, "reloads");
  c->loads = ju(o, "loads");
  c->exchange_errors = ju(o, "exchange_errors");
  c->coverage_checks = ju(o, "coverage_checks");
  c->universe_refreshes = ju(o, "universe_refreshes");
  c->jobs_submitted = ju(o, "jobs_submitted");
  c->resolved = ju(o, "resolved");
  c->started_ms = ji(o, "started_ms", 0);
  c->last_tick_ms = ji(o, "last_tick_ms", 0);
  c->last_tick_wall_ms = ji(o, "last_tick_wall_ms", 0);
  c->last_candle_ms = ji(o, "last_candle_ms", -1);
  c->tick_lag_s = jnum(o, "tick_lag_s");
  if (isnan(c->tick_lag_s))
    c->tick_lag_s = 0;
  json_decref(o);
}

static void put_time_or_null(struct tml_buf *b, int64_t ms) {
  if (ms <= 0)
    tml_buf_puts(b, "null");
  else
    put_time(b, ms);
}

int tml_live_status_to_json(const struct tml_live_status *s, struct tml_buf *b) {
  const char *iv = tml_interval_name(s->interval_ms);
  tml_buf_puts(b, "{\"exchange\":");
  tml_buf_json_str(b, s->exchange);
  tml_buf_puts(b, ",\"category\":");
  tml_buf_json_str(b, s->category);
  tml_buf_printf(b, ",\"interval\":\"%s\",\"strategy\":", iv ? iv : "?");
  tml_buf_json_str(b, s->strategy);
  tml_buf_puts(b, ",\"universe\":");
  tml_buf_json_str(b, s->universe);
  tml_buf_printf(b, ",\"running\":%s,\"updated\":", s->running ? "true" : "false");
  put_time_or_null(b, s->updated_ms);
  tml_buf_printf(b, ",\"pid\":%d,\"counters\":", s->pid);
  counters_json(b, &s->counters);
  tml_buf_puts(b, ",\"states\":{");
  for (int i = 0; i < TML_LIVE_STATE_COUNT; i++)
    tml_buf_printf(b, "%s\"%s\":%zu", i ? "," : "", state_names[i], s->by_state[i]);
  tml_buf_puts(b, "},\"symbols\":[");
  for (size_t i = 0; i < s->nsymbols; i++) {
    const struct tml_live_symbol *y = &s->symbols[i];
    tml_buf_printf(b, "%s{\"symbol\":", i ? "," : "");
    tml_buf_json_str(b, y->symbol);
    tml_buf_printf(b, ",\"state\":\"%s\",\"reason\":", tml_live_state_name(y->state));
    tml_buf_json_str(b, y->reason);
    tml_buf_puts(b, ",\"since\":");
    put_time_or_null(b, y->since_ms);
    tml_buf_puts(b, ",\"next_check\":");
    put_time_or_null(b, y->next_check_ms);
    tml_buf_puts(b, ",\"model\":");
    if (y->model_id > 0) {
      tml_buf_printf(b, "{\"id\":%" PRId64 ",\"version\":", y->model_id);
      tml_buf_json_str(b, y->model_version);
      tml_buf_puts(b, ",\"created\":");
      put_time_or_null(b, y->model_created_ms);
      tml_buf_putc(b, '}');
    } else {
      tml_buf_puts(b, "null");
    }
    tml_buf_puts(b, ",\"last_candle\":");
    put_time_or_null(b, y->last_candle_ms < 0 ? 0 : y->last_candle_ms);
    tml_buf_puts(b, ",\"last_predicted_candle\":");
    put_time_or_null(b, y->last_predicted_ms < 0 ? 0 : y->last_predicted_ms);
    tml_buf_puts(b, ",\"last_prediction\":");
    put_time_or_null(b, y->last_prediction_at_ms);
    tml_buf_printf(b, ",\"job_id\":%" PRId64 ",\"predictions\":%zu,\"quality\":", y->job_id, y->predictions);
    quality_json(b, y->quality);
    tml_buf_putc(b, '}');
  }
  return tml_buf_puts(b, "]}");
}

static void fmt_time(int64_t ms, char *out, size_t sz) {
  if (ms <= 0)
    snprintf(out, sz, "-");
  else
    tml_time_format(ms, out, sz);
}

int tml_live_status_format(const struct tml_live_status *s, int64_t now_ms, struct tml_buf *b) {
  const char *iv = tml_interval_name(s->interval_ms);
  char upd[32];
  fmt_time(s->updated_ms, upd, sizeof(upd));
  tml_buf_printf(b, "live loop %s %s %s (%s, universe %s): %s, updated %s\n", s->exchange[0] ? s->exchange : "(no exchange)",
                 s->category, iv ? iv : "?", s->strategy, s->universe, s->running ? "running" : "stopped", upd);
  tml_buf_printf(b,
                 "ticks %" PRIu64 ", predictions %" PRIu64 " (%" PRIu64 " backfilled), reloads %" PRIu64
                 ", exchange errors %" PRIu64 ", coverage checks %" PRIu64 ", universe refreshes %" PRIu64
                 ", jobs submitted %" PRIu64 "\n",
                 s->counters.ticks, s->counters.predictions, s->counters.backfilled, s->counters.reloads,
                 s->counters.exchange_errors, s->counters.coverage_checks, s->counters.universe_refreshes,
                 s->counters.jobs_submitted);
  tml_buf_printf(b, "%-14s %-10s %-20s %-20s %-9s %-20s %s\n", "SYMBOL", "STATE", "SINCE", "LAST CANDLE", "MODEL",
                 "NEXT CHECK", "REASON");
  for (size_t i = 0; i < s->nsymbols; i++) {
    const struct tml_live_symbol *y = &s->symbols[i];
    char since[32], last[32], next[32], model[32] = "-";
    fmt_time(y->since_ms, since, sizeof(since));
    fmt_time(y->last_candle_ms < 0 ? 0 : y->last_candle_ms, last, sizeof(last));
    if (y->next_check_ms > 0 && y->next_check_ms >= now_ms - 3600 * 1000)
      fmt_time(y->next_check_ms, next, sizeof(next));
    else
      snprintf(next, sizeof(next), "-");
    if (y->model_id > 0)
      snprintf(model, sizeof(model), "%" PRId64, y->model_id);
    tml_buf_printf(b, "%-14s %-10s %-20s %-20s %-9s %-20s %s\n", y->symbol, tml_live_state_name(y->state), since, last,
                   model, next, y->reason);
  }
  tml_buf_printf(b, "%zu symbols:", s->nsymbols);
  for (int i = 0; i < TML_LIVE_STATE_COUNT; i++)
    tml_buf_printf(b, "%s %zu %s", i ? "," : "", s->by_state[i], state_names[i]);
  return tml_buf_puts(b, "\n");
}

int tml__live_status_save(struct tml_store *store, const struct tml_live_status *s, struct tml_error *err) {
  sqlite3 *db = tml_store_db(store);
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  struct tml_buf b;
  tml_buf_init(&b, 0);
  sqlite3_stmt *st = NULL;
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(db, "saving the live status", err);
  counters_json(&b, &s->counters);
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO live_loop(strategy, interval_ms, exchange, category, universe, running, pid,"
                         " updated_ms, counters) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                         " ON CONFLICT(strategy, interval_ms) DO UPDATE SET exchange = ?3, category = ?4, universe = ?5,"
                         " running = ?6, pid = ?7, updated_ms = ?8, counters = ?9",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = db_fail(db, "saving the live status", err);
    goto out;
  }
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
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO live_symbols(strategy, symbol, interval_ms, state, reason, since_ms, next_check_ms,"
                         " model_id, model_version, model_created_ms, job_id, last_candle_ms, last_predicted_ms,"
                         " last_prediction_at_ms, predictions, quality, updated_ms)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
                         " ON CONFLICT(strategy, symbol, interval_ms) DO UPDATE SET state = ?4, reason = ?5,"
                         " since_ms = ?6, next_check_ms = ?7, model_id = ?8, model_version = ?9, model_created_ms = ?10,"
                         " job_id = ?11, last_candle_ms = ?12, last_predicted_ms = ?13, last_prediction_at_ms = ?14,"
                         " predictions = ?15, quality = ?16, updated_ms = ?17",
                         -1, &st, NULL) != SQLITE_OK) {
    rc = db_fail(db, "saving the live symbol states", err);
    goto out;
  }
  for (size_t i = 0; i < s->nsymbols && !rc; i++) {
    const struct tml_live_symbol *y = &s->symbols[i];
    tml_buf_reset(&b);
    quality_json(&b, y->quality);
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
  sqlite3_exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
  tml_buf_release(&b);
  return rc;
}

int tml__live_symbols_load(struct tml_store *store, const char *strategy, int64_t interval_ms,
                           struct tml_live_symbol **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3 *db = tml_store_db(store);
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT symbol, state, reason, since_ms, next_check_ms, model_id, model_version,"
                         " model_created_ms, job_id, last_candle_ms, last_predicted_ms, last_prediction_at_ms,"
                         " predictions, quality FROM live_symbols WHERE strategy = ?1 AND interval_ms = ?2"
                         " ORDER BY symbol",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "reading the live symbol states", err);
  sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  size_t cap = 0, len = 0;
  struct tml_live_symbol *v = NULL;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (len == cap) {
      size_t nc = cap ? cap * 2 : 32;
      void *nv = realloc(v, nc * sizeof(*v));
      if (!nv) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory reading the live symbol states");
        break;
      }
      v = nv;
      cap = nc;
    }
    struct tml_live_symbol *y = &v[len++];
    memset(y, 0, sizeof(*y));
    copy_text(y->symbol, sizeof(y->symbol), sqlite3_column_text(st, 0));
    enum tml_live_state state = TML_LIVE_BLOCKED;
    if (tml_live_state_parse((const char *)sqlite3_column_text(st, 1), &state, NULL) != 0)
      state = TML_LIVE_BLOCKED;
    y->state = state;
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
    quality_parse((const char *)sqlite3_column_text(st, 13), y->quality);
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

int tml_live_status_load(struct tml_store *store, const char *strategy, int64_t interval_ms,
                         struct tml_live_status *out, struct tml_error *err) {
  memset(out, 0, sizeof(*out));
  sqlite3 *db = tml_store_db(store);
  int rc = tml__live_schema(db, err);
  if (rc)
    return rc;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT strategy, exchange, category, universe, running, pid, updated_ms, counters FROM live_loop"
                         " WHERE (?1 IS NULL OR strategy = ?1) AND interval_ms = ?2 ORDER BY updated_ms DESC LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(db, "reading the live status", err);
  if (strategy)
    sqlite3_bind_text(st, 1, strategy, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    copy_text(out->strategy, sizeof(out->strategy), sqlite3_column_text(st, 0));
    copy_text(out->exchange, sizeof(out->exchange), sqlite3_column_text(st, 1));
    copy_text(out->category, sizeof(out->category), sqlite3_column_text(st, 2));
    copy_text(out->universe, sizeof(out->universe), sqlite3_column_text(st, 3));
    out->pid = sqlite3_column_int(st, 5);
    /* A loop killed with -9 could not say it stopped: running only while its process exists. */
    out->running = sqlite3_column_int(st, 4) != 0 && out->pid > 0 && (kill(out->pid, 0) == 0 || errno == EPERM);
    out->updated_ms = sqlite3_column_int64(st, 6);
    counters_parse((const char *)sqlite3_column_text(st, 7), &out->counters);
    out->interval_ms = interval_ms;
  } else if (s == SQLITE_DONE) {
    const char *iv = tml_interval_name(interval_ms);
    rc = tml_error_set(err, TML_ENOENT,
                       "no live loop has run at %s%s%s: start one with `trademl live --interval %s` or "
                       "`trademl serve --live`",
                       iv ? iv : "?", strategy ? " for strategy " : "", strategy ? strategy : "", iv ? iv : "15m");
  } else {
    rc = db_fail(db, "reading the live status", err);
  }
  sqlite3_finalize(st);
  if (rc)
    return rc;
  if ((rc = tml__live_symbols_load(store, out->strategy, interval_ms, &out->symbols, &out->nsymbols, err)))
    return rc;
  for (size_t i = 0; i < out->nsymbols; i++)
    out->by_state[out->symbols[i].state]++;
  return 0;
}
