/* Observability: /health (JSON status for probes) and /metrics (Prometheus text): every figure the
 * daemon exposes is produced here, from the job facts (workers.c), the registry, the coverage
 * snapshot and the per-route request counters the dispatcher records (http.c). */
#include "srv.h"

#include <math.h>
#include <stddef.h>

#include "trademl/coverage.h"
#include "trademl/db.h"
#include "trademl/fsutil.h"
#include "trademl/live.h"
#include "trademl/registry.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

/* ---- /health ---- */

/* Through the job table's connection (either backend); a lost PostgreSQL connection is retried by one
 * bounded attempt at most every 2 s, so a probe never waits for the reconnect budget. */
static bool db_reachable(struct tml_server *s) {
  pthread_mutex_lock(&s->db_lock);
  bool ok = s->jobs && tml_jobs_ping(s->jobs->q);
  pthread_mutex_unlock(&s->db_lock);
  return ok;
}

#define HEARTBEAT_MAX_AGE_S 30.0

/* Seconds from then to now; 0 when then is newer (another thread stamped it after now was read). */
static double since_s(int64_t now, int64_t then) {
  return then >= now ? 0.0 : (double)(now - then) / 1000.0;
}

/* The live loop's figures for /health and /metrics: the status of the loop of this process, else the
 * one another process persisted (false when no loop ever ran at the live interval). */
static bool live_facts(struct tml_server *s, struct tml_live_status *st, bool *here) {
  struct tml_error err;
  tml_error_init(&err);
  if (srv_live_status(s, 0, st, here, &err) != 0) {
    tml_live_status_release(st);
    memset(st, 0, sizeof(*st));
    return false;
  }
  return true;
}

/* Seconds since the loop's last tick (wall clock); negative when it never ticked. The request read its
 * clock before the status, so a tick in between is newer than now: its age is 0, not "never ticked". */
static double live_tick_age(const struct tml_live_status *st, int64_t now) {
  int64_t last = st->counters.last_tick_wall_ms;
  if (last <= 0)
    return -1.0;
  return since_s(now, last);
}

/* A loop is stalled when it did not tick for this long (a tick syncs every symbol: slow exchanges and
 * retries can make one long, so the bound is generous). */
#define LIVE_STALL_S 120.0

static json_t *live_health(struct tml_server *s, int64_t now, bool *unhealthy) {
  json_t *j = json_object();
  struct tml_live_status st;
  bool here = false, ended = false;
  bool in_process = srv_live_in_process(s, &ended);
  bool have = live_facts(s, &st, &here);
  double age = have ? live_tick_age(&st, now) : -1.0;
  const char *state;
  if (in_process)
    state = ended ? "failed" : age < 0 ? "starting" : age > LIVE_STALL_S ? "stalled" : "running";
  else if (have && st.running)
    state = age > LIVE_STALL_S ? "stalled" : "external"; /* `trademl live` in another process */
  else
    state = "off";
  *unhealthy = in_process && (ended || age > LIVE_STALL_S);
  json_object_set_new(j, "enabled", json_boolean(in_process));
  json_object_set_new(j, "status_known", json_boolean(have)); /* GET /api/live has a status to show */
  json_object_set_new(j, "state", json_string(state));
  json_object_set_new(j, "last_tick_age_seconds", age >= 0 ? json_real(age) : json_null());
  json_object_set_new(j, "max_tick_age_seconds", json_real(LIVE_STALL_S));
  if (have) {
    json_object_set_new(j, "pid", json_integer(st.pid));
    json_object_set_new(j, "ticks", json_integer((json_int_t)st.counters.ticks));
    json_object_set_new(j, "predictions", json_integer((json_int_t)st.counters.predictions));
    json_object_set_new(j, "tick_lag_seconds", json_real(st.counters.tick_lag_s));
    json_t *by = json_object();
    for (int k = 0; k < TML_LIVE_STATE_COUNT; k++)
      json_object_set_new(by, tml_live_state_name((enum tml_live_state)k), json_integer((json_int_t)st.by_state[k]));
    json_object_set_new(j, "symbols", by);
  }
  tml_live_status_release(&st);
  return j;
}

int srv_h_health(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  (void)req;
  int64_t now = tml_now_ms();
  double age = since_s(now, atomic_load(&s->tick_ms));
  bool db = db_reachable(s);
  struct srv_job_facts f;
  srv_job_facts(s, &f);
  bool stopping = atomic_load(&s->stopping);
  bool live_bad = false;
  json_t *live = live_health(s, now, &live_bad);
  /* The database unreachable: "degraded" (every process reconnects with backoff and resumes; nothing is
   * lost), still 503 so that a load balancer sends requests elsewhere meanwhile. */
  const char *status = age > HEARTBEAT_MAX_AGE_S || live_bad ? "unhealthy"
                       : !db                                 ? "degraded"
                       : stopping                            ? "stopping"
                                                             : "ok";
  json_t *j = json_object();
  json_object_set_new(j, "status", json_string(status));
  json_object_set_new(j, "version", json_string(TML_VERSION));
  json_object_set_new(j, "uptime_seconds", json_integer((now - s->started_ms) / 1000));
  json_t *sch = json_object();
  json_object_set_new(sch, "heartbeat_age_seconds", json_real(age));
  json_object_set_new(sch, "max_age_seconds", json_real(HEARTBEAT_MAX_AGE_S));
  json_object_set_new(j, "scheduler", sch);
  json_t *dbj = json_object();
  json_object_set_new(dbj, "reachable", json_boolean(db));
  /* /health answers without the token, so it names the file (or the PostgreSQL database), never its
   * absolute path, host or credentials. */
  char shown[TML_PATH_MAX];
  tml_db_redact(s->opts.paths->db, shown, sizeof(shown));
  shown[strcspn(shown, "?")] = '\0';
  const char *slash = strrchr(shown, '/');
  json_object_set_new(dbj, "backend", json_string(tml_db_kind_name(tml_db_kind_of(s->opts.paths->db))));
  json_object_set_new(dbj, "file", json_string(slash ? slash + 1 : shown));
  json_object_set_new(j, "database", dbj);
  json_t *w = json_object();
  json_object_set_new(w, "busy", json_integer(f.workers_busy));
  json_object_set_new(w, "idle", json_integer(f.workers_total - f.workers_busy));
  json_object_set_new(w, "total", json_integer(f.workers_total));
  json_object_set_new(j, "workers", w);
  json_object_set_new(j, "queue_depth", json_integer(f.queue_depth));
  if (f.last_success_ms) {
    char t[32];
    tml_time_format(f.last_success_ms, t, sizeof(t));
    json_object_set_new(j, "last_successful_training", json_string(t));
  } else {
    json_object_set_new(j, "last_successful_training", json_null());
  }
  json_object_set_new(j, "live", live);
  return srv_json(res, strcmp(status, "unhealthy") == 0 || strcmp(status, "degraded") == 0 ? 503 : 200, j);
}

/* ---- /metrics (Prometheus text exposition format 0.0.4) ---- */

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
  struct srv_jobs_state *js = s->jobs;
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
  srv_cov_snapshot(js, &cov, &ncov, &cov_ms);
  tml_buf_printf(b, "# HELP trademl_active_models Active model versions.\n# TYPE trademl_active_models gauge\n"
                    "trademl_active_models %zu\n",
                 n);
  /* The two model ages of docs/registry.md: since training, and of the newest candle trained on. */
  static const char *const age_help[2] = {
      "# HELP trademl_model_age_seconds Time since the active model was trained (registered right after "
      "training), by symbol.\n# TYPE trademl_model_age_seconds gauge\n",
      "# HELP trademl_model_data_age_seconds Age of the newest candle the active model was trained on, by "
      "symbol.\n# TYPE trademl_model_data_age_seconds gauge\n"};
  for (int kind = 0; kind < 2; kind++) {
    tml_buf_puts(b, age_help[kind]);
    for (size_t i = 0; i < n; i++) {
      double days = kind == 0 ? tml_model_age_days(&rows[i], now_ms) : tml_model_data_age_days(&rows[i], now_ms);
      if (isnan(days))
        continue;
      tml_buf_puts(b, kind == 0 ? "trademl_model_age_seconds{symbol=\"" : "trademl_model_data_age_seconds{symbol=\"");
      label(b, rows[i].key);
      tml_buf_printf(b, "\",interval=\"%s\",strategy=\"", tml_interval_name(rows[i].interval_ms) ?
                                                               tml_interval_name(rows[i].interval_ms) : "?");
      label(b, rows[i].strategy);
      tml_buf_printf(b, "\"} %.0f\n", days * 86400.0);
    }
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

static void metric_value(struct tml_buf *b, double v) {
  if (isnan(v))
    tml_buf_puts(b, "NaN\n");
  else
    tml_buf_printf(b, "%.9g\n", v);
}

void srv_metrics_live(struct tml_server *s, struct tml_buf *b, int64_t now_ms) {
  struct srv_sse_stats sse;
  srv_live_sse_stats(s, &sse);
  tml_buf_printf(b, "# HELP trademl_sse_subscribers Clients connected to /api/predictions/stream.\n"
                    "# TYPE trademl_sse_subscribers gauge\ntrademl_sse_subscribers %zu\n"
                    "# HELP trademl_sse_events_total Predictions published on the stream.\n"
                    "# TYPE trademl_sse_events_total counter\ntrademl_sse_events_total %" PRIu64 "\n"
                    "# HELP trademl_sse_dropped_total Events dropped for subscribers whose queue was full.\n"
                    "# TYPE trademl_sse_dropped_total counter\ntrademl_sse_dropped_total %" PRIu64 "\n",
                 sse.subscribers, sse.events, sse.dropped);
  struct tml_live_status st;
  bool here = false, ended = false;
  bool in_process = srv_live_in_process(s, &ended);
  bool have = live_facts(s, &st, &here);
  tml_buf_printf(b, "# HELP trademl_live_loop_running 1 while a live loop runs (in this process or another).\n"
                    "# TYPE trademl_live_loop_running gauge\ntrademl_live_loop_running{process=\"%s\"} %d\n",
                 in_process ? "daemon" : "external", have && (in_process ? !ended : st.running) ? 1 : 0);
  if (!have)
    return;
  const struct tml_live_counters *c = &st.counters;
  tml_buf_puts(b, "# HELP trademl_live_symbols Live symbols by state.\n# TYPE trademl_live_symbols gauge\n");
  for (int k = 0; k < TML_LIVE_STATE_COUNT; k++)
    tml_buf_printf(b, "trademl_live_symbols{state=\"%s\"} %zu\n", tml_live_state_name((enum tml_live_state)k),
                   st.by_state[k]);
  static const struct {
    const char *name, *help;
    size_t off;
  } counters[] = {
      {"ticks", "Live loop iterations.", offsetof(struct tml_live_counters, ticks)},
      {"predictions", "Predictions stored by the loop (backfill included).",
       offsetof(struct tml_live_counters, predictions)},
      {"backfilled", "Predictions for candles that closed while the loop was down.",
       offsetof(struct tml_live_counters, backfilled)},
      {"model_loads", "Model loads (first loads included).", offsetof(struct tml_live_counters, loads)},
      {"model_reloads", "Model reloads after an activation.", offsetof(struct tml_live_counters, reloads)},
      {"exchange_errors", "Failed exchange requests of the loop.", offsetof(struct tml_live_counters, exchange_errors)},
      {"coverage_checks", "Coverage timer runs.", offsetof(struct tml_live_counters, coverage_checks)},
      {"universe_refreshes", "Universe timer runs.", offsetof(struct tml_live_counters, universe_refreshes)},
      {"jobs_submitted", "Train/retrain jobs the loop submitted.", offsetof(struct tml_live_counters, jobs_submitted)},
      {"outcomes_resolved", "Predictions whose outcome is known.", offsetof(struct tml_live_counters, resolved)},
  };
  for (size_t i = 0; i < TML_ARRAY_LEN(counters); i++) {
    uint64_t v;
    memcpy(&v, (const char *)c + counters[i].off, sizeof(v));
    tml_buf_printf(b, "# HELP trademl_live_%s_total %s\n# TYPE trademl_live_%s_total counter\n"
                      "trademl_live_%s_total %" PRIu64 "\n",
                   counters[i].name, counters[i].help, counters[i].name, counters[i].name, v);
  }
  tml_buf_printf(b, "# HELP trademl_live_tick_lag_seconds How late the last candle's predictions were after its close"
                    " became available.\n# TYPE trademl_live_tick_lag_seconds gauge\ntrademl_live_tick_lag_seconds %.3f\n",
                 c->tick_lag_s);
  double age = live_tick_age(&st, now_ms);
  tml_buf_puts(b, "# HELP trademl_live_last_tick_age_seconds Seconds since the loop's last tick (-1: none yet).\n"
                  "# TYPE trademl_live_last_tick_age_seconds gauge\ntrademl_live_last_tick_age_seconds ");
  metric_value(b, age);
  tml_buf_puts(b, "# HELP trademl_live_quality Rolling live metric per symbol and head over the last resolved "
                  "predictions, beside the walk-forward out-of-sample mean (source=\"oos\").\n"
                  "# TYPE trademl_live_quality gauge\n");
  for (size_t i = 0; i < st.nsymbols; i++) {
    const struct tml_live_symbol *y = &st.symbols[i];
    for (int h = 0; h < TML_HEAD_COUNT; h++) {
      const struct tml_live_head_quality *q = &y->quality[h];
      if (q->n == 0)
        continue;
      const struct {
        const char *metric, *source;
        double v;
      } m[] = {{"accuracy", "live", q->accuracy}, {"logloss", "live", q->logloss}, {"rmse", "live", q->rmse},
               {"accuracy", "oos", q->oos_accuracy}, {"logloss", "oos", q->oos_logloss}, {"rmse", "oos", q->oos_rmse}};
      for (size_t k = 0; k < TML_ARRAY_LEN(m); k++) {
        if (isnan(m[k].v))
          continue;
        tml_buf_puts(b, "trademl_live_quality{symbol=\"");
        label(b, y->symbol);
        tml_buf_printf(b, "\",head=\"%s\",metric=\"%s\",source=\"%s\"} ", tml_head_name((enum tml_head)h), m[k].metric,
                       m[k].source);
        metric_value(b, m[k].v);
      }
    }
  }
  tml_buf_puts(b, "# HELP trademl_live_quality_resolved Resolved predictions the live metrics are computed over.\n"
                  "# TYPE trademl_live_quality_resolved gauge\n");
  for (size_t i = 0; i < st.nsymbols; i++) {
    for (int h = 0; h < TML_HEAD_COUNT; h++) {
      if (st.symbols[i].quality[h].n == 0)
        continue;
      tml_buf_puts(b, "trademl_live_quality_resolved{symbol=\"");
      label(b, st.symbols[i].symbol);
      tml_buf_printf(b, "\",head=\"%s\"} %zu\n", tml_head_name((enum tml_head)h), st.symbols[i].quality[h].n);
    }
  }
  tml_live_status_release(&st);
}

int srv_h_metrics(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  (void)req;
  struct tml_buf *b = &res->body;
  struct srv_job_facts f;
  srv_job_facts(s, &f);
  int64_t now = tml_now_ms();
  tml_buf_puts(b, "# HELP trademl_up 1 while the daemon serves.\n# TYPE trademl_up gauge\ntrademl_up 1\n");
  tml_buf_printf(b, "# HELP trademl_scheduler_heartbeat_age_seconds Seconds since the last housekeeping tick.\n"
                    "# TYPE trademl_scheduler_heartbeat_age_seconds gauge\n"
                    "trademl_scheduler_heartbeat_age_seconds %.3f\n",
                 since_s(now, atomic_load(&s->tick_ms)));
  tml_buf_puts(b, "# HELP trademl_jobs Jobs by status.\n# TYPE trademl_jobs gauge\n");
  for (int i = 0; i < TML_JOB_STATUS_COUNT; i++)
    tml_buf_printf(b, "trademl_jobs{status=\"%s\"} %" PRId64 "\n", tml_job_status_name((enum tml_job_status)i),
                   f.by_status[i]);
  tml_buf_printf(b, "# HELP trademl_queue_depth Jobs waiting to run.\n# TYPE trademl_queue_depth gauge\n"
                    "trademl_queue_depth %" PRId64 "\n",
                 f.queue_depth);
  tml_buf_printf(b, "# HELP trademl_workers Worker processes by state.\n# TYPE trademl_workers gauge\n"
                    "trademl_workers{state=\"busy\"} %d\ntrademl_workers{state=\"idle\"} %d\n",
                 f.workers_busy, f.workers_total - f.workers_busy);
  tml_buf_puts(b, "# HELP trademl_job_duration_seconds Wall time of finished jobs.\n"
                  "# TYPE trademl_job_duration_seconds histogram\n");
  for (size_t i = 0; i < 10; i++)
    tml_buf_printf(b, "trademl_job_duration_seconds_bucket{le=\"%g\"} %" PRId64 "\n", srv_duration_bounds[i],
                   f.duration_buckets[i]);
  tml_buf_printf(b, "trademl_job_duration_seconds_bucket{le=\"+Inf\"} %" PRId64 "\n", f.duration_count);
  tml_buf_printf(b, "trademl_job_duration_seconds_sum %.3f\ntrademl_job_duration_seconds_count %" PRId64 "\n",
                 f.duration_sum, f.duration_count);
  tml_buf_printf(b, "# HELP trademl_training_runs_total Training runs finished.\n"
                    "# TYPE trademl_training_runs_total counter\ntrademl_training_runs_total %" PRId64 "\n"
                    "# HELP trademl_training_runs_failed_total Training runs that failed.\n"
                    "# TYPE trademl_training_runs_failed_total counter\ntrademl_training_runs_failed_total %" PRId64
                    "\n",
                 f.runs_total, f.runs_failed);
  srv_metrics_models(s, b, now);
  srv_metrics_live(s, b, now);
  tml_buf_puts(b, "# HELP trademl_http_requests_total HTTP requests by route and status code.\n"
                  "# TYPE trademl_http_requests_total counter\n");
  pthread_mutex_lock(&s->stats_lock);
  for (size_t r = 0; r <= srv_nroutes; r++) {
    const char *name = r < srv_nroutes ? srv_routes[r].name : "unmatched";
    for (size_t i = 0; i < SRV_MAX_CODES && s->stats[r].code[i]; i++)
      tml_buf_printf(b, "trademl_http_requests_total{route=\"%s\",code=\"%d\"} %" PRIu64 "\n", name,
                     s->stats[r].code[i], s->stats[r].count[i]);
  }
  tml_buf_puts(b, "# HELP trademl_http_request_duration_seconds Time to answer, by route.\n"
                  "# TYPE trademl_http_request_duration_seconds summary\n");
  for (size_t r = 0; r <= srv_nroutes; r++) {
    if (!s->stats[r].seconds_count)
      continue;
    const char *name = r < srv_nroutes ? srv_routes[r].name : "unmatched";
    tml_buf_printf(b, "trademl_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name, s->stats[r].seconds_sum);
    tml_buf_printf(b, "trademl_http_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n", name,
                   s->stats[r].seconds_count);
  }
  pthread_mutex_unlock(&s->stats_lock);
  res->content_type = "text/plain; version=0.0.4; charset=utf-8";
  return 200;
}
