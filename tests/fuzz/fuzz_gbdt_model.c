/* Native engine model files (`--engine native`: <head>_model.json as tml_gbdt_load_json reads them for
 * `predict`, the live loop and the daemon): tml_gbdt_from_json on any text. A refusal must be
 * TML_EMODEL (or TML_ENOMEM) with a message. A model that loads must then
 *  - predict rows of zeros, of NaN and of +-Inf (missing values), of huge and of mixed values
 *    without a sanitizer report, class probabilities in [0, 1] when its margins are finite, and
 *    margins equal bit for bit to a walk of its own text's tree arrays (the reference for
 *    prediction's node layout);
 *  - write itself (tml_gbdt_to_json) as text that loads again, writes the same bytes and predicts
 *    the same bits (the format is canonical);
 *  - export as XGBoost JSON that parses as JSON, and give its feature importance. */
#include "fuzz.h"
#include "gbdt_reference.h"

#include <jansson.h>
#include <math.h>

#include "trademl/buf.h"
#include "trademl/gbdt.h"

#define MAX_K 255

static void check_refusal(int rc, const struct tml_error *err) {
  if ((rc != TML_EMODEL && rc != TML_ENOMEM) || !err->msg[0])
    abort();
}

static char *to_text(const struct tml_gbdt_model *m, size_t *len) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  struct tml_error err;
  tml_error_init(&err);
  if (tml_gbdt_to_json(m, &b, &err))
    abort(); /* only out of memory, which a fuzz-sized model never is */
  *len = b.len;
  return tml_buf_detach(&b, NULL);
}

/* The rows fed to a model: 0 zeros, 1 NaN, 2 +Inf, 3 -Inf, 4 +-3e38, 5 mixed by column. */
static void make_row(float *x, size_t ncols, int kind) {
  for (size_t j = 0; j < ncols; j++) {
    switch (kind) {
    case 0: x[j] = 0.0f; break;
    case 1: x[j] = NAN; break;
    case 2: x[j] = INFINITY; break;
    case 3: x[j] = -INFINITY; break;
    case 4: x[j] = j % 2 ? 3e38f : -3e38f; break;
    default: {
      static const float v[] = {0.5f, -1.0f, NAN, 1e-30f, 7.0f, -INFINITY, 100.0f};
      x[j] = v[j % (sizeof v / sizeof *v)];
    }
    }
  }
}

#define NKINDS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_quiet();
  struct tml_error err;
  tml_error_init(&err);
  struct tml_gbdt_model *m = NULL;
  int rc = tml_gbdt_from_json((const char *)data, size, "fuzz_model.json", &m, &err);
  if (rc) {
    check_refusal(rc, &err);
    if (m)
      abort();
    return 0;
  }
  int nclass = tml_gbdt_nclass(m);
  size_t ncols = tml_gbdt_ncols(m), K = nclass > 0 ? (size_t)nclass : 1;
  if (ncols == 0 || K > MAX_K || tml_gbdt_ntrees(m) == 0 || tml_gbdt_ntrees(m) % K != 0 ||
      (size_t)(tml_gbdt_best_iteration(m) + 1) * K != tml_gbdt_ntrees(m))
    abort(); /* the loader promises these */

  /* canonical text: write, load, write again */
  size_t len1 = 0, len2 = 0;
  char *t1 = to_text(m, &len1);
  struct tml_gbdt_model *m2 = NULL;
  if (tml_gbdt_from_json(t1, len1, "rewritten", &m2, &err)) {
    fprintf(stderr, "fuzz_gbdt_model: a loaded model's own text does not load: %s\n", err.msg);
    abort();
  }
  char *t2 = to_text(m2, &len2);
  if (len1 != len2 || memcmp(t1, t2, len1) != 0)
    abort();
  json_error_t jerr;
  json_t *text = json_loadb(t1, len1, 0, &jerr);
  if (!text)
    abort();
  free(t1);
  free(t2);

  if (ncols > TML_GBDT_MAX_COLS)
    abort(); /* the loader refuses more */
  {
    static float x[TML_GBDT_MAX_COLS], p1[MAX_K], p2[MAX_K], mg[MAX_K], ref[MAX_K];
    for (int kind = 0; kind < NKINDS; kind++) {
      make_row(x, ncols, kind);
      tml_gbdt_predict_margin(m, x, mg);
      gbdt_file_margins(text, x, ref);
      if (memcmp(mg, ref, K * sizeof *mg) != 0) {
        fprintf(stderr, "fuzz_gbdt_model: row kind %d: the margins differ from the text's trees\n", kind);
        abort();
      }
      tml_gbdt_predict(m, x, 1, p1);
      tml_gbdt_predict(m2, x, 1, p2);
      if (memcmp(p1, p2, K * sizeof *p1) != 0)
        abort();
      tml_gbdt_predict_margin(m, x, mg);
      bool finite = true;
      for (size_t k = 0; k < K; k++)
        finite &= isfinite(mg[k]) != 0;
      if (nclass > 0 && finite)
        for (size_t k = 0; k < K; k++)
          if (!(p1[k] >= 0.0f && p1[k] <= 1.0f))
            abort();
    }
    json_decref(text);
    static double gain[TML_GBDT_MAX_COLS], weight[TML_GBDT_MAX_COLS], cover[TML_GBDT_MAX_COLS];
    tml_gbdt_importance(m, gain, weight, cover);
  }

  struct tml_buf xb;
  tml_buf_init(&xb, 0);
  if (tml_gbdt_export_xgboost_json(m, &xb, &err) == 0) {
    json_t *j = json_loadb(xb.ptr, xb.len, 0, &jerr);
    if (!j) {
      fprintf(stderr, "fuzz_gbdt_model: the XGBoost export is not JSON: %s\n", jerr.text);
      abort();
    }
    json_decref(j);
  } else if (!err.msg[0]) {
    abort();
  }
  tml_buf_release(&xb);
  tml_gbdt_free(m2);
  tml_gbdt_free(m);
  return 0;
}
