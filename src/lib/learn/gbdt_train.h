/* Private to the native engine's training files (learn/gbdt.c, gbdt_hist.c, gbdt_split.c), not part
 * of the library's interface: a tree's trainer and the three parts of growing a tree:
 *  - gbdt_hist.c: histograms (the row passes, subtraction, the shared root passes of the class trees and
 *    of several heads) and the crew of threads inside one model that splits them by column;
 *  - gbdt_split.c: the split search (XGBoost's enumeration of cuts, a candidate mask in SSE2/AVX2);
 *  - gbdt.c: tree growth, boosting rounds and heads, which call the two others per node, per tree root
 *    or per round (and once per training for the crew and the mask).
 * Every function here computes the same numbers in the same order whatever the thread count. */
#ifndef TML_GBDT_TRAIN_H
#define TML_GBDT_TRAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn/gbdt_impl.h"
#include "trademl/xgb.h"

/* ---- Gradients and histogram slots ---- */
struct ghpair {
  float g, h;
};
/* gbdt_grad.c writes a class's pairs as a run of floats (g, h, g, h, ...) */
_Static_assert(sizeof(struct ghpair) == 2 * sizeof(float) && offsetof(struct ghpair, h) == sizeof(float),
               "a gradient pair is two adjacent floats");
/* A histogram slot: the (g, h) sums of one bin of one column. Double slots are XGBoost's
 * GradientPairPrecise (training.native_histogram double); float slots are half the size, so a
 * node's histogram (ncols x 65 slots) is 36 KB instead of 73 and each (row, column) update moves 8
 * bytes instead of 16. Split search and node sums are double either way. */
struct hbin {
  double g, h;
};
struct hbinf {
  float g, h;
};

struct leaf_rows; /* gbdt.c: a tree's leaves with their row ranges */
struct grow_node; /* below: a node being grown */
struct crew;
struct cut_mask_in;
typedef bool (*cut_mask_fn)(const double *GL, const double *HL, unsigned n, const struct cut_mask_in *in,
                            uint64_t *cand);

struct trainer {
  const struct tml_gbdt_bins *bins;
  const struct tml_xgb_params *p;
  unsigned flags;
  size_t stride;        /* histogram slots per column = max_bin + 1 */
  size_t hist_len;      /* ncols * stride */
  bool fhist;           /* float slots (struct hbinf), else double (struct hbin) */
  size_t slot_size;     /* sizeof either */
  uint32_t *rows;       /* sampled training rows of the current tree, partitioned per node */
  uint32_t *tmp;        /* partition scratch */
  uint32_t *feats;      /* columns of the current tree (column subsample), ascending: the lane's, borrowed */
  size_t nfeats;
  void **pool;          /* free histograms (hist_len slots of slot_size bytes) */
  size_t npool, cap_pool, nhist; /* nhist: histograms allocated (the pool has room for all of them) */
  struct grow_node *queue;   /* nodes waiting for expansion: a binary heap in XGBoost's driver order */
  size_t nqueue, cap_queue;
  struct grow_node *batch;   /* the nodes expanded together (one level of up to DRIVER_BATCH, or one node) */
  size_t cap_batch;
  struct leaf_rows *leaves; /* leaves of the current tree with their row ranges */
  size_t nleaves, cap_leaves;
  struct crew *crew;    /* threads inside the model (p->nthread), or NULL */
  void *borrowed;       /* a histogram of another slot's pool (a helper's tree's root): not put in this pool */
  cut_mask_fn cut_mask; /* the split search's candidate mask (tml__gbdt_cut_mask_pick) */
  bool root_avx2;       /* the shared root pass may use AVX2 */
};

/* A free histogram from t's pool, or a new one (hist_len slots, uninitialised); NULL when out of
 * memory. Every histogram handed out has room in the pool to come back. */
void *tml__gbdt_hist_get(struct trainer *t);
/* Back to t's pool (NULL and t->borrowed are passed over). */
void tml__gbdt_hist_put(struct trainer *t, void *h);

/* ---- Threads inside one model (p->nthread > 1) ----
 * A crew of nthread - 1 workers plus the calling thread runs one job at a time, each thread one part
 * of the tree columns (part i of n: feats[i * nfeats / n, (i + 1) * nfeats / n)). Only column-local
 * work is split this way (histogram builds and subtractions), so every number a model holds is
 * computed by the same operations in the same order whatever the thread count: the model bytes do
 * not depend on it (tested). Small nodes stay on the calling thread (a hand-off costs more than
 * their histogram). */
#define CREW_MAX 64

struct crew_member {
  struct crew *c;
  int part;
};
struct crew {
  int n; /* threads on a job, the caller included (1 = no workers) */
  pthread_t tid[CREW_MAX];
  struct crew_member member[CREW_MAX];
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  uint64_t gen;
  int pending;
  bool stop, inited;
  void (*fn)(void *arg, int part, int nparts);
  void *arg;
};

/* Starts up to nthread - 1 workers; c->n is 1 + those started (fewer when the system refuses
 * threads: the models are the same, only slower). */
void tml__gbdt_crew_start(struct crew *c, int nthread);
void tml__gbdt_crew_stop(struct crew *c);

/* The histograms a node's children need: `small` from its rows, and `large` (the sibling; NULL at
 * the root) as the parent's minus small's, or from its own rows without subtraction. */
struct hist_job {
  const struct trainer *t;
  const struct ghpair *gh;
  size_t sb, se, lb, le;
  const void *parent;
  void *small, *large;
};

/* Builds j's histograms, on t's crew by column parts when the rows pay for the hand-off. */
void tml__gbdt_hist_job_run(const struct trainer *t, struct hist_job *j);

/* ---- The shared root pass of the class trees ----
 * With every training row and column in every tree (subsample 1, colsample_bytree 1), the K <= 4
 * class trees of a round start from the same rows: their root histograms are built in one pass whose
 * slot (column, bin) holds the four classes' (g, h) side by side (64 bytes of doubles, one cache
 * line, or 32 bytes of floats), so each (row, column) is one line touched instead of K (the
 * read-modify-write of a slot is what bounds a histogram pass). Each class's sums are the same
 * additions in the same row order as its own pass: the class histograms are then copied out, and
 * the trees are the same bit for bit (tested). */
#define SHARED_ROOT_MAX 4

struct root_job {
  const struct trainer *t;
  const float *ghr;    /* per training row: (g, h) of classes 0..3 as floats, missing classes 0 */
  size_t row0, nrows;  /* training rows [row0, row0 + nrows) of the binned matrix */
  void *fused;         /* hist_len slots of 8 doubles or 8 floats (t->fhist; 64-byte aligned) */
};

/* The root histograms of classes 0..K-1 (into out[k], hist_len slots each) from one pass over the
 * rows, on j->t's crew. */
void tml__gbdt_shared_root_build(struct root_job *j, int K, void *const *out);

/* ---- The root pass of several heads (tml_gbdt_train_binned_heads) ----
 * The heads' root histograms from one pass over the rows: the slot (column, bin) holds every
 * joining head's (g, h) pairs as vectors of four pairs (eight floats, one AVX2 addition each): a
 * class head's classes (2..4) at the start of a vector, a regression head's pair in a free place of
 * one (after a head of 2 or 3 classes, or beside other regression heads). Each pair's sums are the same
 * float additions in the same row order as the head's own root pass (the shared root pass, or a
 * regression head's histogram of its rows), so the heads grow the same trees. The columns go in
 * blocks of MR_BLOCK_COLS so that a block's slots stay in the L2 cache (three vectors per slot are
 * 0.45-0.47x the time of five heads' own passes in three blocks, 0.52-0.55x in one: see
 * docs/validation.md). Float histograms only. */
#define MR_MAX_VECS 8

struct mr_vec {
  const float *cls;     /* a class head's rows (8 floats each: its ghr), or NULL */
  const float *reg[4];  /* regression heads' (g, h) per training row */
  int reg_at[4];        /* their pair in the vector */
  int32_t reg_mask[4][8]; /* the same as lanes: -1 in the pair's two floats, else 0 */
  int nreg;
};

struct multi_root {
  const struct trainer *t; /* bins, stride, slot 0 of any joining head */
  size_t row0, nrows, nvec; /* training rows [row0, row0 + nrows) */
  bool avx2;
  struct mr_vec vec[MR_MAX_VECS];
  float *fused;            /* hist_len slots of nvec * 8 floats, 64-byte aligned */
};

/* Fills mr->fused (every joining head's slots) in one pass over the rows, on mr->t's crew. */
void tml__gbdt_multi_root_build(struct multi_root *mr);

/* ---- The split search ---- */
struct split {
  double gain;
  int32_t feature;
  unsigned bin;     /* rows with code <= bin go left */
  bool default_left;
  double GL, HL;
};

/* A node being grown: its rows are rows[begin, end). */
struct grow_node {
  uint32_t id;          /* index into the model's node array */
  int depth;
  size_t begin, end;
  double G, H;
  void *hist;           /* (max_bin + 1) slots per column (struct hbin or hbinf), NULL when not needed */
  struct split s;       /* its best split (feature -1: none) */
  float loss;           /* s.gain as float: XGBoost's loss_chg, the order of loss-guided growth */
};

/* The widest candidate mask this processor runs, or a narrower one the flags ask for (every choice
 * passes the winning cuts to the same exact check, so models do not depend on it: tested). */
cut_mask_fn tml__gbdt_cut_mask_pick(unsigned flags);
/* n's best split over the tree's columns (t->feats) from n->hist, XGBoost's enumeration:
 * best->feature -1 when no cut has a positive loss change. */
void tml__gbdt_split_find(const struct trainer *t, const struct grow_node *n, struct split *best);

#endif
