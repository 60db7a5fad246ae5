/* The live tables' PostgreSQL backend (contract in live_backend.h): live_predictions, live_symbols and
 * live_loop in the store's database, so a loop on one host and `trademl live status`, `trademl
 * predictions` or the daemon on another read the same state. Schema component "live" (versioned
 * migrations, db_pg.h), applied on open, so `trademl db init` creates it. Its own connection to the
 * store's location (opened on first use, kept with the store handle): a lost connection is re-opened
 * with backoff by db_pg on the next call, and a single statement (put, resolve, every read) is re-sent
 * once; the status is written in one transaction, which fails whole and is retried by the loop's next
 * tick. Prediction rows are read in binary (doubles bit-exact, whatever extra_float_digits says);
 * values are sent as %.17g text, which PostgreSQL parses exactly. Every statement is bound; SQL is
 * built only from constants (the row count of a batch). */
#include "live/live_backend.h"
#include "util/common.h"
#include "util/db_pg.h"

#include <unistd.h>

#include "data/store_backend.h"
#include "trademl/buf.h"
#include "trademl/error.h"

static const struct tml__pg_migration MIGRATIONS[] = {
    {1, "live tables: predictions, symbol states, loop counters",
     /* The columns of the SQLite tables (live_sqlite.c), so `db migrate-from` copies them; symbols and
      * strategies compare bytewise (COLLATE "C"), as SQLite's do. */
     "CREATE TABLE IF NOT EXISTS live_predictions ("
     " id bigserial PRIMARY KEY,"
     " strategy text COLLATE \"C\" NOT NULL, symbol text COLLATE \"C\" NOT NULL, interval_ms bigint NOT NULL,"
     " candle_ms bigint NOT NULL, model_id bigint NOT NULL, model_version text NOT NULL,"
     " v0 double precision, v1 double precision, v2 double precision, v3 double precision,"
     " v4 double precision, v5 double precision, v6 double precision, v7 double precision,"
     " v8 double precision, v9 double precision, v10 double precision, v11 double precision,"
     " stale boolean NOT NULL DEFAULT false, created_ms bigint NOT NULL, resolved_ms bigint,"
     " o0 double precision, o1 double precision, o2 double precision, o3 double precision, o4 double precision,"
     " action text,"
     " UNIQUE (strategy, symbol, interval_ms, candle_ms));"
     /* the per-candle readers: the few unresolved rows, the newest resolved rows of one model */
     "CREATE INDEX IF NOT EXISTS live_predictions_unresolved ON live_predictions(strategy, symbol, interval_ms,"
     " candle_ms) WHERE resolved_ms IS NULL;"
     "CREATE INDEX IF NOT EXISTS live_predictions_resolved ON live_predictions(strategy, symbol, interval_ms,"
     " model_id, candle_ms) WHERE resolved_ms IS NOT NULL;"
     "CREATE TABLE IF NOT EXISTS live_symbols ("
     " strategy text COLLATE \"C\" NOT NULL, symbol text COLLATE \"C\" NOT NULL, interval_ms bigint NOT NULL,"
     " state text NOT NULL, reason text NOT NULL DEFAULT '', since_ms bigint NOT NULL DEFAULT 0,"
     " next_check_ms bigint NOT NULL DEFAULT 0, model_id bigint NOT NULL DEFAULT 0,"
     " model_version text NOT NULL DEFAULT '', model_created_ms bigint NOT NULL DEFAULT 0,"
     " job_id bigint NOT NULL DEFAULT 0, last_candle_ms bigint NOT NULL DEFAULT -1,"
     " last_predicted_ms bigint NOT NULL DEFAULT -1, last_prediction_at_ms bigint NOT NULL DEFAULT 0,"
     " predictions bigint NOT NULL DEFAULT 0, quality text NOT NULL DEFAULT '{}',"
     " updated_ms bigint NOT NULL DEFAULT 0,"
     " PRIMARY KEY (strategy, symbol, interval_ms));"
     "CREATE TABLE IF NOT EXISTS live_loop ("
     " strategy text COLLATE \"C\" NOT NULL, interval_ms bigint NOT NULL, exchange text NOT NULL,"
     " category text NOT NULL, universe text NOT NULL, running boolean NOT NULL, pid bigint NOT NULL,"
     " updated_ms bigint NOT NULL, counters text NOT NULL,"
     " host text NOT NULL DEFAULT ''," /* where the loop runs: its pid means something only there */
     " PRIMARY KEY (strategy, interval_ms))"},
};

struct pg_live {
  struct tml__pg pg;
  char host[256]; /* this host's name, recorded with the loop row */
};

static void pgl_close(void *p) {
  struct pg_live *s = p;
  if (!s)
    return;
  tml__pg_close(&s->pg);
  free(s);
}

static int pgl_open(struct tml_store *store, void **out, struct tml_error *err) {
  *out = NULL;
  struct pg_live *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the live tables");
  if (gethostname(s->host, sizeof(s->host) - 1) != 0)
    s->host[0] = '\0';
  int rc = tml__pg_connect(&s->pg, tml__store_location(store), "live tables", err);
  if (!rc)
    rc = tml__pg_migrate(&s->pg, "live", MIGRATIONS, (int)TML_ARRAY_LEN(MIGRATIONS), NULL, err);
  if (rc) {
    pgl_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* A double as exact text; NaN -> SQL NULL (SQLite stores NaN as NULL too, read back as 0). */
static const char *f64_text(double v, char *buf, size_t sz) {
  if (isnan(v))
    return NULL;
  snprintf(buf, sz, "%.17g", v);
  return buf;
}

/* ---- predictions ---------------------------------------------------------------------------------- */

static int pgl_put(void *p_, struct tml_live_prediction *p, bool *inserted, struct tml_error *err) {
  struct pg_live *s = p_;
  char iv[24], candle[24], model[24], created[24], vals[TML__LIVE_NVALUES][40];
  const char *params[21] = {p->strategy, p->symbol, tml__pg_i64(p->interval_ms, iv), tml__pg_i64(p->candle_ms, candle),
                            tml__pg_i64(p->model_id, model), p->model_version};
  for (int k = 0; k < TML__LIVE_NVALUES; k++)
    params[6 + k] = f64_text(tml__live_value_get(&p->p, k), vals[k], sizeof(vals[k]));
  params[18] = p->stale ? "true" : "false";
  params[19] = tml__pg_i64(p->created_ms, created);
  params[20] = p->action[0] ? p->action : NULL;
  /* One statement: a row already stored for the candle wins (nothing returned, nothing changed). */
  PGresult *r = tml__pg_query(&s->pg,
                              "INSERT INTO live_predictions(strategy, symbol, interval_ms, candle_ms, model_id,"
                              " model_version, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, stale, created_ms, action)"
                              " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,"
                              " $19, $20, $21) ON CONFLICT (strategy, symbol, interval_ms, candle_ms) DO NOTHING"
                              " RETURNING id",
                              21, params, false, "storing a prediction", err);
  if (!r)
    return tml__pg_code(err);
  if (PQntuples(r) == 1) {
    p->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *inserted = true;
  }
  PQclear(r);
  return 0;
}

static int pgl_resolve(void *p_, int64_t id, const float outcome[TML_HEAD_COUNT], int64_t resolved_ms,
                       struct tml_error *err) {
  struct pg_live *s = p_;
  char idt[24], rt[24], o[TML_HEAD_COUNT][40];
  const char *params[2 + TML_HEAD_COUNT] = {tml__pg_i64(id, idt), tml__pg_i64(resolved_ms, rt)};
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    params[2 + h] = f64_text((double)outcome[h], o[h], sizeof(o[h]));
  PGresult *r = tml__pg_query(&s->pg,
                              "UPDATE live_predictions SET resolved_ms = $2, o0 = $3, o1 = $4, o2 = $5, o3 = $6, o4 = $7"
                              " WHERE id = $1",
                              2 + TML_HEAD_COUNT, params, false, "storing an outcome", err);
  if (!r)
    return tml__pg_code(err);
  int rc = strcmp(PQcmdTuples(r), "0") == 0
               ? tml_error_set(err, TML_ENOENT, "no live prediction with id %" PRId64, id)
               : 0;
  PQclear(r);
  return rc;
}

#define PRED_COLUMNS                                                                                            \
  "id, strategy, symbol, interval_ms, candle_ms, model_id, model_version, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9," \
  " v10, v11, stale, created_ms, resolved_ms, o0, o1, o2, o3, o4, action"

/* Binary columns of PRED_COLUMNS. */
static int64_t bin_i64(const PGresult *r, int row, int col) { return tml__pg_get_i64(PQgetvalue(r, row, col)); }
static bool is_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col) != 0; }
static void bin_text(const PGresult *r, int row, int col, char *out, size_t sz) {
  size_t n = (size_t)PQgetlength(r, row, col);
  if (n >= sz)
    n = sz - 1;
  memcpy(out, PQgetvalue(r, row, col), n);
  out[n] = '\0';
}

static void read_row(const PGresult *r, int row, struct tml_live_prediction *p) {
  memset(p, 0, sizeof(*p));
  p->id = bin_i64(r, row, 0);
  bin_text(r, row, 1, p->strategy, sizeof(p->strategy));
  bin_text(r, row, 2, p->symbol, sizeof(p->symbol));
  p->interval_ms = bin_i64(r, row, 3);
  p->candle_ms = bin_i64(r, row, 4);
  p->model_id = bin_i64(r, row, 5);
  bin_text(r, row, 6, p->model_version, sizeof(p->model_version));
  for (int k = 0; k < TML__LIVE_NVALUES; k++) /* stored from a float: exact */
    tml__live_value_set(&p->p, k, is_null(r, row, 7 + k) ? 0.0f : (float)tml__pg_get_f64(PQgetvalue(r, row, 7 + k)));
  p->stale = PQgetvalue(r, row, 19)[0] != 0;
  p->created_ms = bin_i64(r, row, 20);
  p->resolved = !is_null(r, row, 21);
  p->resolved_ms = p->resolved ? bin_i64(r, row, 21) : 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++)
    p->outcome[h] = is_null(r, row, 22 + h) ? NAN : (float)tml__pg_get_f64(PQgetvalue(r, row, 22 + h));
  if (!is_null(r, row, 27))
    bin_text(r, row, 27, p->action, sizeof(p->action));
  tml__live_row_finish(p);
}

/* Runs a select of PRED_COLUMNS (binary results) and collects its rows. */
static int collect(struct pg_live *s, const char *sql, int nparams, const char *const *params, const char *doing,
                   struct tml_live_prediction **out, size_t *n, struct tml_error *err) {
  PGresult *r = tml__pg_query(&s->pg, sql, nparams, params, true, doing, err);
  if (!r)
    return tml__pg_code(err);
  size_t len = (size_t)PQntuples(r);
  struct tml_live_prediction *v = NULL;
  if (len && !(v = malloc(len * sizeof(*v)))) {
    PQclear(r);
    return tml_error_set(err, TML_ENOMEM, "out of memory listing live predictions");
  }
  for (size_t i = 0; i < len; i++)
    read_row(r, (int)i, &v[i]);
  PQclear(r);
  *out = v;
  *n = len;
  return 0;
}

static int pgl_list(void *p_, const struct tml_live_query *q, struct tml_live_prediction **out, size_t *n,
                    struct tml_error *err) {
  char iv[24], since[24], until[24], lim[24];
  const char *params[] = {q->strategy,
                          q->symbol,
                          tml__pg_i64(q->interval_ms, iv),
                          tml__pg_i64(q->since_ms, since),
                          tml__pg_i64(q->until_ms, until),
                          q->resolved_only ? "1" : "0",
                          q->limit ? tml__pg_i64((int64_t)q->limit, lim) : NULL /* LIMIT NULL = all */};
  /* Newest `limit` rows, returned oldest first. */
  return collect(p_,
                 "SELECT * FROM (SELECT " PRED_COLUMNS " FROM live_predictions"
                 " WHERE ($1::text IS NULL OR strategy = $1) AND ($2::text IS NULL OR symbol = $2)"
                 " AND ($3::bigint = 0 OR interval_ms = $3) AND candle_ms >= $4 AND candle_ms <= $5"
                 " AND ($6::integer = 0 OR resolved_ms IS NOT NULL)"
                 " ORDER BY candle_ms DESC, symbol DESC LIMIT $7::bigint) t ORDER BY candle_ms, symbol",
                 7, params, "listing live predictions", out, n, err);
}

static int pgl_latest(void *p_, const char *strategy, int64_t interval_ms, struct tml_live_prediction **out,
                      size_t *n, struct tml_error *err) {
  char iv[24];
  const char *params[] = {strategy, tml__pg_i64(interval_ms, iv)};
  return collect(p_,
                 "SELECT " PRED_COLUMNS " FROM live_predictions p WHERE ($1::text IS NULL OR strategy = $1)"
                 " AND interval_ms = $2 AND candle_ms = (SELECT MAX(candle_ms) FROM live_predictions q"
                 " WHERE q.symbol = p.symbol AND q.strategy = p.strategy AND q.interval_ms = p.interval_ms)"
                 " ORDER BY symbol, strategy",
                 2, params, "reading the latest live predictions", out, n, err);
}

static int pgl_after(void *p_, int64_t after_id, size_t limit, struct tml_live_prediction **out, size_t *n,
                     struct tml_error *err) {
  char a[24], lim[24];
  const char *params[] = {tml__pg_i64(after_id, a), limit ? tml__pg_i64((int64_t)limit, lim) : NULL};
  return collect(p_, "SELECT " PRED_COLUMNS " FROM live_predictions WHERE id > $1 ORDER BY id LIMIT $2::bigint", 2,
                 params, "reading new live predictions", out, n, err);
}

/* A single bigint (text result) into *v; untouched when NULL. */
static int one_i64(struct pg_live *s, const char *sql, int nparams, const char *const *params, const char *doing,
                   int64_t *v, struct tml_error *err) {
  PGresult *r = tml__pg_query(&s->pg, sql, nparams, params, false, doing, err);
  if (!r)
    return tml__pg_code(err);
  if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
    *v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}

static int pgl_max_id(void *p_, int64_t *id, struct tml_error *err) {
  return one_i64(p_, "SELECT MAX(id) FROM live_predictions", 0, NULL, "reading the newest live prediction id", id, err);
}

static int pgl_last_predicted(void *p_, const char *strategy, const char *symbol, int64_t interval_ms,
                              int64_t *candle_ms, struct tml_error *err) {
  char iv[24];
  const char *params[] = {strategy, symbol, tml__pg_i64(interval_ms, iv)};
  return one_i64(p_,
                 "SELECT MAX(candle_ms) FROM live_predictions WHERE strategy = $1 AND symbol = $2 AND interval_ms = $3",
                 3, params, "reading the last live prediction", candle_ms, err);
}

static int pgl_unresolved(void *p_, const char *strategy, const char *symbol, int64_t interval_ms,
                          int64_t max_candle_ms, size_t limit, struct tml_live_prediction **out, size_t *n,
                          struct tml_error *err) {
  char iv[24], mx[24], lim[24];
  const char *params[] = {strategy, symbol, tml__pg_i64(interval_ms, iv), tml__pg_i64(max_candle_ms, mx),
                          limit ? tml__pg_i64((int64_t)limit, lim) : NULL};
  return collect(p_,
                 "SELECT " PRED_COLUMNS " FROM live_predictions WHERE strategy = $1 AND symbol = $2"
                 " AND interval_ms = $3 AND candle_ms <= $4 AND resolved_ms IS NULL ORDER BY candle_ms LIMIT $5::bigint",
                 5, params, "reading unresolved predictions", out, n, err);
}

static int pgl_recent_resolved(void *p_, const char *strategy, const char *symbol, int64_t interval_ms,
                               int64_t model_id, size_t limit, struct tml_live_prediction **out, size_t *n,
                               struct tml_error *err) {
  char iv[24], mid[24], lim[24];
  const char *params[] = {strategy, symbol, tml__pg_i64(interval_ms, iv), tml__pg_i64(model_id, mid),
                          limit ? tml__pg_i64((int64_t)limit, lim) : NULL};
  return collect(p_,
                 "SELECT * FROM (SELECT " PRED_COLUMNS " FROM live_predictions WHERE strategy = $1 AND symbol = $2"
                 " AND interval_ms = $3 AND model_id = $4 AND resolved_ms IS NOT NULL"
                 " ORDER BY candle_ms DESC LIMIT $5::bigint) t ORDER BY candle_ms",
                 5, params, "reading resolved predictions", out, n, err);
}

/* ---- status --------------------------------------------------------------------------------------- */

#define SYM_COLS 17     /* parameters per live_symbols row */
#define SYM_BATCH 100   /* rows per INSERT: 1,700 parameters, one round trip for 100 symbols */
#define I64_TEXT 24

/* The multi-row upsert of n live_symbols rows ($1..$17 the first row, and so on). */
static int symbols_sql(size_t n, struct tml_buf *b) {
  tml_buf_reset(b);
  tml_buf_puts(b, "INSERT INTO live_symbols(strategy, symbol, interval_ms, state, reason, since_ms, next_check_ms,"
                  " model_id, model_version, model_created_ms, job_id, last_candle_ms, last_predicted_ms,"
                  " last_prediction_at_ms, predictions, quality, updated_ms) VALUES ");
  static const char *const cast[SYM_COLS] = {"",        "",        "::bigint", "",         "",        "::bigint",
                                             "::bigint", "::bigint", "",         "::bigint", "::bigint", "::bigint",
                                             "::bigint", "::bigint", "::bigint", "",         "::bigint"};
  for (size_t i = 0; i < n; i++) {
    tml_buf_puts(b, i ? ",(" : "(");
    for (int c = 0; c < SYM_COLS; c++)
      tml_buf_printf(b, "%s$%zu%s", c ? "," : "", i * SYM_COLS + (size_t)c + 1, cast[c]);
    tml_buf_putc(b, ')');
  }
  return tml_buf_puts(b, " ON CONFLICT (strategy, symbol, interval_ms) DO UPDATE SET state = EXCLUDED.state,"
                         " reason = EXCLUDED.reason, since_ms = EXCLUDED.since_ms, next_check_ms = EXCLUDED.next_check_ms,"
                         " model_id = EXCLUDED.model_id, model_version = EXCLUDED.model_version,"
                         " model_created_ms = EXCLUDED.model_created_ms, job_id = EXCLUDED.job_id,"
                         " last_candle_ms = EXCLUDED.last_candle_ms, last_predicted_ms = EXCLUDED.last_predicted_ms,"
                         " last_prediction_at_ms = EXCLUDED.last_prediction_at_ms, predictions = EXCLUDED.predictions,"
                         " quality = EXCLUDED.quality, updated_ms = EXCLUDED.updated_ms");
}

/* Upserts the symbol rows [first, first + n) of st inside the caller's transaction. */
static int save_symbols(struct pg_live *s, const struct tml_live_status *st, size_t first, size_t n,
                        struct tml_buf *sql, struct tml_error *err) {
  int rc = 0;
  const char **params = calloc(n * SYM_COLS, sizeof(*params));
  char(*num)[I64_TEXT] = calloc(n * SYM_COLS, sizeof(*num));
  struct tml_buf *quality = calloc(n, sizeof(*quality));
  char iv[I64_TEXT], upd[I64_TEXT];
  if (!params || !num || !quality) {
    rc = tml_error_set(err, TML_ENOMEM, "out of memory saving the live symbol states");
    goto out;
  }
  tml__pg_i64(st->interval_ms, iv);
  tml__pg_i64(st->updated_ms, upd);
  for (size_t i = 0; i < n && !rc; i++) {
    const struct tml_live_symbol *y = &st->symbols[first + i];
    const char **p = params + i * SYM_COLS;
    char(*x)[I64_TEXT] = num + i * SYM_COLS;
    tml_buf_init(&quality[i], 0);
    if (tml__live_quality_json(&quality[i], y->quality)) {
      rc = tml_error_set(err, TML_ENOMEM, "out of memory saving the live symbol states");
      break;
    }
    p[0] = st->strategy;
    p[1] = y->symbol;
    p[2] = iv;
    p[3] = tml_live_state_name(y->state);
    p[4] = y->reason;
    p[5] = tml__pg_i64(y->since_ms, x[5]);
    p[6] = tml__pg_i64(y->next_check_ms, x[6]);
    p[7] = tml__pg_i64(y->model_id, x[7]);
    p[8] = y->model_version;
    p[9] = tml__pg_i64(y->model_created_ms, x[9]);
    p[10] = tml__pg_i64(y->job_id, x[10]);
    p[11] = tml__pg_i64(y->last_candle_ms, x[11]);
    p[12] = tml__pg_i64(y->last_predicted_ms, x[12]);
    p[13] = tml__pg_i64(y->last_prediction_at_ms, x[13]);
    p[14] = tml__pg_i64((int64_t)y->predictions, x[14]);
    p[15] = tml_buf_str(&quality[i]);
    p[16] = upd;
  }
  if (!rc && symbols_sql(n, sql))
    rc = tml_error_set(err, TML_ENOMEM, "out of memory saving the live symbol states");
  if (!rc)
    rc = tml__pg_exec(&s->pg, tml_buf_str(sql), (int)(n * SYM_COLS), params, "saving the live symbol states", err);
out:
  for (size_t i = 0; quality && i < n; i++)
    tml_buf_release(&quality[i]);
  free(quality);
  free(num);
  free(params);
  return rc;
}

static int pgl_status_save(void *p_, const struct tml_live_status *st, struct tml_error *err) {
  struct pg_live *s = p_;
  struct tml_buf counters, sql;
  tml_buf_init(&counters, 0);
  tml_buf_init(&sql, 0);
  char iv[I64_TEXT], pid[I64_TEXT], upd[I64_TEXT];
  int rc = tml__live_counters_json(&counters, &st->counters) ? tml_error_set(err, TML_ENOMEM, "out of memory") : 0;
  if (!rc)
    rc = tml__pg_begin(&s->pg, err);
  if (rc)
    goto out;
  const char *params[] = {st->strategy,
                          tml__pg_i64(st->interval_ms, iv),
                          st->exchange,
                          st->category,
                          st->universe,
                          st->running ? "true" : "false",
                          tml__pg_i64(st->pid, pid),
                          tml__pg_i64(st->updated_ms, upd),
                          tml_buf_str(&counters),
                          s->host};
  rc = tml__pg_exec(&s->pg,
                    "INSERT INTO live_loop(strategy, interval_ms, exchange, category, universe, running, pid,"
                    " updated_ms, counters, host) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                    " ON CONFLICT (strategy, interval_ms) DO UPDATE SET exchange = $3, category = $4, universe = $5,"
                    " running = $6, pid = $7, updated_ms = $8, counters = $9, host = $10",
                    10, params, "saving the live status", err);
  for (size_t i = 0; !rc && i < st->nsymbols; i += SYM_BATCH)
    rc = save_symbols(s, st, i, TML_MIN((size_t)SYM_BATCH, st->nsymbols - i), &sql, err);
  if (!rc)
    rc = tml__pg_commit(&s->pg, err); /* rolls back on failure */
  else
    tml__pg_rollback(&s->pg);
out:
  tml_buf_release(&counters);
  tml_buf_release(&sql);
  return rc;
}

static int pgl_symbols_load(void *p_, const char *strategy, int64_t interval_ms, struct tml_live_symbol **out,
                            size_t *n, struct tml_error *err) {
  struct pg_live *s = p_;
  char iv[I64_TEXT];
  const char *params[] = {strategy, tml__pg_i64(interval_ms, iv)};
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT symbol, state, reason, since_ms, next_check_ms, model_id, model_version,"
                              " model_created_ms, job_id, last_candle_ms, last_predicted_ms, last_prediction_at_ms,"
                              " predictions, quality FROM live_symbols WHERE strategy = $1 AND interval_ms = $2"
                              " ORDER BY symbol",
                              2, params, false, "reading the live symbol states", err);
  if (!r)
    return tml__pg_code(err);
  size_t len = (size_t)PQntuples(r);
  struct tml_live_symbol *v = NULL;
  if (len && !(v = calloc(len, sizeof(*v)))) {
    PQclear(r);
    return tml_error_set(err, TML_ENOMEM, "out of memory reading the live symbol states");
  }
  for (size_t i = 0; i < len; i++) {
    struct tml_live_symbol *y = &v[i];
    int row = (int)i;
#define I64(col) strtoll(PQgetvalue(r, row, col), NULL, 10)
    snprintf(y->symbol, sizeof(y->symbol), "%s", PQgetvalue(r, row, 0));
    y->state = tml__live_state_or_blocked(PQgetvalue(r, row, 1));
    snprintf(y->reason, sizeof(y->reason), "%s", PQgetvalue(r, row, 2));
    y->since_ms = I64(3);
    y->next_check_ms = I64(4);
    y->model_id = I64(5);
    snprintf(y->model_version, sizeof(y->model_version), "%s", PQgetvalue(r, row, 6));
    y->model_created_ms = I64(7);
    y->job_id = I64(8);
    y->last_candle_ms = I64(9);
    y->last_predicted_ms = I64(10);
    y->last_prediction_at_ms = I64(11);
    y->predictions = (size_t)I64(12);
#undef I64
    tml__live_quality_parse(PQgetvalue(r, row, 13), y->quality);
  }
  PQclear(r);
  *out = v;
  *n = len;
  return 0;
}

static int pgl_loop_load(void *p_, const char *strategy, int64_t interval_ms, struct tml_live_status *out, char *host,
                         size_t hostsz, bool *found, struct tml_error *err) {
  struct pg_live *s = p_;
  char iv[I64_TEXT];
  const char *params[] = {strategy, tml__pg_i64(interval_ms, iv)};
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT strategy, exchange, category, universe, running, pid, updated_ms, counters, host"
                              " FROM live_loop WHERE ($1::text IS NULL OR strategy = $1) AND interval_ms = $2"
                              " ORDER BY updated_ms DESC LIMIT 1",
                              2, params, false, "reading the live status", err);
  if (!r)
    return tml__pg_code(err);
  if (PQntuples(r) == 1) {
    *found = true;
    snprintf(out->strategy, sizeof(out->strategy), "%s", PQgetvalue(r, 0, 0));
    snprintf(out->exchange, sizeof(out->exchange), "%s", PQgetvalue(r, 0, 1));
    snprintf(out->category, sizeof(out->category), "%s", PQgetvalue(r, 0, 2));
    snprintf(out->universe, sizeof(out->universe), "%s", PQgetvalue(r, 0, 3));
    out->running = PQgetvalue(r, 0, 4)[0] == 't';
    out->pid = (int)strtol(PQgetvalue(r, 0, 5), NULL, 10);
    out->updated_ms = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
    tml__live_counters_parse(PQgetvalue(r, 0, 7), &out->counters);
    if (hostsz)
      snprintf(host, hostsz, "%s", PQgetvalue(r, 0, 8));
  }
  PQclear(r);
  return 0;
}

const struct tml__live_backend tml__live_pg = {
    .name = "postgresql",
    .open = pgl_open,
    .close = pgl_close,
    .put = pgl_put,
    .resolve = pgl_resolve,
    .list = pgl_list,
    .latest = pgl_latest,
    .after = pgl_after,
    .max_id = pgl_max_id,
    .last_predicted = pgl_last_predicted,
    .unresolved = pgl_unresolved,
    .recent_resolved = pgl_recent_resolved,
    .status_save = pgl_status_save,
    .symbols_load = pgl_symbols_load,
    .loop_load = pgl_loop_load,
};
