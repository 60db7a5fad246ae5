/* Moving a SQLite install into PostgreSQL (tml_db_copy_sqlite_to_pg in trademl/db.h): table by table,
 * columns matched by name, values converted by the target column's type, streamed with COPY (text
 * format) inside one transaction that commits only when every table's count and order-independent
 * checksum equal the source's. This file is the one place that speaks both SQLite and libpq. */
#include "trademl/db.h"
#include "util/common.h"
#include "util/db_pg.h"

#include <sqlite3.h>

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/hash.h"

/* PostgreSQL type oids (pg_type.dat) the conversion distinguishes. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

enum col_kind { CK_TEXT, CK_INT, CK_REAL, CK_BOOL, CK_BYTEA };

#define MAX_COLS 64

struct table {
  char name[64];
  int ncols;
  char cols[MAX_COLS][64];
  enum col_kind kind[MAX_COLS];
  bool in_target;
  bool copied;
  char deps[8][64]; /* tables its foreign keys reference: copied before it */
  int ndeps;
  size_t src_rows, dst_rows;
  uint64_t src_sum, dst_sum;
};

static enum col_kind kind_of_oid(unsigned oid) {
  switch (oid) {
  case OID_BOOL:
    return CK_BOOL;
  case OID_BYTEA:
    return CK_BYTEA;
  case OID_INT2:
  case OID_INT4:
  case OID_INT8:
    return CK_INT;
  case OID_FLOAT4:
  case OID_FLOAT8:
  case OID_NUMERIC:
    return CK_REAL;
  default:
    return CK_TEXT;
  }
}

/* --- canonical values: the same text from either side ------------------------------------------ */

static const char NULL_MARK[] = "\x01N"; /* no text column holds it (checked: a value equal to it is text) */

static void fmt_real(double d, char *out, size_t outsz) {
  if (isnan(d))
    snprintf(out, outsz, "NaN");
  else if (isinf(d))
    snprintf(out, outsz, d > 0 ? "Infinity" : "-Infinity");
  else
    snprintf(out, outsz, "%.17g", d);
}

/* Canonical text of SQLite column i of st as the target kind wants it into b (NULL -> NULL_MARK). */
static int canon_sqlite(sqlite3_stmt *st, int i, enum col_kind k, struct tml_buf *b) {
  int t = sqlite3_column_type(st, i);
  char num[64];
  if (t == SQLITE_NULL)
    return tml_buf_puts(b, NULL_MARK);
  switch (k) {
  case CK_INT:
    return tml_buf_printf(b, "%lld", (long long)sqlite3_column_int64(st, i));
  case CK_REAL:
    fmt_real(sqlite3_column_double(st, i), num, sizeof(num));
    return tml_buf_puts(b, num);
  case CK_BOOL:
    return tml_buf_puts(b, sqlite3_column_int64(st, i) ? "t" : "f");
  case CK_BYTEA: {
    const unsigned char *p = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    int rc = tml_buf_puts(b, "\\x");
    for (int j = 0; !rc && j < n; j++)
      rc = tml_buf_printf(b, "%02x", p[j]);
    return rc;
  }
  case CK_TEXT:
  default: {
    const unsigned char *p = sqlite3_column_text(st, i);
    return tml_buf_append(b, p ? (const char *)p : "", (size_t)sqlite3_column_bytes(st, i));
  }
  }
}

/* Canonical text of a PostgreSQL text-format value. */
static int canon_pg(const PGresult *r, int row, int col, enum col_kind k, struct tml_buf *b) {
  if (PQgetisnull(r, row, col))
    return tml_buf_puts(b, NULL_MARK);
  const char *v = PQgetvalue(r, row, col);
  char num[64];
  switch (k) {
  case CK_INT:
    return tml_buf_printf(b, "%lld", strtoll(v, NULL, 10));
  case CK_REAL:
    fmt_real(strtod(v, NULL), num, sizeof(num));
    return tml_buf_puts(b, num);
  case CK_BOOL:
    return tml_buf_puts(b, v[0] == 't' ? "t" : "f");
  case CK_BYTEA:
  case CK_TEXT:
  default:
    return tml_buf_append(b, v, (size_t)PQgetlength(r, row, col));
  }
}

/* COPY text-format escaping of one field. */
static int copy_escape(struct tml_buf *out, const char *v, size_t n) {
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    char c = v[i];
    switch (c) {
    case '\\':
      rc = tml_buf_puts(out, "\\\\");
      break;
    case '\t':
      rc = tml_buf_puts(out, "\\t");
      break;
    case '\n':
      rc = tml_buf_puts(out, "\\n");
      break;
    case '\r':
      rc = tml_buf_puts(out, "\\r");
      break;
    default:
      rc = tml_buf_putc(out, c);
    }
  }
  return rc;
}

static uint64_t row_hash(const struct tml_buf *row) {
  return tml_fnv1a64(TML_FNV64_INIT, tml_buf_str(row), row->len);
}

/* --- reading both sides -------------------------------------------------------------------------- */

struct ctx {
  sqlite3 *src;
  const char *src_path;
  struct tml__pg pg;
  struct table *tables;
  size_t ntables;
};

static int sq_error(struct ctx *c, const char *doing, struct tml_error *err) {
  return tml_error_set(err, TML_EDB, "reading SQLite database '%s' (%s): %s", c->src_path, doing, sqlite3_errmsg(c->src));
}

static char *quote_ident(struct ctx *c, const char *name) { return PQescapeIdentifier(c->pg.conn, name, strlen(name)); }

/* "SELECT "a", "b" FROM "t"" over the table's common columns, for either side. */
static int select_sql(struct ctx *c, const struct table *t, bool pg_quoting, struct tml_buf *sql) {
  int rc = tml_buf_puts(sql, "SELECT ");
  for (int i = 0; !rc && i < t->ncols; i++) {
    if (i)
      rc = tml_buf_puts(sql, ", ");
    if (pg_quoting) {
      char *q = quote_ident(c, t->cols[i]);
      rc = q ? tml_buf_puts(sql, q) : TML_ENOMEM;
      PQfreemem(q);
    } else {
      rc = tml_buf_printf(sql, "\"%s\"", t->cols[i]); /* names from sqlite_master, checked plain below */
    }
  }
  if (!rc)
    rc = tml_buf_puts(sql, " FROM ");
  if (!rc && pg_quoting) {
    char *q = quote_ident(c, t->name);
    rc = q ? tml_buf_puts(sql, q) : TML_ENOMEM;
    PQfreemem(q);
  } else if (!rc) {
    rc = tml_buf_printf(sql, "\"%s\"", t->name);
  }
  return rc;
}

/* A name is used only when it is plain ([A-Za-z0-9_]), so quoting can never be escaped. */
static bool plain_name(const char *s) {
  if (!*s || strlen(s) >= 64)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

static int source_sum(struct ctx *c, struct table *t, struct tml_error *err) {
  struct tml_buf sql, row;
  tml_buf_init(&sql, 0);
  tml_buf_init(&row, 0);
  sqlite3_stmt *st = NULL;
  int rc = select_sql(c, t, false, &sql);
  if (!rc && sqlite3_prepare_v2(c->src, tml_buf_str(&sql), -1, &st, NULL) != SQLITE_OK)
    rc = sq_error(c, t->name, err);
  t->src_rows = 0;
  t->src_sum = 0;
  int step;
  while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
    tml_buf_reset(&row);
    for (int i = 0; !rc && i < t->ncols; i++)
      rc = (i ? tml_buf_putc(&row, '\x1f') : 0) || canon_sqlite(st, i, t->kind[i], &row);
    t->src_sum += row_hash(&row);
    t->src_rows++;
  }
  if (!rc && step != SQLITE_DONE)
    rc = sq_error(c, t->name, err);
  if (rc && !(err && err->code))
    rc = tml_error_set(err, TML_ENOMEM, "out of memory reading table %s", t->name);
  sqlite3_finalize(st);
  tml_buf_release(&sql);
  tml_buf_release(&row);
  return rc;
}

static int target_sum(struct ctx *c, struct table *t, struct tml_error *err) {
  struct tml_buf sql, row;
  tml_buf_init(&sql, 0);
  tml_buf_init(&row, 0);
  int rc = select_sql(c, t, true, &sql);
  PGresult *r = NULL;
  if (!rc) {
    /* Single-row mode would save memory; a table's rows fit comfortably for the sizes migrated here. */
    r = tml__pg_query(&c->pg, tml_buf_str(&sql), 0, NULL, false, "reading a target table", err);
    if (!r)
      rc = tml__pg_code(err);
  }
  t->dst_rows = 0;
  t->dst_sum = 0;
  int n = r ? PQntuples(r) : 0;
  for (int j = 0; !rc && j < n; j++) {
    tml_buf_reset(&row);
    for (int i = 0; !rc && i < t->ncols; i++)
      rc = (i ? tml_buf_putc(&row, '\x1f') : 0) || canon_pg(r, j, i, t->kind[i], &row);
    t->dst_sum += row_hash(&row);
    t->dst_rows++;
  }
  PQclear(r);
  tml_buf_release(&sql);
  tml_buf_release(&row);
  return rc;
}

static bool skipped(const char *skip, const char *name) {
  if (!skip)
    return false;
  size_t n = strlen(name);
  for (const char *p = skip; *p;) {
    size_t len = strcspn(p, ",");
    if (len == n && strncmp(p, name, n) == 0)
      return true;
    p += len + (p[len] == ',');
  }
  return false;
}

/* Source tables, their columns, and the target's columns and types. */
static int describe(struct ctx *c, const char *skip, struct tml_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = 0;
  if (sqlite3_prepare_v2(c->src,
                         "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                         " ORDER BY name",
                         -1, &st, NULL) != SQLITE_OK)
    return sq_error(c, "listing tables", err);
  while (!rc && sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    if (!name || !plain_name(name)) {
      rc = tml_error_set(err, TML_EINVAL, "SQLite database '%s' has a table named '%.64s': not a trademl table name",
                         c->src_path, name ? name : "");
      break;
    }
    if (c->ntables == TML_DB_COPY_MAX_TABLES) {
      rc = tml_error_set(err, TML_ETOOBIG, "SQLite database '%s' has more than %d tables", c->src_path,
                         TML_DB_COPY_MAX_TABLES);
      break;
    }
    struct table *t = &c->tables[c->ntables++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
  }
  sqlite3_finalize(st);
  for (size_t k = 0; !rc && k < c->ntables; k++) {
    struct table *t = &c->tables[k];
    /* Target columns and types. */
    const char *params[] = {t->name};
    PGresult *r = tml__pg_query(&c->pg,
                                "SELECT a.attname, a.atttypid::integer FROM pg_attribute a"
                                " WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped"
                                " ORDER BY a.attnum",
                                1, params, false, "reading the target's columns", err);
    if (!r)
      return tml__pg_code(err);
    int ntarget = PQntuples(r);
    t->in_target = ntarget > 0 && !skipped(skip, t->name); /* a skipped table is left behind */
    PGresult *fk = tml__pg_query(&c->pg,
                                 "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint"
                                 " WHERE conrelid = to_regclass(quote_ident($1)) AND contype = 'f' AND confrelid <> conrelid",
                                 1, params, false, "reading the target's foreign keys", err);
    if (!fk) {
      PQclear(r);
      return tml__pg_code(err);
    }
    for (int j = 0; j < PQntuples(fk) && t->ndeps < 8; j++)
      snprintf(t->deps[t->ndeps++], sizeof(t->deps[0]), "%s", PQgetvalue(fk, j, 0));
    PQclear(fk);
    /* Source columns, in their order, matched by name. */
    char sql[128];
    snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", t->name);
    sqlite3_stmt *ti = NULL;
    if (sqlite3_prepare_v2(c->src, sql, -1, &ti, NULL) != SQLITE_OK) {
      PQclear(r);
      return sq_error(c, "reading columns", err);
    }
    while (!rc && sqlite3_step(ti) == SQLITE_ROW) {
      const char *col = (const char *)sqlite3_column_text(ti, 1);
      if (!col || !plain_name(col) || t->ncols == MAX_COLS) {
        rc = tml_error_set(err, TML_EINVAL, "SQLite table %s has a column '%.64s' trademl cannot copy", t->name,
                           col ? col : "");
        break;
      }
      int found = -1;
      for (int j = 0; j < ntarget; j++)
        if (strcmp(PQgetvalue(r, j, 0), col) == 0)
          found = j;
      if (t->in_target && found < 0) {
        rc = tml_error_set(err, TML_ECONFLICT,
                           "cannot migrate table %s: the PostgreSQL table has no column '%s' (is the target's schema "
                           "older than this SQLite file's? run `trademl db init` with the same trademl version); "
                           "nothing was written",
                           t->name, col);
        break;
      }
      snprintf(t->cols[t->ncols], sizeof(t->cols[0]), "%s", col);
      t->kind[t->ncols] = found >= 0 ? kind_of_oid((unsigned)strtoul(PQgetvalue(r, found, 1), NULL, 10)) : CK_TEXT;
      t->ncols++;
    }
    sqlite3_finalize(ti);
    PQclear(r);
  }
  return rc;
}

/* --- copying ---------------------------------------------------------------------------------- */

static int copy_table(struct ctx *c, struct table *t, struct tml_error *err) {
  struct tml_buf sql, line;
  tml_buf_init(&sql, 0);
  tml_buf_init(&line, 0);
  sqlite3_stmt *st = NULL;
  int rc = select_sql(c, t, false, &sql);
  if (!rc && sqlite3_prepare_v2(c->src, tml_buf_str(&sql), -1, &st, NULL) != SQLITE_OK)
    rc = sq_error(c, t->name, err);
  /* COPY "t" ("a", "b") FROM STDIN */
  tml_buf_reset(&sql);
  char *qt = quote_ident(c, t->name);
  rc = rc ? rc : tml_buf_printf(&sql, "COPY %s (", qt ? qt : "?");
  PQfreemem(qt);
  for (int i = 0; !rc && i < t->ncols; i++) {
    char *q = quote_ident(c, t->cols[i]);
    rc = tml_buf_printf(&sql, "%s%s", i ? ", " : "", q ? q : "?");
    PQfreemem(q);
  }
  rc = rc ? rc : tml_buf_puts(&sql, ") FROM STDIN");
  if (rc)
    goto out;
  PGresult *r = PQexec(c->pg.conn, tml_buf_str(&sql));
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    rc = tml__pg_error(&c->pg, r, "starting COPY", err);
    PQclear(r);
    goto out;
  }
  PQclear(r);
  bool ok = true;
  int step;
  char num[64];
  while (ok && (step = sqlite3_step(st)) == SQLITE_ROW) {
    for (int i = 0; i < t->ncols; i++) {
      if (i)
        tml_buf_putc(&line, '\t');
      if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        tml_buf_puts(&line, "\\N");
        continue;
      }
      switch (t->kind[i]) {
      case CK_INT:
        tml_buf_printf(&line, "%lld", (long long)sqlite3_column_int64(st, i));
        break;
      case CK_REAL:
        fmt_real(sqlite3_column_double(st, i), num, sizeof(num));
        tml_buf_puts(&line, num);
        break;
      case CK_BOOL:
        tml_buf_puts(&line, sqlite3_column_int64(st, i) ? "t" : "f");
        break;
      case CK_BYTEA: {
        const unsigned char *p = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        tml_buf_puts(&line, "\\\\x");
        for (int j = 0; j < n; j++)
          tml_buf_printf(&line, "%02x", p[j]);
        break;
      }
      case CK_TEXT:
      default:
        copy_escape(&line, (const char *)sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
      }
    }
    tml_buf_putc(&line, '\n');
    if (line.len >= 1 << 20) {
      ok = PQputCopyData(c->pg.conn, tml_buf_str(&line), (int)line.len) == 1;
      tml_buf_reset(&line);
    }
  }
  if (ok && line.len)
    ok = PQputCopyData(c->pg.conn, tml_buf_str(&line), (int)line.len) == 1;
  bool read_ok = step == SQLITE_DONE;
  PQputCopyEnd(c->pg.conn, ok && read_ok ? NULL : "source read failed");
  while ((r = PQgetResult(c->pg.conn)) != NULL) {
    if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK) {
      rc = read_ok ? tml__pg_error(&c->pg, r, "copying rows", err) : sq_error(c, t->name, err);
      tml_error_prefix(err, "table %s", t->name);
    }
    PQclear(r);
  }
  if (!rc && (!ok || !read_ok))
    rc = read_ok ? tml__pg_error(&c->pg, NULL, "copying rows", err) : sq_error(c, t->name, err);
out:
  sqlite3_finalize(st);
  tml_buf_release(&sql);
  tml_buf_release(&line);
  return rc;
}

/* Moves the table's id sequence (if it has one) past the highest copied id. */
static int bump_sequence(struct ctx *c, const struct table *t, struct tml_error *err) {
  bool has_id = false;
  for (int i = 0; i < t->ncols; i++)
    has_id |= strcmp(t->cols[i], "id") == 0 && t->kind[i] == CK_INT;
  if (!has_id)
    return 0;
  const char *params[] = {t->name};
  PGresult *r = tml__pg_query(&c->pg, "SELECT pg_get_serial_sequence(quote_ident($1), 'id')", 1, params, false,
                              "finding the id sequence", err);
  if (!r)
    return tml__pg_code(err);
  bool has_seq = !PQgetisnull(r, 0, 0);
  PQclear(r);
  if (!has_seq)
    return 0;
  char *qt = quote_ident(c, t->name);
  char sql[256];
  snprintf(sql, sizeof(sql),
           "SELECT setval(pg_get_serial_sequence(quote_ident($1), 'id'), coalesce(max(id), 1), max(id) IS NOT NULL)"
           " FROM %s",
           qt ? qt : "?");
  PQfreemem(qt);
  return tml__pg_exec(&c->pg, sql, 1, params, "moving the id sequence", err);
}

/* Copies one table into its empty target table and checks count and checksum (inside the caller's
 * transaction); tables with nothing to copy are left alone. */
static int copy_one(struct ctx *c, struct table *t, struct tml_error *err) {
  if (!t->in_target || !t->src_rows || t->dst_rows)
    return 0;
  int rc = copy_table(c, t, err);
  if (!rc)
    rc = target_sum(c, t, err);
  if (!rc && (t->dst_rows != t->src_rows || t->dst_sum != t->src_sum))
    rc = tml_error_set(err, TML_EDB,
                       "table %s: after the copy the target holds %zu rows with another checksum than the source's "
                       "%zu; nothing was written",
                       t->name, t->dst_rows, t->src_rows);
  if (!rc)
    rc = bump_sequence(c, t, err);
  t->copied = !rc;
  return rc;
}

int tml_db_copy_sqlite_to_pg(const char *sqlite_path, const char *pg_url, const char *skip,
                             struct tml_db_copy_report *report, struct tml_error *err) {
  if (report)
    memset(report, 0, sizeof(*report));
  if (!tml_path_exists(sqlite_path))
    return tml_error_set(err, TML_ENOENT, "no SQLite database at '%s' (the default is <home>/trademl.db)", sqlite_path);
  if (tml_db_kind_of(pg_url) != TML_DB_POSTGRES)
    return tml_error_set(err, TML_EINVAL,
                         "the target must be a PostgreSQL database: set data.database (or TRADEML_DATABASE_URL) to a "
                         "postgresql:// URL");
  struct ctx c;
  memset(&c, 0, sizeof(c));
  c.src_path = sqlite_path;
  c.tables = calloc(TML_DB_COPY_MAX_TABLES, sizeof(*c.tables));
  if (!c.tables)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  int rc = 0;
  if (sqlite3_open_v2(sqlite_path, &c.src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    rc = tml_error_set(err, TML_EDB, "cannot open SQLite database '%s': %s", sqlite_path,
                       c.src ? sqlite3_errmsg(c.src) : "out of memory");
    goto out;
  }
  sqlite3_busy_timeout(c.src, 5000);
  /* One read transaction: the source does not change under the copy. */
  if (sqlite3_exec(c.src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
    rc = sq_error(&c, "starting a read transaction", err);
    goto out;
  }
  if ((rc = tml__pg_connect(&c.pg, pg_url, "migration target", err)) || (rc = describe(&c, skip, err)))
    goto out;
  /* Check everything before writing anything. */
  char missing[1024] = "";
  for (size_t k = 0; !rc && k < c.ntables; k++) {
    struct table *t = &c.tables[k];
    if ((rc = source_sum(&c, t, err)))
      break;
    if (!t->in_target) {
      if (t->src_rows && !skipped(skip, t->name))
        snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s (%zu rows)",
                 missing[0] ? ", " : "", t->name, t->src_rows);
      continue;
    }
    if ((rc = target_sum(&c, t, err)))
      break;
    if (t->dst_rows && (t->dst_rows != t->src_rows || t->dst_sum != t->src_sum)) {
      char a[17], b[17];
      tml_hash_hex(t->src_sum, a);
      tml_hash_hex(t->dst_sum, b);
      rc = tml_error_set(err, TML_ECONFLICT,
                         "cannot migrate into %s: its table %s already holds %zu rows (checksum %s) that are not the "
                         "%zu rows of '%s' (checksum %s); migrate into an empty database (createdb, then `trademl db "
                         "init`); nothing was written",
                         c.pg.shown, t->name, t->dst_rows, b, t->src_rows, sqlite_path, a);
    }
  }
  if (!rc && missing[0])
    rc = tml_error_set(err, TML_ECONFLICT,
                       "cannot migrate '%s': the PostgreSQL database has no table for %s (this trademl keeps them only "
                       "in SQLite); pass --skip TABLE,... to leave them behind knowingly; nothing was written",
                       sqlite_path, missing);
  if (rc)
    goto out;
  if ((rc = tml__pg_begin(&c.pg, err)))
    goto out;
  /* Referenced tables before the tables that reference them (foreign keys). */
  bool done[TML_DB_COPY_MAX_TABLES] = {false};
  for (size_t pass = 0; !rc && pass < c.ntables; pass++) {
    for (size_t k = 0; !rc && k < c.ntables; k++) {
      struct table *t = &c.tables[k];
      bool ready = !done[k];
      for (int d = 0; ready && d < t->ndeps; d++)
        for (size_t o = 0; o < c.ntables; o++)
          if (o != k && !done[o] && strcmp(c.tables[o].name, t->deps[d]) == 0)
            ready = false;
      if (!ready)
        continue;
      done[k] = true;
      rc = copy_one(&c, t, err);
    }
  }
  for (size_t k = 0; !rc && k < c.ntables; k++)
    if (!done[k]) /* a cycle of foreign keys: copy in name order and let the database judge */
      rc = copy_one(&c, &c.tables[k], err);
  if (!rc)
    rc = tml__pg_commit(&c.pg, err);
  else
    tml__pg_rollback(&c.pg);
  if (rc)
    goto out;
  if (report) {
    for (size_t k = 0; k < c.ntables; k++) {
      struct table *t = &c.tables[k];
      struct tml_db_table_report *tr = &report->tables[report->ntables++];
      snprintf(tr->table, sizeof(tr->table), "%s", t->name);
      tr->source_rows = t->src_rows;
      tr->target_rows = t->in_target ? t->dst_rows : 0;
      tml_hash_hex(t->src_sum, tr->source_sum);
      tml_hash_hex(t->in_target ? t->dst_sum : 0, tr->target_sum);
      tr->outcome = !t->src_rows ? TML_DB_EMPTY : !t->in_target ? TML_DB_SKIPPED : t->copied ? TML_DB_COPIED : TML_DB_SAME;
    }
  }
out:
  if (c.src) {
    sqlite3_exec(c.src, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(c.src);
  }
  tml__pg_close(&c.pg);
  free(c.tables);
  return rc;
}
