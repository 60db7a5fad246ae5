/* Trees in the prediction layout (forest.h): packing the nodes and walking a row down them. */
#include "learn/forest.h"

#include <math.h>
#include <stdlib.h>

#include "trademl/error.h"

int tml__forest_reserve(struct tml__forest *f, size_t nnodes) {
  struct tml__pnode *p = realloc(f->nodes, (nnodes ? nnodes : 1) * sizeof *p);
  if (!p)
    return TML_ENOMEM;
  f->nodes = p;
  return 0;
}

int tml__forest_set(struct tml__forest *f, size_t i, int32_t feature, float value, size_t left, bool default_left) {
  struct tml__pnode *n = &f->nodes[i];
  if (feature < 0) {
    *n = (struct tml__pnode){value, TML__FOREST_LEAF};
    return 0;
  }
  if (feature >= TML__FOREST_MAX_COLS || left <= i || left - i > TML__FOREST_MAX_OFFSET)
    return TML_EINVAL;
  /* at most (2^18 - 1) << 13 | 1 << 12 | 4095 = 2^31 - 1 */
  uint32_t ctl = ((uint32_t)(left - i) << TML__FOREST_OFFSET_SHIFT) | (default_left ? TML__FOREST_DEFAULT_LEFT : 0u) |
                 (uint32_t)feature;
  *n = (struct tml__pnode){value, (int32_t)ctl};
  return 0;
}

void tml__forest_release(struct tml__forest *f) {
  free(f->nodes);
  f->nodes = NULL;
}

/* One level down, missing values taking the node's default direction: NaN and +-Inf (the native
 * engine's rule) or NaN alone (XGBoost 1.7's: an infinity is compared as a value). */
static inline const struct tml__pnode *step_inf_missing(const struct tml__pnode *n, const float *x) {
  int32_t c = n->ctl;
  float v = x[c & TML__FOREST_COL_MASK];
  bool left = isfinite(v) ? v < n->value : (c & TML__FOREST_DEFAULT_LEFT) != 0;
  return n + (c >> TML__FOREST_OFFSET_SHIFT) + (left ? 0 : 1);
}

static inline const struct tml__pnode *step_nan_missing(const struct tml__pnode *n, const float *x) {
  int32_t c = n->ctl;
  float v = x[c & TML__FOREST_COL_MASK];
  bool left = isnan(v) ? (c & TML__FOREST_DEFAULT_LEFT) != 0 : v < n->value;
  return n + (c >> TML__FOREST_OFFSET_SHIFT) + (left ? 0 : 1);
}

/* The same for a row without missing values: one comparison. */
static inline const struct tml__pnode *step_present(const struct tml__pnode *n, const float *x) {
  int32_t c = n->ctl;
  return n + (c >> TML__FOREST_OFFSET_SHIFT) + !(x[c & TML__FOREST_COL_MASK] < n->value);
}

/* Eight trees walked side by side: eight independent chains of loads keep the core busy while one
 * waits for memory (a model of a few hundred trees does not fit the first-level cache). Leaf values
 * are added in tree order, exactly as one tree at a time would: with 1, 2 or 4 classes and trees
 * in class order (a group of eight trees starts at class 0) into sums held in registers, else into
 * margin (whose adds wait on each other through memory). */
#define WALK8(STEPFN, ACCUM)                                                                                           \
  for (; t + 8 <= f->ntrees; t += 8) {                                                                                 \
    const struct tml__pnode *a = nodes + ts[t], *b = nodes + ts[t + 1], *c = nodes + ts[t + 2];                        \
    const struct tml__pnode *d = nodes + ts[t + 3], *e = nodes + ts[t + 4], *p = nodes + ts[t + 5];                    \
    const struct tml__pnode *g = nodes + ts[t + 6], *h = nodes + ts[t + 7];                                            \
    while (STEP(a, STEPFN) | STEP(b, STEPFN) | STEP(c, STEPFN) | STEP(d, STEPFN) | STEP(e, STEPFN) |                  \
           STEP(p, STEPFN) | STEP(g, STEPFN) | STEP(h, STEPFN))                                                        \
      ;                                                                                                                \
    const float leaf[8] = {a->value, b->value, c->value, d->value, e->value, p->value, g->value, h->value};            \
    ACCUM;                                                                                                             \
  }
#define STEP(n, STEPFN) ((n)->ctl >= 0 ? ((n) = STEPFN((n), x), 1) : 0)
#define ACC_ANY                                                                                                        \
  for (int q = 0; q < 8; q++) { /* tree t + q: its group, or class k (t % K, kept without a division) */             \
    margin[grp ? grp[t + (size_t)q] : k] += leaf[q];                                                                   \
    k = k + 1 == K ? 0 : k + 1;                                                                                        \
  }
#define ACC_1                                                                                                          \
  for (int q = 0; q < 8; q++)                                                                                          \
    s0 += leaf[q]
#define ACC_2                                                                                                          \
  for (int q = 0; q < 8; q += 2) {                                                                                     \
    s0 += leaf[q];                                                                                                     \
    s1 += leaf[q + 1];                                                                                                 \
  }
#define ACC_4                                                                                                          \
  for (int q = 0; q < 8; q += 4) {                                                                                     \
    s0 += leaf[q];                                                                                                     \
    s1 += leaf[q + 1];                                                                                                 \
    s2 += leaf[q + 2];                                                                                                 \
    s3 += leaf[q + 3];                                                                                                 \
  }

void tml__forest_margin(const struct tml__forest *f, const float *x, float *margin) {
  size_t K = f->K;
  for (size_t k = 0; k < K; k++)
    margin[k] = f->base_score;
  bool present = true; /* no value of the row is missing (checked once, not at every node) */
  if (f->inf_missing)
    for (size_t j = 0; j < f->ncols; j++)
      present &= isfinite(x[j]) != 0;
  else
    for (size_t j = 0; j < f->ncols; j++)
      present &= !isnan(x[j]);
  const struct tml__pnode *nodes = f->nodes;
  const uint32_t *ts = f->tree_start;
  const uint8_t *grp = f->group;
  size_t t = 0, k = 0;
  float s0 = f->base_score, s1 = s0, s2 = s0, s3 = s0;
  if (present && !grp && K == 1) {
    WALK8(step_present, ACC_1);
    margin[0] = s0;
  } else if (present && !grp && K == 2) {
    WALK8(step_present, ACC_2);
    margin[0] = s0;
    margin[1] = s1;
  } else if (present && !grp && K == 4) {
    WALK8(step_present, ACC_4);
    margin[0] = s0;
    margin[1] = s1;
    margin[2] = s2;
    margin[3] = s3;
  } else if (present) {
    WALK8(step_present, ACC_ANY);
  } else if (f->inf_missing) {
    WALK8(step_inf_missing, ACC_ANY);
  } else {
    WALK8(step_nan_missing, ACC_ANY);
  }
  for (k = t % K; t < f->ntrees; t++) {
    const struct tml__pnode *a = nodes + ts[t];
    if (f->inf_missing)
      while (a->ctl >= 0)
        a = step_inf_missing(a, x);
    else
      while (a->ctl >= 0)
        a = step_nan_missing(a, x);
    margin[grp ? grp[t] : k] += a->value;
    k = k + 1 == K ? 0 : k + 1;
  }
}
#undef ACC_4
#undef ACC_2
#undef ACC_1
#undef ACC_ANY
#undef STEP
#undef WALK8
