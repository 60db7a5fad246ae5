/* Internal to the learn layer: trees in the layout both engines' predictors walk, gbdt_model.c for
 * native models and xgb_flat.c for XGBoost's. A node is 8 bytes: its threshold (or leaf value) and
 * one word holding the column, the default direction and the left child's offset from the node
 * (the right child is next to it), so a five-head model's nodes take two thirds of the cache that
 * 12-byte nodes took. A row is walked eight trees side by side, without the missing-value test when
 * it has no missing value, and the leaves of 1, 2 or 4 classes are summed in registers; the margins
 * are, bit for bit, those of walking each tree alone and adding its leaf to its class in tree order. */
#ifndef TML_FOREST_H
#define TML_FOREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ctl < 0: a leaf (value is its value); else bits 0-11 the column, bit 12 default left, bits 13-30
 * the left child's offset from the node (at most TML__FOREST_MAX_OFFSET). */
struct tml__pnode {
  float value;
  int32_t ctl;
};
#define TML__FOREST_LEAF INT32_MIN
#define TML__FOREST_COL_MASK 0xFFF
#define TML__FOREST_MAX_COLS 4096 /* columns 0..4095 */
#define TML__FOREST_DEFAULT_LEFT (1 << 12)
#define TML__FOREST_OFFSET_SHIFT 13
#define TML__FOREST_MAX_OFFSET ((1 << 18) - 1)

struct tml__forest {
  struct tml__pnode *nodes;   /* owned (tml__forest_reserve / tml__forest_release) */
  const uint32_t *tree_start; /* borrowed: tree t's root is nodes[tree_start[t]] */
  const uint8_t *group;       /* borrowed: the class of tree t, or NULL: t % K */
  size_t ntrees, ncols, K;    /* K: classes, 1 for regression */
  float base_score;           /* every class's margin starts here */
  bool inf_missing;           /* +-Inf is missing like NaN (native engine), else compared (XGBoost 1.7) */
};

/* Makes room in f->nodes for nnodes nodes; the other fields are the caller's to set. 0 or TML_ENOMEM. */
int tml__forest_reserve(struct tml__forest *f, size_t nnodes);

/* Node i: a split on column `feature` (x < value goes left; a missing value goes left when
 * default_left) whose children are nodes left and left + 1 (left > i), or, for feature < 0, a leaf
 * of value. 0, or TML_EINVAL (node unchanged) when the column is TML__FOREST_MAX_COLS or above, or
 * left is not in i + 1 .. i + TML__FOREST_MAX_OFFSET. */
int tml__forest_set(struct tml__forest *f, size_t i, int32_t feature, float value, size_t left, bool default_left);

/* The margins of row x (its ncols values, every one read) into margin[0 .. K). Thread-safe. */
void tml__forest_margin(const struct tml__forest *f, const float *x, float *margin);

/* Frees the nodes; accepts a forest never allocated (zeroed). */
void tml__forest_release(struct tml__forest *f);

#endif
