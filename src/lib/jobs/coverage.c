/* The coverage gate: one verdict per universe symbol (stored symbols + new-symbol queue) from the
 * candles (quality.h: history days, coverage %), the job table (training / failed) and the model
 * registry (active model and its age). Nothing is cached, so a verdict changes as soon as its cause. */
#include "trademl/coverage.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/jobs.h"
#include "trademl/quality.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"
#include "jobs/queue_backend.h"

static const char *const verdict_names[TML_COV_VERDICT_COUNT] = {
    "ok", "no_data", "insufficient_history", "low_coverage", "training", "failed", "untrained"};

const char *tml_cov_verdict_name(enum tml_cov_verdict v) {
  return (unsigned)v < TML_COV_VERDICT_COUNT ? verdict_names[v] : "?";
}

int tml_cov_opts_from_config(const struct tml_config *cfg, struct tml_cov_opts *o, struct tml_error *err) {
  memset(o, 0, sizeof(*o));
  int rc = tml_interval_parse(tml_config_get(cfg, "data.interval"), &o->interval_ms, err);
  o->min_history_days = tml_config_double(cfg, "data.min_history_days");
  o->min_coverage_pct = tml_config_double(cfg, "data.min_coverage_pct");
  o->models_dir = tml_config_get(cfg, "model.models_dir");
  o->strategy = tml_config_get(cfg, "model.strategy");
  return rc;
}

/* Latest train/retrain job of symbol: id and status; 0 when none. */
static int64_t last_train_job(struct tml_jobs *q, const char *symbol, int64_t interval_ms, enum tml_job_status *status) {
  struct tml_job_filter f;
  tml_job_filter_init(&f);
  f.symbol = symbol;
  f.limit = 20;
  struct tml_job *rows = NULL;
  size_t n = 0;
  int64_t id = 0;
  if (tml_jobs_list(q, &f, &rows, &n, NULL, NULL) == 0) {
    const char *iname = tml_interval_name(interval_ms);
    for (size_t i = 0; i < n && !id; i++)
      if ((rows[i].kind == TML_JOB_TRAIN || rows[i].kind == TML_JOB_RETRAIN) && iname &&
          strcmp(rows[i].interval, iname) == 0) {
        id = rows[i].id;
        *status = rows[i].status;
      }
  }
  free(rows);
  return id;
}

static bool in_symqueue(struct tml_jobs *q, const char *symbol) {
  return tml__jobs_backend(q)->symq_has(tml__jobs_conn(q), symbol);
}

static int check_one(struct tml_store *store, struct tml_jobs *q, struct tml_registry *reg,
                     const struct tml_cov_opts *o, const char *symbol, struct tml_cov_row *row, struct tml_error *err) {
  memset(row, 0, sizeof(*row));
  snprintf(row->symbol, sizeof(row->symbol), "%s", symbol);
  row->model_age_days = row->model_data_age_days = -1;
  int64_t now = o->now_ms ? o->now_ms : tml_now_ms();
  struct tml_candles c;
  int rc = tml_store_load(store, symbol, o->interval_ms, INT64_MIN, INT64_MAX, &c, err);
  if (rc)
    return rc;
  struct tml_quality qual;
  memset(&qual, 0, sizeof(qual));
  if (c.len > 0) {
    rc = tml_quality_compute(&c, &qual, err);
    row->stored = true;
    row->rows = qual.rows;
    row->first_ms = qual.first_ms;
    row->last_ms = qual.last_ms;
    row->history_days = qual.history_days;
    row->coverage_pct = qual.coverage_pct;
    tml_quality_release(&qual);
  }
  tml_candles_release(&c);
  if (rc)
    return rc;
  if (q)
    row->queued = in_symqueue(q, symbol);
  if (reg) {
    struct tml_model_row m;
    tml_model_row_init(&m);
    struct tml_error merr;
    tml_error_init(&merr);
    if (tml_registry_active(reg, o->strategy, symbol, o->interval_ms, &m, &merr) == 0 && !m.folder_missing) {
      row->has_model = true;
      snprintf(row->model_version, sizeof(row->model_version), "%s", m.version);
      row->model_age_days = tml_model_age_days(&m, now);
      double da = tml_model_data_age_days(&m, now);
      row->model_data_age_days = isnan(da) ? -1 : da;
    }
    tml_model_row_release(&m);
  }
  enum tml_job_status js = TML_JOB_QUEUED;
  int64_t job = q ? last_train_job(q, symbol, o->interval_ms, &js) : 0;
  const char *iname = tml_interval_name(o->interval_ms);
  if (!row->stored) {
    row->verdict = TML_COV_NO_DATA;
    snprintf(row->reason, sizeof(row->reason), "no %s candles stored", iname ? iname : "?");
  } else if (row->history_days < o->min_history_days) {
    row->verdict = TML_COV_INSUFFICIENT_HISTORY;
    snprintf(row->reason, sizeof(row->reason), "insufficient history: %.1f days < %g (data.min_history_days)",
             row->history_days, o->min_history_days);
  } else if (row->coverage_pct < o->min_coverage_pct) {
    row->verdict = TML_COV_LOW_COVERAGE;
    snprintf(row->reason, sizeof(row->reason), "low coverage: %.2f%% < %g%% (data.min_coverage_pct)",
             row->coverage_pct, o->min_coverage_pct);
  } else if (job && (js == TML_JOB_QUEUED || js == TML_JOB_RUNNING)) {
    row->verdict = TML_COV_TRAINING;
    row->job_id = job;
    snprintf(row->reason, sizeof(row->reason), "training: job %" PRId64 " is %s", job, tml_job_status_name(js));
  } else if (row->has_model) {
    row->verdict = TML_COV_OK;
  } else if (job && (js == TML_JOB_FAILED || js == TML_JOB_TIMED_OUT)) {
    row->verdict = TML_COV_FAILED;
    row->job_id = job;
    snprintf(row->reason, sizeof(row->reason), "failed: training job %" PRId64 " %s", job, tml_job_status_name(js));
  } else {
    row->verdict = TML_COV_UNTRAINED;
    snprintf(row->reason, sizeof(row->reason), "untrained: no active model");
  }
  row->blocked = row->verdict != TML_COV_OK;
  return 0;
}

int tml_coverage_check(struct tml_store *store, struct tml_jobs *q, const struct tml_cov_opts *o, const char *symbol,
                       struct tml_cov_row *row, struct tml_error *err) {
  struct tml_registry *reg = NULL;
  struct tml_error rerr;
  tml_error_init(&rerr);
  if (q && tml_registry_open(tml__jobs_path(q), &reg, &rerr) != 0)
    reg = NULL;
  int rc = check_one(store, q, reg, o, symbol, row, err);
  tml_registry_close(reg);
  return rc;
}

static int cmp_sym(const void *a, const void *b) {
  return strcmp(((const struct tml_cov_row *)a)->symbol, ((const struct tml_cov_row *)b)->symbol);
}

int tml_coverage_compute(struct tml_store *store, struct tml_jobs *q, const struct tml_cov_opts *o,
                         struct tml_cov_row **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  struct tml_series_info *series = NULL;
  size_t nseries = 0;
  int rc = tml_store_list(store, &series, &nseries, err);
  if (rc)
    return rc;
  /* Universe: distinct stored symbols (any interval) plus queued symbols. */
  size_t cap = nseries + 64, cnt = 0;
  char (*syms)[40] = calloc(cap, sizeof(*syms));
  if (!syms) {
    free(series);
    return tml_error_set(err, TML_ENOMEM, "out of memory computing coverage");
  }
  for (size_t i = 0; i < nseries; i++)
    if (cnt == 0 || strcmp(syms[cnt - 1], series[i].symbol) != 0)
      snprintf(syms[cnt++], sizeof(syms[0]), "%s", series[i].symbol);
  free(series);
  if (q) {
    struct tml_symqueue_entry *queued = NULL;
    size_t nq = 0;
    if (tml__jobs_backend(q)->symq_list(tml__jobs_conn(q), &queued, &nq, NULL) == 0) { /* the backend: no scheduler */
      for (size_t k = 0; k < nq; k++) {
        const char *s = queued[k].symbol;
        bool dup = false;
        for (size_t i = 0; i < cnt && !dup; i++)
          dup = strcmp(syms[i], s) == 0;
        if (dup)
          continue;
        if (cnt == cap) {
          void *ns = realloc(syms, cap * 2 * sizeof(*syms));
          if (!ns)
            break;
          syms = ns;
          cap *= 2;
        }
        snprintf(syms[cnt++], sizeof(syms[0]), "%s", s);
      }
    }
    free(queued);
  }
  struct tml_cov_row *rows = cnt ? calloc(cnt, sizeof(*rows)) : NULL;
  if (cnt && !rows) {
    free(syms);
    return tml_error_set(err, TML_ENOMEM, "out of memory computing coverage");
  }
  struct tml_registry *reg = NULL;
  struct tml_error rerr;
  tml_error_init(&rerr);
  if (q && tml_registry_open(tml__jobs_path(q), &reg, &rerr) != 0)
    reg = NULL;
  for (size_t i = 0; i < cnt && !rc; i++)
    rc = check_one(store, q, reg, o, syms[i], &rows[i], err);
  tml_registry_close(reg);
  free(syms);
  if (rc) {
    free(rows);
    return rc;
  }
  if (cnt)
    qsort(rows, cnt, sizeof(*rows), cmp_sym);
  *out = rows;
  *n = cnt;
  return 0;
}

int tml_coverage_format(const struct tml_cov_row *rows, size_t n, bool json, struct tml_buf *out) {
  int rc = 0;
  if (json) {
    rc |= tml_buf_puts(out, "[");
    for (size_t i = 0; i < n; i++) {
      const struct tml_cov_row *r = &rows[i];
      rc |= tml_buf_printf(out, "%s{\"symbol\":\"%s\",\"stored\":%s,\"queued\":%s,\"rows\":%zu,\"history_days\":%.2f,"
                                "\"coverage_pct\":%.3f,\"has_model\":%s,\"model_version\":",
                           i ? "," : "", r->symbol, r->stored ? "true" : "false", r->queued ? "true" : "false", r->rows,
                           r->history_days, r->coverage_pct, r->has_model ? "true" : "false");
      if (r->has_model)
        rc |= tml_buf_json_str(out, r->model_version);
      else
        rc |= tml_buf_puts(out, "null");
      if (r->has_model)
        rc |= tml_buf_printf(out, ",\"model_age_days\":%.2f", r->model_age_days);
      else
        rc |= tml_buf_puts(out, ",\"model_age_days\":null");
      if (r->has_model && r->model_data_age_days >= 0)
        rc |= tml_buf_printf(out, ",\"model_data_age_days\":%.2f", r->model_data_age_days);
      else
        rc |= tml_buf_puts(out, ",\"model_data_age_days\":null");
      rc |= tml_buf_printf(out, ",\"job_id\":%" PRId64 ",\"verdict\":\"%s\",\"blocked\":%s,\"reason\":", r->job_id,
                           tml_cov_verdict_name(r->verdict), r->blocked ? "true" : "false");
      rc |= tml_buf_json_str(out, r->reason);
      rc |= tml_buf_puts(out, "}");
    }
    rc |= tml_buf_puts(out, "]\n");
  } else {
    /* TRAINED = days since the model was trained; DATA = days since the newest candle it learned from. */
    rc |= tml_buf_printf(out, "%-16s %-21s %8s %9s %-17s %8s %8s  %s\n", "SYMBOL", "VERDICT", "DAYS", "COVERAGE",
                         "MODEL", "TRAINED", "DATA", "REASON");
    size_t blocked = 0;
    for (size_t i = 0; i < n; i++) {
      const struct tml_cov_row *r = &rows[i];
      char age[32] = "-", dage[32] = "-";
      if (r->has_model)
        snprintf(age, sizeof(age), "%.1fd", r->model_age_days);
      if (r->has_model && r->model_data_age_days >= 0)
        snprintf(dage, sizeof(dage), "%.1fd", r->model_data_age_days);
      rc |= tml_buf_printf(out, "%-16s %-21s %8.1f %8.2f%% %-17s %8s %8s  %s\n", r->symbol,
                           tml_cov_verdict_name(r->verdict), r->history_days, r->coverage_pct,
                           r->has_model ? r->model_version : "-", age, dage, r->reason);
      blocked += r->blocked;
    }
    rc |= tml_buf_printf(out, "%zu symbol%s, %zu blocked\n", n, n == 1 ? "" : "s", blocked);
  }
  return rc ? TML_ETOOBIG : 0;
}
