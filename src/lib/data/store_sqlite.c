/* The candle store's SQLite backend (contract in store_backend.h; the front, with the argument checks,
 * is store.c; the PostgreSQL backend is store_pg.c).
 *
 * SQLite: one WITHOUT ROWID table keyed by (symbol, interval_ms, open_time), so
 * a symbol's history is one contiguous b-tree range and loading it is a single ordered scan into
 * the flat columns of struct tml_candles. Every statement is prepared once per handle and bound;
 * no SQL is ever built from input. Writes run in BEGIN IMMEDIATE transactions so a concurrent
 * writer waits (busy timeout) instead of failing half-way. */
#include "data/store_backend.h"
#include "util/common.h"
#include "util/db.h"

#include <sqlite3.h>

#include "trademl/error.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

#define BUSY_TIMEOUT_MS 5000

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS candles ("
    " symbol TEXT NOT NULL,"
    " interval_ms INTEGER NOT NULL,"
    " open_time INTEGER NOT NULL," /* UTC ms */
    " open REAL NOT NULL, high REAL NOT NULL, low REAL NOT NULL, close REAL NOT NULL,"
    " volume REAL NOT NULL,"
    " PRIMARY KEY (symbol, interval_ms, open_time)"
    ") WITHOUT ROWID;";

enum stmt_id {
  ST_INSERT,
  ST_GET,
  ST_UPDATE,
  ST_LOAD,
  ST_LIST,
  ST_DELETE,
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_RANGE_STATS,
  ST_DELETE_RANGE,
  ST_COUNT
};

static const char *const STMT_SQL[ST_COUNT] = {
    [ST_INSERT] = "INSERT OR IGNORE INTO candles(symbol, interval_ms, open_time, open, high, low, close, volume)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_GET] = "SELECT open, high, low, close, volume FROM candles"
               " WHERE symbol = ?1 AND interval_ms = ?2 AND open_time = ?3",
    [ST_UPDATE] = "UPDATE candles SET open = ?4, high = ?5, low = ?6, close = ?7, volume = ?8"
                  " WHERE symbol = ?1 AND interval_ms = ?2 AND open_time = ?3",
    [ST_LOAD] = "SELECT open_time, open, high, low, close, volume FROM candles"
                " WHERE symbol = ?1 AND interval_ms = ?2 AND open_time >= ?3 AND open_time < ?4"
                " ORDER BY open_time",
    [ST_LIST] = "SELECT symbol, interval_ms, min(open_time), max(open_time), count(*) FROM candles"
                " GROUP BY symbol, interval_ms ORDER BY symbol, interval_ms",
    [ST_DELETE] = "DELETE FROM candles WHERE symbol = ?1 AND interval_ms = ?2",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_RANGE_STATS] = "SELECT count(*), min(open_time), max(open_time) FROM candles"
                       " WHERE symbol = ?1 AND interval_ms = ?2 AND open_time >= ?3 AND open_time <= ?4",
    [ST_DELETE_RANGE] = "DELETE FROM candles"
                        " WHERE symbol = ?1 AND interval_ms = ?2 AND open_time >= ?3 AND open_time <= ?4",
};

struct sqlite_store {
  sqlite3 *db;
  char path[1024];
  sqlite3_stmt *st[ST_COUNT];
};

static int db_error(struct sqlite_store *s, int rc, const char *what, struct tml_error *err) {
  return tml__db_error(s->db, s->path, "candle store", BUSY_TIMEOUT_MS, rc, what, err);
}

static void sq_close(void *p);
static int sq_set_memory(void *p, int64_t cache_mib, int64_t mmap_mib, struct tml_error *err);

static int sq_open(const char *db_path, void **out, struct tml_error *err) {
  *out = NULL;
  struct sqlite_store *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening candle store '%s'", db_path);
  snprintf(s->path, sizeof(s->path), "%s", db_path);
  if (tml__db_open(db_path, "candle store", BUSY_TIMEOUT_MS, &s->db, err))
    goto fail;
  /* Loading a symbol's history is a long sequential read: a big page cache and memory-mapped I/O. */
  if (sq_set_memory(s, TML_STORE_CACHE_MIB, TML_STORE_MMAP_MIB, err))
    goto fail;
  int rc = sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    db_error(s, rc, "creating the schema", err);
    goto fail;
  }
  for (int i = 0; i < ST_COUNT; i++) {
    rc = sqlite3_prepare_v3(s->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
    if (rc != SQLITE_OK) {
      db_error(s, rc, "preparing a statement", err);
      goto fail;
    }
  }
  *out = s;
  return 0;
fail:
  sq_close(s);
  return err && err->code ? err->code : TML_EDB;
}

/* The connection's page cache and memory map (PRAGMA cache_size, mmap_size), in MiB. */
static int sq_set_memory(void *p, int64_t cache_mib, int64_t mmap_mib, struct tml_error *err) {
  struct sqlite_store *s = p;
  char sql[128];
  snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%" PRId64 "; PRAGMA mmap_size=%" PRId64 ";", cache_mib * 1024,
           mmap_mib * 1024 * 1024);
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : db_error(s, rc, "setting the page cache and memory map", err);
}

static void sq_close(void *p) {
  struct sqlite_store *s = p;
  if (!s)
    return;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  sqlite3_close(s->db);
  free(s);
}

static struct sqlite3 *sq_sqlite(void *p) { return ((struct sqlite_store *)p)->db; }

static int exec_stmt(struct sqlite_store *s, enum stmt_id id, const char *what, struct tml_error *err) {
  sqlite3_stmt *st = s->st[id];
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return db_error(s, rc, what, err);
  return 0;
}

static void bind_key(sqlite3_stmt *st, const char *symbol, int64_t interval_ms, int64_t t) {
  sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, interval_ms);
  sqlite3_bind_int64(st, 3, t);
}

static void bind_values(sqlite3_stmt *st, const struct tml_candles *c, size_t i) {
  sqlite3_bind_double(st, 4, c->open[i]);
  sqlite3_bind_double(st, 5, c->high[i]);
  sqlite3_bind_double(st, 6, c->low[i]);
  sqlite3_bind_double(st, 7, c->close[i]);
  sqlite3_bind_double(st, 8, c->volume[i]);
}

/* Compares the stored row (ST_GET positioned on a row) with c[i]; REAL columns round-trip doubles
 * exactly, so equality is exact. */
static bool same_values(sqlite3_stmt *get, const struct tml_candles *c, size_t i) {
  const double *cols[] = {c->open, c->high, c->low, c->close, c->volume};
  for (int k = 0; k < 5; k++)
    if (sqlite3_column_double(get, k) != cols[k][i])
      return false;
  return true;
}

static int conflict_error(sqlite3_stmt *get, const struct tml_candles *c, size_t i, struct tml_error *err) {
  double stored[5], fresh[5] = {c->open[i], c->high[i], c->low[i], c->close[i], c->volume[i]};
  for (int k = 0; k < 5; k++)
    stored[k] = sqlite3_column_double(get, k);
  return tml__store_conflict(c->symbol, c->interval_ms, c->open_time[i], stored, fresh, err);
}

static int sq_put(void *p, const struct tml_candles *c, bool replace, struct tml_put_stats *stats,
                  struct tml_error *err) {
  struct sqlite_store *s = p;
  struct tml_put_stats local = {0, 0, 0};
  int rc = exec_stmt(s, ST_BEGIN, "starting a transaction", err);
  if (rc)
    return rc;
  sqlite3_stmt *ins = s->st[ST_INSERT], *get = s->st[ST_GET], *upd = s->st[ST_UPDATE];
  for (size_t i = 0; i < c->len && !rc; i++) {
    bind_key(ins, c->symbol, c->interval_ms, c->open_time[i]);
    bind_values(ins, c, i);
    int src = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (src != SQLITE_DONE) {
      rc = db_error(s, src, "inserting candles", err);
      break;
    }
    if (sqlite3_changes(s->db) == 1) {
      local.inserted++;
      continue;
    }
    bind_key(get, c->symbol, c->interval_ms, c->open_time[i]);
    src = sqlite3_step(get);
    if (src != SQLITE_ROW) {
      sqlite3_reset(get);
      rc = db_error(s, src, "reading a stored candle", err);
      break;
    }
    if (same_values(get, c, i)) {
      local.unchanged++;
    } else if (!replace) {
      rc = conflict_error(get, c, i, err);
    } else {
      bind_key(upd, c->symbol, c->interval_ms, c->open_time[i]);
      bind_values(upd, c, i);
      src = sqlite3_step(upd);
      sqlite3_reset(upd);
      if (src != SQLITE_DONE)
        rc = db_error(s, src, "replacing a candle", err);
      else
        local.replaced++;
    }
    sqlite3_reset(get);
  }
  if (!rc)
    rc = exec_stmt(s, ST_COMMIT, "committing candles", err);
  if (rc) {
    exec_stmt(s, ST_ROLLBACK, "rolling back", NULL);
    return rc;
  }
  if (stats)
    *stats = local;
  return 0;
}

static int sq_load(void *p, const char *sym, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
                   struct tml_candles *out, struct tml_error *err) {
  struct sqlite_store *s = p;
  int rc = 0;
  sqlite3_stmt *st = s->st[ST_LOAD];
  bind_key(st, sym, interval_ms, from_ms);
  sqlite3_bind_int64(st, 4, to_ms);
  int src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    if (out->len == out->cap && tml_candles_reserve(out, out->cap ? out->cap * 2 : 4096)) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory loading %s candles", sym);
      break;
    }
    size_t i = out->len++;
    out->open_time[i] = sqlite3_column_int64(st, 0);
    out->open[i] = sqlite3_column_double(st, 1);
    out->high[i] = sqlite3_column_double(st, 2);
    out->low[i] = sqlite3_column_double(st, 3);
    out->close[i] = sqlite3_column_double(st, 4);
    out->volume[i] = sqlite3_column_double(st, 5);
  }
  if (!rc && src != SQLITE_DONE)
    rc = db_error(s, src, "loading candles", err);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

static int sq_list(void *p, struct tml_series_info **out, size_t *n, struct tml_error *err) {
  struct sqlite_store *s = p;
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = s->st[ST_LIST];
  struct tml_series_info *v = NULL;
  size_t len = 0, cap = 0;
  int rc = 0, src;
  while ((src = sqlite3_step(st)) == SQLITE_ROW) {
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      struct tml_series_info *nv = realloc(v, ncap * sizeof(*nv));
      if (!nv) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory listing candle series");
        break;
      }
      v = nv;
      cap = ncap;
    }
    struct tml_series_info *e = &v[len++];
    const unsigned char *sym = sqlite3_column_text(st, 0);
    snprintf(e->symbol, sizeof(e->symbol), "%s", sym ? (const char *)sym : "");
    e->interval_ms = sqlite3_column_int64(st, 1);
    e->first_ms = sqlite3_column_int64(st, 2);
    e->last_ms = sqlite3_column_int64(st, 3);
    e->rows = (size_t)sqlite3_column_int64(st, 4);
  }
  if (!rc && src != SQLITE_DONE)
    rc = db_error(s, src, "listing candle series", err);
  sqlite3_reset(st);
  if (rc) {
    free(v);
    return rc;
  }
  *out = v;
  *n = len;
  return 0;
}

static int sq_remove(void *p, const char *sym, int64_t interval_ms, struct tml_error *err) {
  struct sqlite_store *s = p;
  int rc;
  sqlite3_stmt *st = s->st[ST_DELETE];
  sqlite3_bind_text(st, 1, sym, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, interval_ms);
  rc = exec_stmt(s, ST_DELETE, "deleting candles", err);
  sqlite3_clear_bindings(st);
  return rc;
}

static int sq_remove_range(void *p, const char *sym, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
                           bool dry_run, struct tml_delete_stats *stats, struct tml_error *err) {
  struct sqlite_store *s = p;
  struct tml_delete_stats local = {0, 0, 0};
  int rc = exec_stmt(s, ST_BEGIN, "starting a transaction", err);
  if (rc)
    return rc;
  sqlite3_stmt *st = s->st[ST_RANGE_STATS];
  bind_key(st, sym, interval_ms, from_ms);
  sqlite3_bind_int64(st, 4, to_ms);
  int src = sqlite3_step(st);
  if (src == SQLITE_ROW) {
    local.rows = (size_t)sqlite3_column_int64(st, 0);
    local.first_ms = sqlite3_column_int64(st, 1);
    local.last_ms = sqlite3_column_int64(st, 2);
  } else {
    rc = db_error(s, src, "counting candles to delete", err);
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (!rc && !dry_run && local.rows) {
    st = s->st[ST_DELETE_RANGE];
    bind_key(st, sym, interval_ms, from_ms);
    sqlite3_bind_int64(st, 4, to_ms);
    rc = exec_stmt(s, ST_DELETE_RANGE, "deleting candles", err);
    sqlite3_clear_bindings(st);
    if (!rc && (size_t)sqlite3_changes(s->db) != local.rows)
      rc = tml_error_set(err, TML_EDB, "deleting %s %s candles: counted %zu but deleted %d (nothing was deleted)", sym,
                         tml_interval_name(interval_ms), local.rows, sqlite3_changes(s->db));
  }
  if (!rc && !dry_run)
    rc = exec_stmt(s, ST_COMMIT, "committing the delete", err);
  if (rc || dry_run) {
    exec_stmt(s, ST_ROLLBACK, "rolling back", NULL);
    if (rc)
      return rc;
  }
  if (stats)
    *stats = local;
  return 0;
}

/* fetch_sources (fetch.c), created on first use next to the candles. */
static const char SOURCES_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS fetch_sources ("
    " symbol TEXT NOT NULL,"
    " interval_ms INTEGER NOT NULL,"
    " exchange TEXT NOT NULL,"
    " market TEXT NOT NULL,"
    " listed_ms INTEGER NOT NULL DEFAULT -1," /* first candle the exchange has; -1 unknown */
    " updated_ms INTEGER NOT NULL,"           /* wall clock of the last fetch */
    " PRIMARY KEY (symbol, interval_ms))";

static int sources_error(struct sqlite_store *s, const char *what, struct tml_error *err) {
  return tml_error_set(err, TML_EDB, "fetch sources: %s: %s", what, sqlite3_errmsg(s->db));
}

/* Prepares sql on fetch_sources, creating the table first; `what` names the step in errors. */
static int sources_prepare(struct sqlite_store *s, const char *sql, const char *what, sqlite3_stmt **st,
                           struct tml_error *err) {
  if (sqlite3_exec(s->db, SOURCES_SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
    return sources_error(s, "creating the table", err);
  if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
    return sources_error(s, what, err);
  return 0;
}

static int sq_source_get(void *p, const char *symbol, int64_t iv, struct tml_fetch_source *src, bool *found,
                         struct tml_error *err) {
  struct sqlite_store *s = p;
  sqlite3_stmt *st;
  *found = false;
  int rc = sources_prepare(s,
                           "SELECT exchange, market, listed_ms FROM fetch_sources"
                           " WHERE symbol = ?1 AND interval_ms = ?2",
                           "reading", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, iv);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *found = true;
    snprintf(src->symbol, sizeof(src->symbol), "%s", symbol);
    src->interval_ms = iv;
    snprintf(src->exchange, sizeof(src->exchange), "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(src->market, sizeof(src->market), "%s", (const char *)sqlite3_column_text(st, 1));
    src->listed_ms = sqlite3_column_int64(st, 2);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sources_error(s, "reading", err);
  return 0;
}

static int sq_source_put(void *p, const struct tml_fetch_source *src, int64_t now_ms, struct tml_error *err) {
  struct sqlite_store *s = p;
  sqlite3_stmt *st;
  int rc = sources_prepare(s,
                           "INSERT INTO fetch_sources(symbol, interval_ms, exchange, market, listed_ms,"
                           " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                           " ON CONFLICT(symbol, interval_ms) DO UPDATE SET listed_ms = excluded.listed_ms,"
                           " updated_ms = excluded.updated_ms",
                           "writing", &st, err);
  if (rc)
    return rc;
  sqlite3_bind_text(st, 1, src->symbol, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, src->interval_ms);
  sqlite3_bind_text(st, 3, src->exchange, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, src->market, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, src->listed_ms);
  sqlite3_bind_int64(st, 6, now_ms);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sources_error(s, "writing", err);
  return 0;
}

static int sq_source_list(void *p, struct tml_fetch_source **out, size_t *n, struct tml_error *err) {
  struct sqlite_store *s = p;
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  int rc = sources_prepare(s,
                           "SELECT symbol, interval_ms, exchange, market, listed_ms FROM fetch_sources"
                           " ORDER BY symbol, interval_ms",
                           "listing", &st, err);
  if (rc)
    return rc;
  size_t cap = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      struct tml_fetch_source *grown = realloc(*out, cap * sizeof(*grown));
      if (!grown) {
        sqlite3_finalize(st);
        free(*out);
        *out = NULL;
        *n = 0;
        return tml_error_set(err, TML_ENOMEM, "fetch sources: out of memory");
      }
      *out = grown;
    }
    struct tml_fetch_source *x = &(*out)[(*n)++];
    snprintf(x->symbol, sizeof(x->symbol), "%s", (const char *)sqlite3_column_text(st, 0));
    x->interval_ms = sqlite3_column_int64(st, 1);
    snprintf(x->exchange, sizeof(x->exchange), "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(x->market, sizeof(x->market), "%s", (const char *)sqlite3_column_text(st, 3));
    x->listed_ms = sqlite3_column_int64(st, 4);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    free(*out);
    *out = NULL;
    *n = 0;
    return sources_error(s, "listing", err);
  }
  return 0;
}

static int sq_ping(void *p, struct tml_error *err) {
  struct sqlite_store *s = p;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, "SELECT 1", -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(s->db);
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? 0 : db_error(s, rc, "checking the database", err);
}

const struct tml__store_backend tml__store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .put = sq_put,
    .load = sq_load,
    .list = sq_list,
    .remove = sq_remove,
    .remove_range = sq_remove_range,
    .source_get = sq_source_get,
    .source_put = sq_source_put,
    .source_list = sq_source_list,
    .ping = sq_ping,
    .sqlite = sq_sqlite,
    .set_memory = sq_set_memory,
};
