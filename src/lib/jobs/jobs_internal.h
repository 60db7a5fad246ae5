/* Helpers shared by the jobs layer's .c files (queue, lease, params, scheduler, coverage and the
 * queue backends). No database header here: storage is reached through the backend table
 * (queue_backend.h). */
#ifndef TML_JOBS_INTERNAL_H
#define TML_JOBS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/jobs.h"

struct tml_error;
struct tml_buf;
struct tml__queue_backend;

/* The backend of a handle and its connection state (borrowed). */
const struct tml__queue_backend *tml__jobs_backend(const struct tml_jobs *q);
void *tml__jobs_conn(const struct tml_jobs *q);
/* The location the handle was opened with (other modules open the same database with it). */
const char *tml__jobs_path(const struct tml_jobs *q);
/* When this handle last looked for expired leases (ms; lease.c). */
int64_t *tml__jobs_reap_clock(struct tml_jobs *q);

/* Kind and status from their stored names (unknown kind: train; unknown status: failed). */
enum tml_job_kind tml__job_kind_from_text(const char *s);
enum tml_job_status tml__job_status_from_text(const char *s);

/* Identity of a job for deduplication: train and retrain share one per symbol set (a symbol training
 * is never queued twice); other kinds are identical when every field matches. Appends to key. */
void tml__job_dedup_key(enum tml_job_kind kind, const char *syms, const char *interval, const char *strategy,
                        const char *mode, double days, const char *params, struct tml_buf *key);

/* params.c: validates submitted params (configuration keys checked against the key table, options of
 * the kind) into canonical JSON (sorted keys, compact). TML_EINVAL naming the key. */
int tml__job_params_canonical(enum tml_job_kind kind, const char *params, char *out, size_t outsz,
                              struct tml_error *err);
/* Translates params stored by older versions (flag names) into configuration keys; *changed says
 * whether anything was renamed. TML_EINVAL for a flag no key replaces. */
int tml__job_params_upgrade(enum tml_job_kind kind, const char *params, char *out, size_t outsz, bool *changed,
                            struct tml_error *err);

#endif
