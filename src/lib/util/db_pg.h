/* Internal: PostgreSQL connection plumbing shared by the PostgreSQL backends (candle store, registry,
 * job queue). One way to connect (retry with backoff, clear errors for a malformed URL, an unreachable
 * server and a wrong password, naming data.database and the fix), one way to run a statement
 * (reconnecting once when the connection was lost outside a transaction), one wording for errors
 * (SQLSTATE mapped to TML_E*; the URL always redacted), and versioned schema migrations.
 * Only backends include this header (it includes libpq-fe.h). */
#ifndef TML_DB_PG_H
#define TML_DB_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "trademl/error.h"
#include "trademl/fsutil.h"

struct tml_error;

/* The setting users change to point trademl at a database; named in every connection error. */
#define TML_DB_SETTING "data.database (environment TRADEML_DATABASE_URL)"

struct tml__pg {
  PGconn *conn;
  char url[TML_PATH_MAX];   /* as configured, with any password: never printed */
  char shown[TML_PATH_MAX]; /* redacted form for messages */
  const char *what;         /* "candle store", "model registry", ... (static string) */
  bool in_txn;              /* BEGIN sent and not yet COMMIT/ROLLBACK: a lost connection is not retried */
  uint64_t generation;      /* bumped on every (re)connect, so a backend knows session state is gone */
  bool single_attempt;      /* reconnect once, without the retry loop (health checks) */
};

/* Connects to `url` (a postgresql:// URL) for `what`, retrying unreachable/starting servers for
 * tml_db_connect_wait_ms() with backoff. Sets the session time zone to UTC and silences notices.
 * On failure pg->conn is NULL and err says what to fix: TML_EINVAL (malformed URL), TML_EPERM (wrong
 * password or no permission), TML_ENET (unreachable after the wait), TML_EDB. pg is filled by the call. */
int tml__pg_connect(struct tml__pg *pg, const char *url, const char *what, struct tml_error *err);
/* Closes the connection; pg may be NULL or unconnected. */
void tml__pg_close(struct tml__pg *pg);
/* Reconnects when the connection was lost (within the connect wait). 0 or the connect error. */
int tml__pg_ensure(struct tml__pg *pg, struct tml_error *err);

/* Health check: "SELECT 1" on the connection; a lost connection gets one reconnect attempt (no retry
 * loop, so a probe never waits the connect wait). 0, or the error (TML_ENET when unreachable). */
int tml__pg_ping(struct tml__pg *pg, struct tml_error *err);

/* Runs sql with text parameters (NULL entries are SQL NULL), results in text (result_binary false) or
 * binary. `doing` words the message ("loading candles"). Returns the result (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK; caller PQclear()s it) or NULL with err set. A connection lost outside a transaction
 * is re-established and the statement sent once more. */
PGresult *tml__pg_query(struct tml__pg *pg, const char *sql, int nparams, const char *const *params,
                        bool result_binary, const char *doing, struct tml_error *err);
/* The code a failed tml__pg_* call recorded in err, TML_EDB when it recorded none (err NULL). */
static inline int tml__pg_code(const struct tml_error *err) { return err && err->code ? err->code : TML_EDB; }
/* tml__pg_query with per-parameter lengths and formats (1 = binary, e.g. bytea); NULL arrays = text. */
PGresult *tml__pg_query_params(struct tml__pg *pg, const char *sql, int nparams, const char *const *params,
                               const int *lengths, const int *formats, bool result_binary, const char *doing,
                               struct tml_error *err);
/* Starts "COPY ... TO STDOUT" (sql): the result in PGRES_COPY_OUT (caller PQclear()s it, then reads
 * with PQgetCopyData and PQgetResult) or NULL with err set; a lost connection as tml__pg_query. */
PGresult *tml__pg_copy_out(struct tml__pg *pg, const char *sql, const char *doing, struct tml_error *err);
/* tml__pg_query for statements without rows of interest. 0 or the error code. */
int tml__pg_exec(struct tml__pg *pg, const char *sql, int nparams, const char *const *params, const char *doing,
                 struct tml_error *err);
/* BEGIN / COMMIT / ROLLBACK tracking pg->in_txn. Rollback never fails (errors are dropped). */
int tml__pg_begin(struct tml__pg *pg, struct tml_error *err);
int tml__pg_commit(struct tml__pg *pg, struct tml_error *err);
void tml__pg_rollback(struct tml__pg *pg);

/* Records a failed result: SQLSTATE 23505 -> TML_ECONFLICT, 40001/40P01/55P03/57014 (serialization,
 * deadlock, lock timeout, statement timeout) -> TML_EBUSY, 28xxx -> TML_EPERM, a lost connection ->
 * TML_ENET, else TML_EDB, with the server's message. res may be NULL. Returns the code. */
int tml__pg_error(struct tml__pg *pg, const PGresult *res, const char *doing, struct tml_error *err);
/* SQLSTATE of a failed result ("23505"), "" when none. */
const char *tml__pg_sqlstate(const PGresult *res);

/* Integers to decimal text for parameters: buf must hold 24 bytes; returns buf. */
const char *tml__pg_i64(int64_t v, char *buf);
/* Big-endian readers and writers for binary results and COPY. Inline: bulk copies call them six
 * times per candle, and the compiler turns each into one load/store and a byte swap. */
static inline int64_t tml__pg_get_i64(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | u[i];
  return (int64_t)v;
}

static inline double tml__pg_get_f64(const char *p) {
  uint64_t v = (uint64_t)tml__pg_get_i64(p);
  double d;
  memcpy(&d, &v, sizeof(d));
  return d;
}

static inline void tml__pg_put_i64(char *p, int64_t v) {
  uint64_t u = (uint64_t)v;
  for (int i = 7; i >= 0; i--) {
    p[i] = (char)(unsigned char)(u & 0xff);
    u >>= 8;
  }
}

static inline void tml__pg_put_f64(char *p, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof(u));
  tml__pg_put_i64(p, (int64_t)u);
}

static inline void tml__pg_put_i32(char *p, int32_t v) {
  uint32_t u = (uint32_t)v;
  p[0] = (char)(unsigned char)(u >> 24);
  p[1] = (char)(unsigned char)(u >> 16);
  p[2] = (char)(unsigned char)(u >> 8);
  p[3] = (char)(unsigned char)u;
}

static inline void tml__pg_put_i16(char *p, int16_t v) {
  uint16_t u = (uint16_t)v;
  p[0] = (char)(unsigned char)(u >> 8);
  p[1] = (char)(unsigned char)u;
}

/* One schema migration of a component: applied in its own transaction together with the update of
 * schema_version, so an interrupted migration leaves the previous version and re-running applies it
 * whole. Versions of a component are 1, 2, 3, ... in order; never edit one that has shipped. */
struct tml__pg_migration {
  int version;
  const char *summary; /* "candles table" */
  const char *sql;     /* one or more statements */
};

/* Brings `component` ("candles", "registry", "jobs", ...) up to the last of migrations[0..n): creates
 * schema_version(component, version, applied_at) when missing, takes a transaction-scoped advisory
 * lock (concurrent processes migrate one at a time; the others then find nothing to do), and applies
 * each missing version in its own transaction. A database whose component version is newer than this
 * binary knows is refused with TML_EDB naming both versions and the fix (upgrade trademl), nothing
 * changed. *applied (may be NULL) counts the migrations applied. */
int tml__pg_migrate(struct tml__pg *pg, const char *component, const struct tml__pg_migration *migrations, int n,
                    int *applied, struct tml_error *err);
/* Test hook: the next tml__pg_migrate() call fails after running the SQL of its version `version`
 * (before COMMIT), as a crash half way would. 0 = off. Process-wide; tests only. */
void tml__pg_migrate_fail_at(int version);
/* The component's schema version in the database (0 when never migrated). */
int tml__pg_schema_version(struct tml__pg *pg, const char *component, int *version, struct tml_error *err);

#endif
