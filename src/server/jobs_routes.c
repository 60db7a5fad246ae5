/* The daemon's side of jobs, models, coverage, the new-symbol queue and the schedule: the handlers of
 * those routes, the housekeeping tasks that drive the scheduler and job maintenance, and the worker
 * pool (the jobs runner, whose threads supervise one training child process each). HTTP handlers use
 * one job-table connection and one registry connection under s->db_lock; the housekeeping tick and
 * the runner have their own connections, so training never waits on an HTTP request or the reverse. */
#include "srv.h"

#include <sqlite3.h>
#include <time.h>
#include <unistd.h>

#include "trademl/config.h"
#include "trademl/coverage.h"
#include "trademl/log.h"
#include "trademl/modelset.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/scheduler.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

struct srv_jobs_state {
  struct tml_jobs *q;           /* HTTP handlers, under db_lock */
  struct tml_registry *reg;     /* HTTP handlers, under db_lock */
  struct tml_jobs *tick_q;      /* housekeeping thread only */
  struct tml_scheduler *sched;  /* housekeeping thread only */
  struct tml_runner *runner;    /* its own threads */
  int concurrency;
  int64_t last_sched_run_ms;    /* last time a scheduled run fired (0 = not in this process) */
  struct tml_store *tick_store; /* housekeeping thread only (coverage) */
  pthread_mutex_t cov_lock;     /* guards the coverage snapshot */
  struct tml_cov_row *cov;      /* latest coverage of the default interval, owned */
  size_t ncov;
  int64_t cov_ms;               /* when it was computed; 0 = never */
};

static struct srv_jobs_state *state(struct tml_server *s) { return s->jobs; }

int srv_jobs_open(struct tml_server *s, struct tml_error *err) {
  struct srv_jobs_state *js = calloc(1, sizeof(*js));
  if (!js)
    return tml_error_set(err, TML_ENOMEM, "out of memory opening the job table");
  s->jobs = js;
  pthread_mutex_init(&js->cov_lock, NULL);
  const struct tml_config *cfg = s->opts.cfg;
  const char *db = s->opts.paths->db;
  struct tml_runner_opts ro;
  tml_runner_opts_default(&ro);
  int rc = tml_runner_opts_from_config(cfg, &ro, err);
  if (rc)
    return rc;
  if ((rc = tml_jobs_open(db, &ro.jobs, &js->q, err)) || (rc = tml_jobs_open(db, &ro.jobs, &js->tick_q, err)) ||
      (rc = tml_registry_open(db, &js->reg, err)) || (rc = tml_scheduler_create(db, cfg, &js->sched, err)) ||
      (rc = tml_store_open(db, &js->tick_store, err)))
    return rc;
  js->concurrency = s->opts.workers > 0 ? s->opts.workers : ro.concurrency;
  if (s->opts.workers <= 0)
    return 0; /* API only: workers elsewhere claim the jobs */
  ro.db_path = db;
  ro.exe = s->opts.self_exe;
  ro.home = s->opts.paths->home;
  ro.config_path = s->opts.config_path;
  ro.logs_dir = s->opts.paths->logs;
  ro.concurrency = js->concurrency;
  return tml_runner_start(&ro, &js->runner, err);
}

void srv_jobs_close(struct tml_server *s) {
  struct srv_jobs_state *js = s ? state(s) : NULL;
  if (!js)
    return;
  tml_runner_destroy(js->runner);
  tml_scheduler_destroy(js->sched);
  tml_registry_close(js->reg);
  tml_jobs_close(js->tick_q);
  tml_jobs_close(js->q);
  tml_store_close(js->tick_store);
  free(js->cov);
  pthread_mutex_destroy(&js->cov_lock);
  free(js);
  s->jobs = NULL;
}

int srv_jobs_drain(struct tml_server *s, int64_t grace_ms) {
  struct srv_jobs_state *js = state(s);
  if (!js || !js->runner)
    return 0;
  struct tml_runner_stats st;
  if (grace_ms > 0) {
    tml_runner_request_stop(js->runner, TML_RUNNER_DRAIN);
    int64_t until = tml_now_ms() + grace_ms;
    for (;;) {
      tml_runner_get_stats(js->runner, &st);
      if (st.running == 0 || tml_now_ms() >= until)
        break;
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  tml_runner_request_stop(js->runner, TML_RUNNER_REQUEUE);
  tml_runner_join(js->runner);
  tml_runner_get_stats(js->runner, &st);
  return (int)st.requeued;
}

/* ---- housekeeping tasks ---- */

/* Jobs whose worker died (lease expired) go back to the queue; the runner also enforces each job's
 * wall-time limit. */
void srv_task_runner(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  size_t reaped = 0;
  if (tml_jobs_reap(js->tick_q, now_ms, &reaped, &err))
    tml_warn("housekeeping: reaping expired job leases: %s", err.msg);
  else if (reaped)
    tml_info("housekeeping: %zu job(s) of a lost worker were given back", reaped);
}

#define SCHEDULE_NAME "retrain" /* the slot name tml_scheduler_tick claims */

void srv_task_scheduler(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  bool ran = false;
  struct tml_sched_report rep;
  tml_sched_report_init(&rep);
  if (tml_scheduler_tick(js->sched, now_ms, &ran, &rep, &err))
    tml_warn("scheduler: %s", err.msg);
  if (ran) {
    js->last_sched_run_ms = now_ms;
    int64_t slot = 0;
    char st[32] = "?";
    if (tml_scheduler_last_slot(js->tick_q, SCHEDULE_NAME, &slot, NULL) == 0 && slot)
      tml_time_format(slot, st, sizeof(st));
    tml_info("scheduler: scheduled run for slot %s: %zu job(s) submitted, %zu skipped, %zu pruned", st, rep.submitted,
             rep.skipped, rep.pruned);
  }
  tml_sched_report_release(&rep);
}

/* Coverage reads every stored series, which is too slow to do per request under load; the tick
 * recomputes a snapshot of the default interval with its own connections and the routes serve it. */
void srv_task_coverage(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_cov_opts co;
  struct tml_cov_row *rows = NULL;
  size_t n = 0;
  if (tml_cov_opts_from_config(s->opts.cfg, &co, &err) ||
      tml_coverage_compute(js->tick_store, js->tick_q, &co, &rows, &n, &err)) {
    tml_warn("housekeeping: coverage: %s", err.msg);
    return;
  }
  pthread_mutex_lock(&js->cov_lock);
  free(js->cov);
  js->cov = rows;
  js->ncov = n;
  js->cov_ms = now_ms;
  pthread_mutex_unlock(&js->cov_lock);
}

/* A copy of the snapshot (caller frees *rows); false when none was computed yet. */
static bool cov_snapshot(struct srv_jobs_state *js, struct tml_cov_row **rows, size_t *n, int64_t *at_ms) {
  pthread_mutex_lock(&js->cov_lock);
  bool have = js->cov_ms != 0;
  *rows = NULL;
  *n = 0;
  *at_ms = js->cov_ms;
  if (have && js->ncov) {
    *rows = malloc(js->ncov * sizeof(**rows));
    if (*rows) {
      memcpy(*rows, js->cov, js->ncov * sizeof(**rows));
      *n = js->ncov;
    } else {
      have = false;
    }
  }
  pthread_mutex_unlock(&js->cov_lock);
  return have;
}

#define JOB_RETENTION_DAYS 30

void srv_task_retention(struct tml_server *s, int64_t now_ms) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  size_t deleted = 0;
  if (tml_jobs_purge(js->tick_q, now_ms - JOB_RETENTION_DAYS * TML_MS_PER_DAY, &deleted, &err))
    tml_warn("housekeeping: purging old jobs: %s", err.msg);
  else if (deleted)
    tml_info("housekeeping: purged %zu job(s) finished more than %d days ago", deleted, JOB_RETENTION_DAYS);
}

/* ---- facts for /health and /metrics ---- */

const double srv_duration_bounds[10] = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600};

void srv_job_facts(struct tml_server *s, struct srv_job_facts *f) {
  memset(f, 0, sizeof(*f));
  struct srv_jobs_state *js = state(s);
  f->workers_total = js->runner ? js->concurrency : 0;
  if (js->runner) {
    struct tml_runner_stats st;
    tml_runner_get_stats(js->runner, &st);
    f->workers_busy = (int)st.running;
  }
  struct tml_error err;
  tml_error_init(&err);
  size_t counts[TML_JOB_STATUS_COUNT] = {0};
  struct tml_job *jobs = NULL;
  size_t n = 0;
  struct tml_job_filter flt;
  tml_job_filter_init(&flt);
  flt.status_mask = (1u << TML_JOB_SUCCEEDED) | (1u << TML_JOB_FAILED) | (1u << TML_JOB_TIMED_OUT);
  flt.limit = 500;
  pthread_mutex_lock(&s->db_lock);
  f->db_ok = tml_jobs_counts(js->q, counts, &err) == 0;
  if (f->db_ok && tml_jobs_list(js->q, &flt, &jobs, &n, NULL, &err) != 0)
    n = 0;
  pthread_mutex_unlock(&s->db_lock);
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    f->by_status[i] = (int64_t)counts[i];
  f->queue_depth = (int64_t)counts[TML_JOB_QUEUED];
  for (size_t i = 0; i < n; i++) {
    const struct tml_job *j = &jobs[i];
    if (j->kind == TML_JOB_NOOP || j->kind == TML_JOB_FETCH)
      continue;
    f->runs_total++;
    if (j->status != TML_JOB_SUCCEEDED)
      f->runs_failed++;
    else if (j->finished_ms > f->last_success_ms)
      f->last_success_ms = j->finished_ms;
    f->duration_sum += j->elapsed_s;
    f->duration_count++;
    for (size_t b = 0; b < 10; b++)
      if (j->elapsed_s <= srv_duration_bounds[b])
        f->duration_buckets[b]++;
  }
  free(jobs);
}

/* Prometheus label values: escape backslash, quote and newline. */
static void label(struct tml_buf *b, const char *v) {
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      tml_buf_putc(b, '\\');
    if (*v == '\n') {
      tml_buf_puts(b, "\\n");
      continue;
    }
    tml_buf_putc(b, *v);
  }
}

void srv_metrics_models(struct tml_server *s, struct tml_buf *b, int64_t now_ms) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_model_row *rows = NULL;
  size_t n = 0;
  struct tml_registry_filter flt = {NULL, NULL, 0, true};
  struct tml_cov_row *cov = NULL;
  size_t ncov = 0;
  int64_t cov_ms = 0;
  pthread_mutex_lock(&s->db_lock);
  if (tml_registry_list(js->reg, &flt, &rows, &n, &err) != 0)
    n = 0;
  pthread_mutex_unlock(&s->db_lock);
  cov_snapshot(js, &cov, &ncov, &cov_ms);
  tml_buf_printf(b, "# HELP trademl_active_models Active model versions.\n# TYPE trademl_active_models gauge\n"
                    "trademl_active_models %zu\n",
                 n);
  tml_buf_puts(b, "# HELP trademl_model_age_seconds Age of the active model by symbol (since registration).\n"
                  "# TYPE trademl_model_age_seconds gauge\n");
  for (size_t i = 0; i < n; i++) {
    tml_buf_puts(b, "trademl_model_age_seconds{symbol=\"");
    label(b, rows[i].key);
    tml_buf_printf(b, "\",interval=\"%s\",strategy=\"", tml_interval_name(rows[i].interval_ms) ?
                                                             tml_interval_name(rows[i].interval_ms) : "?");
    label(b, rows[i].strategy);
    tml_buf_printf(b, "\"} %.0f\n", (double)(now_ms - rows[i].created_ms) / 1000.0);
  }
  size_t blocked[TML_COV_VERDICT_COUNT] = {0};
  for (size_t i = 0; i < ncov; i++)
    if (cov[i].blocked)
      blocked[cov[i].verdict]++;
  tml_buf_puts(b, "# HELP trademl_blocked_symbols Symbols that may not be trained or served, by reason.\n"
                  "# TYPE trademl_blocked_symbols gauge\n");
  for (int v = 1; v < TML_COV_VERDICT_COUNT; v++)
    tml_buf_printf(b, "trademl_blocked_symbols{reason=\"%s\"} %zu\n", tml_cov_verdict_name((enum tml_cov_verdict)v),
                   blocked[v]);
  tml_model_rows_free(rows, n);
  free(cov);
}

/* ---- helpers ---- */

static int parse_id(const char *s, int64_t *id, struct srv_response *res, int *status) {
  if (tml_parse_int64_str(s, id) != 0 || *id <= 0) {
    *status = srv_error(res, TML_EINVAL, "invalid id '%.40s': expected a positive integer", s);
    return -1;
  }
  return 0;
}

/* Appends a buffer holding JSON text as a jansson value (NULL on parse failure). */
static json_t *json_from(const struct tml_buf *b) {
  return b->len ? json_loadb(b->ptr, b->len, 0, NULL) : NULL;
}

static json_t *job_json(const struct tml_job *j) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_job_to_json(j, &b);
  json_t *o = json_from(&b);
  tml_buf_release(&b);
  if (!o)
    o = json_object();
  char url[64];
  snprintf(url, sizeof(url), "/api/training/jobs/%" PRId64, j->id);
  json_object_set_new(o, "url", json_string(url));
  return o;
}

/* ---- POST /api/training/start ---- */

enum ftype { FT_STRING, FT_INT, FT_NUMBER, FT_BOOL, FT_STRINGS };
struct field {
  const char *name;
  enum ftype type;
  double min, max;
};
/* The request bodies bots already send, plus a few optional extras. */
static const struct field start_fields[] = {
    {"symbol", FT_STRING, 0, 0},
    {"symbols", FT_STRINGS, 1, TML_JOB_MAX_SYMBOLS},
    {"timeframe", FT_STRING, 0, 0},
    {"interval", FT_STRING, 0, 0},
    {"training_mode", FT_STRING, 0, 0},
    {"test_period_days", FT_INT, 1, 3650},
    {"min_train_days", FT_INT, 1, 36500},
    {"train_window_days", FT_INT, 1, 36500},
    {"use_expanding_window", FT_BOOL, 0, 0},
    {"days", FT_NUMBER, 1, 36500},
    {"priority", FT_INT, -1000, 1000},
    {"num_boost_round", FT_INT, 1, 100000},
    {"early_stopping_rounds", FT_INT, 0, 100000},
    {"force", FT_BOOL, 0, 0},
};

static const char *ftype_name(enum ftype t) {
  switch (t) {
  case FT_STRING: return "a string";
  case FT_INT: return "an integer";
  case FT_NUMBER: return "a number";
  case FT_BOOL: return "true or false";
  case FT_STRINGS: return "a list of strings";
  }
  return "?";
}

static const char *json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "a list";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "?";
}

/* Checks every field of body against the table: unknown names, types and ranges, each named. */
static int check_fields(json_t *body, const struct field *fields, size_t nfields, struct tml_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) {
    const struct field *f = NULL;
    for (size_t i = 0; i < nfields; i++)
      if (strcmp(fields[i].name, key) == 0)
        f = &fields[i];
    if (!f) {
      struct tml_buf names;
      tml_buf_init(&names, 0);
      for (size_t i = 0; i < nfields; i++)
        tml_buf_printf(&names, "%s%s", i ? ", " : "", fields[i].name);
      int rc = tml_error_set(err, TML_EINVAL, "unknown field '%.64s' in the request body; known fields: %s", key,
                             tml_buf_str(&names));
      tml_buf_release(&names);
      return rc;
    }
    bool ok;
    double num = 0;
    switch (f->type) {
    case FT_STRING: ok = json_is_string(v); break;
    case FT_BOOL: ok = json_is_boolean(v); break;
    case FT_INT: ok = json_is_integer(v); num = ok ? (double)json_integer_value(v) : 0; break;
    case FT_NUMBER: ok = json_is_number(v); num = ok ? json_number_value(v) : 0; break;
    case FT_STRINGS:
      ok = json_is_array(v);
      for (size_t i = 0; ok && i < json_array_size(v); i++)
        ok = json_is_string(json_array_get(v, i));
      num = ok ? (double)json_array_size(v) : 0;
      break;
    default: ok = false;
    }
    if (!ok)
      return tml_error_set(err, TML_EINVAL, "field '%s' must be %s, got %s", key, ftype_name(f->type),
                           json_type_name(v));
    if ((f->type == FT_INT || f->type == FT_NUMBER) && (num < f->min || num > f->max))
      return tml_error_set(err, TML_EINVAL, "field '%s' is %g; expected %s between %g and %g", key, num,
                           ftype_name(f->type), f->min, f->max);
    if (f->type == FT_STRINGS && (num < f->min || num > f->max))
      return tml_error_set(err, TML_EINVAL, "field '%s' has %g items; expected between %g and %g", key, num, f->min,
                           f->max);
  }
  return 0;
}

static const char *str_field(const json_t *body, const char *name) {
  return json_string_value(json_object_get(body, name));
}

int srv_h_training_start(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  json_t *body = req->body;
  if (check_fields(body, start_fields, TML_ARRAY_LEN(start_fields), &err))
    return srv_error(res, err.code, "%s", err.msg);
  struct tml_job_spec spec;
  tml_job_spec_init(&spec);
  spec.source = "api";
  /* Symbols: "symbol" and/or "symbols", each validated before it reaches the job table or a path. */
  char symbols[TML_JOB_MAX_SYMBOLS][TML_SYMBOL_MAX];
  const char *raw[TML_JOB_MAX_SYMBOLS];
  size_t nraw = 0;
  if (str_field(body, "symbol"))
    raw[nraw++] = str_field(body, "symbol");
  json_t *arr = json_object_get(body, "symbols");
  for (size_t i = 0; arr && i < json_array_size(arr) && nraw < TML_JOB_MAX_SYMBOLS; i++)
    raw[nraw++] = json_string_value(json_array_get(arr, i));
  if (nraw == 0)
    return srv_error(res, TML_EINVAL, "missing field 'symbol': give one like \"BTC/USDT\" or \"BTCUSDT\"");
  for (size_t i = 0; i < nraw; i++) {
    if (srv_symbol(raw[i], symbols[i], sizeof(symbols[i]), &err))
      return srv_error(res, TML_EINVAL, "field 'symbol': %s", err.msg);
    spec.symbols[i] = symbols[i];
  }
  spec.nsymbols = nraw;
  /* Interval: timeframe (M15) or interval (15m). */
  const char *iv = str_field(body, "interval") ? str_field(body, "interval") : str_field(body, "timeframe");
  int64_t interval_ms = 0;
  if (iv && tml_interval_parse(iv, &interval_ms, &err))
    return srv_error(res, TML_EINVAL, "field '%s': %s", str_field(body, "interval") ? "interval" : "timeframe",
                     err.msg);
  spec.interval = iv ? tml_interval_name(interval_ms) : NULL;
  /* Mode: quick/full/sequential = walk-forward validation; train (default) = one model set. */
  const char *mode = str_field(body, "training_mode");
  if (!mode || strcmp(mode, "train") == 0) {
    spec.kind = TML_JOB_TRAIN;
  } else if (strcmp(mode, "quick") == 0 || strcmp(mode, "full") == 0 || strcmp(mode, "sequential") == 0) {
    spec.kind = TML_JOB_VALIDATE;
    spec.mode = mode;
  } else {
    return srv_error(res, TML_EINVAL, "field 'training_mode' is '%.40s'; expected quick, full, sequential or train",
                     mode);
  }
  if (json_object_get(body, "days"))
    spec.days = json_number_value(json_object_get(body, "days"));
  if (json_object_get(body, "priority"))
    spec.priority = (int)json_integer_value(json_object_get(body, "priority"));
  /* Extra command flags, passed through the job's params. */
  json_t *params = json_object();
  static const struct {
    const char *field, *flag;
  } flags[] = {{"test_period_days", "test-period-days"},   {"min_train_days", "min-train-days"},
               {"train_window_days", "train-window-days"}, {"num_boost_round", "num-boost-round"},
               {"early_stopping_rounds", "early-stopping-rounds"}};
  for (size_t i = 0; i < TML_ARRAY_LEN(flags); i++) {
    json_t *v = json_object_get(body, flags[i].field);
    if (v)
      json_object_set(params, flags[i].flag, v);
  }
  if (spec.kind == TML_JOB_TRAIN && (json_object_get(params, "test-period-days") ||
                                     json_object_get(params, "min-train-days") ||
                                     json_object_get(params, "train-window-days") ||
                                     json_object_get(body, "use_expanding_window"))) {
    json_decref(params);
    return srv_error(res, TML_EINVAL, "fields 'test_period_days', 'min_train_days', 'train_window_days' and "
                                      "'use_expanding_window' apply to walk-forward validation: set "
                                      "'training_mode' to quick, full or sequential");
  }
  json_t *expanding = json_object_get(body, "use_expanding_window");
  if (expanding)
    json_object_set_new(params, "window", json_string(json_is_true(expanding) ? "expanding" : "fixed"));
  if (json_is_true(json_object_get(body, "force")))
    json_object_set_new(params, "force", json_true());
  char *ptext = json_object_size(params) ? json_dumps(params, JSON_COMPACT) : NULL;
  json_decref(params);
  spec.params = ptext;
  int64_t id = 0;
  bool existed = false;
  struct tml_job job;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_jobs_submit(js->q, &spec, &id, &existed, &err);
  if (!rc)
    rc = tml_jobs_get(js->q, id, &job, &err);
  pthread_mutex_unlock(&s->db_lock);
  free(ptext);
  if (rc == TML_ENOENT)
    return srv_error_http(res, 422, "ENOENT", "%s", err.msg); /* a symbol without candles: request is wrong */
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *o = json_object();
  json_object_set_new(o, "job_id", json_integer(id));
  char url[64];
  snprintf(url, sizeof(url), "/api/training/jobs/%" PRId64, id);
  json_object_set_new(o, "url", json_string(url));
  json_object_set_new(o, "existed", json_boolean(existed));
  json_object_set_new(o, "job", job_json(&job));
  return srv_json(res, existed ? 200 : 201, o);
}

/* ---- GET /api/training/jobs ---- */

int srv_h_jobs_list(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_job_filter f;
  tml_job_filter_init(&f);
  const char *v;
  char symbol[TML_SYMBOL_MAX];
  if ((v = srv_query(req, "status"))) {
    /* status=running or status=queued,running */
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s", v);
    char *save = NULL;
    for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
      enum tml_job_status st;
      if (tml_job_status_parse(tok, &st, &err))
        return srv_error(res, TML_EINVAL, "query parameter 'status': %s", err.msg);
      f.status_mask |= 1u << st;
    }
  }
  if ((v = srv_query(req, "kind"))) {
    enum tml_job_kind k;
    if (tml_job_kind_parse(v, &k, &err))
      return srv_error(res, TML_EINVAL, "query parameter 'kind': %s", err.msg);
    f.kind = (int)k;
  }
  if ((v = srv_query(req, "symbol"))) {
    if (srv_symbol(v, symbol, sizeof(symbol), &err))
      return srv_error(res, TML_EINVAL, "query parameter 'symbol': %s", err.msg);
    f.symbol = symbol;
  }
  if ((v = srv_query(req, "source"))) {
    if (strlen(v) > 15)
      return srv_error(res, TML_EINVAL, "query parameter 'source' is too long (at most 15 characters)");
    f.source = v;
  }
  int64_t n64;
  if ((v = srv_query(req, "limit"))) {
    if (tml_parse_int64_str(v, &n64) || n64 < 1 || n64 > 1000)
      return srv_error(res, TML_EINVAL, "query parameter 'limit' is '%.20s'; expected an integer between 1 and 1000",
                       v);
    f.limit = (size_t)n64;
  }
  if ((v = srv_query(req, "offset"))) {
    if (tml_parse_int64_str(v, &n64) || n64 < 0 || n64 > 100000000)
      return srv_error(res, TML_EINVAL, "query parameter 'offset' is '%.20s'; expected an integer >= 0", v);
    f.offset = (size_t)n64;
  }
  if ((v = srv_query(req, "order"))) {
    if (strcmp(v, "oldest") != 0 && strcmp(v, "newest") != 0)
      return srv_error(res, TML_EINVAL, "query parameter 'order' is '%.20s'; expected newest or oldest", v);
    f.oldest_first = strcmp(v, "oldest") == 0;
  }
  struct tml_job *jobs = NULL;
  size_t n = 0, total = 0;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_jobs_list(js->q, &f, &jobs, &n, &total, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, job_json(&jobs[i]));
  free(jobs);
  json_t *o = json_object();
  json_object_set_new(o, "jobs", arr);
  json_object_set_new(o, "total", json_integer((json_int_t)total));
  json_object_set_new(o, "limit", json_integer((json_int_t)(f.limit ? f.limit : 100)));
  json_object_set_new(o, "offset", json_integer((json_int_t)f.offset));
  return srv_json(res, 200, o);
}

/* ---- GET /api/training/jobs/{id} ---- */

#define LOG_TAIL_BYTES 65536 /* read for fold lines; only the last LOG_TAIL_LINES are returned */
#define LOG_TAIL_LINES 100

/* Folds of a finished validation stage from its report.json: {stage, fold, metrics, baseline}. The
 * folder comes from the job's own output, never from the request. */
static void report_folds(const char *stage, const char *report_dir, json_t *folds) {
  char path[TML_PATH_MAX];
  if (tml_path_fmt(path, sizeof(path), NULL, "%s/report.json", report_dir))
    return;
  json_t *rep = json_load_file(path, 0, NULL);
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(rep, "folds"), i, f) {
    json_t *o = json_object();
    json_object_set_new(o, "stage", json_string(stage));
    json_object_set(o, "fold", json_object_get(f, "fold"));
    json_object_set_new(o, "done", json_true());
    json_object_set(o, "test_from", json_object_get(f, "test_from"));
    json_object_set(o, "test_to", json_object_get(f, "test_to"));
    json_object_set(o, "metrics", json_object_get(f, "metrics"));
    json_object_set(o, "baseline", json_object_get(f, "baseline"));
    json_array_append_new(folds, o);
  }
  json_decref(rep);
}

/* Last bytes of the job's log as lines, and its folds so far: "<stage>: fold K of N done" lines that
 * validation prints while it runs, replaced by the folds' metrics from the reports once its JSON
 * summary ({"stages":[{"report_dir":...}]}) is in the log. */
static bool has_fold_metrics(json_t *folds) {
  size_t i;
  json_t *f;
  json_array_foreach(folds, i, f) if (json_object_get(f, "metrics")) return true;
  return false;
}

static void log_tail(const struct tml_server *s, int64_t id, json_t *o) {
  char path[TML_PATH_MAX];
  json_t *lines = json_array(), *folds = json_array(), *reported = json_array();
  if (tml_job_log_path(s->opts.paths->logs, id, path, sizeof(path), NULL) == 0) {
    FILE *fp = fopen(path, "rb");
    if (fp) {
      char buf[LOG_TAIL_BYTES + 1];
      long start = 0;
      if (fseek(fp, 0, SEEK_END) == 0) {
        long end = ftell(fp);
        start = end > LOG_TAIL_BYTES ? end - LOG_TAIL_BYTES : 0;
      }
      fseek(fp, start, SEEK_SET);
      size_t n = fread(buf, 1, LOG_TAIL_BYTES, fp);
      fclose(fp);
      buf[n] = '\0';
      char *p = buf;
      if (start > 0) { /* drop the partial first line */
        char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + n;
      }
      while (*p) {
        char *nl = strchr(p, '\n');
        if (nl)
          *nl = '\0';
        char *cr = strrchr(p, '\r'); /* a terminal progress line: keep what was written last */
        if (cr)
          p = cr + 1;
        json_t *line = json_stringn(p, strlen(p)); /* NULL for invalid UTF-8 */
        json_array_append_new(lines, line ? line : json_string("<invalid UTF-8>"));
        char stage[16];
        size_t k = 0, nf = 0;
        if (strncmp(p, "fold-metrics {", 14) == 0) {
          /* validate's per-fold metrics (value and baseline), printed as each fold finishes */
          json_t *fm = json_loads(p + 13, 0, NULL);
          if (json_is_object(fm)) {
            json_object_set_new(fm, "done", json_true());
            json_array_append(folds, fm);
          }
          json_decref(fm);
        } else if (sscanf(p, " %15[a-z]: fold %zu of %zu done", stage, &k, &nf) == 3 && !has_fold_metrics(folds)) {
          json_t *f = json_object();
          json_object_set_new(f, "stage", json_string(stage));
          json_object_set_new(f, "fold", json_integer((json_int_t)k));
          json_object_set_new(f, "of", json_integer((json_int_t)nf));
          json_object_set_new(f, "done", json_true());
          json_array_append_new(folds, f);
        } else if (p[0] == '{' && strstr(p, "\"report_dir\"")) {
          json_t *sum = json_loads(p, 0, NULL);
          size_t i;
          json_t *st;
          json_array_foreach(json_object_get(sum, "stages"), i, st) {
            const char *dir = json_string_value(json_object_get(st, "report_dir"));
            const char *name = json_string_value(json_object_get(st, "stage"));
            if (dir && *dir)
              report_folds(name ? name : "", dir, reported);
          }
          json_decref(sum);
        }
        if (!nl)
          break;
        p = nl + 1;
      }
    }
  }
  while (json_array_size(lines) > LOG_TAIL_LINES)
    json_array_remove(lines, 0);
  json_object_set_new(o, "log_tail", lines);
  if (json_array_size(reported)) {
    json_object_set_new(o, "folds", reported);
    json_decref(folds);
  } else {
    json_object_set_new(o, "folds", folds);
    json_decref(reported);
  }
}

int srv_h_job_get(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  int64_t id = 0;
  int status = 0;
  if (parse_id(req->params[0], &id, res, &status))
    return status;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_job job;
  struct tml_job_attempt *att = NULL;
  size_t natt = 0;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_jobs_get(js->q, id, &job, &err);
  if (!rc && tml_jobs_attempts(js->q, id, &att, &natt, &err) != 0)
    natt = 0;
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *o = job_json(&job);
  json_t *arr = json_array();
  for (size_t i = 0; i < natt; i++) {
    json_t *a = json_object();
    char t[32];
    json_object_set_new(a, "attempt", json_integer(att[i].attempt));
    json_object_set_new(a, "worker_id", json_string(att[i].worker_id));
    tml_time_format(att[i].started_ms, t, sizeof(t));
    json_object_set_new(a, "started_at", json_string(t));
    if (att[i].finished_ms) {
      tml_time_format(att[i].finished_ms, t, sizeof(t));
      json_object_set_new(a, "finished_at", json_string(t));
    }
    json_object_set_new(a, "outcome", json_string(tml_job_status_name(att[i].outcome)));
    json_object_set_new(a, "exit_code", json_integer(att[i].exit_code));
    json_object_set_new(a, "error", json_string(att[i].error));
    json_array_append_new(arr, a);
  }
  free(att);
  json_object_set_new(o, "attempts_history", arr);
  log_tail(s, id, o);
  return srv_json(res, 200, o);
}

int srv_h_job_cancel(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  int64_t id = 0;
  int status = 0;
  if (parse_id(req->params[0], &id, res, &status))
    return status;
  if (json_object_size(req->body))
    return srv_error(res, TML_EINVAL, "the cancel route takes no fields; send an empty body");
  struct tml_error err;
  tml_error_init(&err);
  enum tml_job_status after;
  struct tml_job job;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_jobs_cancel(js->q, id, &after, &err);
  if (!rc)
    rc = tml_jobs_get(js->q, id, &job, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *o = json_object();
  json_object_set_new(o, "job_id", json_integer(id));
  json_object_set_new(o, "status", json_string(tml_job_status_name(after)));
  json_object_set_new(o, "job", job_json(&job));
  return srv_json(res, after == TML_JOB_CANCELLED ? 200 : 202, o);
}

/* ---- models ---- */

static json_t *model_json(const struct tml_model_row *r, int64_t now_ms) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_model_row_to_json(r, &b);
  json_t *o = json_from(&b);
  tml_buf_release(&b);
  if (!o)
    o = json_object();
  json_object_set_new(o, "age_seconds", json_integer((now_ms - r->created_ms) / 1000));
  return o;
}

int srv_h_models_list(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_registry_filter f = {NULL, NULL, 0, false};
  char symbol[TML_SYMBOL_MAX];
  const char *v;
  if ((v = srv_query(req, "symbol"))) {
    if (srv_symbol(v, symbol, sizeof(symbol), &err))
      return srv_error(res, TML_EINVAL, "query parameter 'symbol': %s", err.msg);
    f.symbol = symbol;
  }
  if ((v = srv_query(req, "interval")) && tml_interval_parse(v, &f.interval_ms, &err))
    return srv_error(res, TML_EINVAL, "query parameter 'interval': %s", err.msg);
  if ((v = srv_query(req, "active"))) {
    bool b;
    if (tml_parse_bool_str(v, &b))
      return srv_error(res, TML_EINVAL, "query parameter 'active' is '%.20s'; expected true or false", v);
    f.active_only = b;
  }
  struct tml_model_row *rows = NULL;
  size_t n = 0;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_registry_list(js->reg, &f, &rows, &n, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  int64_t now = tml_now_ms();
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(arr, model_json(&rows[i], now));
  tml_model_rows_free(rows, n);
  json_t *o = json_object();
  json_object_set_new(o, "models", arr);
  json_object_set_new(o, "total", json_integer((json_int_t)n));
  return srv_json(res, 200, o);
}

/* A JSON file of the model folder, or null (the folder name comes from the registry, not the user). */
static json_t *folder_json(const char *dir, const char *name) {
  char path[TML_PATH_MAX];
  if (tml_path_fmt(path, sizeof(path), NULL, "%s/%s", dir, name))
    return json_null();
  json_t *j = json_load_file(path, 0, NULL);
  return j ? j : json_null();
}

int srv_h_model_get(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  int64_t id = 0;
  int status = 0;
  if (parse_id(req->params[0], &id, res, &status))
    return status;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_model_row row;
  tml_model_row_init(&row);
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_registry_get(js->reg, id, &row, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *o = model_json(&row, tml_now_ms());
  json_object_set_new(o, "metadata", folder_json(row.path, "metadata.json"));
  json_object_set_new(o, "report", folder_json(row.path, "report.json"));
  tml_model_row_release(&row);
  return srv_json(res, 200, o);
}

int srv_h_model_activate(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  int64_t id = 0;
  int status = 0;
  if (parse_id(req->params[0], &id, res, &status))
    return status;
  if (json_object_size(req->body))
    return srv_error(res, TML_EINVAL, "the activate route takes no fields; send an empty body");
  struct tml_error err;
  tml_error_init(&err);
  struct tml_model_row row;
  tml_model_row_init(&row);
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_registry_activate(js->reg, id, &err);
  if (!rc)
    rc = tml_registry_get(js->reg, id, &row, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *o = json_object();
  json_object_set_new(o, "model", model_json(&row, tml_now_ms()));
  tml_model_row_release(&row);
  return srv_json(res, 200, o);
}

int srv_active_model_dir(struct tml_server *s, const char *symbol, int64_t interval_ms, char *dir, size_t dirsz,
                         struct tml_error *err) {
  struct srv_jobs_state *js = state(s);
  const char *strategy = tml_config_get(s->opts.cfg, "model.strategy");
  struct tml_model_row row;
  tml_model_row_init(&row);
  struct tml_model_row *rows = NULL;
  size_t n = 0;
  struct tml_registry_filter f = {strategy, symbol, interval_ms, false};
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_registry_active(js->reg, strategy, symbol, interval_ms, &row, err);
  if (rc == TML_ENOENT) {
    /* No active row: serve the newest set on disk only when the registry knows no set at all for the
     * symbol (models trained before the registry existed); an inactive set failed its gates. */
    int lrc = tml_registry_list(js->reg, &f, &rows, &n, NULL);
    if (lrc == 0 && n > 0) {
      tml_error_clear(err);
      rc = tml_error_set(err, TML_ENOENT,
                         "no active model for %s at %s: %zu version(s) registered but none active; activate one "
                         "with POST /api/models/{id}/activate",
                         symbol, tml_interval_name(interval_ms), n);
    } else if (lrc == 0) {
      tml_error_clear(err);
      rc = tml_modelset_find_latest(tml_config_get(s->opts.cfg, "model.models_dir"), strategy, symbol, interval_ms,
                                    dir, dirsz, err);
      pthread_mutex_unlock(&s->db_lock);
      tml_model_rows_free(rows, n);
      return rc;
    }
  }
  pthread_mutex_unlock(&s->db_lock);
  tml_model_rows_free(rows, n);
  if (!rc && (size_t)snprintf(dir, dirsz, "%s", row.path) >= dirsz)
    rc = tml_error_set(err, TML_EINVAL, "model folder path of model %" PRId64 " is too long", row.id);
  tml_model_row_release(&row);
  return rc;
}

/* ---- coverage ---- */

int srv_h_coverage(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_cov_opts co;
  int rc = tml_cov_opts_from_config(s->opts.cfg, &co, &err);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  int64_t default_interval = co.interval_ms;
  const char *v = srv_query(req, "interval");
  if (v && tml_interval_parse(v, &co.interval_ms, &err))
    return srv_error(res, TML_EINVAL, "query parameter 'interval': %s", err.msg);
  struct tml_cov_row *rows = NULL;
  size_t n = 0;
  int64_t at_ms = 0;
  if (co.interval_ms != default_interval || !cov_snapshot(js, &rows, &n, &at_ms)) {
    /* Another interval, or no snapshot yet: compute now on connections of this request, so the shared
     * ones stay free for the other routes. */
    struct tml_store *store = NULL;
    struct tml_jobs *q = NULL;
    rc = tml_store_open(s->opts.paths->db, &store, &err);
    if (!rc)
      rc = tml_jobs_open(s->opts.paths->db, tml_jobs_options(js->q), &q, &err);
    if (!rc)
      rc = tml_coverage_compute(store, q, &co, &rows, &n, &err);
    tml_jobs_close(q);
    tml_store_close(store);
    at_ms = tml_now_ms();
    if (rc)
      return srv_error(res, rc, "%s", err.msg);
  }
  json_t *arr = json_array();
  json_t *by_reason = json_object();
  size_t nblocked = 0;
  for (size_t i = 0; i < n; i++) {
    const struct tml_cov_row *r = &rows[i];
    json_t *o = json_object();
    char t[32];
    json_object_set_new(o, "symbol", json_string(r->symbol));
    json_object_set_new(o, "stored", json_boolean(r->stored));
    json_object_set_new(o, "queued", json_boolean(r->queued));
    json_object_set_new(o, "rows", json_integer((json_int_t)r->rows));
    if (r->rows) {
      tml_time_format(r->first_ms, t, sizeof(t));
      json_object_set_new(o, "first", json_string(t));
      tml_time_format(r->last_ms, t, sizeof(t));
      json_object_set_new(o, "last", json_string(t));
    }
    json_object_set_new(o, "history_days", json_real(r->history_days));
    json_object_set_new(o, "coverage_pct", json_real(r->coverage_pct));
    json_object_set_new(o, "has_model", json_boolean(r->has_model));
    json_object_set_new(o, "model_version", r->model_version[0] ? json_string(r->model_version) : json_null());
    json_object_set_new(o, "model_age_days", r->model_age_days >= 0 ? json_real(r->model_age_days) : json_null());
    json_object_set_new(o, "job_id", r->job_id ? json_integer(r->job_id) : json_null());
    json_object_set_new(o, "verdict", json_string(tml_cov_verdict_name(r->verdict)));
    json_object_set_new(o, "blocked", json_boolean(r->blocked));
    json_object_set_new(o, "reason", json_string(r->reason));
    json_array_append_new(arr, o);
    if (r->blocked) {
      const char *vn = tml_cov_verdict_name(r->verdict);
      json_object_set_new(by_reason, vn, json_integer(json_integer_value(json_object_get(by_reason, vn)) + 1));
      nblocked++;
    }
  }
  free(rows);
  json_t *o = json_object();
  json_object_set_new(o, "interval", json_string(tml_interval_name(co.interval_ms)));
  char at[32];
  tml_time_format(at_ms, at, sizeof(at));
  json_object_set_new(o, "computed_at", json_string(at));
  json_object_set_new(o, "symbols", arr);
  json_object_set_new(o, "blocked", json_integer((json_int_t)nblocked));
  json_object_set_new(o, "blocked_by_reason", by_reason);
  return srv_json(res, 200, o);
}

/* ---- the new-symbol queue ---- */

static json_t *queue_json(const struct tml_symqueue_entry *e, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_object();
    char t[32];
    json_object_set_new(o, "symbol", json_string(e[i].symbol));
    tml_time_format(e[i].added_ms, t, sizeof(t));
    json_object_set_new(o, "added_at", json_string(t));
    json_object_set_new(o, "attempts", json_integer(e[i].attempts));
    json_object_set_new(o, "last_error", json_string(e[i].last_error));
    if (e[i].next_check_ms) {
      tml_time_format(e[i].next_check_ms, t, sizeof(t));
      json_object_set_new(o, "next_check", json_string(t));
    } else {
      json_object_set_new(o, "next_check", json_null());
    }
    json_object_set_new(o, "job_id", e[i].job_id ? json_integer(e[i].job_id) : json_null());
    json_array_append_new(arr, o);
  }
  return arr;
}

static int queue_answer(struct tml_server *s, struct srv_response *res, int status, json_t *extra) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  struct tml_symqueue_entry *e = NULL;
  size_t n = 0;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_symqueue_list(js->q, &e, &n, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc) {
    json_decref(extra);
    return srv_error(res, rc, "%s", err.msg);
  }
  json_t *o = extra ? extra : json_object();
  json_object_set_new(o, "queue", queue_json(e, n));
  json_object_set_new(o, "total", json_integer((json_int_t)n));
  free(e);
  return srv_json(res, status, o);
}

int srv_h_queue_get(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  (void)req;
  return queue_answer(s, res, 200, NULL);
}

static const struct field queue_fields[] = {
    {"symbol", FT_STRING, 0, 0},
    {"symbols", FT_STRINGS, 1, 1000},
    {"all", FT_BOOL, 0, 0},
};

/* Collects "symbol"/"symbols" of a queue request into normalized names. */
static int queue_symbols(json_t *body, char (*out)[TML_SYMBOL_MAX], const char **ptrs, size_t max, size_t *n,
                         struct tml_error *err) {
  *n = 0;
  if (check_fields(body, queue_fields, TML_ARRAY_LEN(queue_fields), err))
    return err->code;
  const char *one = json_string_value(json_object_get(body, "symbol"));
  json_t *arr = json_object_get(body, "symbols");
  size_t total = (one ? 1 : 0) + json_array_size(arr);
  if (total > max)
    return tml_error_set(err, TML_EINVAL, "too many symbols (%zu); at most %zu per request", total, max);
  for (size_t i = 0; i < total; i++) {
    const char *raw = one && i == 0 ? one : json_string_value(json_array_get(arr, i - (one ? 1 : 0)));
    if (srv_symbol(raw, out[i], TML_SYMBOL_MAX, err)) {
      tml_error_prefix(err, "field 'symbol': ");
      return TML_EINVAL;
    }
    ptrs[i] = out[i];
  }
  *n = total;
  return 0;
}

#define QUEUE_MAX 256

int srv_h_queue_post(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  char names[QUEUE_MAX][TML_SYMBOL_MAX];
  const char *ptrs[QUEUE_MAX];
  size_t n = 0;
  if (queue_symbols(req->body, names, ptrs, QUEUE_MAX, &n, &err))
    return srv_error(res, err.code, "%s", err.msg);
  if (json_object_get(req->body, "all"))
    return srv_error(res, TML_EINVAL, "field 'all' is only for DELETE /api/queue");
  if (n == 0)
    return srv_error(res, TML_EINVAL, "missing field 'symbol' or 'symbols': name the symbols to queue");
  size_t added = 0;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_symqueue_add(js->q, ptrs, n, &added, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *o = json_object();
  json_object_set_new(o, "added", json_integer((json_int_t)added));
  return queue_answer(s, res, added ? 201 : 200, o);
}

int srv_h_queue_delete(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = state(s);
  struct tml_error err;
  tml_error_init(&err);
  char names[QUEUE_MAX][TML_SYMBOL_MAX];
  const char *ptrs[QUEUE_MAX];
  size_t n = 0;
  if (queue_symbols(req->body, names, ptrs, QUEUE_MAX, &n, &err))
    return srv_error(res, err.code, "%s", err.msg);
  bool all = json_is_true(json_object_get(req->body, "all"));
  if (all == (n > 0))
    return srv_error(res, TML_EINVAL, "name the symbols to remove ('symbol' or 'symbols') or send {\"all\":true}, "
                                      "not both");
  size_t removed = 0, one = 0;
  int rc = 0;
  pthread_mutex_lock(&s->db_lock);
  if (all)
    rc = tml_symqueue_remove(js->q, NULL, &removed, &err);
  for (size_t i = 0; !rc && i < n; i++) {
    rc = tml_symqueue_remove(js->q, ptrs[i], &one, &err);
    removed += one;
  }
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *o = json_object();
  json_object_set_new(o, "removed", json_integer((json_int_t)removed));
  return queue_answer(s, res, 200, o);
}

/* ---- schedule ---- */

int srv_h_schedule(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  (void)req;
  struct srv_jobs_state *js = state(s);
  const struct tml_config *cfg = s->opts.cfg;
  const struct tml_cron *cron = tml_scheduler_cron(js->sched);
  int64_t now = tml_now_ms(), t = now;
  json_t *o = json_object(), *next = json_array();
  char buf[32];
  for (int i = 0; i < 5; i++) {
    if (tml_cron_next(cron, t, &t))
      break;
    tml_time_format(t, buf, sizeof(buf));
    json_array_append_new(next, json_string(buf));
  }
  json_object_set_new(o, "cron", json_string(cron->expr));
  json_object_set_new(o, "timezone", json_string("UTC"));
  tml_time_format(now, buf, sizeof(buf));
  json_object_set_new(o, "now", json_string(buf));
  json_object_set_new(o, "next_runs", next);
  int64_t slot = 0;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_scheduler_last_slot(js->q, SCHEDULE_NAME, &slot, NULL);
  pthread_mutex_unlock(&s->db_lock);
  if (rc == 0 && slot) {
    tml_time_format(slot, buf, sizeof(buf));
    json_object_set_new(o, "last_slot", json_string(buf));
  } else {
    json_object_set_new(o, "last_slot", json_null());
  }
  if (js->last_sched_run_ms) {
    tml_time_format(js->last_sched_run_ms, buf, sizeof(buf));
    json_object_set_new(o, "last_run_in_this_process", json_string(buf));
  } else {
    json_object_set_new(o, "last_run_in_this_process", json_null());
  }
  json_t *tasks = json_array();
  for (size_t i = 0; i < s->ntasks; i++) {
    json_t *tj = json_object();
    json_object_set_new(tj, "name", json_string(s->tasks[i].name));
    json_object_set_new(tj, "period_seconds", json_real((double)s->tasks[i].period_ms / 1000.0));
    json_array_append_new(tasks, tj);
  }
  json_object_set_new(o, "housekeeping", tasks);
  json_object_set_new(o, "auto_train_new_symbols", json_boolean(tml_config_bool(cfg, "model.auto_train_new_symbols")));
  json_t *rot = json_object();
  json_object_set_new(rot, "enabled", json_boolean(tml_config_bool(cfg, "operations.model_rotation.enabled")));
  json_object_set_new(rot, "retrain_frequency_days",
                      json_integer(tml_config_int(cfg, "operations.model_rotation.retrain_frequency_days")));
  json_object_set_new(o, "rotation", rot);
  json_object_set_new(o, "model_retention_days", json_integer(tml_config_int(cfg, "model.retention_days")));
  return srv_json(res, 200, o);
}

/* ---- symbols in the candle store (for the dashboard's start form) ---- */

int srv_h_symbols(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  (void)req;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_series_info *info = NULL;
  size_t n = 0;
  pthread_mutex_lock(&s->db_lock);
  int rc = tml_store_list(s->store, &info, &n, &err);
  pthread_mutex_unlock(&s->db_lock);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_object();
    char t[32];
    json_object_set_new(o, "symbol", json_string(info[i].symbol));
    json_object_set_new(o, "interval", json_string(tml_interval_name(info[i].interval_ms)));
    json_object_set_new(o, "rows", json_integer((json_int_t)info[i].rows));
    tml_time_format(info[i].first_ms, t, sizeof(t));
    json_object_set_new(o, "first", json_string(t));
    tml_time_format(info[i].last_ms, t, sizeof(t));
    json_object_set_new(o, "last", json_string(t));
    json_array_append_new(arr, o);
  }
  free(info);
  json_t *o = json_object();
  json_object_set_new(o, "series", arr);
  return srv_json(res, 200, o);
}
