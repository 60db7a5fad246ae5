/* The split search of the native engine's trees (learn/gbdt_train.h): XGBoost 1.7's enumeration of a
 * node's cuts (each column forward with missing values right, then backward with them left when the
 * node has any), its float loss change and its tie rule, computed with interleaved prefix sums and a
 * candidate mask in SSE2/AVX2 that leaves only cuts that can win to the exact check. */
#include "learn/gbdt_train.h"
#include "util/common.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h> /* AVX2 paths chosen at run time (target attributes) */
#endif

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

/* Both vector masks keep a 64-cut word of candidate bits in a register (stored once per word, not
 * read and written back per step) and detect a non-finite side with an OR of (lhs + rhs) * 0, which
 * is +-0 for finite sides and NaN otherwise (an OR chain waits one cycle a step, an addition three). */
#ifdef __SSE2__
static bool cut_mask_sse2(const double *GL, const double *HL, unsigned n, const struct cut_mask_in *in,
                          uint64_t *cand) {
  __m128d vG = _mm_set1_pd(in->G), vH = _mm_set1_pd(in->H), vl = _mm_set1_pd(in->lambda);
  __m128d vpb = _mm_set1_pd(in->pb), vm = _mm_set1_pd(in->mcw), zero = _mm_setzero_pd(), bad = zero;
  unsigned s = 0;
  for (unsigned w = 0; s + 2 <= n; w++) {
    uint64_t bits = 0;
    for (unsigned j = 0; j < 64 && s + 2 <= n; j += 2, s += 2) {
      __m128d a = _mm_loadu_pd(GL + s), h = _mm_loadu_pd(HL + s);
      __m128d ra = _mm_sub_pd(vG, a), rh = _mm_sub_pd(vH, h);
      __m128d dl = _mm_add_pd(h, vl), dr = _mm_add_pd(rh, vl);
      __m128d lhs = _mm_add_pd(_mm_mul_pd(_mm_mul_pd(a, a), dr), _mm_mul_pd(_mm_mul_pd(ra, ra), dl));
      __m128d rhs = _mm_mul_pd(_mm_mul_pd(vpb, dl), dr);
      bad = _mm_or_pd(bad, _mm_mul_pd(_mm_add_pd(lhs, rhs), zero)); /* NaN from here on if either is not finite */
      /* HL < mcw || HR < mcw skips a cut: keep it when neither (NaN compares as the scalar loop) */
      __m128d ok = _mm_and_pd(_mm_cmpnlt_pd(h, vm), _mm_cmpnlt_pd(rh, vm));
      bits |= (uint64_t)_mm_movemask_pd(_mm_and_pd(ok, _mm_cmpgt_pd(lhs, rhs))) << j;
    }
    cand[w] |= bits;
  }
  bool finite = _mm_movemask_pd(_mm_cmpunord_pd(bad, bad)) == 0;
  return cut_mask_tail(GL, HL, s, n, in, cand) && finite;
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
/* The same mask four cuts at a time (the same IEEE operations: no fused multiply-add). */
__attribute__((target("avx2"))) static bool cut_mask_avx2(const double *GL, const double *HL, unsigned n,
                                                          const struct cut_mask_in *in, uint64_t *cand) {
  __m256d vG = _mm256_set1_pd(in->G), vH = _mm256_set1_pd(in->H), vl = _mm256_set1_pd(in->lambda);
  __m256d vpb = _mm256_set1_pd(in->pb), vm = _mm256_set1_pd(in->mcw), zero = _mm256_setzero_pd(), bad = zero;
  unsigned s = 0;
  for (unsigned w = 0; s + 4 <= n; w++) {
    uint64_t bits = 0;
    for (unsigned j = 0; j < 64 && s + 4 <= n; j += 4, s += 4) {
      __m256d a = _mm256_loadu_pd(GL + s), h = _mm256_loadu_pd(HL + s);
      __m256d ra = _mm256_sub_pd(vG, a), rh = _mm256_sub_pd(vH, h);
      __m256d dl = _mm256_add_pd(h, vl), dr = _mm256_add_pd(rh, vl);
      __m256d lhs = _mm256_add_pd(_mm256_mul_pd(_mm256_mul_pd(a, a), dr), _mm256_mul_pd(_mm256_mul_pd(ra, ra), dl));
      __m256d rhs = _mm256_mul_pd(_mm256_mul_pd(vpb, dl), dr);
      bad = _mm256_or_pd(bad, _mm256_mul_pd(_mm256_add_pd(lhs, rhs), zero));
      __m256d ok = _mm256_and_pd(_mm256_cmp_pd(h, vm, _CMP_NLT_UQ), _mm256_cmp_pd(rh, vm, _CMP_NLT_UQ));
      bits |= (uint64_t)_mm256_movemask_pd(_mm256_and_pd(ok, _mm256_cmp_pd(lhs, rhs, _CMP_GT_OQ))) << j;
    }
    cand[w] |= bits;
  }
  bool finite = _mm256_movemask_pd(_mm256_cmp_pd(bad, bad, _CMP_UNORD_Q)) == 0;
  /* clear the upper halves (GCC does not here): SSE code after dirty upper halves waits on them */
  _mm256_zeroupper();
  return cut_mask_tail(GL, HL, s, n, in, cand) && finite;
}
#endif

static bool cut_mask_plain(const double *GL, const double *HL, unsigned n, const struct cut_mask_in *in,
                           uint64_t *cand) {
  return cut_mask_tail(GL, HL, 0, n, in, cand);
}

cut_mask_fn tml__gbdt_cut_mask_pick(unsigned flags) {
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

static void scan_cuts(const struct trainer *t, const struct grow_node *n, const struct scan_job *jobs, size_t njobs,
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

void tml__gbdt_split_find(const struct trainer *t, const struct grow_node *n, struct split *best) {
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

