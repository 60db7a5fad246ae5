/* Database locations: where candles, jobs, the registry and live state are kept. A location is either
 * a SQLite file path (the embedded default, <home>/trademl.db) or a PostgreSQL URL
 * ("postgresql://user@host:5432/dbname?sslmode=require", also "postgres://"), taken from the config
 * key data.database (environment TRADEML_DATABASE_URL). libpq's own URL parameters (sslmode, passfile,
 * sslcert, sslkey, sslrootcert, connect_timeout, application_name, ...) pass through unchanged; a
 * password may be given in the URL, in ~/.pgpass / passfile, or by PGPASSWORD, and is never shown:
 * every message, log line, metric and job row uses tml_db_redact()'s form. See docs/postgresql.md. */
#ifndef TML_DB_PUBLIC_H
#define TML_DB_PUBLIC_H

#include <stdbool.h>
#include <stddef.h>

struct tml_error;

enum tml_db_kind {
  TML_DB_SQLITE,   /* a file path */
  TML_DB_POSTGRES, /* postgresql:// or postgres:// */
};

/* Which backend `location` names: TML_DB_POSTGRES for a postgresql:// or postgres:// URL (scheme
 * case-insensitive), TML_DB_SQLITE for anything else (a path). NULL counts as SQLite. */
enum tml_db_kind tml_db_kind_of(const char *location);
/* Name of a kind: "sqlite" or "postgresql". */
const char *tml_db_kind_name(enum tml_db_kind kind);

/* Copies `location` into out with every credential replaced by "********": the password of a URL's
 * user info (postgresql://user:SECRET@host), and the values of the password and sslpassword URL
 * parameters. A SQLite path is copied unchanged. Always NUL-terminates (out may be truncated, never
 * so that a secret shows); outsz 0 does nothing. Returns out. Thread-safe. */
char *tml_db_redact(const char *location, char *out, size_t outsz);

/* Checks a location without connecting: a PostgreSQL URL must parse (libpq's parser: scheme, host,
 * port number, percent-escapes, known parameter names); a SQLite path must not be empty. `setting`
 * names where it came from in the message ("data.database"). 0 or TML_EINVAL (message redacted, naming
 * the setting, what is wrong and the fix). */
int tml_db_check_location(const char *location, const char *setting, struct tml_error *err);

/* True when there may be a database at `location` to read: a SQLite file that exists, or any
 * PostgreSQL URL (whether the server answers is found out on opening). */
bool tml_db_exists(const char *location);

/* How long opening a PostgreSQL connection keeps retrying a server that cannot be reached or is
 * starting up (connection refused, timeout, "the database system is starting up"), with exponential
 * backoff from 100 ms up to 2 s between attempts; the same budget applies to reconnecting after a
 * lost connection. Authentication failures and malformed URLs are never retried. Default 10000 ms;
 * the faces set it from data.connect_wait once at start. Process-wide; call before opening. */
void tml_db_set_connect_wait_ms(int ms);
int tml_db_connect_wait_ms(void);

/* The schema versions recorded in a PostgreSQL database, as "candles 1, registry 2" into out ("" when
 * none). 0 or the connection error. */
int tml_db_schema_summary(const char *pg_url, char *out, size_t outsz, struct tml_error *err);

/* --- moving a SQLite install into PostgreSQL (`trademl db migrate-from`) ------------------------ */

#define TML_DB_COPY_MAX_TABLES 64

struct tml_db_table_report {
  char table[64];
  size_t source_rows;
  size_t target_rows;     /* after the copy (or as found, when nothing was copied) */
  char source_sum[17];    /* order-independent checksum of the rows (16 hex; see below) */
  char target_sum[17];
  enum {
    TML_DB_COPIED,        /* copied into an empty table */
    TML_DB_SAME,          /* the target already held exactly these rows: left alone */
    TML_DB_EMPTY,         /* no rows in the source */
    TML_DB_SKIPPED,       /* named in skip (the target has no such table) */
  } outcome;
};

struct tml_db_copy_report {
  struct tml_db_table_report tables[TML_DB_COPY_MAX_TABLES];
  size_t ntables;
};

/* Copies every table of the SQLite file sqlite_path into the same-named tables of the PostgreSQL
 * database pg_url, whose schema must exist already (`trademl db init`). Columns are matched by name;
 * values are converted by the target column's type (SQLite 0/1 -> boolean, ...). The checksum of a
 * table is the sum (mod 2^64) of FNV-1a 64 hashes of each row's values in canonical text (integers in
 * decimal, reals as %.17g, booleans t/f, NULL distinct from every text), so it does not depend on row
 * order and is equal on both sides exactly when the rows are.
 * Everything is checked before anything is written, and all tables are copied in ONE transaction that
 * commits only when every target's count and checksum equal the source's: nothing half-copied.
 * Re-runnable: a target table that already holds exactly the source rows is left alone (TML_DB_SAME).
 * Refused (TML_ECONFLICT, nothing written): a target table holding other rows; a source table with rows
 * whose target table does not exist, unless named in skip (comma-separated, NULL = none); a source
 * column the target table lacks. Sequences of `id` columns are moved past the copied ids.
 * *report (may be NULL) says what happened per table. 0, TML_ENOENT (no such SQLite file), TML_ECONFLICT,
 * TML_EDB, connection errors as tml_store_open. */
int tml_db_copy_sqlite_to_pg(const char *sqlite_path, const char *pg_url, const char *skip,
                             struct tml_db_copy_report *report, struct tml_error *err);

#endif
