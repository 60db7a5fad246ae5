/* Internal: the table of functions a storage backend of the live tables implements (SQLite's VFS style,
 * like registry_backend.h). live_store.c validates, formats (JSON, CSV, the action block) and decides
 * (which loop is running); a backend only stores and reads the three tables:
 *   live_predictions  one row per (strategy, symbol, interval_ms, candle_ms): UNIQUE, so a prediction is
 *                     never stored twice, across restarts too; ids grow and are never reused;
 *   live_symbols      the state of every symbol of a loop, keyed by (strategy, symbol, interval_ms);
 *   live_loop         the loop's counters (JSON), keyed by (strategy, interval_ms).
 * SQLite (live_sqlite.c) keeps them in the candle store's file on the store's own connection;
 * PostgreSQL (live_pg.c) in the store's database on a connection of its own (schema component "live",
 * versioned migrations run by open(), so `trademl db init` creates them). The backend of a store is
 * opened on first use and kept with the store handle until tml_store_close (tml__store_ext). Only the
 * backends include sqlite3.h / libpq-fe.h.
 *
 * Contract for every backend (the same tests, tests/unit/live/test_live.c, run against each):
 *  - `db` is the backend's state, created by open() and freed by close(); used by one thread at a time
 *    (the thread that uses the store handle).
 *  - put() is one atomic statement: it inserts p unless a row for its (strategy, symbol, interval_ms,
 *    candle_ms) exists, in which case nothing changes and *inserted is false; on insert p->id is the new
 *    row's id (greater than every earlier id). The 12 values are stored from floats and read back
 *    bit-exact; p->action ("" = SQL NULL) is stored as given.
 *  - resolve() sets resolved_ms and the five outcomes (NaN = NULL) of row id: TML_ENOENT when none.
 *  - Readers fill every field of struct tml_live_prediction through tml__live_row_finish() (classes
 *    re-derived from the probabilities); list/latest/after/unresolved/recent_resolved return a malloc'ed
 *    array (NULL when empty) that the caller frees. Orders: list: the newest q->limit rows (0 = all) by
 *    (candle_ms, symbol) returned oldest first; latest: by symbol then strategy; after: by id;
 *    unresolved: oldest first; recent_resolved: the newest `limit` returned oldest first. Symbols compare
 *    bytewise (PostgreSQL: COLLATE "C"), so both backends order alike.
 *  - The per-candle readers (last_predicted, unresolved, recent_resolved) read a few index entries, never
 *    a symbol's whole history (partial indexes on unresolved / resolved rows).
 *  - status_save() writes the loop row and every symbol row of st in ONE transaction (crash-safe: all or
 *    nothing). loop_load() fills strategy, exchange, category, universe, running (the row's flag), pid,
 *    updated_ms and counters of the newest loop row of strategy (NULL = any) at interval_ms, and *host
 *    (the host name the loop ran on; "" when the backend does not record it); *found false when none.
 *  - Errors: TML_EBUSY for a lock that outlasted the wait, TML_ENET for a lost server (PostgreSQL
 *    reconnects with backoff on the next call; an autocommit statement is re-sent once), TML_EDB
 *    otherwise; messages name the tables (PostgreSQL URLs redacted). */
#ifndef TML_LIVE_BACKEND_H
#define TML_LIVE_BACKEND_H

#include "trademl/live.h"

struct tml_buf;
struct tml_store;

/* Number of stored prediction values: 3 + 4 + 3 class probabilities and 2 regression values. */
#define TML__LIVE_NVALUES 12

struct tml__live_backend {
  const char *name; /* "sqlite", "postgresql" */
  /* Opens the live tables beside store (creating or migrating them). The store is borrowed and outlives db. */
  int (*open)(struct tml_store *store, void **db, struct tml_error *err);
  void (*close)(void *db);
  int (*put)(void *db, struct tml_live_prediction *p, bool *inserted, struct tml_error *err);
  int (*resolve)(void *db, int64_t id, const float outcome[TML_HEAD_COUNT], int64_t resolved_ms,
                 struct tml_error *err);
  int (*list)(void *db, const struct tml_live_query *q, struct tml_live_prediction **out, size_t *n,
              struct tml_error *err);
  int (*latest)(void *db, const char *strategy, int64_t interval_ms, struct tml_live_prediction **out, size_t *n,
                struct tml_error *err);
  int (*after)(void *db, int64_t after_id, size_t limit, struct tml_live_prediction **out, size_t *n,
               struct tml_error *err);
  int (*max_id)(void *db, int64_t *id, struct tml_error *err); /* 0 when empty */
  int (*last_predicted)(void *db, const char *strategy, const char *symbol, int64_t interval_ms, int64_t *candle_ms,
                        struct tml_error *err); /* -1 when none */
  int (*unresolved)(void *db, const char *strategy, const char *symbol, int64_t interval_ms, int64_t max_candle_ms,
                    size_t limit, struct tml_live_prediction **out, size_t *n, struct tml_error *err);
  int (*recent_resolved)(void *db, const char *strategy, const char *symbol, int64_t interval_ms, int64_t model_id,
                         size_t limit, struct tml_live_prediction **out, size_t *n, struct tml_error *err);
  int (*status_save)(void *db, const struct tml_live_status *st, struct tml_error *err);
  int (*symbols_load)(void *db, const char *strategy, int64_t interval_ms, struct tml_live_symbol **out, size_t *n,
                      struct tml_error *err);
  int (*loop_load)(void *db, const char *strategy, int64_t interval_ms, struct tml_live_status *out, char *host,
                   size_t hostsz, bool *found, struct tml_error *err);
};

extern const struct tml__live_backend tml__live_sqlite;
extern const struct tml__live_backend tml__live_pg;

/* ---- helpers the backends share (live_store.c) ---- */

/* Stored value k (0..11) of p: the class probabilities of the three class heads, then the two values. */
double tml__live_value_get(const struct tml_prediction *p, int k);
void tml__live_value_set(struct tml_prediction *p, int k, float v);
/* After a backend filled a row's columns: p->p.candle_ms and the classes (argmax, first on ties). */
void tml__live_row_finish(struct tml_live_prediction *p);
/* The JSON kept in live_loop.counters / live_symbols.quality, and back (missing keys: defaults). */
int tml__live_counters_json(struct tml_buf *b, const struct tml_live_counters *c);
void tml__live_counters_parse(const char *text, struct tml_live_counters *c);
int tml__live_quality_json(struct tml_buf *b, const struct tml_live_head_quality q[TML_HEAD_COUNT]);
void tml__live_quality_parse(const char *text, struct tml_live_head_quality q[TML_HEAD_COUNT]);
/* A stored state name (an unknown one reads as blocked). */
enum tml_live_state tml__live_state_or_blocked(const char *name);

#endif
