/* The native engine's models (include/trademl/gbdt.h): the node arrays, prediction (eight trees
 * walked side by side), feature importance, the model file (own JSON, exact numbers, the same bytes
 * for the same model) and the export as XGBoost 1.7 JSON. Training (gbdt.c) appends the trees. */
#include "learn/gbdt_impl.h"
#include "trademl/numfmt.h"
#include "util/common.h"

#include <float.h>
#include <jansson.h>

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"

/* ---------------------------------------------------------------------------------------------- */
/* Model: see learn/gbdt_impl.h for its node arrays. */

int tml__gbdt_model_reserve(struct tml_gbdt_model *m, size_t more_nodes) {
  if (m->nnodes + more_nodes > m->cap_nodes) {
    size_t cap = m->cap_nodes ? m->cap_nodes * 2 : 1024;
    while (cap < m->nnodes + more_nodes)
      cap *= 2;
    struct node *n = realloc(m->nodes, cap * sizeof *n);
    if (!n)
      return TML_ENOMEM;
    m->nodes = n;
    struct node_stats *s = realloc(m->stats, cap * sizeof *s);
    if (!s)
      return TML_ENOMEM;
    m->stats = s;
    m->cap_nodes = cap;
  }
  if (m->ntrees + 2 > m->cap_trees) {
    size_t cap = m->cap_trees ? m->cap_trees * 2 : 256;
    uint32_t *t = realloc(m->tree_start, cap * sizeof *t);
    if (!t)
      return TML_ENOMEM;
    m->tree_start = t;
    m->cap_trees = cap;
  }
  return 0;
}

void tml_gbdt_free(struct tml_gbdt_model *m) {
  if (!m)
    return;
  if (m->feature_names)
    for (size_t i = 0; i < m->ncols; i++)
      free(m->feature_names[i]);
  free(m->feature_names);
  free(m->tree_start);
  free(m->nodes);
  free(m->stats);
  tml__forest_release(&m->pred);
  free(m);
}

int tml_gbdt_best_iteration(const struct tml_gbdt_model *m) { return m->best_iteration; }
double tml_gbdt_best_score(const struct tml_gbdt_model *m) { return m->best_score; }
int tml_gbdt_nclass(const struct tml_gbdt_model *m) { return m->nclass; }
size_t tml_gbdt_ncols(const struct tml_gbdt_model *m) { return m->ncols; }
size_t tml_gbdt_ntrees(const struct tml_gbdt_model *m) { return m->ntrees; }

/* ---------------------------------------------------------------------------------------------- */
/* Prediction */

_Static_assert(TML_GBDT_MAX_COLS == TML__FOREST_MAX_COLS, "a native model's columns are the layout's");

int tml__gbdt_model_seal(struct tml_gbdt_model *m) {
  struct tml__forest *f = &m->pred;
  if (tml__forest_reserve(f, m->nnodes))
    return TML_ENOMEM;
  for (size_t i = 0; i < m->nnodes; i++) {
    const struct node *nd = &m->nodes[i];
    if (tml__forest_set(f, i, nd->feature, nd->value, (size_t)(nd->left & CHILD_MASK), (nd->left & DEFAULT_LEFT) != 0))
      return TML_EINVAL;
  }
  f->tree_start = m->tree_start;
  f->group = NULL; /* tree t predicts class t % K */
  f->ntrees = m->ntrees;
  f->ncols = m->ncols;
  f->K = m->nclass > 0 ? (size_t)m->nclass : 1;
  f->base_score = m->base_score;
  f->inf_missing = true;
  return 0;
}

void tml_gbdt_predict_margin(const struct tml_gbdt_model *m, const float *x, float *margin) {
  tml__forest_margin(&m->pred, x, margin);
}

void tml__gbdt_softmax(float *v, int K) {
  float mx = v[0];
  for (int k = 1; k < K; k++)
    mx = v[k] > mx ? v[k] : mx;
  double sum = 0.0; /* XGBoost 1.7 sums in double and divides by the sum rounded to float */
  for (int k = 0; k < K; k++) {
    v[k] = expf(v[k] - mx);
    sum += (double)v[k];
  }
  float fsum = (float)sum;
  for (int k = 0; k < K; k++)
    v[k] /= fsum;
}

void tml_gbdt_predict(const struct tml_gbdt_model *m, const float *X, size_t nrows, float *out) {
  int K = m->nclass > 0 ? m->nclass : 1;
  for (size_t r = 0; r < nrows; r++) {
    float *o = out + r * (size_t)K;
    tml_gbdt_predict_margin(m, X + r * m->ncols, o);
    if (m->nclass > 0)
      tml__gbdt_softmax(o, K);
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Importance */

void tml_gbdt_importance(const struct tml_gbdt_model *m, double *gain, double *weight, double *cover) {
  size_t n = m->ncols;
  double *tg = calloc(n, sizeof(double)), *tc = calloc(n, sizeof(double)), *cnt = calloc(n, sizeof(double));
  if (tg && tc && cnt)
    for (size_t i = 0; i < m->nnodes; i++)
      if (m->nodes[i].feature >= 0) {
        size_t f = (size_t)m->nodes[i].feature;
        tg[f] += m->stats[i].gain;
        tc[f] += m->stats[i].cover;
        cnt[f] += 1.0;
      }
  for (size_t j = 0; j < n; j++) {
    bool used = tg && tc && cnt && cnt[j] > 0;
    if (gain)
      gain[j] = used ? tg[j] / cnt[j] : 0.0;
    if (weight)
      weight[j] = used ? cnt[j] : 0.0;
    if (cover)
      cover[j] = used ? tc[j] / cnt[j] : 0.0;
  }
  free(tg);
  free(tc);
  free(cnt);
}

/* ---------------------------------------------------------------------------------------------- */
/* Files: own JSON format. Numbers are printed with %.9g (float) / %.17g (double), -0 as -0.0:
 * exact, and the same model always gives the same bytes. */

/* Numbers as printf's %.9g / %.17g / %d would write them (numfmt.h: the same bytes, a model's
 * hundreds of thousands of numbers without printf's general conversion). */
static int put_g(struct tml_buf *b, double v, int prec) {
  if (v == 0.0 && signbit(v)) /* a leaf of G = 0 is -0: "-0" would read back as the integer 0 */
    return tml_buf_puts(b, "-0.0");
  char t[TML_FMT_G_MAX];
  return tml_buf_append(b, t, tml_fmt_g(t, v, prec));
}
static int put_float(struct tml_buf *b, float v) { return put_g(b, (double)v, 9); }
static int put_double(struct tml_buf *b, double v) { return put_g(b, v, 17); }
/* ",v" (or "v" for the first of a list) */
static int put_list_int(struct tml_buf *b, bool first, int64_t v) {
  char t[24];
  size_t n = 0;
  if (!first)
    t[n++] = ',';
  n += tml_fmt_int(t + n, v);
  return tml_buf_append(b, t, n);
}

int tml_gbdt_to_json(const struct tml_gbdt_model *m, struct tml_buf *out, struct tml_error *err) {
  int rc = 0;
  rc |= tml_buf_printf(out, "{\"format\":\"%s\",\"format_version\":%d,\"engine\":\"native\",\"nclass\":%d,\"ncols\":%zu,",
                       TML_GBDT_FORMAT, TML_GBDT_FORMAT_VERSION, m->nclass, m->ncols);
  rc |= tml_buf_puts(out, "\"base_score\":");
  rc |= put_float(out, m->base_score);
  rc |= tml_buf_printf(out, ",\"best_iteration\":%d,\"best_score\":", m->best_iteration);
  rc |= isfinite(m->best_score) ? put_double(out, m->best_score) : tml_buf_puts(out, "null");
  rc |= tml_buf_puts(out, ",\"feature_names\":");
  if (m->feature_names) {
    rc |= tml_buf_putc(out, '[');
    for (size_t i = 0; i < m->ncols; i++) {
      if (i)
        rc |= tml_buf_putc(out, ',');
      rc |= tml_buf_json_str(out, m->feature_names[i]);
    }
    rc |= tml_buf_putc(out, ']');
  } else {
    rc |= tml_buf_puts(out, "null");
  }
  rc |= tml_buf_puts(out, ",\"trees\":[");
  for (size_t t = 0; t < m->ntrees; t++) {
    uint32_t a = m->tree_start[t], z = m->tree_start[t + 1];
    rc |= tml_buf_printf(out, "%s\n{\"feature\":[", t ? "," : "");
    for (uint32_t i = a; i < z; i++)
      rc |= put_list_int(out, i == a, m->nodes[i].feature);
    rc |= tml_buf_puts(out, "],\"value\":[");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_float(out, m->nodes[i].value);
    }
    rc |= tml_buf_puts(out, "],\"left\":[");
    for (uint32_t i = a; i < z; i++)
      rc |= put_list_int(out, i == a,
                         m->nodes[i].feature >= 0 ? (int)((m->nodes[i].left & CHILD_MASK) - (int32_t)a) : -1);
    rc |= tml_buf_puts(out, "],\"default_left\":[");
    for (uint32_t i = a; i < z; i++)
      rc |= put_list_int(out, i == a, (m->nodes[i].left & DEFAULT_LEFT) ? 1 : 0);
    rc |= tml_buf_puts(out, "],\"gain\":[");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_double(out, m->stats[i].gain);
    }
    rc |= tml_buf_puts(out, "],\"cover\":[");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_double(out, m->stats[i].cover);
    }
    rc |= tml_buf_puts(out, "],\"weight\":[");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_float(out, m->stats[i].weight);
    }
    rc |= tml_buf_puts(out, "]}");
  }
  rc |= tml_buf_puts(out, "]}\n");
  if (rc)
    return tml_error_set(err, TML_ENOMEM, "serialising the native model: out of memory");
  return 0;
}

int tml_gbdt_save_json(const struct tml_gbdt_model *m, const char *path, struct tml_error *err) {
  struct tml_buf b;
  tml_buf_init(&b, 0);
  int rc = tml_gbdt_to_json(m, &b, err);
  if (!rc)
    rc = tml_write_file_atomic(path, b.ptr, b.len, err);
  tml_buf_release(&b);
  return rc;
}

/* Reads array `key` of object o as numbers into dst (n values); false when absent or wrong. */
static bool read_nums(json_t *o, const char *key, size_t n, double *dst) {
  json_t *a = json_object_get(o, key);
  if (!json_is_array(a) || json_array_size(a) != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(a, i);
    if (!json_is_number(v))
      return false;
    dst[i] = json_number_value(v);
  }
  return true;
}

/* A number the model holds as a float: finite once rounded to float. Doubles from 2^128 - 2^103 up
 * round to Inf; FLT_MAX as written (3.40282347e+38, a little above it) still reads back as FLT_MAX. */
static bool float_finite(double v) { return fabs(v) < 0x1.ffffffp+127; }

int tml_gbdt_from_json(const char *text, size_t len, const char *name, struct tml_gbdt_model **out,
                       struct tml_error *err) {
  *out = NULL;
  json_error_t jerr;
  json_t *root = json_loadb(text, len, 0, &jerr);
  struct tml_gbdt_model *m = NULL;
  double *num = NULL;
  int rc = 0;
  const char *why = NULL;
  char whybuf[256];
  if (!root) {
    snprintf(whybuf, sizeof whybuf, "not JSON (line %d: %.160s)", jerr.line, jerr.text);
    why = whybuf;
    goto bad;
  }
  json_t *fmt = json_object_get(root, "format");
  if (!json_is_string(fmt) || strcmp(json_string_value(fmt), TML_GBDT_FORMAT) != 0) {
    if (json_object_get(root, "learner"))
      why = "an XGBoost model, not a native one (engine xgboost: load it with --engine xgboost)";
    else
      why = "not a native model (no \"format\":\"" TML_GBDT_FORMAT "\")";
    goto bad;
  }
  json_t *ver = json_object_get(root, "format_version"), *eng = json_object_get(root, "engine");
  if (!json_is_integer(ver) || json_integer_value(ver) != TML_GBDT_FORMAT_VERSION) {
    snprintf(whybuf, sizeof whybuf, "format_version %lld is not %d (written by another trademl version)",
             json_is_integer(ver) ? (long long)json_integer_value(ver) : -1LL, TML_GBDT_FORMAT_VERSION);
    why = whybuf;
    goto bad;
  }
  if (!json_is_string(eng) || strcmp(json_string_value(eng), "native") != 0) {
    why = "its engine is not \"native\"";
    goto bad;
  }
  json_t *jncl = json_object_get(root, "nclass"), *jnc = json_object_get(root, "ncols");
  json_t *jbase = json_object_get(root, "base_score"), *jbest = json_object_get(root, "best_iteration");
  json_t *jscore = json_object_get(root, "best_score"), *jnames = json_object_get(root, "feature_names");
  json_t *jtrees = json_object_get(root, "trees");
  if (!json_is_integer(jncl) || !json_is_integer(jnc) || !json_is_number(jbase) || !json_is_integer(jbest) ||
      !json_is_array(jtrees)) {
    why = "a field (nclass, ncols, base_score, best_iteration, trees) is missing or of the wrong type";
    goto bad;
  }
  json_int_t ncl = json_integer_value(jncl), nc = json_integer_value(jnc), bi = json_integer_value(jbest);
  size_t ntrees = json_array_size(jtrees);
  if (!(ncl == 0 || (ncl >= 2 && ncl <= MAX_CLASSES)) || nc < 1 || nc > INT32_MAX || ntrees == 0) {
    why = "nclass, ncols or the tree count is out of range";
    goto bad;
  }
  if (nc > TML_GBDT_MAX_COLS) {
    snprintf(whybuf, sizeof whybuf,
             "ncols %lld is above the native engine's %d columns (retrain with fewer features, or with --engine "
             "xgboost)",
             (long long)nc, TML_GBDT_MAX_COLS);
    why = whybuf;
    goto bad;
  }
  int K = ncl > 0 ? (int)ncl : 1;
  /* rounds = ntrees / K, and best_iteration the last of them (compared so that no huge value overflows) */
  if (ntrees % (size_t)K != 0 || bi != (json_int_t)(ntrees / (size_t)K) - 1) {
    why = "the tree count does not match nclass and best_iteration";
    goto bad;
  }
  if (!float_finite(json_number_value(jbase))) {
    why = "base_score is beyond a float's range";
    goto bad;
  }
  m = calloc(1, sizeof *m);
  if (!m)
    goto oom;
  m->nclass = (int)ncl;
  m->ncols = (size_t)nc;
  m->base_score = (float)json_number_value(jbase);
  m->best_iteration = (int)bi;
  m->best_score = json_is_number(jscore) ? json_number_value(jscore) : (double)NAN;
  if (json_is_array(jnames)) {
    if (json_array_size(jnames) != m->ncols) {
      why = "feature_names does not have ncols names";
      goto bad;
    }
    m->feature_names = calloc(m->ncols, sizeof(char *));
    if (!m->feature_names)
      goto oom;
    for (size_t i = 0; i < m->ncols; i++) {
      json_t *s = json_array_get(jnames, i);
      if (!json_is_string(s)) {
        why = "a feature name is not a string";
        goto bad;
      }
      size_t l = strlen(json_string_value(s)) + 1;
      if (!(m->feature_names[i] = malloc(l)))
        goto oom;
      memcpy(m->feature_names[i], json_string_value(s), l);
    }
  } else if (!json_is_null(jnames) && jnames) {
    why = "feature_names is neither an array nor null";
    goto bad;
  }
  if (tml__gbdt_model_reserve(m, 0))
    goto oom;
  m->tree_start[0] = 0;
  for (size_t t = 0; t < ntrees; t++) {
    json_t *jt = json_array_get(jtrees, t);
    json_t *jf = json_object_get(jt, "feature");
    size_t n = json_is_array(jf) ? json_array_size(jf) : 0;
    if (n == 0 || n > (size_t)1 << 24) {
      snprintf(whybuf, sizeof whybuf, "tree %zu has no nodes or too many", t);
      why = whybuf;
      goto bad;
    }
    free(num);
    if (!(num = malloc(7 * n * sizeof *num)))
      goto oom;
    static const char *const keys[7] = {"feature", "value", "left", "default_left", "gain", "cover", "weight"};
    for (int k = 0; k < 7; k++)
      if (!read_nums(jt, keys[k], n, num + (size_t)k * n)) {
        snprintf(whybuf, sizeof whybuf, "tree %zu: array '%s' is missing, not numbers, or not %zu long", t, keys[k], n);
        why = whybuf;
        goto bad;
      }
    if (tml__gbdt_model_reserve(m, n))
      goto oom;
    uint32_t a = (uint32_t)m->nnodes;
    /* A node's children come after it and inside the tree: no cycle, every path ends in a leaf. */
    for (size_t i = 0; i < n; i++) {
      double f = num[i], l = num[2 * n + i], dl = num[3 * n + i], v = num[n + i];
      bool leaf = f == -1.0;
      /* value and weight are floats in the model */
      bool ok = (leaf || (f >= 0 && f < (double)m->ncols && f == floor(f))) && float_finite(v) &&
                float_finite(num[6 * n + i]) &&
                (dl == 0.0 || dl == 1.0) &&
                (leaf ? l == -1.0 : (l == floor(l) && l > (double)i && l + 1 < (double)n)) &&
                isfinite(num[4 * n + i]) && isfinite(num[5 * n + i]);
      if (!ok) {
        snprintf(whybuf, sizeof whybuf, "tree %zu node %zu is inconsistent (feature, child, value or weight out of range)", t, i);
        why = whybuf;
        goto bad;
      }
      if (!leaf && l - (double)i > (double)TML__FOREST_MAX_OFFSET) {
        snprintf(whybuf, sizeof whybuf,
                 "tree %zu node %zu: its child %.0f nodes after it is beyond the native engine's %d (the tree is too "
                 "large)",
                 t, i, l - (double)i, TML__FOREST_MAX_OFFSET);
        why = whybuf;
        goto bad;
      }
      struct node *nd = &m->nodes[a + i];
      nd->feature = leaf ? -1 : (int32_t)f;
      nd->value = (float)v;
      nd->left = leaf ? 0 : (int32_t)(a + (uint32_t)l) | (dl == 1.0 ? DEFAULT_LEFT : 0);
      m->stats[a + i] = (struct node_stats){num[4 * n + i], num[5 * n + i], (float)num[6 * n + i], 0};
    }
    if (a + n >= (size_t)DEFAULT_LEFT) {
      why = "too many nodes";
      goto bad;
    }
    m->nnodes += n;
    m->ntrees++;
    m->tree_start[m->ntrees] = (uint32_t)m->nnodes;
  }
  if ((rc = tml__gbdt_model_seal(m)) == TML_ENOMEM)
    goto oom;
  if (rc) { /* the checks above leave nothing the layout cannot hold */
    why = "its trees do not fit the native engine's prediction layout";
    goto bad;
  }
  *out = m;
  m = NULL;
  goto out;
oom:
  rc = tml_error_set(err, TML_ENOMEM, "loading model '%s': out of memory", name);
  goto out;
bad:
  rc = tml_error_set(err, TML_EMODEL, "model file '%s' is corrupt or not a native trademl model: %s", name, why);
out:
  free(num);
  json_decref(root);
  tml_gbdt_free(m);
  return rc;
}

int tml_gbdt_load_json(const char *path, struct tml_gbdt_model **out, struct tml_error *err) {
  *out = NULL;
  if (!tml_path_exists(path))
    return tml_error_set(err, TML_EMODEL, "model file '%s' does not exist; train the model first", path);
  char *text = NULL;
  size_t len = 0;
  int rc = tml_read_file(path, &text, &len, err);
  if (rc)
    return tml_error_set(err, TML_EMODEL, "model file '%s' cannot be read", path);
  rc = tml_gbdt_from_json(text, len, path, out, err);
  free(text);
  return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* XGBoost 1.7 JSON export (schema: doc/model.schema in XGBoost 1.7). Parents and child links are
 * relative to the tree; leaves carry their value in split_conditions, as XGBoost writes them. */

/* XGBoost's JSON reader keeps integers and reals apart ("Invalid cast, from Integer to Number"):
 * a real always gets a fraction or an exponent. */
static int put_xgb_float(struct tml_buf *b, double v) {
  char tmp[TML_FMT_G_MAX + 2];
  size_t n = tml_fmt_g(tmp, v, 9);
  if (!strpbrk(tmp, ".eEn")) {
    memcpy(tmp + n, ".0", 3);
    n += 2;
  }
  return tml_buf_append(b, tmp, n);
}

int tml_gbdt_export_xgboost_json(const struct tml_gbdt_model *m, struct tml_buf *out, struct tml_error *err) {
  int rc = 0, K = m->nclass > 0 ? m->nclass : 1;
  rc |= tml_buf_puts(out, "{\"learner\":{\"attributes\":{\"best_iteration\":");
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%d", m->best_iteration);
  rc |= tml_buf_json_str(out, tmp);
  if (isfinite(m->best_score)) {
    snprintf(tmp, sizeof tmp, "%.17g", m->best_score);
    rc |= tml_buf_puts(out, ",\"best_score\":");
    rc |= tml_buf_json_str(out, tmp);
  }
  rc |= tml_buf_puts(out, "},\"feature_names\":[");
  for (size_t i = 0; m->feature_names && i < m->ncols; i++) {
    if (i)
      rc |= tml_buf_putc(out, ',');
    rc |= tml_buf_json_str(out, m->feature_names[i]);
  }
  rc |= tml_buf_puts(out, "],\"feature_types\":[");
  for (size_t i = 0; m->feature_names && i < m->ncols; i++)
    rc |= tml_buf_printf(out, "%s\"float\"", i ? "," : "");
  rc |= tml_buf_printf(out, "],\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
                            "\"num_trees\":\"%zu\",\"size_leaf_vector\":\"0\"},\"tree_info\":[",
                       m->ntrees);
  for (size_t t = 0; t < m->ntrees; t++)
    rc |= tml_buf_printf(out, "%s%zu", t ? "," : "", t % (size_t)K);
  rc |= tml_buf_puts(out, "],\"trees\":[");
  for (size_t t = 0; t < m->ntrees; t++) {
    uint32_t a = m->tree_start[t], z = m->tree_start[t + 1], n = z - a;
    rc |= tml_buf_printf(out, "%s{\"base_weights\":[", t ? "," : "");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_xgb_float(out, (double)m->stats[i].weight);
    }
    rc |= tml_buf_puts(out, "],\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
                            "\"categories_sizes\":[],\"default_left\":[");
    for (uint32_t i = a; i < z; i++)
      rc |= put_list_int(out, i == a, m->nodes[i].feature >= 0 && (m->nodes[i].left & DEFAULT_LEFT) ? 1 : 0);
    rc |= tml_buf_printf(out, "],\"id\":%zu,\"left_children\":[", t);
    for (uint32_t i = a; i < z; i++)
      rc |= put_list_int(out, i == a,
                         m->nodes[i].feature >= 0 ? (int)((m->nodes[i].left & CHILD_MASK) - (int32_t)a) : -1);
    rc |= tml_buf_puts(out, "],\"loss_changes\":[");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_xgb_float(out, m->stats[i].gain);
    }
    /* parents: 2147483647 for the root (XGBoost's kInvalidNodeId as written by 1.7) */
    int32_t *parent = malloc(n * sizeof *parent);
    if (!parent)
      return tml_error_set(err, TML_ENOMEM, "exporting the model: out of memory");
    parent[0] = INT32_MAX;
    for (uint32_t i = a; i < z; i++)
      if (m->nodes[i].feature >= 0) {
        int32_t l = (m->nodes[i].left & CHILD_MASK) - (int32_t)a;
        parent[l] = parent[l + 1] = (int32_t)(i - a);
      }
    rc |= tml_buf_puts(out, "],\"parents\":[");
    for (uint32_t i = 0; i < n; i++)
      rc |= put_list_int(out, i == 0, parent[i]);
    free(parent);
    rc |= tml_buf_puts(out, "],\"right_children\":[");
    for (uint32_t i = a; i < z; i++)
      rc |= put_list_int(out, i == a,
                         m->nodes[i].feature >= 0 ? (int)((m->nodes[i].left & CHILD_MASK) - (int32_t)a + 1) : -1);
    rc |= tml_buf_puts(out, "],\"split_conditions\":[");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_xgb_float(out, (double)m->nodes[i].value);
    }
    rc |= tml_buf_puts(out, "],\"split_indices\":[");
    for (uint32_t i = a; i < z; i++)
      rc |= put_list_int(out, i == a, m->nodes[i].feature >= 0 ? m->nodes[i].feature : 0);
    rc |= tml_buf_puts(out, "],\"split_type\":[");
    for (uint32_t i = 0; i < n; i++)
      rc |= tml_buf_printf(out, "%s0", i ? "," : "");
    rc |= tml_buf_puts(out, "],\"sum_hessian\":[");
    for (uint32_t i = a; i < z; i++) {
      if (i > a)
        rc |= tml_buf_putc(out, ',');
      rc |= put_xgb_float(out, m->stats[i].cover);
    }
    rc |= tml_buf_printf(out, "],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"%zu\",\"num_nodes\":\"%u\","
                              "\"size_leaf_vector\":\"0\"}}",
                         m->ncols, n);
  }
  char base[40];
  snprintf(base, sizeof base, "%.9g", (double)m->base_score);
  rc |= tml_buf_printf(out, "]},\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":\"%s\",\"num_class\":\"%d\","
                            "\"num_feature\":\"%zu\",\"num_target\":\"1\"},\"objective\":",
                       base, m->nclass, m->ncols);
  if (m->nclass > 0)
    rc |= tml_buf_printf(out, "{\"name\":\"multi:softprob\",\"softmax_multiclass_param\":{\"num_class\":\"%d\"}}",
                         m->nclass);
  else
    rc |= tml_buf_puts(out, "{\"name\":\"reg:squarederror\",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}");
  rc |= tml_buf_puts(out, "},\"version\":[1,7,4]}\n");
  if (rc)
    return tml_error_set(err, TML_ENOMEM, "exporting the model as XGBoost JSON: out of memory");
  return 0;
}
