/* Model set folders (`trademl predict`, the daemon's /api/predict, `models check`): metadata.json and
 * the five <head>_model.json files as tml_modelset_load reads them, then a prediction with the loaded
 * set over stored candles. The XGBoost JSON parser itself (libxgboost) is out of scope: the model files
 * are chosen from real ones trained at start-up (right, wrong column count, wrong class count,
 * missing, empty, cut short), while metadata.json is the fuzzed text.
 *   bytes 0-4: per head, which model file (low 3 bits: 0 features only, 1 one column more, 2 two more,
 *              3 the other kind of head, 4 missing, 5 "{}", 6-7 the first cut at (high 5 bits)/32)
 *   rest:      metadata.json; "$CHECKSUM", "$NFEAT" and "$COLUMNS" are replaced by this build's feature
 *              set checksum, column count and column names ("$COLUMNS1"/"$COLUMNS2": plus 1 or 2 symbol
 *              columns), so mutations reach past the checksum test.
 * The set lives at models/xgb5/MULTI-0000fuzz/1h/v1, where tml_modelset_find_latest also reads it, and is
 * registered (tml_registry_register reads metadata.json on its own) in an emptied registry. */
#include "fuzz.h"

#include <jansson.h>
#include <sqlite3.h>

#include "trademl/buf.h"
#include "trademl/featureset.h"
#include "trademl/labels.h"
#include "trademl/modelset.h"
#include "trademl/predict.h"
#include "trademl/registry.h"
#include "trademl/series.h"
#include "trademl/store.h"
#include "trademl/xgb.h"

/* Trained variants per head: 0 the feature columns, 1 one more (index encoding), 2 two more (one-hot of
 * two symbols), 3 the features but the other kind of head (classes vs regression). */
#define NKIND 4
static struct tml_buf models[TML_HEAD_COUNT][NKIND];
static char set_dir[700], models_dir[700];
static struct tml_store *store;
static struct tml_registry *reg;
static sqlite3 *reg_db; /* our own connection, to empty the registry between inputs */

static void must(int rc, const struct tml_error *err, const char *what) {
  if (rc) {
    fprintf(stderr, "fuzz_modelset: %s: %s\n", what, err->msg);
    abort();
  }
}

/* A tiny deterministic model: 2 rounds over 64 rows of ncols columns. */
static void train_one(size_t ncols, int nclass, struct tml_buf *out) {
  enum { ROWS = 64 };
  float *X = malloc(ROWS * ncols * sizeof(float)), y[ROWS];
  if (!X)
    abort();
  for (size_t r = 0; r < ROWS; r++) {
    for (size_t c = 0; c < ncols; c++)
      X[r * ncols + c] = (float)((r * 31 + c * 17) % 23);
    y[r] = nclass ? (float)(r % (size_t)nclass) : (float)r * 0.5f;
  }
  struct tml_xgb_params p;
  tml_xgb_params_default(&p);
  p.num_boost_round = 2;
  p.early_stopping_rounds = 0;
  p.max_depth = 2;
  struct tml_xgb_model *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  must(tml_xgb_train(X, ncols, y, (struct tml_range){0, 48}, (struct tml_range){48, ROWS}, nclass, &p, NULL, NULL,
                     NULL, &m, &err),
       &err, "training a model");
  tml_buf_init(out, 0);
  must(tml_xgb_to_json(m, out, &err), &err, "serialising a model");
  tml_xgb_free(m);
  free(X);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_quiet();
  struct tml_error err;
  tml_error_init(&err);
  size_t nf = tml_featureset_ncols();
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    int k = tml_head_nclass((enum tml_head)h);
    train_one(nf, k, &models[h][0]);
    train_one(nf + 1, k, &models[h][1]);
    train_one(nf + 2, k, &models[h][2]);
    train_one(nf, k ? 0 : 3, &models[h][3]);
  }
  snprintf(models_dir, sizeof(models_dir), "%s/models", fuzz_dir());
  snprintf(set_dir, sizeof(set_dir), "%s/xgb5/MULTI-0000fuzz/1h/v1", models_dir);
  must(tml_mkdir_p(set_dir, &err), &err, "model folder");
  char db[800];
  snprintf(db, sizeof(db), "%s/candles.db", fuzz_dir());
  must(tml_store_open(db, &store, &err), &err, "store");
  struct tml_featureset_opts fo = {.base_interval_ms = 3600000, .htf_interval_ms = 0};
  size_t n = tml_featureset_warmup(&fo) + 50;
  struct tml_candles c;
  tml_candles_init(&c, "BTCUSDT", 3600000);
  for (size_t i = 0; i < n; i++) {
    double x = 100 + (double)(i % 17) - (double)(i % 5);
    if (tml_candles_push(&c, 1704067200000 + (int64_t)i * 3600000, x, x + 2, x - 2, x + 1, 10 + (double)(i % 7)))
      abort();
  }
  must(tml_store_put(store, &c, false, NULL, &err), &err, "candles");
  tml_candles_release(&c);
  snprintf(db, sizeof(db), "%s/registry.db", fuzz_dir());
  must(tml_registry_open(db, &reg, &err), &err, "registry");
  if (sqlite3_open(db, &reg_db) != SQLITE_OK)
    abort();
  return 0;
}

static void put_file(const char *name, const void *data, size_t len, bool present) {
  char path[900];
  snprintf(path, sizeof(path), "%s/%s", set_dir, name);
  if (!present) {
    remove(path);
    return;
  }
  FILE *f = fopen(path, "wb");
  if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
    abort();
}

/* metadata text with the placeholders filled in. */
static void expand(const uint8_t *p, size_t n, struct tml_buf *out) {
  static const char *const names[5] = {"$CHECKSUM", "$NFEAT", "$COLUMNS1", "$COLUMNS2", "$COLUMNS"};
  for (size_t i = 0; i < n;) {
    int which = -1;
    for (int k = 0; k < 5 && which < 0; k++)
      if (n - i >= strlen(names[k]) && memcmp(p + i, names[k], strlen(names[k])) == 0)
        which = k;
    if (which < 0) {
      tml_buf_append(out, p + i, 1);
      i++;
      continue;
    }
    if (which == 0) {
      tml_buf_puts(out, tml_featureset_checksum());
    } else if (which == 1) {
      tml_buf_printf(out, "%zu", tml_featureset_ncols());
    } else {
      size_t more = which == 2 ? 1 : which == 3 ? 2 : 0;
      tml_buf_putc(out, '[');
      for (size_t c = 0; c < tml_featureset_ncols() + more; c++) {
        if (c)
          tml_buf_putc(out, ',');
        if (c < tml_featureset_ncols())
          tml_buf_json_str(out, tml_featureset_name(c));
        else
          tml_buf_printf(out, "\"symbol_%zu\"", c - tml_featureset_ncols());
      }
      tml_buf_putc(out, ']');
    }
    i += strlen(names[which]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < TML_HEAD_COUNT)
    return 0;
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    char name[64];
    snprintf(name, sizeof(name), "%s_model.json", tml_head_name((enum tml_head)h));
    unsigned kind = data[h] & 7u, cut = data[h] >> 3;
    if (kind >= NKIND + 2) {
      const struct tml_buf *m = &models[h][0]; /* 6, 7: cut at cut/32 of its length (0 = empty file) */
      put_file(name, m->ptr, m->len * cut / 32, true);
    } else if (kind == NKIND) {
      put_file(name, NULL, 0, false); /* 4: missing */
    } else if (kind == NKIND + 1) {
      put_file(name, "{}", 2, true); /* 5: JSON but no model */
    } else {
      put_file(name, models[h][kind].ptr, models[h][kind].len, true);
    }
  }
  struct tml_buf meta;
  tml_buf_init(&meta, 0);
  expand(data + TML_HEAD_COUNT, size - TML_HEAD_COUNT, &meta);
  put_file("metadata.json", meta.ptr, meta.len, true);
  tml_buf_release(&meta);

  struct tml_error err;
  tml_error_init(&err);
  if (sqlite3_exec(reg_db, "DELETE FROM model_symbols; DELETE FROM models;", NULL, NULL, NULL) != SQLITE_OK)
    abort();
  struct tml_model_row row;
  tml_model_row_init(&row);
  int rrc = tml_registry_register(reg, set_dir, 0, NULL, 1735689600000, &row, &err);
  if (rrc && !err.msg[0])
    abort();
  if (rrc == 0) {
    struct tml_buf b;
    tml_buf_init(&b, 0);
    if (tml_model_row_to_json(&row, &b))
      abort();
    json_error_t je;
    json_t *j = json_loadb(b.ptr, b.len, 0, &je);
    if (!j)
      abort(); /* GET /api/models serves this */
    json_decref(j);
    tml_buf_release(&b);
  }
  tml_model_row_release(&row);
  tml_error_init(&err);
  char dir[1000];
  int rc = tml_modelset_find_latest(models_dir, "xgb5", "BTCUSDT", 3600000, dir, sizeof(dir), &err);
  if (rc == 0 && strcmp(dir, set_dir) != 0)
    abort();
  struct tml_modelset *m = NULL;
  tml_error_init(&err);
  rc = tml_modelset_load(set_dir, &m, &err);
  if (getenv("FUZZ_VERBOSE"))
    fprintf(stderr, "fuzz_modelset: load: %s\n", rc ? err.msg : "ok");
  if (rc) {
    if (!err.msg[0] || m)
      abort();
    return 0;
  }
  if (m->nsymbols == 0 || m->ncols < m->nfeat)
    abort();
  for (size_t i = 0; i < m->nsymbols; i++) {
    struct tml_prediction p;
    tml_error_init(&err);
    rc = tml_predict_latest(store, m, m->symbols[i], INT64_MAX, &p, &err);
    if (rc && !err.msg[0])
      abort();
    if (rc == 0) {
      struct tml_buf b;
      tml_buf_init(&b, 0);
      if (tml_prediction_to_json(&p, m, m->symbols[i], 1735689600000, &b) == 0) {
        json_error_t je;
        json_t *j = json_loadb(b.ptr, b.len, 0, &je);
        if (!j)
          abort(); /* the prediction document must be JSON */
        json_decref(j);
      }
      tml_buf_release(&b);
    }
  }
  tml_modelset_free(m);
  return 0;
}
