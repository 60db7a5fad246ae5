/* modelset: loading a model set folder checks metadata.json against what prediction will do with it. */
#include "test.h"
#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/featureset.h"
#include "trademl/fsutil.h"
#include "trademl/modelset.h"
#include "trademl/xgb.h"

/* A model set folder whose five heads are tiny models over ncols columns, with a metadata.json naming
 * ncols columns, the running feature set's checksum and count, the symbols and the encoding. */
static char *make_set(const char *test, size_t ncols, const char *symbols_json, const char *encoding) {
  char *dir = tml_test_tmpdir(test);
  struct tml_error err;
  tml_error_init(&err);
  enum { ROWS = 48 };
  float *X = malloc(ROWS * ncols * sizeof(float)), y[ROWS];
  CHECK(X != NULL);
  for (int h = 0; h < TML_HEAD_COUNT; h++) {
    int k = tml_head_nclass((enum tml_head)h);
    for (size_t r = 0; r < ROWS; r++) {
      for (size_t c = 0; c < ncols; c++)
        X[r * ncols + c] = (float)((r * 7 + c * 3) % 11);
      y[r] = k ? (float)(r % (size_t)k) : (float)r;
    }
    struct tml_xgb_params p;
    tml_xgb_params_default(&p);
    p.num_boost_round = 2;
    p.early_stopping_rounds = 0;
    struct tml_xgb_model *m = NULL;
    CHECK_OK(tml_xgb_train(X, ncols, y, (struct tml_range){0, 32}, (struct tml_range){32, ROWS}, k, &p, NULL, NULL,
                           NULL, &m, &err),
             &err);
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s_model.json", dir, tml_head_name((enum tml_head)h));
    CHECK_OK(tml_xgb_save_json(m, path, &err), &err);
    tml_xgb_free(m);
  }
  free(X);
  struct tml_buf b;
  tml_buf_init(&b, 0);
  tml_buf_printf(&b, "{\"strategy\":\"xgb5\",\"version\":\"v1\",\"symbols\":%s,\"interval\":\"1h\","
                     "\"symbol_encoding\":\"%s\",\"feature_set\":{\"checksum\":\"%s\",\"nfeatures\":%zu,\"columns\":[",
                 symbols_json, encoding, tml_featureset_checksum(), tml_featureset_ncols());
  for (size_t c = 0; c < ncols; c++)
    tml_buf_printf(&b, "%s\"c%zu\"", c ? "," : "", c);
  tml_buf_puts(&b, "]}}");
  char path[4200];
  snprintf(path, sizeof(path), "%s/metadata.json", dir);
  CHECK_OK(tml_write_file_atomic(path, b.ptr, b.len, &err), &err);
  tml_buf_release(&b);
  return dir;
}

static void load_fails(const char *dir, const char *want) {
  struct tml_modelset *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_INT(tml_modelset_load(dir, &m, &err), TML_EMODEL);
  CHECK(m == NULL);
  CHECK_CONTAINS(err.msg, want);
}

TEST(load_checks_columns_against_encoding) {
  size_t nf = tml_featureset_ncols();
  char *dir = make_set("ms_ok", nf, "[\"BTCUSDT\"]", "none");
  struct tml_modelset *m = NULL;
  struct tml_error err;
  tml_error_init(&err);
  CHECK_OK(tml_modelset_load(dir, &m, &err), &err);
  CHECK_INT(m->ncols, nf);
  CHECK_STR(m->symbols[0], "BTCUSDT");
  tml_modelset_free(m);
  free(dir);
  /* Found by tests/fuzz/fuzz_modelset: this metadata.json loaded, and predicting with it wrote the
   * symbol column past the end of the prediction row (heap overflow in tml_predict_latest). */
  dir = make_set("ms_index", nf, "[\"BTCUSDT\",\"ETHUSDT\"]", "index");
  char want[256];
  snprintf(want, sizeof(want), "feature_set.columns names %zu columns but %zu features and the index encoding of 2 "
           "symbol(s) make %zu", nf, nf, nf + 1);
  load_fails(dir, want);
  free(dir);
  dir = make_set("ms_onehot", nf + 1, "[\"BTCUSDT\",\"ETHUSDT\"]", "one_hot");
  load_fails(dir, "make");
  free(dir);
}

TEST(load_refuses_invalid_symbols) {
  char *dir = make_set("ms_sym", tml_featureset_ncols(), "[\"BTCUSDT\",\"../../etc\"]", "none");
  load_fails(dir, "symbols[1] is not a symbol like BTCUSDT");
  free(dir);
}
