/* queue: job parameters stored as configuration keys (validated at submit, upgraded from the flag
 * form of older versions, handed to the child as --set), and the queue contract every backend keeps:
 * one claim per job, leases, retries, cancel, dedupe and fencing tokens. */
#include "test.h"

#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/timeutil.h"

#include <sqlite3.h>

static struct tml_jobs *open_at(const char *dir) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/t.db", dir);
  struct tml_jobs_opts o;
  tml_jobs_opts_default(&o);
  o.check_symbols = false;
  o.backoff_base_s = 0;
  struct tml_jobs *q = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_jobs_open(path, &o, &q, &err), &err);
  return q;
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
  char *dir = tml_test_tmpdir("queue_params");
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
  char *dir = tml_test_tmpdir("queue_argv");
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
  char *dir = tml_test_tmpdir("queue_upgrade");
  struct tml_jobs *q = open_at(dir);
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

  q = open_at(dir);
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
