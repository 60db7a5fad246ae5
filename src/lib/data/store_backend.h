/* Internal: the table of functions a candle-store backend implements (SQLite's VFS style, as
 * registry_backend.h). store.c validates every argument (symbol, interval, ranges) and dispatches;
 * a backend only stores and reads. tml_store_open() picks the backend from the location:
 * postgresql:// or postgres:// -> store_pg.c, anything else -> the SQLite file (store_sqlite.c).
 *
 * Contract for every backend (the same tests, tests/unit/data/test_store.c, run against each):
 *  - `db` is the backend's own connection state, created by open() (which also creates or migrates
 *    the candles table) and freed by close(). A handle is used by one thread at a time.
 *  - Candles are keyed by (symbol, interval_ms, open_time); values are stored as IEEE doubles and read
 *    back bit-exact (equality comparisons are exact).
 *  - put() is one transaction: all of c or nothing. A key not stored yet is inserted; one stored with
 *    identical values is counted unchanged; one stored with different values fails the whole call
 *    with tml__store_conflict() (the first such candle by open time) unless `replace`, which
 *    overwrites it. Concurrent writers of the same keys do not fail: one waits or both converge.
 *    stats is filled only on success.
 *  - load() appends to `out` (initialised by the caller with symbol and interval) the candles with
 *    from_ms <= open_time < to_ms in ascending open time.
 *  - list() returns every (symbol, interval) with first/last open time and count, ordered by symbol
 *    then interval; the caller frees *out with free().
 *  - remove_range() counts and deletes from_ms <= open_time <= to_ms in one transaction (dry_run:
 *    counts only); stats->first_ms/last_ms are 0 when nothing matched.
 *  - Errors: TML_EBUSY for a lock that outlasted the wait, TML_ENET for a lost server, TML_EDB
 *    otherwise; messages name the database (PostgreSQL URLs redacted). */
#ifndef TML_STORE_BACKEND_H
#define TML_STORE_BACKEND_H

#include "trademl/fetch.h"
#include "trademl/store.h"

struct tml__store_backend {
  const char *name; /* "sqlite", "postgresql" */
  int (*open)(const char *location, void **db, struct tml_error *err);
  void (*close)(void *db);
  int (*put)(void *db, const struct tml_candles *c, bool replace, struct tml_put_stats *stats, struct tml_error *err);
  int (*load)(void *db, const char *symbol, int64_t interval_ms, int64_t from_ms, int64_t to_ms,
              struct tml_candles *out, struct tml_error *err);
  int (*list)(void *db, struct tml_series_info **out, size_t *n, struct tml_error *err);
  int (*remove)(void *db, const char *symbol, int64_t interval_ms, struct tml_error *err);
  int (*remove_range)(void *db, const char *symbol, int64_t interval_ms, int64_t from_ms, int64_t to_ms, bool dry_run,
                      struct tml_delete_stats *stats, struct tml_error *err);
  /* fetch_sources (fetch.c): which exchange and market a series was fetched from and where the
   * exchange's history begins. get: *found false when there is no row. put: inserts, or on an existing
   * (symbol, interval) updates listed_ms and the update time only. list: ordered by symbol, interval;
   * the caller frees *out. */
  int (*source_get)(void *db, const char *symbol, int64_t interval_ms, struct tml_fetch_source *src, bool *found,
                    struct tml_error *err);
  int (*source_put)(void *db, const struct tml_fetch_source *src, int64_t now_ms, struct tml_error *err);
  int (*source_list)(void *db, struct tml_fetch_source **out, size_t *n, struct tml_error *err);
  /* Cheap check that the database answers (health probes); a PostgreSQL backend tries one reconnect. */
  int (*ping)(void *db, struct tml_error *err);
  /* SQLite only: the connection the modules that keep their own tables in trademl.db share (jobs, live
   * state, fetch sources). NULL for other backends. */
  struct sqlite3 *(*sqlite)(void *db);
  /* Optional: sizes the connection's page cache and memory map in MiB (tml_store_set_memory). NULL where
   * the server, not the connection, owns the caches (PostgreSQL): then setting them does nothing. */
  int (*set_memory)(void *db, int64_t cache_mib, int64_t mmap_mib, struct tml_error *err);
};

extern const struct tml__store_backend tml__store_sqlite;
extern const struct tml__store_backend tml__store_pg;

/* The fetch_sources functions of the store's backend, for fetch.c. */
int tml__store_source_get(struct tml_store *s, const char *symbol, int64_t interval_ms, struct tml_fetch_source *src,
                          bool *found, struct tml_error *err);
int tml__store_source_put(struct tml_store *s, const struct tml_fetch_source *src, int64_t now_ms,
                          struct tml_error *err);
int tml__store_source_list(struct tml_store *s, struct tml_fetch_source **out, size_t *n, struct tml_error *err);

/* The location the store was opened at (a SQLite path or a postgresql:// URL, which may hold a
 * password: never print it; tml_db_redact). Valid while s is open. */
const char *tml__store_location(const struct tml_store *s);
/* One slot for state a higher module keeps with a store handle and frees with it (today: the live
 * tables' backend, live_store.c), so such a module needs no handle of its own. set_ext frees what the
 * slot held; tml_store_close calls free_fn(ext) before it closes the backend, so ext may borrow the
 * store's connection. Same thread rules as the store handle. */
void *tml__store_ext(struct tml_store *s);
void tml__store_set_ext(struct tml_store *s, void *ext, void (*free_fn)(void *ext));

/* The conflict error every backend reports for a candle stored with other values (TML_ECONFLICT,
 * naming symbol, interval, time, stored and new values, and --replace). stored/fresh: o, h, l, c, v. */
int tml__store_conflict(const char *symbol, int64_t interval_ms, int64_t open_time, const double stored[5],
                        const double fresh[5], struct tml_error *err);

#endif
