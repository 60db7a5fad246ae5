/* Claim throughput of the job queue: N no-op jobs are submitted, then C claimer threads (each with its
 * own connection, as worker threads have) claim and finish them until none is left. Prints jobs/s for
 * each database given, so SQLite and PostgreSQL are measured in the same run on the same machine.
 *
 *   bench_claims JOBS CLAIMERS REPEATS LOCATION...   (a SQLite file path or a postgresql:// URL)
 *
 * One line per location and repeat, then "min/median jobs/s". The queue is emptied (purged) between
 * repeats; the global concurrency limit is off (max_running 0), as on a cluster of workers. */
#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/timeutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct claimer {
  const char *location;
  int index;
  size_t done;
  int rc;
  char msg[256];
};

static void *claim_main(void *ud) {
  struct claimer *c = ud;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_jobs_opts o;
  tml_jobs_opts_default(&o);
  o.max_running = 0;
  struct tml_jobs *q = NULL;
  if ((c->rc = tml_jobs_open(c->location, &o, &q, &err)) != 0) {
    snprintf(c->msg, sizeof(c->msg), "%.200s", err.msg);
    return NULL;
  }
  char wid[32];
  snprintf(wid, sizeof(wid), "bench#%d", c->index);
  for (;;) {
    struct tml_job j;
    bool got = false;
    tml_error_clear(&err);
    int rc = tml_jobs_claim(q, wid, 60, &j, &got, &err);
    if (rc == TML_EBUSY)
      continue; /* SQLite: the write lock outlasted the busy wait; try again */
    if (rc) {
      c->rc = rc;
      snprintf(c->msg, sizeof(c->msg), "claim: %.200s", err.msg);
      break;
    }
    if (!got)
      break;
    do {
      tml_error_clear(&err);
      rc = tml_jobs_finish(q, j.id, j.fence, TML_OUTCOME_SUCCEEDED, 0, 0, NULL, NULL, NULL, &err);
    } while (rc == TML_EBUSY);
    if (rc) {
      c->rc = rc;
      snprintf(c->msg, sizeof(c->msg), "finish: %.200s", err.msg);
      break;
    }
    c->done++;
  }
  tml_jobs_close(q);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int run_once(const char *location, int jobs, int claimers, double *rate) {
  struct tml_error err;
  tml_error_init(&err);
  struct tml_jobs_opts o;
  tml_jobs_opts_default(&o);
  o.check_symbols = false;
  struct tml_jobs *q = NULL;
  if (tml_jobs_open(location, &o, &q, &err) != 0) {
    fprintf(stderr, "bench_claims: %s\n", err.msg);
    return 1;
  }
  tml_jobs_purge(q, INT64_MAX, NULL, &err);
  for (int i = 0; i < jobs; i++) {
    struct tml_job_spec s;
    tml_job_spec_init(&s);
    s.kind = TML_JOB_NOOP;
    char params[64];
    snprintf(params, sizeof(params), "{\"tag\":\"b%d\"}", i);
    s.params = params;
    int64_t id;
    if (tml_jobs_submit(q, &s, &id, NULL, &err) != 0) {
      fprintf(stderr, "bench_claims: submit: %s\n", err.msg);
      tml_jobs_close(q);
      return 1;
    }
  }
  struct claimer *c = calloc((size_t)claimers, sizeof(*c));
  pthread_t *t = calloc((size_t)claimers, sizeof(*t));
  double t0 = tml_monotonic_s();
  for (int i = 0; i < claimers; i++) {
    c[i].location = location;
    c[i].index = i;
    pthread_create(&t[i], NULL, claim_main, &c[i]);
  }
  size_t done = 0;
  int rc = 0;
  for (int i = 0; i < claimers; i++) {
    pthread_join(t[i], NULL);
    done += c[i].done;
    if (c[i].rc) {
      fprintf(stderr, "bench_claims: claimer %d: %s\n", i, c[i].msg);
      rc = 1;
    }
  }
  double secs = tml_monotonic_s() - t0;
  size_t counts[TML_JOB_STATUS_COUNT];
  tml_jobs_counts(q, counts, &err);
  if (done != (size_t)jobs || counts[TML_JOB_SUCCEEDED] != (size_t)jobs) {
    fprintf(stderr, "bench_claims: %zu claimed, %zu succeeded, expected %d\n", done, counts[TML_JOB_SUCCEEDED], jobs);
    rc = 1;
  }
  tml_jobs_purge(q, INT64_MAX, NULL, &err);
  tml_jobs_close(q);
  free(c);
  free(t);
  *rate = (double)jobs / secs;
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench_claims JOBS CLAIMERS REPEATS LOCATION...\n");
    return 2;
  }
  int jobs = (int)strtol(argv[1], NULL, 10), claimers = (int)strtol(argv[2], NULL, 10),
      repeats = (int)strtol(argv[3], NULL, 10);
  if (jobs < 1 || claimers < 1 || repeats < 1 || repeats > 50) {
    fprintf(stderr, "bench_claims: JOBS, CLAIMERS >= 1, REPEATS 1..50\n");
    return 2;
  }
  double base = 0;
  for (int a = 4; a < argc; a++) {
    double rates[50];
    char shown[512];
    tml_db_redact(argv[a], shown, sizeof(shown));
    const char *kind = tml_db_kind_name(tml_db_kind_of(argv[a]));
    for (int r = 0; r < repeats; r++) {
      if (run_once(argv[a], jobs, claimers, &rates[r]) != 0)
        return 1;
      printf("%-10s run %d: %d jobs, %d claimers: %.0f jobs/s\n", kind, r + 1, jobs, claimers, rates[r]);
    }
    qsort(rates, (size_t)repeats, sizeof(double), cmp_double);
    double median = rates[repeats / 2];
    if (a == 4)
      base = median;
    printf("%-10s min %.0f / median %.0f jobs/s (%s)%s", kind, rates[0], median, shown, a == 4 ? " [baseline]\n" : "");
    if (a > 4)
      printf("  = %.2fx the baseline\n", median / base);
    fflush(stdout);
  }
  return 0;
}
