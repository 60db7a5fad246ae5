/* The strategy table (include/trademl/strategy.h): lookup by name, the reference-counted model
 * wrapper, and the cache that lets strategies of one run share a fit (validate --compare fits xgb5
 * once per fold even when the ensemble needs it as a member). */
#include "trademl/strategy.h"
#include "trademl/error.h"
#include "util/common.h"

#include <pthread.h>

/* Every strategy this trademl has. Adding one is one more line here (and its file). */
static const struct tml_strategy *const known[] = {&tml_strategy_xgb5, &tml_strategy_ensemble, &tml_strategy_lstm,
                                                    &tml_strategy_rl};

size_t tml_strategy_count(void) { return TML_ARRAY_LEN(known); }

const struct tml_strategy *tml_strategy_at(size_t i) { return i < TML_ARRAY_LEN(known) ? known[i] : NULL; }

static pthread_once_t names_once = PTHREAD_ONCE_INIT;
static char names[256];

static void build_names(void) {
  size_t len = 0;
  for (size_t i = 0; i < TML_ARRAY_LEN(known); i++) {
    int n = snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "", known[i]->name);
    if (n < 0 || (size_t)n >= sizeof(names) - len)
      break;
    len += (size_t)n;
  }
}

const char *tml_strategy_names(void) {
  pthread_once(&names_once, build_names);
  return names;
}

int tml_strategy_lookup(const char *name, const struct tml_strategy **out, struct tml_error *err) {
  *out = NULL;
  for (size_t i = 0; name && i < TML_ARRAY_LEN(known); i++)
    if (strcmp(known[i]->name, name) == 0) {
      *out = known[i];
      return 0;
    }
  return tml_error_set(err, TML_EINVAL, "unknown strategy '%s': known strategies are %s", name ? name : "(none)",
                       tml_strategy_names());
}

size_t tml_strategy_head_width(enum tml_head h) {
  int k = tml_head_nclass(h);
  return k > 0 ? (size_t)k : 1;
}

void tml_strategy_fit_labels(const struct tml_strategy_fit_data *fd, enum tml_head h, float *y) {
  const struct tml_dataset *d = fd->d;
  for (size_t i = 0; i < fd->nfit + fd->nstop; i++) {
    size_t r = fd->rows[i];
    if (tml_labels_head_value(h, fd->thresholds, d->fwd_return[r], d->fwd_vol[r], d->timing[r], d->stop_loss_pct[r],
                              d->position_size[r], &y[i]) != 0)
      y[i] = NAN;
  }
}

/* ---- models ---- */
static pthread_mutex_t ref_lock = PTHREAD_MUTEX_INITIALIZER;

static int wrap(const struct tml_strategy *s, void *impl, struct tml_strategy_model **out, struct tml_error *err) {
  struct tml_strategy_model *m = malloc(sizeof(*m));
  if (!m) {
    s->free(impl);
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  }
  m->strategy = s;
  m->impl = impl;
  m->refs = 1;
  *out = m;
  return 0;
}

struct tml_strategy_model *tml_strategy_model_ref(struct tml_strategy_model *m) {
  pthread_mutex_lock(&ref_lock);
  m->refs++;
  pthread_mutex_unlock(&ref_lock);
  return m;
}

void tml_strategy_model_free(struct tml_strategy_model *m) {
  if (!m)
    return;
  pthread_mutex_lock(&ref_lock);
  int left = --m->refs;
  pthread_mutex_unlock(&ref_lock);
  if (left > 0)
    return;
  m->strategy->free(m->impl);
  free(m);
}

int tml_strategy_model_load(const struct tml_strategy *s, const char *dir, const struct tml_strategy_load_info *info,
                            struct tml_strategy_model **out, struct tml_error *err) {
  *out = NULL;
  void *impl = NULL;
  int rc = s->load(dir, info, &impl, err);
  if (rc)
    return rc;
  return wrap(s, impl, out, err);
}

/* ---- the cache ---- */
enum { ENTRY_FITTING, ENTRY_READY, ENTRY_FAILED };

struct cache_entry {
  char name[TML_STRATEGY_NAME_MAX];
  char key[128];
  char engine[32];
  unsigned heads;
  int state;
  struct tml_strategy_model *model; /* one reference held by the cache */
  struct cache_entry *next;
};

struct fit_count {
  char name[TML_STRATEGY_NAME_MAX];
  size_t fits;
  struct fit_count *next;
};

struct tml_strategy_cache {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  struct cache_entry *entries;
  struct fit_count *counts;
};

int tml_strategy_cache_create(struct tml_strategy_cache **out, struct tml_error *err) {
  struct tml_strategy_cache *c = calloc(1, sizeof(*c));
  if (!c)
    return tml_error_set(err, TML_ENOMEM, "out of memory");
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->changed, NULL);
  *out = c;
  return 0;
}

void tml_strategy_cache_destroy(struct tml_strategy_cache *c) {
  if (!c)
    return;
  for (struct cache_entry *e = c->entries, *n; e; e = n) {
    n = e->next;
    tml_strategy_model_free(e->model);
    free(e);
  }
  for (struct fit_count *f = c->counts, *n; f; f = n) {
    n = f->next;
    free(f);
  }
  pthread_cond_destroy(&c->changed);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

size_t tml_strategy_cache_fits(struct tml_strategy_cache *c, const char *name) {
  size_t n = 0;
  pthread_mutex_lock(&c->lock);
  for (const struct fit_count *f = c->counts; f; f = f->next)
    if (strcmp(f->name, name) == 0)
      n = f->fits;
  pthread_mutex_unlock(&c->lock);
  return n;
}

static void count_fit(struct tml_strategy_cache *c, const char *name) {
  struct fit_count *f = c->counts;
  while (f && strcmp(f->name, name) != 0)
    f = f->next;
  if (!f && (f = calloc(1, sizeof(*f))) != NULL) {
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->next = c->counts;
    c->counts = f;
  }
  if (f)
    f->fits++;
}

static int fit_now(const struct tml_strategy *s, const struct tml_strategy_fit_data *fd,
                   const struct tml_strategy_params *p, struct tml_strategy_model **out, struct tml_error *err) {
  void *impl = NULL;
  int rc = s->fit(fd, p, &impl, err);
  if (rc)
    return rc;
  return wrap(s, impl, out, err);
}

int tml_strategy_fit(const struct tml_strategy *s, const struct tml_strategy_fit_data *fd,
                     const struct tml_strategy_params *p, struct tml_strategy_model **out, struct tml_error *err) {
  *out = NULL;
  struct tml_strategy_cache *c = p->cache;
  if (!c || !fd->cache_key)
    return fit_now(s, fd, p, out, err);
  unsigned heads = p->heads ? p->heads : (1u << TML_HEAD_COUNT) - 1;
  const char *engine = p->engine ? p->engine : TML_LEARNER_DEFAULT;
  pthread_mutex_lock(&c->lock);
  struct cache_entry *e;
  for (;;) {
    for (e = c->entries; e; e = e->next)
      if (e->heads == heads && strcmp(e->name, s->name) == 0 && strcmp(e->key, fd->cache_key) == 0 &&
          strcmp(e->engine, engine) == 0)
        break;
    if (!e || e->state != ENTRY_FITTING)
      break;
    pthread_cond_wait(&c->changed, &c->lock); /* another thread fits the same rows: wait for it */
  }
  if (e && e->state == ENTRY_READY) {
    *out = tml_strategy_model_ref(e->model);
    pthread_mutex_unlock(&c->lock);
    return 0;
  }
  if (!e) {
    if (!(e = calloc(1, sizeof(*e)))) {
      pthread_mutex_unlock(&c->lock);
      return tml_error_set(err, TML_ENOMEM, "out of memory");
    }
    snprintf(e->name, sizeof(e->name), "%s", s->name);
    snprintf(e->key, sizeof(e->key), "%s", fd->cache_key);
    snprintf(e->engine, sizeof(e->engine), "%s", engine);
    e->heads = heads;
    e->next = c->entries;
    c->entries = e;
  }
  e->state = ENTRY_FITTING; /* also retries an entry whose fit failed before */
  count_fit(c, s->name);
  pthread_mutex_unlock(&c->lock);
  struct tml_strategy_model *m = NULL;
  int rc = fit_now(s, fd, p, &m, err);
  pthread_mutex_lock(&c->lock);
  e->state = rc ? ENTRY_FAILED : ENTRY_READY;
  e->model = m ? tml_strategy_model_ref(m) : NULL;
  pthread_cond_broadcast(&c->changed);
  pthread_mutex_unlock(&c->lock);
  *out = m;
  return rc;
}
