/* Internal: the table of functions a registry storage backend implements (SQLite's VFS style). The
 * policy (what becomes active, what retention deletes) lives in registry.c and only talks to a
 * backend through this table, so a PostgreSQL backend (registry_pg.c) is one more table.
 *
 * Contract for every backend:
 *  - `db` is the backend's own connection state, created by open() and freed by close().
 *  - begin() starts a write transaction that serialises against every other writer (SQLite: BEGIN
 *    IMMEDIATE; PostgreSQL: a transaction plus a lock on the models table); it waits a bounded time
 *    and then fails with TML_EBUSY naming the database.
 *  - At most one row per (strategy, key, interval_ms) has active = 1, enforced by the store itself
 *    (a partial unique index), so a bug in the policy cannot create two active rows.
 *  - Row ids are never reused (so "model 7" means one set forever).
 *  - Functions that return rows fill every field of struct tml_model_row except folder_missing.
 *  - Model artefacts (optional; both NULL when the backend keeps none and folders are shared through
 *    the file system, as SQLite's): put_files() stores every regular file under a registered model's
 *    folder with its size and checksum, inside the caller's write transaction, so a row and its files
 *    commit together; get_files() writes them back into a folder on this host (a cache, filled on
 *    demand by registry.c) after verifying each checksum.
 *  - job_fence() runs inside the caller's write transaction and checks that job `job_id` of the job
 *    queue (table `jobs` in the same database) is running under exactly fencing token `fence`. The job's
 *    row stays locked against the queue's writers until the transaction ends (PostgreSQL: SELECT ...
 *    FOR SHARE; SQLite: the BEGIN IMMEDIATE write lock), so a lease revoked, a job requeued or ended
 *    elsewhere cannot slip in between the check and the commit of the registration. */
#ifndef TML_REGISTRY_BACKEND_H
#define TML_REGISTRY_BACKEND_H

#include "trademl/registry.h"

struct tml__registry_backend {
  const char *name;
  int (*open)(const char *location, void **db, struct tml_error *err);
  void (*close)(void *db);
  int (*begin)(void *db, struct tml_error *err);
  int (*commit)(void *db, struct tml_error *err);
  void (*rollback)(void *db);
  /* Inserts row (its id is ignored) and its symbols; *id receives the new id. TML_EEXIST when the
   * path is already registered. */
  int (*insert)(void *db, const struct tml_model_row *row, int64_t *id, struct tml_error *err);
  /* TML_ENOENT when there is no such row. */
  int (*get)(void *db, int64_t id, struct tml_model_row *row, struct tml_error *err);
  /* Id of the row registered for path, 0 when none. */
  int (*find_path)(void *db, const char *path, int64_t *id, struct tml_error *err);
  /* The active row of a group; TML_ENOENT when none. */
  int (*active_in_group)(void *db, const char *strategy, const char *key, int64_t interval_ms,
                         struct tml_model_row *row, struct tml_error *err);
  /* The active row for a symbol: its own key first, then the newest multi-symbol set listing it. */
  int (*active_for_symbol)(void *db, const char *strategy, const char *symbol, int64_t interval_ms,
                           struct tml_model_row *row, struct tml_error *err);
  /* Rows matching filter (NULL = all), newest first; caller frees with tml_model_rows_free. */
  int (*list)(void *db, const struct tml_registry_filter *filter, struct tml_model_row **rows, size_t *n,
              struct tml_error *err);
  int (*set_active)(void *db, int64_t id, bool active, const char *reason, struct tml_error *err);
  /* Deletes row id only while it is inactive; *deleted says whether it did. */
  int (*remove_inactive)(void *db, int64_t id, bool *deleted, struct tml_error *err);
  /* Stores the files of folder dir as model id's artefacts (replacing any stored ones). */
  int (*put_files)(void *db, int64_t id, const char *dir, struct tml_error *err);
  /* Writes model id's stored files into the new folder dir (temporary folder + rename; an existing dir
   * is left alone). TML_ENOENT when it has none stored; TML_EMODEL when a checksum or size disagrees
   * (nothing is left behind). *nfiles and *bytes (may be NULL) receive what was written. */
  int (*get_files)(void *db, int64_t id, const char *dir, size_t *nfiles, size_t *bytes, struct tml_error *err);
  /* Number of files stored for model id (0 = none). */
  int (*count_files)(void *db, int64_t id, size_t *n, struct tml_error *err);
  /* 0 when job_id runs under fence; TML_ESTALE naming the job's current status, token and worker (or
   * that there is no such job) when not; TML_EDB when the database has no job queue. */
  int (*job_fence)(void *db, int64_t job_id, int64_t fence, struct tml_error *err);
};

/* The verdict every backend gives on the job row it read: 0 when the job is running under this very
 * token, else TML_ESTALE with the message naming what holds the job. status NULL: no such job. */
int tml__registry_fence_verdict(int64_t job_id, int64_t fence, const char *status, int64_t current,
                                const char *worker, struct tml_error *err);

extern const struct tml__registry_backend tml__registry_sqlite;
extern const struct tml__registry_backend tml__registry_pg;

#endif
