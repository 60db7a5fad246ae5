/* trademl models: the model registry (docs/registry.md). Verbs list, show, activate (roll back or
 * forward by hand), prune (retention), check (rows whose folder is missing or corrupt, folders without
 * rows) and register (a folder trained before the registry existed). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/strategy.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/learner.h"
#include "trademl/modelset.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/timeutil.h"

#include <jansson.h>

#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/* Loads the config (with the verb's flags) and opens the registry in the state database. */
static int open_registry(const struct cli_args *a, struct tml_config **cfg, struct tml_paths *paths,
                         struct tml_registry **reg, struct tml_error *err) {
  int rc = cli_load_config(a, paths, cfg, err);
  if (!rc)
    rc = tml_paths_ensure(paths, err);
  if (!rc)
    rc = tml_registry_open(paths->db, reg, err);
  if (!rc)
    rc = tml_registry_set_cache_dir(*reg, paths->models, err);
  return rc;
}

static int parse_id(const char *s, int64_t *id) {
  if (!s || tml_parse_int64_str(s, id) != 0 || *id <= 0)
    return cli_usage_error("invalid model id '%s': use the number 'trademl models list --all' shows", s ? s : "");
  return 0;
}

static int one_id(const struct cli_args *a, int64_t *id) {
  const char *pos[2];
  size_t n = cli_positionals(a, pos, 2);
  if (n != 1)
    return n ? cli_usage_error("expected one model id, got %zu arguments", n) : cli_usage_error("missing model id");
  return parse_id(pos[0], id) ? 2 : 0;
}

static void fmt_day(int64_t ms, char *out, size_t n) {
  char t[40];
  tml_time_format(ms, t, sizeof(t));
  snprintf(out, n, "%.16s", t); /* 2025-01-01T00:00 */
}

/* TRAINED = days since the set was trained; DATA = days since the newest candle it was trained on
 * (tml_model_age_days / tml_model_data_age_days: the same two ages as coverage and /metrics). */
static void print_table_header(void) {
  printf("%5s %-6s %-8s %-14s %-4s %-18s %9s %-16s %8s %8s %s\n", "ID", "STATE", "STRATEGY", "KEY", "INT", "VERSION",
         "SCORE", "CREATED", "TRAINED", "DATA", "REASON");
}

static void print_row_line(const struct tml_model_row *r, int64_t now) {
  char created[32], score[32], age[32], dage[32] = "-";
  fmt_day(r->created_ms, created, sizeof(created));
  if (isnan(r->score))
    snprintf(score, sizeof(score), "-");
  else
    snprintf(score, sizeof(score), "%.4f", r->score);
  snprintf(age, sizeof(age), "%.1fd", tml_model_age_days(r, now));
  if (!isnan(tml_model_data_age_days(r, now)))
    snprintf(dage, sizeof(dage), "%.1fd", tml_model_data_age_days(r, now));
  const char *iv = tml_interval_name(r->interval_ms);
  printf("%5" PRId64 " %-6s %-8s %-14s %-4s %-18s %9s %-16s %8s %8s %s%s\n", r->id, r->active ? "active" : "-",
         r->strategy, r->key, iv ? iv : "?", r->version, score, created, age, dage,
         r->folder_missing ? "FOLDER MISSING; " : "", r->status_reason);
}

/* The row's JSON with both ages (age_days, data_age_days) appended. */
static void row_json_with_ages(const struct tml_model_row *r, int64_t now, struct tml_buf *b) {
  size_t start = b->len;
  tml_model_row_to_json(r, b);
  if (b->len > start && b->ptr[b->len - 1] == '}') {
    b->len--;
    b->ptr[b->len] = '\0';
    double da = tml_model_data_age_days(r, now);
    tml_buf_printf(b, ",\"age_days\":%.3f,\"data_age_days\":", tml_model_age_days(r, now));
    if (isnan(da))
      tml_buf_puts(b, "null}");
    else
      tml_buf_printf(b, "%.3f}", da);
  }
}

/* --- list ---------------------------------------------------------------------------------------- */

static const struct cli_opt list_opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "only sets that cover this symbol", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "only this candle interval", NULL},
    {"strategy", CLI_VALUE, "NAME", "only this strategy", NULL},
    {"all", CLI_FLAG, NULL, "every version, not only the active ones", NULL},
    {"json", CLI_FLAG, NULL, "print a JSON array", NULL},
};

static int models_list(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, list_opts, NOPTS(list_opts), argc, argv,
                "usage: trademl models list [--symbol SYMBOL] [--interval I] [--strategy NAME] [--all] [--json]\n\n"
                "Lists registered model sets, newest first: the active version of each (strategy, symbol, interval),\n"
                "or every version with --all (inactive ones with the reason).",
                &code))
    return code;
  struct tml_registry_filter f = {0};
  char symbol[64];
  if (cli_get(&a, "symbol")) {
    if (tml_symbol_normalize(cli_get(&a, "symbol"), symbol, sizeof(symbol)) != 0)
      return cli_usage_error("invalid --symbol '%s': use letters and digits like BTCUSDT", cli_get(&a, "symbol"));
    f.symbol = symbol;
  }
  struct tml_error err;
  tml_error_init(&err);
  if (cli_get(&a, "interval") && tml_interval_parse(cli_get(&a, "interval"), &f.interval_ms, &err))
    return cli_usage_error("%s", err.msg);
  f.strategy = cli_get(&a, "strategy");
  const struct tml_strategy *strat = NULL;
  if (f.strategy && tml_strategy_lookup(f.strategy, &strat, &err))
    return cli_usage_error("--strategy: %s", err.msg);
  bool all = cli_has(&a, "all"), json = cli_has(&a, "json");
  struct tml_config *cfg = NULL;
  struct tml_paths paths;
  struct tml_registry *reg = NULL;
  struct tml_model_row *rows = NULL;
  size_t n = 0;
  int rc = open_registry(NULL, &cfg, &paths, &reg, &err);
  if (!rc)
    rc = tml_registry_list(reg, &f, &rows, &n, &err);
  if (rc)
    goto out;
  size_t shown = 0, hidden = 0, missing = 0;
  int64_t now = tml_now_ms();
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_buf_putc(&b, '[');
  for (size_t i = 0; i < n; i++) {
    if (!all && !rows[i].active) {
      hidden++;
      continue;
    }
    missing += rows[i].folder_missing;
    if (json) {
      if (shown)
        tml_buf_putc(&b, ',');
      row_json_with_ages(&rows[i], now, &b);
    } else {
      if (!shown)
        print_table_header();
      print_row_line(&rows[i], now);
    }
    shown++;
  }
  tml_buf_putc(&b, ']');
  if (json)
    printf("%s\n", tml_buf_str(&b));
  else if (!shown)
    printf("no %smodels registered%s\n", all ? "" : "active ", f.symbol || f.interval_ms || f.strategy ? " matching" : "");
  if (!json && hidden)
    printf("(%zu inactive version%s not shown; --all lists them)\n", hidden, hidden == 1 ? "" : "s");
  if (missing)
    fprintf(stderr, "trademl: warning: %zu model folder%s missing; run 'trademl models check'\n", missing,
            missing == 1 ? " is" : "s are");
  tml_buf_release(&b);
out:
  tml_model_rows_free(rows, n);
  tml_registry_close(reg);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}

static const char *jstr(json_t *o, const char *key) {
  const char *v = json_string_value(json_object_get(o, key));
  return v ? v : "?";
}

/* The activation comparison recorded with the row (metrics_json "comparison"), for humans. */
static void print_comparison(const struct tml_model_row *r) {
  json_t *m = r->metrics_json ? json_loads(r->metrics_json, 0, NULL) : NULL;
  json_t *c = m ? json_object_get(m, "comparison") : NULL;
  if (json_is_object(c)) {
    json_t *ch = json_object_get(c, "challenger"), *inc = json_object_get(c, "incumbent");
    printf("compared    %s: this set %s%.6g, active model %" JSON_INTEGER_FORMAT " %s%.6g", jstr(c, "metric"), json_is_number(ch) ? "" : "none ", json_is_number(ch) ? json_number_value(ch) : 0.0,
           json_integer_value(json_object_get(c, "incumbent_id")), json_is_number(inc) ? "" : "none ",
           json_is_number(inc) ? json_number_value(inc) : 0.0);
    if (json_is_true(json_object_get(c, "same_rows")))
      printf(", both on the same %" JSON_INTEGER_FORMAT " validation rows %s .. %s\n",
             json_integer_value(json_object_get(c, "rows")), jstr(c, "from"), jstr(c, "to"));
    else
      printf(", each on its own rows (%s)\n", jstr(c, "note"));
  }
  json_decref(m);
}

/* --- show ---------------------------------------------------------------------------------------- */

static const struct cli_opt show_opts[] = {
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

static int models_show(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  int64_t id;
  if (cli_parse(&a, show_opts, NOPTS(show_opts), argc, argv,
                "usage: trademl models show ID [--json]\n\nEverything the registry knows about one model set.", &code))
    return code;
  if ((code = one_id(&a, &id)))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_config *cfg = NULL;
  struct tml_paths paths;
  struct tml_registry *reg = NULL;
  struct tml_model_row r;
  tml_model_row_init(&r);
  int rc = open_registry(NULL, &cfg, &paths, &reg, &err);
  if (!rc)
    rc = tml_registry_get(reg, id, &r, &err);
  if (rc)
    goto out;
  if (cli_has(&a, "json")) {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    tml_model_row_to_json(&r, &b);
    printf("%s\n", tml_buf_str(&b));
    tml_buf_release(&b);
  } else {
    char from[40], to[40], created[40];
    tml_time_format(r.data_from_ms, from, sizeof(from));
    tml_time_format(r.data_to_ms, to, sizeof(to));
    tml_time_format(r.created_ms, created, sizeof(created));
    const char *iv = tml_interval_name(r.interval_ms);
    printf("model       %" PRId64 " (%s)\nstatus      %s\n", r.id, r.active ? "active" : "inactive", r.status_reason);
    printf("strategy    %s\nsymbols     %s\ninterval    %s\nversion     %s\n", r.strategy, r.symbols, iv ? iv : "?",
           r.version);
    printf("path        %s%s\n", r.path, r.folder_missing ? "  (MISSING: run 'trademl models check')" : "");
    if (isnan(r.score))
      printf("score       %s: none\n", r.metric);
    else
      printf("score       %s = %.6f\n", r.metric, r.score);
    print_comparison(&r);
    printf("gates       %s\n", r.has_report ? (r.gates_passed ? "passed" : "failed") : "not run (no report.json)");
    printf("data        %s .. %s\nfeatures    version %d, checksum %s\ninput hash  %s\n", from, to, r.feature_version,
           r.feature_checksum, r.input_hash);
    int64_t now = tml_now_ms();
    if (isnan(tml_model_data_age_days(&r, now)))
      printf("age         trained %.1f days ago\n", tml_model_age_days(&r, now));
    else
      printf("age         trained %.1f days ago; its newest candle is %.1f days old\n", tml_model_age_days(&r, now),
             tml_model_data_age_days(&r, now));
    if (r.job_id)
      printf("job         %" PRId64 "\n", r.job_id);
    printf("created     %s\nmetrics     %s\n", created, r.metrics_json);
  }
out:
  tml_model_row_release(&r);
  tml_registry_close(reg);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}

/* --- activate ------------------------------------------------------------------------------------ */

static int models_activate(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  int64_t id;
  if (cli_parse(&a, NULL, 0, argc, argv,
                "usage: trademl models activate ID\n\nMakes model ID the active version of its strategy, symbol and "
                "interval (roll back\nor forward by hand); the previously active version stays registered.",
                &code))
    return code;
  if ((code = one_id(&a, &id)))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_config *cfg = NULL;
  struct tml_paths paths;
  struct tml_registry *reg = NULL;
  struct tml_model_row r;
  tml_model_row_init(&r);
  int rc = open_registry(NULL, &cfg, &paths, &reg, &err);
  if (!rc)
    rc = tml_registry_activate(reg, id, &err);
  if (!rc)
    rc = tml_registry_get(reg, id, &r, &err);
  if (!rc) {
    const char *iv = tml_interval_name(r.interval_ms);
    printf("model %" PRId64 " is active for %s %s %s (%s)\n", r.id, r.strategy, r.key, iv ? iv : "?", r.version);
  }
  tml_model_row_release(&r);
  tml_registry_close(reg);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}

/* --- prune --------------------------------------------------------------------------------------- */

static const struct cli_opt prune_opts[] = {
    {"retention-days", CLI_VALUE, "DAYS", "delete inactive versions older than this (0 = keep all)",
     "model.retention_days"},
    {"keep-newest", CLI_VALUE, "N", "always keep the N newest versions per strategy, symbol, interval",
     "model.keep_newest"},
    {"dry-run", CLI_FLAG, NULL, "only show what would be deleted", NULL},
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

static int models_prune(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, prune_opts, NOPTS(prune_opts), argc, argv,
                "usage: trademl models prune [--dry-run] [--retention-days DAYS] [--keep-newest N] [--json]\n\n"
                "Deletes inactive model versions older than model.retention_days (MODEL_RETENTION_DAYS), folders\n"
                "and rows together. The active version and the newest model.keep_newest are never deleted.\n"
                "Also removes the temporary folders (.tmp-*) of killed trainings: those whose process is gone\n"
                "and that are at least 10 minutes old.",
                &code))
    return code;
  const char *pos[1];
  if (cli_positionals(&a, pos, 1))
    return cli_usage_error("unexpected argument '%s'", pos[0]);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_config *cfg = NULL;
  struct tml_paths paths;
  struct tml_registry *reg = NULL;
  struct tml_prune_report rep;
  memset(&rep, 0, sizeof(rep));
  struct tml_registry_problem *tmp = NULL;
  size_t ntmp = 0;
  bool dry = cli_has(&a, "dry-run"), json = cli_has(&a, "json");
  int rc = open_registry(&a, &cfg, &paths, &reg, &err);
  if (rc)
    goto out;
  int days = (int)tml_config_int(cfg, "model.retention_days");
  int keep = (int)tml_config_int(cfg, "model.keep_newest");
  int64_t now = tml_now_ms();
  rc = tml_registry_prune(reg, now, days, keep, dry, &rep, &err);
  if (!rc)
    rc = tml_registry_sweep_tmp(paths.models, now, dry, &tmp, &ntmp, &err);
  if (json) {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    tml_buf_printf(&b, "{\"dry_run\":%s,\"retention_days\":%d,\"keep_newest\":%d,\"deleted\":[", dry ? "true" : "false",
                   days, keep);
    for (size_t i = 0; i < rep.ndeleted; i++) {
      if (i)
        tml_buf_putc(&b, ',');
      tml_model_row_to_json(&rep.deleted[i], &b);
    }
    tml_buf_printf(&b, "],\"kept_active\":%zu,\"kept_newest\":%zu,\"kept_recent\":%zu,\"stale_tmp\":[",
                   rep.kept_active, rep.kept_newest, rep.kept_recent);
    for (size_t i = 0; i < ntmp; i++) {
      tml_buf_puts(&b, i ? ",{\"path\":" : "{\"path\":");
      tml_buf_json_str(&b, tmp[i].path);
      tml_buf_puts(&b, ",\"detail\":");
      tml_buf_json_str(&b, tmp[i].detail);
      tml_buf_putc(&b, '}');
    }
    tml_buf_puts(&b, "]}");
    if (!rc)
      printf("%s\n", tml_buf_str(&b));
    tml_buf_release(&b);
  } else {
    for (size_t i = 0; i < rep.ndeleted; i++) {
      char created[32];
      fmt_day(rep.deleted[i].created_ms, created, sizeof(created));
      printf("%s model %" PRId64 " %s %s %s (created %s) %s\n", dry ? "would delete" : "deleted", rep.deleted[i].id,
             rep.deleted[i].strategy, rep.deleted[i].key, rep.deleted[i].version, created, rep.deleted[i].path);
    }
    for (size_t i = 0; i < ntmp; i++)
      printf("%s stale temporary folder %s (%s)\n", dry ? "would remove" : "removed", tmp[i].path, tmp[i].detail);
    printf("%s %zu version%s; kept %zu active, %zu among the newest %d, %zu younger than %d days\n",
           dry ? "would delete" : "deleted", rep.ndeleted, rep.ndeleted == 1 ? "" : "s", rep.kept_active,
           rep.kept_newest, keep, rep.kept_recent, days);
  }
out:
  free(tmp);
  tml_prune_report_release(&rep);
  tml_registry_close(reg);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}

/* --- check --------------------------------------------------------------------------------------- */

static const struct cli_opt check_opts[] = {
    {"models-dir", CLI_VALUE, "DIR", "models folder to scan for unregistered sets", "model.models_dir"},
    {"json", CLI_FLAG, NULL, "print JSON", NULL},
};

static int models_check(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, check_opts, NOPTS(check_opts), argc, argv,
                "usage: trademl models check [--json]\n\n"
                "Reports registry rows whose folder is missing or corrupt, model folders without a row,\n"
                "leftovers of an interrupted prune and temporary folders of killed trainings. Exit status 1\n"
                "when anything is found.",
                &code))
    return code;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_config *cfg = NULL;
  struct tml_paths paths;
  struct tml_registry *reg = NULL;
  struct tml_registry_problem *p = NULL;
  size_t n = 0;
  int rc = open_registry(&a, &cfg, &paths, &reg, &err);
  if (!rc)
    rc = tml_registry_check(reg, paths.models, &p, &n, &err);
  if (rc)
    goto out;
  if (cli_has(&a, "json")) {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    tml_buf_puts(&b, "{\"problems\":[");
    for (size_t i = 0; i < n; i++) {
      tml_buf_printf(&b, "%s{\"kind\":\"%s\",\"id\":", i ? "," : "", tml_registry_problem_name(p[i].kind));
      if (p[i].id)
        tml_buf_printf(&b, "%" PRId64, p[i].id);
      else
        tml_buf_puts(&b, "null");
      tml_buf_printf(&b, ",\"active\":%s,\"path\":", p[i].active ? "true" : "false");
      tml_buf_json_str(&b, p[i].path);
      tml_buf_puts(&b, ",\"detail\":");
      tml_buf_json_str(&b, p[i].detail);
      tml_buf_putc(&b, '}');
    }
    tml_buf_puts(&b, "]}");
    printf("%s\n", tml_buf_str(&b));
    tml_buf_release(&b);
  } else {
    for (size_t i = 0; i < n; i++) {
      if (p[i].id)
        printf("%-12s model %" PRId64 "%s %s: %s\n", tml_registry_problem_name(p[i].kind), p[i].id,
               p[i].active ? " (ACTIVE)" : "", p[i].path, p[i].detail);
      else
        printf("%-12s %s: %s\n", tml_registry_problem_name(p[i].kind), p[i].path, p[i].detail);
    }
    printf(n ? "%zu problem%s found\n" : "registry and model folders agree\n", n, n == 1 ? "" : "s");
  }
out:
  free(p);
  tml_registry_close(reg);
  tml_config_free(cfg);
  if (rc)
    return cli_fail(&err);
  return n ? 1 : 0;
}

/* --- register ------------------------------------------------------------------------------------ */

static const struct cli_opt register_opts[] = {
    {"job-id", CLI_VALUE, "ID", "job that trained it", NULL},
    {"json", CLI_FLAG, NULL, "print the new row as JSON", NULL},
};

static int models_register(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, register_opts, NOPTS(register_opts), argc, argv,
                "usage: trademl models register DIR [--job-id ID] [--json]\n\n"
                "Registers an existing model-set folder (trademl train registers what it writes by itself);\n"
                "activation follows model.activation.* as for a new set.",
                &code))
    return code;
  const char *pos[2];
  if (cli_positionals(&a, pos, 2) != 1)
    return cli_usage_error("expected one model-set folder");
  int64_t job = 0;
  if (cli_get(&a, "job-id") && parse_id(cli_get(&a, "job-id"), &job))
    return 2;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_config *cfg = NULL;
  struct tml_paths paths;
  struct tml_registry *reg = NULL;
  struct tml_model_row r;
  tml_model_row_init(&r);
  struct tml_activation_policy pol;
  int rc = open_registry(NULL, &cfg, &paths, &reg, &err);
  if (!rc)
    rc = tml_activation_policy_from_config(cfg, &pol, &err);
  if (!rc)
    rc = tml_registry_register(reg, pos[0], job, &pol, tml_now_ms(), &r, &err);
  if (!rc) {
    if (cli_has(&a, "json")) {
      struct tml_buf b;
      tml_buf_init(&b, 0);
      tml_model_row_to_json(&r, &b);
      printf("%s\n", tml_buf_str(&b));
      tml_buf_release(&b);
    } else {
      printf("registered as model %" PRId64 " (%s: %s)\n", r.id, r.active ? "active" : "inactive", r.status_reason);
    }
  }
  tml_model_row_release(&r);
  tml_registry_close(reg);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}

/* --- export -------------------------------------------------------------------------------------- */

static const struct cli_opt export_opts[] = {
    {"format", CLI_VALUE, "FORMAT", "xgboost-json (the only format)", NULL},
    {"out", CLI_VALUE, "DIR", "folder to write <head>_model.xgboost.json into (created)", NULL},
};

/* Writes every head of model set ID as XGBoost JSON: XGBoost sets as they are, native sets through
 * the engine's export (one tree per class per round, loadable by libxgboost 1.7). */
static int models_export(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  int64_t id;
  if (cli_parse(&a, export_opts, NOPTS(export_opts), argc, argv,
                "usage: trademl models export ID --format xgboost-json --out DIR\n\nWrites the five heads of model "
                "set ID as XGBoost JSON files (<head>_model.xgboost.json)\ninto DIR, whichever engine trained them.",
                &code))
    return code;
  if ((code = one_id(&a, &id)))
    return code;
  const char *format = cli_get(&a, "format"), *outdir = cli_get(&a, "out");
  if (!format || strcmp(format, "xgboost-json") != 0) {
    fprintf(stderr, "trademl: error: --format %s is not supported: use --format xgboost-json\n",
            format ? format : "(missing)");
    return 2;
  }
  if (!outdir || !outdir[0]) {
    fprintf(stderr, "trademl: error: --out DIR is required: the folder to write the heads into\n");
    return 2;
  }
  struct tml_error err;
  tml_error_init(&err);
  struct tml_config *cfg = NULL;
  struct tml_paths paths;
  struct tml_registry *reg = NULL;
  struct tml_model_row r;
  tml_model_row_init(&r);
  struct tml_modelset *set = NULL;
  struct tml_buf b;
  tml_buf_init(&b, 0);
  int rc = open_registry(NULL, &cfg, &paths, &reg, &err);
  if (!rc)
    rc = tml_registry_get(reg, id, &r, &err);
  if (!rc)
    rc = tml_modelset_load(r.path, &set, &err);
  const struct tml_strategy *strat = set ? set->model->strategy : NULL;
  if (!rc && !strat->head_model)
    rc = tml_error_set(&err, TML_EUNSUPPORTED, "model %" PRId64 " is a '%s' set, whose heads are not boosted trees: "
                       "only xgb5 sets export as XGBoost JSON", id, strat->name);
  if (!rc)
    rc = tml_mkdir_p(outdir, &err);
  for (int h = 0; h < TML_HEAD_COUNT && !rc; h++) {
    const struct tml_model *m = strat->head_model(set->model->impl, h);
    char path[4200];
    tml_buf_reset(&b);
    rc = m->learner->export_xgboost_json(m->impl, &b, &err);
    if (!rc)
      rc = tml_path_fmt(path, sizeof(path), &err, "%s/%s_model.xgboost.json", outdir, tml_head_name((enum tml_head)h));
    if (!rc)
      rc = tml_write_file_atomic(path, b.ptr, b.len, &err);
    if (!rc)
      printf("%s\n", path);
  }
  tml_buf_release(&b);
  tml_modelset_free(set);
  tml_model_row_release(&r);
  tml_registry_close(reg);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}

/* --- dispatch ------------------------------------------------------------------------------------ */

static const struct {
  const char *name;
  cli_cmd_fn fn;
  const char *summary;
} verbs[] = {
    {"activate", models_activate, "make a version the active one (rollback / roll forward)"},
    {"check", models_check, "rows whose folder is missing or corrupt, folders without rows"},
    {"list", models_list, "registered model sets (active ones; --all for every version)"},
    {"prune", models_prune, "delete old inactive versions, folders and rows together"},
    {"register", models_register, "register an existing model-set folder"},
    {"show", models_show, "one model's row: metrics, data range, status reason"},
    {"export", models_export, "write a model set's heads as XGBoost JSON (native sets too)"},
};

static void models_usage(FILE *f) {
  fprintf(f, "usage: trademl models <verb> [options]\n\nVerbs:\n");
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(f, "\nRun 'trademl models <verb> --help' for a verb's options. See docs/registry.md.\n");
}

int cmd_models(int argc, char **argv) {
  if (argc < 2) {
    models_usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    models_usage(stdout);
    return 0;
  }
  for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
    if (strcmp(argv[1], verbs[i].name) == 0)
      return verbs[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "trademl: error: unknown models verb '%s'\n\n", argv[1]);
  models_usage(stderr);
  return 2;
}
