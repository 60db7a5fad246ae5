/* The candle store: one table of candles keyed by (symbol, interval, open time), in a SQLite file
 * (WAL mode, 5 s busy timeout; the default) or a PostgreSQL database (a postgresql:// location, see
 * trademl/db.h and docs/postgresql.md). Writes are transactions (all or nothing); reads fill flat
 * columnar struct tml_candles. Modules that keep their own tables in the SQLite file share its
 * connection through tml_store_db(). */
#ifndef TML_STORE_H
#define TML_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/series.h"

struct tml_error;
struct tml_config;
struct sqlite3;
struct tml_store; /* opaque */

/* Opens the candle store at `location`: a SQLite file (created with its schema if needed; the parent
 * directory must exist) or a postgresql:// URL (connects with retry, creates or migrates the candles
 * schema). On success *out is a handle the caller closes with tml_store_close(). Returns 0, TML_EDB
 * (cannot open/create, message names the path or the redacted URL), TML_EINVAL (malformed URL),
 * TML_EPERM (wrong password), TML_ENET (server unreachable) or TML_ENOMEM. A handle is for one thread. */
int tml_store_open(const char *location, struct tml_store **out, struct tml_error *err);
/* Name of the backend: "sqlite" or "postgresql". */
const char *tml_store_backend(const struct tml_store *s);
/* Closes the handle (finalizes its statements). Accepts NULL. */
void tml_store_close(struct tml_store *s);

/* Page cache and memory map of a connection tml_store_open makes: sized for a command's one long
 * sequential read of a symbol's history. */
#define TML_STORE_CACHE_MIB 64
#define TML_STORE_MMAP_MIB 1024
/* Sets the connection's SQLite page cache and memory map (PRAGMA cache_size, mmap_size), in MiB; 0 maps
 * nothing (reads go through the page cache). 0 or TML_EDB. Does nothing on PostgreSQL, whose caches
 * belong to the server. */
int tml_store_set_memory(struct tml_store *s, int64_t cache_mib, int64_t mmap_mib, struct tml_error *err);
/* tml_store_open for a connection that a long-running process (the daemon, the live loop) keeps open:
 * its page cache and memory map are cfg's data.resident_cache_mib and data.resident_mmap_mib. With the
 * command sizes, each such connection's cache would fill to 64 MiB and its map page in the file as the
 * file grows: the process's RSS would follow the database's size. Same returns as tml_store_open. */
int tml_store_open_resident(const char *db_path, const struct tml_config *cfg, struct tml_store **out,
                            struct tml_error *err);

struct tml_put_stats {
  size_t inserted;  /* new candles */
  size_t unchanged; /* already stored with identical values */
  size_t replaced;  /* stored with different values and overwritten (replace = true only) */
};

/* Stores c (symbol and interval taken from c) in one transaction. A candle already stored with
 * identical values is counted as unchanged (re-imports are idempotent). One stored with different
 * values fails the whole call with TML_ECONFLICT naming symbol, interval, time, stored and new
 * values, unless `replace`, which overwrites it. Nothing is written when the call fails. stats may
 * be NULL. Returns 0, TML_EINVAL (bad symbol/interval), TML_ECONFLICT, TML_EDB or TML_EBUSY. */
int tml_store_put(struct tml_store *s, const struct tml_candles *c, bool replace, struct tml_put_stats *stats,
                  struct tml_error *err);
/* Loads candles of symbol/interval with from_ms <= open time < to_ms (INT64_MAX = all) in
 * ascending order. out is initialised by the call (also on failure); the caller releases it with
 * tml_candles_release(). No rows is not an error (out->len == 0). Returns 0, TML_EINVAL, TML_EDB
 * or TML_ENOMEM. */
int tml_store_load(struct tml_store *s, const char *symbol, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
                   struct tml_candles *out, struct tml_error *err);

struct tml_series_info {
  char symbol[TML_SYMBOL_MAX];
  int64_t interval_ms;
  int64_t first_ms, last_ms; /* open times of the first and last stored candle */
  size_t rows;
};

/* Lists every stored (symbol, interval) ordered by symbol then interval. The caller frees *out
 * with free() (NULL when *n == 0). Returns 0, TML_EDB or TML_ENOMEM. */
int tml_store_list(struct tml_store *s, struct tml_series_info **out, size_t *n, struct tml_error *err);
/* Deletes every candle of symbol/interval (one transaction). Deleting nothing is not an error. */
int tml_store_delete(struct tml_store *s, const char *symbol, int64_t interval_ms, struct tml_error *err);
struct tml_delete_stats {
  size_t rows;               /* candles deleted (or that would be, dry_run) */
  int64_t first_ms, last_ms; /* open times of the first and last of them (0 when rows == 0) */
};

/* Deletes the candles of symbol/interval with from_ms <= open time <= to_ms (both inclusive;
 * INT64_MIN/INT64_MAX for open ends) in one transaction, counting them and their first and last
 * open time in the same transaction. dry_run counts and rolls back. stats may be NULL. Deleting
 * nothing is not an error. Returns 0, TML_EINVAL (bad symbol/interval, from_ms > to_ms), TML_EDB
 * or TML_EBUSY. */
int tml_store_delete_range(struct tml_store *s, const char *symbol, int64_t interval_ms, int64_t from_ms,
                           int64_t to_ms, bool dry_run, struct tml_delete_stats *stats, struct tml_error *err);
/* Checks that the database answers (for /health): 0, or the error (TML_ENET: PostgreSQL unreachable;
 * one reconnect is tried, without waiting data.connect_wait). */
int tml_store_ping(struct tml_store *s, struct tml_error *err);
/* The underlying SQLite connection, borrowed: valid until tml_store_close(); do not close it. NULL when
 * the store is not SQLite (modules that need it must then refuse, naming the backend). */
struct sqlite3 *tml_store_db(struct tml_store *s);

#endif
