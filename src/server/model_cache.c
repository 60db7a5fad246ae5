/* What predictions share, owned by the server (struct tml_server): the loaded model sets, cached by
 * folder, and a small pool of read connections to the candle store.
 *
 * Model sets: an entry holds one loaded set with a reference count; the cache holds one reference while
 * the entry is in a slot and every prediction using it holds one. The cache lock is held only to look
 * up, insert, take or drop a reference, never while a set loads from disk or predicts, so predictions
 * for different symbols (and for the same one) run at the same time. An entry that leaves the cache
 * (least recently used, replaced by a newer active version of its series, or cleared) is freed by the
 * last prediction that still uses it. A set is never changed after tml_modelset_load, so readers share
 * it without a lock.
 *
 * Thread safety of the heads: predictions go through the learner table (learner.h). XGBoost heads
 * predict through their flattened trees (xgb_flat.c, immutable once loaded), so any number of threads
 * share them; a model XGBoost must predict itself (a form the flat evaluator refuses) is serialised by
 * that model's own lock. Native heads (gbdt_model.c) only read their flattened trees. No lock is held across a
 * whole prediction. tests/e2e/server_predict_concurrency.sh checks every concurrent answer against
 * `trademl predict`.
 *
 * Store connections: a prediction reads a symbol's whole history. Sharing the daemon's connection
 * under db_lock would serialise them; a connection per prediction from the pool lets candle loading
 * for different symbols run in parallel (WAL: readers never block each other), and reusing pooled
 * connections keeps their page caches warm. Pooled connections are resident ones (data.resident_cache_mib,
 * data.resident_mmap_mib): up to POOL_MAX of them live as long as the daemon. */
#include "srv.h"

#include "trademl/modelset.h"
#include "trademl/store.h"
#include "util/common.h"

#define CACHE_SLOTS 8
#define POOL_MAX 16 /* idle connections kept; more may be open at once, the rest are closed on release */

struct srv_model_entry {
  struct tml_modelset *set; /* owned; read-only once loaded */
  int refs;                 /* the cache's own while in a slot + one per user; under the cache lock */
  uint64_t used;            /* LRU clock of the last lookup */
};

struct srv_model_cache {
  pthread_mutex_t lock;                    /* guards the slots, refs and the idle pool */
  struct srv_model_entry *slot[CACHE_SLOTS];
  uint64_t clock;
  char db_path[TML_PATH_MAX];
  const struct tml_config *cfg;            /* borrowed: the page cache and map of the pooled connections */
  struct tml_store *idle[POOL_MAX];        /* read connections not in use */
  size_t nidle;
};

int srv_model_cache_create(const char *db_path, const struct tml_config *cfg, struct srv_model_cache **out,
                           struct tml_error *err) {
  *out = NULL;
  struct srv_model_cache *c = calloc(1, sizeof(*c));
  if (!c)
    return tml_error_set(err, TML_ENOMEM, "out of memory creating the model cache");
  if ((size_t)snprintf(c->db_path, sizeof(c->db_path), "%s", db_path) >= sizeof(c->db_path)) {
    free(c);
    return tml_error_set(err, TML_EINVAL, "database path '%.100s...' is too long", db_path);
  }
  c->cfg = cfg;
  pthread_mutex_init(&c->lock, NULL);
  *out = c;
  return 0;
}

/* Drops one reference; frees the entry with the last. Call with the lock held. */
static void entry_unref(struct srv_model_entry *e) {
  if (--e->refs > 0)
    return;
  tml_modelset_free(e->set);
  free(e);
}

/* Takes slot i out of the cache. Call with the lock held. */
static void evict(struct srv_model_cache *c, size_t i) {
  struct srv_model_entry *e = c->slot[i];
  c->slot[i] = NULL;
  if (e)
    entry_unref(e);
}

/* Length of the series folder part of a model set folder (<...>/<strategy>/<key>/<interval>/<version>
 * without the version), so versions of one series compare equal. */
static size_t series_len(const char *dir) {
  const char *slash = strrchr(dir, '/');
  return slash ? (size_t)(slash - dir) : 0;
}

/* Evicts the cached versions of dir's series other than dir itself. Call with the lock held. */
static void forget_series(struct srv_model_cache *c, const char *dir) {
  size_t n = series_len(dir);
  if (n == 0)
    return;
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    const char *d = c->slot[i] ? c->slot[i]->set->dir : NULL;
    if (d && series_len(d) == n && strncmp(d, dir, n) == 0 && strcmp(d, dir) != 0)
      evict(c, i);
  }
}

void srv_model_cache_destroy(struct srv_model_cache *c) {
  if (!c)
    return;
  for (size_t i = 0; i < CACHE_SLOTS; i++)
    if (c->slot[i])
      evict(c, i);
  for (size_t i = 0; i < c->nidle; i++)
    tml_store_close(c->idle[i]);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* The cached entry for dir with a reference taken, or NULL. Call with the lock held. */
static struct srv_model_entry *lookup(struct srv_model_cache *c, const char *dir) {
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    struct srv_model_entry *e = c->slot[i];
    if (e && strcmp(e->set->dir, dir) == 0) {
      e->used = ++c->clock;
      e->refs++;
      return e;
    }
  }
  return NULL;
}

int srv_model_cache_get(struct srv_model_cache *c, const char *dir, struct srv_model_entry **out,
                        const struct tml_modelset **set, struct tml_error *err) {
  *out = NULL;
  *set = NULL;
  pthread_mutex_lock(&c->lock);
  struct srv_model_entry *e = lookup(c, dir);
  pthread_mutex_unlock(&c->lock);
  if (!e) {
    /* Load without the lock: other predictions go on meanwhile. Two requests may load the same set at
     * once; the second to insert uses the first's entry and frees its own. */
    struct tml_modelset *m = NULL;
    int rc = tml_modelset_load(dir, &m, err);
    if (rc)
      return rc;
    struct srv_model_entry *mine = calloc(1, sizeof(*mine));
    if (!mine) {
      tml_modelset_free(m);
      return tml_error_set(err, TML_ENOMEM, "out of memory caching model set '%s'", dir);
    }
    mine->set = m;
    pthread_mutex_lock(&c->lock);
    e = lookup(c, dir);
    if (!e) {
      /* dir is the version that serves its series now: older cached versions of it are done. */
      forget_series(c, dir);
      size_t victim = 0;
      for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (!c->slot[i]) {
          victim = i;
          break;
        }
        if (c->slot[i]->used < c->slot[victim]->used)
          victim = i;
      }
      evict(c, victim);
      mine->refs = 2; /* the slot's and the caller's */
      mine->used = ++c->clock;
      c->slot[victim] = mine;
      e = mine;
      mine = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (mine) {
      tml_modelset_free(mine->set);
      free(mine);
    }
  }
  *out = e;
  *set = e->set;
  return 0;
}

void srv_model_cache_put(struct srv_model_cache *c, struct srv_model_entry *e) {
  if (!e)
    return;
  pthread_mutex_lock(&c->lock);
  entry_unref(e);
  pthread_mutex_unlock(&c->lock);
}

void srv_model_cache_activated(struct srv_model_cache *c, const char *dir) {
  pthread_mutex_lock(&c->lock);
  forget_series(c, dir);
  pthread_mutex_unlock(&c->lock);
}

void srv_predict_cache_clear(struct tml_server *s) {
  struct srv_model_cache *c = s->models;
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < CACHE_SLOTS; i++)
    if (c->slot[i])
      evict(c, i);
  pthread_mutex_unlock(&c->lock);
}

int srv_model_cache_store(struct srv_model_cache *c, struct tml_store **out, struct tml_error *err) {
  *out = NULL;
  pthread_mutex_lock(&c->lock);
  if (c->nidle)
    *out = c->idle[--c->nidle];
  pthread_mutex_unlock(&c->lock);
  return *out ? 0 : tml_store_open_resident(c->db_path, c->cfg, out, err);
}

void srv_model_cache_store_put(struct srv_model_cache *c, struct tml_store *store) {
  if (!store)
    return;
  pthread_mutex_lock(&c->lock);
  if (c->nidle < POOL_MAX) {
    c->idle[c->nidle++] = store;
    store = NULL;
  }
  pthread_mutex_unlock(&c->lock);
  tml_store_close(store);
}
