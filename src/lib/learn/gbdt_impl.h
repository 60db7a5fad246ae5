/* Private to the native engine's files, not part of the library's interface: the binned
 * matrix of a fold and the model's node arrays, shared by
 *  - gbdt_bins.c: the quantile sketch and the binned matrix;
 *  - gbdt.c, gbdt_hist.c, gbdt_split.c: training (tree growth and boosting rounds, histograms, split
 *    search; their own shared parts in learn/gbdt_train.h);
 *  - gbdt_grad.c: the softmax of a round's rows (gradients, the validation metric's probabilities);
 *  - gbdt_model.c: prediction, importance, the model file and the XGBoost JSON export. */
#ifndef TML_GBDT_IMPL_H
#define TML_GBDT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn/forest.h"
#include "trademl/gbdt.h"

#define MAX_CLASSES 255 /* classes of a softmax head (XGBoost allows more; trademl uses 3 and 4) */

struct tml_gbdt_bins {
  size_t nrows, ncols;
  int max_bin;       /* missing code; histograms have max_bin + 1 slots per column */
  uint8_t *code;     /* nrows x ncols: histograms read whole rows */
  uint8_t *code_col; /* ncols x nrows, the same codes by column: partitions read one column */
  float *cuts;       /* ncols x (max_bin - 1) slots */
  uint16_t *ncuts;   /* per column */
};

/* Model: trees concatenated in one node array (round-major, class-minor: tree t predicts class
 * t % max(nclass, 1)). A split node's children are adjacent (right = left + 1), so the prediction
 * loop reads one 12-byte node per level. */

struct node {
  int32_t feature; /* -1 = leaf */
  float value;     /* split: threshold (x < value goes left); leaf: the leaf value (eta applied) */
  int32_t left;    /* absolute index of the left child; right = left + 1; | DEFAULT_LEFT flag bit */
};
#define DEFAULT_LEFT ((int32_t)1 << 30)
#define CHILD_MASK (DEFAULT_LEFT - 1)

struct node_stats { /* per node, for importance, export and bin-level prediction while training */
  double gain;      /* loss change of the split (0 for leaves) */
  double cover;     /* hessian sum */
  float weight;     /* -G/(H+lambda), eta not applied (XGBoost's base_weights) */
  uint8_t split_bin;
};

struct tml_gbdt_model {
  int nclass;
  size_t ncols;
  size_t ntrees;
  uint32_t *tree_start; /* ntrees + 1 offsets into nodes */
  struct node *nodes;
  struct node_stats *stats;
  size_t nnodes, cap_nodes, cap_trees;
  float base_score;
  int best_iteration;
  double best_score;
  char **feature_names; /* ncols strings or NULL */
  struct tml__forest pred; /* the trees in the prediction layout (tml__gbdt_model_seal), read by prediction */
};

/* Room for more_nodes more nodes and one more tree. 0 or TML_ENOMEM. */
int tml__gbdt_model_reserve(struct tml_gbdt_model *m, size_t more_nodes);
/* Builds m->pred (learn/forest.h) from m->nodes: every model handed out (trained or loaded) is
 * sealed, and must be sealed again if its nodes or trees change, or after tml__gbdt_model_reserve
 * (m->pred borrows m->tree_start, which it may move). The trees must be whole: columns below ncols
 * (at most TML_GBDT_MAX_COLS), each split's children inside its tree (training builds them so;
 * tml_gbdt_from_json checks every node first). 0, TML_ENOMEM, or TML_EINVAL when a child lies
 * beyond TML__FOREST_MAX_OFFSET of its parent or a column beyond the layout's. */
int tml__gbdt_model_seal(struct tml_gbdt_model *m);
/* In place, as XGBoost's common::Softmax (the sum in double, divided by as a float). */
void tml__gbdt_softmax(float *v, int K);

/* True when the eight-row code of the two functions below may run: glibc on x86-64 with AVX2 and
 * FMA, its expf redone equal to the process's own on a self-check (run once), and flags without
 * TML_GBDT_NO_AVX2. */
bool tml__gbdt_softmax_vector(unsigned flags);
/* The softmax of rows [0, n) of a round (gbdt_grad.c), K classes (2..MAX_CLASSES): the margin of
 * class k of row i at margin[k * mstride + i], label[i] its class (an integer-valued float below
 * K). Each row's results are the bits of tml__gbdt_softmax / tml_gbdt_softmax_grad on that row;
 * with vector (only when tml__gbdt_softmax_vector says so) eight rows at a time, with the same
 * results. Both return the rows the eight-row code computed (0 without vector; rows whose margins
 * leave expf's fast path, and the last n % 8, go row by row). */
/* Gradients: (g, h) of class k of row i as two floats at gh + 2 * (k * gstride + i), and, when ghr
 * is not NULL, at ghr[8 i + 2 k] and ghr[8 i + 2 k + 1] (the shared root pass's rows, K <= 4). */
size_t tml__gbdt_softmax_grad_rows(const float *margin, size_t mstride, size_t n, int K, const float *label, float *gh,
                                   size_t gstride, float *ghr, bool vector);
/* The probability of each row's label: out[i]. */
size_t tml__gbdt_softmax_label_p(const float *margin, size_t mstride, size_t n, int K, const float *label, float *out,
                                 bool vector);

#endif
