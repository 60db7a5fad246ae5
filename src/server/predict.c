/* GET /api/predict/{symbol}?interval=15m: the five predictions of the symbol's model set (the active
 * version when the registry names one, else the newest on disk) for the latest closed candle. The set
 * comes from the server's model cache (by folder; versions are immutable) with a reference held for
 * the request, and candles are read through a pooled connection of its own: no lock is held while a
 * prediction runs, so predictions for different symbols run concurrently (model_cache.c). */
#include "srv.h"

#include "trademl/config.h"
#include "trademl/modelset.h"
#include "trademl/predict.h"
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
  if (!iv)
    iv = tml_config_get(s->opts.cfg, "data.interval");
  int64_t interval = 0;
  if (tml_interval_parse(iv, &interval, &err))
    return srv_error(res, TML_EINVAL, "query parameter 'interval': %s", err.msg);
  char dir[TML_PATH_MAX];
  int rc = srv_active_model_dir(s, symbol, interval, dir, sizeof(dir), &err);
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
  if (!rc)
    tml_prediction_to_json(&p, m, symbol, now, &res->body);
  srv_model_cache_store_put(s->models, store);
  srv_model_cache_put(s->models, entry);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  return 200;
}
