/* GET /api/predict/{symbol}?interval=15m: the five predictions of the symbol's model set (the active
 * version when the registry names one, else the newest on disk) for the latest closed candle. The set
 * comes from the server's model cache (by folder; versions are immutable) with a reference held for
 * the request, and candles are read through a pooled connection of its own: no lock is held while a
 * prediction runs, so predictions for different symbols run concurrently (model_cache.c). */
#include "srv.h"

#include "trademl/config.h"
#include "trademl/modelset.h"
#include "trademl/parse.h"
#include "trademl/predict.h"
#include "trademl/registry.h"
#include "trademl/strategy.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

int srv_h_predict(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct tml_error err;
  tml_error_init(&err);
  char symbol[TML_SYMBOL_MAX];
  if (srv_symbol(req->params[0], symbol, sizeof(symbol), &err))
    return srv_error(res, err.code, "%s", err.msg);
  const char *iv = srv_query(req, "interval");
  bool asked = iv || tml_config_source_of(s->opts.cfg, "data.interval") != TML_CFG_DEFAULT;
  if (!iv)
    iv = tml_config_get(s->opts.cfg, "data.interval");
  int64_t interval = 0;
  if (tml_interval_parse(iv, &interval, &err))
    return srv_error(res, TML_EINVAL, "query parameter 'interval': %s", err.msg);
  /* max_age (query, else predict.max_age): refuse a candle that closed longer ago, with 409. */
  int64_t max_age_s = tml_config_int(s->opts.cfg, "predict.max_age");
  const char *ma = srv_query(req, "max_age");
  if (ma && tml_parse_duration_str(ma, &max_age_s))
    return srv_error(res, TML_EINVAL, "query parameter 'max_age': '%.40s' is not a duration (90, 90s, 45m, 2h, 1d)", ma);
  /* ?strategy= (or strategy_type=, as bots name it), else model.strategy: unknown names are a 400. */
  const char *strategy = srv_query(req, "strategy") ? srv_query(req, "strategy") : srv_query(req, "strategy_type");
  if (!strategy)
    strategy = tml_config_get(s->opts.cfg, "model.strategy");
  const struct tml_strategy *strat = NULL;
  if (tml_strategy_lookup(strategy, &strat, &err))
    return srv_error(res, TML_EINVAL, "query parameter 'strategy': %s", err.msg);
  strategy = strat->name;
  /* As `trademl predict`: no interval asked for and the symbol has models at one interval only -> that
   * one; an interval without a model names the ones that have models. */
  int64_t have[32];
  size_t nhave = 0;
  /* Registry rows count too: on another host a set kept in the database is not on disk until served. */
  pthread_mutex_lock(&s->db_lock);
  tml_registry_model_intervals(s->jobs ? s->jobs->reg : NULL, tml_config_get(s->opts.cfg, "model.models_dir"),
                               strategy, symbol, have, TML_ARRAY_LEN(have), &nhave);
  pthread_mutex_unlock(&s->db_lock);
  if (!asked && nhave == 1)
    interval = have[0];
  bool found = false;
  for (size_t i = 0; i < nhave; i++)
    found = found || have[i] == interval;
  if (!found && nhave > 0) {
    char names[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < nhave && used < sizeof(names); i++)
      used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", tml_interval_name(have[i]));
    return srv_error(res, TML_ENOENT, "no %s model for %s; models exist for %s: ask with ?interval=%s",
                     tml_interval_name(interval), symbol, names, tml_interval_name(have[0]));
  }
  char dir[TML_PATH_MAX];
  int rc = srv_active_model_dir(s, strategy, symbol, interval, dir, sizeof(dir), &err);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  struct tml_store *store = NULL;
  struct srv_model_entry *entry = NULL;
  const struct tml_modelset *m = NULL;
  struct tml_prediction p;
  int64_t now = tml_now_ms();
  rc = srv_model_cache_get(s->models, dir, &entry, &m, &err);
  if (!rc && m->interval_ms != interval)
    rc = tml_error_set(&err, TML_EINVAL, "model set '%s' is for %s candles, not %s", m->version,
                       tml_interval_name(m->interval_ms), tml_interval_name(interval));
  if (!rc)
    rc = srv_model_cache_store(s->models, &store, &err);
  if (!rc)
    rc = tml_predict_latest(store, m, symbol, now, &p, &err);
  /* stale: true with the age past predict.stale_intervals; ESTALE (409) past max_age. */
  if (!rc)
    rc = tml_prediction_check_age(&p, m->interval_ms, now, (int)tml_config_int(s->opts.cfg, "predict.stale_intervals"),
                                  max_age_s * 1000, symbol, &err);
  if (!rc)
    tml_prediction_to_json(&p, m, symbol, now, &res->body);
  srv_model_cache_store_put(s->models, store);
  srv_model_cache_put(s->models, entry);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  return 200;
}

/* GET /api/predict/{base}/{quote}: "BTC%2FUSDT" arrives decoded as two path segments ("BTC/USDT");
 * docs/api.md promises that a URL-encoded '/' works, so the pair is joined and predicted as one symbol. */
int srv_h_predict_pair(struct tml_server *s, const struct srv_request *req, struct srv_response *res) {
  struct srv_request one = *req;
  int n = snprintf(one.params[0], sizeof(one.params[0]), "%s/%s", req->params[0], req->params[1]);
  if (n < 0 || (size_t)n >= sizeof(one.params[0]))
    return srv_error(res, TML_EINVAL, "symbol '%.60s/%.60s' is too long", req->params[0], req->params[1]);
  one.params[1][0] = '\0';
  return srv_h_predict(s, &one, res);
}
