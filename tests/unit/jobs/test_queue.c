/* queue: job parameters stored as configuration keys (validated at submit, upgraded from the flag
 * form of older versions, handed to the child as --set), and the queue contract every backend keeps:
 * one claim per job, leases, retries, cancel, dedupe and fencing tokens. */
#include "test.h"

#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/timeutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <time.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

/* Opens the job table at loc (a SQLite file or a PostgreSQL URL: tml_test_db_location). */
static struct tml_jobs *open_loc(const char *loc, int max_running) {
  struct tml_jobs_opts o;
  tml_jobs_opts_default(&o);
  o.check_symbols = false;
  o.backoff_base_s = 0;
  o.max_running = max_running;
  struct tml_jobs *q = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_jobs_open(loc, &o, &q, &err), &err);
  return q;
}

static struct tml_jobs *open_at(const char *loc) { return open_loc(loc, 0); }

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int64_t submit(struct tml_jobs *q, enum tml_job_kind kind, const char *params, struct tml_error *err) {
  struct tml_job_spec s;
  tml_job_spec_init(&s);
  s.kind = kind;
  s.symbols[0] = "BTCUSDT";
  s.nsymbols = kind == TML_JOB_NOOP ? 0 : 1;
  s.interval = "5m";
  s.params = params;
  int64_t id = 0;
  if (tml_jobs_submit(q, &s, &id, NULL, err) != 0)
    return -1;
  return id;
}

TEST(params_are_configuration_keys_checked_at_submit) {
  char *dir = tml_test_db_location("queue_params");
  struct tml_jobs *q = open_at(dir);
  struct tml_error err;
  tml_error_init(&err);
  int64_t id = submit(q, TML_JOB_VALIDATE, "{\"validation.window\":\"expanding\",\"training.num_boost_round\":60,"
                                           "\"force\":true}", &err);
  CHECK_MSG(id > 0, "submit: %s", err.msg);
  struct tml_job j;
  CHECK_OK(tml_jobs_get(q, id, &j, &err), &err);
  CHECK_STR(j.params, "{\"force\":true,\"training.num_boost_round\":60,\"validation.window\":\"expanding\"}");

  /* a flag name is refused, naming the key to use */
  tml_error_init(&err);
  CHECK_INT(submit(q, TML_JOB_TRAIN, "{\"num-boost-round\":60}", &err), -1);
  CHECK_INT(err.code, TML_EINVAL);
  CHECK_CONTAINS(err.msg, "training.num_boost_round");
  /* an unknown key, a bad value, a job field, an option of another kind */
  tml_error_init(&err);
  CHECK_INT(submit(q, TML_JOB_TRAIN, "{\"training.num_boost_rounds\":60}", &err), -1);
  CHECK_CONTAINS(err.msg, "did you mean 'training.num_boost_round'");
  tml_error_init(&err);
  CHECK_INT(submit(q, TML_JOB_TRAIN, "{\"training.num_boost_round\":\"many\"}", &err), -1);
  CHECK_CONTAINS(err.msg, "training.num_boost_round");
  CHECK_CONTAINS(err.msg, "'many'");
  tml_error_init(&err);
  CHECK_INT(submit(q, TML_JOB_TRAIN, "{\"data.interval\":\"1h\"}", &err), -1);
  CHECK_CONTAINS(err.msg, "the job's interval");
  tml_error_init(&err);
  CHECK_INT(submit(q, TML_JOB_TRAIN, "{\"force\":true}", &err), -1);
  CHECK_CONTAINS(err.msg, "option of train jobs");
  tml_error_init(&err);
  CHECK_INT(submit(q, TML_JOB_VALIDATE, "{\"force\":\"yes\"}", &err), -1);
  CHECK_CONTAINS(err.msg, "true or false");
  tml_jobs_close(q);
  free(dir);
}

TEST(argv_passes_keys_as_set_before_the_command_and_options_after) {
  char *dir = tml_test_db_location("queue_argv");
  struct tml_jobs *q = open_at(dir);
  struct tml_error err;
  tml_error_init(&err);
  int64_t id = submit(q, TML_JOB_VALIDATE, "{\"force\":true,\"validation.gates.rules\":[\"direction.recall.up>0.3\","
                                           "\"direction.f1>0.2\"],\"training.learning_rate\":0.05}", &err);
  CHECK_MSG(id > 0, "submit: %s", err.msg);
  struct tml_job j;
  CHECK_OK(tml_jobs_get(q, id, &j, &err), &err);
  char *argv[64], storage[4096];
  size_t argc = 0;
  CHECK_OK(tml_job_argv(&j, "trademl", "/h", NULL, 2, argv, 64, &argc, storage, sizeof(storage), &err), &err);
  char line[2048] = "";
  for (size_t i = 0; i < argc; i++) {
    strncat(line, argv[i], sizeof(line) - strlen(line) - 2);
    strncat(line, " ", sizeof(line) - strlen(line) - 1);
  }
  CHECK_STR(line, "trademl --home /h --set training.learning_rate=0.05 --set "
                  "validation.gates.rules=direction.recall.up>0.3,direction.f1>0.2 validate --symbol BTCUSDT "
                  "--interval 5m --mode quick --threads 2 --force --json ");
  /* noop options become its flags */
  id = submit(q, TML_JOB_NOOP, "{\"seconds\":0.5,\"fail_attempts\":2,\"tag\":\"x\"}", &err);
  CHECK_MSG(id > 0, "submit: %s", err.msg);
  CHECK_OK(tml_jobs_get(q, id, &j, &err), &err);
  CHECK_OK(tml_job_argv(&j, "trademl", NULL, NULL, 0, argv, 64, &argc, storage, sizeof(storage), &err), &err);
  line[0] = '\0';
  for (size_t i = 0; i < argc; i++) {
    strncat(line, argv[i], sizeof(line) - strlen(line) - 2);
    strncat(line, " ", sizeof(line) - strlen(line) - 1);
  }
  CHECK_STR(line, "trademl jobs noop --fail-attempts 2 --seconds 0.5 --tag x ");
  tml_jobs_close(q);
  free(dir);
}

/* Rows written by a version that stored flag names: upgraded once on open, identity recomputed, a
 * queued job whose flag no key replaces fails with a message instead of failing on a worker. */
TEST(old_flag_params_are_upgraded_on_open) {
  if (tml_test_db_is_pg())
    SKIP("rows in the flag form exist only in SQLite files of older versions (PostgreSQL starts with keys)");
  char *dir = tml_test_tmpdir("queue_upgrade");
  char loc[1024];
  snprintf(loc, sizeof(loc), "%s/t.db", dir);
  struct tml_jobs *q = open_at(loc);
  struct tml_error err;
  tml_error_init(&err);
  int64_t a = submit(q, TML_JOB_VALIDATE, "{\"training.seed\":7}", &err);
  int64_t b = submit(q, TML_JOB_VALIDATE, "{\"training.seed\":8}", &err);
  int64_t c = submit(q, TML_JOB_NOOP, "{\"tag\":\"old\"}", &err);
  CHECK_MSG(a > 0 && b > 0 && c > 0, "submit: %s", err.msg);
  tml_jobs_close(q);
  /* rewrite them as an older version stored them */
  char path[1024];
  snprintf(path, sizeof(path), "%s/t.db", dir);
  sqlite3 *db = NULL;
  CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "UPDATE jobs SET params = '{\"num-boost-round\":60,\"window\":\"fixed\"}' WHERE id = %d;"
           "UPDATE jobs SET params = '{\"dry-run\":true}' WHERE id = %d;"
           "UPDATE jobs SET params = '{\"fail-attempts\":1,\"tag\":\"old\"}' WHERE id = %d;"
           "DELETE FROM jobs_meta;",
           (int)a, (int)b, (int)c);
  CHECK_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);

  q = open_at(loc);
  struct tml_job j;
  CHECK_OK(tml_jobs_get(q, a, &j, &err), &err);
  CHECK_STR(j.params, "{\"training.num_boost_round\":60,\"validation.window\":\"fixed\"}");
  CHECK_INT(j.status, TML_JOB_QUEUED);
  CHECK_OK(tml_jobs_get(q, b, &j, &err), &err);
  CHECK_INT(j.status, TML_JOB_FAILED);
  CHECK_CONTAINS(j.error, "'dry-run'");
  CHECK_CONTAINS(j.error, "submit the job again");
  CHECK_OK(tml_jobs_get(q, c, &j, &err), &err);
  CHECK_STR(j.params, "{\"fail_attempts\":1,\"tag\":\"old\"}");
  /* the identity follows the new params: the same job submitted now is the upgraded one */
  bool existed = false;
  struct tml_job_spec s;
  tml_job_spec_init(&s);
  s.kind = TML_JOB_VALIDATE;
  s.symbols[0] = "BTCUSDT";
  s.nsymbols = 1;
  s.interval = "5m";
  s.params = "{\"validation.window\":\"fixed\",\"training.num_boost_round\":60}";
  int64_t again = 0;
  CHECK_OK(tml_jobs_submit(q, &s, &again, &existed, &err), &err);
  CHECK(existed);
  CHECK_INT(again, a);
  tml_jobs_close(q);
  free(dir);
}

static int64_t noop(struct tml_jobs *q, const char *tag, int max_attempts) {
  struct tml_job_spec s;
  tml_job_spec_init(&s);
  s.kind = TML_JOB_NOOP;
  char params[128];
  snprintf(params, sizeof(params), "{\"tag\":\"%s\"}", tag);
  s.params = params;
  s.max_attempts = max_attempts;
  int64_t id = 0;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_jobs_submit(q, &s, &id, NULL, &err), &err);
  return id;
}

/* The fencing contract: a worker whose lease expired and whose job was claimed again can no longer
 * heartbeat, report progress or store a result, even though it comes back; the new holder can. */
TEST(stale_fencing_token_is_refused_after_the_lease_expired) {
  char *loc = tml_test_db_location("queue_fence");
  struct tml_jobs *q = open_at(loc);
  struct tml_error err;
  tml_error_init(&err);
  int64_t id = noop(q, "fence", 3);
  struct tml_job a, b;
  bool got = false;
  CHECK_OK(tml_jobs_claim(q, "host-a#0", 1, &a, &got, &err), &err);
  CHECK(got);
  CHECK_INT(a.id, id);
  CHECK(a.fence > 0);
  CHECK_OK(tml_jobs_heartbeat(q, id, a.fence, 1, NULL, &err), &err);
  CHECK_OK(tml_jobs_set_progress(q, id, a.fence, 40, "working", &err), &err);
  CHECK_OK(tml_jobs_fence_check(q, id, a.fence, &err), &err);
  sleep_ms(1200); /* host a is partitioned: its lease runs out */
  CHECK_OK(tml_jobs_claim(q, "host-b#0", 30, &b, &got, &err), &err);
  CHECK(got);
  CHECK_INT(b.id, id);
  CHECK_MSG(b.fence > a.fence, "token %" PRId64 " after %" PRId64, b.fence, a.fence);
  CHECK_INT(b.attempts, 2);
  /* host a comes back */
  tml_error_init(&err);
  CHECK_INT(tml_jobs_heartbeat(q, id, a.fence, 30, NULL, &err), TML_ECONFLICT);
  tml_error_init(&err);
  CHECK_INT(tml_jobs_set_progress(q, id, a.fence, 90, "late", &err), TML_ECONFLICT);
  tml_error_init(&err);
  CHECK_INT(tml_jobs_fence_check(q, id, a.fence, &err), TML_ECONFLICT);
  CHECK_CONTAINS(err.msg, "is stale");
  tml_error_init(&err);
  CHECK_INT(tml_jobs_finish(q, id, a.fence, TML_OUTCOME_SUCCEEDED, 0, 1, NULL, "{\"late\":true}", NULL, &err),
            TML_ECONFLICT);
  CHECK_CONTAINS(err.msg, "stale fencing token");
  struct tml_job now;
  tml_error_init(&err);
  CHECK_OK(tml_jobs_get(q, id, &now, &err), &err);
  CHECK_INT(now.status, TML_JOB_RUNNING);
  CHECK_STR(now.worker_id, "host-b#0");
  CHECK(now.progress < 50); /* the late progress was not stored */
  /* the holder finishes */
  enum tml_job_status after;
  CHECK_OK(tml_jobs_finish(q, id, b.fence, TML_OUTCOME_SUCCEEDED, 0, 1, NULL, "{\"ok\":1}", &after, &err), &err);
  CHECK_INT(after, TML_JOB_SUCCEEDED);
  CHECK_OK(tml_jobs_get(q, id, &now, &err), &err);
  CHECK_STR(now.result, "{\"ok\":1}");
  struct tml_job_attempt *att = NULL;
  size_t n = 0;
  CHECK_OK(tml_jobs_attempts(q, id, &att, &n, &err), &err);
  CHECK_INT(n, 2);
  CHECK_INT(att[0].outcome, TML_JOB_FAILED);
  CHECK_CONTAINS(att[0].error, "lease expired");
  CHECK_INT(att[1].outcome, TML_JOB_SUCCEEDED);
  free(att);
  tml_jobs_close(q);
  free(loc);
}

TEST(retries_cancel_dedupe_and_the_global_limit) {
  char *loc = tml_test_db_location("queue_policy");
  struct tml_jobs *q = open_loc(loc, 2);
  struct tml_error err;
  tml_error_init(&err);
  int64_t r = noop(q, "retry", 2);
  /* dedupe */
  struct tml_job_spec s;
  tml_job_spec_init(&s);
  s.kind = TML_JOB_NOOP;
  s.params = "{\"tag\":\"retry\"}";
  int64_t again = 0;
  bool existed = false;
  CHECK_OK(tml_jobs_submit(q, &s, &again, &existed, &err), &err);
  CHECK(existed);
  CHECK_INT(again, r);
  /* a failure with attempts left is queued again; the last one is final */
  struct tml_job j;
  bool got = false;
  enum tml_job_status after;
  CHECK_OK(tml_jobs_claim(q, "w#0", 30, &j, &got, &err), &err);
  CHECK(got && j.id == r);
  CHECK_OK(tml_jobs_finish(q, r, j.fence, TML_OUTCOME_FAILED, 1, 0.1, "boom", NULL, &after, &err), &err);
  CHECK_INT(after, TML_JOB_QUEUED);
  CHECK_OK(tml_jobs_claim(q, "w#0", 30, &j, &got, &err), &err);
  CHECK(got && j.id == r && j.attempts == 2);
  CHECK_OK(tml_jobs_finish(q, r, j.fence, TML_OUTCOME_FAILED, 1, 0.1, "boom again", NULL, &after, &err), &err);
  CHECK_INT(after, TML_JOB_FAILED);
  /* cancel: queued at once; running through cancel_requested seen by the heartbeat */
  int64_t c1 = noop(q, "cancel-queued", 1), c2 = noop(q, "cancel-running", 1);
  enum tml_job_status st;
  CHECK_OK(tml_jobs_cancel(q, c1, &st, &err), &err);
  CHECK_INT(st, TML_JOB_CANCELLED);
  CHECK_OK(tml_jobs_claim(q, "w#0", 30, &j, &got, &err), &err);
  CHECK(got && j.id == c2);
  CHECK_OK(tml_jobs_cancel(q, c2, &st, &err), &err);
  CHECK_INT(st, TML_JOB_RUNNING);
  bool cancel = false;
  CHECK_OK(tml_jobs_heartbeat(q, c2, j.fence, 30, &cancel, &err), &err);
  CHECK(cancel);
  tml_error_init(&err);
  CHECK_INT(tml_jobs_cancel(q, c1, &st, &err), TML_ECONFLICT);
  /* the global limit: 2 running at most, across handles */
  int64_t l1 = noop(q, "l1", 1), l2 = noop(q, "l2", 1);
  (void)l1;
  (void)l2;
  struct tml_jobs *other = open_loc(loc, 2);
  tml_error_init(&err);
  CHECK_OK(tml_jobs_claim(other, "w#1", 30, &j, &got, &err), &err);
  CHECK(got); /* c2 + this one */
  CHECK_OK(tml_jobs_claim(other, "w#1", 30, &j, &got, &err), &err);
  CHECK(!got);
  size_t counts[TML_JOB_STATUS_COUNT];
  CHECK_OK(tml_jobs_counts(q, counts, &err), &err);
  CHECK_INT(counts[TML_JOB_RUNNING], 2);
  CHECK_INT(counts[TML_JOB_QUEUED], 1);
  CHECK_INT(counts[TML_JOB_FAILED], 1);
  CHECK_INT(counts[TML_JOB_CANCELLED], 1);
  tml_jobs_close(other);
  tml_jobs_close(q);
  free(loc);
}

/* Four processes claim and finish 120 jobs: every job runs exactly once, tokens never repeat. */
TEST(concurrent_claimers_take_each_job_once) {
  char *loc = tml_test_db_location("queue_claimers");
  char *dir = tml_test_tmpdir("queue_claimers_out");
  struct tml_jobs *q = open_at(loc);
  enum { NJOBS = 120, NPROC = 4 };
  for (int i = 0; i < NJOBS; i++) {
    char tag[16];
    snprintf(tag, sizeof(tag), "t%d", i);
    noop(q, tag, 1);
  }
  tml_jobs_close(q);
  pid_t pids[NPROC];
  for (int p = 0; p < NPROC; p++) {
    pids[p] = fork();
    if (pids[p] == 0) {
      char path[1200], wid[32];
      snprintf(path, sizeof(path), "%s/claims%d", dir, p);
      snprintf(wid, sizeof(wid), "proc%d", p);
      FILE *f = fopen(path, "w");
      struct tml_jobs *cq = NULL;
      struct tml_error e;
      tml_error_init(&e);
      if (!f || tml_jobs_open(loc, NULL, &cq, &e) != 0)
        _exit(2);
      for (;;) {
        struct tml_job j;
        bool got = false;
        tml_error_init(&e);
        if (tml_jobs_claim(cq, wid, 60, &j, &got, &e) != 0) {
          if (e.code == TML_EBUSY)
            continue;
          fprintf(stderr, "claim: %s\n", e.msg);
          _exit(3);
        }
        if (!got)
          break;
        fprintf(f, "%" PRId64 " %" PRId64 "\n", j.id, j.fence);
        if (tml_jobs_finish(cq, j.id, j.fence, TML_OUTCOME_SUCCEEDED, 0, 0, NULL, NULL, NULL, &e) != 0) {
          fprintf(stderr, "finish: %s\n", e.msg);
          _exit(4);
        }
      }
      fclose(f);
      tml_jobs_close(cq);
      _exit(0);
    }
  }
  static int seen[NJOBS + 1];
  int64_t fences[NJOBS];
  size_t nf = 0;
  for (int p = 0; p < NPROC; p++) {
    int st = 0;
    waitpid(pids[p], &st, 0);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "claimer %d exited with status %d", p, st);
    char path[1200];
    snprintf(path, sizeof(path), "%s/claims%d", dir, p);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    int64_t id, fence;
    while (fscanf(f, "%" SCNd64 " %" SCNd64, &id, &fence) == 2) {
      CHECK(id >= 1 && id <= NJOBS);
      seen[id]++;
      CHECK(nf < NJOBS);
      fences[nf++] = fence;
    }
    fclose(f);
  }
  for (int i = 1; i <= NJOBS; i++)
    CHECK_MSG(seen[i] == 1, "job %d claimed %d times", i, seen[i]);
  for (size_t i = 0; i < nf; i++)
    for (size_t k = i + 1; k < nf; k++)
      CHECK_MSG(fences[i] != fences[k], "fencing token %" PRId64 " handed out twice", fences[i]);
  q = open_at(loc);
  size_t counts[TML_JOB_STATUS_COUNT];
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_jobs_counts(q, counts, &err), &err);
  CHECK_INT(counts[TML_JOB_SUCCEEDED], NJOBS);
  tml_jobs_close(q);
  free(dir);
  free(loc);
}

struct waiter {
  struct tml_jobs *q;
  double waited_s;
};

static void *wait_main(void *ud) {
  struct waiter *w = ud;
  double t0 = tml_monotonic_s();
  tml_jobs_wait(w->q, 5000);
  w->waited_s = tml_monotonic_s() - t0;
  return NULL;
}

/* Idle workers on PostgreSQL sleep on LISTEN and wake when a job is submitted anywhere. */
TEST(idle_wait_wakes_when_a_job_is_submitted) {
  if (!tml_test_db_is_pg())
    SKIP("SQLite has no notifications: an idle worker polls every poll_ms (docs/jobs.md)");
  char *loc = tml_test_db_location("queue_notify");
  struct tml_jobs *q = open_at(loc), *other = open_at(loc);
  struct waiter w = {q, 0};
  tml_jobs_wait(q, 10); /* LISTEN */
  pthread_t t;
  CHECK(pthread_create(&t, NULL, wait_main, &w) == 0);
  sleep_ms(300);
  noop(other, "wake", 1);
  pthread_join(t, NULL);
  CHECK_MSG(w.waited_s < 2.0, "waited %.2f s for a notification (timeout 5 s)", w.waited_s);
  tml_jobs_close(other);
  tml_jobs_close(q);
  free(loc);
}

TEST(process_heartbeats_are_listed_and_removed) {
  char *loc = tml_test_db_location("queue_procs");
  struct tml_jobs *q = open_at(loc);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_cluster_process p;
  memset(&p, 0, sizeof(p));
  snprintf(p.id, sizeof(p.id), "hostA:42:worker");
  snprintf(p.host, sizeof(p.host), "hostA");
  snprintf(p.role, sizeof(p.role), "worker");
  p.pid = 42;
  p.started_ms = 1000;
  p.heartbeat_ms = 2000;
  CHECK_OK(tml_jobs_process_beat(q, &p, &err), &err);
  p.heartbeat_ms = 3000;
  p.running = 2;
  snprintf(p.jobs, sizeof(p.jobs), "7,9");
  CHECK_OK(tml_jobs_process_beat(q, &p, &err), &err);
  struct tml_cluster_process *rows = NULL;
  size_t n = 0;
  CHECK_OK(tml_jobs_processes(q, &rows, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK_STR(rows[0].host, "hostA");
  CHECK_INT(rows[0].heartbeat_ms, 3000);
  CHECK_INT(rows[0].started_ms, 1000);
  CHECK_INT(rows[0].running, 2);
  CHECK_STR(rows[0].jobs, "7,9");
  free(rows);
  CHECK_OK(tml_jobs_process_remove(q, p.id, &err), &err);
  CHECK_OK(tml_jobs_processes(q, &rows, &n, &err), &err);
  CHECK_INT(n, 0);
  free(rows);
  tml_jobs_close(q);
  free(loc);
}
