/* The registry's PostgreSQL backend (contract in registry_backend.h). Tables `models` and
 * `model_symbols` as in SQLite (ids from a sequence, never reused; a partial unique index allows one
 * active row per (strategy, key, interval)), plus `model_files`: every file of a registered model set
 * as bytea with its size and FNV-1a 64 checksum, so a set trained on one host is served on another
 * with no shared file system (registry.c fills a host's folder from it on demand). Writers take the
 * models table in SHARE ROW EXCLUSIVE mode (readers go on; a second writer waits up to
 * TML_REGISTRY_BUSY_TIMEOUT_MS, then TML_EBUSY). The users' views ml_model_registry and
 * ml_training_metrics are created here too. Every statement is bound; no SQL is built from input. */
#include "registry/registry_backend.h"
#include "util/common.h"
#include "util/db_pg.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/hash.h"

static const struct tml__pg_migration MIGRATIONS[] = {
    {1, "model registry tables",
     "CREATE TABLE IF NOT EXISTS models ("
     " id bigserial PRIMARY KEY,"
     " strategy text NOT NULL,"
     " key text NOT NULL,"
     " symbols text NOT NULL,"
     " nsymbols integer NOT NULL,"
     " interval_ms bigint NOT NULL,"
     " version text NOT NULL,"
     " path text NOT NULL UNIQUE,"
     " active boolean NOT NULL DEFAULT false,"
     " status_reason text NOT NULL DEFAULT '',"
     " metric text NOT NULL DEFAULT '',"
     " score double precision," /* NULL = no value */
     " has_report boolean NOT NULL DEFAULT false,"
     " gates_passed boolean NOT NULL DEFAULT false,"
     " data_from_ms bigint NOT NULL DEFAULT 0,"
     " data_to_ms bigint NOT NULL DEFAULT 0,"
     " feature_version integer NOT NULL DEFAULT 0,"
     " feature_checksum text NOT NULL DEFAULT '',"
     " input_hash text NOT NULL DEFAULT '',"
     " job_id bigint NOT NULL DEFAULT 0,"
     " created_ms bigint NOT NULL,"
     " metrics_json text NOT NULL DEFAULT '{}');"
     "CREATE UNIQUE INDEX IF NOT EXISTS models_one_active ON models(strategy, key, interval_ms) WHERE active;"
     "CREATE INDEX IF NOT EXISTS models_group ON models(strategy, key, interval_ms, created_ms);"
     "CREATE TABLE IF NOT EXISTS model_symbols ("
     " model_id bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
     " symbol text NOT NULL,"
     " PRIMARY KEY (model_id, symbol));"
     "CREATE INDEX IF NOT EXISTS model_symbols_symbol ON model_symbols(symbol, model_id);"
     "CREATE TABLE IF NOT EXISTS model_files ("
     " model_id bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
     " name text NOT NULL," /* relative path inside the set's folder */
     " size bigint NOT NULL,"
     " checksum text NOT NULL," /* FNV-1a 64 of the bytes, 16 hex */
     " data bytea NOT NULL,"
     " PRIMARY KEY (model_id, name))"},
    {2, "views ml_model_registry and ml_training_metrics",
     /* The tables existing users query (docs/postgresql.md): one row per model set; one row per numeric
      * metric of a head. */
     "CREATE OR REPLACE VIEW ml_model_registry AS SELECT id AS model_id, strategy AS strategy_type,"
     " symbols AS symbol, to_timestamp(created_ms / 1000.0) AS created_at, active AS is_active,"
     " interval_ms, version, path, status_reason, metric, score, gates_passed, job_id"
     " FROM models;"
     "CREATE OR REPLACE VIEW ml_training_metrics AS SELECT m.id AS model_id, m.job_id,"
     " m.strategy AS strategy_type, m.symbols AS symbol, m.interval_ms,"
     " to_timestamp(m.created_ms / 1000.0) AS created_at, h.key AS head, x.key AS metric_name,"
     " (x.value #>> '{}')::double precision AS metric_value"
     " FROM models m"
     " CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(m.metrics_json::jsonb) = 'object'"
     "   THEN m.metrics_json::jsonb ELSE '{}'::jsonb END) h"
     " CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(h.value) = 'object' THEN h.value ELSE '{}'::jsonb END) x"
     " WHERE jsonb_typeof(x.value) = 'number'"},
};

#define COLS                                                                                            \
  "id, strategy, key, symbols, nsymbols, interval_ms, version, path, active, status_reason, metric, score," \
  " has_report, gates_passed, data_from_ms, data_to_ms, feature_version, feature_checksum, input_hash,"   \
  " job_id, created_ms, metrics_json"

struct pg_registry {
  struct tml__pg pg;
};

static void pgr_close(void *p) {
  struct pg_registry *s = p;
  if (!s)
    return;
  tml__pg_close(&s->pg);
  free(s);
}

static int pgr_open(const char *location, void **out, struct tml_error *err) {
  *out = NULL;
  struct pg_registry *s = calloc(1, sizeof(*s));
  if (!s)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the model registry");
  int rc = tml__pg_connect(&s->pg, location, "model registry", err);
  if (!rc)
    rc = tml__pg_migrate(&s->pg, "registry", MIGRATIONS, (int)TML_ARRAY_LEN(MIGRATIONS), NULL, err);
  if (rc) {
    pgr_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

static int pgr_begin(void *p, struct tml_error *err) {
  struct pg_registry *s = p;
  char set_wait[64]; /* a constant, not input */
  snprintf(set_wait, sizeof(set_wait), "SET LOCAL lock_timeout = '%dms'", TML_REGISTRY_BUSY_TIMEOUT_MS);
  int rc = tml__pg_begin(&s->pg, err);
  if (!rc)
    rc = tml__pg_exec(&s->pg, set_wait, 0, NULL, "setting the lock wait", err);
  if (!rc)
    rc = tml__pg_exec(&s->pg, "LOCK TABLE models IN SHARE ROW EXCLUSIVE MODE", 0, NULL,
                      "waiting for other registry writers", err);
  if (rc)
    tml__pg_rollback(&s->pg);
  return rc;
}

static int pgr_commit(void *p, struct tml_error *err) { return tml__pg_commit(&((struct pg_registry *)p)->pg, err); }
static void pgr_rollback(void *p) { tml__pg_rollback(&((struct pg_registry *)p)->pg); }

static void copy_col(PGresult *r, int row, int col, char *out, size_t outsz) {
  snprintf(out, outsz, "%s", PQgetvalue(r, row, col));
}

static char *dup_col(PGresult *r, int row, int col) {
  size_t n = (size_t)PQgetlength(r, row, col);
  char *s = malloc(n + 1);
  if (!s)
    return NULL;
  memcpy(s, PQgetvalue(r, row, col), n);
  s[n] = '\0';
  return s;
}

static bool col_bool(PGresult *r, int row, int col) { return PQgetvalue(r, row, col)[0] == 't'; }
static int64_t col_i64(PGresult *r, int row, int col) { return strtoll(PQgetvalue(r, row, col), NULL, 10); }

/* Fills r from result row `row` (column order of COLS, text format). */
static int read_row(PGresult *res, int row, struct tml_model_row *r) {
  tml_model_row_release(r);
  tml_model_row_init(r);
  r->id = col_i64(res, row, 0);
  copy_col(res, row, 1, r->strategy, sizeof(r->strategy));
  copy_col(res, row, 2, r->key, sizeof(r->key));
  r->symbols = dup_col(res, row, 3);
  r->nsymbols = (size_t)col_i64(res, row, 4);
  r->interval_ms = col_i64(res, row, 5);
  copy_col(res, row, 6, r->version, sizeof(r->version));
  copy_col(res, row, 7, r->path, sizeof(r->path));
  r->active = col_bool(res, row, 8);
  copy_col(res, row, 9, r->status_reason, sizeof(r->status_reason));
  copy_col(res, row, 10, r->metric, sizeof(r->metric));
  r->score = PQgetisnull(res, row, 11) ? (double)NAN : strtod(PQgetvalue(res, row, 11), NULL);
  r->has_report = col_bool(res, row, 12);
  r->gates_passed = col_bool(res, row, 13);
  r->data_from_ms = col_i64(res, row, 14);
  r->data_to_ms = col_i64(res, row, 15);
  r->feature_version = (int)col_i64(res, row, 16);
  copy_col(res, row, 17, r->feature_checksum, sizeof(r->feature_checksum));
  copy_col(res, row, 18, r->input_hash, sizeof(r->input_hash));
  r->job_id = col_i64(res, row, 19);
  r->created_ms = col_i64(res, row, 20);
  r->metrics_json = dup_col(res, row, 21);
  return r->symbols && r->metrics_json ? 0 : TML_ENOMEM;
}

/* Runs a single-row query into *row; TML_ENOENT (err untouched) when it yields nothing. */
static int fetch_one(struct pg_registry *s, const char *sql, int n, const char *const *params,
                     struct tml_model_row *row, const char *doing, struct tml_error *err) {
  PGresult *r = tml__pg_query(&s->pg, sql, n, params, false, doing, err);
  if (!r)
    return tml__pg_code(err);
  int rc = 0;
  if (PQntuples(r) == 0)
    rc = TML_ENOENT;
  else if (read_row(r, 0, row))
    rc = tml_error_set(err, TML_ENOMEM, "out of memory reading the model registry");
  PQclear(r);
  return rc;
}

static const char *b(bool v) { return v ? "true" : "false"; }

static int pgr_insert(void *p, const struct tml_model_row *r, int64_t *id, struct tml_error *err) {
  struct pg_registry *s = p;
  char nsym[24], iv[24], from[24], to[24], fv[24], job[24], created[24], score[40];
  if (!isnan(r->score))
    snprintf(score, sizeof(score), "%.17g", r->score);
  const char *params[21] = {r->strategy,
                            r->key,
                            r->symbols ? r->symbols : "",
                            tml__pg_i64((int64_t)r->nsymbols, nsym),
                            tml__pg_i64(r->interval_ms, iv),
                            r->version,
                            r->path,
                            b(r->active),
                            r->status_reason,
                            r->metric,
                            isnan(r->score) ? NULL : score,
                            b(r->has_report),
                            b(r->gates_passed),
                            tml__pg_i64(r->data_from_ms, from),
                            tml__pg_i64(r->data_to_ms, to),
                            tml__pg_i64(r->feature_version, fv),
                            r->feature_checksum,
                            r->input_hash,
                            tml__pg_i64(r->job_id, job),
                            tml__pg_i64(r->created_ms, created),
                            r->metrics_json ? r->metrics_json : "{}"};
  struct tml_error local;
  tml_error_init(&local);
  PGresult *res = tml__pg_query(&s->pg,
                                "INSERT INTO models(strategy, key, symbols, nsymbols, interval_ms, version, path, active,"
                                " status_reason, metric, score, has_report, gates_passed, data_from_ms, data_to_ms,"
                                " feature_version, feature_checksum, input_hash, job_id, created_ms, metrics_json)"
                                " VALUES ($1, $2, $3, $4::integer, $5::bigint, $6, $7, $8::boolean, $9, $10,"
                                " $11::double precision, $12::boolean, $13::boolean, $14::bigint, $15::bigint,"
                                " $16::integer, $17, $18, $19::bigint, $20::bigint, $21) RETURNING id",
                                21, params, false, "inserting a model row", &local);
  if (!res) {
    if (local.code == TML_ECONFLICT)
      return tml_error_set(err, r->active ? TML_ECONFLICT : TML_EEXIST, "model registry '%s': '%s' %s", s->pg.shown,
                           r->path,
                           r->active ? "cannot be active: another row of its group is active" : "is already registered");
    return tml_error_set(err, local.code, "%s", local.msg);
  }
  *id = col_i64(res, 0, 0);
  PQclear(res);
  /* One model_symbols row per symbol of the comma-separated list (duplicates ignored). */
  char idbuf[24];
  const char *sp[] = {tml__pg_i64(*id, idbuf), r->symbols ? r->symbols : ""};
  return tml__pg_exec(&s->pg,
                      "INSERT INTO model_symbols(model_id, symbol) SELECT $1::bigint, x"
                      " FROM unnest(string_to_array($2, ',')) AS x WHERE x <> '' ON CONFLICT DO NOTHING",
                      2, sp, "inserting a model's symbols", err);
}

static int pgr_get(void *p, int64_t id, struct tml_model_row *row, struct tml_error *err) {
  char idbuf[24];
  const char *params[] = {tml__pg_i64(id, idbuf)};
  int rc = fetch_one(p, "SELECT " COLS " FROM models WHERE id = $1::bigint", 1, params, row, "reading a model row", err);
  if (rc == TML_ENOENT)
    return tml_error_set(err, TML_ENOENT,
                         "no model with id %" PRId64 " in the registry ('trademl models list --all' shows the ids)", id);
  return rc;
}

static int pgr_find_path(void *p, const char *path, int64_t *id, struct tml_error *err) {
  struct pg_registry *s = p;
  const char *params[] = {path};
  PGresult *r = tml__pg_query(&s->pg, "SELECT id FROM models WHERE path = $1", 1, params, false,
                              "looking up a model folder", err);
  if (!r)
    return tml__pg_code(err);
  *id = PQntuples(r) ? col_i64(r, 0, 0) : 0;
  PQclear(r);
  return 0;
}

static int pgr_active_in_group(void *p, const char *strategy, const char *key, int64_t interval_ms,
                               struct tml_model_row *row, struct tml_error *err) {
  char iv[24];
  const char *params[] = {strategy, key, tml__pg_i64(interval_ms, iv)};
  return fetch_one(p,
                   "SELECT " COLS " FROM models WHERE strategy = $1 AND key = $2 AND interval_ms = $3::bigint"
                   " AND active",
                   3, params, row, "reading the active model", err);
}

static int pgr_active_for_symbol(void *p, const char *strategy, const char *symbol, int64_t interval_ms,
                                 struct tml_model_row *row, struct tml_error *err) {
  char iv[24];
  const char *params[] = {strategy, symbol, tml__pg_i64(interval_ms, iv)};
  return fetch_one(p,
                   "SELECT " COLS " FROM models WHERE active AND interval_ms = $3::bigint"
                   " AND ($1::text IS NULL OR strategy = $1)"
                   " AND id IN (SELECT model_id FROM model_symbols WHERE symbol = $2)"
                   " ORDER BY (key = $2) DESC, created_ms DESC, id DESC LIMIT 1",
                   3, params, row, "reading the active model", err);
}

static int pgr_list(void *p, const struct tml_registry_filter *f, struct tml_model_row **rows, size_t *n,
                    struct tml_error *err) {
  struct pg_registry *s = p;
  *rows = NULL;
  *n = 0;
  char iv[24];
  const char *params[] = {f ? f->strategy : NULL, f ? f->symbol : NULL, tml__pg_i64(f ? f->interval_ms : 0, iv),
                          b(f && f->active_only)};
  PGresult *r = tml__pg_query(&s->pg,
                              "SELECT " COLS " FROM models WHERE ($1::text IS NULL OR strategy = $1)"
                              " AND ($2::text IS NULL OR id IN (SELECT model_id FROM model_symbols WHERE symbol = $2))"
                              " AND ($3::bigint = 0 OR interval_ms = $3::bigint) AND (NOT $4::boolean OR active)"
                              " ORDER BY created_ms DESC, id DESC",
                              4, params, false, "listing models", err);
  if (!r)
    return tml__pg_code(err);
  size_t len = (size_t)PQntuples(r);
  struct tml_model_row *out = len ? calloc(len, sizeof(*out)) : NULL;
  int rc = 0;
  if (len && !out)
    rc = tml_error_set(err, TML_ENOMEM, "out of memory listing models");
  for (size_t i = 0; !rc && i < len; i++) {
    tml_model_row_init(&out[i]);
    *n = i + 1;
    if (read_row(r, (int)i, &out[i]))
      rc = tml_error_set(err, TML_ENOMEM, "out of memory listing models");
  }
  PQclear(r);
  if (rc) {
    tml_model_rows_free(out, *n);
    *n = 0;
    return rc;
  }
  *rows = out;
  return 0;
}

static int pgr_set_active(void *p, int64_t id, bool active, const char *reason, struct tml_error *err) {
  struct pg_registry *s = p;
  char idbuf[24];
  const char *params[] = {tml__pg_i64(id, idbuf), b(active), reason};
  struct tml_error local;
  tml_error_init(&local);
  int rc = tml__pg_exec(&s->pg, "UPDATE models SET active = $2::boolean, status_reason = $3 WHERE id = $1::bigint", 3,
                        params, "updating the active flag", &local);
  if (rc == TML_ECONFLICT)
    return tml_error_set(err, TML_ECONFLICT,
                         "model registry '%s': model %" PRId64 " cannot be active: another row of its group is active",
                         s->pg.shown, id);
  if (rc)
    return tml_error_set(err, rc, "%s", local.msg);
  return 0;
}

static int pgr_remove_inactive(void *p, int64_t id, bool *deleted, struct tml_error *err) {
  struct pg_registry *s = p;
  char idbuf[24];
  const char *params[] = {tml__pg_i64(id, idbuf)};
  PGresult *r = tml__pg_query(&s->pg, "DELETE FROM models WHERE id = $1::bigint AND NOT active", 1, params, false,
                              "deleting a model row", err);
  if (!r)
    return tml__pg_code(err);
  *deleted = strcmp(PQcmdTuples(r), "0") != 0;
  PQclear(r);
  return 0;
}

/* --- artefacts -------------------------------------------------------------------------------- */

#define MAX_DEPTH 8

/* Stores every regular file under dir/rel (recursively) for model id. */
static int put_tree(struct pg_registry *s, const char *idtext, const char *dir, const char *rel, int depth,
                    struct tml_error *err) {
  char path[TML_PATH_MAX];
  if (tml_path_fmt(path, sizeof(path), err, "%s%s%s", dir, rel[0] ? "/" : "", rel))
    return TML_EINVAL;
  DIR *d = opendir(path);
  if (!d)
    return tml_error_set(err, TML_EIO, "cannot read model folder '%s': %s", path, strerror(errno));
  int rc = 0;
  struct dirent *e;
  while (!rc && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue; /* ".", "..", and hidden temporary or trash folders */
    char name[TML_PATH_MAX], full[TML_PATH_MAX];
    if ((rc = tml_path_fmt(name, sizeof(name), err, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name)) ||
        (rc = tml_path_fmt(full, sizeof(full), err, "%s/%s", dir, name)))
      break;
    struct stat st;
    if (lstat(full, &st) != 0) {
      rc = tml_error_set(err, TML_EIO, "cannot read '%s': %s", full, strerror(errno));
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      if (depth >= MAX_DEPTH)
        rc = tml_error_set(err, TML_EINVAL, "model folder '%s' is nested more than %d levels deep", dir, MAX_DEPTH);
      else
        rc = put_tree(s, idtext, dir, name, depth + 1, err);
      continue;
    }
    if (!S_ISREG(st.st_mode))
      continue; /* symlinks and specials are not artefacts */
    char *data = NULL;
    size_t len = 0;
    if ((rc = tml_read_file(full, &data, &len, err)))
      break;
    char sum[17], size[24];
    tml_hash_hex(tml_fnv1a64(TML_FNV64_INIT, data, len), sum);
    const char *params[] = {idtext, name, tml__pg_i64((int64_t)len, size), sum, data};
    const int lengths[] = {0, 0, 0, 0, (int)len};
    const int formats[] = {0, 0, 0, 0, 1};
    if (len > (size_t)INT_MAX)
      rc = tml_error_set(err, TML_ETOOBIG, "model file '%s' is larger than 2 GiB", full);
    PGresult *r = rc ? NULL
                     : tml__pg_query_params(&s->pg,
                                            "INSERT INTO model_files(model_id, name, size, checksum, data)"
                                            " VALUES ($1::bigint, $2, $3::bigint, $4, $5)"
                                            " ON CONFLICT (model_id, name) DO UPDATE SET size = EXCLUDED.size,"
                                            " checksum = EXCLUDED.checksum, data = EXCLUDED.data",
                                            5, params, lengths, formats, false, "storing a model file", err);
    if (!rc && !r)
      rc = tml__pg_code(err);
    PQclear(r);
    free(data);
  }
  closedir(d);
  return rc;
}

static int pgr_put_files(void *p, int64_t id, const char *dir, struct tml_error *err) {
  struct pg_registry *s = p;
  char idbuf[24];
  tml__pg_i64(id, idbuf);
  const char *params[] = {idbuf};
  int rc = tml__pg_exec(&s->pg, "DELETE FROM model_files WHERE model_id = $1::bigint", 1, params,
                        "replacing a model's files", err);
  return rc ? rc : put_tree(s, idbuf, dir, "", 0, err);
}

static int pgr_count_files(void *p, int64_t id, size_t *n, struct tml_error *err) {
  struct pg_registry *s = p;
  char idbuf[24];
  const char *params[] = {tml__pg_i64(id, idbuf)};
  PGresult *r = tml__pg_query(&s->pg, "SELECT count(*) FROM model_files WHERE model_id = $1::bigint", 1, params, false,
                              "counting a model's files", err);
  if (!r)
    return tml__pg_code(err);
  *n = (size_t)col_i64(r, 0, 0);
  PQclear(r);
  return 0;
}

/* A stored name is a relative path of plain components: no "..", no leading '/', no empty parts. */
static bool safe_name(const char *name) {
  if (!name[0] || name[0] == '/')
    return false;
  for (const char *c = name; *c;) {
    size_t n = strcspn(c, "/");
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
      return false;
    c += n;
    if (*c == '/')
      c++;
  }
  return true;
}

static int pgr_get_files(void *p, int64_t id, const char *dir, size_t *nfiles, size_t *bytes, struct tml_error *err) {
  struct pg_registry *s = p;
  if (nfiles)
    *nfiles = 0;
  if (bytes)
    *bytes = 0;
  char idbuf[24];
  const char *params[] = {tml__pg_i64(id, idbuf)};
  PGresult *r = tml__pg_query(&s->pg, "SELECT name, size, checksum, data FROM model_files WHERE model_id = $1::bigint"
                              " ORDER BY name", 1, params, true, "reading a model's files", err);
  if (!r)
    return tml__pg_code(err);
  int rc = 0;
  int n = PQntuples(r);
  char tmp[TML_PATH_MAX], parent[TML_PATH_MAX];
  bool made = false;
  size_t total = 0;
  if (n == 0) {
    rc = TML_ENOENT; /* the caller words it */
    goto out;
  }
  /* Check every file before anything is written: a bad one leaves nothing behind. */
  for (int i = 0; !rc && i < n; i++) {
    const char *name = PQgetvalue(r, i, 0);
    size_t len = (size_t)PQgetlength(r, i, 3);
    char sum[17];
    tml_hash_hex(tml_fnv1a64(TML_FNV64_INIT, PQgetvalue(r, i, 3), len), sum);
    if (!safe_name(name))
      rc = tml_error_set(err, TML_EMODEL, "model %" PRId64 " has a stored file with an unsafe name '%.200s'", id, name);
    else if ((int64_t)len != tml__pg_get_i64(PQgetvalue(r, i, 1)) || strcmp(sum, PQgetvalue(r, i, 2)) != 0)
      rc = tml_error_set(err, TML_EMODEL,
                         "model %" PRId64 " file '%s' in %s is corrupt: %zu bytes with checksum %s, stored as %" PRId64
                         " bytes with checksum %s (nothing was written; re-register the model set from its folder)",
                         id, name, s->pg.shown, len, sum, tml__pg_get_i64(PQgetvalue(r, i, 1)), PQgetvalue(r, i, 2));
    total += len;
  }
  if (rc)
    goto out;
  snprintf(parent, sizeof(parent), "%s", dir);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent)
    *slash = '\0';
  else
    snprintf(parent, sizeof(parent), "%s", slash ? "/" : ".");
  if ((rc = tml_mkdir_p(parent, err)) || (rc = tml_tmpdir_template(parent, tmp, sizeof(tmp), err)))
    goto out;
  if (!mkdtemp(tmp)) {
    rc = tml_error_set(err, TML_EIO, "cannot create a folder in '%s' for model %" PRId64 ": %s", parent, id,
                       strerror(errno));
    goto out;
  }
  made = true;
  for (int i = 0; !rc && i < n; i++) {
    const char *name = PQgetvalue(r, i, 0);
    char path[TML_PATH_MAX];
    if ((rc = tml_path_fmt(path, sizeof(path), err, "%s/%s", tmp, name)))
      break;
    char *sub = strrchr(path, '/');
    *sub = '\0';
    rc = tml_mkdir_p(path, err);
    *sub = '/';
    if (!rc)
      rc = tml_write_file_atomic(path, PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3), err);
  }
  if (rc)
    goto out;
  if (rename(tmp, dir) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {
      rc = 0; /* another process filled it meanwhile: theirs stands */
      goto out;
    }
    rc = tml_error_set(err, TML_EIO, "cannot move model %" PRId64 " files into '%s': %s", id, dir, strerror(errno));
    goto out;
  }
  made = false;
  tml_fsync_dir(parent, NULL);
  if (nfiles)
    *nfiles = (size_t)n;
  if (bytes)
    *bytes = total;
out:
  if (made)
    tml_rm_rf(tmp, NULL);
  PQclear(r);
  return rc;
}

/* Inside the registration's transaction: FOR SHARE holds the job's row until it ends, so the queue's
 * writers (the reaper's FOR UPDATE SKIP LOCKED skips it, end of attempt and heartbeat wait for it) cannot
 * revoke, requeue or end the attempt between this check and the commit. */
static int pgr_job_fence(void *p, int64_t job_id, int64_t fence, struct tml_error *err) {
  struct pg_registry *s = p;
  char id[24];
  const char *params[] = {tml__pg_i64(job_id, id)};
  PGresult *r = tml__pg_query(&s->pg, "SELECT status, fence, worker_id FROM jobs WHERE id = $1::bigint FOR SHARE",
                              1, params, false, "reading the job's fencing token", err);
  if (!r)
    return tml__pg_code(err);
  bool found = PQntuples(r) > 0;
  int rc = tml__registry_fence_verdict(job_id, fence, found ? PQgetvalue(r, 0, 0) : NULL, found ? col_i64(r, 0, 1) : 0,
                                       found ? PQgetvalue(r, 0, 2) : NULL, err);
  PQclear(r);
  return rc;
}

const struct tml__registry_backend tml__registry_pg = {
    .name = "postgresql",
    .open = pgr_open,
    .close = pgr_close,
    .begin = pgr_begin,
    .commit = pgr_commit,
    .rollback = pgr_rollback,
    .insert = pgr_insert,
    .get = pgr_get,
    .find_path = pgr_find_path,
    .active_in_group = pgr_active_in_group,
    .active_for_symbol = pgr_active_for_symbol,
    .list = pgr_list,
    .set_active = pgr_set_active,
    .remove_inactive = pgr_remove_inactive,
    .put_files = pgr_put_files,
    .get_files = pgr_get_files,
    .count_files = pgr_count_files,
    .job_fence = pgr_job_fence,
};
