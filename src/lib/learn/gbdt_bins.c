/* The native engine's binned matrix (include/trademl/gbdt.h): cut points per column from a fold's
 * training rows by XGBoost 1.7's weighted-quantile sketch (re-implemented with its float arithmetic,
 * so both engines cut every column at the same values), and the rows' uint8 codes, by row and by
 * column, shared by every head of the fold. */
#include "learn/gbdt_impl.h"
#include "util/common.h"

#include "trademl/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define COL_BLOCK 16 /* columns gathered per pass over the rows when fitting cuts */

/* ---------------------------------------------------------------------------------------------- */
/* Binned matrix */

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

/* ---- Building the matrix on up to BINS_MAX_THREADS threads ----
 * Two parts, each split without changing a byte of the result: the cuts, a block of columns at a
 * time, each thread taking the next block not yet taken (a column's cuts depend only on its own
 * values; columns cost unequal time, so blocks are taken rather than dealt), then the codes row by
 * row (thread t codes and transposes its own contiguous run of rows, reading the cuts the first part
 * wrote). A thread that cannot be started leaves its part to the calling thread. */
#define BINS_MAX_THREADS 16
#define BINS_MIN_ROWS 4096 /* fewer rows: one thread (a thread costs more than such a matrix) */

struct bins_job {
  const float *X;
  struct tml_range fit;
  struct tml_gbdt_bins *b;
  int nparts;
  size_t block;       /* columns per block of the cuts (COL_BLOCK on one thread) */
  atomic_size_t next; /* first column of the next block not taken */
};

struct bins_part {
  struct bins_job *job;
  int part;
  int rc; /* 0, or TML_ENOMEM: no scratch memory, so no block taken */
};

/* The cuts of the blocks of columns this thread takes, each block's columns gathered in one pass
 * over the fit rows (row-major X). */
static void bins_cuts_part(struct bins_part *bp) {
  struct bins_job *j = bp->job;
  struct tml_gbdt_bins *b = j->b;
  size_t ncols = b->ncols, nfit = j->fit.end - j->fit.begin, slots = (size_t)b->max_bin - 1;
  if (atomic_load(&j->next) >= ncols) /* every block taken already (a part run late, on the caller) */
    return;
  float *vals = malloc(j->block * nfit * sizeof *vals);
  struct sketch sk = {0};
  if (!vals || sketch_alloc(&sk, nfit, b->max_bin)) {
    bp->rc = TML_ENOMEM;
    goto out;
  }
  size_t nval[COL_BLOCK];
  for (;;) {
    size_t j0 = atomic_fetch_add(&j->next, j->block);
    if (j0 >= ncols)
      break;
    size_t w = TML_MIN(j->block, ncols - j0);
    memset(nval, 0, sizeof nval);
    for (size_t r = j->fit.begin; r < j->fit.end; r++) {
      const float *x = j->X + r * ncols + j0;
      for (size_t q = 0; q < w; q++) {
        float v = x[q];
        if (isfinite(v))
          vals[q * nfit + nval[q]++] = v + 0.0f; /* -0 -> +0: one value, as XGBoost compares them */
      }
    }
    for (size_t q = 0; q < w; q++)
      b->ncuts[j0 + q] = (uint16_t)sketch_cuts(&sk, vals + q * nfit, nval[q], b->max_bin, b->cuts + (j0 + q) * slots);
  }
out:
  free(vals);
  sketch_free(&sk);
}

/* The codes of rows [r0, r1), by row and by column (the transpose in tiles of 64 rows). */
static void bins_codes_part(struct bins_part *bp) {
  const struct bins_job *j = bp->job;
  struct tml_gbdt_bins *b = j->b;
  size_t nrows = b->nrows, ncols = b->ncols, slots = (size_t)b->max_bin - 1;
  size_t r0 = nrows * (size_t)bp->part / (size_t)j->nparts, r1 = nrows * (size_t)(bp->part + 1) / (size_t)j->nparts;
  for (size_t r = r0; r < r1; r++) {
    const float *x = j->X + r * ncols;
    uint8_t *c = b->code + r * ncols;
    for (size_t q = 0; q < ncols; q++)
      c[q] = isfinite(x[q]) ? (uint8_t)bin_of(b->cuts + q * slots, b->ncuts[q], x[q]) : (uint8_t)b->max_bin;
  }
  for (size_t t0 = r0; t0 < r1; t0 += 64)
    for (size_t q = 0; q < ncols; q++)
      for (size_t r = t0; r < TML_MIN(t0 + 64, r1); r++)
        b->code_col[q * nrows + r] = b->code[r * ncols + q];
}

static void *bins_cuts_thread(void *arg) {
  bins_cuts_part(arg);
  return NULL;
}
static void *bins_codes_thread(void *arg) {
  bins_codes_part(arg);
  return NULL;
}

/* Runs fn on parts 1 .. nparts - 1 in threads and part 0 here; a part whose thread did not start
 * runs here too. */
static void bins_run(struct bins_part *parts, int nparts, void *(*fn)(void *)) {
  pthread_t tid[BINS_MAX_THREADS];
  bool started[BINS_MAX_THREADS] = {false};
  for (int i = 1; i < nparts; i++)
    started[i] = pthread_create(&tid[i], NULL, fn, &parts[i]) == 0;
  fn(&parts[0]);
  for (int i = 1; i < nparts; i++) {
    if (started[i])
      pthread_join(tid[i], NULL);
    else
      fn(&parts[i]);
  }
}

int tml_gbdt_bins_build_threads(const float *X, size_t nrows, size_t ncols, struct tml_range fit, int max_bin,
                                int nthread, struct tml_gbdt_bins **out, struct tml_error *err) {
  *out = NULL;
  if (!X || ncols == 0 || nrows == 0)
    return tml_error_set(err, TML_EINVAL, "native engine: no feature matrix given");
  if (max_bin < 2 || max_bin > TML_GBDT_MAX_BIN)
    return tml_error_set(err, TML_EINVAL, "native engine: max_bin %d is out of range 2..%d", max_bin,
                         TML_GBDT_MAX_BIN);
  if (fit.end <= fit.begin || fit.end > nrows)
    return tml_error_set(err, TML_EINVAL, "native engine: bin rows [%zu, %zu) are empty or outside the %zu rows",
                         fit.begin, fit.end, nrows);
  size_t slots = (size_t)max_bin - 1;
  struct tml_gbdt_bins *b = calloc(1, sizeof *b);
  if (!b)
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
  /* The codes' parts: nthread, 1 to 16, one below BINS_MIN_ROWS rows. The cuts' parts: no more than
   * there are blocks of columns (each part allocates a block's values and a sketch). */
  int n = nthread < 1 ? 1 : nthread > BINS_MAX_THREADS ? BINS_MAX_THREADS : nthread;
  if (nrows < BINS_MIN_ROWS)
    n = 1;
  struct bins_job job = {.X = X, .fit = fit, .b = b, .nparts = n, .block = n > 1 ? COL_BLOCK / 2 : COL_BLOCK};
  atomic_init(&job.next, 0);
  size_t nblocks = (ncols + job.block - 1) / job.block;
  int ncut = (size_t)n < nblocks ? n : (int)nblocks;
  struct bins_part parts[BINS_MAX_THREADS];
  for (int i = 0; i < n; i++)
    parts[i] = (struct bins_part){&job, i, 0};
  bins_run(parts, ncut, bins_cuts_thread);
  bool done = false; /* a part without memory takes no block: the others take them all */
  for (int i = 0; i < ncut; i++)
    done |= parts[i].rc == 0;
  if (!done)
    goto oom;
  bins_run(parts, n, bins_codes_thread);
  *out = b;
  return 0;
oom:
  tml_gbdt_bins_free(b);
  return tml_error_set(err, TML_ENOMEM, "native engine: out of memory binning %zu x %zu", nrows, ncols);
}

int tml_gbdt_bins_build(const float *X, size_t nrows, size_t ncols, struct tml_range fit, int max_bin,
                        struct tml_gbdt_bins **out, struct tml_error *err) {
  return tml_gbdt_bins_build_threads(X, nrows, ncols, fit, max_bin, 1, out, err);
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
