/* Shared SQLite plumbing for the modules that keep tables in trademl.db (candle store, model registry,
 * job table): one way to open a connection and one wording for its errors, so "the database is locked"
 * reads the same whichever module hit it. Internal to the library. */
#ifndef TML_DB_H
#define TML_DB_H

#include <sqlite3.h>

struct tml_error;

/* Opens (creating if needed) `path` read-write for one thread at a time, with extended result codes,
 * WAL journaling, synchronous=NORMAL (durable across application crashes), foreign keys on, and a busy
 * wait of busy_timeout_ms before a lock is an error. `what` names the user of the file in messages
 * ("candle store"). On failure *out is NULL and err says what to fix. */
int tml__db_open(const char *path, const char *what, int busy_timeout_ms, sqlite3 **out, struct tml_error *err);

/* Records a failed SQLite call: TML_EBUSY for a lock that outlasted the busy wait ("database '<path>' is
 * locked by another process (waited N ms while <doing>)"), TML_ECONFLICT for a unique or primary-key
 * constraint, TML_EDB otherwise (with SQLite's message). Returns the code. */
int tml__db_error(sqlite3 *db, const char *path, const char *what, int busy_timeout_ms, int rc, const char *doing,
                  struct tml_error *err);

#endif
