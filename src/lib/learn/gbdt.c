/* The native histogram GBDT engine (include/trademl/gbdt.h, docs/training.md "The native engine").
 *
 * The algorithm is XGBoost's `hist` tree method with depth-wise growth, restricted to what trademl
 * asks of it, so a model trained here and one trained by libxgboost on equal parameters agree
 * (tests/unit/learn/test_gbdt.c measures it):
 *  - bins: cut points per column from the training rows only, placed by XGBoost 1.7's quantile
 *    sketch (re-implemented below), uint8 codes, one matrix per fold shared by every head;
 *  - the float arithmetic of the softmax, the leaves and the validation metric is XGBoost's, in the
 *    same order, so with equal parameters and double histograms both engines give the same
 *    predictions bit for bit;
 *  - per node: a histogram of gradient/hessian sums per bin per column, rows visited in ascending
 *    order, so sums are deterministic; siblings by subtraction (the smaller child is built, the
 *    larger is parent - smaller). The slots are floats by default (training.native_histogram
 *    float: half the bytes, the histogram passes ~1.4x faster; each column's cuts scored against
 *    its own float total and children's sums taken exactly from their rows (see scan_cuts and
 *    grow_tree); near-tie splits may go otherwise than XGBoost's) or doubles (double: XGBoost
 *    1.7's own accumulators, the same trees bit for bit);
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
 * subtractions) by column: the result never depends on the thread count. */
#include "trademl/gbdt.h"
#include "trademl/numfmt.h"
#include "util/common.h"

#include <float.h>
#include <jansson.h>
#include <pthread.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h> /* AVX2 paths chosen at run time (target attributes) */
#endif

#include "trademl/buf.h"
#include "trademl/error.h"
#include "trademl/fsutil.h"
#include "trademl/mem.h"

#define MAX_CLASSES 255
#define RT_EPS 1e-6      /* XGBoost's kRtEps: the smallest loss change that makes a split */
#define HESS_EPS 1e-16f  /* multi:softprob's hessian floor */
#define PROB_EPS 1e-16   /* mlogloss clip, as XGBoost's */
#define COL_BLOCK 16     /* columns gathered per pass over the rows when fitting cuts */

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
/* Binned matrix */

struct tml_gbdt_bins {
  size_t nrows, ncols;
  int max_bin;       /* missing code; histograms have max_bin + 1 slots per column */
  uint8_t *code;     /* nrows x ncols: histograms read whole rows */
  uint8_t *code_col; /* ncols x nrows, the same codes by column: partitions read one column */
  float *cuts;       /* ncols x (max_bin - 1) slots */
  uint16_t *ncuts;   /* per column */
};

/* Bin of a finite value: number of cuts <= x (upper bound), branch-free (a conditional move per
 * level: binning every row of a fold is ~4x faster than with a branchy binary search). */
static inline unsigned bin_of(const float *cuts, unsigned ncuts, float x) {
  if (ncuts == 0)
    return 0;
  const float *base = cuts;
  unsigned n = ncuts;
  while (n > 1) {
    unsigned half = n / 2;
    base += (size_t)(base[half - 1] <= x) * half; /* arithmetic, so the compiler emits no branch */
    n -= half;
  }
  return (unsigned)(base - cuts) + (*base <= x ? 1u : 0u);
}

/* Cut points: XGBoost 1.7's weighted-quantile sketch (src/common/quantile.h, quantile.cc: WQSummary,
 * WQuantileSketch, HostSketchContainer), re-implemented in C with the same float arithmetic and the
 * same order of operations, so both engines cut every column at the same values and grow the same
 * trees from the same data. Weights are all 1 (no sample weights). Per column: values pushed in row
 * order (consecutive equal values merged) into a queue of 2 * limit_size entries; a full queue is
 * sorted, when the next value is not the last queued one, into a summary and pushed up a ladder of levels (prune to limit_size, combine, carry);
 * at the end the levels are combined into one summary, pruned to min(n, 8 * max_bin) entries, then
 * to max_bin + 1, whose values 1 .. max_bin - 1 are the cuts. */

struct sk_entry {
  float rmin, rmax, wmin, value;
};

struct sk_summary {
  struct sk_entry *data;
  size_t size;
};

static inline float sk_rmin_next(const struct sk_entry *e) { return e->rmin + e->wmin; }
static inline float sk_rmax_prev(const struct sk_entry *e) { return e->rmax - e->wmin; }

static void sk_copy(struct sk_summary *dst, const struct sk_summary *src) {
  if (src->size)
    memmove(dst->data, src->data, src->size * sizeof *src->data);
  dst->size = src->size;
}

/* WQSummary::SetPrune: dst (capacity >= maxsize, distinct from src) keeps at most maxsize entries
 * of src at evenly spaced ranks. */
static void sk_prune(struct sk_summary *dst, const struct sk_summary *src, size_t maxsize) {
  if (src->size <= maxsize) {
    sk_copy(dst, src);
    return;
  }
  const struct sk_entry *s = src->data;
  const float begin = s[0].rmax, range = s[src->size - 1].rmin - s[0].rmax;
  const size_t n = maxsize - 1;
  dst->data[0] = s[0];
  dst->size = 1;
  size_t i = 1, lastidx = 0;
  for (size_t k = 1; k < n; k++) {
    float dx2 = 2.0f * (((float)k * range) / (float)n + begin);
    while (i < src->size - 1 && dx2 >= s[i + 1].rmax + s[i + 1].rmin)
      i++;
    if (i == src->size - 1)
      break;
    if (dx2 < sk_rmin_next(&s[i]) + sk_rmax_prev(&s[i + 1])) {
      if (i != lastidx) {
        dst->data[dst->size++] = s[i];
        lastidx = i;
      }
    } else if (i + 1 != lastidx) {
      dst->data[dst->size++] = s[i + 1];
      lastidx = i + 1;
    }
  }
  if (lastidx != src->size - 1)
    dst->data[dst->size++] = s[src->size - 1];
}

/* WQSummary::SetCombine (+ FixError): dst (capacity >= sa + sb, distinct from both) = merge. */
static void sk_combine(struct sk_summary *dst, const struct sk_summary *sa, const struct sk_summary *sb) {
  if (sa->size == 0) {
    sk_copy(dst, sb);
    return;
  }
  if (sb->size == 0) {
    sk_copy(dst, sa);
    return;
  }
  const struct sk_entry *a = sa->data, *a_end = sa->data + sa->size;
  const struct sk_entry *b = sb->data, *b_end = sb->data + sb->size;
  float aprev_rmin = 0.0f, bprev_rmin = 0.0f;
  struct sk_entry *d = dst->data;
  while (a != a_end && b != b_end) {
    if (a->value == b->value) {
      *d++ = (struct sk_entry){a->rmin + b->rmin, a->rmax + b->rmax, a->wmin + b->wmin, a->value};
      aprev_rmin = sk_rmin_next(a);
      bprev_rmin = sk_rmin_next(b);
      a++;
      b++;
    } else if (a->value < b->value) {
      *d++ = (struct sk_entry){a->rmin + bprev_rmin, a->rmax + sk_rmax_prev(b), a->wmin, a->value};
      aprev_rmin = sk_rmin_next(a);
      a++;
    } else {
      *d++ = (struct sk_entry){b->rmin + aprev_rmin, b->rmax + sk_rmax_prev(a), b->wmin, b->value};
      bprev_rmin = sk_rmin_next(b);
      b++;
    }
  }
  if (a != a_end) {
    float brmax = (b_end - 1)->rmax;
    for (; a != a_end; a++)
      *d++ = (struct sk_entry){a->rmin + bprev_rmin, a->rmax + brmax, a->wmin, a->value};
  }
  if (b != b_end) {
    float armax = (a_end - 1)->rmax;
    for (; b != b_end; b++)
      *d++ = (struct sk_entry){b->rmin + aprev_rmin, b->rmax + armax, b->wmin, b->value};
  }
  dst->size = (size_t)(d - dst->data);
  float prev_rmin = 0.0f, prev_rmax = 0.0f; /* FixError */
  for (size_t i = 0; i < dst->size; i++) {
    struct sk_entry *e = &dst->data[i];
    if (e->rmin < prev_rmin)
      e->rmin = prev_rmin;
    else
      prev_rmin = e->rmin;
    if (e->rmax < prev_rmax)
      e->rmax = prev_rmax;
    float next = sk_rmin_next(e);
    if (e->rmax < next)
      e->rmax = next;
    prev_rmax = e->rmax;
  }
}

/* One column's sketch. Scratch buffers are sized by sketch_init and reused across columns. */
struct sketch {
  size_t limit, nlevel_used;  /* limit_size; levels 1..nlevel_used-1 in use (level 0 is scratch) */
  size_t cap_levels;
  struct sk_summary *level;   /* cap_levels summaries, limit entries each, in `space` */
  struct sk_entry *space;
  struct sk_summary temp;     /* 2 * limit entries */
  struct sk_summary out;      /* 2 * limit entries */
  uint64_t *queue, *qtmp;     /* queue entries: order-preserving key << 32 | weight count */
  size_t qtail;
};

/* WQuantileSketch::LimitSizeLevel with XGBoost's eps = 1 / (min(max_bin, n) * 8) (as a float). */
static size_t sketch_limit(size_t maxn, int max_bin, size_t *nlevel_out) {
  size_t nb = (size_t)max_bin < maxn ? (size_t)max_bin : maxn;
  if (nb < 1)
    nb = 1;
  double eps = 1.0 / (double)((float)nb * 8.0f);
  size_t nlevel = 1, limit;
  for (;;) {
    limit = (size_t)ceil((double)nlevel / eps) + 1;
    if (limit > maxn)
      limit = maxn;
    if (((size_t)1 << nlevel) * limit >= maxn)
      break;
    nlevel++;
  }
  *nlevel_out = nlevel;
  return limit;
}

static void sketch_free(struct sketch *s) {
  free(s->level);
  free(s->space);
  free(s->temp.data);
  free(s->out.data);
  free(s->queue);
  free(s->qtmp);
  memset(s, 0, sizeof *s);
}

/* Buffers for columns of up to maxn values. 0 or TML_ENOMEM. */
static int sketch_alloc(struct sketch *s, size_t maxn, int max_bin) {
  size_t nlevel = 0, limit = sketch_limit(maxn, max_bin, &nlevel);
  if (limit < 1)
    limit = 1;
  s->cap_levels = nlevel + 2 + 64; /* levels only grow while 2^l * limit < pushed values */
  s->level = calloc(s->cap_levels, sizeof *s->level);
  s->space = malloc(s->cap_levels * limit * sizeof *s->space);
  s->temp.data = malloc(2 * limit * sizeof *s->temp.data);
  s->out.data = malloc(2 * limit * sizeof *s->out.data);
  s->queue = malloc(2 * limit * sizeof *s->queue);
  s->qtmp = malloc(2 * limit * sizeof *s->qtmp);
  if (!s->level || !s->space || !s->temp.data || !s->out.data || !s->queue || !s->qtmp)
    return TML_ENOMEM;
  return 0;
}

static inline uint32_t float_key(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
static inline float key_float(uint32_t k) {
  uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}

/* Queue::MakeSummary: sort the queue by value, merge equal values, ranks from the weights. The
 * queue's order among equal values does not matter (their weights are summed, all integers). */
static void sketch_make_summary(struct sketch *s, struct sk_summary *out) {
  uint64_t *a = s->queue, *t = s->qtmp;
  size_t n = s->qtail;
  for (int shift = 32; shift < 64; shift += 8) { /* LSD radix on the key half */
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++)
      count[((a[i] >> shift) & 0xFFu) + 1]++;
    for (int b = 0; b < 256; b++)
      count[b + 1] += count[b];
    for (size_t i = 0; i < n; i++)
      t[count[(a[i] >> shift) & 0xFFu]++] = a[i];
    uint64_t *sw = a;
    a = t;
    t = sw;
  } /* 4 passes: sorted back in s->queue */
  out->size = 0;
  float wsum = 0.0f;
  for (size_t i = 0; i < n;) {
    uint32_t key = (uint32_t)(a[i] >> 32);
    float w = (float)(uint32_t)a[i];
    size_t j = i + 1;
    for (; j < n && (uint32_t)(a[j] >> 32) == key; j++)
      w += (float)(uint32_t)a[j];
    out->data[out->size++] = (struct sk_entry){wsum, wsum + w, w, key_float(key)};
    wsum += w;
    i = j;
  }
}

/* QuantileSketchTemplate::PushTemp: carry s->temp up the levels. */
static void sketch_push_temp(struct sketch *s) {
  for (size_t l = 1;; l++) {
    if (l + 1 > s->nlevel_used)
      s->nlevel_used = l + 1;
    struct sk_summary *lv = &s->level[l], *l0 = &s->level[0];
    if (lv->size == 0) {
      sk_prune(lv, &s->temp, s->limit);
      break;
    }
    sk_prune(l0, &s->temp, s->limit);
    sk_combine(&s->temp, l0, lv);
    if (s->temp.size > s->limit) {
      lv->size = 0;
    } else {
      sk_copy(lv, &s->temp);
      break;
    }
  }
}

/* The cut points of one column from its n finite values in row order (XGBoost's per-feature
 * sketch, AllReduce prune and MakeCuts). Writes at most max_bin - 1 ascending cuts; returns their
 * number. s must have been allocated for at least n values. */
static unsigned sketch_cuts(struct sketch *s, const float *v, size_t n, int max_bin, float *cuts) {
  if (n == 0)
    return 0;
  size_t nlevel = 0;
  s->limit = sketch_limit(n, max_bin, &nlevel);
  for (size_t l = 0; l < s->cap_levels; l++)
    s->level[l] = (struct sk_summary){s->space + l * s->limit, 0};
  s->nlevel_used = 0;
  s->qtail = 0;
  size_t cap = 2 * s->limit;
  for (size_t i = 0; i < n; i++) {
    uint64_t key = (uint64_t)float_key(v[i]) << 32;
    /* A value equal to the last queued one adds to that entry's weight, even in a full queue:
     * libxgboost 1.7's WQuantileSketch::Push only sorts a full queue into the levels when the new
     * value needs an entry of its own (a run of equal values straddling the boundary stays one
     * entry). Flushing on every full queue moves the cuts of step-like columns (higher-timeframe
     * features) once a column has more than 2 * limit_size runs (~16k rows at max_bin 64). */
    if (s->qtail > 0 && (s->queue[s->qtail - 1] >> 32) == (key >> 32)) {
      s->queue[s->qtail - 1]++;
      continue;
    }
    if (s->qtail == cap) {
      sketch_make_summary(s, &s->temp);
      s->qtail = 0;
      sketch_push_temp(s);
    }
    s->queue[s->qtail++] = key | 1u;
  }
  /* GetSummary */
  struct sk_summary *out = &s->out;
  sketch_make_summary(s, out);
  if (s->nlevel_used) {
    struct sk_summary *l0 = &s->level[0];
    sk_prune(l0, out, s->limit);
    for (size_t l = 1; l < s->nlevel_used; l++) {
      if (s->level[l].size == 0)
        continue;
      if (l0->size == 0) {
        sk_copy(l0, &s->level[l]);
      } else {
        sk_combine(out, l0, &s->level[l]);
        sk_prune(l0, out, s->limit);
      }
    }
    sk_copy(out, l0);
  } else if (out->size > s->limit) {
    sk_prune(&s->temp, out, s->limit);
    sk_copy(out, &s->temp);
  }
  /* AllReduce (one worker): prune to min(n, 8 * max_bin); MakeCuts: prune to max_num_bins + 1. */
  size_t inter = n < (size_t)max_bin * 8 ? n : (size_t)max_bin * 8;
  sk_prune(&s->temp, out, inter);
  size_t max_num_bins = inter < (size_t)max_bin ? inter : (size_t)max_bin;
  sk_prune(out, &s->temp, max_num_bins + 1);
  size_t required = out->size < max_num_bins ? out->size : max_num_bins;
  unsigned k = 0;
  for (size_t i = 1; i < required; i++) {
    float c = out->data[i].value;
    if (i == 1 || c > cuts[k - 1])
      cuts[k++] = c;
  }
  return k;
}

int tml_gbdt_bins_build(const float *X, size_t nrows, size_t ncols, struct tml_range fit, int max_bin,
                        struct tml_gbdt_bins **out, struct tml_error *err) {
  *out = NULL;
  if (!X || ncols == 0 || nrows == 0)
    return tml_error_set(err, TML_EINVAL, "native engine: no feature matrix given");
  if (max_bin < 2 || max_bin > TML_GBDT_MAX_BIN)
    return tml_error_set(err, TML_EINVAL, "native engine: max_bin %d is out of range 2..%d", max_bin,
                         TML_GBDT_MAX_BIN);
  if (fit.end <= fit.begin || fit.end > nrows)
    return tml_error_set(err, TML_EINVAL, "native engine: bin rows [%zu, %zu) are empty or outside the %zu rows",
                         fit.begin, fit.end, nrows);
  size_t nfit = fit.end - fit.begin, slots = (size_t)max_bin - 1;
  struct tml_gbdt_bins *b = calloc(1, sizeof *b);
  float *vals = malloc(COL_BLOCK * nfit * sizeof *vals);
  struct sketch sk = {0};
  int rc = 0;
  if (!b || !vals || sketch_alloc(&sk, nfit, max_bin))
    goto oom;
  b->nrows = nrows;
  b->ncols = ncols;
  b->max_bin = max_bin;
  b->code = malloc(nrows * ncols);
  b->code_col = malloc(nrows * ncols);
  b->cuts = malloc(ncols * slots * sizeof *b->cuts);
  b->ncuts = calloc(ncols, sizeof *b->ncuts);
  if (!b->code || !b->code_col || !b->cuts || !b->ncuts)
    goto oom;
  size_t nval[COL_BLOCK];
  for (size_t j = 0; j < ncols; j++) {
    size_t jb = j % COL_BLOCK;
    if (jb == 0) { /* gather the block's columns in one pass over the rows (row-major X) */
      size_t w = TML_MIN((size_t)COL_BLOCK, ncols - j);
      memset(nval, 0, sizeof nval);
      for (size_t r = fit.begin; r < fit.end; r++)
        for (size_t q = 0; q < w; q++) {
          float v = X[r * ncols + j + q];
          if (isfinite(v))
            vals[q * nfit + nval[q]++] = v + 0.0f; /* -0 -> +0: one value, as XGBoost compares them */
        }
    }
    size_t n = nval[jb];
    float *vals_j = vals + jb * nfit;
    float *cuts = b->cuts + j * slots;
    unsigned k = sketch_cuts(&sk, vals_j, n, max_bin, cuts);
    b->ncuts[j] = (uint16_t)k;
  }
  for (size_t r = 0; r < nrows; r++) {
    const float *x = X + r * ncols;
    uint8_t *c = b->code + r * ncols;
    for (size_t j = 0; j < ncols; j++)
      c[j] = isfinite(x[j]) ? (uint8_t)bin_of(b->cuts + j * slots, b->ncuts[j], x[j]) : (uint8_t)max_bin;
  }
  for (size_t r0 = 0; r0 < nrows; r0 += 64) /* transpose in tiles of 64 rows */
    for (size_t j = 0; j < ncols; j++)
      for (size_t r = r0; r < TML_MIN(r0 + 64, nrows); r++)
        b->code_col[j * nrows + r] = b->code[r * ncols + j];
  free(vals);
  sketch_free(&sk);
  *out = b;
  return 0;
oom:
  rc = tml_error_set(err, TML_ENOMEM, "native engine: out of memory binning %zu x %zu", nrows, ncols);
  free(vals);
  sketch_free(&sk);
  tml_gbdt_bins_free(b);
  return rc;
}

void tml_gbdt_bins_free(struct tml_gbdt_bins *b) {
  if (!b)
    return;
  free(b->code);
  free(b->code_col);
  free(b->cuts);
  free(b->ncuts);
  free(b);
}

size_t tml_gbdt_bins_nrows(const struct tml_gbdt_bins *b) { return b->nrows; }

const float *tml_gbdt_bins_cuts(const struct tml_gbdt_bins *b, size_t j, size_t *ncuts) {
  *ncuts = b->ncuts[j];
  return b->cuts + j * (size_t)(b->max_bin - 1);
}

unsigned tml_gbdt_bins_at(const struct tml_gbdt_bins *b, size_t r, size_t j) { return b->code[r * b->ncols + j]; }

void tml_gbdt_hist_pass(const struct tml_gbdt_bins *b, const float *g, const float *h, struct tml_range r,
                        double *hist) {
  size_t ncols = b->ncols, stride = (size_t)b->max_bin + 1;
  memset(hist, 0, ncols * stride * 2 * sizeof *hist);
  for (size_t i = r.begin; i < r.end; i++) {
    double gi = (double)g[i], hi = (double)h[i];
    const uint8_t *c = b->code + i * ncols;
    double *hp = hist;
    for (size_t j = 0; j < ncols; j++, hp += 2 * stride) {
      hp[2 * c[j]] += gi;
      hp[2 * c[j] + 1] += hi;
    }
  }
}

/* ---------------------------------------------------------------------------------------------- */
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
};

static int model_reserve(struct tml_gbdt_model *m, size_t more_nodes) {
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
  free(m);
}

int tml_gbdt_best_iteration(const struct tml_gbdt_model *m) { return m->best_iteration; }
double tml_gbdt_best_score(const struct tml_gbdt_model *m) { return m->best_score; }
int tml_gbdt_nclass(const struct tml_gbdt_model *m) { return m->nclass; }
size_t tml_gbdt_ncols(const struct tml_gbdt_model *m) { return m->ncols; }
size_t tml_gbdt_ntrees(const struct tml_gbdt_model *m) { return m->ntrees; }

/* ---------------------------------------------------------------------------------------------- */
/* Prediction */

static inline float tree_value(const struct node *nodes, uint32_t root, const float *x) {
  const struct node *n = nodes + root;
  while (n->feature >= 0) {
    float v = x[n->feature];
    int32_t l = n->left & CHILD_MASK;
    bool left = isfinite(v) ? v < n->value : (n->left & DEFAULT_LEFT) != 0;
    n = nodes + l + (left ? 0 : 1);
  }
  return n->value;
}

static inline const struct node *tree_step(const struct node *nodes, const struct node *n, const float *x) {
  float v = x[n->feature];
  bool left = isfinite(v) ? v < n->value : (n->left & DEFAULT_LEFT) != 0;
  return nodes + (n->left & CHILD_MASK) + (left ? 0 : 1);
}

/* Eight trees walked side by side: eight independent chains of loads keep the core busy while one
 * waits for memory (a model of a few hundred trees does not fit the first-level cache). Leaf values
 * are added in tree order, exactly as one tree at a time would. */
void tml_gbdt_predict_margin(const struct tml_gbdt_model *m, const float *x, float *margin) {
  size_t K = m->nclass > 0 ? (size_t)m->nclass : 1;
  for (size_t k = 0; k < K; k++)
    margin[k] = m->base_score;
  const struct node *nodes = m->nodes;
  const uint32_t *ts = m->tree_start;
  size_t t = 0;
#define STEP(p) ((p)->feature >= 0 ? ((p) = tree_step(nodes, (p), x), 1) : 0)
  for (; t + 8 <= m->ntrees; t += 8) {
    const struct node *a = nodes + ts[t], *b = nodes + ts[t + 1], *c = nodes + ts[t + 2], *d = nodes + ts[t + 3];
    const struct node *e = nodes + ts[t + 4], *f = nodes + ts[t + 5], *g = nodes + ts[t + 6], *h = nodes + ts[t + 7];
    while (STEP(a) | STEP(b) | STEP(c) | STEP(d) | STEP(e) | STEP(f) | STEP(g) | STEP(h))
      ;
    margin[t % K] += a->value;
    margin[(t + 1) % K] += b->value;
    margin[(t + 2) % K] += c->value;
    margin[(t + 3) % K] += d->value;
    margin[(t + 4) % K] += e->value;
    margin[(t + 5) % K] += f->value;
    margin[(t + 6) % K] += g->value;
    margin[(t + 7) % K] += h->value;
  }
#undef STEP
  for (; t < m->ntrees; t++)
    margin[t % K] += tree_value(nodes, ts[t], x);
}

static void softmax(float *v, int K) { /* in place, as XGBoost's common::Softmax */
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
      softmax(o, K);
  }
}

void tml_gbdt_softmax_grad(const float *margin, int nclass, int label, float *g, float *h) {
  float p[MAX_CLASSES];
  for (int k = 0; k < nclass; k++)
    p[k] = margin[k];
  softmax(p, nclass);
  for (int k = 0; k < nclass; k++) {
    g[k] = k == label ? p[k] - 1.0f : p[k];
    float hh = 2.0f * p[k] * (1.0f - p[k]);
    h[k] = hh > HESS_EPS ? hh : HESS_EPS;
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Training */

struct ghpair {
  float g, h;
};
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
  uint32_t *feats;      /* columns of the current tree (column subsample), ascending */
  size_t nfeats;
  void **pool;          /* free histograms (hist_len slots of slot_size bytes) */
  size_t npool, cap_pool, nhist; /* nhist: histograms allocated (the pool has room for all of them) */
  struct grow *queue;   /* nodes waiting for expansion: a binary heap in XGBoost's driver order */
  size_t nqueue, cap_queue;
  struct grow *batch;   /* the nodes expanded together (one level of up to DRIVER_BATCH, or one node) */
  size_t cap_batch;
  struct leaf_rows *leaves; /* leaves of the current tree with their row ranges */
  size_t nleaves, cap_leaves;
  struct crew *crew;    /* threads inside the model (p->nthread) */
  cut_mask_fn cut_mask; /* the split search's candidate mask (cut_mask_pick) */
  bool root_avx2;       /* the shared root pass may use AVX2 */
};

static void *hist_get(struct trainer *t) {
  if (t->npool)
    return t->pool[--t->npool];
  /* keep room in the pool for every histogram handed out */
  void **a = tml_grow(t->pool, &t->cap_pool, t->nhist, sizeof *a, 64);
  if (!a)
    return NULL;
  t->pool = a;
  void *h = malloc(t->hist_len * t->slot_size);
  if (h)
    t->nhist++;
  return h;
}

static void hist_put(struct trainer *t, void *h) {
  if (!h)
    return;
  t->pool[t->npool++] = h; /* npool <= nhist <= cap_pool */
}

/* Gradient sums of rows[begin, end) per bin of every tree column. The floor of the engine. */
/* The rows of hist_build with every column: four columns per step, so with a constant stride (the
 * default max_bin 64) each update is a byte load, a shift and one load-add-store at a constant
 * offset (no per-column pointer arithmetic): ~5 instead of ~9 instructions per (row, column). */
_Static_assert(sizeof(struct hbin) == 16, "a double histogram slot is two doubles");
_Static_assert(sizeof(struct hbinf) == 8 && sizeof(struct ghpair) == 8, "a float slot is a (g, h) pair of floats");
#define HIST_PREFETCH 8 /* rows ahead */
/* One row loop for both slot types: ROW_SETUP loads the row's (g, h) once, ADD(slot) adds it to a
 * slot, SHIFT = log2 of the slot size (the slot address is hp + (code << SHIFT) + a constant). */
#define HIST_ROWS_ALL(NAME, T, SHIFT, ROW_SETUP, ADD)                                                                  \
  static inline void NAME(const uint32_t *rows, size_t begin, size_t end, const uint8_t *code, size_t row_len,         \
                          size_t ncols, const struct ghpair *gh, T *hist, size_t stride) {                             \
    for (size_t i = begin; i < end; i++) {                                                                             \
      uint32_t r = rows[i];                                                                                            \
      const uint8_t *c = code + (size_t)r * row_len;                                                                   \
      if (i + HIST_PREFETCH < end) { /* a node's rows are gapped: fetch a later row's codes ahead */                  \
        const uint8_t *f = code + (size_t)rows[i + HIST_PREFETCH] * row_len;                                           \
        __builtin_prefetch(f);                                                                                         \
        __builtin_prefetch(f + ncols - 1);                                                                             \
      }                                                                                                                \
      T *hp = hist;                                                                                                    \
      size_t j = 0;                                                                                                    \
      ROW_SETUP;                                                                                                       \
      for (; j + 4 <= ncols; j += 4, hp += 4 * stride) {                                                               \
        char *base = (char *)hp;                                                                                       \
        ADD(*(T *)(void *)(base + ((size_t)c[j] << SHIFT)));                                                           \
        ADD(*(T *)(void *)(base + ((size_t)c[j + 1] << SHIFT) + stride * sizeof(T)));                                  \
        ADD(*(T *)(void *)(base + ((size_t)c[j + 2] << SHIFT) + 2 * stride * sizeof(T)));                              \
        ADD(*(T *)(void *)(base + ((size_t)c[j + 3] << SHIFT) + 3 * stride * sizeof(T)));                              \
      }                                                                                                                \
      for (; j < ncols; j++, hp += stride)                                                                             \
        ADD(hp[c[j]]);                                                                                                 \
    }                                                                                                                  \
  }
#ifdef __SSE2__
/* double slots: the (g, h) pair as one 128-bit add, the same two IEEE additions, half the
 * instructions */
#define ROW_D __m128d v = _mm_set_pd((double)gh[r].h, (double)gh[r].g)
#define ADD_D(slot)                                                                                                    \
  do {                                                                                                                 \
    double *q_ = &(slot).g;                                                                                            \
    _mm_storeu_pd(q_, _mm_add_pd(_mm_loadu_pd(q_), v));                                                                \
  } while (0)
/* float slots: the row's (g, h) floats added to the slot's as one 8-byte pair (the same two IEEE
 * single additions), loaded and stored through _mm_loadl_epi64 / _mm_storel_epi64, whose pointers
 * may alias (the floats are read as one 64-bit lane, never as a double object) */
#define ROW_F __m128 v = _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)&gh[r]))
#define ADD_F(slot)                                                                                                    \
  do {                                                                                                                 \
    __m128i *q_ = (__m128i *)(void *)&(slot);                                                                          \
    _mm_storel_epi64(q_, _mm_castps_si128(_mm_add_ps(_mm_castsi128_ps(_mm_loadl_epi64(q_)), v)));                      \
  } while (0)
#else
#define ROW_D double g = gh[r].g, h = gh[r].h
#define ROW_F float g = gh[r].g, h = gh[r].h
#define ADD_D(slot)                                                                                                    \
  do {                                                                                                                 \
    (slot).g += g;                                                                                                     \
    (slot).h += h;                                                                                                     \
  } while (0)
#define ADD_F ADD_D
#endif
HIST_ROWS_ALL(hist_rows_all_d, struct hbin, 4, ROW_D, ADD_D)
HIST_ROWS_ALL(hist_rows_all_f, struct hbinf, 3, ROW_F, ADD_F)
#undef HIST_ROWS_ALL
#undef ROW_D
#undef ROW_F
#undef ADD_D
#undef ADD_F

/* The column-subsampled histogram (tree columns feats[k0, k1) only), for either slot type T (suffix
 * d: double, f: float). */
#define HIST_SAMPLED(T, SFX, ACC)                                                                                      \
  static void hist_rows_sampled_##SFX(const struct trainer *t, const struct ghpair *gh, size_t begin, size_t end,      \
                                      T *hist, size_t k0, size_t k1) {                                                 \
    const struct tml_gbdt_bins *b = t->bins;                                                                           \
    size_t ncols = b->ncols, stride = t->stride;                                                                       \
    for (size_t i = begin; i < end; i++) {                                                                             \
      uint32_t r = t->rows[i];                                                                                         \
      ACC g = gh[r].g, h = gh[r].h;                                                                                    \
      const uint8_t *c = b->code + (size_t)r * ncols;                                                                  \
      for (size_t k = k0; k < k1; k++) {                                                                               \
        size_t j = t->feats[k];                                                                                        \
        hist[j * stride + c[j]].g += g;                                                                                \
        hist[j * stride + c[j]].h += h;                                                                                \
      }                                                                                                                \
    }                                                                                                                  \
  }
HIST_SAMPLED(struct hbin, d, double)
HIST_SAMPLED(struct hbinf, f, float)
#undef HIST_SAMPLED

static void hist_subtract_d(const struct trainer *t, const struct hbin *parent, const struct hbin *child,
                            struct hbin *out, size_t k0, size_t k1) {
  size_t stride = t->stride;
  for (size_t i = k0; i < k1; i++) {
    size_t o = t->feats[i] * stride;
    for (size_t s = 0; s < stride; s++) {
      out[o + s].g = parent[o + s].g - child[o + s].g;
      out[o + s].h = parent[o + s].h - child[o + s].h;
    }
  }
}

/* Histogram of rows[begin, end) for the tree columns feats[k0, k1) (the columns of one thread's
 * part: every column's bins are summed by one thread, rows in ascending order, so the sums are the
 * same bits whatever the number of parts). */
static void hist_build_cols(const struct trainer *t, const struct ghpair *gh, size_t begin, size_t end, void *hist,
                            size_t k0, size_t k1) {
  const struct tml_gbdt_bins *b = t->bins;
  size_t ncols = b->ncols, stride = t->stride;
  if (t->nfeats == ncols) { /* feats[k] = k: columns k0 .. k1 - 1 are contiguous in a row and in hist */
    memset((char *)hist + k0 * stride * t->slot_size, 0, (k1 - k0) * stride * t->slot_size);
    const uint8_t *code = b->code + k0;
    if (t->fhist) {
      struct hbinf *h0 = (struct hbinf *)hist + k0 * stride;
      if (stride == 65) /* max_bin 64: the stride a compile-time constant */
        hist_rows_all_f(t->rows, begin, end, code, ncols, k1 - k0, gh, h0, 65);
      else
        hist_rows_all_f(t->rows, begin, end, code, ncols, k1 - k0, gh, h0, stride);
    } else {
      struct hbin *h0 = (struct hbin *)hist + k0 * stride;
      if (stride == 65)
        hist_rows_all_d(t->rows, begin, end, code, ncols, k1 - k0, gh, h0, 65);
      else
        hist_rows_all_d(t->rows, begin, end, code, ncols, k1 - k0, gh, h0, stride);
    }
  } else {
    for (size_t k = k0; k < k1; k++)
      memset((char *)hist + t->feats[k] * stride * t->slot_size, 0, stride * t->slot_size);
    if (t->fhist)
      hist_rows_sampled_f(t, gh, begin, end, hist, k0, k1);
    else
      hist_rows_sampled_d(t, gh, begin, end, hist, k0, k1);
  }
}

/* out = parent - child over float slots [a, b) as one run of floats, four at a time (the same IEEE
 * subtraction per value as the slot loop; GCC at -O2 leaves that loop one slot per step). */
static void sub_floats(const struct hbinf *parent, const struct hbinf *child, struct hbinf *out, size_t a, size_t b) {
  const float *p = &parent[a].g, *c = &child[a].g;
  float *d = &out[a].g;
  size_t n = 2 * (b - a), i = 0;
#ifdef __SSE2__
  for (; i + 4 <= n; i += 4)
    _mm_storeu_ps(d + i, _mm_sub_ps(_mm_loadu_ps(p + i), _mm_loadu_ps(c + i)));
#endif
  for (; i < n; i++)
    d[i] = p[i] - c[i];
}

static void hist_subtract_cols(const struct trainer *t, const void *parent, const void *child, void *out, size_t k0,
                               size_t k1) {
  if (!t->fhist) {
    hist_subtract_d(t, parent, child, out, k0, k1);
  } else if (t->nfeats == t->bins->ncols) { /* feats[k] = k: the part's columns are one run */
    sub_floats(parent, child, out, k0 * t->stride, k1 * t->stride);
  } else {
    for (size_t k = k0; k < k1; k++)
      sub_floats(parent, child, out, t->feats[k] * t->stride, (t->feats[k] + 1) * t->stride);
  }
}

/* ---- Threads inside one model (p->nthread > 1) ----
 * A crew of nthread - 1 workers plus the calling thread runs one job at a time, each thread one part
 * of the tree columns (part i of n: feats[i * nfeats / n, (i + 1) * nfeats / n)). Only column-local
 * work is split this way (histogram builds and subtractions), so every number a model holds is
 * computed by the same operations in the same order whatever the thread count: the model bytes do
 * not depend on it (tested). Small nodes stay on the calling thread (a hand-off costs more than
 * their histogram). */
#define CREW_MAX 64
#define CREW_MIN_ROWS 2048 /* histogram rows below which a job is not handed off */

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

static void *crew_main(void *arg) {
  struct crew_member *me = arg;
  struct crew *c = me->c;
  uint64_t seen = 0;
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (!c->stop && c->gen == seen)
      pthread_cond_wait(&c->go, &c->mu);
    if (c->stop)
      break;
    seen = c->gen;
    void (*fn)(void *, int, int) = c->fn;
    void *a = c->arg;
    int n = c->n;
    pthread_mutex_unlock(&c->mu);
    fn(a, me->part, n);
    pthread_mutex_lock(&c->mu);
    if (--c->pending == 0)
      pthread_cond_signal(&c->done);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* Starts up to nthread - 1 workers; c->n is 1 + those started (fewer when the system refuses
 * threads: the models are the same, only slower). */
static void crew_start(struct crew *c, int nthread) {
  memset(c, 0, sizeof *c);
  c->n = 1;
  if (nthread <= 1)
    return;
  if (nthread > CREW_MAX)
    nthread = CREW_MAX;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->go, NULL);
  pthread_cond_init(&c->done, NULL);
  c->inited = true;
  for (int i = 1; i < nthread; i++) {
    c->member[i] = (struct crew_member){c, i};
    if (pthread_create(&c->tid[i], NULL, crew_main, &c->member[i]) != 0)
      break;
    c->n = i + 1;
  }
}

static void crew_stop(struct crew *c) {
  if (!c->inited)
    return;
  pthread_mutex_lock(&c->mu);
  c->stop = true;
  pthread_cond_broadcast(&c->go);
  pthread_mutex_unlock(&c->mu);
  for (int i = 1; i < c->n; i++)
    pthread_join(c->tid[i], NULL);
  pthread_cond_destroy(&c->go);
  pthread_cond_destroy(&c->done);
  pthread_mutex_destroy(&c->mu);
  c->inited = false;
}

/* Runs fn(arg, part, n) for every part, part 0 on the calling thread; returns when all are done. */
static void crew_run(struct crew *c, void (*fn)(void *, int, int), void *arg) {
  if (c->n <= 1) {
    fn(arg, 0, 1);
    return;
  }
  pthread_mutex_lock(&c->mu);
  c->fn = fn;
  c->arg = arg;
  c->pending = c->n - 1;
  c->gen++;
  pthread_cond_broadcast(&c->go);
  pthread_mutex_unlock(&c->mu);
  fn(arg, 0, c->n);
  pthread_mutex_lock(&c->mu);
  while (c->pending > 0)
    pthread_cond_wait(&c->done, &c->mu);
  pthread_mutex_unlock(&c->mu);
}

/* The histograms a node's children need: `small` from its rows, and `large` (the sibling; NULL at
 * the root) as the parent's minus small's, or from its own rows without subtraction. */
struct hist_job {
  const struct trainer *t;
  const struct ghpair *gh;
  size_t sb, se, lb, le;
  const void *parent;
  void *small, *large;
};

static void hist_job_part(void *arg, int part, int nparts) {
  const struct hist_job *j = arg;
  size_t nf = j->t->nfeats, k0 = nf * (size_t)part / (size_t)nparts, k1 = nf * (size_t)(part + 1) / (size_t)nparts;
  hist_build_cols(j->t, j->gh, j->sb, j->se, j->small, k0, k1);
  if (!j->large)
    return;
  if (j->t->flags & TML_GBDT_NO_SUBTRACTION)
    hist_build_cols(j->t, j->gh, j->lb, j->le, j->large, k0, k1);
  else
    hist_subtract_cols(j->t, j->parent, j->small, j->large, k0, k1);
}

/* Runs fn on the crew's threads (column parts) when the job has enough rows to pay for the hand-off,
 * else on the calling thread as one part. */
static void crew_run_if_worth(const struct trainer *t, size_t rows, void (*fn)(void *, int, int), void *arg) {
  if (t->crew && t->crew->n > 1 && rows >= CREW_MIN_ROWS)
    crew_run(t->crew, fn, arg);
  else
    fn(arg, 0, 1);
}

static void hist_job_run(const struct trainer *t, struct hist_job *j) {
  size_t rows = (j->se - j->sb) + ((j->large && (t->flags & TML_GBDT_NO_SUBTRACTION)) ? j->le - j->lb : 0);
  crew_run_if_worth(t, rows, hist_job_part, j);
}

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

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void root_rows_avx2_d(const struct root_job *j, size_t k0, size_t k1) {
  const struct tml_gbdt_bins *b = j->t->bins;
  size_t ncols = b->ncols, stride = j->t->stride;
  double *fused = j->fused;
  for (size_t i = 0; i < j->nrows; i++) {
    const uint8_t *c = b->code + (j->row0 + i) * ncols;
    __m256d v0 = _mm256_cvtps_pd(_mm_loadu_ps(j->ghr + i * 8)), v1 = _mm256_cvtps_pd(_mm_loadu_ps(j->ghr + i * 8 + 4));
    for (size_t k = k0; k < k1; k++) {
      double *q = fused + (k * stride + c[k]) * 8;
      _mm256_store_pd(q, _mm256_add_pd(_mm256_load_pd(q), v0));
      _mm256_store_pd(q + 4, _mm256_add_pd(_mm256_load_pd(q + 4), v1));
    }
  }
  _mm256_zeroupper(); /* as in cut_mask_avx2 */
}

/* Float slots: the row's eight floats added to the slot's eight with one instruction. */
__attribute__((target("avx2"))) static void root_rows_avx2_f(const struct root_job *j, size_t k0, size_t k1) {
  const struct tml_gbdt_bins *b = j->t->bins;
  size_t ncols = b->ncols, stride = j->t->stride;
  float *fused = j->fused;
  for (size_t i = 0; i < j->nrows; i++) {
    const uint8_t *c = b->code + (j->row0 + i) * ncols;
    __m256 v = _mm256_loadu_ps(j->ghr + i * 8);
    for (size_t k = k0; k < k1; k++) {
      float *q = fused + (k * stride + c[k]) * 8;
      _mm256_store_ps(q, _mm256_add_ps(_mm256_load_ps(q), v));
    }
  }
  _mm256_zeroupper();
}
#endif

/* The same without AVX2, for either slot type T (the slot's eight values). */
#define ROOT_ROWS_PLAIN(NAME, T)                                                                                       \
  static void NAME(const struct root_job *j, size_t k0, size_t k1) {                                                   \
    const struct tml_gbdt_bins *b = j->t->bins;                                                                        \
    size_t ncols = b->ncols, stride = j->t->stride;                                                                    \
    T *fused = j->fused;                                                                                               \
    for (size_t i = 0; i < j->nrows; i++) {                                                                            \
      const uint8_t *c = b->code + (j->row0 + i) * ncols;                                                              \
      const float *v = j->ghr + i * 8;                                                                                 \
      for (size_t k = k0; k < k1; k++) {                                                                               \
        T *q = fused + (k * stride + c[k]) * 8;                                                                        \
        for (int e = 0; e < 8; e++)                                                                                    \
          q[e] += (T)v[e];                                                                                             \
      }                                                                                                                \
    }                                                                                                                  \
  }
ROOT_ROWS_PLAIN(root_rows_plain_d, double)
ROOT_ROWS_PLAIN(root_rows_plain_f, float)
#undef ROOT_ROWS_PLAIN

static void root_job_part(void *arg, int part, int nparts) {
  const struct root_job *j = arg;
  size_t nc = j->t->bins->ncols, k0 = nc * (size_t)part / (size_t)nparts, k1 = nc * (size_t)(part + 1) / (size_t)nparts;
  size_t slot8 = 8 * j->t->slot_size / 2; /* 8 values of the slot's type */
  memset((char *)j->fused + k0 * j->t->stride * slot8, 0, (k1 - k0) * j->t->stride * slot8);
#if defined(__x86_64__) && defined(__GNUC__)
  if (j->t->root_avx2) {
    if (j->t->fhist)
      root_rows_avx2_f(j, k0, k1);
    else
      root_rows_avx2_d(j, k0, k1);
    return;
  }
#endif
  if (j->t->fhist)
    root_rows_plain_f(j, k0, k1);
  else
    root_rows_plain_d(j, k0, k1);
}

/* The root histograms of classes 0..K-1 (from the pool, into out[]) from one pass over the rows. */
static int shared_root_build(struct trainer *t, struct root_job *j, int K, void **out) {
  for (int k = 0; k < K; k++)
    out[k] = NULL;
  for (int k = 0; k < K; k++)
    if (!(out[k] = hist_get(t)))
      goto oom;
  crew_run_if_worth(t, j->nrows, root_job_part, j);
  if (t->fhist) {
    const float *q = j->fused;
    for (size_t sl = 0; sl < t->hist_len; sl++, q += 8)
      for (int k = 0; k < K; k++)
        ((struct hbinf *)out[k])[sl] = (struct hbinf){q[2 * k], q[2 * k + 1]};
  } else {
    const double *q = j->fused;
    for (size_t sl = 0; sl < t->hist_len; sl++, q += 8)
      for (int k = 0; k < K; k++)
        ((struct hbin *)out[k])[sl] = (struct hbin){q[2 * k], q[2 * k + 1]};
  }
  return 0;
oom:
  for (int k = 0; k < K; k++)
    hist_put(t, out[k]);
  return TML_ENOMEM;
}

static inline double calc_gain(double G, double H, double lambda) { return G * G / (H + lambda); }

/* XGBoost 1.7's loss_chg of a split, in its precisions: each side's G^2/(H+lambda) in double (0 for
 * H <= 0), their sum rounded to float, minus the parent's gain as a float, in float. Candidates are
 * compared as these floats: near-ties that double arithmetic would separate are ties here, won by
 * the earlier candidate, as in XGBoost. */
static inline float xgb_loss_chg(double GL, double HL, double GR, double HR, double lambda, float parent) {
  double l = HL <= 0.0 ? 0.0 : GL * GL / (HL + lambda), r = HR <= 0.0 ? 0.0 : GR * GR / (HR + lambda);
  float sum = (float)(l + r);
  return sum - parent;
}

struct split {
  double gain;
  int32_t feature;
  unsigned bin;     /* rows with code <= bin go left */
  bool default_left;
  double GL, HL;
};

/* A node being grown: its rows are rows[begin, end). */
struct grow {
  uint32_t id;          /* index into the model's node array */
  int depth;
  size_t begin, end;
  double G, H;
  void *hist;           /* (max_bin + 1) slots per column (struct hbin or hbinf), NULL when not needed */
  struct split s;       /* its best split (feature -1: none) */
  float loss;           /* s.gain as float: XGBoost's loss_chg, the order of loss-guided growth */
};

/* XGBoost's enumeration: forward (missing right), then backward (missing left) when the node has
 * missing values of the column; a candidate replaces the best only with a strictly larger gain.
 *
 * The same values in the same order as the plain loop (for each column, each direction, each cut:
 * left sums by sequential addition, gain = GL^2/(HL+l) + GR^2/(HR+l) - parent, keep when both sides
 * have hessian >= min_child_weight and gain > best), computed faster:
 *  - the left sums of up to SCAN_JOBS (column, direction) scans run interleaved, so their addition
 *    chains overlap instead of waiting on each other (one chain is one addition per 4 cycles);
 *  - a mask (cut_mask_*) keeps only cuts that pass min_child_weight and beat the best at the start
 *    of the scan, four cuts per AVX2 or two per SSE2 instruction and without a division; only those
 *    are compared one by one, in cut order, against the running best (which can only grow, so no cut
 *    outside the mask could have won). */
#define SCAN_JOBS 4 /* the SSE2 prefix loop below names four accumulators */
struct scan_job {
  const void *hp;        /* the column's histogram (struct hbin or hbinf slots) */
  struct hbin init;      /* (0, 0) forward, (G, H) of the missing slot backward */
  uint32_t feature;
  unsigned ncuts;
  bool default_left;
};

/* The candidate mask of one scan. With dL = HL + lambda and dR = HR + lambda (both >= 0 for a cut
 * that passes min_child_weight >= 0, hessians being >= 0),
 *   GL^2/dL + GR^2/dR - parent > bar  <=>  GL^2 dR + GR^2 dL > (parent + bar) dL dR
 * (for dL or dR = 0 the right side is 0 and the cut is kept unless its G on the other side is 0,
 * when its gain is 0 and cannot beat a best >= 0). Both sides carry a few roundings of magnitude
 * ~ (|parent| + |best|) dL dR, far inside the 1e-5 relative slack of the bar, so no cut that can
 * win is dropped. A side that is not finite (overflow) makes the function return false: the caller
 * then keeps every cut that passes min_child_weight. Sets bit s of cand for a kept cut s. */
struct cut_mask_in {
  double G, H, lambda, mcw, pb; /* pb = parent + bar */
};

static bool cut_mask_tail(const double *GL, const double *HL, unsigned s, unsigned n, const struct cut_mask_in *in,
                          uint64_t *cand) {
  bool finite = true;
  for (; s < n; s++) {
    double a = GL[s], h = HL[s], ra = in->G - a, rh = in->H - h, dl = h + in->lambda, dr = rh + in->lambda;
    double lhs = a * a * dr + ra * ra * dl, rhs = in->pb * dl * dr;
    finite &= isfinite(lhs) && isfinite(rhs);
    if (!(h < in->mcw || rh < in->mcw) && lhs > rhs)
      cand[s / 64] |= (uint64_t)1 << (s % 64);
  }
  return finite;
}

#ifdef __SSE2__
static bool cut_mask_sse2(const double *GL, const double *HL, unsigned n, const struct cut_mask_in *in,
                          uint64_t *cand) {
  __m128d vG = _mm_set1_pd(in->G), vH = _mm_set1_pd(in->H), vl = _mm_set1_pd(in->lambda);
  __m128d vpb = _mm_set1_pd(in->pb), vm = _mm_set1_pd(in->mcw), zero = _mm_setzero_pd(), acc = zero;
  unsigned s = 0;
  for (; s + 2 <= n; s += 2) {
    __m128d a = _mm_loadu_pd(GL + s), h = _mm_loadu_pd(HL + s);
    __m128d ra = _mm_sub_pd(vG, a), rh = _mm_sub_pd(vH, h);
    __m128d dl = _mm_add_pd(h, vl), dr = _mm_add_pd(rh, vl);
    __m128d lhs = _mm_add_pd(_mm_mul_pd(_mm_mul_pd(a, a), dr), _mm_mul_pd(_mm_mul_pd(ra, ra), dl));
    __m128d rhs = _mm_mul_pd(_mm_mul_pd(vpb, dl), dr);
    acc = _mm_add_pd(acc, _mm_mul_pd(_mm_add_pd(lhs, rhs), zero)); /* NaN from here on if either is not finite */
    /* HL < mcw || HR < mcw skips a cut: keep it when neither (NaN compares as the scalar loop) */
    __m128d ok = _mm_and_pd(_mm_cmpnlt_pd(h, vm), _mm_cmpnlt_pd(rh, vm));
    int m = _mm_movemask_pd(_mm_and_pd(ok, _mm_cmpgt_pd(lhs, rhs)));
    cand[s / 64] |= (uint64_t)m << (s % 64); /* s even: both bits in one word */
  }
  bool finite = _mm_movemask_pd(_mm_cmpunord_pd(acc, acc)) == 0;
  return cut_mask_tail(GL, HL, s, n, in, cand) && finite;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
/* The same mask four cuts at a time (the same IEEE operations: no fused multiply-add). */
__attribute__((target("avx2"))) static bool cut_mask_avx2(const double *GL, const double *HL, unsigned n,
                                                          const struct cut_mask_in *in, uint64_t *cand) {
  __m256d vG = _mm256_set1_pd(in->G), vH = _mm256_set1_pd(in->H), vl = _mm256_set1_pd(in->lambda);
  __m256d vpb = _mm256_set1_pd(in->pb), vm = _mm256_set1_pd(in->mcw), zero = _mm256_setzero_pd(), acc = zero;
  unsigned s = 0;
  for (; s + 4 <= n; s += 4) {
    __m256d a = _mm256_loadu_pd(GL + s), h = _mm256_loadu_pd(HL + s);
    __m256d ra = _mm256_sub_pd(vG, a), rh = _mm256_sub_pd(vH, h);
    __m256d dl = _mm256_add_pd(h, vl), dr = _mm256_add_pd(rh, vl);
    __m256d lhs = _mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(a, a), dr), _mm256_mul_pd(_mm256_mul_pd(ra, ra), dl));
    __m256d rhs = _mm256_mul_pd(_mm256_mul_pd(vpb, dl), dr);
    acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_add_pd(lhs, rhs), zero));
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(h, vm, _CMP_NLT_UQ), _mm256_cmp_pd(rh, vm, _CMP_NLT_UQ));
    int m = _mm256_movemask_pd(_mm256_and_pd(ok, _mm256_cmp_pd(lhs, rhs, _CMP_GT_OQ)));
    cand[s / 64] |= (uint64_t)m << (s % 64); /* s a multiple of 4: the four bits in one word */
  }
  bool finite = _mm256_movemask_pd(_mm256_cmp_pd(acc, acc, _CMP_UNORD_Q)) == 0;
  /* clear the upper halves (GCC does not here): SSE code after dirty upper halves waits on them */
  _mm256_zeroupper();
  return cut_mask_tail(GL, HL, s, n, in, cand) && finite;
}
#endif

static bool cut_mask_plain(const double *GL, const double *HL, unsigned n, const struct cut_mask_in *in,
                           uint64_t *cand) {
  return cut_mask_tail(GL, HL, 0, n, in, cand);
}

/* The widest mask this processor runs, or a narrower one the flags ask for (every choice passes
 * the winning cuts to the same exact check, so models do not depend on it: tested). */
static cut_mask_fn cut_mask_pick(unsigned flags) {
  if (flags & TML_GBDT_MASK_PLAIN)
    return cut_mask_plain;
#if defined(__x86_64__) && defined(__GNUC__)
  if (!(flags & TML_GBDT_NO_AVX2) && __builtin_cpu_supports("avx2"))
    return cut_mask_avx2;
#endif
#ifdef __SSE2__
  return cut_mask_sse2;
#else
  return cut_mask_plain;
#endif
}

/* Slot s of a histogram as doubles, whichever the slot type. */
static inline struct hbin slot_at(const struct trainer *t, const void *hist, size_t s) {
  if (t->fhist) {
    struct hbinf f = ((const struct hbinf *)hist)[s];
    return (struct hbin){(double)f.g, (double)f.h};
  }
  return ((const struct hbin *)hist)[s];
}

static void scan_cuts(const struct trainer *t, const struct grow *n, const struct scan_job *jobs, size_t njobs,
                      struct split *best) {
  static const struct hbin zeros[TML_GBDT_MAX_BIN + 1];
  double lambda = (float)t->p->lambda, mcw = (float)t->p->min_child_weight; /* XGBoost's params are floats */
  double parent = calc_gain(n->G, n->H, lambda);
  float parentf = (float)parent;
  double preG[SCAN_JOBS][TML_GBDT_MAX_BIN + 4], preH[SCAN_JOBS][TML_GBDT_MAX_BIN + 4]; /* left sums per cut */
  const void *src[SCAN_JOBS];
  unsigned maxc = 0;
  for (size_t q = 0; q < SCAN_JOBS; q++) {
    src[q] = q < njobs ? jobs[q].hp : zeros;
    if (q < njobs && jobs[q].ncuts > maxc)
      maxc = jobs[q].ncuts;
  }
#ifdef __SSE2__
  /* four named accumulators (an array would live in memory, one store-to-load wait per add) */
  __m128d a0 = _mm_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  if (njobs > 0)
    a0 = _mm_set_pd(jobs[0].init.h, jobs[0].init.g);
  if (njobs > 1)
    a1 = _mm_set_pd(jobs[1].init.h, jobs[1].init.g);
  if (njobs > 2)
    a2 = _mm_set_pd(jobs[2].init.h, jobs[2].init.g);
  if (njobs > 3)
    a3 = _mm_set_pd(jobs[3].init.h, jobs[3].init.g);
  {
    /* (GL, HL) += (g, h): the same two additions per scan and cut; two cuts per step so that each
     * column's G and H are written as pairs (unpack, one 16-byte store each) rather than one double
     * at a time (the loop is bound by its stores) */
    unsigned s = 0; /* the cut of the prefix loop */
    /* slot s of scan q as (g, h) doubles: a double slot as it is, a float slot widened (exactly) */
#define LD_D(q, s) _mm_loadu_pd(&((const struct hbin *)src[q])[s].g)
#define LD_F(q, s) _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)((const struct hbinf *)src[q] + (s)))))
#define PREFIX2(a, q, LD)                                                                                              \
  do {                                                                                                                 \
    __m128d x0 = _mm_add_pd(a, LD(q, s));                                                                              \
    a = _mm_add_pd(x0, LD(q, s + 1));                                                                                  \
    _mm_storeu_pd(&preG[q][s], _mm_unpacklo_pd(x0, a));                                                                \
    _mm_storeu_pd(&preH[q][s], _mm_unpackhi_pd(x0, a));                                                                \
  } while (0)
#define PREFIX_LOOP(LD)                                                                                                \
  do {                                                                                                                 \
    for (; s + 2 <= maxc; s += 2) {                                                                                    \
      PREFIX2(a0, 0, LD);                                                                                              \
      PREFIX2(a1, 1, LD);                                                                                              \
      PREFIX2(a2, 2, LD);                                                                                              \
      PREFIX2(a3, 3, LD);                                                                                              \
    }                                                                                                                  \
    if (s < maxc) {                                                                                                    \
      a0 = _mm_add_pd(a0, LD(0, s));                                                                                   \
      a1 = _mm_add_pd(a1, LD(1, s));                                                                                   \
      a2 = _mm_add_pd(a2, LD(2, s));                                                                                   \
      a3 = _mm_add_pd(a3, LD(3, s));                                                                                   \
    }                                                                                                                  \
  } while (0)
    if (t->fhist)
      PREFIX_LOOP(LD_F);
    else
      PREFIX_LOOP(LD_D);
#undef PREFIX_LOOP
#undef PREFIX2
#undef LD_F
#undef LD_D
    if (s < maxc) {
      _mm_storel_pd(&preG[0][s], a0);
      _mm_storeh_pd(&preH[0][s], a0);
      _mm_storel_pd(&preG[1][s], a1);
      _mm_storeh_pd(&preH[1][s], a1);
      _mm_storel_pd(&preG[2][s], a2);
      _mm_storeh_pd(&preH[2][s], a2);
      _mm_storel_pd(&preG[3][s], a3);
      _mm_storeh_pd(&preH[3][s], a3);
    }
  }
#else
  for (size_t q = 0; q < njobs; q++) {
    double GL = jobs[q].init.g, HL = jobs[q].init.h;
    for (unsigned s = 0; s < jobs[q].ncuts; s++) {
      struct hbin v = slot_at(t, src[q], s);
      GL += v.g;
      HL += v.h;
      preG[q][s] = GL;
      preH[q][s] = HL;
    }
  }
#endif
  for (size_t q = 0; q < njobs; q++) {
    const double *gq = preG[q], *hq = preH[q];
    unsigned ncuts = jobs[q].ncuts;
    uint64_t cand[(TML_GBDT_MAX_BIN + 64) / 64] = {0}; /* bit s: cut s is a candidate */
    /* The sums the cuts are scored against: the node's exact G and H with double slots (XGBoost's
     * rule), or with float slots this column's own total (the last left sum plus the bins after
     * it), so that GL + GR is what the column's float sums hold. Float sums of many rows drift (by
     * ~1e-4 of a sum at 10^4 equal hessians in a bin); against the node's exact sums a cut past the
     * node's data would see that drift as a right side (HR >= min_child_weight at tens of thousands
     * of rows) and split off an empty child. Against the column's total it sees 0. */
    double G = n->G, H = n->H, par = parent;
    float parf = parentf;
    if (t->fhist) {
      struct hbin last = slot_at(t, jobs[q].hp, ncuts);
      struct hbin miss = jobs[q].default_left ? (struct hbin){0.0, 0.0} : slot_at(t, jobs[q].hp, (size_t)t->bins->max_bin);
      G = gq[ncuts - 1] + last.g + miss.g;
      H = hq[ncuts - 1] + last.h + miss.h;
      par = calc_gain(G, H, lambda);
      parf = (float)par;
    }
    /* the mask only pre-selects: a cut within the float rounding of the best may still beat it as
     * XGBoost's float loss_chg, so the bar is lowered by far more than that rounding */
    double bar = best->gain - 1e-5 * (fabs(par) + fabs(best->gain)) - 1e-30;
    struct cut_mask_in in = {G, H, lambda, mcw, par + bar};
    /* the mask runs over whole vectors: cuts up to the next multiple of 4 get neutral sums, and
     * their bits are cleared after */
    unsigned nvec = (ncuts + 3u) & ~3u;
    for (unsigned s = ncuts; s < nvec; s++)
      preG[q][s] = preH[q][s] = 0.0;
    bool finite = t->cut_mask(gq, hq, nvec, &in, cand);
    if (ncuts % 64)
      cand[ncuts / 64] &= ((uint64_t)1 << (ncuts % 64)) - 1;
    if (!finite) { /* overflow: every cut passing min_child_weight */
      memset(cand, 0, sizeof cand);
      for (unsigned s = 0; s < ncuts; s++)
        if (!(hq[s] < mcw || H - hq[s] < mcw))
          cand[s / 64] |= (uint64_t)1 << (s % 64);
    }
    for (unsigned w = 0; w < (ncuts + 63) / 64; w++)
      for (uint64_t bits = cand[w]; bits; bits &= bits - 1) { /* candidates in cut order */
        unsigned s = w * 64 + (unsigned)__builtin_ctzll(bits);
        float gain = xgb_loss_chg(gq[s], hq[s], G - gq[s], H - hq[s], lambda, parf);
        if (!isinf(gain) && gain > (float)best->gain) {
          best->gain = gain;
          best->feature = (int32_t)jobs[q].feature;
          best->bin = s;
          best->default_left = jobs[q].default_left;
          best->GL = gq[s];
          best->HL = hq[s];
        }
      }
  }
}

static void find_split(const struct trainer *t, const struct grow *n, struct split *best) {
  const struct tml_gbdt_bins *b = t->bins;
  size_t stride = t->stride;
  best->gain = 0.0;
  best->feature = -1;
  struct scan_job jobs[SCAN_JOBS + 1];
  size_t njobs = 0;
  for (size_t i = 0; i < t->nfeats; i++) {
    uint32_t j = t->feats[i];
    unsigned ncuts = b->ncuts[j];
    if (ncuts == 0)
      continue;
    const void *hp = (const char *)n->hist + (size_t)j * stride * t->slot_size;
    struct hbin miss = slot_at(t, hp, (size_t)b->max_bin);
    jobs[njobs++] = (struct scan_job){hp, {0.0, 0.0}, j, ncuts, false};
    if (miss.h > 0.0)
      jobs[njobs++] = (struct scan_job){hp, miss, j, ncuts, true};
    if (njobs >= SCAN_JOBS) { /* the first SCAN_JOBS scans, in order; a fifth waits for the next batch */
      size_t run = njobs > SCAN_JOBS ? njobs - 1 : njobs;
      scan_cuts(t, n, jobs, run, best);
      if (run < njobs)
        jobs[0] = jobs[run];
      njobs -= run;
    }
  }
  if (njobs)
    scan_cuts(t, n, jobs, njobs, best);
}

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

static bool grow_before(const struct trainer *t, const struct grow *a, const struct grow *b) {
  if (t->p->grow_policy == TML_GROW_LOSSGUIDE && a->loss != b->loss)
    return a->loss > b->loss;
  return a->id < b->id;
}

static int queue_push(struct trainer *t, const struct grow *g) {
  struct grow *a = tml_grow(t->queue, &t->cap_queue, t->nqueue, sizeof *a, 64);
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

static struct grow queue_pop(struct trainer *t) {
  struct grow top = t->queue[0], last = t->queue[--t->nqueue];
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
static void node_open(struct tml_gbdt_model *m, const struct grow *g, const struct tml_xgb_params *p) {
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
static int node_leaf(struct trainer *t, struct tml_gbdt_model *m, struct grow *g) {
  hist_put(t, g->hist);
  g->hist = NULL;
  struct leaf_rows *lr = tml_grow(t->leaves, &t->cap_leaves, t->nleaves, sizeof *lr, 256);
  if (!lr)
    return TML_ENOMEM;
  t->leaves = lr;
  t->leaves[t->nleaves++] = (struct leaf_rows){g->begin, g->end, m->nodes[g->id].value};
  return 0;
}

static bool grow_pushable(const struct grow *g) { return g->s.feature >= 0 && g->s.gain > RT_EPS; }

/* Queues the node when it has a split worth making, else makes it a leaf. */
static int node_settle(struct trainer *t, struct tml_gbdt_model *m, struct grow *g) {
  if (grow_pushable(g)) {
    g->loss = (float)g->s.gain;
    return queue_push(t, g);
  }
  return node_leaf(t, m, g);
}

/* Grows one tree on rows[0, nrows) with gradients gh and appends it to the model. */
/* root_hist: the root's histogram built already (the shared root pass), owned by the call from
 * here on; NULL to build it here. */
static int grow_tree(struct trainer *t, struct tml_gbdt_model *m, const struct ghpair *gh, size_t nrows,
                     void *root_hist) {
  const struct tml_xgb_params *p = t->p;
  bool lossguide = p->grow_policy == TML_GROW_LOSSGUIDE;
  int rc = model_reserve(m, 1);
  if (rc) {
    hist_put(t, root_hist);
    return rc;
  }
  t->nleaves = 0;
  t->nqueue = 0;
  size_t nb = 0;
  double G = 0, H = 0;
  for (size_t i = 0; i < nrows; i++) {
    G += (double)gh[t->rows[i]].g;
    H += (double)gh[t->rows[i]].h;
  }
  struct grow root = {.id = (uint32_t)m->nnodes++, .depth = 0, .begin = 0, .end = nrows, .G = G, .H = H};
  root.s.feature = -1;
  node_open(m, &root, p);
  if (nrows > 1) {
    if (root_hist) {
      root.hist = root_hist;
    } else {
      if (!(root.hist = hist_get(t)))
        return TML_ENOMEM;
      struct hist_job j = {t, gh, 0, nrows, 0, 0, NULL, root.hist, NULL};
      hist_job_run(t, &j);
    }
    find_split(t, &root, &root.s);
  } else {
    hist_put(t, root_hist);
  }
  if ((rc = node_settle(t, m, &root))) {
    hist_put(t, root.hist);
    return rc;
  }
  int num_leaves = 1;
  while (t->nqueue > 0) {
    /* Pop: the next level (depth-wise) or the best node (loss-guided); a node popped once the tree
     * has max_leaves leaves stays a leaf. */
    nb = 0;
    if (t->cap_batch < DRIVER_BATCH) {
      struct grow *a = realloc(t->batch, DRIVER_BATCH * sizeof *a);
      if (!a) {
        rc = TML_ENOMEM;
        break;
      }
      t->batch = a;
      t->cap_batch = DRIVER_BATCH;
    }
    int level = t->queue[0].depth;
    while (t->nqueue > 0 && nb < (lossguide ? 1u : DRIVER_BATCH) && (lossguide || t->queue[0].depth == level)) {
      struct grow g = queue_pop(t);
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
    if ((rc = model_reserve(m, 2 * nb)))
      break;
    for (size_t i = 0; i < nb && !rc; i++) {
      struct grow *g = &t->batch[i];
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
        double Gs = 0, Hs = 0;
        for (size_t k = a; k < z; k++) {
          Gs += (double)gh[t->rows[k]].g;
          Hs += (double)gh[t->rows[k]].h;
        }
        GL = left_small ? Gs : g->G - Gs;
        HL = left_small ? Hs : g->H - Hs;
        GR = left_small ? g->G - Gs : Gs;
        HR = left_small ? g->H - Hs : Hs;
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
      struct grow L = {.id = l, .depth = g->depth + 1, .begin = g->begin, .end = mid, .G = GL, .H = HL};
      struct grow R = {.id = l + 1, .depth = g->depth + 1, .begin = mid, .end = g->end, .G = GR, .H = HR};
      L.s.feature = R.s.feature = -1;
      node_open(m, &L, p);
      node_open(m, &R, p);
      if (leaves_left && (p->max_depth == 0 || g->depth + 1 < p->max_depth)) {
        struct grow *small = (mid - g->begin) <= (g->end - mid) ? &L : &R, *large = small == &L ? &R : &L;
        small->hist = hist_get(t);
        large->hist = hist_get(t);
        if (!small->hist || !large->hist) {
          rc = TML_ENOMEM;
        } else {
          struct hist_job j = {t, gh, small->begin, small->end, large->begin, large->end, g->hist, small->hist,
                               large->hist};
          hist_job_run(t, &j);
          find_split(t, &L, &L.s);
          find_split(t, &R, &R.s);
        }
      }
      hist_put(t, g->hist);
      g->hist = NULL;
      if (rc) {
        hist_put(t, L.hist);
        hist_put(t, R.hist);
        break;
      }
      if ((rc = node_settle(t, m, &L))) {
        hist_put(t, L.hist);
        hist_put(t, R.hist);
        break;
      }
      if ((rc = node_settle(t, m, &R))) {
        hist_put(t, R.hist);
        break;
      }
    }
    if (rc)
      break;
  }
  /* Whatever still waits stays a leaf. */
  for (size_t i = 0; i < nb; i++) {
    hist_put(t, t->batch[i].hist);
    t->batch[i].hist = NULL;
  }
  while (t->nqueue > 0) {
    struct grow g = queue_pop(t);
    if (rc) {
      hist_put(t, g.hist);
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

/* Leaf value of tree `root` for binned row r. */
static inline float tree_value_binned(const struct tml_gbdt_model *m, uint32_t root, const struct tml_gbdt_bins *b,
                                      size_t r) {
  const uint8_t *c = b->code + r * b->ncols;
  unsigned missing = (unsigned)b->max_bin;
  uint32_t i = root;
  while (m->nodes[i].feature >= 0) {
    const struct node *n = &m->nodes[i];
    unsigned code = c[n->feature];
    bool left = code == missing ? (n->left & DEFAULT_LEFT) != 0 : code <= m->stats[i].split_bin;
    i = (uint32_t)(n->left & CHILD_MASK) + (left ? 0u : 1u);
  }
  return m->nodes[i].value;
}

/* Adds tree `root`'s leaf value to margin[i * K + k] for binned rows [r0, r0 + n): eight rows walked
 * side by side (eight independent chains of loads instead of one), each row's value the same as
 * tree_value_binned's. */
static void add_tree_binned(const struct tml_gbdt_model *m, uint32_t root, const struct tml_gbdt_bins *b, size_t r0,
                            size_t n, float *margin, size_t K, size_t k) {
  const struct node *nodes = m->nodes;
  const struct node_stats *st = m->stats;
  unsigned missing = (unsigned)b->max_bin;
  size_t ncols = b->ncols, i = 0;
  for (; i + 8 <= n; i += 8) {
    uint32_t at[8];
    const uint8_t *c[8];
    for (int q = 0; q < 8; q++) {
      at[q] = root;
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
      margin[(i + (size_t)q) * K + k] += nodes[at[q]].value;
  }
  for (; i < n; i++)
    margin[i * K + k] += tree_value_binned(m, root, b, r0 + i);
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
static double eval_metric(const float *margin, const float *y, struct tml_range valid, int nclass) {
  double sum = 0.0, wsum = 0.0;
  size_t n = valid.end - valid.begin;
  if (nclass > 0) {
    float p[MAX_CLASSES];
    for (size_t i = 0; i < n; i++) {
      memcpy(p, margin + i * (size_t)nclass, (size_t)nclass * sizeof *p);
      softmax(p, nclass);
      float py = p[(int)y[valid.begin + i]];
      float loss = py > (float)PROB_EPS ? -logf(py) : -logf((float)PROB_EPS);
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
  free(t->feats);
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

int tml_gbdt_train_binned(const struct tml_gbdt_bins *bins, const float *y, struct tml_range train,
                          struct tml_range valid, int nclass, const struct tml_xgb_params *p, unsigned flags,
                          const char *const *feature_names, tml_xgb_progress_fn progress, void *ud,
                          struct tml_gbdt_model **out, struct tml_error *err) {
  *out = NULL;
  int rc = tml_gbdt_params_validate(p, err);
  if (rc)
    return rc;
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
  if (nclass != 0 && (nclass < 2 || nclass > MAX_CLASSES))
    return tml_error_set(err, TML_EINVAL, "native engine training: nclass %d must be 0 (regression) or 2..%d", nclass,
                         MAX_CLASSES);
  if ((rc = check_labels(y, train, nclass, "training", err)) || (rc = check_labels(y, valid, nclass, "validation", err)))
    return rc;

  size_t ntrain = train.end - train.begin, nvalid = valid.end - valid.begin, ncols = bins->ncols;
  int K = nclass > 0 ? nclass : 1;
  struct trainer t = {.bins = bins, .p = p, .flags = flags, .cut_mask = cut_mask_pick(flags)};
  struct crew crew;
  crew_start(&crew, p->nthread);
  t.crew = &crew;
  t.stride = (size_t)bins->max_bin + 1;
  t.hist_len = ncols * t.stride;
  t.fhist = p->native_histogram == TML_HIST_FLOAT;
  t.slot_size = t.fhist ? sizeof(struct hbinf) : sizeof(struct hbin);
  struct tml_gbdt_model *m = calloc(1, sizeof *m);
  void *roots[SHARED_ROOT_MAX] = {NULL};
  float *ghr = NULL;
  void *fused = NULL;
  float *mtrain = malloc(ntrain * (size_t)K * sizeof(float));
  float *mvalid = malloc(nvalid * (size_t)K * sizeof(float));
  struct ghpair *gh = malloc(bins->nrows * (size_t)K * sizeof *gh); /* class k at gh + k * nrows */
  t.rows = malloc(ntrain * sizeof *t.rows);
  t.tmp = malloc(ntrain * sizeof *t.tmp);
  t.feats = malloc(ncols * sizeof *t.feats);
  if (!m || !mtrain || !mvalid || !gh || !t.rows || !t.tmp || !t.feats)
    goto oom;
  m->nclass = nclass;
  m->ncols = ncols;
  m->best_score = NAN;
  if (copy_names(m, feature_names))
    goto oom;
  /* XGBoost 1.7's base_score: 0.5 for both objectives (it cancels in the softmax; for squared error
   * the first rounds move it to the labels' level, as in XGBoost, so both engines grow the same
   * trees from the same cuts). Stored in the model and exported as learner_model_param.base_score. */
  m->base_score = 0.5f;
  for (size_t i = 0; i < ntrain * (size_t)K; i++)
    mtrain[i] = m->base_score;
  for (size_t i = 0; i < nvalid * (size_t)K; i++)
    mvalid[i] = m->base_score;
  if (model_reserve(m, 0))
    goto oom;
  m->tree_start[0] = 0;

  struct rng rng = {p->seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL};
  if (rng.s == 0)
    rng.s = 1;
  int best = 0;
  double best_score = INFINITY;
  size_t ncol_tree = (size_t)floor(p->colsample_bytree * (double)ncols);
  if (ncol_tree < 1)
    ncol_tree = 1;
  if (ncol_tree > ncols)
    ncol_tree = ncols;
  /* The shared root pass (see shared_root_build) when every class tree takes every row and column. */
  bool shared_root = nclass >= 2 && nclass <= SHARED_ROOT_MAX && p->subsample >= 1.0 && ncol_tree == ncols &&
                     ntrain > 1 && !(flags & TML_GBDT_NO_SHARED_ROOT);
  struct root_job rj = {.t = &t, .row0 = train.begin, .nrows = ntrain};
  if (shared_root) {
    ghr = calloc(ntrain * 8, sizeof *ghr); /* classes >= nclass stay 0 */
    fused = aligned_alloc(64, (t.hist_len * 8 * t.slot_size / 2 + 63) / 64 * 64); /* 8 values per slot */
    if (!ghr || !fused)
      goto oom;
    rj.ghr = ghr;
    rj.fused = fused;
#if defined(__x86_64__) && defined(__GNUC__)
    t.root_avx2 = !(flags & TML_GBDT_NO_AVX2) && __builtin_cpu_supports("avx2");
#endif
  }
  int round = 0;
  for (round = 0; round < p->num_boost_round; round++) {
    /* One gradient pass for every class of the round. */
    for (size_t i = 0; i < ntrain; i++) {
      size_t r = train.begin + i;
      const float *mg = mtrain + i * (size_t)K;
      if (nclass > 0) {
        float g[MAX_CLASSES], h[MAX_CLASSES];
        tml_gbdt_softmax_grad(mg, nclass, (int)y[r], g, h);
        for (int k = 0; k < K; k++)
          gh[(size_t)k * bins->nrows + r] = (struct ghpair){g[k], h[k]};
        if (shared_root)
          for (int k = 0; k < K; k++) {
            ghr[i * 8 + 2 * (size_t)k] = g[k];
            ghr[i * 8 + 2 * (size_t)k + 1] = h[k];
          }
      } else {
        gh[r] = (struct ghpair){mg[0] - y[r], 1.0f};
      }
    }
    if (shared_root && (rc = shared_root_build(&t, &rj, K, roots)))
      goto fail;
    for (int k = 0; k < K; k++) {
      /* Row and column samples of this tree. */
      size_t n = 0;
      for (size_t r = train.begin; r < train.end; r++)
        if (p->subsample >= 1.0 || rng_uniform(&rng) < p->subsample)
          t.rows[n++] = (uint32_t)r;
      for (size_t j = 0; j < ncols; j++)
        t.feats[j] = (uint32_t)j;
      if (ncol_tree < ncols) {
        for (size_t j = 0; j < ncol_tree; j++) { /* partial Fisher-Yates, then ascending order */
          size_t pick = j + (size_t)(rng_next(&rng) % (uint64_t)(ncols - j));
          uint32_t tmp = t.feats[j];
          t.feats[j] = t.feats[pick];
          t.feats[pick] = tmp;
        }
        for (size_t a = 1; a < ncol_tree; a++) {
          uint32_t v = t.feats[a];
          size_t b = a;
          while (b > 0 && t.feats[b - 1] > v) {
            t.feats[b] = t.feats[b - 1];
            b--;
          }
          t.feats[b] = v;
        }
      }
      t.nfeats = ncol_tree;
      uint32_t root = (uint32_t)m->nnodes;
      void *root_hist = NULL; /* handed to grow_tree (K <= SHARED_ROOT_MAX when shared) */
      if (shared_root) {
        root_hist = roots[k];
        roots[k] = NULL;
      }
      if ((rc = grow_tree(&t, m, gh + (size_t)k * bins->nrows, n, root_hist)))
        goto fail;
      if (n == ntrain) { /* every row grew the tree: the leaves' row ranges say where each row ends */
        for (size_t l = 0; l < t.nleaves; l++)
          for (size_t i = t.leaves[l].begin; i < t.leaves[l].end; i++)
            mtrain[(t.rows[i] - train.begin) * (size_t)K + (size_t)k] += t.leaves[l].value;
      } else {
        for (size_t i = 0; i < ntrain; i++)
          mtrain[i * (size_t)K + (size_t)k] += tree_value_binned(m, root, bins, train.begin + i);
      }
      add_tree_binned(m, root, bins, valid.begin, nvalid, mvalid, (size_t)K, (size_t)k);
    }
    double metric = eval_metric(mvalid, y, valid, nclass);
    if (isfinite(metric) && metric < best_score) {
      best_score = metric;
      best = round;
    }
    if (progress && progress(ud, round, metric, best)) {
      rc = tml_error_set(err, TML_EINTR, "training interrupted at round %d", round);
      goto out;
    }
    if (p->early_stopping_rounds > 0 && round - best >= p->early_stopping_rounds)
      break;
  }
  if (p->early_stopping_rounds == 0)
    best = (int)(m->ntrees / (size_t)K) - 1;
  /* Keep rounds 0..best. */
  m->ntrees = (size_t)(best + 1) * (size_t)K;
  m->nnodes = m->tree_start[m->ntrees];
  m->best_iteration = best;
  m->best_score = best_score;
  *out = m;
  m = NULL;
  goto out;
fail:
  if (rc == TML_ENOMEM)
    goto oom;
  rc = tml_error_set(err, rc, "native engine training failed");
  goto out;
oom:
  rc = tml_error_set(err, TML_ENOMEM, "native engine training: out of memory (%zu rows x %zu columns)", ntrain, ncols);
out:
  crew_stop(&crew);
  for (int k = 0; k < SHARED_ROOT_MAX; k++)
    hist_put(&t, roots[k]);
  trainer_release(&t);
  free(ghr);
  free(fused);
  free(mtrain);
  free(mvalid);
  free(gh);
  tml_gbdt_free(m);
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
  if ((rc = tml_gbdt_bins_build(X, nrows, ncols, train, p->max_bin, &b, err)))
    return rc;
  rc = tml_gbdt_train_binned(b, y, train, valid, nclass, p, 0, feature_names, progress, ud, out, err);
  tml_gbdt_bins_free(b);
  return rc;
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
/* Files: own JSON format. Numbers are printed with %.9g (float) / %.17g (double): exact, and the
 * same model always gives the same bytes. */

/* Numbers as printf's %.9g / %.17g / %d would write them (numfmt.h: the same bytes, a model's
 * hundreds of thousands of numbers without printf's general conversion). */
static int put_g(struct tml_buf *b, double v, int prec) {
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
  int K = ncl > 0 ? (int)ncl : 1;
  if (ntrees % (size_t)K != 0 || bi < 0 || (size_t)(bi + 1) * (size_t)K != ntrees) {
    why = "the tree count does not match nclass and best_iteration";
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
  if (model_reserve(m, 0))
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
    if (model_reserve(m, n))
      goto oom;
    uint32_t a = (uint32_t)m->nnodes;
    /* A node's children come after it and inside the tree: no cycle, every path ends in a leaf. */
    for (size_t i = 0; i < n; i++) {
      double f = num[i], l = num[2 * n + i], dl = num[3 * n + i], v = num[n + i];
      bool leaf = f == -1.0;
      bool ok = (leaf || (f >= 0 && f < (double)m->ncols && f == floor(f))) && isfinite(v) &&
                (dl == 0.0 || dl == 1.0) &&
                (leaf ? l == -1.0 : (l == floor(l) && l > (double)i && l + 1 < (double)n)) &&
                isfinite(num[4 * n + i]) && isfinite(num[5 * n + i]) && isfinite(num[6 * n + i]);
      if (!ok) {
        snprintf(whybuf, sizeof whybuf, "tree %zu node %zu is inconsistent (feature, child or value out of range)", t, i);
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
