/* The candle store's PostgreSQL backend (contract in store_backend.h). One table `candles` with the
 * primary key (symbol, interval_ms, open_time), so a series is one index range. Bulk writes go through
 * COPY in PostgreSQL's binary format into a per-session temporary table, then one INSERT ... ON
 * CONFLICT DO NOTHING, one comparison for conflicts and (with replace) one UPDATE, all in a single
 * transaction; values travel as IEEE doubles, so equality is exact. Reads ask for binary results (no
 * text parsing). Every statement is bound; no SQL is built from input. */
#include "data/store_backend.h"
#include "util/common.h"
#include "util/db_pg.h"

#include "trademl/error.h"
#include "trademl/timeutil.h"

static const struct tml__pg_migration MIGRATIONS[] = {
    {1, "candles table",
     "CREATE TABLE IF NOT EXISTS candles ("
     " symbol text NOT NULL,"
     " interval_ms bigint NOT NULL,"
     " open_time bigint NOT NULL," /* UTC ms */
     " open double precision NOT NULL, high double precision NOT NULL, low double precision NOT NULL,"
     " close double precision NOT NULL, volume double precision NOT NULL,"
     " PRIMARY KEY (symbol, interval_ms, open_time))"},
};

struct pg_store {
  struct tml__pg pg;
  uint64_t staged_generation; /* connection generation the temporary table was created in */
};

static void pgs_close(void *p) {
  struct pg_store *s = p;
  if (!s)
    return;
  tml__pg_close(&s->pg);
  free(s);
}

static int pgs_open(const char *location, void **out, struct tml_error *err) {
  *out = NULL;
  struct pg_store *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the candle store");
  int rc = tml__pg_connect(&s->pg, location, "candle store", err);
  if (!rc)
    rc = tml__pg_migrate(&s->pg, "candles", MIGRATIONS, (int)TML_ARRAY_LEN(MIGRATIONS), NULL, err);
  if (rc) {
    pgs_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* --- put -------------------------------------------------------------------------------------- */

#define COPY_TUPLE_BYTES (2 + 6 * (4 + 8))
#define COPY_CHUNK_TUPLES 4096

/* Streams c into the temporary table candles_in with COPY ... (FORMAT binary). */
static int copy_in(struct pg_store *s, const struct tml_candles *c, struct tml_error *err) {
  PGconn *conn = s->pg.conn;
  PGresult *r = PQexec(conn, "COPY candles_in (open_time, open, high, low, close, volume) FROM STDIN (FORMAT binary)");
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    int rc = tml__pg_error(&s->pg, r, "starting COPY of candles", err);
    PQclear(r);
    return rc;
  }
  PQclear(r);
  char *buf = malloc(19 + (size_t)COPY_CHUNK_TUPLES * COPY_TUPLE_BYTES + 2);
  if (!buf) {
    PQputCopyEnd(conn, "out of memory");
    PQclear(PQgetResult(conn));
    return tml_error_set(err, TML_ENOMEM, "out of memory copying candles");
  }
  /* Header: signature, flags, header extension length. */
  size_t len = 0;
  memcpy(buf, "PGCOPY\n\377\r\n\0", 11);
  tml__pg_put_i32(buf + 11, 0);
  tml__pg_put_i32(buf + 15, 0);
  len = 19;
  bool ok = true;
  for (size_t i = 0; ok && i < c->len; i++) {
    char *t = buf + len;
    tml__pg_put_i16(t, 6);
    t += 2;
    tml__pg_put_i32(t, 8);
    tml__pg_put_i64(t + 4, c->open_time[i]);
    t += 12;
    const double v[5] = {c->open[i], c->high[i], c->low[i], c->close[i], c->volume[i]};
    for (int k = 0; k < 5; k++, t += 12) {
      tml__pg_put_i32(t, 8);
      tml__pg_put_f64(t + 4, v[k]);
    }
    len += COPY_TUPLE_BYTES;
    if (len >= (size_t)COPY_CHUNK_TUPLES * COPY_TUPLE_BYTES) {
      ok = PQputCopyData(conn, buf, (int)len) == 1;
      len = 0;
    }
  }
  tml__pg_put_i16(buf + len, -1); /* trailer */
  len += 2;
  if (ok)
    ok = PQputCopyData(conn, buf, (int)len) == 1;
  free(buf);
  PQputCopyEnd(conn, ok ? NULL : "client failed sending");
  int rc = 0;
  while ((r = PQgetResult(conn)) != NULL) {
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = tml__pg_error(&s->pg, r, "copying candles", err);
    PQclear(r);
  }
  if (!rc && !ok)
    rc = tml__pg_error(&s->pg, NULL, "copying candles", err);
  return rc;
}

static size_t cmd_tuples(PGresult *r) { return (size_t)strtoull(PQcmdTuples(r), NULL, 10); }

static int pgs_put(void *p, const struct tml_candles *c, bool replace, struct tml_put_stats *stats,
                   struct tml_error *err) {
  struct pg_store *s = p;
  struct tml_put_stats local = {0, 0, 0};
  char iv[24];
  const char *key[] = {c->symbol, tml__pg_i64(c->interval_ms, iv)};
  int rc = tml__pg_begin(&s->pg, err);
  if (rc)
    return rc;
  /* The staging table lives as long as the session; ON COMMIT DELETE ROWS empties it after each put. */
  if (s->staged_generation != s->pg.generation) {
    rc = tml__pg_exec(&s->pg,
                      "CREATE TEMPORARY TABLE IF NOT EXISTS candles_in (open_time bigint NOT NULL,"
                      " open double precision, high double precision, low double precision,"
                      " close double precision, volume double precision) ON COMMIT DELETE ROWS",
                      0, NULL, "creating the staging table", err);
    if (rc)
      goto rollback;
    s->staged_generation = s->pg.generation;
  }
  if (c->len && (rc = copy_in(s, c, err)))
    goto rollback;
  PGresult *r = tml__pg_query(&s->pg,
                              "INSERT INTO candles (symbol, interval_ms, open_time, open, high, low, close, volume)"
                              " SELECT $1, $2::bigint, open_time, open, high, low, close, volume FROM candles_in"
                              " ON CONFLICT DO NOTHING",
                              2, key, false, "inserting candles", err);
  if (!r)
    goto fail;
  local.inserted = cmd_tuples(r);
  PQclear(r);
  if (!replace) {
    r = tml__pg_query(&s->pg,
                      "SELECT i.open_time, c.open, c.high, c.low, c.close, c.volume,"
                      " i.open, i.high, i.low, i.close, i.volume"
                      " FROM candles_in i JOIN candles c"
                      " ON c.symbol = $1 AND c.interval_ms = $2::bigint AND c.open_time = i.open_time"
                      " WHERE (c.open, c.high, c.low, c.close, c.volume) IS DISTINCT FROM"
                      " (i.open, i.high, i.low, i.close, i.volume)"
                      " ORDER BY i.open_time LIMIT 1",
                      2, key, true, "comparing candles with the stored ones", err);
    if (!r)
      goto fail;
    if (PQntuples(r) == 1) {
      double stored[5], fresh[5];
      for (int k = 0; k < 5; k++) {
        stored[k] = tml__pg_get_f64(PQgetvalue(r, 0, 1 + k));
        fresh[k] = tml__pg_get_f64(PQgetvalue(r, 0, 6 + k));
      }
      rc = tml__store_conflict(c->symbol, c->interval_ms, tml__pg_get_i64(PQgetvalue(r, 0, 0)), stored, fresh, err);
      PQclear(r);
      goto rollback;
    }
    PQclear(r);
  } else {
    r = tml__pg_query(&s->pg,
                      "UPDATE candles c SET open = i.open, high = i.high, low = i.low, close = i.close,"
                      " volume = i.volume FROM candles_in i"
                      " WHERE c.symbol = $1 AND c.interval_ms = $2::bigint AND c.open_time = i.open_time"
                      " AND (c.open, c.high, c.low, c.close, c.volume) IS DISTINCT FROM"
                      " (i.open, i.high, i.low, i.close, i.volume)",
                      2, key, false, "replacing candles", err);
    if (!r)
      goto fail;
    local.replaced = cmd_tuples(r);
    PQclear(r);
  }
  if ((rc = tml__pg_commit(&s->pg, err)))
    return rc;
  local.unchanged = c->len - local.inserted - local.replaced;
  if (stats)
    *stats = local;
  return 0;
fail:
  rc = err && err->code ? err->code : TML_EDB;
rollback:
  tml__pg_rollback(&s->pg);
  return rc;
}

/* --- reads ------------------------------------------------------------------------------------ */

static int pgs_load(void *p, const char *sym, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
                    struct tml_candles *out, struct tml_error *err) {
  struct pg_store *s = p;
  char iv[24], from[24], to[24];
  const char *params[] = {sym, tml__pg_i64(interval_ms, iv), tml__pg_i64(from_ms, from), tml__pg_i64(to_ms, to)};
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT open_time, open, high, low, close, volume FROM candles"
                              " WHERE symbol = $1 AND interval_ms = $2::bigint AND open_time >= $3::bigint"
                              " AND open_time < $4::bigint ORDER BY open_time",
                              4, params, true, "loading candles", err);
  if (!r)
    return err && err->code ? err->code : TML_EDB;
  size_t n = (size_t)PQntuples(r);
  int rc = 0;
  if (n && tml_candles_reserve(out, out->len + n)) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory loading %zu %s candles", n, sym);
  } else {
    for (size_t i = 0; i < n; i++) {
      size_t j = out->len + i;
      int row = (int)i;
      out->open_time[j] = tml__pg_get_i64(PQgetvalue(r, row, 0));
      out->open[j] = tml__pg_get_f64(PQgetvalue(r, row, 1));
      out->high[j] = tml__pg_get_f64(PQgetvalue(r, row, 2));
      out->low[j] = tml__pg_get_f64(PQgetvalue(r, row, 3));
      out->close[j] = tml__pg_get_f64(PQgetvalue(r, row, 4));
      out->volume[j] = tml__pg_get_f64(PQgetvalue(r, row, 5));
    }
    out->len += n;
  }
  PQclear(r);
  return rc;
}

static int pgs_list(void *p, struct tml_series_info **out, size_t *n, struct tml_error *err) {
  struct pg_store *s = p;
  *out = NULL;
  *n = 0;
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT symbol, interval_ms, min(open_time), max(open_time), count(*) FROM candles"
                              " GROUP BY symbol, interval_ms ORDER BY symbol COLLATE \"C\", interval_ms",
                              0, NULL, false, "listing candle series", err);
  if (!r)
    return err && err->code ? err->code : TML_EDB;
  size_t len = (size_t)PQntuples(r);
  struct tml_series_info *v = len ? calloc(len, sizeof(*v)) : NULL;
  if (len && !v) {
    PQclear(r);
    return tml_error_set(err, TML_ENOMEM, "out of memory listing candle series");
  }
  for (size_t i = 0; i < len; i++) {
    int row = (int)i;
    snprintf(v[i].symbol, sizeof(v[i].symbol), "%s", PQgetvalue(r, row, 0));
    v[i].interval_ms = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    v[i].first_ms = strtoll(PQgetvalue(r, row, 2), NULL, 10);
    v[i].last_ms = strtoll(PQgetvalue(r, row, 3), NULL, 10);
    v[i].rows = (size_t)strtoull(PQgetvalue(r, row, 4), NULL, 10);
  }
  PQclear(r);
  *out = v;
  *n = len;
  return 0;
}

/* --- deletes ---------------------------------------------------------------------------------- */

static int pgs_remove(void *p, const char *sym, int64_t interval_ms, struct tml_error *err) {
  struct pg_store *s = p;
  char iv[24];
  const char *params[] = {sym, tml__pg_i64(interval_ms, iv)};
  return tml__pg_exec(&s->pg, "DELETE FROM candles WHERE symbol = $1 AND interval_ms = $2::bigint", 2, params,
                      "deleting candles", err);
}

static int pgs_remove_range(void *p, const char *sym, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
                            bool dry_run, struct tml_delete_stats *stats, struct tml_error *err) {
  struct pg_store *s = p;
  char iv[24], from[24], to[24];
  const char *params[] = {sym, tml__pg_i64(interval_ms, iv), tml__pg_i64(from_ms, from), tml__pg_i64(to_ms, to)};
  /* One statement counts what it deletes: no other writer can slip in between a count and a delete. */
  PGresult *r = tml__pg_query(
      &s->pg,
      dry_run ? "SELECT count(*), coalesce(min(open_time), 0), coalesce(max(open_time), 0) FROM candles"
                " WHERE symbol = $1 AND interval_ms = $2::bigint AND open_time >= $3::bigint AND open_time <= $4::bigint"
              : "WITH d AS (DELETE FROM candles WHERE symbol = $1 AND interval_ms = $2::bigint"
                " AND open_time >= $3::bigint AND open_time <= $4::bigint RETURNING open_time)"
                " SELECT count(*), coalesce(min(open_time), 0), coalesce(max(open_time), 0) FROM d",
      4, params, false, dry_run ? "counting candles to delete" : "deleting candles", err);
  if (!r)
    return err && err->code ? err->code : TML_EDB;
  struct tml_delete_stats local;
  local.rows = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
  local.first_ms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  local.last_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
  PQclear(r);
  if (stats)
    *stats = local;
  return 0;
}

const struct tml__store_backend tml__store_pg = {
    .name = "postgresql",
    .open = pgs_open,
    .close = pgs_close,
    .put = pgs_put,
    .load = pgs_load,
    .list = pgs_list,
    .remove = pgs_remove,
    .remove_range = pgs_remove_range,
    .sqlite = NULL,
};
