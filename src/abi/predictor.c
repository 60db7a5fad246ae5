/* The prediction C ABI for bots in other languages (include/trademl_predictor.h): a thin face over the
 * library, like the CLI and the daemon. A handle owns a configuration, the symbol's active model set
 * and one model stream (modelstream.h), the same prediction path `trademl predict` and the live loop
 * run. Only the tml_predictor_* functions are exported from the shared library (everything is built
 * with -fvisibility=hidden; the header marks the exports). */
#include "trademl_predictor.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trademl/db.h"
#include "trademl/config.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/labels.h"
#include "trademl/modelset.h"
#include "trademl/modelstream.h"
#include "trademl/parse.h"
#include "trademl/registry.h"
#include "trademl/series.h"
#include "trademl/store.h"
#include "trademl/strategy.h"
#include "trademl/timeutil.h"

_Static_assert(TML_PREDICTOR_HEADS == TML_HEAD_COUNT, "head count of the ABI");
_Static_assert(TML_PREDICTOR_MAX_CLASSES >= TML_MAX_CLASSES, "class count of the ABI");
_Static_assert(TML_PREDICTOR_DIRECTION == TML_HEAD_DIRECTION && TML_PREDICTOR_POSITION_SIZE == TML_HEAD_POSITION_SIZE,
               "head order of the ABI");

struct tml_predictor {
  bool opened;
  char error[TML_ERROR_MSG_MAX];
  struct tml_modelset *m;       /* owned */
  struct tml_model_stream *s;   /* owned; borrows m */
  int64_t model_id;
};

/* The first version's result size: a caller built against it gets exactly these fields. */
#define RESULT_V1_SIZE sizeof(struct tml_predictor_result)

static void set_error(struct tml_predictor *h, const struct tml_error *err, const char *fallback) {
  snprintf(h->error, sizeof(h->error), "%s", err && err->msg[0] ? err->msg : fallback);
}

int tml_predictor_abi_version(void) { return TML_PREDICTOR_ABI_VERSION; }

static int copy_path(char *dst, size_t sz, const char *v, const char *key, struct tml_error *err) {
  if (!v || !*v || strlen(v) >= sz)
    return tml_error_set(err, TML_EINVAL, "%s: path is empty or too long", key);
  memcpy(dst, v, strlen(v) + 1);
  return 0;
}

/* Active model folder from the registry (as `trademl predict`: the registry's active version; with no
 * database or no active row, the newest folder on disk). */
static int model_dir(const struct tml_config *cfg, const struct tml_paths *paths, const char *strategy,
                     const char *symbol, int64_t interval, char *dir, size_t dirsz, int64_t *model_id,
                     struct tml_error *err) {
  *model_id = 0;
  int rc = TML_ENOENT;
  if (tml_db_exists(paths->db)) {
    struct tml_registry *reg = NULL;
    struct tml_model_row row;
    tml_model_row_init(&row);
    struct tml_error e;
    tml_error_init(&e);
    rc = tml_registry_open(paths->db, &reg, err);
    if (!rc)
      rc = tml_registry_set_cache_dir(reg, paths->models, err);
    if (!rc) {
      rc = tml_registry_active(reg, strategy, symbol, interval, &row, &e);
      if (rc && rc != TML_ENOENT)
        tml_error_set(err, rc, "%s", e.msg);
    }
    if (!rc && row.folder_missing)
      rc = tml_error_set(err, TML_EMODEL, "the active model %lld for %s has no folder at '%s'", (long long)row.id,
                         symbol, row.path);
    if (!rc && strlen(row.path) >= dirsz)
      rc = tml_error_set(err, TML_EINVAL, "active model path is too long");
    if (!rc) {
      memcpy(dir, row.path, strlen(row.path) + 1);
      *model_id = row.id;
    }
    tml_model_row_release(&row);
    tml_registry_close(reg);
    if (rc != TML_ENOENT)
      return rc;
  }
  return tml_modelset_find_latest(tml_config_get(cfg, "model.models_dir"), strategy, symbol, interval, dir, dirsz,
                                  err);
}

static int open_handle(struct tml_predictor *h, const char *home, const char *strategy, const char *raw_symbol,
                       const char *interval_s, struct tml_error *err) {
  struct tml_config *cfg = NULL;
  struct tml_store *store = NULL;
  struct tml_paths paths;
  char symbol[TML_SYMBOL_MAX];
  char dir[TML_PATH_MAX];
  int64_t interval = 0;
  int rc;
  if (!raw_symbol || !*raw_symbol || tml_symbol_normalize(raw_symbol, symbol, sizeof(symbol)) != 0) {
    rc = tml_error_set(err, TML_EINVAL, "symbol '%s' is not a symbol like BTCUSDT", raw_symbol ? raw_symbol : "(null)");
    goto out;
  }
  if ((rc = tml_paths_resolve(home && *home ? home : NULL, &paths, err)) ||
      (rc = tml_config_load(NULL, paths.home, &cfg, err)) || (rc = tml_config_validate(cfg, err)) ||
      (rc = copy_path(paths.db, sizeof(paths.db),
                      tml_config_get(cfg, "data.database")[0] ? tml_config_get(cfg, "data.database")
                                                               : tml_config_get(cfg, "data.db_path"),
                      "data.database", err)))
    goto out;
  if (!strategy || !*strategy)
    strategy = tml_config_get(cfg, "model.strategy");
  const struct tml_strategy *strat = NULL;
  if ((rc = tml_strategy_lookup(strategy, &strat, err)))
    goto out;
  if (!interval_s || !*interval_s)
    interval_s = tml_config_get(cfg, "data.interval");
  if ((rc = tml_interval_parse(interval_s, &interval, err))) {
    tml_error_prefix(err, "interval");
    goto out;
  }
  if ((rc = model_dir(cfg, &paths, strategy, symbol, interval, dir, sizeof(dir), &h->model_id, err)) ||
      (rc = tml_modelset_load_as(dir, strat->name, &h->m, err)))
    goto out;
  if (h->m->interval_ms != interval) {
    rc = tml_error_set(err, TML_EINVAL, "model set '%s' is for %s candles, not %s", dir,
                       tml_interval_name(h->m->interval_ms), tml_interval_name(interval));
    goto out;
  }
  if (tml_db_exists(paths.db)) {
    if ((rc = tml_store_open(paths.db, &store, err)) ||
        (rc = tml_model_stream_open(store, h->m, symbol, tml_now_ms(), &h->s, err)))
      goto out;
  } else if ((rc = tml_model_stream_create(h->m, symbol, &h->s, err))) {
    goto out;
  }
out:
  tml_store_close(store);
  tml_config_free(cfg);
  return rc;
}

tml_predictor *tml_predictor_open(const char *home, const char *strategy, const char *symbol, const char *interval) {
  struct tml_predictor *h = calloc(1, sizeof(*h));
  if (!h)
    return NULL;
  struct tml_error err;
  tml_error_init(&err);
  if (open_handle(h, home, strategy, symbol, interval, &err) != 0) {
    set_error(h, &err, "cannot open the predictor");
    tml_model_stream_close(h->s);
    h->s = NULL;
    tml_modelset_free(h->m);
    h->m = NULL;
    return h;
  }
  h->opened = true;
  return h;
}

int tml_predictor_push(tml_predictor *h, int64_t open_ms, double open, double high, double low, double close,
                       double volume) {
  if (!h)
    return TML_PREDICTOR_EINVAL;
  if (!h->opened)
    return TML_PREDICTOR_EOPEN;
  struct tml_error err;
  tml_error_init(&err);
  bool ready = false;
  int rc = tml_model_stream_push(h->s, open_ms, open, high, low, close, volume, NULL, &ready, &err);
  if (rc) {
    set_error(h, &err, "push failed");
    return rc == TML_EINVAL ? TML_PREDICTOR_EINVAL : TML_PREDICTOR_EFAIL;
  }
  h->error[0] = '\0';
  return ready ? TML_PREDICTOR_READY : TML_PREDICTOR_WARMING;
}

int tml_predictor_latest(tml_predictor *h, struct tml_predictor_result *out) {
  if (!h)
    return TML_PREDICTOR_EINVAL;
  if (!out || out->struct_size < RESULT_V1_SIZE) {
    snprintf(h->error, sizeof(h->error), "tml_predictor_latest: set result.struct_size = sizeof(result) (%zu)",
             RESULT_V1_SIZE);
    return TML_PREDICTOR_EINVAL;
  }
  if (!h->opened)
    return TML_PREDICTOR_EOPEN;
  struct tml_error err;
  tml_error_init(&err);
  struct tml_prediction p;
  int rc = tml_model_stream_latest(h->s, &p, &err);
  if (rc) {
    set_error(h, &err, "no prediction yet");
    return rc == TML_EDATA ? TML_PREDICTOR_ENODATA : TML_PREDICTOR_EFAIL;
  }
  uint32_t size = out->struct_size;
  memset(out, 0, RESULT_V1_SIZE);
  out->struct_size = size;
  out->abi_version = TML_PREDICTOR_ABI_VERSION;
  out->candle_open_ms = p.candle_ms;
  out->model_id = h->model_id;
  snprintf(out->model_version, sizeof(out->model_version), "%s", h->m->version);
  for (int k = 0; k < TML_HEAD_COUNT; k++) {
    int nc = tml_head_nclass((enum tml_head)k);
    out->nclass[k] = nc;
    out->cls[k] = nc > 0 ? p.cls[k] : -1;
    for (int c = 0; c < nc; c++)
      out->proba[k][c] = p.proba[k][c];
    out->value[k] = nc > 0 ? NAN : p.value[k];
  }
  h->error[0] = '\0';
  return TML_PREDICTOR_OK;
}

int64_t tml_predictor_last_candle_ms(const tml_predictor *h) {
  return h && h->opened ? tml_model_stream_last_ms(h->s) : INT64_MIN;
}

const char *tml_predictor_last_error(const tml_predictor *h) { return h ? h->error : "no predictor (NULL handle)"; }

const char *tml_predictor_head_name(int head) {
  return head >= 0 && head < TML_HEAD_COUNT ? tml_head_name((enum tml_head)head) : NULL;
}

const char *tml_predictor_class_name(int head, int k) {
  return head >= 0 && head < TML_HEAD_COUNT ? tml_head_class_name((enum tml_head)head, k) : NULL;
}

void tml_predictor_close(tml_predictor *h) {
  if (!h)
    return;
  tml_model_stream_close(h->s);
  tml_modelset_free(h->m);
  free(h);
}
