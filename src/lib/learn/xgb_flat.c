/* An XGBoost gbtree model, flattened for prediction. XGBoost's in-place prediction costs a fixed
 * overhead per call (context, adapter, thread pool, per-thread buffers, the transform) that dominates
 * when the live loop predicts one row with each of five heads. The trees themselves are cheap: this
 * module copies them once, when a model is loaded or trained, into the prediction layout of
 * learn/forest.h (8-byte nodes, a split node's children adjacent, breadth first; the native engine's
 * layout too), and walks that directly.
 *
 * The evaluation reproduces XGBoost 1.7 (src/predictor/cpu_predictor.cc, src/common/math.h) exactly:
 *  - a split sends x to the left child when x < split_condition (float compare); a missing value (NaN:
 *    in-place prediction's `missing`) follows default_left; +-inf compare as numbers;
 *  - the margin of class group g starts at base_score (learner_model_param; multi:softprob and
 *    reg:squarederror map it to the margin unchanged) and adds the leaf of every tree with
 *    tree_info == g, in float, in tree order (PredictByAllTrees);
 *  - multi:softprob applies common::Softmax: max by fmaxf in float, expf(x - max) in float, summed in
 *    double, each divided by the sum cast to float; reg:squarederror is the identity.
 * Leaf values are split_conditions of leaf nodes (XGBoost keeps the leaf value in the split condition's
 * slot); they and the thresholds are read with strtof from XGBoost's shortest round-trip text, which
 * gives back the stored floats exactly. xgb.c also checks every converted model against XGBoost on
 * probe rows before using it (tml__xgb_flat_probe_rows), and keeps XGBoost's own prediction otherwise.
 *
 * The JSON is XGBoost's own serialisation, but it is scanned defensively: every index is range
 * checked, every node reached once, and anything unexpected is TML_EMODEL, never a crash. */
#include "learn/xgb_flat.h"
#include "learn/forest.h"
#include "util/common.h"

#include <ctype.h>
#include <errno.h>

#include "trademl/error.h"
#include "trademl/parse.h"

#define MAX_CLASSES 255
#define MAX_DEPTH 64 /* of JSON nesting */
#define PROBES 4     /* thresholds kept per column for probe rows */

#define MAX_NODES ((size_t)INT32_MAX) /* of a model (tree_start holds node indices) */

struct tml__xgb_flat {
  int nclass;           /* 0 = regression */
  size_t ncols;
  size_t ntrees;
  float base_score;     /* margin every group starts from */
  uint32_t *tree_start; /* ntrees offsets into the forest's nodes */
  uint8_t *group;       /* ntrees class groups (tree_info) */
  struct tml__forest forest; /* the trees, read straight into the prediction layout (learn/forest.h) */
  size_t nnodes, cap_nodes;  /* nodes read so far, room in forest.nodes */
  float *probe;         /* ncols * PROBES thresholds (NaN = none) for probe rows */
};

/* ---------------------------------------------------------------------------------------------- */
/* A minimal JSON scanner: positions, skipping, keys, numbers. No tree of values is built. */

struct cursor {
  const char *p, *end;
};

static void ws(struct cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
    c->p++;
}

static bool eat(struct cursor *c, char ch) {
  ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return true;
  }
  return false;
}

static bool skip_string(struct cursor *c) {
  ws(c);
  if (c->p >= c->end || *c->p != '"')
    return false;
  for (c->p++; c->p < c->end; c->p++) {
    if (*c->p == '\\')
      c->p++;
    else if (*c->p == '"') {
      c->p++;
      return true;
    }
  }
  return false;
}

static bool is_token_char(char ch) {
  return isalnum((unsigned char)ch) || ch == '-' || ch == '+' || ch == '.';
}

static bool skip_value(struct cursor *c, int depth) {
  ws(c);
  if (c->p >= c->end || depth > MAX_DEPTH)
    return false;
  char open = *c->p;
  if (open == '"')
    return skip_string(c);
  if (open == '{' || open == '[') {
    char close = open == '{' ? '}' : ']';
    c->p++;
    if (eat(c, close))
      return true;
    for (;;) {
      if (open == '{' && (!skip_string(c) || !eat(c, ':')))
        return false;
      if (!skip_value(c, depth + 1))
        return false;
      if (eat(c, ','))
        continue;
      return eat(c, close);
    }
  }
  const char *s = c->p;
  while (c->p < c->end && is_token_char(*c->p))
    c->p++;
  return c->p > s;
}

/* Reads the next key of an object (after '{' or ','), leaving c at its value. */
static bool next_key(struct cursor *c, const char **key, size_t *len) {
  ws(c);
  const char *k = c->p + 1;
  if (!skip_string(c))
    return false;
  *key = k;
  *len = (size_t)(c->p - 1 - k);
  return eat(c, ':');
}

static bool key_is(const char *key, size_t len, const char *want) {
  return strlen(want) == len && memcmp(key, want, len) == 0;
}

/* Positions *val at the value of `key` in the object at obj. */
static bool find_key(struct cursor obj, const char *want, struct cursor *val) {
  struct cursor c = obj;
  if (!eat(&c, '{') || eat(&c, '}'))
    return false;
  for (;;) {
    const char *key;
    size_t len;
    if (!next_key(&c, &key, &len))
      return false;
    if (key_is(key, len, want)) {
      ws(&c);
      *val = c;
      return true;
    }
    if (!skip_value(&c, 1) || !eat(&c, ','))
      return false;
  }
}

static bool find_path(struct cursor c, const char *const *keys, size_t n, struct cursor *val) {
  for (size_t i = 0; i < n; i++)
    if (!find_key(c, keys[i], &c))
      return false;
  *val = c;
  return true;
}

/* A number or literal token, or the content of a string (no escapes), copied NUL-terminated into buf. */
static bool token(struct cursor *c, char *buf, size_t cap) {
  ws(c);
  bool quoted = c->p < c->end && *c->p == '"';
  if (quoted)
    c->p++;
  size_t n = 0;
  while (c->p < c->end && (quoted ? *c->p != '"' && *c->p != '\\' : is_token_char(*c->p))) {
    if (n + 1 >= cap)
      return false;
    buf[n++] = *c->p++;
  }
  buf[n] = '\0';
  if (quoted && !eat(c, '"'))
    return false;
  return n > 0;
}

static bool read_float(struct cursor *c, float *v) {
  char b[64];
  if (!token(c, b, sizeof b))
    return false;
  char *e = NULL;
  errno = 0;
  *v = strtof(b, &e); /* nearest float of the text: XGBoost wrote the shortest text of its float */
  return e != b && *e == '\0';
}

static bool read_int(struct cursor *c, int64_t *v) {
  char b[32];
  if (!token(c, b, sizeof b))
    return false;
  if (strcmp(b, "true") == 0 || strcmp(b, "false") == 0) { /* default_left as booleans */
    *v = b[0] == 't';
    return true;
  }
  return tml_parse_int64_str(b, v) == 0;
}

/* A growable array of numbers parsed from one JSON array, reused from tree to tree. */
struct numbers {
  int64_t *i;
  float *f;
  size_t len, cap;
};

static int numbers_push(struct numbers *v, int64_t i, float f) {
  if (v->len == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 256;
    int64_t *ni = realloc(v->i, cap * sizeof *ni);
    if (!ni)
      return TML_ENOMEM;
    v->i = ni;
    float *nf = realloc(v->f, cap * sizeof *nf);
    if (!nf)
      return TML_ENOMEM;
    v->f = nf;
    v->cap = cap;
  }
  v->i[v->len] = i;
  v->f[v->len] = f;
  v->len++;
  return 0;
}

/* Parses a JSON array of numbers at c (as floats when as_float, else as integers). 0, TML_EMODEL
 * (not such an array) or TML_ENOMEM. */
static int read_numbers(struct cursor *c, bool as_float, struct numbers *v) {
  v->len = 0;
  if (!eat(c, '['))
    return TML_EMODEL;
  if (eat(c, ']'))
    return 0;
  for (;;) {
    int64_t i = 0;
    float f = 0.0f;
    if (as_float ? !read_float(c, &f) : !read_int(c, &i))
      return TML_EMODEL;
    int rc = numbers_push(v, i, f);
    if (rc)
      return rc;
    if (eat(c, ','))
      continue;
    return eat(c, ']') ? 0 : TML_EMODEL;
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Conversion */

enum { ARR_LEFT, ARR_RIGHT, ARR_INDEX, ARR_COND, ARR_DEFAULT, ARR_TYPE, ARR_CAT, NARR };

struct scratch {
  struct numbers arr[NARR];
  uint32_t *queue; /* source node ids, breadth first */
  uint32_t *slot;  /* destination of each queued node */
  uint8_t *seen;
  size_t cap;
};

static void scratch_release(struct scratch *s) {
  for (int k = 0; k < NARR; k++) {
    free(s->arr[k].i);
    free(s->arr[k].f);
  }
  free(s->queue);
  free(s->slot);
  free(s->seen);
}

static int reserve_nodes(struct tml__xgb_flat *f, size_t more) {
  if (f->nnodes + more <= f->cap_nodes)
    return 0;
  size_t cap = f->cap_nodes ? f->cap_nodes : 4096;
  while (cap < f->nnodes + more)
    cap *= 2;
  if (cap > MAX_NODES)
    return TML_EMODEL;
  if (tml__forest_reserve(&f->forest, cap))
    return TML_ENOMEM;
  f->cap_nodes = cap;
  return 0;
}

/* Appends one tree (the arrays parsed into s), breadth first with adjacent children. */
static int add_tree(struct tml__xgb_flat *f, struct scratch *s, size_t t, struct tml_error *err) {
  struct numbers *a = s->arr;
  size_t n = a[ARR_LEFT].len;
  if (n == 0 || a[ARR_RIGHT].len != n || a[ARR_INDEX].len != n || a[ARR_COND].len != n ||
      a[ARR_DEFAULT].len != n)
    return tml_error_set(err, TML_EMODEL, "tree %zu: node arrays are missing or of different lengths", t);
  if (a[ARR_CAT].len != 0)
    return tml_error_set(err, TML_EMODEL, "tree %zu has categorical splits", t);
  for (size_t i = 0; i < a[ARR_TYPE].len; i++)
    if (a[ARR_TYPE].i[i] != 0)
      return tml_error_set(err, TML_EMODEL, "tree %zu has categorical splits", t);
  if (n > s->cap) {
    free(s->queue);
    free(s->slot);
    free(s->seen);
    s->queue = malloc(n * sizeof *s->queue);
    s->slot = malloc(n * sizeof *s->slot);
    s->seen = malloc(n);
    s->cap = n;
    if (!s->queue || !s->slot || !s->seen) {
      s->cap = 0;
      return tml_error_set(err, TML_ENOMEM, "flattening tree %zu: out of memory", t);
    }
  }
  int rc = reserve_nodes(f, n);
  if (rc)
    return tml_error_set(err, rc, "flattening tree %zu: %s", t,
                         rc == TML_ENOMEM ? "out of memory" : "too many nodes");
  memset(s->seen, 0, n);
  size_t root = f->nnodes, used = 1, head = 0, tail = 0;
  s->queue[tail] = 0;
  s->slot[tail++] = 0;
  s->seen[0] = 1;
  while (head < tail) {
    uint32_t id = s->queue[head], dst = s->slot[head];
    head++;
    int64_t l = a[ARR_LEFT].i[id], r = a[ARR_RIGHT].i[id];
    float value = a[ARR_COND].f[id];
    if (l == -1) { /* XGBoost's RegTree::Node::IsLeaf: no left child */
      tml__forest_set(&f->forest, root + dst, -1, value, 0, false); /* a leaf always fits */
      continue;
    }
    int64_t col = a[ARR_INDEX].i[id];
    if (l < 0 || r < 0 || (size_t)l >= n || (size_t)r >= n || s->seen[l] || s->seen[r] || l == r)
      return tml_error_set(err, TML_EMODEL, "tree %zu node %u: children %" PRId64 ", %" PRId64 " are not valid", t,
                           id, l, r);
    if (col < 0 || (size_t)col >= f->ncols)
      return tml_error_set(err, TML_EMODEL, "tree %zu node %u: split column %" PRId64 " is not one of %zu", t, id,
                           col, f->ncols);
    s->seen[l] = s->seen[r] = 1;
    /* the column is below ncols <= TML__FOREST_MAX_COLS: only the children's distance can fail */
    if (tml__forest_set(&f->forest, root + dst, (int32_t)col, value, root + used, a[ARR_DEFAULT].i[id] != 0))
      return tml_error_set(err, TML_EMODEL,
                           "tree %zu node %u: its children are more than %d nodes after it (a tree too large for "
                           "the flat form)",
                           t, id, TML__FOREST_MAX_OFFSET);
    float *pr = f->probe + (size_t)col * PROBES;
    for (int k = 0; k < PROBES; k++)
      if (isnan(pr[k])) {
        pr[k] = value;
        break;
      }
    s->queue[tail] = (uint32_t)l;
    s->slot[tail++] = (uint32_t)used;
    s->queue[tail] = (uint32_t)r;
    s->slot[tail++] = (uint32_t)used + 1;
    used += 2;
  }
  f->tree_start[t] = (uint32_t)root;
  f->nnodes += used;
  return 0;
}

/* Reads the trees array at c. */
static int read_trees(struct tml__xgb_flat *f, struct cursor c, struct tml_error *err) {
  struct scratch s;
  memset(&s, 0, sizeof s);
  int rc = 0;
  size_t t = 0;
  if (!eat(&c, '[') || eat(&c, ']')) {
    rc = tml_error_set(err, TML_EMODEL, "the model has no trees");
    goto out;
  }
  for (;; t++) {
    if (t >= f->ntrees) {
      rc = tml_error_set(err, TML_EMODEL, "the model holds more trees than tree_info lists (%zu)", f->ntrees);
      goto out;
    }
    for (int k = 0; k < NARR; k++)
      s.arr[k].len = 0;
    if (!eat(&c, '{')) {
      rc = tml_error_set(err, TML_EMODEL, "tree %zu is not an object", t);
      goto out;
    }
    if (!eat(&c, '}'))
      for (;;) {
        const char *key;
        size_t len;
        if (!next_key(&c, &key, &len)) {
          rc = tml_error_set(err, TML_EMODEL, "tree %zu: unreadable key", t);
          goto out;
        }
        int which = key_is(key, len, "left_children")      ? ARR_LEFT
                    : key_is(key, len, "right_children")   ? ARR_RIGHT
                    : key_is(key, len, "split_indices")    ? ARR_INDEX
                    : key_is(key, len, "split_conditions") ? ARR_COND
                    : key_is(key, len, "default_left")     ? ARR_DEFAULT
                    : key_is(key, len, "split_type")       ? ARR_TYPE
                    : key_is(key, len, "categories_nodes") ? ARR_CAT
                                                            : -1;
        if (which >= 0)
          rc = read_numbers(&c, which == ARR_COND, &s.arr[which]);
        else if (key_is(key, len, "tree_param")) {
          struct cursor v;
          char b[32];
          int64_t leaf_vec = 0;
          if (find_key(c, "size_leaf_vector", &v) && token(&v, b, sizeof b) &&
              (tml_parse_int64_str(b, &leaf_vec) != 0 || leaf_vec > 1))
            rc = tml_error_set(err, TML_EMODEL, "tree %zu has vector leaves", t);
          if (!rc && !skip_value(&c, 1))
            rc = TML_EMODEL;
        } else if (!skip_value(&c, 1))
          rc = TML_EMODEL;
        if (rc) {
          rc = tml_error_set(err, rc, "tree %zu: %s", t, /* no-op when a message is set already */
                             rc == TML_ENOMEM ? "out of memory" : "unreadable node arrays");
          goto out;
        }
        if (eat(&c, ','))
          continue;
        if (eat(&c, '}'))
          break;
        rc = tml_error_set(err, TML_EMODEL, "tree %zu: unterminated object", t);
        goto out;
      }
    if ((rc = add_tree(f, &s, t, err)))
      goto out;
    if (eat(&c, ','))
      continue;
    if (eat(&c, ']'))
      break;
    rc = tml_error_set(err, TML_EMODEL, "the trees array is unterminated");
    goto out;
  }
  if (t + 1 != f->ntrees)
    rc = tml_error_set(err, TML_EMODEL, "the model holds %zu trees but tree_info lists %zu", t + 1, f->ntrees);
out:
  scratch_release(&s);
  return rc;
}

static bool read_string_at(struct cursor root, const char *const *path, size_t n, char *buf, size_t cap) {
  struct cursor v;
  return find_path(root, path, n, &v) && token(&v, buf, cap);
}

/* The forest's description of the trees read into it: the tree starts, the class of each tree (none
 * when tree t is of class t % K, as XGBoost 1.7 writes a softmax model, so the walk may sum the
 * classes in registers) and XGBoost's rule for missing values. */
static void describe_forest(struct tml__xgb_flat *f) {
  struct tml__forest *fo = &f->forest;
  size_t K = f->nclass > 0 ? (size_t)f->nclass : 1;
  bool in_order = true;
  for (size_t t = 0; t < f->ntrees; t++)
    in_order &= f->group[t] == t % K;
  fo->tree_start = f->tree_start;
  fo->group = in_order ? NULL : f->group;
  fo->ntrees = f->ntrees;
  fo->ncols = f->ncols;
  fo->K = K;
  fo->base_score = f->base_score;
  fo->inf_missing = false; /* NaN only: in-place prediction's `missing`; +-Inf compare as numbers */
}

int tml__xgb_flat_from_json(const char *json, size_t len, struct tml__xgb_flat **out, struct tml_error *err) {
  *out = NULL;
  struct cursor root = {json, json + len}, v;
  struct tml__xgb_flat *f = calloc(1, sizeof *f);
  struct numbers info;
  memset(&info, 0, sizeof info);
  int rc = 0;
  if (!f)
    return tml_error_set(err, TML_ENOMEM, "flattening the model: out of memory");
  char booster[32], objective[64], nclass[32], nfeat[32], ntarget[32], base[64];
  static const char *const p_booster[] = {"learner", "gradient_booster", "name"};
  static const char *const p_obj[] = {"learner", "objective", "name"};
  static const char *const p_ncl[] = {"learner", "learner_model_param", "num_class"};
  static const char *const p_nf[] = {"learner", "learner_model_param", "num_feature"};
  static const char *const p_nt[] = {"learner", "learner_model_param", "num_target"};
  static const char *const p_base[] = {"learner", "learner_model_param", "base_score"};
  static const char *const p_info[] = {"learner", "gradient_booster", "model", "tree_info"};
  static const char *const p_trees[] = {"learner", "gradient_booster", "model", "trees"};
  if (!read_string_at(root, p_booster, 3, booster, sizeof booster) ||
      !read_string_at(root, p_obj, 3, objective, sizeof objective) ||
      !read_string_at(root, p_ncl, 3, nclass, sizeof nclass) ||
      !read_string_at(root, p_nf, 3, nfeat, sizeof nfeat) || !read_string_at(root, p_base, 3, base, sizeof base)) {
    rc = tml_error_set(err, TML_EMODEL, "not an XGBoost JSON model (booster, objective or model parameters missing)");
    goto out;
  }
  if (strcmp(booster, "gbtree") != 0) {
    rc = tml_error_set(err, TML_EMODEL, "booster '%s' is not supported (gbtree only)", booster);
    goto out;
  }
  int64_t k = 0, ncols = 0, nt = 1;
  if (read_string_at(root, p_nt, 3, ntarget, sizeof ntarget) && (tml_parse_int64_str(ntarget, &nt) || nt != 1)) {
    rc = tml_error_set(err, TML_EMODEL, "num_target %s is not supported (1 only)", ntarget);
    goto out;
  }
  char *e = NULL;
  f->base_score = strtof(base, &e);
  if (tml_parse_int64_str(nclass, &k) || tml_parse_int64_str(nfeat, &ncols) || ncols < 1 || ncols > INT32_MAX ||
      *e != '\0' || e == base) {
    rc = tml_error_set(err, TML_EMODEL, "model parameters num_class %s, num_feature %s, base_score %s are not valid",
                       nclass, nfeat, base);
    goto out;
  }
  if (strcmp(objective, "multi:softprob") == 0 && k >= 2 && k <= MAX_CLASSES)
    f->nclass = (int)k;
  else if (strcmp(objective, "reg:squarederror") == 0 && k == 0)
    f->nclass = 0;
  else {
    rc = tml_error_set(err, TML_EMODEL, "objective %s with %s classes is not supported", objective, nclass);
    goto out;
  }
  f->ncols = (size_t)ncols;
  if (f->ncols > TML__FOREST_MAX_COLS) { /* XGBoost's own prediction is kept */
    rc = tml_error_set(err, TML_EMODEL, "%zu columns: the flat form holds at most %d", f->ncols, TML__FOREST_MAX_COLS);
    goto out;
  }
  if (!find_path(root, p_info, 4, &v) || (rc = read_numbers(&v, false, &info)) != 0 || info.len == 0) {
    rc = tml_error_set(err, rc == TML_ENOMEM ? TML_ENOMEM : TML_EMODEL, "the model's tree_info is %s",
                       rc == TML_ENOMEM ? "too large" : "missing or unreadable");
    goto out;
  }
  f->ntrees = info.len;
  f->tree_start = calloc(f->ntrees, sizeof *f->tree_start);
  f->group = calloc(f->ntrees, sizeof *f->group);
  f->probe = malloc(f->ncols * PROBES * sizeof *f->probe);
  if (!f->tree_start || !f->group || !f->probe) {
    rc = tml_error_set(err, TML_ENOMEM, "flattening the model: out of memory");
    goto out;
  }
  for (size_t i = 0; i < f->ncols * PROBES; i++)
    f->probe[i] = NAN;
  int groups = f->nclass > 0 ? f->nclass : 1;
  for (size_t t = 0; t < f->ntrees; t++) {
    if (info.i[t] < 0 || info.i[t] >= groups) {
      rc = tml_error_set(err, TML_EMODEL, "tree %zu: class group %" PRId64 " is not one of %d", t, info.i[t], groups);
      goto out;
    }
    f->group[t] = (uint8_t)info.i[t];
  }
  if (!find_path(root, p_trees, 4, &v)) {
    rc = tml_error_set(err, TML_EMODEL, "the model has no trees array");
    goto out;
  }
  if ((rc = read_trees(f, v, err)))
    goto out;
  describe_forest(f);
  *out = f;
  f = NULL;
out:
  free(info.i);
  free(info.f);
  tml__xgb_flat_free(f);
  return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* Prediction */

/* XGBoost's common::Softmax, operation for operation. */
static void softmax(float *v, int K) {
  float wmax = v[0];
  for (int k = 1; k < K; k++)
    wmax = fmaxf(v[k], wmax);
  double wsum = 0.0;
  for (int k = 0; k < K; k++) {
    v[k] = expf(v[k] - wmax);
    wsum += (double)v[k];
  }
  for (int k = 0; k < K; k++)
    v[k] /= (float)wsum;
}

void tml__xgb_flat_predict(const struct tml__xgb_flat *f, const float *X, size_t nrows, float *out) {
  int K = f->nclass > 0 ? f->nclass : 1;
  for (size_t r = 0; r < nrows; r++) {
    float *o = out + r * (size_t)K;
    tml__forest_margin(&f->forest, X + r * f->ncols, o);
    if (f->nclass > 0)
      softmax(o, K);
  }
}

void tml__xgb_flat_probe_rows(const struct tml__xgb_flat *f, size_t nrows, float *X) {
  for (size_t r = 0; r < nrows; r++)
    for (size_t j = 0; j < f->ncols; j++) {
      const float *pr = f->probe + j * PROBES;
      size_t have = 0;
      while (have < PROBES && !isnan(pr[have]))
        have++;
      float thr = have ? pr[(r / 4 + j) % have] : 0.0f;
      float *x = &X[r * f->ncols + j];
      switch ((r + j) % 4) {
      case 0: *x = thr; break;                           /* on the threshold: goes right */
      case 1: *x = nextafterf(thr, -INFINITY); break;    /* just below: goes left */
      case 2: /* odd rows: missing (the default direction); even rows have no missing value, so the
               * walk of rows without one (forest.c) is checked too, with +-Inf compared as numbers */
        *x = r % 2 ? NAN : (r / 2 + j) % 2 ? INFINITY : -INFINITY;
        break;
      default: *x = nextafterf(thr, INFINITY); break;
      }
    }
}

int tml__xgb_flat_nclass(const struct tml__xgb_flat *f) { return f->nclass; }
size_t tml__xgb_flat_ncols(const struct tml__xgb_flat *f) { return f->ncols; }
size_t tml__xgb_flat_ntrees(const struct tml__xgb_flat *f) { return f->ntrees; }

void tml__xgb_flat_free(struct tml__xgb_flat *f) {
  if (!f)
    return;
  free(f->tree_start);
  free(f->group);
  free(f->probe);
  tml__forest_release(&f->forest);
  free(f);
}
