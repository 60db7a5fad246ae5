/* Opening trademl.db connections and wording their errors (see db.h). */
#include "util/db.h"
#include "trademl/db.h"
#include "trademl/error.h"
#include "util/common.h"

int tml__db_error(sqlite3 *db, const char *path, const char *what, int busy_timeout_ms, int rc, const char *doing,
                  struct tml_error *err) {
  int prim = rc & 0xff;
  if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
    return tml_error_set(err, TML_EBUSY,
                         "database '%s' is locked by another process (waited %d ms while %s); retry when it has "
                         "finished, or stop it (data.busy_timeout sets the wait)",
                         path, busy_timeout_ms, doing);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
    return tml_error_set(err, TML_ECONFLICT, "%s '%s': %s: %s", what, path, doing, sqlite3_errmsg(db));
  return tml_error_set(err, TML_EDB, "%s '%s': %s: %s", what, path, doing, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int tml__db_open(const char *path, const char *what, int busy_timeout_ms, sqlite3 **out, struct tml_error *err) {
  sqlite3 *db = NULL;
  *out = NULL;
  /* A PostgreSQL URL reaching a SQLite-only module: say so, and never echo the URL (it may hold a password). */
  if (tml_db_kind_of(path) == TML_DB_POSTGRES)
    return tml_error_set(err, TML_EUNSUPPORTED,
                         "the %s is not available on PostgreSQL yet (data.database is a postgresql:// URL): run this "
                         "command with data.database empty (the SQLite file data.db_path), see docs/postgresql.md",
                         what);
  int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    tml_error_set(err, TML_EDB, "cannot open %s '%s': %s (does the directory exist and is it writable?)", what, path,
                  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    *out = NULL;
    return TML_EDB;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  /* WAL: readers never block the writer; NORMAL sync is durable across application crashes. */
  rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", NULL, NULL,
                    NULL);
  if (rc != SQLITE_OK) {
    int code = tml__db_error(db, path, what, busy_timeout_ms, rc, "switching to WAL mode", err);
    sqlite3_close(db);
    *out = NULL;
    return code;
  }
  *out = db;
  return 0;
}
