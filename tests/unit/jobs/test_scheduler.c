/* scheduler: slot claims (first sighting, missed-slot catch-up runs once, two schedulers on one
 * database never both run a slot) and the new-symbol queue import formats. */
#include "test.h"

#include "trademl/cron.h"
#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/scheduler.h"
#include "trademl/timeutil.h"

#include <sys/wait.h>
#include <unistd.h>

static int64_t T(const char *s) {
  int64_t ms = 0;
  if (tml_time_parse(s, strlen(s), &ms) != 0)
    tml_test_fail(__FILE__, __LINE__, "bad time %s", s);
  return ms;
}

/* loc: tml_test_db_location (a SQLite file, or a PostgreSQL database for the scheduler_pg.* entries). */
static struct tml_jobs *open_db(const char *loc) {
  struct tml_jobs *q = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_jobs_open(loc, NULL, &q, &err), &err);
  return q;
}

TEST(missed_slots_run_once_and_two_schedulers_never_double_run) {
  char *dir = tml_test_db_location("sched_slots");
  struct tml_jobs *a = open_db(dir), *b = open_db(dir);
  struct tml_cron c;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_cron_parse("0 2,14,22 * * *", &c, &err), &err);
  bool claimed = true;
  int64_t slot = 0;
  /* First sighting records the latest slot without running it. */
  CHECK_OK(tml_scheduler_claim_slot(a, "retrain", &c, T("2025-03-01T15:00:00Z"), &claimed, &slot, &err), &err);
  CHECK(!claimed);
  CHECK_INT(slot, T("2025-03-01T14:00:00Z"));
  /* Same slot again: nothing. */
  CHECK_OK(tml_scheduler_claim_slot(b, "retrain", &c, T("2025-03-01T21:59:00Z"), &claimed, NULL, &err), &err);
  CHECK(!claimed);
  /* Down for three days (9 slots missed): one run at start-up, for the latest slot. */
  CHECK_OK(tml_scheduler_claim_slot(a, "retrain", &c, T("2025-03-04T13:30:00Z"), &claimed, &slot, &err), &err);
  CHECK(claimed);
  CHECK_INT(slot, T("2025-03-04T02:00:00Z"));
  CHECK_OK(tml_scheduler_claim_slot(a, "retrain", &c, T("2025-03-04T13:31:00Z"), &claimed, NULL, &err), &err);
  CHECK(!claimed);
  /* Two schedulers at the same slot: exactly one claims it. */
  bool ca = false, cb = false;
  CHECK_OK(tml_scheduler_claim_slot(b, "retrain", &c, T("2025-03-04T14:00:05Z"), &cb, NULL, &err), &err);
  CHECK_OK(tml_scheduler_claim_slot(a, "retrain", &c, T("2025-03-04T14:00:07Z"), &ca, NULL, &err), &err);
  CHECK(cb && !ca);
  int64_t last = 0;
  CHECK_OK(tml_scheduler_last_slot(a, "retrain", &last, &err), &err);
  CHECK_INT(last, T("2025-03-04T14:00:00Z"));
  tml_jobs_close(a);
  tml_jobs_close(b);
  free(dir);
}

TEST(two_processes_claim_each_slot_once) {
  char *dir = tml_test_tmpdir("sched_fork");
  char *loc = tml_test_db_location("sched_fork");
  struct tml_jobs *q = open_db(loc);
  struct tml_cron c;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_cron_parse("*/5 * * * *", &c, &err), &err);
  bool claimed;
  CHECK_OK(tml_scheduler_claim_slot(q, "s", &c, T("2025-01-01T00:00:00Z"), &claimed, NULL, &err), &err);
  tml_jobs_close(q);
  /* Two processes walk the same 50 slots; each writes how many it claimed. */
  char out[2][1024];
  pid_t pids[2];
  for (int p = 0; p < 2; p++) {
    snprintf(out[p], sizeof(out[p]), "%s/claims%d", dir, p);
    pids[p] = fork();
    if (pids[p] == 0) {
      struct tml_jobs *cq = open_db(loc);
      int n = 0;
      for (int i = 1; i <= 50; i++) {
        bool cl = false;
        struct tml_error e2;
        tml_error_init(&e2);
        if (tml_scheduler_claim_slot(cq, "s", &c, T("2025-01-01T00:00:00Z") + i * 5 * TML_MS_PER_MINUTE, &cl, NULL,
                                     &e2) != 0)
          _exit(2);
        n += cl;
      }
      FILE *f = fopen(out[p], "w");
      fprintf(f, "%d\n", n);
      fclose(f);
      tml_jobs_close(cq);
      _exit(0);
    }
  }
  int total = 0;
  for (int p = 0; p < 2; p++) {
    int st = 0;
    waitpid(pids[p], &st, 0);
    CHECK_INT(st, 0);
    FILE *f = fopen(out[p], "r");
    int n = 0;
    CHECK(f && fscanf(f, "%d", &n) == 1);
    fclose(f);
    total += n;
  }
  CHECK_INT(total, 50);
  free(loc);
  free(dir);
}

static const char *write_file(const char *dir, const char *name, const char *text) {
  static char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

TEST(queue_import_formats) {
  char *dir = tml_test_tmpdir("sched_import");
  char *loc = tml_test_db_location("sched_import");
  struct tml_jobs *q = open_db(loc);
  struct tml_error err;
  tml_error_init(&err);
  size_t added = 0;
  CHECK_OK(tml_symqueue_import(q,
                               write_file(dir, "q1.json",
                                          "{\"queue\":[{\"symbol\":\"LTCUSDT\",\"added_at\":\"2025-01-02T03:04:05Z\","
                                          "\"attempts\":2,\"last_error\":\"boom\"},{\"symbol\":\"avax/usdt\"}]}"),
                               &added, &err),
           &err);
  CHECK_INT(added, 2);
  CHECK_OK(tml_symqueue_import(q, write_file(dir, "q2.json", "[\"LTCUSDT\", \"SUIUSDT\"]"), &added, &err), &err);
  CHECK_INT(added, 1); /* LTCUSDT already queued */
  struct tml_symqueue_entry *e = NULL;
  size_t n = 0;
  CHECK_OK(tml_symqueue_list(q, &e, &n, &err), &err);
  CHECK_INT(n, 3);
  CHECK_STR(e[0].symbol, "LTCUSDT");
  CHECK_INT(e[0].added_ms, T("2025-01-02T03:04:05Z"));
  CHECK_INT(e[0].attempts, 2);
  CHECK_STR(e[0].last_error, "boom");
  free(e);
  struct {
    const char *text, *want;
  } bad[] = {
      {"{\"symbols\":[\"X\"]}", "the object has no \"queue\" array"},
      {"42", "top level is not an object or array"},
      {"[\"LTCUSDT\", 7]", "entry 1 is neither a symbol string nor an object"},
      {"{\"queue\":[{\"sym\":\"A\"}]}", "entry 0 has no \"symbol\" string"},
      {"{\"queue\":[{\"symbol\":\"ABCUSDT\",\"added_at\":\"yesterday\"}]}", "\"added_at\" is not a time"},
      {"{\"queue\":[{\"symbol\":\"ABCUSDT\",\"attempts\":-1}]}", "\"attempts\" must be a whole number"},
      {"[\"BAD SYMBOL!\"]", "'BAD SYMBOL!' is not a valid symbol"},
      {"{\"queue\": [", "not valid JSON"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tml_error_init(&err);
    const char *p = write_file(dir, "bad.json", bad[i].text);
    CHECK_INT(tml_symqueue_import(q, p, &added, &err), TML_EPARSE);
    CHECK_CONTAINS(err.msg, "queue file '");
    CHECK_CONTAINS(err.msg, "bad.json");
    CHECK_CONTAINS(err.msg, bad[i].want);
    CHECK_INT(added, 0);
  }
  CHECK_OK(tml_symqueue_list(q, &e, &n, &err), &err);
  CHECK_INT(n, 3); /* nothing imported from the bad files */
  free(e);
  tml_jobs_close(q);
  free(loc);
  free(dir);
}
