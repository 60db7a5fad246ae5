/* Model registry against a real database and real (small, hand-written) model-set folders:
 * activation policy, rollback, one active row under concurrent registration from two processes,
 * retention, folders deleted behind the registry's back, and a locked database. The same tests run
 * against SQLite (registry.*) and PostgreSQL (registry_pg.*, where model files also live in the
 * database and come back to a host that lacks them). */
#include "test.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/registry.h"
#include "trademl/timeutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/db_pg.h"

#define DAY TML_MS_PER_DAY
#define T0 ((int64_t)1767225600000) /* 2026-01-01 */
#define H15 "15m"

static const char *const HEADS[] = {"direction", "volatility", "timing", "stop_loss", "position_size"};

struct fixture {
  char *dir;
  char db[4096]; /* SQLite file or PostgreSQL URL */
  char models[1024];
  struct tml_registry *reg;
};

static void fx_open(struct fixture *f, const char *name) {
  f->dir = tml_test_tmpdir(name);
  char *location = tml_test_db_location(name);
  snprintf(f->db, sizeof(f->db), "%s", location);
  free(location);
  snprintf(f->models, sizeof(f->models), "%s/models", f->dir);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_open(f->db, &f->reg, &err), &err);
}

/* Runs sql on the test's database through a connection of its own (as another process would). Returns
 * 0, or TML_ECONFLICT for a unique violation, else another negative code. */
static int raw_exec(const struct fixture *f, const char *sql) {
  if (tml_test_db_is_pg()) {
    struct tml__pg pg;
    struct tml_error err;
    tml_error_init(&err);
    int rc = tml__pg_connect(&pg, f->db, "test", &err);
    if (!rc)
      rc = tml__pg_exec(&pg, sql, 0, NULL, "test statement", &err);
    tml__pg_close(&pg);
    return rc;
  }
  sqlite3 *db;
  CHECK(sqlite3_open(f->db, &db) == SQLITE_OK);
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : (rc & 0xff) == SQLITE_CONSTRAINT ? TML_ECONFLICT : TML_EDB;
}

static void fx_close(struct fixture *f) {
  tml_registry_close(f->reg);
  free(f->dir);
}

static void write_text(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  CHECK_MSG(fp != NULL, "cannot write %s", path);
  fputs(text, fp);
  fclose(fp);
}

/* A model-set folder models/<strategy>/<key>/15m/<version> with metadata.json carrying `auc` as the
 * direction ROC AUC and `rmse` as the stop-loss RMSE; gates: -1 = no report.json, 0 failed, 1 passed.
 * symbols is "A" or "A,B" (multi-symbol key "MULTI-TEST"). Returns the folder (static buffer). */
static const char *make_set(const struct fixture *f, const char *symbols, const char *version, double auc,
                            double rmse, int gates) {
  static char dir[4096];
  char key[64], syms[512] = "", path[4300];
  bool multi = strchr(symbols, ',') != NULL;
  snprintf(key, sizeof(key), "%s", multi ? "MULTI-TEST" : symbols);
  /* ["A","B"] from "A,B" */
  const char *s = symbols;
  size_t len = 0;
  while (*s) {
    const char *e = strchr(s, ',');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    len += (size_t)snprintf(syms + len, sizeof(syms) - len, "%s\"%.*s\"", len ? "," : "", (int)n, s);
    s += n + (e ? 1 : 0);
  }
  snprintf(dir, sizeof(dir), "%s/xgb5/%s/15m/%s", f->models, key, version);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_mkdir_p(dir, &err), &err);
  char meta[4096];
  snprintf(meta, sizeof(meta),
           "{\"format\":1,\"strategy\":\"xgb5\",\"version\":\"%s\",\"symbols\":[%s],\"interval\":\"15m\","
           "\"feature_set\":{\"version\":1,\"checksum\":\"0123456789abcdef\"},"
           "\"data\":{\"first_row\":\"2025-01-01T00:00:00Z\",\"last_row\":\"2025-06-01T00:00:00Z\","
           "\"input_hash\":\"fedcba9876543210\"},"
           "\"heads\":{\"direction\":{\"metrics\":{\"n\":100,\"accuracy\":0.5,\"roc_auc_macro\":%.17g,\"logloss\":1.0,"
           "\"classes\":[]}},\"stop_loss\":{\"metrics\":{\"n\":100,\"rmse\":%.17g,\"mae\":0.1,\"r2\":0.0}}}}",
           version, syms, auc, rmse);
  snprintf(path, sizeof(path), "%s/metadata.json", dir);
  write_text(path, meta);
  for (size_t h = 0; h < 5; h++) {
    snprintf(path, sizeof(path), "%s/%s_model.json", dir, HEADS[h]);
    write_text(path, "{\"learner\":{}}");
  }
  if (gates >= 0) {
    snprintf(path, sizeof(path), "%s/report.json", dir);
    /* The shape validate_report.c writes: a list of gate results and one overall verdict. */
    write_text(path, gates ? "{\"gates\":[{\"rule\":\"direction.roc_auc.up>0.61\",\"passed\":true}],\"passed\":true,\"summary\":{\"trading.sharpe\":{\"mean\":1.5}}}"
                           : "{\"gates\":[{\"rule\":\"direction.roc_auc.up>0.61\",\"passed\":false}],\"passed\":false,\"summary\":{\"trading.sharpe\":{\"mean\":0.2}}}");
  }
  return dir;
}

static int64_t reg_set(struct fixture *f, const char *dir, int64_t now, const struct tml_activation_policy *p,
                       bool *active, char *reason, size_t rsz) {
  struct tml_model_row r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_register(f->reg, dir, 0, p, now, &r, &err), &err);
  if (active)
    *active = r.active;
  if (reason)
    snprintf(reason, rsz, "%s", r.status_reason);
  int64_t id = r.id;
  tml_model_row_release(&r);
  return id;
}

static int64_t active_id(struct fixture *f, const char *symbol) {
  struct tml_model_row r;
  struct tml_error err;
  tml_error_init(&err);
  int rc = tml_registry_active(f->reg, "xgb5", symbol, 15 * TML_MS_PER_MINUTE, &r, &err);
  int64_t id = rc == 0 ? r.id : 0;
  tml_model_row_release(&r);
  return id;
}

TEST(first_set_becomes_active_with_row_fields) {
  struct fixture f;
  fx_open(&f, "reg_first");
  const char *dir = make_set(&f, "BTCUSDT", "v1", 0.61, 0.2, -1);
  struct tml_model_row r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_register(f.reg, dir, 42, NULL, T0, &r, &err), &err);
  CHECK_INT(r.id, 1);
  CHECK(r.active);
  CHECK_STR(r.status_reason, "first active model for xgb5 BTCUSDT 15m");
  CHECK_STR(r.key, "BTCUSDT");
  CHECK_STR(r.symbols, "BTCUSDT");
  CHECK_INT(r.interval_ms, 15 * TML_MS_PER_MINUTE);
  CHECK_STR(r.version, "v1");
  CHECK_STR(r.path, dir);
  CHECK_STR(r.metric, "direction.roc_auc_macro");
  CHECK_NEAR(r.score, 0.61, 1e-12);
  CHECK(!r.has_report);
  CHECK_INT(r.job_id, 42);
  CHECK_INT(r.created_ms, T0);
  CHECK_INT(r.data_from_ms, 1735689600000);
  CHECK_INT(r.data_to_ms, 1748736000000);
  CHECK_INT(r.feature_version, 1);
  CHECK_STR(r.feature_checksum, "0123456789abcdef");
  CHECK_STR(r.input_hash, "fedcba9876543210");
  CHECK_CONTAINS(r.metrics_json, "\"roc_auc_macro\":0.61");
  CHECK(strstr(r.metrics_json, "classes") == NULL);
  tml_model_row_release(&r);
  /* the same folder again: refused, naming the id */
  int rc = tml_registry_register(f.reg, dir, 0, NULL, T0, &r, &err);
  CHECK_INT(rc, TML_EEXIST);
  CHECK_CONTAINS(err.msg, "already registered as model 1");
  /* the row survives a reopen */
  tml_registry_close(f.reg);
  tml_error_init(&err);
  CHECK_OK(tml_registry_open(f.db, &f.reg, &err), &err);
  CHECK_OK(tml_registry_get(f.reg, 1, &r, &err), &err);
  CHECK(r.active && !r.folder_missing);
  CHECK_NEAR(r.score, 0.61, 1e-12);
  tml_model_row_release(&r);
  fx_close(&f);
}

TEST(better_activates_worse_stays_inactive) {
  struct fixture f;
  fx_open(&f, "reg_policy");
  char why[256];
  bool act;
  int64_t a = reg_set(&f, make_set(&f, "BTCUSDT", "v1", 0.60, 0.2, -1), T0, NULL, &act, why, sizeof(why));
  int64_t b = reg_set(&f, make_set(&f, "BTCUSDT", "v2", 0.55, 0.2, -1), T0 + 1, NULL, &act, why, sizeof(why));
  CHECK(!act);
  CHECK_STR(why, "direction.roc_auc_macro 0.55 is worse than 0.6 of active model 1 (own rows; not compared on the same rows)");
  CHECK_INT(active_id(&f, "BTCUSDT"), a);
  int64_t c = reg_set(&f, make_set(&f, "BTCUSDT", "v3", 0.60, 0.2, -1), T0 + 2, NULL, &act, why, sizeof(why));
  CHECK(act); /* a tie is "not worse": the newer set wins */
  CHECK_STR(why, "direction.roc_auc_macro 0.6 vs 0.6 of model 1 (own rows; not compared on the same rows)");
  CHECK_INT(active_id(&f, "BTCUSDT"), c);
  struct tml_model_row r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_get(f.reg, a, &r, &err), &err);
  CHECK(!r.active);
  CHECK_STR(r.status_reason, "superseded by model 3");
  tml_model_row_release(&r);
  (void)b;
  /* another symbol is its own group */
  reg_set(&f, make_set(&f, "ETHUSDT", "v1", 0.40, 0.2, -1), T0 + 3, NULL, &act, NULL, 0);
  CHECK(act);
  CHECK_INT(active_id(&f, "BTCUSDT"), c);
  fx_close(&f);
}

TEST(min_improvement_and_lower_is_better_metric) {
  struct fixture f;
  fx_open(&f, "reg_minimp");
  struct tml_activation_policy p;
  tml_activation_policy_default(&p);
  snprintf(p.metric, sizeof(p.metric), "stop_loss.rmse");
  p.min_improvement = 0.01;
  CHECK(!tml_registry_metric_higher_is_better("stop_loss.rmse"));
  CHECK(tml_registry_metric_higher_is_better("direction.roc_auc_macro"));
  CHECK(!tml_registry_metric_higher_is_better("report.trading.max_drawdown"));
  char why[256];
  bool act;
  reg_set(&f, make_set(&f, "BTCUSDT", "v1", 0.5, 0.200, -1), T0, &p, &act, NULL, 0);
  reg_set(&f, make_set(&f, "BTCUSDT", "v2", 0.5, 0.195, -1), T0 + 1, &p, &act, why, sizeof(why));
  CHECK(!act); /* better by 0.005 < 0.01 */
  CHECK_STR(why, "stop_loss.rmse 0.195 does not beat 0.2 of active model 1 by 0.01 (model.activation.min_improvement) "
                 "(own rows; not compared on the same rows)");
  int64_t c = reg_set(&f, make_set(&f, "BTCUSDT", "v3", 0.5, 0.180, -1), T0 + 2, &p, &act, why, sizeof(why));
  CHECK(act);
  CHECK_INT(active_id(&f, "BTCUSDT"), c);
  fx_close(&f);
}

TEST(gates_decide) {
  struct fixture f;
  fx_open(&f, "reg_gates");
  char why[256];
  bool act;
  /* failing gates stay inactive even as the first set */
  reg_set(&f, make_set(&f, "BTCUSDT", "v1", 0.9, 0.2, 0), T0, NULL, &act, why, sizeof(why));
  CHECK(!act);
  CHECK_STR(why, "walk-forward gates failed (report.json)");
  CHECK_INT(active_id(&f, "BTCUSDT"), 0);
  /* require_gates: no report, no activation */
  struct tml_activation_policy p;
  tml_activation_policy_default(&p);
  p.require_gates = true;
  reg_set(&f, make_set(&f, "BTCUSDT", "v2", 0.9, 0.2, -1), T0 + 1, &p, &act, why, sizeof(why));
  CHECK(!act);
  CHECK_STR(why, "no walk-forward report (model.activation.require_gates is true)");
  /* passed gates activate; the row records them; a report metric works */
  snprintf(p.metric, sizeof(p.metric), "report.trading.sharpe");
  struct tml_model_row r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_register(f.reg, make_set(&f, "BTCUSDT", "v3", 0.5, 0.2, 1), 0, &p, T0 + 2, &r, &err), &err);
  CHECK(r.active && r.has_report && r.gates_passed);
  CHECK_NEAR(r.score, 1.5, 1e-12);
  CHECK_CONTAINS(r.metrics_json, "\"gates_passed\":true");
  tml_model_row_release(&r);
  /* an unreadable report counts as failed gates, with the reason */
  const char *dir = make_set(&f, "BTCUSDT", "v4", 0.99, 0.2, 1);
  char path[4300];
  snprintf(path, sizeof(path), "%s/report.json", dir);
  write_text(path, "{\"gates\":");
  reg_set(&f, dir, T0 + 3, NULL, &act, why, sizeof(why));
  CHECK(!act);
  CHECK_CONTAINS(why, "report.json unreadable");
  fx_close(&f);
}

TEST(activate_rolls_back_and_forward) {
  struct fixture f;
  fx_open(&f, "reg_activate");
  int64_t a = reg_set(&f, make_set(&f, "BTCUSDT", "v1", 0.55, 0.2, -1), T0, NULL, NULL, NULL, 0);
  int64_t b = reg_set(&f, make_set(&f, "BTCUSDT", "v2", 0.60, 0.2, -1), T0 + 1, NULL, NULL, NULL, 0);
  CHECK_INT(active_id(&f, "BTCUSDT"), b);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_activate(f.reg, a, &err), &err);
  CHECK_INT(active_id(&f, "BTCUSDT"), a);
  struct tml_model_row r;
  CHECK_OK(tml_registry_get(f.reg, b, &r, &err), &err);
  CHECK(!r.active);
  CHECK_STR(r.status_reason, "deactivated: model 1 activated by hand");
  tml_model_row_release(&r);
  CHECK_OK(tml_registry_get(f.reg, a, &r, &err), &err);
  CHECK_STR(r.status_reason, "activated by hand");
  tml_model_row_release(&r);
  CHECK_OK(tml_registry_activate(f.reg, a, &err), &err); /* already active: fine */
  CHECK_OK(tml_registry_activate(f.reg, b, &err), &err);
  CHECK_INT(active_id(&f, "BTCUSDT"), b);
  CHECK_INT(tml_registry_activate(f.reg, 99, &err), TML_ENOENT);
  CHECK_CONTAINS(err.msg, "no model with id 99");
  /* list: newest first, active filter */
  struct tml_model_row *rows;
  size_t n;
  struct tml_registry_filter flt = {.symbol = "BTCUSDT", .active_only = true};
  tml_error_init(&err);
  CHECK_OK(tml_registry_list(f.reg, &flt, &rows, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK_INT(rows[0].id, b);
  tml_model_rows_free(rows, n);
  CHECK_OK(tml_registry_list(f.reg, NULL, &rows, &n, &err), &err);
  CHECK_INT(n, 2);
  CHECK_INT(rows[0].id, b);
  CHECK_INT(rows[1].id, a);
  tml_model_rows_free(rows, n);
  fx_close(&f);
}

TEST(multi_symbol_set_serves_its_symbols) {
  struct fixture f;
  fx_open(&f, "reg_multi");
  int64_t m = reg_set(&f, make_set(&f, "BTCUSDT,ETHUSDT", "v1", 0.6, 0.2, -1), T0, NULL, NULL, NULL, 0);
  CHECK_INT(active_id(&f, "ETHUSDT"), m);
  CHECK_INT(active_id(&f, "BTCUSDT"), m);
  CHECK_INT(active_id(&f, "SOLUSDT"), 0);
  /* a symbol's own set wins over the multi-symbol one */
  int64_t s = reg_set(&f, make_set(&f, "BTCUSDT", "v1", 0.1, 0.2, -1), T0 + 1, NULL, NULL, NULL, 0);
  CHECK_INT(active_id(&f, "BTCUSDT"), s);
  CHECK_INT(active_id(&f, "ETHUSDT"), m);
  fx_close(&f);
}

/* Two processes register 12 sets each into the same group at once, with scores that keep improving
 * in both, so nearly every registration wants to activate: exactly one row may end active, and it must
 * be the best-scoring one of the last decisions (the partial unique index makes two impossible). */
TEST(one_active_under_concurrent_registration) {
  struct fixture f;
  fx_open(&f, "reg_concurrent");
  enum { PER = 12 };
  char dirs[2][PER][4096];
  for (int p = 0; p < 2; p++)
    for (int i = 0; i < PER; i++) {
      char v[32];
      snprintf(v, sizeof(v), "p%d-%02d", p, i);
      snprintf(dirs[p][i], sizeof(dirs[p][i]), "%s", make_set(&f, "BTCUSDT", v, 0.5 + 0.01 * i + 0.001 * p, 0.2, -1));
    }
  tml_registry_close(f.reg);
  pid_t kids[2];
  for (int p = 0; p < 2; p++) {
    kids[p] = fork();
    CHECK(kids[p] >= 0);
    if (kids[p] == 0) {
      struct tml_registry *reg;
      struct tml_error err;
      tml_error_init(&err);
      if (tml_registry_open(f.db, &reg, &err) != 0)
        _exit(10);
      for (int i = 0; i < PER; i++)
        if (tml_registry_register(reg, dirs[p][i], p + 1, NULL, T0 + i, NULL, &err) != 0) {
          fprintf(stderr, "child %d: %s\n", p, err.msg);
          _exit(11);
        }
      tml_registry_close(reg);
      _exit(0);
    }
  }
  for (int p = 0; p < 2; p++) {
    int st = 0;
    CHECK(waitpid(kids[p], &st, 0) == kids[p]);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed with status %d", p, st);
  }
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_open(f.db, &f.reg, &err), &err);
  struct tml_model_row *rows;
  size_t n;
  CHECK_OK(tml_registry_list(f.reg, NULL, &rows, &n, &err), &err);
  CHECK_INT(n, 2 * PER);
  size_t nactive = 0;
  for (size_t i = 0; i < n; i++)
    nactive += rows[i].active;
  CHECK_INT(nactive, 1);
  tml_model_rows_free(rows, n);
  /* A set activates only when it is not worse than the active one, so the active row is always the
   * running maximum, whatever the interleaving: finally the global best, 0.611 (process 1, set 11). */
  struct tml_model_row act;
  CHECK_OK(tml_registry_active(f.reg, "xgb5", "BTCUSDT", 15 * TML_MS_PER_MINUTE, &act, &err), &err);
  CHECK_NEAR(act.score, 0.611, 1e-12);
  CHECK_STR(act.version, "p1-11");
  tml_model_row_release(&act);
  /* and the store refuses a second active row even if asked directly */
  CHECK_INT(raw_exec(&f, tml_test_db_is_pg() ? "UPDATE models SET active = true WHERE NOT active"
                                              : "UPDATE models SET active = 1 WHERE active = 0"),
            TML_ECONFLICT);
  fx_close(&f);
}

TEST(prune_keeps_active_and_newest_and_deletes_files_with_rows) {
  struct fixture f;
  fx_open(&f, "reg_prune");
  /* six versions 100..95 days old; v1 (oldest) is active because the later ones score worse */
  int64_t now = T0 + 100 * DAY;
  int64_t ids[6];
  char paths[6][4096];
  for (int i = 0; i < 6; i++) {
    char v[16];
    snprintf(v, sizeof(v), "v%d", i + 1);
    snprintf(paths[i], sizeof(paths[i]), "%s", make_set(&f, "BTCUSDT", v, i == 0 ? 0.9 : 0.5, 0.2, -1));
    ids[i] = reg_set(&f, paths[i], T0 + i * DAY, NULL, NULL, NULL, 0);
  }
  /* one young version (registered yesterday) */
  int64_t young = reg_set(&f, make_set(&f, "BTCUSDT", "v7", 0.5, 0.2, -1), now - DAY, NULL, NULL, NULL, 0);
  CHECK_INT(active_id(&f, "BTCUSDT"), ids[0]);
  struct tml_prune_report rep;
  struct tml_error err;
  tml_error_init(&err);
  /* newest first: v7 (young), v6 (kept as one of the newest 2), v5..v2 (old: deleted), v1 (active) */
  CHECK_OK(tml_registry_prune(f.reg, now, 30, 2, true, &rep, &err), &err);
  CHECK_INT(rep.ndeleted, 4); /* v2, v3, v4, v5, oldest first */
  CHECK_INT(rep.deleted[0].id, ids[1]);
  CHECK_INT(rep.deleted[3].id, ids[4]);
  CHECK_INT(rep.kept_active, 1);
  CHECK_INT(rep.kept_newest, 1); /* v6 (v7 is young) */
  CHECK_INT(rep.kept_recent, 1);
  tml_prune_report_release(&rep);
  CHECK(tml_path_is_dir(paths[1]));
  /* for real */
  CHECK_OK(tml_registry_prune(f.reg, now, 30, 2, false, &rep, &err), &err);
  CHECK_INT(rep.ndeleted, 4);
  tml_prune_report_release(&rep);
  for (int i = 1; i <= 4; i++) {
    CHECK_MSG(!tml_path_exists(paths[i]), "folder %s should be deleted", paths[i]);
    struct tml_model_row r;
    CHECK_INT(tml_registry_get(f.reg, ids[i], &r, &err), TML_ENOENT);
  }
  CHECK(tml_path_is_dir(paths[0]) && tml_path_is_dir(paths[5]));
  struct tml_model_row *rows;
  size_t n;
  tml_error_init(&err);
  CHECK_OK(tml_registry_list(f.reg, NULL, &rows, &n, &err), &err);
  CHECK_INT(n, 3);
  CHECK_INT(rows[0].id, young);
  tml_model_rows_free(rows, n);
  /* nothing left to do; no trash left behind; retention 0 keeps everything */
  CHECK_OK(tml_registry_prune(f.reg, now, 30, 2, false, &rep, &err), &err);
  CHECK_INT(rep.ndeleted, 0);
  tml_prune_report_release(&rep);
  CHECK_OK(tml_registry_prune(f.reg, now + 1000 * DAY, 0, 1, false, &rep, &err), &err);
  CHECK_INT(rep.ndeleted, 0);
  tml_prune_report_release(&rep);
  struct tml_registry_problem *p;
  CHECK_OK(tml_registry_check(f.reg, f.models, &p, &n, &err), &err);
  CHECK_MSG(n == 0, "check found %zu problems, first: %s", n, n ? p[0].detail : "");
  free(p);
  /* ids are never reused */
  int64_t next = reg_set(&f, make_set(&f, "BTCUSDT", "v8", 0.1, 0.2, -1), now, NULL, NULL, NULL, 0);
  CHECK_INT(next, young + 1);
  fx_close(&f);
}

TEST(folder_deleted_behind_the_registry) {
  struct fixture f;
  fx_open(&f, "reg_missing");
  char a[4096];
  snprintf(a, sizeof(a), "%s", make_set(&f, "BTCUSDT", "v1", 0.6, 0.2, -1));
  int64_t ida = reg_set(&f, a, T0, NULL, NULL, NULL, 0);
  int64_t idb = reg_set(&f, make_set(&f, "BTCUSDT", "v2", 0.5, 0.2, -1), T0 + 1, NULL, NULL, NULL, 0);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_rm_rf(a, &err), &err);
  struct tml_model_row *rows;
  size_t n;
  if (tml_test_db_is_pg()) {
    /* The files are in the database: a lookup brings the folder back, byte for byte. */
    struct tml_model_row r;
    CHECK_OK(tml_registry_get(f.reg, ida, &r, &err), &err);
    CHECK(!r.folder_missing);
    CHECK_STR(r.path, a);
    char meta[4400];
    snprintf(meta, sizeof(meta), "%s/metadata.json", a);
    size_t len = 0;
    char *text = tml_test_read_file(meta, &len);
    CHECK(text != NULL);
    CHECK_CONTAINS(text, "\"version\":\"v1\"");
    free(text);
    tml_model_row_release(&r);
    CHECK_OK(tml_registry_check(f.reg, f.models, &(struct tml_registry_problem *){NULL}, &n, &err), &err);
    (void)idb;
    fx_close(&f);
    return;
  }
  CHECK_OK(tml_registry_list(f.reg, NULL, &rows, &n, &err), &err);
  CHECK_INT(n, 2);
  CHECK(!rows[0].folder_missing && rows[1].folder_missing);
  tml_model_rows_free(rows, n);
  struct tml_registry_problem *p;
  CHECK_OK(tml_registry_check(f.reg, f.models, &p, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK_INT(p[0].kind, TML_REGPROB_MISSING);
  CHECK_INT(p[0].id, ida);
  CHECK(p[0].active);
  CHECK_STR(tml_registry_problem_name(p[0].kind), "missing");
  free(p);
  /* a newer set replaces an active model whose folder is gone, whatever its score */
  bool act;
  char why[256];
  reg_set(&f, make_set(&f, "BTCUSDT", "v3", 0.1, 0.2, -1), T0 + 2, NULL, &act, why, sizeof(why));
  CHECK(act);
  CHECK_STR(why, "replaces model 1 whose folder is missing");
  /* activating the missing one by hand is refused */
  CHECK_INT(tml_registry_activate(f.reg, ida, &err), TML_ENOENT);
  CHECK_CONTAINS(err.msg, "is missing");
  (void)idb;
  fx_close(&f);
}

TEST(check_finds_corrupt_unregistered_and_trash) {
  struct fixture f;
  fx_open(&f, "reg_check");
  char a[4096], path[4400];
  snprintf(a, sizeof(a), "%s", make_set(&f, "BTCUSDT", "v1", 0.6, 0.2, -1));
  int64_t ida = reg_set(&f, a, T0, NULL, NULL, NULL, 0);
  snprintf(path, sizeof(path), "%s/timing_model.json", a);
  CHECK(unlink(path) == 0);
  char b[4096];
  snprintf(b, sizeof(b), "%s", make_set(&f, "ETHUSDT", "v1", 0.6, 0.2, -1)); /* never registered */
  snprintf(path, sizeof(path), "%s/xgb5/BTCUSDT/15m/.trash-9-v0", f.models);
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_mkdir_p(path, &err), &err);
  snprintf(path, sizeof(path), "%s/xgb5/BTCUSDT/15m/.tmp-123", f.models); /* a set being written: ignored */
  CHECK_OK(tml_mkdir_p(path, &err), &err);
  struct tml_registry_problem *p;
  size_t n;
  CHECK_OK(tml_registry_check(f.reg, f.models, &p, &n, &err), &err);
  CHECK_INT(n, 3);
  int seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i].kind == TML_REGPROB_CORRUPT) {
      CHECK_INT(p[i].id, ida);
      CHECK_STR(p[i].detail, "head file 'timing_model.json' is missing");
      seen |= 1;
    } else if (p[i].kind == TML_REGPROB_UNREGISTERED) {
      CHECK_STR(p[i].path, b);
      seen |= 2;
    } else if (p[i].kind == TML_REGPROB_TRASH) {
      CHECK_CONTAINS(p[i].path, ".trash-9-v0");
      seen |= 4;
    }
  }
  CHECK_INT(seen, 7);
  free(p);
  /* metadata.json replaced by garbage: corrupt, not a crash */
  snprintf(path, sizeof(path), "%s/metadata.json", a);
  write_text(path, "not json");
  CHECK_OK(tml_registry_check(f.reg, NULL, &p, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK_INT(p[0].kind, TML_REGPROB_CORRUPT);
  CHECK_CONTAINS(p[0].detail, "metadata.json");
  free(p);
  fx_close(&f);
}

TEST(bad_input) {
  struct fixture f;
  fx_open(&f, "reg_bad");
  struct tml_error err;
  tml_error_init(&err);
  struct tml_model_row r;
  char path[4300];
  snprintf(path, sizeof(path), "%s/nope", f.dir);
  CHECK_INT(tml_registry_register(f.reg, path, 0, NULL, T0, &r, &err), TML_ENOENT);
  CHECK_CONTAINS(err.msg, "no such folder");
  tml_error_init(&err);
  const char *dir = make_set(&f, "BTCUSDT", "v1", 0.6, 0.2, -1);
  snprintf(path, sizeof(path), "%s/metadata.json", dir);
  write_text(path, "{\"strategy\":\"xgb5\"}");
  CHECK_INT(tml_registry_register(f.reg, dir, 0, NULL, T0, &r, &err), TML_EMODEL);
  CHECK_CONTAINS(err.msg, "not a trademl model set");
  tml_error_init(&err);
  CHECK_INT(tml_registry_get(f.reg, 5, &r, &err), TML_ENOENT);
  /* nothing was half-registered */
  struct tml_model_row *rows;
  size_t n;
  CHECK_OK(tml_registry_list(f.reg, NULL, &rows, &n, &err), &err);
  CHECK_INT(n, 0);
  CHECK(rows == NULL);
  /* an unopenable database */
  tml_error_init(&err);
  struct tml_registry *reg = NULL;
  snprintf(path, sizeof(path), "%s/no/such/dir/x.db", f.dir);
  if (tml_test_db_is_pg()) /* a database that does not exist */
    snprintf(path, sizeof(path), "%.*s/no_such_db", (int)(strrchr(f.db, '/') - f.db), f.db);
  CHECK_INT(tml_registry_open(path, &reg, &err), TML_EDB);
  CHECK(reg == NULL);
  fx_close(&f);
}

/* Another connection holds a write transaction: registration waits the busy timeout (5 s), then
 * fails with TML_EBUSY naming the database; reads still work (WAL). */
TEST(locked_database_bounded_wait) {
  struct fixture f;
  fx_open(&f, "reg_locked");
  const char *dir = make_set(&f, "BTCUSDT", "v1", 0.6, 0.2, -1);
  struct tml_error err;
  tml_error_init(&err);
  bool pg = tml_test_db_is_pg();
  sqlite3 *other = NULL;
  struct tml__pg other_pg;
  if (pg) { /* another writer holds the registry's write lock */
    CHECK_OK(tml__pg_connect(&other_pg, f.db, "test", &err), &err);
    CHECK_OK(tml__pg_exec(&other_pg, "BEGIN; LOCK TABLE models IN SHARE ROW EXCLUSIVE MODE", 0, NULL, "locking", &err),
             &err);
  } else {
    CHECK(sqlite3_open(f.db, &other) == SQLITE_OK);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO models(strategy, key, symbols, nsymbols, interval_ms,"
                              " version, path, created_ms) VALUES ('x','X','X',1,1,'v','/x',0)",
                       NULL, NULL, NULL) == SQLITE_OK);
  }
  struct tml_model_row r;
  double t0 = tml_monotonic_s();
  int rc = tml_registry_register(f.reg, dir, 0, NULL, T0, &r, &err);
  double waited = tml_monotonic_s() - t0;
  CHECK_INT(rc, TML_EBUSY);
  if (pg) {
    CHECK_CONTAINS(err.msg, "model registry at postgresql://trademl:********@127.0.0.1:");
    CHECK_CONTAINS(err.msg, "is busy");
  } else {
    CHECK_CONTAINS(err.msg, "is locked by another process");
    CHECK_CONTAINS(err.msg, f.db);
  }
  CHECK_MSG(waited >= 4.5 && waited < 15, "waited %.2f s, expected about 5", waited);
  struct tml_model_row *rows;
  size_t n;
  tml_error_init(&err);
  CHECK_OK(tml_registry_list(f.reg, NULL, &rows, &n, &err), &err);
  CHECK_INT(n, 0);
  tml_model_rows_free(rows, n);
  if (pg) {
    tml__pg_exec(&other_pg, "ROLLBACK", 0, NULL, "unlocking", NULL);
    tml__pg_close(&other_pg);
  } else {
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
  }
  CHECK_OK(tml_registry_register(f.reg, dir, 0, NULL, T0, &r, &err), &err);
  CHECK_INT(r.id, 1);
  tml_model_row_release(&r);
  fx_close(&f);
}

TEST(row_json) {
  struct fixture f;
  fx_open(&f, "reg_json");
  struct tml_model_row r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_register(f.reg, make_set(&f, "BTCUSDT,ETHUSDT", "v1", 0.6, 0.2, 1), 7, NULL, T0, &r, &err),
           &err);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  CHECK_OK(tml_model_row_to_json(&r, &b), &err);
  CHECK_CONTAINS(tml_buf_str(&b), "{\"id\":1,\"strategy\":\"xgb5\",\"key\":\"MULTI-");
  CHECK_CONTAINS(tml_buf_str(&b), "\"symbols\":[\"BTCUSDT\",\"ETHUSDT\"],\"interval\":\"15m\",\"version\":\"v1\"");
  CHECK_CONTAINS(tml_buf_str(&b), "\"has_report\":true,\"gates_passed\":true");
  CHECK_CONTAINS(tml_buf_str(&b), "\"job_id\":7,\"created\":\"2026-01-01T00:00:00");
  tml_buf_release(&b);
  tml_model_row_release(&r);
  fx_close(&f);
}

/* Sets a folder's modification time to `ago_s` seconds before now. */
static void backdate(const char *path, long ago_s) {
  struct timespec t[2];
  clock_gettime(CLOCK_REALTIME, &t[0]);
  t[0].tv_sec -= ago_s;
  t[1] = t[0];
  CHECK_MSG(utimensat(AT_FDCWD, path, t, 0) == 0, "cannot backdate %s", path);
}

/* A process id that has just exited (its folder's owner is gone). */
static long dead_pid(void) {
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0)
    _exit(0);
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  return (long)pid;
}

TEST(stale_tmp_folders_checked_and_swept) {
  struct fixture f;
  fx_open(&f, "reg_tmp");
  struct tml_error err;
  tml_error_init(&err);
  char parent[2048], path[4400], live[4400];
  snprintf(parent, sizeof(parent), "%s/xgb5/BTCUSDT/15m", f.models);
  CHECK_OK(tml_mkdir_p(parent, &err), &err);
  long gone = dead_pid();
  struct {
    const char *name; /* "%" stands for the dead process id */
    long ago_s;
  } cases[] = {
      {".tmp-%-1-killed", 3600},       /* process gone, an hour old: stale */
      {".tmp-%-1-young", 60},          /* process gone, but only a minute old: kept */
      {".tmp-legacy-recent", 7200},    /* no process recorded: kept for a day */
      {".tmp-legacy-old", 25 * 3600},  /* ... then stale */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *pct = strchr(cases[i].name, '%');
    if (pct)
      snprintf(path, sizeof(path), "%s/%.*s%ld%s", parent, (int)(pct - cases[i].name), cases[i].name, gone, pct + 1);
    else
      snprintf(path, sizeof(path), "%s/%s", parent, cases[i].name);
    CHECK_OK(tml_mkdir_p(path, &err), &err);
    backdate(path, cases[i].ago_s);
  }
  /* This process's own folder (a training writing right now), an hour old: kept. The same pid with
   * another start time (the pid was reused) is not its owner: swept. */
  CHECK_OK(tml_tmpdir_template(parent, live, sizeof(live), &err), &err);
  CHECK(mkdtemp(live) != NULL);
  backdate(live, 3600);
  snprintf(path, sizeof(path), "%s/.tmp-%ld-7-reused", parent, (long)getpid());
  CHECK_OK(tml_mkdir_p(path, &err), &err);
  backdate(path, 3600);

  struct tml_registry_problem *p;
  size_t n;
  CHECK_OK(tml_registry_check(f.reg, f.models, &p, &n, &err), &err);
  CHECK_INT(n, 3);
  for (size_t i = 0; i < n; i++) {
    CHECK_INT(p[i].kind, TML_REGPROB_STALE_TMP);
    CHECK_STR(tml_registry_problem_name(p[i].kind), "stale-tmp");
    CHECK_MSG(strstr(p[i].path, "killed") || strstr(p[i].path, "legacy-old") || strstr(p[i].path, "reused"),
              "unexpected stale folder %s", p[i].path);
    CHECK_CONTAINS(p[i].detail, "models prune");
    if (strstr(p[i].path, "killed"))
      CHECK_CONTAINS(p[i].detail, "that created it is gone; last changed 60 min ago");
  }
  free(p);
  CHECK_OK(tml_registry_sweep_tmp(f.models, tml_now_ms(), true, &p, &n, &err), &err);
  CHECK_INT(n, 3);
  CHECK(tml_path_is_dir(p[0].path)); /* dry run: listed, not removed */
  free(p);
  CHECK_OK(tml_registry_sweep_tmp(f.models, tml_now_ms(), false, &p, &n, &err), &err);
  CHECK_INT(n, 3);
  for (size_t i = 0; i < n; i++)
    CHECK_MSG(!tml_path_exists(p[i].path), "%s was not removed", p[i].path);
  free(p);
  CHECK(tml_path_is_dir(live));
  snprintf(path, sizeof(path), "%s/.tmp-%ld-1-young", parent, gone);
  CHECK(tml_path_is_dir(path));
  snprintf(path, sizeof(path), "%s/.tmp-legacy-recent", parent);
  CHECK(tml_path_is_dir(path));
  CHECK_OK(tml_registry_check(f.reg, f.models, &p, &n, &err), &err);
  CHECK_INT(n, 0);
  free(p);
  /* A folder made by tml_tmpdir_template turns stale once its process is gone: a child makes one and
   * exits; found by its name, backdated, it is stale while this process's own stays live. */
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    char t[4400];
    _exit(tml_tmpdir_template(parent, t, sizeof(t), NULL) == 0 && mkdtemp(t) != NULL ? 0 : 1);
  }
  int st;
  CHECK(waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  char prefix[64], found[4400] = "";
  snprintf(prefix, sizeof(prefix), ".tmp-%ld-", (long)child);
  DIR *d = opendir(parent);
  CHECK(d != NULL);
  for (struct dirent *e; (e = readdir(d));)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
      snprintf(found, sizeof(found), "%s/%s", parent, e->d_name);
  closedir(d);
  CHECK_MSG(found[0], "no folder named %s* in %s", prefix, parent);
  char why[200];
  CHECK(!tml_tmpdir_stale(found, tml_now_ms(), TML_TMPDIR_MIN_AGE_MS, why, sizeof(why))); /* too young */
  backdate(found, 3600);
  CHECK(tml_tmpdir_stale(found, tml_now_ms(), TML_TMPDIR_MIN_AGE_MS, why, sizeof(why)));
  CHECK_CONTAINS(why, "is gone");
  CHECK(!tml_tmpdir_stale(live, tml_now_ms(), TML_TMPDIR_MIN_AGE_MS, why, sizeof(why)));
  CHECK_CONTAINS(why, "still running");
  fx_close(&f);
}

TEST(prune_dry_run_counts_every_active_model) {
  /* Two symbols: BTCUSDT's active version is old, ETHUSDT's is young. Both are kept because they are
   * active, and the dry run says "2 active" (it said 1, counting the young one as recent). */
  struct fixture f;
  fx_open(&f, "reg_prune_active");
  int64_t now = T0 + 100 * DAY;
  int64_t btc = reg_set(&f, make_set(&f, "BTCUSDT", "v1", 0.9, 0.2, -1), T0, NULL, NULL, NULL, 0);
  int64_t eth = reg_set(&f, make_set(&f, "ETHUSDT", "v1", 0.9, 0.2, -1), now - DAY, NULL, NULL, NULL, 0);
  reg_set(&f, make_set(&f, "ETHUSDT", "v2", 0.5, 0.2, -1), now - DAY, NULL, NULL, NULL, 0); /* worse: inactive */
  CHECK_INT(active_id(&f, "BTCUSDT"), btc);
  CHECK_INT(active_id(&f, "ETHUSDT"), eth);
  struct tml_prune_report rep;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_prune(f.reg, now, 30, 0, true, &rep, &err), &err);
  CHECK_INT(rep.kept_active, 2);
  CHECK_INT(rep.kept_recent, 1); /* ETHUSDT v2 */
  CHECK_INT(rep.ndeleted, 0);
  tml_prune_report_release(&rep);
  CHECK_OK(tml_registry_prune(f.reg, now, 0, 0, true, &rep, &err), &err); /* retention 0 */
  CHECK_INT(rep.kept_active, 2);
  CHECK_INT(rep.kept_recent, 1);
  tml_prune_report_release(&rep);
  fx_close(&f);
}

/* Adds the "comparison" training writes (train.c comparison_json) to the set in dir: the incumbent at
 * incumbent_dir scored inc_auc on this set's 500 validation rows. */
static void add_comparison(const char *dir, const char *incumbent_dir, double inc_auc) {
  char path[4300];
  snprintf(path, sizeof(path), "%s/metadata.json", dir);
  FILE *fp = fopen(path, "r");
  CHECK_MSG(fp != NULL, "cannot read %s", path);
  char meta[8192];
  size_t n = fread(meta, 1, sizeof(meta) - 1, fp);
  fclose(fp);
  meta[n] = '\0';
  char *end = strrchr(meta, '}');
  CHECK(end != NULL);
  char tail[6000];
  snprintf(tail, sizeof(tail),
           ",\"comparison\":{\"incumbent_path\":\"%s\",\"incumbent_version\":\"v\",\"rows\":500,"
           "\"from\":\"2025-05-01T00:00:00Z\",\"to\":\"2025-06-01T00:00:00Z\",\"heads\":{\"direction\":{\"metrics\":"
           "{\"roc_auc_macro\":%.17g}}}}}",
           incumbent_dir, inc_auc);
  *end = '\0';
  char full[16384];
  snprintf(full, sizeof(full), "%s%s", meta, tail);
  write_text(path, full);
}

TEST(activation_compares_challenger_and_incumbent_on_the_same_rows) {
  struct fixture f;
  fx_open(&f, "reg_fair");
  char why[256], v1[4096], v2[4096], v3[4096];
  bool act;
  /* v1 scored 0.70 on its own (easier) validation window. */
  snprintf(v1, sizeof(v1), "%s", make_set(&f, "BTCUSDT", "v1", 0.70, 0.2, -1));
  int64_t a = reg_set(&f, v1, T0, NULL, &act, NULL, 0);
  CHECK(act);
  /* v2 scores 0.60 on its window, where v1 scores only 0.55. The old rule (0.60 < 0.70, different rows)
   * kept v1; on the same rows v2 is better and becomes active. */
  snprintf(v2, sizeof(v2), "%s", make_set(&f, "BTCUSDT", "v2", 0.60, 0.2, -1));
  add_comparison(v2, v1, 0.55);
  int64_t b = reg_set(&f, v2, T0 + 1, NULL, &act, why, sizeof(why));
  CHECK_MSG(act, "v2 beats v1 on the same rows but stayed inactive: %s", why);
  CHECK_STR(why, "direction.roc_auc_macro 0.6 vs 0.55 of model 1 on the same 500 validation rows");
  CHECK_INT(active_id(&f, "BTCUSDT"), b);
  struct tml_model_row r;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_registry_get(f.reg, b, &r, &err), &err);
  CHECK_CONTAINS(r.metrics_json, "\"comparison\":{\"incumbent_id\":1,\"metric\":\"direction.roc_auc_macro\","
                                 "\"challenger\":0.6,\"incumbent\":0.55,\"same_rows\":true,\"rows\":500,"
                                 "\"from\":\"2025-05-01T00:00:00Z\",\"to\":\"2025-06-01T00:00:00Z\"}");
  tml_model_row_release(&r);
  /* v3 scores 0.65 on its window: better than v2's own 0.60 (the old rule would activate it), but v2
   * scores 0.68 on v3's rows, so v3 stays inactive. */
  snprintf(v3, sizeof(v3), "%s", make_set(&f, "BTCUSDT", "v3", 0.65, 0.2, -1));
  add_comparison(v3, v2, 0.68);
  reg_set(&f, v3, T0 + 2, NULL, &act, why, sizeof(why));
  CHECK_MSG(!act, "v3 loses on the same rows but became active: %s", why);
  CHECK_STR(why, "direction.roc_auc_macro 0.65 is worse than 0.68 of active model 2 on the same 500 validation rows");
  CHECK_INT(active_id(&f, "BTCUSDT"), b);
  /* A comparison against another set than the active one is not used; the row says so. */
  const char *v4 = make_set(&f, "BTCUSDT", "v4", 0.65, 0.2, -1);
  add_comparison(v4, v1, 0.10);
  int64_t d = reg_set(&f, v4, T0 + 3, NULL, &act, why, sizeof(why));
  CHECK(act); /* 0.65 vs v2's own 0.60 */
  CHECK_CONTAINS(why, "(own rows; not compared on the same rows)");
  CHECK_OK(tml_registry_get(f.reg, d, &r, &err), &err);
  CHECK_CONTAINS(r.metrics_json, "\"same_rows\":false");
  CHECK_CONTAINS(r.metrics_json, "not the active model 2");
  tml_model_row_release(&r);
  (void)a;
  fx_close(&f);
}

/* Host A trains and registers; host B (another models folder, no shared files) asks for the active model.
 * PostgreSQL: B gets the set written into its own folder from the database, byte for byte; a stored file
 * whose bytes no longer match its checksum is refused and nothing is written. SQLite keeps no files: the
 * row points at A's folder. */
TEST(model_served_on_another_host) {
  struct fixture f;
  fx_open(&f, "reg_hosts");
  const char *dir_a = make_set(&f, "BTCUSDT", "v1", 0.6, 0.2, 1);
  char a[4096];
  snprintf(a, sizeof(a), "%s", dir_a);
  int64_t id = reg_set(&f, a, T0, NULL, NULL, NULL, 0);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_registry *host_b;
  CHECK_OK(tml_registry_open(f.db, &host_b, &err), &err);
  char models_b[4200];
  snprintf(models_b, sizeof(models_b), "%s/host-b/models", f.dir);
  CHECK_OK(tml_registry_set_cache_dir(host_b, models_b, &err), &err);
  struct tml_model_row r;
  CHECK_OK(tml_registry_active(host_b, "xgb5", "BTCUSDT", 15 * TML_MS_PER_MINUTE, &r, &err), &err);
  CHECK_INT(r.id, id);
  CHECK(!r.folder_missing);
  if (!tml_test_db_is_pg()) {
    CHECK(!tml_registry_keeps_files(host_b));
    CHECK_STR(r.path, a);
    tml_model_row_release(&r);
    tml_registry_close(host_b);
    fx_close(&f);
    return;
  }
  CHECK(tml_registry_keeps_files(host_b));
  char want[4400];
  snprintf(want, sizeof(want), "%s/xgb5/BTCUSDT/15m/v1", models_b);
  CHECK_STR(r.path, want);
  const char *files[] = {"metadata.json", "report.json", "direction_model.json", "position_size_model.json"};
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    char pa[4400], pb[4600];
    snprintf(pa, sizeof(pa), "%s/%s", a, files[i]);
    snprintf(pb, sizeof(pb), "%s/%s", want, files[i]);
    size_t la = 0, lb = 0;
    char *ta = tml_test_read_file(pa, &la), *tb = tml_test_read_file(pb, &lb);
    CHECK_MSG(ta && tb && la == lb && memcmp(ta, tb, la) == 0, "%s differs between host A and host B", files[i]);
    free(ta);
    free(tb);
  }
  tml_model_row_release(&r);
  /* A damaged copy in the database: host C refuses it and writes nothing. */
  CHECK_OK(raw_exec(&f, "UPDATE model_files SET data = 'garbage'::bytea WHERE name = 'direction_model.json'"), &err);
  char models_c[4200];
  snprintf(models_c, sizeof(models_c), "%s/host-c/models", f.dir);
  CHECK_OK(tml_registry_set_cache_dir(host_b, models_c, &err), &err);
  CHECK_INT(tml_registry_get(host_b, id, &r, &err), TML_EMODEL);
  CHECK_CONTAINS(err.msg, "file 'direction_model.json'");
  CHECK_CONTAINS(err.msg, "is corrupt");
  snprintf(want, sizeof(want), "%s/xgb5/BTCUSDT/15m/v1", models_c);
  CHECK(!tml_path_exists(want));
  tml_model_row_release(&r);
  tml_registry_close(host_b);
  fx_close(&f);
}

/* Registration by a job's attempt checks the attempt's fencing token inside the registration's own
 * transaction (issue 16): an attempt whose lease was revoked and whose job another worker now runs
 * registers nothing (no row, no stored files); the current holder registers; a token for a job that
 * does not exist is refused too. Same test on SQLite and PostgreSQL (job queue in the same database). */
TEST(registration_refused_under_a_stale_fencing_token) {
  struct fixture f;
  fx_open(&f, "reg_fence");
  struct tml_error err;
  tml_error_init(&err);
  struct tml_jobs *q = NULL;
  CHECK_OK(tml_jobs_open(f.db, NULL, &q, &err), &err);
  struct tml_job_spec spec;
  tml_job_spec_init(&spec);
  spec.kind = TML_JOB_NOOP;
  spec.params = "{\"tag\":\"fence\"}";
  spec.max_attempts = 3;
  int64_t job = 0;
  CHECK_OK(tml_jobs_submit(q, &spec, &job, NULL, &err), &err);
  struct tml_job a, b;
  bool got = false;
  CHECK_OK(tml_jobs_claim(q, "host-a#0", 30, &a, &got, &err), &err);
  CHECK(got && a.id == job && a.fence > 0);

  /* host a holds the job: it registers */
  struct tml_model_row r;
  CHECK_OK(tml_registry_register_fenced(f.reg, make_set(&f, "BTCUSDT", "v1", 0.6, 0.2, -1), job, a.fence, NULL, T0,
                                        &r, &err),
           &err);
  CHECK_INT(r.job_id, job);
  int64_t first = r.id;
  tml_model_row_release(&r);

  /* host a's lease runs out (reaped as if 60 s later) and host b takes the job with a newer token */
  size_t reaped = 0;
  CHECK_OK(tml_jobs_reap(q, tml_now_ms() + 60000, &reaped, &err), &err);
  CHECK_INT(reaped, 1);
  CHECK_OK(tml_jobs_claim(q, "host-b#0", 30, &b, &got, &err), &err);
  CHECK(got && b.id == job && b.fence > a.fence);

  /* host a comes back with a finished set: refused, nothing registered */
  const char *late = make_set(&f, "BTCUSDT", "v2-late", 0.9, 0.1, -1);
  char late_path[4096];
  snprintf(late_path, sizeof(late_path), "%s", late);
  tml_error_init(&err);
  CHECK_INT(tml_registry_register_fenced(f.reg, late_path, job, a.fence, NULL, T0 + 1, &r, &err), TML_ESTALE);
  char want[256];
  snprintf(want, sizeof(want),
           "job %" PRId64 ": fencing token %" PRId64 " is stale (the job is running under token %" PRId64
           ", worker host-b#0)",
           job, a.fence, b.fence);
  CHECK_CONTAINS(err.msg, want);
  CHECK_INT(r.id, 0);
  struct tml_model_row *rows = NULL;
  size_t n = 0;
  tml_error_init(&err);
  CHECK_OK(tml_registry_list(f.reg, NULL, &rows, &n, &err), &err);
  CHECK_INT(n, 1);
  CHECK_INT(rows[0].id, first);
  CHECK(rows[0].active);
  tml_model_rows_free(rows, n);
  if (tml_test_db_is_pg()) /* the late set's files were not stored either (only model 1's 6 files) */
    CHECK_INT(raw_exec(&f, "DO $$ BEGIN IF (SELECT count(*) FROM model_files) <> 6 OR"
                           " EXISTS (SELECT 1 FROM model_files WHERE model_id <> 1) THEN"
                           " RAISE EXCEPTION 'stray model files'; END IF; END $$"),
              0);

  /* a token for a job that does not exist, and a token without a job id */
  tml_error_init(&err);
  CHECK_INT(tml_registry_register_fenced(f.reg, late_path, job + 100, b.fence, NULL, T0 + 2, &r, &err), TML_ESTALE);
  CHECK_CONTAINS(err.msg, "there is no such job");
  tml_error_init(&err);
  CHECK_INT(tml_registry_register_fenced(f.reg, late_path, 0, b.fence, NULL, T0 + 2, &r, &err), TML_EINVAL);

  /* the job ends under host b's token; then even host b's token is stale */
  tml_error_init(&err);
  CHECK_OK(tml_registry_register_fenced(f.reg, late_path, job, b.fence, NULL, T0 + 3, &r, &err), &err);
  CHECK_INT(r.job_id, job);
  CHECK(r.id > first);
  tml_model_row_release(&r);
  CHECK_OK(tml_jobs_finish(q, job, b.fence, TML_OUTCOME_SUCCEEDED, 0, 1, NULL, "{}", NULL, &err), &err);
  tml_error_init(&err);
  CHECK_INT(tml_registry_register_fenced(f.reg, make_set(&f, "BTCUSDT", "v3", 0.9, 0.1, -1), job, b.fence, NULL,
                                         T0 + 4, &r, &err),
            TML_ESTALE);
  CHECK_CONTAINS(err.msg, "the job is succeeded under token");
  tml_jobs_close(q);
  fx_close(&f);
}
