/* The coverage gate: for every symbol of the universe (stored symbols plus the new-symbol queue),
 * whether it may be trained / served and why not. Verdicts are computed from the current state each
 * time, so a symbol is unblocked as soon as the reason stops being true. */
#ifndef TML_COVERAGE_H
#define TML_COVERAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tml_error;
struct tml_buf;
struct tml_config;
struct tml_jobs;
struct tml_store;

enum tml_cov_verdict {
  TML_COV_OK,                   /* has a model, enough clean history */
  TML_COV_NO_DATA,              /* no candles stored at the interval (queued only) */
  TML_COV_INSUFFICIENT_HISTORY, /* history days < data.min_history_days */
  TML_COV_LOW_COVERAGE,         /* coverage % < data.min_coverage_pct */
  TML_COV_TRAINING,             /* a train/retrain job is queued or running */
  TML_COV_FAILED,               /* no model and its last training job failed / timed out */
  TML_COV_UNTRAINED,            /* eligible but no model yet */
  TML_COV_VERDICT_COUNT
};
/* "ok", "no_data", "insufficient_history", "low_coverage", "training", "failed", "untrained". */
const char *tml_cov_verdict_name(enum tml_cov_verdict v);

struct tml_cov_row {
  char symbol[40];
  bool stored, queued;            /* in the candle store at the interval; in the new-symbol queue */
  size_t rows;
  int64_t first_ms, last_ms;
  double history_days, coverage_pct;
  bool has_model;
  char model_version[64];         /* "" when none */
  double model_age_days;          /* days since the active model was trained (tml_model_age_days); -1 when none */
  double model_data_age_days;     /* days since the newest candle it was trained on; -1 when none or unknown */
  int64_t job_id;                 /* queued/running or last failed training job, 0 = none */
  enum tml_cov_verdict verdict;
  bool blocked;                   /* verdict != ok (untrained, training and failed are blocked too) */
  char reason[256];               /* why blocked ("history 12.3 days < 90"), "" when ok */
};

struct tml_cov_opts {
  int64_t interval_ms;            /* data.interval */
  double min_history_days;        /* data.min_history_days */
  double min_coverage_pct;        /* data.min_coverage_pct */
  const char *models_dir;         /* model.models_dir (borrowed) */
  const char *strategy;           /* model.strategy (borrowed) */
  int64_t now_ms;                 /* 0 = now */
};
/* Fills o from cfg (strings borrowed from cfg). */
int tml_cov_opts_from_config(const struct tml_config *cfg, struct tml_cov_opts *o, struct tml_error *err);

/* Verdict of one symbol. q may be NULL (no job/queue knowledge). */
int tml_coverage_check(struct tml_store *store, struct tml_jobs *q, const struct tml_cov_opts *o, const char *symbol,
                       struct tml_cov_row *row, struct tml_error *err);
/* Verdicts of the whole universe, sorted by symbol; *out malloc'ed (free()). */
int tml_coverage_compute(struct tml_store *store, struct tml_jobs *q, const struct tml_cov_opts *o,
                         struct tml_cov_row **out, size_t *n, struct tml_error *err);
/* Human table or JSON array appended to out. */
int tml_coverage_format(const struct tml_cov_row *rows, size_t n, bool json, struct tml_buf *out);

#endif
