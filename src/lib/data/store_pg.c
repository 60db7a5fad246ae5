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
     /* Byte-order collation: symbols are ASCII, and key comparisons skip the locale. */
     "CREATE TABLE IF NOT EXISTS candles ("
     " symbol text COLLATE \"C\" NOT NULL,"
     " interval_ms bigint NOT NULL,"
     " open_time bigint NOT NULL," /* UTC ms */
     " open double precision NOT NULL, high double precision NOT NULL, low double precision NOT NULL,"
     " close double precision NOT NULL, volume double precision NOT NULL,"
     " PRIMARY KEY (symbol, interval_ms, open_time))"},
    {2, "fetch_sources table",
     "CREATE TABLE IF NOT EXISTS fetch_sources ("
     " symbol text COLLATE \"C\" NOT NULL,"
     " interval_ms bigint NOT NULL,"
     " exchange text NOT NULL,"
     " market text NOT NULL,"
     " listed_ms bigint NOT NULL DEFAULT -1," /* first candle the exchange has; -1 unknown */
     " updated_ms bigint NOT NULL,"           /* wall clock of the last fetch */
     " PRIMARY KEY (symbol, interval_ms))"},
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

#define COPY_VALUES_BYTES (6 * (4 + 8)) /* open_time and five doubles, each with its length word */
#define COPY_CHUNK_BYTES (256 * 1024)

/* Streams c with COPY ... (FORMAT binary): into the candles table itself (direct: symbol and interval
 * in every tuple) or into the staging table candles_in. */
static int copy_in(struct pg_store *s, const struct tml_candles *c, bool direct, struct tml_error *err) {
  PGconn *conn = s->pg.conn;
  PGresult *r = PQexec(conn, direct ? "COPY candles (symbol, interval_ms, open_time, open, high, low, close, volume)"
                                      " FROM STDIN (FORMAT binary)"
                                    : "COPY candles_in (open_time, open, high, low, close, volume)"
                                      " FROM STDIN (FORMAT binary)");
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    int rc = tml__pg_error(&s->pg, r, "starting COPY of candles", err);
    PQclear(r);
    return rc;
  }
  PQclear(r);
  size_t symlen = strlen(c->symbol);
  size_t tuple = 2 + COPY_VALUES_BYTES + (direct ? 4 + symlen + 4 + 8 : 0);
  char *buf = malloc(COPY_CHUNK_BYTES + tuple + 19 + 2);
  if (!buf) {
    PQputCopyEnd(conn, "out of memory");
    PQclear(PQgetResult(conn));
    return tml_error_set(err, TML_ENOMEM, "out of memory copying candles");
  }
  /* Header: signature, flags, header extension length. */
  memcpy(buf, "PGCOPY\n\377\r\n\0", 11);
  tml__pg_put_i32(buf + 11, 0);
  tml__pg_put_i32(buf + 15, 0);
  size_t len = 19;
  bool ok = true;
  for (size_t i = 0; ok && i < c->len; i++) {
    char *t = buf + len;
    tml__pg_put_i16(t, direct ? 8 : 6);
    t += 2;
    if (direct) {
      tml__pg_put_i32(t, (int32_t)symlen);
      memcpy(t + 4, c->symbol, symlen);
      t += 4 + symlen;
      tml__pg_put_i32(t, 8);
      tml__pg_put_i64(t + 4, c->interval_ms);
      t += 12;
    }
    tml__pg_put_i32(t, 8);
    tml__pg_put_i64(t + 4, c->open_time[i]);
    t += 12;
    const double v[5] = {c->open[i], c->high[i], c->low[i], c->close[i], c->volume[i]};
    for (int k = 0; k < 5; k++, t += 12) {
      tml__pg_put_i32(t, 8);
      tml__pg_put_f64(t + 4, v[k]);
    }
    len += tuple;
    if (len >= COPY_CHUNK_BYTES) {
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

/* True when none of c's open times is stored yet (then COPY straight into the table is the whole put). */
static int range_is_empty(struct pg_store *s, const struct tml_candles *c, bool *empty, struct tml_error *err) {
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < c->len; i++) {
    lo = TML_MIN(lo, c->open_time[i]);
    hi = TML_MAX(hi, c->open_time[i]);
  }
  char iv[24], a[24], b[24];
  const char *params[] = {c->symbol, tml__pg_i64(c->interval_ms, iv), tml__pg_i64(lo, a), tml__pg_i64(hi, b)};
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT NOT EXISTS (SELECT 1 FROM candles WHERE symbol = $1 AND interval_ms = $2::bigint"
                              " AND open_time >= $3::bigint AND open_time <= $4::bigint)",
                              4, params, false, "looking for stored candles", err);
  if (!r)
    return tml__pg_code(err);
  *empty = PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  return 0;
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
  /* Nothing stored in c's time range: COPY straight into the table. A duplicate (within c, or from a
   * concurrent writer) makes it fail; the savepoint then takes it back and the staged path decides. */
  bool empty = false;
  if (c->len && (rc = range_is_empty(s, c, &empty, err)))
    goto rollback;
  if (empty) {
    struct tml_error direct_err;
    tml_error_init(&direct_err);
    if ((rc = tml__pg_exec(&s->pg, "SAVEPOINT direct_copy", 0, NULL, "starting the bulk copy", err)))
      goto rollback;
    if (copy_in(s, c, true, &direct_err) == 0) {
      local.inserted = c->len;
      goto commit;
    }
    if (direct_err.code != TML_ECONFLICT) {
      rc = tml_error_set(err, direct_err.code, "%s", direct_err.msg);
      goto rollback;
    }
    if ((rc = tml__pg_exec(&s->pg, "ROLLBACK TO SAVEPOINT direct_copy", 0, NULL, "retrying the bulk copy", err)))
      goto rollback;
  }
  if (c->len && (rc = copy_in(s, c, false, err)))
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
  /* Every candle was new (the usual bulk load): nothing can differ from a stored one. */
  if (local.inserted == c->len)
    goto commit;
  /* Statistics for the staging table, so the comparison joins through the primary key instead of
   * scanning the series once per staged row. */
  if ((rc = tml__pg_exec(&s->pg, "ANALYZE candles_in", 0, NULL, "analysing the staged candles", err)))
    goto rollback;
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
commit:
  if ((rc = tml__pg_commit(&s->pg, err)))
    return rc;
  local.unchanged = c->len - local.inserted - local.replaced;
  if (stats)
    *stats = local;
  return 0;
fail:
  rc = tml__pg_code(err);
rollback:
  tml__pg_rollback(&s->pg);
  return rc;
}

/* --- reads ------------------------------------------------------------------------------------ */

/* Reads with COPY (SELECT ...) TO STDOUT (FORMAT binary): rows arrive as raw tuples, with no result
 * set to build. COPY takes no parameters, so the statement carries the values as literals: the symbol
 * is a validated tml_symbol (A-Z 0-9 - _) and is quoted by PQescapeLiteral all the same; the rest are
 * integers printed here.
 *
 * The read runs in its own short transaction whose SET LOCALs make it walk the primary key in order:
 * a series is one contiguous range of the key, so an index scan delivers it sorted. Left alone the
 * planner often prefers a bitmap heap scan plus a sort of the whole series (which spills to disk with
 * the default work_mem: 2-3x slower for 200k candles), and JIT-compiles the plan (a few ms of
 * compilation for a query that runs no expressions). The settings end with the transaction. */
#define LOAD_SHORT_ROWS 10000 /* candles in a bounded range loaded without LOAD_SETTINGS */
static const char LOAD_SETTINGS[] = "BEGIN; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off;"
                                    " SET LOCAL jit = off";

static int pgs_load(void *p, const char *sym, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
                    struct tml_candles *out, struct tml_error *err) {
  struct pg_store *s = p;
  int rc = tml__pg_ensure(&s->pg, err);
  if (rc)
    return rc;
  char *lit = PQescapeLiteral(s->pg.conn, sym, strlen(sym));
  if (!lit)
    return tml_error_set(err, TML_ENOMEM, "out of memory loading %s candles", sym);
  /* Open ends are left out: PostgreSQL 15 tests every key condition on every index entry of the range,
   * and open_time sits behind the variable-length symbol (about 10% of the scan for a whole series). */
  char lo[48] = "", hi[48] = "", sql[512];
  if (from_ms != INT64_MIN)
    snprintf(lo, sizeof(lo), " AND open_time >= %" PRId64, from_ms);
  if (to_ms != INT64_MAX)
    snprintf(hi, sizeof(hi), " AND open_time < %" PRId64, to_ms);
  snprintf(sql, sizeof(sql),
           "COPY (SELECT open_time, open, high, low, close, volume FROM candles WHERE symbol = %s"
           " AND interval_ms = %" PRId64 "%s%s ORDER BY open_time) TO STDOUT (FORMAT binary)",
           lit, interval_ms, lo, hi);
  PQfreemem(lit);
  /* The settings help scans of whole series; a short bounded range (the live loop's new candles, a
   * few at a time) goes without them, in one round trip instead of three (BEGIN with the settings,
   * the COPY, COMMIT). */
  uint64_t span = to_ms > from_ms ? (uint64_t)to_ms - (uint64_t)from_ms : 0;
  bool short_range = from_ms != INT64_MIN && to_ms != INT64_MAX && interval_ms > 0 &&
                     span / (uint64_t)interval_ms <= LOAD_SHORT_ROWS;
  if (!short_range) {
    /* A connection lost since the last call is re-established here (outside any transaction). */
    if ((rc = tml__pg_exec(&s->pg, LOAD_SETTINGS, 0, NULL, "starting to load candles", err))) {
      tml__pg_rollback(&s->pg); /* BEGIN may have run before a SET failed */
      return rc;
    }
    s->pg.in_txn = true;
  }
  /* outside a transaction (a short range), a connection lost since the last call is re-established
   * here and the COPY sent once more */
  PGresult *r = tml__pg_copy_out(&s->pg, sql, "loading candles", err);
  if (!r) {
    tml__pg_rollback(&s->pg);
    return tml__pg_code(err);
  }
  PQclear(r);
  PGconn *conn = s->pg.conn;
  char *row = NULL;
  int n;
  bool header = true;
  while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
    const char *t = row;
    int left = n;
    if (header) { /* the first message starts with the 19-byte file header */
      header = false;
      if (left < 19 || memcmp(t, "PGCOPY\n\377\r\n\0", 11) != 0) {
        rc = tml_error_set(err, TML_EDB, "candle store at %s: unexpected COPY header", s->pg.shown);
        PQfreemem(row);
        continue; /* drain the COPY: PQgetResult returns COPY_OUT results, forever, until it ends */
      }
      t += 19;
      left -= 19;
    }
    if (left >= 2 && (t[0] == (char)0xff && t[1] == (char)0xff)) { /* trailer */
      PQfreemem(row);
      continue;
    }
    if (rc == 0 && left == 2 + COPY_VALUES_BYTES) {
      if (out->len == out->cap && tml_candles_reserve(out, out->cap ? out->cap * 2 : 4096)) {
        rc = tml_error_set(err, TML_ENOMEM, "out of memory loading %s candles", sym);
      } else {
        size_t i = out->len++;
        t += 2;
        out->open_time[i] = tml__pg_get_i64(t + 4);
        out->open[i] = tml__pg_get_f64(t + 16);
        out->high[i] = tml__pg_get_f64(t + 28);
        out->low[i] = tml__pg_get_f64(t + 40);
        out->close[i] = tml__pg_get_f64(t + 52);
        out->volume[i] = tml__pg_get_f64(t + 64);
      }
    } else if (rc == 0) {
      rc = tml_error_set(err, TML_EDB, "candle store at %s: a stored %s candle has a NULL or malformed value",
                         s->pg.shown, sym);
    }
    PQfreemem(row);
  }
  while ((r = PQgetResult(conn)) != NULL) {
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
      rc = tml__pg_error(&s->pg, r, "loading candles", err);
    PQclear(r);
  }
  if (!rc && n == -2)
    rc = tml__pg_error(&s->pg, NULL, "loading candles", err);
  if (rc)
    tml__pg_rollback(&s->pg);
  else if (!short_range)
    rc = tml__pg_commit(&s->pg, err);
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
    return tml__pg_code(err);
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
    return tml__pg_code(err);
  struct tml_delete_stats local;
  local.rows = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
  local.first_ms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  local.last_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
  PQclear(r);
  if (stats)
    *stats = local;
  return 0;
}

/* --- fetch sources ------------------------------------------------------------------------------- */

static void read_source(PGresult *r, int row, struct tml_fetch_source *x) {
  snprintf(x->symbol, sizeof(x->symbol), "%s", PQgetvalue(r, row, 0));
  x->interval_ms = strtoll(PQgetvalue(r, row, 1), NULL, 10);
  snprintf(x->exchange, sizeof(x->exchange), "%s", PQgetvalue(r, row, 2));
  snprintf(x->market, sizeof(x->market), "%s", PQgetvalue(r, row, 3));
  x->listed_ms = strtoll(PQgetvalue(r, row, 4), NULL, 10);
}

static int pgs_source_get(void *p, const char *symbol, int64_t interval_ms, struct tml_fetch_source *src, bool *found,
                          struct tml_error *err) {
  struct pg_store *s = p;
  *found = false;
  char iv[24];
  const char *params[] = {symbol, tml__pg_i64(interval_ms, iv)};
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT symbol, interval_ms, exchange, market, listed_ms FROM fetch_sources"
                              " WHERE symbol = $1 AND interval_ms = $2::bigint",
                              2, params, false, "reading fetch sources", err);
  if (!r)
    return tml__pg_code(err);
  if (PQntuples(r) == 1) {
    read_source(r, 0, src);
    *found = true;
  }
  PQclear(r);
  return 0;
}

static int pgs_source_put(void *p, const struct tml_fetch_source *src, int64_t now_ms, struct tml_error *err) {
  struct pg_store *s = p;
  char iv[24], listed[24], now[24];
  const char *params[] = {src->symbol, tml__pg_i64(src->interval_ms, iv), src->exchange, src->market,
                          tml__pg_i64(src->listed_ms, listed), tml__pg_i64(now_ms, now)};
  return tml__pg_exec(&s->pg,
                      "INSERT INTO fetch_sources(symbol, interval_ms, exchange, market, listed_ms, updated_ms)"
                      " VALUES ($1, $2::bigint, $3, $4, $5::bigint, $6::bigint)"
                      " ON CONFLICT (symbol, interval_ms) DO UPDATE SET listed_ms = EXCLUDED.listed_ms,"
                      " updated_ms = EXCLUDED.updated_ms",
                      6, params, "writing fetch sources", err);
}

static int pgs_source_list(void *p, struct tml_fetch_source **out, size_t *n, struct tml_error *err) {
  struct pg_store *s = p;
  *out = NULL;
  *n = 0;
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT symbol, interval_ms, exchange, market, listed_ms FROM fetch_sources"
                              " ORDER BY symbol COLLATE \"C\", interval_ms",
                              0, NULL, false, "listing fetch sources", err);
  if (!r)
    return tml__pg_code(err);
  size_t len = (size_t)PQntuples(r);
  struct tml_fetch_source *v = len ? calloc(len, sizeof(*v)) : NULL;
  if (len && !v) {
    PQclear(r);
    return tml_error_set(err, TML_ENOMEM, "fetch sources: out of memory");
  }
  for (size_t i = 0; i < len; i++)
    read_source(r, (int)i, &v[i]);
  PQclear(r);
  *out = v;
  *n = len;
  return 0;
}

static int pgs_ping(void *p, struct tml_error *err) { return tml__pg_ping(&((struct pg_store *)p)->pg, err); }

const struct tml__store_backend tml__store_pg = {
    .name = "postgresql",
    .open = pgs_open,
    .close = pgs_close,
    .put = pgs_put,
    .load = pgs_load,
    .list = pgs_list,
    .remove = pgs_remove,
    .remove_range = pgs_remove_range,
    .source_get = pgs_source_get,
    .source_put = pgs_source_put,
    .source_list = pgs_source_list,
    .ping = pgs_ping,
    .sqlite = NULL,
};
