/* The names of the job kinds and statuses, their parsers and the text forms the backends store: one
 * table each, below the job table's policy (queue.c) and its params (params.c), which both use them. */
#include "trademl/jobs.h"
#include "util/common.h"

#include "trademl/error.h"
#include "jobs/jobs_internal.h"

#include <ctype.h>

static const char *const kind_names[TML_JOB_KIND_COUNT] = {"train", "validate", "retrain", "fetch", "noop"};
static const char *const status_names[TML_JOB_STATUS_COUNT] = {"queued",    "running",   "succeeded",
                                                                "failed",    "cancelled", "timed_out"};

const char *tml_job_kind_name(enum tml_job_kind k) {
  return (unsigned)k < TML_JOB_KIND_COUNT ? kind_names[k] : "?";
}
const char *tml_job_status_name(enum tml_job_status s) {
  return (unsigned)s < TML_JOB_STATUS_COUNT ? status_names[s] : "?";
}

static bool ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
      return false;
  return *a == *b;
}

int tml_job_kind_parse(const char *s, enum tml_job_kind *out, struct tml_error *err) {
  for (int i = 0; i < TML_JOB_KIND_COUNT; i++)
    if (s && ieq(s, kind_names[i])) {
      *out = (enum tml_job_kind)i;
      return 0;
    }
  return tml_error_set(err, TML_EINVAL, "unknown job kind '%s' (expected train, validate, retrain or fetch)",
                       s ? s : "");
}

int tml_job_status_parse(const char *s, enum tml_job_status *out, struct tml_error *err) {
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    if (s && ieq(s, status_names[i])) {
      *out = (enum tml_job_status)i;
      return 0;
    }
  return tml_error_set(err, TML_EINVAL,
                       "unknown job status '%s' (expected queued, running, succeeded, failed, cancelled or timed_out)",
                       s ? s : "");
}

enum tml_job_status tml__job_status_from_text(const char *s) {
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    if (strcmp(s, status_names[i]) == 0)
      return (enum tml_job_status)i;
  return TML_JOB_FAILED;
}

enum tml_job_kind tml__job_kind_from_text(const char *s) {
  for (int i = 0; i < TML_JOB_KIND_COUNT; i++)
    if (strcmp(s, kind_names[i]) == 0)
      return (enum tml_job_kind)i;
  return TML_JOB_TRAIN;
}

bool tml_job_status_final(enum tml_job_status s) { return s != TML_JOB_QUEUED && s != TML_JOB_RUNNING; }
