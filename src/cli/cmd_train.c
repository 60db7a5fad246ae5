/* trademl train: one model set (five heads) per symbol, or one shared set in multi-symbol mode.
 * Human step output (data -> features -> labels -> training -> save) with timings, a live progress
 * line on a terminal, --json for machines, --dry-run for statistics only. Ctrl-C leaves nothing. */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "cli.h"
#include "cli_config.h"
#include "cli_progress.h"
#include "commands.h"
#include "cmd_data.h"
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/featureset.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/learner.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/strategy.h"
#include "trademl/timeutil.h"
#include "trademl/learner.h"
#include "trademl/train.h"

static const char usage[] =
    "usage: trademl train [--symbol SYMBOL...] [--interval 15m] [--days N] [options]\n"
    "\n"
    "Trains the five heads (direction, volatility, timing, stop_loss, position_size) on stored candles\n"
    "and writes a model set under the models folder. Without --symbol: the symbols of data.symbols, or\n"
    "every symbol stored at the interval when that is empty; a failing symbol does not stop the others and\n"
    "the exit code is non-zero naming it. See docs/training.md.";

static const struct cli_opt opts[] = {
    {"symbol", CLI_LIST, "SYMBOL", "symbols to train (BTCUSDT or BTC/USDT)", "data.symbols"},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval (5m, 15m, 1h, ...)", "data.interval"},
    {"days", CLI_VALUE, "N", "train on the last N days of history (0 = all)", "data.days"},
    {"training-mode", CLI_VALUE, "MODE", "single_symbol (a set per symbol) or multi_symbol (one shared set)",
     "model.training_mode"},
    {"symbol-encoding", CLI_VALUE, "ENC", "multi-symbol encoding: one_hot or index", "model.symbol_encoding"},
    {"test-size", CLI_VALUE, "FRACTION", "newest share of rows used for validation", "training.test_size"},
    {"purge-gap", CLI_VALUE, "CANDLES", "candles purged before validation (at least the horizon)",
     "training.purge_gap"},
    CLI_XGB_OPTS,
    {"threads", CLI_VALUE, "N", "thread budget (0 = all cores)", "training.threads"},
    {"horizon", CLI_VALUE, "CANDLES", "label horizon", "labels.horizon"},
    {"min-train-rows", CLI_VALUE, "N", "minimum training rows", "training.min_train_rows"},
    {"models-dir", CLI_VALUE, "DIR", "where model sets are written", "model.models_dir"},
    {"strategy", CLI_VALUE, "NAME", "strategy: xgb5 (default), ensemble or lstm (docs/strategies.md)", "model.strategy"},
    {"dry-run", CLI_FLAG, NULL, "load, features, labels and split statistics only", NULL},
    {"no-fetch", CLI_FLAG, NULL, "do not download missing candles from the exchange first", NULL},
    {"json", CLI_FLAG, NULL, "print the result as JSON", NULL},
    {"days-5m", CLI_VALUE, "N", "Bitget pipeline: train on 5m candles, the last N days (overrides --days)", NULL},
    {"days-1h", CLI_VALUE, "N",
     "Bitget pipeline: stored 1h candles, last N days (0 = all), warm up the 1h columns (docs/training.md)",
     NULL},
    {"data-dir", CLI_VALUE, "DIR", "Bitget pipeline: folder of the candle database (DIR/trademl.db; created)", NULL},
    {"universe", CLI_VALUE, "all", "every symbol stored at the interval (instead of --symbol / data.symbols)", NULL},
    CLI_LSTM_OPTS,
};

/* The Bitget pipeline's flags (docs/training.md "Flags of the Bitget pipeline"): --data-dir DIR puts the
 * candle database (and so the registry and jobs kept in it) at DIR/trademl.db; --days-5m N means 5m
 * candles, the last N days (an --interval other than 5m is a contradiction); --days-1h N is applied
 * after the options are read (bitget_context). */
static int bitget_flags(const struct cli_args *a, struct tml_config *cfg, struct tml_paths *paths,
                        struct tml_error *err) {
  int rc = 0;
  const char *dir = cli_get(a, "data-dir");
  if (dir) {
    char db[sizeof(paths->db)];
    if (!*dir || (size_t)snprintf(db, sizeof(db), "%s/trademl.db", dir) >= sizeof(db))
      return tml_error_set(err, TML_EUSAGE, "--data-dir '%s' is empty or too long: give a folder", dir);
    if ((rc = tml_mkdir_p(dir, err))) {
      tml_error_prefix(err, "--data-dir");
      return rc;
    }
    if ((rc = tml_config_set(cfg, "data.db_path", db, TML_CFG_FLAG, "--data-dir", err)))
      return rc;
    memcpy(paths->db, db, strlen(db) + 1);
  }
  const char *d5 = cli_get(a, "days-5m");
  if (d5) {
    const char *iv = cli_get(a, "interval");
    int64_t ms = 0;
    if (iv && (tml_interval_parse(iv, &ms, NULL) != 0 || ms != 5 * TML_MS_PER_MINUTE))
      return tml_error_set(err, TML_EUSAGE,
                           "--days-5m sets the days of 5m candles, but --interval is %s: use --days with --interval "
                           "%s, or drop --interval to train on 5m",
                           iv, iv);
    if ((rc = tml_config_set(cfg, "data.interval", "5m", TML_CFG_FLAG, "--days-5m", err)) ||
        (rc = tml_config_set(cfg, "data.days", d5, TML_CFG_FLAG, "--days-5m", err)))
      return rc;
  }
  return 0;
}

/* --days-1h N: the higher timeframe must be 1h (5m and 15m bases by default). */
static int bitget_context(const struct cli_args *a, struct tml_train_opts *o, struct tml_error *err) {
  const char *d1 = cli_get(a, "days-1h");
  if (!d1)
    return 0;
  double days = 0;
  if (tml_parse_double_str(d1, &days) != 0 || !(days >= 0) || days > 36500)
    return tml_error_set(err, TML_EUSAGE, "--days-1h must be a number of days from 0 (all stored) to 36500, not '%s'",
                         d1);
  int64_t htf = o->features.htf_interval_ms ? o->features.htf_interval_ms : tml_featureset_default_htf(o->interval_ms);
  if (htf != TML_MS_PER_HOUR)
    return tml_error_set(err, TML_EUSAGE,
                         "--days-1h gives 1h context candles, but training on %s uses %s higher-timeframe candles: "
                         "train on 5m or 15m (--days-5m or --interval), or set features.htf_interval to 1h",
                         tml_interval_name(o->interval_ms), htf ? tml_interval_name(htf) : "no");
  o->htf_context = true;
  o->htf_context_days = days;
  return 0;
}


struct progress_state {
  pthread_mutex_t lock;
  int round[TML_HEAD_COUNT], best[TML_HEAD_COUNT];
  bool done[TML_HEAD_COUNT];
  char what[96];             /* "BTCUSDT 15m" */
  struct cli_progress live;  /* terminal line, or a periodic line in logs and --json runs */
};

/* "heads 2/5 done; direction 120/500 best 98, timing 45/500 best 40": the heads boosting now, with
 * their round and best round (early stopping). Caller holds p->lock. Returns the done fraction of the
 * training step (0..1). */
static double heads_status(struct progress_state *p, int total, char *out, size_t outsz) {
  int ndone = 0;
  double frac = 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    ndone += p->done[h];
    frac += p->done[h] ? 1.0 : (total > 0 ? (double)p->round[h] / total : 0);
  }
  size_t used = (size_t)snprintf(out, outsz, "heads %d/%d done", ndone, TML_HEAD_COUNT);
  const char *sep = "; ";
  for (int h = 0; h < TML_HEAD_COUNT && used < outsz; h++) {
    if (p->done[h] || p->round[h] == 0)
      continue;
    used += (size_t)snprintf(out + used, outsz - used, "%s%s %d/%d best %d", sep, tml_head_name((enum tml_head)h),
                             p->round[h], total, p->best[h] + 1);
    sep = ", ";
  }
  return frac / TML_HEAD_COUNT;
}

static int on_progress(void *ud, enum tml_train_event ev, const char *stage, int head, int round, int total,
                       double metric, int best_round) {
  struct progress_state *p = ud;
  (void)metric;
  if (cli_stop_signal)
    return 1;
  char status[200];
  double frac;
  pthread_mutex_lock(&p->lock);
  if (ev == TML_EV_ROUND && head >= 0 && head < TML_HEAD_COUNT) {
    p->round[head] = round + 1;
    p->best[head] = best_round;
  } else if (ev == TML_EV_HEAD_DONE && head >= 0 && head < TML_HEAD_COUNT) {
    p->done[head] = true;
    p->best[head] = best_round;
  }
  bool boosting = ev != TML_EV_STAGE || strcmp(stage, "training") == 0;
  if (boosting) {
    frac = 0.05 + 0.9 * heads_status(p, total, status, sizeof(status));
  } else {
    frac = strcmp(stage, "save") == 0 ? 0.96 : 0.02;
    snprintf(status, sizeof(status), "%s", stage);
  }
  pthread_mutex_unlock(&p->lock);
  /* Running as a job: overall progress to the worker (throttled there and here). */
  if (tml_job_in_child())
    tml_job_report_progress(frac * 100.0, status);
  cli_progress_set(&p->live, frac, "training %s: %s", p->what, status);
  return 0;
}

static void fmt_time(int64_t ms, char *out, size_t n) { tml_time_format(ms, out, n); }

static void print_human(const struct tml_train_opts *o, const struct tml_train_result *r) {
  char a[32], b[32], v[32];
  fmt_time(r->first_ms, a, sizeof(a));
  fmt_time(r->last_ms, b, sizeof(b));
  fmt_time(r->valid_from_ms, v, sizeof(v));
  printf("data      %zu symbol(s) %s: %zu candles                                   %7.2f s\n", o->nsymbols,
         tml_interval_name(o->interval_ms), r->candles, r->t_load);
  if (o->htf_context)
    printf("context   %zu stored 1h candles before the first %s candle feed the 1h columns (--days-1h %g%s)\n",
           r->context_candles, tml_interval_name(o->interval_ms), o->htf_context_days,
           o->htf_context_days > 0 ? "" : ": all");
  printf("features  %zu columns; %zu rows %s .. %s (dropped: %zu warm-up, %zu unlabelled, %zu before window) %.2f s\n",
         r->ncols, r->rows, a, b, r->warmup_dropped, r->unlabelled, r->before_window, r->t_features);
  printf("labels    horizon %d; train %zu rows, purge %zu, validation %zu rows from %s\n", o->labels.horizon,
         r->train_rows, r->purged, r->valid_rows, v);
  printf("          thresholds: direction [%.5f, %.5f]  volatility [%.5f, %.5f, %.5f]  timing [%.3f, %.3f]\n",
         r->thresholds.direction[0], r->thresholds.direction[1], r->thresholds.volatility[0],
         r->thresholds.volatility[1], r->thresholds.volatility[2], r->thresholds.timing[0], r->thresholds.timing[1]);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    int k = tml_head_nclass(head);
    const struct tml_head_result *hr = &r->heads[h];
    if (k) {
      printf("          %-13s train:", tml_head_name(head));
      for (int c = 0; c < k; c++)
        printf(" %s %zu", tml_head_class_name(head, c), hr->train_counts[c]);
      printf(" | valid:");
      for (int c = 0; c < k; c++)
        printf(" %s %zu", tml_head_class_name(head, c), hr->valid_counts[c]);
      printf("\n");
    } else {
      printf("          %-13s mean train %.4f, valid %.4f\n", tml_head_name(head), hr->train_mean, hr->valid_mean);
    }
  }
  if (o->dry_run) {
    printf("dry run: nothing trained or written (%.2f s)\n", r->t_total);
    return;
  }
  printf("training  5 heads, %.2f s wall (%s boosting %.2f s summed over heads)\n", r->t_train,
         strcmp(o->engine ? o->engine : TML_LEARNER_DEFAULT, "native") == 0 ? "native engine" : "XGBoost", r->t_xgb);
  printf("\n%-14s %6s %9s %8s %8s %8s %9s\n", "head", "best", "accuracy", "macroF1", "rocAUC", "logloss", "seconds");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    const struct tml_head_result *hr = &r->heads[h];
    if (tml_head_nclass(head))
      printf("%-14s %6d %9.4f %8.4f %8.4f %8.4f %9.2f\n", tml_head_name(head), hr->best_iteration, hr->cls.accuracy,
             hr->cls.macro_f1, hr->cls.roc_auc_macro, hr->cls.logloss, hr->seconds);
  }
  printf("\n%-14s %6s %9s %8s %8s %9s\n", "head", "best", "rmse", "mae", "r2", "seconds");
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    const struct tml_head_result *hr = &r->heads[h];
    if (!tml_head_nclass(head))
      printf("%-14s %6d %9.4f %8.4f %8.4f %9.2f\n", tml_head_name(head), hr->best_iteration, hr->reg.rmse,
             hr->reg.mae, hr->reg.r2, hr->seconds);
  }
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    enum tml_head head = (enum tml_head)h;
    const struct tml_head_result *hr = &r->heads[h];
    if (tml_head_nclass(head)) {
      printf("\n%s per class (validation):", tml_head_name(head));
      for (int c = 0; c < tml_head_nclass(head); c++)
        printf("  %s P %.3f R %.3f F1 %.3f", tml_head_class_name(head, c), hr->cls.precision[c], hr->cls.recall[c],
               hr->cls.f1[c]);
    }
    printf("\n%s top features (gain):", tml_head_name(head));
    for (size_t i = 0; i < hr->ntop; i++)
      printf(" %s%s", r->col_names[hr->top[i]], i + 1 < hr->ntop ? "," : "");
    printf("\n");
  }
  printf("\nsave      %s  %.2f s\ntotal     %.2f s\n", r->model_dir, r->t_save, r->t_total);
}

int cmd_train(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *pos[1];
  if (cli_positionals(&a, pos, 1))
    return cli_usage_error("unexpected argument '%s' (symbols go after --symbol)", pos[0]);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  struct tml_store *store = NULL;
  struct tml_train_opts o;
  char (*symbols)[TML_SYMBOL_MAX] = NULL;
  size_t n = 0;
  bool from_store = false;
  struct tml_buf failed; /* "SYMBOL (reason)" of each failed set, for the final error */
  tml_buf_init(&failed, 0);
  size_t nfailed = 0, ngroups_done = 0;
  int first_fail = 0;
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (rc)
    return cli_fail(&err);
  tml_train_opts_default(&o);
  const char *universe = cli_get(&a, "universe");
  if (universe && strcmp(universe, "all") != 0) {
    rc = tml_error_set(&err, TML_EINVAL, "--universe '%s': the only universe is 'all' (every stored symbol)", universe);
    goto out;
  }
  if (universe && cli_has(&a, "symbol")) {
    rc = tml_error_set(&err, TML_EINVAL, "--universe all and --symbol contradict each other: give one of them");
    goto out;
  }
  if (universe && (rc = tml_config_set(cfg, "data.symbols", "", TML_CFG_FLAG, "--universe all", &err)))
    goto out;
  if ((rc = bitget_flags(&a, cfg, &paths, &err)) || (rc = tml_train_opts_from_config(cfg, &o, &err)) ||
      (rc = bitget_context(&a, &o, &err)))
    goto out;
  /* A global strategy (ensemble) trains one shared set over its symbols. */
  const struct tml_strategy *strat = NULL;
  struct tml_strategy_needs needs;
  struct tml_strategy_params sp = {.cfg = cfg};
  if ((rc = tml_strategy_lookup(o.strategy, &strat, &err)) || (rc = strat->needs(&sp, &needs, &err)))
    goto out;
  if (needs.all_symbols)
    o.multi_symbol = true;
  o.dry_run = cli_has(&a, "dry-run");
  bool json = cli_has(&a, "json");
  if ((rc = tml_paths_ensure(&paths, &err)) || (rc = tml_store_open(paths.db, &store, &err)))
    goto out;
  /* No --symbol: data.symbols, else every symbol stored at the interval (docs/training.md). */
  if ((rc = cli_run_symbols(cfg, store, o.interval_ms, &symbols, &n, &from_store, &err)))
    goto out;
  if (o.multi_symbol && n > TML_TRAIN_MAX_SYMBOLS) {
    rc = tml_error_set(&err, TML_EINVAL, "a multi-symbol set takes at most %d symbols, got %zu", TML_TRAIN_MAX_SYMBOLS,
                       n);
    goto out;
  }
  if (from_store && !json)
    printf("no symbol given: %s %zu symbol%s stored at %s\n", o.multi_symbol ? "one shared set for the" : "training each of the",
           n, n == 1 ? "" : "s", tml_interval_name(o.interval_ms));
  /* Every set written is registered (cli_register_model_set); check the policy before any work. */
  struct tml_activation_policy policy;
  if (!o.dry_run && (rc = tml_activation_policy_from_config(cfg, &policy, &err)))
    goto out;

  cli_catch_stop_signals();
  struct progress_state ps;
  memset(&ps, 0, sizeof(ps));
  pthread_mutex_init(&ps.lock, NULL);
  /* Live line on a terminal; in logs and --json runs one line every logging.progress_seconds. */
  bool live_tty = isatty(STDERR_FILENO) && !json;
  double period = (double)tml_config_int(cfg, "logging.progress_seconds");
  o.progress = on_progress;
  o.progress_ud = &ps;

  /* single_symbol: one set per symbol; multi_symbol: one set for all. */
  size_t groups = o.multi_symbol ? 1 : n;
  struct tml_buf out;
  tml_buf_init(&out, 0);
  if (json && groups > 1)
    tml_buf_puts(&out, "[");
  for (size_t g = 0; g < groups && rc != TML_EINTR && !cli_stop_signal; g++) {
    rc = 0;
    tml_error_clear(&err);
    o.nsymbols = o.multi_symbol ? n : 1;
    for (size_t i = 0; i < o.nsymbols; i++)
      o.symbols[i] = symbols[o.multi_symbol ? i : g];
    if (!json)
      printf("%s %s %s%s\n", o.dry_run ? "dry run:" : "training", o.multi_symbol ? "multi-symbol set" : o.symbols[0],
             tml_interval_name(o.interval_ms), o.days > 0 ? "" : " (all history)");
    /* Fetch what is missing: series that came from an exchange are topped up, symbols with no candles
     * are fetched from data.exchange; imported series are used as they are. --no-fetch skips it. */
    for (size_t i = 0; i < o.nsymbols && !rc && !cli_has(&a, "no-fetch"); i++) {
      rc = cmd_fetch_for_training(store, cfg, o.symbols[i], o.interval_ms, o.days, json, &err);
      if (!rc && o.htf_context) /* --days-1h: the 1h context series too */
        rc = cmd_fetch_for_training(store, cfg, o.symbols[i], TML_MS_PER_HOUR, o.htf_context_days, json, &err);
    }
    /* The active set this one competes with is scored on this run's validation rows (fair activation). */
    char incumbent[4200];
    cli_incumbent_dir(paths.db, o.strategy, o.symbols, o.nsymbols, o.interval_ms, incumbent, sizeof(incumbent));
    o.incumbent_dir = !o.dry_run && incumbent[0] ? incumbent : NULL;
    struct tml_train_result r;
    memset(ps.round, 0, sizeof(ps.round));
    memset(ps.best, 0, sizeof(ps.best));
    memset(ps.done, 0, sizeof(ps.done));
    snprintf(ps.what, sizeof(ps.what), "%s%s %s", o.symbols[0], o.nsymbols > 1 ? " +" : "",
             tml_interval_name(o.interval_ms));
    if (!rc) {
      cli_progress_start(&ps.live, live_tty, period);
      cli_progress_set(&ps.live, -1, "training %s: loading candles", ps.what);
      rc = tml_train_run(store, &o, &r, &err);
      cli_progress_stop(&ps.live);
    } else {
      memset(&r, 0, sizeof(r));
    }
    struct tml_model_row row;
    tml_model_row_init(&row);
    if (!rc && !o.dry_run)
      rc = cli_register_model_set(cfg, paths.db, r.model_dir, &row, &err);
    if (!rc) {
      if (json) {
        if (ngroups_done)
          tml_buf_puts(&out, ",");
        tml_buf_printf(&out, "{\"symbols\":[");
        for (size_t i = 0; i < o.nsymbols; i++) {
          tml_buf_printf(&out, "%s", i ? "," : "");
          tml_buf_json_str(&out, o.symbols[i]);
        }
        tml_buf_printf(&out, "],\"interval\":\"%s\",\"dry_run\":%s,\"model_dir\":", tml_interval_name(o.interval_ms),
                       o.dry_run ? "true" : "false");
        tml_buf_json_str(&out, r.model_dir);
        tml_buf_puts(&out, ",\"version\":");
        tml_buf_json_str(&out, r.version);
        if (row.id) {
          tml_buf_printf(&out, ",\"model_id\":%" PRId64 ",\"active\":%s,\"status_reason\":", row.id,
                         row.active ? "true" : "false");
          tml_buf_json_str(&out, row.status_reason);
        }
        tml_buf_puts(&out, ",\"result\":");
        tml_train_result_to_json(&r, &o, &out);
        tml_buf_puts(&out, "}");
        ngroups_done++;
      } else {
        print_human(&o, &r);
        if (row.id)
          printf("registered as model %" PRId64 " (%s: %s)\n", row.id, row.active ? "active" : "inactive",
                 row.status_reason);
      }
    }
    if (!rc && !o.dry_run && tml_job_in_child()) {
      /* The job's result summary: where the set went and headline validation metrics. */
      double auc = 0;
      int nauc = 0;
      for (int h = 0; h < TML_HEAD_COUNT; h++)
        if (tml_head_nclass((enum tml_head)h) > 1 && !isnan(r.heads[h].cls.roc_auc_macro)) {
          auc += r.heads[h].cls.roc_auc_macro;
          nauc++;
        }
      struct tml_buf res;
      tml_buf_init(&res, 4096);
      tml_buf_puts(&res, "{\"model_dir\":");
      tml_buf_json_str(&res, r.model_dir);
      tml_buf_puts(&res, ",\"version\":");
      tml_buf_json_str(&res, r.version);
      tml_buf_printf(&res, ",\"model_id\":%" PRId64 ",\"active\":%s,\"accuracy\":%.6f,\"avg_roc_auc\":%.6f,\"rows\":%zu}",
                     row.id, row.active ? "true" : "false", r.heads[TML_HEAD_DIRECTION].cls.accuracy,
                     nauc ? auc / nauc : 0.0, r.rows);
      tml_job_report_result(tml_buf_str(&res));
      tml_buf_release(&res);
    }
    tml_model_row_release(&row);
    tml_train_result_release(&r);
    if (rc && groups > 1 && rc != TML_EINTR) {
      /* One symbol failing does not stop the others; each failure is named here and again at the end. */
      const char *what = o.multi_symbol ? "multi-symbol set" : o.symbols[0];
      fflush(stdout);
      fprintf(stderr, "trademl: error: %s: %s\n", what, err.msg);
      if (json) {
        tml_buf_printf(&out, "%s{\"symbols\":[", ngroups_done++ ? "," : "");
        tml_buf_json_str(&out, what);
        tml_buf_puts(&out, "],\"error\":");
        tml_buf_json_str(&out, err.msg);
        tml_buf_puts(&out, "}");
      }
      tml_buf_printf(&failed, "%s%s", nfailed ? ", " : "", what);
      if (!first_fail)
        first_fail = rc;
      nfailed++;
      rc = 0;
    }
  }
  if (json && groups > 1)
    tml_buf_puts(&out, "]");
  if (!rc && json)
    printf("%s\n", tml_buf_str(&out));
  if (!rc && nfailed) {
    tml_error_clear(&err);
    rc = tml_error_set(&err, first_fail, "%zu of %zu symbol%s failed: %s (each error is printed above)", nfailed,
                       groups, groups == 1 ? "" : "s", tml_buf_str(&failed));
  } else if (!rc && groups > 1 && !json) {
    printf("trained %zu of %zu symbols\n", groups, groups);
  }
  tml_buf_release(&out);
  pthread_mutex_destroy(&ps.lock);

out:
  tml_buf_release(&failed);
  free(symbols);
  tml_store_close(store);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}

/* The flags of `train`, for `jobs submit --param` (cli_jobs.h). */
const struct cli_opt *cmd_train_opts(size_t *n) {
  *n = sizeof(opts) / sizeof(opts[0]);
  return opts;
}
