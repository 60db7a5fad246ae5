/* The job table's policy: validation and normalization of submitted jobs, their identity for
 * deduplication, cancel, listing and JSON. Storage is reached only through the backend table
 * (queue_backend.h: SQLite in queue_sqlite.c, PostgreSQL in queue_pg.c), picked from the location:
 * a file path or a postgresql:// URL. */
#include "trademl/jobs.h"
#include "trademl/strategy.h"
#include "util/common.h"

#include "trademl/buf.h"
#include "trademl/config.h"
#include "trademl/db.h"
#include "trademl/error.h"
#include "trademl/log.h"
#include "trademl/parse.h"
#include "trademl/timeutil.h"
#include "jobs/jobs_internal.h"
#include "jobs/queue_backend.h"


struct tml_jobs {
  const struct tml__queue_backend *be;
  void *db;
  char location[1024]; /* as given (a URL may hold a password: never printed) */
  char shown[1024];    /* the location for messages (a URL redacted) */
  struct tml_jobs_opts opts;
  int64_t last_reap_probe_ms; /* claim looks for expired leases at most once a second */
};

void tml_job_spec_init(struct tml_job_spec *s) { memset(s, 0, sizeof(*s)); }

void tml_job_filter_init(struct tml_job_filter *f) {
  memset(f, 0, sizeof(*f));
  f->kind = -1;
  f->limit = 100;
}

void tml_jobs_opts_default(struct tml_jobs_opts *o) {
  memset(o, 0, sizeof(*o));
  o->busy_timeout_ms = 5000;
  o->default_max_attempts = 4;
  o->default_timeout_s = 3600;
  o->backoff_base_s = 30;
  snprintf(o->default_interval, sizeof(o->default_interval), "15m");
  snprintf(o->default_strategy, sizeof(o->default_strategy), "xgb5");
  o->check_symbols = true;
}

int tml_jobs_opts_from_config(const struct tml_config *cfg, struct tml_jobs_opts *o, struct tml_error *err) {
  (void)err;
  tml_jobs_opts_default(o);
  o->busy_timeout_ms = (int)(tml_config_int(cfg, "data.busy_timeout") * 1000);
  o->default_max_attempts = 1 + (int)tml_config_int(cfg, "training.retry_attempts");
  o->default_timeout_s = (int)tml_config_int(cfg, "training.job_timeout");
  o->backoff_base_s = (double)tml_config_int(cfg, "training.retry_backoff_seconds");
  snprintf(o->default_interval, sizeof(o->default_interval), "%s", tml_config_get(cfg, "data.interval"));
  snprintf(o->default_strategy, sizeof(o->default_strategy), "%s", tml_config_get(cfg, "model.strategy"));
  o->max_running = (int)tml_config_int(cfg, "training.max_concurrent_jobs");
  return 0;
}

int tml_jobs_open(const char *db_path, const struct tml_jobs_opts *opts, struct tml_jobs **out,
                  struct tml_error *err) {
  *out = NULL;
  struct tml_jobs *q = calloc(1, sizeof(*q));
  if (!q)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the job table");
  if (opts)
    q->opts = *opts;
  else
    tml_jobs_opts_default(&q->opts);
  q->be = tml_db_kind_of(db_path) == TML_DB_POSTGRES ? &tml__queue_pg : &tml__queue_sqlite;
  snprintf(q->location, sizeof(q->location), "%s", db_path);
  tml_db_redact(db_path, q->shown, sizeof(q->shown));
  int rc = q->be->open(db_path, q->opts.busy_timeout_ms, &q->db, err);
  if (rc) {
    free(q);
    return rc;
  }
  *out = q;
  return 0;
}

void tml_jobs_close(struct tml_jobs *q) {
  if (!q)
    return;
  if (q->db)
    q->be->close(q->db);
  free(q);
}

const struct tml_jobs_opts *tml_jobs_options(const struct tml_jobs *q) { return &q->opts; }
const char *tml_jobs_backend_name(const struct tml_jobs *q) { return q->be->name; }
bool tml_jobs_ping(struct tml_jobs *q) { return q && q->be->ping(q->db); }
const struct tml__queue_backend *tml__jobs_backend(const struct tml_jobs *q) { return q->be; }
void *tml__jobs_conn(const struct tml_jobs *q) { return q->db; }
const char *tml__jobs_path(const struct tml_jobs *q) { return q->location; }
int64_t *tml__jobs_reap_clock(struct tml_jobs *q) { return &q->last_reap_probe_ms; }

int tml_jobs_get(struct tml_jobs *q, int64_t id, struct tml_job *out, struct tml_error *err) {
  return q->be->get(q->db, id, out, err);
}

/* ---- submit ---- */

void tml__job_dedup_key(enum tml_job_kind kind, const char *syms, const char *interval, const char *strategy,
                        const char *mode, double days, const char *params, struct tml_buf *key) {
  if (kind == TML_JOB_TRAIN || kind == TML_JOB_RETRAIN)
    tml_buf_printf(key, "train|%s|%s|%s", syms, interval, strategy);
  else
    tml_buf_printf(key, "%s|%s|%s|%s|%s|%.6g|%s", tml_job_kind_name(kind), syms, interval, strategy, mode, days,
                   params);
}

int tml_jobs_submit(struct tml_jobs *q, const struct tml_job_spec *spec, int64_t *id, bool *existed,
                    struct tml_error *err) {
  *id = 0;
  if (existed)
    *existed = false;
  if ((unsigned)spec->kind >= TML_JOB_KIND_COUNT)
    return tml_error_set(err, TML_EINVAL, "unknown job kind %d", (int)spec->kind);
  const char *kind = tml_job_kind_name(spec->kind);
  if (spec->nsymbols == 0 && spec->kind != TML_JOB_NOOP)
    return tml_error_set(err, TML_EINVAL, "%s job needs at least one symbol (--symbol BTCUSDT)", kind);
  if (spec->nsymbols > TML_JOB_MAX_SYMBOLS)
    return tml_error_set(err, TML_EINVAL, "too many symbols (%zu, max %d)", spec->nsymbols, TML_JOB_MAX_SYMBOLS);
  const char *interval_in = spec->interval && *spec->interval ? spec->interval : q->opts.default_interval;
  int64_t interval_ms = 0;
  int rc = tml_interval_parse(interval_in, &interval_ms, err);
  if (rc)
    return rc;
  const char *interval = tml_interval_name(interval_ms);
  const char *strategy = spec->strategy && *spec->strategy ? spec->strategy : q->opts.default_strategy;
  const struct tml_strategy *strat = NULL;
  if ((rc = tml_strategy_lookup(strategy, &strat, err)))
    return rc;
  const char *mode = "";
  if (spec->kind == TML_JOB_VALIDATE) {
    mode = spec->mode && *spec->mode ? spec->mode : "quick";
    if (strcmp(mode, "quick") != 0 && strcmp(mode, "full") != 0 && strcmp(mode, "sequential") != 0)
      return tml_error_set(err, TML_EINVAL, "validate mode '%s': expected quick, full or sequential", mode);
  } else if (spec->mode && *spec->mode) {
    return tml_error_set(err, TML_EINVAL, "--mode applies to validate jobs only, not %s", kind);
  }
  if (!(spec->days >= 0 && spec->days <= 36500))
    return tml_error_set(err, TML_EINVAL, "days %g: expected 0 (all) to 36500", spec->days);
  if (spec->max_attempts < 0 || spec->max_attempts > 100)
    return tml_error_set(err, TML_EINVAL, "max attempts %d: expected 1 to 100 (0 = default)", spec->max_attempts);
  if (spec->timeout_s < 0 || spec->timeout_s > 604800)
    return tml_error_set(err, TML_EINVAL, "timeout %d s: expected 1 to 604800 (0 = default)", spec->timeout_s);
  char params[1024];
  rc = tml__job_params_canonical(spec->kind, spec->params, params, sizeof(params), err);
  if (rc)
    return rc;
  const char *source = spec->source && *spec->source ? spec->source : "cli";

  struct tml_buf syms;
  tml_buf_init(&syms, 4096);
  for (size_t i = 0; i < spec->nsymbols; i++) {
    char norm[64];
    if (!spec->symbols[i] || tml_symbol_normalize(spec->symbols[i], norm, sizeof(norm)) != 0 ||
        !tml_symbol_valid(norm)) {
      rc = tml_error_set(err, TML_EINVAL, "symbol '%s' is not a valid symbol (like BTCUSDT or BTC/USDT)",
                         spec->symbols[i] ? spec->symbols[i] : "");
      goto out;
    }
    bool check = q->opts.check_symbols && spec->kind != TML_JOB_FETCH && spec->kind != TML_JOB_NOOP;
    if (check && !q->be->symbol_stored(q->db, norm, interval_ms)) {
      rc = tml_error_set(err, TML_ENOENT,
                         "symbol %s has no %s candles in '%s' (import or fetch them first: trademl data import ...)",
                         norm, interval, q->shown);
      goto out;
    }
    if (tml_buf_printf(&syms, "%s%s", i ? "," : "", norm)) {
      rc = tml_error_set(err, TML_ETOOBIG, "symbol list too long");
      goto out;
    }
  }
  struct tml_buf key;
  tml_buf_init(&key, 4096);
  tml__job_dedup_key(spec->kind, tml_buf_str(&syms), interval, strategy, mode, spec->days, params, &key);
  int max_attempts = spec->max_attempts ? spec->max_attempts : q->opts.default_max_attempts;
  int timeout_s = spec->timeout_s ? spec->timeout_s : q->opts.default_timeout_s;

  struct tml__job_insert row = {.kind = kind,
                                 .symbols = tml_buf_str(&syms),
                                 .interval = interval,
                                 .strategy = strategy,
                                 .mode = mode,
                                 .params = params,
                                 .source = source,
                                 .dedup_key = tml_buf_str(&key),
                                 .days = spec->days,
                                 .priority = spec->priority,
                                 .max_attempts = max_attempts,
                                 .timeout_s = timeout_s,
                                 .created_ms = tml_now_ms()};
  bool was = false;
  rc = q->be->insert(q->db, &row, id, &was, err);
  if (!rc && existed)
    *existed = was;
  tml_buf_release(&key);
out:
  tml_buf_release(&syms);
  if (rc)
    *id = 0;
  return rc;
}

/* ---- list, counts, attempts, cancel, purge ---- */

int tml_jobs_list(struct tml_jobs *q, const struct tml_job_filter *f, struct tml_job **out, size_t *n,
                  size_t *total, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  if (total)
    *total = 0;
  struct tml_job_filter def;
  if (!f) {
    tml_job_filter_init(&def);
    f = &def;
  }
  return q->be->list(q->db, f, out, n, total, err);
}

int tml_jobs_counts(struct tml_jobs *q, size_t counts[TML_JOB_STATUS_COUNT], struct tml_error *err) {
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    counts[i] = 0;
  return q->be->counts(q->db, counts, err);
}

int tml_jobs_attempts(struct tml_jobs *q, int64_t id, struct tml_job_attempt **out, size_t *n,
                      struct tml_error *err) {
  *out = NULL;
  *n = 0;
  return q->be->attempts(q->db, id, out, n, err);
}

int tml_jobs_cancel(struct tml_jobs *q, int64_t id, enum tml_job_status *status_after, struct tml_error *err) {
  int rc = q->be->begin(q->db, "cancelling a job", err);
  if (rc)
    return rc;
  struct tml_job j;
  rc = q->be->get_locked(q->db, id, &j, err);
  if (rc)
    goto rollback;
  if (tml_job_status_final(j.status)) {
    rc = tml_error_set(err, TML_ECONFLICT, "job %" PRId64 " already %s; nothing to cancel", id,
                       tml_job_status_name(j.status));
    goto rollback;
  }
  rc = q->be->mark_cancel(q->db, id, j.status == TML_JOB_QUEUED, tml_now_ms(), err);
  if (rc)
    goto rollback;
  rc = q->be->commit(q->db, "cancelling a job", err);
  if (!rc && status_after)
    *status_after = j.status == TML_JOB_QUEUED ? TML_JOB_CANCELLED : TML_JOB_RUNNING;
  return rc;
rollback:
  q->be->rollback(q->db);
  return rc;
}

int tml_jobs_purge(struct tml_jobs *q, int64_t before_ms, size_t *deleted, struct tml_error *err) {
  if (deleted)
    *deleted = 0;
  return q->be->purge(q->db, before_ms, deleted, err);
}

/* ---- processes ---- */

int tml_jobs_process_beat(struct tml_jobs *q, const struct tml_cluster_process *p, struct tml_error *err) {
  return q->be->proc_beat(q->db, p, err);
}

int tml_jobs_processes(struct tml_jobs *q, struct tml_cluster_process **out, size_t *n, struct tml_error *err) {
  *out = NULL;
  *n = 0;
  return q->be->proc_list(q->db, out, n, err);
}

int tml_jobs_process_remove(struct tml_jobs *q, const char *process_id, struct tml_error *err) {
  return q->be->proc_remove(q->db, process_id, err);
}

/* ---- JSON ---- */

int tml_job_to_json(const struct tml_job *j, struct tml_buf *out) {
  char created[32] = "", started[32] = "", finished[32] = "";
  if (j->created_ms)
    tml_time_format(j->created_ms, created, sizeof(created));
  if (j->started_ms)
    tml_time_format(j->started_ms, started, sizeof(started));
  if (j->finished_ms)
    tml_time_format(j->finished_ms, finished, sizeof(finished));
  int rc = tml_buf_printf(out, "{\"id\":%" PRId64 ",\"kind\":\"%s\",\"status\":\"%s\",\"symbols\":[", j->id,
                          tml_job_kind_name(j->kind), tml_job_status_name(j->status));
  const char *p = j->symbols;
  bool first = true;
  while (*p) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    char sym[64];
    snprintf(sym, sizeof(sym), "%.*s", (int)TML_MIN(len, sizeof(sym) - 1), p);
    rc |= tml_buf_puts(out, first ? "" : ",");
    rc |= tml_buf_json_str(out, sym);
    first = false;
    p += len + (c ? 1 : 0);
  }
  rc |= tml_buf_puts(out, "],\"interval\":");
  rc |= tml_buf_json_str(out, j->interval);
  rc |= tml_buf_puts(out, ",\"strategy\":");
  rc |= tml_buf_json_str(out, j->strategy);
  rc |= tml_buf_puts(out, ",\"mode\":");
  if (j->mode[0])
    rc |= tml_buf_json_str(out, j->mode);
  else
    rc |= tml_buf_puts(out, "null");
  rc |= tml_buf_printf(out, ",\"days\":%.10g,\"params\":%s,\"source\":", j->days, j->params[0] ? j->params : "{}");
  rc |= tml_buf_json_str(out, j->source);
  rc |= tml_buf_printf(out, ",\"priority\":%d,\"progress\":%.1f,\"stage\":", j->priority, j->progress);
  rc |= tml_buf_json_str(out, j->stage);
  rc |= tml_buf_printf(out, ",\"attempts\":%d,\"max_attempts\":%d,\"timeout_s\":%d,\"cancel_requested\":%s,\"error\":",
                       j->attempts, j->max_attempts, j->timeout_s, j->cancel_requested ? "true" : "false");
  if (j->error[0])
    rc |= tml_buf_json_str(out, j->error);
  else
    rc |= tml_buf_puts(out, "null");
  rc |= tml_buf_puts(out, ",\"worker_id\":");
  if (j->worker_id[0])
    rc |= tml_buf_json_str(out, j->worker_id);
  else
    rc |= tml_buf_puts(out, "null");
  rc |= tml_buf_printf(out, ",\"lease_expires_ms\":%" PRId64 ",\"not_before_ms\":%" PRId64 ",\"fence\":%" PRId64,
                       j->lease_expires_ms, j->not_before_ms, j->fence);
  const char *names[3] = {"created_at", "started_at", "finished_at"};
  const char *vals[3] = {created, started, finished};
  for (int i = 0; i < 3; i++) {
    rc |= tml_buf_printf(out, ",\"%s\":", names[i]);
    if (vals[i][0])
      rc |= tml_buf_json_str(out, vals[i]);
    else
      rc |= tml_buf_puts(out, "null");
  }
  rc |= tml_buf_printf(out, ",\"elapsed_s\":%.3f,\"result\":%s}", j->elapsed_s, j->result[0] ? j->result : "{}");
  return rc ? TML_ETOOBIG : 0;
}

int tml_job_log_path(const char *logs_dir, int64_t id, char *out, size_t outsz, struct tml_error *err) {
  int n = snprintf(out, outsz, "%s/jobs/%" PRId64 ".log", logs_dir, id);
  if (n < 0 || (size_t)n >= outsz)
    return tml_error_set(err, TML_EINVAL, "log path for job %" PRId64 " under '%.200s' is too long", id, logs_dir);
  return 0;
}
