/* The native histogram GBDT engine (include/trademl/gbdt.h, docs/training.md "The native engine").
 *
 * The algorithm is XGBoost's `hist` tree method with depth-wise growth, restricted to what trademl
 * asks of it, so a model trained here and one trained by libxgboost on equal parameters agree
 * (tests/unit/learn/test_gbdt.c measures it):
 *  - bins: cut points per column from the training rows only, placed by XGBoost 1.7's quantile
 *    sketch (re-implemented in gbdt_bins.c), uint8 codes, one matrix per fold shared by every head;
 *  - the float arithmetic of the softmax, the leaves and the validation metric is XGBoost's, in the
 *    same order, so with equal parameters and double histograms both engines give the same
 *    predictions bit for bit;
 *  - per node: a histogram of gradient/hessian sums per bin per column, rows visited in ascending
 *    order, so sums are deterministic; siblings by subtraction (the smaller child is built, the
 *    larger is parent - smaller). The slots are floats by default (training.native_histogram
 *    float: half the bytes, the histogram passes ~1.4x faster; each column's cuts scored against
 *    its own float total and children's sums taken exactly from their rows (see gbdt_split.c's
 *    scan_cuts and grow_tree); near-tie splits may go otherwise than XGBoost's) or doubles
 *    (double: XGBoost 1.7's own accumulators, the same trees bit for bit);
 *  - split gain as XGBoost's float loss_chg: GL^2/(HL+l) + GR^2/(HR+l) - G^2/(H+l) (gamma = 0), both
 *    children need hessian >= min_child_weight, a split needs gain > 1e-6 (XGBoost's kRtEps);
 *    missing values (NaN, +-Inf) go to the side that gives the larger gain, learned per split
 *    (forward scan = missing right first, backward scan = missing left only when the node has
 *    missing values; ties keep the earlier candidate: lower column, lower threshold, right);
 *  - leaf value eta * -G/(H+lambda) (0 when H < min_child_weight);
 *  - rows of a node are a contiguous range of one index array, partitioned stably in place;
 *  - multi-class: one gradient pass per round (softmax), then one tree per class;
 *  - row subsampling (Bernoulli per row) and column subsampling per tree from a seeded
 *    xorshift generator: deterministic for a seed.
 * Threads inside a model (p->nthread > 1) split only column-local work (histogram builds and
 * subtractions) by column, and idle threads lent by the caller (helpers) grow whole class trees of
 * a round: the result never depends on the thread count or on who helped.
 * Histograms and the crew are in gbdt_hist.c, the split search in gbdt_split.c (their shared types in
 * learn/gbdt_train.h); this file grows the trees and runs the rounds and heads. */
#include "learn/gbdt_train.h"
#include "util/common.h"

#include <stdatomic.h>

#include "trademl/error.h"
#include "trademl/helpers.h"
#include "trademl/mem.h"
#include "trademl/timeutil.h"

#define RT_EPS 1e-6      /* XGBoost's kRtEps: the smallest loss change that makes a split */
#define PROB_EPS 1e-16   /* mlogloss clip, as XGBoost's */

/* ---------------------------------------------------------------------------------------------- */
/* Parameters */

int tml_gbdt_params_validate(const struct tml_xgb_params *p, struct tml_error *err) {
  int rc = tml_xgb_params_validate(p, err);
  if (rc)
    return rc;
  if (p->max_bin > TML_GBDT_MAX_BIN)
    return tml_error_set(err, TML_EINVAL,
                         "native engine parameters: max_bin %d is out of range 2..%d (bins are 8-bit); lower "
                         "training.max_bin / --max-bin or use --engine xgboost",
                         p->max_bin, TML_GBDT_MAX_BIN);
  if (p->max_leaves > TML_GBDT_MAX_LEAVES)
    return tml_error_set(err, TML_EINVAL,
                         "native engine parameters: max_leaves %d is out of range 0..%d (0 = no limit; every "
                         "waiting node keeps a histogram); lower training.max_leaves / --max-leaves or use "
                         "--engine xgboost",
                         p->max_leaves, TML_GBDT_MAX_LEAVES);
  if (p->max_depth > TML_GBDT_MAX_DEPTH)
    return tml_error_set(err, TML_EINVAL,
                         "native engine parameters: max_depth %d is out of range 1..%d; lower "
                         "training.max_depth / --max-depth or use --engine xgboost",
                         p->max_depth, TML_GBDT_MAX_DEPTH);
  return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Training */

struct rng {
  uint64_t s;
};
static uint64_t rng_next(struct rng *r) { /* xorshift64* */
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 2685821657736338717ULL;
}
static double rng_uniform(struct rng *r) { return (double)(rng_next(r) >> 11) / 9007199254740992.0; }

struct leaf_rows {
  size_t begin, end;
  float value;
};

static float leaf_weight(double G, double H, const struct tml_xgb_params *p) {
  if (H < p->min_child_weight || H <= 0.0)
    return 0.0f;
  return (float)(-G / (H + p->lambda));
}

/* Stable partition of rows[begin, end) by the split: left rows first, each side in row order.
 * Returns the first right row. */
static size_t partition(struct trainer *t, size_t begin, size_t end, const struct split *s) {
  const struct tml_gbdt_bins *b = t->bins;
  size_t nl = begin, nr = 0;
  unsigned missing = (unsigned)b->max_bin;
  const uint8_t *col = b->code_col + (size_t)s->feature * b->nrows;
  for (size_t i = begin; i < end; i++) {
    uint32_t r = t->rows[i];
    unsigned c = col[r];
    size_t left = (c == missing ? s->default_left : c <= s->bin) ? 1 : 0;
    /* branch-free (the side is a coin flip for the predictor): write both, advance one; rows[nl]
     * with nl <= i was read already */
    t->rows[nl] = r;
    t->tmp[nr] = r;
    nl += left;
    nr += 1 - left;
  }
  memcpy(t->rows + nl, t->tmp, nr * sizeof *t->rows);
  return nl;
}

/* ---- Tree growth: XGBoost 1.7's hist driver (src/tree/driver.h, updater_quantile_hist.cc) ----
 * Nodes with a split of loss change > kRtEps wait in a priority queue: depth-wise by node id (a level
 * at a time, at most DRIVER_BATCH nodes per step), loss-guided by the largest float loss change (ties:
 * smaller id), one node per step. A popped node is expanded only while the tree has fewer than
 * max_leaves leaves (each expansion adds one); the children of a step get histograms and splits only
 * when they are below max_depth and the leaf count after the step is still below max_leaves. Node ids
 * are given in expansion order, as XGBoost's, so both engines number (and export) the same trees. */
#define DRIVER_BATCH 256 /* XGBoost's max_node_batch_size */

static bool grow_before(const struct trainer *t, const struct grow_node *a, const struct grow_node *b) {
  if (t->p->grow_policy == TML_GROW_LOSSGUIDE && a->loss != b->loss)
    return a->loss > b->loss;
  return a->id < b->id;
}

static int queue_push(struct trainer *t, const struct grow_node *g) {
  struct grow_node *a = tml_grow(t->queue, &t->cap_queue, t->nqueue, sizeof *a, 64);
  if (!a)
    return TML_ENOMEM;
  t->queue = a;
  size_t i = t->nqueue++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!grow_before(t, g, &t->queue[up]))
      break;
    t->queue[i] = t->queue[up];
    i = up;
  }
  t->queue[i] = *g;
  return 0;
}

static struct grow_node queue_pop(struct trainer *t) {
  struct grow_node top = t->queue[0], last = t->queue[--t->nqueue];
  size_t i = 0, n = t->nqueue;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && grow_before(t, &t->queue[c + 1], &t->queue[c]))
      c++;
    if (!grow_before(t, &t->queue[c], &last))
      break;
    t->queue[i] = t->queue[c];
    i = c;
  }
  if (n)
    t->queue[i] = last;
  return top;
}

/* A new node: its statistics, and a leaf until it is split. */
static void node_open(struct tml_gbdt_model *m, const struct grow_node *g, const struct tml_xgb_params *p) {
  struct node_stats *st = &m->stats[g->id];
  st->cover = g->H;
  st->weight = leaf_weight(g->G, g->H, p);
  st->gain = 0.0;
  st->split_bin = 0;
  struct node *nd = &m->nodes[g->id];
  nd->feature = -1;
  nd->value = (float)p->eta * st->weight;
  nd->left = 0;
}

/* The node stays a leaf: its rows are recorded, its histogram returned. */
static int node_leaf(struct trainer *t, struct tml_gbdt_model *m, struct grow_node *g) {
  tml__gbdt_hist_put(t, g->hist);
  g->hist = NULL;
  struct leaf_rows *lr = tml_grow(t->leaves, &t->cap_leaves, t->nleaves, sizeof *lr, 256);
  if (!lr)
    return TML_ENOMEM;
  t->leaves = lr;
  t->leaves[t->nleaves++] = (struct leaf_rows){g->begin, g->end, m->nodes[g->id].value};
  return 0;
}

static bool grow_pushable(const struct grow_node *g) { return g->s.feature >= 0 && g->s.gain > RT_EPS; }

/* Queues the node when it has a split worth making, else makes it a leaf. */
static int node_settle(struct trainer *t, struct tml_gbdt_model *m, struct grow_node *g) {
  if (grow_pushable(g)) {
    g->loss = (float)g->s.gain;
    return queue_push(t, g);
  }
  return node_leaf(t, m, g);
}

/* False when no split of the node can give both children hessian >= min_child_weight: its hessian
 * is below twice that. A cut that passes needs HL >= mcw, so HL > H/2, so the search's H - HL is
 * exact and below mcw: the search would find nothing, whatever the histogram holds. So it is not
 * run, and when the sibling cannot split either, the children's histograms are not built. mcw is
 * the smaller of the parameter as the search compares it (a float) and as the float-slot check
 * below compares it (a double). With float slots the search compares the columns' float sums,
 * which can drift above the node's exact hessian: a split found that way is undone against the
 * exact sums (grow_tree) and the node stays a leaf as here, but while it waits in the queue it
 * counts against max_leaves; so with float slots and max_leaves the search always runs. (A node's
 * row count decides nothing: a subtracted histogram can hold float residue in bins without rows,
 * on which a search with min_child_weight 0 can find a split.) The trees are the same either way
 * (tested against TML_GBDT_SEARCH_ALL). */
static bool may_split(const struct trainer *t, const struct grow_node *n) {
  if (t->flags & TML_GBDT_SEARCH_ALL)
    return true;
  if (t->fhist && t->p->max_leaves > 0)
    return true;
  double mcw = fmin((double)(float)t->p->min_child_weight, t->p->min_child_weight);
  return !(n->H < 2.0 * mcw);
}

/* The exact (double) gradient and hessian sums of rows[a, z), in row order. */
static struct hbin row_sums(const struct trainer *t, const struct ghpair *gh, size_t a, size_t z) {
  struct hbin sum = {0.0, 0.0};
  for (size_t k = a; k < z; k++) {
    sum.g += (double)gh[t->rows[k]].g;
    sum.h += (double)gh[t->rows[k]].h;
  }
  return sum;
}

/* Grows one tree on rows[0, nrows) with gradients gh and appends it to the model. */
/* root_hist: the root's histogram built already (the shared root pass), owned by the call from
 * here on; NULL to build it here. */
static int grow_tree(struct trainer *t, struct tml_gbdt_model *m, const struct ghpair *gh, size_t nrows,
                     void *root_hist) {
  const struct tml_xgb_params *p = t->p;
  bool lossguide = p->grow_policy == TML_GROW_LOSSGUIDE;
  int rc = tml__gbdt_model_reserve(m, 1);
  if (rc) {
    tml__gbdt_hist_put(t, root_hist);
    return rc;
  }
  t->nleaves = 0;
  t->nqueue = 0;
  size_t nb = 0;
  struct hbin sum = row_sums(t, gh, 0, nrows);
  struct grow_node root = {.id = (uint32_t)m->nnodes++, .depth = 0, .begin = 0, .end = nrows, .G = sum.g, .H = sum.h};
  root.s.feature = -1;
  node_open(m, &root, p);
  if (nrows > 1) {
    if (root_hist) {
      root.hist = root_hist;
    } else {
      if (!(root.hist = tml__gbdt_hist_get(t)))
        return TML_ENOMEM;
      struct hist_job j = {t, gh, 0, nrows, 0, 0, NULL, root.hist, NULL};
      tml__gbdt_hist_job_run(t, &j);
    }
    tml__gbdt_split_find(t, &root, &root.s);
  } else {
    tml__gbdt_hist_put(t, root_hist);
  }
  if ((rc = node_settle(t, m, &root))) {
    tml__gbdt_hist_put(t, root.hist);
    return rc;
  }
  int num_leaves = 1;
  while (t->nqueue > 0) {
    /* Pop: the next level (depth-wise) or the best node (loss-guided); a node popped once the tree
     * has max_leaves leaves stays a leaf. */
    nb = 0;
    if (t->cap_batch < DRIVER_BATCH) {
      struct grow_node *a = realloc(t->batch, DRIVER_BATCH * sizeof *a);
      if (!a) {
        rc = TML_ENOMEM;
        break;
      }
      t->batch = a;
      t->cap_batch = DRIVER_BATCH;
    }
    int level = t->queue[0].depth;
    while (t->nqueue > 0 && nb < (lossguide ? 1u : DRIVER_BATCH) && (lossguide || t->queue[0].depth == level)) {
      struct grow_node g = queue_pop(t);
      if (p->max_leaves > 0 && num_leaves >= p->max_leaves) {
        if ((rc = node_leaf(t, m, &g)))
          break;
        if (lossguide)
          break;
        continue;
      }
      num_leaves++;
      t->batch[nb++] = g;
    }
    if (rc || nb == 0)
      break;
    bool leaves_left = p->max_leaves == 0 || num_leaves < p->max_leaves;
    if ((rc = tml__gbdt_model_reserve(m, 2 * nb)))
      break;
    for (size_t i = 0; i < nb && !rc; i++) {
      struct grow_node *g = &t->batch[i];
      const struct split *s = &g->s;
      size_t mid = partition(t, g->begin, g->end, s);
      double GL = s->GL, HL = s->HL, GR = g->G - s->GL, HR = g->H - s->HL;
      if (t->fhist) {
        /* Float slots: the children's sums from their rows (the smaller side summed in row order,
         * the other the parent's exact sums minus it), so leaf values and min_child_weight see
         * exact sums, not the float histograms' drift; a split whose side then falls short of
         * min_child_weight, or is empty, is not made: the node stays a leaf. */
        bool left_small = mid - g->begin <= g->end - mid;
        size_t a = left_small ? g->begin : mid, z = left_small ? mid : g->end;
        struct hbin small = row_sums(t, gh, a, z);
        GL = left_small ? small.g : g->G - small.g;
        HL = left_small ? small.h : g->H - small.h;
        GR = left_small ? g->G - small.g : small.g;
        HR = left_small ? g->H - small.h : small.h;
        if (mid == g->begin || mid == g->end || HL < p->min_child_weight || HR < p->min_child_weight) {
          num_leaves--;
          if ((rc = node_leaf(t, m, g)))
            break;
          continue;
        }
      }
      uint32_t l = (uint32_t)m->nnodes;
      m->nnodes += 2;
      size_t ncuts = 0;
      const float *cuts = tml_gbdt_bins_cuts(t->bins, (size_t)s->feature, &ncuts);
      struct node *nd = &m->nodes[g->id];
      nd->feature = s->feature;
      nd->value = cuts[s->bin];
      nd->left = (int32_t)l | (s->default_left ? DEFAULT_LEFT : 0);
      m->stats[g->id].gain = s->gain;
      m->stats[g->id].split_bin = (uint8_t)s->bin;
      struct grow_node L = {.id = l, .depth = g->depth + 1, .begin = g->begin, .end = mid, .G = GL, .H = HL};
      struct grow_node R = {.id = l + 1, .depth = g->depth + 1, .begin = mid, .end = g->end, .G = GR, .H = HR};
      L.s.feature = R.s.feature = -1;
      node_open(m, &L, p);
      node_open(m, &R, p);
      bool split_l = false, split_r = false;
      if (leaves_left && (p->max_depth == 0 || g->depth + 1 < p->max_depth)) {
        split_l = may_split(t, &L);
        split_r = may_split(t, &R);
      }
      if (split_l || split_r) { /* the small child's histogram is needed for the sibling's either way */
        struct grow_node *small = (mid - g->begin) <= (g->end - mid) ? &L : &R, *large = small == &L ? &R : &L;
        small->hist = tml__gbdt_hist_get(t);
        large->hist = tml__gbdt_hist_get(t);
        if (!small->hist || !large->hist) {
          rc = TML_ENOMEM;
        } else {
          struct hist_job j = {t, gh, small->begin, small->end, large->begin, large->end, g->hist, small->hist,
                               large->hist};
          tml__gbdt_hist_job_run(t, &j);
          if (split_l)
            tml__gbdt_split_find(t, &L, &L.s);
          if (split_r)
            tml__gbdt_split_find(t, &R, &R.s);
        }
      }
      tml__gbdt_hist_put(t, g->hist);
      g->hist = NULL;
      if (rc) {
        tml__gbdt_hist_put(t, L.hist);
        tml__gbdt_hist_put(t, R.hist);
        break;
      }
      if ((rc = node_settle(t, m, &L))) {
        tml__gbdt_hist_put(t, L.hist);
        tml__gbdt_hist_put(t, R.hist);
        break;
      }
      if ((rc = node_settle(t, m, &R))) {
        tml__gbdt_hist_put(t, R.hist);
        break;
      }
    }
    if (rc)
      break;
  }
  /* Whatever still waits stays a leaf. */
  for (size_t i = 0; i < nb; i++) {
    tml__gbdt_hist_put(t, t->batch[i].hist);
    t->batch[i].hist = NULL;
  }
  while (t->nqueue > 0) {
    struct grow_node g = queue_pop(t);
    if (rc) {
      tml__gbdt_hist_put(t, g.hist);
      continue;
    }
    rc = node_leaf(t, m, &g);
  }
  if (rc)
    return rc;
  m->ntrees++;
  m->tree_start[m->ntrees] = (uint32_t)m->nnodes;
  return 0;
}

/* Leaf value for binned row r of a tree held alone in m (a lane's tree: its root is node 0). */
static inline float tree_value_binned(const struct tml_gbdt_model *m, const struct tml_gbdt_bins *b, size_t r) {
  const uint8_t *c = b->code + r * b->ncols;
  unsigned missing = (unsigned)b->max_bin;
  uint32_t i = 0;
  while (m->nodes[i].feature >= 0) {
    const struct node *n = &m->nodes[i];
    unsigned code = c[n->feature];
    bool left = code == missing ? (n->left & DEFAULT_LEFT) != 0 : code <= m->stats[i].split_bin;
    i = (uint32_t)(n->left & CHILD_MASK) + (left ? 0u : 1u);
  }
  return m->nodes[i].value;
}

/* Adds the leaf value of the tree held alone in m to margin[i] for binned rows [r0, r0 + n): eight
 * rows walked side by side (eight independent chains of loads instead of one), each row's value the
 * same as tree_value_binned's. */
static void add_tree_binned(const struct tml_gbdt_model *m, const struct tml_gbdt_bins *b, size_t r0, size_t n,
                            float *margin) {
  const struct node *nodes = m->nodes;
  const struct node_stats *st = m->stats;
  unsigned missing = (unsigned)b->max_bin;
  size_t ncols = b->ncols, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint32_t at[8];
    const uint8_t *c[8];
    for (int q = 0; q < 8; q++) {
      at[q] = 0;
      c[q] = b->code + (r0 + i + (size_t)q) * ncols;
    }
    for (;;) {
      bool more = false;
      for (int q = 0; q < 8; q++) {
        const struct node *nd = &nodes[at[q]];
        if (nd->feature < 0)
          continue;
        unsigned code = c[q][nd->feature];
        bool left = code == missing ? (nd->left & DEFAULT_LEFT) != 0 : code <= st[at[q]].split_bin;
        at[q] = (uint32_t)(nd->left & CHILD_MASK) + (left ? 0u : 1u);
        more = true;
      }
      if (!more)
        break;
    }
    for (int q = 0; q < 8; q++)
      margin[i + (size_t)q] += nodes[at[q]].value;
  }
  for (; i < n; i++)
    margin[i] += tree_value_binned(m, b, r0 + i);
}

/* ---- The class trees of a round side by side ----
 * The K trees of a softmax round depend only on the round's gradients, so they may grow at the same
 * time. Each class has a lane: the tree's row and column samples (drawn in class order before any
 * tree grows, so the generator's sequence is the one of trees grown one by one) and a scratch tree
 * numbered from node 0. A runner (the training thread, or an idle thread lent by the caller through
 * helpers.h) takes lanes one at a time and grows each tree whole with its own trainer (row index,
 * histogram pool, queue: one per runner slot, so a thread reuses the buffers it has in cache), then
 * adds the tree to its class's margins (class-major arrays: runners write apart). The trees are
 * appended to the model in class order, node numbers shifted by the model's node count. Every
 * number is computed by the same operations as when one thread grows the trees in class order, so
 * the model bytes do not depend on who ran a lane (tested). Only the training thread (slot 0) uses
 * the crew. */
struct lane {
  struct tml_gbdt_model tree; /* this round's tree of the class, nodes from 0 */
  uint32_t *sample;           /* the tree's rows (n of them) when rows are subsampled, else NULL: all */
  uint32_t *feats;            /* the tree's columns (nfeats of them), ascending */
  size_t n, nfeats;
  void *root_hist;            /* the shared root pass's histogram of the class (from slot 0's pool), or NULL */
  int rc;
};

struct round_job {
  struct lane *lanes;
  struct trainer *slots;      /* runner slots: 0 the training thread, 1 .. K - 1 its helpers (if any) */
  int K;
  atomic_int next;            /* the next lane to take */
  atomic_int nhelpers;        /* helpers that joined this round */
  struct crew *crew;          /* the training thread's */
  const struct ghpair *gh;    /* class k at gh + k * nrows */
  struct tml_range train, valid;
  float *mtrain, *mvalid;     /* margins, class-major: class k at + k * ntrain (nvalid) */
};

static void lane_grow(struct round_job *j, int k, int slot) {
  struct lane *L = &j->lanes[k];
  struct trainer *t = &j->slots[slot];
  const struct tml_gbdt_bins *b = t->bins;
  size_t ntrain = j->train.end - j->train.begin, nvalid = j->valid.end - j->valid.begin;
  t->crew = slot == 0 ? j->crew : NULL;
  if (!t->rows) /* a slot's row index and partition scratch, on its first lane */
    t->rows = malloc(ntrain * sizeof *t->rows);
  if (!t->tmp)
    t->tmp = malloc(ntrain * sizeof *t->tmp);
  if (!t->rows || !t->tmp) {
    L->rc = TML_ENOMEM;
    return;
  }
  t->feats = L->feats;
  t->nfeats = L->nfeats;
  if (L->sample) {
    memcpy(t->rows, L->sample, L->n * sizeof *t->rows);
  } else {
    for (size_t i = 0; i < L->n; i++)
      t->rows[i] = (uint32_t)(j->train.begin + i);
  }
  /* The root's histogram came from slot 0's pool: slot 0 returns it there as it grows the tree (the
   * next tree reuses it while it is in cache); a helper only borrows it, and the training thread
   * returns it after the round. */
  void *root_hist = L->root_hist;
  if (slot == 0)
    L->root_hist = NULL;
  t->borrowed = slot == 0 ? NULL : root_hist;
  L->tree.nnodes = 0;
  L->tree.ntrees = 0;
  L->rc = grow_tree(t, &L->tree, j->gh + (size_t)k * b->nrows, L->n, root_hist);
  t->borrowed = NULL;
  if (L->rc)
    return;
  float *mt = j->mtrain + (size_t)k * ntrain;
  if (L->n == ntrain) { /* every row grew the tree: the leaves' row ranges say where each row ends */
    for (size_t l = 0; l < t->nleaves; l++)
      for (size_t i = t->leaves[l].begin; i < t->leaves[l].end; i++)
        mt[t->rows[i] - j->train.begin] += t->leaves[l].value;
  } else { /* rows left out of the sample are walked down the tree, as the validation rows */
    add_tree_binned(&L->tree, b, j->train.begin, ntrain, mt);
  }
  add_tree_binned(&L->tree, b, j->valid.begin, nvalid, j->mvalid + (size_t)k * nvalid);
}

/* Takes lanes until none is left. */
static void round_run(struct round_job *j, int slot) {
  for (;;) {
    int k = atomic_fetch_add(&j->next, 1);
    if (k >= j->K)
      return;
    lane_grow(j, k, slot);
  }
}

/* A helper's part of a round (the offer has K - 1 seats: slots 1 .. K - 1). */
static void round_help(void *arg) {
  struct round_job *j = arg;
  int slot = 1 + atomic_fetch_add(&j->nhelpers, 1);
  if (slot < j->K)
    round_run(j, slot);
}

/* Appends a lane's tree to the model: nodes and statistics as they are, child indices shifted. */
static int append_tree(struct tml_gbdt_model *m, const struct tml_gbdt_model *tree) {
  int rc = tml__gbdt_model_reserve(m, tree->nnodes);
  if (rc)
    return rc;
  int32_t base = (int32_t)m->nnodes;
  for (size_t i = 0; i < tree->nnodes; i++) {
    struct node nd = tree->nodes[i];
    if (nd.feature >= 0)
      nd.left = ((nd.left & CHILD_MASK) + base) | (nd.left & DEFAULT_LEFT);
    m->nodes[m->nnodes + i] = nd;
    m->stats[m->nnodes + i] = tree->stats[i];
  }
  m->nnodes += tree->nnodes;
  m->ntrees++;
  m->tree_start[m->ntrees] = (uint32_t)m->nnodes;
  return 0;
}

static int check_labels(const float *y, struct tml_range r, int nclass, const char *which, struct tml_error *err) {
  for (size_t i = r.begin; i < r.end; i++) {
    float v = y[i];
    if (!isfinite(v))
      return tml_error_set(err, TML_EINVAL,
                           "native engine training: %s label of row %zu is not a number; drop unlabelled rows "
                           "(the last horizon candles) from the ranges",
                           which, i);
    if (nclass > 0 && (v < 0.0f || v >= (float)nclass || v != floorf(v)))
      return tml_error_set(err, TML_EINVAL, "native engine training: %s label of row %zu is %g, not a class 0..%d",
                           which, i, (double)v, nclass - 1);
  }
  return 0;
}

/* Validation metric of the current margins, computed as libxgboost 1.7 computes the metric it
 * reports (and so the metric XGBoost's early stopping compares): per row in float — mlogloss
 * -logf(max(p_y, 1e-16f)) of the float softmax, squared error (y - pred)^2 — summed in double in row
 * order, then mean (mlogloss) or sqrt of the mean (rmse). With equal models both engines then stop at
 * the same round even when the metric moves by less than a float's precision (flat heads). */
/* py: room for the validation rows' label probabilities; vec: tml__gbdt_softmax_vector. */
static double eval_metric(const float *margin, const float *y, struct tml_range valid, int nclass, float *py,
                          bool vec) {
  double sum = 0.0, wsum = 0.0;
  size_t n = valid.end - valid.begin;
  if (nclass > 0) { /* margins class-major: class k of row i at margin[k * n + i] */
    tml__gbdt_softmax_label_p(margin, n, n, nclass, y + valid.begin, py, vec);
    for (size_t i = 0; i < n; i++) {
      float loss = py[i] > (float)PROB_EPS ? -logf(py[i]) : -logf((float)PROB_EPS);
      sum += (double)loss;
      wsum += 1.0;
    }
    return sum / wsum;
  }
  for (size_t i = 0; i < n; i++) {
    float d = y[valid.begin + i] - margin[i];
    sum += (double)(d * d);
    wsum += 1.0;
  }
  return sqrt(sum / wsum);
}

static void trainer_release(struct trainer *t) {
  for (size_t i = 0; i < t->npool; i++)
    free(t->pool[i]);
  free(t->pool);
  free(t->rows);
  free(t->tmp);
  free(t->queue);
  free(t->batch);
  free(t->leaves);
}

static int copy_names(struct tml_gbdt_model *m, const char *const *names) {
  if (!names)
    return 0;
  m->feature_names = calloc(m->ncols, sizeof(char *));
  if (!m->feature_names)
    return TML_ENOMEM;
  for (size_t i = 0; i < m->ncols; i++) {
    size_t len = strlen(names[i]) + 1;
    if (!(m->feature_names[i] = malloc(len)))
      return TML_ENOMEM;
    memcpy(m->feature_names[i], names[i], len);
  }
  return 0;
}

/* Root-pass slots: `bytes` (rounded up to whole cache lines), 64-byte aligned; NULL when out of
 * memory. Free with free(). */
static void *slots_alloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

/* ---- One head's training, in rounds ----
 * A head's state between rounds (struct head_fit): tml_gbdt_train_binned runs one head's rounds to
 * the end; tml_gbdt_train_binned_heads runs several heads' rounds in lockstep on one thread, their
 * root histograms from one pass (below). Either way each head goes through the same steps with the
 * same numbers: its model does not depend on which function trained it. */
struct head_fit {
  const float *y;
  int nclass, K;
  tml_xgb_progress_fn progress;
  void *ud;
  const struct tml_xgb_params *p;
  struct tml_helpers *helpers;
  bool offer;            /* helpers grow class trees only (a regression round has one tree) */
  int nslots;            /* runner slots: K when offering, else 1 */
  struct tml_gbdt_model *m;
  struct lane *lanes;
  struct trainer *slots;
  float *ghr;            /* the shared root pass's rows (class heads), or NULL */
  void *fused;           /* the shared root pass's slots, or NULL */
  float *mtrain, *mvalid; /* margins, class-major (struct round_job) */
  struct ghpair *gh;     /* class k at gh + k * nrows */
  float *py;             /* eval_metric's */
  bool vec;              /* tml__gbdt_softmax_vector */
  struct rng rng;
  int best;
  double best_score;
  size_t ncol_tree;
  bool shared_root;      /* its class trees' roots from its own shared root pass */
  bool joins;            /* its roots may come from the pass of several heads (heads_roots): every
                            training row and column in every tree, float slots */
  struct root_job rj;
  struct round_job job;
  int round;             /* the next round */
  bool done;             /* early stopping (or the last round) reached */
  double seconds;        /* time spent on this head (tml_gbdt_train_binned_heads) */
};

/* The checks of one head's inputs (the parameters are checked once by the caller). */
static int head_check(const struct tml_gbdt_bins *bins, const float *y, struct tml_range train, struct tml_range valid,
                      int nclass, const struct tml_xgb_params *p, struct tml_error *err) {
  if (!bins || !y)
    return tml_error_set(err, TML_EINVAL, "native engine training: no binned matrix or labels given");
  if (p->max_bin != bins->max_bin)
    return tml_error_set(err, TML_EINVAL, "native engine training: the binned matrix has max_bin %d, parameters say %d",
                         bins->max_bin, p->max_bin);
  if (train.end <= train.begin || valid.end <= valid.begin || train.end > bins->nrows || valid.end > bins->nrows)
    return tml_error_set(err, TML_EINVAL,
                         "native engine training: row ranges train [%zu, %zu), valid [%zu, %zu) are empty or "
                         "outside the %zu rows",
                         train.begin, train.end, valid.begin, valid.end, bins->nrows);
  if (bins->nrows > UINT32_MAX)
    return tml_error_set(err, TML_EINVAL, "native engine training: %zu rows exceed 2^32", bins->nrows);
  if (bins->ncols > TML_GBDT_MAX_COLS)
    return tml_error_set(err, TML_EINVAL,
                         "native engine training: %zu feature columns, the native engine takes at most %d; use "
                         "fewer features or --engine xgboost",
                         bins->ncols, TML_GBDT_MAX_COLS);
  if (nclass != 0 && (nclass < 2 || nclass > MAX_CLASSES))
    return tml_error_set(err, TML_EINVAL, "native engine training: nclass %d must be 0 (regression) or 2..%d", nclass,
                         MAX_CLASSES);
  int rc = check_labels(y, train, nclass, "training", err);
  return rc ? rc : check_labels(y, valid, nclass, "validation", err);
}

/* Frees a head's state; its done flag and time stay (a head released when it finished is passed
 * over). */
static void head_release(struct head_fit *f) {
  for (int k = 0; f->slots && f->lanes && k < f->K; k++)
    tml__gbdt_hist_put(&f->slots[0], f->lanes[k].root_hist);
  for (int k = 0; f->lanes && k < f->K; k++) {
    free(f->lanes[k].tree.nodes);
    free(f->lanes[k].tree.stats);
    free(f->lanes[k].tree.tree_start);
    free(f->lanes[k].sample);
    free(f->lanes[k].feats);
  }
  for (int k = 0; f->slots && k < f->nslots; k++)
    trainer_release(&f->slots[k]);
  free(f->lanes);
  free(f->slots);
  free(f->ghr);
  free(f->fused);
  free(f->mtrain);
  free(f->mvalid);
  free(f->gh);
  free(f->py);
  tml_gbdt_free(f->m);
  bool done = f->done;
  double seconds = f->seconds;
  memset(f, 0, sizeof *f);
  f->done = done;
  f->seconds = seconds;
}

/* Allocates a head's state (inputs checked). 0 or TML_ENOMEM (then head_release). */
static int head_init(struct head_fit *f, const struct tml_gbdt_bins *bins, const float *y, struct tml_range train,
                     struct tml_range valid, int nclass, const struct tml_xgb_params *p, unsigned flags,
                     struct tml_helpers *helpers, const char *const *feature_names, tml_xgb_progress_fn progress,
                     void *ud, struct crew *crew) {
  size_t ntrain = train.end - train.begin, nvalid = valid.end - valid.begin, ncols = bins->ncols;
  memset(f, 0, sizeof *f);
  f->y = y;
  f->nclass = nclass;
  f->K = nclass > 0 ? nclass : 1;
  f->progress = progress;
  f->ud = ud;
  f->p = p;
  f->helpers = helpers;
  f->offer = helpers && f->K > 1;
  f->nslots = f->offer ? f->K : 1;
  int K = f->K;
  /* what every runner slot's trainer shares; each adds its own row index, scratch and pool */
  struct trainer proto = {.bins = bins, .p = p, .flags = flags, .cut_mask = tml__gbdt_cut_mask_pick(flags)};
  proto.stride = (size_t)bins->max_bin + 1;
  proto.hist_len = ncols * proto.stride;
  proto.fhist = p->native_histogram == TML_HIST_FLOAT;
  proto.slot_size = proto.fhist ? sizeof(struct hbinf) : sizeof(struct hbin);
  f->m = calloc(1, sizeof *f->m);
  f->lanes = calloc((size_t)K, sizeof *f->lanes);
  f->slots = calloc((size_t)f->nslots, sizeof *f->slots);
  f->mtrain = malloc(ntrain * (size_t)K * sizeof(float));
  f->mvalid = malloc(nvalid * (size_t)K * sizeof(float));
  f->gh = malloc(bins->nrows * (size_t)K * sizeof *f->gh);
  f->py = malloc(nvalid * sizeof *f->py);
  f->vec = tml__gbdt_softmax_vector(flags);
  if (!f->m || !f->lanes || !f->slots || !f->mtrain || !f->mvalid || !f->gh || !f->py)
    return TML_ENOMEM;
  for (int k = 0; k < K; k++) {
    struct lane *L = &f->lanes[k];
    L->tree.nclass = nclass;
    L->tree.ncols = ncols;
    L->feats = malloc(ncols * sizeof *L->feats);
    if (p->subsample < 1.0)
      L->sample = malloc(ntrain * sizeof *L->sample);
    if (!L->feats || (p->subsample < 1.0 && !L->sample) || tml__gbdt_model_reserve(&L->tree, 0))
      return TML_ENOMEM;
    L->tree.tree_start[0] = 0;
  }
  for (int k = 0; k < f->nslots; k++)
    f->slots[k] = proto; /* each gets its row index on first use (lane_grow) */
  struct tml_gbdt_model *m = f->m;
  m->nclass = nclass;
  m->ncols = ncols;
  m->best_score = NAN;
  if (copy_names(m, feature_names))
    return TML_ENOMEM;
  /* XGBoost 1.7's base_score: 0.5 for both objectives (it cancels in the softmax; for squared error
   * the first rounds move it to the labels' level, as in XGBoost, so both engines grow the same
   * trees from the same cuts). Stored in the model and exported as learner_model_param.base_score. */
  m->base_score = 0.5f;
  for (size_t i = 0; i < ntrain * (size_t)K; i++)
    f->mtrain[i] = m->base_score;
  for (size_t i = 0; i < nvalid * (size_t)K; i++)
    f->mvalid[i] = m->base_score;
  if (tml__gbdt_model_reserve(m, 0))
    return TML_ENOMEM;
  m->tree_start[0] = 0;

  f->rng.s = p->seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  if (f->rng.s == 0)
    f->rng.s = 1;
  f->best = 0;
  f->best_score = INFINITY;
  f->ncol_tree = (size_t)floor(p->colsample_bytree * (double)ncols);
  if (f->ncol_tree < 1)
    f->ncol_tree = 1;
  if (f->ncol_tree > ncols)
    f->ncol_tree = ncols;
  /* Roots from a pass shared by several trees when every tree takes every training row and column:
   * the class trees' shared root pass (see tml__gbdt_shared_root_build), and with float slots the pass of
   * several heads (heads_roots). */
  bool all_rows = p->subsample >= 1.0 && f->ncol_tree == ncols && ntrain > 1 && !(flags & TML_GBDT_NO_SHARED_ROOT);
  f->shared_root = all_rows && nclass >= 2 && nclass <= SHARED_ROOT_MAX;
  f->joins = all_rows && proto.fhist && (nclass == 0 || f->shared_root);
  f->rj = (struct root_job){.t = &f->slots[0], .row0 = train.begin, .nrows = ntrain};
  if (f->shared_root) { /* its slots (f->fused) on its first own pass: heads trained together may not need them */
    f->ghr = calloc(ntrain * 8, sizeof *f->ghr); /* classes >= nclass stay 0 */
    if (!f->ghr)
      return TML_ENOMEM;
    f->rj.ghr = f->ghr;
#if defined(__x86_64__) && defined(__GNUC__)
    f->slots[0].root_avx2 = !(flags & TML_GBDT_NO_AVX2) && __builtin_cpu_supports("avx2");
#endif
  }
  f->job = (struct round_job){.lanes = f->lanes, .slots = f->slots, .K = K, .crew = crew, .gh = f->gh,
                              .train = train, .valid = valid, .mtrain = f->mtrain, .mvalid = f->mvalid};
  atomic_init(&f->job.next, 0);
  atomic_init(&f->job.nhelpers, 0);
  return 0;
}

/* The round's gradients: one pass for every class. */
static void head_grad(struct head_fit *f) {
  const struct tml_gbdt_bins *bins = f->slots[0].bins;
  struct tml_range train = f->job.train;
  size_t ntrain = train.end - train.begin;
  if (f->nclass > 0)
    tml__gbdt_softmax_grad_rows(f->mtrain, ntrain, ntrain, f->K, f->y + train.begin, &f->gh[train.begin].g,
                                bins->nrows, f->shared_root ? f->ghr : NULL, f->vec);
  else
    for (size_t i = 0; i < ntrain; i++)
      f->gh[train.begin + i] = (struct ghpair){f->mtrain[i] - f->y[train.begin + i], 1.0f};
}

/* The head's class roots from its own shared root pass (when it has one). 0 or TML_ENOMEM. */
static int head_roots(struct head_fit *f) {
  if (!f->shared_root)
    return 0;
  if (!f->fused) {
    const struct trainer *t = &f->slots[0];
    size_t bytes = t->hist_len * 8 * (t->fhist ? sizeof(float) : sizeof(double)); /* 8 values per slot */
    if (!(f->fused = f->rj.fused = slots_alloc(bytes)))
      return TML_ENOMEM;
  }
  void *roots[SHARED_ROOT_MAX];
  for (int k = 0; k < f->K; k++)
    if (!(roots[k] = f->lanes[k].root_hist = tml__gbdt_hist_get(&f->slots[0])))
      return TML_ENOMEM;
  f->slots[0].crew = f->job.crew; /* the root pass runs on slot 0's crew, on this thread */
  tml__gbdt_shared_root_build(&f->rj, f->K, roots);
  return 0;
}

/* The rest of the round: samples, trees, margins, the validation metric, early stopping. 0,
 * TML_ENOMEM (message left to the caller), TML_EINTR or another code with err set. */
static int head_grow(struct head_fit *f, struct tml_error *err) {
  const struct tml_xgb_params *p = f->p;
  struct tml_range train = f->job.train;
  size_t ncols = f->slots[0].bins->ncols;
  int K = f->K, round = f->round, rc = 0;
  /* Row and column samples of the round's trees, drawn in class order. */
  for (int k = 0; k < K; k++) {
    struct lane *L = &f->lanes[k];
    size_t n = train.end - train.begin;
    if (L->sample) {
      n = 0;
      for (size_t r = train.begin; r < train.end; r++)
        if (rng_uniform(&f->rng) < p->subsample)
          L->sample[n++] = (uint32_t)r;
    }
    for (size_t j = 0; j < ncols; j++)
      L->feats[j] = (uint32_t)j;
    if (f->ncol_tree < ncols) {
      for (size_t j = 0; j < f->ncol_tree; j++) { /* partial Fisher-Yates, then ascending order */
        size_t pick = j + (size_t)(rng_next(&f->rng) % (uint64_t)(ncols - j));
        uint32_t tmp = L->feats[j];
        L->feats[j] = L->feats[pick];
        L->feats[pick] = tmp;
      }
      for (size_t a = 1; a < f->ncol_tree; a++) {
        uint32_t v = L->feats[a];
        size_t b = a;
        while (b > 0 && L->feats[b - 1] > v) {
          L->feats[b] = L->feats[b - 1];
          b--;
        }
        L->feats[b] = v;
      }
    }
    L->nfeats = f->ncol_tree;
    L->n = n;
  }
  atomic_store(&f->job.next, 0);
  atomic_store(&f->job.nhelpers, 0);
  struct tml_helpers_offer o;
  if (f->offer)
    tml_helpers_offer(f->helpers, &o, round_help, &f->job, K - 1);
  round_run(&f->job, 0);
  if (f->offer)
    tml_helpers_withdraw(f->helpers, &o);
  for (int k = 0; k < K; k++) { /* the roots helpers borrowed */
    tml__gbdt_hist_put(&f->slots[0], f->lanes[k].root_hist);
    f->lanes[k].root_hist = NULL;
  }
  for (int k = 0; k < K; k++)
    if ((rc = f->lanes[k].rc) || (rc = append_tree(f->m, &f->lanes[k].tree)))
      return rc == TML_ENOMEM ? rc : tml_error_set(err, rc, "native engine training failed");
  double metric = eval_metric(f->mvalid, f->y, f->job.valid, f->nclass, f->py, f->vec);
  if (isfinite(metric) && metric < f->best_score) {
    f->best_score = metric;
    f->best = round;
  }
  if (f->progress && f->progress(f->ud, round, metric, f->best))
    return tml_error_set(err, TML_EINTR, "training interrupted at round %d", round);
  f->round++;
  if ((p->early_stopping_rounds > 0 && round - f->best >= p->early_stopping_rounds) ||
      f->round >= p->num_boost_round)
    f->done = true;
  return 0;
}

/* The model of a head whose rounds are done: rounds 0..best kept, sealed, handed to *out. */
static int head_finish(struct head_fit *f, struct tml_gbdt_model **out, struct tml_error *err) {
  struct tml_gbdt_model *m = f->m;
  int best = f->best;
  if (f->p->early_stopping_rounds == 0)
    best = (int)(m->ntrees / (size_t)f->K) - 1;
  m->ntrees = (size_t)(best + 1) * (size_t)f->K;
  m->nnodes = m->tree_start[m->ntrees];
  m->best_iteration = best;
  m->best_score = f->best_score;
  int rc = tml__gbdt_model_seal(m);
  if (rc == TML_ENOMEM) /* columns and trees are within the layout's limits here */
    return rc;
  if (rc)
    return tml_error_set(err, rc, "native engine training: the model does not fit the prediction layout");
  *out = m;
  f->m = NULL;
  return 0;
}

/* The heads' own roots, for those of fs[0..n) still training and not in the pass (in_pass[h]). */
static int heads_own_roots(struct head_fit *fs, size_t n, const bool *in_pass) {
  for (size_t h = 0; h < n; h++)
    if (!fs[h].done && !in_pass[h]) {
      double t0 = tml_monotonic_s();
      int rc = head_roots(&fs[h]);
      fs[h].seconds += tml_monotonic_s() - t0;
      if (rc)
        return rc;
    }
  return 0;
}

/* The roots of the joining heads among fs[0..n) (done heads left out), from one pass when two or
 * more join; the others' own roots. Each head's seconds grow by its time: its own roots, or its
 * share of the pass by its pairs. 0 or TML_ENOMEM. */
static int heads_roots(struct head_fit *fs, size_t n, struct multi_root *mr, struct crew *crew) {
  size_t join[MR_MAX_VECS], nj = 0;
  bool in_pass[TML_MAX_TRAIN_HEADS] = {false};
  for (size_t h = 0; h < n; h++)
    if (!fs[h].done && fs[h].joins && nj < MR_MAX_VECS)
      join[nj++] = h;
  if (nj < 2) /* one head: its own pass */
    return heads_own_roots(fs, n, in_pass);
  for (size_t q = 0; q < nj; q++)
    in_pass[join[q]] = true;
  double tp = tml_monotonic_s();
  int npairs = 0;
  /* Vectors: each class head its own (classes from pair 0, as its ghr), then each regression head
   * in the first vector with a free pair (a class head's of < 4 classes, in head order, or one of
   * regression heads). */
  int used[MR_MAX_VECS];
  int at[MR_MAX_VECS];  /* per joining head: its vector (never more vectors than joining heads) */
  int pos[MR_MAX_VECS]; /* its first pair there */
  mr->nvec = 0;
  for (size_t q = 0; q < nj; q++) {
    struct head_fit *f = &fs[join[q]];
    if (f->nclass == 0)
      continue;
    size_t v = mr->nvec++;
    mr->vec[v] = (struct mr_vec){.cls = f->ghr};
    used[v] = f->nclass;
    at[q] = (int)v;
    pos[q] = 0;
  }
  for (size_t q = 0; q < nj; q++) {
    struct head_fit *f = &fs[join[q]];
    if (f->nclass != 0)
      continue;
    size_t v = 0;
    while (v < mr->nvec && (used[v] >= 4 || mr->vec[v].nreg >= 4))
      v++;
    if (v == mr->nvec) {
      mr->vec[mr->nvec++] = (struct mr_vec){.cls = NULL};
      used[v] = 0;
    }
    struct mr_vec *vv = &mr->vec[v];
    vv->reg[vv->nreg] = &f->gh[f->job.train.begin].g;
    vv->reg_at[vv->nreg] = used[v];
    for (int l = 0; l < 8; l++)
      vv->reg_mask[vv->nreg][l] = l / 2 == used[v] ? -1 : 0;
    vv->nreg++;
    at[q] = (int)v;
    pos[q] = used[v]++;
  }
  for (size_t q = 0; q < nj; q++)
    npairs += fs[join[q]].K;
  /* the pass, on the first joining head's slot 0 (its crew is the caller's) */
  struct trainer *t0 = &fs[join[0]].slots[0];
  mr->t = t0;
  mr->row0 = fs[join[0]].job.train.begin;
  mr->nrows = fs[join[0]].job.train.end - fs[join[0]].job.train.begin;
  t0->crew = crew;
  tml__gbdt_multi_root_build(mr);
  /* each head's roots, copied out of the slots */
  size_t w = mr->nvec * 8;
  for (size_t q = 0; q < nj; q++) {
    struct head_fit *f = &fs[join[q]];
    for (int k = 0; k < f->K; k++) {
      struct hbinf *out = f->lanes[k].root_hist = tml__gbdt_hist_get(&f->slots[0]);
      if (!out)
        return TML_ENOMEM;
      const float *src = mr->fused + (size_t)at[q] * 8 + 2 * (size_t)(pos[q] + k);
      for (size_t sl = 0; sl < t0->hist_len; sl++, src += w)
        out[sl] = (struct hbinf){src[0], src[1]};
    }
  }
  double pass = tml_monotonic_s() - tp;
  for (size_t q = 0; q < nj; q++)
    fs[join[q]].seconds += pass * (double)fs[join[q]].K / (double)npairs;
  return heads_own_roots(fs, n, in_pass);
}

int tml_gbdt_train_binned(const struct tml_gbdt_bins *bins, const float *y, struct tml_range train,
                          struct tml_range valid, int nclass, const struct tml_xgb_params *p, unsigned flags,
                          struct tml_helpers *helpers, const char *const *feature_names, tml_xgb_progress_fn progress,
                          void *ud, struct tml_gbdt_model **out, struct tml_error *err) {
  *out = NULL;
  int rc = tml_gbdt_params_validate(p, err);
  if (rc || (rc = head_check(bins, y, train, valid, nclass, p, err)))
    return rc;
  struct crew crew;
  tml__gbdt_crew_start(&crew, p->nthread);
  struct head_fit f;
  rc = head_init(&f, bins, y, train, valid, nclass, p, flags, helpers, feature_names, progress, ud, &crew);
  while (!rc && !f.done) {
    head_grad(&f);
    if (!(rc = head_roots(&f)))
      rc = head_grow(&f, err);
  }
  if (!rc)
    rc = head_finish(&f, out, err);
  if (rc == TML_ENOMEM)
    rc = tml_error_set(err, TML_ENOMEM, "native engine training: out of memory (%zu rows x %zu columns)",
                       train.end - train.begin, bins->ncols);
  tml__gbdt_crew_stop(&crew);
  head_release(&f);
  return rc;
}

static void head_prefix(struct tml_error *err, const struct tml_train_head *heads, size_t h) {
  if (heads[h].name)
    tml_error_prefix(err, "training head '%s'", heads[h].name);
  else
    tml_error_prefix(err, "training head %zu", h + 1);
}

int tml_gbdt_train_binned_heads(const struct tml_gbdt_bins *bins, const struct tml_train_head *heads, size_t nheads,
                                struct tml_range train, struct tml_range valid, const struct tml_xgb_params *p,
                                unsigned flags, const char *const *feature_names, struct tml_gbdt_model **out,
                                double *seconds, struct tml_error *err) {
  for (size_t h = 0; h < nheads; h++)
    out[h] = NULL;
  int rc = tml_gbdt_params_validate(p, err);
  if (rc)
    return rc;
  if (nheads < 1 || nheads > TML_MAX_TRAIN_HEADS)
    return tml_error_set(err, TML_EINVAL, "native engine training: %zu heads, one call trains 1..%d", nheads,
                         TML_MAX_TRAIN_HEADS);
  for (size_t h = 0; h < nheads && !rc; h++)
    if ((rc = head_check(bins, heads[h].y, train, valid, heads[h].nclass, p, err)))
      head_prefix(err, heads, h);
  if (rc)
    return rc;
  struct crew crew;
  tml__gbdt_crew_start(&crew, p->nthread);
  struct head_fit fs[TML_MAX_TRAIN_HEADS];
  memset(fs, 0, sizeof fs);
  struct multi_root mr = {0};
#if defined(__x86_64__) && defined(__GNUC__)
  mr.avx2 = !(flags & TML_GBDT_NO_AVX2) && __builtin_cpu_supports("avx2");
#endif
  size_t ntrain = train.end - train.begin, njoin = 0;
  for (size_t h = 0; h < nheads && !rc; h++) {
    double t0 = tml_monotonic_s();
    rc = head_init(&fs[h], bins, heads[h].y, train, valid, heads[h].nclass, p, flags, NULL, feature_names,
                   heads[h].progress, heads[h].ud, &crew);
    fs[h].seconds = tml_monotonic_s() - t0;
    njoin += !rc && fs[h].joins;
  }
  /* the pass's slots, when it will run: at most one vector per joining head */
  if (!rc && njoin >= 2 && !(mr.fused = slots_alloc(fs[0].slots[0].hist_len * njoin * 8 * sizeof(float))))
    rc = TML_ENOMEM;
  /* Rounds in lockstep: every head still training takes its round (heads stop apart, each at its
   * own early stopping). */
  for (bool left = true; !rc && left;) {
    left = false;
    for (size_t h = 0; h < nheads; h++)
      if (!fs[h].done) {
        double t0 = tml_monotonic_s();
        head_grad(&fs[h]);
        fs[h].seconds += tml_monotonic_s() - t0;
      }
    if ((rc = heads_roots(fs, nheads, &mr, &crew)))
      break;
    for (size_t h = 0; h < nheads && !rc; h++)
      if (!fs[h].done) {
        double t0 = tml_monotonic_s();
        if ((rc = head_grow(&fs[h], err)) && rc != TML_ENOMEM)
          head_prefix(err, heads, h);
        else if (fs[h].done && !(rc = head_finish(&fs[h], &out[h], err)))
          head_release(&fs[h]); /* its memory back while the others train (done stays set) */
        fs[h].seconds += tml_monotonic_s() - t0;
        left = left || !fs[h].done;
      }
  }
  for (size_t h = 0; seconds && h < nheads; h++)
    seconds[h] = fs[h].seconds;
  if (rc == TML_ENOMEM)
    rc = tml_error_set(err, TML_ENOMEM, "native engine training: out of memory (%zu rows x %zu columns, %zu heads)",
                       ntrain, bins->ncols, nheads);
  if (rc)
    for (size_t h = 0; h < nheads; h++) {
      tml_gbdt_free(out[h]);
      out[h] = NULL;
    }
  tml__gbdt_crew_stop(&crew);
  for (size_t h = 0; h < nheads; h++)
    head_release(&fs[h]);
  free(mr.fused);
  return rc;
}

int tml_gbdt_train(const float *X, size_t ncols, const float *y, struct tml_range train, struct tml_range valid,
                   int nclass, const struct tml_xgb_params *p, const char *const *feature_names,
                   tml_xgb_progress_fn progress, void *ud, struct tml_gbdt_model **out, struct tml_error *err) {
  *out = NULL;
  int rc = tml_gbdt_params_validate(p, err);
  if (rc)
    return rc;
  if (!X || !y || ncols == 0)
    return tml_error_set(err, TML_EINVAL, "native engine training: no feature matrix or labels given");
  if (train.end <= train.begin || valid.end <= valid.begin)
    return tml_error_set(err, TML_EINVAL, "native engine training: empty row range (train [%zu, %zu), valid [%zu, %zu))",
                         train.begin, train.end, valid.begin, valid.end);
  size_t nrows = TML_MAX(train.end, valid.end);
  struct tml_gbdt_bins *b = NULL;
  if ((rc = tml_gbdt_bins_build_threads(X, nrows, ncols, train, p->max_bin, p->nthread, &b, err)))
    return rc;
  rc = tml_gbdt_train_binned(b, y, train, valid, nclass, p, 0, NULL, feature_names, progress, ud, out, err);
  tml_gbdt_bins_free(b);
  return rc;
}
