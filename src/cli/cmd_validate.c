/* trademl validate: walk-forward validation of the five heads (docs/validation.md). Prints the fold
 * boundaries before training, progress (fold i of N, head, elapsed, time left) on a terminal, then
 * the report table and the gate verdict. Exit 0 when every gate passed, 3 (TML_EGATE) when one did
 * not, 130 on Ctrl-C (nothing half-written). --json prints a machine summary instead. */
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
#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/fsutil.h"
#include "trademl/jobs.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/report.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "trademl/validate.h"

static const char usage[] =
    "usage: trademl validate --symbol SYMBOL [--interval 15m] [--mode quick|full|sequential] [options]\n"
    "\n"
    "Walk-forward validation on calendar folds: quick = the newest 5 folds, fixed 180-day window, 60-day\n"
    "tests; full = every fold, expanding window from 120 days, 21-day tests; sequential = quick, then full\n"
    "when the gates pass, then the final model set with the report attached. Reports are written under\n"
    "<home>/reports/<id>/. Exit 0 = gates passed, 3 = a gate did not pass. See docs/validation.md.";

static const struct cli_opt opts[] = {
    {"symbol", CLI_LIST, "SYMBOL", "symbol to validate (several with --training-mode multi_symbol)", "data.symbols"},
    {"interval", CLI_VALUE, "INTERVAL", "candle interval (5m, 15m, 1h, ...)", "data.interval"},
    {"days", CLI_VALUE, "N", "use only the last N days of rows (0 = all)", "data.days"},
    {"mode", CLI_VALUE, "MODE", "quick, full or sequential", "validation.mode"},
    {"test-period-days", CLI_VALUE, "N", "days per test period (preset: quick 60, full 21)",
     "validation.test_period_days"},
    {"min-train-days", CLI_VALUE, "N", "expanding window: days before the first test period",
     "validation.min_train_days"},
    {"window", CLI_VALUE, "KIND", "fixed or expanding training window", "validation.window"},
    {"train-window-days", CLI_VALUE, "N", "fixed window length in days", "validation.train_window_days"},
    {"quick-folds", CLI_VALUE, "N", "folds in quick mode", "validation.quick_folds"},
    {"embargo-days", CLI_VALUE, "N", "days after each test period never used to train later folds",
     "validation.embargo_days"},
    {"signal-threshold", CLI_VALUE, "P", "long signal when P(up) >= P", "validation.signal_threshold"},
    {"fee-pct", CLI_VALUE, "PCT", "round-trip fee in percent", "validation.fee_pct"},
    {"gate", CLI_LIST, "RULE", "gates such as direction.recall.up>0.35 (replace the configured ones)",
     "validation.gates.rules"},
    {"training-mode", CLI_VALUE, "MODE", "single_symbol or multi_symbol", "model.training_mode"},
    {"test-size", CLI_VALUE, "FRACTION", "share of each training window used for early stopping",
     "training.test_size"},
    {"purge-gap", CLI_VALUE, "CANDLES", "purge gap (at least the horizon)", "training.purge_gap"},
    CLI_XGB_OPTS,
    {"threads", CLI_VALUE, "N", "thread budget, one fold per thread (0 = all cores)", "training.threads"},
    {"horizon", CLI_VALUE, "CANDLES", "label horizon", "labels.horizon"},
    {"min-train-rows", CLI_VALUE, "N", "minimum fit rows per fold", "training.min_train_rows"},
    {"models-dir", CLI_VALUE, "DIR", "where the final model set is written (sequential)", "model.models_dir"},
    {"strategy", CLI_VALUE, "NAME", "strategy folder name", "model.strategy"},
    {"force", CLI_FLAG, NULL, "sequential: go on to full and the final model although a gate failed", NULL},
    {"json", CLI_FLAG, NULL, "print a JSON summary (reports, gates, verdict)", NULL},
};


struct progress_state {
  pthread_mutex_t lock;
  bool tty, quiet;
  int round[TML_HEAD_COUNT];
  int head;
  size_t fold;
  char what[96];             /* "BTCUSDT 15m" */
  struct cli_progress live;  /* terminal line, or a periodic line in logs and --json runs */
};

static void print_plan(const struct tml_validate_progress *p) {
  printf("%s: %zu folds (UTC days)\n  %-4s %-10s %-10s %-10s %-10s %8s %8s %8s\n", p->stage, p->nfolds, "fold",
         "train from", "stop from", "test from", "test to", "fit", "stop", "test");
  for (size_t k = 0; k < p->plan->nfolds; k++) {
    const struct tml_fold *f = &p->plan->folds[k];
    char a[32], b[32], c[32], d[32];
    tml_time_format(f->train_from_ms, a, sizeof(a));
    tml_time_format(f->stop_from_ms, b, sizeof(b));
    tml_time_format(f->test_from_ms, c, sizeof(c));
    tml_time_format(f->test_to_ms, d, sizeof(d));
    printf("  %-4zu %-10.10s %-10.10s %-10.10s %-10.10s %8zu %8zu %8zu\n", k + 1, a, b, c, d, f->nfit, f->nstop,
           f->test.end - f->test.begin);
  }
  fflush(stdout);
}

static void print_fold_metrics(const struct tml_validate_progress *p) {
  static const char *const keys[] = {"direction.accuracy", "direction.macro_f1",   "direction.roc_auc",
                                     "direction.recall.up", "direction.f1.up",     "volatility.accuracy",
                                     "timing.accuracy",     "stop_loss.rmse",      "position_size.rmse",
                                     "trading.signals",     "trading.hit_rate_tp1", "trading.sharpe"};
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_buf_printf(&b, "fold-metrics {\"stage\":\"%s\",\"fold\":%zu,\"of\":%zu,\"metrics\":{", p->stage, p->fold + 1,
                 p->nfolds);
  bool first = true;
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    int id = tml_validate_metric_id(keys[i]);
    if (id < 0)
      continue;
    tml_buf_printf(&b, "%s\"%s\":{\"value\":", first ? "" : ",", keys[i]);
    tml_buf_json_num(&b, p->result->value[id]);
    tml_buf_puts(&b, ",\"baseline\":");
    tml_buf_json_num(&b, p->result->baseline[id]);
    tml_buf_putc(&b, '}');
    first = false;
  }
  tml_buf_puts(&b, "}}\n");
  fputs(tml_buf_str(&b), stderr);
  fflush(stderr);
  tml_buf_release(&b);
}

static int on_progress(void *ud, const struct tml_validate_progress *p) {
  struct progress_state *s = ud;
  if (cli_stop_signal)
    return 1;
  /* As a job, each finished fold's key metrics go to the job log as one JSON line, so the API can show
   * fold metrics while the validation runs (src/server/jobs_routes.c reads "fold-metrics" lines). */
  if (tml_job_in_child() && p->event == TML_VEV_FOLD_DONE && p->result)
    print_fold_metrics(p);
  /* As a job: progress = folds done in the current stage (quick, full), the final model at the end. */
  if (tml_job_in_child() && (p->event == TML_VEV_FOLD_DONE || p->event == TML_VEV_STAGE)) {
    double pct = p->nfolds ? 95.0 * (double)p->folds_done / (double)p->nfolds : 0.0;
    char stage[64];
    snprintf(stage, sizeof(stage), "%s %zu/%zu folds", p->stage, p->folds_done, p->nfolds);
    tml_job_report_progress(strcmp(p->stage, "final") == 0 ? 96.0 : pct, stage);
  }
  if (p->event == TML_VEV_ROUND && p->head >= 0) {
    /* The live status: fold, head, round, best round; done share = folds done + this fold's rounds. */
    double in_fold = p->total_rounds > 0 ? (double)(p->round + 1) / (double)p->total_rounds / TML_HEAD_COUNT : 0;
    double frac = p->nfolds ? ((double)p->folds_done + (in_fold < 1 ? in_fold : 1)) / (double)p->nfolds : -1;
    if (strcmp(p->stage, "final") == 0)
      cli_progress_set(&s->live, -1, "validating %s final set: %s round %d/%d best %d", s->what,
                       tml_head_name((enum tml_head)p->head), p->round + 1, p->total_rounds, p->best_round + 1);
    else
      cli_progress_set(&s->live, frac, "validating %s %s: fold %zu of %zu (%zu done), %s round %d/%d best %d", s->what,
                       p->stage, p->fold + 1, p->nfolds, p->folds_done, tml_head_name((enum tml_head)p->head),
                       p->round + 1, p->total_rounds, p->best_round + 1);
    return 0;
  }
  if (p->event == TML_VEV_FOLD_DONE)
    cli_progress_set(&s->live, p->nfolds ? (double)p->folds_done / (double)p->nfolds : -1,
                     "validating %s %s: %zu of %zu folds done", s->what, p->stage, p->folds_done, p->nfolds);
  else if (p->event == TML_VEV_STAGE)
    cli_progress_set(&s->live, -1, "validating %s: %s", s->what, p->stage);
  if (s->quiet)
    return 0;
  pthread_mutex_lock(&s->lock);
  cli_progress_pause(&s->live); /* normal output must not mix with the live line */
  switch (p->event) {
  case TML_VEV_PLAN:
    print_plan(p);
    break;
  case TML_VEV_STAGE:
    if (strcmp(p->stage, "final") == 0)
      printf("final: training the model set on all data\n");
    break;
  case TML_VEV_FOLD_DONE:
    fprintf(stderr, "  %s: fold %zu of %zu done (%zu/%zu), %.0fs elapsed, about %.0fs left\n", p->stage,
            p->fold + 1, p->nfolds, p->folds_done, p->nfolds, p->elapsed_s, p->eta_s);
    break;
  default:
    break;
  }
  fflush(stderr);
  cli_progress_resume(&s->live);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

static void json_summary(const struct tml_validate_result *r, int rc, const struct tml_model_row *row,
                         struct tml_buf *b) {
  tml_buf_puts(b, "{\"stages\":[");
  for (size_t i = 0; i < r->nstages; i++) {
    const struct tml_validate_stage *st = &r->stages[i];
    tml_buf_printf(b, "%s{\"stage\":\"%s\",\"folds\":%zu,\"report_id\":", i ? "," : "",
                   tml_validate_mode_name(st->mode), st->nfolds);
    tml_buf_json_str(b, st->report_id);
    tml_buf_puts(b, ",\"report_dir\":");
    tml_buf_json_str(b, st->report_dir);
    tml_buf_printf(b, ",\"passed\":%s,\"gates\":[", st->passed ? "true" : "false");
    for (size_t g = 0; g < st->ngates; g++) {
      const struct tml_validate_gate_result *gr = &st->gates[g];
      tml_buf_printf(b, "%s{\"metric\":\"%s\",\"threshold\":%.10g,\"value\":", g ? "," : "",
                     tml_validate_metric_name((size_t)gr->gate.metric), gr->gate.threshold);
      if (isfinite(gr->value))
        tml_buf_printf(b, "%.10g", gr->value);
      else
        tml_buf_puts(b, "null");
      tml_buf_printf(b, ",\"passed\":%s}", gr->passed ? "true" : "false");
    }
    tml_buf_puts(b, "]}");
  }
  tml_buf_puts(b, "],\"model_dir\":");
  tml_buf_json_str(b, r->model_dir);
  if (row->id) {
    tml_buf_printf(b, ",\"model_id\":%" PRId64 ",\"active\":%s,\"status_reason\":", row->id,
                   row->active ? "true" : "false");
    tml_buf_json_str(b, row->status_reason);
  }
  tml_buf_printf(b, ",\"verdict\":\"%s\"}\n", rc == TML_EGATE ? "gate_not_passed" : "passed");
}

int cmd_validate(int argc, char **argv) {
  struct cli_args a;
  int code = 0;
  if (cli_parse(&a, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, usage, &code))
    return code;
  const char *pos[1];
  if (cli_positionals(&a, pos, 1))
    return cli_usage_error("unexpected argument '%s' (the symbol goes after --symbol)", pos[0]);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_paths paths;
  struct tml_config *cfg = NULL;
  struct tml_store *store = NULL;
  struct tml_validate_opts o;
  struct tml_validate_result r;
  memset(&r, 0, sizeof(r));
  char symbols[TML_TRAIN_MAX_SYMBOLS][TML_SYMBOL_MAX];
  char reports_dir[TML_PATH_MAX + 16];
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (rc)
    return cli_fail(&err);
  tml_validate_opts_default(&o);
  if ((rc = tml_validate_opts_from_config(cfg, &o, &err)))
    goto out;
  const char *raw[TML_TRAIN_MAX_SYMBOLS];
  size_t n = tml_config_list(cfg, "data.symbols", raw, TML_TRAIN_MAX_SYMBOLS);
  if (n == 0) {
    tml_config_free(cfg);
    return cli_usage_error("no symbol given: pass --symbol SYMBOL (or set data.symbols in trademl.yaml)");
  }
  if (n > 1 && !o.train.multi_symbol) {
    tml_config_free(cfg);
    return cli_usage_error("validate takes one symbol per run (got %zu); validate a shared model with "
                           "--training-mode multi_symbol",
                           n);
  }
  if (n > TML_TRAIN_MAX_SYMBOLS) {
    rc = tml_error_set(&err, TML_EINVAL, "at most %d symbols per run, got %zu", TML_TRAIN_MAX_SYMBOLS, n);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    if (tml_symbol_normalize(raw[i], symbols[i], sizeof(symbols[i])) != 0) {
      rc = tml_error_set(&err, TML_EINVAL, "invalid symbol '%s': use letters and digits like BTCUSDT or BTC/USDT",
                         raw[i]);
      goto out;
    }
    o.train.symbols[i] = symbols[i];
  }
  o.train.nsymbols = n;
  o.force = cli_has(&a, "force");
  bool json = cli_has(&a, "json");
  snprintf(reports_dir, sizeof(reports_dir), "%s/reports", paths.home);
  o.reports_dir = reports_dir;
  if ((rc = tml_paths_ensure(&paths, &err)) || (rc = tml_store_open(paths.db, &store, &err)))
    goto out;

  /* A final set (sequential mode) competes with the active one on its own validation rows. */
  char incumbent[4200];
  cli_incumbent_dir(paths.db, o.train.strategy, o.train.symbols, o.train.nsymbols, o.train.interval_ms, incumbent,
                    sizeof(incumbent));
  o.train.incumbent_dir = incumbent[0] ? incumbent : NULL;

  cli_catch_stop_signals();
  struct progress_state ps;
  memset(&ps, 0, sizeof(ps));
  pthread_mutex_init(&ps.lock, NULL);
  ps.tty = isatty(STDERR_FILENO);
  ps.quiet = json;
  snprintf(ps.what, sizeof(ps.what), "%s %s", symbols[0], tml_interval_name(o.train.interval_ms));
  /* Live line on a terminal; in logs and --json runs one line every logging.progress_seconds. */
  cli_progress_start(&ps.live, ps.tty && !json, (double)tml_config_int(cfg, "logging.progress_seconds"));
  cli_progress_set(&ps.live, -1, "validating %s: loading candles", ps.what);
  o.progress = on_progress;
  o.progress_ud = &ps;
  if (!json)
    printf("validating %s %s, mode %s\n", symbols[0], tml_interval_name(o.train.interval_ms),
           tml_validate_mode_name(o.mode));
  rc = tml_validate_run(store, &o, &r, &err);
  cli_progress_stop(&ps.live);
  pthread_mutex_destroy(&ps.lock);
  if (rc && rc != TML_EGATE)
    goto out;
  /* The final model set of a sequential run is registered like any trained set; its report.json verdict
   * takes part in the activation decision (docs/registry.md). */
  struct tml_model_row row;
  tml_model_row_init(&row);
  if (r.model_dir[0]) {
    int rrc = cli_register_model_set(cfg, paths.db, r.model_dir, &row, &err);
    if (rrc) {
      tml_model_row_release(&row);
      rc = rrc;
      goto out;
    }
  }
  if (json) {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    json_summary(&r, rc, &row, &b);
    fputs(tml_buf_str(&b), stdout);
    tml_job_report_result(tml_buf_str(&b)); /* the job's result: stages, gate values, verdict */
    tml_buf_release(&b);
  } else {
    for (size_t i = 0; i < r.nstages; i++) {
      char path[sizeof(r.stages[0].report_dir) + 16];
      char *text = NULL;
      size_t len = 0;
      snprintf(path, sizeof(path), "%s/report.json", r.stages[i].report_dir);
      struct tml_buf b;
      tml_buf_init(&b, 0);
      if (tml_read_file(path, &text, &len, NULL) == 0 && tml_report_table(text, len, &b, NULL) == 0)
        printf("\n%s", tml_buf_str(&b));
      printf("report    %s/report.html\n", r.stages[i].report_dir);
      tml_buf_release(&b);
      free(text);
    }
    if (r.model_dir[0])
      printf("\nmodel set %s (report.json and report.html attached)\nregistered as model %" PRId64 " (%s: %s)\n",
             r.model_dir, row.id, row.active ? "active" : "inactive", row.status_reason);
    printf("total     %.1f s\n", r.t_total);
  }
  tml_model_row_release(&row);
  if (rc == TML_EGATE) {
    fprintf(stderr, "trademl: verdict: %s%s\n", err.msg,
            o.mode == TML_VALIDATE_SEQUENTIAL ? " (sequential stopped; --force goes on anyway)" : "");
    tml_validate_result_release(&r);
    tml_store_close(store);
    tml_config_free(cfg);
    return tml_error_exit_code(TML_EGATE);
  }

out:
  tml_validate_result_release(&r);
  tml_store_close(store);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : 0;
}
