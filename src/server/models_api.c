/* The model routes: list, one model with its metadata and report, activation, and the folder of the
 * model set that serves a symbol (the registry's active version, else the newest on disk). Handlers
 * use the registry connection under s->db_lock. */
#include "srv.h"

#include "trademl/config.h"
#include "trademl/modelset.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/strategy.h"
#include "trademl/timeutil.h"
#include "util/common.h"

static json_t *model_json(const struct tml_model_row *r, int64_t now_ms) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_model_row_to_json(r, &b);
  json_t *o = srv_json_from(&b);
  tml_buf_release(&b);
  if (!o)
    o = json_object();
  /* Both model ages (docs/registry.md): since training, and of the newest candle trained on. */
  json_object_set_new(o, "age_seconds", json_integer((now_ms - r->created_ms) / 1000));
  json_object_set_new(o, "data_age_seconds", r->data_to_ms ? json_integer((now_ms - r->data_to_ms) / 1000) : json_null());
  return o;
}

int srv_h_models_list(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_jobs_state *js = s->jobs;
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
  if ((v = srv_query(req, "strategy")) || (v = srv_query(req, "strategy_type"))) {
    const struct tml_strategy *strat = NULL;
    if (tml_strategy_lookup(v, &strat, &err))
      return srv_error(res, TML_EINVAL, "query parameter 'strategy': %s", err.msg);
    f.strategy = strat->name;
  }
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
  struct srv_jobs_state *js = s->jobs;
  int64_t id = 0;
  int status = 0;
  if (srv_parse_id(req->params[0], &id, res, &status))
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
  struct srv_jobs_state *js = s->jobs;
  int64_t id = 0;
  int status = 0;
  if (srv_parse_id(req->params[0], &id, res, &status))
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
  srv_model_cache_activated(s->models, row.path);
  json_t *o = json_object();
  json_object_set_new(o, "model", model_json(&row, tml_now_ms()));
  tml_model_row_release(&row);
  return srv_json(res, 200, o);
}

int srv_active_model_dir(struct tml_server *s, const char *strategy, const char *symbol, int64_t interval_ms, char *dir,
                         size_t dirsz, struct tml_error *err) {
  struct srv_jobs_state *js = s->jobs;
  if (!strategy)
    strategy = tml_config_get(s->opts.cfg, "model.strategy");
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
