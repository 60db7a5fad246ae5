/* GET /api/predict/{symbol}?interval=15m: the five predictions of the symbol's model set (the active
 * version when the registry names one, else the newest on disk) for the latest closed candle. Loaded
 * model sets are cached by folder (versions are immutable), and each request reads candles through its
 * own store connection so a prediction never holds the shared database lock. */
#include "srv.h"

#include "trademl/config.h"
#include "trademl/modelset.h"
#include "trademl/predict.h"
#include "trademl/store.h"
#include "trademl/timeutil.h"
#include "util/common.h"

#define CACHE_SLOTS 8

static struct {
  pthread_mutex_t lock;                /* guards the slots and prediction with a cached set */
  struct tml_modelset *set[CACHE_SLOTS];
  uint64_t used[CACHE_SLOTS];
  uint64_t clock;
} cache = {PTHREAD_MUTEX_INITIALIZER, {NULL}, {0}, 0};

/* Returns the cached set for dir, loading it into the least recently used slot. Call with the lock. */
static int cached_set(const char *dir, struct tml_modelset **out, struct tml_error *err) {
  size_t victim = 0;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    if (cache.set[i] && strcmp(cache.set[i]->dir, dir) == 0) {
      cache.used[i] = ++cache.clock;
      *out = cache.set[i];
      return 0;
    }
    if (cache.used[i] < cache.used[victim])
      victim = i;
  }
  struct tml_modelset *m = NULL;
  int rc = tml_modelset_load(dir, &m, err);
  if (rc)
    return rc;
  tml_modelset_free(cache.set[victim]);
  cache.set[victim] = m;
  cache.used[victim] = ++cache.clock;
  *out = m;
  return 0;
}

void srv_predict_cache_clear(void) {
  pthread_mutex_lock(&cache.lock);
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    tml_modelset_free(cache.set[i]);
    cache.set[i] = NULL;
    cache.used[i] = 0;
  }
  pthread_mutex_unlock(&cache.lock);
}

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
  if ((rc = tml_store_open(s->opts.paths->db, &store, &err)))
    return srv_error(res, rc, "%s", err.msg);
  int64_t now = tml_now_ms();
  pthread_mutex_lock(&cache.lock);
  struct tml_modelset *m = NULL;
  struct tml_prediction p;
  rc = cached_set(dir, &m, &err);
  if (!rc && m->interval_ms != interval)
    rc = tml_error_set(&err, TML_EINVAL, "model set '%s' is for %s candles, not %s", m->version,
                       tml_interval_name(m->interval_ms), tml_interval_name(interval));
  if (!rc)
    rc = tml_predict_latest(store, m, symbol, now, &p, &err);
  if (!rc)
    tml_prediction_to_json(&p, m, symbol, now, &res->body);
  pthread_mutex_unlock(&cache.lock);
  tml_store_close(store);
  if (rc)
    return srv_error(res, rc, "%s", err.msg);
  return 200;
}
