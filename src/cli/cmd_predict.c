/* trademl predict: the five predictions of the newest model set for the latest closed candle, as JSON.
 * Refuses a set whose feature-set checksum differs from the running code's. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_config.h"
#include "commands.h"
#include "trademl/db.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/fsutil.h"
#include "trademl/modelset.h"
#include "trademl/strategy.h"
#include "trademl/parse.h"
#include "trademl/predict.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"

static const char usage[] =
    "usage: trademl predict --symbol SYMBOL [--interval 15m] [--model DIR] [--now TIME] [--max-age DURATION]\n"
    "\n"
    "Prints the five head predictions for the latest closed candle as JSON. A candle that closed more than\n"
    "predict.stale_intervals intervals ago is stale: a warning, \"stale\": true and its age. Without\n"
    "--interval, the interval of the symbol's models is used when they have only one. See docs/training.md (Predicting).";

static const struct cli_opt opts[] = {
    {"symbol", CLI_VALUE, "SYMBOL", "symbol to predict", NULL},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval", "data.interval"},
    {"model", CLI_VALUE, "DIR", "a model-set folder (default: the newest for the symbol)", NULL},
    {"models-dir", CLI_VALUE, "DIR", "where model sets live", "model.models_dir"},
    {"strategy", CLI_VALUE, "NAME", "strategy: xgb5 (default), ensemble or lstm (docs/strategies.md)", "model.strategy"},
    {"now", CLI_VALUE, "TIME", "evaluate as of this UTC time (ISO-8601); default: the clock", NULL},
    {"max-age", CLI_VALUE, "DURATION", "refuse (exit 1) when the candle closed longer ago than this (90s, 45m, 2h)",
     "predict.max_age"},
};

/* Intervals that have a model for symbol (registry rows and model-set folders). */
static void model_intervals(const struct tml_paths *paths, const struct tml_config *cfg, const char *symbol,
                            int64_t *out, size_t max, size_t *n) {
  struct tml_registry *reg = NULL;
  if (tml_db_exists(paths->db) && tml_registry_open(paths->db, &reg, NULL) != 0)
    reg = NULL;
  tml_registry_model_intervals(reg, tml_config_get(cfg, "model.models_dir"), tml_config_get(cfg, "model.strategy"),
                               symbol, out, max, n);
  tml_registry_close(reg);
}

/* The registry's active set for symbol/interval into dir. TML_ENOENT (err untouched) when there is no
 * database or no active row, so the caller falls back to the newest folder; an active row whose folder
 * is gone is an error, never a silent switch to another model. */
static int registry_active_dir(const struct tml_paths *paths, const char *strategy, const char *symbol,
                               int64_t interval, char *dir, size_t dirsz, struct tml_error *err) {
  if (!tml_db_exists(paths->db))
    return TML_ENOENT;
  struct tml_registry *reg = NULL;
  struct tml_model_row row;
  tml_model_row_init(&row);
  struct tml_error e;
  tml_error_init(&e);
  int rc = tml_registry_open(paths->db, &reg, err);
  if (!rc) /* a set kept in the database (PostgreSQL) is fetched into this host's models folder */
    rc = tml_registry_set_cache_dir(reg, paths->models, err);
  if (!rc) {
    rc = tml_registry_active(reg, strategy, symbol, interval, &row, &e);
    if (rc && rc != TML_ENOENT)
      tml_error_set(err, rc, "%s", e.msg);
  }
  if (!rc && row.folder_missing)
    rc = tml_error_set(err, TML_EMODEL,
                       "the active model %" PRId64 " for %s has no folder at '%s' (deleted behind the registry's "
                       "back?): restore it, or activate another version with 'trademl models activate ID'",
                       row.id, symbol, row.path);
  if (!rc && strlen(row.path) >= dirsz)
    rc = tml_error_set(err, TML_EINVAL, "active model %" PRId64 " path is too long", row.id);
  if (!rc)
    memcpy(dir, row.path, strlen(row.path) + 1);
  tml_model_row_release(&row);
  tml_registry_close(reg);
  return rc;
}

int cmd_predict(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *raw = cli_get(&a, "symbol");
  if (!raw)
    return cli_usage_error("missing --symbol SYMBOL");
  char symbol[TML_SYMBOL_MAX];
  if (tml_symbol_normalize(raw, symbol, sizeof(symbol)) != 0)
    return cli_usage_error("invalid symbol '%s': use letters and digits like BTCUSDT", raw);
  int64_t now = tml_now_ms();
  const char *now_s = cli_get(&a, "now");
  if (now_s && tml_time_parse(now_s, strlen(now_s), &now) != 0)
    return cli_usage_error("invalid --now '%s': use an ISO-8601 UTC time like 2025-01-01T00:00:00Z", now_s);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  struct tml_store *store = NULL;
  struct tml_modelset *m = NULL;
  struct tml_buf out;
  tml_buf_init(&out, 0);
  int64_t interval = 0;
  char dir[4096];
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (rc)
    return cli_fail(&err);
  if ((rc = tml_interval_parse(tml_config_get(cfg, "data.interval"), &interval, &err)))
    goto out;
  const struct tml_strategy *strat = NULL;
  if ((rc = tml_strategy_lookup(tml_config_get(cfg, "model.strategy"), &strat, &err))) {
    tml_error_prefix(&err, "--strategy / model.strategy");
    goto out;
  }
  if (!cli_get(&a, "model")) {
    /* No interval asked for (flag, file or environment): the one interval that has models is the default.
     * When the interval has no model but others do, say which. */
    int64_t have[32];
    size_t nhave = 0;
    model_intervals(&paths, cfg, symbol, have, sizeof(have) / sizeof(have[0]), &nhave);
    bool asked = tml_config_source_of(cfg, "data.interval") != TML_CFG_DEFAULT;
    if (!asked && nhave == 1)
      interval = have[0];
    bool found = false;
    for (size_t i = 0; i < nhave; i++)
      found = found || have[i] == interval;
    if (!found && nhave > 0) {
      char names[256] = "";
      size_t used = 0;
      for (size_t i = 0; i < nhave && used < sizeof(names); i++)
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                 tml_interval_name(have[i]));
      rc = tml_error_set(&err, TML_ENOENT,
                         "no %s model for %s; models exist for %s: pass --interval %s (or train %s at %s)",
                         tml_interval_name(interval), symbol, names, tml_interval_name(have[0]), symbol,
                         tml_interval_name(interval));
      goto out;
    }
  }
  if (cli_get(&a, "model"))
    snprintf(dir, sizeof(dir), "%s", cli_get(&a, "model"));
  else if ((rc = registry_active_dir(&paths, tml_config_get(cfg, "model.strategy"), symbol, interval, dir,
                                     sizeof(dir), &err)) != TML_ENOENT) {
    if (rc)
      goto out;
  } else if ((rc = tml_modelset_find_latest(tml_config_get(cfg, "model.models_dir"),
                                          tml_config_get(cfg, "model.strategy"), symbol, interval, dir, sizeof(dir),
                                          &err)))
    goto out;
  /* A folder given with --model names its strategy itself; otherwise it must be the asked one. */
  if ((rc = tml_modelset_load_as(dir, cli_get(&a, "model") && !cli_has(&a, "strategy") ? NULL : strat->name, &m, &err)))
    goto out;
  if (m->interval_ms != interval && cli_has(&a, "interval")) {
    rc = tml_error_set(&err, TML_EINVAL, "model set '%s' is for %s candles, not %s", dir,
                       tml_interval_name(m->interval_ms), tml_interval_name(interval));
    goto out;
  }
  if (!tml_db_exists(paths.db)) {
    rc = tml_error_set(&err, TML_ENOENT, "no candle store at '%s': import candles first", paths.db);
    goto out;
  }
  if ((rc = tml_store_open(paths.db, &store, &err)))
    goto out;
  struct tml_prediction p;
  if ((rc = tml_predict_latest(store, m, symbol, now, &p, &err)))
    goto out;
  /* A candle several intervals old means the store is not being synced: say so, and refuse past
   * predict.max_age (--max-age). */
  if ((rc = tml_prediction_check_age(&p, m->interval_ms, now, (int)tml_config_int(cfg, "predict.stale_intervals"),
                                     tml_config_int(cfg, "predict.max_age") * 1000, symbol, &err)))
    goto out;
  if (p.stale) {
    char age[32], at[32];
    tml_format_age(p.age_ms, age, sizeof(age));
    tml_time_format(p.candle_ms + m->interval_ms, at, sizeof(at));
    fprintf(stderr,
            "trademl: warning: stale prediction: the latest closed %s candle of %s closed at %s, %s ago (more than "
            "%d intervals; predict.stale_intervals): fetch or import newer candles\n",
            tml_interval_name(m->interval_ms), symbol, at, age, (int)tml_config_int(cfg, "predict.stale_intervals"));
  }
  tml_prediction_to_json(&p, m, symbol, now, &out);
  printf("%s\n", tml_buf_str(&out));
out:
  tml_buf_release(&out);
  tml_modelset_free(m);
  tml_store_close(store);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}
