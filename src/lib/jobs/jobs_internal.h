/* Helpers shared by the jobs layer's .c files (queue, lease, symqueue, scheduler, coverage). */
#ifndef TML_JOBS_INTERNAL_H
#define TML_JOBS_INTERNAL_H

#include <sqlite3.h>

#include "trademl/jobs.h"

struct tml_error;

/* Wraps a SQLite failure: TML_EBUSY "database ... is locked by another process" or TML_EDB. */
int tml__jobs_db_error(struct tml_jobs *q, int rc, const char *what, struct tml_error *err);
int tml__jobs_exec(struct tml_jobs *q, const char *sql, const char *what, struct tml_error *err);
int tml__jobs_begin(struct tml_jobs *q, const char *what, struct tml_error *err); /* BEGIN IMMEDIATE */
int tml__jobs_commit(struct tml_jobs *q, const char *what, struct tml_error *err); /* rolls back on failure */
void tml__jobs_rollback(struct tml_jobs *q);
int tml__jobs_prepare(struct tml_jobs *q, const char *sql, sqlite3_stmt **st, struct tml_error *err);
const char *tml__jobs_path(const struct tml_jobs *q);

/* params.c: validates submitted params (configuration keys checked against the key table, options of
 * the kind) into canonical JSON (sorted keys, compact). TML_EINVAL naming the key. */
int tml__job_params_canonical(enum tml_job_kind kind, const char *params, char *out, size_t outsz,
                              struct tml_error *err);
/* Translates params stored by older versions (flag names) into configuration keys; *changed says
 * whether anything was renamed. TML_EINVAL for a flag no key replaces. */
int tml__job_params_upgrade(enum tml_job_kind kind, const char *params, char *out, size_t outsz, bool *changed,
                            struct tml_error *err);

#endif
