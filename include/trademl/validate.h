/* Walk-forward validation (docs/validation.md): calendar folds over one dataset (features and
 * continuous targets computed once; folds are row ranges planned by tml_dataset_plan_folds), class
 * thresholds fitted on each fold's fit rows, five heads per fold with early stopping on the newest
 * rows of the training window, out-of-sample metrics against do-nothing baselines, a trading view of
 * the direction head, gates, and reports (report.json + self-contained report.html) written
 * atomically. `sequential` mode chains quick -> gates -> full -> gates -> final model set. */
#ifndef TML_VALIDATE_H
#define TML_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trademl/dataset.h"
#include "trademl/train.h"
#include "trademl/valmetrics.h"

struct tml_buf;
struct tml_config;
struct tml_error;
struct tml_store;
struct tml_strategy_cache;

enum tml_validate_mode { TML_VALIDATE_QUICK, TML_VALIDATE_FULL, TML_VALIDATE_SEQUENTIAL };
const char *tml_validate_mode_name(enum tml_validate_mode m); /* "quick", "full", "sequential" */

/* Progress. fold is 0-based; nfolds the folds of the running stage; eta_s < 0 when unknown.
 * ROUND events come from worker threads (serialise in the callback). Return non-zero to cancel:
 * the run stops with TML_EINTR and nothing is written. */
enum tml_validate_event { TML_VEV_STAGE, TML_VEV_PLAN, TML_VEV_FOLD_DONE, TML_VEV_ROUND };
struct tml_validate_progress {
  enum tml_validate_event event;
  const char *stage;   /* "quick", "full", "final" */
  size_t fold, nfolds, folds_done;
  int head, round;
  int best_round, total_rounds; /* ROUND: the head's best round so far and its round budget (0 = unknown) */
  double elapsed_s, eta_s;
  double done_share;   /* ROUND, FOLD_DONE: training rows of the folds done over those of all the
                          stage's folds (folds differ in size and run largest first); -1 = unknown */
  const struct tml_fold_plan *plan; /* PLAN: the folds about to run (borrowed for the call) */
  const struct tml_validate_fold *result; /* FOLD_DONE: the fold's metrics (borrowed for the call) */
};
typedef int (*tml_validate_progress_fn)(void *ud, const struct tml_validate_progress *p);

/* Sequential mode: called after the quick stage when the run would go on to the full stage (its gates
 * passed, or force); `quick` is that stage with its report written. Return 0 to run the full stage,
 * non-zero to stop there (tml_validate_run then returns TML_ECANCELED; the quick report stays). */
struct tml_validate_stage;
typedef int (*tml_validate_confirm_fn)(void *ud, const struct tml_validate_stage *quick);

/* After each stage: the caller writes the stage's report and renders report.json / report.html into
 * json and html (empty buffers), which a sequential run attaches to its final model set. Return 0 to go
 * on, or an error code (with err) to stop the run with it. */
struct tml_validate_result;
struct tml_validate_opts;
typedef int (*tml_validate_report_fn)(void *ud, const struct tml_validate_opts *o, const struct tml_validate_result *r,
                                      struct tml_validate_stage *st, struct tml_buf *json, struct tml_buf *html,
                                      struct tml_error *err);

struct tml_validate_opts {
  struct tml_train_opts train;   /* symbols, interval, labels, XGBoost, features, threads, purge_gap,
                                    test_size (= early-stopping share of each training window),
                                    min_train_rows (per fold fit rows), models_dir, strategy */
  enum tml_validate_mode mode;
  struct tml_fold_spec quick, full; /* fold layouts of the two stages (sequential uses both) */
  double signal_threshold;       /* P(up) >= threshold -> long signal */
  double fee_pct;                /* round-trip fee in percent, subtracted from every signal */
  struct tml_gate gates[TML_VALIDATE_MAX_GATES];
  size_t ngates;
  bool force;                    /* sequential: go on although a gate failed */
  unsigned heads;                /* bit mask of heads to validate (1u << TML_HEAD_*); 0 = all five */
  const char *reports_dir;       /* <home>/reports */
  tml_validate_progress_fn progress;
  void *progress_ud;
  tml_validate_confirm_fn confirm; /* sequential: asked before the full stage; NULL = follow the gates */
  void *confirm_ud;
  tml_validate_report_fn report; /* called after each stage; NULL = no report (library callers, tests) */
  void *report_ud;
  struct tml_strategy_cache *cache; /* borrowed: fits shared with other strategies validated on the same
                                     dataset and folds (validate --compare); NULL = none */
};

/* Defaults: quick = 5 folds, fixed 180-day window, 60-day tests; full = expanding, 120 days minimum,
 * 21-day tests; embargo 0; threshold 0.6; fee 0.2 % round trip; the four direction gates. */
void tml_validate_opts_default(struct tml_validate_opts *o);
/* Fills o from the configuration (training/labels/features keys as tml_train_opts_from_config, plus
 * validation.*): keys set explicitly (file, environment, flag) override the presets of the mode.
 * Contradictions (validation.window expanding with an explicit train_window_days, ...) are TML_EINVAL
 * naming both keys. Strings borrowed from cfg must outlive o. */
int tml_validate_opts_from_config(const struct tml_config *cfg, struct tml_validate_opts *o, struct tml_error *err);

struct tml_validate_fold {
  struct tml_fold fold;
  struct tml_label_thresholds thresholds;
  double *value;                 /* tml_validate_metric_count() model metrics; NaN = not computed */
  double *baseline;              /* the same metrics for the do-nothing baseline; NaN where none */
  double seconds;
};

struct tml_validate_gate_result {
  struct tml_gate gate;
  double value, baseline;        /* means over folds */
  bool passed;
};

struct tml_validate_stage {
  enum tml_validate_mode mode;   /* QUICK or FULL */
  struct tml_fold_spec spec;
  struct tml_fold_plan plan;
  struct tml_validate_fold *folds;
  size_t nfolds;
  double *mean, *std, *min, *max; /* per metric over folds (NaN values skipped) */
  double *baseline_mean;
  struct tml_validate_gate_result gates[TML_VALIDATE_MAX_GATES];
  size_t ngates;
  bool passed;                   /* every gate passed */
  /* Equity curves over the concatenated test periods (additive, percent of notional), at most
   * TML_VALIDATE_CURVE_MAX points: the direction signals against buy-and-hold. */
  size_t ncurve;
  int64_t *curve_time;
  double *curve_model, *curve_bh;
  double *importance;            /* direction head, mean share of total gain per column over folds */
  double seconds;                /* wall time of the stage */
  double t_prepare, t_boost, t_predict, t_metrics; /* summed over folds and heads (thread seconds):
                                    gathering rows + thresholds + labels, tml_xgb_train (DMatrix +
                                    boosting), prediction, metrics + trading view */
  double t_round0;               /* part of t_boost up to the end of round 0: DMatrix copies, quantile
                                    sketch, booster set-up and the first round */
  long long rounds;              /* boosting rounds run, summed over folds and heads (patience included) */
  char report_id[64], report_dir[4200];
};
#define TML_VALIDATE_CURVE_MAX 1500

struct tml_validate_result {
  struct tml_validate_stage stages[2]; /* quick and/or full, in run order */
  size_t nstages;
  int64_t first_ms, last_ms;
  size_t candles, rows, ncols;
  char **col_names;              /* ncols, owned */
  char input_hash[17];
  char model_dir[4200];          /* sequential: the final model set; empty otherwise */
  double t_features, t_total;
};
void tml_validate_result_release(struct tml_validate_result *r);

/* Validates one stage on a built dataset (borrowed, not modified). The stage layout is o->quick or
 * o->full by `mode`. Writes nothing. 0, TML_EDATA (too little data, one-class training labels),
 * TML_EINVAL, TML_EINTR or another code; on failure *st is released. */
int tml_validate_dataset(const struct tml_dataset *d, const struct tml_validate_opts *o, enum tml_validate_mode mode,
                         struct tml_validate_stage *st, struct tml_error *err);
void tml_validate_stage_release(struct tml_validate_stage *st);

/* The whole command: loads candles from store, builds the dataset once, runs the mode's stages,
 * hands each stage to o->report (the caller writes its report: tml_validate_report_write in report.h)
 * and, in sequential mode, trains the final model set with the files o->report rendered for the full
 * stage attached. Returns 0, TML_EGATE when a gate failed (the reports are
 * still written; sequential stops there unless o->force), TML_EINTR (nothing half-written), or the
 * errors of tml_validate_dataset / tml_train_run. */
int tml_validate_run(struct tml_store *store, const struct tml_validate_opts *o, struct tml_validate_result *r,
                     struct tml_error *err);

/* ---- validate --compare: several strategies on the same dataset and folds ---- */
#define TML_VALIDATE_MAX_COMPARE 8
struct tml_validate_compare {
  size_t n;
  char names[TML_VALIDATE_MAX_COMPARE][32];
  struct tml_validate_result results[TML_VALIDATE_MAX_COMPARE]; /* one stage each (o->mode: quick or full) */
  size_t fits[TML_VALIDATE_MAX_COMPARE]; /* fits of each strategy run on whole folds through the shared
                                            cache (xgb5 once per fold even when the ensemble needs it) */
  char members[TML_VALIDATE_MAX_COMPARE][256]; /* members of a strategy combining others (ensemble:
                                                  ensemble.members, "xgb5,lstm"); "" for the others */
};
void tml_validate_compare_release(struct tml_validate_compare *c);
/* Builds the dataset once, plans the folds of o->mode (quick or full) once, and validates each of the
 * `n` strategies on them (o->train.strategy is ignored), sharing fits through one cache: a strategy
 * fitted on a fold is fitted once even when another (ensemble) needs it as a member. Stage reports go
 * through o->report per strategy. 0, TML_EINVAL (unknown or repeated strategy, sequential mode, more
 * than TML_VALIDATE_MAX_COMPARE), or the errors of tml_validate_run; gates are evaluated, not enforced. */
int tml_validate_compare_run(struct tml_store *store, const struct tml_validate_opts *o, const char *const *strategies,
                             size_t n, struct tml_validate_compare *c, struct tml_error *err);

#endif
