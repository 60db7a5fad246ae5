/* Histograms of the native engine's trees (learn/gbdt_train.h): gradient sums per bin per column of a
 * node's rows, siblings by subtraction, the root passes that build several trees' roots at once, and
 * the crew of threads inside one model that splits this column-local work by column. This is where a
 * boosting round spends most of its time (docs/validation.md, the levers): each (row, column) is one
 * read-modify-write of a slot, and the loops below are shaped around that. */
#include "learn/gbdt_train.h"
#include "util/common.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h> /* AVX2 paths chosen at run time (target attributes) */
#endif

#include "trademl/mem.h"

void *tml__gbdt_hist_get(struct trainer *t) {
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

void tml__gbdt_hist_put(struct trainer *t, void *h) {
  if (!h || h == t->borrowed)
    return;
  t->pool[t->npool++] = h; /* npool <= nhist <= cap_pool */
}

/* Gradient sums of rows[begin, end) per bin of every tree column: the floor of the engine.
 * hist_build_cols' rows with every column: four columns per step, so with a constant stride (the
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

/* ---- Threads inside one model (p->nthread > 1): see learn/gbdt_train.h ---- */
#define CREW_MIN_ROWS 2048 /* histogram rows below which a job is not handed off */

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

void tml__gbdt_crew_start(struct crew *c, int nthread) {
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

void tml__gbdt_crew_stop(struct crew *c) {
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

/* ---- A node's histograms (struct hist_job): see learn/gbdt_train.h ---- */

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

void tml__gbdt_hist_job_run(const struct trainer *t, struct hist_job *j) {
  size_t rows = (j->se - j->sb) + ((j->large && (t->flags & TML_GBDT_NO_SUBTRACTION)) ? j->le - j->lb : 0);
  crew_run_if_worth(t, rows, hist_job_part, j);
}

/* ---- The shared root pass of the class trees: see learn/gbdt_train.h ---- */

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
  _mm256_zeroupper(); /* as in gbdt_split.c's cut_mask_avx2 */
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

void tml__gbdt_shared_root_build(struct root_job *j, int K, void *const *out) {
  const struct trainer *t = j->t;
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
}

/* ---- The root pass of several heads: see learn/gbdt_train.h ---- */
#define MR_BLOCK_COLS 24 /* columns per block (the block's slots stay in the L2 cache) */

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static inline __m256 mr_row_avx2(const struct mr_vec *v, size_t i) {
  __m256 x = v->cls ? _mm256_loadu_ps(v->cls + i * 8) : _mm256_setzero_ps();
  for (int q = 0; q < v->nreg; q++) {
    __m256 pair = _mm256_castsi256_ps(
        _mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)(const void *)(v->reg[q] + 2 * i))));
    __m256i mask = _mm256_loadu_si256((const __m256i *)(const void *)v->reg_mask[q]);
    x = _mm256_blendv_ps(x, pair, _mm256_castsi256_ps(mask));
  }
  return x;
}

/* Columns [k0, k1): rows in order, each row's vectors added to its bins' slots. */
__attribute__((target("avx2"))) static void mr_rows_avx2(const struct multi_root *j, size_t k0, size_t k1) {
  const struct tml_gbdt_bins *b = j->t->bins;
  const size_t ncols = b->ncols, stride = j->t->stride, w = j->nvec * 8;
  const uint8_t *code = b->code + j->row0 * ncols;
  float *const fused = j->fused; /* a local: the stores through it cannot then reload it */
  for (size_t i = 0; i < j->nrows; i++) {
    const uint8_t *c = code + i * ncols;
    __m256 v0 = mr_row_avx2(&j->vec[0], i);
    if (j->nvec == 1) {
      for (size_t k = k0; k < k1; k++) {
        float *q = fused + (k * stride + c[k]) * w;
        _mm256_store_ps(q, _mm256_add_ps(_mm256_load_ps(q), v0));
      }
    } else if (j->nvec == 2) {
      __m256 v1 = mr_row_avx2(&j->vec[1], i);
      for (size_t k = k0; k < k1; k++) {
        float *q = fused + (k * stride + c[k]) * w;
        _mm256_store_ps(q, _mm256_add_ps(_mm256_load_ps(q), v0));
        _mm256_store_ps(q + 8, _mm256_add_ps(_mm256_load_ps(q + 8), v1));
      }
    } else if (j->nvec == 3) {
      __m256 v1 = mr_row_avx2(&j->vec[1], i), v2 = mr_row_avx2(&j->vec[2], i);
      for (size_t k = k0; k < k1; k++) {
        float *q = fused + (k * stride + c[k]) * w;
        _mm256_store_ps(q, _mm256_add_ps(_mm256_load_ps(q), v0));
        _mm256_store_ps(q + 8, _mm256_add_ps(_mm256_load_ps(q + 8), v1));
        _mm256_store_ps(q + 16, _mm256_add_ps(_mm256_load_ps(q + 16), v2));
      }
    } else {
      __m256 v[MR_MAX_VECS];
      v[0] = v0;
      for (size_t e = 1; e < j->nvec; e++)
        v[e] = mr_row_avx2(&j->vec[e], i);
      for (size_t k = k0; k < k1; k++) {
        float *q = fused + (k * stride + c[k]) * w;
        for (size_t e = 0; e < j->nvec; e++)
          _mm256_store_ps(q + 8 * e, _mm256_add_ps(_mm256_load_ps(q + 8 * e), v[e]));
      }
    }
  }
  _mm256_zeroupper(); /* as in gbdt_split.c's cut_mask_avx2 */
}
#endif

static void mr_rows_plain(const struct multi_root *j, size_t k0, size_t k1) {
  const struct tml_gbdt_bins *b = j->t->bins;
  size_t ncols = b->ncols, stride = j->t->stride, w = j->nvec * 8;
  const uint8_t *code = b->code + j->row0 * ncols;
  for (size_t i = 0; i < j->nrows; i++) {
    float row[MR_MAX_VECS * 8];
    for (size_t e = 0; e < j->nvec; e++) {
      const struct mr_vec *v = &j->vec[e];
      for (int q = 0; q < 8; q++)
        row[e * 8 + (size_t)q] = v->cls ? v->cls[i * 8 + (size_t)q] : 0.0f;
      for (int q = 0; q < v->nreg; q++) {
        row[e * 8 + 2 * (size_t)v->reg_at[q]] = v->reg[q][2 * i];
        row[e * 8 + 2 * (size_t)v->reg_at[q] + 1] = v->reg[q][2 * i + 1];
      }
    }
    const uint8_t *c = code + i * ncols;
    for (size_t k = k0; k < k1; k++) {
      float *q = j->fused + (k * stride + c[k]) * w;
      for (size_t e = 0; e < w; e++)
        q[e] += row[e];
    }
  }
}

static void mr_part(void *arg, int part, int nparts) {
  const struct multi_root *j = arg;
  size_t nc = j->t->bins->ncols, k0 = nc * (size_t)part / (size_t)nparts, k1 = nc * (size_t)(part + 1) / (size_t)nparts;
  size_t slot = j->nvec * 8 * sizeof(float);
  for (size_t a = k0; a < k1; a += MR_BLOCK_COLS) {
    size_t z = TML_MIN(a + MR_BLOCK_COLS, k1);
    memset((char *)j->fused + a * j->t->stride * slot, 0, (z - a) * j->t->stride * slot);
#if defined(__x86_64__) && defined(__GNUC__)
    if (j->avx2) {
      mr_rows_avx2(j, a, z);
      continue;
    }
#endif
    mr_rows_plain(j, a, z);
  }
}

void tml__gbdt_multi_root_build(struct multi_root *mr) { crew_run_if_worth(mr->t, mr->nrows, mr_part, mr); }
