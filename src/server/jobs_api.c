/* The training routes: POST /api/training/start (the request bodies bots already send, validated
 * field by field), the job list, one job with its attempts, log tail and fold metrics, and cancel.
 * Handlers use the job-table connection under s->db_lock. */
#include "srv.h"

#include "trademl/strategy.h"
#include "trademl/parse.h"
#include "trademl/series.h"
#include "trademl/timeutil.h"
#include "util/common.h"

static json_t *job_json(const struct tml_job *j) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_job_to_json(j, &b);
  json_t *o = srv_json_from(&b);
  tml_buf_release(&b);
  if (!o)
    o = json_object();
  char url[64];
  snprintf(url, sizeof(url), "/api/training/jobs/%" PRId64, j->id);
  json_object_set_new(o, "url", json_string(url));
  return o;
}

/* ---- POST /api/training/start ---- */

/* The request bodies bots already send, plus a few optional extras. */
static const struct srv_field start_fields[] = {
    {"symbol", SRV_FT_STRING, 0, 0},
    {"symbols", SRV_FT_STRINGS, 1, TML_JOB_MAX_SYMBOLS},
    {"timeframe", SRV_FT_STRING, 0, 0},
    {"interval", SRV_FT_STRING, 0, 0},
    {"training_mode", SRV_FT_STRING, 0, 0},
    {"test_period_days", SRV_FT_INT, 1, 3650},
    {"min_train_days", SRV_FT_INT, 1, 36500},
    {"train_window_days", SRV_FT_INT, 1, 36500},
    {"use_expanding_window", SRV_FT_BOOL, 0, 0},
    {"days", SRV_FT_NUMBER, 1, 36500},
    {"priority", SRV_FT_INT, -1000, 1000},
    {"num_boost_round", SRV_FT_INT, 1, 100000},
    {"early_stopping_rounds", SRV_FT_INT, 0, 100000},
    {"force", SRV_FT_BOOL, 0, 0},
    {"strategy_type", SRV_FT_STRING, 0, 0},
    {"strategy", SRV_FT_STRING, 0, 0},
    {"test_seconds", SRV_FT_NUMBER, 0, 3600},
};

/* The hidden noop test kind is accepted only when the daemon runs with TRADEML_TEST_JOBS=1 (as the CLI's
 * `jobs submit noop`); e2e tests use it to drive the queue through the API without training. */
static bool srv_test_jobs(void) {
  const char *v = getenv("TRADEML_TEST_JOBS");
  return v && strcmp(v, "1") == 0;
}

static const char *str_field(const json_t *body, const char *name) {
  return json_string_value(json_object_get(body, name));
}

int srv_h_training_start(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = s->jobs;
  struct tml_error err;
  tml_error_init(&err);
  json_t *body = req->body;
  if (srv_check_fields(body, start_fields, TML_ARRAY_LEN(start_fields), &err))
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
  } else if (strcmp(mode, "noop") == 0 && srv_test_jobs()) {
    spec.kind = TML_JOB_NOOP; /* the hidden test kind (TRADEML_TEST_JOBS=1), as `jobs submit noop` */
  } else if (strcmp(mode, "quick") == 0 || strcmp(mode, "full") == 0 || strcmp(mode, "sequential") == 0) {
    spec.kind = TML_JOB_VALIDATE;
    spec.mode = mode;
  } else {
    return srv_error(res, TML_EINVAL, "field 'training_mode' is '%.40s'; expected quick, full, sequential or train",
                     mode);
  }
  /* Strategy: "strategy_type" as the bots send it ("ensemble", "lstm", "xgb5"), or "strategy". */
  const char *strategy = str_field(body, "strategy_type") ? str_field(body, "strategy_type") : str_field(body, "strategy");
  if (strategy) {
    const struct tml_strategy *strat = NULL;
    if (tml_strategy_lookup(strategy, &strat, &err))
      return srv_error(res, TML_EINVAL, "field '%s': %s", str_field(body, "strategy_type") ? "strategy_type" : "strategy",
                       err.msg);
    spec.strategy = strat->name;
  }
  if (json_object_get(body, "days"))
    spec.days = json_number_value(json_object_get(body, "days"));
  if (json_object_get(body, "priority"))
    spec.priority = (int)json_integer_value(json_object_get(body, "priority"));
  /* The optional fields become the job's params: the configuration keys they set (one vocabulary
   * with trademl.yaml and `--set`), plus validate's force option. */
  json_t *params = json_object();
  static const struct {
    const char *field, *key;
  } keys[] = {{"test_period_days", "validation.test_period_days"},
              {"min_train_days", "validation.min_train_days"},
              {"train_window_days", "validation.train_window_days"},
              {"num_boost_round", "training.num_boost_round"},
              {"early_stopping_rounds", "training.early_stopping_rounds"}};
  for (size_t i = 0; i < TML_ARRAY_LEN(keys); i++) {
    json_t *v = json_object_get(body, keys[i].field);
    if (v)
      json_object_set(params, keys[i].key, v);
  }
  if (spec.kind == TML_JOB_TRAIN && (json_object_get(body, "test_period_days") ||
                                     json_object_get(body, "min_train_days") ||
                                     json_object_get(body, "train_window_days") ||
                                     json_object_get(body, "use_expanding_window"))) {
    json_decref(params);
    return srv_error(res, TML_EINVAL, "fields 'test_period_days', 'min_train_days', 'train_window_days' and "
                                      "'use_expanding_window' apply to walk-forward validation: set "
                                      "'training_mode' to quick, full or sequential");
  }
  json_t *secs = json_object_get(body, "test_seconds");
  if (secs && spec.kind != TML_JOB_NOOP) {
    json_decref(params);
    return srv_error(res, TML_EINVAL, "field 'test_seconds' belongs to the hidden noop test kind only");
  }
  if (secs)
    json_object_set(params, "seconds", secs);
  json_t *expanding = json_object_get(body, "use_expanding_window");
  if (expanding)
    json_object_set_new(params, "validation.window", json_string(json_is_true(expanding) ? "expanding" : "fixed"));
  if (json_is_true(json_object_get(body, "force"))) {
    if (spec.kind != TML_JOB_VALIDATE) {
      json_decref(params);
      return srv_error(res, TML_EINVAL, "field 'force' applies to walk-forward validation: set 'training_mode' to "
                                        "sequential");
    }
    json_object_set_new(params, "force", json_true());
  }
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
  struct srv_jobs_state *js = s->jobs;
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

/* Folds finish in any order (several workers, the largest folds first): the list is shown by stage,
 * in the order the stages ran, then by fold number. */
struct fold_key {
  size_t stage_rank, fold, at;
  json_t *v;
};
static int fold_key_cmp(const void *a, const void *b) {
  const struct fold_key *x = a, *y = b;
  if (x->stage_rank != y->stage_rank)
    return x->stage_rank < y->stage_rank ? -1 : 1;
  if (x->fold != y->fold)
    return x->fold < y->fold ? -1 : 1;
  return x->at < y->at ? -1 : x->at > y->at;
}
static void sort_folds(json_t *folds) {
  size_t n = json_array_size(folds);
  struct fold_key *k = n > 1 ? calloc(n, sizeof *k) : NULL;
  if (!k)
    return; /* nothing to sort, or no memory: completion order */
  for (size_t i = 0; i < n; i++) {
    json_t *f = json_array_get(folds, i);
    const char *stage = json_string_value(json_object_get(f, "stage"));
    size_t rank = i;
    for (size_t j = 0; j < i; j++) { /* the first fold seen of the same stage */
      const char *other = json_string_value(json_object_get(k[j].v, "stage"));
      if ((!stage && !other) || (stage && other && strcmp(stage, other) == 0)) {
        rank = k[j].stage_rank;
        break;
      }
    }
    json_int_t fold = json_integer_value(json_object_get(f, "fold"));
    k[i] = (struct fold_key){rank, fold > 0 ? (size_t)fold : 0, i, json_incref(f)};
  }
  qsort(k, n, sizeof *k, fold_key_cmp);
  json_array_clear(folds);
  for (size_t i = 0; i < n; i++)
    json_array_append_new(folds, k[i].v);
  free(k);
}

static bool has_fold_metrics(json_t *folds) {
  size_t i;
  json_t *f;
  json_array_foreach(folds, i, f) if (json_object_get(f, "metrics")) return true;
  return false;
}

/* Last bytes of the job's log as lines, and its folds so far: "<stage>: fold K of N done" lines that
 * validation prints while it runs, replaced by the folds' metrics from the reports once its JSON
 * summary ({"stages":[{"report_dir":...}]}) is in the log. */
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
    sort_folds(folds);
    json_object_set_new(o, "folds", folds);
    json_decref(reported);
  }
}

int srv_h_job_get(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = s->jobs;
  int64_t id = 0;
  int status = 0;
  if (srv_parse_id(req->params[0], &id, res, &status))
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
  struct srv_jobs_state *js = s->jobs;
  int64_t id = 0;
  int status = 0;
  if (srv_parse_id(req->params[0], &id, res, &status))
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
