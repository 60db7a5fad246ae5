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
#include <time.h>
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
    "usage: trademl validate [--symbol SYMBOL...] [--interval 15m] [--mode quick|full|sequential] [options]\n"
    "\n"
    "Walk-forward validation on calendar folds: quick = the newest 5 folds, fixed 180-day window, 60-day\n"
    "tests; full = every fold, expanding window from 120 days, 21-day tests; sequential = quick, then full\n"
    "when the gates pass (on a terminal: after showing the quick results and asking; --yes skips the\n"
    "question), then the final model set with the report attached. Reports are written under\n"
    "<home>/reports/<id>/. Without --symbol: the symbols of data.symbols, or every symbol stored at the\n"
    "interval, one after another. Exit 0 = gates passed, 3 = a gate did not pass, 1 = a symbol failed\n"
    "(named). See docs/validation.md.";

static const struct cli_opt opts[] = {
    {"symbol", CLI_LIST, "SYMBOL", "symbols to validate, one after another (one shared set with --training-mode multi_symbol)", "data.symbols"},
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
    {"strategy", CLI_VALUE, "NAME", "strategy: xgb5 (default), ensemble or lstm (docs/strategies.md)", "model.strategy"},
    {"force", CLI_FLAG, NULL, "sequential: go on to full and the final model although a gate failed", NULL},
    {"json", CLI_FLAG, NULL, "print a JSON summary (reports, gates, verdict)", NULL},
    {"yes", CLI_FLAG, NULL, "sequential: do not ask before the full stage on a terminal (follow the gates)", NULL},
    {"compare-engines", CLI_FLAG, NULL,
     "run the same folds with --engine xgboost and native; print metrics and timings side by side", NULL},
    {"compare", CLI_VALUE, "S1,S2,...",
     "strategies on the same dataset and folds (e.g. xgb5,ensemble): one side-by-side report, head by head", NULL},
    CLI_LSTM_OPTS,
};

/* The caller composes validation and its reports: each stage's report.json / report.html are written
 * here and handed back for a sequential run's final model set. */
static int write_stage_report(void *ud, const struct tml_validate_opts *o, const struct tml_validate_result *r,
                              struct tml_validate_stage *st, struct tml_buf *js, struct tml_buf *html,
                              struct tml_error *err) {
  (void)ud;
  int rc = tml_validate_report_write(r, st, o, err);
  if (!rc && (rc = tml_validate_report_json(r, st, o, js)) == 0)
    rc = tml_validate_report_html(r, st, o, html);
  if (rc && !err->code)
    tml_error_set(err, rc, "cannot render the report of the %s stage", tml_validate_mode_name(st->mode));
  return rc;
}


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

/* The stage's share done: its folds' training rows where the event carries them (ROUND, FOLD_DONE),
 * else folds done over folds; -1 when unknown. */
static double done_share(const struct tml_validate_progress *p) {
  if ((p->event == TML_VEV_ROUND || p->event == TML_VEV_FOLD_DONE) && p->done_share >= 0)
    return p->done_share;
  return p->nfolds ? (double)p->folds_done / (double)p->nfolds : -1.0;
}

static int on_progress(void *ud, const struct tml_validate_progress *p) {
  struct progress_state *s = ud;
  if (cli_stop_signal)
    return 1;
  /* As a job, each finished fold's key metrics go to the job log as one JSON line, so the API can show
   * fold metrics while the validation runs (src/server/jobs_routes.c reads "fold-metrics" lines). */
  if (tml_job_in_child() && p->event == TML_VEV_FOLD_DONE && p->result)
    print_fold_metrics(p);
  /* As a job: progress = the share of the current stage's training rows in folds done (quick, full;
   * folds differ in size), the final model at the end. */
  if (tml_job_in_child() && (p->event == TML_VEV_FOLD_DONE || p->event == TML_VEV_STAGE)) {
    double share = done_share(p);
    double pct = share > 0 ? 95.0 * share : 0.0;
    char stage[64];
    snprintf(stage, sizeof(stage), "%s %zu/%zu folds", p->stage, p->folds_done, p->nfolds);
    tml_job_report_progress(strcmp(p->stage, "final") == 0 ? 96.0 : pct, stage);
  }
  if (p->event == TML_VEV_ROUND && p->head >= 0) {
    /* The live status: fold, head, round, best round; done share = the rows of the folds done (folds
     * differ in size) + this fold's rounds, as a share of one fold. */
    double in_fold = p->total_rounds > 0 ? (double)(p->round + 1) / (double)p->total_rounds / TML_HEAD_COUNT : 0;
    double done = done_share(p);
    double frac = done >= 0 && p->nfolds ? done + (in_fold < 1 ? in_fold : 1) / (double)p->nfolds : -1;
    if (frac > 1)
      frac = 1;
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
    cli_progress_set(&s->live, done_share(p),
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

/* Prints a stage's report table (from its report.json). */
static void print_stage_table(const struct tml_validate_stage *st) {
  char path[sizeof(st->report_dir) + 16];
  char *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof(path), "%s/report.json", st->report_dir);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  if (tml_read_file(path, &text, &len, NULL) == 0 && tml_report_table(text, len, &b, NULL) == 0)
    printf("\n%s", tml_buf_str(&b));
  printf("report    %s/report.html\n", st->report_dir);
  tml_buf_release(&b);
  free(text);
}

/* Sequential on a terminal: the quick stage's results, then the question before the full stage. */
static int confirm_full(void *ud, const struct tml_validate_stage *quick) {
  const struct tml_validate_opts *o = ud;
  fprintf(stderr, "\r%100s\r", "");
  fflush(stderr);
  print_stage_table(quick);
  printf("\nquick stage: %s\n", quick->passed ? "every gate passed" : "a gate did not pass (going on: --force)");
  printf("Run the full stage now (every fold, expanding window; much longer) and then the final model set for %s? "
         "[y/N] ",
         o->train.nsymbols > 1 ? "the shared set" : o->train.symbols[0]);
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof(line), stdin)) {
    printf("\n");
    return 1;
  }
  char *p = line;
  while (*p == ' ' || *p == '\t')
    p++;
  bool yes = (p[0] == 'y' || p[0] == 'Y') &&
             (p[1] == '\n' || p[1] == '\0' || ((p[1] == 'e' || p[1] == 'E') && (p[2] == 's' || p[2] == 'S')));
  return yes ? 0 : 1;
}

/* One validation run (o->train.symbols set): prints or collects its output; returns 0, TML_EGATE or an error. */
static int validate_one(struct tml_store *store, const struct tml_config *cfg, const struct tml_paths *paths,
                        struct tml_validate_opts *o, bool json, struct tml_buf *jout, struct tml_error *err) {
  struct tml_validate_result r;
  memset(&r, 0, sizeof(r));
  /* A final set (sequential mode) competes with the active one on its own validation rows. */
  char incumbent[4200];
  cli_incumbent_dir(paths->db, o->train.strategy, o->train.symbols, o->train.nsymbols, o->train.interval_ms,
                    incumbent, sizeof(incumbent));
  o->train.incumbent_dir = incumbent[0] ? incumbent : NULL;
  struct progress_state ps;
  memset(&ps, 0, sizeof(ps));
  pthread_mutex_init(&ps.lock, NULL);
  ps.tty = isatty(STDERR_FILENO);
  ps.quiet = json;
  snprintf(ps.what, sizeof(ps.what), "%s%s %s", o->train.symbols[0], o->train.nsymbols > 1 ? " +" : "",
           tml_interval_name(o->train.interval_ms));
  o->progress = on_progress;
  o->progress_ud = &ps;
  if (!json)
    printf("validating %s %s, mode %s\n", o->train.nsymbols > 1 ? "multi-symbol set" : o->train.symbols[0],
           tml_interval_name(o->train.interval_ms), tml_validate_mode_name(o->mode));
  /* Live line on a terminal; in logs and --json runs one line every logging.progress_seconds. */
  cli_progress_start(&ps.live, ps.tty && !json, (double)tml_config_int(cfg, "logging.progress_seconds"));
  cli_progress_set(&ps.live, -1, "validating %s: loading candles", ps.what);
  int rc = tml_validate_run(store, o, &r, err);
  cli_progress_stop(&ps.live);
  o->train.incumbent_dir = NULL; /* points into this frame */
  pthread_mutex_destroy(&ps.lock);
  if (rc && rc != TML_EGATE) {
    tml_validate_result_release(&r);
    return rc;
  }
  /* The final model set of a sequential run is registered like any trained set; its report.json verdict
   * takes part in the activation decision (docs/registry.md). */
  struct tml_model_row row;
  tml_model_row_init(&row);
  if (r.model_dir[0]) {
    struct tml_error rerr;
    tml_error_init(&rerr);
    int rrc = cli_register_model_set(cfg, paths->db, r.model_dir, &row, &rerr);
    if (rrc) {
      tml_model_row_release(&row);
      tml_validate_result_release(&r);
      tml_error_clear(err);
      tml_error_set(err, rrc, "%s", rerr.msg);
      return rrc;
    }
  }
  if (json) {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    json_summary(&r, rc, &row, &b);
    tml_buf_puts(jout, tml_buf_str(&b));
    tml_job_report_result(tml_buf_str(&b)); /* the job's result: stages, gate values, verdict */
    tml_buf_release(&b);
  } else {
    for (size_t i = 0; i < r.nstages; i++)
      print_stage_table(&r.stages[i]);
    if (r.model_dir[0])
      printf("\nmodel set %s (report.json and report.html attached)\nregistered as model %" PRId64 " (%s: %s)\n",
             r.model_dir, row.id, row.active ? "active" : "inactive", row.status_reason);
    printf("total     %.1f s\n", r.t_total);
  }
  tml_model_row_release(&row);
  if (rc == TML_EGATE) {
    fflush(stdout);
    fprintf(stderr, "trademl: verdict: %s%s\n", err->msg,
            o->mode == TML_VALIDATE_SEQUENTIAL ? " (sequential stopped; --force goes on anyway)" : "");
  }
  tml_validate_result_release(&r);
  return rc;
}

/* --compare-engines: the same validation (folds, labels, parameters) once per engine, then every
 * head's main metrics side by side with XGBoost's fold-to-fold std and the boosting time. A
 * difference within a sixth of that std is issue 13's standard for "the same quality". Both runs
 * write their own reports. Gates are reported, not enforced (exit 0 when both runs complete). */
static int compare_engines(struct tml_store *store, struct tml_validate_opts *o, struct tml_error *err) {
  static const char *const engines[2] = {"xgboost", "native"};
  static const char *const keys[] = {"direction.accuracy",  "direction.roc_auc",  "direction.logloss",
                                     "volatility.accuracy", "volatility.roc_auc", "volatility.logloss",
                                     "timing.accuracy",     "timing.roc_auc",     "timing.logloss",
                                     "stop_loss.rmse",      "position_size.rmse"};
  struct tml_validate_result r[2];
  memset(r, 0, sizeof(r));
  double cpu[2] = {0, 0};
  int rc = 0;
  for (int e = 0; e < 2 && !rc; e++) {
    o->train.engine = engines[e];
    printf("validating %s %s, mode %s, engine %s\n", o->train.nsymbols > 1 ? "multi-symbol set" : o->train.symbols[0],
           tml_interval_name(o->train.interval_ms), tml_validate_mode_name(o->mode), engines[e]);
    fflush(stdout);
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    rc = tml_validate_run(store, o, &r[e], err);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    cpu[e] = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    if (rc == TML_EGATE) {
      tml_error_clear(err);
      rc = 0;
    }
  }
  for (size_t s = 0; !rc && s < r[0].nstages && s < r[1].nstages; s++) {
    const struct tml_validate_stage *x = &r[0].stages[s], *n = &r[1].stages[s];
    printf("\n%s: %zu folds (reports %s and %s)\n", tml_validate_mode_name(x->mode), x->nfolds, x->report_dir,
           n->report_dir);
    printf("  %-22s %9s %9s %9s %11s\n", "metric (mean)", "xgboost", "native", "std", "|diff|/std");
    int within = 0, total = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
      int id = tml_validate_metric_id(keys[i]);
      if (id < 0 || isnan(x->mean[id]) || isnan(n->mean[id]))
        continue;
      double ratio = x->std[id] > 0 ? fabs(n->mean[id] - x->mean[id]) / x->std[id] : (double)INFINITY;
      bool ok = ratio <= 1.0 / 6.0;
      within += ok;
      total++;
      printf("  %-22s %9.4f %9.4f %9.4f %11.3f %s\n", keys[i], x->mean[id], n->mean[id], x->std[id], ratio,
             ok ? "ok" : "beyond 1/6");
    }
    printf("  %d of %d within a sixth of XGBoost's fold-to-fold std\n", within, total);
    printf("  gates: xgboost %s, native %s\n", x->passed ? "passed" : "not passed", n->passed ? "passed" : "not passed");
    printf("  boosting thread-seconds: xgboost %.1f, native %.1f (%.2fx); stage wall %.1f s vs %.1f s\n", x->t_boost,
           n->t_boost, n->t_boost > 0 ? x->t_boost / n->t_boost : 0.0, x->seconds, n->seconds);
  }
  if (!rc)
    printf("\nprocess CPU: xgboost %.1f s, native %.1f s (%.2fx less)\n", cpu[0], cpu[1], cpu[1] > 0 ? cpu[0] / cpu[1] : 0.0);
  tml_validate_result_release(&r[0]);
  tml_validate_result_release(&r[1]);
  return rc;
}

/* --compare S1,S2,...: one dataset, one fold plan, every strategy on it (fits shared through a cache:
 * xgb5 once per fold even when the ensemble uses it), a table head by head and compare.json/html. */
static int compare_strategies(struct tml_store *store, struct tml_validate_opts *o, const char *list, bool json,
                              struct tml_buf *jout, struct tml_error *err) {
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", list);
  const char *names[TML_VALIDATE_MAX_COMPARE + 1];
  size_t n = 0;
  for (char *p = buf, *end; p && *p; p = end ? end + 1 : NULL) {
    end = strchr(p, ',');
    if (end)
      *end = '\0';
    if (n == TML_VALIDATE_MAX_COMPARE + 1)
      break;
    names[n++] = p;
  }
  struct tml_validate_compare c;
  if (!json)
    printf("comparing %s on %s %s, mode %s\n", list, o->train.nsymbols > 1 ? "a multi-symbol set" : o->train.symbols[0],
           tml_interval_name(o->train.interval_ms), tml_validate_mode_name(o->mode));
  fflush(stdout);
  int rc = tml_validate_compare_run(store, o, names, n, &c, err);
  char id[64] = "", dir[4200] = "";
  if (!rc)
    rc = tml_validate_compare_write(&c, o, id, dir, err);
  if (rc) {
    tml_validate_compare_release(&c);
    return rc;
  }
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_validate_compare_json(&c, o, &b);
  if (json) {
    tml_buf_puts(jout, tml_buf_str(&b));
    tml_job_report_result(tml_buf_str(&b));
  } else {
    const struct tml_validate_stage *st0 = &c.results[0].stages[0];
    printf("\n%s: %zu folds, the same for every strategy; means over folds (lower log loss / rmse is better)\n",
           tml_validate_mode_name(st0->mode), st0->nfolds);
    printf("  %-26s %10s", "metric", "baseline");
    for (size_t s = 0; s < c.n; s++)
      printf(" %10s", c.names[s]);
    printf("  best\n");
    for (size_t m = 0; m < tml_validate_metric_count(); m++) {
      const char *name = tml_validate_metric_name(m);
      int head = tml_metric_head(m);
      bool shown = head >= 0 && (strstr(name, ".logloss") || strstr(name, ".accuracy") || strstr(name, ".roc_auc") ||
                                 strstr(name, ".rmse") || strstr(name, ".r2"));
      shown = shown && !strchr(strchr(name, '.') + 1, '.'); /* head-level metrics, not per class */
      /* and the trading in the rl environment (docs/rl.md): each strategy's own, then the baselines */
      static const char *const env_shown[] = {"env.net_return", "env.sharpe", "env.max_drawdown", "env.fees_paid",
                                              "env.buy_hold_net_return", "env.direction_net_return"};
      for (size_t e = 0; e < sizeof(env_shown) / sizeof(env_shown[0]); e++)
        shown = shown || strcmp(name, env_shown[e]) == 0;
      if (!shown && strcmp(name, "trading.sharpe") != 0)
        continue;
      bool lower = strstr(name, "logloss") || strstr(name, "rmse") || strstr(name, "max_drawdown") ||
                   strstr(name, "fees_paid");
      printf("  %-26s %10.4f", name, st0->baseline_mean[m]);
      int best = -1;
      for (size_t s = 0; s < c.n; s++) {
        double v = c.results[s].stages[0].mean[m];
        printf(" %10.4f", v);
        if (isnan(v))
          continue;
        double bv = best < 0 ? (double)NAN : c.results[best].stages[0].mean[m];
        if (best < 0 || (lower ? v < bv : v > bv))
          best = (int)s;
      }
      printf("  %s\n", best < 0 ? "-" : c.names[best]);
    }
    printf("\nfits on whole folds:");
    for (size_t s = 0; s < c.n; s++)
      printf(" %s %zu%s", c.names[s], c.fits[s], s + 1 < c.n ? "," : "");
    printf(" (%zu folds; a strategy another one needs is fitted once per fold)\n", st0->nfolds);
    struct tml_compare_verdict v[TML_VALIDATE_MAX_COMPARE * TML_HEAD_COUNT];
    size_t nv = tml_validate_compare_verdicts(&c, v, sizeof(v) / sizeof(v[0]));
    for (size_t i = 0; i < nv; i++)
      printf("%s%s\n", i ? "          " : "verdict   ", v[i].statement);
    for (size_t s = 0; s < c.n; s++)
      printf("report    %s: %s/report.html\n", c.names[s], c.results[s].stages[0].report_dir);
    printf("report    comparison: %s/compare.html\n", dir);
  }
  tml_buf_release(&b);
  tml_validate_compare_release(&c);
  return 0;
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
  char (*symbols)[TML_SYMBOL_MAX] = NULL;
  size_t n = 0;
  bool from_store = false;
  char reports_dir[TML_PATH_MAX + 16];
  struct tml_buf jout, failed, gated;
  tml_buf_init(&jout, 0);
  tml_buf_init(&failed, 0);
  tml_buf_init(&gated, 0);
  size_t nfailed = 0, ngated = 0;
  int first_fail = 0;
  int rc = cli_load_config(&a, &paths, &cfg, &err);
  if (rc)
    return cli_fail(&err);
  tml_validate_opts_default(&o);
  if ((rc = tml_validate_opts_from_config(cfg, &o, &err)))
    goto out;
  o.force = cli_has(&a, "force");
  bool json = cli_has(&a, "json");
  bool compare = cli_has(&a, "compare-engines");
  const char *compare_list = cli_get(&a, "compare");
  if (compare_list && (compare || o.mode == TML_VALIDATE_SEQUENTIAL)) {
    tml_config_free(cfg);
    return cli_usage_error("--compare runs quick or full mode on the strategies given: drop %s",
                           compare ? "--compare-engines" : "--mode sequential");
  }
  o.report = write_stage_report;
  if (compare && (json || o.mode == TML_VALIDATE_SEQUENTIAL)) {
    tml_config_free(cfg);
    return cli_usage_error("--compare-engines runs quick or full mode and prints a table: drop %s",
                           json ? "--json" : "--mode sequential");
  }
  /* Sequential on a terminal asks before the full stage (--yes, --json or no terminal: the gates decide). */
  if (o.mode == TML_VALIDATE_SEQUENTIAL && !cli_has(&a, "yes") && !json && isatty(STDIN_FILENO) &&
      isatty(STDOUT_FILENO) && !tml_job_in_child()) {
    o.confirm = confirm_full;
    o.confirm_ud = &o;
  }
  snprintf(reports_dir, sizeof(reports_dir), "%s/reports", paths.home);
  o.reports_dir = reports_dir;
  if ((rc = tml_paths_ensure(&paths, &err)) || (rc = tml_store_open(paths.db, &store, &err)))
    goto out;
  /* No --symbol: data.symbols, else every symbol stored at the interval, validated one after another
   * (single_symbol) or together (multi_symbol). */
  if ((rc = cli_run_symbols(cfg, store, o.train.interval_ms, &symbols, &n, &from_store, &err)))
    goto out;
  if (o.train.multi_symbol && n > TML_TRAIN_MAX_SYMBOLS) {
    rc = tml_error_set(&err, TML_EINVAL, "a multi-symbol set takes at most %d symbols, got %zu", TML_TRAIN_MAX_SYMBOLS,
                       n);
    goto out;
  }
  if (from_store && !json)
    printf("no symbol given: validating %s %zu symbol%s stored at %s\n",
           o.train.multi_symbol ? "one shared set for the" : "each of the", n, n == 1 ? "" : "s",
           tml_interval_name(o.train.interval_ms));
  cli_catch_stop_signals();
  size_t groups = o.train.multi_symbol ? 1 : n;
  if (json && groups > 1)
    tml_buf_puts(&jout, "[");
  for (size_t g = 0; g < groups && rc != TML_EINTR && !cli_stop_signal; g++) {
    tml_error_clear(&err);
    o.train.nsymbols = o.train.multi_symbol ? n : 1;
    for (size_t i = 0; i < o.train.nsymbols; i++)
      o.train.symbols[i] = symbols[o.train.multi_symbol ? i : g];
    if (json && g)
      tml_buf_puts(&jout, ",");
    rc = compare_list ? compare_strategies(store, &o, compare_list, json, &jout, &err)
         : compare      ? compare_engines(store, &o, &err)
                        : validate_one(store, cfg, &paths, &o, json, &jout, &err);
    if (groups == 1 || rc == 0 || rc == TML_EINTR)
      continue;
    /* One symbol failing does not stop the others; each is named here and again at the end. */
    if (rc == TML_EGATE) {
      tml_buf_printf(&gated, "%s%s", ngated++ ? ", " : "", o.train.symbols[0]);
    } else {
      fflush(stdout);
      fprintf(stderr, "trademl: error: %s: %s\n", o.train.symbols[0], err.msg);
      if (json) {
        tml_buf_puts(&jout, "{\"symbols\":[");
        tml_buf_json_str(&jout, o.train.symbols[0]);
        tml_buf_puts(&jout, "],\"error\":");
        tml_buf_json_str(&jout, err.msg);
        tml_buf_puts(&jout, "}\n");
      }
      tml_buf_printf(&failed, "%s%s", nfailed++ ? ", " : "", o.train.symbols[0]);
      if (!first_fail)
        first_fail = rc;
    }
    rc = 0;
  }
  if (json && groups > 1)
    tml_buf_puts(&jout, "]\n");
  if (json && rc != TML_EINTR && (rc == 0 || rc == TML_EGATE))
    fputs(tml_buf_str(&jout), stdout);
  if (groups > 1 && rc == 0) {
    tml_error_clear(&err);
    if (nfailed)
      rc = tml_error_set(&err, first_fail, "%zu of %zu symbols failed: %s%s%s (each error is printed above)", nfailed,
                         groups, tml_buf_str(&failed), ngated ? "; gate not passed: " : "", tml_buf_str(&gated));
    else if (ngated)
      rc = tml_error_set(&err, TML_EGATE, "gate not passed for %zu of %zu symbols: %s", ngated, groups,
                         tml_buf_str(&gated));
    else if (!json)
      printf("validated %zu of %zu symbols: every gate passed\n", groups, groups);
  }
  if (rc == TML_EGATE) {
    if (groups > 1)
      fprintf(stderr, "trademl: verdict: %s\n", err.msg);
    rc = 0;
    code = tml_error_exit_code(TML_EGATE);
  }

out:
  tml_buf_release(&jout);
  tml_buf_release(&failed);
  tml_buf_release(&gated);
  free(symbols);
  tml_store_close(store);
  tml_config_free(cfg);
  return rc ? cli_fail(&err) : code;
}

/* The flags of `validate`, for `jobs submit --param` (cli_jobs.h). */
const struct cli_opt *cmd_validate_opts(size_t *n) {
  *n = sizeof(opts) / sizeof(opts[0]);
  return opts;
}
