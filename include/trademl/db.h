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

/* How long opening a PostgreSQL connection keeps retrying a server that cannot be reached or is
 * starting up (connection refused, timeout, "the database system is starting up"), with exponential
 * backoff from 100 ms up to 2 s between attempts; the same budget applies to reconnecting after a
 * lost connection. Authentication failures and malformed URLs are never retried. Default 10000 ms;
 * the faces set it from data.connect_wait once at start. Process-wide; call before opening. */
void tml_db_set_connect_wait_ms(int ms);
int tml_db_connect_wait_ms(void);

#endif
