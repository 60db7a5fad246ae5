/* Coverage, the new-symbol queue, the schedule and the stored symbols: the routes the dashboard's
 * operations panels read. Coverage is served from the housekeeping snapshot (workers.c) when it fits. */
#include "srv.h"

#include "trademl/config.h"
#include "trademl/coverage.h"
#include "trademl/scheduler.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

/* ---- coverage ---- */

int srv_h_coverage(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = s->jobs;
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
  if (co.interval_ms != default_interval || !srv_cov_snapshot(js, &rows, &n, &at_ms)) {
    /* Another interval, or no snapshot yet: compute now on connections of this request, so the shared
     * ones stay free for the other routes. */
    struct tml_store *store = NULL;
    struct tml_jobs *q = NULL;
    rc = tml_store_open_resident(s->opts.paths->db, s->opts.cfg, &store, &err);
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
    json_object_set_new(o, "model_data_age_days",
                        r->model_data_age_days >= 0 ? json_real(r->model_data_age_days) : json_null());
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
  struct srv_jobs_state *js = s->jobs;
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

static const struct srv_field queue_fields[] = {
    {"symbol", SRV_FT_STRING, 0, 0},
    {"symbols", SRV_FT_STRINGS, 1, 1000},
    {"all", SRV_FT_BOOL, 0, 0},
};

/* Collects "symbol"/"symbols" of a queue request into normalized names. */
static int queue_symbols(json_t *body, char (*out)[TML_SYMBOL_MAX], const char **ptrs, size_t max, size_t *n,
                         struct tml_error *err) {
  *n = 0;
  if (srv_check_fields(body, queue_fields, TML_ARRAY_LEN(queue_fields), err))
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
  struct srv_jobs_state *js = s->jobs;
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
  struct srv_jobs_state *js = s->jobs;
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
  struct srv_jobs_state *js = s->jobs;
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
  int rc = tml_scheduler_last_slot(js->q, SRV_SCHEDULE_NAME, &slot, NULL);
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
