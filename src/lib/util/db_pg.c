/* PostgreSQL connections for the PostgreSQL backends (see db_pg.h) and the database-location helpers
 * of trademl/db.h (kind, redaction, validation). Passwords live only in tml__pg.url and in libpq; every
 * message is built from the redacted form. */
#include "util/db_pg.h"
#include "trademl/db.h"
#include "util/common.h"

#include <ctype.h>
#include <time.h>

#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/log.h"
#include "trademl/timeutil.h"

#define MASK "********"

/* --- locations --------------------------------------------------------------------------------- */

static int connect_wait_ms = 10000;

void tml_db_set_connect_wait_ms(int ms) { connect_wait_ms = ms < 0 ? 0 : ms; }
int tml_db_connect_wait_ms(void) { return connect_wait_ms; }

static bool has_prefix_ci(const char *s, const char *prefix) {
  for (; *prefix; s++, prefix++)
    if (tolower((unsigned char)*s) != *prefix)
      return false;
  return true;
}

enum tml_db_kind tml_db_kind_of(const char *location) {
  if (location && (has_prefix_ci(location, "postgresql://") || has_prefix_ci(location, "postgres://")))
    return TML_DB_POSTGRES;
  return TML_DB_SQLITE;
}

bool tml_db_exists(const char *location) {
  return tml_db_kind_of(location) == TML_DB_POSTGRES || (location && tml_path_exists(location));
}

const char *tml_db_kind_name(enum tml_db_kind kind) { return kind == TML_DB_POSTGRES ? "postgresql" : "sqlite"; }

/* Appends s[0..n) to out at *len, keeping room for the NUL; stops (silently) when full. */
static void put(char *out, size_t outsz, size_t *len, const char *s, size_t n) {
  size_t room = outsz - 1 - *len;
  if (n > room)
    n = room;
  memcpy(out + *len, s, n);
  *len += n;
  out[*len] = '\0';
}

static bool secret_param(const char *name, size_t n) {
  return (n == 8 && strncmp(name, "password", 8) == 0) || (n == 11 && strncmp(name, "sslpassword", 11) == 0);
}

char *tml_db_redact(const char *location, char *out, size_t outsz) {
  if (!out || outsz == 0)
    return out;
  out[0] = '\0';
  if (!location)
    return out;
  size_t len = 0;
  if (tml_db_kind_of(location) != TML_DB_POSTGRES) {
    put(out, outsz, &len, location, strlen(location));
    return out;
  }
  const char *rest = strstr(location, "://") + 3;
  const char *query = strchr(rest, '?');
  const char *end_auth = query ? query : rest + strlen(rest);
  /* The user info ends at the last '@' before the query: a password may hold '/' or ':'. */
  const char *at = NULL;
  for (const char *p = rest; p < end_auth; p++)
    if (*p == '@')
      at = p;
  put(out, outsz, &len, location, (size_t)(rest - location));
  if (at) {
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    if (colon) {
      put(out, outsz, &len, rest, (size_t)(colon - rest) + 1);
      put(out, outsz, &len, MASK, strlen(MASK));
      rest = at;
    }
  }
  put(out, outsz, &len, rest, (size_t)(end_auth - rest));
  if (!query)
    return out;
  /* Parameters: name=value&...; the values of password and sslpassword are masked. */
  const char *p = query;
  while (*p) {
    size_t seg = strcspn(p + 1, "&") + 1; /* the separator and the parameter */
    const char *name = p + 1;
    const char *eq = memchr(name, '=', seg - 1);
    if (eq && secret_param(name, (size_t)(eq - name))) {
      put(out, outsz, &len, p, (size_t)(eq - p) + 1);
      put(out, outsz, &len, MASK, strlen(MASK));
    } else {
      put(out, outsz, &len, p, seg);
    }
    p += seg;
  }
  return out;
}

/* The ports of a URL's host list ("h1:5432,h2:5433", "[::1]:5432") are numbers 1..65535; libpq's parser
 * leaves that to connection time. Returns the offending port text's start, or NULL when all are fine. */
static const char *bad_port(const char *location, size_t *len) {
  const char *rest = strstr(location, "://") + 3;
  size_t end = strcspn(rest, "/?");
  const char *stop = rest + end;
  for (const char *p = rest; p < stop; p++)
    if (*p == '@')
      rest = p + 1;
  const char *p = rest;
  while (p < stop) {
    size_t n = strcspn(p, ",/?");
    const char *host_end = p + n;
    const char *q = p;
    if (*q == '[') {
      while (q < host_end && *q != ']')
        q++;
    }
    const char *colon = memchr(q, ':', (size_t)(host_end - q));
    if (colon) {
      const char *d = colon + 1;
      long v = 0;
      bool ok = d < host_end && host_end - d <= 5;
      for (const char *x = d; ok && x < host_end; x++) {
        ok = *x >= '0' && *x <= '9';
        v = v * 10 + (*x - '0');
      }
      if (!ok || v < 1 || v > 65535) {
        *len = (size_t)(host_end - d);
        return d;
      }
    }
    p = host_end + (*host_end == ',');
  }
  return NULL;
}

int tml_db_check_location(const char *location, const char *setting, struct tml_error *err) {
  if (!location || !location[0])
    return tml_error_set(err, TML_EINVAL,
                         "%s is empty: set it to a SQLite file path or a postgresql://user@host/dbname URL", setting);
  if (tml_db_kind_of(location) != TML_DB_POSTGRES) {
    if (strstr(location, "://"))
      return tml_error_set(err, TML_EINVAL,
                           "%s: '%.40s...' is not a supported database URL: use postgresql://user@host:5432/dbname "
                           "(PostgreSQL) or a file path (SQLite)",
                           setting, location);
    return 0;
  }
  char *perr = NULL;
  PQconninfoOption *opts = PQconninfoParse(location, &perr);
  int rc = 0;
  if (!opts) {
    char shown[TML_PATH_MAX];
    size_t n = perr ? strcspn(perr, "\n") : 0;
    rc = tml_error_set(err, TML_EINVAL,
                       "%s: malformed PostgreSQL URL '%s': %.*s (expected "
                       "postgresql://[user[:password]@]host[:port]/dbname[?sslmode=...]; percent-encode special "
                       "characters in the password)",
                       setting, tml_db_redact(location, shown, sizeof(shown)), (int)n,
                       perr ? perr : "libpq could not parse it");
  }
  size_t plen = 0;
  const char *port = rc ? NULL : bad_port(location, &plen);
  if (port)
    rc = tml_error_set(err, TML_EINVAL,
                       "%s: malformed PostgreSQL URL: port '%.*s' is not a number from 1 to 65535 (expected "
                       "postgresql://[user[:password]@]host[:port]/dbname)",
                       setting, (int)TML_MIN(plen, 16), port);
  PQfreemem(perr);
  PQconninfoFree(opts);
  return rc;
}

/* --- connecting ------------------------------------------------------------------------------- */

static void quiet_notices(void *arg, const char *message) {
  (void)arg;
  (void)message; /* "relation already exists, skipping" and the like: not news */
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Messages from libpq end with a newline and may span lines; the first line is the gist. */
static int first_line(const char *msg) {
  if (!msg)
    return 0;
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--;
  return (int)n;
}

enum conn_failure { CF_RETRY, CF_AUTH, CF_NODB, CF_HOST, CF_OTHER };

static enum conn_failure classify(const char *msg) {
  if (!msg)
    return CF_OTHER;
  if (strstr(msg, "password authentication failed") || strstr(msg, "no password supplied") ||
      strstr(msg, "authentication failed") || strstr(msg, "no pg_hba.conf entry") ||
      strstr(msg, "certificate") || strstr(msg, "permission denied"))
    return CF_AUTH;
  if (strstr(msg, "does not exist") && strstr(msg, "database"))
    return CF_NODB;
  if (strstr(msg, "could not translate host name"))
    return CF_HOST;
  if (strstr(msg, "Connection refused") || strstr(msg, "timeout expired") || strstr(msg, "starting up") ||
      strstr(msg, "shutting down") || strstr(msg, "No such file or directory") ||
      strstr(msg, "Connection timed out") || strstr(msg, "server closed the connection") ||
      strstr(msg, "too many clients") || strstr(msg, "in recovery mode") || strstr(msg, "Network is unreachable"))
    return CF_RETRY;
  return CF_OTHER;
}

int tml__pg_connect(struct tml__pg *pg, const char *url, const char *what, struct tml_error *err) {
  memset(pg, 0, sizeof(*pg));
  pg->what = what;
  tml_db_redact(url, pg->shown, sizeof(pg->shown));
  if ((size_t)snprintf(pg->url, sizeof(pg->url), "%s", url) >= sizeof(pg->url))
    return tml_error_set(err, TML_EINVAL, "%s: the URL is longer than %d bytes", TML_DB_SETTING, TML_PATH_MAX - 1);
  int rc = tml_db_check_location(url, TML_DB_SETTING, err);
  if (rc)
    return rc;
  return tml__pg_ensure(pg, err);
}

int tml__pg_ensure(struct tml__pg *pg, struct tml_error *err) {
  if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
    return 0;
  if (pg->conn) {
    tml_warn("%s: lost the connection to %s; reconnecting", pg->what, pg->shown);
    PQfinish(pg->conn);
    pg->conn = NULL;
    pg->in_txn = false;
  }
  /* Earlier entries are defaults the URL's own parameters override (expand_dbname). */
  const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
  const char *const vals[] = {"5", "trademl", pg->url, NULL};
  double start = tml_monotonic_s();
  int delay = 100, attempts = 0;
  for (;;) {
    attempts++;
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK) {
      PQsetNoticeProcessor(c, quiet_notices, NULL);
      PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'");
      bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (ok) {
        pg->conn = c;
        pg->generation++;
        if (attempts > 1)
          tml_info("%s: connected to %s after %d attempts", pg->what, pg->shown, attempts);
        return 0;
      }
    }
    const char *msg = c ? PQerrorMessage(c) : "out of memory";
    enum conn_failure cf = classify(msg);
    double waited_ms = (tml_monotonic_s() - start) * 1000.0;
    if (cf == CF_RETRY && !pg->single_attempt && waited_ms + delay <= connect_wait_ms) {
      PQfinish(c);
      sleep_ms(delay);
      delay = TML_MIN(delay * 2, 2000);
      continue;
    }
    int code;
    switch (cf) {
    case CF_AUTH:
      code = tml_error_set(err, TML_EPERM,
                           "%s: cannot log in to PostgreSQL at %s: %.*s (check the user and password in %s, "
                           "~/.pgpass or its passfile parameter, and the server's pg_hba.conf)",
                           pg->what, pg->shown, first_line(msg), msg, TML_DB_SETTING);
      break;
    case CF_NODB:
      code = tml_error_set(err, TML_EDB,
                           "%s: %.*s at %s (create it with `createdb`, or fix the database name in %s; then run "
                           "`trademl db init`)",
                           pg->what, first_line(msg), msg, pg->shown, TML_DB_SETTING);
      break;
    case CF_HOST:
      code = tml_error_set(err, TML_ENOHOST, "%s: cannot reach PostgreSQL at %s: %.*s (fix the host name in %s)",
                           pg->what, pg->shown, first_line(msg), msg, TML_DB_SETTING);
      break;
    case CF_RETRY:
      code = tml_error_set(err, TML_ENET,
                           "%s: cannot reach PostgreSQL at %s after %d attempts in %.1f s: %.*s (is the server "
                           "running and listening there? check the host and port in %s; data.connect_wait sets "
                           "how long to retry)",
                           pg->what, pg->shown, attempts, waited_ms / 1000.0, first_line(msg), msg, TML_DB_SETTING);
      break;
    default:
      code = tml_error_set(err, TML_EDB, "%s: cannot connect to PostgreSQL at %s: %.*s (check %s)", pg->what,
                           pg->shown, first_line(msg), msg, TML_DB_SETTING);
      break;
    }
    PQfinish(c);
    return code;
  }
}

int tml__pg_ping(struct tml__pg *pg, struct tml_error *err) {
  pg->single_attempt = true;
  PGresult *r = tml__pg_query(pg, "SELECT 1", 0, NULL, false, "checking the connection", err);
  pg->single_attempt = false;
  if (!r)
    return err && err->code ? err->code : TML_ENET;
  PQclear(r);
  return 0;
}

void tml__pg_close(struct tml__pg *pg) {
  if (!pg)
    return;
  if (pg->conn)
    PQfinish(pg->conn);
  pg->conn = NULL;
  pg->in_txn = false;
  /* The password is not kept around longer than the connection. */
  memset(pg->url, 0, sizeof(pg->url));
}

/* --- statements ------------------------------------------------------------------------------- */

const char *tml__pg_sqlstate(const PGresult *res) {
  const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  return s ? s : "";
}

int tml__pg_error(struct tml__pg *pg, const PGresult *res, const char *doing, struct tml_error *err) {
  const char *state = tml__pg_sqlstate(res);
  const char *msg = res ? PQresultErrorMessage(res) : "";
  if (!msg || !msg[0])
    msg = pg->conn ? PQerrorMessage(pg->conn) : "no connection";
  int n = first_line(msg);
  if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD)
    return tml_error_set(err, TML_ENET,
                         "%s at %s: lost the connection while %s: %.*s (it reconnects on the next call; is the "
                         "server up?)",
                         pg->what, pg->shown, doing, n, msg);
  if (strcmp(state, "23505") == 0)
    return tml_error_set(err, TML_ECONFLICT, "%s at %s: %s: %.*s", pg->what, pg->shown, doing, n, msg);
  if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
      strcmp(state, "57014") == 0)
    return tml_error_set(err, TML_EBUSY, "%s at %s is busy (%s while %s); retry", pg->what, pg->shown, n ? msg : "",
                         doing);
  if (strncmp(state, "28", 2) == 0 || strcmp(state, "42501") == 0)
    return tml_error_set(err, TML_EPERM, "%s at %s: %s: %.*s (grant the user of %s the rights it needs)", pg->what,
                         pg->shown, doing, n, msg, TML_DB_SETTING);
  return tml_error_set(err, TML_EDB, "%s at %s: %s: %.*s", pg->what, pg->shown, doing, n, msg);
}

PGresult *tml__pg_query(struct tml__pg *pg, const char *sql, int nparams, const char *const *params,
                        bool result_binary, const char *doing, struct tml_error *err) {
  return tml__pg_query_params(pg, sql, nparams, params, NULL, NULL, result_binary, doing, err);
}

/* Sends sql and returns its result when it succeeded: PGRES_COMMAND_OK or PGRES_TUPLES_OK, or
 * PGRES_COPY_OUT when copy_out. A connection lost outside a transaction gets one resend. */
static PGresult *send_query(struct tml__pg *pg, const char *sql, int nparams, const char *const *params,
                            const int *lengths, const int *formats, bool result_binary, bool copy_out,
                            const char *doing, struct tml_error *err) {
  for (int attempt = 0;; attempt++) {
    if (tml__pg_ensure(pg, err))
      return NULL;
    /* Without parameters the simple protocol, which also runs several statements (migrations). */
    PGresult *res = nparams == 0 && !result_binary
                        ? PQexec(pg->conn, sql)
                        : PQexecParams(pg->conn, sql, nparams, NULL, params, lengths, formats, result_binary ? 1 : 0);
    ExecStatusType st = PQresultStatus(res);
    if (copy_out ? st == PGRES_COPY_OUT : st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
      return res;
    bool lost = PQstatus(pg->conn) == CONNECTION_BAD;
    if (lost && !pg->in_txn && attempt == 0) {
      PQclear(res);
      continue; /* autocommit statement on a connection that died since the last call: send it again */
    }
    tml__pg_error(pg, res, doing, err);
    PQclear(res);
    return NULL;
  }
}

PGresult *tml__pg_query_params(struct tml__pg *pg, const char *sql, int nparams, const char *const *params,
                               const int *lengths, const int *formats, bool result_binary, const char *doing,
                               struct tml_error *err) {
  return send_query(pg, sql, nparams, params, lengths, formats, result_binary, false, doing, err);
}

PGresult *tml__pg_copy_out(struct tml__pg *pg, const char *sql, const char *doing, struct tml_error *err) {
  return send_query(pg, sql, 0, NULL, NULL, NULL, false, true, doing, err);
}

int tml__pg_exec(struct tml__pg *pg, const char *sql, int nparams, const char *const *params, const char *doing,
                 struct tml_error *err) {
  PGresult *res = tml__pg_query(pg, sql, nparams, params, false, doing, err);
  if (!res)
    return tml__pg_code(err);
  PQclear(res);
  return 0;
}

int tml__pg_begin(struct tml__pg *pg, struct tml_error *err) {
  int rc = tml__pg_exec(pg, "BEGIN", 0, NULL, "starting a transaction", err);
  if (!rc)
    pg->in_txn = true;
  return rc;
}

int tml__pg_commit(struct tml__pg *pg, struct tml_error *err) {
  int rc = tml__pg_exec(pg, "COMMIT", 0, NULL, "committing", err);
  if (rc)
    tml__pg_rollback(pg);
  pg->in_txn = false;
  return rc;
}

void tml__pg_rollback(struct tml__pg *pg) {
  if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE) {
    PGresult *r = PQexec(pg->conn, "ROLLBACK");
    PQclear(r);
  }
  pg->in_txn = false;
}

/* --- binary values ------------------------------------------------------------------------------ */

const char *tml__pg_i64(int64_t v, char *buf) {
  snprintf(buf, 24, "%" PRId64, v);
  return buf;
}

/* --- migrations ------------------------------------------------------------------------------- */

/* One advisory-lock key for every component: migrations of any kind run one process at a time. */
#define MIGRATION_LOCK "7516273620184421"

static int fail_at_version;

void tml__pg_migrate_fail_at(int version) { fail_at_version = version; }

static const char SCHEMA_VERSION_SQL[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " component text PRIMARY KEY,"
    " version integer NOT NULL CHECK (version >= 0),"
    " applied_at timestamptz NOT NULL DEFAULT now())";

int tml__pg_schema_version(struct tml__pg *pg, const char *component, int *version, struct tml_error *err) {
  *version = 0;
  const char *params[] = {component};
  PGresult *r = tml__pg_query(pg, "SELECT to_regclass('schema_version') IS NOT NULL", 0, NULL, false,
                              "reading the schema version", err);
  if (!r)
    return tml__pg_code(err);
  bool exists = PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  if (!exists)
    return 0;
  r = tml__pg_query(pg, "SELECT version FROM schema_version WHERE component = $1", 1, params, false,
                    "reading the schema version", err);
  if (!r)
    return tml__pg_code(err);
  if (PQntuples(r) == 1)
    *version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}

/* Applies migration m in its own transaction unless the component already has it. */
static int apply_one(struct tml__pg *pg, const char *component, const struct tml__pg_migration *m, int newest,
                     bool *applied, struct tml_error *err) {
  *applied = false;
  char ver[24];
  const char *params[] = {component, tml__pg_i64(m->version, ver)};
  int rc = tml__pg_begin(pg, err);
  if (rc)
    return rc;
  PGresult *r = tml__pg_query(pg, "SELECT version FROM schema_version WHERE component = $1 FOR UPDATE", 1, params,
                              false, "reading the schema version", err);
  if (!r) {
    rc = tml__pg_code(err);
    goto rollback;
  }
  int have = PQntuples(r) == 1 ? (int)strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
  PQclear(r);
  if (have > newest) {
    rc = tml_error_set(err, TML_EDB,
                       "%s: the database at %s has %s schema version %d, but this trademl knows versions up to %d: "
                       "upgrade trademl to the version that migrated it (or point %s at another database); "
                       "nothing was changed",
                       pg->what, pg->shown, component, have, newest, TML_DB_SETTING);
    goto rollback;
  }
  if (have >= m->version) {
    tml__pg_rollback(pg);
    return 0;
  }
  if (have != m->version - 1) {
    rc = tml_error_set(err, TML_EDB, "%s: %s schema at %s is at version %d, cannot apply version %d", pg->what,
                       component, pg->shown, have, m->version);
    goto rollback;
  }
  char doing[160];
  snprintf(doing, sizeof(doing), "migrating %s schema to version %d (%s)", component, m->version, m->summary);
  if ((rc = tml__pg_exec(pg, m->sql, 0, NULL, doing, err)))
    goto rollback;
  if ((rc = tml__pg_exec(pg,
                         "INSERT INTO schema_version(component, version) VALUES ($1, $2::integer)"
                         " ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, applied_at = now()",
                         2, params, doing, err)))
    goto rollback;
  if (fail_at_version == m->version) {
    fail_at_version = 0;
    rc = tml_error_set(err, TML_EINTR, "%s: %s interrupted before its commit (test hook)", pg->what, doing);
    goto rollback;
  }
  if ((rc = tml__pg_commit(pg, err)))
    return rc;
  *applied = true;
  tml_info("%s: %s schema at %s is now at version %d (%s)", pg->what, component, pg->shown, m->version, m->summary);
  return 0;
rollback:
  tml__pg_rollback(pg);
  return rc;
}

int tml__pg_migrate(struct tml__pg *pg, const char *component, const struct tml__pg_migration *migrations, int n,
                    int *applied, struct tml_error *err) {
  if (applied)
    *applied = 0;
  int newest = n ? migrations[n - 1].version : 0;
  /* Session-level advisory lock: released by the unlock below or when the connection ends (a crash). */
  int rc = tml__pg_exec(pg, "SELECT pg_advisory_lock(" MIGRATION_LOCK ")", 0, NULL, "waiting for the migration lock",
                        err);
  if (rc)
    return rc;
  rc = tml__pg_exec(pg, SCHEMA_VERSION_SQL, 0, NULL, "creating schema_version", err);
  for (int i = 0; !rc && i < n; i++) {
    bool did = false;
    rc = apply_one(pg, component, &migrations[i], newest, &did, err);
    if (did && applied)
      (*applied)++;
  }
  if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
    PGresult *r = PQexec(pg->conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")");
    PQclear(r);
  }
  return rc;
}

int tml_db_schema_summary(const char *pg_url, char *out, size_t outsz, struct tml_error *err) {
  if (outsz)
    out[0] = '\0';
  struct tml__pg pg;
  int rc = tml__pg_connect(&pg, pg_url, "database", err);
  PGresult *r = NULL;
  if (!rc) {
    r = tml__pg_query(&pg,
                      "SELECT component, version FROM schema_version WHERE to_regclass('schema_version') IS NOT NULL"
                      " ORDER BY component",
                      0, NULL, false, "reading schema versions", NULL);
    /* No schema_version table yet: nothing to list (the query fails on the missing table). */
  }
  size_t len = 0;
  for (int i = 0; r && i < PQntuples(r) && len < outsz; i++)
    len += (size_t)snprintf(out + len, outsz - len, "%s%s %s", i ? ", " : "", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
  PQclear(r);
  tml__pg_close(&pg);
  return rc;
}
